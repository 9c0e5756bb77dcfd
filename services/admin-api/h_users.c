/* h_users.c - /api/users and their admin scopes.
 *
 * An admin manages the accounts of the domains in its scope whose role is lower than its
 * own (a root-admin manages all); it may give only roles lower than its own. A user reads
 * and renames itself; nobody changes their own role, scope, domain or enabled flag.
 * Any change of privilege (role, scope, password, enabled, domain) ends the target's
 * sessions, so the new privilege applies from a fresh login. Password hashes never leave
 * the database. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/password.h"
#include "crud.h"
#include "routes.h"
#include "scope.h"
#include "session.h"

static const struct api_field USER_FIELDS[] = {
    {"id", F_INT, ROLE_ROOT, 0, 0, NULL, FF_READONLY, NULL},
    {"created_at", F_STR, ROLE_ROOT, 0, 0, NULL, FF_READONLY, NULL},
    {"password_changed_at", F_STR, ROLE_ROOT, 0, 0, NULL, FF_READONLY, NULL},
    {"domain_id", F_INT, ROLE_DOMAIN_ADMIN, 1, 9000000000000000LL, NULL, FF_REQUIRED, NULL},
    {"local_part", F_STR, ROLE_DOMAIN_ADMIN, 1, 64, NULL, FF_REQUIRED, NULL},
    {"role", F_STR, ROLE_DOMAIN_ADMIN, 0, 20, "user|domain-admin|group-admin|root-admin", 0, NULL},
    {"display_name", F_STR, ROLE_USER, 0, 200, NULL, FF_NULLABLE, NULL},
    {"quota_bytes", F_INT, ROLE_DOMAIN_ADMIN, 1, 9000000000000000LL, NULL, FF_NULLABLE, NULL},
    {"enabled", F_BOOL, ROLE_DOMAIN_ADMIN, 0, 0, NULL, 0, NULL},
    {"password", F_STR, ROLE_DOMAIN_ADMIN, 1, CL_PASSWORD_MAX, NULL, FF_NOCOLUMN | FF_NULLABLE, NULL},
};
#define NUF (sizeof USER_FIELDS / sizeof USER_FIELDS[0])

#define USER_COLS                                                                                                      \
	"u.id, u.local_part || '@' || d.name AS address, u.local_part, u.domain_id, d.name AS domain, "                \
	"d.group_id, u.role, u.display_name, u.quota_bytes, u.enabled, "                                               \
	"u.password_hash IS NOT NULL AS local_password, u.password_changed_at, u.created_at"

static void user_scope(struct api_req *r, struct qb *q)
{
	scope_user_cond(r, q, "u.id", "u.domain_id");
}

void h_users_list(struct api_req *r)
{
	struct qb q;
	qb_init(&q, "SELECT " USER_COLS " FROM users u JOIN domains d ON d.id = u.domain_id WHERE true");
	scope_domain_cond(r, &q, "u.domain_id");
	api_eq_filter(r, &q, "domain_id", "u.domain_id", "::bigint");
	api_eq_filter(r, &q, "group_id", "d.group_id", "::bigint");
	api_eq_filter(r, &q, "role", "u.role", NULL);
	api_eq_filter(r, &q, "enabled", "u.enabled", "::boolean");
	api_text_filter(r, &q, "q", "u.local_part || '@' || d.name");
	api_list(r, &q, "d.name, u.local_part");
	qb_free(&q);
}

void h_user_get(struct api_req *r)
{
	long long id = api_arg_id(r, 0);
	if (id < 0)
		return;
	struct qb q;
	qb_init(&q, "SELECT " USER_COLS " FROM users u JOIN domains d ON d.id = u.domain_id WHERE u.id = ");
	qb_add(&q, "$%d", qb_param_ll(&q, id));
	user_scope(r, &q);
	api_one(r, &q, "user");
	qb_free(&q);
}

/* role_grantable - may the caller give this role (the body's "role", if any)? */
static int role_grantable(struct api_req *r)
{
	const char *role = api_in_str(r, "role");
	if (!role)
		return 1;
	enum api_role want = api_role_parse(role);
	if (r->me.role == ROLE_ROOT || (want != ROLE_NONE && want < r->me.role))
		return 1;
	api_err(r, 403, "you may not give the role %s", role);
	return 0;
}

/* domain_target_ok - a domain_id in the body must be in scope (404). */
static int domain_target_ok(struct api_req *r)
{
	long long did = 0;
	int has = api_in_id(r, "domain_id", &did);
	if (has <= 0)
		return has == 0;
	int in = scope_has_domain(r, did);
	if (in == 0)
		api_err(r, 404, "domain not found");
	return in == 1;
}

