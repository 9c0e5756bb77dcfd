/* main.c - clement-passwd: print the argon2id hash of a password read from standard input,
 * in the form stored in users.password_hash. Used by `make run` to seed the demo accounts
 * and by admins to create the first root admin by SQL. The password is never echoed. */
#include <stdio.h>
#include <string.h>

#include "auth/password.h"

int main(int argc, char **argv)
{
	if (argc > 1) {
		int help = strcmp(argv[1], "--help") == 0;
		fprintf(help ? stdout : stderr,
			"Usage: clement-passwd < password-file\n"
			"Reads one password (the first line of standard input, at most %d bytes) and prints its\n"
			"argon2id hash for users.password_hash.\n",
			CL_PASSWORD_MAX);
		return help ? 0 : 2;
	}
	char pw[CL_PASSWORD_MAX + 2];
	if (!fgets(pw, sizeof pw, stdin)) {
		fprintf(stderr, "clement-passwd: no password on standard input\n");
		return 2;
	}
	size_t n = strcspn(pw, "\r\n");
	if (n > CL_PASSWORD_MAX || (pw[n] == '\0' && !feof(stdin))) {
		fprintf(stderr, "clement-passwd: password longer than %d bytes\n", CL_PASSWORD_MAX);
		return 2;
	}
	pw[n] = '\0';
	char hash[CL_PASSWORD_HASH_MAX];
	int rc = cl_password_hash(pw, hash, sizeof hash);
	memset(pw, 0, sizeof pw);
	if (rc < 0) {
		fprintf(stderr, "clement-passwd: hashing failed\n");
		return 1;
	}
	printf("%s\n", hash);
	return 0;
}
