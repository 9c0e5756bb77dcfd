/* ops.c - deliver, release and delete (docs/RPC.md, "delivery").
 *
 * deliver is all-or-nothing over one destination (smtp-edge keeps a transaction to one
 * route mode and group). Recipients that a directive quarantines may share a transaction
 * with recipients that are delivered: their quarantine rows are inserted in a PostgreSQL
 * transaction that is committed only after the other copies are durable, and rolled back
 * when they are not, so a 4xx leaves nothing behind (a commit failing after a successful
 * delivery gives 451 and, on the client's retry, a duplicate: never a loss). */
#include "ops.h"

#include <stdlib.h>
#include <string.h>

#include "dconf.h"
#include "dest.h"
#include "mail/delivery_client.h"
#include "mail/verdict.h"
#include "msgutil.h"
#include "rpc/frame.h"
#include "rpc/rpc.h"
#include "sign.h"
#include "store.h"
#include "util/log.h"

#define OPS_MAX_RCPTS 1000

/* One parsed deliver request; rcpt strings point into the request JSON. */
struct dreq {
	const char *sid, *msgid, *ip, *sender;
	int smtputf8;           /* the client's MAIL had SMTPUTF8 */
	size_t n, nq;           /* recipients, of which quarantined */
	struct cl_route route;  /* the shared destination */
	struct dl_dest_rcpt *d; /* to deliver */
	size_t nd;
	struct dl_qrcpt *q;  /* to quarantine */
	const char **status; /* per recipient, in request order */
	const char **addr;
	struct cl_delivery_rcpt *rcpts; /* decoded (lib/mail/delivery_client) */
	char subject[400];
	char score[32];   /* the content verdict's score, "" when none (issue 18) */
	char reason[400]; /* its reason, printable ASCII */
};

static void dreq_free(struct dreq *r)
{
	free(r->d);
	free(r->q);
	free(r->status);
	free(r->addr);
	free(r->rcpts);
}

/* safe_id - s when it is a short [A-Za-z0-9._-] token (fit for a log line and a column), else
 * def: sid and msgid come over RPC and must not be able to forge log fields. */
static const char *safe_id(const char *s, const char *def)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > 128 || strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-@") != n)
		return def;
	return s;
}

/* addr_ok - an envelope address we may put into an SMTP command, a path or a row: at most
 * 320 bytes (RFC 5321 4.5.3.1), no control bytes, no angle brackets (a quoted local part
 * may hold spaces). smtp-edge has parsed it already; this keeps a bad caller from
 * injecting SMTP commands downstream. */
static int addr_ok(const char *a, int empty_ok)
{
	size_t n = strlen(a);
	if ((n == 0 && !empty_ok) || n > 320)
		return 0;
	for (const unsigned char *p = (const unsigned char *)a; *p; p++)
		if (*p < 0x20 || *p == 0x7f || *p == '<' || *p == '>')
			return 0;
	return 1;
}

/* content_parse - the content verdict's score and reason kept with a held copy: a finite
 * score, and a reason in printable ASCII (it is shown in the quarantine), bounded. */
static void content_parse(struct dreq *r, const struct cl_delivery_deliver_request *q)
{
	const char *why = q->reason;
	if (q->has_score && q->score > -1e6 && q->score < 1e6)
		snprintf(r->score, sizeof r->score, "%.2f", q->score);
	size_t k = 0;
	for (; why[k] && k + 1 < sizeof r->reason; k++)
		r->reason[k] = (why[k] >= 0x20 && why[k] < 0x7F) ? why[k] : '?';
	r->reason[k] = '\0';
}

/* dreq_parse - decode (lib/mail/delivery_client), check and split the recipients. 0, or -1
 * with why. */
static int dreq_parse(struct dreq *r, const cJSON *req, const char **why)
{
	struct cl_delivery_deliver_request q;
	int dec = cl_delivery_deliver_req_decode(req, OPS_MAX_RCPTS, &q);
	r->rcpts = q.rcpts;
	r->sid = safe_id(q.sid, NULL);
	r->msgid = safe_id(q.msgid, "");
	r->ip = q.ip ? q.ip : "";
	r->sender = q.sender;
	r->smtputf8 = q.smtputf8;
	content_parse(r, &q);
	size_t n = q.n;
	*why = "bad request";
	if (!r->sender || !addr_ok(r->sender, 1) || dec < 0)
		return -1;
	r->d = calloc(n, sizeof *r->d);
	r->q = calloc(n, sizeof *r->q);
	r->status = calloc(n, sizeof *r->status);
	r->addr = calloc(n, sizeof *r->addr);
	if (!r->d || !r->q || !r->status || !r->addr)
		return -1;
	for (size_t i = 0; i < n; i++) {
		struct cl_route rt = q.rcpts[i].route;
		const char *a = q.rcpts[i].rcpt;
		if (!addr_ok(a, 0))
			return -1;
		if (r->n == 0)
			r->route = rt;
		if (rt.mode != r->route.mode || rt.group_id != r->route.group_id) {
			*why = "mixed destinations in one transaction";
			return -1;
		}
		r->addr[r->n++] = a;
		if (rt.quarantine)
			r->q[r->nq++] = (struct dl_qrcpt){a, rt.user_id, rt.domain_id, rt.quarantine};
		else
			r->d[r->nd++] = (struct dl_dest_rcpt){a, rt.user_id, rt.quota_known, rt.quota_bytes};
	}
	return 0;
}

