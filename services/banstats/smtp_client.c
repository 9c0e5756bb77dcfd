/* smtp_client.c - see smtp_client.h. Blocking I/O with SO_RCVTIMEO/SO_SNDTIMEO: the push
 * runs on its own thread and talks to one peer at a time, so simplicity wins over an event
 * loop; every wait is still bounded. */
#include "smtp_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/net.h"

int smtpc_connect(struct smtpc *c, const char *host, int port, int timeout_ms, char *err, size_t errlen)
{
	memset(c, 0, sizeof *c);
	c->timeout_ms = timeout_ms;
	c->fd = cl_net_dial(host, port, timeout_ms, err, errlen);
	if (c->fd < 0)
		return -1;
	/* blocking from here on, every read and write bounded by the timeout */
	fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) & ~O_NONBLOCK);
	struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	return 0;
}

/* tls_err - OpenSSL's first queued error as text. */
static void tls_err(char *err, size_t errlen, const char *what)
{
	char buf[256];
	unsigned long e = ERR_get_error();
	ERR_error_string_n(e, buf, sizeof buf);
	ERR_clear_error();
	cl_snprintf(err, errlen, "%s: %s", what, e ? buf : "connection closed or timed out");
}

int smtpc_tls(struct smtpc *c, SSL_CTX *ctx, const char *host, char *err, size_t errlen)
{
	c->ssl = SSL_new(ctx);
	if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1) {
		tls_err(err, errlen, "TLS setup");
		return -1;
	}
	unsigned char bin[16];
	int is_ip = inet_pton(AF_INET, host, bin) == 1 || inet_pton(AF_INET6, host, bin) == 1;
	X509_VERIFY_PARAM *vp = SSL_get0_param(c->ssl);
	if (is_ip) {
		X509_VERIFY_PARAM_set1_ip_asc(vp, host);
	} else {
		SSL_set_tlsext_host_name(c->ssl, host); /* SNI (RFC 6066 3) only for names */
		X509_VERIFY_PARAM_set1_host(vp, host, 0);
	}
	c->inlen = 0; /* RFC 3207 4.2: nothing read before the handshake may be used */
	if (SSL_connect(c->ssl) != 1) {
		long vr = SSL_get_verify_result(c->ssl);
		if (vr != X509_V_OK) {
			cl_snprintf(err, errlen, "TLS handshake: certificate of %s: %s", host,
				    X509_verify_cert_error_string(vr));
			ERR_clear_error();
		} else {
			tls_err(err, errlen, "TLS handshake");
		}
		return -1;
	}
	return 0;
}

/* io_write - all of buf, over TLS when active. */
static int io_write(struct smtpc *c, const char *buf, size_t n)
{
	while (n > 0) {
		ssize_t w = c->ssl ? SSL_write(c->ssl, buf, (int)n) : send(c->fd, buf, n, MSG_NOSIGNAL);
		if (w <= 0)
			return -1;
		buf += w;
		n -= (size_t)w;
	}
	return 0;
}

int smtpc_take_line(struct smtpc *c, char *out, size_t outlen)
{
	char *nl = memchr(c->in, '\n', c->inlen);
	if (!nl)
		return c->inlen >= SMTPC_LINE_MAX || c->inlen >= sizeof c->in ? -1 : 0;
	size_t n = (size_t)(nl - c->in);
	size_t keep = n > 0 && c->in[n - 1] == '\r' ? n - 1 : n;
	if (keep >= outlen)
		return -1;
	memcpy(out, c->in, keep);
	out[keep] = '\0';
	memmove(c->in, nl + 1, c->inlen - n - 1);
	c->inlen -= n + 1;
	return 1;
}

/* read_line - one CRLF-terminated line (without CRLF) into out. -1 on I/O error, timeout or a
 * line longer than SMTPC_LINE_MAX. */
static int read_line(struct smtpc *c, char *out, size_t outlen)
{
	for (;;) {
		int r = smtpc_take_line(c, out, outlen);
		if (r != 0)
			return r > 0 ? 0 : -1;
		size_t room = sizeof c->in - c->inlen;
		ssize_t got =
		    c->ssl ? SSL_read(c->ssl, c->in + c->inlen, (int)room) : recv(c->fd, c->in + c->inlen, room, 0);
		if (got <= 0)
			return -1;
		c->inlen += (size_t)got;
	}
}

int smtpc_reply_line(struct smtpc *c, struct cl_buf *text, const char *line)
{
	int code = (line[0] >= '2' && line[0] <= '5' && line[1] >= '0' && line[1] <= '9' && line[2] >= '0' &&
		    line[2] <= '9' && (line[3] == ' ' || line[3] == '-' || line[3] == '\0'))
		       ? (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0')
		       : 0;
	if (code == 0 || (c->code && code != c->code))
		return -1;
	c->code = code;
	(void)(cl_buf_append_str(text, line[3] ? line + 4 : "") | cl_buf_append_str(text, "\n"));
	if (line[3] == '-')
		return 0;
	cl_strlcpy(c->text, text->data ? text->data : "", sizeof c->text);
	return 1;
}

/* read_reply - RFC 5321 4.2.1: lines "NNN-text" then one "NNN text", all with the same code. */
static int read_reply(struct smtpc *c, char *err, size_t errlen)
{
	char line[SMTPC_LINE_MAX + 1];
	struct cl_buf text;
	cl_buf_init(&text, sizeof c->text - 1);
	c->code = 0;
	for (int i = 0; i < SMTPC_MAX_LINES; i++) {
		if (read_line(c, line, sizeof line) < 0) {
			cl_buf_free(&text);
			cl_snprintf(err, errlen, "connection lost, timed out or reply line too long");
			return -1;
		}
		int r = smtpc_reply_line(c, &text, line);
		if (r < 0) {
			cl_buf_free(&text);
			cl_snprintf(err, errlen, "malformed reply line");
			return -1;
		}
		if (r > 0) {
			cl_buf_free(&text);
			return 0;
		}
	}
	cl_buf_free(&text);
	cl_snprintf(err, errlen, "reply of more than %d lines", SMTPC_MAX_LINES);
	return -1;
}

int smtpc_cmd(struct smtpc *c, const char *line, char *err, size_t errlen)
{
	if (line) {
		char out[SMTPC_LINE_MAX + 3];
		if (cl_snprintf(out, sizeof out, "%s\r\n", line) < 0) {
			cl_snprintf(err, errlen, "command too long");
			return -1;
		}
		if (io_write(c, out, strlen(out)) < 0) {
			cl_snprintf(err, errlen, "connection lost while sending");
			return -1;
		}
	}
	return read_reply(c, err, errlen);
}

int smtpc_has_ext(const struct smtpc *c, const char *keyword)
{
	size_t kl = strlen(keyword);
	/* The first line is the greeting domain; the keywords follow, one per line (RFC 5321 4.1.1.1). */
	const char *p = strchr(c->text, '\n');
	while (p && *++p) {
		if (strncasecmp(p, keyword, kl) == 0 && (p[kl] == ' ' || p[kl] == '\n'))
			return 1;
		p = strchr(p, '\n');
	}
	return 0;
}

void smtpc_close(struct smtpc *c)
{
	if (c->ssl) {
		SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}
