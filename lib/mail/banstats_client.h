/* banstats_client.h - the client stub of the banstats service (docs/RPC.md, "banstats"), for
 * smtp-edge's side of the XMESH extension (docs/MESH.md section 7).
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

#endif
