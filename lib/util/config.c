/* config.c - CLEMENT_* settings from a declarative table. See config.h. */
#include "util/config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
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

/* The units a duration may be written in, largest first. */
static const struct {
	const char *suffix;
	long long ms;
} UNITS[] = {{"d", 86400000}, {"h", 3600000}, {"m", 60000}, {"s", 1000}, {"ms", 1}};
#define NUNITS (sizeof UNITS / sizeof UNITS[0])

/* unit_word - the row's unit as a word ("seconds"). */
static const char *unit_word(long long unit_ms)
{
	return unit_ms == 1 ? "milliseconds" : unit_ms == 1000 ? "seconds" : "units";
}

/* unit_suffix - the row's unit as its suffix ("s"). */
static const char *unit_suffix(long long unit_ms)
{
	for (size_t i = 0; i < NUNITS; i++)
		if (UNITS[i].ms == unit_ms)
			return UNITS[i].suffix;
	return "";
}

/* parse_duration - cl_parse_duration's work: 0, -1 (not a duration) or -2 (not a whole
 * number of the unit). */
static int parse_duration(const char *v, long long unit_ms, long long *out)
{
	if (!isdigit((unsigned char)v[0]) || unit_ms <= 0) /* no sign, no blank, not empty */
		return -1;
	char *end = NULL;
	errno = 0;
	long long x = strtoll(v, &end, 10);
	if (errno)
		return -1;
	long long per = *end ? 0 : unit_ms;
	for (size_t i = 0; *end && i < NUNITS; i++)
		if (strcmp(end, UNITS[i].suffix) == 0)
			per = UNITS[i].ms;
	if (per == 0 || x > LLONG_MAX / per)
		return -1;
	if ((x * per) % unit_ms != 0)
		return -2;
	*out = x * per / unit_ms;
	return 0;
}

int cl_parse_duration(const char *v, long long unit_ms, long long *out)
{
	return parse_duration(v, unit_ms, out) == 0 ? 0 : -1;
}

const char *cl_format_duration(long long value, long long unit_ms, char *out, size_t outlen)
{
	const char *suffix = unit_suffix(unit_ms);
	long long n = value;
	if (value != 0 && value <= LLONG_MAX / unit_ms && value >= LLONG_MIN / unit_ms) {
		long long ms = value * unit_ms;
		for (size_t i = 0; i < NUNITS; i++)
			if (ms % UNITS[i].ms == 0) {
				n = ms / UNITS[i].ms;
				suffix = UNITS[i].suffix;
				break;
			}
	}
	if (cl_snprintf(out, outlen, "%lld%s", n, suffix) < 0 && outlen)
		out[0] = '\0';
	return out;
}

/* duration_range - "1s..1d" for a CL_SET_DURATION row. */
static const char *duration_range(const struct cl_setting *s, char *out, size_t outlen)
{
	long long unit = ((const struct cl_duration *)s->dst)->unit_ms;
	char lo[32], hi[32];
	cl_snprintf(out, outlen, "%s..%s", cl_format_duration(s->min, unit, lo, sizeof lo),
		    cl_format_duration(s->max, unit, hi, sizeof hi));
	return out;
}

/* load_duration - a CL_SET_DURATION value, checked against the row's unit and bounds. */
static int load_duration(const struct cl_setting *s, const char *v, char *err, size_t errlen)
{
	const struct cl_duration *d = s->dst;
	long long x = 0;
	int rc = parse_duration(v, d->unit_ms, &x);
	char range[80];
	if (rc == -1)
		cl_snprintf(err, errlen, "%s: %.64s is not a duration (use %s)", s->name, *v ? v : "(empty)",
			    d->unit_ms < 1000 ? "250ms, 30s, 5m" : "30s, 5m, 2h");
	else if (rc == -2)
		cl_snprintf(err, errlen, "%s: %.64s is not a whole number of %s", s->name, v, unit_word(d->unit_ms));
	else if (x < s->min || x > s->max)
		cl_snprintf(err, errlen, "%s: %.64s is out of range: %s (a plain number counts %s)", s->name, v,
			    duration_range(s, range, sizeof range), unit_word(d->unit_ms));
	else
		*d->value = x;
	return rc == 0 && x >= s->min && x <= s->max ? 0 : -1;
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
	case CL_SET_DURATION:
		return load_duration(s, v, err, errlen);
	case CL_SET_REQUIRES:
		return 0; /* checked once every value is loaded */
	}
	return -1;
}

/* find_row - the setting (not a rule row) of that name, or NULL. */
static const struct cl_setting *find_row(const struct cl_setting *set, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (set[i].type != CL_SET_REQUIRES && strcmp(set[i].name, name) == 0)
			return &set[i];
	return NULL;
}

