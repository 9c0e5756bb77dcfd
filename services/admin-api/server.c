/* server.c - see server.h. */
#include "server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "db/pool.h"
#include "routes.h"
#include "session.h"
#include "util/config.h"
#include "util/log.h"
#include "util/net.h"

struct api_server {
	struct MHD_Daemon *d;
};

/* api_req_new - the one request struct; freed by on_completed. */
static struct api_req *api_req_new(struct api_app *app, struct MHD_Connection *c, const char *url, const char *method)
{
	struct api_req *r = calloc(1, sizeof *r);
	if (!r)
		return NULL;
	r->app = app;
	r->conn = c;
	r->url = url;
	r->method = method;
	r->started = cl_now_seconds();
	cl_buf_init(&r->body, (size_t)app->cfg->body_max);
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci && ci->client_addr) {
		const struct sockaddr *sa = ci->client_addr;
		if (sa->sa_family == AF_INET)
			inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, r->ip, sizeof r->ip);
		else if (sa->sa_family == AF_INET6)
			inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, r->ip, sizeof r->ip);
	}
	return r;
}

static void api_req_free(struct api_req *r)
{
	if (r->pg)
		cl_pg_pool_put(r->app->pool, r->pg);
	cl_buf_free(&r->body);
	cJSON_Delete(r->in);
	cJSON_Delete(r->out);
	free(r->raw);
	free(r);
}

/* origin_ok - a state-changing request must come from our own origin: its Origin header
 * names the host the browser sent the request to (the Fetch standard sets Origin on every
 * POST/PUT/PATCH/DELETE). With CLEMENT_COOKIE_SECURE only https is ours. */
static int origin_ok(struct api_req *r)
{
	const char *origin = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Origin");
	const char *host = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Host");
	if (!origin || !host)
		return 0;
	const char *rest = NULL;
	if (strncmp(origin, "https://", 8) == 0)
		rest = origin + 8;
	else if (strncmp(origin, "http://", 7) == 0 && !r->app->cfg->cookie_secure)
		rest = origin + 7;
	return rest && strcasecmp(rest, host) == 0;
}

/* csrf_ok - the X-CSRF-Token header equals the session's token (constant time). */
static int csrf_ok(struct api_req *r)
{
	const char *t = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "X-CSRF-Token");
	return t && strlen(t) == API_TOKEN_HEX && r->me.csrf[0] && CRYPTO_memcmp(t, r->me.csrf, API_TOKEN_HEX) == 0;
}

static int key_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* json_dup_key - the first key that occurs twice in one object anywhere in v, or NULL.
 * cJSON keeps both members and its lookups return the first, while a handler that walks the
 * members sees both: such a body would be checked as one thing and written as another.
 * Sorted, so a body of many keys costs n log n. Depth is bounded by cJSON's nesting limit. */
static const char *json_dup_key(const cJSON *v, int *oom)
{
	if (!cJSON_IsObject(v) && !cJSON_IsArray(v))
		return NULL;
	size_t n = 0;
	for (const cJSON *c = v->child; c; c = c->next)
		n++;
	if (cJSON_IsObject(v) && n > 1) {
		const char **keys = malloc(n * sizeof *keys);
		if (!keys) {
			*oom = 1;
			return NULL;
		}
		size_t i = 0;
		for (const cJSON *c = v->child; c; c = c->next)
			keys[i++] = c->string;
		qsort(keys, n, sizeof *keys, key_cmp);
		const char *dup = NULL;
		for (i = 1; i < n && !dup; i++)
			if (strcmp(keys[i - 1], keys[i]) == 0)
				dup = keys[i];
		free(keys);
		if (dup)
			return dup;
	}
	for (const cJSON *c = v->child; c; c = c->next) {
		const char *dup = json_dup_key(c, oom);
		if (dup || *oom)
			return dup;
	}
	return NULL;
}

/* json_has_nul - does the JSON text hold a NUL, raw or as the escape \u0000? C strings end
 * at a NUL, so "a\u0000b" would be checked as "a": refused rather than cut. */
