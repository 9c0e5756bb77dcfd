/* bulk.h - the same text from many servers: a bounded, expiring count of message-body
 * fingerprints by distinct client address (issue 19, snowshoe spam).
 *
 * A snowshoe campaign sends one message from many fresh, clean addresses, each with FCrDNS,
 * SPF and DKIM in order: no list and no score stops a copy, but the scanner sees every copy.
 * bulk_fingerprint reduces a body to its words without digits (tracking numbers, tokens, MIME
 * boundaries and dates vary from copy to copy; the text does not), bulk_note records that a
 * client sent it and says from how many other distinct client addresses the same fingerprint
 * came within the window. The table is in memory, per scanner process, bounded (BULK_SLOTS
 * fingerprints, BULK_CLIENTS_MAX addresses each, the oldest replaced first) and thread-safe. */
#ifndef CLEMENT_SCANNER_BULK_H
#define CLEMENT_SCANNER_BULK_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define BULK_SLOTS       8192
#define BULK_CLIENTS_MAX 32
#define BULK_MIN_WORDS   8 /* shorter texts ("Thanks!") are too common to mean anything */

struct bulk_slot {
	uint64_t fp; /* 0 = free */
	time_t last;
	int n;
	uint64_t client[BULK_CLIENTS_MAX];
	time_t seen[BULK_CLIENTS_MAX];
	unsigned char deferred[BULK_CLIENTS_MAX]; /* this client was told to try again (bulk_defer) */
};

struct bulk_table {
	pthread_mutex_t lock;
	long window_s;
	struct bulk_slot *slot; /* BULK_SLOTS */
};

int bulk_init(struct bulk_table *t, long window_s);
void bulk_fini(struct bulk_table *t);

/* bulk_fingerprint - of the body of msg (after the header block), 0 when it has fewer than
 * BULK_MIN_WORDS words without digits. */
uint64_t bulk_fingerprint(const unsigned char *msg, size_t len);

/* bulk_note - client sent fingerprint fp at now: how many OTHER distinct clients sent it
 * within the window (before this one is added). fp 0: 0, nothing recorded. *deferred (when
 * not NULL) is set to whether this client was deferred for this text before (bulk_defer). */
int bulk_note(struct bulk_table *t, uint64_t fp, const char *client, time_t now, int *deferred);

/* bulk_defer - remember that client was told to try fp again later, so that its retry is
 * judged by the full count only (issue 19's early deferral, check.c). Nothing when fp is 0 or
 * the client is no longer in fp's slot. */
void bulk_defer(struct bulk_table *t, uint64_t fp, const char *client, time_t now);

#endif
