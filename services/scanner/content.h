/* content.h - the content verdict (issue 18): Rspamd's answer, asked in a thread while
 * libclamav scans the same bytes, and the recipients' group policy make one decision that
 * smtp-edge applies as it is (docs/RPC.md, the scan reply's "content").
 *
 * The decision, in order: Rspamd failed -> 451 4.3.0 (or, with CLEMENT_RSPAMD_FAIL_OPEN,
 * delivered unscanned); "enforce DMARC p=reject" and DMARC_POLICY_REJECT -> 550 5.7.1;
 * Rspamd's reject or a score at the reject score -> 550 5.7.1; Rspamd's soft reject (its
 * greylist module, ratelimit) -> 451 4.7.1; the quarantine score -> held (or refused, see
 * content_refuse_unsigned); the tag score (or Rspamd's add header
 * when the group set none) -> X-Spam-* headers; else accepted. Each delivered message gets an
 * Authentication-Results header naming the edge's host. */
#ifndef CLEMENT_SCANNER_CONTENT_H
#define CLEMENT_SCANNER_CONTENT_H

#include <cjson/cJSON.h>
#include <pthread.h>

#include "mail/scanner_client.h"
#include "mail/verdict.h" /* struct cl_content_policy: the group's thresholds */
#include "rspamd.h"

/* The codec's actions (lib/mail/scanner_client.h), under the scanner's short names. */
enum content_action {
	CA_ACCEPT = CL_CONTENT_ACCEPT,
	CA_TAG = CL_CONTENT_TAG,
	CA_QUARANTINE = CL_CONTENT_QUARANTINE,
	CA_REJECT = CL_CONTENT_REJECT,
	CA_DEFER = CL_CONTENT_DEFER
};

struct content_verdict {
	enum content_action action;
	int code;
	char enh[16];
	char text[300];
	const char *reason_class; /* "spam", "dmarc", "greylist", "temporary" or NULL */
	char headers[1600];       /* header fields to add, each ending in CRLF */
	int unscanned;            /* Rspamd failed and CLEMENT_RSPAMD_FAIL_OPEN let it through */
};

/* content_decide - the verdict for r under p; host names the Authentication-Results. */
void content_decide(const struct rspamd_result *r, const struct cl_content_policy *p, int fail_open, const char *host,
		    struct content_verdict *v);

/* content_refuse_unsigned - issue 19: v (content_decide's verdict under p) says "held" and
 * nothing vouches for the message, no DKIM signature of any domain passing, and the group set
 * no reject score of its own: refuse it in-session instead, 550 5.7.1 (docs/EFFECTIVENESS.md
 * says why this default is safe). A message some domain signed stays held (its signer can be
 * told and the user can release it); a group's own reject score is never second-guessed.
 * Returns 1 when v was changed. */
int content_refuse_unsigned(const struct rspamd_result *r, const struct cl_content_policy *p,
			    struct content_verdict *v);

/* content_settings - the Settings header Rspamd gets for p (its actions at the group's
 * scores), or "" when the group set none. */
void content_settings(const struct cl_content_policy *p, char *out, size_t outlen);

/* content_to_json - add "content":{...} (v and r's score and symbols) to o. 0 or -1. */
int content_to_json(const struct content_verdict *v, const struct rspamd_result *r, cJSON *o);

const char *content_action_str(enum content_action a);

#endif
