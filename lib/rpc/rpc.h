/* rpc.h - request/reply in nng's REQ/REP wire format (sp.h), over TCP or Unix sockets
 * ("tcp://host:port", "ipc:///path"), with a deadline on every call.
 *
 * Client: one cl_rpc_client per remote service, safe to share between threads: one
 * connection, redialled for ever, and one thread ("rpc:client") that reads the replies and
 * runs the callbacks. A call either returns CL_RPC_OK with the reply, or says why not: the
 * peer was never reachable, did not answer in time, or answered something that is not a
 * frame. Callers map every non-OK status to a temporary failure (451 4.3.0).
 *
 * Server: a fixed pool of worker threads ("rpc:worker") that wait on the server's sockets
 * together; the one a connection wakes reads its requests, answers the first (hands it to the
 * handler and writes the handler's reply itself) and queues the rest for the other workers.
 * A malformed frame gets an error reply and never reaches the handler.
 *
 * Messages are nng messages (nng_msg: libnng's message type, nothing else of libnng runs) and
 * may carry bodies up to CL_RPC_MAX_MSG bytes; a longer frame drops the connection. */
#ifndef CLEMENT_RPC_RPC_H
#define CLEMENT_RPC_RPC_H

#include <cjson/cJSON.h>
#include <nng/nng.h>
#include <stddef.h>

#include "rpc/frame.h"

#define CL_RPC_MAX_MSG ((size_t)80 * 1024 * 1024)

enum cl_rpc_status {
	CL_RPC_OK = 0,
	CL_RPC_TIMEOUT,     /* connected, but no answer before the deadline */
	CL_RPC_UNREACHABLE, /* no connection to the service at the deadline */
	CL_RPC_MALFORMED,   /* the answer is not a valid frame */
	CL_RPC_ERROR,       /* local failure (out of memory, closed client) */
};

const char *cl_rpc_status_str(enum cl_rpc_status st);

struct cl_rpc_client;

/* cl_rpc_client_new - dial url (e.g. "tcp://127.0.0.1:7001") in the background; the
 * connection is retried for ever. Returns NULL with err filled only for a bad URL. */
struct cl_rpc_client *cl_rpc_client_new(const char *url, char *err, size_t errlen);
void cl_rpc_client_free(struct cl_rpc_client *c);
/* cl_rpc_client_connected - 1 when the connection to the peer is up (its handshake done; an
 * atomic flag, cheap enough to ask before every call). A call made
 * while it is 0 waits for a connection until its deadline; callers that would rather fail
 * at once (smtp-edge: 451 now instead of after the deadline) ask first. */
int cl_rpc_client_connected(struct cl_rpc_client *c);
/* cl_rpc_client_wait_connected - wait up to timeout_ms until each of the n clients (NULL
 * entries are skipped) has a connection; 1 when all have, 0 at the timeout. For start-up,
 * so that the first calls do not find a dial still in progress. */
int cl_rpc_client_wait_connected(struct cl_rpc_client *const *cs, size_t n, int timeout_ms);

/* cl_rpc_call - synchronous call. req is the request header (still the caller's); body may
 * be NULL. On CL_RPC_OK, *reply is the reply message (caller frees with nng_msg_free) and
 * *hdr its parsed header (caller frees with cJSON_Delete); rbody/rblen (may be NULL) point
 * into *reply. On failure nothing is returned and err says why. */
enum cl_rpc_status cl_rpc_call(struct cl_rpc_client *c, const cJSON *req, const void *body, size_t blen, int timeout_ms,
			       nng_msg **reply, cJSON **hdr, char *err, size_t errlen);

/* Asynchronous call, for event loops. done runs on the client's thread exactly once (never
 * inside cl_rpc_call_async), with the reply message (owned by done, which must nng_msg_free
 * it) on CL_RPC_OK, NULL otherwise. When the connection goes, every call sent on it ends at
 * once with CL_RPC_UNREACHABLE (no peer is left to answer it).
 * The request message is taken over on success (return 0); on failure (-1) the caller keeps
 * it and done is never called. */
