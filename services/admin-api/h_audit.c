/* h_audit.c - GET /api/audit: the audit trail (audit.h writes it), newest first.
 *
 * A root-admin sees every row; a group-admin the rows whose target lies in its groups (the
 * group itself, its domains and what is in them); a domain-admin the rows whose target lies
 * in its domains; neither the rows about an account of a role not below its own, or about
 * what belongs to such an account (owner_cond). Rows of root-only objects (bans, never-ban networks, mesh peers,
 * settings) and of failed logins to unknown addresses belong to no domain or group: root only. Filters narrow the
 * scope, never widen it; a filter value of the wrong type is 400. */
#include <string.h>

#include "crud.h"
#include "routes.h"
#include "scope.h"

#define AUDIT_COLS                                                                                                     \
	"a.id, a.at, a.actor_id, a.actor_name, a.actor_role, host(a.client_ip) AS client_ip, a.method, a.route, "      \
	"a.target_type, a.target_id, a.domain_id, a.group_id, a.owner_id, a.owner_role, a.status, a.before, a.after"

/* owner_cond - below root, the rows about an account whose role is not below the caller's
 * (and about what belongs to it) are left out, as that account is (scope.h): a domain-admin
 * does not read its root-admin's logins. Its own rows it sees. */
static void owner_cond(struct api_req *r, struct qb *q)
{
	if (r->me.role == ROLE_ROOT)
		return;
	int me = qb_param_ll(q, r->me.id), k = qb_param_ll(q, r->me.role);
	qb_add(q, " AND (a.owner_id IS NULL OR a.owner_id = $%d OR clement_role_rank(a.owner_role) < $%d)", me, k);
}

/* outcome_filter - outcome "success" (status below 400) or "failure" (400 and above). 0, or
 * -1 answered 400. */
static int outcome_filter(struct api_req *r, struct qb *q, const char *outcome)
{
	if (!outcome || !*outcome)
		return 0;
	if (strcmp(outcome, "success") == 0)
		qb_add(q, " AND a.status < 400");
	else if (strcmp(outcome, "failure") == 0)
		qb_add(q, " AND a.status >= 400");
	else {
		api_err(r, 400, "outcome must be success or failure");
		return -1;
	}
	return 0;
}

void h_audit_list(struct api_req *r)
{
	struct qb q;
	qb_init(&q, "SELECT " AUDIT_COLS " FROM audit_log a WHERE true");
	scope_row_cond(r, &q, "a.domain_id", "a.group_id");
	owner_cond(r, &q);
	api_text_filter(r, &q, "actor", "a.actor_name");
	api_eq_filter(r, &q, "actor_id", "a.actor_id", "::bigint");
	api_eq_filter(r, &q, "method", "a.method", NULL);
	api_text_filter(r, &q, "route", "a.route");
	api_eq_filter(r, &q, "target_type", "a.target_type", NULL);
	api_eq_filter(r, &q, "target_id", "a.target_id", NULL);
	api_eq_filter(r, &q, "domain_id", "a.domain_id", "::bigint");
	api_eq_filter(r, &q, "group_id", "a.group_id", "::bigint");
	api_eq_filter(r, &q, "status", "a.status", "::int");
	api_time_filter(r, &q, "a.at");
	if (outcome_filter(r, &q, api_query(r, "outcome")) == 0)
		api_list(r, &q, "a.at DESC, a.id DESC");
	qb_free(&q);
}
