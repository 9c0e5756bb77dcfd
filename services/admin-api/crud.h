/* crud.h - the common shapes of create, update and delete, so that each resource's file
 * holds only its field table, its columns and its scope rule.
 *
 * scope_fn appends " AND <condition>" limiting the rows the caller may touch (alias is the
 * table alias used in the statement); a row outside it is answered 404 like a row that does
 * not exist. */
#ifndef CLEMENT_ADMIN_CRUD_H
#define CLEMENT_ADMIN_CRUD_H

#include "fields.h"
#include "sql.h"

typedef void (*api_scope_fn)(struct api_req *r, struct qb *q);

/* api_create - INSERT INTO table from the body (checked against f); q may already hold
 * parameters referenced by extra_vals. Answers 201 with the RETURNING row. */
void api_create(struct api_req *r, struct qb *q, const char *table, const struct api_field *f, size_t n,
		const char *extra_cols, const char *extra_vals, const char *returning);
/* api_update - UPDATE "table alias" SET <body> WHERE alias.id = id AND scope; 200 with the
 * RETURNING row, 404 when no row, 400 when the body changes nothing. */
void api_update(struct api_req *r, const char *table_alias, const char *alias, const struct api_field *f, size_t n,
		long long id, api_scope_fn scope, const char *returning, const char *what);
/* api_delete - DELETE FROM "table alias" WHERE alias.id = id AND scope; 200 {} or 404. */
void api_delete(struct api_req *r, const char *table_alias, const char *alias, long long id, api_scope_fn scope,
		const char *what);
/* api_text_filter - " AND col ILIKE '%'||$n||'%'" when ?key= is given (LIKE specials escaped). */
void api_text_filter(struct api_req *r, struct qb *q, const char *key, const char *col);
/* api_eq_filter - " AND col = $n<cast>" when ?key= is given; with cast "::bigint" the value
 * must be an id, with "::int" a whole number (400 otherwise, answered; api_list then does
 * nothing). */
void api_eq_filter(struct api_req *r, struct qb *q, const char *key, const char *col, const char *cast);
/* api_time_filter - ?from= (inclusive) and ?to= (exclusive), RFC 3339 or a date, on col;
 * a value PostgreSQL cannot read as a time is answered 400 by api_exec. */
void api_time_filter(struct api_req *r, struct qb *q, const char *col);

#endif
