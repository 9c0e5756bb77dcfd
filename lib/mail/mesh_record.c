/* mesh_record.c - parse and serialize mesh ban records (docs/MESH.md section 4).
 * See mesh_record.h for the contract. Grammar, informally:
 *
 *   args   = action SP network *(SP param)
 *   action = "BAN" / "LIFT"                       ; case-insensitive
 *   param  = key "=" value                        ; each key at most once, key case-insensitive
 *   key    = "EXPIRES" / "SCORE" / "HOPS" / "ORIGIN" / "REASON"
 *
 * REASON is xtext (RFC 3461 section 4) so that spaces and "=" survive the command line. */
#include "mail/mesh_record.h"

#include <arpa/inet.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "rpc/frame.h"
#include "util/buf.h"
#include "util/utf8.h"

const char *cl_mesh_action_str(enum cl_mesh_action a)
{
	return a == CL_MESH_LIFT ? "LIFT" : "BAN";
}

/* set_err - fill the caller's error buffer; always returns -1 for `return set_err(...)`. */
static int set_err(char *err, size_t errlen, const char *what)
{
	cl_strlcpy(err, what, errlen);
	return -1;
}

/* parse_uint - decimal digits only, no sign, value <= max. 0 or -1. */
static int parse_uint(const char *s, size_t n, long long max, long long *out)
{
	if (n == 0 || n > 18)
		return -1;
	long long v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

/* parse_score - DIGITS ["." 1*3DIGIT], at most CL_MESH_SCORE_MAX. */
static int parse_score(const char *s, size_t n, double *out)
{
	const char *dot = memchr(s, '.', n);
	size_t ilen = dot ? (size_t)(dot - s) : n;
	long long ip, fp = 0;
	if (parse_uint(s, ilen, 1000000, &ip) < 0)
		return -1;
	double scale = 1;
	if (dot) {
		size_t flen = n - ilen - 1;
		if (flen < 1 || flen > 3 || parse_uint(dot + 1, flen, 999, &fp) < 0)
			return -1;
		for (size_t i = 0; i < flen; i++)
			scale *= 10;
	}
	double v = (double)ip + (double)fp / scale;
	if (v > CL_MESH_SCORE_MAX)
		return -1;
	*out = v;
	return 0;
}

/* utf8_text_ok - valid UTF-8 (util/utf8.h) without control characters (the reason ends up in
 * SMTP replies, logs and the UI). */
static int utf8_text_ok(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return cl_utf8_valid(s, n);
}

/* hexval - one hex digit, -1 if none. */
static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* xtext_decode - RFC 3461 section 4 into out (NUL-terminated). -1 on bad syntax or overflow. */
static int xtext_decode(const char *s, size_t n, char *out, size_t outlen, size_t *olen)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '+') {
			if (i + 2 >= n)
				return -1;
			int hi = hexval(s[i + 1]), lo = hexval(s[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			c = (unsigned char)(hi * 16 + lo);
			i += 2;
		} else if (c < '!' || c > '~' || c == '=') {
			return -1;
		}
		if (o + 1 >= outlen)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	*olen = o;
	return 0;
}

/* xtext_encode - RFC 3461 section 4, uppercase hex. 0 or -1 when out is too small. */
static int xtext_encode(const char *s, struct cl_buf *out)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		int rc = (*p >= '!' && *p <= '~' && *p != '+' && *p != '=') ? cl_buf_append(out, p, 1)
									    : cl_buf_printf(out, "+%02X", *p);
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* origin_ok - a domain name: dot-separated labels of letters, digits and inner hyphens
 * (RFC 1035 2.3.1, RFC 1123 2.1), lowercased into out. */
static int origin_ok(const char *s, size_t n, char *out)
{
	if (n == 0 || n > CL_MESH_ORIGIN_MAX)
		return 0;
	size_t label = 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '.') {
			if (label == 0 || s[i - 1] == '-')
				return 0;
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-') {
			if ((label == 0 && c == '-') || ++label > 63)
				return 0;
		} else {
			return 0;
		}
		out[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
	}
	out[n] = '\0';
	return label > 0 && s[n - 1] != '-';
}

