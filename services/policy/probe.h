/* probe.h - recipient verification by asking the downstream MTA (relay mode, groups with
 * verify_recipients = 'probe').
 *
 * A probe is one short SMTP dialogue (RFC 5321): greeting, EHLO (HELO if refused),
 * MAIL FROM:<>, RCPT TO:<addr>, QUIT, over plain TCP with a deadline for the whole dialogue
 * and a bound on every reply line (lib/mail/smtp_client.h does the talking). Answers are cached per (host, port,
 * address) for the group's verify_ttl_s: a 2xx says the address exists, a 5xx that it does not; anything else (4xx,
 * timeout, refused connection, garbage) is a temporary failure, never cached and never taken as acceptance. The null
 * reverse-path keeps a downstream from sending us anything back about the probe. */
#ifndef CLEMENT_POLICY_PROBE_H
#define CLEMENT_POLICY_PROBE_H

#include <pthread.h>
#include <stddef.h>

#include "util/metrics.h"
#include "util/net.h"

enum pp_result { PP_EXISTS = 0, PP_NO_SUCH_USER, PP_TEMPFAIL };

struct pp_entry;

struct pp_probe {
	int timeout_ms;                         /* whole dialogue */
	const char *helo_name;                  /* not owned */
	const struct cl_net_resolver *resolver; /* lib/dns, for a host name; not owned */
	size_t max_entries;
	struct cl_metric *m_probes[3], *m_hits; /* by result; may be NULL */

	pthread_mutex_t lock;
	struct pp_entry **buckets;
	size_t nbuckets, count;
};

int pp_init(struct pp_probe *p);
void pp_fini(struct pp_probe *p);
/* pp_verify - does rcpt exist at host:port? Uses the cache when fresh. reply (may be NULL)
 * gets the downstream's RCPT reply line or what failed, for logs. Thread-safe; blocks for
 * at most timeout_ms on a cache miss. */
enum pp_result pp_verify(struct pp_probe *p, const char *host, int port, const char *rcpt, int ttl_s, char *reply,
			 size_t rlen);
/* pp_smtp_probe - the dialogue itself, without the cache; a host name is resolved by r. */
enum pp_result pp_smtp_probe(const struct cl_net_resolver *r, const char *host, int port, const char *helo,
			     const char *rcpt, int timeout_ms, char *reply, size_t rlen);

#endif
