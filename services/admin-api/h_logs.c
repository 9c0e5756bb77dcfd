/* h_logs.c - /api/logs (one row per recipient and outcome), /api/smtp-sessions (with
 * transcripts, admins only; a non-root admin reads a transcript with the other tenants'
 * recipients masked, see transcript.h) and /api/stats (the dashboard).
 *
 * A user sees its own mail: received, quarantined and rejected (with the reason the sender
 * was given) for its account, and what it sent (direction out, with the delivery status).
 * Admins see the rows of the domains and groups in their scope; a root-admin sees all,
 * including rows that belong to no domain (banned clients, unknown domains).
 *
 * ?user_id=, ?domain_id= and ?group_id= ("My mail", the UI's per-domain and per-group tabs)
 * narrow a list further;
 * they are added to the scope condition, never in place of it, so an id outside the caller's
 * scope gives an empty list (200), as the other lists' filters do. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crud.h"
#include "fields.h"
#include "routes.h"
#include "scope.h"
#include "transcript.h"

#define LOG_COLS                                                                                                       \
	"l.id, l.logged_at, l.sid, l.msgid, l.direction, host(l.client_ip) AS client_ip, l.sender, l.rcpt, "           \
	"l.user_id, l.domain_id, l.group_id, l.status, l.reason_class, l.code, l.enh, l.reason, l.virus, "             \
	"l.subject, l.size, hq.id AS quarantine_id, hq.reason_class AS held_by, hq.reason AS held_reason"

/* The held copy of a quarantined (or later released/deleted) message, by queue id and
 * recipient: the log links to it and says why it was held (issue 23). */
#define LOG_FROM                                                                                                       \
	" FROM message_log l LEFT JOIN LATERAL (SELECT q.id, q.reason_class, q.reason FROM quarantine q"               \
	" WHERE l.status IN ('quarantined', 'released', 'deleted') AND q.msgid = l.msgid AND q.rcpt = l.rcpt"          \
	" ORDER BY q.id LIMIT 1) hq ON true"

/* log_scope - see the header comment. */
static void log_scope(struct api_req *r, struct qb *q)
{
	if (r->me.role == ROLE_ROOT)
		return;
	if (r->me.role == ROLE_USER) {
		int n = qb_param_ll(q, r->me.id), a = qb_param(q, r->me.address);
		qb_add(q, " AND (l.user_id = $%d OR (l.direction = 'out' AND lower(l.sender) = $%d))", n, a);
		return;
	}
	scope_row_cond(r, q, "l.domain_id", "l.group_id");
}

/* ip_filter - ?client_ip= an address or a network (CIDR). */
static void ip_filter(struct api_req *r, struct qb *q, const char *col)
{
	const char *ip = api_query(r, "client_ip");
	if (ip && *ip)
		qb_add(q, " AND %s <<= $%d::inet", col, qb_param(q, ip));
}

/* user_filter - ?user_id= (everyone's "My mail", admins' too): that user's own mail as
 * log_scope shows it to a user, received (user_id) or sent (direction out, from its address). */
static void user_filter(struct api_req *r, struct qb *q)
{
	long long id;
	if (api_query_id(r, "user_id", &id) != 1)
		return;
	int n = qb_param_ll(q, id);
	qb_add(q,
	       " AND (l.user_id = $%d::bigint OR (l.direction = 'out' AND lower(l.sender) = (SELECT lower(u.local_part "
	       "|| '@' || d.name) FROM users u JOIN domains d ON d.id = u.domain_id WHERE u.id = $%d::bigint)))",
	       n, n);
}

void h_logs_list(struct api_req *r)
{
	struct qb q;
	qb_init(&q, "SELECT " LOG_COLS LOG_FROM " WHERE true");
	log_scope(r, &q);
	api_time_filter(r, &q, "l.logged_at");
	ip_filter(r, &q, "l.client_ip");
	api_eq_filter(r, &q, "status", "l.status", NULL);
	api_eq_filter(r, &q, "direction", "l.direction", NULL);
	api_eq_filter(r, &q, "reason_class", "l.reason_class", NULL);
	api_eq_filter(r, &q, "sid", "l.sid", NULL);
	api_eq_filter(r, &q, "msgid", "l.msgid", NULL);
	api_text_filter(r, &q, "sender", "l.sender");
	api_text_filter(r, &q, "subject", "l.subject");
	api_text_filter(r, &q, "rcpt", "l.rcpt");
	user_filter(r, &q);
	api_eq_filter(r, &q, "domain_id", "l.domain_id", "::bigint");
	api_eq_filter(r, &q, "group_id", "l.group_id", "::bigint");
	static const char *const sorts[][2] = {
	    {"time", "l.logged_at"}, {"sender", "l.sender"}, {"rcpt", "l.rcpt"}, {"subject", "l.subject"},
	    {"status", "l.status"},  {"size", "l.size"},     {NULL, NULL}};
	char order[200];
	api_list(
	    r, &q,
	    api_order(r, sorts, "l.logged_at DESC, l.id DESC", "l.logged_at DESC, l.id DESC", order, sizeof order));
	qb_free(&q);
}

