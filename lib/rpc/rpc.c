/* rpc.c - REQ/REP client and server with deadlines, on nng's wire format (sp.h) but without
 * nng's sockets, contexts and threads. See rpc.h.
 *
 * Why not libnng's sockets: they cost 0.5 ms of CPU per message on the mail path (21 % of
 * Clement's), in thread hand-offs between nng's task and poll threads and the callers
 * (docs/PERFORMANCE.md, "What the RPC transport costs"). Here a caller writes its request
 * itself, one thread per client reads the replies and runs the callbacks, and on the server
 * the worker a connection's readiness wakes reads its requests, answers one and writes the
 * reply itself.
 * nng_msg stays the message type (plain memory; no nng thread is started). */
#include "rpc/rpc.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "rpc/jarena.h"
#include "rpc/sp.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/metrics.h"

const char *cl_rpc_status_str(enum cl_rpc_status st)
{
	switch (st) {
	case CL_RPC_OK:
		return "ok";
	case CL_RPC_TIMEOUT:
		return "timeout";
	case CL_RPC_UNREACHABLE:
		return "unreachable";
	case CL_RPC_MALFORMED:
		return "malformed";
	case CL_RPC_ERROR:
		return "error";
	}
	return "unknown";
}

/* ---- shared ---- */

/* wake / drain - an eventfd that interrupts a poll. */
static void wake(int efd)
{
	uint64_t one = 1;
	ssize_t w = write(efd, &one, sizeof one);
	(void)w;
}

static void drain(int efd)
{
	uint64_t v;
	ssize_t r = read(efd, &v, sizeof v);
	(void)r;
}

