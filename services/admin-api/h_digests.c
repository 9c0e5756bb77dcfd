/* h_digests.c - /api/digest-schedules: when delivery sends quarantine digests, per user,
 * domain or group (daily at a time, on chosen weekdays at a time, or every N hours).
 * Same ownership rules as directives; next_run_at is delivery's business (read-only here). */
#include <stdio.h>

#include "crud.h"
#include "routes.h"
#include "scope.h"

static const struct api_field SCHEDULE_FIELDS[] = {
    {"id", F_INT, ROLE_ROOT, 0, 0, NULL, FF_READONLY, NULL},
    {"next_run_at", F_STR, ROLE_ROOT, 0, 0, NULL, FF_READONLY, NULL},
    {"last_run_at", F_STR, ROLE_ROOT, 0, 0, NULL, FF_READONLY, NULL},
    {"user_id", F_INT, ROLE_USER, 1, 9000000000000000LL, NULL, FF_NOCOLUMN | FF_NOUPDATE, NULL},
    {"domain_id", F_INT, ROLE_USER, 1, 9000000000000000LL, NULL, FF_NOCOLUMN | FF_NOUPDATE, NULL},
    {"group_id", F_INT, ROLE_USER, 1, 9000000000000000LL, NULL, FF_NOCOLUMN | FF_NOUPDATE, NULL},
    {"kind", F_STR, ROLE_USER, 0, 10, "daily|weekdays|interval", FF_REQUIRED, NULL},
    {"at_time", F_STR, ROLE_USER, 4, 8, NULL, FF_NULLABLE, "::time"},
    {"weekdays", F_INT, ROLE_USER, 1, 127, NULL, FF_NULLABLE, NULL},
    {"interval_hours", F_INT, ROLE_USER, 1, 168, NULL, FF_NULLABLE, NULL},
    {"enabled", F_BOOL, ROLE_USER, 0, 0, NULL, 0, NULL},
};
#define NSF (sizeof SCHEDULE_FIELDS / sizeof SCHEDULE_FIELDS[0])

#define SCHEDULE_COLS                                                                                                  \
	"x.id, CASE WHEN x.user_id IS NOT NULL THEN 'user' WHEN x.domain_id IS NOT NULL THEN 'domain' "                \
	"ELSE 'group' END AS level, x.user_id, x.domain_id, x.group_id, x.kind, "                                      \
	"to_char(x.at_time, 'HH24:MI') AS at_time, x.weekdays, x.interval_hours, x.enabled, "                          \
	"x.next_run_at, x.last_run_at"

static void schedule_scope(struct api_req *r, struct qb *q)
{
	scope_owner_cond(r, q, "x");
}

void h_digest_schedules_list(struct api_req *r)
{
	struct qb q;
	qb_init(&q, "SELECT " SCHEDULE_COLS " FROM digest_schedules x WHERE true");
	schedule_scope(r, &q);
	api_eq_filter(r, &q, "user_id", "x.user_id", "::bigint");
	api_eq_filter(r, &q, "domain_id", "x.domain_id", "::bigint");
	api_eq_filter(r, &q, "group_id", "x.group_id", "::bigint");
	api_list(r, &q, "x.id");
	qb_free(&q);
}

void h_digest_schedule_create(struct api_req *r)
{
	const char *col;
	long long owner;
	if (!api_body_object(r) || !scope_owner_body(r, &col, &owner))
		return;
	struct qb q;
	qb_init(&q, "WITH x AS (INSERT INTO digest_schedules");
	int a = qb_param_ll(&q, owner);
	char vals[24];
	snprintf(vals, sizeof vals, "$%d", a);
	if (api_fields_sql(r, SCHEDULE_FIELDS, NSF, FLD_INSERT, &q, col, vals) >= 0) {
		qb_add(&q, " RETURNING *) SELECT " SCHEDULE_COLS " FROM x");
		PGresult *res = api_exec(r, &q);
		if (res) {
			api_ok(r, 201, api_row_json(res, 0));
			PQclear(res);
		}
	}
	qb_free(&q);
}

void h_digest_schedule_update(struct api_req *r)
{
	long long id = api_arg_id(r, 0);
	if (id >= 0)
		api_update(r, "digest_schedules x", "x", SCHEDULE_FIELDS, NSF, id, schedule_scope, SCHEDULE_COLS,
			   "digest schedule");
}

void h_digest_schedule_delete(struct api_req *r)
{
	long long id = api_arg_id(r, 0);
	if (id >= 0)
		api_delete(r, "digest_schedules x", "x", id, schedule_scope, "digest schedule");
}
