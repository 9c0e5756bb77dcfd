/* scanner_client.h - the codec of the scanner service (docs/RPC.md, "scanner"), used by both
 * ends: smtp-edge encodes the scan request and decodes its reply, the scanner decodes the
 * request and encodes the reply through it. Op and field names exist only here. */
#ifndef CLEMENT_MAIL_SCANNER_CLIENT_H
#define CLEMENT_MAIL_SCANNER_CLIENT_H

#include <nng/nng.h>
#include <stddef.h>

#include "mail/verdict.h"

/* The op (docs/RPC.md's table; the scanner's op table names it too). */
#define CL_SCANNER_OP_SCAN "scan"

#define CL_SCANNER_F_SID           "sid"
#define CL_SCANNER_F_IP            "ip"
#define CL_SCANNER_F_HELO          "helo"
#define CL_SCANNER_F_SENDER        "sender"
#define CL_SCANNER_F_RCPTS         "rcpts"
#define CL_SCANNER_F_MSGID         "msgid"
#define CL_SCANNER_F_AUTH_USER     "auth_user"
#define CL_SCANNER_F_TLS           "tls"
#define CL_SCANNER_F_MTA           "mta"
#define CL_SCANNER_F_HOSTNAME      "hostname"
#define CL_SCANNER_F_CONTENT       "content" /* request: the group policy; reply: the content verdict */
#define CL_SCANNER_F_VERDICT       "verdict"
#define CL_SCANNER_F_SIGNATURE     "signature"
#define CL_SCANNER_F_ERROR         "error"
#define CL_SCANNER_F_ACTION        "action"
#define CL_SCANNER_F_CODE          "code"
#define CL_SCANNER_F_ENH           "enh"
#define CL_SCANNER_F_TEXT          "text"
#define CL_SCANNER_F_REASON_CLASS  "reason_class"
#define CL_SCANNER_F_SCORE         "score"
#define CL_SCANNER_F_RSPAMD_ACTION "rspamd_action"
#define CL_SCANNER_F_SYMBOLS       "symbols"
#define CL_SCANNER_F_UNSCANNED     "unscanned"
#define CL_SCANNER_F_HEADERS       "headers"

enum cl_scan_result { CL_SCAN_CLEAN = 0, CL_SCAN_INFECTED, CL_SCAN_ERROR };

/* The scan request's envelope: what the scanner tells Rspamd about the transaction (all
 * borrowed; NULL = absent). */
struct cl_scan_env {
	const char *sid, *ip, *helo, *sender, *msgid, *auth_user, *tls, *mta;
	const char *hostname; /* the client's verified PTR name (forward-confirmed), or NULL */
	const char *const *rcpts;
	size_t nrcpt;
	const struct cl_content_policy *content; /* the recipients' group policy, or NULL */
};

/* The content verdict (Rspamd with the group's policy; issue 18). */
enum cl_content_action {
	CL_CONTENT_ACCEPT = 0,
	CL_CONTENT_TAG,
	CL_CONTENT_QUARANTINE,
	CL_CONTENT_REJECT,
	CL_CONTENT_DEFER
};

struct cl_scan_content {
	int present; /* 0: the scanner asked no Rspamd (ClamAV only) */
	enum cl_content_action action;
	struct cl_verdict v; /* the reply to DATA for reject and defer; the reason otherwise */
	char reason_class[16];
	double score;
	char symbols[400];
	int unscanned; /* Rspamd failed and the scanner let the message through */
	char *headers; /* header fields to add on top of the message (CRLF each); malloc'd, or NULL */
};

/* cl_scanner_scan_req - the scan request with the envelope and the whole message as body
 * (copied into the new message, which the caller owns). 0 or -1. */
int cl_scanner_scan_req(nng_msg **out, const struct cl_scan_env *env, const void *body, size_t blen);
/* cl_scanner_scan_reply - read a scan reply (still the caller's). A malformed reply is
 * CL_SCAN_ERROR. sig receives the signature name of an infected message (sanitised:
 * printable ASCII only). c (may be NULL) receives the content verdict; a "content" object
 * that is malformed makes the whole reply CL_SCAN_ERROR. Free c with cl_scan_content_free. */
enum cl_scan_result cl_scanner_scan_reply(nng_msg *reply, char *sig, size_t siglen, struct cl_scan_content *c);
void cl_scan_content_free(struct cl_scan_content *c);

/* A decoded scan request: env's strings point into the request header (valid while it lives),
 * NULL when absent; env.rcpts (the string entries of "rcpts") is malloc'd: free it with
 * cl_scanner_scan_request_free. content is the group policy (zeroed when absent), and
 * env.content points at it when the request carried one. */
struct cl_scanner_scan_request {
	struct cl_scan_env env;
	struct cl_content_policy content;
};

/* The content verdict as the scanner sends it (the "content" object of the reply). */
struct cl_scan_content_reply {
	enum cl_content_action action;
	int code;
	const char *enh, *text, *headers;
	const char *reason_class; /* NULL: absent */
	int unscanned;
	int scored; /* Rspamd answered: score, rspamd_action and symbols are sent */
	double score;
	const char *rspamd_action, *symbols;
};

/* Encode and decode, both directions. Encoders return a new header (caller owns it) or NULL
 * when out of memory. */
cJSON *cl_scanner_scan_req_encode(const struct cl_scan_env *env);
/* cl_scanner_scan_req_decode - 0, or -1 when out of memory (nothing to free then). */
int cl_scanner_scan_req_decode(const cJSON *req, struct cl_scanner_scan_request *r);
void cl_scanner_scan_request_free(struct cl_scanner_scan_request *r);
/* cl_scanner_scan_reply_encode - {"v":1,"verdict":...} with the signature of an infected
 * message or the error of a failed scan. */
cJSON *cl_scanner_scan_reply_encode(enum cl_scan_result r, const char *signature, const char *error);
/* cl_scanner_content_encode - add the reply's "content" object. 0 or -1. */
int cl_scanner_content_encode(cJSON *reply, const struct cl_scan_content_reply *c);
/* cl_scanner_scan_reply_decode - as cl_scanner_scan_reply, from a parsed header (NULL: error). */
enum cl_scan_result cl_scanner_scan_reply_decode(const cJSON *h, char *sig, size_t siglen, struct cl_scan_content *c);

#endif
