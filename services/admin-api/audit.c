/* audit.c - see audit.h. */
#include "audit.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db/pool.h"
#include "mail/digest_token.h"
#include "util/buf.h"
#include "util/log.h"

/* How to read one object of a resource. domain/group/owner/role are SQL expressions over the
 * row t: the object's domain and group, and the account it is or belongs to with that
 * account's role. They decide which admins see its audit rows (h_audit.c). */
struct audit_kind {
	const char *segment; /* the route's first path segment after /api/ */
	const char *type;    /* audit_log.target_type */
	const char *from;    /* table, aliased t */
	const char *key;     /* key column: "id" (bigint) or "key" (text) */
	const char *omit;    /* jsonb keys left out of snapshots (bulk data), or "" */
	int no_json;         /* keep no snapshot (login, logout: the account does not change) */
	const char *domain, *group, *owner, *role;
};

#define USER_DOMAIN  "(SELECT u.domain_id FROM users u WHERE u.id = t.user_id)"
#define USER_ROLE    "(SELECT u.role FROM users u WHERE u.id = t.user_id)"
#define OWNER_DOMAIN "coalesce(t.domain_id, " USER_DOMAIN ")"
#define OWNER_GROUP  "(SELECT d.group_id FROM domains d WHERE d.id = " OWNER_DOMAIN ")"
#define ACCOUNT      "t.domain_id", "(SELECT d.group_id FROM domains d WHERE d.id = t.domain_id)", "t.id", "t.role"
#define BELONGING    OWNER_DOMAIN, "coalesce(t.group_id, " OWNER_GROUP ")", "t.user_id", USER_ROLE
#define ROOT_ONLY    "NULL", "NULL", "NULL", "NULL"

static const struct audit_kind KINDS[] = {
    {"login", "user", "users t", "id", "", 1, ACCOUNT},
    {"logout", "user", "users t", "id", "", 1, ACCOUNT},
    {"password", "user", "users t", "id", "", 0, ACCOUNT},
    {"users", "user", "users t", "id", "", 0, ACCOUNT},
    {"scopes", "admin_scope", "admin_scopes t", "id", "", 0, USER_DOMAIN,
     "(SELECT d.group_id FROM domains d WHERE d.id = " USER_DOMAIN ")", "t.user_id", USER_ROLE},
    {"aliases", "sender_alias", "sender_aliases t", "id", "", 0, USER_DOMAIN,
     "(SELECT d.group_id FROM domains d WHERE d.id = " USER_DOMAIN ")", "t.user_id", USER_ROLE},
    {"groups", "group", "groups t", "id", "", 0, "NULL", "t.id", "NULL", "NULL"},
    {"domains", "domain", "domains t", "id", "", 0, "t.id", "t.group_id", "NULL", "NULL"},
    {"directives", "directive", "directives t", "id", "", 0, BELONGING},
    {"digest-schedules", "digest_schedule", "digest_schedules t", "id", "", 0, BELONGING},
    {"quarantine", "quarantine", "quarantine t", "id", " - 'message'", 0, OWNER_DOMAIN, OWNER_GROUP, "t.user_id",
     USER_ROLE},
    {"digest", "quarantine", "quarantine t", "id", " - 'message'", 0, OWNER_DOMAIN, OWNER_GROUP, "t.user_id",
     USER_ROLE},
    {"bans", "ban", "bans t", "id", "", 0, ROOT_ONLY},
    {"never-ban", "never_ban", "never_ban_networks t", "id", "", 0, ROOT_ONLY},
    {"mesh-peers", "mesh_peer", "mesh_peers t", "id", "", 0, ROOT_ONLY},
    {"settings", "setting", "settings t", "key", "", 0, ROOT_ONLY},
};

/* The savepoint after the "before" snapshot: a handler's failed statement is rolled back to it,
 * and the audit row is still written in the same transaction. */
#define AUDIT_SAVEPOINT "clement_audit"

/* The target's place: which admins may read its rows. Each "" for none (SQL NULL). */
enum { SC_DOMAIN, SC_GROUP, SC_OWNER, SC_ROLE, SC_N };

/* One recorded request, from before its handler to its row. */
struct audit_rec {
	const struct api_route *rt;
	const struct audit_kind *kind; /* NULL: a resource without a row in KINDS */
	char type[40];
	char target[API_ARG_MAX];
	struct api_user actor;
	char actor_name[API_ADDR_MAX + 1];
	const char *actor_role;
	cJSON *before, *after;
	char scope[SC_N][24];
};

