/* ops.h - the RPC operations of clement-delivery (docs/RPC.md): deliver, release, delete. */
#ifndef CLEMENT_DELIVERY_OPS_H
#define CLEMENT_DELIVERY_OPS_H

#include <cjson/cJSON.h>
#include <stddef.h>

/* dl_ops_handle - cl_rpc_handler_fn; ctx is the struct dl_ctx. Returns a new reply. */
cJSON *dl_ops_handle(void *ctx, const cJSON *req, const unsigned char *body, size_t blen, void **rbody, size_t *rblen);

#endif
