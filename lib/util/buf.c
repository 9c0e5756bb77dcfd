/* buf.c - bounded growable buffer and checked string copies. See buf.h. */
#include "util/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cl_buf_init(struct cl_buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

void cl_buf_free(struct cl_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void cl_buf_reset(struct cl_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

/* cl_buf_reserve - make room for n more bytes plus the trailing NUL. */
static int cl_buf_reserve(struct cl_buf *b, size_t n)
{
	if (b->max && (n > b->max || b->len > b->max - n))
		return -1;
	size_t need = b->len + n + 1;
	if (need <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap = cap > ((size_t)-1) / 2 ? need : cap * 2;
	char *p = realloc(b->data, cap);
	if (!p)
		return -1;
	b->data = p;
	b->cap = cap;
	return 0;
}

int cl_buf_append(struct cl_buf *b, const void *p, size_t n)
{
	if (cl_buf_reserve(b, n) < 0)
		return -1;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int cl_buf_append_str(struct cl_buf *b, const char *s)
{
	return cl_buf_append(b, s, strlen(s));
}

int cl_buf_vprintf(struct cl_buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	va_copy(cp, ap);
	int n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0 || cl_buf_reserve(b, (size_t)n) < 0)
		return -1;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int cl_buf_printf(struct cl_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = cl_buf_vprintf(b, fmt, ap);
	va_end(ap);
	return rc;
}

void cl_buf_consume(struct cl_buf *b, size_t n)
{
	if (n >= b->len) {
		cl_buf_reset(b);
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
	b->data[b->len] = '\0';
}

char *cl_buf_steal(struct cl_buf *b, size_t *len)
{
	char *p = b->data;
	if (len)
		*len = b->len;
	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}

int cl_strlcpy(char *dst, const char *src, size_t size)
{
	if (size == 0)
		return -1;
	size_t n = strlen(src);
	if (n >= size) {
		memcpy(dst, src, size - 1);
		dst[size - 1] = '\0';
		return -1;
	}
	memcpy(dst, src, n + 1);
	return 0;
}

int cl_snprintf(char *dst, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(dst, size, fmt, ap);
	va_end(ap);
	return (n < 0 || (size_t)n >= size) ? -1 : 0;
}
