/* store.c - quarantine rows and message_log lines (see store.h). */
#include "store.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dest.h"
#include "learn.h"
#include "msgutil.h"
#include "util/buf.h"
#include "util/log.h"

/* ip_or_empty - s when it is an IPv4/IPv6 literal, else "" (stored as NULL). */
static const char *ip_or_empty(const char *s)
{
	unsigned char b[16];
	if (s && (inet_pton(AF_INET, s, b) == 1 || inet_pton(AF_INET6, s, b) == 1))
		return s;
	return "";
}

int dl_log_row(struct cl_pg *pg, const struct dl_logrow *r, char *err, size_t errlen)
{
	char uid[24], did[24], gid[24], size[24], code[8] = "";
	snprintf(uid, sizeof uid, "%lld", r->user_id);
	snprintf(did, sizeof did, "%lld", r->domain_id);
	snprintf(gid, sizeof gid, "%lld", r->group_id);
	snprintf(size, sizeof size, "%lld", r->size);
	if (r->v)
		snprintf(code, sizeof code, "%d", r->v->code);
	const char *p[] = {r->sid ? r->sid : "",
			   r->msgid ? r->msgid : "",
			   r->direction,
			   ip_or_empty(r->client_ip),
			   r->sender ? r->sender : "",
			   r->rcpt,
			   uid,
			   did,
			   gid,
			   r->status,
			   code,
			   r->v ? r->v->enh : "",
			   r->reason ? r->reason : "",
			   r->subject ? r->subject : "",
			   size};
	PGresult *res = dl_db_exec(
	    pg,
	    "INSERT INTO message_log (sid, msgid, direction, client_ip, sender, rcpt, user_id, domain_id, group_id,"
	    " status, code, enh, reason, subject, size) VALUES (nullif($1, ''), nullif($2, ''), $3,"
	    " nullif($4, '')::inet, $5, $6, nullif($7, '0')::bigint, nullif($8, '0')::bigint,"
	    " nullif($9, '0')::bigint, $10, nullif($11, '')::int, nullif($12, ''), nullif($13, ''),"
	    " nullif($14, ''), $15::bigint)",
	    15, p, -1, 0, 0, err, errlen);
	PQclear(res);
	return res ? 0 : -1;
}

/* store_one - the INSERT of one recipient's row. */
static int store_one(struct dl_ctx *c, struct cl_pg *pg, const struct dl_qmsg *m, const struct dl_qrcpt *r, char *err,
		     size_t errlen)
{
	char days[24], uid[24], did[24], size[24];
	snprintf(days, sizeof days, "%lld", c->cfg->retention_days);
	snprintf(uid, sizeof uid, "%lld", r->user_id);
	snprintf(did, sizeof did, "%lld", r->domain_id);
	snprintf(size, sizeof size, "%zu", m->len);
	const char *p[] = {m->msgid,
			   m->sid,
			   days,
			   ip_or_empty(m->client_ip),
			   m->sender,
			   r->rcpt,
			   uid,
			   did,
			   m->subject,
			   size,
			   (const char *)m->msg,
			   cl_hold_str(r->held_by)[0]  ? cl_hold_str(r->held_by)
			   : m->reason && m->reason[0] ? "spam" /* held by the content verdict */
						       : "",
			   m->score ? m->score : "",
			   m->reason ? m->reason : "",
			   m->smtputf8 ? "t" : "f"};
	PGresult *res = dl_db_exec(
	    pg,
	    "INSERT INTO quarantine (msgid, sid, expires_at, client_ip, sender, rcpt, user_id, domain_id, subject,"
	    " size, message, reason_class, score, reason, smtputf8) VALUES ($1, nullif($2, ''),"
	    " now() + make_interval(days => clement_setting_int('quarantine.retention_days', $3::bigint)::int),"
	    " nullif($4, '')::inet, $5, $6, nullif($7, '0')::bigint, nullif($8, '0')::bigint, nullif($9, ''),"
	    " $10::bigint, $11, nullif($12, ''), nullif($13, '')::numeric, nullif($14, ''), $15::boolean)",
	    15, p, 10, m->len, 0, err, errlen);
	PQclear(res);
	return res ? 0 : -1;
}

int dl_quarantine_store_rows(struct dl_ctx *c, struct cl_pg *pg, const struct dl_qmsg *m, const struct dl_qrcpt *r,
			     size_t n, char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++)
		if (store_one(c, pg, m, &r[i], err, errlen) < 0)
			return -1;
	return 0;
}

/* A held row, as release and delete need it. */
struct qrow {
	char sender[600], rcpt[600], msgid[300], sid[80], ip[64], subject[400], reason_class[32];
	long long user_id, domain_id, group_id, size;
};

#define QROW_COLS                                                                                                      \
	"q.sender, q.rcpt, q.msgid, coalesce(q.sid, ''), coalesce(host(q.client_ip), ''),"                             \
	" coalesce(q.subject, ''), coalesce(q.user_id, 0), coalesce(q.domain_id, 0),"                                  \
	" coalesce(d.group_id, 0), q.size, coalesce(q.reason_class, '')"

