/* respond.c - how admin-api answers: JSON bodies, JSON errors, the digest confirmation
 * page, and the security headers that go on every response.
 *
 * The Content-Security-Policy forbids inline script and style and any foreign origin, so
 * that even a stored string that slipped into the UI unescaped cannot run (defence in depth
 * for the frontend). Every API answer is JSON and must never be cached by a shared proxy. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "util/log.h"

static const char CSP[] = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
			  "frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/* api_ok - see api.h */
void api_ok(struct api_req *r, int status, cJSON *body)
{
	cJSON_Delete(r->out);
	r->out = body ? body : cJSON_CreateObject();
	r->status = status;
}

/* api_err - see api.h */
void api_err(struct api_req *r, int status, const char *fmt, ...)
{
	char text[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "error", text);
	api_ok(r, status, o);
}

/* html_escape - append s to b with the five HTML specials escaped. */
static void html_escape(struct cl_buf *b, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<':
			cl_buf_append_str(b, "&lt;");
			break;
		case '>':
			cl_buf_append_str(b, "&gt;");
			break;
		case '&':
			cl_buf_append_str(b, "&amp;");
			break;
		case '"':
			cl_buf_append_str(b, "&quot;");
			break;
		case '\'':
			cl_buf_append_str(b, "&#39;");
			break;
		default:
			cl_buf_append(b, s, 1);
		}
	}
}

/* html_page - a small page in the web UI's look (its stylesheet, same origin, no inline style):
 * title, text, the {label, value} pairs of details, and when button is set a form that POSTs
 * to itself; others: {label, href} links to do something else instead. */
static void html_page(struct api_req *r, int status, const char *title, const char *text, const char *const *details,
		      const char *button, const char *const *others)
{
	struct cl_buf b;
	cl_buf_init(&b, 0);
	cl_buf_append_str(&b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
			      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>");
	html_escape(&b, title);
	cl_buf_append_str(&b, " \xc2\xb7 Clement</title><link rel=\"stylesheet\" href=\"/css/app.css\">"
			      "<link rel=\"icon\" href=\"/favicon.svg\" type=\"image/svg+xml\"></head><body>"
			      "<header class=\"topbar\"><a class=\"brand\" href=\"/\">Clement</a></header>"
			      "<main class=\"page\"><section class=\"card\"><h1>");
	html_escape(&b, title);
	cl_buf_append_str(&b, "</h1><p>");
	html_escape(&b, text);
	cl_buf_append_str(&b, "</p>");
	if (details && details[0]) {
		cl_buf_append_str(&b, "<dl class=\"kv\">");
		for (size_t i = 0; details[i] && details[i + 1]; i += 2) {
			cl_buf_append_str(&b, "<dt>");
			html_escape(&b, details[i]);
			cl_buf_append_str(&b, "</dt><dd>");
			html_escape(&b, details[i + 1]);
			cl_buf_append_str(&b, "</dd>");
		}
		cl_buf_append_str(&b, "</dl>");
	}
	if (button) {
		cl_buf_append_str(&b, "<div class=\"actions\"><form method=\"post\"><button type=\"submit\">");
		html_escape(&b, button);
		cl_buf_append_str(&b, "</button></form></div>");
	}
	if (others && others[0]) {
		cl_buf_append_str(&b, "<p class=\"actions\"><span class=\"muted\">Or instead:</span>");
		for (size_t i = 0; others[i] && others[i + 1]; i += 2) {
			cl_buf_append_str(&b, " <a class=\"button secondary\" href=\"");
			html_escape(&b, others[i + 1]);
			cl_buf_append_str(&b, "\">");
			html_escape(&b, others[i]);
			cl_buf_append_str(&b, "</a>");
		}
		cl_buf_append_str(&b, "</p>");
	}
	cl_buf_append_str(&b, "<p class=\"muted\"><a href=\"/#/quarantine\">Log in to see your whole quarantine</a></p>"
			      "</section></main></body></html>\n");
	free(r->raw);
	cJSON_Delete(r->out);
	r->out = NULL;
	r->raw = cl_buf_steal(&b, &r->rawlen);
	r->ctype = "text/html; charset=utf-8";
	r->status = status;
}

/* api_html - see api.h */
void api_html(struct api_req *r, int status, const char *title, const char *text)
{
	html_page(r, status, title, text, NULL, NULL, NULL);
}

/* api_html_details - see api.h */
void api_html_details(struct api_req *r, const char *title, const char *text, const char *const *details,
		      const char *button, const char *const *others)
{
	html_page(r, 200, title, text, details, button, others);
}

/* api_security_headers - the headers on every response, static files included. */
static void api_security_headers(struct MHD_Response *resp)
{
	MHD_add_response_header(resp, "Content-Security-Policy", CSP);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(resp, "Cross-Origin-Opener-Policy", "same-origin");
	MHD_add_response_header(resp, "Cross-Origin-Resource-Policy", "same-origin");
}

/* api_send - see api.h */
enum MHD_Result api_send(struct api_req *r)
{
	char *text = NULL;
	size_t len = 0;
	const char *ctype = "application/json";
	if (r->raw) {
		text = r->raw;
		len = r->rawlen;
		r->raw = NULL;
		ctype = r->ctype ? r->ctype : "application/octet-stream";
	} else {
		if (!r->out) {
			r->status = 500;
			r->out = cJSON_CreateObject();
			cJSON_AddStringToObject(r->out, "error", "internal error");
		}
		text = cJSON_PrintUnformatted(r->out);
		len = text ? strlen(text) : 0;
	}
	if (!text)
		return MHD_NO;
	struct MHD_Response *resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", ctype);
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	api_security_headers(resp);
	if (r->cookie[0])
		MHD_add_response_header(resp, "Set-Cookie", r->cookie);
	if (r->retry_after > 0) {
		char ra[24];
		snprintf(ra, sizeof ra, "%d", r->retry_after);
		MHD_add_response_header(resp, "Retry-After", ra);
	}
	enum MHD_Result ret = MHD_queue_response(r->conn, (unsigned)r->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* api_send_file - see api.h */
enum MHD_Result api_send_file(struct MHD_Connection *c, int fd, size_t size, const char *ctype)
{
	struct MHD_Response *resp = MHD_create_response_from_fd(size, fd);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, "Content-Type", ctype);
	MHD_add_response_header(resp, "Cache-Control", "no-cache");
	api_security_headers(resp);
	enum MHD_Result ret = MHD_queue_response(c, 200, resp);
	MHD_destroy_response(resp);
	return ret;
}

static const char *const ROLE_NAMES[] = {"", "user", "domain-admin", "group-admin", "root-admin"};

const char *api_role_name(enum api_role role)
{
	return (role >= ROLE_NONE && role <= ROLE_ROOT) ? ROLE_NAMES[role] : "";
}

enum api_role api_role_parse(const char *s)
{
	for (int i = ROLE_USER; i <= ROLE_ROOT; i++)
		if (s && strcmp(s, ROLE_NAMES[i]) == 0)
			return (enum api_role)i;
	return ROLE_NONE;
}

/* api_query - a query-string argument, or NULL. */
const char *api_query(struct api_req *r, const char *key)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, key);
}
