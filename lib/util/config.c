/* config.c - CLEMENT_* settings from a declarative table. See config.h. */
#include "util/config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/buf.h"
#include "util/cidr.h"

/* parse_bool - accept the usual spellings; -1 when it is none of them. */
static int parse_bool(const char *v)
{
	static const char *yes[] = {"1", "true", "yes", "on"};
	static const char *no[] = {"0", "false", "no", "off"};
	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0)
			return 1;
		if (strcasecmp(v, no[i]) == 0)
			return 0;
	}
	return -1;
}

/* in_choices - v is one of the '|'-separated words of choices. */
static int in_choices(const char *choices, const char *v)
{
	size_t n = strlen(v);
	for (const char *p = choices; p && *p;) {
		size_t k = strcspn(p, "|");
		if (k == n && strncmp(p, v, n) == 0)
			return 1;
		p += k + (p[k] == '|');
	}
	return 0;
}

/* choices_text - "a, b, c" from "a|b|c" into out. */
static const char *choices_text(const char *choices, char *out, size_t outlen)
{
	size_t j = 0;
	for (const char *p = choices ? choices : ""; *p && j + 3 < outlen; p++) {
		if (*p == '|') {
			out[j++] = ',';
			out[j++] = ' ';
		} else {
			out[j++] = *p;
		}
	}
	out[j] = '\0';
	return out;
}

/* check_choice - a CL_SET_CHOICE value must be one of its words; 0 or -1 with err. */
static int check_choice(const struct cl_setting *s, const char *v, char *err, size_t errlen)
{
	const struct cl_choice *c = s->dst;
	if (s->type != CL_SET_CHOICE || in_choices(c->words, v))
		return 0;
	char list[256];
	cl_snprintf(err, errlen, "%s: must be one of %s (got \"%.64s\")", s->name,
		    choices_text(c->words, list, sizeof list), v);
	return -1;
}

/* value_slot - where a string-valued setting keeps its text. */
static char **value_slot(const struct cl_setting *s)
{
	if (s->type == CL_SET_CHOICE)
		return ((const struct cl_choice *)s->dst)->value;
	if (s->type == CL_SET_NETS)
		return ((const struct cl_nets *)s->dst)->value;
	return (char **)s->dst;
}

/* check_nets - a CL_SET_NETS value parsed into its set; 0 or -1 with err (the set freed). */
static int check_nets(const struct cl_setting *s, const char *v, char *err, size_t errlen)
{
	if (s->type != CL_SET_NETS)
		return 0;
	struct cl_netset *set = ((const struct cl_nets *)s->dst)->set;
	if (cl_netset_parse(set, s->name, v, err, errlen) == 0)
		return 0;
	cl_netset_free(set);
	return -1;
}

/* load_one - validate and store one setting's value. */
static int load_one(const struct cl_setting *s, const char *v, char *err, size_t errlen)
{
	switch (s->type) {
	case CL_SET_STR:
	case CL_SET_CHOICE:
	case CL_SET_NETS: {
		if (check_choice(s, v, err, errlen) < 0 || check_nets(s, v, err, errlen) < 0)
			return -1;
		char *copy = strdup(v);
		if (!copy) {
			if (s->type == CL_SET_NETS)
				cl_netset_free(((const struct cl_nets *)s->dst)->set);
			cl_snprintf(err, errlen, "%s: out of memory", s->name);
			return -1;
		}
		*value_slot(s) = copy;
		return 0;
	}
	case CL_SET_INT: {
		char *end = NULL;
		errno = 0;
		long long x = strtoll(v, &end, 10);
		if (errno || end == v || *end != '\0' || x < s->min || x > s->max) {
			cl_snprintf(err, errlen, "%s: must be an integer from %lld to %lld (got \"%.64s\")", s->name,
				    s->min, s->max, v);
			return -1;
		}
		*(long long *)s->dst = x;
		return 0;
	}
	case CL_SET_BOOL: {
		int b = parse_bool(v);
		if (b < 0) {
			cl_snprintf(err, errlen, "%s: must be 1/0, true/false, yes/no or on/off (got \"%.64s\")",
				    s->name, v);
			return -1;
		}
		*(int *)s->dst = b;
		return 0;
	}
	}
	return -1;
}

