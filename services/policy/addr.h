/* addr.h - bounded syntax checks for what SMTP clients send: HELO names and mailbox
 * addresses (RFC 5321 section 4.1.2 and 4.5.3.1 limits: local part 64 octets, domain 255,
 * path 256; RFC 1035 labels of at most 63). Quoted local parts are accepted; non-ASCII
 * only with SMTPUTF8 (RFC 6531). Nothing here allocates. */
#ifndef CLEMENT_POLICY_ADDR_H
#define CLEMENT_POLICY_ADDR_H

#include <stddef.h>

#define PA_LOCAL_MAX  64
#define PA_DOMAIN_MAX 255
#define PA_PATH_MAX   256

/* pa_domain_ok - a domain name (letters, digits, hyphens, dots; UTF-8 allowed when utf8)
 * or an address literal ("[192.0.2.1]", "[IPv6:...]"). */
int pa_domain_ok(const char *d, int utf8);
/* pa_helo_ok - a HELO/EHLO argument: a domain as above (a bare host name is tolerated, as
 * many clients send one) or an address literal. */
int pa_helo_ok(const char *h);
/* pa_split - check "local@domain" and copy its parts, both lower-cased (our tables store
 * lower case); 0 or -1. */
int pa_split(const char *addr, int utf8, char *local, size_t llen, char *domain, size_t dlen);

#endif