static void set_nodelay(int fd, int ipc)
{
	int one = 1;
	if (!ipc)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* ipc_addr - the Unix socket address of path. */
static socklen_t ipc_addr(struct sockaddr_un *a, const char *path)
{
	memset(a, 0, sizeof *a);
	a->sun_family = AF_UNIX;
	memcpy(a->sun_path, path, strlen(path) + 1); /* the URL parser bounded it */
	return (socklen_t)sizeof *a;
}

/* ---- client ---- */

/* One call, from cl_rpc_call_async until done has run and its request is no longer being
 * written: a call that ends while the connection is part-way through its frame keeps the
 * frame until it is whole (the peer would read the next request as its rest). */
struct call {
	uint32_t id;
	double deadline;
	cl_rpc_done_fn done;
	void *arg;
	nng_msg *req; /* until written */
	unsigned char head[13];
	size_t hlen, off; /* the frame header (length, request id) and the bytes of the frame written */
	int on_conn;      /* sent or queued on the current connection, in the id table */
	int in_sendq;
	int ended; /* on the completion list or done already */
	int done_ran;
	enum cl_rpc_status st;
	nng_msg *reply;
	struct call *prev, *next; /* live calls (not ended) */
	struct call *hnext;       /* id table */
	struct call *qnext;       /* send queue */
	struct call *cnext;       /* completion list */
};

#define ID_BUCKETS 1024

enum conn_state { C_DOWN, C_RESOLVING, C_CONNECTING, C_HELLO, C_UP };

struct cl_rpc_client {
	struct cl_sp_url url;
	char url_text[300];
	pthread_t thread;
	int efd; /* wakes the thread */
	pthread_mutex_t lock;
	/* under lock: */
	int fd;
	enum conn_state state;
	struct call *live;              /* every call not ended (deadlines, cancel_all) */
	struct call *ids[ID_BUCKETS];   /* calls on the connection, by request id */
	struct call *sq_head, *sq_tail; /* requests still to write, in order */
	struct call *done_head, *done_tail;
	uint32_t next_id;
	double min_deadline; /* no live call ends before this */
	double sleep_until;  /* when the thread wakes up next on its own */
	int closing;
	/* the thread's own: */
	struct cl_sp_reader rd;
	unsigned char hello[8];
	size_t hello_got;
	struct addrinfo *ai, *ai_at;
	int ipc_dialed;     /* an ipc:// dial has one address: tried once per attempt */
	pthread_t resolver; /* C_RESOLVING: the name lookup's thread, joined when it is done */
	struct addrinfo *resolved;
	int resolved_ready;
	double redial_at, backoff;
	_Atomic int connected;
	_Atomic int cancelled;
	int fail_fast;
};

static void live_add(struct cl_rpc_client *c, struct call *k)
{
	k->prev = NULL;
	k->next = c->live;
	if (c->live)
		c->live->prev = k;
	c->live = k;
	if (k->deadline < c->min_deadline)
		c->min_deadline = k->deadline;
}

static void ids_remove(struct cl_rpc_client *c, struct call *k)
{
	struct call **p = &c->ids[k->id % ID_BUCKETS];
	while (*p && *p != k)
		p = &(*p)->hnext;
	if (*p)
		*p = k->hnext;
	k->on_conn = 0;
}

/* call_free - k is gone when done has run and no frame of it is being written. Lock held. */
static void call_maybe_free(struct call *k)
{
	if (k->done_ran && !k->in_sendq) {
		if (k->req)
			nng_msg_free(k->req);
		free(k);
	}
}

/* end_call - k ends with st (reply on CL_RPC_OK): off the live list and the id table, onto the
 * completion list, whose callbacks the client's thread runs. Its frame stays queued if part
 * of it was written; an unstarted one is dropped when the writer reaches it. Lock held. */
static void end_call(struct cl_rpc_client *c, struct call *k, enum cl_rpc_status st, nng_msg *reply)
{
	if (k->ended)
		return;
	k->ended = 1;
	k->st = st;
	k->reply = reply;
	if (k->prev)
		k->prev->next = k->next;
	else
		c->live = k->next;
	if (k->next)
		k->next->prev = k->prev;
	if (k->on_conn)
		ids_remove(c, k);
	k->cnext = NULL;
	if (c->done_tail)
		c->done_tail->cnext = k;
	else
		c->done_head = k;
	c->done_tail = k;
}

/* enqueue - k goes on the connection: into the id table and the send queue. Lock held. */
static void enqueue(struct cl_rpc_client *c, struct call *k)
{
	k->on_conn = 1;
	k->hnext = c->ids[k->id % ID_BUCKETS];
	c->ids[k->id % ID_BUCKETS] = k;
	k->in_sendq = 1;
	k->qnext = NULL;
	if (c->sq_tail)
		c->sq_tail->qnext = k;
	else
		c->sq_head = k;
	c->sq_tail = k;
}

/* flush - write queued frames until the socket is full; -1 when it broke. Lock held. */
static int flush(struct cl_rpc_client *c)
{
	while (c->sq_head) {
		struct call *k = c->sq_head;
		if (k->off == 0 && k->ended) { /* ended before a byte went: never sent */
			c->sq_head = k->qnext;
			if (!c->sq_head)
				c->sq_tail = NULL;
			k->in_sendq = 0;
			call_maybe_free(k);
			continue;
		}
		size_t blen = nng_msg_len(k->req);
		struct iovec iov[2];
		int n = 0;
		if (k->off < k->hlen)
			iov[n++] = (struct iovec){k->head + k->off, k->hlen - k->off};
		size_t boff = k->off > k->hlen ? k->off - k->hlen : 0;
		if (blen > boff)
			iov[n++] = (struct iovec){(unsigned char *)nng_msg_body(k->req) + boff, blen - boff};
		ssize_t w = cl_sp_writev(c->fd, iov, n);
		if (w < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
		k->off += (size_t)w;
		if (k->off < k->hlen + blen)
			return 0;
		nng_msg_free(k->req);
		k->req = NULL;
		c->sq_head = k->qnext;
		if (!c->sq_head)
			c->sq_tail = NULL;
		k->in_sendq = 0;
		call_maybe_free(k);
	}
	return 0;
}

/* drop_conn - the connection is gone: every call on it ends unreachable (no peer is left to
 * answer it), the frames not yet written with it. Lock held. */
static void drop_conn(struct cl_rpc_client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->state = C_DOWN;
	atomic_store(&c->connected, 0);
	cl_sp_reader_fini(&c->rd);
	while (c->sq_head) {
		struct call *k = c->sq_head;
		c->sq_head = k->qnext;
		k->in_sendq = 0;
		if (!k->ended)
			end_call(c, k, CL_RPC_UNREACHABLE, NULL);
		call_maybe_free(k);
	}
	c->sq_tail = NULL;
	for (struct call *k = c->live, *nx; k; k = nx) {
		nx = k->next;
		if (k->on_conn)
			end_call(c, k, CL_RPC_UNREACHABLE, NULL);
	}
	c->redial_at = cl_now_seconds() + c->backoff;
	c->backoff = c->backoff * 2 > 1.0 ? 1.0 : c->backoff * 2;
}

/* on_reply - a frame from the peer: the reply to the call with its request id. */
static void on_reply(void *arg, nng_msg *m)
{
	struct cl_rpc_client *c = arg;
	const unsigned char *p = nng_msg_body(m);
	if (nng_msg_len(m) < 4) {
		nng_msg_free(m);
		return;
	}
	uint32_t id = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
	nng_msg_trim(m, 4);
	pthread_mutex_lock(&c->lock);
	struct call *k = c->ids[id % ID_BUCKETS];
	while (k && k->id != id)
		k = k->hnext;
	if (k)
		end_call(c, k, CL_RPC_OK, m);
	pthread_mutex_unlock(&c->lock);
	if (!k)
		nng_msg_free(m); /* the answer to a call that ended already */
}

/* dial_next - start connecting to the next address; 0 started (or connected), -1 none left. */
static int dial_next(struct cl_rpc_client *c)
{
	for (;;) {
		int fd = -1;
		int rc;
		if (c->url.ipc) {
			struct sockaddr_un a;
			socklen_t al = ipc_addr(&a, c->url.path);
			if (c->ipc_dialed)
				return -1;
			c->ipc_dialed = 1;
			fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
			if (fd < 0)
				return -1;
			rc = connect(fd, (struct sockaddr *)&a, al);
		} else {
			if (!c->ai_at)
				return -1;
			struct addrinfo *a = c->ai_at;
			c->ai_at = a->ai_next;
			fd = socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
			if (fd < 0)
				continue;
			rc = connect(fd, a->ai_addr, a->ai_addrlen);
		}
		if (rc == 0 || errno == EINPROGRESS || (c->url.ipc && errno == EAGAIN)) {
			c->fd = fd;
			c->state = C_CONNECTING;
			return 0;
		}
		close(fd);
		if (c->url.ipc)
			return -1;
	}
}

/* resolve_main - the name lookup of a new connection attempt, on a thread of its own: a
 * resolver that does not answer (seconds per try) must stall neither the callers nor the
 * client's thread, which ends calls at their deadlines meanwhile. Looked up again at every
 * attempt: a service may have moved. */
static void *resolve_main(void *arg)
{
	struct cl_rpc_client *c = arg;
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_family = AF_UNSPEC}, *ai = NULL;
	if (getaddrinfo(c->url.host[0] ? c->url.host : "127.0.0.1", c->url.port, &hints, &ai) != 0)
		ai = NULL;
	pthread_mutex_lock(&c->lock);
	c->resolved = ai;
	c->resolved_ready = 1;
	pthread_mutex_unlock(&c->lock);
	wake(c->efd);
	return NULL;
}

/* redial - start a connection attempt: a lookup for tcp://, the connect for ipc://. Lock held. */
static void redial(struct cl_rpc_client *c)
{
	c->ipc_dialed = 0;
	if (c->url.ipc) {
		if (dial_next(c) < 0)
			drop_conn(c);
	} else if (pthread_create(&c->resolver, NULL, resolve_main, c) == 0) {
		c->state = C_RESOLVING;
	} else {
		drop_conn(c);
	}
}

/* resolved - the lookup is done: connect to its first address that takes it. Lock held. */
static void resolved(struct cl_rpc_client *c)
{
	pthread_join(c->resolver, NULL); /* it has left the lock; it only wakes us still */
	c->resolved_ready = 0;
	if (c->ai)
		freeaddrinfo(c->ai);
	c->ai = c->ai_at = c->resolved;
	c->resolved = NULL;
	c->state = C_DOWN;
	if (dial_next(c) < 0)
		drop_conn(c);
}

/* connected_now - the connection finished connecting: say hello. */
static void start_hello(struct cl_rpc_client *c)
{
	int e = 0;
	socklen_t el = sizeof e;
	getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &el);
	unsigned char h[8];
	cl_sp_hello(h, CL_SP_REQ0);
	if (e != 0 || send(c->fd, h, sizeof h, MSG_NOSIGNAL) != (ssize_t)sizeof h) {
		close(c->fd);
		c->fd = -1;
		if (dial_next(c) < 0)
			drop_conn(c);
		return;
	}
	set_nodelay(c->fd, c->url.ipc);
	c->state = C_HELLO;
	c->hello_got = 0;
}

