/* sql.h - building parameterised SQL for admin-api's handlers and turning rows into JSON.
 *
 * Every value that comes from a request travels as a $n parameter, never inside the SQL
 * text. A struct qb owns its SQL text and copies of its parameters; qb_free releases them.
 * Rows become JSON objects by column type (integers and floats as numbers, booleans,
 * json/jsonb embedded, timestamps as ISO 8601, everything else as strings, NULL as null),
 * so a handler only writes its SELECT. */
#ifndef CLEMENT_ADMIN_SQL_H
#define CLEMENT_ADMIN_SQL_H

#include <cjson/cJSON.h>
#include <libpq-fe.h>

#include "api.h"
#include "util/buf.h"

#define QB_MAXP 24

struct qb {
	struct cl_buf sql;
	char *p[QB_MAXP]; /* owned copies; NULL is SQL NULL */
	int n;
	int err; /* too many parameters or out of memory */
};

void qb_init(struct qb *q, const char *sql);
void qb_free(struct qb *q);
/* qb_param - add a parameter (copied; NULL for SQL NULL); returns its number for "$%d". */
int qb_param(struct qb *q, const char *v);
int qb_param_ll(struct qb *q, long long v);
/* qb_add - append SQL text. qb_addp - append fmt, whose one %d becomes $n of the new
 * parameter v. */
void qb_add(struct qb *q, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void qb_addp(struct qb *q, const char *fmt, const char *v);

/* api_exec - run q on r->pg. Returns the result (caller PQclears) or NULL, having answered
 * the request already: 400 for invalid values, 409 for duplicates, references and Clement's own
 * guards (SQLSTATE class CL, e.g. the last root-admin), 503 when
 * the database is unreachable, 500 otherwise. */
PGresult *api_exec(struct api_req *r, struct qb *q);
/* api_exec_sql - the same with a fixed SQL text and parameters. */
PGresult *api_exec_sql(struct api_req *r, const char *sql, int n, const char *const *params);

/* api_row_json - row i of res as an object (caller owns it). */
cJSON *api_row_json(const PGresult *res, int i);
/* api_rows_json - every row as an array (caller owns it). */
cJSON *api_rows_json(const PGresult *res);

/* api_list - answer a paginated list: {"items","total","page","per_page"} from q (a SELECT
 * without ORDER BY/LIMIT) ordered by order (trusted text). Reads ?page= and ?per_page=.
 * api_list and api_one do nothing when the request was already answered with an error (a
 * filter that refused its value), so filters need no error path of their own. */
void api_list(struct api_req *r, struct qb *q, const char *order);
/* api_order - the ORDER BY text for ?sort=KEY&order=asc|desc (the UI's sortable columns):
 * keys is {name, SQL expression} pairs ending with {NULL, NULL}; ties break by tie (trusted
 * text). dflt when no sort is asked for. Answers 400 naming the choices for an unknown key
 * or order (api_list then does nothing, so the caller passes the result straight on). */
const char *api_order(struct api_req *r, const char *const (*keys)[2], const char *dflt, const char *tie, char *buf,
		      size_t len);
/* api_one - answer the first row of q, or 404 "<what> not found". */
void api_one(struct api_req *r, struct qb *q, const char *what);
/* api_scalar - run q; 1 and the first column of the first row in out (copied), 0 when no
 * row, -1 when the request was answered with an error. */
int api_scalar(struct api_req *r, struct qb *q, char *out, size_t outlen);

#endif
