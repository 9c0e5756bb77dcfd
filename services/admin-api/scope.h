/* scope.h - what the caller may see, as SQL conditions.
 *
 * root-admin: everything; group-admin: its groups (admin_scopes) and what is in them;
 * domain-admin: its domains and what is in them; user: itself. The sets come from the SQL
 * functions clement_scope_domains/clement_scope_groups (db/migrations/0005_admin.sql), so
 * every handler asks the same question the same way. Each function appends
 * " AND <condition>" to q (nothing for a root-admin, who sees rows of no domain too). */
#ifndef CLEMENT_ADMIN_SCOPE_H
#define CLEMENT_ADMIN_SCOPE_H

#include "api.h"
#include "sql.h"

/* scope_domain_cond - col (a domain id column) is one of the caller's domains. */
void scope_domain_cond(struct api_req *r, struct qb *q, const char *col);
/* scope_group_cond - col (a group id column) is one of the caller's groups. */
void scope_group_cond(struct api_req *r, struct qb *q, const char *col);
/* scope_row_cond - a row tagged with a domain (dcol) and a group (gcol), e.g. a log or
 * audit row: one of the caller's domains or one of its groups. */
void scope_row_cond(struct api_req *r, struct qb *q, const char *dcol, const char *gcol);
/* scope_user_cond - ucol is the caller, or a user of a domain in scope (dcol: that user's
 * domain id column). */
void scope_user_cond(struct api_req *r, struct qb *q, const char *ucol, const char *dcol);

/* scope_managed_user_cond - the row's account (ucol) is the caller, or one the caller manages:
 * in a domain in scope (dcol: the row's domain id column) with a role below the caller's. A
 * row of the domain without an account (ucol NULL) follows the domain's scope. Used for what
 * belongs to an account (quarantine): a domain-admin manages the quarantine of users and its
 * own, never that of a group-admin or root-admin of its domain. */
void scope_managed_user_cond(struct api_req *r, struct qb *q, const char *ucol, const char *dcol);

/* scope_has_domain / scope_has_group - 1 when the id is in scope, 0 when not, -1 answered. */
int scope_has_domain(struct api_req *r, long long domain_id);
int scope_has_group(struct api_req *r, long long group_id);
/* scope_user_manageable - may the caller manage user uid (not itself)? The target must be
 * in a domain in scope and have a lower role than the caller (a root-admin manages every
 * account). 1 yes, 0 out of scope (404), 2 in scope but role too high (403), -1 answered. */
int scope_user_manageable(struct api_req *r, long long uid, enum api_role *target_role);
/* scope_user_target_ok - scope_user_manageable as an answer: 1, or 0 answered (404 out of
 * scope, 403 role too high). */
int scope_user_target_ok(struct api_req *r, long long uid);

#endif

/* Resources owned at user, domain or group level (directives, digest schedules). */
/* scope_owner_cond - the row (alias) belongs to the caller, to an account the caller manages
 * (a domain in scope, a role below the caller's), to a domain in scope or to a group in scope. */
void scope_owner_cond(struct api_req *r, struct qb *q, const char *alias);
/* scope_owner_body - the owner named by the body's user_id / domain_id / group_id (none:
 * the caller itself). Fills *col ("user_id", ...) and *id. 1, or 0 answered: 400 for two
 * owners, 403 when the role may not own at that level or the account's role is not below the
 * caller's, 404 when the owner is out of scope. */
int scope_owner_body(struct api_req *r, const char **col, long long *id);
