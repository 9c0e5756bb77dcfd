/* handler.c - decode a policy request, decide or queue, encode the reply. See handler.h. */
#include "handler.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "policy.h"
#include <stdlib.h>

#include "mail/policy_client.h"
#include "rpc/rpc.h"
#include "util/buf.h"
#include "util/log.h"

#define LOG_TEXT_MAX (64 * 1024) /* a transcript longer than this is cut */

static const char *const op_names[OP_NDECIDE] = {CL_POLICY_OP_CONNECT, CL_POLICY_OP_HELO, CL_POLICY_OP_MAIL,
						 CL_POLICY_OP_RCPT, CL_POLICY_OP_AUTH};

/* decide - run one decision op and build its verdict reply. */
static cJSON *decide(struct policy *p, int op, const struct cl_policy_request *r)
{
	struct cl_verdict v;
	struct cl_route rt = {0};
	char canon[400] = "";
	double t0 = cl_now_seconds();
	/* MAIL reads the cache only after AUTH (sender aliases). The helo op and MAIL before
	 * AUTH come from an older smtp-edge only: this one leaves them to RCPT (decide.c). */
	int cached = op != OP_HELO && (op != OP_MAIL || r->s.auth_user[0]);
	struct pc_snap *snap = cached ? pc_cache_acquire(&p->cache) : NULL;
	switch (op) {
	case OP_CONNECT:
		pol_connect(p, snap, r, &v);
		break;
	case OP_HELO:
		pol_helo(r, &v);
		break;
	case OP_MAIL:
		pol_mail(p, snap, r, &v);
		break;
	case OP_RCPT:
		pol_rcpt(p, snap, r, &v, &rt);
		break;
	default:
		pol_auth(p, snap, r, &v, canon, sizeof canon);
		break;
	}
	pc_snap_release(snap);
	cl_metric_observe(p->m.latency, cl_now_seconds() - t0);
	cl_metric_inc(p->m.decisions[op][v.action]);
	if (v.action == CL_REJECT && (op == OP_HELO || op == OP_AUTH)) /* each refuses for one reason */
		cl_metric_inc(p->m.refusals[op == OP_HELO ? PR_HELO : PR_AUTH]);
	cJSON *o = cl_policy_verdict_encode(&v, op == OP_RCPT && v.action == CL_ACCEPT ? &rt : NULL, canon);
	if (!o)
		return NULL;
	/* Refusals and deferrals only: escaping four fields for a debug line nobody reads is
	 * most of the cost of an accepted rcpt. */
	if (v.action != CL_ACCEPT) {
		char a[300], b[300], t[500];
		cl_log(CL_LOG_INFO, r->s.sid[0] ? r->s.sid : NULL, op_names[op],
		       "ip=%s from=%s rcpt=%s code=%d text=%s", cl_log_escape(a, 64, r->s.ip, strlen(r->s.ip)),
		       cl_log_escape(b, sizeof b, r->sender, strlen(r->sender)),
		       cl_log_escape(t, 300, r->rcpt, strlen(r->rcpt)), v.code,
		       cl_log_escape(t + 300, 200, v.text, strlen(v.text)));
	}
	return o;
}

/* bad - count and answer a request we cannot take. */
static cJSON *bad(struct policy *p, const char *why)
{
	cl_metric_inc(p->m.bad_requests);
	return cl_rpc_error_reply(why);
}

static double wall_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* bounded_dup_text - a value for a text column, cut at LOG_TEXT_MAX. */
static int set_text(struct pl_row *row, int col, const char *s)
{
	if (!s)
		return pl_row_set(row, col, NULL);
	if (strlen(s) <= LOG_TEXT_MAX)
		return pl_row_set(row, col, s);
	char *cut = strndup(s, LOG_TEXT_MAX);
	if (!cut)
		return -1;
	int rc = pl_row_set(row, col, cut);
	free(cut);
	return rc;
}

static const char *num(char *buf, size_t n, long long v)
{
	snprintf(buf, n, "%lld", v);
	return buf;
}

static int message_rows(const cJSON *req, struct pl_row ***rows, size_t *n, const char **why);
static void push_rows(struct policy *p, struct pl_row **rows, size_t n);

/* log_session - one smtp_sessions row (column order: logq.c), and the message_log rows of the
 * log_message it carries as "message" (smtp-edge's last transaction; all or nothing). */
