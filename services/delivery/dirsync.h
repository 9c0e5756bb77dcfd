/* dirsync.h - group commit of directory fsyncs (issue 22).
 *
 * Concurrent deliveries into one Maildir tree each rename a file into the same new/ and must
 * fsync that directory before their 250. dl_dirsync(path) lets them share one fsync: a caller
 * joins the directory's pending batch; one caller (the leader) takes the whole batch and runs
 * one fsync for it, the others wait. Contract: a caller returns 0 only after an fsync of path
 * that STARTED after it called dl_dirsync (so after its own rename), and succeeded; if that
 * fsync failed, every caller of its batch gets -1 with its errno. Never answers early: a caller
 * that arrives while an fsync is running waits for the next one.
 *
 * A fixed table of DL_DIRSYNC_SLOTS directories, chosen by a hash of the path; when a slot is
 * busy with another directory the caller fsyncs on its own (correct, not shared). */
#ifndef CLEMENT_DELIVERY_DIRSYNC_H
#define CLEMENT_DELIVERY_DIRSYNC_H

#define DL_DIRSYNC_SLOTS 64

/* dl_dirsync - make every entry change made in directory path before this call durable;
 * 0, or -1 with errno. Thread-safe. */
int dl_dirsync(const char *path);

/* For tests: replace the fsync of a directory (NULL: the real one), and the number of
 * fsyncs run so far. */
void dl_dirsync_set_fsync(int (*fn)(const char *path));
unsigned long dl_dirsync_count(void);

#endif
