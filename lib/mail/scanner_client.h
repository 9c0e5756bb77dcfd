/* scanner_client.h - the client stub of the scanner service (docs/RPC.md, "scanner"). */
#ifndef CLEMENT_MAIL_SCANNER_CLIENT_H
#define CLEMENT_MAIL_SCANNER_CLIENT_H

#include <nng/nng.h>
#include <stddef.h>

#include "mail/verdict.h"

/* The op (docs/RPC.md's table; the scanner's op table names it too). */
#define CL_SCANNER_OP_SCAN "scan"

enum cl_scan_result { CL_SCAN_CLEAN = 0, CL_SCAN_INFECTED, CL_SCAN_ERROR };

/* What the scanner tells Rspamd about the transaction (all borrowed; NULL = absent). */
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

#endif
