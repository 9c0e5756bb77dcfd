/* cache_watch.c - LISTEN/NOTIFY reload thread. See cache_watch.h. */
#include "cache_watch.h"

#include <libpq-fe.h>
#include <poll.h>
#include <string.h>
#include <time.h>

#include "cache_load.h"
#include "util/buf.h"
#include "util/log.h"

#define WATCH_TICK_MS 200

/* nap - sleep up to ms, in ticks, returning early when asked to stop. */
static void nap(struct pc_watch *w, long ms)
{
	while (ms > 0 && !atomic_load(&w->stop)) {
		long step = ms > WATCH_TICK_MS ? WATCH_TICK_MS : ms;
		struct timespec ts = {0, step * 1000000L};
		nanosleep(&ts, NULL);
		ms -= step;
	}
}

static void set_connected(struct pc_watch *w, int up)
{
	if (up) {
		atomic_store(&w->cache->connected, 1);
		atomic_store(&w->cache->disconnected_at, 0.0);
	} else if (atomic_exchange(&w->cache->connected, 0) || atomic_load(&w->cache->disconnected_at) == 0.0) {
		atomic_store(&w->cache->disconnected_at, cl_now_seconds());
	}
}

/* watch_connect - a fresh connection with LISTEN issued; NULL on failure. */
static PGconn *watch_connect(struct pc_watch *w, char *err, size_t errlen)
{
	/* The URL first (expanded), then our own keywords on top: a bounded connect, and TCP
	 * keepalives so that a LISTEN connection to a vanished host is noticed in about a
	 * minute rather than after the kernel's two hours. */
	static const char *const keys[] = {
	    "dbname", "connect_timeout", "keepalives", "keepalives_idle", "keepalives_interval", "keepalives_count",
	    NULL};
	const char *const vals[] = {w->db_url, "5", "1", "30", "10", "3", NULL};
	PGconn *c = PQconnectdbParams(keys, vals, 1);
	if (PQstatus(c) != CONNECTION_OK) {
		cl_snprintf(err, errlen, "%s", PQerrorMessage(c));
		PQfinish(c);
		return NULL;
	}
	PGresult *r = PQexec(c, "LISTEN clement_cache");
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	if (!ok)
		cl_snprintf(err, errlen, "LISTEN: %s", PQerrorMessage(c));
	PQclear(r);
	if (!ok) {
		PQfinish(c);
		return NULL;
	}
	return c;
}

/* reload - load and publish a snapshot; 0 or -1. */
static int reload(struct pc_watch *w, PGconn *c)
{
	char err[512];
	double t0 = cl_now_seconds();
	struct pc_snap *s = pc_cache_load(c, err, sizeof err);
	if (!s) {
		if (w->m_errors)
			cl_metric_inc(w->m_errors);
		char q[600];
		cl_log(CL_LOG_WARN, NULL, "cache_load_failed", "error=%s",
		       cl_log_escape(q, sizeof q, err, strlen(err)));
		return -1;
	}
	size_t nd = s->ndomains, nu = s->nusers, nr = s->ndirs, nb = s->nbans;
	pc_cache_publish(w->cache, s);
	if (w->m_reloads)
		cl_metric_inc(w->m_reloads);
	cl_log(CL_LOG_INFO, NULL, "cache_loaded", "domains=%zu users=%zu directives=%zu bans=%zu ms=%.1f", nd, nu, nr,
	       nb, (cl_now_seconds() - t0) * 1000.0);
	return 0;
}

/* drain - consume input and every pending notification; returns how many, or -1 when the
 * connection is lost. */
static int drain(PGconn *c)
{
	if (!PQconsumeInput(c) || PQstatus(c) != CONNECTION_OK)
		return -1;
	int n = 0;
	PGnotify *nt;
	while ((nt = PQnotifies(c)) != NULL) {
		n++;
		PQfreemem(nt);
	}
	return n;
}

/* wait_readable - poll the connection's socket for up to ms; 1 readable, 0 timeout, -1 error. */
static int wait_readable(PGconn *c, int ms)
{
	struct pollfd p = {.fd = PQsocket(c), .events = POLLIN};
	if (p.fd < 0)
		return -1;
	int rv = poll(&p, 1, ms);
	return rv < 0 ? 0 : rv > 0;
}

/* serve - one connection's life: load, then reload on each burst of notifications.
 * Returns when the connection breaks or stop is set. */
static void serve(struct pc_watch *w, PGconn *c)
{
	int dirty = 1;
	while (!atomic_load(&w->stop)) {
		if (dirty) {
			if (reload(w, c) < 0) {
				if (PQstatus(c) != CONNECTION_OK)
					return;
				nap(w, 1000);
				continue;
			}
			/* A notification that came during the load is drained below and sets it again. */
			atomic_store(&w->cache->changes_pending, 0);
			dirty = 0;
		}
		if (wait_readable(c, WATCH_TICK_MS) < 0)
			return;
		int n = drain(c);
		if (n < 0)
			return;
		if (n == 0)
			continue;
		atomic_store(&w->cache->changes_pending, 1);
		/* A transaction touching several tables, or an admin saving a form, sends a burst:
		 * wait a little so that one reload covers all of it. */
		nap(w, w->debounce_ms);
		if (drain(c) < 0)
			return;
		dirty = 1;
	}
}

static void *watch_main(void *arg)
{
	struct pc_watch *w = arg;
	long delay = 100;
	while (!atomic_load(&w->stop)) {
		char err[512];
		PGconn *c = watch_connect(w, err, sizeof err);
		if (!c) {
			set_connected(w, 0);
			char q[600];
			cl_log(CL_LOG_WARN, NULL, "cache_db_down", "retry_ms=%ld error=%s", delay,
			       cl_log_escape(q, sizeof q, err, strlen(err)));
			if (w->m_errors)
				cl_metric_inc(w->m_errors);
			nap(w, delay);
			delay = delay * 2 > 2000 ? 2000 : delay * 2;
			continue;
		}
		delay = 100;
		set_connected(w, 1);
		cl_log(CL_LOG_INFO, NULL, "cache_listen", NULL);
		serve(w, c);
		PQfinish(c);
		set_connected(w, 0);
		if (!atomic_load(&w->stop))
			cl_log(CL_LOG_WARN, NULL, "cache_db_lost", NULL);
	}
	return NULL;
}

int pc_watch_start(struct pc_watch *w)
{
	atomic_store(&w->stop, 0);
	atomic_store(&w->cache->disconnected_at, cl_now_seconds());
	if (pthread_create(&w->thread, NULL, watch_main, w) != 0)
		return -1;
	w->running = 1;
	return 0;
}

void pc_watch_stop(struct pc_watch *w)
{
	if (!w->running)
		return;
	atomic_store(&w->stop, 1);
	pthread_join(w->thread, NULL);
	w->running = 0;
}
