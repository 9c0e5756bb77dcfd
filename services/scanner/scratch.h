/* scratch.h - room in libclamav's scratch directory, checked before every scan.
 *
 * libclamav's mail parser writes each MIME part it extracts to a file in the scratch directory
 * (CLEMENT_SCANNER_TMPDIR) and scans that file. When the file system is full the write fails
 * without an error reaching the caller: the part is scanned as the empty file it became, and a
 * virus in an attachment comes back "clean" (seen with libclamav 1.4 on a full tmpfs). So a
 * scan starts only when the directory has room for it and for every scan already running;
 * otherwise it is an error, which smtp-edge answers with 451 4.3.0 (fail closed).
 *
 * Each scan reserves SCRATCH_FACTOR times the message's size plus SCRATCH_FLOOR: decoding
 * makes a part no larger than its encoded text, and an HTML part is written up to three more
 * times, normalised. Archives can unpack to more, up to CLEMENT_SCAN_MAX_SCAN_SIZE: a scratch
 * directory should hold that much per worker (README, CLEMENT_SCANNER_TMPDIR). */
#ifndef CLEMENT_SCANNER_SCRATCH_H
#define CLEMENT_SCANNER_SCRATCH_H

#include <limits.h>
#include <pthread.h>
#include <stddef.h>
#include <sys/statvfs.h>

#define SCRATCH_FACTOR     4ULL
#define SCRATCH_FLOOR      (1ULL << 20)
#define SCRATCH_MIN_INODES 64ULL

struct scratch {
	char dir[PATH_MAX];
	pthread_mutex_t lock;
	unsigned long long reserved; /* bytes reserved by the scans in flight */
};

/* scratch_init - dir is CLEMENT_SCANNER_TMPDIR; "" or NULL means libclamav's own default
 * ($TMPDIR, else /tmp). */
void scratch_init(struct scratch *s, const char *dir);
void scratch_fini(struct scratch *s);

/* scratch_reserve - reserve room for scanning a message of len bytes: 0 and *held (give it
 * back with scratch_release), or -1 with why saying what is free and what was needed. */
int scratch_reserve(struct scratch *s, size_t len, unsigned long long *held, char *why, size_t whylen);
void scratch_release(struct scratch *s, unsigned long long held);

/* For tests: replace statvfs (NULL: the real one). */
void scratch_set_statvfs(int (*fn)(const char *path, struct statvfs *st));

#endif
