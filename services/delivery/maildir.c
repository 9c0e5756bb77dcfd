/* maildir.c - durable, all-or-nothing Maildir delivery (see maildir.h). */
#include "maildir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "dirsync.h"
#include "msgutil.h"
#include "util/buf.h"
#include "util/hash.h"
#include "util/metrics.h"
#include "util/random.h"

#define MD_PATH      1024
#define MD_MAX_RCPTS 1000
#define MD_HDR       1200

static atomic_ullong md_seq;

/* One recipient's copy while the transaction is in flight. */
struct md_copy {
	char dir[MD_PATH]; /* <root>/<domain>/<local> */
	char tmp[MD_PATH];
	char new_[MD_PATH];
	char hdr[MD_HDR]; /* Return-Path: and Delivered-To: of this copy */
	size_t hlen;
	int in_tmp, in_new;
};

/* fsync_dir - make a directory entry change durable (rename/create, per POSIX a directory
 * fsync is what persists the entry). */
static int fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	close(fd);
	return rc;
}

/* mkdir_durable - mkdir path (EEXIST is fine); a new directory has its parent fsynced. */
static int mkdir_durable(const char *path, const char *parent)
{
	if (mkdir(path, 0700) == 0)
		return parent ? fsync_dir(parent) : 0;
	return errno == EEXIST ? 0 : -1;
}

/* md_path - dir = <root>/<domain>/<local> of addr; 0, or -1 with err. */
static int md_path(const char *root, const char *addr, char *dir, size_t dirlen, char *err, size_t errlen)
{
	char local[80], domain[260];
	if (dl_split_address(addr, local, sizeof local, domain, sizeof domain) < 0) {
		cl_snprintf(err, errlen, "recipient not usable as a Maildir path");
		return -1;
	}
	if (cl_snprintf(dir, dirlen, "%s/%s/%s", root, domain, local) < 0) {
		cl_snprintf(err, errlen, "Maildir path too long");
		return -1;
	}
	return 0;
}

/* md_prepare - <root>/<domain>/<local>/{tmp,new,cur} exist, durably (dir is md_path's). Only
 * called when a file could not be made in tmp/ or renamed into new/ for want of a directory:
 * every later copy finds them, and costs no mkdir. 0, or -1 with errno. */
static int md_prepare(const char *root, const char *dir)
{
	char ddir[MD_PATH], sub[MD_PATH];
	const char *slash = strrchr(dir, '/');
	size_t dl = slash ? (size_t)(slash - dir) : 0;
	if (dl == 0 || dl >= sizeof ddir) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(ddir, dir, dl);
	ddir[dl] = '\0';
	int rc = mkdir_durable(root, NULL) | mkdir_durable(ddir, root) | mkdir_durable(dir, ddir);
	static const char *const subs[] = {"tmp", "new", "cur"};
	for (size_t i = 0; i < 3 && rc == 0; i++)
		rc = cl_snprintf(sub, sizeof sub, "%s/%s", dir, subs[i]) | mkdir_durable(sub, dir);
	return rc;
}

/* md_names - unique tmp/ and new/ names per the Maildir convention, with Dovecot's R<random>
 * part: time, pid and counter alone repeat in two replicas that share a Maildir volume and a
 * host name as pid 1 of their containers, and rename() into new/ would then replace a message. */
static char md_host[128];
static long md_pid;

/* md_ident_init - the host name and pid of every name, read once (delivery never forks). */
static void md_ident_init(void)
{
	if (gethostname(md_host, sizeof md_host) != 0)
		strcpy(md_host, "localhost");
	md_host[sizeof md_host - 1] = '\0';
	for (char *p = md_host; *p; p++) /* '/' and ':' may not appear in a name (Maildir spec) */
		if (*p == '/' || *p == ':' || *p == ',')
			*p = '_';
	md_pid = (long)getpid();
}

static int md_names(struct md_copy *c, size_t len)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, md_ident_init);
	struct timeval tv;
	gettimeofday(&tv, NULL);
	char base[300], rnd[17];
	unsigned long long q = atomic_fetch_add(&md_seq, 1);
	if (cl_random_hex(rnd, sizeof rnd, 8) < 0 ||
	    cl_snprintf(base, sizeof base, "%lld.M%ldP%ldQ%lluR%s.%s,S=%zu", (long long)tv.tv_sec, (long)tv.tv_usec,
			md_pid, q, rnd, md_host, len) < 0)
		return -1;
	return cl_snprintf(c->tmp, sizeof c->tmp, "%s/tmp/%s", c->dir, base) |
	       cl_snprintf(c->new_, sizeof c->new_, "%s/new/%s", c->dir, base);
}