/* read_hello - the peer's handshake; a REP peer makes the connection usable. */
static void read_hello(struct cl_rpc_client *c)
{
	ssize_t n = read(c->fd, c->hello + c->hello_got, sizeof c->hello - c->hello_got);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		drop_conn(c);
		return;
	}
	c->hello_got += (size_t)n;
	if (c->hello_got < sizeof c->hello)
		return;
	if (!cl_sp_hello_ok(c->hello, CL_SP_REP0)) { /* a peer of another protocol: no connection */
		drop_conn(c);
		return;
	}
	c->state = C_UP;
	c->backoff = 0.05;
	cl_sp_reader_init(&c->rd, c->url.ipc, CL_RPC_MAX_MSG + 4);
	atomic_store(&c->connected, 1);
	/* The calls that waited for a connection go now, oldest first (the live list is newest
	 * first). */
	struct call *last = NULL;
	for (struct call *k = c->live; k; k = k->next)
		last = k;
	for (struct call *k = last; k; k = k->prev)
		if (!k->on_conn)
			enqueue(c, k);
	if (flush(c) < 0)
		drop_conn(c);
}

/* expire - end the calls whose deadline passed: unreachable when there is no connection at the
 * deadline, a timeout when there is. Returns the next deadline. Lock held. */
static double expire(struct cl_rpc_client *c, double now)
{
	if (now < c->min_deadline)
		return c->min_deadline;
	double next = 1e300;
	for (struct call *k = c->live, *nx; k; k = nx) {
		nx = k->next;
		if (k->deadline <= now)
			end_call(c, k, c->state == C_UP ? CL_RPC_TIMEOUT : CL_RPC_UNREACHABLE, NULL);
		else if (k->deadline < next)
			next = k->deadline;
	}
	c->min_deadline = next;
	return next;
}

/* run_done - the callbacks of the calls that ended, outside the lock (done may call again). */
static void run_done(struct cl_rpc_client *c, struct call *list)
{
	for (struct call *k = list, *nx; k; k = nx) {
		nx = k->cnext;
		k->done(k->arg, k->st, k->reply);
		pthread_mutex_lock(&c->lock);
		k->done_ran = 1;
		call_maybe_free(k);
		pthread_mutex_unlock(&c->lock);
	}
}

static void *client_main(void *arg)
{
	struct cl_rpc_client *c = arg;
	pthread_setname_np(pthread_self(), "rpc:client");
	for (;;) {
		pthread_mutex_lock(&c->lock);
		double now = cl_now_seconds();
		if (c->state == C_DOWN && !c->closing && now >= c->redial_at)
			redial(c);
		if (c->state == C_RESOLVING && c->resolved_ready && !c->closing)
			resolved(c);
		double next = expire(c, now);
		if (c->state == C_DOWN && c->redial_at < next)
			next = c->redial_at;
		c->sleep_until = next;
		struct call *done = c->done_head;
		c->done_head = c->done_tail = NULL;
		int closing = c->closing;
		struct pollfd p[2] = {{.fd = c->efd, .events = POLLIN}, {.fd = c->fd, .events = 0}};
		if (c->state == C_CONNECTING)
			p[1].events = POLLOUT;
		else if (c->state == C_HELLO)
			p[1].events = POLLIN;
		else if (c->state == C_UP)
			p[1].events = (short)(POLLIN | (c->sq_head ? POLLOUT : 0));
		pthread_mutex_unlock(&c->lock);
		if (done) {
			run_done(c, done);
			continue; /* a callback may have started calls */
		}
		if (closing)
			break;
		int timeout = -1;
		if (next < 1e299) {
			double ms = (next - now) * 1000.0 + 1.0;
			timeout = ms > 60000 ? 60000 : ms < 0 ? 0 : (int)ms;
		}
		int n = poll(p, p[1].events ? 2 : 1, timeout);
		if (n <= 0)
			continue;
		if (p[0].revents)
			drain(c->efd);
		if (!p[1].events || !p[1].revents)
			continue;
		if (c->state == C_UP && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) {
			/* Read without the lock: only this thread closes the descriptor. */
			int rc = cl_sp_read(&c->rd, c->fd, on_reply, c);
			if (rc < 0) {
				pthread_mutex_lock(&c->lock);
				drop_conn(c);
				pthread_mutex_unlock(&c->lock);
				continue;
			}
		}
		pthread_mutex_lock(&c->lock);
		if (c->state == C_CONNECTING)
			start_hello(c);
		else if (c->state == C_HELLO)
			read_hello(c);
		else if (c->state == C_UP && (p[1].revents & POLLOUT) && flush(c) < 0)
			drop_conn(c);
		pthread_mutex_unlock(&c->lock);
	}
	return NULL;
}

