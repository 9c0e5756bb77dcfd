/* rpc_clients_test.c - the client stubs of policy, scanner and delivery: requests carry
 * the fields docs/RPC.md names, and replies never fail open; each codec round-trips every op
 * in both directions (encode -> decode gives back what was encoded). */
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
	CL_CHECK(cl_policy_rcpt_req(&m, &ps, "a@b.example", "c@d.example", NULL, 0, 0) == 0, "rcpt req");
	cJSON *h = header(m, &blen);
	/* what policy judges HELO and MAIL by at RCPT (docs/RPC.md): helo, sender, smtputf8 */
	CL_CHECK(h && strcmp(cl_json_str(h, "op", ""), "rcpt") == 0 && cl_json_int(h, "v", 0) == 1 &&
		     strcmp(cl_json_str(h, "sid", ""), "S1") == 0 && cl_json_int(h, "port", 0) == 4242 &&
		     strcmp(cl_json_str(h, "rcpt", ""), "c@d.example") == 0 &&
		     strcmp(cl_json_str(h, "sender", ""), "a@b.example") == 0 &&
		     cJSON_IsFalse(cJSON_GetObjectItem(h, "smtputf8")) &&
		     strcmp(cl_json_str(h, "helo", ""), "mx.example") == 0 && !cJSON_GetObjectItem(h, "tls") &&
		     !cJSON_GetObjectItem(h, "auth_user"),
		 "rcpt fields");
	cJSON_Delete(h);
	nng_msg_free(m);

	struct cl_delivery_rcpt r = {.rcpt = "c@d.example", .route = {.mode = CL_ROUTE_LOCAL, .group_id = 7}};
	struct cl_delivery_envelope env = {"S1", "M1", "192.0.2.1", "", NULL, 0};
	CL_CHECK(cl_delivery_deliver_req(&m, &env, &r, 1, NULL, "body", 4) == 0, "deliver");
	h = header(m, &blen);
	const cJSON *arr = h ? cJSON_GetObjectItem(h, "rcpts") : NULL;
	const cJSON *rt = cJSON_GetObjectItem(cJSON_GetArrayItem(arr, 0), "route");
	CL_CHECK(h && blen == 4 && cJSON_GetArraySize(arr) == 1 && cl_json_int(rt, "group_id", 0) == 7 &&
		     strcmp(cl_json_str(rt, "mode", ""), "local") == 0 && !cJSON_GetObjectItem(h, "smtputf8"),
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

#define REFUSED_J "{\"v\":1,\"action\":\"reject\",\"code\":550,\"enh\":\"5.1.1\",\"text\":\"no such user\"}"
#define ACCEPT_J                                                                                                       \
	"{\"v\":1,\"action\":\"accept\",\"code\":250,\"enh\":\"2.1.5\",\"text\":\"Ok\",\"route\":{\"mode\":"           \
	"\"relay\",\"group_id\":2}}"

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
	/* rcpt's "more": the leading well-formed answers, no more than asked for */
	static const struct {
		const char *more;
		size_t max, n;
		int code1; /* the first further answer's code when n > 0 */
	} more_cases[] = {
	    {"", 3, 0, 0}, /* an older policy answers the first recipient only */
	    {",\"more\":[" REFUSED_J "," ACCEPT_J "]", 3, 2, 550},
	    {",\"more\":[" REFUSED_J "," ACCEPT_J "]", 1, 1, 550},                                 /* never past max */
	    {",\"more\":[" REFUSED_J ",{\"v\":1,\"action\":\"accept\"}," ACCEPT_J "]", 3, 1, 550}, /* malformed ends */
	    {",\"more\":[7," ACCEPT_J "]", 3, 0, 0},
	    {",\"more\":{\"a\":1}", 3, 0, 0},
	};
	for (size_t i = 0; i < sizeof more_cases / sizeof more_cases[0]; i++) {
		char j[1024];
		snprintf(j, sizeof j,
			 "{\"v\":1,\"action\":\"accept\",\"code\":250,\"enh\":\"2.1.5\",\"text\":\"Ok\","
			 "\"route\":{\"mode\":\"local\",\"group_id\":1}%s}",
			 more_cases[i].more);
		m = reply(j);
		struct cl_route rt;
		struct cl_policy_rcpt_answer ans[3];
		size_t n = 99;
		int rc = cl_policy_rcpt_reply(m, &v, &rt, ans, more_cases[i].max, &n);
		CL_CHECK(rc == 0 && v.code == 250 && rt.mode == CL_ROUTE_LOCAL && n == more_cases[i].n &&
			     (n == 0 || ans[0].v.code == more_cases[i].code1),
			 "rcpt more case %zu: rc %d n %zu", i, rc, n);
		if (n > 1)
			CL_CHECK(ans[1].v.code == 250 && ans[1].route.mode == CL_ROUTE_RELAY &&
				     ans[1].route.group_id == 2,
				 "rcpt more case %zu: the second answer's route", i);
		nng_msg_free(m);
	}
	size_t n = 99;
	CL_CHECK(cl_policy_rcpt_reply(NULL, &v, NULL, NULL, 0, &n) == -1 && v.code == 451 && n == 0,
		 "no rcpt reply is 451, nothing ahead");
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
	struct cl_delivery_envelope env = {"S1", "M1", "192.0.2.1", "", "al@example.org", 1};
	cJSON *h = cl_delivery_deliver_req_encode(&env, rc, 2, &ct);
	struct cl_delivery_deliver_request d;
	int ok = h && cl_delivery_deliver_req_decode(h, 100, &d) == 0;
	CL_CHECK(ok && d.n == 2 && !strcmp(d.sid, "S1") && !strcmp(d.msgid, "M1") && !strcmp(d.ip, "192.0.2.1") &&
		     !strcmp(d.sender, "") && !strcmp(d.auth_user, "al@example.org") && d.smtputf8 && d.has_score &&
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
	env = (struct cl_delivery_envelope){"S1", "M1", "192.0.2.1", "a@b.c", NULL, 0};
	h = cl_delivery_deliver_req_encode(&env, rc, 1, NULL);
	CL_CHECK(h && cl_delivery_deliver_req_decode(h, 100, &d) == 0 && !d.has_score && !strcmp(d.reason, "") &&
		     !d.auth_user && !d.smtputf8,
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

static void test_policy_round_trips(void)
{
	struct cl_policy_rep_fact facts[2] = {{"dnsbl", "zen.example", "127.0.0.2", 3}, {"ptr", "none", "", 1}};
	struct cl_policy_rep rep = {facts, 2, "mx.example.org", 0};
	struct cl_policy_session s = {.sid = "S1",
				      .ip = "192.0.2.1",
				      .port = 4242,
				      .listener = "submission",
				      .helo = "mx.example.org",
				      .tls = "TLSv1.3 X",
				      .auth_user = "al@example.org",
				      .rep = &rep};
	struct cl_policy_request r;
	cJSON *h = cl_policy_mail_req_encode(&s, "al@example.org", 1234, 1);
	cl_policy_req_decode(h, &r);
	CL_CHECK(h && !strcmp(cl_json_str(h, "op", ""), CL_POLICY_OP_MAIL) && !strcmp(r.s.sid, "S1") &&
		     !strcmp(r.s.ip, "192.0.2.1") && r.s.port == 4242 && !strcmp(r.s.listener, "submission") &&
		     !strcmp(r.s.helo, s.helo) && !strcmp(r.s.tls, s.tls) && !strcmp(r.s.auth_user, s.auth_user) &&
		     !strcmp(r.sender, "al@example.org") && r.size == 1234 && r.smtputf8,
		 "mail request round trip");
	CL_CHECK(r.s.rep == &r.rep && r.rep.n == 2 && !strcmp(r.rep.ptr, "mx.example.org") &&
		     !strcmp(r.rep.facts[0].kind, "dnsbl") && !strcmp(r.rep.facts[0].name, "zen.example") &&
		     !strcmp(r.rep.facts[0].answer, "127.0.0.2") && r.rep.facts[0].weight == 3 &&
		     !strcmp(r.rep.facts[1].kind, "ptr") && r.rep.facts[1].weight == 1,
		 "rep round trip");
	cJSON_Delete(h);

	/* What a decision reads: the weighted facts, no PTR name, no fact of weight 0. */
	struct cl_policy_rep_fact mixed[3] = {
	    {"ptr", "ok", "mx.example.org", 0}, {"dnsbl", "zen.example", "127.0.0.2", 2}, {"helo", "not_fqdn", "", 0}};
	struct cl_policy_rep weighted = {mixed, 3, "mx.example.org", 1};
	s.rep = &weighted;
	h = cl_policy_rcpt_req_encode(&s, "", "bob@example.org", NULL, 0, 0);
	cl_policy_req_decode(h, &r);
	CL_CHECK(h && r.s.rep && r.rep.n == 1 && !strcmp(r.rep.facts[0].name, "zen.example") &&
		     r.rep.facts[0].weight == 2 && !strcmp(r.rep.ptr, "") &&
		     !cJSON_GetObjectItem(cJSON_GetObjectItem(h, "rep"), "ptr"),
		 "weighted-only rep");
	cJSON_Delete(h);
	s.rep = &rep;

	s.rep = NULL;
	s.tls = NULL;
	h = cl_policy_rcpt_req_encode(&s, "", "bob@example.org", NULL, 0, 0);
	cl_policy_req_decode(h, &r);
	CL_CHECK(h && !r.s.rep && !r.s.tls && !strcmp(r.sender, "") && !strcmp(r.rcpt, "bob@example.org") &&
		     !r.smtputf8 && r.has_smtputf8,
		 "rcpt request round trip, no rep, no tls");
	cJSON_Delete(h);
	/* the rcpt request carries what policy judges HELO and MAIL by (docs/RPC.md) */
	h = cl_policy_rcpt_req_encode(&s, "jos\xc3\xa9@example.org", "bob@example.org", NULL, 0, 1);
	cl_policy_req_decode(h, &r);
	CL_CHECK(h && !strcmp(r.s.helo, "mx.example.org") && !strcmp(r.sender, "jos\xc3\xa9@example.org") &&
		     r.smtputf8 == 1,
		 "rcpt request round trip: helo, sender, smtputf8");
	cJSON_Delete(h);
	cJSON_DeleteItemFromObject(h = cl_policy_rcpt_req_encode(&s, "", "bob@example.org", NULL, 0, 0), "smtputf8");
	cl_policy_req_decode(h, &r);
	CL_CHECK(h && !r.smtputf8 && !r.has_smtputf8, "an older smtp-edge's rcpt: no smtputf8, and policy knows it");
	cJSON_Delete(h);
	/* a pipelining client's further RCPTs travel with the first (rcpt's "more") */
	const char *const more[] = {"carol@example.org", "dave@example.net"};
	h = cl_policy_rcpt_req_encode(&s, "", "bob@example.org", more, 2, 0);
	cl_policy_req_decode(h, &r);
	CL_CHECK(h && !strcmp(r.rcpt, "bob@example.org") && cJSON_IsArray(r.more) && cJSON_GetArraySize(r.more) == 2 &&
		     !strcmp(cJSON_GetArrayItem(r.more, 0)->valuestring, "carol@example.org") &&
		     !strcmp(cJSON_GetArrayItem(r.more, 1)->valuestring, "dave@example.net"),
		 "rcpt request with more round trip");
	cJSON_Delete(h);
	h = cl_policy_rcpt_req_encode(&s, "", "bob@example.org", NULL, 0, 0);
	cl_policy_req_decode(h, &r);
	CL_CHECK(h && !r.more && !cJSON_GetObjectItem(h, "more"), "a lone rcpt has no more");
	cJSON_Delete(h);
	/* what an older smtp-edge still asks (rolling upgrade): policy decodes it as before */
	h = cl_policy_helo_req_encode(&s);
	cl_policy_req_decode(h, &r);
	CL_CHECK(h && !strcmp(cl_json_str(h, "op", ""), CL_POLICY_OP_HELO) && !strcmp(r.s.helo, "mx.example.org"),
		 "helo request round trip");
	cJSON_Delete(h);
	h = cl_policy_auth_req_encode(&s, "al", "secret");
	cl_policy_req_decode(h, &r);
	CL_CHECK(h && !strcmp(r.user, "al") && !strcmp(r.password, "secret"), "auth request round trip");
	cJSON_Delete(h);
	struct cl_policy_session bare = {0};
	const struct cl_policy_request *rp = &r;
	h = cl_policy_connect_req_encode(&bare);
	cl_policy_req_decode(h, &r);
	CL_CHECK(h && !strcmp(rp->s.listener, "smtp") && !strcmp(rp->s.helo, "") && rp->s.port == 0 &&
		     !rp->has_started_at && !rp->outcome && !rp->msgid,
		 "connect with nothing set: defaults");
	cJSON_Delete(h);

	struct cl_policy_session_log l = {1700000000.5, 1700000009.25, "quit", 1, 2, 3, "EHLO x"};
	h = cl_policy_log_session_req_encode(&s, &l, NULL);
	cl_policy_req_decode(h, &r);
	CL_CHECK(h && r.has_started_at && r.started_at == l.started_at && r.has_ended_at && r.ended_at == l.ended_at &&
		     !strcmp(r.outcome, "quit") && r.pregreet == 1 && r.protocol_errors == 2 && r.messages == 3 &&
		     !strcmp(r.transcript, "EHLO x"),
		 "log_session request round trip");
	cJSON_Delete(h);

	struct cl_verdict v1, v2;
	cl_verdict_set(&v1, CL_ACCEPT, 250, "2.0.0", "ok");
	cl_verdict_set(&v2, CL_REJECT, 554, "5.7.1", "virus");
	struct cl_route rt = {.mode = CL_ROUTE_OUTBOUND, .group_id = 3, .domain_id = 2, .user_id = 7};
	struct cl_policy_rcpt_log rl[2] = {{"bob@example.org", "received", &v1, NULL, NULL, &rt},
					   {"eve@example.org", "rejected", &v2, "virus", "Eicar", &rt}};
	h = cl_policy_log_message_req_encode(&s, "M1", "al@example.org", 99, "Hi", rl, 2);
	cl_policy_req_decode(h, &r);
	struct cl_policy_rcpt_entry *es = NULL;
	size_t n = 0;
	int rc = cl_policy_rcpts_decode(h, 1000, &es, &n);
	CL_CHECK(h && rc == 0 && n == 2 && !strcmp(r.msgid, "M1") && !strcmp(r.subject, "Hi") && r.size == 99 &&
		     !strcmp(r.sender, "al@example.org"),
		 "log_message request round trip");
	CL_CHECK(rc == 0 && n == 2 && !strcmp(es[0].rcpt, "bob@example.org") && !strcmp(es[0].status, "received") &&
		     es[0].code == 250 && !strcmp(es[0].reason, "ok") && !es[0].virus &&
		     !strcmp(es[0].reason_class, "") && es[0].has_route && es[0].route.mode == CL_ROUTE_OUTBOUND &&
		     es[0].route.user_id == 7 && es[1].code == 554 && !strcmp(es[1].enh, "5.7.1") &&
		     !strcmp(es[1].virus, "Eicar") && !strcmp(es[1].reason_class, "virus"),
		 "log_message rcpts round trip");
	free(es);
	CL_CHECK(cl_policy_rcpts_decode(h, 1, &es, &n) == -1 && !es, "more rcpts than allowed: refused");
	/* the held log_message inside log_session, taken over (ASan: neither leaked nor freed twice) */
	cJSON *ls = cl_policy_log_session_req_encode(&s, &l, h);
	const cJSON *msg = cJSON_GetObjectItemCaseSensitive(ls, CL_POLICY_F_MESSAGE);
	cl_policy_req_decode(msg, &r);
	rc = cl_policy_rcpts_decode(msg, 1000, &es, &n);
	CL_CHECK(ls && !strcmp(cl_json_str(ls, "op", ""), "log_session") && !strcmp(r.msgid, "M1") &&
		     !strcmp(r.s.sid, s.sid) && rc == 0 && n == 2 && !strcmp(es[1].rcpt, "eve@example.org"),
		 "log_session carries the log_message whole");
	free(es);
	cJSON_Delete(ls);

	struct cl_verdict vb;
	struct cl_route rb;
	char user[64];
	h = cl_policy_verdict_encode(&v1, &rt, "al@example.org");
	CL_CHECK(cl_policy_verdict_decode(h, &vb, &rb, user, sizeof user) == 0 && vb.code == 250 &&
		     rb.mode == CL_ROUTE_OUTBOUND && rb.group_id == 3 && !strcmp(user, "al@example.org"),
		 "verdict reply round trip");
	cJSON_Delete(h);
	h = cl_policy_verdict_encode(&v2, NULL, NULL);
	CL_CHECK(cl_policy_verdict_decode(h, &vb, &rb, user, sizeof user) == 0 && vb.code == 554 &&
		     rb.mode == CL_ROUTE_NONE && !user[0] && !cJSON_GetObjectItem(h, "route"),
		 "refusal reply round trip");
	cJSON_Delete(h);
	h = cl_policy_ok_encode();
	CL_CHECK(h && cl_json_bool(h, "ok", 0), "log reply");
	cJSON_Delete(h);
	CL_CHECK(cl_policy_verdict_decode(NULL, &vb, NULL, NULL, 0) == -1 && vb.code == 451, "no reply: 451");

	/* a malformed fact is dropped, an absurd weight clamped */
	h = cJSON_Parse("{\"v\":1,\"op\":\"connect\",\"rep\":{\"facts\":[{\"kind\":\"dnsbl\",\"name\":\"a\","
			"\"weight\":1e300},{\"kind\":\"dnsbl\",\"weight\":2}]}}");
	cl_policy_req_decode(h, &r);
	CL_CHECK(h && r.s.rep && r.rep.n == 1 && r.rep.facts[0].weight == CL_POLICY_REP_WEIGHT_MAX &&
		     !strcmp(r.rep.ptr, ""),
		 "malformed facts");
	cJSON_Delete(h);
}

static void test_scanner_round_trips(void)
{
	const char *rcpts[2] = {"bob@example.org", "eve@example.org"};
	struct cl_content_policy pol = {0};
	cJSON *pj = cJSON_Parse("{\"reject\":15,\"tag\":5,\"dmarc_reject\":true}");
	cl_content_policy_from_json(pj, &pol);
	cJSON_Delete(pj);
	struct cl_scan_env e = {.sid = "S1",
				.ip = "192.0.2.1",
				.helo = "mx.example.org",
				.sender = "",
				.msgid = "M1",
				.auth_user = "al@example.org",
				.tls = "TLSv1.3 X",
				.mta = "edge.example",
				.hostname = "mx.example.org",
				.rcpts = rcpts,
				.nrcpt = 2,
				.content = &pol};
	struct cl_scanner_scan_request r;
	cJSON *h = cl_scanner_scan_req_encode(&e);
	int rc = h ? cl_scanner_scan_req_decode(h, &r) : -1;
	CL_CHECK(rc == 0 && !strcmp(r.env.sid, "S1") && !strcmp(r.env.ip, e.ip) && !strcmp(r.env.helo, e.helo) &&
		     !strcmp(r.env.sender, "") && !strcmp(r.env.msgid, "M1") && !strcmp(r.env.auth_user, e.auth_user) &&
		     !strcmp(r.env.tls, e.tls) && !strcmp(r.env.mta, e.mta) && !strcmp(r.env.hostname, e.hostname) &&
		     r.env.nrcpt == 2 && !strcmp(r.env.rcpts[1], "eve@example.org") && r.env.content == &r.content &&
		     r.content.has_reject && r.content.reject == 15 && r.content.has_tag && !r.content.has_quarantine &&
		     r.content.dmarc_reject,
		 "scan request round trip");
	if (rc == 0)
		cl_scanner_scan_request_free(&r);
	cJSON_Delete(h);
	struct cl_scan_env bare = {0};
	h = cl_scanner_scan_req_encode(&bare);
	rc = h ? cl_scanner_scan_req_decode(h, &r) : -1;
	CL_CHECK(rc == 0 && !strcmp(r.env.sid, "") && !r.env.ip && !r.env.helo && !r.env.content && r.env.nrcpt == 0,
		 "scan request with nothing set");
	if (rc == 0)
		cl_scanner_scan_request_free(&r);
	cJSON_Delete(h);

	char sig[64];
	struct cl_scan_content ct;
	h = cl_scanner_scan_reply_encode(CL_SCAN_INFECTED, "Eicar-Test-Signature", NULL);
	CL_CHECK(cl_scanner_scan_reply_decode(h, sig, sizeof sig, NULL) == CL_SCAN_INFECTED &&
		     !strcmp(sig, "Eicar-Test-Signature"),
		 "infected reply round trip");
	cJSON_Delete(h);
	h = cl_scanner_scan_reply_encode(CL_SCAN_ERROR, NULL, "no body");
	CL_CHECK(cl_scanner_scan_reply_decode(h, sig, sizeof sig, NULL) == CL_SCAN_ERROR &&
		     !strcmp(cl_json_str(h, "error", ""), "no body"),
		 "error reply round trip");
	cJSON_Delete(h);
	h = cl_scanner_scan_reply_encode(CL_SCAN_CLEAN, NULL, NULL);
	struct cl_scan_content_reply cr = {.action = CL_CONTENT_REJECT,
					   .code = 550,
					   .enh = "5.7.1",
					   .text = "spam",
					   .headers = "X-A: b\r\n",
					   .reason_class = "spam",
					   .scored = 1,
					   .score = 16.5,
					   .rspamd_action = "reject",
					   .symbols = "GTUBE(0.00)"};
	CL_CHECK(h && cl_scanner_content_encode(h, &cr) == 0 &&
		     cl_scanner_scan_reply_decode(h, sig, sizeof sig, &ct) == CL_SCAN_CLEAN && ct.present &&
		     ct.action == CL_CONTENT_REJECT && ct.v.code == 550 && !strcmp(ct.v.enh, "5.7.1") &&
		     !strcmp(ct.v.text, "spam") && !strcmp(ct.reason_class, "spam") && ct.score == 16.5 &&
		     !strcmp(ct.symbols, "GTUBE(0.00)") && !ct.unscanned && ct.headers &&
		     !strcmp(ct.headers, "X-A: b\r\n"),
		 "content reply round trip");
	cl_scan_content_free(&ct);
	cJSON_Delete(h);
	h = cl_scanner_scan_reply_encode(CL_SCAN_CLEAN, NULL, NULL);
	struct cl_scan_content_reply un = {.action = CL_CONTENT_ACCEPT, .code = 250, .enh = "2.0.0", .unscanned = 1};
	CL_CHECK(h && cl_scanner_content_encode(h, &un) == 0 &&
		     cl_scanner_scan_reply_decode(h, sig, sizeof sig, &ct) == CL_SCAN_CLEAN && ct.present &&
		     ct.action == CL_CONTENT_ACCEPT && ct.unscanned && !ct.headers && ct.score == 0,
		 "unscanned content round trip");
	cl_scan_content_free(&ct);
	cJSON_Delete(h);
	CL_CHECK(cl_scanner_scan_reply_decode(NULL, sig, sizeof sig, NULL) == CL_SCAN_ERROR, "no reply: error");
}

int main(void)
{
	test_delivery_round_trips();
	test_policy_round_trips();
	test_scanner_round_trips();
	test_requests();
	test_replies();
	return CL_TEST_END();
}
