/* pool.h - the one fixed pool of PostgreSQL connections a multi-threaded service shares
 * (admin-api's HTTP threads, delivery's RPC workers and background thread).
 *
 * libpq connections are not thread-safe, so a thread borrows one connection for a whole
 * request (cl_pg_pool_get) and gives it back (cl_pg_pool_put). Connections are opened lazily,
 * on their first borrow (a database that is down at start-up only makes the first requests
 * fail), each prepares the pool's statements, and a connection that broke is reconnected on
 * its next borrow (cl_pg_ensure). The pool owns the connections; cl_pg_pool_free closes them. */
#ifndef CLEMENT_DB_POOL_H
#define CLEMENT_DB_POOL_H

#include <stddef.h>

#include "db/pg.h"

struct cl_pg_pool;

/* cl_pg_pool_new - n connections to url, each preparing stmts (kept by pointer, may be NULL).
 * NULL when out of memory. */
struct cl_pg_pool *cl_pg_pool_new(const char *url, int n, const struct cl_pg_stmt *stmts, size_t nstmts);
void cl_pg_pool_free(struct cl_pg_pool *p);
/* cl_pg_pool_get - a usable connection, waiting up to wait_ms for a free one (wait_ms < 0:
 * as long as it takes). NULL with err when none became free in time or the database cannot
 * be reached; there is nothing to put back then. */
struct cl_pg *cl_pg_pool_get(struct cl_pg_pool *p, int wait_ms, char *err, size_t errlen);
/* cl_pg_pool_put - give a borrowed connection back (NULL: nothing). */
void cl_pg_pool_put(struct cl_pg_pool *p, struct cl_pg *pg);

#endif