/* qrow_read - fill a qrow from the QROW_COLS columns of row 0. */
static void qrow_read(PGresult *res, struct qrow *q)
{
	cl_strlcpy(q->sender, PQgetvalue(res, 0, 0), sizeof q->sender);
	cl_strlcpy(q->rcpt, PQgetvalue(res, 0, 1), sizeof q->rcpt);
	cl_strlcpy(q->msgid, PQgetvalue(res, 0, 2), sizeof q->msgid);
	cl_strlcpy(q->sid, PQgetvalue(res, 0, 3), sizeof q->sid);
	cl_strlcpy(q->ip, PQgetvalue(res, 0, 4), sizeof q->ip);
	cl_strlcpy(q->subject, PQgetvalue(res, 0, 5), sizeof q->subject);
	q->user_id = strtoll(PQgetvalue(res, 0, 6), NULL, 10);
	q->domain_id = strtoll(PQgetvalue(res, 0, 7), NULL, 10);
	q->group_id = strtoll(PQgetvalue(res, 0, 8), NULL, 10);
	q->size = strtoll(PQgetvalue(res, 0, 9), NULL, 10);
	cl_strlcpy(q->reason_class, PQgetvalue(res, 0, 10), sizeof q->reason_class);
}

/* by_name - who decided, as the log shows it: the account's address (users and admins read
 * names, not ids; issue 23), "user N" when the account is gone or the database does not say. */
static void by_name(struct cl_pg *pg, long long by_user, char *out, size_t outlen)
{
	char id[24], err[200];
	snprintf(id, sizeof id, "%lld", by_user);
	snprintf(out, outlen, "user %lld", by_user);
	const char *p[] = {id};
	PGresult *res =
	    dl_db_exec(pg,
		       "SELECT u.local_part || '@' || d.name FROM users u JOIN domains d ON d.id = u.domain_id"
		       " WHERE u.id = $1::bigint",
		       1, p, -1, 0, 0, err, sizeof err);
	if (res && PQntuples(res) == 1)
		cl_strlcpy(out, PQgetvalue(res, 0, 0), outlen);
	PQclear(res);
}

/* log_decision - the message_log line for a release or delete ("released by alice@example.org"). */
static int log_decision(struct cl_pg *pg, const struct qrow *q, const char *status, long long by_user,
			const struct cl_verdict *v, char *err, size_t errlen)
{
	char who[400], reason[440];
	by_name(pg, by_user, who, sizeof who);
	snprintf(reason, sizeof reason, "%s by %s", status, who);
	struct dl_logrow l = {q->sid, q->msgid,   "in",       q->ip,        q->sender,   q->rcpt, status,
			      reason, q->subject, q->user_id, q->domain_id, q->group_id, q->size, v};
	return dl_log_row(pg, &l, err, errlen);
}

/* release_locked - inside the transaction, with the row locked: deliver, mark, log. */
static int release_locked(struct dl_ctx *c, struct cl_pg *pg, long long qid, const char *idp, const struct qrow *q,
			  long long by_user, struct cl_verdict *v, char *err, size_t errlen)
{
	const char *p[] = {idp};
	/* Binary result: the bytes, then the group's learning switch and SMTPUTF8, each one byte 0 or 1. */
	PGresult *res = dl_db_exec(pg,
				   "SELECT q.message, COALESCE(g.learn_quarantine, false), q.smtputf8 FROM quarantine q"
				   " LEFT JOIN domains d ON d.id = q.domain_id LEFT JOIN groups g ON g.id = d.group_id"
				   " WHERE q.id = $1",
				   1, p, -1, 0, 1, err, errlen);
	if (!res || PQntuples(res) != 1) {
		PQclear(res);
		return -1;
	}
	enum cl_route_mode mode = dl_group_mode(pg, q->group_id, err, errlen);
	struct dl_dest_rcpt r = {.addr = q->rcpt, .user_id = q->user_id};
	int rc = mode == CL_ROUTE_NONE
		     ? -1
		     : dl_dest_deliver(c, pg, mode, q->group_id, q->sender, PQgetvalue(res, 0, 2)[0] == 1, &r, 1,
				       PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0), v);
	/* held by the content verdict, released: ham, when the group learns from its decisions */
	if (rc == 0 && strcmp(q->reason_class, "spam") == 0 && PQgetvalue(res, 0, 1)[0] == 1)
		dl_learn(c, q->sid, 0, PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0));
	PQclear(res);
	if (rc < 0) {
		if (mode == CL_ROUTE_NONE)
			cl_verdict_tempfail(v, "Temporary failure: no destination for the recipient");
		return 1; /* v holds the destination's answer */
	}
	res = dl_db_exec(pg, "UPDATE quarantine SET status = 'released', decided_at = now() WHERE id = $1", 1, p, -1, 0,
			 0, err, errlen);
	PQclear(res);
	if (!res || log_decision(pg, q, "released", by_user, v, err, errlen) < 0)
		return -1;
	cl_log(CL_LOG_INFO, q->sid, "quarantine_released", "qid=%lld by=%lld", qid, by_user);
	return 0;
}

