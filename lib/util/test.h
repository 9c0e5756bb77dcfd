/* test.h - the few macros Clement's table-driven unit tests use.
 *
 * A test binary runs its cases, prints one line per failure, then "N passed, N failed" and
 * exits non-zero if anything failed. */
#ifndef CLEMENT_UTIL_TEST_H
#define CLEMENT_UTIL_TEST_H

#include <stdio.h>

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

#endif
