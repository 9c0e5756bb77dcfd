/* smtp_client.h - the one small, bounded, blocking SMTP client (RFC 5321) and its reply
 * reader: policy's recipient probe and banstats' mesh push talk through it; delivery's relay
 * (libcurl does the dialogue) reads reply lines with cl_smtp_reply_code.
 *
 * Connect with a deadline (util/net.h's cl_net_dial), one command and its (possibly
 * multi-line) reply at a time, STARTTLS or implicit TLS through smtp_tls.h (a separate
 * object, so that a program without TLS does not link libssl). Every read and write waits at
 * most timeout_ms, and no later than the dialogue's deadline when one is set; a reply is at
 * most CL_SMTPC_MAX_LINES lines of at most CL_SMTPC_LINE_MAX octets (RFC 5321 4.5.3.1.5 says
 * 512; we allow more and no further), every line with the first line's code (4.2.1).
 * Ownership: the client owns its socket and TLS session; cl_smtpc_close() releases both. */
#ifndef CLEMENT_MAIL_SMTP_CLIENT_H
#define CLEMENT_MAIL_SMTP_CLIENT_H

#include <stddef.h>

#define CL_SMTPC_LINE_MAX  1000
#define CL_SMTPC_MAX_LINES 64

struct cl_buf;
struct cl_net_resolver;

/* The transport under the dialogue once TLS is on (smtp_tls.c); NULL: the plain socket. */
struct cl_smtpc_io {
	long (*read)(void *tls, char *buf, size_t n);        /* > 0 bytes, <= 0 closed or failed */
	long (*write)(void *tls, const char *buf, size_t n); /* likewise */
	void (*close)(void *tls);
};

struct cl_smtpc {
	int fd;
	int timeout_ms;  /* each read and write */
	double deadline; /* cl_now_seconds() by which the whole dialogue ends; 0: none */
	void *tls;
	const struct cl_smtpc_io *io;
	char in[4096]; /* bytes read and not yet consumed */
	size_t inlen;
	int code;                         /* last reply's code */
	char text[4096];                  /* last reply's lines (without the code), '\n'-separated */
	char last[CL_SMTPC_LINE_MAX + 1]; /* last reply's final line as sent (without CRLF) */
};

/* cl_smtp_reply_code - the code of one reply line line[0..len) (CR/LF already cut): three
 * digits, the first 2..5, then SP, '-' or the end. Returns 200..599 with *more = 1 when a
 * continuation line ("250-") follows, or -1 when it is not a reply line. Pure. */
int cl_smtp_reply_code(const char *line, size_t len, int *more);

/* cl_smtpc_connect - TCP connect to host:port within timeout_ms (and the deadline, 0: none,
 * in milliseconds from now, bounding every later read and write too). A host name is
 * resolved by r (util/net.h: lib/dns's resolver; NULL only for a numeric host). 0 or -1
 * with err. */
int cl_smtpc_connect(struct cl_smtpc *c, const struct cl_net_resolver *r, const char *host, int port, int timeout_ms,
		     int deadline_ms, char *err, size_t errlen);
/* cl_smtpc_cmd - send line + CRLF (line NULL: only read, for the greeting), then read the
 * reply into c->code / c->text / c->last. 0 or -1 (I/O, timeout, malformed reply) with err. */
int cl_smtpc_cmd(struct cl_smtpc *c, const char *line, char *err, size_t errlen);
/* cl_smtpc_has_ext - 1 when the last (EHLO) reply lists keyword (case-insensitive). */
int cl_smtpc_has_ext(const struct cl_smtpc *c, const char *keyword);
void cl_smtpc_close(struct cl_smtpc *c);

/* The reply reader without the socket, for cl_smtpc_cmd, the tests and the fuzz target:
 * c->in holds the bytes received so far. */
/* cl_smtpc_take_line - the first line of c->in, without its CRLF (or LF), into out and out
 * of c->in. 1 taken, 0 when no line end has come yet, -1 when the line is longer than
 * CL_SMTPC_LINE_MAX or out. */
int cl_smtpc_take_line(struct cl_smtpc *c, char *out, size_t outlen);
/* cl_smtpc_reply_line - one line of the reply being read (c->code 0 before its first line;
 * text collects the lines, bounded by its max). 1 when it was the last line (c->code,
 * c->text and c->last then hold the reply), 0 when more follow, -1 when it is not a reply
 * line or its code differs from the first line's. */
int cl_smtpc_reply_line(struct cl_smtpc *c, struct cl_buf *text, const char *line);

#endif