/* kind_find - the KINDS row for a route pattern: "/api/users/{id}/scopes" is a scope. */
static const struct audit_kind *kind_find(const char *pattern, char *type, size_t typelen)
{
	const char *seg = pattern + 5; /* after "/api/" */
	size_t len = strcspn(seg, "/");
	if (strstr(pattern, "/scopes"))
		seg = "scopes", len = 6;
	else if (strstr(pattern, "/aliases"))
		seg = "aliases", len = 7;
	for (size_t i = 0; i < sizeof KINDS / sizeof KINDS[0]; i++)
		if (strlen(KINDS[i].segment) == len && strncmp(KINDS[i].segment, seg, len) == 0) {
			cl_strlcpy(type, KINDS[i].type, typelen);
			return &KINDS[i];
		}
	/* Unknown resource: still recorded, typed by its path segment, without snapshots. */
	size_t n = len < typelen - 1 ? len : typelen - 1;
	memcpy(type, seg, n);
	type[n] = '\0';
	return NULL;
}

/* is - is the record's resource the KINDS row of this segment? */
static int is(const struct audit_rec *a, const char *segment)
{
	return a->kind && strcmp(a->kind->segment, segment) == 0;
}

/* target_valid - an id the snapshot statement can take without a cast error (which would
 * abort the transaction): digits for bigint keys, [a-z0-9_.] for settings. */
static int target_valid(const struct audit_kind *k, const char *id)
{
	size_t n = strlen(id);
	if (n == 0)
		return 0;
	if (strcmp(k->key, "id") == 0)
		return n <= 18 && strspn(id, "0123456789") == n;
	return strspn(id, "abcdefghijklmnopqrstuvwxyz0123456789_.") == n;
}

/* db_msg - the connection's last error, escaped for one log line. */
static const char *db_msg(struct api_req *r, char *esc, size_t esclen)
{
	const char *m = r->pg ? PQerrorMessage(r->pg->conn) : "no connection";
	return cl_log_escape(esc, esclen, m, strlen(m));
}

/* snapshot - the target object as JSON, still unmasked (caller owns it), or NULL when there
 * is none; fills a->scope when the object exists. 0, or -1 on a database error. */
static int snapshot(struct api_req *r, struct audit_rec *a, cJSON **out)
{
	*out = NULL;
	if (!a->kind || !target_valid(a->kind, a->target) || !r->pg)
		return 0;
	const struct audit_kind *k = a->kind;
	struct cl_buf sql;
	cl_buf_init(&sql, 0);
	cl_buf_printf(
	    &sql, "SELECT to_jsonb(t)%s, (%s)::bigint, (%s)::bigint, (%s)::bigint, (%s)::text FROM %s WHERE t.%s = $1",
	    k->omit, k->domain, k->group, k->owner, k->role, k->from, k->key);
	const char *p[] = {a->target};
	PGresult *res = PQexecParams(r->pg->conn, sql.data ? sql.data : "", 1, NULL, p, NULL, NULL, 0);
	cl_buf_free(&sql);
	int rc = PQresultStatus(res) == PGRES_TUPLES_OK ? 0 : -1;
	if (rc == 0 && PQntuples(res) == 1) {
		*out = cJSON_Parse(PQgetvalue(res, 0, 0));
		for (int i = 0; i < SC_N; i++)
			cl_strlcpy(a->scope[i], PQgetisnull(res, 0, i + 1) ? "" : PQgetvalue(res, 0, i + 1),
				   sizeof a->scope[i]);
	} else if (rc < 0) {
		char esc[300];
		cl_log(CL_LOG_ERROR, NULL, "audit_snapshot_failed", "type=%s msg=%s", a->type,
		       db_msg(r, esc, sizeof esc));
	}
	PQclear(res);
	return rc;
}

static int in_tx(struct api_req *r)
{
	return r->pg && PQtransactionStatus(r->pg->conn) != PQTRANS_IDLE;
}

