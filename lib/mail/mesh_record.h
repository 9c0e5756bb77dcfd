/* mesh_record.h - one ban record of Clement's trusted mesh (docs/MESH.md), in its two forms:
 * the arguments of an SMTP `XMESH` command and the JSON object of the banstats RPC op
 * `mesh_records` (docs/RPC.md).
 *
 * Both the sender (banstats' push client) and the receiver (smtp-edge, which hands records to
 * banstats) use this one parser and serializer, so the two ends can never disagree on the
 * grammar. Parsing is bounded and total: any input, of any length, gives either a valid record
 * or -1 with a one-line reason fit for an SMTP reply; nothing a peer sends can crash it.
 *
 * The record is a plain value (fixed-size fields, no pointers): no ownership questions. */
#ifndef CLEMENT_MAIL_MESH_RECORD_H
#define CLEMENT_MAIL_MESH_RECORD_H

#include <cjson/cJSON.h>
#include <stddef.h>

/* The ESMTP verb and EHLO keyword (docs/MESH.md section 3), and the protocol version sent as the
 * keyword's parameter. */
#define CL_MESH_VERB        "XMESH"
#define CL_MESH_VERSION     1
#define CL_MESH_VERSION_STR "1" /* the same, for the EHLO line */
/* Longest XMESH command line, CRLF included. RFC 5321 4.5.3.1.4 allows an extension to raise
 * the 512-octet command limit; a 200-octet reason in xtext can take 600 octets alone. */
#define CL_MESH_LINE_MAX    1024
#define CL_MESH_REASON_MAX  200 /* octets, decoded; the bans.reason column's bound */
#define CL_MESH_ORIGIN_MAX  253 /* a domain name (RFC 1035 2.3.4) */
#define CL_MESH_HOPS_MAX    16  /* the bans.hops column's bound; each service may refuse fewer */
#define CL_MESH_SCORE_MAX   1000000.0
#define CL_MESH_EXPIRES_MAX 253402300799LL /* 9999-12-31T23:59:59Z */

enum cl_mesh_action { CL_MESH_BAN = 0, CL_MESH_LIFT };

struct cl_mesh_record {
	enum cl_mesh_action action;
	char network[64];                    /* canonical "addr/len", host bits zero */
	char reason[CL_MESH_REASON_MAX + 1]; /* "" allowed only for LIFT */
	double score;                        /* 0 .. CL_MESH_SCORE_MAX; 0 for LIFT */
	long long expires;                   /* unix seconds; 0 = no expiry (and for LIFT) */
	char origin[CL_MESH_ORIGIN_MAX + 1]; /* server that first issued the record, lowercase */
	int hops;                            /* relays already passed: 0 when sent by its origin */
};

/* cl_mesh_record_parse - parse the arguments of an XMESH command (the text after "XMESH ",
 * without CRLF), e.g. "BAN 192.0.2.0/24 EXPIRES=1764115200 SCORE=55 HOPS=0
 * ORIGIN=mx.example.org REASON=too+20many+20unknown+20recipients".
 * Returns 0 with *r filled, or -1 with err holding the reason (r is then unspecified). */
int cl_mesh_record_parse(const char *args, size_t len, struct cl_mesh_record *r, char *err, size_t errlen);

/* cl_mesh_record_format - the XMESH arguments for r (no verb, no CRLF) into out.
 * Returns 0, or -1 when r is invalid or out is too small. */
int cl_mesh_record_format(const struct cl_mesh_record *r, char *out, size_t outlen);

/* cl_mesh_record_to_json - a new JSON object for r (caller owns it, cJSON_Delete), or NULL
 * when out of memory. */
cJSON *cl_mesh_record_to_json(const struct cl_mesh_record *r);

/* cl_mesh_record_from_json - read and validate one record object (same rules as the parser).
 * Returns 0, or -1 with err. */
int cl_mesh_record_from_json(const cJSON *o, struct cl_mesh_record *r, char *err, size_t errlen);

/* cl_mesh_network_parse - "addr" or "addr/len" (IPv4 or IPv6) into canonical "addr/len".
 * Host bits beyond len must be zero (PostgreSQL's cidr refuses them too).
 * Returns 0, or -1 with err. */
int cl_mesh_network_parse(const char *s, size_t len, char *out, size_t outlen, char *err, size_t errlen);

/* cl_mesh_origin_parse - a server name as ORIGIN accepts it (a domain name), lowercased into
 * out (at least CL_MESH_ORIGIN_MAX + 1 bytes). Returns 0, or -1 when s is not one. */
int cl_mesh_origin_parse(const char *s, char *out, size_t outlen);

/* cl_mesh_action_str - "BAN" / "LIFT". */
const char *cl_mesh_action_str(enum cl_mesh_action a);

#endif
