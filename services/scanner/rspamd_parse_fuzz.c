/* rspamd_parse_fuzz.c - libFuzzer target for the reader of Rspamd's /checkv2 answer
 * (rspamd.c, rspamd_parse) and the Authentication-Results field written from it: Rspamd's
 * answer holds what senders control (DKIM domains, SPF options, descriptions).
 *
 * fuzz-sources: services/scanner/rspamd.c lib/util/buf.c lib/rpc/frame.c
 * fuzz-libs: -lcurl -lcjson
 *
 * Invariants: garbage is an error, never a result; every text kept is printable ASCII and
 * NUL-terminated inside its buffer; the header field is CRLF-terminated lines, each after the
 * first a folded continuation. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rspamd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void printable(const char *s, size_t cap)
{
	size_t n = strnlen(s, cap);
	if (n == cap)
		abort();
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7E)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rspamd_result r;
	if (rspamd_parse((const char *)data, size, "a@b.example", &r) < 0) {
		if (r.status != RSPAMD_ERROR)
			abort();
		return 0;
	}
	if (r.status != RSPAMD_OK || r.action > RA_REJECT)
		abort();
	printable(r.smtp_message, sizeof r.smtp_message);
	printable(r.symbols, sizeof r.symbols);
	printable(r.reasons, sizeof r.reasons);
	printable(r.spf.prop, sizeof r.spf.prop);
	printable(r.dkim.prop, sizeof r.dkim.prop);
	printable(r.dmarc.prop, sizeof r.dmarc.prop);
	char ar[700];
	if (rspamd_auth_results(&r, "mx.test", ar, sizeof ar) == 0) {
		size_t n = strlen(ar);
		if (n < 2 || ar[n - 2] != '\r' || ar[n - 1] != '\n')
			abort();
		for (const char *p = ar; (p = strstr(p, "\r\n")) != NULL; p += 2)
			if (p[2] && p[2] != '\t')
				abort();
	}
	return 0;
}
