/* content_test.c - Rspamd's answer read (rspamd_parse) and the content verdict made of it
 * (content_decide), table-driven, without a socket. */
#include <stdio.h>
#include <string.h>

#include "content.h"
#include "rspamd.h"
#include "util/test.h"

/* A /checkv2 answer as Rspamd 3.4 writes it, with action, score and the symbols given. */
static void answer(char *out, size_t outlen, const char *action, double score, const char *symbols)
{
	snprintf(out, outlen,
		 "{\"is_skipped\":false,\"score\":%.2f,\"required_score\":15,\"action\":\"%s\",\"symbols\":{%s}}",
		 score, action, symbols);
}

static const char SPF_FAIL_DMARC_REJECT[] =
    "\"R_SPF_FAIL\":{\"name\":\"R_SPF_FAIL\",\"score\":1.0,\"description\":\"SPF verification failed\","
    "\"options\":[\"-all:c\"]},"
    "\"DMARC_POLICY_REJECT\":{\"name\":\"DMARC_POLICY_REJECT\",\"score\":2.0,\"description\":\"DMARC reject policy\","
    "\"options\":[\"forged.test : No valid SPF, No valid DKIM\",\"reject\"]},"
    "\"R_DKIM_NA\":{\"name\":\"R_DKIM_NA\",\"score\":0,\"description\":\"Missing DKIM signature\"},"
    "\"VIOLATED_DIRECT_SPF\":{\"name\":\"VIOLATED_DIRECT_SPF\",\"score\":3.5,\"description\":\"Has no Received\"}";

static const char ALL_PASS[] = "\"R_SPF_ALLOW\":{\"score\":-0.2,\"options\":[\"+ip4:192.0.2.10\"]},"
			       "\"R_DKIM_ALLOW\":{\"score\":-0.2,\"options\":[\"aligned.test:s=sel\"]},"
			       "\"DMARC_POLICY_ALLOW\":{\"score\":-0.5,\"options\":[\"aligned.test\",\"reject\"]}";

static const struct {
	const char *action;
	double score;
	const char *symbols;
	struct cl_content_policy pol;
	enum content_action want;
	int code;
	const char *text_has;
	const char *cls;
} cases[] = {
    {"no action", 0.5, "", {.has_reject = 0}, CA_ACCEPT, 250, "", NULL},
    {"reject",
     15,
     "\"GTUBE\":{\"score\":0}",
     {.has_reject = 0},
     CA_REJECT,
     550,
     "Message refused as spam (score 15.00)",
     "spam"},
    {"add header", 7, SPF_FAIL_DMARC_REJECT, {.has_reject = 0}, CA_TAG, 250, "Tagged as spam", "spam"},
    {"add header",
     7,
     SPF_FAIL_DMARC_REJECT,
     {.dmarc_reject = 1},
     CA_REJECT,
     550,
     "forged.test publishes DMARC p=reject",
     "dmarc"},
    {"add header",
     7,
     SPF_FAIL_DMARC_REJECT,
     {.quarantine = 6, .has_quarantine = 1},
     CA_QUARANTINE,
     250,
     "Held as spam (score 7.00): Has no Received; DMARC reject policy; SPF verification failed",
     "spam"},
    {"add header", 7, SPF_FAIL_DMARC_REJECT, {.reject = 6.5, .has_reject = 1}, CA_REJECT, 550, "score 7.00", "spam"},
    {"no action", 3, "", {.tag = 2.5, .has_tag = 1}, CA_TAG, 250, "Tagged", "spam"},
    {"add header", 7, "", {.tag = 8, .has_tag = 1}, CA_ACCEPT, 250, "", NULL}, /* the group's tag score rules */
    {"soft reject", 5, "", {.has_reject = 0}, CA_DEFER, 451, "Try again later", "greylist"},
    {"greylist", 4.5, "", {.has_reject = 0}, CA_ACCEPT, 250, "", NULL}, /* the greylist module has acted already */
    {"rewrite subject", 9, "", {.has_reject = 0}, CA_TAG, 250, "Tagged", "spam"},
};

