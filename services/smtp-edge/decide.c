/* decide.c - the decisions: policy at connect, MAIL after AUTH, RCPT (which also carries
 * what policy judges HELO and an unauthenticated MAIL by) and AUTH; after the body, scanner
 * then delivery, whose verdict is the reply to DATA; banstats for the mesh (xmesh.c); the
 * logs to policy.
 *
 * Every call is a row of one table, steps[], indexed by enum rpc_kind: which service it
 * goes to, its deadline setting, its latency metric, the function that builds its request
 * and the one that handles its answer. A verb's answer handling sits beside the verb
 * (smtp.c: smtp_on_mail, smtp_on_rcpt...; xmesh.c); scan and deliver, the end of DATA, here.
 *
 * Fail closed (docs/ARCHITECTURE.md): any RPC that times out, cannot reach its service or
 * gets a malformed answer becomes 451 4.3.0 (421 at connect), never acceptance. A call to a
 * service with no connection at all fails at once; one that is connected but slow has its
 * deadline (CLEMENT_*_TIMEOUT_MS). Calls run
 * asynchronously; completions come back through the loop's queue (loop.c) and are
 * handled here on the loop thread. */
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "authres.h"
#include "edge.h"
#include "mail/delivery_client.h"
#include "mail/policy_client.h"
#include "mail/scanner_client.h"
#include "util/buf.h"
#include "util/log.h"

static const char *listener_names[] = {"smtp", "smtps", "submission"};

/* policy_session - what policy is told about s (borrows s's strings). */
static struct cl_policy_session policy_session(struct session *s)
{
	struct cl_policy_session p = {
	    .sid = s->id,
	    .ip = s->ip,
	    .port = s->port,
	    .listener = listener_names[s->lst->kind],
	    .helo = s->helo,
	    .tls = session_has(s, SF_TLS) ? s->tls_desc : NULL,
	    .auth_user = s->auth_user,
	};
	return p;
}

/* rpc_done - runs on the RPC client's thread: queue the answer for the loop, nothing else. */
static void rpc_done(void *arg, enum cl_rpc_status st, nng_msg *reply)
{
	struct completion *c = arg;
	c->st = st;
	c->reply = reply;
	loop_push_completion(c->s->e, c);
}

/* forget_done - fire-and-forget calls (the logs): the answer does not matter. */
static void forget_done(void *arg, enum cl_rpc_status st, nng_msg *reply)
{
	struct edge *e = arg;
	(void)st;
	atomic_fetch_sub(&e->fire_inflight, 1);
	if (reply)
		nng_msg_free(reply);
}

/* content_policy - the strictest of the recipients' content policies: a transaction has one
 * destination group, but its recipients' domains may each override the group's scores. */
static void content_policy(const struct session *s, struct cl_content_policy *p)
{
	memset(p, 0, sizeof *p);
	for (size_t i = 0; i < s->nrcpt; i++) {
		const struct cl_content_policy *r = &s->rcpts[i].route.content;
		double *mine[] = {&p->reject, &p->quarantine, &p->tag};
		const double theirs[] = {r->reject, r->quarantine, r->tag};
		int *have[] = {&p->has_reject, &p->has_quarantine, &p->has_tag};
		const int set[] = {r->has_reject, r->has_quarantine, r->has_tag};
		for (int k = 0; k < 3; k++) {
			if (set[k] && (!*have[k] || theirs[k] < *mine[k]))
				*mine[k] = theirs[k];
			*have[k] |= set[k];
		}
		p->dmarc_reject |= r->dmarc_reject;
	}
}

