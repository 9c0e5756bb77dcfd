/* smtp_client.c - see smtp_client.h. Blocking I/O with SO_RCVTIMEO/SO_SNDTIMEO re-armed
 * before every read and write (the smaller of the per-operation timeout and what is left
 * of the deadline): each caller talks to one peer at a time on its own thread, so
 * simplicity wins over an event loop; every wait is still bounded. */
#include "mail/smtp_client.h"

#include <fcntl.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/metrics.h"
#include "util/net.h"

int cl_smtp_reply_code(const char *line, size_t len, int *more)
{
	if (len < 3 || line[0] < '2' || line[0] > '5' || line[1] < '0' || line[1] > '9' || line[2] < '0' ||
	    line[2] > '9' || (len > 3 && line[3] != ' ' && line[3] != '-'))
		return -1;
	*more = len > 3 && line[3] == '-';
	return (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
}

/* arm - bound the next blocking read or write; -1 when the deadline has passed. */
static int arm(struct cl_smtpc *c)
{
	int ms = c->timeout_ms;
	if (c->deadline > 0) {
		double left = (c->deadline - cl_now_seconds()) * 1000.0;
		if (left < 1)
			return -1;
		if (left < ms)
			ms = (int)left;
	}
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	return setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) |
	       setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

int cl_smtpc_connect(struct cl_smtpc *c, const struct cl_net_resolver *r, const char *host, int port, int timeout_ms,
		     int deadline_ms, char *err, size_t errlen)
{
	memset(c, 0, sizeof *c);
	c->timeout_ms = timeout_ms;
	if (deadline_ms > 0) {
		c->deadline = cl_now_seconds() + deadline_ms / 1000.0;
		if (deadline_ms < timeout_ms)
			timeout_ms = deadline_ms;
	}
	c->fd = cl_net_dial(r, host, port, timeout_ms, err, errlen);
	if (c->fd < 0)
		return -1;
	/* blocking from here on, every read and write bounded by arm() */
	fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) & ~O_NONBLOCK);
	return 0;
}

/* io_write - all of buf, over TLS when active. */
static int io_write(struct cl_smtpc *c, const char *buf, size_t n)
{
	while (n > 0) {
		if (arm(c) < 0)
			return -1;
		long w = c->io ? c->io->write(c->tls, buf, n) : (long)send(c->fd, buf, n, MSG_NOSIGNAL);
		if (w <= 0)
			return -1;
		buf += w;
		n -= (size_t)w;
	}
	return 0;
}

int cl_smtpc_take_line(struct cl_smtpc *c, char *out, size_t outlen)
{
	char *nl = memchr(c->in, '\n', c->inlen);
	if (!nl)
		return c->inlen >= CL_SMTPC_LINE_MAX || c->inlen >= sizeof c->in ? -1 : 0;
	size_t n = (size_t)(nl - c->in);
	size_t keep = n > 0 && c->in[n - 1] == '\r' ? n - 1 : n;
	if (keep >= outlen || keep > CL_SMTPC_LINE_MAX)
		return -1;
	memcpy(out, c->in, keep);
	out[keep] = '\0';
	memmove(c->in, nl + 1, c->inlen - n - 1);
	c->inlen -= n + 1;
	return 1;
}

/* read_line - one CRLF-terminated line (without CRLF) into out. -1 on I/O error, timeout or a
 * line longer than CL_SMTPC_LINE_MAX. */
static int read_line(struct cl_smtpc *c, char *out, size_t outlen)
{
	for (;;) {
		int r = cl_smtpc_take_line(c, out, outlen);
		if (r != 0)
			return r > 0 ? 0 : -1;
		size_t room = sizeof c->in - c->inlen;
		if (arm(c) < 0)
			return -1;
		long got =
		    c->io ? c->io->read(c->tls, c->in + c->inlen, room) : (long)recv(c->fd, c->in + c->inlen, room, 0);
		if (got <= 0)
			return -1;
		c->inlen += (size_t)got;
	}
}

int cl_smtpc_reply_line(struct cl_smtpc *c, struct cl_buf *text, const char *line)
{
	int more = 0;
	size_t len = strlen(line);
	int code = cl_smtp_reply_code(line, len, &more);
	if (code < 0 || (c->code && code != c->code))
		return -1;
	c->code = code;
	(void)(cl_buf_append_str(text, len > 3 ? line + 4 : "") | cl_buf_append_str(text, "\n"));
	if (more)
		return 0;
	cl_strlcpy(c->text, text->data ? text->data : "", sizeof c->text);
	cl_strlcpy(c->last, line, sizeof c->last);
	return 1;
}

/* read_reply - RFC 5321 4.2.1: lines "NNN-text" then one "NNN text", all with the same code. */
static int read_reply(struct cl_smtpc *c, char *err, size_t errlen)
{
	char line[CL_SMTPC_LINE_MAX + 1];
	struct cl_buf text;
	cl_buf_init(&text, sizeof c->text - 1);
	c->code = 0;
	c->last[0] = '\0';
	int rc = -1;
	for (int i = 0; i < CL_SMTPC_MAX_LINES; i++) {
		if (read_line(c, line, sizeof line) < 0) {
			cl_snprintf(err, errlen, "connection lost, timed out or reply line too long");
			goto out;
		}
		int r = cl_smtpc_reply_line(c, &text, line);
		if (r < 0) {
			cl_snprintf(err, errlen, "malformed reply line");
			cl_strlcpy(c->last, line, sizeof c->last);
			goto out;
		}
		if (r > 0) {
			rc = 0;
			goto out;
		}
	}
	cl_snprintf(err, errlen, "reply of more than %d lines", CL_SMTPC_MAX_LINES);
out:
	cl_buf_free(&text);
	if (rc < 0)
		c->code = 0;
	return rc;
}

int cl_smtpc_cmd(struct cl_smtpc *c, const char *line, char *err, size_t errlen)
{
	if (line) {
		char out[CL_SMTPC_LINE_MAX + 3];
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

int cl_smtpc_has_ext(const struct cl_smtpc *c, const char *keyword)
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

void cl_smtpc_close(struct cl_smtpc *c)
{
	if (c->io && c->tls)
		c->io->close(c->tls);
	c->tls = NULL;
	c->io = NULL;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}
