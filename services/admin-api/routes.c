/* routes.c - the route table (protocol as data) and its matcher. See routes.h. */
#include "routes.h"

#include <string.h>

#include "util/buf.h"

static const struct api_route ROUTES[] = {
    /* authentication */
    {"POST", "/api/login", ROLE_NONE, RT_PUBLIC, h_login},
    {"POST", "/api/logout", ROLE_USER, 0, h_logout},
    {"GET", "/api/me", ROLE_USER, 0, h_me},
    {"POST", "/api/password", ROLE_USER, 0, h_password},
    /* groups, domains, users, admin scopes */
    {"GET", "/api/groups", ROLE_GROUP_ADMIN, 0, h_groups_list},
    {"POST", "/api/groups", ROLE_ROOT, 0, h_group_create},
    {"GET", "/api/groups/{id}", ROLE_GROUP_ADMIN, 0, h_group_get},
    {"PATCH", "/api/groups/{id}", ROLE_GROUP_ADMIN, 0, h_group_update},
    {"DELETE", "/api/groups/{id}", ROLE_ROOT, 0, h_group_delete},
    {"GET", "/api/domains", ROLE_DOMAIN_ADMIN, 0, h_domains_list},
    {"POST", "/api/domains", ROLE_GROUP_ADMIN, 0, h_domain_create},
    {"GET", "/api/domains/{id}", ROLE_DOMAIN_ADMIN, 0, h_domain_get},
    {"PATCH", "/api/domains/{id}", ROLE_DOMAIN_ADMIN, 0, h_domain_update},
    {"DELETE", "/api/domains/{id}", ROLE_GROUP_ADMIN, 0, h_domain_delete},
    {"GET", "/api/domains/{id}/dkim", ROLE_DOMAIN_ADMIN, 0, h_dkim_list},
    {"POST", "/api/domains/{id}/dkim", ROLE_DOMAIN_ADMIN, 0, h_dkim_create},
    {"POST", "/api/domains/{id}/dkim/{key_id}/activate", ROLE_DOMAIN_ADMIN, 0, h_dkim_activate},
    {"POST", "/api/domains/{id}/dkim/{key_id}/retire", ROLE_DOMAIN_ADMIN, 0, h_dkim_retire},
    {"GET", "/api/users", ROLE_DOMAIN_ADMIN, 0, h_users_list},
    {"POST", "/api/users", ROLE_DOMAIN_ADMIN, 0, h_user_create},
    {"GET", "/api/users/{id}", ROLE_USER, 0, h_user_get},
    {"PATCH", "/api/users/{id}", ROLE_USER, 0, h_user_update},
    {"DELETE", "/api/users/{id}", ROLE_DOMAIN_ADMIN, 0, h_user_delete},
    {"GET", "/api/users/{id}/scopes", ROLE_DOMAIN_ADMIN, 0, h_scopes_list},
    {"POST", "/api/users/{id}/scopes", ROLE_GROUP_ADMIN, 0, h_scope_create},
    {"DELETE", "/api/users/{id}/scopes/{scope_id}", ROLE_GROUP_ADMIN, 0, h_scope_delete},
    {"GET", "/api/users/{id}/aliases", ROLE_USER, 0, h_aliases_list},
    {"POST", "/api/users/{id}/aliases", ROLE_DOMAIN_ADMIN, 0, h_alias_create},
    {"DELETE", "/api/users/{id}/aliases/{alias_id}", ROLE_DOMAIN_ADMIN, 0, h_alias_delete},
    /* sender-receiver directives */
    {"GET", "/api/directives", ROLE_USER, 0, h_directives_list},
    {"POST", "/api/directives", ROLE_USER, 0, h_directive_create},
    {"GET", "/api/directives/{id}", ROLE_USER, 0, h_directive_get},
    {"PATCH", "/api/directives/{id}", ROLE_USER, 0, h_directive_update},
    {"DELETE", "/api/directives/{id}", ROLE_USER, 0, h_directive_delete},
    /* logs and statistics */
    {"GET", "/api/logs", ROLE_USER, 0, h_logs_list},
    {"GET", "/api/logs/{id}", ROLE_USER, 0, h_log_get},
    {"GET", "/api/smtp-sessions", ROLE_DOMAIN_ADMIN, 0, h_smtp_sessions_list},
    {"GET", "/api/smtp-sessions/{sid}", ROLE_DOMAIN_ADMIN, 0, h_smtp_session_get},
    {"GET", "/api/stats", ROLE_USER, 0, h_stats},
    {"GET", "/api/audit", ROLE_DOMAIN_ADMIN, 0, h_audit_list},
    /* quarantine and digests */
    {"GET", "/api/quarantine", ROLE_USER, 0, h_quarantine_list},
    {"GET", "/api/quarantine/{id}", ROLE_USER, 0, h_quarantine_get},
    {"POST", "/api/quarantine/{id}/release", ROLE_USER, 0, h_quarantine_release},
    {"DELETE", "/api/quarantine/{id}", ROLE_USER, 0, h_quarantine_delete},
    {"POST", "/api/quarantine/{id}/accept-sender", ROLE_USER, 0, h_quarantine_accept_sender},
    {"GET", "/api/digest-schedules", ROLE_USER, 0, h_digest_schedules_list},
    {"POST", "/api/digest-schedules", ROLE_USER, 0, h_digest_schedule_create},
    {"PATCH", "/api/digest-schedules/{id}", ROLE_USER, 0, h_digest_schedule_update},
    {"DELETE", "/api/digest-schedules/{id}", ROLE_USER, 0, h_digest_schedule_delete},
    {"GET", "/api/digest/{token}", ROLE_NONE, RT_PUBLIC, h_digest_confirm},
    {"POST", "/api/digest/{token}", ROLE_NONE, RT_PUBLIC | RT_TOKEN, h_digest_link},
    /* bans, never-ban networks, mesh, settings (root) */
    {"GET", "/api/bans", ROLE_ROOT, 0, h_bans_list},
    {"GET", "/api/bans/export", ROLE_ROOT, 0, h_bans_export},
    {"POST", "/api/bans", ROLE_ROOT, 0, h_ban_create},
    {"POST", "/api/bans/{id}/promote", ROLE_ROOT, 0, h_ban_promote},
    {"POST", "/api/bans/{id}/unban", ROLE_ROOT, 0, h_ban_unban},
    {"GET", "/api/never-ban", ROLE_ROOT, 0, h_never_ban_list},
    {"POST", "/api/never-ban", ROLE_ROOT, 0, h_never_ban_create},
    {"DELETE", "/api/never-ban/{id}", ROLE_ROOT, 0, h_never_ban_delete},
    {"GET", "/api/mesh-peers", ROLE_ROOT, 0, h_mesh_peers_list},
    {"POST", "/api/mesh-peers", ROLE_ROOT, 0, h_mesh_peer_create},
    {"PATCH", "/api/mesh-peers/{id}", ROLE_ROOT, 0, h_mesh_peer_update},
    {"DELETE", "/api/mesh-peers/{id}", ROLE_ROOT, 0, h_mesh_peer_delete},
    {"GET", "/api/settings", ROLE_ROOT, 0, h_settings_list},
    {"PUT", "/api/settings/{key}", ROLE_ROOT, 0, h_setting_put},
    {"DELETE", "/api/settings/{key}", ROLE_ROOT, 0, h_setting_delete},
};

/* route_match - does path fit pattern? Captures {name} segments into r->arg. */
static int route_match(struct api_req *r, const char *pattern, const char *path)
{
	int nargs = 0;
	const char *p = pattern, *s = path;
	while (*p && *s) {
		if (*p == '{') {
			const char *pe = strchr(p, '}');
			size_t len = strcspn(s, "/");
			if (!pe || len == 0 || len >= API_ARG_MAX || nargs >= API_MAX_ARGS)
				return 0;
			memcpy(r->arg[nargs], s, len);
			r->arg[nargs++][len] = '\0';
			p = pe + 1;
			s += len;
			continue;
		}
		if (*p++ != *s++)
			return 0;
	}
	return *p == '\0' && *s == '\0';
}

/* api_route_find - see routes.h */
const struct api_route *api_route_find(struct api_req *r, const char *method, const char *path, int *path_known)
{
	*path_known = 0;
	for (size_t i = 0; i < sizeof ROUTES / sizeof ROUTES[0]; i++) {
		if (!route_match(r, ROUTES[i].pattern, path))
			continue;
		if (strcmp(ROUTES[i].method, method) == 0)
			return &ROUTES[i];
		*path_known = 1;
	}
	return NULL;
}
