/* pg.h - PostgreSQL helpers over libpq: connect with retry and backoff, prepared statements,
 * and a reconnect-on-demand handle.
 *
 * A cl_pg owns one PGconn and the list of statements to prepare on every (re)connection, so
 * callers use names and never re-prepare by hand. Not thread-safe: one cl_pg per thread. */
#ifndef CLEMENT_DB_PG_H
#define CLEMENT_DB_PG_H

#include <libpq-fe.h>
#include <stddef.h>

struct cl_pg_stmt {
	const char *name;
	const char *sql;
	int nparams;
};

struct cl_pg {
	PGconn *conn;
	char *conninfo;
	const struct cl_pg_stmt *stmts;
	size_t nstmts;
};

/* cl_pg_open - connect to conninfo (URL or key=value), trying `attempts` times with
 * exponential backoff from 100 ms to 2 s (attempts <= 0: once). Prepares stmts.
 * Returns 0, or -1 with err (the connection is kept for a later cl_pg_ensure). */
int cl_pg_open(struct cl_pg *pg, const char *conninfo, const struct cl_pg_stmt *stmts, size_t nstmts, int attempts,
	       char *err, size_t errlen);
void cl_pg_close(struct cl_pg *pg);
/* cl_pg_ensure - reconnect (once) if the connection is bad. 0 when usable, -1 otherwise. */
int cl_pg_ensure(struct cl_pg *pg, char *err, size_t errlen);
/* cl_pg_exec - run a prepared statement by name with text params. Returns the result
 * (caller PQclear()s it) when its status is COMMAND_OK or TUPLES_OK; otherwise NULL with err
 * filled (and one reconnect attempted if the connection was lost). */
PGresult *cl_pg_exec(struct cl_pg *pg, const char *name, int nparams, const char *const *params, char *err,
		     size_t errlen);
/* cl_pg_exec_sql - the same for ad-hoc SQL with params ($1..). */
PGresult *cl_pg_exec_sql(struct cl_pg *pg, const char *sql, int nparams, const char *const *params, char *err,
			 size_t errlen);
/* cl_pg_command - run SQL (one or more statements, no parameters); 0 or -1 with err. */
int cl_pg_command(struct cl_pg *pg, const char *sql, char *err, size_t errlen);

/* Transactions on one connection. cl_pg_begin reconnects first when the connection is bad
 * (nothing is lost yet); mode may be NULL or e.g. "ISOLATION LEVEL REPEATABLE READ". Inside a
 * transaction nothing reconnects (cl_pg_exec's retry is for statements outside one): a
 * statement or COMMIT sent on a fresh connection would run outside the transaction.
 * cl_pg_commit fails also when PostgreSQL answers COMMIT with ROLLBACK (an earlier statement
 * failed). cl_pg_rollback ignores its own failure (a broken connection rolled back already)
 * and leaves the caller's err alone. 0 or -1 with err. */
int cl_pg_begin(struct cl_pg *pg, const char *mode, char *err, size_t errlen);
int cl_pg_commit(struct cl_pg *pg, char *err, size_t errlen);
void cl_pg_rollback(struct cl_pg *pg);

/* Savepoints inside a transaction cl_pg_begin opened; name is an identifier of ours
 * ([a-z0-9_], at most 63), never text from a peer. cl_pg_savepoint marks the point;
 * cl_pg_rollback_to undoes what ran after it and makes a transaction in which a statement failed
 * usable again (the savepoint stays); cl_pg_release forgets it and keeps the work. None of them
 * reconnects. 0 or -1 with err (a bad name, no transaction, a lost connection). */
int cl_pg_savepoint(struct cl_pg *pg, const char *name, char *err, size_t errlen);
int cl_pg_rollback_to(struct cl_pg *pg, const char *name, char *err, size_t errlen);
int cl_pg_release(struct cl_pg *pg, const char *name, char *err, size_t errlen);

/* cl_pg_borrow - a cl_pg over a connection its caller opened and owns (a LISTEN connection
 * made with libpq directly), so that the transaction helpers above serve it too. It prepares
 * nothing and never reconnects (cl_pg_ensure fails on a bad connection, leaving it to its
 * owner); never cl_pg_close() it. */
struct cl_pg cl_pg_borrow(PGconn *conn);

#endif
