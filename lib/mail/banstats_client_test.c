/* banstats_client_test.c - the banstats stub: requests carry what docs/RPC.md says, and every
 * reply that is not a clear yes maps to the safe answer (not a peer / 451), and every op's
 * request and reply survive encode -> decode (the server's side of the codec) unchanged. */
#include <stdlib.h>
#include <string.h>

#include "mail/banstats_client.h"
#include "rpc/frame.h"
#include "util/test.h"

/* msg_of - a reply message from JSON text (NULL text: NULL message). */
static nng_msg *msg_of(const char *json)
{
	if (!json)
		return NULL;
	cJSON *h = cJSON_Parse(json);
	nng_msg *m = NULL;
	if (h)
		cl_frame_build(&m, h, NULL, 0);
	cJSON_Delete(h);
	return m;
}

/* header_of - parse a request we built (caller frees). */
static cJSON *header_of(nng_msg *m)
{
	cJSON *h = NULL;
	const unsigned char *b;
	size_t bl;
	char err[64];
	return cl_frame_parse(m, &h, &b, &bl, err, sizeof err) == 0 ? h : NULL;
}

static void test_requests(void)
{
	char fp[65];
	CL_CHECK(cl_banstats_fingerprint((const unsigned char *)"abc", 3, fp) == 0 &&
		     strcmp(fp, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0,
		 "SHA-256 in lowercase hex: %s", fp);
	nng_msg *m = NULL;
	CL_CHECK(cl_banstats_peer_req(&m, "S1", fp) == 0, "peer request");
	cJSON *h = header_of(m);
	CL_CHECK(h && strcmp(cl_json_str(h, "op", ""), "mesh_peer") == 0 &&
		     strcmp(cl_json_str(h, "peer", ""), fp) == 0 && strcmp(cl_json_str(h, "sid", ""), "S1") == 0,
		 "peer request fields");
	cJSON_Delete(h);
	nng_msg_free(m);

	struct cl_mesh_record recs[2];
	char err[128];
	const char *a = "BAN 192.0.2.0/24 EXPIRES=1764115200 SCORE=5 HOPS=0 ORIGIN=a.test REASON=x";
	const char *b = "LIFT 192.0.2.9 HOPS=1 ORIGIN=b.test";
	CL_CHECK(cl_mesh_record_parse(a, strlen(a), &recs[0], err, sizeof err) == 0 &&
		     cl_mesh_record_parse(b, strlen(b), &recs[1], err, sizeof err) == 0,
		 "records parse");
	CL_CHECK(cl_banstats_records_req(&m, "S1", fp, recs, 2) == 0, "records request");
	h = header_of(m);
	cJSON *arr = cJSON_GetObjectItemCaseSensitive(h, "records");
	struct cl_mesh_record back;
	CL_CHECK(cJSON_GetArraySize(arr) == 2 &&
		     cl_mesh_record_from_json(cJSON_GetArrayItem(arr, 1), &back, err, sizeof err) == 0 &&
		     memcmp(&back, &recs[1], sizeof back) == 0,
		 "records travel unchanged: %s", err);
	cJSON_Delete(h);
	nng_msg_free(m);
	CL_CHECK(cl_banstats_records_req(&m, "S1", fp, recs, 0) == -1, "no records: refused");
}

static void test_replies(void)
{
	char name[64];
	nng_msg *m = msg_of("{\"v\":1,\"ok\":true,\"trusted\":true,\"name\":\"node-b.test\",\"trust\":\"enforce\"}");
	CL_CHECK(cl_banstats_peer_reply(m, name, sizeof name) == 1 && strcmp(name, "node-b.test") == 0, "trusted");
	nng_msg_free(m);
	const char *not_peer[] = {"{\"v\":1,\"ok\":true,\"trusted\":false}", "{\"v\":1,\"ok\":false,\"trusted\":true}",
				  "{\"v\":1,\"ok\":true}", NULL};
	for (size_t i = 0; i < sizeof not_peer / sizeof not_peer[0]; i++) {
		m = msg_of(not_peer[i]);
		CL_CHECK(cl_banstats_peer_reply(m, name, sizeof name) == 0 && name[0] == '\0', "not a peer: case %zu",
			 i);
		if (m)
			nng_msg_free(m);
	}

	struct {
		const char *json;
		int code;
	} cases[] = {
	    {"{\"v\":1,\"ok\":true,\"stored\":1,\"action\":\"accept\",\"code\":250,\"enh\":\"2.0.0\",\"text\":\"1 of 1 "
	     "mesh record(s) stored\"}",
	     250},
	    {"{\"v\":1,\"ok\":false,\"action\":\"reject\",\"code\":554,\"enh\":\"5.7.1\",\"text\":\"loop\"}", 554},
	    {"{\"v\":1,\"ok\":false,\"action\":\"reject\",\"code\":501,\"enh\":\"5.5.4\",\"text\":\"bad\"}", 501},
	    {"{\"v\":1,\"ok\":false,\"action\":\"accept\",\"code\":250,\"enh\":\"2.0.0\",\"text\":\"lie\"}", 451},
	    {"{\"v\":1,\"ok\":true,\"action\":\"reject\",\"code\":554,\"enh\":\"5.7.1\",\"text\":\"lie\"}", 451},
	    {"{\"v\":1,\"ok\":false,\"error\":\"unknown op\"}", 451},
	    {NULL, 451},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct cl_verdict v;
		m = msg_of(cases[i].json);
		cl_banstats_records_reply(m, &v);
		CL_CHECK(v.code == cases[i].code, "records reply case %zu: %d %s", i, v.code, v.text);
		if (m)
			nng_msg_free(m);
	}
}

static void test_round_trips(void)
{
	/* mesh_peer request */
	cJSON *h = cl_banstats_peer_req_encode("S9", "ab:cd");
	struct cl_banstats_peer_request pq;
	cl_banstats_peer_req_decode(h, &pq);
	CL_CHECK(h && strcmp(cl_json_str(h, "op", ""), CL_BANSTATS_OP_PEER) == 0 && strcmp(pq.sid, "S9") == 0 &&
		     strcmp(pq.peer, "ab:cd") == 0,
		 "mesh_peer request round trip");
	cJSON_Delete(h);
	/* mesh_peer reply, trusted and not */
	struct cl_banstats_peer_answer pa = {.trusted = 1, .name = "node-b.test", .trust = "observe"}, pb;
	h = cl_banstats_peer_answer_encode(&pa);
	cl_banstats_peer_answer_decode(h, &pb);
	CL_CHECK(memcmp(&pa, &pb, sizeof pa) == 0, "mesh_peer reply round trip (trusted)");
	cJSON_Delete(h);
	struct cl_banstats_peer_answer pn = {0};
	h = cl_banstats_peer_answer_encode(&pn);
	cl_banstats_peer_answer_decode(h, &pb);
	CL_CHECK(memcmp(&pn, &pb, sizeof pn) == 0 && cl_json_bool(h, "ok", 0) == 1, "mesh_peer reply round trip (not)");
	cJSON_Delete(h);

	/* mesh_records request */
	struct cl_mesh_record recs[2];
	char err[160];
	const char *a = "BAN 198.51.100.0/24 EXPIRES=1764115200 SCORE=7.5 HOPS=2 ORIGIN=a.test REASON=x+20y";
	const char *b = "LIFT 2001:db8::/48 HOPS=0 ORIGIN=b.test";
	CL_CHECK(cl_mesh_record_parse(a, strlen(a), &recs[0], err, sizeof err) == 0 &&
		     cl_mesh_record_parse(b, strlen(b), &recs[1], err, sizeof err) == 0,
		 "records parse: %s", err);
	h = cl_banstats_records_req_encode("S9", "ff", recs, 2);
	struct cl_banstats_records_request rq;
	CL_CHECK(cl_banstats_records_req_decode(h, &rq, err, sizeof err) == 0 && rq.n == 2 &&
		     memcmp(rq.recs, recs, sizeof recs) == 0 && strcmp(rq.peer, "ff") == 0 &&
		     strcmp(rq.sid, "S9") == 0 && strcmp(cl_json_str(h, "op", ""), CL_BANSTATS_OP_RECORDS) == 0,
		 "mesh_records request round trip: %s", err);
	free(rq.recs);
	/* a record the decoder refuses names its place; a missing array is refused as such */
	cJSON_ReplaceItemInObjectCaseSensitive(cJSON_GetArrayItem(cJSON_GetObjectItem(h, "records"), 1), "action",
					       cJSON_CreateString("maybe"));
	CL_CHECK(cl_banstats_records_req_decode(h, &rq, err, sizeof err) == -1 && !rq.recs &&
		     strncmp(err, "Malformed mesh record 2: ", 25) == 0 && strcmp(rq.peer, "ff") == 0,
		 "bad record 2: %s", err);
	cJSON_DeleteItemFromObject(h, "records");
	CL_CHECK(cl_banstats_records_req_decode(h, &rq, err, sizeof err) == -1 &&
		     strcmp(err, "Malformed request: records must be an array of 1 to 100 records") == 0,
		 "no records: %s", err);
	cJSON_Delete(h);
	CL_CHECK(cl_banstats_records_req_encode("S9", "ff", recs, 101) == NULL, "101 records: refused");

	/* mesh_records replies: stored, and each refusal */
	struct cl_banstats_records_answer ra = {.stored = 3, .ignored = 1}, rb;
	cl_verdict_set(&ra.v, CL_ACCEPT, 250, "2.0.0", "3 of 4 mesh record(s) stored");
	h = cl_banstats_records_answer_encode(&ra);
	CL_CHECK(cl_banstats_records_answer_decode(h, &rb) == 0 && memcmp(&ra, &rb, sizeof ra) == 0 &&
		     cl_json_bool(h, "ok", 0) == 1,
		 "mesh_records reply round trip (stored)");
	cJSON_Delete(h);
	struct {
		enum cl_action a;
		int code;
		const char *enh;
	} refusals[] = {
	    {CL_REJECT, 501, "5.5.4"}, {CL_REJECT, 554, "5.7.1"}, {CL_REJECT, 530, "5.7.0"}, {CL_DEFER, 451, "4.3.0"}};
	for (size_t i = 0; i < sizeof refusals / sizeof refusals[0]; i++) {
		struct cl_banstats_records_answer r = {0};
		cl_verdict_set(&r.v, refusals[i].a, refusals[i].code, refusals[i].enh, "why");
		h = cl_banstats_records_answer_encode(&r);
		CL_CHECK(cl_banstats_records_answer_decode(h, &rb) == 0 && memcmp(&r, &rb, sizeof r) == 0 &&
			     cl_json_bool(h, "ok", 1) == 0 && strcmp(cl_json_str(h, "error", ""), "why") == 0,
			 "mesh_records reply round trip (%d)", refusals[i].code);
		cJSON_Delete(h);
	}
}

int main(void)
{
	test_round_trips();
	test_requests();
	test_replies();
	return CL_TEST_END();
}
