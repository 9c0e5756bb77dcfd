/* sql.c - see sql.h. */
#include "sql.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fields.h"
#include "util/log.h"

/* PostgreSQL type OIDs (pg_type.h) that map to something better than a JSON string. */
enum {
	OID_BOOL = 16,
	OID_INT8 = 20,
	OID_INT2 = 21,
	OID_INT4 = 23,
	OID_JSON = 114,
	OID_FLOAT4 = 700,
	OID_FLOAT8 = 701,
	OID_NUMERIC = 1700,
	OID_TIMESTAMPTZ = 1184,
	OID_JSONB = 3802
};

void qb_init(struct qb *q, const char *sql)
{
	memset(q, 0, sizeof *q);
	cl_buf_init(&q->sql, 0);
	if (cl_buf_append_str(&q->sql, sql) < 0)
		q->err = 1;
}

void qb_free(struct qb *q)
{
	for (int i = 0; i < q->n; i++)
		free(q->p[i]);
	cl_buf_free(&q->sql);
	q->n = 0;
}

/* qb_param - see sql.h */
int qb_param(struct qb *q, const char *v)
{
	if (q->n >= QB_MAXP) {
		q->err = 1;
		return QB_MAXP;
	}
	char *copy = NULL;
	if (v && !(copy = strdup(v)))
		q->err = 1;
	q->p[q->n++] = copy;
	return q->n;
}

int qb_param_ll(struct qb *q, long long v)
{
	char s[24];
	snprintf(s, sizeof s, "%lld", v);
	return qb_param(q, s);
}

void qb_add(struct qb *q, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (cl_buf_vprintf(&q->sql, fmt, ap) < 0)
		q->err = 1;
	va_end(ap);
}

void qb_addp(struct qb *q, const char *fmt, const char *v)
{
	int n = qb_param(q, v);
	qb_add(q, fmt, n);
}

/* api_db_error - answer a failed statement by its SQLSTATE class (Appendix A of the
 * PostgreSQL manual): a value the schema refuses is the client's error, not ours. */
static void api_db_error(struct api_req *r, PGresult *res)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	char esc[300];
	if (!state) {
		cl_log(
		    CL_LOG_ERROR, NULL, "db_error", "msg=%s",
		    cl_log_escape(esc, sizeof esc, PQerrorMessage(r->pg->conn), strlen(PQerrorMessage(r->pg->conn))));
		api_err(r, 503, "the database is not available, try again later");
		return;
	}
	if (strncmp(state, "CL", 2) == 0) {
		/* our own guards (db/migrations/0008_admin_guards.sql): the text says why */
		api_err(r, 409, "%s", msg ? msg : "refused by a database guard");
	} else if (strcmp(state, "23505") == 0) {
		api_err(r, 409, "an entry with these values already exists");
	} else if (strcmp(state, "23503") == 0) {
		api_err(r, 409, "this entry is still referenced, or refers to something that does not exist");
	} else if (strcmp(state, "23514") == 0 || strcmp(state, "23502") == 0) {
		api_err(r, 400, "a value is not allowed here (%s)",
			PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME)
			    ? PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME)
			    : "constraint");
	} else if (strncmp(state, "22", 2) == 0) {
		/* data exceptions: bad inet, date, number, ... */
		api_err(r, 400, "invalid value: %s", msg ? msg : state);
	} else {
		cl_log(CL_LOG_ERROR, NULL, "db_error", "state=%s msg=%s", state,
		       cl_log_escape(esc, sizeof esc, msg ? msg : "", msg ? strlen(msg) : 0));
		api_err(r, 500, "internal error");
	}
}