/* status_of - the per-recipient status after a successful transaction. */
static const char *status_of(enum cl_route_mode m)
{
	return m == CL_ROUTE_LOCAL ? "received" : m == CL_ROUTE_RELAY ? "relayed" : "sent";
}

/* log_outbound - the user's sent-mail status: one message_log row per recipient. */
static void log_outbound(struct cl_pg *pg, const struct dreq *r, size_t blen, const struct cl_verdict *v)
{
	char err[300];
	for (size_t i = 0; i < r->nd; i++) {
		struct dl_logrow l = {r->sid,
				      r->msgid,
				      "out",
				      r->ip,
				      r->sender,
				      r->d[i].addr,
				      v->action == CL_ACCEPT ? "sent" : "failed",
				      v->text,
				      r->subject,
				      r->route.user_id,
				      r->route.domain_id,
				      r->route.group_id,
				      (long long)blen,
				      v};
		if (dl_log_row(pg, &l, err, sizeof err) < 0)
			cl_log(CL_LOG_WARN, r->sid, "log_failed", "rcpt_index=%zu", i);
	}
}

/* run_deliver - quarantine rows (uncommitted), then the copies, then commit. */
static void run_deliver(struct dl_ctx *c, struct cl_pg *pg, struct dreq *r, const unsigned char *body, size_t blen,
			struct cl_verdict *v)
{
	char err[400] = "";
	int intx = 0;
	if (r->nq > 0) {
		struct dl_qmsg m = {r->sid,   r->msgid,  r->ip,       r->sender, r->subject,
				    r->score, r->reason, r->smtputf8, body,      blen};
		if (cl_pg_begin(pg, NULL, err, sizeof err) < 0 || (intx = 1, 0) ||
		    dl_quarantine_store_rows(c, pg, &m, r->q, r->nq, err, sizeof err) < 0) {
			cl_log(CL_LOG_WARN, r->sid, "quarantine_failed", "error=db");
			if (intx)
				cl_pg_rollback(pg);
			cl_metric_inc(c->m->deliveries[DL_MODE_QUARANTINE][DL_OUT_TEMPFAIL]);
			cl_verdict_tempfail(v, "Temporary failure, try again later");
			return;
		}
	}
	cl_verdict_set(v, CL_ACCEPT, 250, "2.0.0", "Quarantined");
	if (r->nd > 0 && dl_dest_deliver(c, pg, r->route.mode, r->route.group_id, r->sender, r->smtputf8, r->d, r->nd,
					 body, blen, v) < 0) {
		if (intx)
			cl_pg_rollback(pg);
		return;
	}
	if (intx && cl_pg_commit(pg, err, sizeof err) < 0) {
		cl_metric_inc(c->m->deliveries[DL_MODE_QUARANTINE][DL_OUT_TEMPFAIL]);
		cl_verdict_tempfail(v, "Temporary failure, try again later");
		return;
	}
	if (intx) {
		cl_metric_add(c->m->q_stored, (int64_t)r->nq);
		cl_metric_inc(c->m->deliveries[DL_MODE_QUARANTINE][DL_OUT_OK]);
	}
}

/* deliver_reply - verdict + per-recipient statuses. NULL when out of memory. */
static cJSON *deliver_reply(const struct dreq *r, const struct cl_verdict *v)
{
	struct cl_delivery_rcpt_status *st = calloc(r->n ? r->n : 1, sizeof *st);
	if (!st)
		return NULL;
	size_t qi = 0;
	for (size_t i = 0; i < r->n; i++) {
		int quar = qi < r->nq && r->q[qi].rcpt == r->addr[i];
		qi += quar;
		st[i].rcpt = r->addr[i];
		st[i].status = v->action != CL_ACCEPT ? "failed" : quar ? "quarantined" : status_of(r->route.mode);
	}
	cJSON *o = cl_delivery_verdict_encode(v, st, r->n);
	free(st);
	return o;
}

/* sign_outbound - a user's submission leaves signed by its From domain's active DKIM key
 * when the login may send as that domain (sign.h): the signed copy (malloc'd, the caller
 * frees it; *olen its length), or NULL to send body as it is (not outbound, no key, not
 * allowed, signing failed or out of memory). */
