/* h_domains.c - /api/domains: a domain, its group, what happens to senders no directive
 * names, and its rejection texts.
 *
 * group-admins create and delete domains in their groups (and may move one between their
 * groups); a domain-admin edits its domains' default action and texts only. */
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
};
#define NDF (sizeof DOMAIN_FIELDS / sizeof DOMAIN_FIELDS[0])

#define DOMAIN_COLS                                                                                                    \
	"d.id, d.name, d.group_id, (SELECT g.name FROM groups g WHERE g.id = d.group_id) AS group_name, "              \
	"d.default_action, d.reject_text, d.unknown_user_text, d.created_at, "                                         \
	"(SELECT count(*) FROM users u WHERE u.domain_id = d.id) AS users"

static void domain_scope(struct api_req *r, struct qb *q)
{
	scope_domain_cond(r, q, "d.id");
}

/* domain_group_scope - for deletes: the domain's group must be one the caller administers. */
static void domain_group_scope(struct api_req *r, struct qb *q)
{
	scope_group_cond(r, q, "d.group_id");
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

void h_domain_delete(struct api_req *r)
{
	long long id = api_arg_id(r, 0);
	if (id >= 0)
		api_delete(r, "domains d", "d", id, domain_group_scope, "domain");
}
