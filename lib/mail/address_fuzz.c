/* address_fuzz.c - libFuzzer target for the RFC 5321 path parser (STYLE rule 12).
 *
 * fuzz-sources: lib/mail/address.c lib/util/utf8.c
 *
 * Whatever the input, the parser must not crash or read out of bounds, and what it accepts
 * must be safe to print: bounded, no control bytes, no shell metacharacters, and it must
 * parse again when put back between angle brackets. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mail/address.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* check - the invariants of an accepted address. */
static void check(const struct cl_addr *a, enum cl_addr_kind kind)
{
	size_t n = strlen(a->addr);
	if (n > CL_ADDR_MAX)
		abort();
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)a->addr[i];
		if (c < 0x20 || c == 0x7F || strchr("$`'{}|;\\<>", c))
			abort();
	}
	if (a->null_path)
		return;
	char again[CL_ADDR_MAX + 3 + 9];
	size_t k = 0;
	again[k++] = '<';
	memcpy(again + k, a->addr, n);
	k += n;
	again[k++] = '>';
	if (a->non_ascii && kind == CL_ADDR_MAIL) { /* RCPT: utf8_ok below */
		memcpy(again + k, " SMTPUTF8", 9);
		k += 9;
	}
	struct cl_addr b;
	if (cl_addr_parse(again, k, kind, 1, &b) != CL_ADDR_OK || strcmp(a->addr, b.addr) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size ? size : 1); /* exactly size bytes: no NUL to lean on */
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	struct cl_addr a;
	if (cl_addr_parse(copy, size, CL_ADDR_MAIL, 0, &a) == CL_ADDR_OK)
		check(&a, CL_ADDR_MAIL);
	if (cl_addr_parse(copy, size, CL_ADDR_RCPT, size & 1, &a) == CL_ADDR_OK)
		check(&a, CL_ADDR_RCPT);
	free(copy);
	return 0;
}
