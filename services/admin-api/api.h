/* api.h - the types every part of clement-admin-api shares: settings, the application
 * context, the caller (principal) and one HTTP request.
 *
 * One struct api_req lives from the first byte of a request to its completion callback
 * (api_req_free is the one teardown path). Handlers read r->in (the parsed JSON body),
 * r->arg[] (path parameters) and r->me (the authenticated caller), and answer through
 * api_ok()/api_err() exactly once; the server turns that into the HTTP response. */
#ifndef CLEMENT_ADMIN_API_H
#define CLEMENT_ADMIN_API_H

#include <cjson/cJSON.h>
#include <microhttpd.h>
#include <stddef.h>

#include "db/pg.h"
#include "rpc/rpc.h"
#include "util/buf.h"
#include "util/metrics.h"

/* Roles in increasing order of privilege: a route's minimum role compares with <. */
enum api_role { ROLE_NONE = 0, ROLE_USER, ROLE_DOMAIN_ADMIN, ROLE_GROUP_ADMIN, ROLE_ROOT };

struct api_config {
	char *listen, *health_listen, *db_url, *frontend_dir, *delivery_url, *digest_secret;
	char *log_level, *imap_ca_file;
	long long session_idle_s, session_max_s, cookie_secure, body_max, max_connections, db_pool;
	long long login_max_fails_addr, login_max_fails_ip, login_window_s, login_delay_max_s, password_min;
	long long imap_timeout_s, rpc_timeout_ms;
};

struct cl_pg_pool;

struct api_app {
	const struct api_config *cfg;
	struct cl_pg_pool *pool;
	struct cl_rpc_client *delivery; /* NULL when no delivery URL is set */
	struct cl_metrics *reg;
	struct cl_metric *m_requests, *m_errors5xx, *m_login_ok, *m_login_fail, *m_login_limited;
	struct cl_metric *m_latency, *m_audit_failures;
};

#define API_ADDR_MAX  320
#define API_TOKEN_HEX 32                 /* 128 random bits as hex */
#define API_ID_MAX    9000000000000000LL /* ids stay exact as JSON numbers (below 2^53) */

struct api_user {
	long long id;
	enum api_role role;
	long long domain_id;
	char address[API_ADDR_MAX + 1];
	char csrf[API_TOKEN_HEX + 1];
	char sid_hash[65]; /* SHA-256 hex of the session cookie */
};

#define API_MAX_ARGS 3
#define API_ARG_MAX  128

struct api_req {
	struct api_app *app;
	struct MHD_Connection *conn;
	const char *method; /* MHD's, valid for the request */
	const char *url;
	struct cl_buf body;
	int too_large;
	double started;
	cJSON *in;          /* parsed body (an object) or NULL */
	struct cl_pg *pg;   /* borrowed from the pool for the duration of the handler */
	struct api_user me; /* id 0 when not logged in */
	char arg[API_MAX_ARGS][API_ARG_MAX];
	char ip[64];
	/* the answer */
	int status;
	cJSON *out; /* JSON body (owned), or */
	char *raw;  /* another body (owned, malloc'd) */
	size_t rawlen;
	const char *ctype; /* content type of raw */
	char cookie[256];  /* a Set-Cookie value, or "" */
	int retry_after;   /* seconds, 0: no header */
	int audit_tx;      /* inside the audit hook's transaction (audit.h) */
};

/* respond.c */
/* api_ok - answer status with body (taken over; NULL gives {}). */
void api_ok(struct api_req *r, int status, cJSON *body);
/* api_err - answer {"error": text}. */
void api_err(struct api_req *r, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* api_html - answer a small HTML page (title and text are escaped here). */
void api_html(struct api_req *r, int status, const char *title, const char *text);
/* api_html_details - the same page with a form that POSTs to the page's own address, its one
 * button labelled `button`: a GET link that must not act on a mere visit (link scanners and
 * mail-client prefetchers open links) asks the person to confirm first. details: what it is
 * about, {label, value} pairs ending with NULL; others: other things to do as links, {label,
 * href} pairs ending with NULL (or NULL). Everything is escaped here. */
void api_html_details(struct api_req *r, const char *title, const char *text, const char *const *details,
		      const char *button, const char *const *others);
/* api_send - turn r's answer into the HTTP response with every security header. */
enum MHD_Result api_send(struct api_req *r);
/* api_send_file - a 200 response over fd (taken over by MHD), with the security headers. */
enum MHD_Result api_send_file(struct MHD_Connection *c, int fd, size_t size, const char *ctype);
const char *api_role_name(enum api_role role);
enum api_role api_role_parse(const char *s);

/* api_db_pause / api_db_resume (server.c) - give the request's database connection back to
 * the pool around a slow outside call (IMAP login, delivery RPC), so that slow mail servers
 * cannot starve the pool. api_db_resume answers 503 and returns -1 when none comes back. */
void api_db_pause(struct api_req *r);
int api_db_resume(struct api_req *r);

/* query helpers */
const char *api_query(struct api_req *r, const char *key);

/* api_metrics_register - every series of app (metrics.c) in app->reg, which owns them; once,
 * before the HTTP server starts. */
void api_metrics_register(struct api_app *app);

#endif
