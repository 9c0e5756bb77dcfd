/* ptrname.c - generic PTR names. See ptrname.h. */
#include "ptrname.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define NUMS_MAX 32

/* numbers - the runs of decimal digits in name, as values (runs longer than 3 digits or
 * over 255 become -1, so that they never match an octet). Returns how many. */
static int numbers(const char *name, int *out)
{
	int n = 0;
	for (const char *p = name; *p && n < NUMS_MAX;) {
		if (*p < '0' || *p > '9') {
			p++;
			continue;
		}
		int v = 0, len = 0;
		for (; *p >= '0' && *p <= '9'; p++, len++)
			v = len < 4 ? v * 10 + (*p - '0') : v;
		out[n++] = len > 3 || v > 255 ? -1 : v;
	}
	return n;
}

int ptrname_generic(const char *ip, const char *name)
{
	struct in_addr a;
	if (!ip || !name || inet_pton(AF_INET, ip, &a) != 1)
		return 0;
	const unsigned char *o = (const unsigned char *)&a.s_addr;
	int num[NUMS_MAX], n = numbers(name, num);
	for (int i = 0; i + 4 <= n; i++) {
		int fwd = 1, rev = 1;
		for (int k = 0; k < 4; k++) {
			fwd &= num[i + k] == o[k];
			rev &= num[i + k] == o[3 - k];
		}
		if (fwd || rev)
			return 1;
	}
	char hex[9];
	snprintf(hex, sizeof hex, "%02x%02x%02x%02x", o[0], o[1], o[2], o[3]);
	for (const char *p = name; *p; p++)
		if (strncasecmp(p, hex, 8) == 0)
			return 1;
	return 0;
}
