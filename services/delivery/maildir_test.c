/* maildir_test.c - all-or-nothing delivery, names, quota, rollback and tmp/ cleaning on a
 * scratch directory. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "maildir.h"
#include "util/test.h"

static char root[256];

/* count - entries (not dot files) of <root>/<rel>; -1 when missing. */
static int count(const char *rel)
{
	char p[512];
	snprintf(p, sizeof p, "%s/%s", root, rel);
	DIR *d = opendir(p);
	if (!d)
		return -1;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* random_part - 1 when the one file of root/rel has Dovecot's R<16 hex digits> part. */
static int random_part(const char *rel)
{
	char p[512];
	snprintf(p, sizeof p, "%s/%s", root, rel);
	DIR *d = opendir(p);
	struct dirent *e;
	int ok = 0;
	while (d && (e = readdir(d)) != NULL) {
		const char *r = e->d_name[0] != '.' ? strchr(e->d_name, 'R') : NULL;
		ok = r && strspn(r + 1, "0123456789abcdef") == 16 && r[17] == '.';
		if (e->d_name[0] != '.')
			break;
	}
	if (d)
		closedir(d);
	return ok;
}

static void test_deliver_two(void)
{
	struct dl_md_rcpt r[] = {{"Bob@Example.org", 0}, {"carol@example.org", 0}};
	char err[256] = "";
	CL_CHECK(dl_maildir_deliver(root, "s@x.test", r, 2, "hello\r\n", 7, NULL, NULL, err, sizeof err) == DL_MD_OK,
		 "%s", err);
	CL_CHECK(count("example.org/bob/new") == 1 && count("example.org/carol/new") == 1, "new/ has the copies");
	CL_CHECK(count("example.org/bob/tmp") == 0 && count("example.org/bob/cur") == 0, "tmp/ empty, cur/ exists");
	CL_CHECK(random_part("example.org/bob/new"), "the name has a random part (pid 1 in every container)");
	long long used = -1;
	char dir[512];
	snprintf(dir, sizeof dir, "%s/example.org/bob", root);
	/* The size (S= and quota) counts the Return-Path:/Delivered-To: lines written above the message. */
	const char *copy = "Return-Path: <s@x.test>\r\nDelivered-To: Bob@Example.org\r\nhello\r\n";
	CL_CHECK(dl_maildir_usage(dir, &used) == 0 && used == (long long)strlen(copy), "usage %lld", used);
}

/* one_file - the content of the one file in root/rel (malloc'd, NUL-terminated), or NULL. */
static char *one_file(const char *rel)
{
	char p[512], f[1024];
	snprintf(p, sizeof p, "%s/%s", root, rel);
	DIR *d = opendir(p);
	struct dirent *e;
	char *out = NULL;
	while (d && !out && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(f, sizeof f, "%s/%s", p, e->d_name);
		FILE *fp = fopen(f, "rb");
		out = fp ? calloc(1, 4096) : NULL;
		if (out && fread(out, 1, 4095, fp) == 0)
			out[0] = '\0';
		if (fp)
			fclose(fp);
	}
	if (d)
		closedir(d);
	return out;
}

/* Directories are made when a copy finds them missing, not asked for each copy: a Maildir an
 * admin removed, whole or only its new/, is made again by the next delivery. */
static void test_removed_maildir_is_made_again(void)
{
	struct dl_md_rcpt r[] = {{"gina@example.org", 0}};
	char err[256] = "", cmd[700];
	CL_CHECK(dl_maildir_deliver(root, "s@x.test", r, 1, "one\r\n", 5, NULL, NULL, err, sizeof err) == DL_MD_OK,
		 "%s", err);
	char *c = one_file("example.org/gina/new");
	CL_CHECK(c && strcmp(c, "Return-Path: <s@x.test>\r\nDelivered-To: gina@example.org\r\none\r\n") == 0,
		 "the copy is the trace lines and the message: %s", c ? c : "(none)");
	free(c);
	snprintf(cmd, sizeof cmd, "rm -rf '%s/example.org/gina/new'", root);
	CL_CHECK(system(cmd) == 0, "new/ removed");
	CL_CHECK(dl_maildir_deliver(root, "s@x.test", r, 1, "two\r\n", 5, NULL, NULL, err, sizeof err) == DL_MD_OK,
		 "without new/: %s", err);
	CL_CHECK(count("example.org/gina/new") == 1 && count("example.org/gina/tmp") == 0, "new/ made again");
	snprintf(cmd, sizeof cmd, "rm -rf '%s/example.org/gina'", root);
	CL_CHECK(system(cmd) == 0, "the Maildir removed");
	CL_CHECK(dl_maildir_deliver(root, "s@x.test", r, 1, "three\r\n", 7, NULL, NULL, err, sizeof err) == DL_MD_OK,
		 "without the Maildir: %s", err);
	CL_CHECK(count("example.org/gina/new") == 1 && count("example.org/gina/cur") == 0 &&
		     count("example.org/gina/tmp") == 0,
		 "tmp/, new/ and cur/ made again");
}

/* put - a file named with S=size in root/rel (its content is not what is counted). */
static void put(const char *rel, const char *name)
{
	char p[512];
	snprintf(p, sizeof p, "%s/%s/%s", root, rel, name);
	FILE *f = fopen(p, "w");
	if (f)
		fclose(f);
}

/* set_mtime - the directory root/rel's mtime: `ago` seconds before base (one base per test,
 * so that two calls with the same `ago` set the same time even across a second's turn), or
 * now (whole seconds) for 0. */
static time_t base;
static void set_mtime(const char *rel, int ago)
{
	char p[512];
	snprintf(p, sizeof p, "%s/%s", root, rel);
	time_t t = ago ? base - ago : time(NULL);
	struct timeval tv[2] = {{t, 0}, {t, 0}};
	utimes(p, tv);
}

/* first_copy - deliver "x" to r's one recipient, whose new/ was empty: the copy's size (trace
 * lines included), or -1. */
static long long first_copy(const struct dl_md_rcpt r[1])
{
	char err[256] = "", rel[300];
	CL_CHECK(dl_maildir_deliver(root, "s@x.test", r, 1, "x\r\n", 3, NULL, NULL, err, sizeof err) == DL_MD_OK, "%s",
		 err);
	const char *at = strchr(r[0].addr, '@');
	snprintf(rel, sizeof rel, "%s/%.*s/new", at ? at + 1 : "", (int)(at ? at - r[0].addr : 0), r[0].addr);
	char *copy = one_file(rel);
	long long n = copy ? (long long)strlen(copy) : -1;
	free(copy);
	return n;
}

/* A quota check reads a directory again only when its mtime changed, and trusts no mtime
 * of the last two seconds (a file system with whole-second times). */
static void test_usage_cache(void)
{
	char dir[512];
	base = time(NULL);
	snprintf(dir, sizeof dir, "%s/example.org/hugo", root);
	struct dl_md_rcpt r[] = {{"hugo@example.org", 0}};
	char err[256] = "";
	long long one = first_copy(r), used = -1;
	put("example.org/hugo/cur", "1.M1P1.h,S=1000:2,S");
	set_mtime("example.org/hugo/cur", 10);
	set_mtime("example.org/hugo/new", 10);
	CL_CHECK(dl_maildir_usage(dir, &used) == 0 && used == one + 1000, "usage %lld, want %lld", used, one + 1000);
	/* A file added behind the cache's back with the mtime put back: the stable entry is used. */
	put("example.org/hugo/cur", "2.M1P1.h,S=50:2,S");
	set_mtime("example.org/hugo/cur", 10);
	CL_CHECK(dl_maildir_usage(dir, &used) == 0 && used == one + 1000, "cached: %lld", used);
	/* Any change of the mtime reads it again. */
	set_mtime("example.org/hugo/cur", 9);
	CL_CHECK(dl_maildir_usage(dir, &used) == 0 && used == one + 1050, "read again: %lld", used);
	/* A recent mtime is never trusted: the same mtime after another change is read again. */
	set_mtime("example.org/hugo/cur", 0);
	CL_CHECK(dl_maildir_usage(dir, &used) == 0 && used == one + 1050, "recent: %lld", used);
	put("example.org/hugo/cur", "3.M1P1.h,S=7:2,S");
	set_mtime("example.org/hugo/cur", 0);
	CL_CHECK(dl_maildir_usage(dir, &used) == 0 && used == one + 1057, "recent, read again: %lld", used);
	/* A delivery changes new/: the next check counts it. */
	CL_CHECK(dl_maildir_deliver(root, "s@x.test", r, 1, "x\r\n", 3, NULL, NULL, err, sizeof err) == DL_MD_OK, "%s",
		 err);
	CL_CHECK(dl_maildir_usage(dir, &used) == 0 && used == 2 * one + 1057, "after a delivery: %lld", used);
	/* A removed message (an IMAP expunge) is not counted any more. */
	char p[512];
	snprintf(p, sizeof p, "%s/example.org/hugo/cur/1.M1P1.h,S=1000:2,S", root);
	CL_CHECK(unlink(p) == 0, "expunge");
	CL_CHECK(dl_maildir_usage(dir, &used) == 0 && used == 2 * one + 57, "after an expunge: %lld", used);
}

/* mkdirs - root/rel and its parents. */
static void mkdirs(const char *rel)
{
	char cmd[600];
	snprintf(cmd, sizeof cmd, "mkdir -p '%s/%s'", root, rel);
	CL_CHECK(system(cmd) == 0, "mkdir %s", rel);
}

/* The quota counts the Maildir++ folders an IMAP server makes beside INBOX: mail filed away
 * into .Sent or .Archive is still the user's. */
static void test_usage_counts_folders(void)
{
	char dir[512];
	snprintf(dir, sizeof dir, "%s/example.org/ivan", root);
	struct dl_md_rcpt r[] = {{"ivan@example.org", 0}};
	char err[256] = "";
	long long one = first_copy(r), used = -1;
	mkdirs("example.org/ivan/.Sent/cur");
	mkdirs("example.org/ivan/.Sent/new");
	mkdirs("example.org/ivan/.Archive.2026/cur");
	put("example.org/ivan/.Sent/cur", "1.M1P1.h,S=2000:2,S");
	put("example.org/ivan/.Sent/new", "2.M1P1.h,S=30");
	put("example.org/ivan/.Archive.2026/cur", "3.M1P1.h,S=400:2,S");
	/* What Dovecot keeps beside the folders counts nothing. */
	put("example.org/ivan", ".dovecot-uidlist");
	put("example.org/ivan/.Sent", "maildirfolder");
	CL_CHECK(dl_maildir_usage(dir, &used) == 0 && used == one + 2430, "usage %lld, want %lld", used, one + 2430);
	/* INBOX alone is under the quota, INBOX and the folders are not: refused. */
	struct dl_md_rcpt q[] = {{"ivan@example.org", one + 2430 + 100}};
	CL_CHECK(dl_maildir_deliver(root, "s@x.test", q, 1, "a message longer than the room that is left\r\n", 45, NULL,
				    NULL, err, sizeof err) == DL_MD_QUOTA,
		 "over quota with the folders");
	CL_CHECK(count("example.org/ivan/new") == 1 && count("example.org/ivan/tmp") == 0, "nothing added");
	/* The user deletes the archive folder: there is room again. */
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf '%s/example.org/ivan/.Archive.2026'", root);
	CL_CHECK(system(cmd) == 0, "folder removed");
	CL_CHECK(dl_maildir_deliver(root, "s@x.test", q, 1, "a message longer than the room that is left\r\n", 45, NULL,
				    NULL, err, sizeof err) == DL_MD_OK,
		 "room again: %s", err);
}

static void test_quota_and_rollback(void)
{
	/* dave is fine, erin is over quota: nothing is delivered to either. */
	struct dl_md_rcpt r[] = {{"dave@example.org", 0}, {"erin@example.org", 5}};
	char err[256] = "";
	CL_CHECK(dl_maildir_deliver(root, "s@x.test", r, 2, "hello\r\n", 7, NULL, NULL, err, sizeof err) == DL_MD_QUOTA,
		 "quota");
	CL_CHECK(count("example.org/dave/new") == 0 && count("example.org/dave/tmp") == 0, "dave rolled back");
	/* A path that cannot be a Maildir fails the whole transaction. */
	struct dl_md_rcpt bad[] = {{"frank@example.org", 0}, {"../x@example.org", 0}};
	CL_CHECK(dl_maildir_deliver(root, "s@x.test", bad, 2, "x\r\n", 3, NULL, NULL, err, sizeof err) ==
		     DL_MD_TEMPFAIL,
		 "bad");
	CL_CHECK(count("example.org/frank/new") == 0 && count("example.org/frank/tmp") == 0, "frank rolled back");
}

static void test_clean_tmp(void)
{
	char p[512];
	snprintf(p, sizeof p, "%s/example.org/bob/tmp/stale", root);
	FILE *f = fopen(p, "w");
	fputs("x", f);
	fclose(f);
	struct timeval tv[2] = {{1000, 0}, {1000, 0}};
	utimes(p, tv);
	snprintf(p, sizeof p, "%s/example.org/bob/tmp/fresh", root);
	f = fopen(p, "w");
	fclose(f);
	CL_CHECK(dl_maildir_clean_tmp(root, 36 * 3600) == 1, "one stale file");
	CL_CHECK(count("example.org/bob/tmp") == 1, "fresh kept");
}

int main(void)
{
	snprintf(root, sizeof root, "/tmp/clement-maildir-test-XXXXXX");
	if (!mkdtemp(root))
		return 1;
	test_deliver_two();
	test_quota_and_rollback();
	test_removed_maildir_is_made_again();
	test_usage_cache();
	test_usage_counts_folders();
	test_clean_tmp();
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup failed\n");
	return CL_TEST_END();
}
