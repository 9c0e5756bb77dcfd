/* banstats_client_test.c - the banstats stub: requests carry what docs/RPC.md says, and every
 * reply that is not a clear yes maps to the safe answer (not a peer / 451). */
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
	CL_CHECK(h && strcmp(cl_json_str(h, "op", ""), "mesh_peer") == 0 && strcmp(cl_json_str(h, "peer", ""), fp) == 0 &&
			 strcmp(cl_json_str(h, "sid", ""), "S1") == 0,
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
		CL_CHECK(cl_banstats_peer_reply(m, name, sizeof name) == 0 && name[0] == '\0', "not a peer: case %zu", i);
		if (m)
			nng_msg_free(m);
	}

	struct {
		const char *json;
		int code;
	} cases[] = {
		{"{\"v\":1,\"ok\":true,\"stored\":1,\"action\":\"accept\",\"code\":250,\"enh\":\"2.0.0\",\"text\":\"1 of 1 "
		 "mesh record(s) stored\"}", 250},
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

int main(void)
{
	test_requests();
	test_replies();
	return CL_TEST_END();
}
