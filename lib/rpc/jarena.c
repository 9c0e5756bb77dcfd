/* jarena.c - the per-thread cJSON arena. See jarena.h. */
#include "rpc/jarena.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define GAP            16 /* poisoned bytes after each allocation */
#define POISON(p, n)   ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define GAP            0
#define POISON(p, n)   ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

/* A policy rcpt's request and reply take about 3 KB; a header of CL_FRAME_MAX_HEADER does not
 * fit and its remainder goes to malloc. */
#define ARENA_SIZE (32 * 1024)
#define ALIGN      16

struct arena {
	char *base;
	size_t used;
	int active;
};

static _Thread_local struct arena tl;

static void *arena_malloc(size_t n)
{
	struct arena *a = &tl;
	if (a->active && a->base) {
		size_t need = (n + ALIGN - 1) / ALIGN * ALIGN + GAP;
		if (n <= ARENA_SIZE && need <= ARENA_SIZE - a->used) {
			char *p = a->base + a->used;
			a->used += need;
			UNPOISON(p, n);
			return p;
		}
	}
	return malloc(n);
}

static void arena_free(void *p)
{
	if (!cl_jarena_owns(p))
		free(p);
}

int cl_jarena_owns(const void *p)
{
	const struct arena *a = &tl;
	uintptr_t u = (uintptr_t)p, b = (uintptr_t)a->base;
	return a->base && u >= b && u < b + ARENA_SIZE;
}

static void install(void)
{
	cJSON_Hooks h = {.malloc_fn = arena_malloc, .free_fn = arena_free};
	cJSON_InitHooks(&h);
}

void cl_jarena_install(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, install);
}

void cl_jarena_begin(void)
{
	struct arena *a = &tl;
	if (!a->base && (a->base = malloc(ARENA_SIZE)) != NULL)
		POISON(a->base, ARENA_SIZE);
	a->used = 0;
	a->active = 1;
}

void cl_jarena_end(void)
{
	struct arena *a = &tl;
	a->active = 0;
	if (a->base)
		POISON(a->base, a->used);
	a->used = 0;
}

void cl_jarena_release(void)
{
	struct arena *a = &tl;
	if (a->base)
		UNPOISON(a->base, ARENA_SIZE);
	free(a->base);
	a->base = NULL;
	a->used = 0;
	a->active = 0;
}
