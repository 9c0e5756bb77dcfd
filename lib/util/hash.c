/* hash.c - FNV-1a. See hash.h. */
#include "hash.h"

#include <string.h>

uint64_t cl_fnv1a(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

uint64_t cl_hash_str(const char *s)
{
	return cl_fnv1a(CL_FNV1A_INIT, s, strlen(s));
}
