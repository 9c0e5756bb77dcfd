/* engine_test.c - unit tests of the engine slot, the directory fingerprint and the scan
 * verdicts, with a real libclamav engine built from a temporary signature directory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scanner.h"
#include "util/test.h"

/* The EICAR string in two halves, so this source file is not itself detected. */
#define EICAR_A "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTI"
#define EICAR_B "VIRUS-TEST-FILE!$H+H*"

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

/* hex_sig - an .ndb line "name:0:*:<hex of s>". */
static void ndb_line(char *out, size_t outlen, const char *name, const char *s)
{
	size_t n = (size_t)snprintf(out, outlen, "%s:0:*:", name);
	for (; *s && n + 3 < outlen; s++)
		n += (size_t)snprintf(out + n, outlen - n, "%02x", (unsigned char)*s);
	snprintf(out + n, outlen - n, "\n");
}

static void test_fingerprint(const char *dir)
{
	uint64_t a = 0, b = 0, c = 0;
	CL_CHECK(db_fingerprint(dir, &a) == 0, "fingerprint of %s", dir);
	CL_CHECK(db_fingerprint(dir, &b) == 0 && a == b, "unchanged directory, same fingerprint");
	write_file(dir, ".hidden.tmp", "x");
	CL_CHECK(db_fingerprint(dir, &b) == 0 && a == b, "hidden temporary files are ignored");
	write_file(dir, "extra.ndb", "Extra.Sig:0:*:414243444546474849\n");
	CL_CHECK(db_fingerprint(dir, &c) == 0 && c != a, "a new file changes the fingerprint");
	char path[512];
	snprintf(path, sizeof path, "%s/extra.ndb", dir);
	unlink(path);
	snprintf(path, sizeof path, "%s/.hidden.tmp", dir);
	unlink(path);
	CL_CHECK(db_fingerprint(dir, &c) == 0 && c == a, "removing it restores the fingerprint");
	uint64_t d;
	CL_CHECK(db_fingerprint("/nonexistent/clement", &d) == -1, "missing directory fails");
}

static void test_scans(struct scanner *s)
{
	static const struct {
		const char *msg;
		enum scan_verdict v;
		const char *sig_prefix;
	} cases[] = {
	    {"Subject: hi\r\n\r\nhello\r\n", SCAN_CLEAN, NULL},
	    {"Subject: hi\r\n\r\n" EICAR_A EICAR_B "\r\n", SCAN_INFECTED, "Eicar-Test-Signature"},
	    {"Subject: t\r\n\r\nxx UNIT-TEST-PATTERN-123 yy\r\n", SCAN_INFECTED, "Unit.Test.Pattern"},
	    {"", SCAN_CLEAN, NULL},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct scan_result r;
		scanner_scan(s, (const unsigned char *)cases[i].msg, strlen(cases[i].msg), &r);
		CL_CHECK(r.verdict == cases[i].v, "case %zu: verdict %d", i, r.verdict);
		if (cases[i].sig_prefix)
			CL_CHECK(strncmp(r.signature, cases[i].sig_prefix, strlen(cases[i].sig_prefix)) == 0,
				 "case %zu: signature %s", i, r.signature);
	}
}

static void test_limits(struct scanner *s, struct scanner_config *cfg)
{
	size_t n = 4096;
	unsigned char *big = malloc(n);
	memset(big, 'a', n);
	memcpy(big, EICAR_A EICAR_B, strlen(EICAR_A EICAR_B));
	cfg->limits.max_scan_size = 2048;
	struct scan_result r;
	scanner_scan(s, big + 100, n - 100, &r);
	CL_CHECK(r.verdict == SCAN_INFECTED && r.limit_hit &&
		     strcmp(r.signature, "Heuristics.Limits.Exceeded.MaxScanSize") == 0,
		 "refuse: over the limit is infected (%d %s)", r.verdict, r.signature);
	s->limit_refuse = 0;
	scanner_scan(s, big + 100, n - 100, &r);
	CL_CHECK(r.verdict == SCAN_CLEAN && r.limit_hit, "accept: over the limit is clean (%d)", r.verdict);
	scanner_scan(s, big, n, &r);
	CL_CHECK(r.verdict == SCAN_INFECTED && strncmp(r.signature, "Eicar", 5) == 0,
		 "accept: the head is still scanned (%d %s)", r.verdict, r.signature);
	s->limit_refuse = 1;
	cfg->limits.max_scan_size = 1 << 20;
	free(big);
}

