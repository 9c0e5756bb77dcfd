/* h_groups.c - /api/groups: a group's mode (local Maildirs or relay to a downstream MTA),
 * its downstream, recipient verification and IMAP login server.
 *
 * root-admin creates and deletes groups; a group-admin sees and edits its own groups'
 * mode settings but not their names, and not their IMAP login server (host, port, TLS
 * mode): whoever controls that server decides who logs in as the group's users and sees
 * their passwords (issue 15), so only a root-admin may point a group at one. A group whose
 * IMAP logins go without TLS ('plain') is logged as a warning each time a root-admin sets
 * it. The relay password is write-only: reads say only whether one is set. */
#include <string.h>

#include "crud.h"
#include "routes.h"
#include "scope.h"
#include "util/log.h"

static const struct api_field GROUP_FIELDS[] = {
    {"id", F_INT, ROLE_ROOT, 0, 0, NULL, FF_READONLY, NULL},
    {"created_at", F_STR, ROLE_ROOT, 0, 0, NULL, FF_READONLY, NULL},
    {"name", F_STR, ROLE_ROOT, 1, 100, NULL, FF_REQUIRED, NULL},
    {"mode", F_STR, ROLE_GROUP_ADMIN, 0, 10, "local|relay", FF_REQUIRED, NULL},
    {"relay_host", F_STR, ROLE_GROUP_ADMIN, 1, 253, NULL, FF_NULLABLE, NULL},
    {"relay_port", F_INT, ROLE_GROUP_ADMIN, 1, 65535, NULL, 0, NULL},
    {"relay_tls", F_STR, ROLE_GROUP_ADMIN, 0, 20, "none|opportunistic|required", 0, NULL},
    {"relay_auth_user", F_STR, ROLE_GROUP_ADMIN, 1, 320, NULL, FF_NULLABLE, NULL},
    {"relay_auth_pass", F_STR, ROLE_GROUP_ADMIN, 1, 1024, NULL, FF_NULLABLE, NULL},
    {"verify_recipients", F_STR, ROLE_GROUP_ADMIN, 0, 10, "list|probe", 0, NULL},
    {"verify_ttl_s", F_INT, ROLE_GROUP_ADMIN, 0, 604800, NULL, 0, NULL},
    {"imap_host", F_STR, ROLE_ROOT, 1, 253, NULL, FF_NULLABLE, NULL},
    {"imap_port", F_INT, ROLE_ROOT, 1, 65535, NULL, FF_NULLABLE, NULL},
    {"imap_tls", F_STR, ROLE_ROOT, 0, 10, "required|implicit|plain", 0, NULL},
    {"dnsbl_threshold", F_INT, ROLE_GROUP_ADMIN, 1, 1000, NULL, FF_NULLABLE, NULL},
    /* content verdicts (issue 18): Rspamd scores; null leaves the action to Rspamd's configuration */
    {"spam_reject_score", F_NUM, ROLE_GROUP_ADMIN, -1000, 1000, NULL, FF_NULLABLE, "::numeric"},
    {"spam_quarantine_score", F_NUM, ROLE_GROUP_ADMIN, -1000, 1000, NULL, FF_NULLABLE, "::numeric"},
    {"spam_tag_score", F_NUM, ROLE_GROUP_ADMIN, -1000, 1000, NULL, FF_NULLABLE, "::numeric"},
    {"dmarc_enforce", F_BOOL, ROLE_GROUP_ADMIN, 0, 0, NULL, 0, NULL},
    /* learn from quarantine decisions: release teaches Rspamd ham, delete spam */
    {"learn_quarantine", F_BOOL, ROLE_GROUP_ADMIN, 0, 0, NULL, 0, NULL},
};
#define NGF (sizeof GROUP_FIELDS / sizeof GROUP_FIELDS[0])

