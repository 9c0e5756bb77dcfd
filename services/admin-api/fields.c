/* fields.c - see fields.h. */
#include "fields.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct api_field *fld_find(const struct api_field *f, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(f[i].name, name) == 0)
			return &f[i];
	return NULL;
}

/* choice_ok - s is one of the words of "a|b|c". */
static int choice_ok(const char *choices, const char *s)
{
	size_t len = strlen(s);
	for (const char *p = choices; *p;) {
		const char *bar = strchr(p, '|');
		size_t w = bar ? (size_t)(bar - p) : strlen(p);
		if (w == len && strncmp(p, s, w) == 0)
			return 1;
		p += w + (bar ? 1 : 0);
	}
	return 0;
}

/* fld_value - check one value; writes its text form (or NULL) to *text / buf. 0 or -1
 * (answered). */
static int fld_value(struct api_req *r, const struct api_field *f, const cJSON *v, char *buf, size_t buflen,
		     const char **text)
{
	if (cJSON_IsNull(v)) {
		if (!(f->flags & FF_NULLABLE)) {
			api_err(r, 400, "%s may not be null", f->name);
			return -1;
		}
		*text = NULL;
		return 0;
	}
	switch (f->type) {
	case F_STR: {
		if (!cJSON_IsString(v)) {
			api_err(r, 400, "%s must be a string", f->name);
			return -1;
		}
		size_t len = strlen(v->valuestring);
		if ((long long)len < f->min || (long long)len > f->max) {
			api_err(r, 400, "%s must be %lld to %lld characters long", f->name, f->min, f->max);
			return -1;
		}
		if (f->choices && !choice_ok(f->choices, v->valuestring)) {
			api_err(r, 400, "%s must be one of %s", f->name, f->choices);
			return -1;
		}
		*text = v->valuestring;
		return 0;
	}
	case F_INT: {
		long long n;
		if (api_json_int(v, f->min, f->max, &n) < 0) {
			api_err(r, 400, "%s must be an integer from %lld to %lld", f->name, f->min, f->max);
			return -1;
		}
		snprintf(buf, buflen, "%lld", n);
		*text = buf;
		return 0;
	}
	case F_NUM:
		if (!cJSON_IsNumber(v) || !(v->valuedouble > (double)f->min && v->valuedouble < (double)f->max)) {
			api_err(r, 400, "%s must be a number greater than %lld and less than %lld", f->name, f->min,
				f->max);
			return -1;
		}
		snprintf(buf, buflen, "%.2f", v->valuedouble);
		*text = buf;
		return 0;
	case F_BOOL:
		if (!cJSON_IsBool(v)) {
			api_err(r, 400, "%s must be true or false", f->name);
			return -1;
		}
		*text = cJSON_IsTrue(v) ? "true" : "false";
		return 0;
	case F_ANY:
		*text = NULL;
		return 0;
	}
	return -1;
}

