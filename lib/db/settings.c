/* settings.c - see settings.h. */
#include "db/settings.h"

#include <string.h>

const struct cl_db_setting cl_db_settings[] = {
    {"log.retention_months", 1, 1200, 13,
     "banstats, at each partition maintenance run (CLEMENT_MAINTENANCE_INTERVAL_S)",
     "CLEMENT_LOG_RETENTION_MONTHS (banstats)",
     "months of session and message logs kept; older monthly partitions are dropped"},
    {"quarantine.retention_days", 1, 3650, 30, "delivery, for each message it quarantines",
     "CLEMENT_QUARANTINE_RETENTION_DAYS (delivery)", "days a newly quarantined message is kept before it is purged"},
};
const size_t cl_db_settings_count = sizeof cl_db_settings / sizeof cl_db_settings[0];

const struct cl_db_setting *cl_db_setting_find(const char *key)
{
	for (size_t i = 0; i < cl_db_settings_count; i++)
		if (strcmp(cl_db_settings[i].key, key) == 0)
			return &cl_db_settings[i];
	return NULL;
}
