/* stats.c - one statistics and classification run, all in SQL, in one transaction.
 *
 * 1. ip_stats: per client IP and window (1h, 24h, 7d) the figures of smtp_sessions and
 *    message_log, one INSERT ... SELECT ... ON CONFLICT per window; rows of IPs with no
 *    activity left in a window are deleted. Authenticated sessions and outbound mail are our
 *    own users and are not counted.
 * 2. Lifts: open bans overlapping a never-ban network (except an admin's), then expired bans
 *    and candidates. Every lift of a banned record writes a ban_events 'lift' row.
 * 3. Classification on the configured window: qualifying IPs go into a temporary table with
 *    their status, score, evidence, offence count and ban duration; existing automatic
 *    candidates are refreshed or promoted, new ones inserted; every new ban writes a
 *    ban_events 'ban' row (that is what the mesh push sends).
 *
 * The transaction first claims the job (maintain.c, job_claim): when several replicas run, one
 * runs it per CLEMENT_BANSTATS_INTERVAL_S and the others skip (docs/ARCHITECTURE.md:
 * coordination through PostgreSQL). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "banstats.h"
#include "util/buf.h"
#include "util/log.h"

static const struct {
	const char *name;
	long long seconds;
} windows[] = {{"1h", 3600}, {"24h", 86400}, {"7d", 7 * 86400}};

static const char sql_aggregate[] =
    "INSERT INTO ip_stats AS st (ip, window_name, computed_at, sessions, accepted, unknown_rcpt,"
    " directive_rejects, viruses, protocol_errors, pregreets, dnsbl_listed)"
    " SELECT ip, $1, now(), sum(sessions), sum(accepted), sum(unknown_rcpt), sum(directive_rejects),"
    "  sum(viruses), sum(protocol_errors), sum(pregreets), sum(dnsbl_listed) FROM ("
    "  SELECT client_ip AS ip, count(*) AS sessions, 0 AS accepted, 0 AS unknown_rcpt, 0 AS directive_rejects,"
    "   0 AS viruses, coalesce(sum(protocol_errors), 0) AS protocol_errors,"
    "   count(*) FILTER (WHERE pregreet) AS pregreets,"
    /* sessions smtp-edge found on a DNS blocklist (smtp_sessions.rep_facts, migration 0013) */
    "   count(*) FILTER (WHERE rep_facts @? '$.facts[*] ? (@.kind == \"dnsbl\")') AS dnsbl_listed"
    "  FROM smtp_sessions WHERE started_at >= now() - make_interval(secs => $2::float8) AND auth_user IS NULL"
    "  GROUP BY client_ip"
    "  UNION ALL"
    "  SELECT client_ip, 0,"
    "   count(*) FILTER (WHERE status IN ('received', 'quarantined', 'relayed')),"
    "   count(*) FILTER (WHERE reason_class = 'unknown_rcpt'),"
    "   count(*) FILTER (WHERE reason_class = 'directive'),"
    "   count(*) FILTER (WHERE reason_class = 'virus'), 0, 0, 0"
    "  FROM message_log WHERE logged_at >= now() - make_interval(secs => $2::float8)"
    "   AND direction = 'in' AND client_ip IS NOT NULL"
    "  GROUP BY client_ip) u"
    " GROUP BY ip"
    " ON CONFLICT (ip, window_name) DO UPDATE SET computed_at = EXCLUDED.computed_at,"
    "  sessions = EXCLUDED.sessions, accepted = EXCLUDED.accepted, unknown_rcpt = EXCLUDED.unknown_rcpt,"
    "  directive_rejects = EXCLUDED.directive_rejects, viruses = EXCLUDED.viruses,"
    "  protocol_errors = EXCLUDED.protocol_errors, pregreets = EXCLUDED.pregreets,"
    "  dnsbl_listed = EXCLUDED.dnsbl_listed";

/* now() is the transaction's start: every row this run wrote carries exactly it. */
static const char sql_stale[] = "DELETE FROM ip_stats WHERE computed_at < now()";

/* $1: the never-ban CIDR array of CLEMENT_NEVER_BAN. An admin's own ban is left alone. */
static const char sql_lift_never[] =
    "WITH o AS (SELECT id, status AS old FROM bans b WHERE status IN ('candidate', 'banned')"
    "  AND origin <> 'admin' AND (b.network && ANY ($1::cidr[])"
    "  OR EXISTS (SELECT 1 FROM never_ban_networks n WHERE n.network && b.network)) FOR UPDATE),"
    " l AS (UPDATE bans b SET status = 'lifted', lifted_at = now() FROM o WHERE b.id = o.id"
    "  RETURNING b.id, o.old),"
    " e AS (INSERT INTO ban_events (ban_id, kind) SELECT id, 'lift' FROM l WHERE old = 'banned' RETURNING 1)"
    " SELECT count(*) FROM l";

