/* rpc_clients_test.c - the client stubs of policy, scanner and delivery: requests carry
 * the fields docs/RPC.md names, and replies never fail open. */
#include <stdio.h>
#include <string.h>

#include "mail/delivery_client.h"
#include "mail/policy_client.h"
#include "mail/scanner_client.h"
#include "rpc/frame.h"
#include "util/test.h"

/* reply - an nng message holding json as a frame. */
static nng_msg *reply(const char *json)
{
	nng_msg *m = NULL;
	cJSON *o = cJSON_Parse(json);
	if (o) {
		cl_frame_build(&m, o, NULL, 0);
		cJSON_Delete(o);
	} else {
		nng_msg_alloc(&m, 0);
		nng_msg_append(m, json, strlen(json));
	}
	return m;
}

/* header - the parsed header of a request (caller frees). */
static cJSON *header(nng_msg *m, size_t *blen)
{
	cJSON *h = NULL;
	const unsigned char *b;
	char err[64];
	if (cl_frame_parse(m, &h, &b, blen, err, sizeof err) < 0)
		return NULL;
	return h;
}

static void test_requests(void)
{
	struct cl_policy_session ps = {.sid = "S1", .ip = "192.0.2.1", .port = 4242, .listener = "smtp",
				       .helo = "mx.example", .tls = NULL, .auth_user = ""};
	nng_msg *m = NULL;
	size_t blen = 0;
	CL_CHECK(cl_policy_rcpt_req(&m, &ps, "a@b.example", "c@d.example") == 0, "rcpt req");
	cJSON *h = header(m, &blen);
	CL_CHECK(h && strcmp(cl_json_str(h, "op", ""), "rcpt") == 0 && cl_json_int(h, "v", 0) == 1 &&
			 strcmp(cl_json_str(h, "sid", ""), "S1") == 0 && cl_json_int(h, "port", 0) == 4242 &&
			 strcmp(cl_json_str(h, "rcpt", ""), "c@d.example") == 0 &&
			 strcmp(cl_json_str(h, "helo", ""), "mx.example") == 0 && !cJSON_GetObjectItem(h, "tls") &&
			 !cJSON_GetObjectItem(h, "auth_user"),
		 "rcpt fields");
	cJSON_Delete(h);
	nng_msg_free(m);

	struct cl_delivery_rcpt r = {.rcpt = "c@d.example", .route = {.mode = CL_ROUTE_LOCAL, .group_id = 7}};
	CL_CHECK(cl_delivery_deliver_req(&m, "S1", "M1", "192.0.2.1", "", NULL, &r, 1, NULL, "body", 4) == 0, "deliver");
	h = header(m, &blen);
	const cJSON *arr = h ? cJSON_GetObjectItem(h, "rcpts") : NULL;
	const cJSON *rt = cJSON_GetObjectItem(cJSON_GetArrayItem(arr, 0), "route");
	CL_CHECK(h && blen == 4 && cJSON_GetArraySize(arr) == 1 && cl_json_int(rt, "group_id", 0) == 7 &&
			 strcmp(cl_json_str(rt, "mode", ""), "local") == 0,
		 "deliver fields");
	cJSON_Delete(h);
	nng_msg_free(m);

	CL_CHECK(cl_delivery_release_req(&m, 42, 3) == 0, "release");
	h = header(m, &blen);
	CL_CHECK(h && strcmp(cl_json_str(h, "op", ""), "release") == 0 && cl_json_int(h, "quarantine_id", 0) == 42 &&
			 cl_json_int(h, "by_user_id", 0) == 3,
		 "release fields");
	cJSON_Delete(h);
	nng_msg_free(m);
}

struct reply_case {
	const char *json;
	int rc;
	int code;
	enum cl_route_mode mode;
};

static const struct reply_case policy_cases[] = {
	{"{\"v\":1,\"action\":\"accept\",\"code\":250,\"enh\":\"2.1.5\",\"text\":\"Ok\",\"route\":{\"mode\":\"relay\","
	 "\"group_id\":2}}",
	 0, 250, CL_ROUTE_RELAY},
	{"{\"v\":1,\"action\":\"reject\",\"code\":550,\"enh\":\"5.1.1\",\"text\":\"no such user\"}", 0, 550, CL_ROUTE_NONE},
	{"{\"v\":1,\"action\":\"accept\",\"code\":550,\"enh\":\"5.1.1\",\"text\":\"x\"}", -1, 451, CL_ROUTE_NONE},
	{"{\"v\":1,\"action\":\"accept\",\"code\":250,\"enh\":\"2.1.5\",\"text\":\"Ok\",\"route\":{\"mode\":\"moon\"}}",
	 -1, 451, CL_ROUTE_NONE},
	{"{\"v\":1,\"ok\":false,\"error\":\"bad frame\"}", -1, 451, CL_ROUTE_NONE},
	{"not json at all", -1, 451, CL_ROUTE_NONE},
};

