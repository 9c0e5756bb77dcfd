/* dbpool.h - a fixed pool of PostgreSQL connections shared by delivery's threads.
 *
 * cl_pg is one connection per thread; the RPC workers and the background thread borrow one
 * here and give it back. A connection that broke is reconnected on the next borrow
 * (cl_pg_ensure). The pool owns the connections; dl_dbpool_free closes them. */
#ifndef CLEMENT_DELIVERY_DBPOOL_H
#define CLEMENT_DELIVERY_DBPOOL_H

#include <stddef.h>

#include "db/pg.h"

struct dl_dbpool;

/* dl_dbpool_new - n connections to url (connected lazily on first use if the database is
 * down at start). Returns NULL when out of memory. */
struct dl_dbpool *dl_dbpool_new(const char *url, int n);
void dl_dbpool_free(struct dl_dbpool *p);
/* dl_db_get - borrow a usable connection (waits for a free one). NULL with err when the
 * database cannot be reached; nothing to put back then. */
struct cl_pg *dl_db_get(struct dl_dbpool *p, char *err, size_t errlen);
/* dl_db_put - give a borrowed connection back. */
void dl_db_put(struct dl_dbpool *p, struct cl_pg *pg);

/* dl_db_exec - PQexecParams on pg with text params, except that param `binary_idx` (or -1)
 * is sent as binary (a bytea of blen bytes); result_binary asks for binary results.
 * Returns the result (caller PQclear()s) when COMMAND_OK or TUPLES_OK, else NULL + err. */
PGresult *dl_db_exec(struct cl_pg *pg, const char *sql, int nparams, const char *const *params, int binary_idx,
		     size_t blen, int result_binary, char *err, size_t errlen);
/* dl_db_cmd - a parameterless command (BEGIN, COMMIT, ROLLBACK). 0 or -1. */
int dl_db_cmd(struct cl_pg *pg, const char *sql, char *err, size_t errlen);

#endif
