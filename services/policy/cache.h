/* cache.h - the in-memory image of what policy decides from: groups, domains, users,
 * sender-receiver directives, bans and never-ban networks.
 *
 * sender aliases (sender_aliases: who may use which MAIL FROM after AUTH), bans and
 * never-ban networks.
 *
 * A snapshot is immutable once built. The watcher thread (cache_watch.c) builds a new one
 * from PostgreSQL on every NOTIFY on channel clement_cache and publishes it with
 * pc_cache_publish(); request threads take a reference with pc_cache_acquire(), decide,
 * and drop it with pc_snap_release(). The last reference frees the snapshot, so a decision
 * that blocks (RCPT probe, IMAP login) never holds up a reload and never sees a half-built
 * image. Lookups are binary searches over sorted arrays. */
#ifndef CLEMENT_POLICY_CACHE_H
#define CLEMENT_POLICY_CACHE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

#include "mail/verdict.h"
#include "util/cidr.h"

enum pc_dir_action { PC_ACCEPT = 0, PC_REJECT, PC_QUARANTINE };
enum pc_level { PC_LEVEL_USER = 0, PC_LEVEL_DOMAIN, PC_LEVEL_GROUP };

struct pc_group {
	long long id;
	int relay;        /* mode = 'relay' */
	char *relay_host; /* NULL in local mode */
	int relay_port;
	int verify_probe; /* verify_recipients = 'probe' */
	int verify_ttl_s;
	char *imap_host;                  /* NULL: no IMAP login for this group */
	int imap_port;                    /* 0: the default for the TLS mode */
	int imap_tls;                     /* enum cl_imap_tls, from imap_tls */
	int dnsbl_threshold;              /* the group's stricter reputation threshold; 0: the global one */
	struct cl_content_policy content; /* Rspamd scores and the DMARC switch (issue 18) */
};

struct pc_domain {
	long long id;
	char *name;
	long long group_id;
	const struct pc_group *group; /* resolved by pc_snap_index */
	int default_quarantine;
	char *reject_text;                /* NULL: "does not accept mail from" */
	char *unknown_user_text;          /* NULL: "no such user" */
	struct cl_content_policy content; /* overrides of the group's; has_* = 0: the group's */
	int dmarc_set;                    /* dmarc_enforce given (else the group's) */
};

struct pc_user {
	long long id;
	long long domain_id;
	char *local;
	char *password_hash; /* NULL: no local password */
	char *role;          /* users.role */
	int enabled;
	long long quota_bytes; /* users.quota_bytes, 0 = none: sent with a local route (delivery enforces it) */
};

struct pc_directive {
	int level;       /* enum pc_level */
	long long owner; /* user, domain or group id */
	char *pattern;   /* "a@b.c", "@b.c" or "*.b.c" */
	int action;      /* enum pc_dir_action */
};

/* A sender alias: user_id may use address (lower case) as MAIL FROM after AUTH. */
struct pc_alias {
	long long user_id;
	char *address;
};

struct pc_ban {
	char *reason;
	double expires_at; /* unix seconds; 0 = never */
};

struct pc_snap {
	_Atomic long refs;
	double loaded_at; /* cl_now_seconds() at publication */
	struct pc_group *groups;
	size_t ngroups; /* by id */
	struct pc_domain *domains;
	size_t ndomains; /* by name */
	struct pc_user *users;
	size_t nusers; /* by (domain_id, local) */
	struct pc_directive *dirs;
	size_t ndirs; /* by (level, owner, pattern) */
	struct pc_alias *aliases;
	size_t naliases; /* by (user_id, address) */
	struct pc_ban *bans;
	size_t nbans;
	struct cl_netset ban_set;   /* idx -> bans[] */
	struct cl_netset never_ban; /* from the table never_ban_networks */
};

/* The published snapshot plus the watcher's view of the database. */
struct pc_cache {
	pthread_mutex_t lock;
	struct pc_snap *cur; /* NULL until the first load */
	_Atomic long long reloads;
	_Atomic int connected;          /* the watcher's LISTEN connection is up */
	_Atomic double disconnected_at; /* cl_now_seconds() when it went down, 0 while up */
	/* a change was notified that the current snapshot does not hold yet (set by the watcher
	 * from the notification until the reload that follows is published): a refusal the
	 * change could undo is then only a deferral (decide.c) */
	_Atomic int changes_pending;
};

void pc_cache_init(struct pc_cache *c);
/* pc_cache_fini - drop the published snapshot (no reader may still be running). */
void pc_cache_fini(struct pc_cache *c);
/* pc_cache_publish - make snap current (takes the caller's reference); the old one is released. */
void pc_cache_publish(struct pc_cache *c, struct pc_snap *snap);
/* pc_cache_acquire - a reference to the current snapshot, or NULL before the first load.
 * The caller releases it with pc_snap_release. */
struct pc_snap *pc_cache_acquire(struct pc_cache *c);
void pc_snap_release(struct pc_snap *s);

/* Building: pc_snap_new gives an empty snapshot with one reference; the loader fills the
 * arrays (strings malloc'd, owned by the snapshot) and calls pc_snap_index to sort them. */
struct pc_snap *pc_snap_new(void);
int pc_snap_index(struct pc_snap *s, char *err, size_t errlen);

/* Lookups; returned pointers live as long as the snapshot. */
const struct pc_group *pc_group_find(const struct pc_snap *s, long long id);
const struct pc_domain *pc_domain_find(const struct pc_snap *s, const char *name);
const struct pc_user *pc_user_find(const struct pc_snap *s, long long domain_id, const char *local);
/* pc_directive_match - the action of the most specific directive of one owner matching
 * sender (exact address, then "@domain", then "*.suffix" longest first); -1 when none. */
int pc_directive_match(const struct pc_snap *s, int level, long long owner, const char *sender);
/* pc_alias_granted - 1 when user_id was granted address (lower case) as a sender alias. */
int pc_alias_granted(const struct pc_snap *s, long long user_id, const char *address);
/* pc_ban_find - the active ban containing a at time now (unix), or NULL. */
const struct pc_ban *pc_ban_find(const struct pc_snap *s, const struct cl_ip *a, double now);

#endif
