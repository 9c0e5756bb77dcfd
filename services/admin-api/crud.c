/* crud.c - see crud.h. */
#include "crud.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

void api_create(struct api_req *r, struct qb *q, const char *table, const struct api_field *f, size_t n,
		const char *extra_cols, const char *extra_vals, const char *returning)
{
	qb_add(q, "INSERT INTO %s", table);
	if (api_fields_sql(r, f, n, FLD_INSERT, q, extra_cols, extra_vals) < 0)
		return;
	qb_add(q, " RETURNING %s", returning);
	PGresult *res = api_exec(r, q);
	if (!res)
		return;
	api_ok(r, 201, api_row_json(res, 0));
	PQclear(res);
}

void api_update(struct api_req *r, const char *table_alias, const char *alias, const struct api_field *f, size_t n,
		long long id, api_scope_fn scope, const char *returning, const char *what)
{
	struct qb q;
	qb_init(&q, "UPDATE ");
	qb_add(&q, "%s SET ", table_alias);
	int cols = api_fields_sql(r, f, n, FLD_UPDATE, &q, NULL, NULL);
	if (cols == 0)
		api_err(r, 400, "nothing to change");
	if (cols > 0) {
		qb_add(&q, " WHERE %s.id = $%d", alias, qb_param_ll(&q, id));
		if (scope)
			scope(r, &q);
		qb_add(&q, " RETURNING %s", returning);
		api_one(r, &q, what);
	}
	qb_free(&q);
}

void api_delete(struct api_req *r, const char *table_alias, const char *alias, long long id, api_scope_fn scope,
		const char *what)
{
	struct qb q;
	qb_init(&q, "DELETE FROM ");
	qb_add(&q, "%s WHERE %s.id = $%d", table_alias, alias, qb_param_ll(&q, id));
	if (scope)
		scope(r, &q);
	qb_add(&q, " RETURNING %s.id", alias);
	api_one(r, &q, what);
	qb_free(&q);
}

void api_text_filter(struct api_req *r, struct qb *q, const char *key, const char *col)
{
	const char *v = api_query(r, key);
	if (!v || !*v)
		return;
	struct cl_buf b;
	cl_buf_init(&b, 0);
	for (const char *s = v; *s && b.len < 400; s++) {
		if (*s == '%' || *s == '_' || *s == '\\')
			cl_buf_append(&b, "\\", 1);
		cl_buf_append(&b, s, 1);
	}
	int n = qb_param(q, b.data ? b.data : "");
	qb_add(q, " AND %s ILIKE '%%' || $%d || '%%'", col, n);
	cl_buf_free(&b);
}

void api_eq_filter(struct api_req *r, struct qb *q, const char *key, const char *col, const char *cast)
{
	/* numbers go through the one parser (fields.h), so that "1x" is a 400 of ours */
	int is_id = cast && strcmp(cast, "::bigint") == 0, is_int = cast && strcmp(cast, "::int") == 0;
	if (is_id || is_int) {
		long long n;
		if ((is_id ? api_query_id(r, key, &n) : api_query_int(r, key, INT_MIN, INT_MAX, 1, &n)) == 1)
			qb_add(q, " AND %s = $%d%s", col, qb_param_ll(q, n), cast);
		return;
	}
	const char *v = api_query(r, key);
	if (!v || !*v)
		return;
	int n = qb_param(q, v);
	qb_add(q, " AND %s = $%d%s", col, n, cast ? cast : "");
}

void api_time_filter(struct api_req *r, struct qb *q, const char *col)
{
	const char *from = api_query(r, "from"), *to = api_query(r, "to");
	if (from && *from)
		qb_add(q, " AND %s >= $%d::timestamptz", col, qb_param(q, from));
	if (to && *to)
		qb_add(q, " AND %s < $%d::timestamptz", col, qb_param(q, to));
}