static int json_has_nul(const char *s, size_t len)
{
	if (memchr(s, '\0', len))
		return 1;
	for (size_t i = 0; i + 1 < len; i++) {
		if (s[i] != '\\')
			continue;
		if (s[i + 1] == 'u' && i + 5 < len && strncmp(s + i + 2, "0000", 4) == 0)
			return 1;
		i++; /* the escaped character is not itself an escape */
	}
	return 0;
}

/* parse_body - JSON body into r->in. 0, or -1 (answered 400/415). */
static int parse_body(struct api_req *r)
{
	if (r->body.len == 0)
		return 0;
	const char *ct = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Content-Type");
	if (!ct || strncasecmp(ct, "application/json", 16) != 0) {
		api_err(r, 415, "the request body must be sent as application/json");
		return -1;
	}
	if (json_has_nul(r->body.data, r->body.len)) {
		api_err(r, 400, "the request body holds a NUL character");
		return -1;
	}
	const char *end = NULL;
	r->in = cJSON_ParseWithLengthOpts(r->body.data, r->body.len, &end, 0);
	if (!r->in) {
		api_err(r, 400, "malformed JSON in the request body");
		return -1;
	}
	if (!cJSON_IsObject(r->in)) {
		api_err(r, 400, "the request body must be a JSON object");
		return -1;
	}
	int oom = 0;
	const char *dup = json_dup_key(r->in, &oom);
	if (dup || oom) {
		char esc[80];
		if (oom)
			api_err(r, 500, "internal error");
		else
			api_err(r, 400, "the key \"%s\" occurs twice in one object of the request body",
				cl_log_escape(esc, sizeof esc, dup, strlen(dup)));
		return -1;
	}
	return 0;
}

void api_db_pause(struct api_req *r)
{
	audit_pause(r);
	cl_pg_pool_put(r->app->pool, r->pg);
	r->pg = NULL;
}

int api_db_resume(struct api_req *r)
{
	char err[256];
	r->pg = cl_pg_pool_get(r->app->pool, 5000, err, sizeof err);
	if (r->pg)
		return 0;
	api_err(r, 503, "the database is not available, try again later");
	return -1;
}

/* has_control - does s hold a control character (below 0x20, or DEL)? */
static int has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

static enum MHD_Result query_control(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	(void)kind;
	int *bad = cls;
	if (has_control(key) || (value && has_control(value)))
		*bad = 1;
	return *bad ? MHD_NO : MHD_YES;
}

/* url_unescape - MHD's URL decoding, except that a decoded NUL (%00) becomes the control
 * character 0x01 instead of ending the string: MHD hands the path and query values on as C
 * strings, so "/api/users/1%00x" would otherwise arrive as "/api/users/1". The request is then
 * refused by request_control_ok, which sees the control character. */
static size_t url_unescape(void *cls, struct MHD_Connection *c, char *s)
{
	(void)cls;
	(void)c;
	size_t n = MHD_http_unescape(s);
	for (size_t i = 0; i < n; i++)
		if (s[i] == '\0')
			s[i] = '\x01';
	return n;
}

/* request_control_ok - the path and every query key and value are free of NUL and control
 * characters; otherwise answers 400 and returns 0. */
static int request_control_ok(struct api_req *r)
{
	int bad = 0;
	if (has_control(r->url)) {
		api_err(r, 400, "the path holds a NUL or control character");
		return 0;
	}
	MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, query_control, &bad);
	if (bad)
		api_err(r, 400, "a query parameter holds a NUL or control character");
	return !bad;
}

/* api_dispatch - the checks of the route table's row, then the handler. A state-changing
 * request that reaches its handler, or that a logged-in caller sent with its CSRF token and
 * its role refused, goes through the audit hook (audit.h); requests refused before anyone is
 * known (no session, foreign Origin, bad CSRF token, bad body) only reach the log line. */
