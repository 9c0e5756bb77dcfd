/* preview.h - a safe look at a quarantined message: its header fields and the start of
 * its body as plain text.
 *
 * Nothing is rendered or decoded into markup: header values are unfolded (RFC 5322 section
 * 2.2.3), every byte that is not valid UTF-8 or is a control character (other than newline
 * and tab in the body) becomes U+FFFD, and both parts are bounded, so the frontend can show
 * them as text and a hostile message cannot break the JSON or the page. */
#ifndef CLEMENT_ADMIN_PREVIEW_H
#define CLEMENT_ADMIN_PREVIEW_H

#include <cjson/cJSON.h>
#include <stddef.h>

#define PREVIEW_MAX_HEADERS 100
#define PREVIEW_MAX_BODY    8192

/* preview_build - {"headers":[{"name","value"}...],"text":"...","truncated":bool} for the
 * message in p/n (caller owns the result). */
cJSON *preview_build(const unsigned char *p, size_t n);
/* preview_clean - append s (len bytes) to a new NUL-terminated string with the
 * replacements above; keep_nl keeps \n and \t. Caller frees. */
char *preview_clean(const unsigned char *s, size_t len, int keep_nl);

#endif