/* write_all - write len bytes to fd; 0 or -1. */
static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* write_copy - the trace headers and the message in one writev (write_all for what a short
 * write left); 0 or -1. */
static int write_copy(int fd, const void *hdr, size_t hlen, const void *msg, size_t len)
{
	struct iovec iov[2] = {{(void *)hdr, hlen}, {(void *)msg, len}};
	ssize_t w;
	do
		w = writev(fd, iov, 2);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		return -1;
	size_t done = (size_t)w;
	if (done < hlen)
		return write_all(fd, (const char *)hdr + done, hlen - done) | write_all(fd, msg, len);
	return write_all(fd, (const char *)msg + (done - hlen), len - (done - hlen));
}

/* md_write_tmp - write the copy's trace headers and the message to the tmp file, fsync it.
 * A Maildir without tmp/ (a first copy, or one an admin removed) is made and tried again. */
static int md_write_tmp(const char *root, struct md_copy *c, const void *msg, size_t len, dl_md_fsync_fn on_fsync,
			void *arg)
{
	int fd = open(c->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 && errno == ENOENT && md_prepare(root, c->dir) == 0)
		fd = open(c->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	c->in_tmp = 1;
	if (write_copy(fd, c->hdr, c->hlen, msg, len) < 0) {
		close(fd);
		return -1;
	}
	double t0 = cl_now_seconds();
	int rc = fsync(fd);
	if (on_fsync)
		on_fsync(arg, cl_now_seconds() - t0);
	return close(fd) | rc;
}

/* md_rollback - unlink every copy written so far; new/ removals are made durable too. */
static void md_rollback(struct md_copy *c, size_t n)
{
	char d[MD_PATH];
	for (size_t i = 0; i < n; i++) {
		if (c[i].in_new && unlink(c[i].new_) == 0 && cl_snprintf(d, sizeof d, "%s/new", c[i].dir) == 0)
			fsync_dir(d);
		if (c[i].in_tmp)
			unlink(c[i].tmp);
	}
}

/* no_space - 1 when a write failed because the file system (or its quota) is full. */
static int no_space(int e)
{
	return e == ENOSPC || e == EDQUOT;
}

/* md_over_quota - 1 when adding len bytes passes the recipient's quota. */
static int md_over_quota(const struct md_copy *c, const struct dl_md_rcpt *r, size_t len)
{
	if (r->quota_bytes <= 0)
		return 0;
	long long used = 0;
	if (dl_maildir_usage(c->dir, &used) < 0)
		return 0;
	return used + (long long)len > r->quota_bytes;
}

/* md_stage - prepare, check quota and write tmp for every recipient. */
static enum dl_md_status md_stage(const char *root, const char *sender, const struct dl_md_rcpt *r, struct md_copy *c,
				  size_t n, const void *msg, size_t len, dl_md_fsync_fn on_fsync, void *arg, char *err,
				  size_t errlen)
{
	char why[200];
	for (size_t i = 0; i < n; i++) {
		if (md_path(root, r[i].addr, c[i].dir, sizeof c[i].dir, why, sizeof why) < 0) {
			snprintf(err, errlen, "<%s>: %s", r[i].addr, why);
			return DL_MD_TEMPFAIL;
		}
		int h = dl_delivery_headers(sender, r[i].addr, c[i].hdr, sizeof c[i].hdr);
		if (h < 0) {
			snprintf(err, errlen, "<%s>: addresses too long for the trace headers", r[i].addr);
			return DL_MD_TEMPFAIL;
		}
		c[i].hlen = (size_t)h;
		if (md_over_quota(&c[i], &r[i], c[i].hlen + len)) {
			snprintf(err, errlen, "<%s>: mailbox full", r[i].addr);
			return DL_MD_QUOTA;
		}
		if (md_names(&c[i], c[i].hlen + len) < 0 || md_write_tmp(root, &c[i], msg, len, on_fsync, arg) < 0) {
			int e = errno;
			snprintf(err, errlen, "<%s>: cannot write: %s", r[i].addr, strerror(e));
			return no_space(e) ? DL_MD_NOSPACE : DL_MD_TEMPFAIL;
		}
	}
	return DL_MD_OK;
}

/* md_commit - rename every tmp file into new/, then fsync each new/ directory (shared with
 * concurrent deliveries into the same new/: dirsync.h). */
static enum dl_md_status md_commit(const char *root, struct md_copy *c, size_t n, dl_md_fsync_fn on_fsync, void *arg,
				   char *err, size_t errlen)
{
	char d[MD_PATH];
	for (size_t i = 0; i < n; i++) {
		int rc = rename(c[i].tmp, c[i].new_);
		if (rc != 0 && errno == ENOENT && md_prepare(root, c[i].dir) == 0) /* new/ was removed */
			rc = rename(c[i].tmp, c[i].new_);
		if (rc != 0) {
			int e = errno;
			snprintf(err, errlen, "rename into new/: %s", strerror(e));
			return no_space(e) ? DL_MD_NOSPACE : DL_MD_TEMPFAIL;
		}
		c[i].in_tmp = 0;
		c[i].in_new = 1;
	}
	for (size_t i = 0; i < n; i++) {
		double t0 = cl_now_seconds();
		if (cl_snprintf(d, sizeof d, "%s/new", c[i].dir) < 0 || dl_dirsync(d) < 0) {
			int e = errno;
			snprintf(err, errlen, "fsync new/: %s", strerror(e));
			return no_space(e) ? DL_MD_NOSPACE : DL_MD_TEMPFAIL;
		}
		if (on_fsync)
			on_fsync(arg, cl_now_seconds() - t0);
	}
	return DL_MD_OK;
}

enum dl_md_status dl_maildir_deliver(const char *root, const char *sender, const struct dl_md_rcpt *r, size_t n,
				     const void *msg, size_t len, dl_md_fsync_fn on_fsync, void *arg, char *err,
				     size_t errlen)
{
	if (n == 0 || n > MD_MAX_RCPTS) {
		cl_snprintf(err, errlen, "bad recipient count");
		return DL_MD_TEMPFAIL;
	}
	struct md_copy *c = calloc(n, sizeof *c);
	if (!c) {
		cl_snprintf(err, errlen, "out of memory");
		return DL_MD_TEMPFAIL;
	}
	enum dl_md_status st = md_stage(root, sender, r, c, n, msg, len, on_fsync, arg, err, errlen);
	if (st == DL_MD_OK)
		st = md_commit(root, c, n, on_fsync, arg, err, errlen);
	if (st != DL_MD_OK)
		md_rollback(c, n);
	free(c);
	return st;
}

/* size_from_name - the S=<size> of a Maildir name, or -1. */
static long long size_from_name(const char *name)
{
	const char *s = strstr(name, ",S=");
	if (!s)
		return -1;
	char *end;
	long long v = strtoll(s + 3, &end, 10);
	return (end != s + 3 && (*end == '\0' || *end == ',' || *end == ':')) ? v : -1;
}

/* dir_scan - bytes of the messages in one directory (0 when it cannot be read). */
static long long dir_scan(const char *path)
{
	char f[MD_PATH + 600]; /* a folder's path (folder_bytes) and a name */
	long long total = 0;
	DIR *d = opendir(path);
	if (!d)
		return 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		long long s = size_from_name(e->d_name);
		struct stat st;
		if (s < 0 && cl_snprintf(f, sizeof f, "%s/%s", path, e->d_name) == 0 && stat(f, &st) == 0)
			s = st.st_size;
		total += s > 0 ? s : 0;
	}
	closedir(d);
	return total;
}