int cl_mesh_origin_parse(const char *s, char *out, size_t outlen)
{
	size_t n = strlen(s);
	if (outlen <= n)
		return -1;
	return origin_ok(s, n, out) ? 0 : -1;
}

int cl_mesh_network_parse(const char *s, size_t len, char *out, size_t outlen, char *err, size_t errlen)
{
	char addr[64];
	const char *slash = memchr(s, '/', len);
	size_t alen = slash ? (size_t)(slash - s) : len;
	if (alen == 0 || alen >= sizeof addr)
		return set_err(err, errlen, "network: not an IP address");
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	unsigned char bin[16];
	int family = memchr(addr, ':', alen) ? AF_INET6 : AF_INET;
	int bits = family == AF_INET6 ? 128 : 32;
	if (strlen(addr) != alen || inet_pton(family, addr, bin) != 1)
		return set_err(err, errlen, "network: not an IP address");
	long long plen = bits;
	if (slash && parse_uint(slash + 1, len - alen - 1, bits, &plen) < 0)
		return set_err(err, errlen, "network: bad prefix length");
	for (int b = (int)plen; b < bits; b++)
		if (bin[b / 8] & (0x80 >> (b % 8)))
			return set_err(err, errlen, "network: host bits set beyond the prefix length");
	char text[INET6_ADDRSTRLEN];
	if (!inet_ntop(family, bin, text, sizeof text) || cl_snprintf(out, outlen, "%s/%lld", text, plen) < 0)
		return set_err(err, errlen, "network: too long");
	return 0;
}

/* The parameters a record may carry, as data: the parser walks this table. */
enum param_key { P_EXPIRES, P_SCORE, P_HOPS, P_ORIGIN, P_REASON, P_COUNT };
static const char *const param_names[P_COUNT] = {"EXPIRES", "SCORE", "HOPS", "ORIGIN", "REASON"};

/* parse_param - one KEY=VALUE into r; seen tracks duplicates. 0 or -1 with err. */
static int parse_param(const char *tok, size_t n, struct cl_mesh_record *r, int *seen, char *err, size_t errlen)
{
	const char *eq = memchr(tok, '=', n);
	if (!eq)
		return set_err(err, errlen, "parameter without \"=\"");
	size_t klen = (size_t)(eq - tok), vlen = n - klen - 1;
	const char *v = eq + 1;
	int k = 0;
	while (k < P_COUNT && !(strlen(param_names[k]) == klen && strncasecmp(tok, param_names[k], klen) == 0))
		k++;
	if (k == P_COUNT)
		return set_err(err, errlen, "unknown parameter");
	if (seen[k]++)
		return set_err(err, errlen, "parameter given twice");
	long long num;
	size_t olen;
	char msg[64];
	switch ((enum param_key)k) {
	case P_EXPIRES:
		if (parse_uint(v, vlen, CL_MESH_EXPIRES_MAX, &num) < 0)
			return set_err(err, errlen, "EXPIRES: not a unix time");
		r->expires = num;
		return 0;
	case P_SCORE:
		if (parse_score(v, vlen, &r->score) < 0)
			return set_err(err, errlen, "SCORE: not a decimal between 0 and 1000000");
		return 0;
	case P_HOPS:
		if (parse_uint(v, vlen, CL_MESH_HOPS_MAX, &num) < 0) {
			cl_snprintf(msg, sizeof msg, "HOPS: not a number between 0 and %d", CL_MESH_HOPS_MAX);
			return set_err(err, errlen, msg);
		}
		r->hops = (int)num;
		return 0;
	case P_ORIGIN:
		if (!origin_ok(v, vlen, r->origin))
			return set_err(err, errlen, "ORIGIN: not a domain name");
		return 0;
	case P_REASON:
		if (xtext_decode(v, vlen, r->reason, sizeof r->reason, &olen) < 0)
			return set_err(err, errlen, "REASON: bad xtext or longer than 200 octets");
		if (!utf8_text_ok((const unsigned char *)r->reason, olen))
			return set_err(err, errlen, "REASON: control characters or invalid UTF-8");
		return 0;
	case P_COUNT:
		break;
	}
	return set_err(err, errlen, "unknown parameter");
}

