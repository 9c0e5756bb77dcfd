/* transcript_fuzz.c - libFuzzer target for the transcript masking (transcript.c): the
 * commands in a transcript are whatever an SMTP client typed, and the masking decides what
 * one tenant's admin reads about another's mail.
 *
 * fuzz-sources: services/admin-api/transcript.c lib/util/buf.c
 *
 * The caller of this target administers the domain a.test. The input becomes a transcript
 * of printable ASCII lines as smtp-edge writes them (other octets become '?', 0x0A stays a
 * line end). Invariants: the masked transcript has as many lines as the original; no
 * address with an '@' from a RCPT command outside a.test appears in it, in any case; and a
 * transcript without such a command comes back unchanged. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "transcript.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* visible - only a.test is in scope. */
static int visible(const char *addr, void *arg)
{
	(void)arg;
	size_t n = strlen(addr);
	return n > 7 && strcmp(addr + n - 7, "@a.test") == 0;
}

static size_t lines_of(const char *s)
{
	size_t n = 1;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *t = malloc(size + 1);
	if (!t)
		return 0;
	for (size_t i = 0; i < size; i++)
		t[i] = data[i] == '\n' || (data[i] >= 0x20 && data[i] < 0x7f) ? (char)data[i] : '?';
	t[size] = '\0';
	char *m = transcript_mask(t, visible, NULL);
	char *all = transcript_rcpts(t);
	if (!m || !all)
		abort();
	if (lines_of(m) != lines_of(t))
		abort();
	int any_hidden = 0;
	for (char *a = all; *a;) {
		char *nl = strchr(a, '\n');
		*nl = '\0';
		if (!visible(a, NULL)) {
			any_hidden = 1;
			if (strchr(a, '@') && strcasestr(m, a))
				abort();
		}
		a = nl + 1;
	}
	/* a RCPT command without an address is hidden too: look for it line by line */
	char addr[TRANSCRIPT_ADDR_MAX + 1];
	for (const char *p = t; *p && !any_hidden;) {
		size_t len = strcspn(p, "\n");
		if (transcript_rcpt_addr(p, len, addr, sizeof addr) && !addr[0])
			any_hidden = 1;
		p += len + (p[len] == '\n');
	}
	if (!any_hidden && strcmp(m, t) != 0)
		abort();
	free(all);
	free(m);
	free(t);
	return 0;
}
