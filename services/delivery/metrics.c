/* metrics.c - every series of clement-delivery, registered once before any thread runs.
 * See dconf.h. */
#include <stdio.h>

#include "dconf.h"
#include "relay.h"

void dl_metrics_register(struct cl_metrics *reg, struct dl_metrics *m)
{
	static const char *const modes[] = {"local", "relay", "outbound", "quarantine"};
	static const char *const outs[] = {"ok", "tempfail", "permfail"};
	static const char *const errs[] = {"",          "connect", "timeout",  "reply_4xx",
					   "reply_5xx", "tls",     "protocol", "dns"};
	char l[96];
	for (int i = 0; i < DL_MODE_COUNT; i++) {
		for (int j = 0; j < DL_OUT_COUNT; j++) {
			snprintf(l, sizeof l, "mode=\"%s\",outcome=\"%s\"", modes[i], outs[j]);
			m->deliveries[i][j] = cl_metrics_counter(reg, "clement_delivery_deliveries_total",
								 "deliveries by mode and outcome", l);
		}
		snprintf(l, sizeof l, "mode=\"%s\"", modes[i]);
		m->latency[i] = cl_metrics_histogram(reg, "clement_delivery_latency_seconds",
						     "time to make one transaction safe, by mode", l);
	}
	m->fsync =
	    cl_metrics_histogram(reg, "clement_delivery_fsync_seconds", "Maildir fsync time (file and new/)", "");
	_Static_assert(sizeof errs / sizeof errs[0] == DL_RELAY_NERR, "a label per enum dl_relay_err");
	_Static_assert(sizeof m->downstream_err / sizeof m->downstream_err[0] == DL_RELAY_NERR, "a series per kind");
	for (int i = 1; i < DL_RELAY_NERR; i++) {
		snprintf(l, sizeof l, "kind=\"%s\"", errs[i]);
		m->downstream_err[i] = cl_metrics_counter(reg, "clement_delivery_downstream_errors_total",
							  "failed downstream SMTP transactions by kind", l);
	}
	m->q_stored = cl_metrics_counter(reg, "clement_delivery_quarantine_stored_total", "quarantine rows stored", "");
	m->q_released =
	    cl_metrics_counter(reg, "clement_delivery_quarantine_released_total", "quarantined messages released", "");
	m->q_deleted =
	    cl_metrics_counter(reg, "clement_delivery_quarantine_deleted_total", "quarantined messages deleted", "");
	m->q_purged =
	    cl_metrics_counter(reg, "clement_delivery_quarantine_purged_total", "expired quarantine rows purged", "");
	m->digests_sent = cl_metrics_counter(reg, "clement_delivery_digests_sent_total", "quarantine digests sent", "");
	m->digest_errors =
	    cl_metrics_counter(reg, "clement_delivery_digest_errors_total", "digests that could not be delivered", "");
	m->tmp_cleaned =
	    cl_metrics_counter(reg, "clement_delivery_tmp_cleaned_total", "stale Maildir tmp/ files removed", "");
	const char *lh = "messages taught to Rspamd on release (ham) or delete (spam), by result";
	m->learn_ok = cl_metrics_counter(reg, "clement_delivery_rspamd_learn_total", lh, "result=\"ok\"");
	m->learn_failed = cl_metrics_counter(reg, "clement_delivery_rspamd_learn_total", lh, "result=\"failed\"");
	const char *dh = "outbound messages DKIM-signed with their From domain's active key, by result"
			 " (not_allowed: the login may not send as that domain, so unsigned)";
	m->dkim_signed = cl_metrics_counter(reg, "clement_delivery_dkim_total", dh, "result=\"signed\"");
	m->dkim_failed = cl_metrics_counter(reg, "clement_delivery_dkim_total", dh, "result=\"failed\"");
	m->dkim_refused = cl_metrics_counter(reg, "clement_delivery_dkim_total", dh, "result=\"not_allowed\"");
}
