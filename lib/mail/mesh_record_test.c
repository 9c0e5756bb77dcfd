/* mesh_record_test.c - the XMESH record grammar: table of good and bad inputs, round trips
 * between the SMTP form and the JSON form. */
#include <string.h>

#include "mail/mesh_record.h"
#include "util/test.h"

struct bad_case {
	const char *args;
	const char *why; /* expected substring of the error */
};

static const struct bad_case bad[] = {
    {"", "empty record"},
    {"BLOCK 192.0.2.1 HOPS=0 ORIGIN=a.example", "BAN or LIFT"},
    {"BAN", "network missing"},
    {"BAN 192.0.2.300 EXPIRES=1 SCORE=1 HOPS=0 ORIGIN=a.example REASON=x", "not an IP address"},
    {"BAN 192.0.2.1/24 EXPIRES=1 SCORE=1 HOPS=0 ORIGIN=a.example REASON=x", "host bits"},
    {"BAN 192.0.2.0/33 EXPIRES=1 SCORE=1 HOPS=0 ORIGIN=a.example REASON=x", "prefix length"},
    {"BAN 2001:db8::/129 EXPIRES=1 SCORE=1 HOPS=0 ORIGIN=a.example REASON=x", "prefix length"},
    {"BAN 192.0.2.1 SCORE=1 HOPS=0 ORIGIN=a.example REASON=x", "EXPIRES missing"},
    {"BAN 192.0.2.1 EXPIRES=1 SCORE=1 HOPS=0 ORIGIN=a.example", "REASON missing"},
    {"BAN 192.0.2.1 EXPIRES=1 SCORE=1 HOPS=0 ORIGIN=a.example REASON=", "REASON: empty"},
    {"BAN 192.0.2.1 EXPIRES=-1 SCORE=1 HOPS=0 ORIGIN=a.example REASON=x", "EXPIRES"},
    {"BAN 192.0.2.1 EXPIRES=1 SCORE=1.2345 HOPS=0 ORIGIN=a.example REASON=x", "SCORE"},
    {"BAN 192.0.2.1 EXPIRES=1 SCORE=1000001 HOPS=0 ORIGIN=a.example REASON=x", "SCORE"},
    {"BAN 192.0.2.1 EXPIRES=1 SCORE=1 HOPS=17 ORIGIN=a.example REASON=x", "HOPS"},
    {"BAN 192.0.2.1 EXPIRES=1 SCORE=1 HOPS=0 HOPS=1 ORIGIN=a.example REASON=x", "twice"},
    {"BAN 192.0.2.1 EXPIRES=1 SCORE=1 HOPS=0 ORIGIN=-a.example REASON=x", "ORIGIN"},
    {"BAN 192.0.2.1 EXPIRES=1 SCORE=1 HOPS=0 ORIGIN=a..example REASON=x", "ORIGIN"},
    {"BAN 192.0.2.1 EXPIRES=1 SCORE=1 HOPS=0 ORIGIN=a_b.example REASON=x", "ORIGIN"},
    {"BAN 192.0.2.1 EXPIRES=1 SCORE=1 HOPS=0 ORIGIN=a.example REASON=a+0Db", "control"},
    {"BAN 192.0.2.1 EXPIRES=1 SCORE=1 HOPS=0 ORIGIN=a.example REASON=a+C3", "UTF-8"},
    /* RFC 3629 (util/utf8.h), as everywhere else: a surrogate, an overlong form, beyond U+10FFFF */
    {"BAN 192.0.2.1 EXPIRES=1 SCORE=1 HOPS=0 ORIGIN=a.example REASON=a+ED+A0+80", "UTF-8"},
    {"BAN 192.0.2.1 EXPIRES=1 SCORE=1 HOPS=0 ORIGIN=a.example REASON=a+E0+80+AF", "UTF-8"},
    {"BAN 192.0.2.1 EXPIRES=1 SCORE=1 HOPS=0 ORIGIN=a.example REASON=a+F4+90+80+80", "UTF-8"},
    {"BAN 192.0.2.1 EXPIRES=1 SCORE=1 HOPS=0 ORIGIN=a.example REASON=a+4", "xtext"},
    {"BAN 192.0.2.1 EXPIRES=1 SCORE=1 HOPS=0 ORIGIN=a.example COLOR=red", "unknown parameter"},
    {"BAN 192.0.2.1 EXPIRES=1 SCORE=1 HOPS=0 ORIGIN=a.example REASON", "without"},
    {"BAN  192.0.2.1 EXPIRES=1 SCORE=1 HOPS=0 ORIGIN=a.example REASON=x", "empty field"},
    {"BAN 192.0.2.1 EXPIRES=1 SCORE=1 HOPS=0 ORIGIN=a.example REASON=x ", "empty field"},
    {"BAN 192.0.2.1\tEXPIRES=1", "control character"},
    {"LIFT 192.0.2.1 HOPS=0", "ORIGIN missing"},
};

