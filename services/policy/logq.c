/* logq.c - bounded log queue and its batch writer. See logq.h. */
#include "logq.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db/pg.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/utf8.h"

struct kind_desc {
	const char *table;
	int ncols;
	const char *cols;
};

/* Column orders: the producers (handler.c) fill pl_row.v in exactly this order. */
static const struct kind_desc kinds[PL_NKINDS] = {
    [PL_SESSION] = {"smtp_sessions", 16,
		    "sid, started_at, ended_at, client_ip, client_port, listener, helo, tls, auth_user, outcome, "
		    "pregreet, protocol_errors, messages, transcript, rep_score, rep_facts"},
    [PL_MESSAGE] = {"message_log", 18,
		    "logged_at, sid, msgid, direction, client_ip, sender, rcpt, user_id, domain_id, group_id, status, "
		    "reason_class, code, enh, reason, virus, subject, size"},
};

static void *pl_writer_main(void *arg);

struct pl_row *pl_row_new(int kind)
{
	struct pl_row *r = calloc(1, sizeof *r);
	if (r)
		r->kind = kind;
	return r;
}

int pl_row_set(struct pl_row *r, int i, const char *s)
{
	free(r->v[i]);
	r->v[i] = NULL;
	if (!s)
		return 0;
	r->v[i] = strdup(s);
	if (!r->v[i])
		return -1;
	pl_utf8_clean(r->v[i]);
	return 0;
}

void pl_row_free(struct pl_row *r)
{
	if (!r)
		return;
	for (int i = 0; i < PL_MAX_COLS; i++)
		free(r->v[i]);
	free(r);
}

void pl_ts_text(double t, char *out, size_t outlen)
{
	time_t s = (time_t)t;
	struct tm tm;
	gmtime_r(&s, &tm);
	char base[32];
	strftime(base, sizeof base, "%Y-%m-%d %H:%M:%S", &tm);
	long us = (long)((t - (double)s) * 1e6);
	if (us < 0 || us > 999999)
		us = 0;
	cl_snprintf(out, outlen, "%s.%06ld+00", base, us);
}

void pl_utf8_clean(char *s)
{
	unsigned char *p = (unsigned char *)s;
	for (size_t left = strlen(s); left > 0;) {
		size_t n = cl_utf8_len(p, left);
		if (n == 0) {
			*p++ = '?';
			left--;
			continue;
		}
		p += n;
		left -= n;
	}
}

int pl_queue_start(struct pl_queue *q)
{
	q->ring = calloc(q->queue_max, sizeof *q->ring);
	if (!q->ring)
		return -1;
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->cond, NULL);
	q->head = q->n = 0;
	q->stop = 0;
	if (pthread_create(&q->thread, NULL, pl_writer_main, q) != 0) {
		free(q->ring);
		q->ring = NULL;
		return -1;
	}
	q->running = 1;
	return 0;
}

void pl_queue_push(struct pl_queue *q, struct pl_row *r)
{
	struct pl_row *dropped = NULL;
	pthread_mutex_lock(&q->lock);
	if (q->n == q->queue_max) {
		dropped = q->ring[q->head];
		q->head = (q->head + 1) % q->queue_max;
		q->n--;
	}
	q->ring[(q->head + q->n) % q->queue_max] = r;
	q->n++;
	atomic_store(&q->len, q->n);
	if (q->n >= q->batch_max)
		pthread_cond_signal(&q->cond);
	pthread_mutex_unlock(&q->lock);
	if (dropped) {
		pl_row_free(dropped);
		if (q->m_dropped)
			cl_metric_inc(q->m_dropped);
	}
}

/* take - move up to batch_max rows from the ring into out; returns how many. Lock held. */
static size_t take(struct pl_queue *q, struct pl_row **out)
{
	size_t k = 0;
	while (q->n && k < q->batch_max) {
		out[k++] = q->ring[q->head];
		q->head = (q->head + 1) % q->queue_max;
		q->n--;
	}
	atomic_store(&q->len, q->n);
	return k;
}

/* insert_rows - one multi-row INSERT of the rows of one kind; 0 or -1. */
static int insert_rows(struct cl_pg *pg, int kind, struct pl_row **rows, size_t n, char *err, size_t errlen)
{
	const struct kind_desc *kd = &kinds[kind];
	struct cl_buf sql;
	cl_buf_init(&sql, 0);
	const char **params = calloc(n * (size_t)kd->ncols + 1, sizeof *params);
	int rc = params ? 0 : -1;
	cl_buf_printf(&sql, "INSERT INTO %s (%s) VALUES ", kd->table, kd->cols);
	size_t p = 0;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		cl_buf_append_str(&sql, i ? ",(" : "(");
		for (int c = 0; c < kd->ncols; c++) {
			params[p] = rows[i]->v[c];
			rc |= cl_buf_printf(&sql, "%s$%zu", c ? "," : "", ++p);
		}
		rc |= cl_buf_append_str(&sql, ")");
	}
	if (rc == 0) {
		PGresult *r = cl_pg_exec_sql(pg, sql.data, (int)p, params, err, errlen);
		rc = r ? 0 : -1;
		PQclear(r);
	} else {
		cl_snprintf(err, errlen, "out of memory");
	}
	free(params);
	cl_buf_free(&sql);
	return rc;
}