/* scan_req - the scan request: the message and the envelope the scanner gives Rspamd. */
static int scan_req(struct session *s, nng_msg **m)
{
	const char **rc = calloc(s->nrcpt ? s->nrcpt : 1, sizeof *rc);
	if (!rc)
		return -1;
	for (size_t i = 0; i < s->nrcpt; i++)
		rc[i] = s->rcpts[i].addr;
	struct cl_content_policy pol;
	content_policy(s, &pol);
	struct cl_scan_env env = {
	    .sid = s->id,
	    .ip = s->ip,
	    .helo = s->helo,
	    .sender = s->mail.null_path ? "" : s->mail.addr,
	    .msgid = s->msgid,
	    .auth_user = s->auth_user,
	    .tls = session_has(s, SF_TLS) ? s->tls_desc : NULL,
	    .mta = s->e->cfg.hostname,
	    /* Rspamd's Hostname: only a PTR name that resolves back to the client (FCrDNS) */
	    .hostname = s->rep && s->rep->ptr_finding && strcmp(s->rep->ptr_finding, "ok") == 0 ? s->rep->ptr : NULL,
	    .rcpts = rc,
	    .nrcpt = s->nrcpt,
	    .content = &pol,
	};
	int r = cl_scanner_scan_req(m, &env, s->body.msg.data, s->body.msg.len);
	free(rc);
	return r;
}

/* The request builders of the steps (0, or -1): policy's questions carry the session;
 * connect and rcpt also the reputation facts policy decides on (docs/RPC.md, "rep"). */
static const char *sender_of(const struct session *s)
{
	return s->mail.null_path ? "" : s->mail.addr;
}

static int build_connect(struct session *s, nng_msg **m)
{
	struct cl_policy_session p = policy_session(s);
	struct cl_policy_rep rep;
	p.rep = rep_facts(s, &rep, 1);
	return cl_policy_connect_req(m, &p);
}

static int build_mail(struct session *s, nng_msg **m)
{
	struct cl_policy_session p = policy_session(s);
	return cl_policy_mail_req(m, &p, sender_of(s), s->mail.size, s->mail.smtputf8);
}

static int build_rcpt(struct session *s, nng_msg **m)
{
	struct cl_policy_session p = policy_session(s);
	struct cl_policy_rep rep;
	p.rep = rep_facts(s, &rep, 1);
	const char *more[CL_POLICY_RCPT_MORE_MAX];
	size_t n = s->ahead ? s->ahead->asked : 0;
	for (size_t i = 0; i < n; i++)
		more[i] = s->ahead->addr[i];
	return cl_policy_rcpt_req(m, &p, sender_of(s), s->pending_rcpt.addr, more, n, s->mail.smtputf8);
}

static int build_auth(struct session *s, nng_msg **m)
{
	struct cl_policy_session p = policy_session(s);
	return cl_policy_auth_req(m, &p, s->authp->login_user, s->authp->pw);
}

static int build_deliver(struct session *s, nng_msg **m)
{
	struct cl_delivery_rcpt *r = calloc(s->nrcpt ? s->nrcpt : 1, sizeof *r);
	if (!r)
		return -1;
	for (size_t i = 0; i < s->nrcpt; i++) {
		r[i].rcpt = s->rcpts[i].addr;
		r[i].route = s->rcpts[i].route;
	}
	struct cl_delivery_content ct = {s->content_score, s->content_text};
	struct cl_delivery_envelope env = {s->id, s->msgid, s->ip, sender_of(s), s->auth_user, s->mail.smtputf8};
	int rc = cl_delivery_deliver_req(m, &env, r, s->nrcpt, s->content_class[0] ? &ct : NULL, s->body.msg.data,
					 s->body.msg.len);
	free(r);
	return rc;
}

static void on_connect(struct session *s, struct completion *c);
static void on_scan(struct session *s, struct completion *c);
static void on_deliver(struct session *s, struct completion *c);

/* rpc_step - one kind of call: the service (a client of struct edge), its deadline (a
 * setting of struct edge_config, in ms), its latency histogram (of struct metrics_set), the
 * request (NULL: built by the caller, who uses decide_call_msg) and the answer's handler,
 * which runs on the loop thread with the session no longer busy. */
struct rpc_step {
	enum rpc_kind kind;
	size_t client, deadline_ms, metric; /* offsetof(struct edge / edge_config / metrics_set, ...) */
	int (*build)(struct session *s, nng_msg **m);
	void (*on_reply)(struct session *s, struct completion *c);
};

