/* static.c - the frontend's files (CLEMENT_FRONTEND_DIR) for every path outside /api/.
 *
 * Only GET and HEAD; the path may hold only [A-Za-z0-9._-/] and no segment starting with a
 * dot (so no "..", no hidden files); the resolved file must still lie inside the directory
 * (a symlink out of it is refused) and be a regular file. "/" is index.html. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server.h"
#include "util/buf.h"

static const struct {
	const char *ext;
	const char *type;
} TYPES[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".json", "application/json"},
    {".txt", "text/plain; charset=utf-8"},
    {".woff2", "font/woff2"},
    {".map", "application/json"},
};

static const char *content_type(const char *path)
{
	size_t n = strlen(path);
	for (size_t i = 0; i < sizeof TYPES / sizeof TYPES[0]; i++) {
		size_t e = strlen(TYPES[i].ext);
		if (n > e && strcmp(path + n - e, TYPES[i].ext) == 0)
			return TYPES[i].type;
	}
	return "application/octet-stream";
}

/* path_safe - see the header comment. */
static int path_safe(const char *p)
{
	if (p[0] != '/' || strlen(p) > 512)
		return 0;
	if (strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-/") != strlen(p))
		return 0;
	for (const char *s = p; (s = strchr(s, '/')); s++)
		if (s[1] == '.' || s[1] == '/')
			return 0;
	return 1;
}

/* static_serve - see server.h */
enum MHD_Result static_serve(struct api_req *r, const char *path)
{
	if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0) {
		api_err(r, 405, "only GET and HEAD are allowed here");
		return api_send(r);
	}
	if (strcmp(path, "/") == 0)
		path = "/index.html";
	char full[PATH_MAX], real[PATH_MAX], root[PATH_MAX];
	if (!path_safe(path) || !realpath(r->app->cfg->frontend_dir, root) ||
	    cl_snprintf(full, sizeof full, "%s%s", root, path) < 0 || !realpath(full, real) ||
	    strncmp(real, root, strlen(root)) != 0 || real[strlen(root)] != '/') {
		api_err(r, 404, "not found");
		return api_send(r);
	}
	int fd = open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		if (fd >= 0)
			close(fd);
		api_err(r, 404, "not found");
		return api_send(r);
	}
	r->status = 200;
	return api_send_file(r->conn, fd, (size_t)st.st_size, content_type(real));
}