static cJSON *log_session(struct policy *p, const cJSON *req, const struct cl_policy_request *r)
{
	const struct cl_policy_session *s = &r->s;
	struct cl_ip a;
	if (!s->sid[0] || cl_ip_parse(s->ip, &a) < 0)
		return bad(p, "log_session needs sid and a valid ip");
	if (strcmp(s->listener, "smtp") && strcmp(s->listener, "smtps") && strcmp(s->listener, "submission"))
		return bad(p, "listener must be smtp, smtps or submission");
	char ts1[48], ts2[48], port[24], pe[24], msgs[24];
	pl_ts_text(r->has_started_at ? r->started_at : wall_now(), ts1, sizeof ts1);
	pl_ts_text(r->has_ended_at ? r->ended_at : wall_now(), ts2, sizeof ts2);
	/* the reputation score and the facts behind it (migration 0013), when the edge sent them */
	struct pol_rep rep;
	pol_rep_read(s->rep, s->ip, &rep);
	cJSON *rj = s->rep ? cl_policy_rep_encode(s->rep) : NULL;
	char score[24], *facts = rj ? cJSON_PrintUnformatted(rj) : NULL;
	cJSON_Delete(rj);
	const char *vals[16] = {s->sid,
				ts1,
				ts2,
				s->ip,
				s->port > 0 ? num(port, sizeof port, s->port) : NULL,
				s->listener,
				s->helo[0] ? s->helo : NULL,
				s->tls,
				s->auth_user[0] ? s->auth_user : NULL,
				r->outcome,
				r->pregreet ? "true" : "false",
				num(pe, sizeof pe, r->protocol_errors),
				num(msgs, sizeof msgs, r->messages),
				r->transcript,
				rep.present ? num(score, sizeof score, rep.score) : NULL,
				facts};
	struct pl_row *row = pl_row_new(PL_SESSION);
	int fail = !row || (rep.present && !facts);
	for (int i = 0; row && i < 16; i++)
		fail |= set_text(row, i, vals[i]);
	cJSON_free(facts);
	if (fail) {
		pl_row_free(row);
		return NULL;
	}
	const cJSON *msg = cJSON_GetObjectItemCaseSensitive(req, CL_POLICY_F_MESSAGE);
	struct pl_row **rows = NULL;
	size_t n = 0;
	const char *why = NULL;
	if (msg && (!cJSON_IsObject(msg) || message_rows(msg, &rows, &n, &why) < 0)) {
		pl_row_free(row);
		return !cJSON_IsObject(msg) || why ? bad(p, "log_session's message must be a valid log_message") : NULL;
	}
	pl_queue_push(&p->logq, row);
	push_rows(p, rows, n);
	return cl_policy_ok_encode();
}

static int in_list(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(s, *list) == 0)
			return 1;
	return 0;
}

static const char *const statuses[] = {"received", "sent",   "rejected", "quarantined", "released",
				       "relayed",  "failed", "deleted",  NULL};
static const char *const classes[] = {"unknown_rcpt", "directive", "relay_denied", "virus",      "banned",
				      "protocol",     "policy",    "temporary",    "downstream", "size",
				      "other",        "spam",      "dmarc",        "greylist",   NULL};

/* message_row - one message_log row for one recipient of a log_message; NULL when the
 * entry is not acceptable (*why says why) or out of memory. */
static struct pl_row *message_row(const struct cl_policy_request *r, const struct cl_policy_rcpt_entry *e,
				  const char **why)
{
	if (!e->rcpt || !e->status || !in_list(e->status, statuses) ||
	    (e->reason_class && e->reason_class[0] && !in_list(e->reason_class, classes))) {
		*why = "each rcpts entry needs rcpt and a known status (and reason_class when given)";
		return NULL;
	}
	const struct cl_route *rt = e->has_route ? &e->route : NULL;
	char ts[48], u[24], d[24], g[24], code[24], size[24];
	pl_ts_text(wall_now(), ts, sizeof ts);
	struct cl_ip a;
	const char *vals[18] = {ts,
				r->s.sid[0] ? r->s.sid : NULL,
				r->msgid,
				rt && rt->mode == CL_ROUTE_OUTBOUND ? "out" : "in",
				cl_ip_parse(r->s.ip, &a) == 0 ? r->s.ip : NULL,
				r->sender,
				e->rcpt,
				rt && rt->user_id ? num(u, sizeof u, rt->user_id) : NULL,
				rt && rt->domain_id ? num(d, sizeof d, rt->domain_id) : NULL,
				rt && rt->group_id ? num(g, sizeof g, rt->group_id) : NULL,
				e->status,
				e->reason_class && e->reason_class[0] ? e->reason_class : NULL,
				e->code >= 200 && e->code <= 599 ? num(code, sizeof code, e->code) : NULL,
				e->enh,
				e->reason,
				e->virus,
				r->subject,
				num(size, sizeof size, r->size)};
	struct pl_row *row = pl_row_new(PL_MESSAGE);
	int fail = !row;
	for (int i = 0; row && i < 18; i++)
		fail |= set_text(row, i, vals[i]);
	if (fail) {
		pl_row_free(row);
		*why = NULL;
		return NULL;
	}
	return row;
}

/* message_rows - the message_log rows of a log_message request, one per recipient: 0 with
 * *rows (n of them, malloc'd); -1 with *why, or *why NULL when out of memory. */