/* who_begin - the caller, and the target as the path names it (before the handler). */
static void who_begin(struct api_req *r, struct audit_rec *a)
{
	a->kind = kind_find(a->rt->pattern, a->type, sizeof a->type);
	a->actor = r->me;
	cl_strlcpy(a->actor_name, r->me.address, sizeof a->actor_name);
	a->actor_role = r->me.id ? api_role_name(r->me.role) : NULL;
	int nargs = 0;
	for (const char *p = a->rt->pattern; (p = strchr(p, '{')); p++)
		nargs++;
	if (is(a, "digest")) {
		/* The token is the credential: never stored; the message it names is the target. */
		char action[CL_DIGEST_ACTION_MAX + 1];
		long long qid = 0;
		const char *secret = r->app->cfg->digest_secret;
		if (secret && *secret &&
		    cl_digest_token_check(secret, r->arg[0], (long long)time(NULL), action, sizeof action, &qid) == 0)
			snprintf(a->target, sizeof a->target, "%lld", qid);
		a->actor_role = "digest-link";
	} else if (is(a, "logout") || is(a, "password")) {
		snprintf(a->target, sizeof a->target, "%lld", r->me.id); /* oneself */
	} else if (is(a, "scopes") || is(a, "aliases")) {
		if (nargs >= 2)
			cl_strlcpy(a->target, r->arg[1], sizeof a->target);
	} else if (nargs >= 1) {
		cl_strlcpy(a->target, r->arg[0], sizeof a->target);
	}
}

