/* h_domains.c - /api/domains: a domain, its group, what happens to senders no directive
 * names, and its rejection texts.
 *
 * group-admins create and delete domains in their groups (and may move one between their
 * groups); a domain-admin edits its domains' default action and texts only. A domain is
 * deleted with its accounts, so a delete that would take an account its caller could not
 * delete one by one is refused (409, naming what is in the way). */
#include <stdlib.h>

#include "crud.h"
#include "routes.h"
#include "scope.h"

static const struct api_field DOMAIN_FIELDS[] = {
    {"id", F_INT, ROLE_ROOT, 0, 0, NULL, FF_READONLY, NULL},
    {"created_at", F_STR, ROLE_ROOT, 0, 0, NULL, FF_READONLY, NULL},
    {"name", F_STR, ROLE_GROUP_ADMIN, 3, 253, NULL, FF_REQUIRED | FF_NOUPDATE, NULL},
    {"group_id", F_INT, ROLE_GROUP_ADMIN, 1, 9000000000000000LL, NULL, FF_REQUIRED, NULL},
    {"default_action", F_STR, ROLE_DOMAIN_ADMIN, 0, 20, "accept|quarantine", 0, NULL},
    {"reject_text", F_STR, ROLE_DOMAIN_ADMIN, 0, 200, NULL, FF_NULLABLE, NULL},
    {"unknown_user_text", F_STR, ROLE_DOMAIN_ADMIN, 0, 200, NULL, FF_NULLABLE, NULL},
    /* content verdicts (issue 18): null = the group's value */
    {"spam_reject_score", F_NUM, ROLE_DOMAIN_ADMIN, -1000, 1000, NULL, FF_NULLABLE, "::numeric"},
    {"spam_quarantine_score", F_NUM, ROLE_DOMAIN_ADMIN, -1000, 1000, NULL, FF_NULLABLE, "::numeric"},
    {"spam_tag_score", F_NUM, ROLE_DOMAIN_ADMIN, -1000, 1000, NULL, FF_NULLABLE, "::numeric"},
    {"dmarc_enforce", F_BOOL, ROLE_DOMAIN_ADMIN, 0, 0, NULL, FF_NULLABLE, NULL},
};
#define NDF (sizeof DOMAIN_FIELDS / sizeof DOMAIN_FIELDS[0])

#define DOMAIN_COLS                                                                                                    \
	"d.id, d.name, d.group_id, (SELECT g.name FROM groups g WHERE g.id = d.group_id) AS group_name, "              \
	"d.default_action, d.reject_text, d.unknown_user_text, d.created_at, d.spam_reject_score, "                    \
	"d.spam_quarantine_score, d.spam_tag_score, d.dmarc_enforce, "                                                 \
	"(SELECT count(*) FROM users u WHERE u.domain_id = d.id) AS users"

static void domain_scope(struct api_req *r, struct qb *q)
{
	scope_domain_cond(r, q, "d.id");
}

/* DOMAIN_BLOCKERS - the accounts of domain d.id that the caller ($me, rank $k) could not delete
 * one by one (DELETE /api/users/{id}): itself, and below root-admin every account whose role
 * is not below the caller's. A root-admin may delete other root-admins; the last enabled one is
 * kept by the database (0008_admin_guards.sql). */
#define DOMAIN_BLOCKERS                                                                                                \
	"FROM users u WHERE u.domain_id = d.id AND (u.id = $%d OR ($%d < 4 AND clement_role_rank(u.role) >= $%d))"

/* domain_delete_scope - the domain's group is one the caller administers, and the delete would
 * not cascade over an account the caller could not delete itself (checked again here, in the
 * DELETE itself, against a change since domain_blockers looked). */
static void domain_delete_scope(struct api_req *r, struct qb *q)
{
	scope_group_cond(r, q, "d.group_id");
	int me = qb_param_ll(q, r->me.id), k = qb_param_ll(q, r->me.role);
	qb_add(q, " AND NOT EXISTS (SELECT 1 " DOMAIN_BLOCKERS ")", me, k, k);
}

/* domain_blockers - 1 when domain id (in the caller's group scope) holds no account the caller
 * could not delete by itself; otherwise 0, answered 409 naming them (404 when the domain is
 * out of scope); -1 answered. */
