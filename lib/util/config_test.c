/* config_test.c - settings from the environment: defaults, bounds, booleans, host:port. */
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
