/* authres.c - drop the Authentication-Results fields that claim our name. See authres.h. */
#include "authres.h"

#include <string.h>
#include <strings.h>

static const char NAME[] = "Authentication-Results";

/* ours - the field's value (v to end, after the colon) starts with host as its authserv-id:
 * a token ended by ';' or white space (RFC 8601 2.2). */
static int ours(const char *v, const char *end, const char *host, size_t n)
{
	while (v < end && (*v == ' ' || *v == '\t' || *v == '\r' || *v == '\n'))
		v++;
	return (size_t)(end - v) > n && strncasecmp(v, host, n) == 0 &&
	       (v[n] == ';' || v[n] == ' ' || v[n] == '\t' || v[n] == '\r');
}

/* field_end - the end of the field starting at f: after its last CRLF, before a line that is
 * not a continuation (RFC 5322 2.2.3), at most hend (just after the header's last CRLF). */
static const char *field_end(const char *f, const char *hend)
{
	const char *e = f;
	do {
		const char *nl = memmem(e, (size_t)(hend - e), "\r\n", 2);
		e = nl ? nl + 2 : hend;
	} while (e < hend && (*e == ' ' || *e == '\t'));
	return e;
}

size_t authres_drop_ours(char *msg, size_t len, const char *host)
{
	size_t n = strlen(host);
	const char *blank = memmem(msg, len, "\r\n\r\n", 4);
	if (!blank || n == 0 || (len >= 2 && msg[0] == '\r' && msg[1] == '\n')) /* no header, or an empty one */
		return len;
	const char *hend = blank + 2, *end = msg + len;
	size_t w = 0, k = sizeof NAME - 1;
	for (const char *f = msg; f < hend;) {
		const char *e = field_end(f, hend);
		const char *c = f + k;
		while (c < e && (*c == ' ' || *c == '\t'))
			c++;
		int drop = (size_t)(e - f) > k && strncasecmp(f, NAME, k) == 0 && c < e && *c == ':' &&
			   ours(c + 1, e, host, n);
		if (!drop) {
			memmove(msg + w, f, (size_t)(e - f));
			w += (size_t)(e - f);
		}
		f = e;
	}
	size_t rest = (size_t)(end - hend);
	memmove(msg + w, hend, rest);
	return w + rest;
}
