/* password.c - argon2id hashing. See password.h. */
#include "auth/password.h"

#include <argon2.h>
#include <openssl/rand.h>
#include <string.h>

#include "util/buf.h"

#define PW_T_COST 2
#define PW_M_COST 19456 /* KiB */
#define PW_LANES  1
#define PW_SALT   16
#define PW_HASH   32

int cl_password_hash(const char *pw, char *out, size_t outlen)
{
	size_t len = strlen(pw);
	unsigned char salt[PW_SALT];
	if (len > CL_PASSWORD_MAX || RAND_bytes(salt, sizeof salt) != 1)
		return -1;
	int rc =
	    argon2id_hash_encoded(PW_T_COST, PW_M_COST, PW_LANES, pw, len, salt, sizeof salt, PW_HASH, out, outlen);
	return rc == ARGON2_OK ? 0 : -1;
}

int cl_password_verify(const char *pw, const char *encoded)
{
	size_t len = strlen(pw);
	if (!encoded || strncmp(encoded, "$argon2id$", 10) != 0) {
		cl_password_dummy_verify(pw);
		return 0;
	}
	if (len > CL_PASSWORD_MAX) {
		cl_password_dummy_verify("");
		return 0;
	}
	int rc = argon2id_verify(encoded, pw, len);
	if (rc == ARGON2_OK)
		return 1;
	if (rc == ARGON2_VERIFY_MISMATCH || rc == ARGON2_DECODING_FAIL || rc == ARGON2_SALT_TOO_SHORT)
		return 0;
	return rc == ARGON2_MEMORY_ALLOCATION_ERROR ? -1 : 0;
}

int cl_password_needs_rehash(const char *encoded)
{
	char want[64];
	cl_snprintf(want, sizeof want, "$argon2id$v=19$m=%d,t=%d,p=%d$", PW_M_COST, PW_T_COST, PW_LANES);
	return !encoded || strncmp(encoded, want, strlen(want)) != 0;
}

void cl_password_dummy_verify(const char *pw)
{
	/* A fixed hash of a random string with the current parameters: same work, never a match. */
	static const char dummy[] = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$"
				    "o1V2bXQm9b6o2b7cH0Vx1rS2l9gWvH8m3k0sK4uJ2Yc";
	size_t len = strlen(pw);
	argon2id_verify(dummy, pw, len > CL_PASSWORD_MAX ? CL_PASSWORD_MAX : len);
}
