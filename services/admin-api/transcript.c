/* transcript.c - masking other tenants' recipients in a session transcript. See transcript.h. */
#include "transcript.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/buf.h"

int transcript_rcpt_addr(const char *line, size_t len, char *out, size_t outlen)
{
	if (outlen)
		out[0] = '\0';
	if (len < 7 || memcmp(line, "C: ", 3) != 0 || strncasecmp(line + 3, "RCPT", 4) != 0)
		return 0;
	size_t i = 7;
	if (i < len && line[i] != ' ' && line[i] != ':')
		return 0; /* "RCPTX": another verb */
	while (i < len && line[i] == ' ')
		i++;
	if (len - i < 3 || strncasecmp(line + i, "TO:", 3) != 0)
		return 1; /* a RCPT command without an address we can read */
	i += 3;
	while (i < len && line[i] == ' ')
		i++;
	size_t end;
	if (i < len && line[i] == '<') {
		const char *gt = memchr(line + i, '>', len - i);
		end = gt ? (size_t)(gt - line) : len;
		i++;
	} else {
		const char *sp = memchr(line + i, ' ', len - i);
		end = sp ? (size_t)(sp - line) : len;
	}
	if (i < end && line[i] == '@') { /* a source route "@a,@b:user@dom" (RFC 5321 4.1.2) */
		const char *colon = memchr(line + i, ':', end - i);
		i = colon ? (size_t)(colon - line) + 1 : end;
	}
	if (end - i >= outlen || end - i > TRANSCRIPT_ADDR_MAX)
		return 1;
	for (size_t k = i; k < end; k++)
		out[k - i] = (char)(line[k] >= 'A' && line[k] <= 'Z' ? line[k] + 32 : line[k]);
	out[end - i] = '\0';
	return 1;
}

/* in_list - addr is one of list's '\n'-terminated entries. */
static int in_list(const char *list, size_t listlen, const char *addr)
{
	size_t n = strlen(addr);
	for (size_t i = 0; i < listlen;) {
		const char *nl = memchr(list + i, '\n', listlen - i);
		size_t l = nl ? (size_t)(nl - list) - i : listlen - i;
		if (l == n && memcmp(list + i, addr, n) == 0)
			return 1;
		i += l + 1;
	}
	return 0;
}

char *transcript_rcpts(const char *t)
{
	struct cl_buf b;
	cl_buf_init(&b, 0);
	int fail = cl_buf_append(&b, "", 0);
	char addr[TRANSCRIPT_ADDR_MAX + 1];
	for (const char *p = t; *p && !fail;) {
		size_t len = strcspn(p, "\n");
		if (transcript_rcpt_addr(p, len, addr, sizeof addr) && addr[0] && !in_list(b.data, b.len, addr))
			fail = cl_buf_append_str(&b, addr) | cl_buf_append_str(&b, "\n");
		p += len + (p[len] == '\n');
	}
	size_t n;
	char *s = cl_buf_steal(&b, &n);
	if (fail) {
		free(s);
		return NULL;
	}
	return s;
}

/* append_masked - line[0..len) with every hidden address (hidden: '\n'-terminated list)
 * replaced, matched case-insensitively. */
static int append_masked(struct cl_buf *b, const char *line, size_t len, const char *hidden, size_t hlen)
{
	int fail = 0;
	size_t from = 0;
	for (size_t i = 0; i < len;) {
		size_t match = 0;
		for (size_t h = 0; h < hlen && !match;) {
			const char *nl = memchr(hidden + h, '\n', hlen - h);
			size_t l = (size_t)(nl - hidden) - h; /* every entry ends in '\n' */
			if (l && l <= len - i && strncasecmp(line + i, hidden + h, l) == 0)
				match = l;
			h += l + 1;
		}
		if (!match) {
			i++;
			continue;
		}
		fail |= cl_buf_append(b, line + from, i - from) | cl_buf_append_str(b, TRANSCRIPT_HIDDEN_ADDR);
		i += match;
		from = i;
	}
	return fail | cl_buf_append(b, line + from, len - from);
}

char *transcript_mask(const char *t, transcript_visible_fn visible, void *arg)
{
	char *all = transcript_rcpts(t);
	if (!all)
		return NULL;
	struct cl_buf hidden, out;
	cl_buf_init(&hidden, 0);
	cl_buf_init(&out, 0);
	int fail = cl_buf_append(&hidden, "", 0) | cl_buf_append(&out, "", 0);
	for (char *a = all; *a;) {
		char *nl = strchr(a, '\n');
		*nl = '\0';
		/* only what looks like an address is searched for in other lines: a client's
		 * "RCPT TO:<a>" must not turn every "a" of the transcript into a placeholder */
		if (strchr(a, '@') && !visible(a, arg))
			fail |= cl_buf_append_str(&hidden, a) | cl_buf_append_str(&hidden, "\n");
		a = nl + 1;
	}
	free(all);
	int hiding = 0; /* the reply lines of a hidden RCPT follow it */
	char addr[TRANSCRIPT_ADDR_MAX + 1];
	for (const char *p = t; *p && !fail;) {
		size_t len = strcspn(p, "\n");
		int client = len >= 3 && memcmp(p, "C: ", 3) == 0;
		int server = len >= 3 && memcmp(p, "S: ", 3) == 0;
		if (client)
			hiding = 0;
		if (transcript_rcpt_addr(p, len, addr, sizeof addr) && (!addr[0] || !visible(addr, arg))) {
			fail |= cl_buf_append_str(&out, TRANSCRIPT_HIDDEN_RCPT);
			hiding = 1;
		} else if (server && hiding) {
			fail |= cl_buf_append_str(&out, TRANSCRIPT_HIDDEN_REPLY);
		} else {
			fail |= append_masked(&out, p, len, hidden.data, hidden.len);
		}
		if (p[len] == '\n')
			fail |= cl_buf_append(&out, "\n", 1);
		p += len + (p[len] == '\n');
	}
	cl_buf_free(&hidden);
	size_t n;
	char *s = cl_buf_steal(&out, &n);
	if (fail) {
		free(s);
		return NULL;
	}
	return s;
}
