/* routes.h - the API's route table and every handler in it.
 *
 * One row per route: method, path pattern ({name} captures one segment into r->arg[]),
 * the lowest role that may call it (403 below it), and flags. The server enforces what
 * the row says (session, role, CSRF + Origin for state changes) before the handler runs;
 * the handler then checks scope (404 outside it). docs/openapi.yaml documents every row
 * (tests/integration/test_admin_api_openapi.py reads this table from routes.c). */
#ifndef CLEMENT_ADMIN_ROUTES_H
#define CLEMENT_ADMIN_ROUTES_H

#include "api.h"

typedef void (*api_handler_fn)(struct api_req *r);

enum {
	RT_PUBLIC = 1, /* no session needed */
	RT_TOKEN = 2   /* a signed token in the path is the credential: no Origin check */
};

struct api_route {
	const char *method;
	const char *pattern;
	enum api_role min_role;
	int flags;
	api_handler_fn fn;
};

/* api_route_find - the route for method and path, with its arguments copied into r->arg.
 * NULL when none; *path_known is then 1 when the path exists with another method (405). */
const struct api_route *api_route_find(struct api_req *r, const char *method, const char *path, int *path_known);

/* auth.c */
void h_login(struct api_req *r);
void h_logout(struct api_req *r);
void h_me(struct api_req *r);
void h_password(struct api_req *r);
/* h_groups.c */
void h_groups_list(struct api_req *r);
void h_group_get(struct api_req *r);
void h_group_create(struct api_req *r);
void h_group_update(struct api_req *r);
void h_group_delete(struct api_req *r);
/* h_domains.c */
void h_domains_list(struct api_req *r);
void h_domain_get(struct api_req *r);
void h_domain_create(struct api_req *r);
void h_domain_update(struct api_req *r);
void h_domain_delete(struct api_req *r);
/* h_users.c */
void h_users_list(struct api_req *r);
void h_user_get(struct api_req *r);
void h_user_create(struct api_req *r);
void h_user_update(struct api_req *r);
void h_user_delete(struct api_req *r);
void h_scopes_list(struct api_req *r);
void h_scope_create(struct api_req *r);
void h_scope_delete(struct api_req *r);
/* h_dkim.c */
void h_dkim_list(struct api_req *r);
void h_dkim_create(struct api_req *r);
void h_dkim_activate(struct api_req *r);
void h_dkim_retire(struct api_req *r);
/* h_aliases.c */
void h_aliases_list(struct api_req *r);
void h_alias_create(struct api_req *r);
void h_alias_delete(struct api_req *r);
/* h_directives.c */
void h_directives_list(struct api_req *r);
void h_directive_get(struct api_req *r);
void h_directive_create(struct api_req *r);
void h_directive_update(struct api_req *r);
void h_directive_delete(struct api_req *r);
/* h_logs.c */
void h_logs_list(struct api_req *r);
void h_log_get(struct api_req *r);
void h_smtp_sessions_list(struct api_req *r);
void h_smtp_session_get(struct api_req *r);
void h_stats(struct api_req *r);
/* h_audit.c */
void h_audit_list(struct api_req *r);
/* h_quarantine.c */
void h_quarantine_list(struct api_req *r);
void h_quarantine_get(struct api_req *r);
void h_quarantine_release(struct api_req *r);
void h_quarantine_delete(struct api_req *r);
void h_quarantine_accept_sender(struct api_req *r);
void h_digest_confirm(struct api_req *r);
void h_digest_link(struct api_req *r);
/* h_digests.c */
void h_digest_schedules_list(struct api_req *r);
void h_digest_schedule_create(struct api_req *r);
void h_digest_schedule_update(struct api_req *r);
void h_digest_schedule_delete(struct api_req *r);
/* h_bans.c */
void h_bans_list(struct api_req *r);
void h_bans_export(struct api_req *r);
void h_ban_create(struct api_req *r);
void h_ban_promote(struct api_req *r);
void h_ban_unban(struct api_req *r);
void h_never_ban_list(struct api_req *r);
void h_never_ban_create(struct api_req *r);
void h_never_ban_delete(struct api_req *r);
void h_mesh_peers_list(struct api_req *r);
void h_mesh_peer_create(struct api_req *r);
void h_mesh_peer_update(struct api_req *r);
void h_mesh_peer_delete(struct api_req *r);
void h_settings_list(struct api_req *r);
void h_setting_put(struct api_req *r);
void h_setting_delete(struct api_req *r);

#endif