static const char sql_expire[] =
    "WITH o AS (SELECT id, status AS old FROM bans WHERE status IN ('candidate', 'banned')"
    "  AND expires_at <= now() FOR UPDATE),"
    " l AS (UPDATE bans b SET status = 'lifted', lifted_at = now() FROM o WHERE b.id = o.id"
    "  RETURNING b.id, o.old),"
    " e AS (INSERT INTO ban_events (ban_id, kind) SELECT id, 'lift' FROM l WHERE old = 'banned' RETURNING 1)"
    " SELECT count(*) FROM l";

/* The qualifying IPs. $1 window, $2 min sessions, $3..$7 weights (pregreet, protocol,
 * unknown, directive, virus), $17 the DNSBL weight, $8/$9 candidate score/bad %, $10/$11 ban score/bad %, $12 base
 * ban seconds, $13 max ban seconds, $14 offence memory seconds, $15 never-ban array,
 * $16 window seconds: after an early lift (an admin's unban, before the expiry) the network is
 * not re-listed until the evidence that listed it has left the window. */
static const char sql_qualify_table[] =
    "CREATE TEMP TABLE banstats_q (network cidr, score real, bad_pct integer, offences integer, status text,"
    " duration interval, reason text, evidence jsonb) ON COMMIT DROP";
static const char sql_qualify[] =
    "INSERT INTO banstats_q"
    " WITH s AS (SELECT st.*, host(st.ip)::cidr AS network,"
    "   ($3::int * pregreets + $4::int * protocol_errors + $5::int * unknown_rcpt"
    "    + $6::int * directive_rejects + $7::int * viruses + $17::int * dnsbl_listed)::real AS score,"
    "   pregreets + protocol_errors + unknown_rcpt + directive_rejects + viruses + dnsbl_listed AS bad"
    "  FROM ip_stats st WHERE st.window_name = $1 AND st.sessions >= $2::int),"
    " r AS (SELECT s.*, round(100.0 * bad / greatest(1, bad + accepted))::int AS bad_pct FROM s),"
    " o AS (SELECT r.*, 1 + coalesce((SELECT max(b.offences) FROM bans b WHERE b.network = r.network"
    "    AND b.peer_id IS NULL AND b.status = 'lifted'"
    "    AND b.lifted_at > now() - make_interval(secs => $14::float8)"
    "    AND EXISTS (SELECT 1 FROM ban_events e WHERE e.ban_id = b.id AND e.kind = 'ban')), 0) AS offences"
    "  FROM r WHERE score >= $8::int AND bad_pct >= $9::int"
    "   AND NOT (r.ip <<= ANY ($15::cidr[]))"
    "   AND NOT EXISTS (SELECT 1 FROM never_ban_networks n WHERE n.network >>= r.ip)"
    "   AND NOT EXISTS (SELECT 1 FROM bans b WHERE b.network = r.network AND b.peer_id IS NULL"
    "    AND b.status = 'lifted' AND b.lifted_at > now() - make_interval(secs => $16::float8)"
    "    AND (b.expires_at IS NULL OR b.lifted_at < b.expires_at)))"
    " SELECT network, score, bad_pct, offences,"
    "  CASE WHEN score >= $10::int AND bad_pct >= $11::int THEN 'banned' ELSE 'candidate' END AS status,"
    "  make_interval(secs => least($12::float8 * power(2, least(offences - 1, 60)), $13::float8)) AS duration,"
    "  left(format('score %s over %s, %s%% bad: %s pregreets, %s protocol errors, %s unknown recipients,"
    " %s directive refusals, %s viruses, %s DNSBL-listed, %s accepted', score, $1, bad_pct, pregreets,"
    "   protocol_errors, unknown_rcpt, directive_rejects, viruses, dnsbl_listed, accepted), 200) AS reason,"
    "  jsonb_build_object('window', $1, 'score', score, 'bad_pct', bad_pct, 'offences', offences,"
    "   'thresholds', jsonb_build_object('min_sessions', $2::int, 'candidate_score', $8::int,"
    "    'candidate_bad_pct', $9::int, 'ban_score', $10::int, 'ban_bad_pct', $11::int),"
    "   'stats', (SELECT jsonb_object_agg(x.window_name, jsonb_build_object('sessions', x.sessions,"
    "     'accepted', x.accepted, 'unknown_rcpt', x.unknown_rcpt, 'directive_rejects', x.directive_rejects,"
    "     'viruses', x.viruses, 'protocol_errors', x.protocol_errors, 'pregreets', x.pregreets,"
    "     'dnsbl_listed', x.dnsbl_listed))"
    "    FROM ip_stats x WHERE x.ip = o.ip)) AS evidence"
    " FROM o";

