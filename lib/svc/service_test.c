/* service_test.c - cl_service_main: the hooks run in their order (check, setup, start with the
 * RPC server and /healthz already up, run, stop, teardown), the op table is served (an unknown
 * op answered uniformly), and the exit codes: a bad setting 2 without any set-up, a failed
 * setup its own code with teardown still run, a oneshot without listeners. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rpc/frame.h"
#include "svc/service.h"
#include "util/test.h"

static char trace[32];
static int check_rc, setup_rc, oneshot_rc;
static char *log_level, *health, *listen_url;
static char served[96]; /* what start found: "ping=ok unknown=unknown op" */

static void note(char c)
{
	size_t n = strlen(trace);
	if (n + 1 < sizeof trace)
		trace[n] = c, trace[n + 1] = '\0';
}

static cJSON *h_ping(void *ctx, const cJSON *req, const unsigned char *body, size_t blen, void **rbody, size_t *rblen)
{
	(void)ctx, (void)req, (void)body, (void)blen, (void)rbody, (void)rblen;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "v", 1);
	cJSON_AddStringToObject(o, "pong", "ok");
	return o;
}

/* call - op on the service; the reply's field key ("" when none). */
static void call(struct cl_rpc_client *c, const char *op, const char *key, char *out, size_t outlen)
{
	cJSON *req = cJSON_CreateObject(), *h = NULL;
	cJSON_AddNumberToObject(req, "v", 1);
	cJSON_AddStringToObject(req, "op", op);
	nng_msg *reply = NULL;
	char err[128];
	out[0] = '\0';
	if (cl_rpc_call(c, req, NULL, 0, 3000, &reply, &h, err, sizeof err) == CL_RPC_OK) {
		snprintf(out, outlen, "%s", cl_json_str(h, key, ""));
		cJSON_Delete(h);
		nng_msg_free(reply);
	}
	cJSON_Delete(req);
}

static int check(void *ctx, char *err, size_t errlen)
{
	(void)ctx;
	note('c');
	if (check_rc)
		snprintf(err, errlen, "CLEMENT_SVCTEST_X: no good");
	return check_rc;
}

static int setup(void *ctx, struct cl_metrics *reg, char *err, size_t errlen)
{
	(void)ctx;
	note(reg ? 's' : '?');
	if (setup_rc)
		snprintf(err, errlen, "setup failed on purpose");
	return setup_rc;
}

static int oneshot(void *ctx)
{
	(void)ctx;
	note('o');
	return oneshot_rc;
}

static int start(void *ctx, char *err, size_t errlen)
{
	(void)ctx;
	note('S');
	struct cl_rpc_client *c = cl_rpc_client_new(listen_url, err, errlen);
	char a[32] = "", b[32] = "";
	if (c) {
		call(c, "ping", "pong", a, sizeof a);
		call(c, "nosuch", "error", b, sizeof b);
		cl_rpc_client_free(c);
	}
	snprintf(served, sizeof served, "ping=%s unknown=%s", a, b);
	return 0;
}

static int run(void *ctx)
{
	(void)ctx;
	note('r');
	return 7;
}

static void stop(void *ctx)
{
	(void)ctx;
	note('t');
}

static void teardown(void *ctx)
{
	(void)ctx;
	note('d');
}

static int run_service(int with_oneshot)
{
	static const struct cl_rpc_op ops[] = {{"ping", h_ping}};
	const struct cl_setting settings[] = {
	    {"CLEMENT_SVCTEST_LISTEN", CL_SET_STR, "tcp://127.0.0.1:1", 0, 0, "RPC", &listen_url},
	    CL_SETTING_HEALTH_LISTEN("CLEMENT_SVCTEST_HEALTH_LISTEN", "127.0.0.1:1", &health),
	    CL_SETTING_LOG_LEVEL(&log_level),
	};
	const struct cl_service svc = {
	    .prog = "service_test",
	    .name = "service_test",
	    .summary = "test",
	    .settings = settings,
	    .nsettings = CL_SETTINGS_COUNT(settings),
	    .log_level = &log_level,
	    .health_listen = &health,
	    .rpc_listen = &listen_url,
	    .ops = ops,
	    .nops = 1,
	    .check = check,
	    .setup = setup,
	    .oneshot = with_oneshot ? oneshot : NULL,
	    .start = start,
	    .run = run,
	    .stop = stop,
	    .teardown = teardown,
	};
	char arg0[] = "service_test", *argv[] = {arg0, NULL};
	char v[64];
	snprintf(v, sizeof v, "tcp://127.0.0.1:%d", cl_test_free_port());
	setenv("CLEMENT_SVCTEST_LISTEN", v, 1);
	snprintf(v, sizeof v, "127.0.0.1:%d", cl_test_free_port());
	setenv("CLEMENT_SVCTEST_HEALTH_LISTEN", v, 1);
	setenv("CLEMENT_LOG_LEVEL", "warn", 1);
	trace[0] = served[0] = '\0';
	return cl_service_main(1, argv, &svc);
}

int main(void)
{
	int rc = run_service(0);
	CL_CHECK(rc == 7 && !strcmp(trace, "csSrtd"), "hooks in order, run's exit code: rc %d trace %s", rc, trace);
	CL_CHECK(!strcmp(served, "ping=ok unknown=unknown op"), "op table served while start runs: %s", served);
	check_rc = 2;
	rc = run_service(0);
	CL_CHECK(rc == 2 && !strcmp(trace, "c"), "bad setting: 2, nothing set up: rc %d trace %s", rc, trace);
	check_rc = 0;
	setup_rc = 1;
	rc = run_service(0);
	CL_CHECK(rc == 1 && !strcmp(trace, "csd"), "failed setup: its code, teardown still runs: rc %d trace %s", rc,
		 trace);
	setup_rc = 0;
	oneshot_rc = 0;
	rc = run_service(1);
	CL_CHECK(rc == 0 && !strcmp(trace, "csod") && !served[0], "oneshot: no listeners: rc %d trace %s", rc, trace);
	oneshot_rc = -1;
	rc = run_service(1);
	CL_CHECK(rc == 7 && !strcmp(trace, "csoSrtd"), "oneshot declining: served: rc %d trace %s", rc, trace);
	CL_CHECK(cl_service_workers(5) == 5 && cl_service_workers(0) >= 1, "workers");
	return CL_TEST_END();
}
