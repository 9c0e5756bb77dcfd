/* ops.h - the RPC operations of clement-delivery (docs/RPC.md): deliver, release, delete. */
#ifndef CLEMENT_DELIVERY_OPS_H
#define CLEMENT_DELIVERY_OPS_H

#include <cjson/cJSON.h>
#include <stddef.h>

/* dl_ops - the service's RPC op table (n entries; each handler's ctx is the struct dl_ctx). */
struct cl_rpc_op;
const struct cl_rpc_op *dl_ops(size_t *n);

#endif