#define POLICY                                                                                                         \
	offsetof(struct edge, policy), offsetof(struct edge_config, policy_timeout_ms),                                \
	    offsetof(struct metrics_set, lat_policy)
#define SCANNER                                                                                                        \
	offsetof(struct edge, scanner), offsetof(struct edge_config, scanner_timeout_ms),                              \
	    offsetof(struct metrics_set, lat_scanner)
#define DELIVERY                                                                                                       \
	offsetof(struct edge, delivery), offsetof(struct edge_config, delivery_timeout_ms),                            \
	    offsetof(struct metrics_set, lat_delivery)
/* the mesh's banstats calls are short lookups and inserts, under policy's deadline */
#define BANSTATS                                                                                                       \
	offsetof(struct edge, banstats), offsetof(struct edge_config, policy_timeout_ms),                              \
	    offsetof(struct metrics_set, lat_banstats)

static const struct rpc_step steps[] = {
    [RPC_CONNECT] = {RPC_CONNECT, POLICY, build_connect, on_connect},
    [RPC_MAIL] = {RPC_MAIL, POLICY, build_mail, smtp_on_mail},
    [RPC_RCPT] = {RPC_RCPT, POLICY, build_rcpt, smtp_on_rcpt},
    [RPC_AUTH] = {RPC_AUTH, POLICY, build_auth, smtp_on_auth},
    [RPC_SCAN] = {RPC_SCAN, SCANNER, scan_req, on_scan},
    [RPC_DELIVER] = {RPC_DELIVER, DELIVERY, build_deliver, on_deliver},
    [RPC_MESH_PEER] = {RPC_MESH_PEER, BANSTATS, NULL, xmesh_on_peer},
    [RPC_MESH_RECORDS] = {RPC_MESH_RECORDS, BANSTATS, NULL, xmesh_on_records},
};
#undef POLICY
#undef SCANNER
#undef DELIVERY
#undef BANSTATS
/* the rows read those members through their offsets: they must keep these types */
#define IS(T, x) _Generic((x), T : 1, default : 0)
_Static_assert(IS(struct cl_rpc_client *, ((struct edge *)0)->policy) &&
		   IS(struct cl_rpc_client *, ((struct edge *)0)->scanner) &&
		   IS(struct cl_rpc_client *, ((struct edge *)0)->delivery) &&
		   IS(struct cl_rpc_client *, ((struct edge *)0)->banstats) &&
		   IS(long long, ((struct edge_config *)0)->policy_timeout_ms) &&
		   IS(long long, ((struct edge_config *)0)->scanner_timeout_ms) &&
		   IS(long long, ((struct edge_config *)0)->delivery_timeout_ms) &&
		   IS(struct cl_metric *, ((struct metrics_set *)0)->lat_policy) &&
		   IS(struct cl_metric *, ((struct metrics_set *)0)->lat_scanner) &&
		   IS(struct cl_metric *, ((struct metrics_set *)0)->lat_delivery) &&
		   IS(struct cl_metric *, ((struct metrics_set *)0)->lat_banstats),
	       "steps[]: a client, deadline or metric member changed type");
#undef IS

/* step_of - kind's row; NULL for RPC_NONE and anything outside the table. */
static const struct rpc_step *step_of(enum rpc_kind kind)
{
	if ((size_t)kind >= sizeof steps / sizeof steps[0] || steps[kind].kind != kind || kind == RPC_NONE)
		return NULL;
	return &steps[kind];
}

int decide_call_msg(struct session *s, enum rpc_kind kind, nng_msg *m)
{
	const struct rpc_step *st = step_of(kind);
	struct cl_rpc_client *cl = st ? *(struct cl_rpc_client **)((char *)s->e + st->client) : NULL;
	struct completion *c = cl ? calloc(1, sizeof *c) : NULL;
	if (!c) {
		cl_metric_inc(s->e->m.rpc_fail);
		return -1;
	}
	c->s = s;
	c->kind = kind;
	c->started = now_mono();
	if (!cl_rpc_client_connected(cl)) {
		/* No connection to the service at all: waiting for its deadline (120 s for delivery)
		 * would only make the client wait for the same 4xx. The answer goes through the
		 * queue like any completion, so the caller's path is the same. A service that is
		 * connected but slow keeps its deadline. */
		nng_msg_free(m);
		c->st = CL_RPC_UNREACHABLE;
		loop_push_completion(s->e, c);
	} else if (cl_rpc_call_async(cl, m, (int)*(const long long *)((const char *)&s->e->cfg + st->deadline_ms),
				     rpc_done, c) < 0) {
		free(c);
		cl_metric_inc(s->e->m.rpc_fail);
		return -1;
	}
	s->busy = kind;
	s->inflight++;
	return 0;
}

