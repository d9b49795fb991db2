/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A network that spans hosts (<vw:span>): its VNI, underlay and peers, the
 * modes that can span (nat and route with the gateway's MAC given), DHCP by
 * reservations only, the room the VXLAN header needs in the MTU, and one
 * VNI per network among networks given together. What only the host knows
 * (the underlay's address and MTU) is checked at apply.
 */
#include "check-private.h"

/* The usual MTU of an underlay: an explicit <mtu> above it less the header
 * needs a larger one, which only apply can see. */
#define USUAL_UNDERLAY_MTU 1500

static void check_mode(const VwNetwork *net, const VwSpan *s, VwDiags *d)
{
	switch (vw_network_effective_mode(net)) {
	case VW_MODE_INTERNAL:
	case VW_MODE_HOST_ONLY:
		break;
	case VW_MODE_NAT:
	case VW_MODE_ROUTE:
		/* The distributed anycast gateway: each host's bridge answers
		 * for the gateway with one MAC, so a guest's neighbour entry
		 * holds on every host (after a move too). */
		if (!net->has_mac)
			E(d, s->loc, "span-gateway-mac",
			  "add <mac address='52:54:00:…'/> to the network, the same on every host (virsh net-dumpxml "
			  "shows the one libvirt chose)",
			  "network '%s': a spanning %s network's gateway has the same MAC on every host, and the XML "
			  "gives none",
			  net->name, vw_mode_to_string(vw_network_effective_mode(net)));
		break;
	case VW_MODE_BRIDGED:
		E(d, s->loc, "span-mode", "a bridged network's guests are on the uplink's LAN already: drop <vw:span>",
		  "network '%s': a bridged network cannot span hosts over VXLAN", net->name);
		break;
	case VW_MODE_UNSET:
	case VW_MODE__COUNT:
		E(d, s->loc, "span-mode", "add mode='internal', 'host-only', 'nat' or 'route' to <vw:network>",
		  "network '%s': <vw:span> needs a virtwire mode", net->name);
		break;
	}
	if (!net->bridge || strchr(net->bridge, '%'))
		E(d, s->loc, "span-bridge", "name the bridge: <bridge name='virbr-span'/>, the same on every host",
		  "network '%s': a spanning network needs a bridge name of its own (the VXLAN device is its port)",
		  net->name);
	else if (s->underlay && strcmp(s->underlay, net->bridge) == 0)
		E(d, s->loc, "span-underlay", "the underlay is the host's interface towards the other hosts",
		  "network '%s': underlay='%s' is the network's own bridge", net->name, s->underlay);
}

static guint addr_hash(gconstpointer a)
{
	return vw_addr_hash(a);
}

static gboolean addr_equal(gconstpointer a, gconstpointer b)
{
	return vw_addr_equal(a, b);
}

static void check_peers(const VwNetwork *net, const VwSpan *s, VwDiags *d)
{
	g_autoptr(GHashTable) seen = g_hash_table_new(addr_hash, addr_equal);
	int family = vw_span_family(s);
	char a[VW_ADDR_STRLEN];

	if (s->control == VW_SPAN_EVPN) {
		if (s->peers->len)
			E(d, s->loc, "span-evpn-peers", "drop the <vw:peer> elements: BGP EVPN finds the other hosts",
			  "network '%s': control='evpn' takes no <vw:peer>", net->name);
		if (family == AF_INET6)
			E(d, s->loc, "span-evpn-ipv6",
			  "span an IPv6 underlay with control='static'; EVPN needs the underlay's IPv4 address",
			  "network '%s': control='evpn' runs over IPv4 only: FRR 8.4's zebra has no IPv6 VTEPs",
			  net->name);
		return;
	}
	if (!s->peers->len)
		E(d, s->loc, "span-no-peers",
		  "list every host's underlay address, this host's too: <vw:peer address='…'/>",
		  "network '%s': <vw:span control='static'> has no <vw:peer>", net->name);
	for (guint i = 0; i < s->peers->len; i++) {
		const VwPeer *p = s->peers->pdata[i];

		vw_addr_to_string(&p->address, a);
		if (p->address.family != family)
			E(d, p->loc, "span-peer-family",
			  "the underlay is one family: every peer IPv4, or every peer IPv6",
			  "network '%s': peer %s is %s, the first peer %s", net->name, a,
			  vw_chk_fam_name(p->address.family), vw_chk_fam_name(family));
		else if (g_hash_table_contains(seen, &p->address))
			E(d, p->loc, "span-peer-duplicate", "list each host once",
			  "network '%s': peer %s is listed twice", net->name, a);
		else if (vw_addr_is_loopback(&p->address) || p->address.b[0] == 0xff ||
			 (family == AF_INET && p->address.b[0] >= 224))
			E(d, p->loc, "span-peer-address", "a peer is a host's unicast address on the underlay",
			  "network '%s': peer %s is not a unicast address", net->name, a);
		g_hash_table_add(seen, (gpointer)&p->address);
	}
}

static void check_mtu(const VwNetwork *net, const VwSpan *s, VwDiags *d)
{
	unsigned over = vw_span_overhead(vw_span_family(s));
	g_autofree char *hint = NULL;

	if (!net->mtu || net->mtu + over <= USUAL_UNDERLAY_MTU)
		return;
	hint = g_strdup_printf("apply refuses it on an underlay with an MTU under %u; <mtu size='%u'/> fits a "
			       "%u-byte underlay",
			       net->mtu + over, USUAL_UNDERLAY_MTU - over, USUAL_UNDERLAY_MTU);
	W(d, s->loc, "span-mtu", hint,
	  "network '%s': <mtu size='%u'/> leaves room for the %u-byte VXLAN header only on an underlay with an MTU of "
	  "%u or more",
	  net->name, net->mtu, over, net->mtu + over);
}

/* DHCP across hosts: every host's dnsmasq serves the same XML to its own
 * guests only (the overlay carries no DHCP), so only reservations are
 * handed out: one address per MAC whichever host answers. A range would
 * let two hosts lease one address to two guests. */
static void check_dhcp(const VwNetwork *net, VwDiags *d)
{
	for (guint i = 0; i < net->ips->len; i++) {
		const VwIp *ip = net->ips->pdata[i];

		for (guint j = 0; ip->ranges && j < ip->ranges->len; j++) {
			const VwDhcpRange *r = ip->ranges->pdata[j];
			char a[VW_ADDR_STRLEN], b[VW_ADDR_STRLEN];

			E(d, r->loc, "span-dhcp-range",
			  "give each guest a reservation, <host mac='…' ip='…'/>: every host hands out the same "
			  "address for a MAC",
			  "network '%s': DHCP range %s-%s in a spanning network: each host answers its own guests "
			  "from the range, so two hosts could lease one address",
			  net->name, vw_addr_to_string(&r->start, a), vw_addr_to_string(&r->end, b));
		}
	}
}

void vw_chk_span(const VwNetwork *net, VwDiags *d)
{
	const VwSpan *s = net->vw ? net->vw->span : NULL;

	if (!s)
		return;
	if (!s->underlay)
		E(d, s->loc, "missing-attribute",
		  "add underlay='IFACE', the interface whose address is this host's "
		  "tunnel endpoint",
		  "network '%s': <vw:span> has no underlay=", net->name);
	check_mode(net, s, d);
	check_peers(net, s, d);
	check_mtu(net, s, d);
	check_dhcp(net, d);
}

void vw_chk_span_together(GPtrArray *networks, VwDiags *d)
{
	g_autoptr(GHashTable) vnis = g_hash_table_new(NULL, NULL);

	for (guint i = 0; i < networks->len; i++) {
		const VwNetwork *n = networks->pdata[i];
		const VwSpan *s = n->vw ? n->vw->span : NULL;
		const VwNetwork *other;

		if (!s || !s->vni)
			continue;
		other = g_hash_table_lookup(vnis, GUINT_TO_POINTER(s->vni));
		if (!other) {
			g_hash_table_insert(vnis, GUINT_TO_POINTER(s->vni), (gpointer)n);
			continue;
		}
		E(d, s->loc, "span-vni-collision", "give each spanning network a VNI of its own",
		  "network '%s': VNI %u is taken by network '%s' (%s:%d)", n->name, s->vni, other->name,
		  other->vw->span->loc.file, other->vw->span->loc.line);
	}
}