struct cl_rpc_client *cl_rpc_client_new(const char *url, char *err, size_t errlen)
{
	struct cl_rpc_client *c = calloc(1, sizeof *c);
	if (!c) {
		cl_snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (cl_sp_url_parse(url, &c->url, err, errlen) < 0) {
		free(c);
		return NULL;
	}
	cl_strlcpy(c->url_text, url, sizeof c->url_text);
	c->fd = -1;
	c->backoff = 0.05;
	c->min_deadline = 1e300;
	c->next_id = 1;
	c->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	pthread_mutex_init(&c->lock, NULL);
	if (c->efd < 0 || pthread_create(&c->thread, NULL, client_main, c) != 0) {
		cl_snprintf(err, errlen, "cannot start the RPC client of %s: %s", url, strerror(errno));
		if (c->efd >= 0)
			close(c->efd);
		pthread_mutex_destroy(&c->lock);
		free(c);
		return NULL;
	}
	return c;
}

void cl_rpc_client_free(struct cl_rpc_client *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	for (struct call *k = c->live, *nx; k; k = nx) {
		nx = k->next;
		end_call(c, k, CL_RPC_ERROR, NULL);
	}
	c->closing = 1;
	pthread_mutex_unlock(&c->lock);
	wake(c->efd);
	pthread_join(c->thread, NULL);
	/* The thread ran every callback before it left; what remains are queued frames. */
	pthread_mutex_lock(&c->lock);
	struct call *done = c->done_head;
	c->done_head = c->done_tail = NULL;
	pthread_mutex_unlock(&c->lock);
	run_done(c, done);
	if (c->state == C_RESOLVING) {
		pthread_join(c->resolver, NULL);
		if (c->resolved)
			freeaddrinfo(c->resolved);
		c->state = C_DOWN;
	}
	pthread_mutex_lock(&c->lock);
	drop_conn(c);
	pthread_mutex_unlock(&c->lock);
	if (c->ai)
		freeaddrinfo(c->ai);
	close(c->efd);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

int cl_rpc_client_connected(struct cl_rpc_client *c)
{
	return atomic_load(&c->connected);
}

int cl_rpc_client_wait_connected(struct cl_rpc_client *const *cs, size_t n, int timeout_ms)
{
	double end = cl_now_seconds() + (double)timeout_ms / 1000.0;
	for (;;) {
		size_t up = 0;
		for (size_t i = 0; i < n; i++)
			up += !cs[i] || cl_rpc_client_connected(cs[i]);
		if (up == n)
			return 1;
		if (cl_now_seconds() >= end)
			return 0;
		usleep(5000);
	}
}

int cl_rpc_call_async(struct cl_rpc_client *c, nng_msg *req, int timeout_ms, cl_rpc_done_fn done, void *arg)
{
	if (atomic_load(&c->cancelled))
		return -1;
	struct call *k = calloc(1, sizeof *k);
	if (!k)
		return -1;
	k->done = done;
	k->arg = arg;
	k->req = req;
	k->deadline = cl_now_seconds() + (double)timeout_ms / 1000.0;
	pthread_mutex_lock(&c->lock);
	if (atomic_load(&c->cancelled) || c->closing) {
		pthread_mutex_unlock(&c->lock);
		free(k);
		return -1;
	}
	k->id = 0x80000000u | c->next_id;
	c->next_id = (c->next_id + 1) & 0x7fffffffu;
	if (!c->next_id)
		c->next_id = 1;
	size_t len = nng_msg_len(req) + 4;
	k->hlen = cl_sp_frame_head(k->head, c->url.ipc, len);
	for (int i = 0; i < 4; i++)
		k->head[k->hlen + (size_t)i] = (unsigned char)(k->id >> (24 - 8 * i));
	k->hlen += 4;
	live_add(c, k);
	/* The thread must wake up by this call's deadline. */
	int kick = k->deadline < c->sleep_until;
	if (c->state == C_UP) {
		int idle = !c->sq_head;
		enqueue(c, k);
		/* The caller writes its own request when nothing is queued before it; the thread
		 * writes what the socket would not take at once, and finds a broken connection
		 * (only the thread closes it: it reads from it without the lock). */
		if (!idle || flush(c) < 0 || c->sq_head)
			kick = 1;
	} else if (c->fail_fast) {
		end_call(c, k, CL_RPC_UNREACHABLE, NULL); /* done runs on the client's thread */
		kick = 1;
	}
	if (kick)
		c->sleep_until = 0;
	pthread_mutex_unlock(&c->lock);
	if (kick)
		wake(c->efd);
	return 0;
}

/* sync_wait - what a synchronous call waits on. */
struct sync_wait {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int done;
	enum cl_rpc_status st;
	nng_msg *reply;
};

static void sync_done(void *arg, enum cl_rpc_status st, nng_msg *reply)
{
	struct sync_wait *w = arg;
	pthread_mutex_lock(&w->lock);
	w->st = st;
	w->reply = reply;
	w->done = 1;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

enum cl_rpc_status cl_rpc_call(struct cl_rpc_client *c, const cJSON *req, const void *body, size_t blen, int timeout_ms,
			       nng_msg **reply, cJSON **hdr, char *err, size_t errlen)
{
	nng_msg *m = NULL;
	if (cl_frame_build(&m, req, body, blen) < 0) {
		cl_snprintf(err, errlen, "cannot build request (out of memory)");
		return CL_RPC_ERROR;
	}
	struct sync_wait w = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
	if (cl_rpc_call_async(c, m, timeout_ms, sync_done, &w) < 0) {
		nng_msg_free(m);
		cl_snprintf(err, errlen, "error: the RPC client of %s is closed or out of memory", c->url_text);
		return CL_RPC_ERROR;
	}
	pthread_mutex_lock(&w.lock);
	while (!w.done)
		pthread_cond_wait(&w.cond, &w.lock);
	pthread_mutex_unlock(&w.lock);
	pthread_cond_destroy(&w.cond);
	pthread_mutex_destroy(&w.lock);
	if (w.st != CL_RPC_OK) {
		const char *why = w.st == CL_RPC_TIMEOUT       ? "no answer within the deadline"
				  : w.st == CL_RPC_UNREACHABLE ? "no connection to the service"
							       : "the call was cancelled";
		cl_snprintf(err, errlen, "%s: %s (%s, %d ms)", cl_rpc_status_str(w.st), why, c->url_text, timeout_ms);
		return w.st;
	}
	const unsigned char *rb;
	size_t rbl;
	cJSON *h = NULL;
	char perr[128];
	if (cl_frame_parse(w.reply, &h, &rb, &rbl, perr, sizeof perr) < 0) {
		nng_msg_free(w.reply);
		cl_snprintf(err, errlen, "malformed reply: %s", perr);
		return CL_RPC_MALFORMED;
	}
	*reply = w.reply;
	*hdr = h;
	return CL_RPC_OK;
}

void cl_rpc_client_fail_fast(struct cl_rpc_client *c)
{
	c->fail_fast = 1;
}

void cl_rpc_client_cancel_all(struct cl_rpc_client *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	atomic_store(&c->cancelled, 1);
	for (struct call *k = c->live, *nx; k; k = nx) {
		nx = k->next;
		end_call(c, k, CL_RPC_ERROR, NULL);
	}
	pthread_mutex_unlock(&c->lock);
	wake(c->efd);
}

cJSON *cl_rpc_error_reply(const char *msg)
{
	cJSON *r = cJSON_CreateObject();
	if (!r)
		return NULL;
	cJSON_AddNumberToObject(r, "v", CL_FRAME_VERSION);
	cJSON_AddBoolToObject(r, "ok", 0);
	cJSON_AddStringToObject(r, "error", msg);
	return r;
}

/* ---- server ---- */

/* One accepted connection. It is in epoll with EPOLLONESHOT, so one worker at a time reads it
 * (and re-arms it when done); the server's list holds a reference, and so does each request
 * waiting or being answered; the descriptor is closed with the last, so a worker never writes
 * to a descriptor number already reused. */
struct sconn {
	int fd;
	int ipc;
	unsigned char hello[8];
	size_t hello_got;
	struct cl_sp_reader rd;
	/* Held while reading. EPOLLONESHOT already lets one worker at a time read, but through the
	 * kernel only; the lock says so to the compiler and to ThreadSanitizer (never contended). */
	pthread_mutex_t rlock;
	pthread_mutex_t wlock; /* one reply written at a time */
	_Atomic int refs;
	_Atomic int dead;
	struct cl_rpc_server *s;
	struct sconn *next;  /* the server's list (connlock) */
	struct sconn *pnext; /* the list of connections not read for now (qlock) */
};

struct job {
	struct sconn *conn;
	nng_msg *m;
	unsigned char bt[4 * CL_SP_MAX_HOPS];
	size_t btlen;
	struct job *next;
};

/* While this much waits on the queue, connections are not read (each keeps its requests in
 * its socket): the memory a flood of large messages can take. */
static _Atomic size_t queue_max_bytes = (size_t)64 * 1024 * 1024, queue_max_jobs = 4096;

void cl_rpc_server_queue_limits(size_t jobs, size_t bytes)
{
	atomic_store(&queue_max_jobs, jobs);
	atomic_store(&queue_max_bytes, bytes);
}
/* How long a worker waits for a peer to take its reply. */
#define REPLY_WRITE_MS 10000

/* No reading thread: every worker waits in epoll_wait on the server's epoll set, and the one a
 * connection's readiness wakes reads every frame the connection has, answers the first itself
 * and queues the rest for the other workers (waking as many idle ones, through efd). So a
 * request costs one thread wake-up, not two (a reader's, then a worker's). */
struct cl_rpc_server {
	struct cl_sp_url url;
	int lfd, efd, epfd;
	cl_rpc_handler_fn handler;
	const struct cl_rpc_optable *table; /* when set, handler is unused */
	void *ctx;
	int nworkers;
	pthread_t *threads;
	_Atomic int stopping;
	_Atomic int idle;                   /* workers in (or about to enter) epoll_wait */
	_Atomic long long accept_resume_ms; /* accepting paused (out of descriptors) until then; 0: not */
	pthread_mutex_t qlock;
	struct job *qhead, *qtail;
	size_t qjobs, qbytes;
	struct sconn *paused; /* not re-armed while the queue is full */
	pthread_mutex_t connlock;
	struct sconn *conns;
};

static void sconn_unref(struct sconn *c)
{
	if (atomic_fetch_sub(&c->refs, 1) == 1) {
		close(c->fd);
		cl_sp_reader_fini(&c->rd);
		pthread_mutex_destroy(&c->rlock);
		pthread_mutex_destroy(&c->wlock);
		free(c);
	}
}

/* sconn_kill - no more replies on c; the reading thread sees the end and lets it go. */
static void sconn_kill(struct sconn *c)
{
	atomic_store(&c->dead, 1);
	shutdown(c->fd, SHUT_RDWR);
}

struct cl_metric *cl_rpc_unknown_metric(struct cl_metrics *reg)
{
	return cl_metrics_counter(reg, "clement_rpc_unknown_ops_total",
				  "RPC requests naming an op this service does not serve", "");
}

/* dispatch - the op table's handler for req's "op"; an unknown or missing op is counted,
 * logged and answered CL_RPC_UNKNOWN_OP. */
static cJSON *dispatch(const struct cl_rpc_optable *t, void *ctx, const cJSON *req, const unsigned char *body,
		       size_t blen, void **rbody, size_t *rblen)
{
	const char *op = cl_json_str(req, "op", "");
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(op, t->ops[i].name) == 0)
			return t->ops[i].fn(ctx, req, body, blen, rbody, rblen);
	if (t->unknown)
		cl_metric_inc(t->unknown);
	char q[80];
	cl_log(CL_LOG_WARN, NULL, "rpc_unknown_op", "op=%s", cl_log_escape(q, sizeof q, op, strlen(op)));
	return cl_rpc_error_reply(CL_RPC_UNKNOWN_OP);
}

/* write_all - the whole of iov to c, waiting for the peer up to REPLY_WRITE_MS; -1 when it
 * cannot take it (gone, or stuck). wlock held. */
static int write_all(struct sconn *c, struct iovec *iov, int n)
{
	double end = cl_now_seconds() + REPLY_WRITE_MS / 1000.0;
	while (n > 0) {
		ssize_t w = cl_sp_writev(c->fd, iov, n);
		if (w < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return -1;
			int left = (int)((end - cl_now_seconds()) * 1000.0);
			struct pollfd p = {.fd = c->fd, .events = POLLOUT};
			if (left <= 0 || poll(&p, 1, left) <= 0 || (p.revents & (POLLERR | POLLHUP)))
				return -1;
			continue;
		}
		size_t k = (size_t)w;
		while (n > 0 && k >= iov->iov_len) {
			k -= iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (unsigned char *)iov->iov_base + k;
			iov->iov_len -= k;
		}
	}
	return 0;
}

/* reply - send out as the answer to j (its backtrace first). */
static void reply(struct job *j, nng_msg *out)
{
	struct sconn *c = j->conn;
	unsigned char head[9];
	size_t blen = nng_msg_len(out);
	struct iovec iov[3] = {
	    {head, cl_sp_frame_head(head, c->ipc, j->btlen + blen)}, {j->bt, j->btlen}, {nng_msg_body(out), blen}};
	pthread_mutex_lock(&c->wlock);
	if (!atomic_load(&c->dead) && write_all(c, iov, blen ? 3 : 2) < 0)
		sconn_kill(c);
	pthread_mutex_unlock(&c->wlock);
}

/* serve_one - parse, handle and answer one request. */
static void serve_one(struct cl_rpc_server *s, struct job *j)
{
	cJSON *req = NULL, *rep = NULL;
	const unsigned char *body;
	size_t blen;
	void *rbody = NULL;
	size_t rblen = 0;
	char err[160];
	int arena = s->table && s->table->json_arena;
	if (arena)
		cl_jarena_begin();
	if (cl_frame_parse(j->m, &req, &body, &blen, err, sizeof err) < 0) {
		char msg[200];
		cl_snprintf(msg, sizeof msg, "malformed request: %s", err);
		char q[200];
		cl_log(CL_LOG_WARN, NULL, "rpc_malformed", "reason=%s", cl_log_escape(q, sizeof q, err, strlen(err)));
		rep = cl_rpc_error_reply(msg);
	} else {
		rep = s->table ? dispatch(s->table, s->ctx, req, body, blen, &rbody, &rblen)
			       : s->handler(s->ctx, req, body, blen, &rbody, &rblen);
		if (!rep)
			rep = cl_rpc_error_reply("internal error");
	}
	nng_msg *out = NULL;
	if (rep && cl_frame_build(&out, rep, rbody, rblen) == 0) {
		reply(j, out);
		nng_msg_free(out);
	}
	free(rbody);
	cJSON_Delete(rep);
	cJSON_Delete(req);
	if (arena)
		cl_jarena_end();
}

static void job_free(struct job *j)
{
	nng_msg_free(j->m);
	sconn_unref(j->conn);
	free(j);
}

static int queue_full(const struct cl_rpc_server *s)
{
	return s->qjobs && (s->qjobs >= atomic_load(&queue_max_jobs) || s->qbytes >= atomic_load(&queue_max_bytes));
}

/* rearm - c may be read again (by whichever worker its readiness wakes). */
static void rearm(struct cl_rpc_server *s, struct sconn *c)
{
	struct epoll_event ev = {.events = EPOLLIN | EPOLLONESHOT, .data.ptr = c};
	epoll_ctl(s->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

/* queue_pop - the oldest queued request, or NULL. Re-arms the connections paused while the
 * queue was full once it is not. */
static struct job *queue_pop(struct cl_rpc_server *s)
{
	struct sconn *resume = NULL;
	pthread_mutex_lock(&s->qlock);
	struct job *j = s->qhead;
	if (j) {
		s->qhead = j->next;
		if (!s->qhead)
			s->qtail = NULL;
		s->qjobs--;
		s->qbytes -= nng_msg_len(j->m);
		if (s->paused && !queue_full(s)) {
			resume = s->paused;
			s->paused = NULL;
		}
	}
	pthread_mutex_unlock(&s->qlock);
	while (resume) {
		struct sconn *c = resume;
		resume = c->pnext;
		rearm(s, c);
	}
	return j;
}

/* wake_idle - up to n of the workers asleep in epoll_wait, for n queued requests: efd is a
 * semaphore, each wake-up takes one unit, and the units woken workers find no request for are
 * harmless. A request queued while no worker is idle is taken by a busy one when it is done
 * (worker_main counts itself idle before it looks at the queue). */
static void wake_idle(struct cl_rpc_server *s, int n)
{
	int idle = atomic_load(&s->idle);
	uint64_t k = (uint64_t)(n < idle ? n : idle);
	if (k) {
		ssize_t w = write(s->efd, &k, sizeof k);
		(void)w;
	}
}

/* What a worker read from one connection: the first request (it answers that one itself) and
 * how many more it queued. */
struct readout {
	struct sconn *c;
	struct job *mine;
	int queued;
};

/* on_request - a frame from a client: its backtrace apart, the reader's own or onto the
 * queue. A frame without a backtrace is no request (nng's REP drops it too). */
static void on_request(void *arg, nng_msg *m)
{
	struct readout *o = arg;
	struct sconn *c = o->c;
	struct cl_rpc_server *s = c->s;
	size_t bt = cl_sp_backtrace(nng_msg_body(m), nng_msg_len(m));
	struct job *j = bt ? malloc(sizeof *j) : NULL;
	if (!j) {
		nng_msg_free(m);
		return;
	}
	memcpy(j->bt, nng_msg_body(m), bt);
	j->btlen = bt;
	nng_msg_trim(m, bt);
	j->m = m;
	j->conn = c;
	j->next = NULL;
	atomic_fetch_add(&c->refs, 1);
	if (!o->mine) {
		o->mine = j;
		return;
	}
	pthread_mutex_lock(&s->qlock);
	if (s->qtail)
		s->qtail->next = j;
	else
		s->qhead = j;
	s->qtail = j;
	s->qjobs++;
	s->qbytes += nng_msg_len(m);
	pthread_mutex_unlock(&s->qlock);
	o->queued++;
}

/* conn_drop - the worker reading c lets it go. */
static void conn_drop(struct cl_rpc_server *s, struct sconn *c)
{
	epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	sconn_kill(c);
	pthread_mutex_lock(&s->connlock);
	struct sconn **p = &s->conns;
	while (*p && *p != c)
		p = &(*p)->next;
	if (*p)
		*p = c->next;
	pthread_mutex_unlock(&s->connlock);
	sconn_unref(c);
}

/* conn_take - read what c sent: the client's handshake, then requests (to o). 0 when c is
 * to be read again, -1 when it is to be dropped. rlock held. */
static int conn_take(struct sconn *c, struct readout *o)
{
	if (c->hello_got < sizeof c->hello) {
		ssize_t n = read(c->fd, c->hello + c->hello_got, sizeof c->hello - c->hello_got);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
		if (n <= 0)
			return -1;
		c->hello_got += (size_t)n;
		if (c->hello_got < sizeof c->hello)
			return 0;
		if (!cl_sp_hello_ok(c->hello, CL_SP_REQ0))
			return -1; /* not a REQ peer */
	}
	return cl_sp_read(&c->rd, c->fd, on_request, o);
}

/* conn_read - what a connection sent. Returns the first request read, for the caller to
 * answer; the connection is re-armed, paused (the queue is full) or dropped. */
static struct job *conn_read(struct cl_rpc_server *s, struct sconn *c)
{
	struct readout o = {.c = c};
	pthread_mutex_lock(&c->rlock);
	int rc = conn_take(c, &o);
	pthread_mutex_unlock(&c->rlock);
	if (o.queued)
		wake_idle(s, o.queued);
	if (rc < 0) {
		conn_drop(s, c);
		return o.mine;
	}
	pthread_mutex_lock(&s->qlock);
	int full = queue_full(s);
	if (full) {
		c->pnext = s->paused;
		s->paused = c;
	}
	pthread_mutex_unlock(&s->qlock);
	if (!full)
		rearm(s, c);
	return o.mine;
}

/* accept_all - every waiting connection; 0, or -1 when out of descriptors (the caller pauses
 * accepting for a moment instead of spinning on the listening socket). */
static int accept_all(struct cl_rpc_server *s)
{
	for (;;) {
		int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM ? -1 : 0;
		}
		set_nodelay(fd, s->url.ipc);
		unsigned char h[8];
		cl_sp_hello(h, CL_SP_REP0);
		struct sconn *c = calloc(1, sizeof *c);
		if (!c || send(fd, h, sizeof h, MSG_NOSIGNAL) != (ssize_t)sizeof h) {
			free(c);
			close(fd);
			continue;
		}
		c->fd = fd;
		c->ipc = s->url.ipc;
		c->s = s;
		atomic_store(&c->refs, 1);
		pthread_mutex_init(&c->rlock, NULL);
		pthread_mutex_init(&c->wlock, NULL);
		cl_sp_reader_init(&c->rd, c->ipc, CL_RPC_MAX_MSG + 4 * CL_SP_MAX_HOPS);
		pthread_mutex_lock(&s->connlock);
		c->next = s->conns;
		s->conns = c;
		pthread_mutex_unlock(&s->connlock);
		/* In the list before epoll can hand it to another worker, which may drop it. */
		struct epoll_event ev = {.events = EPOLLIN | EPOLLONESHOT, .data.ptr = c};
		if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
			conn_drop(s, c);
	}
}

static long long now_ms(void)
{
	return (long long)(cl_now_seconds() * 1000.0);
}

/* accept_timeout - how long a worker may sleep in epoll_wait: until accepting resumes. */
static int accept_timeout(struct cl_rpc_server *s)
{
	long long until = atomic_load(&s->accept_resume_ms);
	if (!until)
		return -1;
	long long left = until - now_ms();
	return left <= 0 ? 0 : (int)left + 1;
}

/* accept_resume - listen again once the pause is over (one worker does it). */
static void accept_resume(struct cl_rpc_server *s)
{
	long long until = atomic_load(&s->accept_resume_ms);
	if (until && now_ms() >= until && atomic_compare_exchange_strong(&s->accept_resume_ms, &until, 0)) {
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
		epoll_ctl(s->epfd, EPOLL_CTL_MOD, s->lfd, &ev);
	}
}

/* on_event - one readiness from the epoll set; a request to answer, or NULL. */
static struct job *on_event(struct cl_rpc_server *s, void *ptr)
{
	if (ptr == s) {
		drain(s->efd); /* one unit of wake_idle's (a semaphore): the caller's loop takes a request */
		return NULL;
	}
	if (ptr == NULL) {
		if (accept_all(s) < 0) {
			struct epoll_event ev = {.events = 0, .data.ptr = NULL};
			epoll_ctl(s->epfd, EPOLL_CTL_MOD, s->lfd, &ev);
			atomic_store(&s->accept_resume_ms, now_ms() + 100);
		}
		return NULL;
	}
	return conn_read(s, ptr);
}

static void *worker_main(void *arg)
{
	struct cl_rpc_server *s = arg;
	pthread_setname_np(pthread_self(), "rpc:worker");
	while (!atomic_load(&s->stopping)) {
		/* Idle before looking at the queue: a request queued after the look finds this
		 * worker counted, and wakes it (wake_idle). */
		atomic_fetch_add(&s->idle, 1);
		struct job *j = queue_pop(s);
		if (!j) {
			struct epoll_event ev;
			int n = epoll_wait(s->epfd, &ev, 1, accept_timeout(s));
			atomic_fetch_sub(&s->idle, 1);
			if (atomic_load(&s->stopping))
				break;
			accept_resume(s);
			if (n <= 0 || !(j = on_event(s, ev.data.ptr)))
				continue;
		} else {
			atomic_fetch_sub(&s->idle, 1);
		}
		if (!atomic_load(&j->conn->dead))
			serve_one(s, j);
		job_free(j);
	}
	wake(s->efd); /* the next worker asleep in epoll_wait, so that every one sees the stop */
	cl_jarena_release();
	return NULL;
}

/* listen_ipc - a listening Unix socket at path; -1 with errno. The socket file of a server
 * that is gone is taken over; a live server's is not (EADDRINUSE). */
static int listen_ipc(const char *path)
{
	struct sockaddr_un a;
	socklen_t al = ipc_addr(&a, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&a, al) < 0) {
		int probe = errno == EADDRINUSE ? socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0) : -1;
		int live = probe >= 0 && connect(probe, (struct sockaddr *)&a, al) == 0;
		if (probe >= 0)
			close(probe);
		if (probe < 0 || live || unlink(path) < 0 || bind(fd, (struct sockaddr *)&a, al) < 0) {
			int e = live ? EADDRINUSE : errno;
			close(fd);
			errno = e;
			return -1;
		}
	}
	if (listen(fd, 1024) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* listen_tcp - a listening TCP socket on host (empty: every IPv4 address) and port; -1 with
 * errno, or with *gai set when the host does not resolve. */
static int listen_tcp(const char *host, const char *port, int *gai)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE, .ai_family = AF_UNSPEC};
	if (!host[0])
		hints.ai_family = AF_INET;
	struct addrinfo *ai = NULL;
	*gai = getaddrinfo(host[0] ? host : NULL, port, &hints, &ai);
	if (*gai != 0)
		return -1;
	int one = 1;
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd >= 0 && (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
			bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 1024) < 0)) {
		int e = errno;
		close(fd);
		errno = e;
		fd = -1;
	}
	freeaddrinfo(ai);
	return fd;
}

