/* main.c - clement-admin-api: the REST API behind the web UI (libmicrohttpd, cJSON, libpq).
 *
 * Authentication (local argon2id passwords or IMAP login), sessions, roles and scopes, and
 * every management screen; see routes.c for the routes and docs/openapi.yaml for their
 * contract. Also serves the frontend's static files for every path outside /api/. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>

#include "api.h"
#include "dbpool.h"
#include "server.h"
#include "svc/health.h"
#include "util/config.h"
#include "util/daemon.h"
#include "util/log.h"
#include "util/metrics.h"

/* ready - /healthz: ready while PostgreSQL answers. */
static int ready(void *ctx, char *why, size_t whylen)
{
	struct api_app *app = ctx;
	struct cl_pg *pg = dbpool_get(app->pool, 1000, why, whylen);
	if (!pg)
		return 0;
	dbpool_put(app->pool, pg);
	return 1;
}

static void metrics_register(struct api_app *app)
{
	struct cl_metrics *m = app->reg;
	app->m_requests = cl_metrics_counter(m, "clement_admin_requests_total", "HTTP requests answered", "");
	app->m_errors5xx = cl_metrics_counter(m, "clement_admin_errors_total", "API answers with a 5xx status", "");
	app->m_login_ok = cl_metrics_counter(m, "clement_admin_logins_total", "login attempts", "result=\"ok\"");
	app->m_login_fail = cl_metrics_counter(m, "clement_admin_logins_total", "login attempts", "result=\"failed\"");
	app->m_login_limited =
	    cl_metrics_counter(m, "clement_admin_logins_total", "login attempts", "result=\"rate_limited\"");
	app->m_latency = cl_metrics_histogram(m, "clement_admin_request_seconds", "API request latency", "");
	app->m_audit_failures = cl_metrics_counter(m, "clement_admin_audit_failures_total",
						   "state-changing requests whose audit row could not be written", "");
}

