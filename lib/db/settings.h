/* settings.h - the catalogue of the `settings` table (root's "Global settings" screen): the
 * keys that services read from the table at run time, so a change takes effect without a
 * restart, each with its bounds, its reader and the service setting it overrides.
 *
 * The admin API accepts only these keys and values (integers within the bounds); readers
 * read a key in SQL with clement_setting_int(key, fallback) (db/migrations/0011_jobs.sql), the
 * fallback being their own CLEMENT_* setting, so an unset key means the service's setting.
 * To add a key: a row here, the reader's SQL, and a test that changing it changes what the
 * reader does. Bounds and default repeat those of the fallback in its reader's settings table;
 * tests/integration/test_admin_api.py compares them with the reader's --settings-markdown. */
#ifndef CLEMENT_DB_SETTINGS_H
#define CLEMENT_DB_SETTINGS_H

#include <stddef.h>

struct cl_db_setting {
	const char *key;      /* lower-case letters, digits, '_' and '.' */
	long long min, max;   /* the value is an integer within [min, max] (the fallback's bounds) */
	long long def;        /* the fallback setting's default (its reader's settings table) */
	const char *read_by;  /* which service reads it, and when */
	const char *fallback; /* the CLEMENT_* setting used while the key is unset */
	const char *help;
};

extern const struct cl_db_setting cl_db_settings[];
extern const size_t cl_db_settings_count;

/* cl_db_setting_find - the catalogue entry of key, or NULL when the table has no such key. */
const struct cl_db_setting *cl_db_setting_find(const char *key);

#endif
