/* preview.c - see preview.h. */
#include "preview.h"

#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/utf8.h"

char *preview_clean(const unsigned char *s, size_t len, int keep_nl)
{
	struct cl_buf b;
	cl_buf_init(&b, 0);
	cl_buf_append(&b, "", 0);
	for (size_t i = 0; i < len;) {
		unsigned char c = s[i];
		if (c == '\r') {
			i++;
			continue;
		}
		if (c < 0x20 || c == 0x7f) {
			if (keep_nl && (c == '\n' || c == '\t'))
				cl_buf_append(&b, s + i, 1);
			else
				cl_buf_append_str(&b, keep_nl ? "\xef\xbf\xbd" : " ");
			i++;
			continue;
		}
		size_t l = cl_utf8_len(s + i, len - i);
		if (l == 0) {
			cl_buf_append_str(&b, "\xef\xbf\xbd");
			i++;
		} else {
			cl_buf_append(&b, s + i, l);
			i += l;
		}
	}
	size_t out;
	return cl_buf_steal(&b, &out);
}

/* header_end - offset of the blank line ending the header section, and of the body. */
static size_t header_end(const unsigned char *p, size_t n, size_t *body)
{
	for (size_t i = 0; i + 1 < n; i++) {
		if (p[i] == '\n' && p[i + 1] == '\n') {
			*body = i + 2;
			return i;
		}
		if (p[i] == '\n' && p[i + 1] == '\r' && i + 2 < n && p[i + 2] == '\n') {
			*body = i + 3;
			return i;
		}
	}
	*body = n;
	return n;
}

/* add_header - one unfolded field "Name: value" to arr. */
static void add_header(cJSON *arr, const unsigned char *f, size_t len)
{
	const unsigned char *colon = memchr(f, ':', len);
	if (!colon || colon == f)
		return;
	char *name = preview_clean(f, (size_t)(colon - f), 0);
	if (name && !name[0]) { /* only CRs before the colon: no field name at all */
		free(name);
		return;
	}
	const unsigned char *v = colon + 1;
	size_t vl = len - (size_t)(v - f);
	while (vl && (*v == ' ' || *v == '\t')) {
		v++;
		vl--;
	}
	char *value = preview_clean(v, vl > 2000 ? 2000 : vl, 0);
	cJSON *h = cJSON_CreateObject();
	cJSON_AddStringToObject(h, "name", name ? name : "");
	cJSON_AddStringToObject(h, "value", value ? value : "");
	cJSON_AddItemToArray(arr, h);
	free(name);
	free(value);
}

/* preview_build - see preview.h */
cJSON *preview_build(const unsigned char *p, size_t n)
{
	size_t body;
	size_t hend = header_end(p, n, &body);
	cJSON *o = cJSON_CreateObject();
	cJSON *arr = cJSON_AddArrayToObject(o, "headers");
	size_t start = 0;
	int count = 0;
	for (size_t i = 0; i <= hend && count < PREVIEW_MAX_HEADERS; i++) {
		int at_end = i == hend;
		/* A field ends at a newline not followed by white space (folding). */
		if (at_end || (p[i] == '\n' && i + 1 < hend && p[i + 1] != ' ' && p[i + 1] != '\t')) {
			if (i > start) {
				add_header(arr, p + start, i - start);
				count++;
			}
			start = i + 1;
		}
	}
	size_t blen = n - body;
	int truncated = blen > PREVIEW_MAX_BODY;
	char *text = preview_clean(p + body, truncated ? PREVIEW_MAX_BODY : blen, 1);
	cJSON_AddStringToObject(o, "text", text ? text : "");
	cJSON_AddBoolToObject(o, "truncated", truncated);
	free(text);
	return o;
}
