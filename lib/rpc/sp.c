/* sp.c - nng's SP wire format without libnng. See sp.h. */
#include "rpc/sp.h"

#include <errno.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "util/buf.h"

int cl_sp_url_parse(const char *url, struct cl_sp_url *u, char *err, size_t errlen)
{
	memset(u, 0, sizeof *u);
	const char *p;
	if (strncmp(url, "ipc://", 6) == 0 || strncmp(url, "unix://", 7) == 0) {
		p = url + (url[0] == 'i' ? 6 : 7);
		if (!*p || cl_snprintf(u->path, sizeof u->path, "%s", p) < 0) {
			cl_snprintf(err, errlen, "\"%s\": an ipc:// URL needs a socket path of at most %zu bytes", url,
				    sizeof u->path - 1);
			return -1;
		}
		u->ipc = 1;
		return 0;
	}
	if (strncmp(url, "tcp://", 6) != 0) {
		cl_snprintf(err, errlen, "\"%s\" is not an RPC URL (tcp://host:port or ipc:///path)", url);
		return -1;
	}
	p = url + 6;
	const char *colon;
	size_t hl;
	if (*p == '[') {
		const char *close = strchr(p, ']');
		if (!close || close[1] != ':') {
			cl_snprintf(err, errlen, "\"%s\" is not tcp://[v6-address]:port", url);
			return -1;
		}
		p++;
		hl = (size_t)(close - p);
		colon = close + 1;
	} else {
		colon = strrchr(p, ':');
		if (!colon) {
			cl_snprintf(err, errlen, "\"%s\" is not tcp://host:port (no port)", url);
			return -1;
		}
		hl = (size_t)(colon - p);
	}
	const char *port = colon + 1;
	size_t pl = strlen(port);
	if (pl == 0 || pl >= sizeof u->port || strspn(port, "0123456789") != pl || hl >= sizeof u->host) {
		cl_snprintf(err, errlen, "\"%s\" is not tcp://host:port (bad port or host)", url);
		return -1;
	}
	memcpy(u->host, p, hl);
	u->host[hl] = '\0';
	if (strcmp(u->host, "*") == 0)
		u->host[0] = '\0';
	memcpy(u->port, port, pl + 1);
	return 0;
}

void cl_sp_hello(unsigned char out[8], int proto)
{
	const unsigned char h[8] = {0, 'S', 'P', 0, (unsigned char)(proto >> 8), (unsigned char)proto, 0, 0};
	memcpy(out, h, 8);
}

int cl_sp_hello_ok(const unsigned char in[8], int want)
{
	unsigned char h[8];
	cl_sp_hello(h, want);
	return memcmp(in, h, 6) == 0;
}

size_t cl_sp_frame_head(unsigned char out[9], int ipc, uint64_t n)
{
	size_t at = 0;
	if (ipc)
		out[at++] = 1;
	for (int i = 7; i >= 0; i--)
		out[at++] = (unsigned char)(n >> (8 * i));
	return at;
}

void cl_sp_reader_init(struct cl_sp_reader *r, int ipc, size_t max)
{
	r->ipc = ipc;
	r->max = max;
	r->have = r->pos = 0;
	r->m = NULL;
	r->need = r->got = 0;
}

void cl_sp_reader_fini(struct cl_sp_reader *r)
{
	if (r->m)
		nng_msg_free(r->m);
	r->m = NULL;
}

/* take - move what the buffer holds into frames; -1 on a bad frame header. */
static int take(struct cl_sp_reader *r, void (*fn)(void *, nng_msg *), void *arg)
{
	size_t hl = r->ipc ? 9 : 8;
	for (;;) {
		if (!r->m) {
			if (r->have - r->pos < hl)
				break;
			const unsigned char *h = r->buf + r->pos;
			if (r->ipc && h[0] != 1)
				return -1;
			uint64_t n = 0;
			for (size_t i = hl - 8; i < hl; i++)
				n = n << 8 | h[i];
			if (n > r->max)
				return -1;
			if (nng_msg_alloc(&r->m, (size_t)n) != 0) {
				errno = ENOMEM;
				return -1;
			}
			r->need = (size_t)n;
			r->got = 0;
			r->pos += hl;
		}
		size_t k = r->have - r->pos;
		if (k > r->need - r->got)
			k = r->need - r->got;
		if (k)
			memcpy((unsigned char *)nng_msg_body(r->m) + r->got, r->buf + r->pos, k);
		r->got += k;
		r->pos += k;
		if (r->got < r->need)
			break;
		nng_msg *m = r->m;
		r->m = NULL;
		fn(arg, m);
	}
	if (r->pos == r->have) {
		r->pos = r->have = 0;
	} else if (r->pos > 0) {
		memmove(r->buf, r->buf + r->pos, r->have - r->pos);
		r->have -= r->pos;
		r->pos = 0;
	}
	return 0;
}

int cl_sp_read(struct cl_sp_reader *r, int fd, void (*fn)(void *arg, nng_msg *m), void *arg)
{
	for (;;) {
		ssize_t n;
		if (r->m && r->need - r->got >= sizeof r->buf) {
			/* A large frame: straight into its message. */
			size_t want = r->need - r->got;
			n = read(fd, (unsigned char *)nng_msg_body(r->m) + r->got, want);
			if (n > 0) {
				r->got += (size_t)n;
				if (r->got == r->need) {
					nng_msg *m = r->m;
					r->m = NULL;
					fn(arg, m);
				}
				continue;
			}
		} else {
			size_t want = sizeof r->buf - r->have;
			n = read(fd, r->buf + r->have, want);
			if (n > 0) {
				r->have += (size_t)n;
				if (take(r, fn, arg) < 0) {
					if (errno != ENOMEM)
						errno = EPROTO;
					return -1;
				}
				/* A short read emptied the socket for now: no read just to hear EAGAIN
				 * (poll is level-triggered and says when more comes). */
				if ((size_t)n < want)
					return 0;
				continue;
			}
		}
		if (n == 0) {
			errno = 0;
			return -1;
		}
		if (errno == EINTR)
			continue;
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
	}
}

ssize_t cl_sp_writev(int fd, const struct iovec *iov, int n)
{
	struct msghdr mh = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)n};
	for (;;) {
		ssize_t w = sendmsg(fd, &mh, MSG_NOSIGNAL);
		if (w >= 0 || errno != EINTR)
			return w;
	}
}

size_t cl_sp_backtrace(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < CL_SP_MAX_HOPS && 4 * i + 4 <= n; i++)
		if (p[4 * i] & 0x80)
			return 4 * i + 4;
	return 0;
}