/* listen_on - the listening socket of u; -1 with err. */
static int listen_on(const struct cl_sp_url *u, const char *url, char *err, size_t errlen)
{
	int gai = 0;
	int fd = u->ipc ? listen_ipc(u->path) : listen_tcp(u->host, u->port, &gai);
	if (fd < 0)
		cl_snprintf(err, errlen, "cannot listen on %s: %s", url, gai ? gai_strerror(gai) : strerror(errno));
	return fd;
}

/* server_start - the server with either a handler h or an op table t. */
static struct cl_rpc_server *server_start(const char *url, int nworkers, cl_rpc_handler_fn h,
					  const struct cl_rpc_optable *t, void *ctx, char *err, size_t errlen)
{
	struct cl_rpc_server *s = calloc(1, sizeof *s);
	if (!s || nworkers < 1 || (!h && !t)) {
		free(s);
		cl_snprintf(err, errlen, "bad server arguments");
		return NULL;
	}
	s->lfd = s->efd = s->epfd = -1;
	if (cl_sp_url_parse(url, &s->url, err, errlen) < 0 || (s->lfd = listen_on(&s->url, url, err, errlen)) < 0) {
		free(s);
		return NULL;
	}
	s->handler = h;
	s->table = t;
	if (t && t->json_arena)
		cl_jarena_install();
	s->ctx = ctx;
	pthread_mutex_init(&s->qlock, NULL);
	pthread_mutex_init(&s->connlock, NULL);
	s->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK | EFD_SEMAPHORE);
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	s->threads = calloc((size_t)nworkers, sizeof *s->threads);
	struct epoll_event le = {.events = EPOLLIN, .data.ptr = NULL}, ee = {.events = EPOLLIN, .data.ptr = s};
	if (s->efd < 0 || s->epfd < 0 || !s->threads || epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->lfd, &le) < 0 ||
	    epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->efd, &ee) < 0) {
		cl_snprintf(err, errlen, "cannot start the RPC server on %s: %s", url, strerror(errno));
		cl_rpc_server_stop(s);
		return NULL;
	}
	for (int i = 0; i < nworkers; i++) {
		if (pthread_create(&s->threads[i], NULL, worker_main, s) != 0)
			break;
		s->nworkers++;
	}
	if (!s->nworkers) {
		cl_snprintf(err, errlen, "cannot start the RPC server on %s: no worker thread: %s", url,
			    strerror(errno));
		cl_rpc_server_stop(s);
		return NULL;
	}
	return s;
}