void h_log_get(struct api_req *r)
{
	long long id = api_arg_id(r, 0);
	if (id < 0)
		return;
	struct qb q;
	qb_init(&q, "SELECT " LOG_COLS LOG_FROM " WHERE l.id = ");
	qb_add(&q, "$%d", qb_param_ll(&q, id));
	log_scope(r, &q);
	api_one(r, &q, "log entry");
	qb_free(&q);
}

#define SESSION_COLS                                                                                                   \
	"s.sid, s.started_at, s.ended_at, host(s.client_ip) AS client_ip, s.client_port, s.listener, s.helo, "         \
	"s.tls, s.auth_user, s.outcome, s.pregreet, s.protocol_errors, s.messages, s.rep_score, s.rep_facts"

/* session_scope - a non-root admin sees the SMTP sessions that carried mail for its scope:
 * those with a message_log row it may see (log_scope). */
static void session_scope(struct api_req *r, struct qb *q)
{
	if (r->me.role == ROLE_ROOT)
		return;
	qb_add(q, " AND s.sid IN (SELECT l.sid FROM message_log l WHERE l.sid IS NOT NULL");
	log_scope(r, q);
	qb_add(q, ")");
}

/* session_owner_filter - ?domain_id= / ?group_id=: the sessions that carried mail for that
 * domain or group. The rows that count are only those the caller may see (log_scope inside
 * the subquery, not only session_scope beside it): a session shared with another tenant is
 * in scope, but naming that other tenant's id must still list nothing (issue #15, 6). */
static void session_owner_filter(struct api_req *r, struct qb *q, const char *key)
{
	long long id;
	if (api_query_id(r, key, &id) != 1)
		return;
	qb_add(q, " AND s.sid IN (SELECT l.sid FROM message_log l WHERE l.sid IS NOT NULL AND l.%s = $%d::bigint", key,
	       qb_param_ll(q, id));
	log_scope(r, q);
	qb_add(q, ")");
}

void h_smtp_sessions_list(struct api_req *r)
{
	struct qb q;
	qb_init(&q, "SELECT " SESSION_COLS " FROM smtp_sessions s WHERE true");
	session_scope(r, &q);
	api_time_filter(r, &q, "s.started_at");
	ip_filter(r, &q, "s.client_ip");
	api_eq_filter(r, &q, "outcome", "s.outcome", NULL);
	api_eq_filter(r, &q, "listener", "s.listener", NULL);
	api_text_filter(r, &q, "helo", "s.helo");
	session_owner_filter(r, &q, "domain_id");
	session_owner_filter(r, &q, "group_id");
	api_list(r, &q, "s.started_at DESC, s.sid");
	qb_free(&q);
}

/* visible_rcpts - of the '\n'-separated addresses rcpts (a RCPT command's argument in session
 * sid), those the caller may see: a recipient of a message_log row of that session in its
 * scope (which also covers an outside recipient of its own users' outgoing mail), or an
 * address of one of its domains (a user: its own address). The result (one column) or NULL,
 * answered. */
static PGresult *visible_rcpts(struct api_req *r, const char *sid, const char *rcpts)
{
	struct qb q;
	qb_init(&q, "SELECT a FROM unnest(string_to_array(");
	qb_add(&q,
	       "$%d, chr(10))) AS a WHERE a <> '' AND (EXISTS (SELECT 1 FROM message_log l WHERE l.sid = $%d "
	       "AND lower(l.rcpt) = a",
	       qb_param(&q, rcpts), qb_param(&q, sid));
	log_scope(r, &q);
	if (r->me.role == ROLE_USER) {
		qb_add(&q, ") OR a = lower($%d))", qb_param(&q, r->me.address));
	} else {
		int n = qb_param_ll(&q, r->me.id);
		qb_add(&q,
		       ") OR substring(a from '@([^@]*)$') IN (SELECT d.name FROM domains d WHERE d.id IN "
		       "(SELECT clement_scope_domains($%d))))",
		       n);
	}
	PGresult *res = api_exec(r, &q);
	qb_free(&q);
	return res;
}

/* rcpt_visible - transcript_visible_fn over visible_rcpts' result. */
static int rcpt_visible(const char *addr, void *arg)
{
	const PGresult *res = arg;
	for (int i = 0; i < PQntuples(res); i++)
		if (strcmp(PQgetvalue(res, i, 0), addr) == 0)
			return 1;
	return 0;
}

/* mask_transcript - replace the row's transcript by what the caller may see (transcript.h).
 * 0, or -1 answered. */
static int mask_transcript(struct api_req *r, cJSON *row)
{
	cJSON *t = cJSON_GetObjectItem(row, "transcript");
	if (r->me.role == ROLE_ROOT || !cJSON_IsString(t))
		return 0;
	char *rcpts = transcript_rcpts(t->valuestring);
	PGresult *res = rcpts ? visible_rcpts(r, r->arg[0], rcpts) : NULL;
	free(rcpts);
	if (!res) {
		if (!rcpts)
			api_err(r, 500, "out of memory");
		return -1;
	}
	char *masked = transcript_mask(t->valuestring, rcpt_visible, res);
	PQclear(res);
	if (!masked) {
		api_err(r, 500, "out of memory");
		return -1;
	}
	cJSON_ReplaceItemInObject(row, "transcript", cJSON_CreateString(masked));
	free(masked);
	return 0;
}