/* check_required - BAN needs every parameter; LIFT needs HOPS and ORIGIN (and drops the rest). */
static int check_required(struct cl_mesh_record *r, const int *seen, char *err, size_t errlen)
{
	for (int k = 0; k < P_COUNT; k++) {
		int needed = r->action == CL_MESH_BAN || k == P_HOPS || k == P_ORIGIN;
		if (needed && !seen[k]) {
			char msg[64];
			cl_snprintf(msg, sizeof msg, "%s missing", param_names[k]);
			return set_err(err, errlen, msg);
		}
	}
	if (r->action == CL_MESH_BAN && r->reason[0] == '\0')
		return set_err(err, errlen, "REASON: empty");
	if (r->action == CL_MESH_LIFT) { /* a lift has no expiry or score: tolerated, dropped */
		r->expires = 0;
		r->score = 0;
	}
	return 0;
}

int cl_mesh_record_parse(const char *args, size_t len, struct cl_mesh_record *r, char *err, size_t errlen)
{
	memset(r, 0, sizeof *r);
	if (len >= CL_MESH_LINE_MAX)
		return set_err(err, errlen, "record too long");
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)args[i] <= ' ' && args[i] != ' ')
			return set_err(err, errlen, "control character in record");
	int seen[P_COUNT] = {0};
	size_t pos = 0;
	for (int tok = 0; pos <= len; tok++) {
		const char *sp = memchr(args + pos, ' ', len - pos);
		size_t n = sp ? (size_t)(sp - (args + pos)) : len - pos;
		const char *t = args + pos;
		if (n == 0)
			return set_err(err, errlen, len == 0 ? "empty record" : "empty field (double space?)");
		if (tok == 0) {
			if (n == 3 && strncasecmp(t, "BAN", 3) == 0)
				r->action = CL_MESH_BAN;
			else if (n == 4 && strncasecmp(t, "LIFT", 4) == 0)
				r->action = CL_MESH_LIFT;
			else
				return set_err(err, errlen, "action must be BAN or LIFT");
		} else if (tok == 1) {
			if (cl_mesh_network_parse(t, n, r->network, sizeof r->network, err, errlen) < 0)
				return -1;
		} else if (parse_param(t, n, r, seen, err, errlen) < 0) {
			return -1;
		}
		if (!sp)
			break;
		pos += n + 1;
	}
	if (!r->network[0])
		return set_err(err, errlen, "network missing");
	return check_required(r, seen, err, errlen);
}

/* format_score - shortest of "%.3f" without trailing zeros. */
static void format_score(double s, char *out, size_t outlen)
{
	cl_snprintf(out, outlen, "%.3f", s);
	char *e = out + strlen(out) - 1;
	while (*e == '0')
		*e-- = '\0';
	if (*e == '.')
		*e = '\0';
}

int cl_mesh_record_format(const struct cl_mesh_record *r, char *out, size_t outlen)
{
	char err[8], net[64], origin[CL_MESH_ORIGIN_MAX + 1], score[32];
	if (cl_mesh_network_parse(r->network, strlen(r->network), net, sizeof net, err, sizeof err) < 0 ||
	    !origin_ok(r->origin, strlen(r->origin), origin) || r->hops < 0 || r->hops > CL_MESH_HOPS_MAX ||
	    !(r->score >= 0 && r->score <= CL_MESH_SCORE_MAX) || r->expires < 0 || r->expires > CL_MESH_EXPIRES_MAX ||
	    !utf8_text_ok((const unsigned char *)r->reason, strlen(r->reason)) ||
	    (r->action == CL_MESH_BAN && !r->reason[0]))
		return -1;
	struct cl_buf b;
	cl_buf_init(&b, CL_MESH_LINE_MAX - sizeof CL_MESH_VERB - 2);
	int rc = cl_buf_printf(&b, "%s %s", cl_mesh_action_str(r->action), net);
	if (r->action == CL_MESH_BAN) {
		format_score(r->score, score, sizeof score);
		rc |= cl_buf_printf(&b, " EXPIRES=%lld SCORE=%s", r->expires, score);
	}
	rc |= cl_buf_printf(&b, " HOPS=%d ORIGIN=%s", r->hops, origin);
	if (r->reason[0])
		rc |= cl_buf_append_str(&b, " REASON=") | xtext_encode(r->reason, &b);
	if (rc == 0)
		rc = cl_strlcpy(out, b.data, outlen);
	cl_buf_free(&b);
	return rc == 0 ? 0 : -1;
}

