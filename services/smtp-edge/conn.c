/* conn.c - non-blocking reads and writes of one session, plain or TLS (OpenSSL on the
 * socket fd, SSL_ERROR_WANT_* mapped to epoll interest). */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include "edge.h"

/* ssl_status - map an OpenSSL result: 1 retry later, -1 fatal. */
static int ssl_status(struct session *s, int rv)
{
	int err = SSL_get_error(s->ssl, rv);
	ERR_clear_error();
	if (err == SSL_ERROR_WANT_READ)
		return 1;
	if (err == SSL_ERROR_WANT_WRITE) {
		s->ssl_want_write = 1;
		return 1;
	}
	return -1;
}

/* body_read_ack - body octets were read: acknowledge them now instead of after the
 * kernel's delayed-ACK timer (40 ms on Linux). While a body comes in we have no reply to
 * carry the ACK, and a client with Nagle on (the default) holds its last short segment,
 * typically the final ".\r\n" or a TLS record's tail, until everything before it is
 * acknowledged: without this, end of DATA -> 250 waited about 40 ms for the timer
 * (docs/PERFORMANCE.md, "TLS at end of DATA"). TCP_QUICKACK is not sticky, hence once per
 * read; commands keep the delayed ACK, which their reply carries. */
static void body_read_ack(struct session *s)
{
	if (s->phase != PH_DATA && s->phase != PH_BDAT)
		return;
	int one = 1;
	(void)setsockopt(s->fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one); /* best effort */
}

int conn_read(struct session *s)
{
	int rc = 0;
	size_t got = 0;
	for (int rounds = 0; rounds < 16; rounds++) {
		size_t room = s->in.max - s->in.len;
		if (room == 0)
			break;
		char tmp[16384];
		size_t want = room < sizeof tmp ? room : sizeof tmp;
		ssize_t n;
		if (s->ssl) {
			s->ssl_want_write = 0;
			int rv = SSL_read(s->ssl, tmp, (int)want);
			if (rv <= 0) {
				rc = ssl_status(s, rv) > 0 ? 0 : -1;
				break;
			}
			n = rv;
		} else {
			n = read(s->fd, tmp, want);
			if (n == 0) {
				rc = -1;
				break;
			}
			if (n < 0) {
				rc = errno == EAGAIN || errno == EINTR ? 0 : -1;
				break;
			}
		}
		if (cl_buf_append(&s->in, tmp, (size_t)n) < 0)
			return -1;
		got += (size_t)n;
		/* A short read emptied the socket: the next read would only say EAGAIN (one wasted
		 * system call per wake-up), and epoll (level-triggered) reports what comes later.
		 * TLS goes on: OpenSSL may hold decrypted records the socket no longer shows. */
		if (!s->ssl && (size_t)n < want)
			break;
	}
	if (got > 0)
		body_read_ack(s);
	return rc;
}

int conn_flush(struct session *s)
{
	while (s->out.len > 0) {
		ssize_t n;
		if (s->ssl) {
			s->ssl_want_write = 0;
			int rv = SSL_write(s->ssl, s->out.data, (int)s->out.len);
			if (rv <= 0) {
				int st = ssl_status(s, rv);
				if (st > 0)
					s->ssl_want_write = 1; /* wait for EPOLLOUT either way */
				return st > 0 ? 0 : -1;
			}
			n = rv;
		} else {
			n = write(s->fd, s->out.data, s->out.len);
			if (n < 0)
				return errno == EAGAIN || errno == EINTR ? 0 : -1;
		}
		cl_buf_consume(&s->out, (size_t)n);
	}
	cl_buf_free(&s->out); /* all sent: an idle session holds no buffer (bench/held) */
	return 0;
}

/* conn_trim - after a callback: give back the input buffer once everything in it was
 * consumed, so a session waiting for its client costs only its struct. */
void conn_trim(struct session *s)
{
	if (s->in.len == 0)
		cl_buf_free(&s->in);
}

int conn_start_tls(struct session *s)
{
	if (!s->e->tls)
		return -1;
	s->ssl = SSL_new(s->e->tls);
	if (!s->ssl || SSL_set_fd(s->ssl, s->fd) != 1)
		return -1;
	SSL_set_accept_state(s->ssl);
	/* SSL_write may return after a partial record only with this mode; our out buffer
	 * can move between retries. */
	SSL_set_mode(s->ssl, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_ENABLE_PARTIAL_WRITE |
				 SSL_MODE_RELEASE_BUFFERS); /* idle: no 2 x 16 KiB record buffers held */
	return 0;
}

int conn_handshake(struct session *s)
{
	s->ssl_want_write = 0;
	int rv = SSL_do_handshake(s->ssl);
	if (rv == 1) {
		tls_describe(s);
		return 1;
	}
	return ssl_status(s, rv) > 0 ? 0 : -1;
}

void tls_describe(struct session *s)
{
	snprintf(s->tls_desc, sizeof s->tls_desc, "%s %s", SSL_get_version(s->ssl),
		 SSL_CIPHER_get_name(SSL_get_current_cipher(s->ssl)));
}