static void test_decisions(void)
{
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char json[4000];
		struct rspamd_result r;
		struct content_verdict v;
		answer(json, sizeof json, cases[i].action, cases[i].score, cases[i].symbols);
		CL_CHECK(rspamd_parse(json, strlen(json), "a@forged.test", &r) == 0, "case %zu parses", i);
		content_decide(&r, &cases[i].pol, 0, "mx.test", &v);
		CL_CHECK(
		    v.action == cases[i].want && v.code == cases[i].code && strstr(v.text, cases[i].text_has) &&
			(cases[i].cls ? v.reason_class && strcmp(v.reason_class, cases[i].cls) == 0 : !v.reason_class),
		    "case %zu: action %d code %d text \"%s\"", i, (int)v.action, v.code, v.text);
		int tagged = strstr(v.headers, "X-Spam-Flag: YES\r\n") != NULL;
		CL_CHECK(tagged == (v.action == CA_TAG || v.action == CA_QUARANTINE), "case %zu: X-Spam-* headers", i);
		CL_CHECK((v.action == CA_REJECT || v.action == CA_DEFER) ==
			     !strstr(v.headers, "Authentication-Results"),
			 "case %zu: A-R on what is delivered", i);
	}
}

static void test_auth_results(void)
{
	char json[4000], ar[700];
	struct rspamd_result r;
	answer(json, sizeof json, "no action", -0.9, ALL_PASS);
	CL_CHECK(rspamd_parse(json, strlen(json), "news@aligned.test", &r) == 0, "all pass parses");
	CL_CHECK(rspamd_auth_results(&r, "mx.test", ar, sizeof ar) == 0 &&
		     strcmp(ar, "Authentication-Results: mx.test;\r\n\tdkim=pass header.d=aligned.test;\r\n\tspf=pass "
				"smtp.mailfrom=news@aligned.test;\r\n\tdmarc=pass header.from=aligned.test\r\n") == 0,
		 "RFC 8601 field: %s", ar);
	answer(json, sizeof json, "add header", 7, SPF_FAIL_DMARC_REJECT);
	rspamd_parse(json, strlen(json), "x@forged.test", &r);
	rspamd_auth_results(&r, "mx.test", ar, sizeof ar);
	CL_CHECK(strstr(ar, "dkim=none") && strstr(ar, "spf=fail smtp.mailfrom=x@forged.test") &&
		     strstr(ar, "dmarc=fail header.from=forged.test") && r.dmarc_reject,
		 "failures: %s", ar);
	answer(json, sizeof json, "no action", 0, "");
	rspamd_parse(json, strlen(json), "", &r);
	rspamd_auth_results(&r, "mx.test", ar, sizeof ar);
	CL_CHECK(strcmp(ar, "Authentication-Results: mx.test; none\r\n") == 0, "no method: %s", ar);
	/* What a sender controls (the envelope, a DKIM d= option) never breaks the field. */
	answer(json, sizeof json, "no action", 0,
	       "\"R_DKIM_ALLOW\":{\"score\":0,\"options\":[\"evil.test;\\r\\nX-Injected: 1\"]}");
	rspamd_parse(json, strlen(json), "a;b\r\nX: y@z", &r);
	rspamd_auth_results(&r, "mx.test", ar, sizeof ar);
	CL_CHECK(!strstr(ar, "X-Injected") && !strstr(ar, "\r\nX: ") && strstr(ar, "header.d=evil.test\r\n"),
		 "sanitised: %s", ar);
}

