/* handler.h - the RPC entry point of clement-policy (docs/RPC.md, section policy).
 *
 * pol_ops is the op table given to cl_rpc_server_start_ops with a struct policy as its
 * context; its handlers run on the server's worker threads. */
#ifndef CLEMENT_POLICY_HANDLER_H
#define CLEMENT_POLICY_HANDLER_H

#include <cjson/cJSON.h>
#include <stddef.h>

/* pol_ops - the op table (n entries). */
struct cl_rpc_op;
const struct cl_rpc_op *pol_ops(size_t *n);

#endif
