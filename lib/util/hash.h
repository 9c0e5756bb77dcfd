/* hash.h - 64-bit FNV-1a: the one non-cryptographic hash for in-memory tables (buckets,
 * cache slots) and change fingerprints. Not for anything an attacker must not steer. */
#ifndef CLEMENT_UTIL_HASH_H
#define CLEMENT_UTIL_HASH_H

#include <stddef.h>
#include <stdint.h>

#define CL_FNV1A_INIT 0xcbf29ce484222325ULL

/* cl_fnv1a - FNV-1a over n bytes, continuing from h (CL_FNV1A_INIT to start). */
uint64_t cl_fnv1a(uint64_t h, const void *p, size_t n);
/* cl_hash_str - FNV-1a of a NUL-terminated string. */
uint64_t cl_hash_str(const char *s);

#endif
