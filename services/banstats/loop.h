/* loop.h - banstats' periodic thread: a statistics pass (stats.c) every
 * CLEMENT_BANSTATS_INTERVAL_S, log partition maintenance (maintain.c) every
 * CLEMENT_MAINTENANCE_INTERVAL_S and a mesh push round (push.c) every
 * CLEMENT_MESH_PUSH_INTERVAL_S, on one PostgreSQL connection; it sleeps on a monotonic
 * condition variable, so loop_stop wakes it (a run in progress finishes first). */
#ifndef CLEMENT_BANSTATS_LOOP_H
#define CLEMENT_BANSTATS_LOOP_H

#include <pthread.h>
#include <stddef.h>

#include "banstats.h"

struct loop {
	pthread_t th;
	const struct banstats_config *cfg;
	struct banstats_metrics *m;
	void *tls; /* SSL_CTX for the push, NULL when the mesh push is off */
	struct cl_pg pg;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	int stop; /* under lock */
	_Atomic int db_ok;
};

/* loop_init / loop_fini - the lock and condition variable (loop_fini also closes pg). */
void loop_init(struct loop *l);
void loop_fini(struct loop *l);
/* loop_once - one statistics run, partition maintenance and/or push round; keeps db_ok
 * current (CLEMENT_BANSTATS_ONCE calls it alone). */
void loop_once(struct loop *l, int stats, int maint, int push);
/* loop_start - the thread; 0 or -1. loop_stop - wake and join it. */
int loop_start(struct loop *l);
void loop_stop(struct loop *l);
/* loop_ready - /healthz (a cl_ready_fn, ctx the struct loop): the database answered the last run. */
int loop_ready(void *ctx, char *why, size_t whylen);

#endif
