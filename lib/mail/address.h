/* address.h - the one bounded RFC 5321 path parser: MAIL FROM / RCPT TO paths and their
 * ESMTP parameters.
 *
 * Input is the text after "MAIL FROM:" or "RCPT TO:" (without CRLF), as the peer sent it.
 * Nothing is allocated; the parsed address is copied into a fixed buffer. The parser is
 * deliberately stricter than the RFC 5321 grammar where real mail never goes: unquoted
 * local parts may not hold shell or template metacharacters ($ ` ' { } | ; \ and
 * quotes), quoted local parts hold printable ASCII only (UTF-8 with SMTPUTF8), domains must
 * be fully qualified, and control bytes anywhere are refused. What passes this parser is
 * safe to put in a log line, a header and a query without further escaping. */
#ifndef CLEMENT_MAIL_ADDRESS_H
#define CLEMENT_MAIL_ADDRESS_H

#include <stddef.h>

#define CL_ADDR_MAX        256 /* RFC 5321 4.5.3.1.3: a path is at most 256 octets */
#define CL_ADDR_LOCAL_MAX  64  /* 4.5.3.1.1 */
#define CL_ADDR_DOMAIN_MAX 255 /* 4.5.3.1.2 */

enum cl_addr_err {
	CL_ADDR_OK = 0,
	CL_ADDR_SYNTAX,        /* not a path: 501 */
	CL_ADDR_NOT_FQDN,      /* missing or unqualified domain: 553 */
	CL_ADDR_TOO_LONG,      /* over the RFC limits: 501 */
	CL_ADDR_UTF8,          /* non-ASCII without SMTPUTF8, or invalid UTF-8: 553 5.6.7 */
	CL_ADDR_PARAM_SYNTAX,  /* a parameter is malformed (or encodes control bytes): 501 */
	CL_ADDR_PARAM_UNKNOWN, /* a parameter we did not announce: 555 5.5.4 */
	CL_ADDR_BAD_BODY,      /* BODY= other than 7BIT/8BITMIME: 501 */
};

enum cl_addr_kind { CL_ADDR_MAIL, CL_ADDR_RCPT };

struct cl_addr {
	char addr[CL_ADDR_MAX + 1]; /* "local@domain", "" for the null path <> */
	int null_path;
	int non_ascii; /* the address holds UTF-8 */
	/* MAIL parameters (RFC 1870 SIZE, RFC 6152 BODY, RFC 6531 SMTPUTF8, RFC 4954 AUTH) */
	long long size; /* SIZE=, 0 when absent */
	int body_8bit;
	int smtputf8;
};

/* cl_addr_parse - parse "<path> [params]" (n bytes at s, no CRLF). kind says which
 * command (the null path and MAIL's parameters are allowed only for MAIL); utf8_ok says
 * whether the transaction declared SMTPUTF8 (for RCPT; for MAIL the SMTPUTF8 parameter
 * itself decides). Fills *out and returns CL_ADDR_OK or the error class. */
enum cl_addr_err cl_addr_parse(const char *s, size_t n, enum cl_addr_kind kind, int utf8_ok, struct cl_addr *out);

/* cl_addr_err_str - a short human reason for an error class. */
const char *cl_addr_err_str(enum cl_addr_err e);

#endif
