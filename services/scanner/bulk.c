/* bulk.c - body fingerprints by distinct client address. See bulk.h. */
#include "bulk.h"

#include <stdlib.h>
#include <string.h>

#define FNV_OFF   1469598103934665603ULL
#define FNV_PRIME 1099511628211ULL

int bulk_init(struct bulk_table *t, long window_s)
{
	memset(t, 0, sizeof *t);
	t->window_s = window_s;
	t->slot = calloc(BULK_SLOTS, sizeof *t->slot);
	if (!t->slot)
		return -1;
	pthread_mutex_init(&t->lock, NULL);
	return 0;
}

void bulk_fini(struct bulk_table *t)
{
	if (!t->slot)
		return;
	free(t->slot);
	pthread_mutex_destroy(&t->lock);
	memset(t, 0, sizeof *t);
}

static int is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

uint64_t bulk_fingerprint(const unsigned char *msg, size_t len)
{
	size_t i = 0;
	for (; i + 1 < len; i++) /* the body starts after the first empty line */
		if (msg[i] == '\n' && (msg[i + 1] == '\n' || (msg[i + 1] == '\r' && i + 2 < len && msg[i + 2] == '\n')))
			break;
	if (i + 1 >= len)
		return 0;
	uint64_t h = FNV_OFF;
	int words = 0;
	while (i < len) {
		while (i < len && is_space(msg[i]))
			i++;
		size_t w = i;
		int digit = 0;
		while (i < len && !is_space(msg[i]))
			digit |= msg[i] >= '0' && msg[i] <= '9', i++;
		if (i == w || digit)
			continue;
		for (size_t k = w; k < i; k++) {
			unsigned char c = msg[k];
			h = (h ^ (c >= 'A' && c <= 'Z' ? c + 32 : c)) * FNV_PRIME;
		}
		h = (h ^ ' ') * FNV_PRIME;
		words++;
	}
	return words >= BULK_MIN_WORDS ? (h ? h : 1) : 0;
}

static uint64_t client_hash(const char *client)
{
	uint64_t h = FNV_OFF;
	for (; client && *client; client++)
		h = (h ^ (unsigned char)*client) * FNV_PRIME;
	return h;
}

/* find - fp's slot, or the slot to reuse for it: free, expired, else the least recently used
 * of the 8 probed. */
static struct bulk_slot *find(struct bulk_table *t, uint64_t fp, time_t now)
{
	struct bulk_slot *victim = NULL;
	for (int k = 0; k < 8; k++) {
		struct bulk_slot *s = &t->slot[(fp + (uint64_t)k) % BULK_SLOTS];
		if (s->fp == fp)
			return s;
		if (!s->fp || now - s->last > t->window_s)
			return victim && !victim->fp ? victim : s;
		if (!victim || s->last < victim->last)
			victim = s;
	}
	return victim;
}

int bulk_note(struct bulk_table *t, uint64_t fp, const char *client, time_t now, int *deferred)
{
	if (deferred)
		*deferred = 0;
	if (!fp || !t->slot)
		return 0;
	uint64_t c = client_hash(client);
	pthread_mutex_lock(&t->lock);
	struct bulk_slot *s = find(t, fp, now);
	if (s->fp != fp) {
		memset(s, 0, sizeof *s);
		s->fp = fp;
	}
	int others = 0, mine = -1, oldest = 0;
	for (int k = 0; k < s->n; k++) {
		if (s->client[k] == c)
			mine = k;
		else if (now - s->seen[k] <= t->window_s)
			others++;
		if (s->seen[k] < s->seen[oldest])
			oldest = k;
	}
	int at = mine >= 0 ? mine : s->n < BULK_CLIENTS_MAX ? s->n++ : oldest;
	if (mine >= 0 && deferred)
		*deferred = s->deferred[at];
	else if (mine < 0)
		s->deferred[at] = 0;
	s->client[at] = c;
	s->seen[at] = now;
	s->last = now;
	pthread_mutex_unlock(&t->lock);
	return others;
}

void bulk_defer(struct bulk_table *t, uint64_t fp, const char *client, time_t now)
{
	if (!fp || !t->slot)
		return;
	uint64_t c = client_hash(client);
	pthread_mutex_lock(&t->lock);
	struct bulk_slot *s = find(t, fp, now);
	for (int k = 0; s->fp == fp && k < s->n; k++)
		if (s->client[k] == c)
			s->deferred[k] = 1;
	pthread_mutex_unlock(&t->lock);
}