/* The usage cache: a quota check reads a directory again only when it changed. Reading every
 * name of cur/ for each copy cost a mailbox of 100,000 messages 100,000 names per delivery;
 * now a stable cur/ costs one stat, and only new/ (where an IMAP client does not leave mail)
 * is read after each delivery. An entry is kept only when the directory's mtime, read before
 * the scan, was already USAGE_STABLE_S old: on a file system whose times have whole seconds a
 * change in the same second as the last one would leave the mtime as it was. It is used while
 * the mtime, device and inode stay the same. One entry per slot; another directory hashing
 * to it replaces it. */
#define USAGE_SLOTS    1024
#define USAGE_STABLE_S 2

struct usage_slot {
	char *path;
	dev_t dev;
	ino_t ino;
	struct timespec mtime;
	long long bytes;
};

static struct usage_slot usage_cache[USAGE_SLOTS];
static pthread_mutex_t usage_lock = PTHREAD_MUTEX_INITIALIZER;

/* dir_bytes - dir_scan, from the cache when the directory has not changed since it was read. */
static long long dir_bytes(const char *path)
{
	time_t t0 = time(NULL); /* before the stat: a change after it has an mtime from t0 on */
	struct stat st;
	if (stat(path, &st) != 0)
		return 0;
	struct usage_slot *u = &usage_cache[cl_hash_str(path) % USAGE_SLOTS];
	pthread_mutex_lock(&usage_lock);
	if (u->path && strcmp(u->path, path) == 0 && u->dev == st.st_dev && u->ino == st.st_ino &&
	    u->mtime.tv_sec == st.st_mtim.tv_sec && u->mtime.tv_nsec == st.st_mtim.tv_nsec) {
		long long b = u->bytes;
		pthread_mutex_unlock(&usage_lock);
		return b;
	}
	pthread_mutex_unlock(&usage_lock);
	long long b = dir_scan(path); /* after the stat: a change during the scan makes a new mtime */
	if ((long long)t0 - (long long)st.st_mtim.tv_sec < USAGE_STABLE_S)
		return b; /* too recent to tell a later change by its mtime */
	char *p = strdup(path);
	if (!p)
		return b;
	pthread_mutex_lock(&usage_lock);
	free(u->path);
	*u = (struct usage_slot){p, st.st_dev, st.st_ino, st.st_mtim, b};
	pthread_mutex_unlock(&usage_lock);
	return b;
}

