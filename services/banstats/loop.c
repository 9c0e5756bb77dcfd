/* loop.c - banstats' periodic thread. See loop.h. */
#include "loop.h"

#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "util/buf.h"
#include "util/log.h"

void loop_init(struct loop *l)
{
	pthread_mutex_init(&l->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&l->wake, &ca);
	pthread_condattr_destroy(&ca);
}

void loop_fini(struct loop *l)
{
	cl_pg_close(&l->pg);
	pthread_cond_destroy(&l->wake);
	pthread_mutex_destroy(&l->lock);
}

void loop_once(struct loop *l, int stats, int maint, int push)
{
	char err[400];
	if (maint && maintain_run(&l->pg, l->cfg, err, sizeof err) < 0) {
		char esc[500];
		cl_log(CL_LOG_ERROR, NULL, "partitions_failed", "error=%s",
		       cl_log_escape(esc, sizeof esc, err, strlen(err)));
	}
	if (stats) {
		int rc = stats_run(&l->pg, l->cfg, l->m, err, sizeof err);
		atomic_store(&l->db_ok, rc == 0);
		if (rc < 0) {
			char esc[500];
			cl_log(CL_LOG_ERROR, NULL, "stats_failed", "error=%s",
			       cl_log_escape(esc, sizeof esc, err, strlen(err)));
		}
		/* every replica keeps its own host's files, whichever ran the statistics */
		if (firewall_export(&l->pg, l->cfg, err, sizeof err) < 0) {
			char esc[500];
			cl_log(CL_LOG_ERROR, NULL, "firewall_export_failed", "error=%s",
			       cl_log_escape(esc, sizeof esc, err, strlen(err)));
		}
	}
	if (push && l->tls)
		push_run(&l->pg, l->cfg, l->m, l->tls);
}

/* loop_main - the periodic thread; sleeps on a monotonic condition variable so SIGTERM wakes it. */
static void *loop_main(void *arg)
{
	struct loop *l = arg;
	double next_stats = 0, next_maint = 0, next_push = 0;
	pthread_mutex_lock(&l->lock);
	while (!l->stop) {
		pthread_mutex_unlock(&l->lock);
		double now = cl_now_seconds();
		int do_stats = now >= next_stats, do_maint = now >= next_maint, do_push = now >= next_push;
		loop_once(l, do_stats, do_maint, do_push);
		now = cl_now_seconds();
		if (do_stats)
			next_stats = now + (double)l->cfg->interval_s;
		if (do_maint)
			next_maint = now + (double)l->cfg->maintenance_s;
		if (do_push)
			next_push = now + (double)l->cfg->push_interval_s;
		double until = next_stats < next_push ? next_stats : next_push;
		if (next_maint < until)
			until = next_maint;
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		double wait = until - now;
		ts.tv_sec += (time_t)wait;
		ts.tv_nsec += (long)((wait - (double)(time_t)wait) * 1e9);
		if (ts.tv_nsec >= 1000000000L)
			ts.tv_sec++, ts.tv_nsec -= 1000000000L;
		pthread_mutex_lock(&l->lock);
		if (!l->stop && wait > 0)
			pthread_cond_timedwait(&l->wake, &l->lock, &ts);
	}
	pthread_mutex_unlock(&l->lock);
	return NULL;
}

int loop_ready(void *ctx, char *why, size_t whylen)
{
	struct loop *l = ctx;
	if (atomic_load(&l->db_ok))
		return 1;
	cl_snprintf(why, whylen, "database unreachable");
	return 0;
}

int loop_start(struct loop *l)
{
	return pthread_create(&l->th, NULL, loop_main, l) == 0 ? 0 : -1;
}

void loop_stop(struct loop *l)
{
	pthread_mutex_lock(&l->lock);
	l->stop = 1;
	pthread_cond_signal(&l->wake);
	pthread_mutex_unlock(&l->lock);
	pthread_join(l->th, NULL);
}
