/* random.c - the kernel's random source (see random.h). */
#include "util/random.h"

#include <errno.h>
#include <sys/random.h>

int cl_random_bytes(void *buf, size_t n)
{
	unsigned char *p = buf;
	while (n > 0) {
		/* Requests up to 256 bytes are never cut short once the pool is ready; larger ones
		 * and signals can be, hence the loop. */
		ssize_t got = getrandom(p, n, 0);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += got;
		n -= (size_t)got;
	}
	return 0;
}

int cl_random_hex(char *out, size_t outlen, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	unsigned char b[64];
	if (outlen == 0)
		return -1;
	out[0] = '\0';
	if (n > sizeof b || outlen < 2 * n + 1 || cl_random_bytes(b, n) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 0xf];
	}
	out[2 * n] = '\0';
	return 0;
}
