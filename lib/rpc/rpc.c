/* rpc.c - nng REQ/REP client and server with deadlines. See rpc.h. */
#include "rpc/rpc.h"

#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rpc/jarena.h"
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

/* A pooled async call: the aio lives as long as the client (nng 1.5 cannot free an aio from
 * its own callback). So does the context, once a call through it was answered: opening and
 * closing one per call takes nng's global socket lock four times and its id map twice, on
 * every RPC of every session. A call that failed closes its context instead (a REQ context
 * keeps its unanswered request for resending, and that may be a whole message). */
struct rpc_call {
	struct cl_rpc_client *client;
	nng_aio *aio;
	nng_ctx ctx;
	int ctx_open;
	int sending;
	cl_rpc_done_fn done;
	void *arg;
	struct rpc_call *next;
	pthread_mutex_t lock; /* held by post() from the start of an operation to its cancel check */
};

/* At most this many connections are tracked per client (it dials one address; nng keeps one
 * pipe per connection, and a second appears only briefly while a reconnection races the
 * close of the old one). */
#define MAX_PIPES 8

struct cl_rpc_client {
	nng_socket sock;
	_Atomic int pipes; /* npipe_ids, for a lock-free cl_rpc_client_connected() */
	pthread_mutex_t pipe_lock;
	uint32_t pipe_ids[MAX_PIPES]; /* the connections announced by ADD_POST and not yet removed */
	int npipe_ids;
	_Atomic int cancelled; /* cl_rpc_client_cancel_all ran: no new calls, none goes on */
	int fail_fast;         /* cl_rpc_client_fail_fast: no connection, no waiting for one */
	pthread_mutex_t lock;
	struct rpc_call *free_calls;
	struct rpc_call **all_list;
	size_t all_n, all_cap;
};

static void cancel_calls(struct cl_rpc_client *c);

/* pipe_event - keep the set of live connections, to tell "unreachable" from "timeout" and
 * to let callers fail at once when there is none. A set of pipe ids, not a bare counter:
 * nng 1.5 also reports REM_POST for a pipe that never reached ADD_POST (one refused in
 * its protocol handshake, e.g. a peer of the wrong protocol), and a counter would then stay
 * one short for ever, calling a connected peer unreachable.
 *
 * When the last connection goes, the calls in flight end at once as unreachable: REQ keeps a
 * request whose pipe closed for a resend to the next pipe, so a call sent just before its
 * service died (SIGKILL, a crash) would otherwise wait for its whole deadline (120 s for
 * delivery) although nothing can answer it. */
static void pipe_event(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	struct cl_rpc_client *c = arg;
	uint32_t id = nng_pipe_id(p);
	pthread_mutex_lock(&c->pipe_lock);
	int at = -1;
	for (int i = 0; i < c->npipe_ids; i++)
		if (c->pipe_ids[i] == id)
			at = i;
	if (ev == NNG_PIPE_EV_ADD_POST && at < 0 && c->npipe_ids < MAX_PIPES)
		c->pipe_ids[c->npipe_ids++] = id;
	else if (ev == NNG_PIPE_EV_REM_POST && at >= 0)
		c->pipe_ids[at] = c->pipe_ids[--c->npipe_ids];
	int none = ev == NNG_PIPE_EV_REM_POST && at >= 0 && c->npipe_ids == 0;
	atomic_store(&c->pipes, c->npipe_ids);
	pthread_mutex_unlock(&c->pipe_lock);
	if (none)
		cancel_calls(c);
}