typedef void (*cl_rpc_done_fn)(void *arg, enum cl_rpc_status st, nng_msg *reply);
int cl_rpc_call_async(struct cl_rpc_client *c, nng_msg *req, int timeout_ms, cl_rpc_done_fn done, void *arg);
/* cl_rpc_client_fail_fast - an asynchronous call made while the client has no connection ends
 * at once with CL_RPC_UNREACHABLE instead of waiting for one until its deadline (smtp-edge:
 * a client should get its 4xx now, not after 120 s). Set before the first call. */
void cl_rpc_client_fail_fast(struct cl_rpc_client *c);
/* cl_rpc_client_cancel_all - for a prompt exit: every asynchronous call in flight completes
 * now (done runs, once, with CL_RPC_ERROR unless its answer was already in), and later
 * asynchronous calls are refused (-1). The client stays usable for cl_rpc_client_free only. */
void cl_rpc_client_cancel_all(struct cl_rpc_client *c);

/* Server side. The handler gets the parsed request header and body (valid during the
 * call) and returns a new reply header (the server frees it), or NULL for "internal error".
 * To return a body, set *rbody to malloc'd memory and *rblen (the server frees it). */
typedef cJSON *(*cl_rpc_handler_fn)(void *ctx, const cJSON *req, const unsigned char *body, size_t blen, void **rbody,
				    size_t *rblen);

struct cl_rpc_server;

/* cl_rpc_server_start - listen on url with nworkers worker threads. Returns NULL with err
 * filled when the address cannot be bound. */
struct cl_rpc_server *cl_rpc_server_start(const char *url, int nworkers, cl_rpc_handler_fn h, void *ctx, char *err,
					  size_t errlen);
/* An op table: a service answers each op with its own handler; the server looks the "op"
 * field up (the frame layer has checked "v" already, once for every op) and answers an op that
 * is not in the table, or a request without "op", uniformly: CL_RPC_UNKNOWN_OP as the error
 * of cl_rpc_error_reply, counted in `unknown` (clement_rpc_unknown_ops_total) and logged. */
#define CL_RPC_UNKNOWN_OP "unknown op"

struct cl_rpc_op {
	const char *name; /* the "op" value, e.g. CL_BANSTATS_OP_PEER */
	cl_rpc_handler_fn fn;
};

struct cl_rpc_optable {
	const struct cl_rpc_op *ops;
	size_t n;
	struct cl_metric *unknown; /* counter from cl_rpc_unknown_metric, may be NULL */
	/* Serve each request with cJSON's allocations in the worker's arena (rpc/jarena.h): the
	 * handlers keep no cJSON value past their return, and a reply body they hand back is
	 * not made by cJSON. */
	int json_arena;
};

struct cl_metrics;
/* cl_rpc_unknown_metric - register the counter of unknown ops (clement_rpc_unknown_ops_total)
 * in reg; call it with the service's other metrics, before any thread starts. */
struct cl_metric *cl_rpc_unknown_metric(struct cl_metrics *reg);

/* cl_rpc_server_start_ops - cl_rpc_server_start serving the op table t (kept by pointer: it
 * must outlive the server). */
struct cl_rpc_server *cl_rpc_server_start_ops(const char *url, int nworkers, const struct cl_rpc_optable *t, void *ctx,
					      char *err, size_t errlen);

/* cl_rpc_server_stop - let each worker finish the request it serves (within ~200 ms when idle),
 * then close the socket and free everything. */
void cl_rpc_server_stop(struct cl_rpc_server *s);

/* cl_rpc_server_queue_limits - how many requests, and bytes of them, may wait for a worker
 * before the servers of this process stop reading their connections until there is room
 * (default 4,096 and 64 MiB). For tests; set before starting a server. */
void cl_rpc_server_queue_limits(size_t jobs, size_t bytes);

/* cl_rpc_error_reply - {"v":1,"ok":false,"error":msg} (caller owns it). */
cJSON *cl_rpc_error_reply(const char *msg);

#endif