void dl_quarantine_release(struct dl_ctx *c, struct cl_pg *pg, long long qid, long long by_user, struct cl_verdict *v)
{
	char err[400] = "", idp[24];
	snprintf(idp, sizeof idp, "%lld", qid);
	const char *p[] = {idp};
	cl_verdict_tempfail(v, "Temporary failure: database unavailable");
	if (cl_pg_begin(pg, NULL, err, sizeof err) < 0)
		return;
	PGresult *res = dl_db_exec(pg,
				   "SELECT " QROW_COLS " FROM quarantine q LEFT JOIN domains d ON d.id = q.domain_id"
				   " WHERE q.id = $1 AND q.status = 'held' FOR UPDATE OF q",
				   1, p, -1, 0, 0, err, sizeof err);
	int rc = -1;
	if (res && PQntuples(res) == 0) {
		cl_verdict_set(v, CL_REJECT, 550, "5.1.0", "No held message with that id");
		rc = 1;
	} else if (res) {
		struct qrow q;
		qrow_read(res, &q);
		rc = release_locked(c, pg, qid, idp, &q, by_user, v, err, sizeof err);
	}
	PQclear(res);
	if (rc == 0 && cl_pg_commit(pg, err, sizeof err) == 0) {
		cl_metric_inc(c->m->q_released);
		return;
	}
	cl_pg_rollback(pg);
	if (rc <= 0) {
		cl_log(CL_LOG_WARN, NULL, "release_failed", "qid=%lld error=\"db\"", qid);
		cl_verdict_tempfail(v, "Temporary failure: database unavailable");
	}
}

void dl_quarantine_delete(struct dl_ctx *c, struct cl_pg *pg, long long qid, long long by_user, struct cl_verdict *v)
{
	char err[400] = "", idp[24];
	snprintf(idp, sizeof idp, "%lld", qid);
	const char *p[] = {idp};
	cl_verdict_tempfail(v, "Temporary failure: database unavailable");
	if (cl_pg_begin(pg, NULL, err, sizeof err) < 0)
		return;
	/* The FROM-less CTE locks and updates in one statement; the message bytes go too
	 * ("delete removes it"), the row stays for the log and the UI. */
	/* A message the content verdict held is taught to Rspamd as spam when its group learns
	 * from quarantine decisions: its bytes are read before the delete wipes them (binary, as
	 * release reads them). */
	PGresult *held =
	    c->cfg->rspamd_controller[0]
		? dl_db_exec(pg,
			     "SELECT message FROM quarantine WHERE id = $1 AND status = 'held'"
			     " AND reason_class = 'spam' AND EXISTS (SELECT 1 FROM domains d JOIN groups g"
			     " ON g.id = d.group_id WHERE d.id = quarantine.domain_id AND g.learn_quarantine)"
			     " FOR UPDATE",
			     1, p, -1, 0, 1, err, sizeof err)
		: NULL;
	PGresult *res = dl_db_exec(pg,
				   "WITH u AS (UPDATE quarantine SET status = 'deleted', decided_at = now(),"
				   " message = ''::bytea WHERE id = $1 AND status = 'held' RETURNING *)"
				   " SELECT " QROW_COLS " FROM u q LEFT JOIN domains d ON d.id = q.domain_id",
				   1, p, -1, 0, 0, err, sizeof err);
	int ok = 0;
	if (res && PQntuples(res) == 0) {
		cl_verdict_set(v, CL_REJECT, 550, "5.1.0", "No held message with that id");
	} else if (res) {
		struct qrow q;
		qrow_read(res, &q);
		cl_verdict_set(v, CL_ACCEPT, 250, "2.0.0", "Deleted");
		ok = log_decision(pg, &q, "deleted", by_user, v, err, sizeof err) == 0 &&
		     cl_pg_commit(pg, err, sizeof err) == 0;
	}
	PQclear(res);
	if (ok && held && PQntuples(held) == 1)
		dl_learn(c, NULL, 1, PQgetvalue(held, 0, 0), (size_t)PQgetlength(held, 0, 0));
	PQclear(held);
	if (ok) {
		cl_metric_inc(c->m->q_deleted);
		cl_log(CL_LOG_INFO, NULL, "quarantine_deleted", "qid=%lld by=%lld", qid, by_user);
		return;
	}
	cl_pg_rollback(pg);
	if (v->code != 550)
		cl_verdict_tempfail(v, "Temporary failure: database unavailable");
}

long long dl_quarantine_purge(struct cl_pg *pg, char *err, size_t errlen)
{
	PGresult *res =
	    dl_db_exec(pg, "DELETE FROM quarantine WHERE expires_at < now()", 0, NULL, -1, 0, 0, err, errlen);
	if (!res)
		return -1;
	long long n = strtoll(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	return n;
}