/* password_param - hash the body's password into q: the parameter number, 0 when the body
 * has none, -2 when it is null (remove), -1 when answered. */
static int password_param(struct api_req *r, struct qb *q)
{
	const cJSON *pw = cJSON_GetObjectItemCaseSensitive(r->in, "password");
	if (!pw)
		return 0;
	if (cJSON_IsNull(pw))
		return -2;
	if (!cJSON_IsString(pw) || strlen(pw->valuestring) < (size_t)r->app->cfg->password_min ||
	    strlen(pw->valuestring) > CL_PASSWORD_MAX) {
		api_err(r, 400, "password must be a string of %lld to %d characters", r->app->cfg->password_min,
			CL_PASSWORD_MAX);
		return -1;
	}
	char hash[CL_PASSWORD_HASH_MAX];
	if (cl_password_hash(pw->valuestring, hash, sizeof hash) < 0) {
		api_err(r, 500, "internal error");
		return -1;
	}
	return qb_param(q, hash);
}

void h_user_create(struct api_req *r)
{
	if (!api_body_object(r) || !role_grantable(r) || !domain_target_ok(r))
		return;
	struct qb q;
	qb_init(&q, "WITH u AS (INSERT INTO users");
	int pp = password_param(r, &q);
	char extra[32] = "";
	if (pp > 0)
		snprintf(extra, sizeof extra, "$%d", pp);
	if (pp != -1 &&
	    api_fields_sql(r, USER_FIELDS, NUF, FLD_INSERT, &q, pp > 0 ? "password_hash" : NULL, extra) >= 0) {
		qb_add(&q, " RETURNING *) SELECT " USER_COLS " FROM u JOIN domains d ON d.id = u.domain_id");
		PGresult *res = api_exec(r, &q);
		if (res) {
			api_ok(r, 201, api_row_json(res, 0));
			PQclear(res);
		}
	}
	qb_free(&q);
}

/* self_update_ok - on one's own account only display_name may change. */
static int self_update_ok(struct api_req *r)
{
	for (const cJSON *it = r->in->child; it; it = it->next)
		if (strcmp(it->string, "display_name") != 0) {
			api_err(r, 403, "you may not change your own %.60s%s", it->string,
				strcmp(it->string, "password") == 0 ? " here (use /api/password)" : "");
			return 0;
		}
	return 1;
}

void h_user_update(struct api_req *r)
{
	long long id = api_arg_id(r, 0);
	if (id < 0 || !api_body_object(r))
		return;
	int self = id == r->me.id;
	if (self ? !self_update_ok(r) : (!scope_user_target_ok(r, id) || !role_grantable(r) || !domain_target_ok(r)))
		return;
	struct qb q;
	qb_init(&q, "UPDATE users u SET ");
	int pp = password_param(r, &q);
	int cols = pp == -1 ? -1 : api_fields_sql(r, USER_FIELDS, NUF, FLD_UPDATE, &q, NULL, NULL);
	if (cols >= 0 && pp != 0) {
		if (pp > 0)
			qb_add(&q, "%spassword_hash = $%d, password_changed_at = now()", cols ? ", " : "", pp);
		else
			qb_add(&q, "%spassword_hash = NULL", cols ? ", " : "");
		cols++;
	}
	if (cols == 0)
		api_err(r, 400, "nothing to change");
	if (cols > 0) {
		qb_add(&q, " FROM domains d WHERE d.id = u.domain_id AND u.id = $%d", qb_param_ll(&q, id));
		user_scope(r, &q);
		qb_add(&q, " RETURNING " USER_COLS);
		api_one(r, &q, "user");
		int privilege = !self && r->status == 200 &&
				(cJSON_GetObjectItemCaseSensitive(r->in, "role") || pp != 0 ||
				 cJSON_GetObjectItemCaseSensitive(r->in, "enabled") ||
				 cJSON_GetObjectItemCaseSensitive(r->in, "domain_id"));
		if (privilege) {
			cJSON *keep = r->out;
			r->out = NULL;
			session_end_user(r, id, NULL);
			api_ok(r, 200, keep);
		}
	}
	qb_free(&q);
}

void h_user_delete(struct api_req *r)
{
	long long id = api_arg_id(r, 0);
	if (id < 0)
		return;
	if (id == r->me.id) {
		api_err(r, 403, "you may not delete your own account");
		return;
	}
	if (scope_user_target_ok(r, id))
		api_delete(r, "users u", "u", id, NULL, "user");
}

#define SCOPE_COLS                                                                                                     \
	"s.id, s.user_id, s.group_id, (SELECT g.name FROM groups g WHERE g.id = s.group_id) AS group_name, "           \
	"s.domain_id, (SELECT d.name FROM domains d WHERE d.id = s.domain_id) AS domain_name"

