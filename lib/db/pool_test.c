/* pool_test.c - the connection pool without a database: a borrow that cannot connect fails
 * with the connection's error and gives its slot back (the next borrow tries again instead of
 * finding every connection busy), and a pool frees what it opened (ASan: no leak). The pool
 * against a live PostgreSQL is exercised by admin-api's and delivery's integration tests. */
#include <stdio.h>
#include <string.h>

#include "db/pool.h"
#include "util/test.h"

int main(void)
{
	char url[128], err[256];
	snprintf(url, sizeof url, "postgresql://127.0.0.1:%d/none?connect_timeout=2", cl_test_free_port());
	struct cl_pg_pool *p = cl_pg_pool_new(url, 1, NULL, 0);
	CL_CHECK(p != NULL, "pool");
	for (int i = 0; p && i < 3; i++) {
		err[0] = '\0';
		struct cl_pg *pg = cl_pg_pool_get(p, i == 2 ? -1 : 100, err, sizeof err);
		CL_CHECK(!pg && err[0] && !strstr(err, "busy"), "borrow %d: the connection's error, not busy: %s", i,
			 err);
	}
	cl_pg_pool_put(p, NULL);
	cl_pg_pool_free(p);
	CL_CHECK(cl_pg_pool_new(url, 0, NULL, 0) == NULL, "an empty pool is refused");
	return CL_TEST_END();
}
