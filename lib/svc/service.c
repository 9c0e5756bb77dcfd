/* service.c - the service skeleton. See service.h. */
#include "svc/service.h"

#include <stdio.h>
#include <unistd.h>

#include "util/daemon.h"
#include "util/log.h"

int cl_service_workers(long long n)
{
	if (n > 0)
		return n > 1024 ? 1024 : (int)n;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	return cores < 1 ? 1 : cores > 1024 ? 1024 : (int)cores;
}

/* serve - listeners, the wait, and their orderly stop; the exit code. */
static int serve(const struct cl_service *s, struct cl_metrics *reg, char *err, size_t errlen)
{
	struct cl_rpc_server *srv = NULL;
	struct cl_health *h = NULL;
	struct cl_rpc_optable table = {s->ops, s->nops, NULL, s->rpc_json_arena};
	int rc = 1;
	if (s->rpc_listen) {
		/* RPC first: once /healthz says ready, requests must find the socket listening. */
		table.unknown = cl_rpc_unknown_metric(reg);
		void *ctx = s->rpc_ctx ? *s->rpc_ctx : s->ctx;
		int workers = cl_service_workers(s->rpc_workers ? *s->rpc_workers : 0);
		if (!(srv = cl_rpc_server_start_ops(*s->rpc_listen, workers, &table, ctx, err, errlen)))
			return 1;
	}
	if (!(h = cl_health_start(*s->health_listen, reg, s->ready, s->metrics_hook, s->ctx, err, errlen)))
		goto out;
	if (s->start && (rc = s->start(s->ctx, err, errlen)) != 0)
		goto out;
	if (s->run) {
		rc = s->run(s->ctx);
	} else {
		cl_daemon_wait();
		rc = 0;
	}
	cl_log(CL_LOG_INFO, NULL, "stop", NULL);
	if (s->stop)
		s->stop(s->ctx);
out:
	cl_rpc_server_stop(srv);
	cl_health_stop(h);
	return rc;
}

int cl_service_main(int argc, char **argv, const struct cl_service *s)
{
	cl_config_main(argc, argv, s->prog, s->summary, s->settings, s->nsettings);
	char err[512] = "";
	int rc = s->check ? s->check(s->ctx, err, sizeof err) : 0;
	if (rc != 0) {
		fprintf(stderr, "%s: bad setting: %s\n", s->prog, err);
		cl_config_free(s->settings, s->nsettings);
		return rc;
	}
	if (cl_service_begin(s->prog, s->name, *s->log_level) < 0) {
		cl_config_free(s->settings, s->nsettings);
		return 1;
	}
	struct cl_metrics *reg = cl_metrics_new();
	if (!reg) {
		fprintf(stderr, "%s: out of memory\n", s->prog);
		cl_config_free(s->settings, s->nsettings);
		return 1;
	}
	rc = s->setup ? s->setup(s->ctx, reg, err, sizeof err) : 0;
	if (rc == 0) {
		int once = s->oneshot ? s->oneshot(s->ctx) : -1;
		rc = once >= 0 ? once : serve(s, reg, err, sizeof err);
	}
	if (rc != 0 && err[0])
		fprintf(stderr, "%s: %s\n", s->prog, err);
	if (s->teardown)
		s->teardown(s->ctx);
	cl_metrics_free(reg);
	cl_config_free(s->settings, s->nsettings);
	return rc;
}
