/* theap_test.c - cl_theap: scripted set/move/remove sequences against the pop order they
 * must give, and a long pseudo-random run checked against a brute-force minimum with the
 * heap property and every node's recorded position verified after each step. */
#include <stdlib.h>
#include <string.h>

#include "util/test.h"
#include "util/theap.h"

#define NODES 8

struct step {
	char op; /* 's' set, 'r' remove, 0 end */
	int node;
	double when;
};

struct script {
	const char *name;
	struct step steps[12];
	const char *order; /* nodes popped, earliest first, as digits */
};

static const struct script scripts[] = {
    {"empty", {{0, 0, 0}}, ""},
    {"one", {{'s', 3, 1.0}, {0, 0, 0}}, "3"},
    {"sorted on insert", {{'s', 1, 3}, {'s', 2, 1}, {'s', 3, 2}, {0, 0, 0}}, "231"},
    {"move earlier", {{'s', 1, 1}, {'s', 2, 2}, {'s', 3, 3}, {'s', 3, 0.5}, {0, 0, 0}}, "312"},
    {"move later", {{'s', 1, 1}, {'s', 2, 2}, {'s', 3, 3}, {'s', 1, 9}, {0, 0, 0}}, "231"},
    {"set same time twice", {{'s', 1, 1}, {'s', 1, 1}, {'s', 2, 2}, {0, 0, 0}}, "12"},
    {"remove root", {{'s', 1, 1}, {'s', 2, 2}, {'s', 3, 3}, {'r', 1, 0}, {0, 0, 0}}, "23"},
    {"remove last", {{'s', 1, 1}, {'s', 2, 2}, {'r', 2, 0}, {0, 0, 0}}, "1"},
    {"remove middle",
     {{'s', 1, 1}, {'s', 2, 5}, {'s', 3, 2}, {'s', 4, 6}, {'s', 5, 7}, {'s', 6, 3}, {'r', 2, 0}, {0, 0, 0}},
     "13645"},
    {"remove absent is a no-op", {{'s', 1, 1}, {'r', 2, 0}, {'r', 2, 0}, {0, 0, 0}}, "1"},
    {"remove then set again", {{'s', 1, 1}, {'s', 2, 2}, {'r', 1, 0}, {'s', 1, 3}, {0, 0, 0}}, "21"},
    {"equal deadlines all come out", {{'s', 1, 4}, {'s', 2, 4}, {'s', 3, 4}, {'s', 4, 1}, {0, 0, 0}}, "4***"},
};

/* valid - the heap property holds and every node knows its index. */
static int valid(const struct cl_theap *h)
{
	for (size_t i = 0; i < h->n; i++) {
		if (h->v[i]->pos != i + 1)
			return 0;
		if (i > 0 && h->v[(i - 1) / 2]->when > h->v[i]->when)
			return 0;
	}
	return 1;
}

static void run_script(const struct script *sc)
{
	struct cl_theap h;
	struct cl_theap_node nodes[NODES];
	memset(nodes, 0, sizeof nodes);
	cl_theap_init(&h);
	for (const struct step *st = sc->steps; st->op; st++) {
		if (st->op == 's')
			CL_CHECK(cl_theap_set(&h, &nodes[st->node], st->when) == 0, "%s: set", sc->name);
		else
			cl_theap_remove(&h, &nodes[st->node]);
		CL_CHECK(valid(&h), "%s: heap valid after each step", sc->name);
	}
	char got[NODES + 1] = "";
	size_t k = 0;
	struct cl_theap_node *n;
	while ((n = cl_theap_pop(&h)) && k < NODES) {
		CL_CHECK(n->pos == 0, "%s: popped node marked out", sc->name);
		CL_CHECK(valid(&h), "%s: heap valid after pop", sc->name);
		got[k++] = (char)('0' + (n - nodes));
	}
	got[k] = '\0';
	int same = strlen(got) == strlen(sc->order);
	for (size_t i = 0; same && i < k; i++)
		same = sc->order[i] == '*' || sc->order[i] == got[i];
	CL_CHECK(same, "%s: popped %s, want %s", sc->name, got, sc->order);
	CL_CHECK(cl_theap_peek(&h) == NULL && cl_theap_count(&h) == 0, "%s: empty at the end", sc->name);
	cl_theap_fini(&h);
}

/* random_run - many sets, moves and removes; the root is always the brute-force minimum. */
static void random_run(void)
{
	enum { N = 500, STEPS = 20000 };
	static struct cl_theap_node nodes[N];
	struct cl_theap h;
	cl_theap_init(&h);
	unsigned seed = 12345;
	int ok = 1;
	for (int i = 0; i < STEPS && ok; i++) {
		seed = seed * 1103515245u + 12345u;
		struct cl_theap_node *x = &nodes[(seed >> 8) % N];
		if ((seed >> 4) % 4 == 0)
			cl_theap_remove(&h, x);
		else
			ok = cl_theap_set(&h, x, (double)((seed >> 12) % 1000)) == 0;
		double min = 1e9;
		size_t in = 0;
		for (size_t j = 0; j < N; j++)
			if (nodes[j].pos) {
				in++;
				if (nodes[j].when < min)
					min = nodes[j].when;
			}
		ok = ok && valid(&h) && in == h.n && (in == 0 || cl_theap_peek(&h)->when == min);
	}
	CL_CHECK(ok, "random run: heap property, positions and minimum hold at every step");
	double last = -1;
	int sorted = 1;
	struct cl_theap_node *n;
	while ((n = cl_theap_pop(&h))) {
		sorted = sorted && n->when >= last;
		last = n->when;
	}
	CL_CHECK(sorted, "random run: pops come out in deadline order");
	cl_theap_fini(&h);
}

int main(void)
{
	for (size_t i = 0; i < sizeof scripts / sizeof scripts[0]; i++)
		run_script(&scripts[i]);
	random_run();
	return CL_TEST_END();
}
