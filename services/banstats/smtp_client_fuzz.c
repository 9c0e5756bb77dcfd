/* smtp_client_fuzz.c - libFuzzer target for the mesh push's SMTP reply reader
 * (smtp_client.c: smtpc_take_line, smtpc_reply_line, smtpc_has_ext), which reads what a mesh
 * peer answers, before and after TLS.
 *
 * fuzz-sources: services/banstats/smtp_client.c lib/util/buf.c lib/util/net.c lib/util/config.c lib/util/log.c
 * fuzz-libs: -lssl -lcrypto
 *
 * Input: byte 0 is the size of the network reads (1..64 octets); the rest is everything the
 * peer sends. The loop below is smtpc_cmd's reading without the socket: take lines from what
 * has arrived, read more when none is complete, at most SMTPC_MAX_LINES lines a reply.
 * Invariants: the receive buffer and every line stay within their bounds; a reply read has
 * a code of 200..599, its text is a NUL-terminated string within c->text holding no more
 * lines than were read; smtpc_has_ext never reads past it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_client.h"
#include "util/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* check_reply - what a complete reply leaves in c. */
static void check_reply(struct smtpc *c, int lines)
{
	if (c->code < 200 || c->code > 599 || memchr(c->text, '\0', sizeof c->text) == NULL)
		abort();
	int nl = 0;
	for (const char *p = c->text; *p; p++)
		nl += *p == '\n';
	if (nl > lines)
		abort();
	(void)(smtpc_has_ext(c, "STARTTLS") + smtpc_has_ext(c, "XMESH") + smtpc_has_ext(c, ""));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t step = (size_t)(data[0] % 64) + 1, off = 1;
	struct smtpc *c = calloc(1, sizeof *c);
	if (!c)
		return 0;
	c->fd = -1;
	char line[SMTPC_LINE_MAX + 1];
	int failed = 0;
	while (!failed) {
		/* one reply, as read_reply reads it */
		struct cl_buf text;
		cl_buf_init(&text, sizeof c->text - 1);
		c->code = 0;
		int done = 0, lines = 0;
		while (!done && !failed && lines < SMTPC_MAX_LINES) {
			int r = smtpc_take_line(c, line, sizeof line);
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
			if (c->inlen > sizeof c->in || (r > 0 && strlen(line) > SMTPC_LINE_MAX))
				abort();
			lines++;
			int rr = r < 0 ? -1 : smtpc_reply_line(c, &text, line);
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
