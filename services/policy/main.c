/* main.c - clement-policy: per-client statistics from the logs, bans, and the trusted mesh.
 *
 * This first version only runs the service frame (settings, /healthz, /metrics, clean
 * SIGTERM); the statistics and the mesh are issue #7. */
#include <stdio.h>
#include <stdlib.h>

#include "util/config.h"
#include "util/daemon.h"
#include "util/health.h"
#include "util/log.h"
#include "util/metrics.h"

struct svc_config {
	char *health_listen;
	char *db_url;
	char *log_level;
	long long interval_s;
};

int main(int argc, char **argv)
{
	struct svc_config cfg = {0};
	const struct cl_setting settings[] = {
		{"CLEMENT_POLICY_HEALTH_LISTEN", CL_SET_STR, "0.0.0.0:9102", 0, 0,
		 "address of the /healthz and /metrics HTTP endpoint", &cfg.health_listen},
		{"CLEMENT_DB_URL", CL_SET_STR, "postgresql:///clement", 0, 0,
		 "PostgreSQL connection string (URL or key=value)", &cfg.db_url},
		{"CLEMENT_BANSTATS_INTERVAL_S", CL_SET_INT, "300", 10, 86400,
		 "seconds between two statistics runs", &cfg.interval_s},
		{"CLEMENT_LOG_LEVEL", CL_SET_STR, "info", 0, 0, "lowest log level written: debug, info, warn, error",
		 &cfg.log_level},
	};
	cl_config_main(argc, argv, "clement-policy",
		       "Computes per-client statistics from Clement's logs, bans abusive servers and "
		       "shares bans with trusted mesh peers.",
		       settings, CL_SETTINGS_COUNT(settings));
	int lvl = cl_log_level_parse(cfg.log_level);
	if (lvl < 0) {
		fprintf(stderr, "clement-policy: bad setting: CLEMENT_LOG_LEVEL: must be debug, info, warn or error\n");
		return 2;
	}
	cl_log_init("policy", (enum cl_log_level)lvl);
	if (cl_daemon_signals_init() < 0) {
		fprintf(stderr, "clement-policy: cannot set up signal handling\n");
		return 1;
	}
	struct cl_metrics *reg = cl_metrics_new();
	cl_metrics_counter(reg, "clement_policy_placeholder_total", "statistics runs completed", "");
	char err[256];
	struct cl_health *h = cl_health_start(cfg.health_listen, reg, NULL, NULL, NULL, err, sizeof err);
	if (!h) {
		fprintf(stderr, "clement-policy: %s\n", err);
		return 1;
	}
	cl_log(CL_LOG_INFO, NULL, "start", "health=%s", cfg.health_listen);
	cl_daemon_wait();
	cl_log(CL_LOG_INFO, NULL, "stop", NULL);
	cl_health_stop(h);
	cl_metrics_free(reg);
	cl_config_free(settings, CL_SETTINGS_COUNT(settings));
	return 0;
}
