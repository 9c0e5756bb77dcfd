/* engine.c - libclamav engine load, reference counting and the swap slot. See engine.h. */
#include "engine.h"

#include <clamav.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "util/buf.h"
#include "util/hash.h"
#include "util/log.h"

/* clamav_msg - route libclamav's own warnings and errors into our log format. */
static void clamav_msg(enum cl_msg severity, const char *fullmsg, const char *msg, void *context)
{
	(void)fullmsg;
	(void)context;
	char emsg[400];
	size_t n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		n--;
	cl_log_escape(emsg, sizeof emsg, msg, n);
	cl_log(severity == CL_MSG_ERROR  ? CL_LOG_ERROR
	       : severity == CL_MSG_WARN ? CL_LOG_WARN
					 : CL_LOG_DEBUG,
	       NULL, "libclamav", "msg=%s", emsg);
}

int engine_lib_init(char *err, size_t errlen)
{
	cl_set_clcb_msg(clamav_msg);
	cl_error_t rc = cl_init(CL_INIT_DEFAULT);
	if (rc != CL_SUCCESS) {
		cl_snprintf(err, errlen, "cl_init: %s", cl_strerror(rc));
		return -1;
	}
	return 0;
}

/* set_limits - copy our limits into a fresh engine (before cl_load, as clamd does). */
static int set_limits(struct cl_engine *cl, const struct scan_limits *lim, char *err, size_t errlen)
{
	const struct {
		enum cl_engine_field f;
		long long v;
		const char *name;
	} nums[] = {
	    {CL_ENGINE_MAX_SCANSIZE, lim->max_scan_size, "max scan size"},
	    {CL_ENGINE_MAX_FILESIZE, lim->max_file_size, "max file size"},
	    {CL_ENGINE_MAX_FILES, lim->max_files, "max files"},
	    {CL_ENGINE_MAX_RECURSION, lim->max_recursion, "max recursion"},
	    {CL_ENGINE_MAX_SCANTIME, lim->max_scan_time_ms, "max scan time"},
	};
	for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
		cl_error_t rc = cl_engine_set_num(cl, nums[i].f, nums[i].v);
		if (rc != CL_SUCCESS) {
			cl_snprintf(err, errlen, "cannot set %s: %s", nums[i].name, cl_strerror(rc));
			return -1;
		}
	}
	if (lim->tmpdir && lim->tmpdir[0]) {
		cl_error_t rc = cl_engine_set_str(cl, CL_ENGINE_TMPDIR, lim->tmpdir);
		if (rc != CL_SUCCESS) {
			cl_snprintf(err, errlen, "cannot set tmpdir: %s", cl_strerror(rc));
			return -1;
		}
	}
	return 0;
}

int engine_load(const char *dir, const struct scan_limits *lim, struct scan_engine **out, char *err, size_t errlen)
{
	struct scan_engine *e = calloc(1, sizeof *e);
	if (!e) {
		cl_snprintf(err, errlen, "out of memory");
		return -1;
	}
	e->cl = cl_engine_new();
	if (!e->cl) {
		free(e);
		cl_snprintf(err, errlen, "cl_engine_new failed (out of memory)");
		return -1;
	}
	if (set_limits(e->cl, lim, err, errlen) < 0)
		goto fail;
	/* CL_DB_STDOPT: signatures, phishing and bytecode as freshclam ships them. */
	cl_error_t rc = cl_load(dir, e->cl, &e->sigs, CL_DB_STDOPT);
	if (rc != CL_SUCCESS) {
		cl_snprintf(err, errlen, "cannot load signatures from %s: %s", dir, cl_strerror(rc));
		goto fail;
	}
	rc = cl_engine_compile(e->cl);
	if (rc != CL_SUCCESS) {
		cl_snprintf(err, errlen, "cannot compile the engine: %s", cl_strerror(rc));
		goto fail;
	}
	int gerr = 0;
	e->db_version = cl_engine_get_num(e->cl, CL_ENGINE_DB_VERSION, &gerr);
	if (gerr)
		e->db_version = 0;
	e->db_time = cl_engine_get_num(e->cl, CL_ENGINE_DB_TIME, &gerr);
	if (gerr)
		e->db_time = 0;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	e->loaded_at = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
	atomic_init(&e->refs, 1);
	*out = e;
	return 0;
fail:
	cl_engine_free(e->cl);
	free(e);
	return -1;
}

void engine_release(struct scan_engine *e)
{
	if (!e)
		return;
	if (atomic_fetch_sub(&e->refs, 1) == 1) {
		cl_engine_free(e->cl);
		free(e);
	}
}

void engine_slot_init(struct engine_slot *s)
{
	pthread_mutex_init(&s->lock, NULL);
	s->cur = NULL;
}

void engine_slot_fini(struct engine_slot *s)
{
	engine_release(s->cur);
	s->cur = NULL;
	pthread_mutex_destroy(&s->lock);
}

struct scan_engine *engine_slot_acquire(struct engine_slot *s)
{
	pthread_mutex_lock(&s->lock);
	struct scan_engine *e = s->cur;
	if (e)
		atomic_fetch_add(&e->refs, 1);
	pthread_mutex_unlock(&s->lock);
	return e;
}

struct scan_engine *engine_slot_swap(struct engine_slot *s, struct scan_engine *e)
{
	pthread_mutex_lock(&s->lock);
	struct scan_engine *old = s->cur;
	s->cur = e;
	pthread_mutex_unlock(&s->lock);
	return old;
}

void engine_retire(struct scan_engine *e)
{
	if (!e)
		return;
	/* No new scan can take e any more (it left the slot), so the count only goes down. */
	const struct timespec tick = {0, 10 * 1000 * 1000};
	while (atomic_load(&e->refs) > 1)
		nanosleep(&tick, NULL);
	engine_release(e);
}

int db_fingerprint(const char *dir, uint64_t *out)
{
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	int dfd = dirfd(d);
	uint64_t sum = 0, count = 0;
	const struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		/* Hidden names are temporary files (ours, freshclam's) and never loaded. */
		if (de->d_name[0] == '.')
			continue;
		struct stat st;
		if (fstatat(dfd, de->d_name, &st, 0) != 0 || !S_ISREG(st.st_mode))
			continue;
		uint64_t h = cl_fnv1a(CL_FNV1A_INIT, de->d_name, strlen(de->d_name));
		long long f[] = {(long long)st.st_size, (long long)st.st_mtim.tv_sec, (long long)st.st_mtim.tv_nsec,
				 (long long)st.st_ino};
		h = cl_fnv1a(h, f, sizeof f);
		sum += h; /* a sum: readdir order does not matter */
		count++;
	}
	closedir(d);
	*out = cl_fnv1a(sum, &count, sizeof count);
	return 0;
}
