/* banstats_client.c - mesh_peer and mesh_records requests and replies. See
 * banstats_client.h and docs/RPC.md. */
#include "mail/banstats_client.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpc/frame.h"
#include "util/buf.h"

int cl_banstats_fingerprint(const unsigned char *der, size_t derlen, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	if (!der || EVP_Digest(der, derlen, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
		return -1;
	for (unsigned int i = 0; i < mdlen; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	return 0;
}

/* new_req - {"v":1,"op":op,"sid":sid,"peer":fp}; caller owns it. */
static cJSON *new_req(const char *op, const char *sid, const char *fp)
{
	cJSON *o = cJSON_CreateObject();
	if (o && cJSON_AddNumberToObject(o, "v", CL_FRAME_VERSION) && cJSON_AddStringToObject(o, "op", op) &&
	    cJSON_AddStringToObject(o, CL_BANSTATS_F_SID, sid ? sid : "") &&
	    cJSON_AddStringToObject(o, CL_BANSTATS_F_PEER, fp ? fp : ""))
		return o;
	cJSON_Delete(o);
	return NULL;
}

/* new_reply - {"v":1,"ok":ok}; caller owns it. */
static cJSON *new_reply(int ok)
{
	cJSON *o = cJSON_CreateObject();
	if (o && cJSON_AddNumberToObject(o, "v", CL_FRAME_VERSION) && cJSON_AddBoolToObject(o, CL_BANSTATS_F_OK, ok))
		return o;
	cJSON_Delete(o);
	return NULL;
}

cJSON *cl_banstats_peer_req_encode(const char *sid, const char *fp)
{
	return new_req(CL_BANSTATS_OP_PEER, sid, fp);
}

void cl_banstats_peer_req_decode(const cJSON *req, struct cl_banstats_peer_request *r)
{
	r->sid = cl_json_str(req, CL_BANSTATS_F_SID, "");
	r->peer = cl_json_str(req, CL_BANSTATS_F_PEER, "");
}

cJSON *cl_banstats_peer_answer_encode(const struct cl_banstats_peer_answer *a)
{
	cJSON *o = new_reply(1);
	if (!o || !cJSON_AddBoolToObject(o, CL_BANSTATS_F_TRUSTED, a->trusted) ||
	    (a->trusted && (!cJSON_AddStringToObject(o, CL_BANSTATS_F_NAME, a->name) ||
			    !cJSON_AddStringToObject(o, CL_BANSTATS_F_TRUST, a->trust)))) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

void cl_banstats_peer_answer_decode(const cJSON *h, struct cl_banstats_peer_answer *a)
{
	memset(a, 0, sizeof *a);
	a->trusted = cl_json_bool(h, CL_BANSTATS_F_OK, 0) && cl_json_bool(h, CL_BANSTATS_F_TRUSTED, 0);
	if (a->trusted) {
		cl_strlcpy(a->name, cl_json_str(h, CL_BANSTATS_F_NAME, ""), sizeof a->name);
		cl_strlcpy(a->trust, cl_json_str(h, CL_BANSTATS_F_TRUST, ""), sizeof a->trust);
	}
}

int cl_banstats_peer_req(nng_msg **out, const char *sid, const char *fp)
{
	return cl_frame_build_owned(out, cl_banstats_peer_req_encode(sid, fp), NULL, 0);
}

int cl_banstats_peer_reply(nng_msg *reply, char *name, size_t namelen)
{
	struct cl_banstats_peer_answer a;
	cJSON *h = cl_frame_header(reply);
	cl_banstats_peer_answer_decode(h, &a);
	cJSON_Delete(h);
	if (name && namelen)
		cl_strlcpy(name, a.name, namelen);
	return a.trusted;
}

cJSON *cl_banstats_records_req_encode(const char *sid, const char *fp, const struct cl_mesh_record *recs, size_t n)
{
	if (n < 1 || n > CL_BANSTATS_MAX_RECORDS)
		return NULL;
	cJSON *o = new_req(CL_BANSTATS_OP_RECORDS, sid, fp);
	cJSON *arr = o ? cJSON_AddArrayToObject(o, CL_BANSTATS_F_RECORDS) : NULL;
	for (size_t i = 0; arr && i < n; i++) {
		cJSON *r = cl_mesh_record_to_json(&recs[i]);
		if (!r || !cJSON_AddItemToArray(arr, r)) {
			cJSON_Delete(r);
			arr = NULL;
		}
	}
	if (!arr) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

int cl_banstats_records_req_decode(const cJSON *req, struct cl_banstats_records_request *r, char *why, size_t whylen)
{
	r->sid = cl_json_str(req, CL_BANSTATS_F_SID, "");
	r->peer = cl_json_str(req, CL_BANSTATS_F_PEER, "");
	r->recs = NULL;
	r->n = 0;
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(req, CL_BANSTATS_F_RECORDS);
	int n = cJSON_IsArray(arr) ? cJSON_GetArraySize(arr) : -1;
	if (n < 1 || n > CL_BANSTATS_MAX_RECORDS) {
		cl_snprintf(why, whylen, "Malformed request: records must be an array of 1 to %d records",
			    CL_BANSTATS_MAX_RECORDS);
		return -1;
	}
	struct cl_mesh_record *recs = calloc((size_t)n, sizeof *recs);
	if (!recs) {
		cl_snprintf(why, whylen, "Out of memory");
		return -1;
	}
	for (int i = 0; i < n; i++) {
		char e[128];
		if (cl_mesh_record_from_json(cJSON_GetArrayItem(arr, i), &recs[i], e, sizeof e) < 0) {
			cl_snprintf(why, whylen, "Malformed mesh record %d: %s", i + 1, e);
			free(recs);
			return -1;
		}
	}
	r->recs = recs;
	r->n = (size_t)n;
	return 0;
}

cJSON *cl_banstats_records_answer_encode(const struct cl_banstats_records_answer *a)
{
	int ok = a->v.action == CL_ACCEPT;
	cJSON *o = new_reply(ok);
	int good = o != NULL;
	if (good && ok)
		good = cJSON_AddNumberToObject(o, CL_BANSTATS_F_STORED, (double)a->stored) &&
		       cJSON_AddNumberToObject(o, CL_BANSTATS_F_IGNORED, (double)a->ignored);
	else if (good)
		good = cJSON_AddStringToObject(o, CL_BANSTATS_F_ERROR, a->v.text) != NULL;
	if (!good || cl_verdict_to_json(&a->v, o) < 0) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

int cl_banstats_records_answer_decode(const cJSON *h, struct cl_banstats_records_answer *a)
{
	memset(a, 0, sizeof *a);
	/* The verdict must agree with "ok": never report a refusal as stored or the reverse. */
	if (!h || cl_verdict_from_json(h, &a->v) < 0 ||
	    (a->v.action == CL_ACCEPT) != cl_json_bool(h, CL_BANSTATS_F_OK, 0) ||
	    (a->v.action == CL_ACCEPT && a->v.code != 250)) {
		cl_verdict_tempfail(&a->v, NULL);
		return -1;
	}
	a->stored = cl_json_int(h, CL_BANSTATS_F_STORED, 0);
	a->ignored = cl_json_int(h, CL_BANSTATS_F_IGNORED, 0);
	return 0;
}

int cl_banstats_records_req(nng_msg **out, const char *sid, const char *fp, const struct cl_mesh_record *recs, size_t n)
{
	return cl_frame_build_owned(out, cl_banstats_records_req_encode(sid, fp, recs, n), NULL, 0);
}

void cl_banstats_records_reply(nng_msg *reply, struct cl_verdict *v)
{
	struct cl_banstats_records_answer a;
	cJSON *h = cl_frame_header(reply);
	cl_banstats_records_answer_decode(h, &a);
	cJSON_Delete(h);
	*v = a.v;
}
