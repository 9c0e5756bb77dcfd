/* config.c - what banstats' settings table cannot say (the check hook): the server name, the
 * never-ban networks as SQL's cidr[] literal, this replica's name. See banstats.h. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "banstats.h"
#include "mail/mesh_record.h"
#include "util/buf.h"

int banstats_config_finish(struct banstats_config *cfg, char *err, size_t errlen)
{
	char host[256] = "", name[CL_MESH_ORIGIN_MAX + 1];
	if (!cfg->server_name[0] && gethostname(host, sizeof host - 1) == 0) {
		free(cfg->server_name);
		cfg->server_name = strdup(host);
	}
	if (!cfg->server_name || cl_mesh_origin_parse(cfg->server_name, name, sizeof name) < 0)
		return cl_snprintf(err, errlen, "CLEMENT_SERVER_NAME: must be a domain name"), -1;
	strcpy(cfg->server_name, name); /* same length, lowercased */
	char me[256] = "";
	gethostname(me, sizeof me - 1);
	cl_snprintf(cfg->instance, sizeof cfg->instance, "%s/%ld", me[0] ? me : cfg->server_name, (long)getpid());
	/* The never-ban list in util/cidr.h's grammar (policy reads the same setting the same
	 * way), then as a PostgreSQL cidr[] literal for the statistics and mesh queries. */
	const struct cl_netset nb = cfg->never_ban_set;
	struct cl_buf a;
	cl_buf_init(&a, sizeof cfg->never_ban_array - 1);
	int rc = cl_buf_append_str(&a, "{");
	for (size_t i = 0; i < nb.n && rc == 0; i++) {
		char net[INET6_ADDRSTRLEN + 8];
		rc |= cl_cidr_format(&nb.v[i].net, nb.v[i].plen, net, sizeof net);
		rc |= cl_buf_printf(&a, "%s%s", i ? "," : "", net);
	}
	rc |= cl_buf_append_str(&a, "}");
	if (rc == 0)
		rc = cl_strlcpy(cfg->never_ban_array, a.data, sizeof cfg->never_ban_array);
	cl_buf_free(&a);
	if (rc != 0)
		return cl_snprintf(err, errlen, "CLEMENT_NEVER_BAN: too long"), -1;
	return 0;
}
