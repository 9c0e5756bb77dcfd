/* smtp_client_fuzz.c - libFuzzer target for the one SMTP reply reader (smtp_client.c:
 * cl_smtpc_take_line, cl_smtpc_reply_line, cl_smtp_reply_code, cl_smtpc_has_ext), which reads
 * what a mesh peer answers banstats' push (before and after TLS) and what a downstream
 * answers policy's recipient probe (whether an address exists is decided on it).
 *
 * fuzz-sources: lib/mail/smtp_client.c lib/util/buf.c lib/util/metrics.c lib/util/net.c lib/util/config.c
 * fuzz-sources: lib/util/log.c lib/util/cidr.c
 *
 * Input: byte 0 is the size of the network reads (1..64 octets); the rest is everything the
 * peer sends. The loop below is cl_smtpc_cmd's reading without the socket: take lines from what
 * has arrived, read more when none is complete, at most CL_SMTPC_MAX_LINES lines a reply.
 * Invariants: the receive buffer and every line stay within their bounds; a reply read has
 * a code of 200..599, its text is a NUL-terminated string within c->text holding no more
 * lines than were read; its final line (c->last) starts with that code and is a final line
 * (RFC 5321 4.2.1: every line of a reply has the first line's code, so "250-" then "550 "
 * is never an answer); cl_smtpc_has_ext never reads past it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mail/smtp_client.h"
#include "util/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* check_reply - what a complete reply leaves in c. */
static void check_reply(struct cl_smtpc *c, int lines)
{
	if (c->code < 200 || c->code > 599 || memchr(c->text, '\0', sizeof c->text) == NULL)
		abort();
	int nl = 0;
	for (const char *p = c->text; *p; p++)
		nl += *p == '\n';
	if (nl > lines)
		abort();
	size_t ll = strlen(c->last);
	int more = 1;
	if (memchr(c->last, '\0', sizeof c->last) == NULL || cl_smtp_reply_code(c->last, ll, &more) != c->code || more)
		abort();
	(void)(cl_smtpc_has_ext(c, "STARTTLS") + cl_smtpc_has_ext(c, "XMESH") + cl_smtpc_has_ext(c, ""));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t step = (size_t)(data[0] % 64) + 1, off = 1;
	struct cl_smtpc *c = calloc(1, sizeof *c);
	if (!c)
		return 0;
	c->fd = -1;
	char line[CL_SMTPC_LINE_MAX + 1];
	int failed = 0;
	while (!failed) {
		/* one reply, as read_reply reads it */
		struct cl_buf text;
		cl_buf_init(&text, sizeof c->text - 1);
		c->code = 0;
		int done = 0, lines = 0;
		while (!done && !failed && lines < CL_SMTPC_MAX_LINES) {
			int r = cl_smtpc_take_line(c, line, sizeof line);
			if (r == 0) {
				size_t room = sizeof c->in - c->inlen, k = size - off < step ? size - off : step;
				if (k == 0) {
					failed = 1; /* the peer closed */
					break;
				}
				if (k > room)
					k = room;
				memcpy(c->in + c->inlen, data + off, k);
				c->inlen += k;
				off += k;
				continue;
			}
			if (c->inlen > sizeof c->in || (r > 0 && strlen(line) > CL_SMTPC_LINE_MAX))
				abort();
			lines++;
			int rr = r < 0 ? -1 : cl_smtpc_reply_line(c, &text, line);
			failed = rr < 0;
			done = rr > 0;
		}
		cl_buf_free(&text);
		if (!done)
			break;
		check_reply(c, lines);
	}
	free(c);
	return 0;
}
