/* theap.c - the deadline min-heap (contract in theap.h). The array is 0-based; a node's
 * pos is its index + 1, so a zeroed node reads as "not in the heap". */
#include "util/theap.h"

#include <stdlib.h>

void cl_theap_init(struct cl_theap *h)
{
	h->v = NULL;
	h->n = h->cap = 0;
}

void cl_theap_fini(struct cl_theap *h)
{
	for (size_t i = 0; i < h->n; i++)
		h->v[i]->pos = 0;
	free(h->v);
	cl_theap_init(h);
}

/* place - put node at index i and record where it is. */
static void place(struct cl_theap *h, size_t i, struct cl_theap_node *node)
{
	h->v[i] = node;
	node->pos = i + 1;
}

/* sift_up - move the node at i toward the root while it is earlier than its parent. */
static void sift_up(struct cl_theap *h, size_t i)
{
	struct cl_theap_node *node = h->v[i];
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (h->v[parent]->when <= node->when)
			break;
		place(h, i, h->v[parent]);
		i = parent;
	}
	place(h, i, node);
}

/* sift_down - move the node at i toward the leaves while a child is earlier. */
static void sift_down(struct cl_theap *h, size_t i)
{
	struct cl_theap_node *node = h->v[i];
	for (;;) {
		size_t child = 2 * i + 1;
		if (child >= h->n)
			break;
		if (child + 1 < h->n && h->v[child + 1]->when < h->v[child]->when)
			child++;
		if (node->when <= h->v[child]->when)
			break;
		place(h, i, h->v[child]);
		i = child;
	}
	place(h, i, node);
}

int cl_theap_set(struct cl_theap *h, struct cl_theap_node *node, double when)
{
	if (node->pos) {
		size_t i = node->pos - 1;
		double old = node->when;
		node->when = when;
		if (when < old)
			sift_up(h, i);
		else if (when > old)
			sift_down(h, i);
		return 0;
	}
	if (h->n == h->cap) {
		size_t cap = h->cap ? 2 * h->cap : 64;
		struct cl_theap_node **v = realloc(h->v, cap * sizeof *v);
		if (!v)
			return -1;
		h->v = v;
		h->cap = cap;
	}
	node->when = when;
	place(h, h->n++, node);
	sift_up(h, h->n - 1);
	return 0;
}

void cl_theap_remove(struct cl_theap *h, struct cl_theap_node *node)
{
	if (!node->pos)
		return;
	size_t i = node->pos - 1;
	node->pos = 0;
	struct cl_theap_node *last = h->v[--h->n];
	if (i == h->n)
		return; /* it was the last one */
	place(h, i, last);
	/* the moved node may belong above or below its new place, never both */
	if (i > 0 && last->when < h->v[(i - 1) / 2]->when)
		sift_up(h, i);
	else
		sift_down(h, i);
}

struct cl_theap_node *cl_theap_peek(const struct cl_theap *h)
{
	return h->n ? h->v[0] : NULL;
}

struct cl_theap_node *cl_theap_pop(struct cl_theap *h)
{
	struct cl_theap_node *top = cl_theap_peek(h);
	if (top)
		cl_theap_remove(h, top);
	return top;
}
