/* rep.h - policy's reputation decision: the score of the facts smtp-edge gathered (the
 * "rep" object of connect, rcpt and log_session, docs/RPC.md) against
 * CLEMENT_DNSBL_THRESHOLD, acted on as CLEMENT_DNSBL_ACTION says. */
#ifndef CLEMENT_POLICY_REP_H
#define CLEMENT_POLICY_REP_H

#include <stddef.h>

#include "mail/policy_client.h"

enum pol_rep_action { REP_IGNORE = 0, REP_ENFORCE, REP_DROP };

struct pol_rep {
	int present;   /* the request carried facts */
	int score;     /* sum of the facts' weights */
	char why[300]; /* "127.0.0.2 is listed by bl.example, bl2.example" or the other findings */
};

/* pol_rep_action_parse - "ignore" | "enforce" | "drop"; -1 otherwise. */
int pol_rep_action_parse(const char *s);
/* pol_rep_score - the sum of the facts' weights (r not NULL), without the explanation:
 * what a decision needs first, since most scored clients stay below the threshold. */
int pol_rep_score(const struct cl_policy_rep *r);
/* pol_rep_read - the score and explanation of the decoded facts r (NULL: none sent) for ip. */
void pol_rep_read(const struct cl_policy_rep *r, const char *ip, struct pol_rep *out);
/* pol_rep_is_role - the local part is postmaster or abuse (RFC 2142): still accepted from
 * a client with a bad reputation, so that a listed sender can reach us about it. */
int pol_rep_is_role(const char *rcpt);

#endif
