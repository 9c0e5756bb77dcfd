/* pg_test.c - the transaction helpers against a real PostgreSQL: savepoints (set, roll back
 * to, release; a failed statement rolled back to one leaves the transaction usable), names
 * that are not ours refused before anything is sent, no savepoint outside a transaction, and
 * a borrowed connection (cl_pg_borrow) that is never replaced. The cluster is a private one
 * started here with scripts/pg-local (run from the top of the tree, as scripts/run-tests
 * does; CLEMENT_ROOT names another). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "db/pg.h"
#include "util/test.h"

static char dir[64], script[512];

/* run - scripts/pg-local with these arguments; its exit status. */
static int run(const char *args)
{
	char sh[1024];
	snprintf(sh, sizeof sh, "%s %s >/dev/null", script, args);
	int rc = system(sh);
	return rc == -1 ? -1 : WEXITSTATUS(rc);
}

/* count - rows of t; -1 on error. */
static long count(struct cl_pg *pg, const char *where)
{
	char sql[128], err[256];
	snprintf(sql, sizeof sql, "SELECT count(*) FROM t%s", where);
	PGresult *r = cl_pg_exec_sql(pg, sql, 0, NULL, err, sizeof err);
	long n = r ? atol(PQgetvalue(r, 0, 0)) : -1;
	PQclear(r);
	return n;
}

static int cmd(struct cl_pg *pg, const char *sql)
{
	char err[256];
	return cl_pg_command(pg, sql, err, sizeof err);
}

static void savepoints(struct cl_pg *pg)
{
	char err[256];
	CL_CHECK(cmd(pg, "CREATE TABLE t (n int PRIMARY KEY)") == 0, "table");

	/* Work after a savepoint rolled back, work before and after kept. */
	CL_CHECK(cl_pg_begin(pg, NULL, err, sizeof err) == 0, "begin: %s", err);
	CL_CHECK(cmd(pg, "INSERT INTO t VALUES (1)") == 0, "insert 1");
	CL_CHECK(cl_pg_savepoint(pg, "sp_a", err, sizeof err) == 0, "savepoint: %s", err);
	CL_CHECK(cmd(pg, "INSERT INTO t VALUES (2)") == 0, "insert 2");
	CL_CHECK(cl_pg_rollback_to(pg, "sp_a", err, sizeof err) == 0, "rollback to: %s", err);
	CL_CHECK(cmd(pg, "INSERT INTO t VALUES (3)") == 0, "insert 3");
	CL_CHECK(cl_pg_release(pg, "sp_a", err, sizeof err) == 0, "release: %s", err);
	CL_CHECK(cl_pg_rollback_to(pg, "sp_a", err, sizeof err) == -1 && strstr(err, "sp_a"),
		 "a released savepoint is gone: %s", err);
	cl_pg_rollback(pg);
	CL_CHECK(count(pg, "") == 0, "the failed ROLLBACK TO aborted the transaction; ROLLBACK undid it all");

	CL_CHECK(cl_pg_begin(pg, NULL, err, sizeof err) == 0, "begin: %s", err);
	CL_CHECK(cmd(pg, "INSERT INTO t VALUES (1)") == 0, "insert 1");
	CL_CHECK(cl_pg_savepoint(pg, "sp_a", err, sizeof err) == 0, "savepoint: %s", err);
	CL_CHECK(cmd(pg, "INSERT INTO t VALUES (2)") == 0, "insert 2");
	CL_CHECK(cl_pg_rollback_to(pg, "sp_a", err, sizeof err) == 0, "rollback to: %s", err);
	CL_CHECK(cl_pg_release(pg, "sp_a", err, sizeof err) == 0, "release: %s", err);
	CL_CHECK(cmd(pg, "INSERT INTO t VALUES (3)") == 0, "insert 3");
	CL_CHECK(cl_pg_commit(pg, err, sizeof err) == 0, "commit: %s", err);
	CL_CHECK(count(pg, "") == 2 && count(pg, " WHERE n = 2") == 0, "rows 1 and 3 committed, 2 not");

	/* A failed statement after the savepoint: rolled back to it, the transaction goes on and
	 * commits what came before and after (admin-api's audit row after a failed handler). */
	CL_CHECK(cl_pg_begin(pg, NULL, err, sizeof err) == 0, "begin: %s", err);
	CL_CHECK(cmd(pg, "INSERT INTO t VALUES (10)") == 0, "insert 10");
	CL_CHECK(cl_pg_savepoint(pg, "clement_audit", err, sizeof err) == 0, "savepoint: %s", err);
	CL_CHECK(cmd(pg, "INSERT INTO t VALUES (11)") == 0, "insert 11");
	CL_CHECK(cmd(pg, "INSERT INTO t VALUES (1)") == -1 && PQtransactionStatus(pg->conn) == PQTRANS_INERROR,
		 "a duplicate key fails the transaction");
	CL_CHECK(cl_pg_rollback_to(pg, "clement_audit", err, sizeof err) == 0 &&
		     PQtransactionStatus(pg->conn) == PQTRANS_INTRANS,
		 "rolled back to the savepoint, usable again: %s", err);
	CL_CHECK(cmd(pg, "INSERT INTO t VALUES (12)") == 0, "insert 12");
	CL_CHECK(cl_pg_commit(pg, err, sizeof err) == 0, "commit: %s", err);
	CL_CHECK(count(pg, " WHERE n >= 10") == 2 && count(pg, " WHERE n = 11") == 0, "10 and 12 kept, 11 undone");

	/* Without the savepoint the same failure loses the whole transaction, and COMMIT says so. */
	CL_CHECK(cl_pg_begin(pg, NULL, err, sizeof err) == 0, "begin: %s", err);
	CL_CHECK(cmd(pg, "INSERT INTO t VALUES (20)") == 0, "insert 20");
	CL_CHECK(cmd(pg, "INSERT INTO t VALUES (1)") == -1, "duplicate");
	CL_CHECK(cl_pg_commit(pg, err, sizeof err) == -1 && strstr(err, "rolled back"), "commit refused: %s", err);
	CL_CHECK(count(pg, " WHERE n = 20") == 0, "20 lost with it");

	/* Names: ours only, checked before anything is sent. */
	static const char *const bad[] = {"",      "Sp",
					  "sp a",  "sp;ROLLBACK",
					  "sp\"x", "a23456789012345678901234567890123456789012345678901234567890123x"};
	CL_CHECK(cl_pg_begin(pg, NULL, err, sizeof err) == 0, "begin: %s", err);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		CL_CHECK(cl_pg_savepoint(pg, bad[i], err, sizeof err) == -1 && strstr(err, "bad savepoint name") &&
			     PQtransactionStatus(pg->conn) == PQTRANS_INTRANS,
			 "name \"%s\" refused, transaction untouched: %s", bad[i], err);
		CL_CHECK(cl_pg_rollback_to(pg, bad[i], err, sizeof err) == -1 && strstr(err, "bad savepoint name"),
			 "rollback to \"%s\" refused", bad[i]);
		CL_CHECK(cl_pg_release(pg, bad[i], err, sizeof err) == -1 && strstr(err, "bad savepoint name"),
			 "release \"%s\" refused", bad[i]);
	}
	CL_CHECK(cl_pg_rollback_to(pg, "never_set", err, sizeof err) == -1 && strstr(err, "never_set"),
		 "rollback to a savepoint never set: the server's error: %s", err);
	cl_pg_rollback(pg);

	/* Outside a transaction a savepoint would mean nothing (PostgreSQL only warns). */
	CL_CHECK(cl_pg_savepoint(pg, "sp", err, sizeof err) == -1 && strstr(err, "no transaction"), "no tx: %s", err);
	CL_CHECK(cl_pg_release(pg, "sp", err, sizeof err) == -1 && strstr(err, "no transaction"), "no tx: %s", err);
}

