/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Spanning networks (<vw:span>, docs/spanning.md): one L2 segment over
 * VXLAN. Each host of the network has a VXLAN device "vw<VNI>" on its
 * bridge, whose forwarding database sends broadcast, unknown unicast and
 * multicast to every peer (head-end replication: an all-zeros MAC entry
 * per peer) and learns the remote guests' MACs from their traffic.
 *
 * The underlay admits VXLAN for a spanning network only from its peers:
 * table inet virtwire's input chain accepts (and marks) a packet whose
 * source, UDP port and VNI are one of a network's peers, and drops any
 * other to a network's port and VNI. The sets are keyed by the VNI too, so
 * each network's elements are its own, networks with the same peers do not
 * share one, and a peer of one network cannot inject into another.
 *
 * Each host answers its own guests: what the host itself sends on a
 * spanning network's bridge (ARP and ND answers for its address, DHCP,
 * router advertisements, its own ARP and ND) never leaves through the
 * VXLAN port (table bridge virtwire, hook output), so a guest only ever
 * learns its own host's bridge for the network's address, and the hosts'
 * bridges, which share that address, never see each other. In nat and
 * route that is the distributed anycast gateway: the same address and MAC
 * on every host. What comes off the overlay claiming the gateway (its MAC,
 * an ARP sender or source address of it) is dropped before the bridge
 * learns it (hook prerouting), and DHCP never crosses a VXLAN port either
 * way: each host's dnsmasq answers its own guests from the reservations.
 */
#include <string.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter_bridge.h>

#include "plan-private.h"

static const VwSetDesc span_sets[] = {
	{ "span4", VW_SET_SPAN, { VW_NFT_IPV4_SADDR, VW_NFT_UDP_DPORT, VW_NFT_VXLAN_VNI } },
	{ "span6", VW_SET_SPAN, { VW_NFT_IPV6_SADDR, VW_NFT_UDP_DPORT, VW_NFT_VXLAN_VNI } },
	{ "span-vni", VW_SET_SPAN, { VW_NFT_UDP_DPORT, VW_NFT_VXLAN_VNI } },
};

void vw_plan_span_skeleton(VwPlan *p)
{
	VwTable *t = &p->tables[VW_TABLE_INET];
	VwChain *input = vw_table_find_chain(t, "input");
	static const VwSel peer_key[] = { VW_SEL_SADDR, VW_SEL_UDP_DPORT, VW_SEL_VXLAN_VNI };
	static const VwSel vni_key[] = { VW_SEL_UDP_DPORT, VW_SEL_VXLAN_VNI };
	VwRuleBuf rb;

	g_assert(input);
	for (size_t i = 0; i < G_N_ELEMENTS(span_sets); i++)
		vw_plan_add_set(t, &span_sets[i]);
	/* Marked: a host firewall that accepts virtwire's connections by the
	 * mark (docs/real-host.md) admits the overlay too. */
	for (int fam = AF_INET; fam; fam = fam == AF_INET ? AF_INET6 : 0) {
		rb = vw_rb_new();
		vw_rb_key_in(&rb, fam, peer_key, G_N_ELEMENTS(peer_key),
			     vw_table_find_set(t, fam == AF_INET ? "span4" : "span6"), false);
		vw_rb_ct_mark_or(&rb, VW_CT_MARK);
		vw_rb_commit_verdict(&rb, input, NF_ACCEPT, NULL);
	}
	/* Anyone else sending to a spanning network's VXLAN port and VNI. The
	 * counter is what `virtwire status` shows as dropped. */
	rb = vw_rb_new();
	vw_rb_key_in(&rb, 0, vni_key, G_N_ELEMENTS(vni_key), vw_table_find_set(t, "span-vni"), false);
	vw_rb_counter(&rb);
	vw_rb_commit_verdict(&rb, input, NF_DROP, NULL);
}

/* Of table bridge virtwire, keyed by a VXLAN port: the network's gateway
 * (its bridge's MAC and addresses, the same on every host), and the DHCP
 * and DHCPv6 ports, which never cross the overlay. */
static const VwSetDesc span_bridge_sets[] = {
	{ "span-ports", VW_SET_INTERFACES, { VW_NFT_IFNAME } },
	{ "span-gw-mac", VW_SET_SPAN, { VW_NFT_IFNAME, VW_NFT_ETHER_ADDR } },
	{ "span-gw4", VW_SET_SPAN, { VW_NFT_IFNAME, VW_NFT_IPV4_ADDR } },
	{ "span-gw6", VW_SET_SPAN, { VW_NFT_IFNAME, VW_NFT_IPV6_ADDR } },
	{ "span-dhcp", VW_SET_SPAN, { VW_NFT_IFNAME, VW_NFT_INET_SERVICE } },
};

/* A counted drop of what @ifsel . @key finds in @set: what comes off or goes
 * on to the overlay against the rules, which status and the tests see. */
