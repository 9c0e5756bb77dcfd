/* buf.h - a growable byte buffer with a hard upper bound.
 *
 * Every input Clement buffers has a bound (STYLE rule 5). cl_buf grows on demand up to
 * `max` bytes and refuses anything beyond, so a peer can never make us allocate more than
 * the caller decided. The data is always followed by one NUL byte (not counted in len), so
 * text can be used as a C string without another copy.
 *
 * Ownership: the cl_buf owns `data`; cl_buf_free() releases it. */
#ifndef CLEMENT_UTIL_BUF_H
#define CLEMENT_UTIL_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct cl_buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max;
};

/* cl_buf_init - empty buffer that may hold at most max bytes (0 means no bound; only for
 * data we produce ourselves, never for peer input). Allocates nothing yet. */
void cl_buf_init(struct cl_buf *b, size_t max);
/* cl_buf_free - release the storage; the buffer may be reused after cl_buf_init(). */
void cl_buf_free(struct cl_buf *b);
/* cl_buf_reset - drop the contents, keep the storage. */
void cl_buf_reset(struct cl_buf *b);
/* cl_buf_append - 0 on success, -1 if the bound would be exceeded or memory ran out
 * (nothing is appended then). */
int cl_buf_append(struct cl_buf *b, const void *p, size_t n);
int cl_buf_append_str(struct cl_buf *b, const char *s);
/* cl_buf_printf - append formatted text; -1 as for cl_buf_append. */
int cl_buf_printf(struct cl_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int cl_buf_vprintf(struct cl_buf *b, const char *fmt, va_list ap);
/* cl_buf_consume - drop the first n bytes (n > len drops everything). */
void cl_buf_consume(struct cl_buf *b, size_t n);
/* cl_buf_steal - hand the storage to the caller (free() it); the buffer becomes empty. */
char *cl_buf_steal(struct cl_buf *b, size_t *len);

/* cl_strlcpy - copy with truncation check: returns 0, or -1 if src did not fit (dst is
 * still NUL-terminated). */
int cl_strlcpy(char *dst, const char *src, size_t size);
/* cl_snprintf - snprintf that returns 0, or -1 on truncation or error. */
int cl_snprintf(char *dst, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
