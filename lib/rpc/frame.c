/* frame.c - build and parse RPC frames. See frame.h. */
#include "rpc/frame.h"

#include <float.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"

/* The header's text, written straight from the cJSON tree: what cJSON_PrintUnformatted writes,
 * byte for byte (frame_test holds it to that), without its cost on the hot path. cJSON 1.7.15
 * prints every number with sprintf("%1.15g") and reads it back with sscanf to check it, about
 * 0.6 us each; a policy verdict carries six, all integers, and that was 3 of the 4 us its
 * frame cost (docs/PERFORMANCE.md, policy-bench). Integers below 1e15 are written here digit
 * by digit (what "%1.15g" prints for them); every other number takes cJSON's own route. The
 * text goes to a stack buffer first (a header is a few hundred bytes) and the nng message is
 * allocated once at its final size. */
struct jout {
	char *p;
	size_t len, cap;
	int heap; /* p is malloc'ed (grown past the stack buffer) */
	int fail;
};

static void jput(struct jout *o, const char *s, size_t n)
{
	if (o->fail)
		return;
	if (n > o->cap - o->len) {
		size_t cap = o->cap * 2 > o->len + n ? o->cap * 2 : o->len + n;
		char *q = o->heap ? realloc(o->p, cap) : malloc(cap);
		if (!q) {
			o->fail = 1;
			return;
		}
		if (!o->heap)
			memcpy(q, o->p, o->len);
		o->p = q;
		o->cap = cap;
		o->heap = 1;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

/* jstr - a JSON string as cJSON's print_string_ptr writes it (NULL as ""). */
static void jstr(struct jout *o, const char *s)
{
	jput(o, "\"", 1);
	const char *run = s;
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		const char *esc = NULL;
		char u[8];
		switch (c) {
		case '"':
			esc = "\\\"";
			break;
		case '\\':
			esc = "\\\\";
			break;
		case '\b':
			esc = "\\b";
			break;
		case '\f':
			esc = "\\f";
			break;
		case '\n':
			esc = "\\n";
			break;
		case '\r':
			esc = "\\r";
			break;
		case '\t':
			esc = "\\t";
			break;
		default:
			if (c >= 32)
				continue;
			cl_snprintf(u, sizeof u, "\\u%04x", c);
			esc = u;
		}
		jput(o, run, (size_t)(s - run));
		jput(o, esc, strlen(esc));
		run = s + 1;
	}
	if (s)
		jput(o, run, (size_t)(s - run));
	jput(o, "\"", 1);
}

/* jnum - a number as cJSON 1.7.15's print_number writes it. */
static void jnum(struct jout *o, double d)
{
	char b[32];
	if (isnan(d) || isinf(d)) {
		jput(o, "null", 4);
		return;
	}
	if (d == trunc(d) && fabs(d) < 1e15 && !(d == 0 && signbit(d))) {
		long long v = (long long)d;
		unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
		char *e = b + sizeof b, *q = e;
		do
			*--q = (char)('0' + u % 10);
		while ((u /= 10) != 0);
		if (v < 0)
			*--q = '-';
		jput(o, q, (size_t)(e - q));
		return;
	}
	/* cJSON: 15 digits when they read back as the same double (its compare_double), else 17 */
	cl_snprintf(b, sizeof b, "%1.15g", d);
	double test = strtod(b, NULL);
	double max = fabs(test) > fabs(d) ? fabs(test) : fabs(d);
	if (!(fabs(test - d) <= max * DBL_EPSILON))
		cl_snprintf(b, sizeof b, "%1.17g", d);
	char point = *localeconv()->decimal_point;
	size_t len = strlen(b);
	for (size_t i = 0; i < len; i++)
		if (b[i] == point)
			b[i] = '.';
	jput(o, b, len);
}

static void jval(struct jout *o, const cJSON *v)
{
	switch (v->type & 0xFF) {
	case cJSON_False:
		jput(o, "false", 5);
		break;
	case cJSON_True:
		jput(o, "true", 4);
		break;
	case cJSON_NULL:
		jput(o, "null", 4);
		break;
	case cJSON_Number:
		jnum(o, v->valuedouble);
		break;
	case cJSON_String:
		jstr(o, v->valuestring);
		break;
	case cJSON_Raw:
		if (!v->valuestring)
			o->fail = 1;
		else
			jput(o, v->valuestring, strlen(v->valuestring));
		break;
	case cJSON_Array:
	case cJSON_Object: {
		int obj = (v->type & 0xFF) == cJSON_Object;
		jput(o, obj ? "{" : "[", 1);
		for (const cJSON *c = v->child; c && !o->fail; c = c->next) {
			if (obj) {
				jstr(o, c->string);
				jput(o, ":", 1);
			}
			jval(o, c);
			if (c->next)
				jput(o, ",", 1);
		}
		jput(o, obj ? "}" : "]", 1);
		break;
	}
	default:
		o->fail = 1;
	}
}

int cl_frame_build(nng_msg **out, const cJSON *hdr, const void *body, size_t blen)
{
	char stack[2048];
	struct jout o = {.p = stack, .cap = sizeof stack};
	if (hdr)
		jval(&o, hdr);
	nng_msg *m = NULL;
	int rc = !hdr || o.fail ? -1 : nng_msg_alloc(&m, o.len + (body ? 1 + blen : 0)) != 0 ? -1 : 0;
	if (rc == 0) {
		unsigned char *p = nng_msg_body(m);
		memcpy(p, o.p, o.len);
		if (body) {
			p[o.len] = '\0';
			if (blen)
				memcpy(p + o.len + 1, body, blen);
		}
		*out = m;
	}
	if (o.heap)
		free(o.p);
	return rc;
}

int cl_frame_build_owned(nng_msg **out, cJSON *hdr, const void *body, size_t blen)
{
	int rc = hdr ? cl_frame_build(out, hdr, body, blen) : -1;
	cJSON_Delete(hdr);
	return rc;
}

cJSON *cl_frame_header(nng_msg *msg)
{
	cJSON *h = NULL;
	const unsigned char *body;
	size_t blen;
	char err[128];
	if (!msg || cl_frame_parse(msg, &h, &body, &blen, err, sizeof err) < 0)
		return NULL;
	return h;
}

/* json_depth - nesting depth of a parsed value (bounded recursion: depth is capped by the
 * caller's limit, deeper trees stop counting). */
static int json_depth(const cJSON *o, int limit)
{
	if (limit <= 0)
		return 1;
	int best = 0;
	for (const cJSON *c = o ? o->child : NULL; c; c = c->next) {
		int d = json_depth(c, limit - 1);
		if (d > best)
			best = d;
	}
	return best + 1;
}

int cl_frame_parse_bytes(const unsigned char *p, size_t n, cJSON **hdr, const unsigned char **body, size_t *blen,
			 char *err, size_t errlen)
{
	const unsigned char *nul = n ? memchr(p, '\0', n) : NULL;
	size_t hl = nul ? (size_t)(nul - p) : n;
	if (hl == 0) {
		cl_snprintf(err, errlen, "empty header");
		return -1;
	}
	if (hl > CL_FRAME_MAX_HEADER) {
		cl_snprintf(err, errlen, "header of %zu bytes exceeds %d", hl, CL_FRAME_MAX_HEADER);
		return -1;
	}
	/* cJSON's own nesting limit (CJSON_NESTING_LIMIT) bounds recursion while parsing. */
	cJSON *h = cJSON_ParseWithLength((const char *)p, hl);
	if (!h) {
		cl_snprintf(err, errlen, "header is not valid JSON");
		return -1;
	}
	if (!cJSON_IsObject(h)) {
		cJSON_Delete(h);
		cl_snprintf(err, errlen, "header is not a JSON object");
		return -1;
	}
	if (json_depth(h, CL_FRAME_MAX_DEPTH + 1) > CL_FRAME_MAX_DEPTH) {
		cJSON_Delete(h);
		cl_snprintf(err, errlen, "header nested deeper than %d", CL_FRAME_MAX_DEPTH);
		return -1;
	}
	if (cl_json_int(h, "v", -1) != CL_FRAME_VERSION) {
		cJSON_Delete(h);
		cl_snprintf(err, errlen, "header has no \"v\":%d", CL_FRAME_VERSION);
		return -1;
	}
	*hdr = h;
	*body = nul ? nul + 1 : NULL;
	*blen = nul ? n - hl - 1 : 0;
	return 0;
}

int cl_frame_parse(nng_msg *msg, cJSON **hdr, const unsigned char **body, size_t *blen, char *err, size_t errlen)
{
	return cl_frame_parse_bytes(nng_msg_body(msg), nng_msg_len(msg), hdr, body, blen, err, errlen);
}

const char *cl_json_as_str(const cJSON *v, const char *def)
{
	return cJSON_IsString(v) && v->valuestring ? v->valuestring : def;
}

long long cl_json_as_int(const cJSON *v, long long def)
{
	if (!cJSON_IsNumber(v))
		return def;
	double d = v->valuedouble;
	if (d != d || d > 9.0e18 || d < -9.0e18)
		return def;
	return (long long)d;
}

int cl_json_as_bool(const cJSON *v, int def)
{
	return cJSON_IsBool(v) ? cJSON_IsTrue(v) : def;
}

const char *cl_json_str(const cJSON *o, const char *key, const char *def)
{
	return cl_json_as_str(cJSON_GetObjectItemCaseSensitive(o, key), def);
}

long long cl_json_int(const cJSON *o, const char *key, long long def)
{
	return cl_json_as_int(cJSON_GetObjectItemCaseSensitive(o, key), def);
}

int cl_json_bool(const cJSON *o, const char *key, int def)
{
	return cl_json_as_bool(cJSON_GetObjectItemCaseSensitive(o, key), def);
}

void cl_json_fields(const cJSON *o, const char *const *keys, size_t n, const cJSON **out)
{
	for (size_t i = 0; i < n; i++)
		out[i] = NULL;
	for (const cJSON *c = o ? o->child : NULL; c; c = c->next) {
		const char *k = c->string;
		if (!k) /* as cJSON's lookup: a member without a name ends the search */
			break;
		for (size_t i = 0; i < n; i++)
			if (!out[i] && k[0] == keys[i][0] && strcmp(k, keys[i]) == 0) {
				out[i] = c;
				break;
			}
	}
}
