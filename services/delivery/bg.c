/* bg.c - delivery's background thread. See bg.h. */
#include "bg.h"

#include <time.h>

#include "digest.h"
#include "maildir.h"
#include "store.h"
#include "util/buf.h"
#include "util/log.h"

/* housekeeping - stale tmp/ files and expired quarantine rows. */
static void housekeeping(struct dl_ctx *c)
{
	int n = dl_maildir_clean_tmp(c->cfg->maildir_root, c->cfg->tmp_max_age_s);
	if (n > 0) {
		cl_metric_add(c->m->tmp_cleaned, n);
		cl_log(CL_LOG_INFO, NULL, "tmp_cleaned", "files=%d", n);
	}
	char err[300];
	struct cl_pg *pg = cl_pg_pool_get(c->db, -1, err, sizeof err);
	if (!pg)
		return;
	long long p = dl_quarantine_purge(pg, err, sizeof err);
	cl_pg_pool_put(c->db, pg);
	if (p > 0) {
		cl_metric_add(c->m->q_purged, p);
		cl_log(CL_LOG_INFO, NULL, "quarantine_purged", "rows=%lld", p);
	}
}

static void *bg_main(void *arg)
{
	struct dl_bg *b = arg;
	double next_hk = 0, next_dg = 0;
	pthread_mutex_lock(&b->mu);
	while (!b->stop) {
		pthread_mutex_unlock(&b->mu);
		double now = cl_now_seconds();
		if (now >= next_hk) {
			housekeeping(b->c);
			next_hk = now + (double)b->c->cfg->housekeeping_s;
		}
		if (now >= next_dg) {
			dl_digest_run(b->c, 50);
			next_dg = now + (double)b->c->cfg->digest_poll_s;
		}
		double wake = next_hk < next_dg ? next_hk : next_dg;
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		double d = wake - cl_now_seconds();
		d = d < 0.05 ? 0.05 : d;
		ts.tv_sec += (time_t)d;
		ts.tv_nsec += (long)((d - (double)(time_t)d) * 1e9);
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_mutex_lock(&b->mu);
		if (!b->stop)
			pthread_cond_timedwait(&b->cv, &b->mu, &ts);
	}
	pthread_mutex_unlock(&b->mu);
	return NULL;
}

void dl_bg_init(struct dl_bg *b, struct dl_ctx *c)
{
	b->c = c;
	b->stop = 0;
	pthread_mutex_init(&b->mu, NULL);
	pthread_cond_init(&b->cv, NULL);
}

void dl_bg_fini(struct dl_bg *b)
{
	pthread_mutex_destroy(&b->mu);
	pthread_cond_destroy(&b->cv);
}

int dl_bg_start(struct dl_bg *b)
{
	return pthread_create(&b->th, NULL, bg_main, b) == 0 ? 0 : -1;
}

void dl_bg_stop(struct dl_bg *b)
{
	pthread_mutex_lock(&b->mu);
	b->stop = 1;
	pthread_cond_signal(&b->cv);
	pthread_mutex_unlock(&b->mu);
	pthread_join(b->th, NULL);
}
