/* proxy_fuzz.c - libFuzzer target for the PROXY protocol v1/v2 header parser (proxy.c),
 * which reads bytes from the load balancer's connection before anything else does.
 *
 * fuzz-sources: services/smtp-edge/proxy.c lib/util/buf.c
 *
 * Invariants, whatever the bytes: the answer is -1, 0 or a length within the input; an
 * accepted header gives an address that is a canonical IPv4/IPv6 text and a port in
 * 0..65535; and the answer is the same however the bytes arrive (smtp-edge peeks at what
 * has come so far and asks again when the answer is 0): every shorter prefix of an accepted
 * header needs more bytes, a prefix that is accepted is accepted with the same length, and
 * a prefix that is refused means the whole input is refused. */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* parse_copy - proxy_parse on a private copy of the first n bytes, so ASan sees any read
 * past them. */
static long parse_copy(const uint8_t *data, size_t n, char *ip, size_t iplen, int *port)
{
	unsigned char *p = malloc(n ? n : 1);
	if (!p)
		abort();
	memcpy(p, data, n);
	long r = proxy_parse(p, n, ip, iplen, port);
	free(p);
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char ip[64] = "", ip2[64] = "";
	int port = -1, port2 = -1;
	long full = parse_copy(data, size, ip, sizeof ip, &port);
	if (full < -1 || full > (long)size)
		abort();
	if (full > 0 && ip[0]) {
		unsigned char a[16];
		char canon[64];
		int fam = strchr(ip, ':') ? AF_INET6 : AF_INET;
		if (inet_pton(fam, ip, a) != 1 || !inet_ntop(fam, a, canon, sizeof canon) || strcmp(canon, ip) != 0)
			abort();
		if (port < 0 || port > 65535)
			abort();
	}
	size_t upto = size < 1200 ? size : 1200; /* the parser never looks further than 1040 octets */
	for (size_t k = 0; k < upto; k++) {
		ip2[0] = '\0';
		long r = parse_copy(data, k, ip2, sizeof ip2, &port2);
		if (r > 0 && (r != full || strcmp(ip2, ip) != 0))
			abort(); /* complete early, but something else when complete */
		if (full > 0 && (size_t)full > k && r != 0)
			abort(); /* an accepted header's prefix must wait for more */
		if (r < 0 && full >= 0)
			abort(); /* refused early, accepted or waiting later */
	}
	return 0;
}
