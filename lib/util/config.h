/* config.h - declarative CLEMENT_* settings (STYLE rule 8).
 *
 * Each service describes its settings in one table of struct cl_setting: name, type,
 * default, bounds and help. From that one table come the values (read from the
 * environment and validated), `--help`, and the README's settings table
 * (`--settings-markdown`). A bad value stops the service with a message naming the
 * variable and what it accepts.
 *
 * Destinations: CL_SET_STR writes a `char *` that the config owns until cl_config_free();
 * CL_SET_INT writes a `long long`; CL_SET_BOOL writes an `int` (0/1); CL_SET_CHOICE's dst is
 * CL_CHOICE(&value, "a|b|c"): it writes the `char *` value as CL_SET_STR does, after checking
 * it is one of the words (--help lists them; a service no longer checks the word itself).
 * CL_SET_NETS's dst is CL_NETS(&value, &set): the text as CL_SET_STR, and the networks parsed
 * into the struct cl_netset in util/cidr.h's one grammar; cl_config_free frees both.
 * CL_SET_DURATION's dst is CL_SECONDS(&value) or CL_MILLIS(&value): a `long long` in that unit,
 * written as a plain number (in that unit, so a plain number keeps its old meaning) or with a
 * unit: 250ms, 90s, 5m, 2h, 1d; a value that is not a whole number of the row's unit (1500ms
 * for seconds) is refused. min and max are in the row's unit; --help, the README and the
 * errors show them with units ("1s..1d").
 *
 * Rules between settings are rows too, written with CL_REQUIRES / CL_TOGETHER (type
 * CL_SET_REQUIRES; no value of their own): cl_config_load refuses a configuration where a
 * setting is set and the one it requires is not. "Set" means: a non-empty text (strings,
 * choices, networks), true (booleans), not 0 (numbers, durations) - after the default. */
#ifndef CLEMENT_UTIL_CONFIG_H
#define CLEMENT_UTIL_CONFIG_H

#include <stddef.h>
#include <stdio.h>

enum cl_setting_type {
	CL_SET_STR,
	CL_SET_INT,
	CL_SET_BOOL,
	CL_SET_CHOICE,
	CL_SET_NETS,
	CL_SET_DURATION,
	CL_SET_REQUIRES, /* a rule row: see CL_REQUIRES */
};

struct cl_setting {
	const char *name; /* CLEMENT_... */
	enum cl_setting_type type;
	const char *def;    /* default as text; NULL or "" for none */
	long long min, max; /* for CL_SET_INT and CL_SET_DURATION (in its unit) */
	const char *help;   /* one line */
	void *dst;          /* see above */
};

/* The destination of a CL_SET_CHOICE row (build it with CL_CHOICE). */
struct cl_choice {
	char **value;      /* the chosen word, owned by the config as a CL_SET_STR value */
	const char *words; /* the accepted words, "a|b|c" */
};
#define CL_CHOICE(value, words) (&(struct cl_choice){(value), (words)})

/* The destination of a CL_SET_NETS row (build it with CL_NETS). */
struct cl_netset;
struct cl_nets {
	char **value;          /* the text, owned by the config as a CL_SET_STR value */
	struct cl_netset *set; /* the networks (util/cidr.h), owned by the config too */
};
#define CL_NETS(value, set) (&(struct cl_nets){(value), (set)})

/* The destination of a CL_SET_DURATION row (build it with CL_SECONDS or CL_MILLIS). */
struct cl_duration {
	long long *value;  /* in the row's unit */
	long long unit_ms; /* 1000: seconds, 1: milliseconds */
};
#define CL_SECONDS(value) (&(struct cl_duration){(value), 1000})
#define CL_MILLIS(value)  (&(struct cl_duration){(value), 1})

/* CL_REQUIRES(a, b) - a rule row: when setting a is set, setting b must be set too (both
 * rows of the same table). CL_TOGETHER(a, b): both set or neither. --help and the README
 * say so on a's row (and b's, for CL_TOGETHER). */
#define CL_REQUIRES(a, b)                                                                                              \
	{                                                                                                              \
		(a), CL_SET_REQUIRES, (b), 0, 0, NULL, NULL                                                            \
	}
#define CL_TOGETHER(a, b)                                                                                              \
	{                                                                                                              \
		(a), CL_SET_REQUIRES, (b), 1, 0, NULL, NULL                                                            \
	}

#define CL_SETTINGS_COUNT(t) (sizeof(t) / sizeof((t)[0]))

/* The rows every service's table shares, so their name, default and help read the same in
 * every --help and in the README. */
#define CL_SETTING_LOG_LEVEL(dst)                                                                                      \
	{                                                                                                              \
		"CLEMENT_LOG_LEVEL", CL_SET_CHOICE, "info", 0, 0,                                                      \
		    "lowest log level written: debug, info, warn, error", CL_CHOICE((dst), "debug|info|warn|error")    \
	}
#define CL_SETTING_DB_URL(dst)                                                                                         \
	{                                                                                                              \
		"CLEMENT_DB_URL", CL_SET_STR, "postgresql:///clement", 0, 0,                                           \
		    "PostgreSQL connection string (URL or key=value)", (dst)                                           \
	}
#define CL_SETTING_HEALTH_LISTEN(name, def, dst)                                                                       \
	{                                                                                                              \
		(name), CL_SET_STR, (def), 0, 0, "address of the /healthz and /metrics HTTP endpoint", (dst)           \
	}

/* cl_config_load - read every setting from the environment (default when unset), then check
 * the rule rows. Returns 0, or -1 with err naming the variable and the accepted range (then
 * nothing stays allocated). */
int cl_config_load(const struct cl_setting *set, size_t n, char *err, size_t errlen);
/* cl_config_free - release the strings cl_config_load stored. */
void cl_config_free(const struct cl_setting *set, size_t n);
/* cl_config_usage - --help text: summary, then one line per setting with its default. */
void cl_config_usage(FILE *f, const char *prog, const char *summary, const struct cl_setting *set, size_t n);
/* cl_config_markdown - the README table rows for these settings. */
void cl_config_markdown(FILE *f, const char *prog, const struct cl_setting *set, size_t n);

/* cl_config_main - the common start of every main(): handles --help (exit 0),
 * --settings-markdown (exit 0), rejects unknown arguments (exit 2), loads the settings
 * (on error prints "prog: <error>" and exits 2). Returns only on success. */
void cl_config_main(int argc, char **argv, const char *prog, const char *summary, const struct cl_setting *set,
		    size_t n);

/* cl_parse_duration - text as CL_SET_DURATION reads it ("90", "90s", "250ms", "5m", "2h",
 * "1d"; a plain number is in unit_ms) into *out, in units of unit_ms. 0, or -1 when it is
 * not a duration or not a whole number of the unit. */
int cl_parse_duration(const char *v, long long unit_ms, long long *out);
/* cl_format_duration - value (in units of unit_ms) in the largest unit that shows it exactly:
 * 86400 seconds as "1d", 90 as "90s", 1500 ms as "1500ms". Returns out. */
const char *cl_format_duration(long long value, long long unit_ms, char *out, size_t outlen);

/* cl_parse_hostport - split "host:port" or "[v6]:port" into host (no brackets) and port.
 * Returns 0 or -1. */
int cl_parse_hostport(const char *s, char *host, size_t hostlen, int *port);

#endif
