/* handler.h - the RPC entry point of clement-policy (docs/RPC.md, section policy).
 *
 * pol_handle is the cl_rpc_handler_fn given to cl_rpc_server_start with a struct policy
 * as its context; it runs on the server's worker threads. */
#ifndef CLEMENT_POLICY_HANDLER_H
#define CLEMENT_POLICY_HANDLER_H

#include <cjson/cJSON.h>
#include <stddef.h>

cJSON *pol_handle(void *ctx, const cJSON *req, const unsigned char *body, size_t blen, void **rbody, size_t *rblen);

#endif
