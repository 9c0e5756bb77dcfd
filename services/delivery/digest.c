/* digest.c - quarantine digests (see digest.h). */
#include "digest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dest.h"
#include "mail/digest_token.h"
#include "mail/held.h"
#include "util/buf.h"
#include "util/log.h"

#define DIGEST_MAX_ROWS  500
#define DIGEST_MAX_BYTES (4 * 1024 * 1024)

/* A covered user and where their mail goes. */
struct duser {
	long long id, group_id;
	char addr[400], domain[260];
	enum cl_route_mode mode;
};

/* add_links - the three one-click links of one held message. */
static int add_links(struct dl_ctx *c, struct cl_buf *b, long long qid, long long exp)
{
	static const char *const acts[][2] = {
	    {"release", "Release"}, {"delete", "Delete"}, {"accept", "Always accept sender"}};
	for (size_t i = 0; i < 3; i++) {
		char tok[CL_DIGEST_TOKEN_MAX];
		if (cl_digest_token_make(c->cfg->digest_secret, acts[i][0], qid, exp, tok, sizeof tok) < 0 ||
		    cl_buf_printf(b, "   %-21s %s/api/digest/%s\r\n", acts[i][1], c->cfg->digest_base_url, tok) < 0)
			return -1;
	}
	return 0;
}

/* build_digest - the whole message (RFC 5322) for u from the rows in res. */
static int build_digest(struct dl_ctx *c, const struct duser *u, PGresult *res, struct cl_buf *b)
{
	int n = PQntuples(res);
	char date[64], from[400];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
	if (c->cfg->digest_from[0])
		cl_snprintf(from, sizeof from, "%s", c->cfg->digest_from);
	else
		cl_snprintf(from, sizeof from, "Clement quarantine <postmaster@%s>", u->domain);
	/* RFC 3834: a machine-generated message, sent from the null sender (see the caller). */
	int rc =
	    cl_buf_printf(b,
			  "From: %s\r\nTo: <%s>\r\nSubject: Quarantine digest: %d new message%s held for you\r\n"
			  "Date: %s\r\nMessage-ID: <digest.%lld.%lld.%lld@%s>\r\nAuto-Submitted: auto-generated\r\n"
			  "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
			  "Content-Transfer-Encoding: 8bit\r\n\r\n"
			  "These messages to %s were held in quarantine. Each link works once, until the\r\n"
			  "message expires; \"Always accept sender\" also releases it.\r\n\r\n",
			  from, u->addr, n, n == 1 ? "" : "s", date, u->id, (long long)now,
			  strtoll(PQgetvalue(res, 0, 0), NULL, 10), c->helo, u->addr);
	for (int i = 0; i < n && rc == 0; i++) {
		long long qid = strtoll(PQgetvalue(res, i, 0), NULL, 10),
			  exp = strtoll(PQgetvalue(res, i, 4), NULL, 10);
		const char *sender = PQgetvalue(res, i, 1), *why = PQgetvalue(res, i, 5);
		/* one after the other: the operands of | may be evaluated in any order */
		rc = cl_buf_printf(b, "%d. From:    <%s>\r\n   Subject: %s\r\n   Date:    %s UTC\r\n", i + 1, sender,
				   PQgetvalue(res, i, 2), PQgetvalue(res, i, 3));
		if (rc == 0 && why[0])
			rc = cl_buf_printf(b, "   Why:     %s\r\n", why);
		if (rc == 0)
			rc = add_links(c, b, qid, exp);
		if (rc == 0)
			rc = cl_buf_append_str(b, "\r\n");
	}
	return rc;
}

/* mark_digested - set digested_at on the listed rows. */
static int mark_digested(struct cl_pg *pg, PGresult *res, char *err, size_t errlen)
{
	struct cl_buf ids;
	cl_buf_init(&ids, 0);
	int rc = cl_buf_append_str(&ids, "{");
	for (int i = 0; i < PQntuples(res) && rc == 0; i++)
		rc = cl_buf_printf(&ids, "%s%s", i ? "," : "", PQgetvalue(res, i, 0));
	rc |= cl_buf_append_str(&ids, "}");
	const char *p[] = {ids.data};
	PGresult *r = rc == 0 ? dl_db_exec(pg, "UPDATE quarantine SET digested_at = now() WHERE id = ANY($1::bigint[])",
					   1, p, -1, 0, 0, err, errlen)
			      : NULL;
	PQclear(r);
	cl_buf_free(&ids);
	return r ? 0 : -1;
}

/* digest_user - one user's digest inside the schedule's transaction. 1 sent, 0 nothing
 * to send or not delivered (rows stay for the next run), -1 database error. */
