/* pool.c - fixed pool of PostgreSQL connections. See pool.h. */
#include "db/pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/buf.h"

struct cl_pg_pool {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	char *url;
	const struct cl_pg_stmt *stmts;
	size_t nstmts;
	int n;
	struct cl_pg *conns;
	int *busy;
	int *opened;
};

struct cl_pg_pool *cl_pg_pool_new(const char *url, int n, const struct cl_pg_stmt *stmts, size_t nstmts)
{
	struct cl_pg_pool *p = n > 0 ? calloc(1, sizeof *p) : NULL;
	if (!p)
		return NULL;
	p->url = strdup(url);
	p->conns = calloc((size_t)n, sizeof *p->conns);
	p->busy = calloc((size_t)n, sizeof *p->busy);
	p->opened = calloc((size_t)n, sizeof *p->opened);
	if (!p->url || !p->conns || !p->busy || !p->opened) {
		free(p->url);
		free(p->conns);
		free(p->busy);
		free(p->opened);
		free(p);
		return NULL;
	}
	p->n = n;
	p->stmts = stmts;
	p->nstmts = nstmts;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	return p;
}

void cl_pg_pool_free(struct cl_pg_pool *p)
{
	if (!p)
		return;
	for (int i = 0; i < p->n; i++)
		if (p->opened[i])
			cl_pg_close(&p->conns[i]);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	free(p->url);
	free(p->conns);
	free(p->busy);
	free(p->opened);
	free(p);
}

/* take - index of a free slot (marked busy), or -1 after wait_ms (< 0: never gives up). */
static int take(struct cl_pg_pool *p, int wait_ms)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	if (wait_ms >= 0) {
		until.tv_sec += wait_ms / 1000;
		until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
	}
	pthread_mutex_lock(&p->mu);
	int idx = -1;
	for (;;) {
		for (int i = 0; i < p->n && idx < 0; i++)
			if (!p->busy[i])
				idx = i;
		if (idx >= 0)
			break;
		if (wait_ms < 0)
			pthread_cond_wait(&p->cv, &p->mu);
		else if (pthread_cond_timedwait(&p->cv, &p->mu, &until) == ETIMEDOUT)
			break;
	}
	if (idx >= 0)
		p->busy[idx] = 1;
	pthread_mutex_unlock(&p->mu);
	return idx;
}

static void release(struct cl_pg_pool *p, int idx)
{
	pthread_mutex_lock(&p->mu);
	p->busy[idx] = 0;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

struct cl_pg *cl_pg_pool_get(struct cl_pg_pool *p, int wait_ms, char *err, size_t errlen)
{
	int idx = take(p, wait_ms);
	if (idx < 0) {
		cl_snprintf(err, errlen, "all database connections are busy");
		return NULL;
	}
	struct cl_pg *pg = &p->conns[idx];
	int rc;
	if (!p->opened[idx]) {
		/* cl_pg_open keeps conninfo and the statements even when the first try fails. */
		rc = cl_pg_open(pg, p->url, p->stmts, p->nstmts, 1, err, errlen);
		p->opened[idx] = 1;
	} else {
		rc = cl_pg_ensure(pg, err, errlen);
	}
	if (rc < 0) {
		release(p, idx);
		return NULL;
	}
	return pg;
}

void cl_pg_pool_put(struct cl_pg_pool *p, struct cl_pg *pg)
{
	if (pg)
		release(p, (int)(pg - p->conns));
}
