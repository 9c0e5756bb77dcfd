/* verdict_test.c - verdicts from JSON: consistent replies accepted, inconsistent ones turned
 * into the fail-closed 451. */
#include <stdio.h>
#include <string.h>

#include "mail/verdict.h"
#include "util/test.h"

static int parse(const char *json, struct cl_verdict *v)
{
	cJSON *o = cJSON_Parse(json);
	int rc = cl_verdict_from_json(o, v);
	cJSON_Delete(o);
	return rc;
}

int main(void)
{
	struct cl_verdict v;
	static const struct {
		const char *json;
		int ok;
	} cases[] = {
	    {"{\"action\":\"accept\",\"code\":250,\"enh\":\"2.1.5\",\"text\":\"ok\"}", 1},
	    {"{\"action\":\"reject\",\"code\":550,\"enh\":\"5.1.1\",\"text\":\"<b@x.test>: no such user\"}", 1},
	    {"{\"action\":\"defer\",\"code\":451,\"enh\":\"4.3.0\",\"text\":\"later\"}", 1},
	    {"{\"action\":\"accept\",\"code\":220,\"enh\":\"\",\"text\":\"hi\"}", 1},
	    {"{\"action\":\"accept\",\"code\":550,\"enh\":\"5.1.1\",\"text\":\"x\"}", 0}, /* accept with 5xx */
	    {"{\"action\":\"reject\",\"code\":250,\"enh\":\"2.0.0\",\"text\":\"x\"}", 0},
	    {"{\"action\":\"reject\",\"code\":550,\"enh\":\"4.1.1\",\"text\":\"x\"}", 0}, /* class mismatch */
	    {"{\"action\":\"reject\",\"code\":550,\"enh\":\"5.x.1\",\"text\":\"x\"}", 0},
	    {"{\"action\":\"maybe\",\"code\":250,\"enh\":\"2.0.0\",\"text\":\"x\"}", 0},
	    {"{\"action\":\"accept\",\"code\":250,\"enh\":\"2.0.0\"}", 0},
	    {"{\"action\":\"accept\",\"code\":\"250\",\"enh\":\"2.0.0\",\"text\":\"x\"}", 0},
	    {"{\"action\":\"accept\",\"code\":999,\"enh\":\"2.0.0\",\"text\":\"x\"}", 0},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int rc = parse(cases[i].json, &v);
		CL_CHECK((rc == 0) == cases[i].ok, "case %zu: %s", i, cases[i].json);
		if (!cases[i].ok)
			CL_CHECK(v.code == 451 && v.action == CL_DEFER && strcmp(v.enh, "4.3.0") == 0,
				 "case %zu falls back to 451 4.3.0", i);
	}
	CL_CHECK(parse("{\"action\":\"reject\",\"code\":550,\"enh\":\"5.7.1\",\"text\":\"a\\r\\nb\"}", &v) == 0 &&
		     strchr(v.text, '\r') == NULL && strchr(v.text, '\n') == NULL,
		 "CR/LF never reach the reply text");

	struct cl_route rt = {.mode = CL_ROUTE_RELAY,
			      .group_id = 7,
			      .domain_id = 8,
			      .user_id = 9,
			      .quarantine = 1,
			      .content = {.reject = 12.5, .has_reject = 1, .tag = 4, .has_tag = 1, .dmarc_reject = 1}},
			back;
	cJSON *o = cJSON_CreateObject();
	CL_CHECK(cl_route_to_json(&rt, o) == 0 && cl_route_from_json(o, &back) == 0, "route round trip");
	CL_CHECK(back.mode == CL_ROUTE_RELAY && back.group_id == 7 && back.domain_id == 8 && back.user_id == 9 &&
		     back.quarantine == 1,
		 "route fields");
	CL_CHECK(back.content.has_reject && back.content.reject == 12.5 && back.content.has_tag &&
		     back.content.tag == 4 && !back.content.has_quarantine && back.content.dmarc_reject,
		 "the group's content policy travels with the route (unset scores stay unset)");
	cJSON_Delete(o);
	/* A route without "content" (or with scores out of range) has no thresholds. */
	o = cJSON_Parse("{\"route\":{\"mode\":\"local\",\"group_id\":1,\"content\":{\"reject\":1e9,\"tag\":\"5\"}}}");
	CL_CHECK(o && cl_route_from_json(o, &back) == 0 && !back.content.has_reject && !back.content.has_tag &&
		     !back.content.dmarc_reject,
		 "bad scores are not thresholds");
	cJSON_Delete(o);

	/* Why a copy is held travels with the route (policy -> smtp-edge -> delivery); an unknown
	 * reason is still held, just without one. */
	for (int h = CL_HOLD_YES; h <= CL_HOLD_DOMAIN_DEFAULT; h++) {
		struct cl_route held = {
		    .mode = CL_ROUTE_LOCAL, .group_id = 1, .domain_id = 2, .user_id = 3, .quarantine = h};
		o = cJSON_CreateObject();
		CL_CHECK(cl_route_to_json(&held, o) == 0 && cl_route_from_json(o, &back) == 0 && back.quarantine == h,
			 "held_by %d round trip", h);
		cJSON_Delete(o);
	}
	o = cJSON_Parse("{\"route\":{\"mode\":\"local\",\"quarantine\":true,\"held_by\":\"whim\"}}");
	CL_CHECK(cl_route_from_json(o, &back) == 0 && back.quarantine == CL_HOLD_YES,
		 "unknown held_by: held, no reason");
	cJSON_Delete(o);
	o = cJSON_Parse("{\"route\":{\"mode\":\"local\",\"quarantine\":false,\"held_by\":\"user_rule\"}}");
	CL_CHECK(cl_route_from_json(o, &back) == 0 && back.quarantine == CL_HOLD_NO, "held_by without quarantine");
	cJSON_Delete(o);

	/* The user's quota travels with the route when policy knows it (0 = no quota is known
	 * too); absent or not a whole number from 0 up, delivery looks it up itself. */
	struct cl_route qr = {.mode = CL_ROUTE_LOCAL, .group_id = 1, .user_id = 3, .quota_known = 1, .quota_bytes = 0};
	o = cJSON_CreateObject();
	CL_CHECK(cl_route_to_json(&qr, o) == 0 && cl_route_from_json(o, &back) == 0 && back.quota_known &&
		     back.quota_bytes == 0,
		 "a known quota of 0 (none) round trip");
	cJSON_Delete(o);
	qr.quota_bytes = 5000000000LL;
	o = cJSON_CreateObject();
	CL_CHECK(cl_route_to_json(&qr, o) == 0 && cl_route_from_json(o, &back) == 0 && back.quota_known &&
		     back.quota_bytes == 5000000000LL,
		 "a quota over 32 bits round trip");
	cJSON_Delete(o);
	qr.quota_known = 0;
	o = cJSON_CreateObject();
	CL_CHECK(cl_route_to_json(&qr, o) == 0 &&
		     !cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItem(o, "route"), "quota_bytes") &&
		     cl_route_from_json(o, &back) == 0 && !back.quota_known,
		 "an unknown quota is not sent, and is unknown at the other end");
	cJSON_Delete(o);
	static const char *const bad_quotas[] = {"-1", "1.5", "\"100\"", "true", "1e300", "null"};
	for (size_t i = 0; i < sizeof bad_quotas / sizeof *bad_quotas; i++) {
		char js[160];
		snprintf(js, sizeof js, "{\"route\":{\"mode\":\"local\",\"user_id\":3,\"quota_bytes\":%s}}",
			 bad_quotas[i]);
		o = cJSON_Parse(js);
		CL_CHECK(o && cl_route_from_json(o, &back) == 0 && !back.quota_known, "quota_bytes %s is not a quota",
			 bad_quotas[i]);
		cJSON_Delete(o);
	}
	CL_CHECK(strcmp(cl_hold_str(CL_HOLD_DOMAIN_DEFAULT), "domain_default") == 0 &&
		     cl_hold_str(CL_HOLD_YES)[0] == 0 && cl_hold_str(99)[0] == 0,
		 "hold names");
	return CL_TEST_END();
}
