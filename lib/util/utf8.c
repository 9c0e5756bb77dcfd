/* utf8.c - RFC 3629 well-formedness. See utf8.h. */
#include "util/utf8.h"

size_t cl_utf8_len(const unsigned char *p, size_t n)
{
	if (p[0] < 0x80)
		return 1;
	/* leads: c2-df two octets, e0-ef three, f0-f4 four; c0, c1 and f5-ff never */
	size_t len = p[0] >= 0xf0 && p[0] <= 0xf4   ? 4
		     : p[0] >= 0xe0 && p[0] <= 0xef ? 3
		     : p[0] >= 0xc2 && p[0] < 0xe0  ? 2
						    : 0;
	if (len == 0 || len > n)
		return 0;
	for (size_t i = 1; i < len; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	/* RFC 3629 section 4: the second octet's range after e0 (overlong), ed (surrogates),
	 * f0 (overlong) and f4 (above U+10FFFF) */
	if (len == 3 && ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] >= 0xa0)))
		return 0;
	if (len == 4 && ((p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] >= 0x90)))
		return 0;
	return len;
}

int cl_utf8_valid(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t len = cl_utf8_len(p + i, n - i);
		if (len == 0)
			return 0;
		i += len;
	}
	return 1;
}
