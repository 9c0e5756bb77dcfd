/* pg.c - libpq connection handling. See pg.h. */
#include "db/pg.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/buf.h"
#include "util/log.h"

/* sleep_ms - nanosleep for ms milliseconds. */
static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* pg_error - libpq's message on one line, without the trailing newline. */
static void pg_error(char *err, size_t errlen, const char *what, const char *msg)
{
	char tmp[512];
	cl_snprintf(tmp, sizeof tmp, "%s", msg ? msg : "");
	for (char *p = tmp; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	size_t n = strlen(tmp);
	while (n && tmp[n - 1] == ' ')
		tmp[--n] = '\0';
	cl_snprintf(err, errlen, "%s: %s", what, tmp);
}

/* pg_prepare_all - prepare every statement on a fresh connection. */
static int pg_prepare_all(struct cl_pg *pg, char *err, size_t errlen)
{
	for (size_t i = 0; i < pg->nstmts; i++) {
		PGresult *r = PQprepare(pg->conn, pg->stmts[i].name, pg->stmts[i].sql, pg->stmts[i].nparams, NULL);
		int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
		if (!ok) {
			char what[128];
			cl_snprintf(what, sizeof what, "prepare %s", pg->stmts[i].name);
			pg_error(err, errlen, what, PQresultErrorMessage(r));
		}
		PQclear(r);
		if (!ok)
			return -1;
	}
	return 0;
}

/* pg_connect_once - one connection attempt, statements prepared. */
static int pg_connect_once(struct cl_pg *pg, char *err, size_t errlen)
{
	if (pg->conn)
		PQfinish(pg->conn);
	pg->conn = PQconnectdb(pg->conninfo);
	if (PQstatus(pg->conn) != CONNECTION_OK) {
		pg_error(err, errlen, "cannot connect to PostgreSQL", PQerrorMessage(pg->conn));
		return -1;
	}
	return pg_prepare_all(pg, err, errlen);
}

int cl_pg_open(struct cl_pg *pg, const char *conninfo, const struct cl_pg_stmt *stmts, size_t nstmts, int attempts,
	       char *err, size_t errlen)
{
	memset(pg, 0, sizeof *pg);
	pg->conninfo = strdup(conninfo);
	if (!pg->conninfo) {
		cl_snprintf(err, errlen, "out of memory");
		return -1;
	}
	pg->stmts = stmts;
	pg->nstmts = nstmts;
	long delay = 100;
	for (int i = 0;; i++) {
		if (pg_connect_once(pg, err, errlen) == 0)
			return 0;
		if (i + 1 >= attempts)
			return -1;
		cl_log(CL_LOG_WARN, NULL, "db_retry", "attempt=%d delay_ms=%ld", i + 1, delay);
		sleep_ms(delay);
		delay = delay * 2 > 2000 ? 2000 : delay * 2;
	}
}

void cl_pg_close(struct cl_pg *pg)
{
	if (pg->conn)
		PQfinish(pg->conn);
	pg->conn = NULL;
	free(pg->conninfo);
	pg->conninfo = NULL;
}

int cl_pg_ensure(struct cl_pg *pg, char *err, size_t errlen)
{
	if (pg->conn && PQstatus(pg->conn) == CONNECTION_OK)
		return 0;
	if (!pg->conninfo) { /* borrowed: its owner reconnects */
		cl_snprintf(err, errlen, "the connection was lost");
		return -1;
	}
	return pg_connect_once(pg, err, errlen);
}

struct cl_pg cl_pg_borrow(PGconn *conn)
{
	return (struct cl_pg){.conn = conn};
}

/* pg_result - keep good results, turn the rest into NULL + err. */
static PGresult *pg_result(struct cl_pg *pg, PGresult *r, const char *what, char *err, size_t errlen)
{
	ExecStatusType st = PQresultStatus(r);
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return r;
	pg_error(err, errlen, what, r ? PQresultErrorMessage(r) : PQerrorMessage(pg->conn));
	PQclear(r);
	return NULL;
}

PGresult *cl_pg_exec(struct cl_pg *pg, const char *name, int nparams, const char *const *params, char *err,
		     size_t errlen)
{
	if (cl_pg_ensure(pg, err, errlen) < 0)
		return NULL;
	int idle = PQtransactionStatus(pg->conn) == PQTRANS_IDLE;
	PGresult *r = PQexecPrepared(pg->conn, name, nparams, params, NULL, NULL, 0);
	if (idle && PQstatus(pg->conn) != CONNECTION_OK) { /* lost mid-call, outside a transaction: one fresh try */
		PQclear(r);
		if (cl_pg_ensure(pg, err, errlen) < 0)
			return NULL;
		r = PQexecPrepared(pg->conn, name, nparams, params, NULL, NULL, 0);
	}
	return pg_result(pg, r, name, err, errlen);
}

PGresult *cl_pg_exec_sql(struct cl_pg *pg, const char *sql, int nparams, const char *const *params, char *err,
			 size_t errlen)
{
	if (cl_pg_ensure(pg, err, errlen) < 0)
		return NULL;
	PGresult *r = PQexecParams(pg->conn, sql, nparams, NULL, params, NULL, NULL, 0);
	return pg_result(pg, r, "query", err, errlen);
}

int cl_pg_command(struct cl_pg *pg, const char *sql, char *err, size_t errlen)
{
	if (cl_pg_ensure(pg, err, errlen) < 0)
		return -1;
	/* PQexec (not PQexecParams) so that sql may hold several statements. */
	PGresult *r = pg_result(pg, PQexec(pg->conn, sql), "query", err, errlen);
	if (!r)
		return -1;
	PQclear(r);
	return 0;
}

int cl_pg_begin(struct cl_pg *pg, const char *mode, char *err, size_t errlen)
{
	char sql[128];
	if (cl_pg_ensure(pg, err, errlen) < 0 ||
	    cl_snprintf(sql, sizeof sql, "BEGIN%s%s", mode ? " " : "", mode ? mode : "") < 0)
		return -1;
	PGresult *r = pg_result(pg, PQexec(pg->conn, sql), "begin", err, errlen);
	PQclear(r);
	return r ? 0 : -1;
}

int cl_pg_commit(struct cl_pg *pg, char *err, size_t errlen)
{
	if (!pg->conn || PQstatus(pg->conn) != CONNECTION_OK) {
		cl_snprintf(err, errlen, "commit: the connection was lost, the transaction with it");
		return -1;
	}
	PGresult *r = pg_result(pg, PQexec(pg->conn, "COMMIT"), "commit", err, errlen);
	if (!r)
		return -1;
	int rolled_back = strcmp(PQcmdStatus(r), "COMMIT") != 0;
	PQclear(r);
	if (rolled_back)
		cl_snprintf(err, errlen, "commit: the transaction was rolled back (a statement in it failed)");
	return rolled_back ? -1 : 0;
}

void cl_pg_rollback(struct cl_pg *pg)
{
	if (pg->conn && PQstatus(pg->conn) == CONNECTION_OK)
		PQclear(PQexec(pg->conn, "ROLLBACK"));
}

/* savepoint_cmd - "<verb> <name>" for a savepoint statement, on a live connection inside a
 * transaction; 0 or -1 with err. */
static int savepoint_cmd(struct cl_pg *pg, const char *verb, const char *name, char *err, size_t errlen)
{
	size_t n = strlen(name);
	if (n == 0 || n > 63 || strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_") != n) {
		cl_snprintf(err, errlen, "%s: bad savepoint name", verb);
		return -1;
	}
	if (!pg->conn || PQstatus(pg->conn) != CONNECTION_OK) {
		cl_snprintf(err, errlen, "%s: the connection was lost, the transaction with it", verb);
		return -1;
	}
	if (PQtransactionStatus(pg->conn) == PQTRANS_IDLE) {
		cl_snprintf(err, errlen, "%s: no transaction", verb);
		return -1;
	}
	char sql[128];
	if (cl_snprintf(sql, sizeof sql, "%s %s", verb, name) < 0)
		return -1;
	PGresult *r = pg_result(pg, PQexec(pg->conn, sql), verb, err, errlen);
	PQclear(r);
	return r ? 0 : -1;
}

int cl_pg_savepoint(struct cl_pg *pg, const char *name, char *err, size_t errlen)
{
	return savepoint_cmd(pg, "SAVEPOINT", name, err, errlen);
}

int cl_pg_rollback_to(struct cl_pg *pg, const char *name, char *err, size_t errlen)
{
	return savepoint_cmd(pg, "ROLLBACK TO SAVEPOINT", name, err, errlen);
}

int cl_pg_release(struct cl_pg *pg, const char *name, char *err, size_t errlen)
{
	return savepoint_cmd(pg, "RELEASE SAVEPOINT", name, err, errlen);
}