/* api_exec_sql - see sql.h */
PGresult *api_exec_sql(struct api_req *r, const char *sql, int n, const char *const *params)
{
	PGresult *res = PQexecParams(r->pg->conn, sql, n, NULL, params, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(res);
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return res;
	api_db_error(r, res);
	PQclear(res);
	return NULL;
}

PGresult *api_exec(struct api_req *r, struct qb *q)
{
	if (q->err) {
		api_err(r, 500, "internal error");
		return NULL;
	}
	return api_exec_sql(r, q->sql.data, q->n, (const char *const *)q->p);
}

/* iso_time - "2026-11-25 22:15:59.12+00" -> "2026-11-25T22:15:59.12+00:00" (RFC 3339). */
static cJSON *iso_time(const char *v)
{
	char s[64];
	if (cl_strlcpy(s, v, sizeof s - 4) < 0)
		return cJSON_CreateString(v);
	char *sp = strchr(s, ' ');
	if (sp)
		*sp = 'T';
	size_t n = strlen(s);
	if (n > 3 && (s[n - 3] == '+' || s[n - 3] == '-'))
		memcpy(s + n, ":00", 4);
	return cJSON_CreateString(s);
}

static cJSON *cell_json(const PGresult *res, int i, int j)
{
	if (PQgetisnull(res, i, j))
		return cJSON_CreateNull();
	const char *v = PQgetvalue(res, i, j);
	switch (PQftype(res, j)) {
	case OID_BOOL:
		return cJSON_CreateBool(v[0] == 't');
	case OID_INT2:
	case OID_INT4:
	case OID_INT8:
	case OID_FLOAT4:
	case OID_FLOAT8:
	case OID_NUMERIC:
		return cJSON_CreateNumber(strtod(v, NULL));
	case OID_JSON:
	case OID_JSONB: {
		cJSON *j2 = cJSON_Parse(v);
		return j2 ? j2 : cJSON_CreateNull();
	}
	case OID_TIMESTAMPTZ:
		return iso_time(v);
	default:
		return cJSON_CreateString(v);
	}
}

cJSON *api_row_json(const PGresult *res, int i)
{
	cJSON *o = cJSON_CreateObject();
	for (int j = 0; j < PQnfields(res); j++)
		cJSON_AddItemToObject(o, PQfname(res, j), cell_json(res, i, j));
	return o;
}

cJSON *api_rows_json(const PGresult *res)
{
	cJSON *a = cJSON_CreateArray();
	for (int i = 0; i < PQntuples(res); i++)
		cJSON_AddItemToArray(a, api_row_json(res, i));
	return a;
}

/* api_list - see sql.h */
void api_list(struct api_req *r, struct qb *q, const char *order)
{
	long long page = 1, per = 50;
	if (r->status >= 400 || api_query_int(r, "page", 1, 1000000, 0, &page) < 0 ||
	    api_query_int(r, "per_page", 1, 500, 0, &per) < 0)
		return;
	struct qb cq;
	qb_init(&cq, "SELECT count(*) FROM (");
	qb_add(&cq, "%s) AS t", q->sql.data ? q->sql.data : "");
	PGresult *cr = api_exec_sql(r, cq.sql.data, q->n, (const char *const *)q->p);
	qb_free(&cq);
	if (!cr)
		return;
	long long total = atoll(PQgetvalue(cr, 0, 0));
	PQclear(cr);
	qb_add(q, " ORDER BY %s LIMIT %lld OFFSET %lld", order, per, (page - 1) * per);
	PGresult *res = api_exec(r, q);
	if (!res)
		return;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddItemToObject(o, "items", api_rows_json(res));
	cJSON_AddNumberToObject(o, "total", (double)total);
	cJSON_AddNumberToObject(o, "page", (double)page);
	cJSON_AddNumberToObject(o, "per_page", (double)per);
	PQclear(res);
	api_ok(r, 200, o);
}

/* api_order - see sql.h */
const char *api_order(struct api_req *r, const char *const (*keys)[2], const char *dflt, const char *tie, char *buf,
		      size_t len)
{
	const char *key = api_query(r, "sort"), *dir = api_query(r, "order");
	if (!key || !*key)
		return dflt;
	if (dir && *dir && strcmp(dir, "asc") != 0 && strcmp(dir, "desc") != 0) {
		api_err(r, 400, "order must be asc or desc");
		return dflt;
	}
	char names[300] = "";
	for (size_t i = 0; keys[i][0]; i++) {
		if (strcmp(key, keys[i][0]) == 0) {
			snprintf(buf, len, "%s %s NULLS LAST, %s", keys[i][1],
				 dir && strcmp(dir, "asc") == 0 ? "ASC" : "DESC", tie);
			return buf;
		}
		size_t used = strlen(names);
		snprintf(names + used, sizeof names - used, "%s%s", i ? ", " : "", keys[i][0]);
	}
	api_err(r, 400, "sort must be one of %s", names);
	return dflt;
}

/* api_one - see sql.h */
void api_one(struct api_req *r, struct qb *q, const char *what)
{
	if (r->status >= 400)
		return;
	PGresult *res = api_exec(r, q);
	if (!res)
		return;
	if (PQntuples(res) == 0)
		api_err(r, 404, "%s not found", what);
	else
		api_ok(r, 200, api_row_json(res, 0));
	PQclear(res);
}

int api_scalar(struct api_req *r, struct qb *q, char *out, size_t outlen)
{
	PGresult *res = api_exec(r, q);
	if (!res)
		return -1;
	int found = PQntuples(res) > 0 && PQnfields(res) > 0;
	if (found && out)
		cl_strlcpy(out, PQgetisnull(res, 0, 0) ? "" : PQgetvalue(res, 0, 0), outlen);
	PQclear(res);
	return found;
}
