/* ptrname_fuzz.c - libFuzzer target for ptrname_generic (ptrname.c): the PTR name comes from
 * whoever runs the client's reverse zone.
 *
 * fuzz-sources: services/smtp-edge/ptrname.c
 *
 * The input is split at its first NUL into an address and a name (both NUL-terminated
 * copies). Invariants: the answer is 0 or 1; an address that is not IPv4 is never generic;
 * the same name with a trailing dot gets the same answer. */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ptrname.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	size_t iplen = nul ? (size_t)(nul - data) : 0;
	size_t namelen = nul ? size - iplen - 1 : size;
	char *ip = malloc(iplen + 1), *name = malloc(namelen + 2);
	if (!ip || !name)
		abort();
	memcpy(ip, data, iplen);
	ip[iplen] = '\0';
	memcpy(name, nul ? nul + 1 : data, namelen);
	name[namelen] = '\0';
	int g = ptrname_generic(ip, name);
	struct in_addr a;
	if (g != 0 && g != 1)
		abort();
	if (g && inet_pton(AF_INET, ip, &a) != 1)
		abort();
	size_t n = strlen(name); /* up to an inner NUL */
	name[n] = '.';
	name[n + 1] = '\0';
	if (ptrname_generic(ip, name) != g)
		abort();
	free(ip);
	free(name);
	return 0;
}
