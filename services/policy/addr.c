/* addr.c - HELO and address syntax. See addr.h. */
#include "addr.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "util/buf.h"

/* literal_ok - "[a.b.c.d]" or "[IPv6:...]" (RFC 5321 section 4.1.3). */
static int literal_ok(const char *d)
{
	size_t n = strlen(d);
	if (n < 3 || n > 64 || d[0] != '[' || d[n - 1] != ']')
		return 0;
	char in[64];
	memcpy(in, d + 1, n - 2);
	in[n - 2] = '\0';
	unsigned char buf[16];
	if (strncasecmp(in, "IPv6:", 5) == 0)
		return inet_pton(AF_INET6, in + 5, buf) == 1;
	return inet_pton(AF_INET, in, buf) == 1;
}

int pa_domain_ok(const char *d, int utf8)
{
	if (d[0] == '[')
		return literal_ok(d);
	size_t n = strlen(d), label = 0;
	if (n == 0 || n > PA_DOMAIN_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)d[i];
		if (c == '.') {
			if (label == 0 || d[i - 1] == '-')
				return 0;
			label = 0;
			continue;
		}
		if (c == '-' && label == 0)
			return 0;
		if (!(isalnum(c) || c == '-' || (utf8 && c >= 0x80)))
			return 0;
		if (++label > 63)
			return 0;
	}
	return label > 0 && d[n - 1] != '-';
}

int pa_helo_ok(const char *h)
{
	return pa_domain_ok(h, 0);
}

/* local_ok - dot-atom or quoted string (RFC 5321 section 4.1.2), bounded. */
static int local_ok(const char *l, size_t n, int utf8)
{
	if (n == 0 || n > PA_LOCAL_MAX)
		return 0;
	if (l[0] == '"') {
		if (n < 2 || l[n - 1] != '"')
			return 0;
		for (size_t i = 1; i + 1 < n; i++) {
			unsigned char c = (unsigned char)l[i];
			if (c < 0x20 || c == 0x7f || (c >= 0x80 && !utf8))
				return 0;
		}
		return 1;
	}
	if (l[0] == '.' || l[n - 1] == '.')
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)l[i];
		if (c >= 0x80) {
			if (!utf8)
				return 0;
			continue;
		}
		if (c <= 0x20 || c == 0x7f || strchr("()<>[]:;@\\,\"", c))
			return 0;
		if (c == '.' && l[i + 1] == '.')
			return 0;
	}
	return 1;
}

int pa_split(const char *addr, int utf8, char *local, size_t llen, char *domain, size_t dlen)
{
	size_t n = strlen(addr);
	const char *at = strrchr(addr, '@');
	if (n > PA_PATH_MAX || !at || !local_ok(addr, (size_t)(at - addr), utf8) || !pa_domain_ok(at + 1, utf8))
		return -1;
	size_t ln = (size_t)(at - addr);
	if (ln >= llen || strlen(at + 1) >= dlen)
		return -1;
	for (size_t i = 0; i < ln; i++)
		local[i] = (char)tolower((unsigned char)addr[i]);
	local[ln] = '\0';
	size_t i = 0;
	for (const char *p = at + 1; *p; p++)
		domain[i++] = (char)tolower((unsigned char)*p);
	domain[i] = '\0';
	return 0;
}
