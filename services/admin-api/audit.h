/* audit.h - the audit trail: every state-changing API call (POST, PUT, PATCH, DELETE that
 * reached its handler, and role refusals of logged-in callers) becomes one row of
 * audit_log (db/migrations/0009_audit.sql): who (user id, login name, role), from where
 * (client address), when, what (method, route pattern, target type and id; the target's
 * domain, group, and the account it is or belongs to with that account's role, which decide
 * who may read the row), the answer's status, and the target object before and after as
 * JSON with every secret masked (audit_mask).
 *
 * One hook in the request path (server.c calls audit_call for every such request) does it
 * all; handlers need no code. What a target is comes from the route: the first path segment
 * names the resource, a row of the table in audit.c says how to read one object of it
 * (its table, its key column, the SQL for its domain, group and owner), and the last path argument
 * or, for a create, the "id" of the answer names the object. A new resource gets a row there.
 *
 * Atomicity: the hook runs the handler inside a transaction (BEGIN; SAVEPOINT; handler;
 * the audit INSERT; COMMIT), so the change and its audit row are committed together; when
 * the row cannot be written the change is rolled back and the caller gets 500 (counted in
 * clement_admin_audit_failures_total, logged at error level). A handler that gives its
 * database connection back around a slow outside call (api_db_pause: IMAP login, the
 * delivery service's release/delete) ends the transaction there; its row is then written
 * after the handler, and a failure to write it can no longer undo the change made
 * elsewhere: it is logged at error level and counted in the same metric. */
#ifndef CLEMENT_ADMIN_AUDIT_H
#define CLEMENT_ADMIN_AUDIT_H

#include "routes.h"

/* audit_call - run fn (NULL: the request was refused and already answered) for the
 * state-changing request r matched to route rt, recording it. If the transaction cannot be
 * started the request is answered 503 and fn does not run. */
void audit_call(struct api_req *r, const struct api_route *rt, api_handler_fn fn);

/* audit_pause - called by api_db_pause before r's connection goes back to the pool:
 * commits the hook's transaction (what the handler did so far stays, as without the hook)
 * and makes the audit row be written after the handler. */
void audit_pause(struct api_req *r);

/* audit_mask - replace, in place and recursively, the value of every member of before and
 * after (two snapshots of one object; either may be NULL) whose name marks a secret
 * (password, hash, token, secret, credential, a key, ...) with "[masked]", or
 * "[masked, changed]" when the two snapshots hold different values under that name. JSON
 * null stays null (it says "not set" and reveals nothing). A settings row {"key","value"}
 * whose key names a secret has its value masked too. */
void audit_mask(cJSON *before, cJSON *after);

#endif
