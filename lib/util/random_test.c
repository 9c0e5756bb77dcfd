/* random_test.c - cl_random_hex: shape, bounds, and that two draws differ. */
#include <string.h>

#include "util/random.h"
#include "util/test.h"

int main(void)
{
	char a[19], b[19], small[4];
	CL_CHECK(cl_random_hex(a, sizeof a, 9) == 0 && strlen(a) == 18, "18 digits for 9 bytes");
	CL_CHECK(strspn(a, "0123456789abcdef") == 18, "lowercase hex only: %s", a);
	CL_CHECK(cl_random_hex(b, sizeof b, 9) == 0 && strcmp(a, b) != 0, "two draws differ: %s %s", a, b);
	CL_CHECK(cl_random_hex(small, sizeof small, 2) == -1 && small[0] == '\0', "no room for the NUL");
	CL_CHECK(cl_random_hex(small, sizeof small, 1) == 0 && strlen(small) == 2, "exact fit");
	char big[200];
	CL_CHECK(cl_random_hex(big, sizeof big, 65) == -1, "more than 64 bytes is refused");
	unsigned char z[4096] = {0}, zero[4096] = {0};
	CL_CHECK(cl_random_bytes(z, sizeof z) == 0 && memcmp(z, zero, sizeof z) != 0, "large request filled");
	return CL_TEST_END();
}
