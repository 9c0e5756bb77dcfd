/* log.c - key=value event lines on stderr. See log.h. */
#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* The logger's identity is set once at start-up, before any thread exists. */
static struct {
	char service[32];
	enum cl_log_level min;
} log_state = {"clement", CL_LOG_INFO};

static const char *level_names[] = {"debug", "info", "warn", "error"};

void cl_log_init(const char *service, enum cl_log_level min)
{
	snprintf(log_state.service, sizeof log_state.service, "%s", service);
	log_state.min = min;
}

int cl_log_level_parse(const char *s)
{
	for (int i = 0; i < 4; i++)
		if (strcasecmp(s, level_names[i]) == 0)
			return i;
	if (strcasecmp(s, "warning") == 0)
		return CL_LOG_WARN;
	return -1;
}

void cl_log(enum cl_log_level lvl, const char *sid, const char *event, const char *fmt, ...)
{
	if (lvl < log_state.min)
		return;
	char line[4096];
	struct timeval tv;
	struct tm tm;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	int n = snprintf(line, sizeof line, "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ svc=%s level=%s",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
			 (long)(tv.tv_usec / 1000), log_state.service, level_names[lvl]);
	size_t len = (size_t)n;
	if (sid && len < sizeof line)
		len += (size_t)snprintf(line + len, sizeof line - len, " sid=%s", sid);
	if (len < sizeof line)
		len += (size_t)snprintf(line + len, sizeof line - len, " event=%s", event);
	if (fmt && len < sizeof line - 1) {
		line[len++] = ' ';
		va_list ap;
		va_start(ap, fmt);
		int m = vsnprintf(line + len, sizeof line - len, fmt, ap);
		va_end(ap);
		if (m > 0)
			len += (size_t)m;
	}
	if (len >= sizeof line - 1)
		len = sizeof line - 2; /* truncated, still one line */
	line[len++] = '\n';
	ssize_t w = write(STDERR_FILENO, line, len);
	(void)w;
}

const char *cl_log_escape(char *dst, size_t dstlen, const char *src, size_t srclen)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	if (dstlen < 8) {
		if (dstlen)
			dst[0] = '\0';
		return dst;
	}
	dst[o++] = '"';
	for (size_t i = 0; i < srclen; i++) {
		unsigned char c = (unsigned char)src[i];
		char tmp[4];
		size_t k = 0;
		if (c == '"' || c == '\\') {
			tmp[k++] = '\\';
			tmp[k++] = (char)c;
		} else if (c < 0x20 || c >= 0x7f) {
			tmp[k++] = '\\';
			tmp[k++] = 'x';
			tmp[k++] = hex[c >> 4];
			tmp[k++] = hex[c & 15];
		} else {
			tmp[k++] = (char)c;
		}
		if (o + k + 5 > dstlen) { /* room for ...", NUL */
			memcpy(dst + o, "...", 3);
			o += 3;
			break;
		}
		memcpy(dst + o, tmp, k);
		o += k;
	}
	dst[o++] = '"';
	dst[o] = '\0';
	return dst;
}