static unsigned char *sign_outbound(struct dl_ctx *c, struct cl_pg *pg, const struct dreq *r, const unsigned char *body,
				    size_t blen, size_t *olen)
{
	if (r->route.mode != CL_ROUTE_OUTBOUND)
		return NULL;
	char *sig = dl_dkim_sign(c, pg, r->sid, r->route.domain_id, r->route.user_id, body, blen);
	size_t sl = sig ? strlen(sig) : 0;
	unsigned char *m = sig ? malloc(sl + blen) : NULL;
	if (m) {
		memcpy(m, sig, sl);
		memcpy(m + sl, body, blen);
		*olen = sl + blen;
	}
	free(sig);
	return m;
}

/* op_deliver - the deliver op. */
static cJSON *op_deliver(struct dl_ctx *c, const cJSON *req, const unsigned char *body, size_t blen)
{
	struct dreq r = {0};
	struct cl_verdict v;
	const char *why;
	if (!body || dreq_parse(&r, req, &why) < 0) {
		cl_log(CL_LOG_WARN, safe_id(cl_json_str(req, CL_DELIVERY_F_SID, NULL), NULL), "bad_deliver",
		       "why=\"%s\"", body ? why : "no body");
		dreq_free(&r);
		return cl_rpc_error_reply(body ? why : "no body");
	}
	dl_header_value(body, blen, "Subject", r.subject, sizeof r.subject);
	dl_text_sanitize(r.subject);
	char err[300];
	struct cl_pg *pg = cl_pg_pool_get(c->db, -1, err, sizeof err);
	if (!pg) {
		cl_log(CL_LOG_WARN, r.sid, "db_unavailable", NULL);
		cl_verdict_tempfail(&v, "Temporary failure, try again later");
	} else {
		size_t olen = blen;
		unsigned char *signed_msg = sign_outbound(c, pg, &r, body, blen, &olen);
		run_deliver(c, pg, &r, signed_msg ? signed_msg : body, olen, &v);
		free(signed_msg);
		if (r.route.mode == CL_ROUTE_OUTBOUND)
			log_outbound(pg, &r, blen, &v);
		cl_pg_pool_put(c->db, pg);
	}
	cl_log(CL_LOG_INFO, r.sid, "deliver", "mode=%s rcpts=%zu quarantined=%zu size=%zu code=%d",
	       cl_route_mode_str(r.route.mode), r.n, r.nq, blen, v.code);
	cJSON *o = deliver_reply(&r, &v);
	dreq_free(&r);
	return o;
}

/* op_decide - release or delete of one quarantined message. */
static cJSON *op_decide(struct dl_ctx *c, const cJSON *req, int release)
{
	struct cl_delivery_quarantine_request q;
	cl_delivery_quarantine_req_decode(req, &q);
	long long qid = q.quarantine_id, by = q.by_user_id;
	if (qid <= 0)
		return cl_rpc_error_reply("quarantine_id required");
	struct cl_verdict v;
	char err[300];
	cl_verdict_tempfail(&v, "Temporary failure: database unavailable");
	struct cl_pg *pg = cl_pg_pool_get(c->db, -1, err, sizeof err);
	if (pg) {
		(release ? dl_quarantine_release : dl_quarantine_delete)(c, pg, qid, by, &v);
		cl_pg_pool_put(c->db, pg);
	}
	return cl_delivery_verdict_encode(&v, NULL, 0);
}

/* The op table's handlers (cl_rpc_handler_fn; ctx is the struct dl_ctx). */
static cJSON *h_deliver(void *ctx, const cJSON *req, const unsigned char *body, size_t blen, void **rbody,
			size_t *rblen)
{
	(void)rbody, (void)rblen;
	return op_deliver(ctx, req, body, blen);
}

static cJSON *h_release(void *ctx, const cJSON *req, const unsigned char *body, size_t blen, void **rbody,
			size_t *rblen)
{
	(void)body, (void)blen, (void)rbody, (void)rblen;
	return op_decide(ctx, req, 1);
}

static cJSON *h_delete(void *ctx, const cJSON *req, const unsigned char *body, size_t blen, void **rbody, size_t *rblen)
{
	(void)body, (void)blen, (void)rbody, (void)rblen;
	return op_decide(ctx, req, 0);
}

static const struct cl_rpc_op op_list[] = {
    {CL_DELIVERY_OP_DELIVER, h_deliver},
    {CL_DELIVERY_OP_RELEASE, h_release},
    {CL_DELIVERY_OP_DELETE, h_delete},
};

const struct cl_rpc_op *dl_ops(size_t *n)
{
	*n = sizeof op_list / sizeof op_list[0];
	return op_list;
}
