/* smtp_client.h - a small, bounded, blocking SMTP client for the mesh push: connect with a
 * deadline, STARTTLS (RFC 3207) or implicit TLS (RFC 8314) with a client certificate, one
 * command and its (possibly multi-line) reply at a time.
 *
 * Every read and write has the client's timeout; a reply is at most SMTPC_MAX_LINES lines of
 * at most SMTPC_LINE_MAX octets (RFC 5321 4.5.3.1.5 says 512; we allow more and no further).
 * Ownership: the client owns its socket and SSL object; smtpc_close() releases both. The
 * SSL_CTX is borrowed and must outlive the client. */
#ifndef CLEMENT_BANSTATS_SMTP_CLIENT_H
#define CLEMENT_BANSTATS_SMTP_CLIENT_H

#include <openssl/ssl.h>
#include <stddef.h>

#define SMTPC_LINE_MAX  1000
#define SMTPC_MAX_LINES 64

struct smtpc {
	int fd;
	SSL *ssl;
	int timeout_ms;
	char in[4096]; /* bytes read and not yet consumed */
	size_t inlen;
	int code;        /* last reply's code */
	char text[4096]; /* last reply's lines (without the code), '\n'-separated */
};

/* smtpc_connect - TCP connect to host:port within timeout_ms. 0 or -1 with err. */
int smtpc_connect(struct smtpc *c, const char *host, int port, int timeout_ms, char *err, size_t errlen);
/* smtpc_tls - TLS handshake on the connection (after STARTTLS's 220, or right away for
 * implicit TLS); verifies the peer against host when ctx says so. 0 or -1 with err. */
int smtpc_tls(struct smtpc *c, SSL_CTX *ctx, const char *host, char *err, size_t errlen);
/* smtpc_cmd - send line + CRLF (line NULL: only read, for the greeting), then read the reply
 * into c->code / c->text. Returns 0 or -1 (I/O, timeout, malformed reply) with err. */
int smtpc_cmd(struct smtpc *c, const char *line, char *err, size_t errlen);
/* smtpc_has_ext - 1 when the last (EHLO) reply lists keyword (case-insensitive). */
int smtpc_has_ext(const struct smtpc *c, const char *keyword);
void smtpc_close(struct smtpc *c);

/* The reply reader without the socket, for smtpc_cmd and the fuzz target: c->in holds the
 * bytes received so far. */
struct cl_buf;
/* smtpc_take_line - the first line of c->in, without its CRLF (or LF), into out and out of
 * c->in. 1 taken, 0 when no line end has come yet, -1 when the line is longer than
 * SMTPC_LINE_MAX or out. */
int smtpc_take_line(struct smtpc *c, char *out, size_t outlen);
/* smtpc_reply_line - one line of the reply being read (c->code 0 before its first line;
 * text collects the lines, bounded by its max). 1 when it was the last line (c->code and
 * c->text then hold the reply), 0 when more follow, -1 when it is not a reply line or its
 * code differs from the first line's. */
int smtpc_reply_line(struct smtpc *c, struct cl_buf *text, const char *line);

#endif