int decide_call(struct session *s, enum rpc_kind kind)
{
	const struct rpc_step *st = step_of(kind);
	nng_msg *m = NULL;
	if (!st || !st->build || st->build(s, &m) < 0) {
		cl_metric_inc(s->e->m.rpc_fail);
		return -1;
	}
	if (decide_call_msg(s, kind, m) < 0) {
		nng_msg_free(m);
		return -1;
	}
	return 0;
}

/* fire - send a log request without waiting for it (the session does not slow down). */
static void fire(struct session *s, nng_msg *m)
{
	if (!m)
		return;
	if (!cl_rpc_client_connected(s->e->policy)) { /* lost either way; do not hold it until the deadline */
		nng_msg_free(m);
		return;
	}
	atomic_fetch_add(&s->e->fire_inflight, 1);
	if (cl_rpc_call_async(s->e->policy, m, (int)s->e->cfg.policy_timeout_ms, forget_done, s->e) < 0) {
		atomic_fetch_sub(&s->e->fire_inflight, 1);
		nng_msg_free(m);
	}
}

void decide_log_session(struct session *s)
{
	struct cl_policy_session p = policy_session(s);
	struct cl_policy_rep rep;
	p.rep = rep_facts(s, &rep, 0); /* recorded with the session */
	double now = (double)time(NULL);
	struct cl_policy_session_log l = {
	    .started_at = now - (now_mono() - s->started),
	    .ended_at = now,
	    .outcome = s->outcome,
	    .pregreet = session_has(s, SF_PREGREET_FAIL),
	    .protocol_errors = s->errors,
	    .messages = s->messages,
	    .transcript = s->transcript.data ? s->transcript.data : "",
	};
	/* The held log_message travels inside log_session: one round trip fewer for a session of
	 * one message (docs/RPC.md). */
	cJSON *held = s->log_held;
	s->log_held = NULL;
	nng_msg *m = NULL;
	if (cl_policy_log_session_req(&m, &p, &l, held) == 0)
		fire(s, m);
}

void decide_log_flush(struct session *s)
{
	cJSON *h = s->log_held;
	s->log_held = NULL;
	nng_msg *m = NULL;
	if (h && cl_frame_build_owned(&m, h, NULL, 0) == 0)
		fire(s, m);
}

/* subject_of - the Subject: of the stored message (first header block), sanitised. */
static void subject_of(const struct cl_buf *b, char *out, size_t outlen)
{
	out[0] = '\0';
	const char *end = b->data ? strstr(b->data, "\r\n\r\n") : NULL;
	for (const char *p = b->data; p && end && p < end;) {
		if (strncasecmp(p, "Subject:", 8) == 0) {
			p += 8;
			while (*p == ' ')
				p++;
			size_t k = 0;
			for (; p < end && *p != '\r' && k + 1 < outlen; p++)
				out[k++] = (*p >= 0x20 && *p < 0x7F) ? *p : '?';
			out[k] = '\0';
			return;
		}
		const char *nl = strstr(p, "\r\n");
		p = nl ? nl + 2 : NULL;
	}
}

/* held_why - why a rule held a recipient's copy, in the words of the log (issue 23: the log of
 * a held message says why, not only "Quarantined"); NULL when no rule did. */
static const char *held_why(int hold)
{
	switch (hold) {
	case CL_HOLD_USER_RULE:
		return "held by the recipient's own sender rule";
	case CL_HOLD_DOMAIN_RULE:
		return "held by a sender rule of the recipient's domain";
	case CL_HOLD_GROUP_RULE:
		return "held by a sender rule of the domain's group";
	case CL_HOLD_DOMAIN_DEFAULT:
		return "held by the domain's default for senders no rule names";
	default:
		return NULL;
	}
}

