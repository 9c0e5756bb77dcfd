/* cache_watch.h - the thread that keeps the cache equal to PostgreSQL.
 *
 * It holds its own connection, LISTENs on channel clement_cache (the triggers of
 * 0001_core.sql NOTIFY on every change to what decisions read), loads a full snapshot after
 * connecting and after each burst of notifications (bursts are coalesced for debounce_ms),
 * and reconnects with backoff (100 ms doubling to 2 s) when the database goes away. LISTEN
 * is issued before the load, so no change committed after the load can be missed; a change
 * made while we were disconnected is picked up by the full load after reconnecting. */
#ifndef CLEMENT_POLICY_CACHE_WATCH_H
#define CLEMENT_POLICY_CACHE_WATCH_H

#include <pthread.h>
#include <stdatomic.h>

#include "cache.h"
#include "util/metrics.h"

struct pc_watch {
	struct pc_cache *cache; /* not owned */
	const char *db_url;     /* not owned; outlives the thread */
	int debounce_ms;
	struct cl_metric *m_reloads, *m_errors; /* may be NULL */
	pthread_t thread;
	_Atomic int stop;
	int running;
};

/* pc_watch_start - start the thread; 0 or -1. */
int pc_watch_start(struct pc_watch *w);
/* pc_watch_stop - ask the thread to end and join it (returns within about 250 ms). */
void pc_watch_stop(struct pc_watch *w);

#endif
