/* main.c - clement-admin-api: the REST API behind the web UI (libmicrohttpd, cJSON, libpq).
 *
 * Authentication (local argon2id passwords or IMAP login), sessions, roles and scopes, and
 * every management screen; see routes.c for the routes and docs/openapi.yaml for their
 * contract. Also serves the frontend's static files for every path outside /api/. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>

#include "api.h"
#include "db/pool.h"
#include "server.h"
#include "svc/service.h"
#include "util/buf.h"
#include "util/log.h"

/* ready - /healthz: ready while PostgreSQL answers. */
static int ready(void *ctx, char *why, size_t whylen)
{
	struct api_app *app = ctx;
	struct cl_pg *pg = cl_pg_pool_get(app->pool, 1000, why, whylen);
	if (!pg)
		return 0;
	cl_pg_pool_put(app->pool, pg);
	return 1;
}

static struct api_config cfg;
static struct api_app app = {.cfg = &cfg};
static struct api_server *srv;
static int curl_inited;

/* setup - libcurl (before any thread), metrics, the database pool, the delivery client. */
static int setup(void *ctx, struct cl_metrics *reg, char *err, size_t errlen)
{
	(void)ctx;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	curl_inited = 1;
	app.reg = reg;
	api_metrics_register(&app);
	if (!(app.pool = cl_pg_pool_new(cfg.db_url, (int)cfg.db_pool, NULL, 0))) {
		cl_snprintf(err, errlen, "out of memory");
		return 1;
	}
	if (cfg.delivery_url[0] && !(app.delivery = cl_rpc_client_new(cfg.delivery_url, err, errlen))) {
		char why[256];
		cl_strlcpy(why, err, sizeof why);
		cl_snprintf(err, errlen, "CLEMENT_DELIVERY_URL: %s", why);
		return 2;
	}
	return 0;
}

/* start - the HTTP server, once /healthz answers. */
static int start(void *ctx, char *err, size_t errlen)
{
	(void)ctx;
	if (!(srv = api_server_start(&app, err, errlen)))
		return 1;
	cl_log(CL_LOG_INFO, NULL, "start", "listen=%s health=%s", cfg.listen, cfg.health_listen);
	return 0;
}

static void stop(void *ctx)
{
	(void)ctx;
	api_server_stop(srv);
	srv = NULL;
}

static void teardown(void *ctx)
{
	(void)ctx;
	cl_rpc_client_free(app.delivery);
	cl_pg_pool_free(app.pool);
	if (curl_inited)
		curl_global_cleanup();
}

int main(int argc, char **argv)
{
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
	    {"CLEMENT_SESSION_IDLE_S", CL_SET_DURATION, "1800", 1, 86400,
	     "a web session ends after this many seconds without a request", CL_SECONDS(&cfg.session_idle_s)},
	    {"CLEMENT_SESSION_MAX_S", CL_SET_DURATION, "43200", 60, 2592000,
	     "a web session ends this many seconds after login, active or not", CL_SECONDS(&cfg.session_max_s)},
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
	    {"CLEMENT_LOGIN_DELAY_MAX_S", CL_SET_DURATION, "300", 1, 86400,
	     "the longest delay an account's failed logins impose (it doubles from 1 s)",
	     CL_SECONDS(&cfg.login_delay_max_s)},
	    {"CLEMENT_LOGIN_MAX_FAILS_IP", CL_SET_INT, "20", 1, 100000,
	     "failed logins per client IP within the window before logins from it are refused (429)",
	     &cfg.login_max_fails_ip},
	    {"CLEMENT_LOGIN_WINDOW_S", CL_SET_DURATION, "900", 10, 86400,
	     "seconds over which a client IP's failed logins are counted; an account's are forgotten after this "
	     "long without one",
	     CL_SECONDS(&cfg.login_window_s)},
	    {"CLEMENT_PASSWORD_MIN", CL_SET_INT, "10", 1, 1024, "shortest password accepted when one is set",
	     &cfg.password_min},
	    {"CLEMENT_IMAP_CA_FILE", CL_SET_STR, "", 0, 0,
	     "CA bundle for verifying IMAP servers' certificates; empty: the system's", &cfg.imap_ca_file},
	    {"CLEMENT_IMAP_TIMEOUT_S", CL_SET_DURATION, "10", 1, 120, "deadline of an IMAP login check",
	     CL_SECONDS(&cfg.imap_timeout_s)},
	    {"CLEMENT_ADMIN_RPC_TIMEOUT_MS", CL_SET_DURATION, "30000", 100, 600000,
	     "deadline of a release/delete call to delivery", CL_MILLIS(&cfg.rpc_timeout_ms)},
	    CL_SETTING_LOG_LEVEL(&cfg.log_level),
	};
	const struct cl_service svc = {
	    .prog = "clement-admin-api",
	    .name = "admin-api",
	    .summary = "The REST API (and static web UI) for administering Clement: users, domains, groups, "
		       "directives, logs, quarantine, bans.",
	    CL_SERVICE_SETTINGS(settings, cfg),
	    .ctx = &app,
	    .ready = ready,
	    .setup = setup,
	    .start = start,
	    .stop = stop,
	    .teardown = teardown,
	};
	return cl_service_main(argc, argv, &svc);
}
