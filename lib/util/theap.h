/* theap.h - a binary min-heap of deadlines (Redis's ae timers, libevent's minheap): the
 * event loop asks for the earliest deadline in O(1) and files, moves or drops one in
 * O(log n), instead of visiting every waiting object on a fixed tick.
 *
 * Contract: the caller embeds a struct cl_theap_node in its own object (zeroed = not in
 * any heap) and finds the object back from the node (offsetof). The heap stores only
 * pointers to the nodes and owns nothing but its array; a node must be removed before
 * its object is freed. Not thread-safe: one heap per event loop. */
#ifndef CLEMENT_UTIL_THEAP_H
#define CLEMENT_UTIL_THEAP_H

#include <stddef.h>

struct cl_theap_node {
	double when; /* the deadline (any clock, as long as one heap uses one) */
	size_t pos;  /* 1 + index in the heap's array; 0 = not in the heap */
};

struct cl_theap {
	struct cl_theap_node **v;
	size_t n, cap;
};

/* cl_theap_init / cl_theap_fini - an empty heap; fini frees the array (not the nodes). */
void cl_theap_init(struct cl_theap *h);
void cl_theap_fini(struct cl_theap *h);

/* cl_theap_set - file node at when, or move it there if it is already in h.
 * Returns 0, or -1 when the array cannot grow (node then stays out of h). */
int cl_theap_set(struct cl_theap *h, struct cl_theap_node *node, double when);

/* cl_theap_remove - take node out of h; a node not in a heap is left alone. */
void cl_theap_remove(struct cl_theap *h, struct cl_theap_node *node);

/* cl_theap_peek - the node with the earliest deadline, or NULL when h is empty. */
struct cl_theap_node *cl_theap_peek(const struct cl_theap *h);

/* cl_theap_pop - remove and return the earliest node (NULL when empty). */
struct cl_theap_node *cl_theap_pop(struct cl_theap *h);

static inline size_t cl_theap_count(const struct cl_theap *h)
{
	return h->n;
}

#endif
