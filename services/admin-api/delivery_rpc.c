/* delivery_rpc.c - see delivery_rpc.h. */
#include "delivery_rpc.h"

#include <pthread.h>

#include "mail/delivery_client.h"
#include "util/buf.h"

struct waiter {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int done;
	enum cl_rpc_status st;
	nng_msg *reply;
};

/* on_done - runs once on an nng thread; hands the reply to the waiting worker. */
static void on_done(void *arg, enum cl_rpc_status st, nng_msg *reply)
{
	struct waiter *w = arg;
	pthread_mutex_lock(&w->mu);
	w->st = st;
	w->reply = reply;
	w->done = 1;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

/* delivery_decide - see delivery_rpc.h */
int delivery_decide(struct api_app *app, int release, long long qid, long long by, struct cl_verdict *v, char *err,
		    size_t errlen)
{
	if (!app->delivery) {
		cl_snprintf(err, errlen, "no delivery service configured (CLEMENT_DELIVERY_URL)");
		return -1;
	}
	nng_msg *req = NULL;
	if ((release ? cl_delivery_release_req : cl_delivery_delete_req)(&req, qid, by) < 0) {
		cl_snprintf(err, errlen, "cannot build the request");
		return -1;
	}
	struct waiter w = {.done = 0};
	pthread_mutex_init(&w.mu, NULL);
	pthread_cond_init(&w.cv, NULL);
	if (cl_rpc_call_async(app->delivery, req, (int)app->cfg->rpc_timeout_ms, on_done, &w) < 0) {
		nng_msg_free(req);
		pthread_mutex_destroy(&w.mu);
		pthread_cond_destroy(&w.cv);
		cl_snprintf(err, errlen, "cannot send the request");
		return -1;
	}
	/* The RPC layer's own deadline guarantees on_done runs. */
	pthread_mutex_lock(&w.mu);
	while (!w.done)
		pthread_cond_wait(&w.cv, &w.mu);
	pthread_mutex_unlock(&w.mu);
	pthread_mutex_destroy(&w.mu);
	pthread_cond_destroy(&w.cv);
	if (w.st != CL_RPC_OK) {
		cl_snprintf(err, errlen, "delivery: %s", cl_rpc_status_str(w.st));
		return -1;
	}
	int rc = cl_delivery_verdict_reply(w.reply, v, NULL, 0);
	nng_msg_free(w.reply);
	if (rc < 0) {
		cl_snprintf(err, errlen, "delivery sent a malformed reply");
		return -1;
	}
	return 0;
}
