/* xmesh.c - the receiving side of Clement's trusted mesh in smtp-edge: the XMESH ESMTP
 * extension (docs/MESH.md sections 3 to 7).
 *
 * Trust is a certificate fingerprint, not a CA: with CLEMENT_BANSTATS_URL set, the TLS
 * handshake on ports 25 (STARTTLS) and 465 asks for a client certificate and accepts any
 * chain (xmesh_tls_ctx). After the handshake, a presented certificate's SHA-256 fingerprint
 * goes to banstats (op mesh_peer); the session waits for that answer before it reads the
 * next command, so the following EHLO already knows whether to offer `XMESH 1`. Any failure
 * or late answer means "not a peer".
 *
 * A peer's XMESH command is parsed here with the shared parser (lib/mail/mesh_record: the
 * sender uses the same one) and handed to banstats (op mesh_records), whose verdict is the
 * reply. Anyone else gets exactly the reply to an unknown command: XMESH's row in smtp.c's
 * verb table requires SF_MESH_PEER with that refusal, then EHLO and no transaction. The edge
 * never touches the database (docs/ARCHITECTURE.md). */
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "edge.h"
#include "mail/banstats_client.h"
#include "mail/mesh_record.h"
#include "util/log.h"

/* accept_any_chain - the verify callback: the chain may be self-signed or from any CA.
 * OpenSSL still proves that the client holds the certificate's private key (the
 * CertificateVerify message); the fingerprint lookup decides whom we trust. */
static int accept_any_chain(int preverify_ok, X509_STORE_CTX *x)
{
	(void)preverify_ok;
	(void)x;
	return 1;
}

/* xmesh_tls_ctx - with the mesh on (CLEMENT_BANSTATS_URL), make the server context ctx ask TLS
 * clients for a certificate (at start and at each reload, tls.c).
 * A client without one is served as before (no SSL_VERIFY_FAIL_IF_NO_PEER_CERT). The session id
 * context is required once peers are verified, or OpenSSL refuses to resume sessions.
 * Returns 0, or -1 with err. */
int xmesh_tls_ctx(struct edge *e, SSL_CTX *ctx, char *err, size_t errlen)
{
	static const unsigned char sid_ctx[] = "clement-smtp-edge";
	if (!e->cfg.banstats_url[0]) /* the client may not exist yet: tls_setup comes first */
		return 0;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_CLIENT_ONCE, accept_any_chain);
	if (SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof sid_ctx - 1) != 1) {
		cl_snprintf(err, errlen, "cannot set the TLS session id context");
		return -1;
	}
	return 0;
}

/* peer_fingerprint - the fingerprint of the certificate the client presented into
 * s->peer_fp; 0, or -1 when it presented none (or it cannot be encoded). */
static int peer_fingerprint(struct session *s)
{
	s->peer_fp[0] = '\0';
	X509 *cert = SSL_get1_peer_certificate(s->ssl);
	if (!cert)
		return -1;
	unsigned char *der = NULL;
	int n = i2d_X509(cert, &der);
	int rc = n > 0 ? cl_banstats_fingerprint(der, (size_t)n, s->peer_fp) : -1;
	OPENSSL_free(der);
	X509_free(cert);
	if (rc < 0)
		s->peer_fp[0] = '\0';
	return rc;
}

/* xmesh_after_handshake - start the mesh_peer lookup for the certificate of a TLS session
 * that just started. Returns 1 when the lookup runs (session_tls_ready follows from
 * xmesh_on_peer), 0 when the session goes on at once (no mesh, no certificate, or the
 * call could not be started: then the client is simply not a peer). */
