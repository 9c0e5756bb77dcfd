/* dbexec.c - delivery's query helper (see dbexec.h). */
#include "dbexec.h"

#include "util/buf.h"

PGresult *dl_db_exec(struct cl_pg *pg, const char *sql, int nparams, const char *const *params, int binary_idx,
		     size_t blen, int result_binary, char *err, size_t errlen)
{
	int lens[16] = {0}, fmts[16] = {0};
	if (nparams > 16) {
		cl_snprintf(err, errlen, "too many parameters");
		return NULL;
	}
	if (binary_idx >= 0 && binary_idx < nparams) {
		lens[binary_idx] = (int)blen;
		fmts[binary_idx] = 1;
	}
	PGresult *r = PQexecParams(pg->conn, sql, nparams, NULL, params, lens, fmts, result_binary);
	ExecStatusType st = PQresultStatus(r);
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return r;
	cl_snprintf(err, errlen, "%s", r ? PQresultErrorMessage(r) : PQerrorMessage(pg->conn));
	for (char *c = err; *c; c++)
		if (*c == '\n')
			*c = ' ';
	PQclear(r);
	return NULL;
}