/* folder_bytes - new/ and cur/ of one folder (the Maildir itself, or its dir/.Name); -1 on a
 * path too long. */
static long long folder_bytes(const char *folder)
{
	static const char *const subs[] = {"new", "cur"};
	long long total = 0;
	char path[MD_PATH + 320]; /* a folder's path and "/new" */
	for (size_t i = 0; i < 2; i++) {
		if (cl_snprintf(path, sizeof path, "%s/%s", folder, subs[i]) < 0)
			return -1;
		total += dir_bytes(path);
	}
	return total;
}

int dl_maildir_usage(const char *dir, long long *bytes)
{
	long long total = folder_bytes(dir);
	if (total < 0)
		return -1;
	/* The folders an IMAP server makes beside INBOX (Maildir++: dir/.Sent, dir/.Archive.2026,
	 * each with its own new/ and cur/) are the user's mail too: a quota that counted INBOX
	 * alone would let a user who files mail away keep any amount. Other dot names (Dovecot's
	 * index files, "maildirfolder") have no new/ or cur/ and count nothing. */
	DIR *d = opendir(dir);
	if (d) {
		const struct dirent *e;
		while ((e = readdir(d)) != NULL) {
			char folder[MD_PATH + 300];
			if (e->d_name[0] != '.' || strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
			    cl_snprintf(folder, sizeof folder, "%s/%s", dir, e->d_name) < 0)
				continue;
			long long b = folder_bytes(folder);
			total += b > 0 ? b : 0;
		}
		closedir(d);
	}
	*bytes = total;
	return 0;
}

/* clean_one_tmp - remove old files from one tmp/ directory. */
static int clean_one_tmp(const char *tmpdir, time_t cutoff)
{
	DIR *d = opendir(tmpdir);
	if (!d)
		return 0;
	int removed = 0;
	char f[MD_PATH * 2];
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		struct stat st;
		if (e->d_name[0] == '.' || cl_snprintf(f, sizeof f, "%s/%s", tmpdir, e->d_name) < 0)
			continue;
		if (lstat(f, &st) == 0 && S_ISREG(st.st_mode) && st.st_mtime < cutoff && unlink(f) == 0)
			removed++;
	}
	closedir(d);
	return removed;
}

int dl_maildir_clean_tmp(const char *root, long long max_age_s)
{
	time_t cutoff = time(NULL) - (time_t)max_age_s;
	int removed = 0;
	DIR *dr = opendir(root);
	if (!dr)
		return 0;
	struct dirent *de;
	char dpath[MD_PATH], tpath[MD_PATH * 2];
	while ((de = readdir(dr)) != NULL) {
		if (de->d_name[0] == '.' || cl_snprintf(dpath, sizeof dpath, "%s/%s", root, de->d_name) < 0)
			continue;
		DIR *du = opendir(dpath);
		if (!du)
			continue;
		struct dirent *ue;
		while ((ue = readdir(du)) != NULL)
			if (ue->d_name[0] != '.' &&
			    cl_snprintf(tpath, sizeof tpath, "%s/%s/tmp", dpath, ue->d_name) == 0)
				removed += clean_one_tmp(tpath, cutoff);
		closedir(du);
	}
	closedir(dr);
	return removed;
}