int cl_config_load(const struct cl_setting *set, size_t n, char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		const char *v = getenv(set[i].name);
		if (!v)
			v = set[i].def ? set[i].def : "";
		if (load_one(&set[i], v, err, errlen) < 0) {
			cl_config_free(set, i);
			return -1;
		}
	}
	return 0;
}

void cl_config_free(const struct cl_setting *set, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (set[i].type == CL_SET_INT || set[i].type == CL_SET_BOOL)
			continue;
		char **v = value_slot(&set[i]);
		free(*v);
		*v = NULL;
		if (set[i].type == CL_SET_NETS)
			cl_netset_free(((const struct cl_nets *)set[i].dst)->set);
	}
}

void cl_config_usage(FILE *f, const char *prog, const char *summary, const struct cl_setting *set, size_t n)
{
	fprintf(f, "Usage: %s [--help] [--settings-markdown]\n\n%s\n\n", prog, summary);
	fprintf(f, "Settings (environment variables):\n");
	char list[256];
	for (size_t i = 0; i < n; i++) {
		const struct cl_setting *s = &set[i];
		fprintf(f, "  %s\n      %s\n      default: %s", s->name, s->help,
			(s->def && *s->def) ? s->def : "(empty)");
		if (s->type == CL_SET_INT)
			fprintf(f, "  range: %lld..%lld", s->min, s->max);
		else if (s->type == CL_SET_BOOL)
			fprintf(f, "  (boolean)");
		else if (s->type == CL_SET_CHOICE)
			fprintf(f, "  one of: %s",
				choices_text(((const struct cl_choice *)s->dst)->words, list, sizeof list));
		fputc('\n', f);
	}
}

void cl_config_markdown(FILE *f, const char *prog, const struct cl_setting *set, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct cl_setting *s = &set[i];
		fprintf(f, "| `%s` | %s | `%s` | %s", s->name, prog, (s->def && *s->def) ? s->def : "", s->help);
		if (s->type == CL_SET_INT)
			fprintf(f, " (%lld..%lld)", s->min, s->max);
		fprintf(f, " |\n");
	}
}

void cl_config_main(int argc, char **argv, const char *prog, const char *summary, const struct cl_setting *set,
		    size_t n)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			cl_config_usage(stdout, prog, summary, set, n);
			exit(0);
		}
		if (strcmp(argv[i], "--settings-markdown") == 0) {
			cl_config_markdown(stdout, prog, set, n);
			exit(0);
		}
		fprintf(stderr,
			"%s: unknown argument \"%s\"; settings come from CLEMENT_* environment "
			"variables, see --help\n",
			prog, argv[i]);
		exit(2);
	}
	char err[512];
	if (cl_config_load(set, n, err, sizeof err) < 0) {
		fprintf(stderr, "%s: bad setting: %s\n", prog, err);
		exit(2);
	}
}

int cl_parse_hostport(const char *s, char *host, size_t hostlen, int *port)
{
	const char *colon;
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (!close || close[1] != ':')
			return -1;
		size_t hl = (size_t)(close - s - 1);
		if (hl + 1 > hostlen)
			return -1;
		memcpy(host, s + 1, hl);
		host[hl] = '\0';
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return -1;
		size_t hl = (size_t)(colon - s);
		if (hl + 1 > hostlen)
			return -1;
		memcpy(host, s, hl);
		host[hl] = '\0';
	}
	char *end = NULL;
	long p = strtol(colon + 1, &end, 10);
	if (end == colon + 1 || *end || p < 0 || p > 65535)
		return -1;
	*port = (int)p;
	return 0;
}