/* h_smtp_session_get - one session in scope; a non-root caller reads its transcript with the
 * other tenants' recipients masked (issue #15, 5). */
void h_smtp_session_get(struct api_req *r)
{
	struct qb q;
	qb_init(&q, "SELECT " SESSION_COLS ", s.transcript FROM smtp_sessions s WHERE s.sid = ");
	qb_add(&q, "$%d", qb_param(&q, r->arg[0]));
	session_scope(r, &q);
	qb_add(&q, " ORDER BY s.started_at DESC LIMIT 1");
	PGresult *res = api_exec(r, &q);
	qb_free(&q);
	if (!res)
		return;
	if (PQntuples(res) == 0) {
		PQclear(res);
		api_err(r, 404, "SMTP session not found");
		return;
	}
	cJSON *row = api_row_json(res, 0);
	PQclear(res);
	if (mask_transcript(r, row) < 0) {
		cJSON_Delete(row);
		return;
	}
	api_ok(r, 200, row);
}

/* stats_part - run q and put its rows under key in o. 0 or -1 (answered). */
static int stats_part(struct api_req *r, struct qb *q, cJSON *o, const char *key)
{
	if (r->status >= 400) { /* a filter was refused (400 answered by stats_where) */
		qb_free(q);
		return -1;
	}
	PGresult *res = api_exec(r, q);
	qb_free(q);
	if (!res)
		return -1;
	cJSON_AddItemToObject(o, key, api_rows_json(res));
	PQclear(res);
	return 0;
}

/* stats_where - the period, the caller's scope and the dashboard's narrowing (?domain_id=,
 * ?group_id=, ?user_id=: a domain's or a user's dashboard; it narrows, never widens). */
static void stats_where(struct api_req *r, struct qb *q, long long hours)
{
	qb_add(q, " AND l.logged_at > now() - make_interval(hours => $%d::int)", qb_param_ll(q, hours));
	log_scope(r, q);
	user_filter(r, q);
	api_eq_filter(r, q, "domain_id", "l.domain_id", "::bigint");
	api_eq_filter(r, q, "group_id", "l.group_id", "::bigint");
}

/* h_stats - GET /api/stats?hours=24[&domain_id=|&group_id=|&user_id=]: within the caller's
 * scope (a user: its own mail), messages per hour by outcome, totals by outcome, refusals by
 * reason class, top refusal reasons (class and exact text) and, for a root-admin's whole view,
 * the top banned networks. */
void h_stats(struct api_req *r)
{
	long long hours = 24;
	if (api_query_int(r, "hours", 1, 24 * 31, 0, &hours) < 0)
		return;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "hours", (double)hours);
	/* the parts over message_log: key, select list, then (after the scope) condition, grouping and order */
	static const char *const parts[][3] = {
	    {"per_hour", "date_trunc('hour', l.logged_at) AS hour, l.status, count(*) AS count",
	     " GROUP BY 1, 2 ORDER BY 1, 2"},
	    {"totals", "l.status, count(*) AS count", " GROUP BY 1 ORDER BY 2 DESC, 1"},
	    {"refused_by_class", "coalesce(l.reason_class, 'other') AS reason_class, count(*) AS count",
	     " AND l.status = 'rejected' GROUP BY 1 ORDER BY 2 DESC, 1"},
	    {"top_reasons", "l.reason_class, l.reason, count(*) AS count",
	     " AND l.status = 'rejected' GROUP BY 1, 2 ORDER BY 3 DESC, 2 LIMIT 10"},
	};
	struct qb q;
	for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
		qb_init(&q, "SELECT ");
		qb_add(&q, "%s FROM message_log l WHERE true", parts[i][1]);
		stats_where(r, &q, hours);
		qb_add(&q, "%s", parts[i][2]);
		if (stats_part(r, &q, o, parts[i][0]) < 0)
			goto fail;
	}
	const char *narrowed[] = {"domain_id", "group_id", "user_id"};
	int whole = r->me.role == ROLE_ROOT;
	for (size_t i = 0; i < sizeof narrowed / sizeof narrowed[0]; i++) {
		const char *v = api_query(r, narrowed[i]);
		if (v && *v)
			whole = 0;
	}
	if (whole) {
		qb_init(&q,
			"SELECT b.id, host(b.network) || CASE WHEN masklen(b.network) IN (32, 128) THEN '' ELSE '/' "
			"|| masklen(b.network) END AS network, b.reason, b.offences, b.origin, b.created_at "
			"FROM bans b WHERE b.status = 'banned' ORDER BY b.offences DESC, b.created_at DESC LIMIT 10");
		if (stats_part(r, &q, o, "top_banned") < 0)
			goto fail;
	} else {
		cJSON_AddItemToObject(o, "top_banned", cJSON_CreateArray());
	}
	api_ok(r, 200, o);
	return;
fail:
	cJSON_Delete(o);
}