static void api_dispatch(struct api_req *r)
{
	int path_known = 0;
	const struct api_route *rt = api_route_find(r, r->method, r->url, &path_known);
	if (!rt) {
		if (path_known)
			api_err(r, 405, "method %s is not allowed here", r->method);
		else
			api_err(r, 404, "no such API route");
		return;
	}
	if (r->too_large) {
		api_err(r, 413, "the request body is larger than %lld bytes", r->app->cfg->body_max);
		return;
	}
	int changes = strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0;
	if (changes && !(rt->flags & RT_TOKEN) && !origin_ok(r)) {
		api_err(r, 403, "cross-origin request refused (Origin header missing or foreign)");
		return;
	}
	if (parse_body(r) < 0)
		return;
	char err[256];
	r->pg = cl_pg_pool_get(r->app->pool, 5000, err, sizeof err);
	if (!r->pg) {
		cl_log(CL_LOG_ERROR, NULL, "db_unavailable", "why=\"%s\"", err);
		api_err(r, 503, "the database is not available, try again later");
		return;
	}
	if (!(rt->flags & RT_PUBLIC)) {
		int s = session_load(r);
		if (s < 0)
			return;
		if (s == 0) {
			api_err(r, 401, "not logged in, or the session has expired");
			return;
		}
		if (r->me.role < rt->min_role) {
			api_err(r, 403, "your role may not do this");
			if (changes && csrf_ok(r))
				audit_call(r, rt, NULL);
			return;
		}
		if (changes && !csrf_ok(r)) {
			api_err(r, 403, "missing or wrong CSRF token (header X-CSRF-Token)");
			return;
		}
	}
	if (changes)
		audit_call(r, rt, rt->fn);
	else
		rt->fn(r);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
				  const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	(void)version;
	struct api_app *app = cls;
	struct api_req *r = *con_cls;
	if (!r) {
		r = api_req_new(app, c, url, method);
		if (!r)
			return MHD_NO;
		*con_cls = r;
		return MHD_YES;
	}
	if (*upload_size) {
		/* Bytes beyond the bound are read and dropped, so that the client still gets its
		 * 413 instead of a reset connection. */
		if (!r->too_large && cl_buf_append(&r->body, upload, *upload_size) < 0)
			r->too_large = 1;
		*upload_size = 0;
		return MHD_YES;
	}
	cl_metric_inc(app->m_requests);
	if (!request_control_ok(r))
		return api_send(r);
	if (strncmp(url, "/api/", 5) != 0)
		return static_serve(r, url);
	api_dispatch(r);
	if (r->pg) {
		cl_pg_pool_put(app->pool, r->pg);
		r->pg = NULL;
	}
	if (r->status >= 500)
		cl_metric_inc(app->m_errors5xx);
	/* A digest link's token is a credential: it never reaches the log. */
	const char *shown = strncmp(url, "/api/digest/", 12) == 0 ? "/api/digest/..." : url;
	char esc[200];
	cl_log(CL_LOG_INFO, NULL, "http", "method=%s path=%s status=%d user=%lld ip=%s", method,
	       cl_log_escape(esc, sizeof esc, shown, strlen(shown)), r->status, r->me.id, r->ip);
	cl_metric_observe(app->m_latency, cl_now_seconds() - r->started);
	return api_send(r);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)c;
	(void)toe;
	if (*con_cls)
		api_req_free(*con_cls);
	*con_cls = NULL;
}

/* api_server_start - see server.h */
struct api_server *api_server_start(struct api_app *app, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	char why[160];
	if (cl_net_sockaddr(app->cfg->listen, &ss, &sslen, why, sizeof why) < 0) {
		cl_snprintf(err, errlen, "CLEMENT_ADMIN_LISTEN %s", why);
		return NULL;
	}
	/* A thread per connection: handlers block on PostgreSQL, argon2, IMAP and delivery, and
	 * a blocked handler must not stall other connections. The connection limit bounds the
	 * threads. */
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	struct api_server *s = calloc(1, sizeof *s);
	if (!s) {
		cl_snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, app, MHD_OPTION_SOCK_ADDR, &ss,
				MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_UNESCAPE_CALLBACK,
				url_unescape, NULL, MHD_OPTION_CONNECTION_LIMIT, (unsigned)app->cfg->max_connections,
				MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_END);
	if (!s->d) {
		cl_snprintf(err, errlen, "cannot listen on %s (port in use?)", app->cfg->listen);
		free(s);
		return NULL;
	}
	return s;
}

void api_server_stop(struct api_server *s)
{
	if (!s)
		return;
	MHD_stop_daemon(s->d);
	free(s);
}
