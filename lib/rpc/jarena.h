/* jarena.h - a per-thread bump arena for the cJSON values of one RPC request.
 *
 * cJSON allocates every node and every string on its own: a policy rcpt costs about fifty
 * malloc/free pairs for its request and reply, the largest item of the RPC layer's CPU above
 * a bare echo (docs/PERFORMANCE.md, policy-bench). While a server worker serves a request of
 * an op table with json_arena set, cJSON's allocations on that thread come from the thread's
 * arena instead, and the arena is emptied in one step after the reply is sent.
 *
 * cJSON's hooks are process-wide, so once installed every cJSON allocation goes through them:
 * outside an active arena they are plain malloc/free, and a free of an arena address is a
 * no-op. The rule for handlers: no cJSON value made while serving a request outlives the
 * request. Under AddressSanitizer the unused and emptied parts of the arena are poisoned and
 * allocations are separated by poisoned gaps, so a value kept past its request, or an overrun,
 * is still reported. */
#ifndef CLEMENT_RPC_JARENA_H
#define CLEMENT_RPC_JARENA_H

/* cl_jarena_install - route cJSON's allocations through the arena hooks (once per process;
 * call it before the threads that use the arena start). */
void cl_jarena_install(void);

/* cl_jarena_begin - from now on this thread's cJSON allocations come from its arena (made on
 * first use; an allocation that does not fit falls back to malloc). */
void cl_jarena_begin(void);

/* cl_jarena_end - this thread's cJSON allocations go to malloc again, and the arena is empty:
 * every value made since cl_jarena_begin must be gone. */
void cl_jarena_end(void);

/* cl_jarena_release - free this thread's arena (a worker leaving). */
void cl_jarena_release(void);

/* cl_jarena_owns - whether p lies in this thread's arena (for tests). */
int cl_jarena_owns(const void *p);

#endif
