/* server.h - the API's HTTP server (libmicrohttpd, a thread per connection): reads bounded
 * bodies, serves the frontend's static files, and for /api/ runs the route table's checks
 * (session, role, Origin + CSRF token) before the handler. */
#ifndef CLEMENT_ADMIN_SERVER_H
#define CLEMENT_ADMIN_SERVER_H

#include "api.h"

struct api_server;

/* api_server_start - listen on app->cfg->listen. NULL with err on failure. */
struct api_server *api_server_start(struct api_app *app, char *err, size_t errlen);
void api_server_stop(struct api_server *s);

/* static.c: serve a file below the frontend directory for GET/HEAD path. */
enum MHD_Result static_serve(struct api_req *r, const char *path);

#endif
