/* maildir.h - durable local delivery into Maildirs (one message, several recipients).
 *
 * Layout: <root>/<domain>/<localpart>/{tmp,new,cur}, readable by Dovecot as
 * mail_location=maildir:<root>/%d/%n. Names follow the Maildir convention
 * (time.M<usec>P<pid>Q<n>.<host>,S=<size>) so they are unique per host and process.
 *
 * All-or-nothing: every recipient's copy is written to tmp/ and fsynced first; only then are
 * they renamed into new/ and each new/ directory fsynced. Any failure unlinks what was
 * written (tmp files, and new/ files already renamed), so success means every copy is
 * durable and failure means none is in new/. A crash in the middle leaves at most stale tmp/
 * files (removed by dl_maildir_clean_tmp) or, between two renames of a multi-recipient
 * message, copies in some new/ whose transaction never got its 250: the client retries and
 * those recipients see a duplicate (RFC 5321 section 6.1 prefers that to a loss). */
#ifndef CLEMENT_DELIVERY_MAILDIR_H
#define CLEMENT_DELIVERY_MAILDIR_H

#include <stddef.h>

enum dl_md_status {
	DL_MD_OK = 0,
	DL_MD_TEMPFAIL,
	DL_MD_QUOTA,   /* a recipient's own quota */
	DL_MD_NOSPACE, /* the file system is full (ENOSPC, or its own quota: EDQUOT) */
};

struct dl_md_rcpt {
	const char *addr;      /* "local@domain" (the caller's) */
	long long quota_bytes; /* 0: no quota */
};

/* Optional hook for the fsync timing metric; may be NULL. */
typedef void (*dl_md_fsync_fn)(void *arg, double seconds);

/* dl_maildir_deliver - write msg for the n recipients as described above, each copy headed by
 * "Return-Path: <sender>" and "Delivered-To: <its recipient>" (sender "" is the null sender;
 * see dl_delivery_headers). Returns DL_MD_OK,
 * DL_MD_QUOTA (a recipient is over quota: nothing delivered), DL_MD_NOSPACE (the disk
 * under root is full: nothing delivered) or DL_MD_TEMPFAIL, with err saying which recipient
 * and why. */
enum dl_md_status dl_maildir_deliver(const char *root, const char *sender, const struct dl_md_rcpt *r, size_t n,
				     const void *msg, size_t len, dl_md_fsync_fn on_fsync, void *arg, char *err,
				     size_t errlen);

/* dl_maildir_clean_tmp - remove files older than max_age_s from every <root>/<domain>/<local>/tmp.
 * Returns the number removed. */
int dl_maildir_clean_tmp(const char *root, long long max_age_s);

/* dl_maildir_usage - bytes in new/ and cur/ of one Maildir and of each of its Maildir++
 * folders (dir/.Name/new and cur, as Dovecot and Courier make them), from the S= in names,
 * else stat. Returns 0 and *bytes, or -1. Missing Maildir: 0 bytes. A directory whose mtime
 * has not changed since it was last read (and was 2 s old then) is not read again. */
int dl_maildir_usage(const char *dir, long long *bytes);

#endif