static void bridge_drop(VwTable *t, VwChain *c, VwSel ifsel, VwSel key, int family, const char *set)
{
	VwSel k[] = { ifsel, key };
	VwRuleBuf rb = vw_rb_new_bridge();

	vw_rb_key_in(&rb, family, k, G_N_ELEMENTS(k), vw_table_find_set(t, set), false);
	vw_rb_counter(&rb);
	vw_rb_commit_verdict(&rb, c, NF_DROP, NULL);
}

void vw_plan_span_bridge_skeleton(VwPlan *p)
{
	VwTable *t = &p->tables[VW_TABLE_BRIDGE];
	VwChain *c;
	VwRuleBuf rb;

	for (size_t i = 0; i < G_N_ELEMENTS(span_bridge_sets); i++)
		vw_plan_add_set(t, &span_bridge_sets[i]);
	/* The host's own frames. Not counted: the host sends some all the
	 * time (neighbour discovery, MLD), and a count of them says nothing. */
	c = vw_plan_add_base_chain(t, "span-out", VW_CHAIN_FILTER, NF_BR_LOCAL_OUT, NF_BR_PRI_FILTER_BRIDGED, "filter");
	rb = vw_rb_new_bridge();
	vw_rb_ifname_in(&rb, true, vw_table_find_set(t, "span-ports"));
	vw_rb_commit_verdict(&rb, c, NF_DROP, NULL);
	/* From the overlay, before the bridge learns the source: another
	 * host's gateway (its MAC, its ARP and its addresses) is never learned
	 * on the VXLAN port nor heard by a guest, and no DHCP crosses. */
	c = vw_plan_add_base_chain(t, "span-in", VW_CHAIN_FILTER, NF_BR_PRE_ROUTING, NF_BR_PRI_FILTER_BRIDGED,
				   "filter");
	bridge_drop(t, c, VW_SEL_IIFNAME, VW_SEL_ETHER_SADDR, 0, "span-gw-mac");
	bridge_drop(t, c, VW_SEL_IIFNAME, VW_SEL_ARP_SPA, AF_INET, "span-gw4");
	bridge_drop(t, c, VW_SEL_IIFNAME, VW_SEL_SADDR, AF_INET, "span-gw4");
	bridge_drop(t, c, VW_SEL_IIFNAME, VW_SEL_SADDR, AF_INET6, "span-gw6");
	bridge_drop(t, c, VW_SEL_IIFNAME, VW_SEL_UDP_DPORT, 0, "span-dhcp");
	/* A guest's DHCP towards the overlay. */
	c = vw_plan_add_base_chain(t, "span-fwd", VW_CHAIN_FILTER, NF_BR_FORWARD, NF_BR_PRI_FILTER_BRIDGED, "filter");
	bridge_drop(t, c, VW_SEL_OIFNAME, VW_SEL_UDP_DPORT, 0, "span-dhcp");
}

static const VwSpan *span_of(const VwNetwork *net)
{
	const VwSpan *s = net->vw ? net->vw->span : NULL;

	/* The checker has refused what cannot be realised; the planner skips
	 * it the same. */
	if (!s || !s->vni || !s->underlay || !net->bridge || strchr(net->bridge, '%') ||
	    (s->control == VW_SPAN_EVPN && s->peers->len))
		return NULL;
	return s;
}

static void put_vni(VwElem *e, guint32 vni)
{
	uint8_t b[3] = { (uint8_t)(vni >> 16), (uint8_t)(vni >> 8), (uint8_t)vni };

	vw_key_put(e->key, &e->key_len, b, sizeof(b));
}

/* A peer's element: VXLAN from @addr to the span's port and VNI is let in. */
static void add_peer(VwTable *t, const char *id, const VwSpan *s, const VwAddr *addr)
{
	VwElem *e = vw_elem_new(id);

	vw_key_put_addr(e->key, &e->key_len, addr);
	vw_key_put_port(e->key, &e->key_len, s->port);
	put_vni(e, s->vni);
	/* A peer listed twice (the checker says so) is one element. */
	vw_set_add(vw_table_find_set(t, addr->family == AF_INET6 ? "span6" : "span4"), e);
}

/* The VXLAN port @dev's elements in table bridge virtwire: the gateway's
 * MAC (when the XML gives it: the same on every host) and addresses, and
 * the DHCP ports. */
