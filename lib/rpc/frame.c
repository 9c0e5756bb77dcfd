/* frame.c - build and parse RPC frames. See frame.h. */
#include "rpc/frame.h"

#include <stdlib.h>
#include <string.h>

#include "util/buf.h"

int cl_frame_build(nng_msg **out, const cJSON *hdr, const void *body, size_t blen)
{
	char *json = cJSON_PrintUnformatted(hdr);
	if (!json)
		return -1;
	size_t hl = strlen(json);
	nng_msg *m = NULL;
	if (nng_msg_alloc(&m, 0) != 0) {
		cJSON_free(json);
		return -1;
	}
	int rc = nng_msg_append(m, json, hl);
	cJSON_free(json);
	if (rc == 0 && body) {
		rc = nng_msg_append(m, "", 1);
		if (rc == 0 && blen)
			rc = nng_msg_append(m, body, blen);
	}
	if (rc != 0) {
		nng_msg_free(m);
		return -1;
	}
	*out = m;
	return 0;
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

const char *cl_json_str(const cJSON *o, const char *key, const char *def)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(v) && v->valuestring ? v->valuestring : def;
}

long long cl_json_int(const cJSON *o, const char *key, long long def)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	if (!cJSON_IsNumber(v))
		return def;
	double d = v->valuedouble;
	if (d != d || d > 9.0e18 || d < -9.0e18)
		return def;
	return (long long)d;
}

int cl_json_bool(const cJSON *o, const char *key, int def)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsBool(v) ? cJSON_IsTrue(v) : def;
}