/* write_batch - every row of the batch in one transaction; 0 or -1. */
static int write_batch(struct cl_pg *pg, struct pl_row **rows, size_t n, char *err, size_t errlen)
{
	if (cl_pg_begin(pg, NULL, err, errlen) < 0)
		return -1;
	struct pl_row *part[n ? n : 1];
	for (int k = 0; k < PL_NKINDS; k++) {
		size_t m = 0;
		for (size_t i = 0; i < n; i++)
			if (rows[i]->kind == k)
				part[m++] = rows[i];
		if (m && insert_rows(pg, k, part, m, err, errlen) < 0) {
			cl_pg_rollback(pg);
			return -1;
		}
	}
	return cl_pg_commit(pg, err, errlen);
}

/* write_one_by_one - the database refused the batch for its content: keep the good rows,
 * drop (and count) the bad ones. */
static void write_one_by_one(struct pl_queue *q, struct cl_pg *pg, struct pl_row **rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char err[256];
		if (insert_rows(pg, rows[i]->kind, &rows[i], 1, err, sizeof err) == 0) {
			if (q->m_written)
				cl_metric_inc(q->m_written);
			continue;
		}
		char e[300];
		cl_log(CL_LOG_WARN, NULL, "log_row_dropped", "error=%s", cl_log_escape(e, sizeof e, err, strlen(err)));
		if (q->m_dropped)
			cl_metric_inc(q->m_dropped);
	}
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* ensure_partitions - the monthly log partitions around now (0002_logs.sql); rows outside
 * them would land in the DEFAULT partition, which later blocks creating that month. Run at
 * the first write and then twice a day; a failure is only logged (the DEFAULT catches all). */
static void ensure_partitions(struct cl_pg *pg, double *last)
{
	double now = cl_now_seconds();
	if (*last != 0 && now - *last < 43200)
		return;
	char err[256];
	if (cl_pg_command(pg, "SELECT clement_ensure_partitions(0, 2)", err, sizeof err) == 0) {
		*last = now;
		return;
	}
	char e[300];
	cl_log(CL_LOG_WARN, NULL, "log_partitions_failed", "error=%s", cl_log_escape(e, sizeof e, err, strlen(err)));
}

/* flush_batch - write a batch, retrying while the database is away. Returns 0 when the
 * rows are written (or dropped as bad), -1 when stopping gave up (rows still ours). */
static int flush_batch(struct pl_queue *q, struct cl_pg *pg, struct pl_row **rows, size_t n, double give_up_at)
{
	long delay = 100;
	for (;;) {
		char err[512];
		ensure_partitions(pg, &q->partitions_at);
		if (write_batch(pg, rows, n, err, sizeof err) == 0) {
			if (q->m_written)
				cl_metric_add(q->m_written, (int64_t)n);
			return 0;
		}
		if (q->m_db_errors)
			cl_metric_inc(q->m_db_errors);
		if (pg->conn && PQstatus(pg->conn) == CONNECTION_OK) {
			write_one_by_one(q, pg, rows, n);
			return 0;
		}
		char e[600];
		cl_log(CL_LOG_WARN, NULL, "log_db_down", "rows=%zu retry_ms=%ld error=%s", n, delay,
		       cl_log_escape(e, sizeof e, err, strlen(err)));
		pthread_mutex_lock(&q->lock);
		int stopping = q->stop;
		pthread_mutex_unlock(&q->lock);
		if (stopping && (give_up_at == 0 || cl_now_seconds() > give_up_at))
			return -1;
		sleep_ms(delay);
		delay = delay * 2 > 2000 ? 2000 : delay * 2;
	}
}

/* wait_for_rows - block until a full batch waits, flush_ms passed or stop; returns stop. */
static int wait_for_rows(struct pl_queue *q)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += q->flush_ms / 1000;
	until.tv_nsec += (long)(q->flush_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	while (!q->stop && q->n < q->batch_max)
		if (pthread_cond_timedwait(&q->cond, &q->lock, &until) != 0)
			break;
	return q->stop;
}

static void *pl_writer_main(void *arg)
{
	struct pl_queue *q = arg;
	struct cl_pg pg;
	char err[512];
	cl_pg_open(&pg, q->db_url, NULL, 0, 1, err, sizeof err); /* failure: retried by every write */
	struct pl_row **batch = calloc(q->batch_max, sizeof *batch);
	double give_up_at = 0;
	for (;;) {
		pthread_mutex_lock(&q->lock);
		int stopping = wait_for_rows(q);
		size_t n = batch ? take(q, batch) : 0;
		pthread_mutex_unlock(&q->lock);
		if (stopping && give_up_at == 0)
			give_up_at = cl_now_seconds() + q->stop_wait_ms / 1000.0;
		if (n && flush_batch(q, &pg, batch, n, give_up_at) < 0) {
			cl_log(CL_LOG_ERROR, NULL, "log_lost_at_exit", "rows=%zu", n);
			if (q->m_dropped)
				cl_metric_add(q->m_dropped, (int64_t)n);
		}
		for (size_t i = 0; i < n; i++)
			pl_row_free(batch[i]);
		if (stopping && n == 0)
			break;
		if (!batch) {
			sleep_ms(100);
			batch = calloc(q->batch_max, sizeof *batch);
		}
	}
	free(batch);
	cl_pg_close(&pg);
	return NULL;
}

void pl_queue_stop(struct pl_queue *q)
{
	if (!q->running)
		return;
	pthread_mutex_lock(&q->lock);
	q->stop = 1;
	pthread_cond_signal(&q->cond);
	pthread_mutex_unlock(&q->lock);
	pthread_join(q->thread, NULL);
	q->running = 0;
	while (q->n) { /* only when the writer gave up */
		pl_row_free(q->ring[q->head]);
		q->head = (q->head + 1) % q->queue_max;
		q->n--;
	}
	free(q->ring);
	q->ring = NULL;
	pthread_cond_destroy(&q->cond);
	pthread_mutex_destroy(&q->lock);
}
