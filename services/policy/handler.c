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

/* req_from_json - the common and op fields; missing strings become "". */
static void req_from_json(const cJSON *j, struct pol_req *r)
{
	r->sid = cl_json_str(j, "sid", "");
	r->ip = cl_json_str(j, "ip", "");
	r->listener = cl_json_str(j, "listener", "smtp");
	r->helo = cl_json_str(j, "helo", "");
	r->auth_user = cl_json_str(j, "auth_user", "");
	r->sender = cl_json_str(j, "sender", "");
	r->rcpt = cl_json_str(j, "rcpt", "");
	r->user = cl_json_str(j, "user", "");
	r->password = cl_json_str(j, "password", "");
	r->size = cl_json_int(j, "size", 0);
	r->smtputf8 = cl_json_bool(j, "smtputf8", 0);
	r->rep = cJSON_GetObjectItemCaseSensitive(j, "rep");
}

/* decide - run one decision op and build its verdict reply. */
static cJSON *decide(struct policy *p, int op, const struct pol_req *r)
{
	struct cl_verdict v;
	struct cl_route rt = {0};
	char canon[400] = "";
	double t0 = cl_now_seconds();
	/* MAIL reads the cache only after AUTH (sender aliases). */
	int cached = op != OP_HELO && (op != OP_MAIL || r->auth_user[0]);
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
	cJSON *o = cJSON_CreateObject();
	if (!o || !cJSON_AddNumberToObject(o, "v", CL_FRAME_VERSION) || cl_verdict_to_json(&v, o) < 0 ||
	    (op == OP_RCPT && v.action == CL_ACCEPT && cl_route_to_json(&rt, o) < 0) ||
	    (canon[0] && !cJSON_AddStringToObject(o, "user", canon))) {
		cJSON_Delete(o);
		return NULL;
	}
	/* Refusals and deferrals only: escaping four fields for a debug line nobody reads is
	 * most of the cost of an accepted rcpt. */
	if (v.action != CL_ACCEPT) {
		char a[300], b[300], t[500];
		cl_log(CL_LOG_INFO, r->sid[0] ? r->sid : NULL, op_names[op], "ip=%s from=%s rcpt=%s code=%d text=%s",
		       cl_log_escape(a, 64, r->ip, strlen(r->ip)),
		       cl_log_escape(b, sizeof b, r->sender, strlen(r->sender)),
		       cl_log_escape(t, 300, r->rcpt, strlen(r->rcpt)), v.code,
		       cl_log_escape(t + 300, 200, v.text, strlen(v.text)));
	}
	return o;
}

