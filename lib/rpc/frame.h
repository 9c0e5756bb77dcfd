/* frame.h - Clement's RPC frame: one nng message = JSON header [NUL raw-body].
 *
 * The header is a JSON object with "v":1 and "op" (requests) or the reply fields; when a
 * body travels (a message to scan or deliver), one NUL byte separates it from the header
 * and the rest of the nng message is the body, byte for byte. Parsing is bounded: the header
 * may be at most CL_FRAME_MAX_HEADER bytes and must be a JSON object no deeper than
 * CL_FRAME_MAX_DEPTH. Nothing a peer sends can crash the parser. */
#ifndef CLEMENT_RPC_FRAME_H
#define CLEMENT_RPC_FRAME_H

#include <cjson/cJSON.h>
#include <nng/nng.h>
#include <stddef.h>

#define CL_FRAME_VERSION    1
#define CL_FRAME_MAX_HEADER (256 * 1024)
#define CL_FRAME_MAX_DEPTH  16

/* cl_frame_build - new nng message holding hdr (serialised) and, when body is not NULL,
 * a NUL and blen body bytes. Returns 0 and *out (caller owns it), or -1. */
int cl_frame_build(nng_msg **out, const cJSON *hdr, const void *body, size_t blen);

/* cl_frame_build_owned - cl_frame_build that takes hdr over (freed here, also on failure; a
 * NULL hdr, an encoder that ran out of memory, is -1): what every codec's builder ends with. */
int cl_frame_build_owned(nng_msg **out, cJSON *hdr, const void *body, size_t blen);

/* cl_frame_header - the parsed header of a reply (caller frees with cJSON_Delete), or NULL
 * when msg is NULL or not a valid frame: what every codec's reply reader starts with. */
cJSON *cl_frame_header(nng_msg *msg);

/* cl_frame_parse - split a received frame. On success returns 0, *hdr is a new cJSON object
 * (caller frees with cJSON_Delete) and body, blen point into msg (NULL/0 when no body);
 * they stay valid while msg lives. On failure returns -1 with err saying why; msg is
 * untouched and still the caller's. */
int cl_frame_parse(nng_msg *msg, cJSON **hdr, const unsigned char **body, size_t *blen, char *err, size_t errlen);

/* cl_frame_parse_bytes - the same over a plain byte range (used by the fuzz target). */
int cl_frame_parse_bytes(const unsigned char *p, size_t n, cJSON **hdr, const unsigned char **body, size_t *blen,
			 char *err, size_t errlen);

/* Small typed getters for header fields: return the value, or def when missing/wrong type. */
const char *cl_json_str(const cJSON *o, const char *key, const char *def);
long long cl_json_int(const cJSON *o, const char *key, long long def);
int cl_json_bool(const cJSON *o, const char *key, int def);

/* The same for an item already found (NULL: def), e.g. by cl_json_fields. */
const char *cl_json_as_str(const cJSON *v, const char *def);
long long cl_json_as_int(const cJSON *v, long long def);
int cl_json_as_bool(const cJSON *v, int def);

/* cl_json_fields - out[i] = the first member of object o named keys[i] (NULL when none), for
 * all n keys in one pass over o's members: what n cJSON_GetObjectItemCaseSensitive calls
 * return, without walking the member list once per key (a decoder asking for twenty fields,
 * most of them absent, spent a microsecond in strcmp). No key may be empty. */
void cl_json_fields(const cJSON *o, const char *const *keys, size_t n, const cJSON **out);

#endif