static int message_rows(const cJSON *req, struct pl_row ***rows, size_t *n, const char **why)
{
	struct cl_policy_request r;
	cl_policy_req_decode(req, &r);
	struct cl_policy_rcpt_entry *es;
	*why = NULL;
	int rc = cl_policy_rcpts_decode(req, 1000, &es, n);
	if (rc < 0) {
		*why = rc == -1 ? "log_message needs 1 to 1000 rcpts" : NULL;
		return -1;
	}
	struct pl_row **out = calloc(*n, sizeof *out);
	size_t k = 0;
	for (; out && k < *n; k++)
		if (!(out[k] = message_row(&r, &es[k], why)))
			break;
	free(es);
	if (!out || k < *n) {
		for (size_t i = 0; out && i < k; i++)
			pl_row_free(out[i]);
		free(out);
		return -1;
	}
	*rows = out;
	return 0;
}

/* push_rows - rows to the batch writer (each is the queue's now), and the array freed. */
static void push_rows(struct policy *p, struct pl_row **rows, size_t n)
{
	for (size_t i = 0; i < n; i++)
		pl_queue_push(&p->logq, rows[i]);
	free(rows);
}

/* log_message - one message_log row per recipient; all or nothing. */
static cJSON *log_message(struct policy *p, const cJSON *req)
{
	struct pl_row **rows;
	size_t n;
	const char *why;
	if (message_rows(req, &rows, &n, &why) < 0)
		return why ? bad(p, why) : NULL;
	push_rows(p, rows, n);
	return cl_policy_ok_encode();
}

/* rcpt - the first recipient's verdict, and with "more" (the RCPT commands a pipelined client
 * sent next) one verdict each for the rest, in their order: decided one by one as separate
 * calls would be, each logged and counted as its own. */
_Static_assert(CL_POLICY_RCPT_MORE_MAX == 32, "rcpt()'s error text says 32");
static cJSON *rcpt(struct policy *p, struct cl_policy_request *r)
{
	const cJSON *more = r->more, *e;
	int k = !more ? 0 : cJSON_IsArray(more) ? cJSON_GetArraySize(more) : -1;
	cJSON_ArrayForEach(e, more)
	{
		if (!cJSON_IsString(e))
			k = -1;
	}
	if (k < 0 || k > CL_POLICY_RCPT_MORE_MAX)
		return bad(p, "more must be an array of at most 32 recipient addresses");
	cJSON *o = decide(p, OP_RCPT, r);
	cJSON *arr = o && k > 0 ? cJSON_AddArrayToObject(o, CL_POLICY_F_MORE) : NULL;
	const cJSON *list = k > 0 ? more : NULL;
	cJSON_ArrayForEach(e, list)
	{
		r->rcpt = e->valuestring;
		cJSON *a = arr ? decide(p, OP_RCPT, r) : NULL;
		if (!a || !cJSON_AddItemToArray(arr, a)) { /* out of memory: the whole reply fails */
			cJSON_Delete(a);
			cJSON_Delete(o);
			return NULL;
		}
	}
	return o;
}

/* The op table's handlers (cl_rpc_handler_fn; ctx is the struct policy). */
#define POL_HANDLER(name, call)                                                                                        \
	static cJSON *name(void *ctx, const cJSON *req, const unsigned char *body, size_t blen, void **rbody,          \
			   size_t *rblen)                                                                              \
	{                                                                                                              \
		(void)body, (void)blen, (void)rbody, (void)rblen;                                                      \
		struct cl_policy_request r;                                                                            \
		cl_policy_req_decode(req, &r);                                                                         \
		return call;                                                                                           \
	}
POL_HANDLER(h_connect, decide(ctx, OP_CONNECT, &r))
POL_HANDLER(h_helo, decide(ctx, OP_HELO, &r))
POL_HANDLER(h_mail, decide(ctx, OP_MAIL, &r))
POL_HANDLER(h_rcpt, rcpt(ctx, &r))
POL_HANDLER(h_auth, decide(ctx, OP_AUTH, &r))
POL_HANDLER(h_log_session, log_session(ctx, req, &r))
static cJSON *h_log_message(void *ctx, const cJSON *req, const unsigned char *body, size_t blen, void **rbody,
			    size_t *rblen)
{
	(void)body, (void)blen, (void)rbody, (void)rblen;
	return log_message(ctx, req); /* decoded there, as log_session's message is */
}

static const struct cl_rpc_op op_list[] = {
    {CL_POLICY_OP_CONNECT, h_connect},
    {CL_POLICY_OP_HELO, h_helo},
    {CL_POLICY_OP_MAIL, h_mail},
    {CL_POLICY_OP_RCPT, h_rcpt},
    {CL_POLICY_OP_AUTH, h_auth},
    {CL_POLICY_OP_LOG_SESSION, h_log_session},
    {CL_POLICY_OP_LOG_MESSAGE, h_log_message},
};

const struct cl_rpc_op *pol_ops(size_t *n)
{
	*n = sizeof op_list / sizeof op_list[0];
	return op_list;
}