void h_scopes_list(struct api_req *r)
{
	long long id = api_arg_id(r, 0);
	if (id < 0)
		return;
	if (id != r->me.id) {
		int m = scope_user_manageable(r, id, NULL);
		if (m <= 0) {
			if (m == 0)
				api_err(r, 404, "user not found");
			return;
		}
	}
	struct qb q;
	qb_init(&q, "SELECT " SCOPE_COLS " FROM admin_scopes s WHERE s.user_id = ");
	qb_add(&q, "$%d", qb_param_ll(&q, id));
	api_list(r, &q, "s.id");
	qb_free(&q);
}

/* scope_grant_ok - may the caller grant or remove a scope on a group (root only) or on a
 * domain (one of its own)? 1, or 0 answered. */
static int scope_grant_ok(struct api_req *r, long long gid, long long did)
{
	if (gid && r->me.role != ROLE_ROOT) {
		api_err(r, 403, "only a root-admin grants group scopes");
		return 0;
	}
	if (did) {
		int in = scope_has_domain(r, did);
		if (in == 0)
			api_err(r, 404, "domain not found");
		return in == 1;
	}
	return 1;
}

void h_scope_create(struct api_req *r)
{
	long long id = api_arg_id(r, 0), gid = 0, did = 0;
	if (id < 0 || !api_body_object(r))
		return;
	if (id == r->me.id) {
		api_err(r, 403, "you may not change your own scope");
		return;
	}
	int hg = api_in_id(r, "group_id", &gid), hd = api_in_id(r, "domain_id", &did);
	if (hg < 0 || hd < 0)
		return;
	for (const cJSON *it = r->in->child; it; it = it->next)
		if (strcmp(it->string, "group_id") != 0 && strcmp(it->string, "domain_id") != 0) {
			api_err(r, 400, "unknown field: %.60s", it->string);
			return;
		}
	if (hg + hd != 1) {
		api_err(r, 400, "give exactly one of group_id and domain_id");
		return;
	}
	enum api_role tr = ROLE_NONE;
	int m = scope_user_manageable(r, id, &tr);
	if (m != 1) {
		if (m == 0)
			api_err(r, 404, "user not found");
		else if (m == 2)
			api_err(r, 403, "you may not manage this account");
		return;
	}
	if ((hg && tr != ROLE_GROUP_ADMIN) || (hd && tr != ROLE_DOMAIN_ADMIN)) {
		api_err(r, 400, "group scopes go to group-admins, domain scopes to domain-admins");
		return;
	}
	if (!scope_grant_ok(r, gid, did))
		return;
	struct qb q;
	qb_init(&q, "");
	int a = qb_param_ll(&q, id);
	int c = qb_param_ll(&q, hg ? gid : did);
	qb_add(&q,
	       "WITH s AS (INSERT INTO admin_scopes (user_id, %s) VALUES ($%d, $%d) RETURNING *) SELECT " SCOPE_COLS
	       " FROM s",
	       hg ? "group_id" : "domain_id", a, c);
	PGresult *res = api_exec(r, &q);
	qb_free(&q);
	if (!res)
		return;
	cJSON *row = api_row_json(res, 0);
	PQclear(res);
	session_end_user(r, id, NULL);
	api_ok(r, 201, row);
}

void h_scope_delete(struct api_req *r)
{
	long long id = api_arg_id(r, 0);
	if (id < 0)
		return;
	long long sid = api_arg_id(r, 1);
	if (sid < 0)
		return;
	if (id == r->me.id) {
		api_err(r, 403, "you may not change your own scope");
		return;
	}
	if (!scope_user_target_ok(r, id))
		return;
	struct qb q;
	qb_init(&q, "SELECT coalesce(group_id, 0), coalesce(domain_id, 0) FROM admin_scopes WHERE id = ");
	qb_add(&q, "$%d AND user_id = $%d", qb_param_ll(&q, sid), qb_param_ll(&q, id));
	PGresult *res = api_exec(r, &q);
	qb_free(&q);
	if (!res)
		return;
	if (PQntuples(res) != 1) {
		PQclear(res);
		api_err(r, 404, "scope not found");
		return;
	}
	long long gid = atoll(PQgetvalue(res, 0, 0)), did = atoll(PQgetvalue(res, 0, 1));
	PQclear(res);
	if (!scope_grant_ok(r, gid, did))
		return;
	api_delete(r, "admin_scopes s", "s", sid, NULL, "scope");
	if (r->status == 200)
		session_end_user(r, id, NULL);
}