cJSON *cl_mesh_record_to_json(const struct cl_mesh_record *r)
{
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	int ok = cJSON_AddStringToObject(o, "action", r->action == CL_MESH_LIFT ? "lift" : "ban") &&
		 cJSON_AddStringToObject(o, "network", r->network) && cJSON_AddStringToObject(o, "reason", r->reason) &&
		 cJSON_AddNumberToObject(o, "score", r->score) &&
		 cJSON_AddNumberToObject(o, "expires", (double)r->expires) &&
		 cJSON_AddStringToObject(o, "origin", r->origin) && cJSON_AddNumberToObject(o, "hops", r->hops);
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/* json_uint - an integral JSON number in [0, max]; -1 otherwise. */
static int json_uint(const cJSON *o, const char *key, long long max, long long *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0 && v->valuedouble <= (double)max) ||
	    v->valuedouble != floor(v->valuedouble))
		return -1;
	*out = (long long)v->valuedouble;
	return 0;
}

int cl_mesh_record_from_json(const cJSON *o, struct cl_mesh_record *r, char *err, size_t errlen)
{
	memset(r, 0, sizeof *r);
	if (!cJSON_IsObject(o))
		return set_err(err, errlen, "record is not an object");
	const char *action = cl_json_str(o, "action", NULL);
	if (action && strcmp(action, "ban") == 0)
		r->action = CL_MESH_BAN;
	else if (action && strcmp(action, "lift") == 0)
		r->action = CL_MESH_LIFT;
	else
		return set_err(err, errlen, "action must be \"ban\" or \"lift\"");
	const char *net = cl_json_str(o, "network", NULL);
	if (!net)
		return set_err(err, errlen, "network missing");
	if (cl_mesh_network_parse(net, strlen(net), r->network, sizeof r->network, err, errlen) < 0)
		return -1;
	const char *origin = cl_json_str(o, "origin", NULL);
	if (!origin || !origin_ok(origin, strlen(origin), r->origin))
		return set_err(err, errlen, "origin: not a domain name");
	long long num;
	if (json_uint(o, "hops", CL_MESH_HOPS_MAX, &num) < 0)
		return set_err(err, errlen, "hops: not a number between 0 and 16");
	r->hops = (int)num;
	const char *reason = cl_json_str(o, "reason", NULL);
	if (reason && (cl_strlcpy(r->reason, reason, sizeof r->reason) < 0 ||
		       !utf8_text_ok((const unsigned char *)reason, strlen(reason))))
		return set_err(err, errlen, "reason: longer than 200 octets, control characters or invalid UTF-8");
	if (r->action == CL_MESH_LIFT)
		return 0;
	if (!r->reason[0])
		return set_err(err, errlen, "reason missing");
	if (json_uint(o, "expires", CL_MESH_EXPIRES_MAX, &r->expires) < 0)
		return set_err(err, errlen, "expires: not a unix time");
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(o, "score");
	if (!cJSON_IsNumber(s) || !(s->valuedouble >= 0 && s->valuedouble <= CL_MESH_SCORE_MAX))
		return set_err(err, errlen, "score: not a number between 0 and 1000000");
	r->score = round(s->valuedouble * 1000) / 1000; /* the wire form carries 3 decimals */
	return 0;
}
