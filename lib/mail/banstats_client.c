/* banstats_client.c - mesh_peer and mesh_records requests and replies. See
 * banstats_client.h and docs/RPC.md. */
#include "mail/banstats_client.h"

#include <openssl/evp.h>
#include <stdio.h>
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
	if (o && cJSON_AddNumberToObject(o, "v", 1) && cJSON_AddStringToObject(o, "op", op) &&
	    cJSON_AddStringToObject(o, "sid", sid ? sid : "") && cJSON_AddStringToObject(o, "peer", fp))
		return o;
	cJSON_Delete(o);
	return NULL;
}

int cl_banstats_peer_req(nng_msg **out, const char *sid, const char *fp)
{
	cJSON *o = new_req("mesh_peer", sid, fp);
	int rc = o ? cl_frame_build(out, o, NULL, 0) : -1;
	cJSON_Delete(o);
	return rc;
}

int cl_banstats_peer_reply(nng_msg *reply, char *name, size_t namelen)
{
	cJSON *h = NULL;
	const unsigned char *body;
	size_t blen;
	char err[128];
	if (name && namelen)
		name[0] = '\0';
	if (!reply || cl_frame_parse(reply, &h, &body, &blen, err, sizeof err) < 0)
		return 0;
	int trusted = cl_json_bool(h, "ok", 0) && cl_json_bool(h, "trusted", 0);
	if (trusted && name && namelen)
		cl_strlcpy(name, cl_json_str(h, "name", ""), namelen);
	cJSON_Delete(h);
	return trusted;
}

int cl_banstats_records_req(nng_msg **out, const char *sid, const char *fp, const struct cl_mesh_record *recs,
			    size_t n)
{
	if (n < 1 || n > 100)
		return -1;
	cJSON *o = new_req("mesh_records", sid, fp);
	cJSON *arr = o ? cJSON_AddArrayToObject(o, "records") : NULL;
	int rc = arr ? 0 : -1;
	for (size_t i = 0; i < n && rc == 0; i++) {
		cJSON *r = cl_mesh_record_to_json(&recs[i]);
		if (!r || !cJSON_AddItemToArray(arr, r)) {
			cJSON_Delete(r);
			rc = -1;
		}
	}
	if (rc == 0)
		rc = cl_frame_build(out, o, NULL, 0);
	cJSON_Delete(o);
	return rc;
}

void cl_banstats_records_reply(nng_msg *reply, struct cl_verdict *v)
{
	cJSON *h = NULL;
	const unsigned char *body;
	size_t blen;
	char err[128];
	if (!reply || cl_frame_parse(reply, &h, &body, &blen, err, sizeof err) < 0) {
		cl_verdict_tempfail(v, NULL);
		return;
	}
	/* The verdict must agree with "ok": never report a refusal as stored or the reverse. */
	if (cl_verdict_from_json(h, v) < 0 || (v->action == CL_ACCEPT) != cl_json_bool(h, "ok", 0) ||
	    (v->action == CL_ACCEPT && v->code != 250))
		cl_verdict_tempfail(v, NULL);
	cJSON_Delete(h);
}
