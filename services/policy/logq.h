/* logq.h - the batch writer for smtp_sessions and message_log.
 *
 * Request threads push rows (never blocking on the database); one writer thread takes up to
 * batch_max rows at a time and writes each table's rows with one multi-row INSERT inside one
 * transaction, at least every flush_ms and at once when a full batch is waiting.
 *
 * PostgreSQL down: the writer keeps its batch and retries with backoff (100 ms doubling to
 * 2 s); new rows keep queueing. The queue is bounded (queue_max rows): when it is full the
 * OLDEST row is dropped to make room and counted in clement_policy_log_dropped_total, so a
 * long outage costs old log rows, never memory without bound nor a stalled SMTP session.
 * A batch the database refuses for its content (not for a lost connection) is retried row
 * by row and the bad rows are dropped and counted, so one bad row cannot block the log.
 * On stop the queue is flushed, giving up after stop_wait_ms if the database stays away. */
#ifndef CLEMENT_POLICY_LOGQ_H
#define CLEMENT_POLICY_LOGQ_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

#include "util/metrics.h"

enum pl_kind { PL_SESSION = 0, PL_MESSAGE, PL_NKINDS };
#define PL_MAX_COLS 18

/* One row: column values as text (NULL = SQL NULL), in the order of the kind's column list. */
struct pl_row {
	int kind;
	char *v[PL_MAX_COLS]; /* owned by the row */
};

struct pl_queue {
	const char *db_url; /* not owned */
	size_t queue_max, batch_max;
	int flush_ms, stop_wait_ms;
	struct cl_metric *m_dropped, *m_written, *m_db_errors; /* may be NULL */

	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct pl_row **ring;
	size_t head, n;
	int stop;
	pthread_t thread;
	int running;
	_Atomic size_t len;   /* for /metrics without the lock */
	double partitions_at; /* writer thread only: last clement_ensure_partitions() */
};

/* pl_row_new - an empty row of a kind; NULL when out of memory. */
struct pl_row *pl_row_new(int kind);
/* pl_row_set - copy s (may be NULL) into column i; 0 or -1 (out of memory). */
int pl_row_set(struct pl_row *r, int i, const char *s);
void pl_row_free(struct pl_row *r);
/* pl_ts_text - unix seconds as timestamptz text ("2026-01-31 12:00:00.123456+00"). */
void pl_ts_text(double t, char *out, size_t outlen);
/* pl_utf8_clean - replace each byte of invalid UTF-8 in s with '?', in place (PostgreSQL
 * refuses invalid text, and one such row would otherwise poison a batch). */
void pl_utf8_clean(char *s);

/* pl_queue_start - allocate the ring and start the writer; 0 or -1. Fill the
 * configuration fields first. */
int pl_queue_start(struct pl_queue *q);
/* pl_queue_push - queue a row; the queue takes it over in every case. */
void pl_queue_push(struct pl_queue *q, struct pl_row *r);
/* pl_queue_stop - flush, stop the writer, free what is left. */
void pl_queue_stop(struct pl_queue *q);

#endif
