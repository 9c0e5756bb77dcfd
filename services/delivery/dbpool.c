/* dbpool.c - fixed pool of PostgreSQL connections (see dbpool.h). */
#include "dbpool.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"

struct dl_dbpool {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	char *url;
	int n;
	struct cl_pg *pg;
	int *busy;
	int *opened;
};

struct dl_dbpool *dl_dbpool_new(const char *url, int n)
{
	struct dl_dbpool *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	p->url = strdup(url);
	p->pg = calloc((size_t)n, sizeof *p->pg);
	p->busy = calloc((size_t)n, sizeof *p->busy);
	p->opened = calloc((size_t)n, sizeof *p->opened);
	if (!p->url || !p->pg || !p->busy || !p->opened) {
		dl_dbpool_free(p);
		return NULL;
	}
	p->n = n;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	return p;
}

void dl_dbpool_free(struct dl_dbpool *p)
{
	if (!p)
		return;
	for (int i = 0; i < p->n; i++)
		if (p->opened[i])
			cl_pg_close(&p->pg[i]);
	if (p->n > 0) {
		pthread_mutex_destroy(&p->mu);
		pthread_cond_destroy(&p->cv);
	}
	free(p->pg);
	free(p->busy);
	free(p->opened);
	free(p->url);
	free(p);
}

struct cl_pg *dl_db_get(struct dl_dbpool *p, char *err, size_t errlen)
{
	pthread_mutex_lock(&p->mu);
	int i;
	for (;;) {
		for (i = 0; i < p->n && p->busy[i]; i++)
			;
		if (i < p->n)
			break;
		pthread_cond_wait(&p->cv, &p->mu);
	}
	p->busy[i] = 1;
	int first = !p->opened[i];
	p->opened[i] = 1;
	pthread_mutex_unlock(&p->mu);
	struct cl_pg *pg = &p->pg[i];
	int rc = first ? cl_pg_open(pg, p->url, NULL, 0, 1, err, errlen) : cl_pg_ensure(pg, err, errlen);
	if (rc < 0) {
		dl_db_put(p, pg);
		return NULL;
	}
	return pg;
}

void dl_db_put(struct dl_dbpool *p, struct cl_pg *pg)
{
	pthread_mutex_lock(&p->mu);
	p->busy[pg - p->pg] = 0;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

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

int dl_db_cmd(struct cl_pg *pg, const char *sql, char *err, size_t errlen)
{
	PGresult *r = dl_db_exec(pg, sql, 0, NULL, -1, 0, 0, err, errlen);
	PQclear(r);
	return r ? 0 : -1;
}