struct cl_rpc_server *cl_rpc_server_start(const char *url, int nworkers, cl_rpc_handler_fn h, void *ctx, char *err,
					  size_t errlen)
{
	return server_start(url, nworkers, h, NULL, ctx, err, errlen);
}

struct cl_rpc_server *cl_rpc_server_start_ops(const char *url, int nworkers, const struct cl_rpc_optable *t, void *ctx,
					      char *err, size_t errlen)
{
	return server_start(url, nworkers, NULL, t, ctx, err, errlen);
}

void cl_rpc_server_stop(struct cl_rpc_server *s)
{
	if (!s)
		return;
	atomic_store(&s->stopping, 1);
	if (s->efd >= 0)
		wake(s->efd);
	for (int i = 0; i < s->nworkers; i++)
		pthread_join(s->threads[i], NULL);
	while (s->qhead) {
		struct job *j = s->qhead;
		s->qhead = j->next;
		job_free(j);
	}
	while (s->conns) {
		struct sconn *c = s->conns;
		s->conns = c->next;
		sconn_kill(c);
		sconn_unref(c);
	}
	if (s->lfd >= 0) {
		close(s->lfd);
		if (s->url.ipc)
			unlink(s->url.path);
	}
	if (s->epfd >= 0)
		close(s->epfd);
	if (s->efd >= 0)
		close(s->efd);
	pthread_mutex_destroy(&s->connlock);
	pthread_mutex_destroy(&s->qlock);
	free(s->threads);
	free(s);
}
