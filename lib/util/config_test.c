/* config_test.c - settings from the environment: defaults, bounds, booleans, durations with
 * units, rules between settings (CL_REQUIRES, CL_TOGETHER), host:port. */
#include <stdlib.h>
#include <string.h>

#include "util/cidr.h"
#include "util/config.h"
#include "util/log.h"
#include "util/test.h"

int main(void)
{
	char *s = NULL;
	long long n = 0;
	int b = 0;
	const struct cl_setting set[] = {
	    {"CLEMENT_T_STR", CL_SET_STR, "dflt", 0, 0, "a string", &s},
	    {"CLEMENT_T_INT", CL_SET_INT, "5", 1, 10, "an int", &n},
	    {"CLEMENT_T_BOOL", CL_SET_BOOL, "off", 0, 0, "a bool", &b},
	};
	char err[256];
	unsetenv("CLEMENT_T_STR");
	CL_CHECK(cl_config_load(set, 3, err, sizeof err) == 0 && strcmp(s, "dflt") == 0 && n == 5 && b == 0,
		 "defaults: %s", err);
	cl_config_free(set, 3);
	setenv("CLEMENT_T_STR", "x", 1);
	setenv("CLEMENT_T_INT", "10", 1);
	setenv("CLEMENT_T_BOOL", "Yes", 1);
	CL_CHECK(cl_config_load(set, 3, err, sizeof err) == 0 && strcmp(s, "x") == 0 && n == 10 && b == 1, "values");
	cl_config_free(set, 3);
	static const char *bad_ints[] = {"11", "0", "abc", "5x", "", "99999999999999999999"};
	for (size_t i = 0; i < 6; i++) {
		setenv("CLEMENT_T_INT", bad_ints[i], 1);
		CL_CHECK(cl_config_load(set, 3, err, sizeof err) == -1 && strstr(err, "CLEMENT_T_INT"),
			 "bad int \"%s\" refused naming the variable", bad_ints[i]);
		cl_config_free(set, 3);
	}
	setenv("CLEMENT_T_INT", "3", 1);
	setenv("CLEMENT_T_BOOL", "maybe", 1);
	CL_CHECK(cl_config_load(set, 3, err, sizeof err) == -1 && strstr(err, "CLEMENT_T_BOOL"), "bad bool refused");
	cl_config_free(set, 3);

	char *lvl = NULL;
	const struct cl_setting lset[] = {
	    {"CLEMENT_T_STR", CL_SET_STR, "dflt", 0, 0, "a string", &s},
	    CL_SETTING_LOG_LEVEL(&lvl),
	};
	setenv("CLEMENT_LOG_LEVEL", "loud", 1);
	CL_CHECK(cl_config_load(lset, 2, err, sizeof err) == -1 && strstr(err, "CLEMENT_LOG_LEVEL") && s == NULL,
		 "unknown log level refused, nothing left allocated");
	setenv("CLEMENT_LOG_LEVEL", "warn", 1);
	CL_CHECK(cl_config_load(lset, 2, err, sizeof err) == 0 && strcmp(lvl, "warn") == 0, "log level");
	cl_config_free(lset, 2);

	/* CL_SET_CHOICE: one of its words, exactly; the refusal lists them; --help shows them. */
	char *mode = NULL;
	const struct cl_setting cset[] = {
	    {"CLEMENT_T_MODE", CL_SET_CHOICE, "enforce", 0, 0, "a mode", CL_CHOICE(&mode, "ignore|enforce|drop")},
	};
	const char *bad[] = {"", "enforc", "enforcee", "Drop", "ignore|drop"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		setenv("CLEMENT_T_MODE", bad[i], 1);
		CL_CHECK(cl_config_load(cset, 1, err, sizeof err) == -1 && mode == NULL &&
			     strstr(err, "CLEMENT_T_MODE: must be one of ignore, enforce, drop"),
			 "choice \"%s\" refused: %s", bad[i], err);
	}
	const char *good[] = {"ignore", "enforce", "drop"};
	for (size_t i = 0; i < 3; i++) {
		setenv("CLEMENT_T_MODE", good[i], 1);
		CL_CHECK(cl_config_load(cset, 1, err, sizeof err) == 0 && strcmp(mode, good[i]) == 0, "choice %s",
			 good[i]);
		cl_config_free(cset, 1);
	}
	unsetenv("CLEMENT_T_MODE");
	CL_CHECK(cl_config_load(cset, 1, err, sizeof err) == 0 && strcmp(mode, "enforce") == 0, "choice default");
	cl_config_free(cset, 1);
	char help[512] = "";
	FILE *f = fmemopen(help, sizeof help - 1, "w");
	if (f) {
		cl_config_usage(f, "t", "test", cset, 1);
		fclose(f);
	}
	CL_CHECK(strstr(help, "one of: ignore, enforce, drop") != NULL, "--help lists the choices: %s", help);

	/* CL_SET_NETS: the text and the parsed networks; a bad network refused with the grammar's
	 * own message; cl_config_free frees both (ASan: no leak). */
	char *nets = NULL;
	struct cl_netset ns = {0};
	const struct cl_setting nset[] = {
	    {"CLEMENT_T_NETS", CL_SET_NETS, "127.0.0.0/8", 0, 0, "networks", CL_NETS(&nets, &ns)},
	};
	setenv("CLEMENT_T_NETS", "192.0.2.0/24, 2001:db8::1", 1);
	struct cl_ip a;
	int ok = cl_config_load(nset, 1, err, sizeof err) == 0;
	CL_CHECK(ok && ns.n == 2 && strcmp(nets, "192.0.2.0/24, 2001:db8::1") == 0 &&
		     cl_ip_parse("192.0.2.7", &a) == 0 && cl_netset_find(&ns, &a, NULL, NULL) >= 0,
		 "networks parsed: %s", err);
	if (ok)
		cl_config_free(nset, 1);
	CL_CHECK(ns.n == 0 && !nets, "freed");
	setenv("CLEMENT_T_NETS", "10.0.0.1/8", 1);
	CL_CHECK(cl_config_load(nset, 1, err, sizeof err) == -1 && strstr(err, "CLEMENT_T_NETS") && !nets && ns.n == 0,
		 "host bits refused: %s", err);
	unsetenv("CLEMENT_T_NETS");

	/* CL_SET_DURATION: a plain number in the row's unit, or a number with a unit; whole numbers
	 * of the row's unit only; bounds in the row's unit, shown with units. */
	static const struct {
		long long unit_ms;
		const char *v;
		long long want;  /* -1: refused */
		const char *why; /* in the refusal */
	} durs[] = {
	    {1000, "90", 90, NULL},
	    {1000, "90s", 90, NULL},
	    {1000, "5m", 300, NULL},
	    {1000, "2h", 7200, NULL},
	    {1000, "1d", 86400, NULL},
	    {1000, "2000ms", 2, NULL},
	    {1000, "1", 1, NULL},
	    {1000, "250ms", -1, "CLEMENT_T_DUR: 250ms is not a whole number of seconds"},
	    {1000, "5x", -1, "CLEMENT_T_DUR: 5x is not a duration (use 30s, 5m, 2h)"},
	    {1000, "", -1, "is not a duration"},
	    {1000, "s", -1, "is not a duration"},
	    {1000, "-5s", -1, "is not a duration"},
	    {1000, " 5s", -1, "is not a duration"},
	    {1000, "5 s", -1, "is not a duration"},
	    {1000, "5S", -1, "is not a duration"},
	    {1000, "1.5h", -1, "is not a duration"},
	    {1000, "99999999999999999999", -1, "is not a duration"},
	    {1000, "9999999999999999d", -1, "is not a duration"},
	    {1000, "0", -1, "CLEMENT_T_DUR: 0 is out of range: 1s..1d (a plain number counts seconds)"},
	    {1000, "2d", -1, "CLEMENT_T_DUR: 2d is out of range: 1s..1d"},
	    {1000, "86401", -1, "out of range: 1s..1d"},
	    {1, "250", 250, NULL},
	    {1, "250ms", 250, NULL},
	    {1, "30s", 30000, NULL},
	    {1, "1m", 60000, NULL},
	    {1, "1d", -1, "CLEMENT_T_DUR: 1d is out of range: 1ms..1m (a plain number counts milliseconds)"},
	    {1, "5x", -1, "CLEMENT_T_DUR: 5x is not a duration (use 250ms, 30s, 5m)"},
	};
	for (size_t i = 0; i < sizeof durs / sizeof durs[0]; i++) {
		long long d = -7;
		int sec = durs[i].unit_ms == 1000;
		const struct cl_setting dset[] = {
		    {"CLEMENT_T_DUR", CL_SET_DURATION, "5", 1, sec ? 86400 : 60000, "a duration",
		     sec ? CL_SECONDS(&d) : CL_MILLIS(&d)},
		};
		setenv("CLEMENT_T_DUR", durs[i].v, 1);
		err[0] = '\0';
		int rc = cl_config_load(dset, 1, err, sizeof err);
		if (durs[i].want >= 0)
			CL_CHECK(rc == 0 && d == durs[i].want, "duration \"%s\" in %s: got %lld (%s)", durs[i].v,
				 sec ? "s" : "ms", d, err);
		else
			CL_CHECK(rc == -1 && d == -7 && strstr(err, durs[i].why), "duration \"%s\" refused: %s",
				 durs[i].v, err);
	}
	unsetenv("CLEMENT_T_DUR");
	static const struct {
		long long v, unit_ms;
		const char *want;
	} fmts[] = {{86400, 1000, "1d"}, {90, 1000, "90s"},   {129600, 1000, "36h"}, {0, 1000, "0s"},
		    {0, 1, "0ms"},       {1500, 1, "1500ms"}, {600000, 1, "10m"},    {31536000, 1000, "365d"}};
	for (size_t i = 0; i < sizeof fmts / sizeof fmts[0]; i++) {
		char out[32];
		CL_CHECK(strcmp(cl_format_duration(fmts[i].v, fmts[i].unit_ms, out, sizeof out), fmts[i].want) == 0,
			 "format %lld: %s", fmts[i].v, out);
	}
	long long dsec = 0;
	const struct cl_setting hset[] = {
	    {"CLEMENT_T_DUR", CL_SET_DURATION, "300", 1, 86400, "a duration", CL_SECONDS(&dsec)},
	};
	CL_CHECK(cl_config_load(hset, 1, err, sizeof err) == 0 && dsec == 300, "duration default: %s", err);
	char dhelp[512] = "", dmd[512] = "";
	FILE *hf = fmemopen(dhelp, sizeof dhelp - 1, "w");
	if (hf) {
		cl_config_usage(hf, "t", "test", hset, 1);
		fclose(hf);
	}
	CL_CHECK(strstr(dhelp, "default: 300  range: 1s..1d") && strstr(dhelp, "a plain number counts seconds"),
		 "--help shows the unit: %s", dhelp);
	hf = fmemopen(dmd, sizeof dmd - 1, "w");
	if (hf) {
		cl_config_markdown(hf, "t", hset, 1);
		fclose(hf);
	}
	CL_CHECK(strcmp(dmd, "| `CLEMENT_T_DUR` | t | `300` | a duration (seconds, 1s..1d) |\n") == 0, "README row: %s",
		 dmd);

	/* Rules: CL_REQUIRES one way, CL_TOGETHER both; "set" after the default; the rule rows
	 * are no settings of their own (not in --help, not in the README). */
	char *ra = NULL, *rb = NULL;
	int rflag = 0;
	long long rdur = 0;
	const struct cl_setting rset[] = {
	    {"CLEMENT_T_CERT", CL_SET_STR, "", 0, 0, "cert", &ra},
	    {"CLEMENT_T_KEY", CL_SET_STR, "", 0, 0, "key", &rb},
	    {"CLEMENT_T_FLAG", CL_SET_BOOL, "0", 0, 0, "flag", &rflag},
	    {"CLEMENT_T_DUR", CL_SET_DURATION, "0", 0, 60, "wait", CL_SECONDS(&rdur)},
	    CL_TOGETHER("CLEMENT_T_CERT", "CLEMENT_T_KEY"),
	    CL_REQUIRES("CLEMENT_T_FLAG", "CLEMENT_T_CERT"),
	    CL_REQUIRES("CLEMENT_T_DUR", "CLEMENT_T_FLAG"),
	};
	static const struct {
		const char *cert, *key, *flag, *dur;
		const char *why; /* NULL: accepted */
	} rules[] = {
	    {NULL, NULL, NULL, NULL, NULL},
	    {"c.pem", "k.pem", NULL, NULL, NULL},
	    {"c.pem", "k.pem", "yes", "5s", NULL},
	    {"", "", "off", "0", NULL},
	    {"c.pem", NULL, NULL, NULL,
	     "CLEMENT_T_CERT and CLEMENT_T_KEY go together: set both or neither (CLEMENT_T_KEY is not set)"},
	    {NULL, "k.pem", NULL, NULL,
	     "CLEMENT_T_CERT and CLEMENT_T_KEY go together: set both or neither (CLEMENT_T_CERT is not set)"},
	    {"c.pem", "", NULL, NULL, "go together"},
	    {NULL, NULL, "on", NULL, "CLEMENT_T_FLAG is set, so CLEMENT_T_CERT must be set too"},
	    {NULL, NULL, NULL, "1m", "CLEMENT_T_DUR is set, so CLEMENT_T_FLAG must be set too"},
	};
	const char *rnames[] = {"CLEMENT_T_CERT", "CLEMENT_T_KEY", "CLEMENT_T_FLAG", "CLEMENT_T_DUR"};
	for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
		const char *vals[] = {rules[i].cert, rules[i].key, rules[i].flag, rules[i].dur};
		for (size_t k = 0; k < 4; k++) {
			if (vals[k])
				setenv(rnames[k], vals[k], 1);
			else
				unsetenv(rnames[k]);
		}
		err[0] = '\0';
		int rc = cl_config_load(rset, 7, err, sizeof err);
		if (!rules[i].why) {
			CL_CHECK(rc == 0, "rules case %zu accepted: %s", i, err);
			if (rc == 0)
				cl_config_free(rset, 7);
		} else {
			CL_CHECK(rc == -1 && strstr(err, rules[i].why) && !ra && !rb, "rules case %zu refused: %s", i,
				 err);
		}
	}
	for (size_t k = 0; k < 4; k++)
		unsetenv(rnames[k]);
	char rhelp[2048] = "", rmd[1024] = "";
	hf = fmemopen(rhelp, sizeof rhelp - 1, "w");
	if (hf) {
		cl_config_usage(hf, "t", "test", rset, 7);
		fclose(hf);
	}
	CL_CHECK(strstr(rhelp, "(set together with CLEMENT_T_KEY)") &&
		     strstr(rhelp, "(set together with CLEMENT_T_CERT)") && strstr(rhelp, "(requires CLEMENT_T_CERT)"),
		 "--help states the rules: %s", rhelp);
	hf = fmemopen(rmd, sizeof rmd - 1, "w");
	if (hf) {
		cl_config_markdown(hf, "t", rset, 7);
		fclose(hf);
	}
	size_t rows = 0;
	for (const char *p = rmd; (p = strchr(p, '\n')); p++)
		rows++;
	CL_CHECK(rows == 4 && strstr(rmd, "| cert (set together with CLEMENT_T_KEY) |") &&
		     strstr(rmd, "| wait (seconds, 0s..1m) (requires CLEMENT_T_FLAG) |"),
		 "README rows, none for the rules: %s", rmd);
	const struct cl_setting bad_rule[] = {
	    {"CLEMENT_T_CERT", CL_SET_STR, "", 0, 0, "cert", &ra},
	    CL_REQUIRES("CLEMENT_T_CERT", "CLEMENT_T_NOPE"),
	};
	CL_CHECK(cl_config_load(bad_rule, 2, err, sizeof err) == -1 && strstr(err, "CLEMENT_T_NOPE") && !ra,
		 "a rule naming no setting is refused: %s", err);

	char host[64];
	int port;
	CL_CHECK(cl_parse_hostport("127.0.0.1:25", host, sizeof host, &port) == 0 && strcmp(host, "127.0.0.1") == 0 &&
		     port == 25,
		 "v4");
	CL_CHECK(cl_parse_hostport("[::1]:587", host, sizeof host, &port) == 0 && strcmp(host, "::1") == 0 &&
		     port == 587,
		 "v6");
	CL_CHECK(cl_parse_hostport("nohost", host, sizeof host, &port) == -1, "no port");
	CL_CHECK(cl_parse_hostport("h:70000", host, sizeof host, &port) == -1, "port range");

	char q[32];
	CL_CHECK(strcmp(cl_log_escape(q, sizeof q, "a\"b\r\nc", 6), "\"a\\\"b\\x0d\\x0ac\"") == 0,
		 "escape quotes and CRLF: %s", q);
	CL_CHECK(strlen(cl_log_escape(q, sizeof q, "0123456789012345678901234567890123456789", 40)) < sizeof q,
		 "escape truncates to fit");
	return CL_TEST_END();
}
