/* cidr_fuzz.c - libFuzzer target for the network-list grammar (cidr.c), which reads every
 * setting that names networks (CLEMENT_NEVER_BAN, CLEMENT_PROXY_NETWORKS).
 *
 * fuzz-sources: lib/util/cidr.c lib/util/buf.c
 *
 * Invariants, whatever the bytes: cl_netset_parse accepts or refuses with an error that
 * names the setting; an accepted list's networks print (cl_cidr_format) to texts that parse
 * back to the same network and that, joined, parse to a set of the same size; every
 * network contains its own first address; and cl_netset_has never reads past its input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/cidr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *list = malloc(size + 1);
	if (!list)
		abort();
	memcpy(list, data, size);
	list[size] = '\0';
	struct cl_netset s = {0};
	char err[256] = "";
	int rc = cl_netset_parse(&s, "CLEMENT_F", list, err, sizeof err);
	if (rc < 0 && strncmp(err, "CLEMENT_F: ", 11) != 0)
		abort();
	(void)cl_netset_has(&s, list); /* the whole input as an address: a match or not, no crash */
	if (rc == 0) {
		struct cl_buf joined;
		cl_buf_init(&joined, 1 << 20);
		for (size_t i = 0; i < s.n; i++) {
			char t[64], first[64];
			struct cl_ip back;
			int plen;
			if (cl_cidr_format(&s.v[i].net, s.v[i].plen, t, sizeof t) < 0 ||
			    cl_cidr_parse(t, &back, &plen) < 0 || plen != s.v[i].plen ||
			    back.family != s.v[i].net.family || memcmp(back.b, s.v[i].net.b, 16))
				abort();
			cl_strlcpy(first, t, sizeof first);
			first[strcspn(first, "/")] = '\0';
			if (!cl_netset_has(&s, first))
				abort();
			if (cl_buf_printf(&joined, "%s%s", i ? "," : "", t) < 0)
				abort();
		}
		struct cl_netset again = {0};
		if (cl_netset_parse(&again, "CLEMENT_F", joined.len ? joined.data : "", err, sizeof err) < 0 ||
		    again.n != s.n)
			abort();
		cl_netset_free(&again);
		cl_buf_free(&joined);
	}
	cl_netset_free(&s);
	free(list);
	return 0;
}