/* is_set - a loaded setting is set: see config.h. */
static int is_set(const struct cl_setting *s)
{
	switch (s->type) {
	case CL_SET_INT:
		return *(long long *)s->dst != 0;
	case CL_SET_BOOL:
		return *(int *)s->dst != 0;
	case CL_SET_DURATION:
		return *((const struct cl_duration *)s->dst)->value != 0;
	case CL_SET_STR:
	case CL_SET_CHOICE:
	case CL_SET_NETS: {
		char *v = *value_slot(s);
		return v && *v;
	}
	case CL_SET_REQUIRES:
		break;
	}
	return 0;
}

/* check_rules - every CL_REQUIRES / CL_TOGETHER row holds; 0 or -1 with err. */
static int check_rules(const struct cl_setting *set, size_t n, char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		const struct cl_setting *r = &set[i];
		if (r->type != CL_SET_REQUIRES)
			continue;
		const struct cl_setting *a = find_row(set, n, r->name), *b = find_row(set, n, r->def);
		if (!a || !b) {
			cl_snprintf(err, errlen, "%s: a rule names %s, which is not a setting here", r->name,
				    a ? r->def : r->name);
			return -1;
		}
		int sa = is_set(a), sb = is_set(b);
		if (r->min && sa != sb) {
			cl_snprintf(err, errlen, "%s and %s go together: set both or neither (%s is not set)", a->name,
				    b->name, sa ? b->name : a->name);
			return -1;
		}
		if (sa && !sb) {
			cl_snprintf(err, errlen, "%s is set, so %s must be set too", a->name, b->name);
			return -1;
		}
	}
	return 0;
}

/* rules_text - what the rule rows say about setting s, for --help and the README: "requires
 * X", "set together with Y"; "" for none. Returns out. */
static const char *rules_text(const struct cl_setting *set, size_t n, const struct cl_setting *s, char *out,
			      size_t outlen)
{
	size_t j = 0;
	out[0] = '\0';
	for (size_t i = 0; i < n && j < outlen; i++) {
		const struct cl_setting *r = &set[i];
		if (r->type != CL_SET_REQUIRES)
			continue;
		const char *other = NULL;
		if (strcmp(r->name, s->name) == 0)
			other = r->def;
		else if (r->min && strcmp(r->def, s->name) == 0)
			other = r->name;
		if (!other)
			continue;
		if (cl_snprintf(out + j, outlen - j, "%s%s %s", j ? "; " : "",
				r->min ? "set together with" : "requires", other) < 0) {
			out[j] = '\0';
			break;
		}
		j += strlen(out + j);
	}
	return out;
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
	if (check_rules(set, n, err, errlen) < 0) {
		cl_config_free(set, n);
		return -1;
	}
	return 0;
}

void cl_config_free(const struct cl_setting *set, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (set[i].type == CL_SET_INT || set[i].type == CL_SET_BOOL || set[i].type == CL_SET_DURATION ||
		    set[i].type == CL_SET_REQUIRES)
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
	char list[256], rules[256];
	for (size_t i = 0; i < n; i++) {
		const struct cl_setting *s = &set[i];
		if (s->type == CL_SET_REQUIRES)
			continue;
		fprintf(f, "  %s\n      %s\n      default: %s", s->name, s->help,
			(s->def && *s->def) ? s->def : "(empty)");
		if (s->type == CL_SET_INT)
			fprintf(f, "  range: %lld..%lld", s->min, s->max);
		else if (s->type == CL_SET_BOOL)
			fprintf(f, "  (boolean)");
		else if (s->type == CL_SET_CHOICE)
			fprintf(f, "  one of: %s",
				choices_text(((const struct cl_choice *)s->dst)->words, list, sizeof list));
		else if (s->type == CL_SET_DURATION)
			fprintf(f, "  range: %s (a duration: 250ms, 30s, 5m, 2h, 1d; a plain number counts %s)",
				duration_range(s, list, sizeof list),
				unit_word(((const struct cl_duration *)s->dst)->unit_ms));
		if (*rules_text(set, n, s, rules, sizeof rules))
			fprintf(f, "  (%s)", rules);
		fputc('\n', f);
	}
}

void cl_config_markdown(FILE *f, const char *prog, const struct cl_setting *set, size_t n)
{
	char range[80], rules[256];
	for (size_t i = 0; i < n; i++) {
		const struct cl_setting *s = &set[i];
		if (s->type == CL_SET_REQUIRES)
			continue;
		fprintf(f, "| `%s` | %s | `%s` | %s", s->name, prog, (s->def && *s->def) ? s->def : "", s->help);
		if (s->type == CL_SET_INT)
			fprintf(f, " (%lld..%lld)", s->min, s->max);
		else if (s->type == CL_SET_DURATION)
			fprintf(f, " (%s, %s)", unit_word(((const struct cl_duration *)s->dst)->unit_ms),
				duration_range(s, range, sizeof range));
		if (*rules_text(set, n, s, rules, sizeof rules))
			fprintf(f, " (%s)", rules);
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
