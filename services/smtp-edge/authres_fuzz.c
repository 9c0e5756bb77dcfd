/* authres_fuzz.c - libFuzzer target for authres_drop_ours (authres.c): a sender controls the
 * whole header it is given.
 *
 * fuzz-sources: services/smtp-edge/authres.c
 *
 * Invariants: the result is no longer than the input; the body (after the first empty line)
 * is kept byte for byte; the kept header is a subsequence of fields of the input; removing
 * again removes nothing more (no field of ours is left). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "authres.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *a = malloc(size + 1), *b = malloc(size + 1);
	if (!a || !b)
		abort();
	memcpy(a, data, size);
	size_t n = authres_drop_ours(a, size, "mx.test");
	if (n > size)
		abort();
	const char *blank = memmem(data, size, "\r\n\r\n", 4);
	if (size >= 2 && data[0] == '\r' && data[1] == '\n')
		blank = NULL; /* an empty header: all body */
	if (!blank && (n != size || memcmp(a, data, size) != 0))
		abort();
	if (blank) {
		size_t body = size - (size_t)((const uint8_t *)blank + 2 - data);
		if (n < body || memcmp(a + n - body, blank + 2, body) != 0)
			abort();
	}
	memcpy(b, a, n);
	if (authres_drop_ours(b, n, "mx.test") != n || memcmp(a, b, n) != 0)
		abort();
	free(a);
	free(b);
	return 0;
}
