/* h_directives.c - /api/directives: sender-receiver directives (accept, reject or
 * quarantine mail from a sender pattern) at user, domain or group level.
 *
 * A user manages its own; admins those of the domains and groups in their scope and of the
 * accounts there whose role is below their own (a domain-admin: users; never a higher admin's).
 * Patterns are an exact address, "@domain" or "*.domain" (the schema checks the form). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "crud.h"
#include "routes.h"
#include "scope.h"

static const struct api_field DIRECTIVE_FIELDS[] = {
    {"id", F_INT, ROLE_ROOT, 0, 0, NULL, FF_READONLY, NULL},
    {"created_at", F_STR, ROLE_ROOT, 0, 0, NULL, FF_READONLY, NULL},
    {"created_by", F_INT, ROLE_ROOT, 0, 0, NULL, FF_READONLY, NULL},
    {"user_id", F_INT, ROLE_USER, 1, 9000000000000000LL, NULL, FF_NOCOLUMN | FF_NOUPDATE, NULL},
    {"domain_id", F_INT, ROLE_USER, 1, 9000000000000000LL, NULL, FF_NOCOLUMN | FF_NOUPDATE, NULL},
    {"group_id", F_INT, ROLE_USER, 1, 9000000000000000LL, NULL, FF_NOCOLUMN | FF_NOUPDATE, NULL},
    {"sender_pattern", F_STR, ROLE_USER, 2, 320, NULL, FF_REQUIRED, "::text"},
    {"action", F_STR, ROLE_USER, 0, 20, "accept|reject|quarantine", FF_REQUIRED, NULL},
};
#define NDF (sizeof DIRECTIVE_FIELDS / sizeof DIRECTIVE_FIELDS[0])

#define DIRECTIVE_COLS                                                                                                 \
	"x.id, CASE WHEN x.user_id IS NOT NULL THEN 'user' WHEN x.domain_id IS NOT NULL THEN 'domain' "                \
	"ELSE 'group' END AS level, x.user_id, x.domain_id, x.group_id, "                                              \
	"(SELECT u.local_part || '@' || d.name FROM users u JOIN domains d ON d.id = u.domain_id "                     \
	"WHERE u.id = x.user_id) AS user_address, "                                                                    \
	"(SELECT d.name FROM domains d WHERE d.id = x.domain_id) AS domain_name, "                                     \
	"(SELECT g.name FROM groups g WHERE g.id = x.group_id) AS group_name, "                                        \
	"x.sender_pattern, x.action, x.created_at, x.created_by"

static void directive_scope(struct api_req *r, struct qb *q)
{
	scope_owner_cond(r, q, "x");
}

/* lower_pattern - patterns are stored lower-case (the schema insists): fold the body's. */
static void lower_pattern(struct api_req *r)
{
	cJSON *p = cJSON_GetObjectItemCaseSensitive(r->in, "sender_pattern");
	if (cJSON_IsString(p))
		for (char *s = p->valuestring; *s; s++)
			*s = (char)tolower((unsigned char)*s);
}

void h_directives_list(struct api_req *r)
{
	struct qb q;
	qb_init(&q, "SELECT " DIRECTIVE_COLS " FROM directives x WHERE true");
	directive_scope(r, &q);
	const char *level = api_query(r, "level");
	if (level && strcmp(level, "user") == 0)
		qb_add(&q, " AND x.user_id IS NOT NULL");
	else if (level && strcmp(level, "domain") == 0)
		qb_add(&q, " AND x.domain_id IS NOT NULL");
	else if (level && strcmp(level, "group") == 0)
		qb_add(&q, " AND x.group_id IS NOT NULL");
	else if (level && *level) {
		api_err(r, 400, "level must be user, domain or group");
		qb_free(&q);
		return;
	}
	api_eq_filter(r, &q, "user_id", "x.user_id", "::bigint");
	api_eq_filter(r, &q, "domain_id", "x.domain_id", "::bigint");
	api_eq_filter(r, &q, "group_id", "x.group_id", "::bigint");
	api_eq_filter(r, &q, "action", "x.action", NULL);
	api_text_filter(r, &q, "sender", "x.sender_pattern");
	api_list(r, &q, "x.sender_pattern, x.id");
	qb_free(&q);
}

void h_directive_get(struct api_req *r)
{
	long long id = api_arg_id(r, 0);
	if (id < 0)
		return;
	struct qb q;
	qb_init(&q, "SELECT " DIRECTIVE_COLS " FROM directives x WHERE x.id = ");
	qb_add(&q, "$%d", qb_param_ll(&q, id));
	directive_scope(r, &q);
	api_one(r, &q, "directive");
	qb_free(&q);
}

void h_directive_create(struct api_req *r)
{
	const char *col;
	long long owner;
	if (!api_body_object(r) || !scope_owner_body(r, &col, &owner))
		return;
	lower_pattern(r);
	struct qb q;
	qb_init(&q, "WITH x AS (INSERT INTO directives");
	int a = qb_param_ll(&q, owner), b = qb_param_ll(&q, r->me.id);
	char cols[40], vals[40];
	snprintf(cols, sizeof cols, "%s, created_by", col);
	snprintf(vals, sizeof vals, "$%d, $%d", a, b);
	if (api_fields_sql(r, DIRECTIVE_FIELDS, NDF, FLD_INSERT, &q, cols, vals) >= 0) {
		qb_add(&q, " RETURNING *) SELECT " DIRECTIVE_COLS " FROM x");
		PGresult *res = api_exec(r, &q);
		if (res) {
			api_ok(r, 201, api_row_json(res, 0));
			PQclear(res);
		}
	}
	qb_free(&q);
}

void h_directive_update(struct api_req *r)
{
	long long id = api_arg_id(r, 0);
	if (id < 0 || !api_body_object(r))
		return;
	lower_pattern(r);
	api_update(r, "directives x", "x", DIRECTIVE_FIELDS, NDF, id, directive_scope, DIRECTIVE_COLS, "directive");
}

void h_directive_delete(struct api_req *r)
{
	long long id = api_arg_id(r, 0);
	if (id >= 0)
		api_delete(r, "directives x", "x", id, directive_scope, "directive");
}