/* $1 candidate TTL seconds. An automatic candidate that still qualifies is refreshed, or
 * promoted when it now crosses the ban thresholds. */
static const char sql_refresh[] =
    "WITH u AS (UPDATE bans b SET status = q.status, score = q.score, reason = q.reason, evidence = q.evidence,"
    "  offences = q.offences, expires_at = now() + CASE WHEN q.status = 'banned' THEN q.duration"
    "   ELSE make_interval(secs => $1::float8) END"
    "  FROM banstats_q q WHERE b.network = q.network AND b.peer_id IS NULL AND b.origin = 'auto'"
    "   AND b.status = 'candidate' RETURNING b.id, b.status),"
    " e AS (INSERT INTO ban_events (ban_id, kind) SELECT id, 'ban' FROM u WHERE status = 'banned' RETURNING 1)"
    " SELECT count(*) FILTER (WHERE status = 'banned') FROM u";

/* $1 candidate TTL seconds. A network with an open local record (candidate, or banned by an
 * admin or earlier run) keeps it. */
static const char sql_insert[] =
    "WITH i AS (INSERT INTO bans (network, status, origin, reason, score, offences, evidence, expires_at)"
    "  SELECT network, status, 'auto', reason, score, offences, evidence, now() + CASE"
    "   WHEN status = 'banned' THEN duration ELSE make_interval(secs => $1::float8) END"
    "  FROM banstats_q q WHERE NOT EXISTS (SELECT 1 FROM bans b WHERE b.network = q.network"
    "   AND b.peer_id IS NULL AND b.status IN ('candidate', 'banned'))"
    "  ON CONFLICT DO NOTHING RETURNING id, status),"
    " e AS (INSERT INTO ban_events (ban_id, kind) SELECT id, 'ban' FROM i WHERE status = 'banned' RETURNING 1)"
    " SELECT count(*) FILTER (WHERE status = 'candidate'), count(*) FILTER (WHERE status = 'banned') FROM i";

/* exec_count - run sql with params; first row's column col as a number (0 when none).
 * Returns 0 or -1 with err. */
static int exec_count(struct cl_pg *pg, const char *sql, int n, const char *const *params, long long *out, int col,
		      char *err, size_t errlen)
{
	double t0 = cl_now_seconds();
	PGresult *r = cl_pg_exec_sql(pg, sql, n, params, err, errlen);
	/* Per-statement timing at debug level: where a slow run spends its time. */
	cl_log(CL_LOG_DEBUG, NULL, "stats_step", "seconds=%.3f sql=\"%.40s\"", cl_now_seconds() - t0, sql);
	if (!r)
		return -1;
	if (out)
		*out = PQntuples(r) > 0 && PQnfields(r) > col ? atoll(PQgetvalue(r, 0, col)) : 0;
	PQclear(r);
	return 0;
}

/* window_seconds - the classification window's length; 0 if unknown (checked at start). */
static long long window_seconds(const char *name)
{
	for (size_t i = 0; i < sizeof windows / sizeof windows[0]; i++)
		if (strcmp(windows[i].name, name) == 0)
			return windows[i].seconds;
	return 0;
}

/* aggregate - step 1. */
static int aggregate(struct cl_pg *pg, char *err, size_t errlen)
{
	for (size_t i = 0; i < sizeof windows / sizeof windows[0]; i++) {
		char secs[24];
		cl_snprintf(secs, sizeof secs, "%lld", windows[i].seconds);
		const char *p[] = {windows[i].name, secs};
		if (exec_count(pg, sql_aggregate, 2, p, NULL, 0, err, errlen) < 0)
			return -1;
	}
	return exec_count(pg, sql_stale, 0, NULL, NULL, 0, err, errlen);
}