static cJSON *ok_reply(void)
{
	cJSON *o = cJSON_CreateObject();
	if (o && (!cJSON_AddNumberToObject(o, "v", CL_FRAME_VERSION) || !cJSON_AddBoolToObject(o, "ok", 1))) {
		cJSON_Delete(o);
		return NULL;
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

/* log_session - one smtp_sessions row (column order: logq.c). */
static cJSON *log_session(struct policy *p, const cJSON *j, const struct pol_req *r)
{
	struct cl_ip a;
	if (!r->sid[0] || cl_ip_parse(r->ip, &a) < 0)
		return bad(p, "log_session needs sid and a valid ip");
	if (strcmp(r->listener, "smtp") && strcmp(r->listener, "smtps") && strcmp(r->listener, "submission"))
		return bad(p, "listener must be smtp, smtps or submission");
	double started = cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(j, "started_at"))
			     ? cJSON_GetObjectItemCaseSensitive(j, "started_at")->valuedouble
			     : wall_now();
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "ended_at");
	char ts1[48], ts2[48], port[24], pe[24], msgs[24];
	pl_ts_text(started, ts1, sizeof ts1);
	pl_ts_text(cJSON_IsNumber(e) ? e->valuedouble : wall_now(), ts2, sizeof ts2);
	long long pt = cl_json_int(j, "port", 0);
	/* the reputation score and the facts behind it (migration 0013), when the edge sent them */
	struct pol_rep rep;
	pol_rep_read(r->rep, r->ip, &rep);
	char score[24], *facts = rep.present ? cJSON_PrintUnformatted(r->rep) : NULL;
	const char *vals[16] = {r->sid,
				ts1,
				ts2,
				r->ip,
				pt > 0 && pt < 65536 ? num(port, sizeof port, pt) : NULL,
				r->listener,
				r->helo[0] ? r->helo : NULL,
				cl_json_str(j, "tls", NULL),
				r->auth_user[0] ? r->auth_user : NULL,
				cl_json_str(j, "outcome", NULL),
				cl_json_bool(j, "pregreet", 0) ? "true" : "false",
				num(pe, sizeof pe, cl_json_int(j, "protocol_errors", 0)),
				num(msgs, sizeof msgs, cl_json_int(j, "messages", 0)),
				cl_json_str(j, "transcript", NULL),
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
	pl_queue_push(&p->logq, row);
	return ok_reply();
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
static struct pl_row *message_row(const cJSON *j, const cJSON *rc, const struct pol_req *r, const char **why)
{
	const char *rcpt = cl_json_str(rc, "rcpt", NULL), *status = cl_json_str(rc, "status", NULL);
	const char *klass = cl_json_str(rc, "reason_class", NULL);
	if (!rcpt || !status || !in_list(status, statuses) || (klass && klass[0] && !in_list(klass, classes))) {
		*why = "each rcpts entry needs rcpt and a known status (and reason_class when given)";
		return NULL;
	}
	struct cl_route rt;
	int has_route = cl_route_from_json(rc, &rt) == 0;
	char ts[48], u[24], d[24], g[24], code[24], size[24];
	pl_ts_text(wall_now(), ts, sizeof ts);
	long long c = cl_json_int(rc, "code", 0);
	struct cl_ip a;
	const char *vals[18] = {ts,
				r->sid[0] ? r->sid : NULL,
				cl_json_str(j, "msgid", NULL),
				has_route && rt.mode == CL_ROUTE_OUTBOUND ? "out" : "in",
				cl_ip_parse(r->ip, &a) == 0 ? r->ip : NULL,
				r->sender,
				rcpt,
				has_route && rt.user_id ? num(u, sizeof u, rt.user_id) : NULL,
				has_route && rt.domain_id ? num(d, sizeof d, rt.domain_id) : NULL,
				has_route && rt.group_id ? num(g, sizeof g, rt.group_id) : NULL,
				status,
				klass && klass[0] ? klass : NULL,
				c >= 200 && c <= 599 ? num(code, sizeof code, c) : NULL,
				cl_json_str(rc, "enh", NULL),
				cl_json_str(rc, "reason", NULL),
				cl_json_str(rc, "virus", NULL),
				cl_json_str(j, "subject", NULL),
				num(size, sizeof size, cl_json_int(j, "size", 0))};
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

/* log_message - one message_log row per recipient; all or nothing. */
static cJSON *log_message(struct policy *p, const cJSON *j, const struct pol_req *r)
{
	const cJSON *rcpts = cJSON_GetObjectItemCaseSensitive(j, "rcpts");
	int n = cJSON_GetArraySize(rcpts);
	if (!cJSON_IsArray(rcpts) || n < 1 || n > 1000)
		return bad(p, "log_message needs 1 to 1000 rcpts");
	struct pl_row *rows[n];
	int k = 0;
	const char *why = NULL;
	const cJSON *rc;
	cJSON_ArrayForEach(rc, rcpts)
	{
		rows[k] = message_row(j, rc, r, &why);
		if (!rows[k])
			break;
		k++;
	}
	if (k < n) {
		for (int i = 0; i < k; i++)
			pl_row_free(rows[i]);
		return why ? bad(p, why) : NULL;
	}
	for (int i = 0; i < n; i++)
		pl_queue_push(&p->logq, rows[i]);
	return ok_reply();
}

/* The op table's handlers (cl_rpc_handler_fn; ctx is the struct policy). */
#define POL_HANDLER(name, call)                                                                                        \
	static cJSON *name(void *ctx, const cJSON *req, const unsigned char *body, size_t blen, void **rbody,          \
			   size_t *rblen)                                                                              \
	{                                                                                                              \
		(void)body, (void)blen, (void)rbody, (void)rblen;                                                      \
		struct pol_req r;                                                                                      \
		req_from_json(req, &r);                                                                                \
		return call;                                                                                           \
	}
POL_HANDLER(h_connect, decide(ctx, OP_CONNECT, &r))
POL_HANDLER(h_helo, decide(ctx, OP_HELO, &r))
POL_HANDLER(h_mail, decide(ctx, OP_MAIL, &r))
POL_HANDLER(h_rcpt, decide(ctx, OP_RCPT, &r))
POL_HANDLER(h_auth, decide(ctx, OP_AUTH, &r))
POL_HANDLER(h_log_session, log_session(ctx, req, &r))
POL_HANDLER(h_log_message, log_message(ctx, req, &r))

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
