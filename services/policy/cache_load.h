/* cache_load.h - read a whole snapshot from PostgreSQL.
 *
 * pc_cache_load runs on the watcher's own connection (never shared) and returns a new
 * snapshot with one reference (the caller publishes or releases it), or NULL with err. */
#ifndef CLEMENT_POLICY_CACHE_LOAD_H
#define CLEMENT_POLICY_CACHE_LOAD_H

#include <libpq-fe.h>
#include <stddef.h>

#include "cache.h"

struct pc_snap *pc_cache_load(PGconn *c, char *err, size_t errlen);

#endif