/* classify - step 3; adds the counts of new candidates and bans. */
static int classify(struct cl_pg *pg, const struct banstats_config *c, long long *cand, long long *ban, char *err,
		    size_t errlen)
{
	char v[17][32];
	long long nums[] = {c->min_sessions, c->w_pregreet,      c->w_protocol,        c->w_unknown, c->w_directive,
			    c->w_virus,      c->candidate_score, c->candidate_bad_pct, c->ban_score, c->ban_bad_pct,
			    c->ban_s,        c->ban_max_s,       c->offence_memory_s};
	const char *p[17];
	p[0] = c->classify_window;
	for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
		cl_snprintf(v[i + 1], sizeof v[i + 1], "%lld", nums[i]);
		p[i + 1] = v[i + 1];
	}
	p[14] = c->never_ban_array;
	cl_snprintf(v[15], sizeof v[15], "%lld", window_seconds(c->classify_window));
	p[15] = v[15];
	cl_snprintf(v[16], sizeof v[16], "%lld", c->w_dnsbl);
	p[16] = v[16];
	/* Two statements: CREATE TABLE AS cannot take parameters. */
	if (exec_count(pg, sql_qualify_table, 0, NULL, NULL, 0, err, errlen) < 0 ||
	    exec_count(pg, sql_qualify, 17, p, NULL, 0, err, errlen) < 0)
		return -1;
	char ttl[24];
	cl_snprintf(ttl, sizeof ttl, "%lld", c->candidate_ttl_s);
	const char *tp[] = {ttl};
	long long promoted = 0, banned_new = 0;
	if (exec_count(pg, sql_refresh, 1, tp, &promoted, 0, err, errlen) < 0)
		return -1;
	PGresult *r = cl_pg_exec_sql(pg, sql_insert, 1, tp, err, errlen);
	if (!r)
		return -1;
	if (PQntuples(r) == 1) {
		*cand = atoll(PQgetvalue(r, 0, 0));
		banned_new = atoll(PQgetvalue(r, 0, 1));
	}
	PQclear(r);
	*ban = promoted + banned_new;
	return 0;
}

/* run_steps - the body of the transaction; 1 when the run happened, 0 when another replica
 * holds the job or ran it within the interval, -1 on error. */
static int run_steps(struct cl_pg *pg, const struct banstats_config *c, long long *cand, long long *ban,
		     long long *lifted, char *err, size_t errlen)
{
	int got = job_claim(pg, c, "banstats_stats", c->interval_s, err, errlen);
	if (got <= 0)
		return got;
	/* The per-IP hash aggregates of a busy week outgrow PostgreSQL's 4 MB default and spill. */
	char wm[64];
	cl_snprintf(wm, sizeof wm, "SET LOCAL work_mem = '%lldMB'", c->work_mem_mb);
	if (exec_count(pg, wm, 0, NULL, NULL, 0, err, errlen) < 0)
		return -1;
	const char *nb[] = {c->never_ban_array};
	long long l1 = 0, l2 = 0;
	if (aggregate(pg, err, errlen) < 0 || exec_count(pg, sql_lift_never, 1, nb, &l1, 0, err, errlen) < 0 ||
	    exec_count(pg, sql_expire, 0, NULL, &l2, 0, err, errlen) < 0 || classify(pg, c, cand, ban, err, errlen) < 0)
		return -1;
	*lifted = l1 + l2;
	return 1;
}

int stats_run(struct cl_pg *pg, const struct banstats_config *cfg, struct banstats_metrics *m, char *err, size_t errlen)
{
	double t0 = cl_now_seconds();
	if (cl_pg_begin(pg, NULL, err, errlen) < 0)
		return -1;
	long long cand = 0, ban = 0, lifted = 0;
	int rc = job_end(pg, run_steps(pg, cfg, &cand, &ban, &lifted, err, errlen), err, errlen);
	if (rc < 0) {
		cl_metric_inc(m->run_failures);
		return -1;
	}
	double secs = cl_now_seconds() - t0;
	if (rc == 0) {
		cl_log(CL_LOG_INFO, NULL, "stats_skipped", "why=\"run by another replica within the interval\"");
		return 0;
	}
	cl_metric_inc(m->runs);
	cl_metric_observe(m->run_seconds, secs);
	cl_metric_add(m->new_candidates, cand);
	cl_metric_add(m->new_bans, ban);
	cl_metric_add(m->lifted, lifted);
	cl_log(CL_LOG_INFO, NULL, "stats_run", "seconds=%.3f new_candidates=%lld new_bans=%lld lifted=%lld", secs, cand,
	       ban, lifted);
	return 0;
}