static int digest_user(struct dl_ctx *c, struct cl_pg *pg, const struct duser *u)
{
	char err[400], id[24];
	snprintf(id, sizeof id, "%lld", u->id);
	const char *p[] = {id};
	/* FOR UPDATE: a second schedule covering the same user waits, then sees digested_at set. */
	PGresult *res =
	    dl_db_exec(pg,
		       "SELECT id, sender, coalesce(subject, ''), to_char(received_at AT TIME ZONE 'UTC',"
		       " 'YYYY-MM-DD HH24:MI'), extract(epoch FROM expires_at)::bigint, " CL_HELD_WHY_SQL(
			   "") " FROM quarantine"
			       " WHERE user_id = $1 AND status = 'held' AND digested_at IS NULL AND expires_at > now()"
			       " ORDER BY received_at, id LIMIT 500 FOR UPDATE",
		       1, p, -1, 0, 0, err, sizeof err);
	if (!res)
		return -1;
	int rc = 0;
	if (PQntuples(res) > 0) {
		struct cl_buf b;
		cl_buf_init(&b, DIGEST_MAX_BYTES);
		struct cl_verdict v;
		struct dl_dest_rcpt r = {.addr = u->addr, .user_id = u->id};
		if (build_digest(c, u, res, &b) < 0) {
			cl_log(CL_LOG_WARN, NULL, "digest_too_big", "user=%lld", u->id);
		} else if (dl_dest_deliver(c, pg, u->mode, u->group_id, "", 0, &r, 1, b.data, b.len, &v) < 0) {
			cl_metric_inc(c->m->digest_errors);
			cl_log(CL_LOG_WARN, NULL, "digest_not_delivered", "user=%lld code=%d", u->id, v.code);
		} else {
			rc = mark_digested(pg, res, err, sizeof err) == 0 ? 1 : -1;
			cl_log(CL_LOG_INFO, NULL, "digest_sent", "user=%lld messages=%d", u->id, PQntuples(res));
		}
		cl_buf_free(&b);
	}
	PQclear(res);
	return rc;
}

/* run_schedule - the users a claimed schedule covers, their digests, the next run. */
static int run_schedule(struct dl_ctx *c, struct cl_pg *pg, PGresult *s)
{
	char err[400];
	const char *p[] = {PQgetvalue(s, 0, 1), PQgetvalue(s, 0, 2), PQgetvalue(s, 0, 3)};
	PGresult *us = dl_db_exec(pg,
				  "SELECT u.id, d.group_id, u.local_part || '@' || d.name, d.name, g.mode FROM users u"
				  " JOIN domains d ON d.id = u.domain_id JOIN groups g ON g.id = d.group_id"
				  " WHERE u.enabled AND (u.id = $1::bigint OR d.id = $2::bigint OR g.id = $3::bigint)"
				  " ORDER BY u.id",
				  3, p, -1, 0, 0, err, sizeof err);
	if (!us)
		return -1;
	int sent = 0;
	for (int i = 0; i < PQntuples(us); i++) {
		struct duser u = {strtoll(PQgetvalue(us, i, 0), NULL, 10), strtoll(PQgetvalue(us, i, 1), NULL, 10), "",
				  "", strcmp(PQgetvalue(us, i, 4), "local") ? CL_ROUTE_RELAY : CL_ROUTE_LOCAL};
		cl_strlcpy(u.addr, PQgetvalue(us, i, 2), sizeof u.addr);
		cl_strlcpy(u.domain, PQgetvalue(us, i, 3), sizeof u.domain);
		int r = digest_user(c, pg, &u);
		if (r < 0) {
			PQclear(us);
			return -1;
		}
		sent += r;
	}
	PQclear(us);
	const char *sp[] = {PQgetvalue(s, 0, 0)};
	PGresult *r =
	    dl_db_exec(pg,
		       "UPDATE digest_schedules SET last_run_at = now(), next_run_at ="
		       " clement_digest_next_run(kind, at_time, weekdays, interval_hours, now()) WHERE id = $1",
		       1, sp, -1, 0, 0, err, sizeof err);
	PQclear(r);
	return r ? sent : -1;
}

/* claim_one - claim and run one due schedule in its own transaction. Returns digests sent,
 * -2 when none is due, -1 on a database error. */
static int claim_one(struct dl_ctx *c, struct cl_pg *pg)
{
	char err[400];
	if (cl_pg_begin(pg, NULL, err, sizeof err) < 0)
		return -1;
	PGresult *s = dl_db_exec(pg,
				 "SELECT id, coalesce(user_id, 0), coalesce(domain_id, 0), coalesce(group_id, 0)"
				 " FROM digest_schedules WHERE enabled AND next_run_at <= now()"
				 " ORDER BY next_run_at LIMIT 1 FOR UPDATE SKIP LOCKED",
				 0, NULL, -1, 0, 0, err, sizeof err);
	int rc = !s ? -1 : PQntuples(s) == 0 ? -2 : run_schedule(c, pg, s);
	if (rc >= 0)
		cl_log(CL_LOG_INFO, NULL, "digest_schedule_run", "schedule=%s digests=%d", PQgetvalue(s, 0, 0), rc);
	PQclear(s);
	if (rc == -1 || cl_pg_commit(pg, err, sizeof err) < 0) {
		cl_pg_rollback(pg);
		return -1;
	}
	return rc;
}

int dl_digest_run(struct dl_ctx *c, int max_schedules)
{
	if (!c->cfg->digest_secret[0])
		return 0; /* no secret: no links can be made; main() warned at start */
	char err[300];
	struct cl_pg *pg = cl_pg_pool_get(c->db, -1, err, sizeof err);
	if (!pg)
		return -1;
	int total = 0;
	for (int i = 0; i < max_schedules; i++) {
		int r = claim_one(c, pg);
		if (r < 0) {
			if (r == -1)
				total = total ? total : -1;
			break;
		}
		total += r;
	}
	cl_pg_pool_put(c->db, pg);
	if (total > 0)
		cl_metric_add(c->m->digests_sent, total);
	return total;
}