/* log_message - the transaction's outcome to policy (fire and forget, held until the session's
 * next call: decide_log_flush, decide_log_session). A recipient whose copy
 * a rule held gets v's reply with the rule named ("Quarantined: held by ..."). */
static void log_message(struct session *s, const struct cl_verdict *v, const char *status, char (*st)[16],
			const char *reason_class)
{
	struct cl_policy_rcpt_log *r = calloc(s->nrcpt ? s->nrcpt : 1, sizeof *r);
	struct cl_verdict *held = calloc(s->nrcpt ? s->nrcpt : 1, sizeof *held);
	if (!r || !held) {
		free(r);
		free(held);
		return;
	}
	for (size_t i = 0; i < s->nrcpt; i++) {
		r[i].rcpt = s->rcpts[i].addr;
		r[i].status = st && st[i][0] ? st[i] : status;
		r[i].v = v;
		const char *why = held_why(s->rcpts[i].route.quarantine);
		if (why && !reason_class && strcmp(r[i].status, "quarantined") == 0) {
			held[i] = *v;
			cl_snprintf(held[i].text, sizeof held[i].text, "%s: %s", v->text, why);
			r[i].v = &held[i];
		}
		r[i].reason_class = reason_class;
		r[i].virus = s->virus[0] ? s->virus : NULL;
		r[i].route = &s->rcpts[i].route;
	}
	char subject[200];
	subject_of(&s->body.msg, subject, sizeof subject);
	struct cl_policy_session p = policy_session(s);
	/* Held until the session's next call to policy: the next MAIL sends it on its own, the
	 * end of the session inside log_session, LOG_HOLD_S without either on its own. */
	decide_log_flush(s);
	s->log_held = cl_policy_log_message_req_encode(&p, s->msgid, s->mail.null_path ? "" : s->mail.addr,
						       (long long)s->body.size, subject, r, s->nrcpt);
	s->log_held_at = now_mono();
	free(r);
	free(held);
}

void decide_reply(struct session *s, const struct cl_verdict *v)
{
	session_reply(s, "%d %s%s%s", v->code, v->enh, v->enh[0] ? " " : "", v->text);
}

/* prepend - the scanner's header fields on top of the message (above our Received:, as
 * RFC 8601 section 4 wants Authentication-Results). 0 or -1 (out of memory). */
static int prepend(struct cl_buf *msg, const char *fields)
{
	struct cl_buf n;
	size_t flen = strlen(fields);
	cl_buf_init(&n, msg->max ? msg->max + flen : 0);
	if (cl_buf_append(&n, fields, flen) < 0 || cl_buf_append(&n, msg->data ? msg->data : "", msg->len) < 0) {
		cl_buf_free(&n);
		return -1;
	}
	cl_buf_free(msg);
	*msg = n;
	return 0;
}

/* on_content - the content verdict (Rspamd with the group's policy, issue 18): reject and
 * defer are the reply to DATA; quarantine holds the message for every recipient; tag and
 * accept add the scanner's header fields. 1 when the transaction is answered here. */
