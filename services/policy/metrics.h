/* metrics.h - clement-policy's metrics registration (metrics.c). */
#ifndef CLEMENT_POLICY_METRICS_H
#define CLEMENT_POLICY_METRICS_H

#include "util/metrics.h"

struct policy_metrics;

/* pol_metrics_register - every series of m (decisions, cache, log writer, probes, IMAP logins,
 * reputation and refusals) in reg, before any thread runs; reg owns them. */
void pol_metrics_register(struct cl_metrics *reg, struct policy_metrics *m);

#endif
