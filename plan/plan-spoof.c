/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The spoof filter: table bridge virtwire. A guest sends only from its own
 * MAC and its own addresses; a frame that claims anything else is dropped
 * where it enters the bridge (bridge prerouting, priority filter = -200),
 * before br_netfilter hands it to the inet hooks (priority 0), before
 * routing, NAT or another guest sees it, with br_netfilter or without.
 *
 * Who a guest is. libvirt names a guest's port (its tap) at the domain's
 * start: such a port is "known", and sends only from the interface's MAC,
 * from the addresses the guest owns or, where it owns none, from its
 * network's subnets and link-local addresses — never someone else's. A port
 * virtwire does not know (a guest plugged in without libvirt's hooks) is
 * held to what the network's reservations say per MAC: a reserved MAC sends
 * only from its reservations in that subnet, and nobody else sends from a
 * reserved address or one of the host's. The bridge of a frame is not
 * something this kernel's bridge family can name (meta ibrname needs
 * CONFIG_NFT_BRIDGE_META): ports are named by iifname, everything else is
 * keyed by MAC and address, which the networks' subnets keep apart.
 *
 * Cost per frame: a fixed number of lookups in hash sets and maps (the
 * bound sets are concatenated intervals), whatever the number of guests;
 * the per-network chain a known port goes to holds a rule per subnet.
 *
 * Counting: every set with counters counts the frames it drops: "spoofed"
 * per known port, "bound*" per MAC, "taken*" per address (the owner's
 * network). `virtwire status` sums them per network.
 */
#include <string.h>

#include <linux/if_ether.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter_bridge.h>

#include "plan-private.h"

#define IFNAME VW_NFT_IFNAME
#define ETHER VW_NFT_ETHER_ADDR
#define IPV4 VW_NFT_IPV4_ADDR
#define IPV6 VW_NFT_IPV6_ADDR
#define TARGET VW_NFT_ND_TARGET
#define VERDICT VW_NFT_VERDICT

static const VwSetDesc spoof_sets[] = {
	/* Known ports: to their network's chain, or accepted (the domain
	 * opted out). */
	{ "ports", VW_SET_GUESTS, { IFNAME }, { VERDICT } },
	{ "port-mac", VW_SET_GUESTS, { IFNAME, ETHER } },
	/* What a MAC owns: its reservations, its interface's <ip>, the
	 * link-local address of a known port's MAC. */
	{ "own4", VW_SET_GUESTS, { ETHER, IPV4 } },
	{ "own6", VW_SET_GUESTS, { ETHER, IPV6 } },
	{ "nd-own", VW_SET_GUESTS, { ETHER, TARGET } },
	/* MAC . subnet: a MAC that owns addresses in a subnet sends from no
	 * other address of it. */
	{ "bound4", VW_SET_GUESTS, { ETHER, IPV4 }, .interval = true, .counter = true },
	{ "bound6", VW_SET_GUESTS, { ETHER, IPV6 }, .interval = true, .counter = true },
	/* Addresses someone owns: guests', the host's, a subnet's network and
	 * broadcast addresses. */
	{ "taken4", VW_SET_GUESTS, { IPV4 }, .counter = true },
	{ "taken6", VW_SET_GUESTS, { IPV6 }, .counter = true },
	{ "nd-taken", VW_SET_GUESTS, { TARGET }, .counter = true },
	/* Frames dropped at a known port. */
	{ "spoofed", VW_SET_GUESTS, { IFNAME }, .counter = true },
};

static const VwPrefix link_local = { .addr = { .family = AF_INET6, .b = { 0xfe, 0x80 } }, .prefix = 64 };

static VwTable *bridge(VwPlan *p)
{
	return &p->tables[VW_TABLE_BRIDGE];
}

static VwSet *set_of(VwPlan *p, const char *name)
{
	VwSet *s = vw_table_find_set(bridge(p), name);

	g_assert(s);
	return s;
}

/* ---------------------------------------------------------------------- */
/* Rules */

