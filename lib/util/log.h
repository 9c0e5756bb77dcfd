/* log.h - one line per event on stderr, key=value.
 *
 * Every line: ts=... svc=<service> level=<level> [sid=<session id>] event=<name> <fields>.
 * Fields are written by the caller as key=value pairs; values that come from a peer must go
 * through cl_log_escape() so that a hostile string can never forge a line or a field.
 * Secrets are never passed to the logger. Thread-safe: a line is written with one write(2). */
#ifndef CLEMENT_UTIL_LOG_H
#define CLEMENT_UTIL_LOG_H

#include <stddef.h>

enum cl_log_level { CL_LOG_DEBUG = 0, CL_LOG_INFO, CL_LOG_WARN, CL_LOG_ERROR };

/* cl_log_init - name the service for every line and set the lowest level written. */
void cl_log_init(const char *service, enum cl_log_level min);
/* cl_log_level_parse - "debug"/"info"/"warn"/"error" -> level; -1 when unknown. */
int cl_log_level_parse(const char *s);
/* cl_log - write one event. sid may be NULL. fmt (may be NULL) holds the extra fields. */
void cl_log(enum cl_log_level lvl, const char *sid, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* cl_log_escape - quote src for use as a value: "..." with \", \\, and \xNN for
 * control and non-ASCII bytes; truncated (with "...") to fit dst. Returns dst. */
const char *cl_log_escape(char *dst, size_t dstlen, const char *src, size_t srclen);

#endif
