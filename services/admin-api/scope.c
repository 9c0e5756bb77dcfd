/* scope.c - see scope.h. */
#include "scope.h"

#include <stdlib.h>
#include <string.h>

#include "fields.h"

void scope_domain_cond(struct api_req *r, struct qb *q, const char *col)
{
	if (r->me.role == ROLE_ROOT)
		return;
	int n = qb_param_ll(q, r->me.id);
	qb_add(q, " AND %s IN (SELECT clement_scope_domains($%d))", col, n);
}

void scope_group_cond(struct api_req *r, struct qb *q, const char *col)
{
	if (r->me.role == ROLE_ROOT)
		return;
	int n = qb_param_ll(q, r->me.id);
	qb_add(q, " AND %s IN (SELECT clement_scope_groups($%d))", col, n);
}

void scope_row_cond(struct api_req *r, struct qb *q, const char *dcol, const char *gcol)
{
	if (r->me.role == ROLE_ROOT)
		return;
	int n = qb_param_ll(q, r->me.id);
	qb_add(q, " AND (%s IN (SELECT clement_scope_domains($%d)) OR %s IN (SELECT clement_scope_groups($%d)))", dcol,
	       n, gcol, n);
}

void scope_user_cond(struct api_req *r, struct qb *q, const char *ucol, const char *dcol)
{
	if (r->me.role == ROLE_ROOT)
		return;
	int n = qb_param_ll(q, r->me.id);
	qb_add(q, " AND (%s = $%d OR %s IN (SELECT clement_scope_domains($%d)))", ucol, n, dcol, n);
}

static int scope_check(struct api_req *r, const char *sql, long long id)
{
	if (r->me.role == ROLE_ROOT)
		return 1; /* existence is checked by the statement that uses the id */
	struct qb q;
	qb_init(&q, "");
	int a = qb_param_ll(&q, r->me.id), b = qb_param_ll(&q, id);
	qb_add(&q, sql, b, a);
	int rc = api_scalar(r, &q, NULL, 0);
	qb_free(&q);
	return rc;
}

int scope_has_domain(struct api_req *r, long long domain_id)
{
	return scope_check(r, "SELECT 1 WHERE $%d IN (SELECT clement_scope_domains($%d))", domain_id);
}

int scope_has_group(struct api_req *r, long long group_id)
{
	return scope_check(r, "SELECT 1 WHERE $%d IN (SELECT clement_scope_groups($%d))", group_id);
}

/* scope_user_manageable - see scope.h */
int scope_user_manageable(struct api_req *r, long long uid, enum api_role *target_role)
{
	struct qb q;
	qb_init(&q, "SELECT u.role FROM users u WHERE u.id = ");
	qb_add(&q, "$%d", qb_param_ll(&q, uid));
	scope_domain_cond(r, &q, "u.domain_id");
	char role[32];
	int rc = api_scalar(r, &q, role, sizeof role);
	qb_free(&q);
	if (rc <= 0)
		return rc;
	enum api_role tr = api_role_parse(role);
	if (target_role)
		*target_role = tr;
	if (r->me.role == ROLE_ROOT)
		return 1;
	return tr < r->me.role ? 1 : 2;
}

/* scope_managed_user_cond - see scope.h */
void scope_managed_user_cond(struct api_req *r, struct qb *q, const char *ucol, const char *dcol)
{
	if (r->me.role == ROLE_ROOT)
		return;
	int n = qb_param_ll(q, r->me.id), k = qb_param_ll(q, r->me.role);
	qb_add(q,
	       " AND (%s = $%d OR (%s IN (SELECT clement_scope_domains($%d)) AND (%s IS NULL OR %s IN (SELECT u.id "
	       "FROM users u WHERE clement_role_rank(u.role) < $%d))))",
	       ucol, n, dcol, n, ucol, ucol, k);
}

void scope_owner_cond(struct api_req *r, struct qb *q, const char *a)
{
	if (r->me.role == ROLE_ROOT)
		return;
	int n = qb_param_ll(q, r->me.id), k = qb_param_ll(q, r->me.role);
	qb_add(q,
	       " AND (%s.user_id = $%d OR %s.user_id IN (SELECT u.id FROM users u WHERE u.domain_id IN "
	       "(SELECT clement_scope_domains($%d)) AND clement_role_rank(u.role) < $%d) OR %s.domain_id IN "
	       "(SELECT clement_scope_domains($%d)) OR %s.group_id IN (SELECT clement_scope_groups($%d)))",
	       a, n, a, n, k, a, n, a, n);
}

/* scope_user_owner_ok - may the caller own something in the name of account uid: itself, or an
 * account it manages? 1, or 0 answered (404 out of scope, 403 role not below the caller's). */
static int scope_user_owner_ok(struct api_req *r, long long uid)
{
	if (uid == r->me.id)
		return 1;
	int m = scope_user_manageable(r, uid, NULL);
	if (m == 0)
		api_err(r, 404, "user not found");
	else if (m == 2)
		api_err(r, 403,
			"this account's role is not below yours: its directives, digests and quarantine are "
			"managed by an admin above it");
	return m == 1;
}

/* scope_owner_body - see scope.h */
int scope_owner_body(struct api_req *r, const char **col, long long *id)
{
	static const struct {
		const char *col;
		enum api_role min;
		const char *what;
	} LEVELS[] = {{"user_id", ROLE_USER, "user"},
		      {"domain_id", ROLE_DOMAIN_ADMIN, "domain"},
		      {"group_id", ROLE_GROUP_ADMIN, "group"}};
	int found = -1;
	for (int i = 0; i < 3; i++) {
		long long v;
		int has = api_in_id(r, LEVELS[i].col, &v);
		if (has < 0)
			return 0;
		if (!has)
			continue;
		if (found >= 0) {
			api_err(r, 400, "give only one of user_id, domain_id and group_id");
			return 0;
		}
		found = i;
		*id = v;
	}
	if (found < 0) {
		*col = "user_id";
		*id = r->me.id;
		return 1;
	}
	*col = LEVELS[found].col;
	if (r->me.role < LEVELS[found].min) {
		api_err(r, 403, "you may not set %s", LEVELS[found].col);
		return 0;
	}
	if (found == 0)
		return scope_user_owner_ok(r, *id);
	int in = found == 1 ? scope_has_domain(r, *id) : scope_has_group(r, *id);
	if (in == 0)
		api_err(r, 404, "%s not found", LEVELS[found].what);
	return in == 1;
}

int scope_user_target_ok(struct api_req *r, long long uid)
{
	int m = scope_user_manageable(r, uid, NULL);
	if (m == 0)
		api_err(r, 404, "user not found");
	else if (m == 2)
		api_err(r, 403, "you may not manage this account");
	return m == 1;
}
