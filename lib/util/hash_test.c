/* hash_test.c - FNV-1a against the reference values, and the two entry points agreeing. */
#include <string.h>

#include "util/hash.h"
#include "util/test.h"

int main(void)
{
	/* Reference values of 64-bit FNV-1a (Fowler, Noll, Vo). */
	CL_CHECK(cl_hash_str("") == 0xcbf29ce484222325ULL, "empty");
	CL_CHECK(cl_hash_str("a") == 0xaf63dc4c8601ec8cULL, "\"a\"");
	CL_CHECK(cl_hash_str("foobar") == 0x85944171f73967e8ULL, "\"foobar\"");
	CL_CHECK(cl_fnv1a(CL_FNV1A_INIT, "foobar", 6) == cl_hash_str("foobar"), "bytes and string agree");
	CL_CHECK(cl_fnv1a(cl_fnv1a(CL_FNV1A_INIT, "foo", 3), "bar", 3) == cl_hash_str("foobar"), "continued");
	return CL_TEST_END();
}
