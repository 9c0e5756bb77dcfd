/* metrics_test.c - histogram buckets and sums as /metrics renders them. */
#include <string.h>

#include "util/buf.h"
#include "util/metrics.h"
#include "util/test.h"

/* line_has - the rendered text has this exact line. */
static int line_has(const struct cl_buf *b, const char *line)
{
	size_t n = strlen(line);
	for (const char *p = b->data; p && *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		if (len == n && memcmp(p, line, n) == 0)
			return 1;
		p = nl ? nl + 1 : NULL;
	}
	return 0;
}

int main(void)
{
	struct cl_metrics *m = cl_metrics_new();
	struct cl_metric *h = cl_metrics_histogram(m, "t_seconds", "test", "");
	CL_CHECK(m && h, "registered");
	if (!m || !h)
		return CL_TEST_END();
	/* Sub-millisecond observations (an in-process decision, a loopback RPC) land in their own
	 * buckets instead of all under 0.5 ms. */
	cl_metric_observe(h, 0.000002);
	cl_metric_observe(h, 0.000030);
	cl_metric_observe(h, 0.000200);
	cl_metric_observe(h, 0.003);
	cl_metric_observe(h, 30);
	struct cl_buf b;
	cl_buf_init(&b, 1 << 16);
	CL_CHECK(cl_metrics_render(m, &b) == 0, "rendered");
	CL_CHECK(line_has(&b, "t_seconds_bucket{le=\"1e-05\"} 1"), "2 us under 10 us:\n%s", b.data);
	CL_CHECK(line_has(&b, "t_seconds_bucket{le=\"2.5e-05\"} 1"), "30 us not under 25 us");
	CL_CHECK(line_has(&b, "t_seconds_bucket{le=\"5e-05\"} 2"), "30 us under 50 us");
	CL_CHECK(line_has(&b, "t_seconds_bucket{le=\"0.00025\"} 3"), "200 us under 250 us");
	CL_CHECK(line_has(&b, "t_seconds_bucket{le=\"0.005\"} 4"), "3 ms under 5 ms");
	CL_CHECK(line_has(&b, "t_seconds_bucket{le=\"10\"} 4"), "30 s not under 10 s");
	CL_CHECK(line_has(&b, "t_seconds_bucket{le=\"+Inf\"} 5"), "+Inf counts all");
	CL_CHECK(line_has(&b, "t_seconds_count 5"), "count");
	/* The sum keeps microsecond fractions (2 us + 30 us + 200 us + 3 ms + 30 s). */
	CL_CHECK(line_has(&b, "t_seconds_sum 30.003232000"), "sum exact to the nanosecond");
	CL_CHECK(cl_metric_quantile(h, 0.5) == 0.00025, "median bound %g", cl_metric_quantile(h, 0.5));
	cl_buf_free(&b);
	cl_metrics_free(m);
	return CL_TEST_END();
}