static void test_replies(void)
{
	for (size_t i = 0; i < sizeof policy_cases / sizeof policy_cases[0]; i++) {
		const struct reply_case *c = &policy_cases[i];
		nng_msg *m = reply(c->json);
		struct cl_verdict v;
		struct cl_route rt;
		char user[64];
		int rc = cl_policy_verdict_reply(m, &v, &rt, user, sizeof user);
		CL_CHECK(rc == c->rc && v.code == c->code && rt.mode == c->mode, "policy case %zu: rc %d code %d", i, rc,
			 v.code);
		nng_msg_free(m);
	}
	struct cl_verdict v;
	CL_CHECK(cl_policy_verdict_reply(NULL, &v, NULL, NULL, 0) == -1 && v.code == 451, "no reply is 451");
	char sig[32];
	nng_msg *m = reply("{\"v\":1,\"verdict\":\"infected\",\"signature\":\"Evil\\r\\nInjected: yes\"}");
	CL_CHECK(cl_scanner_scan_reply(m, sig, sizeof sig, NULL) == CL_SCAN_INFECTED && !strchr(sig, '\r') && !strchr(sig, ' '),
		 "signature sanitised: %s", sig);
	nng_msg_free(m);
	m = reply("{\"v\":1,\"verdict\":\"maybe\"}");
	CL_CHECK(cl_scanner_scan_reply(m, sig, sizeof sig, NULL) == CL_SCAN_ERROR, "unknown verdict is an error");
	nng_msg_free(m);
	/* The content verdict (issue 18): a reject carries its reply, headers must be header fields. */
	struct cl_scan_content ct;
	m = reply("{\"v\":1,\"verdict\":\"clean\",\"content\":{\"action\":\"reject\",\"code\":550,\"enh\":\"5.7.1\","
		  "\"text\":\"spam\",\"reason_class\":\"spam\",\"score\":16.5,\"headers\":\"\"}}");
	CL_CHECK(cl_scanner_scan_reply(m, sig, sizeof sig, &ct) == CL_SCAN_CLEAN && ct.present &&
		     ct.action == CL_CONTENT_REJECT && ct.v.code == 550 && ct.score == 16.5 &&
		     strcmp(ct.reason_class, "spam") == 0,
		 "content reject read");
	cl_scan_content_free(&ct);
	nng_msg_free(m);
	static const char *const bad_content[] = {
	    "{\"action\":\"reject\",\"code\":250,\"enh\":\"2.0.0\",\"text\":\"x\"}", /* class mismatch */
	    "{\"action\":\"maybe\"}",
	    "{\"action\":\"tag\",\"headers\":\"X-Spam-Flag: YES\\r\\n\\r\\nBody: forged\\r\\n\"}",
	    "{\"action\":\"tag\",\"headers\":\"no colon here\\r\\n\"}",
	    "{\"action\":\"tag\",\"headers\":\"X-A: 1\"}", /* no CRLF at the end */
	    "[]",
	};
	for (size_t i = 0; i < sizeof bad_content / sizeof bad_content[0]; i++) {
		char j[300];
		snprintf(j, sizeof j, "{\"v\":1,\"verdict\":\"clean\",\"content\":%s}", bad_content[i]);
		m = reply(j);
		CL_CHECK(cl_scanner_scan_reply(m, sig, sizeof sig, &ct) == CL_SCAN_ERROR && !ct.headers,
			 "malformed content %zu is an error", i);
		nng_msg_free(m);
	}
	m = reply("{\"v\":1,\"verdict\":\"clean\",\"content\":{\"action\":\"tag\",\"headers\":"
		  "\"Authentication-Results: mx.test;\\r\\n\\tspf=pass\\r\\nX-Spam-Flag: YES\\r\\n\"}}");
	CL_CHECK(cl_scanner_scan_reply(m, sig, sizeof sig, &ct) == CL_SCAN_CLEAN && ct.action == CL_CONTENT_TAG &&
		     ct.headers && strstr(ct.headers, "\tspf=pass\r\n"),
		 "folded headers accepted");
	cl_scan_content_free(&ct);
	nng_msg_free(m);
	char st[2][16];
	m = reply("{\"v\":1,\"action\":\"accept\",\"code\":250,\"enh\":\"2.0.0\",\"text\":\"ok\",\"rcpts\":[{\"rcpt\":"
		  "\"a\",\"status\":\"quarantined\"}]}");
	CL_CHECK(cl_delivery_verdict_reply(m, &v, st, 2) == 0 && strcmp(st[0], "quarantined") == 0 && st[1][0] == 0,
		 "delivery statuses");
	nng_msg_free(m);
}

int main(void)
{
	test_requests();
	test_replies();
	return CL_TEST_END();
}
