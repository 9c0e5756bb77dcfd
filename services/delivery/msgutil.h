/* msgutil.h - small, bounded helpers over message bytes and addresses for delivery.
 *
 * Nothing here allocates except dl_crlf_normalize (into a caller's cl_buf). */
#ifndef CLEMENT_DELIVERY_MSGUTIL_H
#define CLEMENT_DELIVERY_MSGUTIL_H

#include <stddef.h>

#include "util/buf.h"

/* dl_split_address - "local@domain" into a lower-cased local part and domain that are safe
 * as path components (no '/', NUL, control bytes, not "." or ".." or starting with '.').
 * Returns 0, or -1 when the address is not usable as a Maildir path. */
int dl_split_address(const char *addr, char *local, size_t locallen, char *domain, size_t domainlen);

/* dl_header_value - the unfolded value of the first header `name` (case-insensitive) in
 * the header section of msg, copied into out (truncated to fit, control bytes dropped).
 * Returns 0 when found, -1 when not (out is then ""). */
int dl_header_value(const unsigned char *msg, size_t len, const char *name, char *out, size_t outlen);

/* dl_text_sanitize - make s (in place) valid UTF-8 for a PostgreSQL text column: bytes that
 * are not part of a valid UTF-8 sequence and control bytes become '?'. */
void dl_text_sanitize(char *s);

/* dl_crlf_normalize - append msg to out with every line ending CRLF (bare LF and bare CR
 * become CRLF; RFC 5321 section 2.3.8) and a final CRLF added if missing. 0 or -1 (bound). */
int dl_crlf_normalize(const unsigned char *msg, size_t len, struct cl_buf *out);

/* dl_delivery_headers - the trace fields local delivery puts on top of a message:
 * "Return-Path: <sender>" (RFC 5321 section 4.4: the final delivery MTA records the reverse
 * path; "" is the null sender, <>) and "Delivered-To: rcpt" (as Postfix's local and Dovecot's
 * LDA write it, which loop detection and filters read), each ending in CRLF, into out.
 * Control bytes (CR, LF among them) are never copied: an address cannot add a header.
 * Returns the length written, or -1 when out is too small. */
int dl_delivery_headers(const char *sender, const char *rcpt, char *out, size_t outlen);

#endif
