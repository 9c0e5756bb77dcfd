/* health.c - /healthz and /metrics over libmicrohttpd. See health.h. */
#include "svc/health.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "util/config.h"
#include "util/net.h"

struct cl_health {
	struct MHD_Daemon *d;
	struct cl_metrics *reg;
	cl_ready_fn ready;
	cl_metrics_hook_fn hook;
	void *ctx;
};

/* reply - queue a response that copies body. */
static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *ctype, const char *body, size_t len)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", ctype);
	enum MHD_Result ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
			      const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	struct cl_health *h = cls;
	(void)version;
	(void)upload;
	(void)con_cls;
	if (*upload_size) {
		*upload_size = 0; /* ignore any body */
		return MHD_YES;
	}
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return reply(c, 405, "text/plain", "method not allowed\n", 19);
	if (strcmp(url, "/healthz") == 0) {
		char why[256] = "";
		if (!h->ready || h->ready(h->ctx, why, sizeof why))
			return reply(c, 200, "text/plain", "ok\n", 3);
		char body[300];
		cl_snprintf(body, sizeof body, "not ready: %s\n", why);
		return reply(c, 503, "text/plain", body, strlen(body));
	}
	if (strcmp(url, "/metrics") == 0) {
		struct cl_buf out;
		cl_buf_init(&out, 0);
		if (h->reg)
			cl_metrics_render(h->reg, &out);
		if (h->hook)
			h->hook(h->ctx, &out);
		enum MHD_Result ret = reply(c, 200, "text/plain; version=0.0.4", out.data ? out.data : "", out.len);
		cl_buf_free(&out);
		return ret;
	}
	return reply(c, 404, "text/plain", "not found\n", 10);
}

struct cl_health *cl_health_start(const char *addr, struct cl_metrics *reg, cl_ready_fn ready, cl_metrics_hook_fn hook,
				  void *ctx, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	char why[160];
	if (cl_net_sockaddr(addr, &ss, &sslen, why, sizeof why) < 0) {
		cl_snprintf(err, errlen, "health address %s", why);
		return NULL;
	}
	/* MHD_USE_AUTO: epoll (or poll), not select(): smtp-edge holds one descriptor per session,
	 * and with select() every connection whose descriptor is past FD_SETSIZE (1024) is
	 * refused, so /healthz would fail exactly when the edge is busy. */
	unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	struct cl_health *h = calloc(1, sizeof *h);
	if (!h) {
		cl_snprintf(err, errlen, "out of memory");
		return NULL;
	}
	h->reg = reg;
	h->ready = ready;
	h->hook = hook;
	h->ctx = ctx;
	h->d = MHD_start_daemon(flags, 0, NULL, NULL, handle, h, MHD_OPTION_SOCK_ADDR, &ss, MHD_OPTION_CONNECTION_LIMIT,
				64u, MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
	if (!h->d) {
		cl_snprintf(err, errlen, "cannot listen on %s for /healthz (port in use?)", addr);
		free(h);
		return NULL;
	}
	return h;
}

void cl_health_stop(struct cl_health *h)
{
	if (!h)
		return;
	MHD_stop_daemon(h->d);
	free(h);
}
