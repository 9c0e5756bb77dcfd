/* engine.h - one compiled libclamav engine, shared read-only by every scan, and the slot that
 * holds the current one so a reload can swap in a new engine without stopping scans.
 *
 * Reference counting: a scan takes a reference with engine_slot_acquire() and gives it back
 * with engine_release(); a reload builds the new engine outside any lock, then
 * engine_slot_swap() installs it and hands the old one back to the reload thread, which
 * waits in engine_retire() until the scans in flight on it have finished, then frees it. So
 * scans finish on the engine they started with, no scan waits for a load (the slot's mutex
 * is only held to copy a pointer and bump a counter), and no scan pays for freeing an engine
 * (a full ClamAV engine takes a while to free). */
#ifndef CLEMENT_SCANNER_ENGINE_H
#define CLEMENT_SCANNER_ENGINE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct cl_engine;

/* Scan limits, applied to every engine built (libclamav keeps them per engine). Sizes in
 * bytes, time in milliseconds. */
struct scan_limits {
	long long max_scan_size;
	long long max_file_size;
	long long max_files;
	long long max_recursion;
	long long max_scan_time_ms;
	const char *tmpdir; /* libclamav's scratch directory for unpacked parts; "" = its default */
};

struct scan_engine {
	struct cl_engine *cl; /* compiled, read-only once published */
	atomic_int refs;
	unsigned int sigs;    /* signatures loaded */
	long long db_version; /* highest .cvd/.cld version (0 for plain .ndb/.hdb files) */
	long long db_time;    /* build time of that database, unix seconds (0 when unknown) */
	double loaded_at;     /* unix seconds when the load finished */
};

/* engine_lib_init - cl_init() once per process, before any thread is created, with libclamav's
 * own warnings and errors routed into our log. 0 or -1. */
int engine_lib_init(char *err, size_t errlen);

/* engine_load - build and compile a new engine from every database file in dir, with lim.
 * Returns 0 and *out (one reference, the caller's) or -1 with err filled. Slow for a full
 * freshclam directory (seconds, hundreds of MB): call it from the reload thread only. */
int engine_load(const char *dir, const struct scan_limits *lim, struct scan_engine **out, char *err, size_t errlen);

/* engine_release - drop one reference; the last one frees the engine. NULL is ignored. */
void engine_release(struct scan_engine *e);

struct engine_slot {
	pthread_mutex_t lock;
	struct scan_engine *cur; /* the slot holds one reference; NULL before the first load */
};

void engine_slot_init(struct engine_slot *s);
/* engine_slot_fini - drop the slot's reference (scans must have ended). */
void engine_slot_fini(struct engine_slot *s);
/* engine_slot_acquire - the current engine with a new reference (release it when done), or
 * NULL when no engine has been loaded yet. Never blocks on a load. */
struct scan_engine *engine_slot_acquire(struct engine_slot *s);
/* engine_slot_swap - publish e (the slot takes over the caller's reference). Returns the
 * previous engine with the slot's reference, now the caller's (NULL if none): pass it to
 * engine_retire(). */
struct scan_engine *engine_slot_swap(struct engine_slot *s, struct scan_engine *e);
/* engine_retire - wait until the caller's reference on e is the last one (the scans still
 * using it are done; bounded by the scan time limit), then free it. NULL is ignored. */
void engine_retire(struct scan_engine *e);

/* db_fingerprint - a digest of the database files in dir (name, size, mtime, inode of every
 * entry not starting with '.'), so a reload happens only when something changed. Order
 * independent. Returns 0 or -1 (directory unreadable). */
int db_fingerprint(const char *dir, uint64_t *out);

#endif
