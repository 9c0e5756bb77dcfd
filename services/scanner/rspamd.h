/* rspamd.h - the scanner's Rspamd client: one POST /checkv2 per message with the SMTP envelope
 * as headers, its JSON answer read into a fixed-size result, and what Clement makes of it
 * (issue 18).
 *
 * The request carries what Rspamd's protocol defines (IP, Helo, Hostname, From, one Rcpt per
 * recipient, Queue-Id, User, TLS-Version, TLS-Cipher, MTA-Name, Settings); the answer's
 * "action", "score", "symbols" and "messages.smtp_message" are all that is read. Connections
 * are kept alive: each finished request returns its curl handle to a small pool.
 *
 * rspamd_parse is socket-free (unit tests and the fuzz target use it): anything that is not
 * the JSON object Rspamd sends is an error, never a clean result. */
#ifndef CLEMENT_SCANNER_RSPAMD_H
#define CLEMENT_SCANNER_RSPAMD_H

#include <pthread.h>
#include <stddef.h>

#define RSPAMD_MAX_RCPTS 1000
#define RSPAMD_REPLY_MAX (1024 * 1024) /* Rspamd's answer for one message: a few kB */

enum rspamd_status { RSPAMD_OFF = 0, RSPAMD_OK, RSPAMD_ERROR };

/* Rspamd's actions (its "action" field), mildest first. */
enum rspamd_action {
	RA_NO_ACTION = 0,
	RA_GREYLIST,
	RA_ADD_HEADER,
	RA_REWRITE_SUBJECT,
	RA_SOFT_REJECT,
	RA_REJECT,
};

/* One authentication method's result in RFC 8601 words ("pass", "fail", ... or "" = not seen). */
struct rspamd_auth {
	char result[16];
	char prop[160]; /* "smtp.mailfrom=a@b.example", "header.d=b.example", "" */
};

struct rspamd_result {
	enum rspamd_status status;
	char error[160];
	enum rspamd_action action;
	double score;
	char smtp_message[200]; /* Rspamd's own reply text ("Gtube pattern"), printable ASCII */
	char symbols[400];      /* "NAME(score) NAME(score) ...", positive scores, highest first */
	char reasons[300];      /* the same symbols' descriptions: "SPF verification failed; ..." */
	int dmarc_reject;       /* DMARC_POLICY_REJECT: the From domain says p=reject and nothing aligned */
	char dmarc_domain[128];
	struct rspamd_auth spf, dkim, dmarc;
};

/* The envelope and the policy Rspamd is given (all borrowed; NULL or "" = absent). */
struct rspamd_env {
	const char *sid, *ip, *helo, *hostname, *from, *queue_id, *user, *tls_version, *tls_cipher, *mta_name;
	const char *const *rcpts;
	size_t nrcpt;
	const char *settings; /* JSON for the Settings header, or NULL */
};

struct rspamd_client {
	char *url; /* ".../checkv2", owned */
	long timeout_ms;
	pthread_mutex_t lock;
	void **idle; /* CURL handles kept for their connections */
	size_t nidle, cap;
};

/* rspamd_client_init - base is Rspamd's normal worker ("http://127.0.0.1:11333"); 0 or -1 with err. */
int rspamd_client_init(struct rspamd_client *c, const char *base, long timeout_ms, size_t pool, char *err,
		       size_t errlen);
void rspamd_client_fini(struct rspamd_client *c);

/* rspamd_check - ask Rspamd about msg; fills r (status OK or ERROR with r->error). Blocks for
 * at most the client's timeout. Thread-safe. */
void rspamd_check(struct rspamd_client *c, const struct rspamd_env *env, const unsigned char *msg, size_t len,
		  struct rspamd_result *r);

/* rspamd_parse - read Rspamd's JSON answer (len bytes, not necessarily NUL-terminated) into r,
 * with env->from as SPF's smtp.mailfrom. 0, or -1 with r->status RSPAMD_ERROR. */
int rspamd_parse(const char *json, size_t len, const char *mailfrom, struct rspamd_result *r);

/* rspamd_auth_results - the Authentication-Results field (RFC 8601) for r, authserv-id host,
 * folded, ending in CRLF, into out. 0 or -1 (did not fit). */
int rspamd_auth_results(const struct rspamd_result *r, const char *host, char *out, size_t outlen);

const char *rspamd_action_str(enum rspamd_action a);

#endif
