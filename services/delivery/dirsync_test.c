/* dirsync_test.c - the group commit of directory fsyncs (dirsync.h): with a slow fake fsync and
 * 16 threads on one directory, every caller returns only after an fsync that started after its
 * call (its rename) finished, fewer fsyncs run than calls, never two at once on one directory;
 * a failed fsync fails every caller it covered; the real fsync works on a real directory. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dirsync.h"
#include "util/test.h"

#define THREADS 16
#define CALLS   40

static atomic_ulong issued;  /* "renames" made so far (a caller's ticket) */
static atomic_ulong durable; /* the highest ticket an ended fsync covers */
static atomic_int in_flight, overlap, fail_all;

static int fake_fsync(const char *path)
{
	(void)path;
	if (atomic_fetch_add(&in_flight, 1) != 0)
		atomic_store(&overlap, 1);
	unsigned long covered = atomic_load(&issued); /* every ticket issued before it starts */
	usleep(2000);
	unsigned long d = atomic_load(&durable);
	while (covered > d && !atomic_compare_exchange_weak(&durable, &d, covered))
		;
	atomic_fetch_sub(&in_flight, 1);
	if (atomic_load(&fail_all)) {
		errno = EIO;
		return -1;
	}
	return 0;
}

static atomic_int early, failed, wrong_errno;

static void *worker(void *arg)
{
	(void)arg;
	for (int i = 0; i < CALLS; i++) {
		unsigned long t = atomic_fetch_add(&issued, 1) + 1;
		errno = 0;
		int rc = dl_dirsync("/maildir/example.org/bob/new");
		if (rc < 0) {
			atomic_fetch_add(&failed, 1);
			if (errno != EIO)
				atomic_fetch_add(&wrong_errno, 1);
		} else if (atomic_load(&durable) < t) {
			atomic_fetch_add(&early, 1);
		}
	}
	return NULL;
}

static void run_threads(void)
{
	pthread_t th[THREADS];
	for (int i = 0; i < THREADS; i++)
		pthread_create(&th[i], NULL, worker, NULL);
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
}

static void test_shared_and_never_early(void)
{
	dl_dirsync_set_fsync(fake_fsync);
	unsigned long before = dl_dirsync_count();
	run_threads();
	unsigned long n = dl_dirsync_count() - before;
	CL_CHECK(atomic_load(&failed) == 0, "%d calls failed", atomic_load(&failed));
	CL_CHECK(atomic_load(&early) == 0, "%d callers answered before an fsync started after their rename ended",
		 atomic_load(&early));
	CL_CHECK(!atomic_load(&overlap), "two fsyncs of one directory ran at once");
	CL_CHECK(n < THREADS * CALLS / 2, "%lu fsyncs for %d calls: not shared", n, THREADS * CALLS);
	CL_CHECK(n >= CALLS, "%lu fsyncs: at least one per round of a thread", n);
}

static void test_failure_reaches_every_caller(void)
{
	dl_dirsync_set_fsync(fake_fsync);
	atomic_store(&fail_all, 1);
	atomic_store(&failed, 0);
	run_threads();
	CL_CHECK(atomic_load(&failed) == THREADS * CALLS, "%d of %d calls failed", atomic_load(&failed),
		 THREADS * CALLS);
	CL_CHECK(atomic_load(&wrong_errno) == 0, "errno is the fsync's (EIO)");
	atomic_store(&fail_all, 0);
}

static void test_real_directory(void)
{
	dl_dirsync_set_fsync(NULL);
	char dir[] = "/tmp/clement-dirsync-test-XXXXXX";
	CL_CHECK(mkdtemp(dir) != NULL, "mkdtemp");
	CL_CHECK(dl_dirsync(dir) == 0, "real fsync of a directory: %s", strerror(errno));
	errno = 0;
	CL_CHECK(dl_dirsync("/nonexistent/clement/new") < 0 && errno == ENOENT, "missing directory: ENOENT");
	rmdir(dir);
}

int main(void)
{
	test_shared_and_never_early();
	test_failure_reaches_every_caller();
	test_real_directory();
	return CL_TEST_END();
}
