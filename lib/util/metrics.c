/* metrics.c - lock-free counters and histograms, Prometheus text output. See metrics.h. */
#include "util/metrics.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CL_METRICS_MAX  256
#define CL_HIST_BUCKETS 19

/* From 10 us: an in-process decision (policy) or a loopback RPC takes well under 0.5 ms,
 * and a quantile that lands in the first bucket says nothing. */
static const double hist_bounds[CL_HIST_BUCKETS] = {0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001,
						    0.0025,  0.005,    0.01,    0.025,  0.05,    0.1,    0.25,
						    0.5,     1,        2.5,     5,      10};

enum metric_kind { M_COUNTER, M_GAUGE, M_HIST };

struct cl_metric {
	enum metric_kind kind;
	char name[96];
	char help[160];
	char labels[128];
	_Atomic int64_t value;
	_Atomic uint64_t buckets[CL_HIST_BUCKETS + 1]; /* last: +Inf */
	_Atomic uint64_t sum_ns;                       /* histogram sum in nanoseconds */
};

struct cl_metrics {
	struct cl_metric *items[CL_METRICS_MAX];
	size_t n;
};

struct cl_metrics *cl_metrics_new(void)
{
	return calloc(1, sizeof(struct cl_metrics));
}

void cl_metrics_free(struct cl_metrics *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++)
		free(m->items[i]);
	free(m);
}

/* metrics_add - allocate and register one series. */
static struct cl_metric *metrics_add(struct cl_metrics *m, enum metric_kind k, const char *name, const char *help,
				     const char *labels)
{
	if (m->n >= CL_METRICS_MAX)
		return NULL;
	struct cl_metric *c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	c->kind = k;
	cl_strlcpy(c->name, name, sizeof c->name);
	cl_strlcpy(c->help, help, sizeof c->help);
	cl_strlcpy(c->labels, labels ? labels : "", sizeof c->labels);
	m->items[m->n++] = c;
	return c;
}

struct cl_metric *cl_metrics_counter(struct cl_metrics *m, const char *name, const char *help, const char *labels)
{
	return metrics_add(m, M_COUNTER, name, help, labels);
}

struct cl_metric *cl_metrics_gauge(struct cl_metrics *m, const char *name, const char *help, const char *labels)
{
	return metrics_add(m, M_GAUGE, name, help, labels);
}

struct cl_metric *cl_metrics_histogram(struct cl_metrics *m, const char *name, const char *help, const char *labels)
{
	return metrics_add(m, M_HIST, name, help, labels);
}

void cl_metric_inc(struct cl_metric *c)
{
	if (c)
		atomic_fetch_add_explicit(&c->value, 1, memory_order_relaxed);
}

void cl_metric_add(struct cl_metric *c, int64_t n)
{
	if (c)
		atomic_fetch_add_explicit(&c->value, n, memory_order_relaxed);
}

void cl_metric_set(struct cl_metric *g, int64_t v)
{
	if (g)
		atomic_store_explicit(&g->value, v, memory_order_relaxed);
}

int64_t cl_metric_value(const struct cl_metric *c)
{
	return c ? atomic_load_explicit(&c->value, memory_order_relaxed) : 0;
}

void cl_metric_observe(struct cl_metric *h, double seconds)
{
	if (!h)
		return;
	size_t i = 0;
	while (i < CL_HIST_BUCKETS && seconds > hist_bounds[i])
		i++;
	atomic_fetch_add_explicit(&h->buckets[i], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->value, 1, memory_order_relaxed);
	if (seconds > 0)
		atomic_fetch_add_explicit(&h->sum_ns, (uint64_t)(seconds * 1e9 + 0.5), memory_order_relaxed);
}

double cl_metric_quantile(const struct cl_metric *h, double q)
{
	uint64_t total = (uint64_t)cl_metric_value(h);
	if (!h || total == 0)
		return 0;
	uint64_t want = (uint64_t)(q * (double)total + 0.5), acc = 0;
	if (want == 0)
		want = 1;
	for (size_t i = 0; i <= CL_HIST_BUCKETS; i++) {
		acc += atomic_load_explicit(&h->buckets[i], memory_order_relaxed);
		if (acc >= want)
			return i < CL_HIST_BUCKETS ? hist_bounds[i] : hist_bounds[CL_HIST_BUCKETS - 1] * 2;
	}
	return hist_bounds[CL_HIST_BUCKETS - 1] * 2;
}

/* render_labels - "{a="b",le="x"}" from the series' labels plus an optional extra pair. */
static int render_labels(struct cl_buf *out, const char *labels, const char *extra)
{
	int have = labels[0] != '\0';
	if (!have && !extra)
		return 0;
	return cl_buf_printf(out, "{%s%s%s}", labels, (have && extra) ? "," : "", extra ? extra : "");
}

int cl_metrics_render(struct cl_metrics *m, struct cl_buf *out)
{
	static const char *types[] = {"counter", "gauge", "histogram"};
	int rc = 0;
	for (size_t i = 0; i < m->n; i++) {
		struct cl_metric *c = m->items[i];
		int first = (i == 0 || strcmp(m->items[i - 1]->name, c->name) != 0);
		if (first)
			rc |= cl_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", c->name, c->help, c->name,
					    types[c->kind]);
		if (c->kind != M_HIST) {
			rc |= cl_buf_append_str(out, c->name);
			rc |= render_labels(out, c->labels, NULL);
			rc |= cl_buf_printf(out, " %lld\n", (long long)cl_metric_value(c));
			continue;
		}
		uint64_t acc = 0;
		for (size_t b = 0; b <= CL_HIST_BUCKETS; b++) {
			char le[48];
			acc += atomic_load_explicit(&c->buckets[b], memory_order_relaxed);
			if (b < CL_HIST_BUCKETS)
				cl_snprintf(le, sizeof le, "le=\"%g\"", hist_bounds[b]);
			else
				cl_snprintf(le, sizeof le, "le=\"+Inf\"");
			rc |= cl_buf_printf(out, "%s_bucket", c->name);
			rc |= render_labels(out, c->labels, le);
			rc |= cl_buf_printf(out, " %llu\n", (unsigned long long)acc);
		}
		rc |= cl_buf_printf(out, "%s_sum", c->name);
		rc |= render_labels(out, c->labels, NULL);
		rc |= cl_buf_printf(out, " %.9f\n", (double)atomic_load(&c->sum_ns) / 1e9);
		rc |= cl_buf_printf(out, "%s_count", c->name);
		rc |= render_labels(out, c->labels, NULL);
		rc |= cl_buf_printf(out, " %llu\n", (unsigned long long)acc);
	}
	return rc ? -1 : 0;
}

double cl_now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
