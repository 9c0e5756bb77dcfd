/* transcript.h - an SMTP session transcript as a delegated admin may see it (issue #15,
 * finding 5): one session can carry mail for several tenants, and each must not read the
 * others' recipients.
 *
 * A transcript is smtp-edge's text: one line per command ("C: ...") or reply line
 * ("S: ..."), '\n'-terminated, printable ASCII. The rule, also in docs/openapi.yaml:
 *   - a "RCPT TO:" command whose address the caller may not see becomes
 *     TRANSCRIPT_HIDDEN_RCPT, and every reply line up to the next command (its reply)
 *     becomes TRANSCRIPT_HIDDEN_REPLY;
 *   - in every other line (the reply to DATA or BDAT, a refusal, any command), each
 *     occurrence of such an address (one with an '@') is replaced by TRANSCRIPT_HIDDEN_ADDR;
 *   - a RCPT command whose argument yields no address is hidden as well (fail closed).
 * Which addresses the caller may see is the caller's business (a callback); this file
 * only knows the text. Nothing here allocates except the returned strings. */
#ifndef CLEMENT_ADMIN_TRANSCRIPT_H
#define CLEMENT_ADMIN_TRANSCRIPT_H

#include <stddef.h>

#define TRANSCRIPT_HIDDEN_RCPT  "C: RCPT TO:<\xe2\x80\xa6hidden: another domain\xe2\x80\xa6>"
#define TRANSCRIPT_HIDDEN_REPLY "S: \xe2\x80\xa6hidden: reply to another domain's recipient\xe2\x80\xa6"
#define TRANSCRIPT_HIDDEN_ADDR  "\xe2\x80\xa6hidden\xe2\x80\xa6"
#define TRANSCRIPT_ADDR_MAX     320

/* transcript_visible_fn - 1 when addr (lower-case, "" when unparsable) may be shown. */
typedef int (*transcript_visible_fn)(const char *addr, void *arg);

/* transcript_rcpt_addr - when line[0..len) is a client's RCPT command ("C: RCPT TO:<a>"),
 * its address lower-cased (source route dropped) into out ("" when there is none or it
 * does not fit) and 1; 0 for any other line. */
int transcript_rcpt_addr(const char *line, size_t len, char *out, size_t outlen);

/* transcript_rcpts - the distinct addresses of t's RCPT commands, each followed by '\n'
 * (so "" when there are none). The caller frees; NULL when out of memory. */
char *transcript_rcpts(const char *t);

/* transcript_mask - t with the lines and addresses the caller may not see masked as above;
 * line ends are kept as they were. The caller frees; NULL when out of memory. */
char *transcript_mask(const char *t, transcript_visible_fn visible, void *arg);

#endif
