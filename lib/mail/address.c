/* address.c - the bounded RFC 5321 path and parameter parser. See address.h. */
#include "mail/address.h"

#include <string.h>
#include <strings.h>

#include "util/utf8.h"

/* Characters of RFC 5322 atext that we refuse in unquoted local parts anyway: they are
 * what shell, SQL and template-expansion payloads are made of, and real addresses do not
 * use them. */
static const char forbidden_atext[] = "$`'{}|";

/* is_atext - RFC 5322 3.2.3 atext minus forbidden_atext; bytes >= 0x80 pass here and are
 * checked as UTF-8 afterwards. */
static int is_atext(unsigned char c)
{
	if (c >= 0x80)
		return 1;
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return 1;
	return c && strchr("!#%&*+-/=?^_~", c) != NULL;
}

/* local_part - Dot-string or Quoted-string (RFC 5321 4.1.2) at s[*i..n), up to '@'. */
static enum cl_addr_err local_part(const char *s, size_t n, size_t *i)
{
	size_t start = *i;
	if (*i < n && s[*i] == '"') {
		for ((*i)++; *i < n && s[*i] != '"'; (*i)++) {
			unsigned char c = (unsigned char)s[*i];
			if (c == '\\' || c < 0x20 || c == 0x7F || strchr(forbidden_atext, c) || strchr(";<>", c))
				return CL_ADDR_SYNTAX;
		}
		if (*i >= n)
			return CL_ADDR_SYNTAX;
		(*i)++;
	} else {
		int prev_dot = 1;
		for (; *i < n && s[*i] != '@' && s[*i] != '>'; (*i)++) {
			unsigned char c = (unsigned char)s[*i];
			if (c == '.') {
				if (prev_dot)
					return CL_ADDR_SYNTAX;
				prev_dot = 1;
			} else if (is_atext(c)) {
				prev_dot = 0;
			} else {
				return CL_ADDR_SYNTAX;
			}
		}
		if (prev_dot)
			return CL_ADDR_SYNTAX; /* empty, or ends in a dot */
	}
	if (*i - start > CL_ADDR_LOCAL_MAX)
		return CL_ADDR_TOO_LONG;
	return CL_ADDR_OK;
}

/* domain - sub-domain *("." sub-domain) with at least two labels, or an address literal
 * "[1.2.3.4]" / "[IPv6:...]" (RFC 5321 4.1.3), up to '>'. */
static enum cl_addr_err domain(const char *s, size_t n, size_t *i)
{
	size_t start = *i;
	if (*i < n && s[*i] == '[') {
		for ((*i)++; *i < n && s[*i] != ']'; (*i)++) {
			char c = s[*i];
			if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == '.' ||
			      c == ':' || c == 'I' || c == 'P' || c == 'v'))
				return CL_ADDR_SYNTAX;
		}
		if (*i >= n || *i - start < 3)
			return CL_ADDR_SYNTAX;
		(*i)++;
		return CL_ADDR_OK;
	}
	size_t labels = 0, lablen = 0;
	for (; *i < n && s[*i] != '>'; (*i)++) {
		unsigned char c = (unsigned char)s[*i];
		if (c == '.') {
			if (lablen == 0 || s[*i - 1] == '-')
				return CL_ADDR_SYNTAX;
			labels++;
			lablen = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80 ||
			   (c == '-' && lablen > 0)) {
			if (++lablen > 63)
				return CL_ADDR_TOO_LONG;
		} else {
			return CL_ADDR_SYNTAX;
		}
	}
	if (*i - start == 0)
		return CL_ADDR_NOT_FQDN;
	if (lablen == 0 || s[*i - 1] == '-')
		return CL_ADDR_SYNTAX;
	if (*i - start > CL_ADDR_DOMAIN_MAX)
		return CL_ADDR_TOO_LONG;
	return labels >= 1 ? CL_ADDR_OK : CL_ADDR_NOT_FQDN;
}

