/* utf8.h - the one UTF-8 grammar of Clement: RFC 3629 (no overlong forms, no surrogates,
 * nothing above U+10FFFF).
 *
 * Whoever checks or cleans text (addresses, mesh records, log rows, quarantine previews,
 * delivery reasons) asks here, so that a string one part accepts is never refused or
 * rewritten by another. */
#ifndef CLEMENT_UTIL_UTF8_H
#define CLEMENT_UTIL_UTF8_H

#include <stddef.h>

/* cl_utf8_len - the length (1-4) of the well-formed UTF-8 sequence that starts p[0..n), or
 * 0 when p holds none there (a bad lead or continuation byte, an overlong form, a surrogate,
 * a code point above U+10FFFF, or a sequence cut short by n). n must be at least 1. The
 * bytes are read in order and reading stops at the first that fails, so a NUL ends any
 * sequence. */
size_t cl_utf8_len(const unsigned char *p, size_t n);

/* cl_utf8_valid - 1 when p[0..n) is well-formed UTF-8, else 0. */
int cl_utf8_valid(const unsigned char *p, size_t n);

#endif