/* api_fields_sql - see fields.h */
int api_fields_sql(struct api_req *r, const struct api_field *f, size_t n, enum fld_mode mode, struct qb *q,
		   const char *extra_cols, const char *extra_vals)
{
	if (!api_body_object(r))
		return -1;
	/* First pass: every key known, settable by this role, of the right type. */
	for (const cJSON *it = r->in->child; it; it = it->next) {
		const struct api_field *fd = fld_find(f, n, it->string);
		if (!fd) {
			api_err(r, 400, "unknown field: %.100s", it->string);
			return -1;
		}
		if ((fd->flags & FF_READONLY) || r->me.role < fd->min_role ||
		    (mode == FLD_UPDATE && (fd->flags & FF_NOUPDATE))) {
			api_err(r, 403, "you may not set %s", fd->name);
			return -1;
		}
		char buf[32];
		const char *text;
		if (fld_value(r, fd, it, buf, sizeof buf, &text) < 0)
			return -1;
	}
	if (mode == FLD_INSERT)
		for (size_t i = 0; i < n; i++)
			if ((f[i].flags & FF_REQUIRED) && !cJSON_GetObjectItemCaseSensitive(r->in, f[i].name)) {
				api_err(r, 400, "%s is required", f[i].name);
				return -1;
			}
	/* Second pass: write. */
	struct cl_buf cols;
	cl_buf_init(&cols, 0);
	int count = 0;
	if (mode == FLD_INSERT)
		qb_add(q, " (");
	for (const cJSON *it = r->in->child; it; it = it->next) {
		const struct api_field *fd = fld_find(f, n, it->string);
		if (fd->flags & FF_NOCOLUMN)
			continue;
		char buf[32];
		const char *text;
		fld_value(r, fd, it, buf, sizeof buf, &text);
		char *json = NULL;
		if (fd->type == F_ANY)
			text = json = cJSON_PrintUnformatted(it);
		int pn = qb_param(q, text);
		free(json);
		if (mode == FLD_INSERT) {
			qb_add(q, "%s%s", count ? ", " : "", fd->name);
			cl_buf_printf(&cols, "%s$%d%s", count ? ", " : "", pn, fd->cast ? fd->cast : "");
		} else {
			qb_add(q, "%s%s = $%d%s", count ? ", " : "", fd->name, pn, fd->cast ? fd->cast : "");
		}
		count++;
	}
	if (mode == FLD_INSERT) {
		if (extra_cols && *extra_cols) {
			qb_add(q, "%s%s", count ? ", " : "", extra_cols);
			cl_buf_printf(&cols, "%s%s", count ? ", " : "", extra_vals);
			count++;
		}
		qb_add(q, ") VALUES (%s)", cols.data ? cols.data : "");
	}
	cl_buf_free(&cols);
	return count;
}

int api_body_object(struct api_req *r)
{
	if (!cJSON_IsObject(r->in)) {
		api_err(r, 400, "the request body must be a JSON object");
		return 0;
	}
	return 1;
}

const char *api_in_str(struct api_req *r, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(r->in, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

int api_in_id(struct api_req *r, const char *key, long long *v)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(r->in, key);
	if (!j || cJSON_IsNull(j))
		return 0;
	if (api_json_int(j, 1, API_ID_MAX, v) < 0) {
		api_err(r, 400, "%s must be a positive integer", key);
		return -1;
	}
	return 1;
}

long long api_arg_id(struct api_req *r, int i)
{
	long long v;
	if (api_parse_int(r->arg[i], 1, API_ID_MAX, &v) < 0) {
		api_err(r, 404, "not found");
		return -1;
	}
	return v;
}

/* api_parse_int - see fields.h */
int api_parse_int(const char *s, long long min, long long max, long long *out)
{
	const char *d = s[0] == '-' ? s + 1 : s;
	size_t nd = strspn(d, "0123456789");
	/* 19 digits hold every long long; more could only overflow (leading zeros aside, which
	 * nobody needs). */
	if (nd == 0 || d[nd] != '\0' || nd > 19)
		return -1;
	errno = 0;
	long long v = strtoll(s, NULL, 10);
	if (errno == ERANGE || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* api_json_int - see fields.h. The range is compared as a double first: converting a double
 * outside the range of long long is undefined behaviour. */
int api_json_int(const cJSON *v, long long min, long long max, long long *out)
{
	if (!cJSON_IsNumber(v))
		return -1;
	double d = v->valuedouble;
	if (!isfinite(d) || d != floor(d) || d < (double)min || d > (double)max)
		return -1;
	*out = (long long)d;
	return 0;
}

/* api_query_int - see fields.h */
int api_query_int(struct api_req *r, const char *key, long long min, long long max, int empty_absent, long long *out)
{
	const char *v = api_query(r, key);
	if (!v || (empty_absent && !*v))
		return 0;
	if (api_parse_int(v, min, max, out) < 0) {
		api_err(r, 400, "invalid value: %s must be a whole number from %lld to %lld", key, min, max);
		return -1;
	}
	return 1;
}

int api_query_id(struct api_req *r, const char *key, long long *out)
{
	return api_query_int(r, key, 1, API_ID_MAX, 1, out);
}
