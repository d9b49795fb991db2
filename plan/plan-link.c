/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The link part of the plan: the bridge, its sysctls and addresses, the
 * bridged mode's uplink, the ports' flags. Pure, like the rest of the
 * planner: what to make true, not how (the executor looks at the kernel).
 */
#include <string.h>

#include "plan-private.h"

static VwLinkOp *op_new(VwPlan *p, VwLinkOpKind kind, const char *dev, const char *owner)
{
	VwLinkOp *o = g_new0(VwLinkOp, 1);

	o->kind = kind;
	o->dev = g_strdup(dev);
	o->owner = g_strdup(owner);
	o->hairpin = o->isolated = -1;
	g_ptr_array_add(p->links, o);
	return o;
}

static void op_sysctl(VwPlan *p, const char *br, const char *owner, const char *name, const char *value)
{
	VwLinkOp *o = op_new(p, VW_LOP_SYSCTL, br, owner);
	g_autofree char *path = g_strdup_printf("net/ipv6/conf/%s/%s", br, name);
	g_autofree char *dotted = g_strdelimit(g_strdup(path), "/", '.');

	o->path = g_strdup(path);
	o->value = g_strdup(value);
	o->text = g_strdup_printf("sysctl %s=%s", dotted, value);
}

/* True when libvirt (or virtwire in bridged mode) has a bridge for the
 * network, and virtwire has a say in it. */
static bool network_has_links(const VwNetwork *net)
{
	return net->vw && net->bridge && !strchr(net->bridge, '%') && vw_forward_mode_has_bridge(net->forward);
}

/* The bridge: created if missing, configured, up. */
static void op_bridge(VwPlan *p, const VwNetwork *net, const char *id, bool bridged)
{
	VwLinkOp *o = op_new(p, VW_LOP_BRIDGE, net->bridge, id);
	GString *t = g_string_new(NULL);

	/* libvirt's defaults for a bridge it creates: STP on, no delay. In
	 * bridged mode the bridge is virtwire's, and libvirt refuses stp= and
	 * delay= in <forward mode='bridge'/>: STP off, as VMware/VirtualBox
	 * bridging does. With STP on the kernel holds every port, the uplink
	 * included, in listening and learning for 2 x 2 s (its minimum forward
	 * delay), so the host would lose its LAN at every start. */
	o->stp = bridged ? false : net->stp != VW_TRI_NO;
	o->delay = net->has_delay ? net->delay : 0;
	o->mtu = net->mtu;
	o->has_mac = net->has_mac;
	o->mac = net->mac;
	g_string_append_printf(t, "bridge %s: create if missing", net->bridge);
	if (bridged) {
		o->mac_of_uplink = true;
		o->uplink = g_strdup(net->vw->uplink);
		g_string_append_printf(t, ", MAC and MTU of %s", net->vw->uplink);
	} else {
		char m[VW_MAC_STRLEN];

		if (net->has_mac)
			g_string_append_printf(t, ", MAC %s", vw_mac_to_string(&net->mac, m));
		if (net->mtu)
			g_string_append_printf(t, ", MTU %u", net->mtu);
	}
	g_string_append_printf(t, ", STP %s, forward delay %u s, up", o->stp ? "on" : "off", o->delay);
	o->text = g_string_free(t, FALSE);
}

/* Bridged mode: the bridge takes the uplink's place: MAC first (with the
 * bridge), then the uplink as its port, then its addresses and routes, so
 * the host keeps its connectivity. */
static void ops_bridged(VwPlan *p, const VwNetwork *net, const char *id)
{
	const char *br = net->bridge, *up = net->vw->uplink;
	VwLinkOp *o;

	o = op_new(p, VW_LOP_ENSLAVE, br, id);
	o->uplink = g_strdup(up);
	o->text = g_strdup_printf("port %s: enslave to %s", up, br);
	o = op_new(p, VW_LOP_MOVE_ADDRS, br, id);
	o->uplink = g_strdup(up);
	o->text = g_strdup_printf("addresses of %s: move to %s", up, br);
	o = op_new(p, VW_LOP_MOVE_ROUTES, br, id);
	o->uplink = g_strdup(up);
	o->text = g_strdup_printf("routes of %s: move to %s", up, br);
}

/* The host's addresses on the bridge (none in the internal mode, which
 * keeps the host away). */
static void ops_addresses(VwPlan *p, const VwNetwork *net, const char *id)
{
	for (guint i = 0; i < net->ips->len; i++) {
		const VwIp *ip = net->ips->pdata[i];
		g_autofree char *a = NULL;
		VwLinkOp *o;

		if (!ip->has_prefix || !vw_addr_is_set(&ip->address))
			continue;
		if (vw_network_effective_mode(net) == VW_MODE_INTERNAL && net->forward == VW_FWD_OPEN)
			continue;
		o = op_new(p, VW_LOP_ADDR, net->bridge, id);
		o->addr.addr = ip->address;
		o->addr.prefix = ip->prefix;
		a = vw_prefix_to_string(&o->addr);
		o->text = g_strdup_printf("address %s on %s", a, net->bridge);
	}
}

static void op_port_flags(VwPlan *p, const VwNetwork *net, const char *id)
{
	VwMode m = vw_network_effective_mode(net);
	int hairpin = (m == VW_MODE_NAT || m == VW_MODE_ROUTE) && vw_network_hairpin(net) ? 1 : -1;
	int isolated = net->port_isolated == VW_TRI_YES ? 1 : -1;
	VwLinkOp *o;

	if (hairpin < 0 && isolated < 0)
		return;
	o = op_new(p, VW_LOP_PORT_FLAGS, net->bridge, id);
	o->hairpin = hairpin;
	o->isolated = isolated;
	o->text = g_strdup_printf("ports of %s:%s%s", net->bridge, hairpin > 0 ? " hairpin on" : "",
				  isolated > 0 ? " isolated" : "");
}

void vw_plan_links(VwPlan *p, const VwNetwork *net, const char *id)
{
	const char *br = net->bridge;
	bool bridged = vw_network_effective_mode(net) == VW_MODE_BRIDGED;
	bool v6 = false;

	if (!network_has_links(net))
		return;
	if (bridged && !net->vw->uplink)
		return;
	op_bridge(p, net, id, bridged);
	if (bridged) {
		ops_bridged(p, net, id);
		return;
	}
	/* As libvirt sets them: no IPv6 on a network without an IPv6
	 * address; with one, no router advertisements or autoconfiguration
	 * from guests. */
	for (guint i = 0; i < net->ips->len; i++)
		v6 |= ((VwIp *)net->ips->pdata[i])->address.family == AF_INET6;
	if (!v6) {
		op_sysctl(p, br, id, "disable_ipv6", "1");
	} else {
		op_sysctl(p, br, id, "accept_ra", "0");
		op_sysctl(p, br, id, "autoconf", "0");
	}
	ops_addresses(p, net, id);
	vw_plan_span_links(p, net, id);
	op_port_flags(p, net, id);
}
