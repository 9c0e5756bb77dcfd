/* msgutil.c - bounded helpers over message bytes and addresses (see msgutil.h). */
#include "msgutil.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "util/utf8.h"

/* path_part_ok - s may be used as one path component under the Maildir root. */
static int path_part_ok(const char *s)
{
	if (!*s || s[0] == '.')
		return 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p == '/' || *p < 0x20 || *p == 0x7f)
			return 0;
	return 1;
}

int dl_split_address(const char *addr, char *local, size_t locallen, char *domain, size_t domainlen)
{
	const char *at = strrchr(addr, '@');
	if (!at || at == addr)
		return -1;
	size_t ll = (size_t)(at - addr), dl = strlen(at + 1);
	if (ll >= locallen || dl >= domainlen || ll > 64 || dl > 253)
		return -1;
	for (size_t i = 0; i < ll; i++)
		local[i] = (char)tolower((unsigned char)addr[i]);
	local[ll] = '\0';
	for (size_t i = 0; i < dl; i++)
		domain[i] = (char)tolower((unsigned char)at[1 + i]);
	domain[dl] = '\0';
	return path_part_ok(local) && path_part_ok(domain) ? 0 : -1;
}

/* line_end - index just past the line starting at i (past its LF, or len). */
static size_t line_end(const unsigned char *m, size_t len, size_t i)
{
	const unsigned char *nl = memchr(m + i, '\n', len - i);
	return nl ? (size_t)(nl - m) + 1 : len;
}

/* is_blank_line - the line [i, e) is empty (ends the header section, RFC 5322 section 2.1). */
static int is_blank_line(const unsigned char *m, size_t i, size_t e)
{
	return e - i == 0 || (m[i] == '\n') || (e - i == 2 && m[i] == '\r' && m[i + 1] == '\n');
}

/* append_value - copy [p, e) into out at *o without CR/LF/controls; folding whitespace
 * (RFC 5322 section 2.2.3) collapses to what it is. */
static void append_value(const unsigned char *p, const unsigned char *e, char *out, size_t outlen, size_t *o)
{
	for (; p < e && *o + 1 < outlen; p++)
		if (*p == '\t' || *p >= 0x20)
			out[(*o)++] = *p == '\t' ? ' ' : (char)*p;
	out[*o] = '\0';
}

int dl_header_value(const unsigned char *msg, size_t len, const char *name, char *out, size_t outlen)
{
	size_t nlen = strlen(name), o = 0, i = 0;
	if (outlen)
		out[0] = '\0';
	int in = 0, found = 0;
	while (i < len) {
		size_t e = line_end(msg, len, i);
		if (is_blank_line(msg, i, e))
			break;
		int cont = msg[i] == ' ' || msg[i] == '\t';
		if (in && cont) {
			append_value(msg + i, msg + e, out, outlen, &o);
		} else if (in) {
			break;
		} else if (!cont && e - i > nlen && msg[i + nlen] == ':' &&
			   strncasecmp((const char *)msg + i, name, nlen) == 0) {
			const unsigned char *v = msg + i + nlen + 1;
			while (v < msg + e && (*v == ' ' || *v == '\t'))
				v++;
			append_value(v, msg + e, out, outlen, &o);
			in = found = 1;
		}
		i = e;
	}
	return found ? 0 : -1;
}

void dl_text_sanitize(char *s)
{
	unsigned char *p = (unsigned char *)s;
	for (size_t left = strlen(s); left > 0;) {
		size_t n = cl_utf8_len(p, left);
		if (n == 0 || (n == 1 && (*p < 0x20 || *p == 0x7f))) {
			*p++ = '?';
			left--;
			continue;
		}
		p += n;
		left -= n;
	}
}

int dl_crlf_normalize(const unsigned char *msg, size_t len, struct cl_buf *out)
{
	size_t start = 0;
	for (size_t i = 0; i < len; i++) {
		if (msg[i] != '\r' && msg[i] != '\n')
			continue;
		if (cl_buf_append(out, msg + start, i - start) < 0 || cl_buf_append(out, "\r\n", 2) < 0)
			return -1;
		if (msg[i] == '\r' && i + 1 < len && msg[i + 1] == '\n')
			i++;
		start = i + 1;
	}
	if (start < len && (cl_buf_append(out, msg + start, len - start) < 0 || cl_buf_append(out, "\r\n", 2) < 0))
		return -1;
	return 0;
}

/* hdr_put - append s without control bytes at *n; 0 or -1 (out full). */
static int hdr_put(char *out, size_t outlen, size_t *n, const char *s, int raw)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (!raw && (*p < 0x20 || *p == 0x7f))
			continue;
		if (*n + 1 >= outlen)
			return -1;
		out[(*n)++] = (char)*p;
	}
	out[*n] = '\0';
	return 0;
}

int dl_delivery_headers(const char *sender, const char *rcpt, char *out, size_t outlen)
{
	size_t n = 0;
	if (outlen == 0)
		return -1;
	out[0] = '\0';
	if (hdr_put(out, outlen, &n, "Return-Path: <", 1) < 0 || hdr_put(out, outlen, &n, sender, 0) < 0 ||
	    hdr_put(out, outlen, &n, ">\r\nDelivered-To: ", 1) < 0 || hdr_put(out, outlen, &n, rcpt, 0) < 0 ||
	    hdr_put(out, outlen, &n, "\r\n", 1) < 0)
		return -1;
	return (int)n;
}
