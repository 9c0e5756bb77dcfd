/* banstats_client.h - the codec of the banstats service (docs/RPC.md, "banstats"), used by
 * both ends: smtp-edge's side of the XMESH extension (docs/MESH.md section 7) encodes requests
 * and decodes replies, banstats decodes requests and encodes replies through it. Op and field
 * names exist only here (scripts/rpc-ops reads the CL_BANSTATS_OP_ names for the docs test).
 *
 * Requests are built as nng messages (the caller owns them, and hands them to cl_rpc_call or
 * cl_rpc_call_async); replies are read from the reply message, which stays the caller's.
 * Every failure maps to the safe answer: "not a peer" for mesh_peer (XMESH is not offered),
 * 451 4.3.0 for mesh_records (the peer retries later). */
#ifndef CLEMENT_MAIL_BANSTATS_CLIENT_H
#define CLEMENT_MAIL_BANSTATS_CLIENT_H

#include <nng/nng.h>
#include <stddef.h>

#include "mail/mesh_record.h"
#include "mail/verdict.h"

#define CL_BANSTATS_OP_PEER    "mesh_peer"
#define CL_BANSTATS_OP_RECORDS "mesh_records"

#define CL_BANSTATS_F_SID     "sid"
#define CL_BANSTATS_F_PEER    "peer"    /* request: the client certificate's fingerprint */
#define CL_BANSTATS_F_RECORDS "records" /* request: 1..CL_BANSTATS_MAX_RECORDS records */
#define CL_BANSTATS_F_OK      "ok"
#define CL_BANSTATS_F_ERROR   "error"
#define CL_BANSTATS_F_TRUSTED "trusted" /* mesh_peer reply */
#define CL_BANSTATS_F_NAME    "name"
#define CL_BANSTATS_F_TRUST   "trust"
#define CL_BANSTATS_F_STORED  "stored" /* mesh_records reply */
#define CL_BANSTATS_F_IGNORED "ignored"

#define CL_BANSTATS_MAX_RECORDS 100

/* A decoded request; the strings point into the request header (valid while it lives). */
struct cl_banstats_peer_request {
	const char *sid;
	const char *peer; /* as sent: the server checks its form */
};

struct cl_banstats_peer_answer {
	int trusted;
	char name[256];
	char trust[16]; /* "enforce" | "observe" */
};

struct cl_banstats_records_request {
	const char *sid;
	const char *peer;
	struct cl_mesh_record *recs; /* n records, malloc'd by the decoder: the caller frees it */
	size_t n;
};

/* The mesh_records reply: the verdict smtp-edge relays; ok is 1 exactly for an accept, and a
 * refusal's text is also its "error". */
struct cl_banstats_records_answer {
	struct cl_verdict v;
	long long stored, ignored; /* only when ok */
};

/* cl_banstats_fingerprint - the SHA-256 fingerprint of a DER certificate as 64 lowercase hex
 * digits (what mesh_peers.cert_fingerprint holds) into out[65]. 0 or -1. */
int cl_banstats_fingerprint(const unsigned char *der, size_t derlen, char out[65]);

/* cl_banstats_peer_req - the mesh_peer request for fingerprint fp. 0 or -1. */
int cl_banstats_peer_req(nng_msg **out, const char *sid, const char *fp);
/* cl_banstats_peer_reply - 1 when the reply says the certificate is an enabled peer (its name
 * copied into name, may be NULL), 0 otherwise, including for a NULL or malformed reply. */
int cl_banstats_peer_reply(nng_msg *reply, char *name, size_t namelen);

/* cl_banstats_records_req - the mesh_records request carrying n records (1..100). 0 or -1. */
int cl_banstats_records_req(nng_msg **out, const char *sid, const char *fp, const struct cl_mesh_record *recs,
			    size_t n);
/* cl_banstats_records_reply - the verdict to send to the peer as is; a NULL, malformed or
 * inconsistent reply gives 451 4.3.0. */
void cl_banstats_records_reply(nng_msg *reply, struct cl_verdict *v);

/* Encode and decode, both directions. Encoders return a new header (caller owns it) or NULL
 * when out of memory; decoders fill the struct. */
cJSON *cl_banstats_peer_req_encode(const char *sid, const char *fp);
void cl_banstats_peer_req_decode(const cJSON *req, struct cl_banstats_peer_request *r);
cJSON *cl_banstats_peer_answer_encode(const struct cl_banstats_peer_answer *a);
/* cl_banstats_peer_answer_decode - a->trusted is 1 only for "ok" and "trusted" both true. */
void cl_banstats_peer_answer_decode(const cJSON *h, struct cl_banstats_peer_answer *a);

cJSON *cl_banstats_records_req_encode(const char *sid, const char *fp, const struct cl_mesh_record *recs, size_t n);
/* cl_banstats_records_req_decode - 0, or -1 with why set to the refusal's text ("Malformed
 * request: ..." or "Malformed mesh record N: ..."); r->sid and r->peer are set either way,
 * r->recs only on success. */
int cl_banstats_records_req_decode(const cJSON *req, struct cl_banstats_records_request *r, char *why, size_t whylen);
cJSON *cl_banstats_records_answer_encode(const struct cl_banstats_records_answer *a);
/* cl_banstats_records_answer_decode - 0, or -1 (a->v is then 451 4.3.0) when the reply is
 * malformed or inconsistent (a verdict that disagrees with "ok", an accept that is not 250). */
int cl_banstats_records_answer_decode(const cJSON *h, struct cl_banstats_records_answer *a);

#endif
