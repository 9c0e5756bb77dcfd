/* health.h - the small HTTP server every service runs for GET /healthz and GET /metrics.
 *
 * Built on libmicrohttpd with its own thread. /healthz answers 200 "ok" while the
 * service's ready callback returns non-zero (503 with the reason otherwise); /metrics
 * renders the service's registry, then calls an optional hook for computed values.
 * Anything else is 404. The server copies nothing it does not own; the registry and
 * context must outlive it. */
#ifndef CLEMENT_UTIL_HEALTH_H
#define CLEMENT_UTIL_HEALTH_H

#include <stddef.h>

#include "util/buf.h"
#include "util/metrics.h"

/* Returns 1 when ready; otherwise 0 and a short reason in why. */
typedef int (*cl_ready_fn)(void *ctx, char *why, size_t whylen);
/* Appends extra exposition text (gauges computed on demand). */
typedef void (*cl_metrics_hook_fn)(void *ctx, struct cl_buf *out);

struct cl_health;

/* cl_health_start - listen on addr ("host:port"). Returns NULL with err filled on failure. */
struct cl_health *cl_health_start(const char *addr, struct cl_metrics *reg, cl_ready_fn ready, cl_metrics_hook_fn hook,
				  void *ctx, char *err, size_t errlen);
void cl_health_stop(struct cl_health *h);

#endif
