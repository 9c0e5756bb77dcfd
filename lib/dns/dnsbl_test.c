/* dnsbl_test.c - the postscreen_dnsbl_sites parser and the answer filter, table-driven. */
#include "dns/dnsbl.h"

#include <string.h>

#include "util/test.h"

static struct cl_dnsbl_sites sites;

static void test_parse(void)
{
	static const struct {
		const char *text;
		int ok;
		size_t n;
	} t[] = {
	    {"", 1, 0},
	    {"zen.spamhaus.org", 1, 1},
	    {"zen.spamhaus.org*3, b.barracudacentral.org*2 swl.spamhaus.org*-4", 1, 3},
	    {"list.dnswl.org=127.0.[0..255].[0..255]*-2,list.dnswl.org=127.0.[0..255].0*-1", 1, 2},
	    {"bl.example=127.0.0.2;127.0.0.4*2", 1, 1},
	    {"bl.example=127.0.0.[2;4;10..11]", 1, 1},
	    {"  bl.example ,\n wl.example*-5  ", 1, 2},
	    {"bl.example=", 0, 0},
	    {"bl.example=127.0.0", 0, 0},
	    {"bl.example=127.0.0.256", 0, 0},
	    {"bl.example=127.0.0.[5..2]", 0, 0},
	    {"bl.example=127.0.0.[2", 0, 0},
	    {"bl.example=127.0.0.2;", 0, 0},
	    {"bl.example*", 0, 0},
	    {"bl.example*x", 0, 0},
	    {"bl.example*3x", 0, 0},
	    {"bl.example*99999", 0, 0},
	    {"*3", 0, 0},
	    {"=127.0.0.2", 0, 0},
	    {"bl..example", 0, 0},
	    {".bl.example", 0, 0},
	    {"bl.exa/mple", 0, 0},
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		char err[200] = "";
		int rc = cl_dnsbl_parse(t[i].text, &sites, err, sizeof err);
		CL_CHECK((rc == 0) == t[i].ok, "\"%s\": %s", t[i].text, err);
		CL_CHECK(rc < 0 || sites.n == t[i].n, "\"%s\": %zu sites", t[i].text, sites.n);
		CL_CHECK(rc == 0 || err[0], "\"%s\" refused without a reason", t[i].text);
	}
	cl_dnsbl_parse("zen.spamhaus.org*3, swl.spamhaus.org*-4, bl.example", &sites, NULL, 0);
	CL_CHECK(sites.site[0].weight == 3 && sites.site[1].weight == -4 && sites.site[2].weight == 1, "weights");
}

static void test_match(void)
{
	static const struct {
		const char *site, *answer;
		enum cl_dnsbl_result want;
	} t[] = {
	    {"bl.example", "127.0.0.2", CL_DNSBL_MATCH},
	    {"bl.example", "127.0.0.10", CL_DNSBL_MATCH},
	    {"bl.example", "127.255.255.254", CL_DNSBL_ERROR},
	    {"bl.example", "127.255.255.252", CL_DNSBL_ERROR},
	    {"bl.example", "192.0.2.1", CL_DNSBL_ERROR},
	    {"bl.example", "garbage", CL_DNSBL_ERROR},
	    {"bl.example=127.0.0.[2..11]", "127.0.0.11", CL_DNSBL_MATCH},
	    {"bl.example=127.0.0.[2..11]", "127.0.0.12", CL_DNSBL_NO_MATCH},
	    {"bl.example=127.0.0.[2..11]", "127.255.255.254", CL_DNSBL_ERROR},
	    {"bl.example=127.[0..255].255.[0..255]", "127.255.255.254", CL_DNSBL_ERROR},
	    {"bl.example=127.0.0.2;127.0.0.4", "127.0.0.4", CL_DNSBL_MATCH},
	    {"bl.example=127.0.0.2;127.0.0.4", "127.0.0.3", CL_DNSBL_NO_MATCH},
	    {"bl.example=127.0.0.[2;4]", "127.0.0.4", CL_DNSBL_MATCH},
	    {"bl.example=127.0.0.[2;4]", "127.0.0.3", CL_DNSBL_NO_MATCH},
	    {"wl.example=127.0.[0..255].[1..3]*-2", "127.0.9.3", CL_DNSBL_MATCH},
	    {"wl.example=127.0.[0..255].[1..3]*-2", "127.0.9.0", CL_DNSBL_NO_MATCH},
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		char err[200] = "";
		CL_CHECK(cl_dnsbl_parse(t[i].site, &sites, err, sizeof err) == 0 && sites.n == 1, "%s: %s", t[i].site,
			 err);
		CL_CHECK(cl_dnsbl_match(&sites.site[0], t[i].answer) == t[i].want, "%s %s", t[i].site, t[i].answer);
	}
}

/* test_keys - a DQS key stays in the query zone and out of the name and of errors. */
static void test_keys(void)
{
	const char *key = "abcdefghij0123456789klmnop";
	char err[300] = "";
	CL_CHECK(cl_dnsbl_parse("abcdefghij0123456789klmnop.zen.dq.spamhaus.net=127.0.0.[2..11]*3, zen.spamhaus.org*2",
				&sites, err, sizeof err) == 0,
		 "%s", err);
	CL_CHECK(strcmp(sites.site[0].zone, "abcdefghij0123456789klmnop.zen.dq.spamhaus.net") == 0, "%s",
		 sites.site[0].zone);
	CL_CHECK(strcmp(sites.site[0].name, "zen.dq.spamhaus.net") == 0, "%s", sites.site[0].name);
	CL_CHECK(strcmp(sites.site[1].name, "zen.spamhaus.org") == 0, "%s", sites.site[1].name);
	CL_CHECK(cl_dnsbl_parse("abcdefghij0123456789klmnop.zen.dq.spamhaus.net=127.0.0.[2..x]", &sites, err,
				sizeof err) < 0 &&
		     !strstr(err, key) && strstr(err, "zen.dq.spamhaus.net"),
		 "%s", err);
	CL_CHECK(cl_dnsbl_parse("abcdefghij0123456789klmnop.zen.dq.spamhaus.net*z", &sites, err, sizeof err) < 0 &&
		     !strstr(err, key),
		 "%s", err);
	/* short first labels are not keys */
	cl_dnsbl_parse("b.barracudacentral.org, dnsbl-1.uceprotect.net", &sites, err, sizeof err);
	CL_CHECK(strcmp(sites.site[0].name, "b.barracudacentral.org") == 0, "%s", sites.site[0].name);
	CL_CHECK(strcmp(sites.site[1].name, "dnsbl-1.uceprotect.net") == 0, "%s", sites.site[1].name);
}

int main(void)
{
	test_parse();
	test_match();
	test_keys();
	return CL_TEST_END();
}
