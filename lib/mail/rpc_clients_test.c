/* rpc_clients_test.c - the client stubs of policy, scanner and delivery: requests carry
 * the fields docs/RPC.md names, and replies never fail open; delivery's codec round-trips
 * every op in both directions (encode -> decode gives back what was encoded). */
#include <stdio.h>
#include <stdlib.h>
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
	struct cl_policy_session ps = {.sid = "S1",
				       .ip = "192.0.2.1",
				       .port = 4242,
				       .listener = "smtp",
				       .helo = "mx.example",
				       .tls = NULL,
				       .auth_user = ""};
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
	CL_CHECK(cl_delivery_deliver_req(&m, "S1", "M1", "192.0.2.1", "", NULL, &r, 1, NULL, "body", 4) == 0,
		 "deliver");
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
    {"{\"v\":1,\"action\":\"accept\",\"code\":250,\"enh\":\"2.1.5\",\"text\":\"Ok\",\"route\":{\"mode\":\"moon\"}}", -1,
     451, CL_ROUTE_NONE},
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
		CL_CHECK(rc == c->rc && v.code == c->code && rt.mode == c->mode, "policy case %zu: rc %d code %d", i,
			 rc, v.code);
		nng_msg_free(m);
	}
	struct cl_verdict v;
	CL_CHECK(cl_policy_verdict_reply(NULL, &v, NULL, NULL, 0) == -1 && v.code == 451, "no reply is 451");
	char sig[32];
	nng_msg *m = reply("{\"v\":1,\"verdict\":\"infected\",\"signature\":\"Evil\\r\\nInjected: yes\"}");
	CL_CHECK(cl_scanner_scan_reply(m, sig, sizeof sig, NULL) == CL_SCAN_INFECTED && !strchr(sig, '\r') &&
		     !strchr(sig, ' '),
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

static void test_delivery_round_trips(void)
{
	struct cl_delivery_rcpt rc[2] = {
	    {"bob@example.org", {.mode = CL_ROUTE_LOCAL, .group_id = 3, .user_id = 7}},
	    {"eve@example.org", {.mode = CL_ROUTE_LOCAL, .group_id = 3, .domain_id = 2, .quarantine = 1}}};
	struct cl_delivery_content ct = {12.5, "spam (score 12.5)"};
	cJSON *h = cl_delivery_deliver_req_encode("S1", "M1", "192.0.2.1", "", "al@example.org", rc, 2, &ct);
	struct cl_delivery_deliver_request d;
	int ok = h && cl_delivery_deliver_req_decode(h, 100, &d) == 0;
	CL_CHECK(ok && d.n == 2 && !strcmp(d.sid, "S1") && !strcmp(d.msgid, "M1") && !strcmp(d.ip, "192.0.2.1") &&
		     !strcmp(d.sender, "") && !strcmp(d.auth_user, "al@example.org") && d.has_score &&
		     d.score == 12.5 && !strcmp(d.reason, ct.reason),
		 "deliver request round trip");
	for (size_t i = 0; ok && i < 2; i++)
		CL_CHECK(!strcmp(d.rcpts[i].rcpt, rc[i].rcpt) && d.rcpts[i].route.mode == rc[i].route.mode &&
			     d.rcpts[i].route.group_id == rc[i].route.group_id &&
			     d.rcpts[i].route.domain_id == rc[i].route.domain_id &&
			     d.rcpts[i].route.user_id == rc[i].route.user_id &&
			     d.rcpts[i].route.quarantine == rc[i].route.quarantine,
			 "deliver rcpt %zu round trip", i);
	if (ok)
		free(d.rcpts);
	CL_CHECK(h && cl_delivery_deliver_req_decode(h, 1, &d) == -1 && !d.rcpts, "more rcpts than allowed: refused");
	cJSON_Delete(h);
	h = cl_delivery_deliver_req_encode("S1", "M1", "192.0.2.1", "a@b.c", NULL, rc, 1, NULL);
	CL_CHECK(h && cl_delivery_deliver_req_decode(h, 100, &d) == 0 && !d.has_score && !strcmp(d.reason, "") &&
		     !d.auth_user,
		 "deliver request without content or auth_user");
	if (h)
		free(d.rcpts);
	cJSON_Delete(h);

	const char *qops[] = {CL_DELIVERY_OP_RELEASE, CL_DELIVERY_OP_DELETE};
	for (size_t i = 0; i < 2; i++) {
		struct cl_delivery_quarantine_request q = {41 + (long long)i, 9}, back;
		h = cl_delivery_quarantine_req_encode(qops[i], &q);
		cl_delivery_quarantine_req_decode(h, &back);
		CL_CHECK(h && !strcmp(cl_json_str(h, "op", ""), qops[i]) && back.quarantine_id == q.quarantine_id &&
			     back.by_user_id == 9,
			 "%s request round trip", qops[i]);
		cJSON_Delete(h);
	}

	struct cl_verdict v, vb;
	cl_verdict_set(&v, CL_ACCEPT, 250, "2.0.0", "Delivered");
	struct cl_delivery_rcpt_status st[2] = {{"bob@example.org", "received"}, {"eve@example.org", "quarantined"}};
	char status[3][16];
	h = cl_delivery_verdict_encode(&v, st, 2);
	CL_CHECK(cl_delivery_verdict_decode(h, &vb, status, 3) == 0 && vb.code == 250 &&
		     !strcmp(vb.text, "Delivered") && !strcmp(status[0], "received") &&
		     !strcmp(status[1], "quarantined") && status[2][0] == '\0',
		 "deliver reply round trip");
	cJSON_Delete(h);
	cl_verdict_set(&v, CL_REJECT, 550, "5.1.0", "No such held message");
	h = cl_delivery_verdict_encode(&v, NULL, 0);
	CL_CHECK(cl_delivery_verdict_decode(h, &vb, NULL, 0) == 0 && vb.code == 550 && !strcmp(vb.enh, "5.1.0") &&
		     !cJSON_GetObjectItem(h, "rcpts"),
		 "release/delete reply round trip");
	cJSON_Delete(h);
	CL_CHECK(cl_delivery_verdict_decode(NULL, &vb, status, 1) == -1 && vb.code == 451, "no reply: 451");
}

int main(void)
{
	test_delivery_round_trips();
	test_requests();
	test_replies();
	return CL_TEST_END();
}
