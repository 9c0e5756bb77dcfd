/* dkim_from_fuzz.c - libFuzzer target for the From: domain that delivery's DKIM signer picks
 * (cl_dkim_from_domain in dkim.c): the header comes from a logged-in user's message, whose
 * domain decides which domain's key may sign it.
 *
 * fuzz-sources: lib/mail/dkim.c lib/util/buf.c
 * fuzz-libs: -lcrypto
 *
 * Input: the message (header and body). Invariants: no read past it, no write past the
 * caller's buffer; a domain returned is non-empty, lower-case, without the bytes that end
 * one (blank, CR, LF, <>,;()") and no longer than the buffer allows; a message with two
 * From: fields yields none (checked by appending a second one). */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mail/dkim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *m = malloc(size + 32);
	if (!m)
		return 0;
	memcpy(m, "From: x@y.test\r\n", 16); /* a second From: ahead of the input's own */
	memcpy(m + 16, data, size);
	char out[64];
	if (cl_dkim_from_domain(m + 16, size, out, sizeof out) == 0) {
		size_t n = strlen(out);
		if (n == 0 || n >= sizeof out)
			abort();
		for (size_t i = 0; i < n; i++)
			if (strchr(" \t\r\n<>,;()\"", out[i]) ||
			    tolower((unsigned char)out[i]) != (unsigned char)out[i])
				abort();
		/* The input had a From: field of its own in its header: with ours above, two. */
		if (cl_dkim_from_domain(m, size + 16, out, sizeof out) == 0)
			abort();
	}
	free(m);
	return 0;
}