static void lookup(VwRuleBuf *rb, int family, VwSel a, VwSel b, const VwSet *set, bool neg)
{
	VwSel key[] = { a, b };

	vw_rb_key_in(rb, family, key, b == a ? 1 : 2, set, neg);
}

static void match_u8(VwRuleBuf *rb, VwSel sel, uint8_t v)
{
	vw_rb_match(rb, sel, 0, &v, 1);
}

static void match_u16(VwRuleBuf *rb, VwSel sel, uint16_t v)
{
	uint8_t be[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	vw_rb_match(rb, sel, 0, be, 2);
}

/* "SEL 0.0.0.0" or "SEL ::". */
static void match_unspecified(VwRuleBuf *rb, VwSel sel, int family)
{
	uint8_t zero[16] = { 0 };

	vw_rb_match(rb, sel, family, zero, vw_addr_len(family));
}

/* A MAC's claim to an address (source address, ARP sender, NDP target):
 * its own address gets @own_verdict, the rest of a subnet it is bound to
 * (@bound, when there is such a set) and anybody else's are dropped. */
static void claim_rules(VwPlan *p, VwChain *c, int family, VwSel mac, VwSel addr, const char *own, const char *bound,
			const char *taken, int own_verdict)
{
	VwRuleBuf rb = vw_rb_new_bridge();

	lookup(&rb, family, mac, addr, set_of(p, own), false);
	vw_rb_commit_verdict(&rb, c, own_verdict, NULL);
	if (bound) {
		rb = vw_rb_new_bridge();
		lookup(&rb, family, mac, addr, set_of(p, bound), false);
		vw_rb_commit_verdict(&rb, c, NF_DROP, NULL);
	}
	rb = vw_rb_new_bridge();
	lookup(&rb, family, addr, addr, set_of(p, taken), false);
	vw_rb_commit_verdict(&rb, c, NF_DROP, NULL);
}

/* Frames of a known port that break a rule: counted for the port. */
static void chain_spoofed(VwPlan *p)
{
	VwChain *c = vw_plan_add_chain(bridge(p), "spoofed", NULL);
	VwRuleBuf rb = vw_rb_new_bridge();

	lookup(&rb, 0, VW_SEL_IIFNAME, VW_SEL_IIFNAME, set_of(p, "spoofed"), false);
	vw_rb_commit_verdict(&rb, c, NF_DROP, NULL);
	rb = vw_rb_new_bridge();
	vw_rb_commit_verdict(&rb, c, NF_DROP, NULL);
}

/* The claims of every frame, from any port: IPv4 sources, ARP senders,
 * IPv6 sources and NDP targets (an advertisement's, and a duplicate
 * address probe's). */
static void chains_claims(VwPlan *p)
{
	VwChain *c = vw_plan_add_chain(bridge(p), "source4", NULL);
	VwRuleBuf rb;

	claim_rules(p, c, AF_INET, VW_SEL_ETHER_SADDR, VW_SEL_SADDR, "own4", "bound4", "taken4", NF_ACCEPT);
	c = vw_plan_add_chain(bridge(p), "arp-sender", NULL);
	claim_rules(p, c, AF_INET, VW_SEL_ARP_SHA, VW_SEL_ARP_SPA, "own4", "bound4", "taken4", NF_ACCEPT);
	c = vw_plan_add_chain(bridge(p), "nd-target", NULL);
	claim_rules(p, c, AF_INET6, VW_SEL_ETHER_SADDR, VW_SEL_ND_TARGET, "nd-own", NULL, "nd-taken", NFT_RETURN);
	c = vw_plan_add_chain(bridge(p), "source6", NULL);
	rb = vw_rb_new_bridge();
	match_u8(&rb, VW_SEL_ICMPV6_TYPE, 136); /* nd-neighbor-advert */
	vw_rb_commit_verdict(&rb, c, NFT_JUMP, "nd-target");
	rb = vw_rb_new_bridge();
	match_u8(&rb, VW_SEL_ICMPV6_TYPE, 135); /* nd-neighbor-solicit */
	match_unspecified(&rb, VW_SEL_SADDR, AF_INET6);
	vw_rb_commit_verdict(&rb, c, NFT_JUMP, "nd-target");
	claim_rules(p, c, AF_INET6, VW_SEL_ETHER_SADDR, VW_SEL_SADDR, "own6", "bound6", "taken6", NF_ACCEPT);
}

/* By ether type, to the claims' chains. */
static void dispatch_claims(VwChain *c)
{
	static const struct {
		uint16_t type;
		const char *chain;
	} by_type[] = { { ETH_P_IP, "source4" }, { ETH_P_ARP, "arp-sender" }, { ETH_P_IPV6, "source6" } };

	for (size_t i = 0; i < G_N_ELEMENTS(by_type); i++) {
		VwRuleBuf rb = vw_rb_new_bridge();

		match_u16(&rb, VW_SEL_ETHER_TYPE, by_type[i].type);
		vw_rb_commit_verdict(&rb, c, NFT_JUMP, by_type[i].chain);
	}
}

/* A known port: its MAC (an ARP sender's too); no DHCP server and no
 * router among the guests; the claims; a guest without an address yet
 * (DHCP, ARP and duplicate address probes). What returns goes on to its
 * network's subnets. */
static void chain_guest(VwPlan *p)
{
	VwChain *c = vw_plan_add_chain(bridge(p), "guest", NULL);
	VwRuleBuf rb;

	for (int arp = 0; arp < 2; arp++) {
		rb = vw_rb_new_bridge();
		lookup(&rb, 0, VW_SEL_IIFNAME, arp ? VW_SEL_ARP_SHA : VW_SEL_ETHER_SADDR, set_of(p, "port-mac"), true);
		vw_rb_commit_verdict(&rb, c, NFT_JUMP, "spoofed");
	}
	for (int i = 0; i < 3; i++) {
		rb = vw_rb_new_bridge();
		if (i < 2)
			match_u16(&rb, VW_SEL_UDP_SPORT, i == 0 ? 67 : 547);
		else
			match_u8(&rb, VW_SEL_ICMPV6_TYPE, 134); /* nd-router-advert */
		vw_rb_commit_verdict(&rb, c, NFT_JUMP, "spoofed");
	}
	dispatch_claims(c);
	rb = vw_rb_new_bridge();
	match_unspecified(&rb, VW_SEL_SADDR, AF_INET);
	match_u16(&rb, VW_SEL_UDP_DPORT, 67);
	vw_rb_commit_verdict(&rb, c, NF_ACCEPT, NULL);
	rb = vw_rb_new_bridge();
	match_unspecified(&rb, VW_SEL_ARP_SPA, AF_INET);
	vw_rb_commit_verdict(&rb, c, NF_ACCEPT, NULL);
	rb = vw_rb_new_bridge();
	match_unspecified(&rb, VW_SEL_SADDR, AF_INET6);
	match_u8(&rb, VW_SEL_L4PROTO, IPPROTO_ICMPV6);
	vw_rb_commit_verdict(&rb, c, NF_ACCEPT, NULL);
}

void vw_plan_spoof_skeleton(VwPlan *p)
{
	VwChain *c;
	VwRuleBuf rb;

	for (size_t i = 0; i < G_N_ELEMENTS(spoof_sets); i++)
		vw_plan_add_set(bridge(p), &spoof_sets[i]);
	chain_spoofed(p);
	chains_claims(p);
	chain_guest(p);
	c = vw_plan_add_base_chain(bridge(p), "prerouting", VW_CHAIN_FILTER, NF_BR_PRE_ROUTING,
				   NF_BR_PRI_FILTER_BRIDGED, "filter");
	rb = vw_rb_new_bridge();
	vw_rb_key_vmap(&rb, 0, (VwSel[]){ VW_SEL_IIFNAME }, 1, set_of(p, "ports"));
	vw_rb_commit(&rb, c);
	dispatch_claims(c);
	vw_plan_span_bridge_skeleton(p);
}

/* ---------------------------------------------------------------------- */
/* Elements */

static void put_mac(VwElem *e, const VwMac *m)
{
	vw_key_put(e->key, &e->key_len, m->b, 6);
}

/* @a, and for an interval the last address of @sub, after @mac (if any). */
static void add_addr(VwPlan *p, const char *set, const VwMac *mac, const VwAddr *a, const VwPrefix *sub,
		     const char *owner)
{
	VwElem *e = vw_elem_new(owner);

	if (mac)
		put_mac(e, mac);
	vw_key_put_addr(e->key, &e->key_len, a);
	if (sub) {
		VwAddr last = vw_addr_broadcast(&sub->addr, sub->prefix);

		if (mac)
			vw_key_put(e->key_end, &e->key_end_len, mac->b, 6);
		vw_key_put_addr(e->key_end, &e->key_end_len, &last);
	}
	vw_set_add(set_of(p, set), e);
}

/* An address nobody but its owner sends from. */
static void add_taken(VwPlan *p, const VwAddr *a, const char *owner)
{
	bool v6 = a->family == AF_INET6;

	add_addr(p, v6 ? "taken6" : "taken4", NULL, a, NULL, owner);
	if (v6)
		add_addr(p, "nd-taken", NULL, a, NULL, owner);
}

/* @a is @mac's own, and nobody else's; with @sub, @mac sends from no
 * other address of @sub. */
static void add_owned(VwPlan *p, const VwMac *mac, const VwAddr *a, const VwPrefix *sub, const char *owner)
{
	bool v6 = a->family == AF_INET6;

	add_addr(p, v6 ? "own6" : "own4", mac, a, NULL, owner);
	if (v6)
		add_addr(p, "nd-own", mac, a, NULL, owner);
	add_taken(p, a, owner);
	if (sub) {
		VwAddr first = vw_addr_network(&sub->addr, sub->prefix);

		add_addr(p, v6 ? "bound6" : "bound4", mac, &first, sub, owner);
	}
}

/* The link-local address a MAC makes (modified EUI-64). */
static VwAddr mac_link_local(const VwMac *m)
{
	VwAddr a = link_local.addr;

	a.b[8] = m->b[0] ^ 2;
	a.b[9] = m->b[1];
	a.b[10] = m->b[2];
	a.b[11] = 0xff;
	a.b[12] = 0xfe;
	a.b[13] = m->b[3];
	a.b[14] = m->b[4];
	a.b[15] = m->b[5];
	return a;
}

/* The host's addresses, each subnet's network and broadcast (IPv4), the
 * bridge's link-local (when the XML gives its MAC), and the reservations. */
static void network_addresses(VwPlan *p, const VwNetwork *net, const char *id)
{
	for (guint i = 0; i < net->ips->len; i++) {
		const VwIp *ip = net->ips->pdata[i];
		VwPrefix sub = { ip->address, ip->prefix };

		if (!vw_addr_is_set(&ip->address))
			continue;
		add_taken(p, &ip->address, id);
		if (ip->has_prefix && ip->address.family == AF_INET && ip->prefix <= 30) {
			VwAddr net_addr = vw_addr_network(&sub.addr, sub.prefix);
			VwAddr bcast = vw_addr_broadcast(&sub.addr, sub.prefix);

			add_taken(p, &net_addr, id);
			add_taken(p, &bcast, id);
		}
		for (guint j = 0; j < ip->hosts->len; j++) {
			const VwDhcpHost *h = ip->hosts->pdata[j];

			if (h->has_mac && vw_addr_is_set(&h->ip))
				add_owned(p, &h->mac, &h->ip, ip->has_prefix ? &sub : NULL, id);
		}
	}
	if (net->has_mac) {
		VwAddr ll = mac_link_local(&net->mac);

		add_taken(p, &ll, id);
	}
}

/* A known port's network: the guest's claims, then its subnets. */
void vw_plan_spoof_network(VwPlan *p, const VwNetwork *net, const char *id)
{
	g_autofree char *name = g_strdup_printf("nw-%s-guest", id);
	VwChain *c = vw_plan_add_chain(bridge(p), name, id);
	VwRuleBuf rb = vw_rb_new_bridge();

	vw_rb_commit_verdict(&rb, c, NFT_JUMP, "guest");
	for (guint i = 0; i < net->ips->len; i++) {
		const VwIp *ip = net->ips->pdata[i];
		VwPrefix sub = { ip->address, ip->prefix };

		if (!ip->has_prefix || !vw_addr_is_set(&ip->address))
			continue;
		for (int arp = 0; arp < (sub.addr.family == AF_INET ? 2 : 1); arp++) {
			rb = vw_rb_new_bridge();
			vw_rb_prefix_of(&rb, arp ? VW_SEL_ARP_SPA : VW_SEL_SADDR, &sub);
			vw_rb_commit_verdict(&rb, c, NF_ACCEPT, NULL);
		}
	}
	rb = vw_rb_new_bridge();
	vw_rb_prefix_of(&rb, VW_SEL_SADDR, &link_local);
	vw_rb_commit_verdict(&rb, c, NF_ACCEPT, NULL);
	rb = vw_rb_new_bridge();
	vw_rb_commit_verdict(&rb, c, NFT_JUMP, "spoofed");
	network_addresses(p, net, id);
}

/* The domain's interface that is the port: on @net, with the port's MAC. */
static const VwInterface *port_interface(const VwPlanDomain *pd, const VwNetwork *net)
{
	for (guint i = 0; i < pd->domain->interfaces->len; i++) {
		const VwInterface *iface = pd->domain->interfaces->pdata[i];

		if (g_strcmp0(iface->source_network, net->name) != 0)
			continue;
		if (pd->has_mac ? iface->has_mac && vw_mac_equal(&iface->mac, &pd->mac) : iface->has_mac)
			return iface;
	}
	return NULL;
}

static void add_port(VwPlan *p, const char *tap, const VwMac *mac, const char *chain, const char *owner)
{
	VwElem *e = vw_elem_new(owner);

	vw_key_ifname(e, tap);
	e->has_verdict = true;
	e->verdict = chain ? NFT_GOTO : NF_ACCEPT;
	e->chain = g_strdup(chain);
	vw_set_add(set_of(p, "ports"), e);
	if (!chain)
		return;
	e = vw_elem_new(owner);
	vw_key_ifname(e, tap);
	put_mac(e, mac);
	vw_set_add(set_of(p, "port-mac"), e);
	e = vw_elem_new(owner);
	vw_key_ifname(e, tap);
	vw_set_add(set_of(p, "spoofed"), e);
}

void vw_plan_spoof_port(VwPlan *p, const VwNetwork *net, const char *id, const char *owner, const VwPlanDomain *pd)
{
	const VwInterface *iface = port_interface(pd, net);
	g_autofree char *chain = g_strdup_printf("nw-%s-guest", id);
	VwAddr ll;

	if (!iface)
		return;
	if (vw_domain_spoof_filter_off(pd->domain, net)) {
		if (iface->target_dev)
			add_port(p, iface->target_dev, &iface->mac, NULL, owner);
		return;
	}
	ll = mac_link_local(&iface->mac);
	add_owned(p, &iface->mac, &ll, NULL, owner);
	for (guint i = 0; iface->ips && i < iface->ips->len; i++) {
		const VwPrefix *a = iface->ips->pdata[i];
		const VwIp *ip = vw_network_find_ip(net, &a->addr);
		VwPrefix sub = ip ? (VwPrefix){ ip->address, ip->prefix } : *a;

		add_owned(p, &iface->mac, &a->addr, sub.prefix ? &sub : NULL, owner);
	}
	if (iface->target_dev)
		add_port(p, iface->target_dev, &iface->mac, chain, owner);
}