static int domain_blockers(struct api_req *r, long long id)
{
	struct qb q;
	qb_init(&q, "SELECT u.id = ");
	int me = qb_param_ll(&q, r->me.id), k = qb_param_ll(&q, r->me.role);
	qb_add(&q,
	       "$%d AS own, u.role, count(*) FROM domains d JOIN LATERAL (SELECT u.* " DOMAIN_BLOCKERS
	       ") u ON true WHERE d.id = $%d",
	       me, me, k, k, qb_param_ll(&q, id));
	scope_group_cond(r, &q, "d.group_id");
	qb_add(&q, " GROUP BY 1, 2 ORDER BY 1 DESC, clement_role_rank(u.role)");
	PGresult *res = api_exec(r, &q);
	qb_free(&q);
	if (!res)
		return -1;
	int n = PQntuples(res);
	if (n > 0) {
		struct cl_buf b;
		cl_buf_init(&b, 0);
		for (int i = 0; i < n; i++) {
			long long c = atoll(PQgetvalue(res, i, 2));
			cl_buf_printf(&b, "%s", i == 0 ? "" : i == n - 1 ? " and " : ", ");
			if (PQgetvalue(res, i, 0)[0] == 't')
				cl_buf_printf(&b, "your own account");
			else
				cl_buf_printf(&b, "%lld account%s with role %s", c, c == 1 ? "" : "s",
					      PQgetvalue(res, i, 1));
		}
		api_err(r, 409, "domain has %s that you may not delete", b.data ? b.data : "accounts");
		cl_buf_free(&b);
	}
	PQclear(res);
	return n == 0;
}

void h_domains_list(struct api_req *r)
{
	struct qb q;
	qb_init(&q, "SELECT " DOMAIN_COLS " FROM domains d WHERE true");
	domain_scope(r, &q);
	api_eq_filter(r, &q, "group_id", "d.group_id", "::bigint");
	api_text_filter(r, &q, "q", "d.name");
	api_list(r, &q, "d.name");
	qb_free(&q);
}

void h_domain_get(struct api_req *r)
{
	long long id = api_arg_id(r, 0);
	if (id < 0)
		return;
	struct qb q;
	qb_init(&q, "SELECT " DOMAIN_COLS " FROM domains d WHERE d.id = ");
	qb_add(&q, "$%d", qb_param_ll(&q, id));
	domain_scope(r, &q);
	api_one(r, &q, "domain");
	qb_free(&q);
}

/* group_target_ok - a group_id in the body must be one of the caller's groups (404). */
static int group_target_ok(struct api_req *r)
{
	long long gid = 0;
	int has = api_in_id(r, "group_id", &gid);
	if (has <= 0)
		return has == 0;
	int in = scope_has_group(r, gid);
	if (in == 0)
		api_err(r, 404, "group not found");
	return in == 1;
}

void h_domain_create(struct api_req *r)
{
	if (!api_body_object(r) || !group_target_ok(r))
		return;
	struct qb q;
	qb_init(&q, "");
	api_create(r, &q, "domains AS d", DOMAIN_FIELDS, NDF, NULL, NULL, DOMAIN_COLS);
	qb_free(&q);
}

void h_domain_update(struct api_req *r)
{
	long long id = api_arg_id(r, 0);
	if (id < 0 || !api_body_object(r))
		return;
	/* Role first (403 for a domain-admin moving a domain), then the target group's scope. */
	if (cJSON_GetObjectItemCaseSensitive(r->in, "group_id") && r->me.role < ROLE_GROUP_ADMIN) {
		api_err(r, 403, "you may not set group_id");
		return;
	}
	if (!group_target_ok(r))
		return;
	api_update(r, "domains d", "d", DOMAIN_FIELDS, NDF, id, domain_scope, DOMAIN_COLS, "domain");
}

/* h_domain_delete - DELETE /api/domains/{id}: the schema deletes the domain's accounts with it
 * (ON DELETE CASCADE), so the caller must be one who could delete each of them (issue 15). */
void h_domain_delete(struct api_req *r)
{
	long long id = api_arg_id(r, 0);
	if (id >= 0 && domain_blockers(r, id) == 1)
		api_delete(r, "domains d", "d", id, domain_delete_scope, "domain");
}
