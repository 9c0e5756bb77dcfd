/* clamav-floor.c - what libclamav itself costs per message, outside any service: CPU per scan
 * of a 10 KB single-part message (smtp-source's shape) with Clement's scan options, and without
 * the mail parser (CL_SCAN_PARSE_MAIL off), which writes each MIME part to a file in the
 * scratch directory and scans that file. Prints one line per mode. Used by bench/clamav-floor;
 * docs/PERFORMANCE.md, "Where the scanner's floor is".
 *
 *   clamav-floor SIGDIR SCRATCH N */
#include <clamav.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static double cpu_now(void)
{
	struct rusage r;
	getrusage(RUSAGE_SELF, &r);
	return (double)r.ru_utime.tv_sec + (double)r.ru_utime.tv_usec / 1e6 + (double)r.ru_stime.tv_sec +
	       (double)r.ru_stime.tv_usec / 1e6;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: clamav-floor SIGDIR SCRATCH N\n");
		return 2;
	}
	int n = atoi(argv[3]);
	unsigned sigs = 0;
	struct cl_engine *e = NULL;
	if (cl_init(CL_INIT_DEFAULT) != CL_SUCCESS || !(e = cl_engine_new()) ||
	    cl_engine_set_str(e, CL_ENGINE_TMPDIR, argv[2]) != CL_SUCCESS ||
	    cl_load(argv[1], e, &sigs, CL_DB_STDOPT) != CL_SUCCESS || cl_engine_compile(e) != CL_SUCCESS) {
		fprintf(stderr, "clamav-floor: cannot load the signatures in %s\n", argv[1]);
		return 1;
	}
	static char msg[10240 + 200];
	int len = snprintf(msg, sizeof msg,
			   "Received: from client.example\r\nFrom: <a@example.com>\r\nTo: <b@example.org>\r\n"
			   "Message-Id: <0000000@client.example>\r\nSubject: floor\r\n\r\n");
	while (len < 10240 - 84)
		len += snprintf(msg + len, sizeof msg - (size_t)len, "%.80s\r\n",
				"La De Da La De Da La De Da La De Da La De Da La De Da La De Da La De Da La De Da La");
	for (int mode = 0; mode < 2; mode++) {
		struct cl_scan_options o;
		memset(&o, 0, sizeof o);
		o.general = CL_SCAN_GENERAL_HEURISTICS;
		o.parse = ~0u; /* as services/scanner/scan.c */
		o.heuristic = CL_SCAN_HEURISTIC_EXCEEDS_MAX;
		if (mode == 1)
			o.parse &= ~(unsigned)CL_SCAN_PARSE_MAIL;
		double t0 = cpu_now();
		for (int i = 0; i < n; i++) {
			char id[12]; /* every message differs, as real mail does */
			snprintf(id, sizeof id, "%07d", i % 10000000);
			memcpy(strstr(msg, "<0") + 1, id, 7);
			cl_fmap_t *m = cl_fmap_open_memory(msg, (size_t)len);
			const char *v = NULL;
			unsigned long scanned = 0;
			cl_error_t rc = cl_scanmap_callback(m, NULL, &v, &scanned, e, &o, NULL);
			cl_fmap_close(m);
			if (rc != CL_CLEAN) {
				fprintf(stderr, "clamav-floor: scan %d: %s\n", i, cl_strerror(rc));
				return 1;
			}
		}
		printf("%-28s %.3f ms CPU per 10 KB message (%d scans)\n",
		       mode ? "without the mail parser:" : "Clement's options:", (cpu_now() - t0) * 1000.0 / n, n);
	}
	cl_engine_free(e);
	return 0;
}