static void test_failures(void)
{
	static const char *const bad[] = {
	    "",
	    "not json!",
	    "[]",
	    "{\"score\":1}",
	    "{\"action\":\"explode\",\"score\":1}",
	    "{\"action\":\"reject\",\"score\":\"15\"}",
	    "{\"action\":\"reject\",\"score\":15,\"symbols\":[]}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct rspamd_result r;
		CL_CHECK(rspamd_parse(bad[i], strlen(bad[i]), "", &r) == -1 && r.status == RSPAMD_ERROR,
			 "garbage %zu is an error", i);
		struct content_verdict v;
		struct cl_content_policy p = {.has_reject = 0};
		content_decide(&r, &p, 0, "mx.test", &v);
		CL_CHECK(v.action == CA_DEFER && v.code == 451 && strcmp(v.enh, "4.3.0") == 0, "fail closed %zu", i);
		content_decide(&r, &p, 1, "mx.test", &v);
		CL_CHECK(v.action == CA_ACCEPT && v.unscanned && !v.headers[0], "fail open %zu", i);
	}
	struct rspamd_result off = {.status = RSPAMD_OFF};
	struct content_verdict v;
	struct cl_content_policy p = {.dmarc_reject = 1};
	content_decide(&off, &p, 0, "mx.test", &v);
	CL_CHECK(v.action == CA_ACCEPT && !v.headers[0], "Rspamd off: nothing changes");
}

/* test_unsigned - held spam that no DKIM signature vouches for is refused, unless the group
 * chose its own reject score; signed spam stays held; nothing else changes. */
static void test_unsigned(void)
{
	static const struct {
		const char *symbols;
		struct cl_content_policy pol;
		double score;
		int changed;
	} c[] = {
	    {SPF_FAIL_DMARC_REJECT, {.quarantine = 6, .has_quarantine = 1}, 8, 1},
	    {"", {.quarantine = 6, .has_quarantine = 1}, 8, 1},       /* no DKIM result at all */
	    {ALL_PASS, {.quarantine = 6, .has_quarantine = 1}, 8, 0}, /* signed: held */
	    {SPF_FAIL_DMARC_REJECT, {.quarantine = 6, .has_quarantine = 1, .reject = 12, .has_reject = 1}, 8, 0},
	    {SPF_FAIL_DMARC_REJECT, {.quarantine = 6, .has_quarantine = 1}, 5, 0}, /* under the score: accepted */
	    {SPF_FAIL_DMARC_REJECT, {.has_reject = 0}, 8, 0},                      /* tagged, not held */
	};
	for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
		char json[4000];
		struct rspamd_result r;
		struct content_verdict v;
		answer(json, sizeof json, "add header", c[i].score, c[i].symbols);
		CL_CHECK(rspamd_parse(json, strlen(json), "a@forged.test", &r) == 0, "parse %zu", i);
		content_decide(&r, &c[i].pol, 0, "mx.test", &v);
		enum content_action before = v.action;
		int changed = content_refuse_unsigned(&r, &c[i].pol, &v);
		CL_CHECK(changed == c[i].changed, "case %zu: changed %d", i, changed);
		if (changed)
			CL_CHECK(before == CA_QUARANTINE && v.action == CA_REJECT && v.code == 550 &&
				     strcmp(v.enh, "5.7.1") == 0 && strstr(v.text, "not DKIM-signed") && !v.headers[0],
				 "case %zu: %d %s %s", i, v.code, v.enh, v.text);
		else
			CL_CHECK(v.action == before, "case %zu unchanged", i);
	}
	struct rspamd_result err = {.status = RSPAMD_ERROR};
	struct content_verdict v = {.action = CA_QUARANTINE};
	struct cl_content_policy p = {.quarantine = 6, .has_quarantine = 1};
	CL_CHECK(content_refuse_unsigned(&err, &p, &v) == 0, "no Rspamd answer: nothing to judge");
}

static void test_settings(void)
{
	char s[200];
	struct cl_content_policy p = {.has_reject = 0};
	content_settings(&p, s, sizeof s);
	CL_CHECK(s[0] == '\0', "no scores, no Settings");
	p = (struct cl_content_policy){.reject = 12, .has_reject = 1, .tag = 4.5, .has_tag = 1};
	content_settings(&p, s, sizeof s);
	CL_CHECK(strcmp(s, "{\"actions\":{\"reject\":12.00,\"add header\":4.50}}") == 0, "settings %s", s);
}

int main(void)
{
	test_decisions();
	test_auth_results();
	test_failures();
	test_unsigned();
	test_settings();
	return CL_TEST_END();
}
