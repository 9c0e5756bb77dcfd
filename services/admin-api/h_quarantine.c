/* h_quarantine.c - /api/quarantine (list, one message with headers and a text preview,
 * release, delete, always-accept-this-sender) and the one-click digest links.
 *
 * A user acts on its own quarantine, admins on the quarantine of their domains' accounts whose
 * role is below their own (and on their own). Release and
 * delete go to the delivery service (docs/RPC.md), which owns the stored copies: when it
 * cannot be asked, the answer is 503 and the message stays held. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crud.h"
#include "delivery_rpc.h"
#include "mail/digest_token.h"
#include "mail/held.h"
#include "preview.h"
#include "routes.h"
#include "scope.h"
#include "util/log.h"

#define Q_COLS                                                                                                         \
	"q.id, q.msgid, q.sid, q.received_at, q.expires_at, host(q.client_ip) AS client_ip, q.sender, q.rcpt, "        \
	"q.user_id, q.domain_id, q.subject, q.size, q.status, q.decided_at, q.reason_class, q.reason"

/* q_scope - one's own quarantine, and that of the accounts one manages (scope.h). */
static void q_scope(struct api_req *r, struct qb *q)
{
	scope_managed_user_cond(r, q, "q.user_id", "q.domain_id");
}

void h_quarantine_list(struct api_req *r)
{
	struct qb q;
	qb_init(&q, "SELECT " Q_COLS " FROM quarantine q WHERE true");
	q_scope(r, &q);
	const char *from = api_query(r, "from"), *to = api_query(r, "to");
	if (from && *from)
		qb_add(&q, " AND q.received_at >= $%d::timestamptz", qb_param(&q, from));
	if (to && *to)
		qb_add(&q, " AND q.received_at < $%d::timestamptz", qb_param(&q, to));
	api_eq_filter(r, &q, "status", "q.status", NULL);
	api_eq_filter(r, &q, "user_id", "q.user_id", "::bigint");
	api_eq_filter(r, &q, "domain_id", "q.domain_id", "::bigint");
	long long gid; /* within the scope above, like every filter */
	if (api_query_id(r, "group_id", &gid) == 1)
		qb_add(&q, " AND q.domain_id IN (SELECT d.id FROM domains d WHERE d.group_id = $%d::bigint)",
		       qb_param_ll(&q, gid));
	api_text_filter(r, &q, "sender", "q.sender");
	api_text_filter(r, &q, "rcpt", "q.rcpt");
	api_text_filter(r, &q, "subject", "q.subject");
	api_eq_filter(r, &q, "msgid", "q.msgid", NULL);
	api_eq_filter(r, &q, "sid", "q.sid", NULL);
	static const char *const sorts[][2] = {
	    {"time", "q.received_at"}, {"sender", "q.sender"},      {"rcpt", "q.rcpt"}, {"subject", "q.subject"},
	    {"size", "q.size"},        {"expires", "q.expires_at"}, {NULL, NULL}};
	char order[200];
	api_list(
	    r, &q,
	    api_order(r, sorts, "q.received_at DESC, q.id DESC", "q.received_at DESC, q.id DESC", order, sizeof order));
	qb_free(&q);
}

/* unhex - decode PostgreSQL's bytea hex output "\x4142..." in place; returns the length. */
static size_t unhex(char *s)
{
	if (s[0] != '\\' || s[1] != 'x')
		return strlen(s);
	size_t n = 0;
	for (const char *p = s + 2; p[0] && p[1]; p += 2) {
		char h[3] = {p[0], p[1], 0};
		s[n++] = (char)strtol(h, NULL, 16);
	}
	return n;
}