#define GROUP_COLS                                                                                                     \
	"g.id, g.name, g.mode, g.relay_host, g.relay_port, g.relay_tls, g.relay_auth_user, "                           \
	"g.relay_auth_pass IS NOT NULL AS relay_auth_pass_set, g.verify_recipients, g.verify_ttl_s, "                  \
	"g.imap_host, g.imap_port, g.imap_tls, g.dnsbl_threshold, g.created_at, g.spam_reject_score, "                 \
	"g.spam_quarantine_score, g.spam_tag_score, g.dmarc_enforce, g.learn_quarantine, "                             \
	"(SELECT count(*) FROM domains d WHERE d.group_id = g.id) AS domains"

/* warn_plain_imap - after a successful write that touched the IMAP settings: a group whose
 * IMAP logins send passwords without TLS is a root-admin's explicit decision, on record. */
static void warn_plain_imap(struct api_req *r)
{
	if (r->status >= 300 || !r->out || !r->in ||
	    !(cJSON_HasObjectItem(r->in, "imap_tls") || cJSON_HasObjectItem(r->in, "imap_host") ||
	      cJSON_HasObjectItem(r->in, "imap_port")))
		return;
	const cJSON *tls = cJSON_GetObjectItemCaseSensitive(r->out, "imap_tls");
	const cJSON *host = cJSON_GetObjectItemCaseSensitive(r->out, "imap_host");
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(r->out, "id");
	if (!cJSON_IsString(tls) || strcmp(tls->valuestring, "plain") != 0 || !cJSON_IsString(host))
		return;
	char esc[300];
	cl_log(CL_LOG_WARN, NULL, "imap_plain",
	       "group=%lld host=%s by=%lld warning=\"IMAP logins of this group send passwords without TLS\"",
	       cJSON_IsNumber(id) ? (long long)id->valuedouble : 0LL,
	       cl_log_escape(esc, sizeof esc, host->valuestring, strlen(host->valuestring)), r->me.id);
}

static void group_scope(struct api_req *r, struct qb *q)
{
	scope_group_cond(r, q, "g.id");
}

void h_groups_list(struct api_req *r)
{
	struct qb q;
	qb_init(&q, "SELECT " GROUP_COLS " FROM groups g WHERE true");
	group_scope(r, &q);
	api_eq_filter(r, &q, "mode", "g.mode", NULL);
	api_text_filter(r, &q, "q", "g.name");
	api_list(r, &q, "g.name");
	qb_free(&q);
}

void h_group_get(struct api_req *r)
{
	long long id = api_arg_id(r, 0);
	if (id < 0)
		return;
	struct qb q;
	qb_init(&q, "SELECT " GROUP_COLS " FROM groups g WHERE g.id = ");
	qb_add(&q, "$%d", qb_param_ll(&q, id));
	group_scope(r, &q);
	api_one(r, &q, "group");
	qb_free(&q);
}

void h_group_create(struct api_req *r)
{
	struct qb q;
	qb_init(&q, "");
	api_create(r, &q, "groups AS g", GROUP_FIELDS, NGF, NULL, NULL, GROUP_COLS);
	qb_free(&q);
	warn_plain_imap(r);
}

void h_group_update(struct api_req *r)
{
	long long id = api_arg_id(r, 0);
	if (id < 0)
		return;
	api_update(r, "groups g", "g", GROUP_FIELDS, NGF, id, group_scope, GROUP_COLS, "group");
	warn_plain_imap(r);
}

/* h_group_delete - DELETE /api/groups/{id}: only a group without domains (the schema restricts
 * it too), so that no account goes with it; 409 says how many domains are in the way. */
void h_group_delete(struct api_req *r)
{
	long long id = api_arg_id(r, 0);
	if (id < 0)
		return;
	struct qb q;
	qb_init(&q, "SELECT count(*) FROM domains d WHERE d.group_id = ");
	qb_add(&q, "$%d", qb_param_ll(&q, id));
	char n[24] = "0";
	int rc = api_scalar(r, &q, n, sizeof n);
	qb_free(&q);
	if (rc < 0)
		return;
	if (strcmp(n, "0") != 0)
		api_err(r, 409, "group has %s domain%s; delete them or move them to another group first", n,
			strcmp(n, "1") == 0 ? "" : "s");
	else
		api_delete(r, "groups g", "g", id, NULL, "group");
}
