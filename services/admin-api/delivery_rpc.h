/* delivery_rpc.h - release and delete of quarantined mail through the delivery service
 * (docs/RPC.md, "delivery": ops release and delete), as one blocking call for an HTTP
 * worker thread. The wire format stays in lib/mail/delivery_client; this file only waits. */
#ifndef CLEMENT_ADMIN_DELIVERY_RPC_H
#define CLEMENT_ADMIN_DELIVERY_RPC_H

#include "api.h"
#include "mail/verdict.h"

/* delivery_decide - release (release=1) or delete quarantine row qid on behalf of user by.
 * 0 with delivery's verdict in v, or -1 when delivery could not be asked or did not answer
 * (err says why; counts as unavailable). */
int delivery_decide(struct api_app *app, int release, long long qid, long long by, struct cl_verdict *v, char *err,
		    size_t errlen);

#endif
