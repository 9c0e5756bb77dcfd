/* password.h - password hashing: argon2id (libargon2) in the standard encoded form
 * "$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>", with OWASP's current minimum parameters
 * (19 MiB, 2 iterations, 1 lane) and a 16-byte random salt.
 *
 * The parameters travel inside the stored string, so a hash made with older parameters still
 * verifies; cl_password_needs_rehash() says when to re-hash at the next successful login. */
#ifndef CLEMENT_UTIL_PASSWORD_H
#define CLEMENT_UTIL_PASSWORD_H

#include <stddef.h>

#define CL_PASSWORD_MAX      1024 /* longer passwords are refused, not truncated */
#define CL_PASSWORD_HASH_MAX 256

/* cl_password_hash - hash pw into out (NUL-terminated). 0, or -1 (too long, no randomness). */
int cl_password_hash(const char *pw, char *out, size_t outlen);
/* cl_password_verify - 1 when pw matches encoded, 0 when not (or encoded is not a hash we
 * know: such an account cannot log in with a password), -1 on internal error. */
int cl_password_verify(const char *pw, const char *encoded);
/* cl_password_needs_rehash - 1 when encoded uses other parameters than the current ones. */
int cl_password_needs_rehash(const char *encoded);
/* cl_password_dummy_verify - spend the same time as a real verification, for unknown users,
 * so that "no such user" and "wrong password" cannot be told apart by timing. */
void cl_password_dummy_verify(const char *pw);

#endif
