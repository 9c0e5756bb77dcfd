/* main.c - clement-migrate: apply db/migrations/NNNN_name.sql in order, once each.
 *
 * Idempotent: applied versions are recorded in schema_migrations; every file runs in its own
 * transaction; a session advisory lock keeps two migrators (two replicas starting at once)
 * from racing. After the files, the log partitions for the coming months are created (their
 * upkeep and the retention are clement-banstats' scheduled job). Exit 0 on success, 1 on failure with a
 * message naming the file and PostgreSQL's error. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/pg.h"
#include "util/buf.h"
#include "util/config.h"
#include "util/log.h"

#define MIGRATE_LOCK_KEY "7433011" /* arbitrary, fixed: the advisory lock of migrations */

struct migrate_config {
	char *db_url;
	char *dir;
	long long connect_attempts;
};

/* name_cmp - qsort comparator on file names (zero-padded numbers sort as text). */
static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* list_migrations - sorted NNNN_*.sql names in dir; caller frees each and the array. */
static char **list_migrations(const char *dir, size_t *n)
{
	DIR *d = opendir(dir);
	if (!d)
		return NULL;
	char **v = NULL;
	size_t cnt = 0, cap = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		if (l < 6 || strcmp(e->d_name + l - 4, ".sql") != 0 || e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		if (cnt == cap) {
			cap = cap ? cap * 2 : 16;
			char **nv = realloc(v, cap * sizeof *v);
			if (!nv)
				break;
			v = nv;
		}
		v[cnt++] = strdup(e->d_name);
	}
	closedir(d);
	if (cnt)
		qsort(v, cnt, sizeof *v, name_cmp);
	*n = cnt;
	return v ? v : calloc(1, sizeof *v);
}

/* read_file - the whole file as a NUL-terminated string (caller frees), NULL on error. */
static char *read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	struct cl_buf b;
	cl_buf_init(&b, 16 * 1024 * 1024);
	char chunk[8192];
	size_t k;
	int bad = 0;
	while ((k = fread(chunk, 1, sizeof chunk, f)) > 0)
		if (cl_buf_append(&b, chunk, k) < 0)
			bad = 1;
	fclose(f);
	if (bad || !b.data) {
		cl_buf_free(&b);
		return NULL;
	}
	return cl_buf_steal(&b, NULL);
}

/* apply_one - run one file in a transaction and record its version. 0, 1 (already), -1. */
static int apply_one(struct cl_pg *pg, const char *dir, const char *name)
{
	char version[16] = "";
	size_t i = 0;
	while (name[i] >= '0' && name[i] <= '9' && i < sizeof version - 1) {
		version[i] = name[i];
		i++;
	}
	char err[512];
	const char *p[1] = {version};
	PGresult *r =
	    cl_pg_exec_sql(pg, "SELECT 1 FROM schema_migrations WHERE version = $1::int", 1, p, err, sizeof err);
	if (!r) {
		fprintf(stderr, "clement-migrate: %s\n", err);
		return -1;
	}
	int done = PQntuples(r) > 0;
	PQclear(r);
	if (done)
		return 1;
	char path[4096];
	if (cl_snprintf(path, sizeof path, "%s/%s", dir, name) < 0)
		return -1;
	char *sql = read_file(path);
	if (!sql) {
		fprintf(stderr, "clement-migrate: cannot read %s\n", path);
		return -1;
	}
	/* The file and its schema_migrations row in one transaction (the file is one simple-query
	 * string: it may hold any number of statements). */
	struct cl_buf tx;
	cl_buf_init(&tx, 0);
	int rc = cl_buf_printf(&tx, "%s\n;INSERT INTO schema_migrations (version, name) VALUES (%s, '%s');", sql,
			       version, name);
	free(sql);
	if (rc == 0 && (cl_pg_begin(pg, NULL, err, sizeof err) < 0 || cl_pg_command(pg, tx.data, err, sizeof err) < 0 ||
			cl_pg_commit(pg, err, sizeof err) < 0)) {
		fprintf(stderr, "clement-migrate: %s failed: %s\n", name, err);
		cl_pg_rollback(pg);
		rc = -1;
	}
	cl_buf_free(&tx);
	if (rc < 0)
		return -1;
	cl_log(CL_LOG_INFO, NULL, "migration_applied", "file=%s", name);
	return 0;
}

int main(int argc, char **argv)
{
	struct migrate_config cfg = {0};
	const struct cl_setting settings[] = {
	    {"CLEMENT_DB_URL", CL_SET_STR, "postgresql:///clement", 0, 0,
	     "PostgreSQL connection string (URL or key=value)", &cfg.db_url},
	    {"CLEMENT_MIGRATIONS_DIR", CL_SET_STR, "db/migrations", 0, 0,
	     "directory holding the NNNN_name.sql migration files", &cfg.dir},
	    {"CLEMENT_DB_CONNECT_ATTEMPTS", CL_SET_INT, "30", 1, 100000,
	     "connection attempts (with backoff up to 2 s) before giving up at start-up", &cfg.connect_attempts},
	};
	cl_config_main(
	    argc, argv, "clement-migrate",
	    "Applies Clement's database migrations (idempotent) and creates the coming months' log partitions.",
	    settings, CL_SETTINGS_COUNT(settings));
	cl_log_init("migrate", CL_LOG_INFO);
	char err[512];
	struct cl_pg pg;
	int status = 1;
	if (cl_pg_open(&pg, cfg.db_url, NULL, 0, (int)cfg.connect_attempts, err, sizeof err) < 0) {
		fprintf(stderr, "clement-migrate: %s\n", err);
		goto out;
	}
	if (cl_pg_command(&pg, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")", err, sizeof err) < 0 ||
	    cl_pg_command(
		&pg,
		"SET client_min_messages = warning; CREATE TABLE IF NOT EXISTS schema_migrations ("
		"version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())",
		err, sizeof err) < 0) {
		fprintf(stderr, "clement-migrate: %s\n", err);
		goto out;
	}
	size_t n = 0;
	char **files = list_migrations(cfg.dir, &n);
	if (!files) {
		fprintf(stderr, "clement-migrate: cannot read directory %s (set CLEMENT_MIGRATIONS_DIR)\n", cfg.dir);
		goto out;
	}
	int applied = 0, failed = 0;
	for (size_t i = 0; i < n; i++) {
		if (!failed) {
			int rc = apply_one(&pg, cfg.dir, files[i]);
			if (rc < 0)
				failed = 1;
			else if (rc == 0)
				applied++;
		}
		free(files[i]);
	}
	free(files);
	if (failed)
		goto out;
	/* The coming months' partitions exist before any service writes a log row; banstats keeps
	 * them coming and drops those past the retention (services/banstats/maintain.c). */
	if (cl_pg_command(&pg, "SELECT clement_ensure_partitions(1, 3)", err, sizeof err) < 0) {
		fprintf(stderr, "clement-migrate: partitions: %s\n", err);
		goto out;
	}
	cl_log(CL_LOG_INFO, NULL, "migrated", "applied=%d total=%zu", applied, n);
	status = 0;
out:
	cl_pg_close(&pg);
	cl_config_free(settings, CL_SETTINGS_COUNT(settings));
	return status;
}