static void span_bridge_elements(VwTable *t, const VwNetwork *net, const char *dev, const char *id)
{
	static const uint16_t dhcp_ports[] = { 67, 68, 546, 547 };
	VwElem *e;

	if (net->has_mac) {
		e = vw_elem_new(id);
		vw_key_ifname(e, dev);
		vw_key_put(e->key, &e->key_len, net->mac.b, sizeof(net->mac.b));
		vw_set_add(vw_table_find_set(t, "span-gw-mac"), e);
	}
	/* The addresses the host holds on the bridge (plan-link.c): an
	 * internal network's is not the host's, and a guest may use it. */
	for (guint i = 0; i < net->ips->len; i++) {
		const VwIp *ip = net->ips->pdata[i];

		if (!vw_addr_is_set(&ip->address) ||
		    (vw_network_effective_mode(net) == VW_MODE_INTERNAL && net->forward == VW_FWD_OPEN))
			continue;
		e = vw_elem_new(id);
		vw_key_ifname(e, dev);
		vw_key_put_addr(e->key, &e->key_len, &ip->address);
		vw_set_add(vw_table_find_set(t, ip->address.family == AF_INET6 ? "span-gw6" : "span-gw4"), e);
	}
	for (size_t i = 0; i < G_N_ELEMENTS(dhcp_ports); i++) {
		e = vw_elem_new(id);
		vw_key_ifname(e, dev);
		vw_key_put_port(e->key, &e->key_len, dhcp_ports[i]);
		vw_set_add(vw_table_find_set(t, "span-dhcp"), e);
	}
}

void vw_plan_span_elements(VwPlan *p, const VwNetwork *net, const char *id, VwDiags *diags)
{
	const VwSpan *s = span_of(net);
	VwTable *t = &p->tables[VW_TABLE_INET];
	g_autofree char *dev = NULL;
	VwElem *e;

	if (!s || !vw_plan_has_tables(p))
		return;
	dev = vw_span_device(s);
	e = vw_elem_new(id);
	vw_key_ifname(e, dev);
	vw_set_add(vw_table_find_set(&p->tables[VW_TABLE_BRIDGE], "span-ports"), e);
	span_bridge_elements(&p->tables[VW_TABLE_BRIDGE], net, dev, id);
	e = vw_elem_new(id);
	vw_key_put_port(e->key, &e->key_len, s->port);
	put_vni(e, s->vni);
	/* The checker says so first, naming both; the planner guards what
	 * reaches the kernel. */
	if (!vw_set_add(vw_table_find_set(t, "span-vni"), e)) {
		vw_error(diags, s->loc, "span-vni-collision", "give each spanning network a VNI of its own",
			 "network '%s': VNI %u on UDP port %u is another network's too", net->name, s->vni, s->port);
		return;
	}
	for (guint i = 0; i < s->peers->len; i++)
		add_peer(t, id, s, &((const VwPeer *)s->peers->pdata[i])->address);
	vw_plan_evpn_elements(t, id, s, add_peer);
}

static VwLinkOp *op_new(VwPlan *p, VwLinkOpKind kind, const VwNetwork *net, const VwSpan *s, const char *id)
{
	VwLinkOp *o = g_new0(VwLinkOp, 1);

	o->kind = kind;
	o->dev = vw_span_device(s);
	o->uplink = g_strdup(s->underlay);
	o->master = g_strdup(net->bridge);
	o->owner = g_strdup(id);
	o->vni = s->vni;
	o->port = s->port;
	o->family = vw_span_family(s);
	o->hairpin = o->isolated = -1;
	g_ptr_array_add(p->links, o);
	return o;
}

void vw_plan_span_links(VwPlan *p, const VwNetwork *net, const char *id)
{
	const VwSpan *s = span_of(net);
	unsigned over;
	VwLinkOp *o;

	if (!s)
		return;
	over = vw_span_overhead(vw_span_family(s));
	o = op_new(p, VW_LOP_VXLAN, net, s, id);
	if (s->control == VW_SPAN_EVPN) {
		vw_plan_evpn_link(o, net, s, over);
		return;
	}
	/* Static control: the remote guests' MACs are learned from what
	 * arrives from each peer, as a bridge learns. */
	o->learning = true;
	o->mtu = net->mtu;
	/* Isolated ports: the remote guests are as isolated as the local ones. */
	o->isolated = net->port_isolated == VW_TRI_YES ? 1 : -1;
	if (net->mtu)
		o->text = g_strdup_printf(
			"vxlan %s: create if missing, VNI %u, UDP port %u, local address of %s, learning "
			"on, MTU %u (%s needs an MTU of %u or more), port of %s%s, up",
			o->dev, s->vni, s->port, s->underlay, net->mtu, s->underlay, net->mtu + over, net->bridge,
			o->isolated > 0 ? " (isolated)" : "");
	else
		o->text = g_strdup_printf(
			"vxlan %s: create if missing, VNI %u, UDP port %u, local address of %s, learning "
			"on, MTU of %s less %u (%s's too), port of %s%s, up",
			o->dev, s->vni, s->port, s->underlay, s->underlay, over, net->bridge, net->bridge,
			o->isolated > 0 ? " (isolated)" : "");
	for (guint i = 0; i < s->peers->len; i++) {
		const VwPeer *peer = s->peers->pdata[i];
		char a[VW_ADDR_STRLEN];

		o = op_new(p, VW_LOP_FDB, net, s, id);
		o->peer = peer->address;
		o->text = g_strdup_printf("fdb %s: 00:00:00:00:00:00 dst %s (unless it is %s's own address)", o->dev,
					  vw_addr_to_string(&peer->address, a), s->underlay);
	}
}
