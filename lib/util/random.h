/* random.h - unpredictable bytes and hex identifiers from the kernel's random source
 * (getrandom(2)).
 *
 * For every identifier that must differ between processes and hosts (session ids that key
 * log rows, tokens): rand() seeded with time and pid repeats itself in two replicas started in
 * the same second as pid 1 of their containers, and is guessable by anyone who knows the
 * start time. getrandom() blocks only until the kernel's pool is first initialised at boot. */
#ifndef CLEMENT_UTIL_RANDOM_H
#define CLEMENT_UTIL_RANDOM_H

#include <stddef.h>

/* cl_random_bytes - fill buf with n random bytes. 0, or -1 (errno set) when the kernel has
 * none to give (no getrandom(2)). */
int cl_random_bytes(void *buf, size_t n);
/* cl_random_hex - n random bytes as 2n lowercase hex digits, NUL-terminated, into out;
 * outlen must be at least 2n + 1. 0, or -1 (out too small, no randomness; out is then ""). */
int cl_random_hex(char *out, size_t outlen, size_t n);

#endif