void h_quarantine_get(struct api_req *r)
{
	long long id = api_arg_id(r, 0);
	if (id < 0)
		return;
	struct qb q;
	qb_init(&q,
		"SELECT " Q_COLS ", substring(q.message from 1 for 262144) AS message FROM quarantine q WHERE q.id = ");
	qb_add(&q, "$%d", qb_param_ll(&q, id));
	q_scope(r, &q);
	PGresult *res = api_exec(r, &q);
	qb_free(&q);
	if (!res)
		return;
	if (PQntuples(res) != 1) {
		api_err(r, 404, "quarantined message not found");
		PQclear(res);
		return;
	}
	int mcol = PQfnumber(res, "message");
	char *raw = PQgetvalue(res, 0, mcol);
	size_t n = unhex(raw);
	cJSON *o = api_row_json(res, 0);
	cJSON_DeleteItemFromObjectCaseSensitive(o, "message");
	cJSON *pv = preview_build((const unsigned char *)raw, n);
	cJSON_AddItemToObject(o, "headers", cJSON_DetachItemFromObjectCaseSensitive(pv, "headers"));
	cJSON_AddItemToObject(o, "preview", cJSON_DetachItemFromObjectCaseSensitive(pv, "text"));
	cJSON_AddItemToObject(o, "preview_truncated", cJSON_DetachItemFromObjectCaseSensitive(pv, "truncated"));
	cJSON_Delete(pv);
	PQclear(res);
	api_ok(r, 200, o);
}

/* q_held - look up a message in scope: 1 held (user id of its recipient in *uid, sender
 * copied), 0 answered (404 or 409), -1 answered. */
static int q_held(struct api_req *r, long long id, long long *uid, char *sender, size_t slen)
{
	struct qb q;
	qb_init(&q, "SELECT q.status, coalesce(q.user_id, 0), q.sender FROM quarantine q WHERE q.id = ");
	qb_add(&q, "$%d", qb_param_ll(&q, id));
	if (r->me.id)
		q_scope(r, &q);
	PGresult *res = api_exec(r, &q);
	qb_free(&q);
	if (!res)
		return -1;
	int rc = 0;
	if (PQntuples(res) != 1) {
		api_err(r, 404, "quarantined message not found");
	} else if (strcmp(PQgetvalue(res, 0, 0), "held") != 0) {
		api_err(r, 409, "this message was already %s", PQgetvalue(res, 0, 0));
	} else {
		*uid = atoll(PQgetvalue(res, 0, 1));
		cl_strlcpy(sender, PQgetvalue(res, 0, 2), slen);
		rc = 1;
	}
	PQclear(res);
	return rc;
}

/* q_decided - ask delivery to release or delete id. Returns the answer's object (the caller
 * owns it and answers with it), or NULL after answering why not (503, 409). */
static cJSON *q_decided(struct api_req *r, long long id, int release, long long by)
{
	struct cl_verdict v;
	char err[256];
	api_db_pause(r);
	int rc = delivery_decide(r->app, release, id, by, &v, err, sizeof err);
	if (api_db_resume(r) < 0)
		return NULL;
	if (rc < 0) {
		cl_log(CL_LOG_WARN, NULL, "delivery_unavailable", "qid=%lld why=\"%s\"", id, err);
		api_err(r, 503, "the delivery service is not available, try again later");
		return NULL;
	}
	if (v.action != CL_ACCEPT) {
		api_err(r, v.action == CL_DEFER ? 503 : 409, "%d %s %s", v.code, v.enh, v.text);
		return NULL;
	}
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "id", (double)id);
	cJSON_AddStringToObject(o, "status", release ? "released" : "deleted");
	cJSON_AddStringToObject(o, "reply", v.text);
	return o;
}

/* q_decide - q_decided, answering 200 with its object. 1 when done. */
static int q_decide(struct api_req *r, long long id, int release, long long by)
{
	cJSON *o = q_decided(r, id, release, by);
	if (o)
		api_ok(r, 200, o);
	return o != NULL;
}

static void q_action(struct api_req *r, int release)
{
	long long id = api_arg_id(r, 0), uid;
	char sender[400];
	if (id < 0 || q_held(r, id, &uid, sender, sizeof sender) != 1)
		return;
	q_decide(r, id, release, r->me.id);
}

void h_quarantine_release(struct api_req *r)
{
	q_action(r, 1);
}

void h_quarantine_delete(struct api_req *r)
{
	q_action(r, 0);
}