static void borrowed(const char *url, int dead_port)
{
	char err[256];
	/* A borrowed live connection: the helpers work on it, and it stays the caller's. */
	PGconn *c = PQconnectdb(url);
	struct cl_pg pg = cl_pg_borrow(c);
	CL_CHECK(cl_pg_begin(&pg, "ISOLATION LEVEL REPEATABLE READ READ ONLY", err, sizeof err) == 0 && pg.conn == c,
		 "begin on a borrowed connection: %s", err);
	CL_CHECK(cmd(&pg, "INSERT INTO t VALUES (30)") == -1, "read only");
	CL_CHECK(cl_pg_commit(&pg, err, sizeof err) == -1, "commit after the failure refused");
	CL_CHECK(cl_pg_begin(&pg, "ISOLATION LEVEL REPEATABLE READ READ ONLY", err, sizeof err) == 0 &&
		     cl_pg_commit(&pg, err, sizeof err) == 0,
		 "a clean read-only transaction: %s", err);
	PQfinish(c);

	/* A bad borrowed connection is not replaced by a new one (its owner reconnects). */
	char dead[128];
	snprintf(dead, sizeof dead, "postgresql://127.0.0.1:%d/none?connect_timeout=2", dead_port);
	c = PQconnectdb(dead);
	pg = cl_pg_borrow(c);
	CL_CHECK(cl_pg_begin(&pg, NULL, err, sizeof err) == -1 && strstr(err, "lost") && pg.conn == c,
		 "no reconnect: %s", err);
	PQfinish(c);
}

int main(void)
{
	const char *root = getenv("CLEMENT_ROOT");
	snprintf(script, sizeof script, "%s/scripts/pg-local", root ? root : ".");
	CL_CHECK(access(script, X_OK) == 0, "%s: run from the top of the tree or set CLEMENT_ROOT", script);
	snprintf(dir, sizeof dir, "/tmp/clement-pg-test.XXXXXX");
	int port = cl_test_free_port();
	if (!mkdtemp(dir) || access(script, X_OK) != 0 || port < 0)
		return CL_TEST_END() | 1;
	chmod(dir, 0755); /* as root, pg-local runs the cluster as user postgres */
	char args[256];
	snprintf(args, sizeof args, "start %s/pg %d", dir, port);
	int started = run(args) == 0;
	CL_CHECK(started, "scripts/pg-local start");
	if (started) {
		char url[128], err[256];
		snprintf(url, sizeof url, "postgresql://clement@127.0.0.1:%d/clement", port);
		struct cl_pg pg;
		CL_CHECK(cl_pg_open(&pg, url, NULL, 0, 3, err, sizeof err) == 0, "connect: %s", err);
		if (pg.conn && PQstatus(pg.conn) == CONNECTION_OK) {
			savepoints(&pg);
			borrowed(url, cl_test_free_port());
		}
		cl_pg_close(&pg);
		snprintf(args, sizeof args, "stop %s/pg", dir);
		run(args);
	}
	char rm[128];
	snprintf(rm, sizeof rm, "rm -rf %s", dir);
	if (system(rm) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return CL_TEST_END();
}
