/* watch.c - the signature reload thread.
 *
 * Every CLEMENT_CLAMAV_RELOAD_S seconds it takes a fingerprint of the database directory
 * (names, sizes, mtimes, inodes); when it differs from the last attempt, it builds a whole
 * new engine here, in the background, and swaps it in (engine.h): scans keep running on the
 * old engine meanwhile and finish on it. A failed load (a half-copied file, a broken
 * signature) keeps the old engine, is logged and counted, and is retried when the directory
 * changes again. freshclam writes new files under temporary names and renames them into
 * place, so a load normally sees only whole files. */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "scanner.h"
#include "util/buf.h"
#include "util/log.h"

/* publish - swap e in and update the metrics that describe the engine in use. */
static void publish(struct scanner *s, struct scan_engine *e, double secs)
{
	cl_metric_set(s->sigs, e->sigs);
	cl_metric_set(s->db_version, e->db_version);
	cl_metric_set(s->db_time, e->db_time);
	cl_metric_set(s->loaded_at, (int64_t)e->loaded_at);
	cl_log(CL_LOG_INFO, NULL, "engine_loaded", "signatures=%u db_version=%lld db_time=%lld load_ms=%.0f", e->sigs,
	       e->db_version, e->db_time, secs * 1000.0);
	struct scan_engine *old = engine_slot_swap(&s->slot, e);
	cl_metric_inc(s->reloads_ok);
	engine_retire(old); /* here, not in a scan: freeing a full engine takes a while */
}

int scanner_reload_once(struct scanner *s, int force)
{
	uint64_t fp = 0;
	char edir[300];
	if (db_fingerprint(s->cfg->db_dir, &fp) < 0) {
		if (force || s->have_fingerprint) {
			cl_log_escape(edir, sizeof edir, s->cfg->db_dir, strlen(s->cfg->db_dir));
			cl_log(CL_LOG_ERROR, NULL, "db_unreadable", "dir=%s error=\"%s\"", edir, strerror(errno));
			cl_metric_inc(s->reloads_failed);
		}
		s->have_fingerprint = 0;
		return -1;
	}
	if (!force && s->have_fingerprint && fp == s->last_fingerprint)
		return 0;
	s->last_fingerprint = fp;
	s->have_fingerprint = 1;
	cl_log(CL_LOG_INFO, NULL, "engine_loading", "reason=%s", force ? "start" : "db_changed");
	double t0 = cl_now_seconds();
	struct scan_engine *e = NULL;
	char err[300];
	if (engine_load(s->cfg->db_dir, &s->cfg->limits, &e, err, sizeof err) < 0) {
		char eerr[340];
		cl_log_escape(eerr, sizeof eerr, err, strlen(err));
		cl_log(CL_LOG_ERROR, NULL, "engine_load_failed", "error=%s keeping=%s", eerr,
		       scanner_ready(s, err, sizeof err) ? "previous" : "none");
		cl_metric_inc(s->reloads_failed);
		return -1;
	}
	publish(s, e, cl_now_seconds() - t0);
	return 1;
}

/* watch_main - initial load, then poll until told to stop. */
static void *watch_main(void *arg)
{
	struct scanner *s = arg;
	scanner_reload_once(s, 1);
	pthread_mutex_lock(&s->watch_lock);
	while (!s->watch_stop) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += (time_t)s->cfg->reload_s;
		while (!s->watch_stop && pthread_cond_timedwait(&s->watch_cond, &s->watch_lock, &until) != ETIMEDOUT)
			;
		if (s->watch_stop)
			break;
		pthread_mutex_unlock(&s->watch_lock);
		scanner_reload_once(s, 0);
		pthread_mutex_lock(&s->watch_lock);
	}
	pthread_mutex_unlock(&s->watch_lock);
	return NULL;
}

int scanner_watch_start(struct scanner *s, char *err, size_t errlen)
{
	s->watch_stop = 0;
	int rv = pthread_create(&s->watch_thread, NULL, watch_main, s);
	if (rv != 0) {
		cl_snprintf(err, errlen, "cannot start the reload thread: %s", strerror(rv));
		return -1;
	}
	s->watch_running = 1;
	return 0;
}

void scanner_watch_stop(struct scanner *s)
{
	if (!s->watch_running)
		return;
	pthread_mutex_lock(&s->watch_lock);
	s->watch_stop = 1;
	pthread_cond_signal(&s->watch_cond);
	pthread_mutex_unlock(&s->watch_lock);
	pthread_join(s->watch_thread, NULL);
	s->watch_running = 0;
}
