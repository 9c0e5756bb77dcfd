/* bg.h - delivery's background thread: quarantine digests every CLEMENT_DIGEST_POLL_S and
 * housekeeping (stale Maildir tmp/ files, expired quarantine rows) every
 * CLEMENT_DELIVERY_HOUSEKEEPING_S, on connections borrowed from the pool like the RPC
 * workers'. dl_bg_stop wakes it at once (a digest run in progress finishes first). */
#ifndef CLEMENT_DELIVERY_BG_H
#define CLEMENT_DELIVERY_BG_H

#include <pthread.h>

#include "dconf.h"

/* The background thread: digests every digest_poll_s, housekeeping every housekeeping_s. */
struct dl_bg {
	struct dl_ctx *c;
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int stop;
};

/* dl_bg_init / dl_bg_fini - the lock and condition variable of b, working for c. */
void dl_bg_init(struct dl_bg *b, struct dl_ctx *c);
void dl_bg_fini(struct dl_bg *b);
/* dl_bg_start - the thread; 0 or -1. dl_bg_stop - wake and join it. */
int dl_bg_start(struct dl_bg *b);
void dl_bg_stop(struct dl_bg *b);

#endif
