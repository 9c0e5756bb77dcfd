/* scratch.c - room in libclamav's scratch directory (see scratch.h). */
#include "scratch.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"

static int (*_Atomic statvfs_fn)(const char *, struct statvfs *) = statvfs;

void scratch_set_statvfs(int (*fn)(const char *path, struct statvfs *st))
{
	statvfs_fn = fn ? fn : statvfs;
}

void scratch_init(struct scratch *s, const char *dir)
{
	memset(s, 0, sizeof *s);
	if (!dir || !dir[0]) { /* libclamav's cli_gettmpdir() */
		dir = getenv("TMPDIR");
		if (!dir || !dir[0])
			dir = "/tmp";
	}
	cl_strlcpy(s->dir, dir, sizeof s->dir);
	pthread_mutex_init(&s->lock, NULL);
}

void scratch_fini(struct scratch *s)
{
	pthread_mutex_destroy(&s->lock);
}

static double mib(unsigned long long b)
{
	return (double)b / (double)(1ULL << 20);
}

int scratch_reserve(struct scratch *s, size_t len, unsigned long long *held, char *why, size_t whylen)
{
	unsigned long long need = SCRATCH_FACTOR * (unsigned long long)len + SCRATCH_FLOOR;
	struct statvfs st;
	pthread_mutex_lock(&s->lock);
	if (statvfs_fn(s->dir, &st) != 0) {
		int e = errno;
		pthread_mutex_unlock(&s->lock);
		cl_snprintf(why, whylen, "scratch directory %s: %s (CLEMENT_SCANNER_TMPDIR)", s->dir, strerror(e));
		return -1;
	}
	unsigned long long avail = (unsigned long long)st.f_bavail * (unsigned long long)st.f_frsize;
	/* f_files 0: a file system without an inode count (nothing to check). */
	int inodes_ok = st.f_files == 0 || (unsigned long long)st.f_favail >= SCRATCH_MIN_INODES;
	if (avail < s->reserved + need || !inodes_ok) {
		unsigned long long inflight = s->reserved;
		pthread_mutex_unlock(&s->lock);
		if (!inodes_ok)
			cl_snprintf(why, whylen, "scratch directory %s has %llu inodes free (CLEMENT_SCANNER_TMPDIR)",
				    s->dir, (unsigned long long)st.f_favail);
		else
			cl_snprintf(why, whylen,
				    "scratch directory %s is full: %.1f MiB free, %.1f MiB held by scans in flight, "
				    "this scan needs %.1f MiB (CLEMENT_SCANNER_TMPDIR)",
				    s->dir, mib(avail), mib(inflight), mib(need));
		return -1;
	}
	s->reserved += need;
	pthread_mutex_unlock(&s->lock);
	*held = need;
	return 0;
}

void scratch_release(struct scratch *s, unsigned long long held)
{
	pthread_mutex_lock(&s->lock);
	s->reserved -= held;
	pthread_mutex_unlock(&s->lock);
}