/* accept_ok - can sender be always accepted for the user uid? 1, or 0 after answering why not. */
static int accept_ok(struct api_req *r, long long uid, const char *sender)
{
	if (!uid) {
		api_err(r, 409, "this message has no recipient account to hold the directive");
		return 0;
	}
	if (!*sender) {
		api_err(r, 400, "the null sender <> cannot be always accepted");
		return 0;
	}
	return 1;
}

/* accept_directive - write the user-level "accept" directive for sender at user uid (checked
 * by accept_ok). Returns its id (> 0), or 0 after answering the database's error. Idempotent:
 * the same sender again keeps one row. */
static long long accept_directive(struct api_req *r, long long uid, const char *sender)
{
	struct qb q;
	qb_init(&q, "INSERT INTO directives (user_id, sender_pattern, action, created_by) VALUES (");
	int a = qb_param_ll(&q, uid), b = qb_param(&q, sender);
	int c = r->me.id ? qb_param_ll(&q, r->me.id) : qb_param(&q, NULL);
	qb_add(&q,
	       "$%d, lower($%d), 'accept', $%d::bigint) ON CONFLICT (coalesce(user_id, 0), coalesce(domain_id, 0), "
	       "coalesce(group_id, 0), sender_pattern) DO UPDATE SET action = 'accept' RETURNING id",
	       a, b, c);
	PGresult *res = api_exec(r, &q);
	qb_free(&q);
	if (!res)
		return 0;
	long long id = atoll(PQgetvalue(res, 0, 0));
	PQclear(res);
	return id;
}

/* h_quarantine_accept_sender - POST /api/quarantine/{id}/accept-sender: the held message is
 * released and, from now on, mail from its sender reaches the recipient (a user-level accept
 * directive), as the dialog and the digest link say. The release comes first: when delivery
 * cannot release (503) nothing has changed and the request can be repeated. Only if the
 * database then fails to take the directive is the message released without it (the error
 * says so; the rule can be added under the user's senders). */
void h_quarantine_accept_sender(struct api_req *r)
{
	long long id = api_arg_id(r, 0), uid = 0;
	char sender[400];
	if (id < 0 || q_held(r, id, &uid, sender, sizeof sender) != 1 || !accept_ok(r, uid, sender))
		return;
	cJSON *o = q_decided(r, id, 1, r->me.id);
	if (!o)
		return;
	long long did = accept_directive(r, uid, sender);
	if (!did) {
		cJSON_Delete(o);
		return;
	}
	cJSON_AddNumberToObject(o, "directive_id", (double)did);
	cJSON_AddStringToObject(o, "sender_pattern", sender);
	cJSON_AddStringToObject(o, "action", "accept");
	api_ok(r, 200, o);
}

/* digest_target - check a digest link's token and that its message is still held: 1 with the
 * action, message, user and sender, or 0 after answering the page that says why not. */
static int digest_target(struct api_req *r, char *action, size_t actionlen, long long *qid, long long *uid,
			 char *sender, size_t senderlen)
{
	const char *secret = r->app->cfg->digest_secret;
	if (!secret || !*secret ||
	    cl_digest_token_check(secret, r->arg[0], (long long)time(NULL), action, actionlen, qid) != 0) {
		api_html(r, 400, "Link not valid",
			 "This link is not valid or has expired. Log in to manage your "
			 "quarantine.");
		return 0;
	}
	int held = q_held(r, *qid, uid, sender, senderlen);
	if (held == 0)
		api_html(r, r->status == 404 ? 404 : 409, "Nothing to do",
			 "This message is no longer in the quarantine.");
	return held == 1;
}

/* h_digest_confirm - GET /api/digest/{token}: the page a digest link opens. It changes nothing
 * (mail scanners and prefetchers open links); its button POSTs the same address. */