struct cl_rpc_client *cl_rpc_client_new(const char *url, char *err, size_t errlen)
{
	struct cl_rpc_client *c = calloc(1, sizeof *c);
	if (!c) {
		cl_snprintf(err, errlen, "out of memory");
		return NULL;
	}
	int rv = nng_req0_open(&c->sock);
	if (rv != 0) {
		cl_snprintf(err, errlen, "nng_req0_open: %s", nng_strerror(rv));
		free(c);
		return NULL;
	}
	pthread_mutex_init(&c->lock, NULL);
	pthread_mutex_init(&c->pipe_lock, NULL);
	nng_socket_set_size(c->sock, NNG_OPT_RECVMAXSZ, CL_RPC_MAX_MSG);
	nng_socket_set_ms(c->sock, NNG_OPT_RECONNMINT, 50);
	nng_socket_set_ms(c->sock, NNG_OPT_RECONNMAXT, 1000);
	/* No automatic resend: a request must be answered once or fail at its deadline. */
	nng_socket_set_ms(c->sock, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
	nng_pipe_notify(c->sock, NNG_PIPE_EV_ADD_POST, pipe_event, c);
	nng_pipe_notify(c->sock, NNG_PIPE_EV_REM_POST, pipe_event, c);
	rv = nng_dial(c->sock, url, NULL, NNG_FLAG_NONBLOCK);
	if (rv != 0) {
		cl_snprintf(err, errlen, "cannot dial %s: %s", url, nng_strerror(rv));
		nng_close(c->sock);
		pthread_mutex_destroy(&c->lock);
		pthread_mutex_destroy(&c->pipe_lock);
		free(c);
		return NULL;
	}
	return c;
}

void cl_rpc_client_free(struct cl_rpc_client *c)
{
	if (!c)
		return;
	nng_close(c->sock);
	for (size_t i = 0; i < c->all_n; i++) {
		nng_aio_free(c->all_list[i]->aio);
		pthread_mutex_destroy(&c->all_list[i]->lock);
		free(c->all_list[i]);
	}
	free(c->all_list);
	pthread_mutex_destroy(&c->lock);
	pthread_mutex_destroy(&c->pipe_lock);
	free(c);
}

int cl_rpc_client_connected(struct cl_rpc_client *c)
{
	return atomic_load(&c->pipes) > 0;
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

/* aio_sendmsg / aio_recvmsg - synchronous send and receive on a context with the caller's aio
 * (nng 1.5 has no nng_ctx_sendmsg), the deadline as its timeout. On send failure the message
 * is still the caller's. */
static int aio_sendmsg(nng_aio *aio, nng_ctx ctx, nng_msg *m, int timeout_ms)
{
	nng_aio_set_timeout(aio, timeout_ms);
	nng_aio_set_msg(aio, m);
	nng_ctx_send(ctx, aio);
	nng_aio_wait(aio);
	int rv = nng_aio_result(aio);
	nng_aio_set_msg(aio, NULL);
	return rv;
}

static int aio_recvmsg(nng_aio *aio, nng_ctx ctx, nng_msg **m, int timeout_ms)
{
	nng_aio_set_timeout(aio, timeout_ms);
	nng_ctx_recv(ctx, aio);
	nng_aio_wait(aio);
	int rv = nng_aio_result(aio);
	if (rv == 0)
		*m = nng_aio_get_msg(aio);
	nng_aio_set_msg(aio, NULL);
	return rv;
}

/* ctx_sendmsg / ctx_recvmsg - the same with an aio of their own, for one-off calls. */
static int ctx_sendmsg(nng_ctx ctx, nng_msg *m, int timeout_ms)
{
	nng_aio *aio;
	int rv = nng_aio_alloc(&aio, NULL, NULL);
	if (rv != 0)
		return rv;
	rv = aio_sendmsg(aio, ctx, m, timeout_ms);
	nng_aio_free(aio);
	return rv;
}

static int ctx_recvmsg(nng_ctx ctx, nng_msg **m, int timeout_ms)
{
	nng_aio *aio;
	int rv = nng_aio_alloc(&aio, NULL, NULL);
	if (rv != 0)
		return rv;
	rv = aio_recvmsg(aio, ctx, m, timeout_ms);
	nng_aio_free(aio);
	return rv;
}

/* status_of - map an nng error at the deadline to our status. */
static enum cl_rpc_status status_of(struct cl_rpc_client *c, int rv)
{
	if (rv == NNG_ETIMEDOUT)
		return cl_rpc_client_connected(c) ? CL_RPC_TIMEOUT : CL_RPC_UNREACHABLE;
	if (rv == NNG_ECONNREFUSED || rv == NNG_ECONNRESET || rv == NNG_ECONNSHUT)
		return CL_RPC_UNREACHABLE;
	return CL_RPC_ERROR;
}

enum cl_rpc_status cl_rpc_call(struct cl_rpc_client *c, const cJSON *req, const void *body, size_t blen, int timeout_ms,
			       nng_msg **reply, cJSON **hdr, char *err, size_t errlen)
{
	nng_msg *m = NULL;
	if (cl_frame_build(&m, req, body, blen) < 0) {
		cl_snprintf(err, errlen, "cannot build request (out of memory)");
		return CL_RPC_ERROR;
	}
	nng_ctx ctx;
	int rv = nng_ctx_open(&ctx, c->sock);
	if (rv != 0) {
		nng_msg_free(m);
		cl_snprintf(err, errlen, "nng_ctx_open: %s", nng_strerror(rv));
		return CL_RPC_ERROR;
	}
	double start = cl_now_seconds();
	rv = ctx_sendmsg(ctx, m, timeout_ms);
	if (rv != 0) {
		nng_msg_free(m);
		nng_ctx_close(ctx);
		enum cl_rpc_status st = status_of(c, rv);
		cl_snprintf(err, errlen, "send: %s", nng_strerror(rv));
		return st;
	}
	nng_msg *r = NULL;
	int left = timeout_ms - (int)((cl_now_seconds() - start) * 1000.0);
	rv = ctx_recvmsg(ctx, &r, left > 0 ? left : 1);
	nng_ctx_close(ctx);
	if (rv != 0) {
		enum cl_rpc_status st = status_of(c, rv);
		cl_snprintf(err, errlen, "%s: %s", cl_rpc_status_str(st), nng_strerror(rv));
		return st;
	}
	const unsigned char *rb;
	size_t rbl;
	cJSON *h = NULL;
	char perr[128];
	if (cl_frame_parse(r, &h, &rb, &rbl, perr, sizeof perr) < 0) {
		nng_msg_free(r);
		cl_snprintf(err, errlen, "malformed reply: %s", perr);
		return CL_RPC_MALFORMED;
	}
	*reply = r;
	*hdr = h;
	return CL_RPC_OK;
}

/* post - start k's next operation (nng_ctx_send or nng_ctx_recv) on its context, then look
 * again for what ends the call at once: cl_rpc_client_cancel_all, or a fail-fast client's
 * last connection gone. Their cancel reaches only an operation in progress (nng drops a cancel
 * of an aio between two operations), so one that came just before this start would otherwise
 * leave the call waiting for its whole deadline. k->lock keeps the operation's completion
 * (call_cb, on an nng thread) from handing k to a new call before this look, so the cancel
 * can only reach this call. */
static void post(struct rpc_call *k, void (*op)(nng_ctx, nng_aio *))
{
	struct cl_rpc_client *c = k->client;
	pthread_mutex_lock(&k->lock);
	op(k->ctx, k->aio);
	if (atomic_load(&c->cancelled) || (c->fail_fast && !cl_rpc_client_connected(c)))
		nng_aio_cancel(k->aio);
	pthread_mutex_unlock(&k->lock);
}

/* call_cb - the aio state machine of an async call: send done -> receive -> done(). */
static void call_cb(void *arg)
{
	struct rpc_call *k = arg;
	struct cl_rpc_client *c = k->client;
	/* Wait until the post() that started this operation has made its check (see post). */
	pthread_mutex_lock(&k->lock);
	pthread_mutex_unlock(&k->lock);
	int rv = nng_aio_result(k->aio);
	nng_msg *reply = NULL;
	enum cl_rpc_status st;
	/* Cancelled with the client still open: its last connection went (pipe_event), or a
	 * fail-fast client had none. */
	int lost = rv == NNG_ECANCELED && !atomic_load(&c->cancelled);
	if (k->sending) {
		/* A fail-fast client whose connection went while the request was handed over: no
		 * peer is left to answer, so no waiting for one. */
		if (rv == 0 && c->fail_fast && !cl_rpc_client_connected(c))
			lost = 1;
		if (rv == 0 && !lost && !atomic_load(&c->cancelled)) {
			k->sending = 0;
			post(k, nng_ctx_recv);
			return;
		}
		if (rv != 0) /* on success the request is nng's */
			nng_msg_free(nng_aio_get_msg(k->aio));
		st = lost ? CL_RPC_UNREACHABLE : rv != 0 ? status_of(c, rv) : CL_RPC_ERROR;
	} else if (rv != 0) {
		st = lost ? CL_RPC_UNREACHABLE : status_of(c, rv);
	} else {
		reply = nng_aio_get_msg(k->aio);
		st = CL_RPC_OK;
	}
	if (st != CL_RPC_OK) {
		nng_ctx_close(k->ctx);
		k->ctx_open = 0;
	}
	cl_rpc_done_fn done = k->done;
	void *darg = k->arg;
	pthread_mutex_lock(&c->lock);
	k->next = c->free_calls;
	c->free_calls = k;
	pthread_mutex_unlock(&c->lock);
	done(darg, st, reply);
}

/* call_get - a pooled call object, allocating a new one when the pool is empty. */
static struct rpc_call *call_get(struct cl_rpc_client *c)
{
	pthread_mutex_lock(&c->lock);
	struct rpc_call *k = c->free_calls;
	if (k) {
		c->free_calls = k->next;
		pthread_mutex_unlock(&c->lock);
		return k;
	}
	if (c->all_n == c->all_cap) {
		size_t cap = c->all_cap ? c->all_cap * 2 : 64;
		struct rpc_call **l = realloc(c->all_list, cap * sizeof *l);
		if (!l) {
			pthread_mutex_unlock(&c->lock);
			return NULL;
		}
		c->all_list = l;
		c->all_cap = cap;
	}
	k = calloc(1, sizeof *k);
	if (!k || nng_aio_alloc(&k->aio, call_cb, k) != 0) {
		free(k);
		pthread_mutex_unlock(&c->lock);
		return NULL;
	}
	pthread_mutex_init(&k->lock, NULL);
	k->client = c;
	c->all_list[c->all_n++] = k;
	pthread_mutex_unlock(&c->lock);
	return k;
}

int cl_rpc_call_async(struct cl_rpc_client *c, nng_msg *req, int timeout_ms, cl_rpc_done_fn done, void *arg)
{
	if (atomic_load(&c->cancelled))
		return -1;
	struct rpc_call *k = call_get(c);
	if (!k)
		return -1;
	if (!k->ctx_open && nng_ctx_open(&k->ctx, c->sock) == 0)
		k->ctx_open = 1;
	if (!k->ctx_open) {
		pthread_mutex_lock(&c->lock);
		k->next = c->free_calls;
		c->free_calls = k;
		pthread_mutex_unlock(&c->lock);
		return -1;
	}
	k->done = done;
	k->arg = arg;
	k->sending = 1;
	/* One deadline for the whole call: the aio timeout covers send and receive together
	 * closely enough (send on REQ completes at once once queued). */
	nng_aio_set_timeout(k->aio, timeout_ms);
	nng_aio_set_msg(k->aio, req);
	/* post's check covers a connection that went between the caller's check and the send
	 * (its REM_POST, and so pipe_event's cancel, came first): nothing is left to answer. */
	post(k, nng_ctx_send);
	return 0;
}

void cl_rpc_client_fail_fast(struct cl_rpc_client *c)
{
	c->fail_fast = 1;
}

void cl_rpc_client_cancel_all(struct cl_rpc_client *c)
{
	if (!c)
		return;
	atomic_store(&c->cancelled, 1);
	cancel_calls(c);
}

/* cancel_calls - end every call in flight (NNG_ECANCELED). The pool only grows while the
 * client lives; its aios are taken under the lock and cancelled outside it (call_cb takes
 * the lock when a cancelled call completes). An idle aio ignores the cancel. */
static void cancel_calls(struct cl_rpc_client *c)
{
	pthread_mutex_lock(&c->lock);
	size_t n = c->all_n;
	nng_aio **aios = n ? malloc(n * sizeof *aios) : NULL;
	for (size_t i = 0; aios && i < n; i++)
		aios[i] = c->all_list[i]->aio;
	pthread_mutex_unlock(&c->lock);
	for (size_t i = 0; aios && i < n; i++)
		nng_aio_cancel(aios[i]);
	free(aios);
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

struct cl_rpc_server {
	nng_socket sock;
	cl_rpc_handler_fn handler;
	const struct cl_rpc_optable *table; /* when set, handler is unused */
	void *ctx;
	int nworkers;
	pthread_t *threads;
	_Atomic int stopping; /* set by cl_rpc_server_stop; workers leave at their next wake-up */
};

/* How often an idle worker looks at `stopping`. The socket is closed only after every worker
 * has left: closing it under a worker that is sending its reply frees the worker's context
 * inside nng_ctx_send (nng then panics, "pthread_mutex_lock: Invalid argument"). */
#define WORKER_POLL_MS 200

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

/* serve_one - parse, handle and answer one request on a worker's context and aio. */
static void serve_one(struct cl_rpc_server *s, nng_ctx ctx, nng_aio *aio, nng_msg *m)
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
	if (cl_frame_parse(m, &req, &body, &blen, err, sizeof err) < 0) {
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
		if (aio_sendmsg(aio, ctx, out, 10000) != 0)
			nng_msg_free(out);
	}
	free(rbody);
	cJSON_Delete(rep);
	cJSON_Delete(req);
	if (arena)
		cl_jarena_end();
	nng_msg_free(m);
}

static void *worker_main(void *arg)
{
	struct cl_rpc_server *s = arg;
	nng_ctx ctx;
	nng_aio *aio; /* one for the worker's life: no allocation per request */
	if (nng_aio_alloc(&aio, NULL, NULL) != 0)
		return NULL;
	if (nng_ctx_open(&ctx, s->sock) != 0) {
		nng_aio_free(aio);
		return NULL;
	}
	while (!atomic_load(&s->stopping)) {
		nng_msg *m = NULL;
		int rv = aio_recvmsg(aio, ctx, &m, WORKER_POLL_MS);
		if (rv == NNG_ECLOSED)
			break;
		if (rv != 0)
			continue;
		serve_one(s, ctx, aio, m);
	}
	nng_ctx_close(ctx);
	nng_aio_free(aio);
	cl_jarena_release();
	return NULL;
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
	s->handler = h;
	s->table = t;
	if (t && t->json_arena)
		cl_jarena_install();
	s->ctx = ctx;
	int rv = nng_rep0_open(&s->sock);
	if (rv != 0) {
		cl_snprintf(err, errlen, "nng_rep0_open: %s", nng_strerror(rv));
		free(s);
		return NULL;
	}
	nng_socket_set_size(s->sock, NNG_OPT_RECVMAXSZ, CL_RPC_MAX_MSG);
	rv = nng_listen(s->sock, url, NULL, 0);
	if (rv != 0) {
		cl_snprintf(err, errlen, "cannot listen on %s: %s", url, nng_strerror(rv));
		nng_close(s->sock);
		free(s);
		return NULL;
	}
	s->threads = calloc((size_t)nworkers, sizeof *s->threads);
	if (!s->threads) {
		nng_close(s->sock);
		free(s);
		cl_snprintf(err, errlen, "out of memory");
		return NULL;
	}
	for (int i = 0; i < nworkers; i++) {
		if (pthread_create(&s->threads[i], NULL, worker_main, s) != 0)
			break;
		s->nworkers++;
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
	for (int i = 0; i < s->nworkers; i++)
		pthread_join(s->threads[i], NULL);
	nng_close(s->sock);
	free(s->threads);
	free(s);
}