int xmesh_after_handshake(struct session *s)
{
	session_flags(s, 0, SF_MESH_PEER);
	if (!s->e->banstats || s->lst->kind == LST_SUBMISSION || peer_fingerprint(s) < 0)
		return 0;
	nng_msg *m = NULL;
	if (cl_banstats_peer_req(&m, s->id, s->peer_fp) < 0)
		return 0;
	if (decide_call_msg(s, RPC_MESH_PEER, m) < 0) {
		nng_msg_free(m);
		cl_log(CL_LOG_WARN, s->id, "mesh_peer_failed", "rpc=start");
		return 0;
	}
	/* While the call runs, input is buffered, not read as commands (s->busy); on 465 the
	 * greeting is not sent yet, so a client that talks meanwhile is still refused. */
	session_enter(s, s->lst->kind == LST_SMTPS ? PH_GREETING : PH_COMMAND);
	return 1;
}

/* xmesh_long_line_ok - may this command line (or the start of it that is buffered) be up to
 * CL_MESH_LINE_MAX octets? Only a mesh peer's XMESH command may. */
int xmesh_long_line_ok(const struct session *s, const char *line, size_t len)
{
	static const char verb[] = CL_MESH_VERB " ";
	size_t k = len < sizeof verb - 1 ? len : sizeof verb - 1;
	return session_has(s, SF_MESH_PEER) && s->phase == PH_COMMAND && strncasecmp(line, verb, k) == 0;
}

/* xmesh_command - "XMESH <record>" (docs/MESH.md section 4) from a mesh peer after EHLO,
 * outside a transaction (section 5; smtp.c's verb table checks that). */
void xmesh_command(struct session *s, char *args)
{
	struct cl_mesh_record rec;
	char why[160];
	if (cl_mesh_record_parse(args, strlen(args), &rec, why, sizeof why) < 0) {
		/* not counted as a protocol error: the pushing peer advances past it (section 8),
		 * and a batch of bad records must not cut the good ones after it off */
		session_reply(s, "501 5.5.4 Malformed mesh record 1: %s", why);
		return;
	}
	nng_msg *m = NULL;
	if (cl_banstats_records_req(&m, s->id, s->peer_fp, &rec, 1) < 0) {
		session_reply(s, "451 4.3.0 Temporary failure, try again later");
		return;
	}
	if (decide_call_msg(s, RPC_MESH_RECORDS, m) < 0) {
		nng_msg_free(m);
		session_reply(s, "451 4.3.0 Temporary failure, try again later");
	}
}

/* xmesh_on_peer - banstats answered the mesh_peer lookup (or failed: not a peer); the
 * session goes on. */
void xmesh_on_peer(struct session *s, struct completion *c)
{
	char name[CL_MESH_ORIGIN_MAX + 1] = "";
	int peer = c->st == CL_RPC_OK && cl_banstats_peer_reply(c->reply, name, sizeof name);
	session_flags(s, peer ? SF_MESH_PEER : 0, SF_MESH_PEER);
	if (c->st != CL_RPC_OK)
		cl_log(CL_LOG_WARN, s->id, "mesh_peer_failed", "rpc=%s", cl_rpc_status_str(c->st));
	else if (peer) {
		char esc[2 * sizeof name];
		cl_log(CL_LOG_INFO, s->id, "mesh_peer", "name=%s", cl_log_escape(esc, sizeof esc, name, strlen(name)));
	}
	session_tls_ready(s);
}

/* xmesh_on_records - banstats' verdict on an XMESH command is sent as is (451 4.3.0 on any
 * failure). */
void xmesh_on_records(struct session *s, struct completion *c)
{
	struct cl_verdict v;
	cl_banstats_records_reply(c->st == CL_RPC_OK ? c->reply : NULL, &v);
	if (c->st != CL_RPC_OK)
		cl_log(CL_LOG_WARN, s->id, "mesh_records_failed", "rpc=%s", cl_rpc_status_str(c->st));
	if (v.code == 530) /* the peer was disabled or removed meanwhile: no more XMESH here */
		session_flags(s, 0, SF_MESH_PEER);
	session_reply(s, "%d %s%s%s", v.code, v.enh, v.enh[0] ? " " : "", v.text);
}
