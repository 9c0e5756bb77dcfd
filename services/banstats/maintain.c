/* maintain.c - the claim of a periodic job among replicas, and the log partition maintenance.
 *
 * job_claim: inside the caller's transaction, clement_job_claim() (db/migrations/0011_jobs.sql) says
 * whether this replica runs the job now: another replica holding it, or a run of the job less
 * than an interval ago, means no. So the statistics and the maintenance run once per
 * interval in total, however many replicas of banstats run and whatever their timers' phase.
 *
 * maintain_run: the monthly partitions of smtp_sessions and message_log (0002_logs.sql) from
 * last month to three months ahead are created, and those older than the retention dropped.
 * The retention is the settings table's log.retention_months when set (root's Global
 * settings, read at every run), else CLEMENT_LOG_RETENTION_MONTHS. banstats owns this job
 * because it is the stack's one scheduled batch service over the logs, already coordinated
 * through PostgreSQL, and the only reader of old logs (the statistics windows end at 7 days). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "banstats.h"
#include "util/buf.h"
#include "util/log.h"

int job_claim(struct cl_pg *pg, const struct banstats_config *cfg, const char *job, long long every_s, char *err,
	      size_t errlen)
{
	char every[24];
	cl_snprintf(every, sizeof every, "%lld", cfg->once ? 0 : every_s); /* ONCE: asked for a run now */
	const char *p[] = {job, every, cfg->instance};
	PGresult *r = cl_pg_exec_sql(pg, "SELECT clement_job_claim($1, $2::float8, $3)::int", 3, p, err, errlen);
	if (!r)
		return -1;
	int got = PQntuples(r) == 1 && atoi(PQgetvalue(r, 0, 0)) == 1;
	PQclear(r);
	return got;
}

int job_end(struct cl_pg *pg, int rc, char *err, size_t errlen)
{
	if (rc >= 0 && cl_pg_commit(pg, err, errlen) == 0)
		return rc;
	cl_pg_rollback(pg);
	return -1;
}

/* maintain_steps - the body of the transaction: 1 done (counts filled), 0 not ours, -1 error. */
static int maintain_steps(struct cl_pg *pg, const struct banstats_config *cfg, long long *created, long long *dropped,
			  long long *months, char *err, size_t errlen)
{
	int got = job_claim(pg, cfg, "log_partitions", cfg->maintenance_s, err, errlen);
	if (got <= 0)
		return got;
	char fallback[24];
	cl_snprintf(fallback, sizeof fallback, "%lld", cfg->retention_months);
	const char *p[] = {fallback};
	PGresult *r =
	    cl_pg_exec_sql(pg,
			   "WITH k AS (SELECT clement_setting_int('log.retention_months', $1::bigint)::int AS m)"
			   " SELECT clement_ensure_partitions(1, 3), clement_drop_partitions_before(k.m), k.m FROM k",
			   1, p, err, errlen);
	if (!r)
		return -1;
	*created = atoll(PQgetvalue(r, 0, 0));
	*dropped = atoll(PQgetvalue(r, 0, 1));
	*months = atoll(PQgetvalue(r, 0, 2));
	PQclear(r);
	return 1;
}

int maintain_run(struct cl_pg *pg, const struct banstats_config *cfg, char *err, size_t errlen)
{
	if (cl_pg_begin(pg, NULL, err, errlen) < 0)
		return -1;
	long long created = 0, dropped = 0, months = 0;
	int rc = job_end(pg, maintain_steps(pg, cfg, &created, &dropped, &months, err, errlen), err, errlen);
	if (rc < 0)
		return -1;
	if (rc == 0)
		cl_log(CL_LOG_DEBUG, NULL, "partitions_skipped", "why=\"run by another replica within the interval\"");
	else
		cl_log(CL_LOG_INFO, NULL, "partitions_run", "created=%lld dropped=%lld retention_months=%lld", created,
		       dropped, months);
	return 0;
}
