/* metrics.c - every metric of clement-banstats, registered once before any thread starts.
 * See banstats.h. */
#include "banstats.h"

void banstats_metrics_register(struct cl_metrics *reg, struct banstats_metrics *m)
{
	m->runs = cl_metrics_counter(reg, "clement_banstats_runs_total", "statistics runs completed", "");
	m->run_failures = cl_metrics_counter(reg, "clement_banstats_run_failures_total", "statistics runs failed", "");
	m->run_seconds = cl_metrics_histogram(reg, "clement_banstats_run_seconds", "duration of a statistics run", "");
	const char *h = "records listed or lifted by the statistics runs";
	m->new_candidates = cl_metrics_counter(reg, "clement_banstats_listed_total", h, "status=\"candidate\"");
	m->new_bans = cl_metrics_counter(reg, "clement_banstats_listed_total", h, "status=\"banned\"");
	m->lifted = cl_metrics_counter(reg, "clement_banstats_listed_total", h, "status=\"lifted\"");
	h = "mesh records received over RPC, by outcome";
	m->rec_stored = cl_metrics_counter(reg, "clement_banstats_mesh_records_total", h, "result=\"stored\"");
	m->rec_ignored = cl_metrics_counter(reg, "clement_banstats_mesh_records_total", h, "result=\"ignored\"");
	m->rec_refused = cl_metrics_counter(reg, "clement_banstats_mesh_records_total", h, "result=\"refused\"");
	m->rec_tempfail = cl_metrics_counter(reg, "clement_banstats_mesh_records_total", h, "result=\"tempfail\"");
	m->pushed = cl_metrics_counter(reg, "clement_banstats_mesh_pushed_total", "records pushed to peers", "");
	m->push_failures =
	    cl_metrics_counter(reg, "clement_banstats_mesh_push_failures_total", "push rounds failed per peer", "");
}