/* path - "<" [A-d-l ":"] Mailbox ">" or "<>" at s[*i..n); copies the mailbox to out. */
static enum cl_addr_err path(const char *s, size_t n, size_t *i, enum cl_addr_kind kind, struct cl_addr *out)
{
	if (*i >= n || s[*i] != '<')
		return CL_ADDR_SYNTAX;
	(*i)++;
	if (*i < n && s[*i] == '>') {
		(*i)++;
		if (kind != CL_ADDR_MAIL)
			return CL_ADDR_SYNTAX;
		out->null_path = 1;
		return CL_ADDR_OK;
	}
	/* RFC 5321 4.1.2: a source route "@a,@b:" must be accepted and ignored (C.). */
	if (*i < n && s[*i] == '@') {
		while (*i < n && s[*i] != ':' && s[*i] != '>')
			(*i)++;
		if (*i >= n || s[*i] != ':')
			return CL_ADDR_SYNTAX;
		(*i)++;
	}
	size_t start = *i;
	enum cl_addr_err e = local_part(s, n, i);
	if (e)
		return e;
	if (*i >= n || s[*i] != '@')
		return *i < n && s[*i] == '>' ? CL_ADDR_NOT_FQDN : CL_ADDR_SYNTAX;
	(*i)++;
	if ((e = domain(s, n, i)) != CL_ADDR_OK)
		return e;
	if (*i >= n || s[*i] != '>')
		return CL_ADDR_SYNTAX;
	size_t len = *i - start;
	if (len > CL_ADDR_MAX - 2)
		return CL_ADDR_TOO_LONG;
	memcpy(out->addr, s + start, len);
	out->addr[len] = '\0';
	(*i)++;
	for (size_t k = 0; k < len; k++)
		if ((unsigned char)out->addr[k] >= 0x80)
			out->non_ascii = 1;
	if (out->non_ascii && !cl_utf8_valid((const unsigned char *)out->addr, len))
		return CL_ADDR_UTF8;
	return CL_ADDR_OK;
}

/* xtext_ok - RFC 3461 4: xtext, where "+XX" must not decode to a control byte (no
 * encoded CR/LF smuggled into a log or a header). */
static int xtext_ok(const char *v, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		unsigned char c = (unsigned char)v[k];
		if (c == '+') {
			if (k + 2 >= n)
				return 0;
			char hex[3] = {v[k + 1], v[k + 2], 0};
			if (!hex[0] || !hex[1] || !strchr("0123456789ABCDEF", hex[0]) ||
			    !strchr("0123456789ABCDEF", hex[1]))
				return 0;
			unsigned val = (unsigned)((hex[0] <= '9' ? hex[0] - '0' : hex[0] - 'A' + 10) * 16 +
						  (hex[1] <= '9' ? hex[1] - '0' : hex[1] - 'A' + 10));
			if (val < 0x21 || val > 0x7E)
				return 0;
			k += 2;
		} else if (c < 0x21 || c > 0x7E || c == '=') {
			return 0;
		}
	}
	return 1;
}

