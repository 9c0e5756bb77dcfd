/* firewall.c - the firewall export as files (issue 17): after each statistics run, the
 * networks banned at connect go to CLEMENT_BANSTATS_FIREWALL_DIR as banned.txt (one network a
 * line) and banned.nft (an nftables file that replaces the sets inet clement banned4/banned6
 * atomically: `nft -f banned.nft`). Both come from the database's one definition
 * (db/migrations/0013_reputation.sql). Each file is written beside its name and renamed over
 * it, so a reader (a cron job, a path unit) never sees half a file. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "banstats.h"
#include "util/buf.h"

/* write_atomic - dir/name holds text afterwards, or nothing changed. 0 or -1 with err. */
static int write_atomic(const char *dir, const char *name, const char *text, char *err, size_t errlen)
{
	char path[4096], tmp[4200];
	if (cl_snprintf(path, sizeof path, "%s/%s", dir, name) < 0 ||
	    cl_snprintf(tmp, sizeof tmp, "%s/.%s.tmp", dir, name) < 0) {
		cl_snprintf(err, errlen, "firewall export: path too long");
		return -1;
	}
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		cl_snprintf(err, errlen, "firewall export: %s: %s", tmp, strerror(errno));
		return -1;
	}
	size_t len = strlen(text), off = 0;
	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	int ok = off == len && fsync(fd) == 0;
	ok = close(fd) == 0 && ok;
	if (!ok || rename(tmp, path) < 0) {
		cl_snprintf(err, errlen, "firewall export: %s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

int firewall_export(struct cl_pg *pg, const struct banstats_config *cfg, char *err, size_t errlen)
{
	if (!cfg->firewall_dir[0])
		return 0;
	PGresult *r =
	    cl_pg_exec_sql(pg, "SELECT clement_firewall_plain(), clement_firewall_nft()", 0, NULL, err, errlen);
	if (!r)
		return -1;
	int rc = PQntuples(r) == 1 &&
			 write_atomic(cfg->firewall_dir, "banned.txt", PQgetvalue(r, 0, 0), err, errlen) == 0 &&
			 write_atomic(cfg->firewall_dir, "banned.nft", PQgetvalue(r, 0, 1), err, errlen) == 0
		     ? 0
		     : -1;
	PQclear(r);
	return rc;
}
