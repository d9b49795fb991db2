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

/* libvirt lets interfaces share a MAC (it refuses none at define); virtwire
 * tells guests apart by MAC only on one network or bridge: its reservations,
 * forwards by guest-mac and ports are per network. */
char *vw_chk_mac_place(const VwInterface *iface)
{
	char m[VW_MAC_STRLEN];

	if (!iface->has_mac || (!iface->source_network && !iface->source_bridge))
		return NULL;
	vw_mac_to_string(&iface->mac, m);
	if (iface->source_network)
		return g_strdup_printf("%s on network '%s'", m, iface->source_network);
	return g_strdup_printf("%s on bridge '%s'", m, iface->source_bridge);
}

/* libvirt's virtio failover: the persistent interface (virtio) and the
 * transient one (a VF) that names it by alias carry the same MAC by design:
 * the guest sees one NIC. */
bool vw_chk_teaming_pair(const VwInterface *a, const VwInterface *b)
{
	const VwInterface *p = g_strcmp0(a->teaming, "transient") == 0 ? b : a;
	const VwInterface *t = p == a ? b : a;

	return g_strcmp0(p->teaming, "persistent") == 0 && g_strcmp0(t->teaming, "transient") == 0 && p->alias &&
	       g_strcmp0(t->teaming_persistent, p->alias) == 0;
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
