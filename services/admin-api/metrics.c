/* metrics.c - every series of clement-admin-api, registered once in app->reg before the HTTP
 * server starts. See api.h. */
#include "api.h"

void api_metrics_register(struct api_app *app)
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
