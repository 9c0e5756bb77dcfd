/* metrics.c - every series of clement-policy, registered once before any thread runs.
 * See metrics.h. */
#include "metrics.h"

#include <stdio.h>

#include "handler.h"
#include "policy.h"

void pol_metrics_register(struct cl_metrics *reg, struct policy_metrics *m)
{
	static const char *ops[OP_NDECIDE] = {"connect", "helo", "mail", "rcpt", "auth"};
	static const char *acts[3] = {"accept", "reject", "defer"};
	static const char *probe_res[3] = {"exists", "no_such_user", "tempfail"};
	char l[128];
	for (int o = 0; o < OP_NDECIDE; o++)
		for (int a = 0; a < 3; a++) {
			snprintf(l, sizeof l, "op=\"%s\",verdict=\"%s\"", ops[o], acts[a]);
			m->decisions[o][a] =
			    cl_metrics_counter(reg, "clement_policy_decisions_total", "decisions by op and verdict", l);
		}
	m->latency = cl_metrics_histogram(reg, "clement_policy_decision_seconds", "time to decide one request", "");
	m->reloads = cl_metrics_counter(reg, "clement_policy_cache_reloads_total", "cache snapshots loaded", "");
	m->reload_errors = cl_metrics_counter(reg, "clement_policy_cache_errors_total",
					      "failed cache loads and LISTEN connection attempts", "");
	m->log_written = cl_metrics_counter(reg, "clement_policy_log_rows_written_total", "log rows written", "");
	m->log_dropped =
	    cl_metrics_counter(reg, "clement_policy_log_dropped_total",
			       "log rows dropped (queue full: oldest first; or refused by the database)", "");
	m->db_errors = cl_metrics_counter(reg, "clement_policy_db_errors_total", "failed log batch writes", "");
	for (int i = 0; i < 3; i++) {
		snprintf(l, sizeof l, "result=\"%s\"", probe_res[i]);
		m->probes[i] =
		    cl_metrics_counter(reg, "clement_policy_probes_total", "RCPT probes to downstream MTAs", l);
	}
	for (int i = 0; i < 3; i++) { /* one family's series must be contiguous in the exposition */
		snprintf(l, sizeof l, "result=\"%s\"", cl_imap_result_name((enum cl_imap_result)i));
		m->imap_logins[i] = cl_metrics_counter(reg, "clement_policy_imap_logins_total", "IMAP logins", l);
	}
	m->probe_hits =
	    cl_metrics_counter(reg, "clement_policy_probe_cache_hits_total", "probe answers from cache", "");
	m->bad_requests =
	    cl_metrics_counter(reg, "clement_policy_bad_requests_total", "requests refused as malformed", "");
	static const char *rep_acts[3] = {"ignore", "enforce", "drop"};
	for (int i = 0; i < 3; i++) {
		char rl[48];
		snprintf(rl, sizeof rl, "action=\"%s\"", rep_acts[i]);
		m->rep_refused[i] =
		    cl_metrics_counter(reg, "clement_policy_reputation_refusals_total",
				       "connections (drop) or recipients (enforce) refused on reputation", rl);
	}
	for (int i = 0; i < PR_NREFUSAL; i++) {
		snprintf(l, sizeof l, "reason=\"%s\"", pol_refusal_names[i]);
		m->refusals[i] = cl_metrics_counter(reg, "clement_policy_refusals_total", "refusals by reason", l);
	}
}