void h_digest_confirm(struct api_req *r)
{
	char action[CL_DIGEST_ACTION_MAX + 1], sender[400], text[600];
	long long qid = 0, uid = 0;
	if (!digest_target(r, action, sizeof action, &qid, &uid, sender, sizeof sender))
		return;
	const char *who = sender[0] ? sender : "the null sender <> (a delivery report)";
	if (strcmp(action, "delete") == 0)
		snprintf(text, sizeof text, "Delete the quarantined message from %s?", who);
	else if (strcmp(action, "accept") == 0)
		snprintf(text, sizeof text,
			 "Release the message from %s, and accept mail from this sender from now on?", who);
	else
		snprintf(text, sizeof text, "Release the quarantined message from %s to your mailbox?", who);
	/* What the message is (subject, date, why it is held), and the digest's other two actions
	 * as links of their own, valid as long as this one (issue 23). */
	struct qb q;
	qb_init(&q, "SELECT coalesce(q.subject, '(no subject)'), to_char(q.received_at AT TIME ZONE 'UTC', "
		    "'YYYY-MM-DD HH24:MI') || ' UTC', " CL_HELD_WHY_SQL("q.") " FROM quarantine q WHERE q.id = ");
	qb_add(&q, "$%d", qb_param_ll(&q, qid));
	PGresult *res = api_exec(r, &q);
	qb_free(&q);
	if (!res)
		return;
	const char *details[] = {"From",
				 who,
				 "Subject",
				 PQntuples(res) ? PQgetvalue(res, 0, 0) : "",
				 "Received",
				 PQntuples(res) ? PQgetvalue(res, 0, 1) : "",
				 PQntuples(res) && *PQgetvalue(res, 0, 2) ? "Why held" : NULL,
				 PQntuples(res) ? PQgetvalue(res, 0, 2) : NULL,
				 NULL};
	static const char *const acts[][2] = {
	    {"release", "Release"}, {"accept", "Release and always accept"}, {"delete", "Delete"}};
	const char *dot = strchr(r->arg[0], '.');
	dot = dot ? strchr(dot + 1, '.') : NULL;
	long long exp = dot ? strtoll(dot + 1, NULL, 10) : 0;
	char hrefs[2][CL_DIGEST_TOKEN_MAX + 16], tok[CL_DIGEST_TOKEN_MAX];
	const char *others[5] = {NULL};
	size_t n = 0;
	for (size_t i = 0; i < 3 && exp > 0; i++) {
		if (strcmp(action, acts[i][0]) == 0 || n >= 2 ||
		    cl_digest_token_make(r->app->cfg->digest_secret, acts[i][0], qid, exp, tok, sizeof tok) < 0)
			continue;
		snprintf(hrefs[n], sizeof hrefs[n], "/api/digest/%s", tok);
		others[2 * n] = acts[i][1];
		others[2 * n + 1] = hrefs[n];
		n++;
	}
	api_html_details(r, "Quarantined message", text, details,
			 strcmp(action, "delete") == 0   ? "Delete"
			 : strcmp(action, "accept") == 0 ? "Release and always accept"
							 : "Release",
			 others);
	PQclear(res);
}

/* h_digest_link - POST /api/digest/{token}: the confirmed action of a quarantine digest link
 * (lib/mail/digest_token.h). The signed token is the credential; the answer is a small
 * HTML page for the person who clicked. */
void h_digest_link(struct api_req *r)
{
	char action[CL_DIGEST_ACTION_MAX + 1], sender[400];
	long long qid = 0, uid = 0;
	if (!digest_target(r, action, sizeof action, &qid, &uid, sender, sizeof sender))
		return;
	int ok = 0;
	if (strcmp(action, "release") == 0 || strcmp(action, "delete") == 0)
		ok = q_decide(r, qid, action[0] == 'r', uid);
	else if (strcmp(action, "accept") == 0)
		ok = accept_ok(r, uid, sender) && q_decide(r, qid, 1, uid) && accept_directive(r, uid, sender) > 0;
	if (ok)
		api_html(r, 200, "Done",
			 strcmp(action, "delete") == 0   ? "The message was deleted."
			 : strcmp(action, "accept") == 0 ? "The message was released, and mail from this sender will "
							   "be accepted from now on."
							 : "The message was released to your mailbox.");
	else if (r->status == 503)
		api_html(r, 503, "Try again later", "The mail system is busy. Please try the link again later.");
	else
		api_html(r, r->status ? r->status : 400, "Not done", "This action could not be done.");
}