/* check_bad - every malformed input is refused with the expected reason. */
static void check_bad(void)
{
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct cl_mesh_record r;
		char err[128] = "";
		int rc = cl_mesh_record_parse(bad[i].args, strlen(bad[i].args), &r, err, sizeof err);
		CL_CHECK(rc == -1 && strstr(err, bad[i].why), "case %zu \"%s\": rc=%d err=\"%s\"", i, bad[i].args, rc,
			 err);
	}
	char longline[CL_MESH_LINE_MAX + 10];
	memset(longline, 'A', sizeof longline);
	struct cl_mesh_record r;
	char err[128];
	CL_CHECK(cl_mesh_record_parse(longline, sizeof longline, &r, err, sizeof err) == -1 && strstr(err, "too long"),
		 "overlong line refused");
}

/* check_good - parse, canonical fields, format, parse again, equal. */
static void check_good(void)
{
	const char *in = "ban 2001:DB8:0:0::/32 EXPIRES=1764115200 SCORE=55.5 hops=2 ORIGIN=MX1.Example.ORG "
			 "REASON=too+20many+20unknown+20recipients+2C+20100+25+2B+3D+20caf+C3+A9";
	struct cl_mesh_record r, r2;
	char err[128] = "", out[CL_MESH_LINE_MAX];
	CL_CHECK(cl_mesh_record_parse(in, strlen(in), &r, err, sizeof err) == 0, "good record: %s", err);
	CL_CHECK(r.action == CL_MESH_BAN && strcmp(r.network, "2001:db8::/32") == 0, "network canonical: %s",
		 r.network);
	CL_CHECK(strcmp(r.origin, "mx1.example.org") == 0 && r.hops == 2 && r.expires == 1764115200 && r.score == 55.5,
		 "fields");
	CL_CHECK(strcmp(r.reason, "too many unknown recipients, 100%+= caf\xc3\xa9") == 0, "reason decoded: %s",
		 r.reason);
	CL_CHECK(cl_mesh_record_format(&r, out, sizeof out) == 0, "format");
	CL_CHECK(strcmp(out, "BAN 2001:db8::/32 EXPIRES=1764115200 SCORE=55.5 HOPS=2 ORIGIN=mx1.example.org "
			     "REASON=too+20many+20unknown+20recipients,+20100%+2B+3D+20caf+C3+A9") == 0,
		 "formatted: %s", out);
	CL_CHECK(cl_mesh_record_parse(out, strlen(out), &r2, err, sizeof err) == 0 && memcmp(&r, &r2, sizeof r) == 0,
		 "round trip through the SMTP form: %s", err);

	cJSON *j = cl_mesh_record_to_json(&r);
	CL_CHECK(j && cl_mesh_record_from_json(j, &r2, err, sizeof err) == 0 && memcmp(&r, &r2, sizeof r) == 0,
		 "round trip through JSON: %s", err);
	cJSON_Delete(j);

	const char *lift = "LIFT 198.51.100.7 HOPS=0 ORIGIN=a.example";
	CL_CHECK(cl_mesh_record_parse(lift, strlen(lift), &r, err, sizeof err) == 0 && r.action == CL_MESH_LIFT &&
		     strcmp(r.network, "198.51.100.7/32") == 0,
		 "lift of a host: %s", err);
	CL_CHECK(cl_mesh_record_format(&r, out, sizeof out) == 0 &&
		     strcmp(out, "LIFT 198.51.100.7/32 HOPS=0 ORIGIN=a.example") == 0,
		 "lift formatted: %s", out);
	CL_CHECK(cl_mesh_record_format(&r, out, 10) == -1, "small output buffer refused");
}

/* check_json_bad - the JSON form has the same rules. */
static void check_json_bad(void)
{
	const char *cases[] = {
	    "[]",
	    "{\"action\":\"ban\",\"network\":\"192.0.2.1\",\"origin\":\"a.example\",\"hops\":0,\"score\":1,"
	    "\"expires\":5}",
	    "{\"action\":\"ban\",\"network\":\"192.0.2.1\",\"origin\":\"a.example\",\"hops\":0.5,\"score\":1,"
	    "\"expires\":5,\"reason\":\"x\"}",
	    "{\"action\":\"ban\",\"network\":\"10.0.0.1/8\",\"origin\":\"a.example\",\"hops\":0,\"score\":1,"
	    "\"expires\":5,\"reason\":\"x\"}",
	    "{\"action\":\"nuke\",\"network\":\"192.0.2.1\",\"origin\":\"a.example\",\"hops\":0}",
	    "{\"action\":\"lift\",\"network\":\"192.0.2.1\",\"origin\":\"a example\",\"hops\":0}",
	    "{\"action\":\"ban\",\"network\":\"192.0.2.1\",\"origin\":\"a.example\",\"hops\":0,\"score\":-1,"
	    "\"expires\":5,\"reason\":\"x\"}",
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		cJSON *j = cJSON_Parse(cases[i]);
		struct cl_mesh_record r;
		char err[128] = "";
		CL_CHECK(cl_mesh_record_from_json(j, &r, err, sizeof err) == -1 && err[0], "json case %zu refused", i);
		cJSON_Delete(j);
	}
}

int main(void)
{
	check_bad();
	check_good();
	check_json_bad();
	return CL_TEST_END();
}
