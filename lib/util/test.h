/* test.h - the few macros Clement's table-driven unit tests use.
 *
 * A test binary runs its cases, prints one line per failure, then "N passed, N failed" and
 * exits non-zero if anything failed. */
#ifndef CLEMENT_UTIL_TEST_H
#define CLEMENT_UTIL_TEST_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

static int cl_test_passed, cl_test_failed;

#define CL_CHECK(cond, ...)                                                                                            \
	do {                                                                                                           \
		if (cond) {                                                                                            \
			cl_test_passed++;                                                                              \
		} else {                                                                                               \
			cl_test_failed++;                                                                              \
			fprintf(stderr, "%s:%d: FAILED: %s: ", __FILE__, __LINE__, #cond);                             \
			fprintf(stderr, __VA_ARGS__);                                                                  \
			fputc('\n', stderr);                                                                           \
		}                                                                                                      \
	} while (0)

#define CL_TEST_END()                                                                                                  \
	(printf("%s: %d passed, %d failed\n", __FILE__, cl_test_passed, cl_test_failed), cl_test_failed ? 1 : 0)

/* cl_test_free_port - a loopback TCP port nothing listens on right now (-1 on failure); a
 * test that binds it later retries when someone took it meanwhile. */
static inline int cl_test_free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t len = sizeof a;
	int port = -1;
	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

#endif
