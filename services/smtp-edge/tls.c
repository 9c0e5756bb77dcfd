/* tls.c - smtp-edge's TLS server context (CLEMENT_TLS_CERT / CLEMENT_TLS_KEY) and its reload
 * without a restart: Let's Encrypt renews every 60 days, and a gateway must not drop sessions
 * for it.
 *
 * The files are looked at every CLEMENT_TLS_RELOAD_S seconds (stat of both, following
 * symlinks: an atomic rename and a symlink swap, as certbot does, both change what they
 * name) and reloaded when either changed, or at once on SIGHUP. A session keeps the context
 * its handshake started with (SSL_new holds a reference); the new one serves the handshakes
 * that start after it. A pair that does not load (unreadable, not PEM, a key that does not
 * match the certificate) is logged and the previous context stays in use; the same files
 * are not tried again until they change (or SIGHUP).
 *
 * Threads: tls_setup, tls_reload and tls_check run on the main thread, on the template edge
 * (e->sh->main); a reload replaces its context under sh->tls_lock, bumps sh->tls_gen and
 * wakes the workers, and each worker takes a reference to it (tls_adopt) before it accepts
 * again. */
#include <openssl/err.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>

#include "edge.h"
#include "util/log.h"

/* tls_new_ctx - a server context from the configured files, with the mesh's client
 * certificate request when the mesh is on; NULL with err. The caller frees it. */
static SSL_CTX *tls_new_ctx(struct edge *e, char *err, size_t errlen)
{
	const struct edge_config *c = &e->cfg;
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx) {
		cl_snprintf(err, errlen, "out of memory");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	if (SSL_CTX_use_certificate_chain_file(ctx, c->tls_cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, c->tls_key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		char e2[200];
		ERR_error_string_n(ERR_get_error(), e2, sizeof e2);
		ERR_clear_error();
		snprintf(err, errlen, "cannot load TLS certificate %s / key %s: %s", c->tls_cert, c->tls_key, e2);
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (xmesh_tls_ctx(e, ctx, err, errlen) < 0) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

/* stamp - what identifies the current contents of both files: device, inode, size and the
 * change times of the files the paths name now. A missing file stamps as zeros. */
static void stamp(const struct edge_config *c, struct tls_stamp *st)
{
	memset(st, 0, sizeof *st);
	const char *paths[2] = {c->tls_cert, c->tls_key};
	for (int i = 0; i < 2; i++) {
		struct stat sb;
		if (stat(paths[i], &sb) != 0)
			continue;
		st->f[i].dev = sb.st_dev;
		st->f[i].ino = sb.st_ino;
		st->f[i].size = sb.st_size;
		st->f[i].mtime = sb.st_mtim;
		st->f[i].ctime = sb.st_ctim;
	}
}

static int stamp_equal(const struct tls_stamp *a, const struct tls_stamp *b)
{
	for (int i = 0; i < 2; i++)
		if (a->f[i].dev != b->f[i].dev || a->f[i].ino != b->f[i].ino || a->f[i].size != b->f[i].size ||
		    a->f[i].mtime.tv_sec != b->f[i].mtime.tv_sec || a->f[i].mtime.tv_nsec != b->f[i].mtime.tv_nsec ||
		    a->f[i].ctime.tv_sec != b->f[i].ctime.tv_sec || a->f[i].ctime.tv_nsec != b->f[i].ctime.tv_nsec)
			return 0;
	return 1;
}

/* fingerprint - the SHA-256 of ctx's certificate as hex (what a client sees), "" if none. */
static void fingerprint(SSL_CTX *ctx, char *out, size_t outlen)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	X509 *cert = SSL_CTX_get0_certificate(ctx);
	out[0] = '\0';
	if (!cert || X509_digest(cert, EVP_sha256(), md, &n) != 1)
		return;
	for (unsigned int i = 0; i < n && 2 * i + 2 < outlen; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

int tls_setup(struct edge *e, char *err, size_t errlen)
{
	stamp(&e->cfg, &e->tls_seen);
	if (!(e->tls = tls_new_ctx(e, err, errlen)))
		return -1;
	char fp[2 * EVP_MAX_MD_SIZE + 1];
	fingerprint(e->tls, fp, sizeof fp);
	cl_log(CL_LOG_INFO, NULL, "tls_loaded", "cert=%s sha256=%s", e->cfg.tls_cert, fp);
	return 0;
}

void tls_reload(struct edge *e, const char *why)
{
	if (!e->tls)
		return; /* no TLS configured: nothing to reload */
	/* Stamped before reading, so that a change during the load is seen at the next check. */
	stamp(&e->cfg, &e->tls_seen);
	char err[512];
	SSL_CTX *ctx = tls_new_ctx(e, err, sizeof err);
	if (!ctx) {
		char q[600];
		cl_metric_inc(e->m.tls_reload_failed);
		cl_log(CL_LOG_ERROR, NULL, "tls_reload_failed",
		       "why=%s error=%s effect=\"the certificate loaded before stays in use\"", why,
		       cl_log_escape(q, sizeof q, err, strlen(err)));
		return;
	}
	pthread_mutex_lock(&e->sh->tls_lock);
	SSL_CTX_free(e->tls); /* workers and sessions that use it hold their own reference */
	e->tls = ctx;
	atomic_fetch_add(&e->sh->tls_gen, 1);
	pthread_mutex_unlock(&e->sh->tls_lock);
	for (int i = 0; i < e->sh->nw; i++)
		loop_wake(&e->sh->w[i]);
	cl_metric_inc(e->m.tls_reloaded);
	char fp[2 * EVP_MAX_MD_SIZE + 1];
	fingerprint(ctx, fp, sizeof fp);
	cl_log(CL_LOG_INFO, NULL, "tls_reloaded", "why=%s cert=%s sha256=%s", why, e->cfg.tls_cert, fp);
}

void tls_check(struct edge *e, double now)
{
	if (!e->tls || e->cfg.tls_reload_s <= 0 || now < e->tls_next_check)
		return;
	e->tls_next_check = now + (double)e->cfg.tls_reload_s;
	struct tls_stamp st;
	stamp(&e->cfg, &st);
	if (!stamp_equal(&st, &e->tls_seen))
		tls_reload(e, "files_changed");
}

void tls_adopt(struct edge *w)
{
	struct edge_shared *sh = w->sh;
	pthread_mutex_lock(&sh->tls_lock);
	SSL_CTX *ctx = sh->main->tls;
	if (ctx && ctx != w->tls) {
		SSL_CTX_up_ref(ctx);
		SSL_CTX_free(w->tls);
		w->tls = ctx;
	}
	w->tls_gen = atomic_load(&sh->tls_gen);
	pthread_mutex_unlock(&sh->tls_lock);
}