/* who_end - what only the answer tells: a created object's id, a login's account. */
static void who_end(struct api_req *r, struct audit_rec *a)
{
	const cJSON *id = r->out ? cJSON_GetObjectItemCaseSensitive(r->out, "id") : NULL;
	if (!a->target[0] && r->status >= 200 && r->status < 300 && cJSON_IsNumber(id) && !is(a, "login"))
		snprintf(a->target, sizeof a->target, "%.0f", id->valuedouble);
	if (is(a, "digest") && a->before) { /* the link's holder: the message's recipient */
		const cJSON *uid = cJSON_GetObjectItemCaseSensitive(a->before, "user_id");
		const cJSON *rcpt = cJSON_GetObjectItemCaseSensitive(a->before, "rcpt");
		a->actor.id = cJSON_IsNumber(uid) ? (long long)uid->valuedouble : 0;
		if (cJSON_IsString(rcpt))
			cl_strlcpy(a->actor_name, rcpt->valuestring, sizeof a->actor_name);
	}
	if (!is(a, "login"))
		return;
	if (r->me.id) { /* logged in: the account is the actor */
		a->actor = r->me;
		snprintf(a->target, sizeof a->target, "%lld", r->me.id);
		const cJSON *ad = r->out ? cJSON_GetObjectItemCaseSensitive(r->out, "address") : NULL;
		const cJSON *ro = r->out ? cJSON_GetObjectItemCaseSensitive(r->out, "role") : NULL;
		if (cJSON_IsString(ad))
			cl_strlcpy(a->actor_name, ad->valuestring, sizeof a->actor_name);
		if (cJSON_IsString(ro))
			a->actor_role = api_role_name(api_role_parse(ro->valuestring));
		return;
	}
	/* A failed login: the name tried (never the password); its account, if one exists,
	 * is the target, so that the admins of its domain see the attempts. */
	const cJSON *ad = r->in ? cJSON_GetObjectItemCaseSensitive(r->in, "address") : NULL;
	if (!cJSON_IsString(ad) || !r->pg)
		return;
	size_t i;
	for (i = 0; ad->valuestring[i] && i < API_ADDR_MAX; i++)
		a->actor_name[i] = (char)tolower((unsigned char)ad->valuestring[i]);
	a->actor_name[i] = '\0';
	const char *p[] = {a->actor_name};
	PGresult *res = PQexecParams(r->pg->conn,
				     "SELECT u.id FROM users u JOIN domains d ON d.id = u.domain_id "
				     "WHERE u.local_part || '@' || d.name = $1",
				     1, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		cl_strlcpy(a->target, PQgetvalue(res, 0, 0), sizeof a->target);
	PQclear(res);
}

/* anonymous_noise - a public call that named nobody: a login refused before its password was
 * checked (malformed 400, rate-limited 429) or a digest link whose token is not valid. Anyone
 * can send those at any rate; recording them would let anyone fill the table. They still
 * reach the log line and the login metrics. */
static int anonymous_noise(const struct api_req *r, const struct audit_rec *a)
{
	if (!(a->rt->flags & RT_PUBLIC))
		return 0;
	if (is(a, "login"))
		return r->status == 400 || r->status == 429;
	return is(a, "digest") && !a->target[0];
}

/* row_insert - the audit row. 0, or -1 (the database refused it). */
static int row_insert(struct api_req *r, struct audit_rec *a)
{
	char aid[24], st[16];
	snprintf(aid, sizeof aid, "%lld", a->actor.id);
	snprintf(st, sizeof st, "%d", r->status);
	char *before = a->before ? cJSON_PrintUnformatted(a->before) : NULL;
	char *after = a->after ? cJSON_PrintUnformatted(a->after) : NULL;
	const char *p[] = {a->actor.id ? aid : NULL,
			   a->actor_name[0] ? a->actor_name : NULL,
			   a->actor_role,
			   r->ip[0] ? r->ip : NULL,
			   r->method,
			   a->rt->pattern,
			   a->type,
			   a->target[0] ? a->target : NULL,
			   a->scope[SC_DOMAIN][0] ? a->scope[SC_DOMAIN] : NULL,
			   a->scope[SC_GROUP][0] ? a->scope[SC_GROUP] : NULL,
			   a->scope[SC_OWNER][0] ? a->scope[SC_OWNER] : NULL,
			   a->scope[SC_ROLE][0] ? a->scope[SC_ROLE] : NULL,
			   st,
			   before,
			   after};
	PGresult *res =
	    PQexecParams(r->pg->conn,
			 "INSERT INTO audit_log (actor_id, actor_name, actor_role, client_ip, method, route, "
			 "target_type, target_id, domain_id, group_id, owner_id, owner_role, status, before, after) "
			 "VALUES ($1::bigint, $2, $3, $4::inet, $5, $6, $7, $8, $9::bigint, $10::bigint, $11::bigint, "
			 "$12, $13::int, $14::jsonb, $15::jsonb)",
			 15, NULL, p, NULL, NULL, 0);
	int rc = PQresultStatus(res) == PGRES_COMMAND_OK ? 0 : -1;
	if (rc < 0) {
		char esc[300];
		cl_log(CL_LOG_ERROR, NULL, "audit_write_failed", "method=%s route=%s status=%d msg=%s", r->method,
		       a->rt->pattern, r->status, db_msg(r, esc, sizeof esc));
	}
	PQclear(res);
	free(before);
	free(after);
	return rc;
}

/* refuse_unrecorded - the change was rolled back because its row could not be written. */
static void refuse_unrecorded(struct api_req *r)
{
	r->cookie[0] = '\0'; /* a login's session was rolled back with the rest */
	if (r->raw) {
		api_html(r, 500, "Not done", "This action could not be recorded, so it was not done. Try again later.");
		return;
	}
	api_err(r, 500, "the change could not be recorded in the audit log, so it was not made");
}

/* audit_end - after the handler: the after snapshot and the row; commit or roll back. */
static void audit_end(struct api_req *r, struct audit_rec *a)
{
	if (!r->pg) { /* the handler lost its connection (answered 503) */
		char err[256];
		r->pg = cl_pg_pool_get(r->app->pool, 5000, err, sizeof err);
		if (!r->pg) {
			cl_log(CL_LOG_ERROR, NULL, "audit_write_failed", "method=%s route=%s why=\"%s\"", r->method,
			       a->rt->pattern, err);
			cl_metric_inc(r->app->m_audit_failures);
			return;
		}
	}
	if (!in_tx(r))
		r->audit_tx = 0;
	char err[256];
	if (r->audit_tx && PQtransactionStatus(r->pg->conn) == PQTRANS_INERROR)
		cl_pg_rollback_to(r->pg, AUDIT_SAVEPOINT, err, sizeof err); /* the failed statement's work */
	who_end(r, a);
	char before_scope[SC_N][24];
	memcpy(before_scope, a->scope, sizeof before_scope);
	int rc = snapshot(r, a, &a->after);
	if (!a->after) /* deleted (or never made): the place is the one before */
		memcpy(a->scope, before_scope, sizeof before_scope);
	if (a->kind && a->kind->no_json) {
		cJSON_Delete(a->before);
		cJSON_Delete(a->after);
		a->before = a->after = NULL;
	}
	audit_mask(a->before, a->after);
	if (rc == 0 && !anonymous_noise(r, a))
		rc = row_insert(r, a);
	if (r->audit_tx) {
		if (rc == 0 && cl_pg_commit(r->pg, err, sizeof err) < 0) {
			char esc[300];
			cl_log(CL_LOG_ERROR, NULL, "audit_write_failed", "method=%s route=%s msg=%s", r->method,
			       a->rt->pattern, cl_log_escape(esc, sizeof esc, err, strlen(err)));
			rc = -1;
		}
		if (rc < 0) {
			cl_pg_rollback(r->pg);
			refuse_unrecorded(r);
		}
		r->audit_tx = 0;
	}
	if (rc < 0)
		cl_metric_inc(r->app->m_audit_failures);
	if (in_tx(r)) /* never hand the pool a connection inside a transaction */
		cl_pg_rollback(r->pg);
}

/* audit_call - see audit.h */
void audit_call(struct api_req *r, const struct api_route *rt, api_handler_fn fn)
{
	struct audit_rec a;
	memset(&a, 0, sizeof a);
	a.rt = rt;
	who_begin(r, &a);
	char err[256];
	if (cl_pg_begin(r->pg, NULL, err, sizeof err) < 0) {
		char esc[300];
		cl_log(CL_LOG_ERROR, NULL, "audit_begin_failed", "msg=%s",
		       cl_log_escape(esc, sizeof esc, err, strlen(err)));
		api_err(r, 503, "the database is not available, try again later");
		return;
	}
	r->audit_tx = 1;
	if (snapshot(r, &a, &a.before) < 0 || cl_pg_savepoint(r->pg, AUDIT_SAVEPOINT, err, sizeof err) < 0) {
		cl_pg_rollback(r->pg);
		r->audit_tx = 0;
		cl_metric_inc(r->app->m_audit_failures);
		api_err(r, 503, "the database is not available, try again later");
		return;
	}
	if (fn)
		fn(r);
	audit_end(r, &a);
	cJSON_Delete(a.before);
	cJSON_Delete(a.after);
}

/* audit_pause - see audit.h */
void audit_pause(struct api_req *r)
{
	if (!r->audit_tx)
		return;
	r->audit_tx = 0;
	char err[256];
	if (PQtransactionStatus(r->pg->conn) == PQTRANS_INERROR)
		cl_pg_rollback_to(r->pg, AUDIT_SAVEPOINT, err, sizeof err);
	if (cl_pg_commit(r->pg, err, sizeof err) < 0)
		cl_pg_rollback(r->pg);
}

/* secret_name - does a JSON member name mark a secret? Substrings, case-insensitive; a name
 * ending in "key" is one (api_key, private_key), the bare "key" (a setting's name) is not;
 * a time or flag about a secret (..._at, ..._set) is not one. */
static int secret_name(const char *name)
{
	static const char *const WORDS[] = {"pass",    "hash", "secret", "token", "credential",
					    "private", "csrf", "cookie", "psk"};
	char low[64];
	size_t n;
	for (n = 0; name[n] && n < sizeof low - 1; n++)
		low[n] = (char)tolower((unsigned char)name[n]);
	low[n] = '\0';
	/* about a secret, not one: password_changed_at, relay_auth_pass_set */
	if ((n > 3 && strcmp(low + n - 3, "_at") == 0) || (n > 4 && strcmp(low + n - 4, "_set") == 0))
		return 0;
	for (size_t i = 0; i < sizeof WORDS / sizeof WORDS[0]; i++)
		if (strstr(low, WORDS[i]))
			return 1;
	return n > 3 && strcmp(low + n - 3, "key") == 0;
}

static void mask_value(cJSON *o, const cJSON *other);

/* mask_item - mask the members of one object o (compared with other, the raw other
 * snapshot of the same object, or NULL). */
static void mask_object(cJSON *o, const cJSON *other)
{
	const cJSON *key = cJSON_GetObjectItemCaseSensitive(o, "key");
	int secret_setting = cJSON_IsString(key) && secret_name(key->valuestring);
	cJSON *m = o->child;
	while (m) {
		cJSON *next = m->next;
		const cJSON *om = cJSON_IsObject(other) ? cJSON_GetObjectItemCaseSensitive(other, m->string) : NULL;
		if (secret_name(m->string) || (secret_setting && strcmp(m->string, "value") == 0)) {
			if (!cJSON_IsNull(m)) {
				int changed = other && !cJSON_Compare(m, om, 1);
				/* by name: the replacement takes over the member's name */
				cJSON_ReplaceItemInObjectCaseSensitive(
				    o, m->string, cJSON_CreateString(changed ? "[masked, changed]" : "[masked]"));
			}
		} else {
			mask_value(m, om);
		}
		m = next;
	}
}

static void mask_value(cJSON *o, const cJSON *other)
{
	if (cJSON_IsObject(o))
		mask_object(o, other);
	else if (cJSON_IsArray(o))
		for (cJSON *it = o->child; it; it = it->next)
			mask_value(it, NULL);
}

/* audit_mask - see audit.h */
void audit_mask(cJSON *before, cJSON *after)
{
	cJSON *ref = before ? cJSON_Duplicate(before, 1) : NULL;
	if (before)
		mask_value(before, after);
	if (after)
		mask_value(after, ref ? ref : before);
	cJSON_Delete(ref);
}
