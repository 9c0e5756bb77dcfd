/* dbexec.h - delivery's query helper over a connection borrowed from its pool (lib/db/pool.h:
 * the RPC workers and the background thread share one): a query with one binary parameter
 * (a message's bytes). Transactions: cl_pg_begin/commit/rollback (lib/db/pg.h). */
#ifndef CLEMENT_DELIVERY_DBEXEC_H
#define CLEMENT_DELIVERY_DBEXEC_H

#include <stddef.h>

#include "db/pg.h"
#include "db/pool.h"

/* dl_db_exec - PQexecParams on pg with text params, except that param `binary_idx` (or -1)
 * is sent as binary (a bytea of blen bytes); result_binary asks for binary results.
 * Returns the result (caller PQclear()s) when COMMAND_OK or TUPLES_OK, else NULL + err. */
PGresult *dl_db_exec(struct cl_pg *pg, const char *sql, int nparams, const char *const *params, int binary_idx,
		     size_t blen, int result_binary, char *err, size_t errlen);

#endif
