/* password_test.c - argon2id hashing round trip, mismatch, rehash detection, bounds. */
#include <string.h>

#include "auth/password.h"
#include "util/test.h"

int main(void)
{
	char h1[CL_PASSWORD_HASH_MAX], h2[CL_PASSWORD_HASH_MAX];
	CL_CHECK(cl_password_hash("correct horse", h1, sizeof h1) == 0, "hash");
	CL_CHECK(strncmp(h1, "$argon2id$v=19$m=19456,t=2,p=1$", 31) == 0, "encoded form with parameters: %s", h1);
	CL_CHECK(cl_password_hash("correct horse", h2, sizeof h2) == 0 && strcmp(h1, h2) != 0, "salted: hashes differ");
	CL_CHECK(cl_password_verify("correct horse", h1) == 1, "right password");
	CL_CHECK(cl_password_verify("correct horsE", h1) == 0, "wrong password");
	CL_CHECK(cl_password_verify("x", "plaintext") == 0, "non-hash never matches");
	CL_CHECK(cl_password_verify("x", NULL) == 0, "no hash never matches");
	CL_CHECK(cl_password_needs_rehash(h1) == 0, "current parameters");
	CL_CHECK(cl_password_needs_rehash("$argon2id$v=19$m=4096,t=3,p=1$abc$def") == 1, "old parameters");
	char big[CL_PASSWORD_MAX + 2];
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	CL_CHECK(cl_password_hash(big, h2, sizeof h2) == -1, "over-long password refused");
	return CL_TEST_END();
}
