/* scratch_test.c - unit tests of the scratch-room reservation (scratch.h): the free space and
 * inodes a file system reports come from a replaced statvfs; the integration test
 * (test_scanner.py) fills a real tmpfs. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "scratch.h"
#include "util/test.h"

static unsigned long long free_bytes, free_inodes = 1000;
static int fail_errno;

static int fake_statvfs(const char *path, struct statvfs *st)
{
	(void)path;
	if (fail_errno) {
		errno = fail_errno;
		return -1;
	}
	memset(st, 0, sizeof *st);
	st->f_frsize = 4096;
	st->f_bavail = free_bytes / 4096;
	st->f_files = 100000;
	st->f_favail = free_inodes;
	return 0;
}

static void test_room_for_every_scan_in_flight(void)
{
	struct scratch s;
	scratch_init(&s, "/scratch");
	scratch_set_statvfs(fake_statvfs);
	char why[300];
	unsigned long long a = 0, b = 0, c = 0;
	size_t msg = 1 << 20; /* each scan reserves 4 MiB + 1 MiB */
	free_bytes = 11ULL << 20;
	CL_CHECK(scratch_reserve(&s, msg, &a, why, sizeof why) == 0 && a == (5ULL << 20), "first scan: %llu", a);
	CL_CHECK(scratch_reserve(&s, msg, &b, why, sizeof why) == 0, "second scan fits beside the first");
	CL_CHECK(scratch_reserve(&s, msg, &c, why, sizeof why) == -1, "a third would not fit in 11 MiB");
	CL_CHECK(strstr(why, "/scratch is full: 11.0 MiB free, 10.0 MiB held by scans in flight, this scan needs "
			     "5.0 MiB (CLEMENT_SCANNER_TMPDIR)") != NULL,
		 "why: %s", why);
	scratch_release(&s, a);
	CL_CHECK(scratch_reserve(&s, msg, &c, why, sizeof why) == 0, "room again once the first scan ended");
	scratch_release(&s, b);
	scratch_release(&s, c);
	CL_CHECK(s.reserved == 0, "every reservation given back: %llu", s.reserved);
	free_bytes = 0;
	CL_CHECK(scratch_reserve(&s, 10, &a, why, sizeof why) == -1, "a full disk refuses even a small scan");
	free_bytes = 11ULL << 20;
	free_inodes = 3;
	CL_CHECK(scratch_reserve(&s, 10, &a, why, sizeof why) == -1 && strstr(why, "3 inodes free"),
		 "no inodes left: %s", why);
	free_inodes = 1000;
	fail_errno = ENOENT;
	CL_CHECK(scratch_reserve(&s, 10, &a, why, sizeof why) == -1 &&
		     strcmp(why, "scratch directory /scratch: No such file or directory (CLEMENT_SCANNER_TMPDIR)") == 0,
		 "a missing directory is an error, not room: %s", why);
	fail_errno = 0;
	scratch_set_statvfs(NULL);
	scratch_fini(&s);
}

static void test_default_directory(void)
{
	struct scratch s;
	setenv("TMPDIR", "/var/tmp", 1);
	scratch_init(&s, "");
	CL_CHECK(strcmp(s.dir, "/var/tmp") == 0, "empty setting: $TMPDIR, as libclamav: %s", s.dir);
	scratch_fini(&s);
	unsetenv("TMPDIR");
	scratch_init(&s, NULL);
	CL_CHECK(strcmp(s.dir, "/tmp") == 0, "no $TMPDIR: /tmp: %s", s.dir);
	scratch_fini(&s);
	unsigned long long held = 0;
	char why[300];
	scratch_init(&s, "/tmp");
	CL_CHECK(scratch_reserve(&s, 100, &held, why, sizeof why) == 0, "the real /tmp has room: %s", why);
	scratch_release(&s, held);
	scratch_fini(&s);
}

int main(void)
{
	test_room_for_every_scan_in_flight();
	test_default_directory();
	return CL_TEST_END();
}