static int on_content(struct session *s, struct cl_scan_content *ct)
{
	if (!ct->present)
		return 0;
	if (ct->action == CL_CONTENT_REJECT || ct->action == CL_CONTENT_DEFER) {
		cl_log(CL_LOG_INFO, s->id, "content_refused", "msgid=%s code=%d class=%s score=%.2f", s->msgid,
		       ct->v.code, ct->reason_class, ct->score);
		decide_reply(s, &ct->v);
		log_message(s, &ct->v, ct->action == CL_CONTENT_REJECT ? "rejected" : "failed", NULL,
			    ct->reason_class[0] ? ct->reason_class : NULL);
		session_reset_tx(s);
		return 1;
	}
	if (ct->headers && s->body.msg.data) {
		/* RFC 8601 section 5: fields that arrived under our name go before ours is added */
		s->body.msg.len = authres_drop_ours(s->body.msg.data, s->body.msg.len, s->e->cfg.hostname);
		s->body.msg.data[s->body.msg.len] = '\0';
	}
	if (ct->headers && prepend(&s->body.msg, ct->headers) < 0) {
		struct cl_verdict v;
		cl_verdict_tempfail(&v, NULL);
		decide_reply(s, &v);
		log_message(s, &v, "failed", NULL, "temporary");
		session_reset_tx(s);
		return 1;
	}
	if (ct->action == CL_CONTENT_QUARANTINE)
		for (size_t i = 0; i < s->nrcpt; i++)
			if (!s->rcpts[i].route.quarantine) /* a rule that holds it too stays its reason */
				s->rcpts[i].route.quarantine = CL_HOLD_YES;
	if (ct->action != CL_CONTENT_ACCEPT) {
		cl_strlcpy(s->content_text, ct->v.text, sizeof s->content_text);
		cl_strlcpy(s->content_class, ct->reason_class, sizeof s->content_class);
		s->content_score = ct->score;
	}
	return 0;
}

/* on_scan - infected: 554 5.7.1; error: 451 unless CLEMENT_SCAN_FAIL_OPEN (then delivered, logged at
 * error level and counted in clement_edge_unscanned_total); the content verdict (on_content);
 * else deliver. */
static void on_scan(struct session *s, struct completion *c)
{
	char sig[120];
	struct cl_scan_content ct;
	memset(&ct, 0, sizeof ct);
	enum cl_scan_result r =
	    c->st == CL_RPC_OK ? cl_scanner_scan_reply(c->reply, sig, sizeof sig, &ct) : CL_SCAN_ERROR;
	struct cl_verdict v;
	int answered = r == CL_SCAN_CLEAN && on_content(s, &ct);
	cl_scan_content_free(&ct);
	if (answered)
		return;
	if (r == CL_SCAN_INFECTED) {
		cl_strlcpy(s->virus, sig, sizeof s->virus);
		char text[200];
		snprintf(text, sizeof text, "Virus found: %s", sig);
		cl_verdict_set(&v, CL_REJECT, 554, "5.7.1", text);
		cl_metric_inc(s->e->m.refused_virus);
		cl_log(CL_LOG_INFO, s->id, "virus", "msgid=%s signature=%s", s->msgid, sig);
		decide_reply(s, &v);
		log_message(s, &v, "rejected", NULL, "virus");
		session_reset_tx(s);
		return;
	}
	if (r == CL_SCAN_ERROR && !s->e->cfg.scan_fail_open) {
		cl_log(CL_LOG_WARN, s->id, "scan_failed", "msgid=%s rpc=%s", s->msgid, cl_rpc_status_str(c->st));
		cl_verdict_tempfail(&v, NULL);
		decide_reply(s, &v);
		log_message(s, &v, "failed", NULL, "temporary");
		session_reset_tx(s);
		return;
	}
	if (r == CL_SCAN_ERROR) { /* CLEMENT_SCAN_FAIL_OPEN: the operator chose delivery over safety; say so loudly */
		cl_metric_inc(s->e->m.unscanned);
		cl_log(CL_LOG_ERROR, s->id, "scan_failed_open",
		       "msgid=%s rpc=%s action=deliver_unscanned warning=\"scanner failed, message delivered UNSCANNED "
		       "(CLEMENT_SCAN_FAIL_OPEN=1)\"",
		       s->msgid, cl_rpc_status_str(c->st));
	}
	if (decide_call(s, RPC_DELIVER) < 0) {
		cl_verdict_tempfail(&v, NULL);
		decide_reply(s, &v);
		session_reset_tx(s);
	}
}

