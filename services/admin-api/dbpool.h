/* dbpool.h - a small fixed pool of PostgreSQL connections shared by the HTTP worker threads.
 *
 * libpq connections are not thread-safe, so a handler borrows one connection for the whole
 * request (dbpool_get) and gives it back (dbpool_put). When every connection is busy the
 * caller waits up to a bound, then gets NULL (answered 503). A broken connection is
 * reconnected on its next use by cl_pg_ensure. */
#ifndef CLEMENT_ADMIN_DBPOOL_H
#define CLEMENT_ADMIN_DBPOOL_H

#include "db/pg.h"

struct dbpool;

/* dbpool_new - n connections to url, opened lazily (a database that is down at start-up
 * only makes /healthz say so). Returns NULL when out of memory. The pool owns them. */
struct dbpool *dbpool_new(const char *url, int n, const struct cl_pg_stmt *stmts, size_t nstmts);
void dbpool_free(struct dbpool *p);
/* dbpool_get - a connected handle, or NULL (err filled) when none is free within wait_ms
 * or the database cannot be reached. */
struct cl_pg *dbpool_get(struct dbpool *p, int wait_ms, char *err, size_t errlen);
void dbpool_put(struct dbpool *p, struct cl_pg *pg);

#endif
