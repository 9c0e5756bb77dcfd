/* metrics.h - counters, gauges and histograms rendered in Prometheus text format.
 *
 * A service creates one registry at start-up, registers its metrics (before any thread
 * uses them), then updates them from any thread without locks (C11 atomics).
 * The registry owns every metric; cl_metrics_free() releases all of them. */
#ifndef CLEMENT_UTIL_METRICS_H
#define CLEMENT_UTIL_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

struct cl_metrics;
struct cl_metric;

struct cl_metrics *cl_metrics_new(void);
void cl_metrics_free(struct cl_metrics *m);

/* Registration: name is the metric family, labels is "" or e.g. "reason=\"virus\"".
 * Several series of one family share name and help and differ in labels.
 * Returns NULL only when out of memory or the registry is full (a start-up bug). */
struct cl_metric *cl_metrics_counter(struct cl_metrics *m, const char *name, const char *help, const char *labels);
struct cl_metric *cl_metrics_gauge(struct cl_metrics *m, const char *name, const char *help, const char *labels);
/* Histogram of seconds with the default latency buckets (10 us .. 10 s). */
struct cl_metric *cl_metrics_histogram(struct cl_metrics *m, const char *name, const char *help, const char *labels);

void cl_metric_inc(struct cl_metric *c);
void cl_metric_add(struct cl_metric *c, int64_t n); /* counters and gauges */
void cl_metric_set(struct cl_metric *g, int64_t v); /* gauges */
void cl_metric_observe(struct cl_metric *h, double seconds);
int64_t cl_metric_value(const struct cl_metric *c);
/* cl_metric_quantile - estimate (upper bucket bound) of quantile q from a histogram. */
double cl_metric_quantile(const struct cl_metric *h, double q);

/* cl_metrics_render - append the Prometheus exposition text to out. */
int cl_metrics_render(struct cl_metrics *m, struct cl_buf *out);

/* cl_now_seconds - monotonic clock in seconds, for latency measurements. */
double cl_now_seconds(void);

#endif