/* param - one "keyword[=value]" (RFC 5321 4.1.2 esmtp-param) of MAIL. */
static enum cl_addr_err param(const char *kw, size_t kwlen, const char *val, size_t vlen, int has_val,
			      enum cl_addr_kind kind, struct cl_addr *out)
{
	if (kwlen == 0)
		return CL_ADDR_PARAM_SYNTAX;
	for (size_t k = 0; k < kwlen; k++) {
		char c = kw[k];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || (c == '-' && k)))
			return CL_ADDR_PARAM_SYNTAX;
	}
	for (size_t k = 0; k < vlen; k++)
		if ((unsigned char)val[k] < 0x21 || (unsigned char)val[k] > 0x7E || val[k] == '=')
			return CL_ADDR_PARAM_SYNTAX;
	if (kind != CL_ADDR_MAIL)
		return CL_ADDR_PARAM_UNKNOWN; /* we announce no RCPT parameters (no DSN) */
	if (kwlen == 4 && strncasecmp(kw, "SIZE", 4) == 0) {
		if (!has_val || vlen == 0 || vlen > 18)
			return CL_ADDR_PARAM_SYNTAX;
		long long sz = 0;
		for (size_t k = 0; k < vlen; k++) {
			if (val[k] < '0' || val[k] > '9')
				return CL_ADDR_PARAM_SYNTAX;
			sz = sz * 10 + (val[k] - '0');
		}
		out->size = sz;
	} else if (kwlen == 4 && strncasecmp(kw, "BODY", 4) == 0) {
		if (has_val && vlen == 4 && strncasecmp(val, "7BIT", 4) == 0)
			out->body_8bit = 0;
		else if (has_val && vlen == 8 && strncasecmp(val, "8BITMIME", 8) == 0)
			out->body_8bit = 1;
		else
			return CL_ADDR_BAD_BODY;
	} else if (kwlen == 8 && strncasecmp(kw, "SMTPUTF8", 8) == 0) {
		if (has_val)
			return CL_ADDR_PARAM_SYNTAX;
		out->smtputf8 = 1;
	} else if (kwlen == 4 && strncasecmp(kw, "AUTH", 4) == 0) {
		/* RFC 4954 5: accepted and ignored, but it is xtext and must decode cleanly. */
		if (!has_val || vlen == 0 || !xtext_ok(val, vlen))
			return CL_ADDR_PARAM_SYNTAX;
	} else {
		return CL_ADDR_PARAM_UNKNOWN;
	}
	return CL_ADDR_OK;
}

enum cl_addr_err cl_addr_parse(const char *s, size_t n, enum cl_addr_kind kind, int utf8_ok, struct cl_addr *out)
{
	memset(out, 0, sizeof *out);
	if (n > 1024)
		return CL_ADDR_TOO_LONG;
	for (size_t k = 0; k < n; k++)
		if ((unsigned char)s[k] < 0x20 || s[k] == 0x7F)
			return CL_ADDR_SYNTAX; /* control bytes, including NUL, CR, LF and TAB */
	size_t i = 0;
	while (i < n && s[i] == ' ')
		i++; /* "MAIL FROM: <a@b>" is common enough to tolerate (Postfix does) */
	enum cl_addr_err e = path(s, n, &i, kind, out);
	if (e)
		return e;
	while (i < n) {
		if (s[i] != ' ')
			return CL_ADDR_SYNTAX;
		while (i < n && s[i] == ' ')
			i++;
		if (i >= n)
			break;
		size_t kw = i;
		while (i < n && s[i] != ' ' && s[i] != '=')
			i++;
		size_t kwlen = i - kw, val = i, vlen = 0;
		int has_val = i < n && s[i] == '=';
		if (has_val) {
			val = ++i;
			while (i < n && s[i] != ' ')
				i++;
			vlen = i - val;
		}
		if ((e = param(s + kw, kwlen, s + val, vlen, has_val, kind, out)) != CL_ADDR_OK)
			return e;
	}
	if (out->non_ascii && !(kind == CL_ADDR_MAIL ? out->smtputf8 : utf8_ok))
		return CL_ADDR_UTF8;
	return CL_ADDR_OK;
}

const char *cl_addr_err_str(enum cl_addr_err e)
{
	switch (e) {
	case CL_ADDR_OK:
		return "ok";
	case CL_ADDR_SYNTAX:
		return "Syntax error in address";
	case CL_ADDR_NOT_FQDN:
		return "Address must have a fully-qualified domain";
	case CL_ADDR_TOO_LONG:
		return "Address too long";
	case CL_ADDR_UTF8:
		return "Non-ASCII address requires SMTPUTF8";
	case CL_ADDR_PARAM_SYNTAX:
		return "Syntax error in parameters";
	case CL_ADDR_PARAM_UNKNOWN:
		return "Parameter not recognised";
	case CL_ADDR_BAD_BODY:
		return "BODY must be 7BIT or 8BITMIME";
	}
	return "error";
}
