/* fields.h - what a JSON body may contain, as data.
 *
 * Each writable resource has a table of its fields: JSON type, bounds, allowed words, the
 * lowest role that may set it, whether it is required at creation. api_fields_sql() checks
 * the whole body against the table before anything is written: an unknown field or a wrong
 * type is 400, a field the caller's role may not set is 403 (never silently dropped), and
 * the accepted values are appended to an INSERT or UPDATE as parameters. */
#ifndef CLEMENT_ADMIN_FIELDS_H
#define CLEMENT_ADMIN_FIELDS_H

#include <stddef.h>

#include "api.h"
#include "sql.h"

enum fld_type { F_STR, F_INT, F_BOOL, F_ANY, F_NUM /* a number, min < n < max, kept to 2 decimals */ };

enum {
	FF_REQUIRED = 1,  /* must be present at creation */
	FF_NULLABLE = 2,  /* JSON null is accepted (stored as NULL) */
	FF_READONLY = 4,  /* never settable (id, created_at, ...): 403 */
	FF_NOCOLUMN = 8,  /* validated here, written by the handler itself (e.g. password) */
	FF_NOUPDATE = 16, /* settable at creation only: 403 on update */
};

struct api_field {
	const char *name; /* JSON key and column name */
	enum fld_type type;
	enum api_role min_role;
	long long min, max;  /* F_INT: value range (F_NUM: exclusive); F_STR: length range */
	const char *choices; /* F_STR: "a|b|c", or NULL */
	int flags;
	const char *cast; /* SQL cast for the parameter, e.g. "::time", or NULL */
};

enum fld_mode { FLD_INSERT, FLD_UPDATE };

/* api_fields_sql - validate r->in (must be an object) against f and append, for
 * FLD_INSERT, "(cols) VALUES ($..)" or, for FLD_UPDATE, "col = $n, ..." to q. Columns in
 * extra_cols/extra_vals (may be NULL) are added to an INSERT as given (trusted SQL).
 * Returns the number of columns written, or -1 when the request was answered (400/403). */
int api_fields_sql(struct api_req *r, const struct api_field *f, size_t n, enum fld_mode mode, struct qb *q,
		   const char *extra_cols, const char *extra_vals);

/* api_body_object - 1 when r->in is a JSON object; otherwise answers 400 and returns 0. */
int api_body_object(struct api_req *r);
/* api_in_str - string field of the body, or NULL (absent or not a string). */
const char *api_in_str(struct api_req *r, const char *key);
/* api_in_id - a positive integer field: 1 and *v, 0 when absent, -1 (answered 400) when
 * present but not a positive integer. */
int api_in_id(struct api_req *r, const char *key, long long *v);
/* api_arg_id - path argument i as a positive id; -1 (answered 404) when not a number. */
long long api_arg_id(struct api_req *r, int i);

/* The one way a number from a request becomes a long long (path ids, query values, body
 * numbers): the whole input must be the number, and its range is checked before any
 * conversion that could overflow. */
/* api_parse_int - s (NUL-terminated) as a decimal integer from min to max, digits only with
 * an optional leading '-': 0 and *out, or -1 (nothing answered). */
int api_parse_int(const char *s, long long min, long long max, long long *out);
/* api_json_int - a JSON number that is a whole number from min to max: 0 and *out, or -1. */
int api_json_int(const cJSON *v, long long min, long long max, long long *out);
/* api_query_int - ?key= as an integer from min to max: 1 and *out, 0 when absent (or empty
 * when empty_absent), -1 when answered 400 "invalid value: ...". */
int api_query_int(struct api_req *r, const char *key, long long min, long long max, int empty_absent, long long *out);
/* api_query_id - ?key= as a positive id (empty counts as absent): as api_query_int. */
int api_query_id(struct api_req *r, const char *key, long long *out);

#endif
