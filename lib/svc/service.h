/* service.h - the one start-up and shutdown of every Clement service (Postfix's
 * single_server_main): cl_service_main() reads the settings table (--help, --settings-markdown,
 * bad values: exit 2), starts logging at CLEMENT_LOG_LEVEL and the signal handling, runs the
 * service's own set-up, serves its RPC op table (the unknown-op counter registered here) and
 * /healthz + /metrics, waits for SIGTERM/SIGINT (or runs the service's own loop), and stops
 * everything in the reverse order. A service's main.c keeps its settings table, its
 * set-up/teardown hooks and nothing else.
 *
 * Order: check -> logging, signals -> setup (no thread of ours runs yet: the place for
 * curl_global_init and libraries that want to be initialised first) -> oneshot? -> RPC server
 * -> health -> start -> [wait for a signal | run] -> stop -> RPC server stopped (requests in
 * flight finish) -> health stopped -> teardown. stop runs only after start succeeded; teardown
 * runs whenever setup was called (also when setup or start failed half-way), so it must cope
 * with a partial set-up.
 *
 * Exit codes: 0 after an orderly stop, 2 for a bad setting (check, or setup returning 2),
 * 1 for anything else that failed at start (message "prog: why" on stderr). */
#ifndef CLEMENT_SVC_SERVICE_H
#define CLEMENT_SVC_SERVICE_H

#include <stddef.h>

#include "rpc/rpc.h"
#include "svc/health.h"
#include "util/config.h"
#include "util/metrics.h"

struct cl_service {
	const char *prog;    /* "clement-policy": --help, messages on stderr */
	const char *name;    /* "policy": svc= in every log line */
	const char *summary; /* --help's first lines */
	const struct cl_setting *settings;
	size_t nsettings;
	char *const *log_level;       /* the CLEMENT_LOG_LEVEL destination in the settings table */
	char *const *health_listen;   /* the *_HEALTH_LISTEN destination */
	char *const *rpc_listen;      /* the RPC server's URL (tcp:// or ipc://); NULL: the service serves no RPC */
	const long long *rpc_workers; /* worker threads; NULL or <= 0: one per CPU core */
	const struct cl_rpc_op *ops;  /* the op table (nops entries) */
	size_t nops;
	void *const *rpc_ctx; /* where setup leaves the handlers' context; NULL: ctx */
	int rpc_json_arena;   /* the handlers keep no cJSON value past a request (cl_rpc_optable) */
	void *ctx;            /* handed to every hook */
	cl_ready_fn ready;    /* /healthz (NULL: always ready) */
	cl_metrics_hook_fn metrics_hook;
	/* Hooks, each optional. Those returning int give 0, or an exit code with err filled. */
	int (*check)(void *ctx, char *err, size_t errlen); /* settings the table cannot check */
	int (*setup)(void *ctx, struct cl_metrics *reg, char *err, size_t errlen);
	int (*oneshot)(void *ctx); /* -1: serve; otherwise exit with this code right after setup */
	int (*start)(void *ctx, char *err, size_t errlen); /* listeners are up: threads, start log line */
	int (*run)(void *ctx);   /* instead of waiting for a signal (an event loop); its exit code */
	void (*stop)(void *ctx); /* a signal came (or run returned), before the RPC server stops */
	void (*teardown)(void *ctx);
};

/* The fields every service fills the same way from its settings table and config struct cfg
 * (whose members log_level and health_listen, and for an RPC service listen and workers, are
 * the destinations of CLEMENT_LOG_LEVEL, *_HEALTH_LISTEN, *_LISTEN and *_WORKERS). */
#define CL_SERVICE_SETTINGS(set, cfg)                                                                                  \
	.settings = (set), .nsettings = CL_SETTINGS_COUNT(set), .log_level = &(cfg).log_level,                         \
	.health_listen = &(cfg).health_listen
#define CL_SERVICE_RPC(cfg, op_list, n)                                                                                \
	.rpc_listen = &(cfg).listen, .rpc_workers = &(cfg).workers, .ops = (op_list), .nops = (n)

/* cl_service_main - run the service s; returns main()'s exit code (exits itself only for
 * --help and a bad setting, as cl_config_main does). */
int cl_service_main(int argc, char **argv, const struct cl_service *s);

/* cl_service_workers - n when n > 0, else the number of CPU cores (at least 1). */
int cl_service_workers(long long n);

#endif