/* on_deliver - delivery's verdict is the reply to DATA; a 250 names the message id. */
static void on_deliver(struct session *s, struct completion *c)
{
	struct cl_verdict v;
	char(*st)[16] = calloc(s->nrcpt ? s->nrcpt : 1, sizeof *st);
	int answered = c->st == CL_RPC_OK && cl_delivery_verdict_reply(c->reply, &v, st, s->nrcpt) == 0;
	if (!answered) {
		cl_log(CL_LOG_WARN, s->id, "deliver_failed", "msgid=%s rpc=%s", s->msgid, cl_rpc_status_str(c->st));
		cl_verdict_tempfail(&v, NULL);
	}
	if (v.action == CL_ACCEPT && v.code / 100 == 2) {
		s->messages++;
		cl_metric_inc(s->e->m.messages);
		if (!strstr(v.text, s->msgid))
			session_reply(s, "%d %s%s%s (id %s)", v.code, v.enh, v.enh[0] ? " " : "", v.text, s->msgid);
		else
			decide_reply(s, &v);
	} else if (v.action == CL_ACCEPT) {
		cl_verdict_tempfail(&v, NULL); /* a 3xx to DATA's end makes no sense: fail closed */
		decide_reply(s, &v);
	} else {
		decide_reply(s, &v);
	}
	cl_log(CL_LOG_INFO, s->id, "message", "msgid=%s code=%d rcpts=%zu size=%zu", s->msgid, v.code, s->nrcpt,
	       s->body.size);
	/* Outbound mail that delivery handled is logged by delivery itself, with the downstream's
	 * answer (docs/RPC.md); a second row from here would list each sent message twice. */
	int logged_by_delivery = answered && s->nrcpt > 0 && s->rcpts[0].route.mode == CL_ROUTE_OUTBOUND;
	if (!logged_by_delivery && v.action == CL_ACCEPT && s->content_class[0]) {
		/* tagged or held by the content verdict: its reason (score, symbols) is what the log shows */
		struct cl_verdict cv = v;
		cl_strlcpy(cv.text, s->content_text, sizeof cv.text);
		log_message(s, &cv, "received", st, s->content_class);
	} else if (!logged_by_delivery) {
		log_message(s, &v, v.action == CL_ACCEPT ? "received" : "failed", st,
			    v.action == CL_ACCEPT ? NULL
			    : v.code / 100 == 5   ? "downstream"
						  : "temporary");
	}
	free(st);
	session_reset_tx(s);
}

int decide_verdict(struct session *s, const struct completion *c, struct cl_verdict *v, struct cl_route *rt, char *user,
		   size_t userlen)
{
	if (c->st == CL_RPC_OK && cl_policy_verdict_reply(c->reply, v, rt, user, userlen) == 0)
		return 0;
	decide_failed(s, c, v);
	return -1;
}

void decide_failed(struct session *s, const struct completion *c, struct cl_verdict *v)
{
	cl_log(CL_LOG_WARN, s->id, "policy_failed", "step=%d rpc=%s", (int)c->kind, cl_rpc_status_str(c->st));
	cl_verdict_tempfail(v, NULL);
}

/* on_connect - policy's verdict on the connection: the greeting (session.c). */
static void on_connect(struct session *s, struct completion *c)
{
	struct cl_verdict v;
	struct cl_route rt;
	char user[CL_ADDR_MAX + 1];
	decide_verdict(s, c, &v, &rt, user, sizeof user);
	session_greet_verdict(s, &v);
}

void decide_completion(struct completion *c)
{
	struct session *s = c->s;
	s->inflight--;
	if (s->dead) {
		if (c->reply)
			nng_msg_free(c->reply);
		free(c); /* reap_sessions() frees s once inflight is 0 */
		return;
	}
	s->busy = RPC_NONE;
	double el = now_mono() - c->started;
	struct edge *e = s->e;
	if (c->st != CL_RPC_OK)
		cl_metric_inc(e->m.rpc_fail);
	const struct rpc_step *st = step_of(c->kind); /* never NULL: decide_call_msg made c */
	cl_metric_observe(*(struct cl_metric **)((char *)&e->m + st->metric), el);
	st->on_reply(s, c);
	if (c->reply)
		nng_msg_free(c->reply);
	free(c);
	if (s->phase == PH_COMMAND || s->phase == PH_AUTH)
		session_arm_timer(s); /* answered: the client's turn, at the step it is now at */
	session_process(s);
}
