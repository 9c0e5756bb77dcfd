/* dbpool.c - see dbpool.h. */
#include "dbpool.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/buf.h"

struct dbpool {
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

/* dbpool_new - see dbpool.h */
struct dbpool *dbpool_new(const char *url, int n, const struct cl_pg_stmt *stmts, size_t nstmts)
{
	struct dbpool *p = calloc(1, sizeof *p);
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

void dbpool_free(struct dbpool *p)
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

/* dbpool_take - index of a free slot (marked busy), or -1 after wait_ms. */
static int dbpool_take(struct dbpool *p, int wait_ms)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += wait_ms / 1000;
	until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&p->mu);
	int idx = -1;
	for (;;) {
		for (int i = 0; i < p->n; i++)
			if (!p->busy[i]) {
				idx = i;
				break;
			}
		if (idx >= 0 || pthread_cond_timedwait(&p->cv, &p->mu, &until) == ETIMEDOUT)
			break;
	}
	if (idx >= 0)
		p->busy[idx] = 1;
	pthread_mutex_unlock(&p->mu);
	return idx;
}

static void dbpool_release(struct dbpool *p, int idx)
{
	pthread_mutex_lock(&p->mu);
	p->busy[idx] = 0;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

/* dbpool_get - see dbpool.h */
struct cl_pg *dbpool_get(struct dbpool *p, int wait_ms, char *err, size_t errlen)
{
	int idx = dbpool_take(p, wait_ms);
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
		dbpool_release(p, idx);
		return NULL;
	}
	return pg;
}

void dbpool_put(struct dbpool *p, struct cl_pg *pg)
{
	if (pg)
		dbpool_release(p, (int)(pg - p->conns));
}