int main(int argc, char **argv)
{
	struct api_config cfg = {0};
	const struct cl_setting settings[] = {
	    {"CLEMENT_ADMIN_LISTEN", CL_SET_STR, "0.0.0.0:8080", 0, 0, "address of the API and web UI (HTTP)",
	     &cfg.listen},
	    CL_SETTING_HEALTH_LISTEN("CLEMENT_ADMIN_HEALTH_LISTEN", "0.0.0.0:9106", &cfg.health_listen),
	    CL_SETTING_DB_URL(&cfg.db_url),
	    {"CLEMENT_FRONTEND_DIR", CL_SET_STR, "./frontend", 0, 0,
	     "directory of the web UI's static files, served for every path outside /api/", &cfg.frontend_dir},
	    {"CLEMENT_DELIVERY_URL", CL_SET_STR, "tcp://127.0.0.1:7003", 0, 0,
	     "delivery service RPC address (quarantine release and delete); empty: none", &cfg.delivery_url},
	    {"CLEMENT_DIGEST_SECRET", CL_SET_STR, "", 0, 0,
	     "secret shared with delivery to check one-click digest links; empty: links disabled", &cfg.digest_secret},
	    {"CLEMENT_SESSION_IDLE_S", CL_SET_INT, "1800", 1, 86400,
	     "a web session ends after this many seconds without a request", &cfg.session_idle_s},
	    {"CLEMENT_SESSION_MAX_S", CL_SET_INT, "43200", 60, 2592000,
	     "a web session ends this many seconds after login, active or not", &cfg.session_max_s},
	    {"CLEMENT_COOKIE_SECURE", CL_SET_BOOL, "0", 0, 1,
	     "1 behind TLS: Secure, __Host- prefixed session cookie and https-only Origin", &cfg.cookie_secure},
	    {"CLEMENT_BODY_MAX", CL_SET_INT, "1048576", 1024, 67108864,
	     "largest request body accepted, in bytes (larger: 413)", &cfg.body_max},
	    {"CLEMENT_ADMIN_MAX_CONNECTIONS", CL_SET_INT, "256", 4, 10000,
	     "simultaneous HTTP connections (each has its own thread)", &cfg.max_connections},
	    {"CLEMENT_ADMIN_DB_POOL", CL_SET_INT, "8", 1, 64, "PostgreSQL connections shared by the requests",
	     &cfg.db_pool},
	    {"CLEMENT_LOGIN_MAX_FAILS", CL_SET_INT, "5", 1, 1000,
	     "failed logins for one account before each further attempt waits a doubling delay (429 with "
	     "Retry-After); never for addresses it logged in from, nor a source that has not failed for it",
	     &cfg.login_max_fails_addr},
	    {"CLEMENT_LOGIN_DELAY_MAX_S", CL_SET_INT, "300", 1, 86400,
	     "the longest delay an account's failed logins impose (it doubles from 1 s)", &cfg.login_delay_max_s},
	    {"CLEMENT_LOGIN_MAX_FAILS_IP", CL_SET_INT, "20", 1, 100000,
	     "failed logins per client IP within the window before logins from it are refused (429)",
	     &cfg.login_max_fails_ip},
	    {"CLEMENT_LOGIN_WINDOW_S", CL_SET_INT, "900", 10, 86400,
	     "seconds over which a client IP's failed logins are counted; an account's are forgotten after this "
	     "long without one",
	     &cfg.login_window_s},
	    {"CLEMENT_PASSWORD_MIN", CL_SET_INT, "10", 1, 1024, "shortest password accepted when one is set",
	     &cfg.password_min},
	    {"CLEMENT_IMAP_CA_FILE", CL_SET_STR, "", 0, 0,
	     "CA bundle for verifying IMAP servers' certificates; empty: the system's", &cfg.imap_ca_file},
	    {"CLEMENT_IMAP_TIMEOUT_S", CL_SET_INT, "10", 1, 120, "deadline of an IMAP login check",
	     &cfg.imap_timeout_s},
	    {"CLEMENT_ADMIN_RPC_TIMEOUT_MS", CL_SET_INT, "30000", 100, 600000,
	     "deadline of a release/delete call to delivery", &cfg.rpc_timeout_ms},
	    CL_SETTING_LOG_LEVEL(&cfg.log_level),
	};
	const size_t nset = CL_SETTINGS_COUNT(settings);
	cl_config_main(argc, argv, "clement-admin-api",
		       "The REST API (and static web UI) for administering Clement: users, domains, groups, "
		       "directives, logs, quarantine, bans.",
		       settings, nset);
	if (cl_service_begin("clement-admin-api", "admin-api", cfg.log_level) < 0)
		return 1;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	char err[256];
	struct api_app app = {.cfg = &cfg};
	app.reg = cl_metrics_new();
	metrics_register(&app);
	app.pool = dbpool_new(cfg.db_url, (int)cfg.db_pool, NULL, 0);
	if (cfg.delivery_url[0] && !(app.delivery = cl_rpc_client_new(cfg.delivery_url, err, sizeof err))) {
		fprintf(stderr, "clement-admin-api: CLEMENT_DELIVERY_URL: %s\n", err);
		return 2;
	}
	int rc = 0;
	struct cl_health *h = NULL;
	struct api_server *srv = NULL;
	if (!app.pool || !(h = cl_health_start(cfg.health_listen, app.reg, ready, NULL, &app, err, sizeof err)) ||
	    !(srv = api_server_start(&app, err, sizeof err))) {
		fprintf(stderr, "clement-admin-api: %s\n", app.pool ? err : "out of memory");
		rc = 1;
	} else {
		cl_log(CL_LOG_INFO, NULL, "start", "listen=%s health=%s", cfg.listen, cfg.health_listen);
		cl_daemon_wait();
		cl_log(CL_LOG_INFO, NULL, "stop", NULL);
	}
	api_server_stop(srv);
	cl_health_stop(h);
	cl_rpc_client_free(app.delivery);
	dbpool_free(app.pool);
	cl_metrics_free(app.reg);
	curl_global_cleanup();
	cl_config_free(settings, nset);
	return rc;
}