static void test_swap(struct scanner *s, const struct scanner_config *cfg)
{
	CL_CHECK(scanner_reload_once(s, 0) == 0, "no change, no reload");
	CL_CHECK(scanner_reload_once(s, 1) == 1, "forced reload swaps");
	struct scan_engine *inflight = engine_slot_acquire(&s->slot); /* a scan in flight */
	CL_CHECK(inflight != NULL, "an engine is loaded");
	struct scan_engine *fresh = NULL;
	char err[300];
	CL_CHECK(engine_load(cfg->db_dir, &cfg->limits, &fresh, err, sizeof err) == 0, "load: %s", err);
	struct scan_engine *old = engine_slot_swap(&s->slot, fresh);
	CL_CHECK(old == inflight && atomic_load(&old->refs) == 2, "the swap hands back the old engine");
	struct scan_engine *cur = engine_slot_acquire(&s->slot);
	CL_CHECK(cur == fresh, "the new engine is current");
	/* The scan in flight still finishes on the old engine. */
	struct scan_result r;
	const char *m = "Subject: t\r\n\r\nUNIT-TEST-PATTERN-123\r\n";
	scanner_scan(s, (const unsigned char *)m, strlen(m), &r);
	CL_CHECK(r.verdict == SCAN_INFECTED, "scans go on during the swap");
	engine_release(inflight);
	engine_retire(old); /* returns at once: ours is the last reference */
	engine_release(cur);
}

int main(void)
{
	char dir[] = "/tmp/clement-scanner-test.XXXXXX";
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	char line[512], sigs[1024];
	ndb_line(line, sizeof line, "Eicar-Test-Signature", EICAR_A EICAR_B);
	cl_strlcpy(sigs, line, sizeof sigs);
	ndb_line(line, sizeof line, "Unit.Test.Pattern", "UNIT-TEST-PATTERN-123");
	strncat(sigs, line, sizeof sigs - strlen(sigs) - 1);
	write_file(dir, "unit.ndb", sigs);

	char err[300];
	struct scanner_config cfg = {0};
	cfg.db_dir = dir;
	cfg.limit_action = "refuse";
	cfg.reload_s = 1;
	cfg.limits = (struct scan_limits){1 << 20, 1 << 20, 100, 10, 10000, ""};
	struct cl_metrics *reg = cl_metrics_new();
	struct scanner s;
	CL_CHECK(engine_lib_init(err, sizeof err) == 0, "cl_init: %s", err);
	CL_CHECK(scanner_init(&s, &cfg, reg, err, sizeof err) == 0, "init: %s", err);
	struct scan_result r;
	scanner_scan(&s, (const unsigned char *)"x", 1, &r);
	CL_CHECK(r.verdict == SCAN_ERROR, "no engine yet: error verdict");
	CL_CHECK(scanner_reload_once(&s, 0) == 1, "first load");
	test_scans(&s);
	test_limits(&s, &cfg);
	test_swap(&s, &cfg);
	test_fingerprint(dir);
	write_file(dir, "broken.ndb", "this is not a signature\n");
	CL_CHECK(scanner_reload_once(&s, 0) == -1, "a broken file fails the load");
	scanner_scan(&s, (const unsigned char *)"Subject: t\r\n\r\nUNIT-TEST-PATTERN-123\r\n", 36, &r);
	CL_CHECK(r.verdict == SCAN_INFECTED, "the previous engine stays in use");
	scanner_fini(&s);
	cl_metrics_free(reg);
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
	return CL_TEST_END();
}
