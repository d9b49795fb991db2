/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What the checks of check/ share. */
#include "check-private.h"

const char *vw_chk_fam_name(int family)
{
	return family == AF_INET6 ? "IPv6" : "IPv4";
}

VwPrefix vw_chk_ip_subnet(const VwIp *ip)
{
	VwPrefix p = { vw_addr_network(&ip->address, ip->prefix), ip->prefix };

	return p;
}

bool vw_chk_is_subnet_edge(const VwAddr *a, unsigned prefix)
{
	VwAddr net, bcast;

	if (a->family != AF_INET || prefix >= 31)
		return false;
	net = vw_addr_network(a, prefix);
	bcast = vw_addr_broadcast(a, prefix);
	return vw_addr_equal(a, &net) || vw_addr_equal(a, &bcast);
}

bool vw_chk_mode_forwards_ports(VwMode m)
{
	return m == VW_MODE_NAT || m == VW_MODE_ROUTE;
}

const VwNetwork *vw_chk_find_network(GPtrArray *networks, const char *name)
{
	for (guint i = 0; networks && name && i < networks->len; i++) {
		const VwNetwork *n = networks->pdata[i];

		if (g_strcmp0(n->name, name) == 0)
			return n;
	}
	return NULL;
}
