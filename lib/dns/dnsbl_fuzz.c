/* dnsbl_fuzz.c - libFuzzer target for the postscreen_dnsbl_sites parser and the answer
 * filter (dnsbl.c): the setting comes from an admin, often pasted from another system.
 *
 * fuzz-sources: lib/dns/dnsbl.c lib/util/buf.c
 *
 * Input: the first line is the sites text, the rest an answer address to match.
 * Invariants: parsing never reads past the text or writes past its structures; a parsed
 * site's name is its zone or a suffix of it; matching any answer returns one of the three
 * results, and an answer in 127.255.255.0/24 is always an error. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dnsbl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct cl_dnsbl_sites sites;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	char *nl = strchr(text, '\n');
	const char *answer = "127.0.0.2";
	if (nl) {
		*nl = '\0';
		answer = nl + 1;
	}
	char err[256];
	if (cl_dnsbl_parse(text, &sites, err, sizeof err) == 0) {
		for (size_t i = 0; i < sites.n; i++) {
			const struct cl_dnsbl_site *s = &sites.site[i];
			size_t zl = strlen(s->zone), nlen = strlen(s->name);
			if (nlen == 0 || nlen > zl || strcmp(s->zone + zl - nlen, s->name) != 0)
				abort();
			enum cl_dnsbl_result r = cl_dnsbl_match(s, answer);
			if (r != CL_DNSBL_MATCH && r != CL_DNSBL_NO_MATCH && r != CL_DNSBL_ERROR)
				abort();
			if (cl_dnsbl_match(s, "127.255.255.254") != CL_DNSBL_ERROR)
				abort();
		}
	}
	free(text);
	return 0;
}
