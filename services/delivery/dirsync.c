/* dirsync.c - group commit of directory fsyncs (see dirsync.h). */
#include "dirsync.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#define DS_PATH 1024

/* One caller waiting for its directory to be durable (on the caller's stack). */
struct ds_waiter {
	struct ds_waiter *next;
	int done, rc, err;
};

struct ds_slot {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	char path[DS_PATH];        /* the directory this slot serves while in use */
	struct ds_waiter *pending; /* joined, not yet in a running fsync */
	int busy;                  /* a leader's fsync is running */
	int users;                 /* callers inside dl_dirsync on this slot */
};

static struct ds_slot slots[DL_DIRSYNC_SLOTS];
static pthread_once_t once = PTHREAD_ONCE_INIT;
static atomic_ulong fsyncs;

static int real_fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	int e = errno;
	close(fd);
	errno = e;
	return rc;
}

static int (*_Atomic fsync_fn)(const char *) = real_fsync_dir;

static void init_slots(void)
{
	for (int i = 0; i < DL_DIRSYNC_SLOTS; i++) {
		pthread_mutex_init(&slots[i].mu, NULL);
		pthread_cond_init(&slots[i].cv, NULL);
	}
}

void dl_dirsync_set_fsync(int (*fn)(const char *path))
{
	fsync_fn = fn ? fn : real_fsync_dir;
}

unsigned long dl_dirsync_count(void)
{
	return atomic_load(&fsyncs);
}

static int run_fsync(const char *path)
{
	atomic_fetch_add(&fsyncs, 1);
	return fsync_fn(path);
}

int dl_dirsync(const char *path)
{
	size_t len = strlen(path);
	if (len >= DS_PATH)
		return run_fsync(path);
	pthread_once(&once, init_slots);
	unsigned long h = 5381;
	for (size_t i = 0; i < len; i++)
		h = h * 33 + (unsigned char)path[i];
	struct ds_slot *s = &slots[h % DL_DIRSYNC_SLOTS];

	pthread_mutex_lock(&s->mu);
	if (s->users == 0)
		memcpy(s->path, path, len + 1); /* idle slot: it serves this directory now */
	else if (strcmp(s->path, path) != 0) {
		pthread_mutex_unlock(&s->mu); /* taken by another directory: fsync alone */
		return run_fsync(path);
	}
	s->users++;
	struct ds_waiter me = {.next = s->pending};
	s->pending = &me;
	while (!me.done) {
		if (s->busy) {
			pthread_cond_wait(&s->cv, &s->mu);
			continue;
		}
		/* Leader: everyone pending joined (renamed) before this fsync starts. */
		struct ds_waiter *batch = s->pending;
		s->pending = NULL;
		s->busy = 1;
		pthread_mutex_unlock(&s->mu);
		int rc = run_fsync(path);
		int err = rc < 0 ? errno : 0;
		pthread_mutex_lock(&s->mu);
		for (struct ds_waiter *w = batch, *nx; w; w = nx) {
			nx = w->next;
			w->rc = rc;
			w->err = err;
			w->done = 1;
		}
		s->busy = 0;
		pthread_cond_broadcast(&s->cv);
	}
	s->users--;
	if (s->users > 0 && s->pending && !s->busy)
		pthread_cond_broadcast(&s->cv); /* wake one of them to lead the next batch */
	pthread_mutex_unlock(&s->mu);
	if (me.rc < 0)
		errno = me.err;
	return me.rc;
}
