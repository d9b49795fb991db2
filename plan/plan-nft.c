/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The planner: networks (and domain forwards) → the content of table inet
 * virtwire. Pure: no files, no sockets.
 *
 * Layout. A constant skeleton of sets, maps and base chains dispatches every
 * packet in a fixed number of lookups, whatever the number of networks or
 * forwards: interfaces through verdict maps to the chains of their network,
 * port forwards through maps keyed by protocol, address and port. Each
 * network adds elements (tagged with its name as the element comment) and a
 * few chains of its own (nw-NAME-*), so networks come and go without
 * touching one another.
 *
 * Connections virtwire admits get VW_CT_MARK in their conntrack mark, so a
 * host firewall with a drop policy can accept them with one rule.
 */
#include <string.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>


#include "plan-private.h"

/* nftables datatype ids, as in nft's datatype.h. */
enum {
	T_IPADDR = 7,
	T_IP6ADDR = 8,
	T_INET_PROTOCOL = 12,
	T_INET_SERVICE = 13,
	T_IFNAME = 41,
};
#define CONCAT2(a, b) (((a) << 6) | (b))
#define CONCAT3(a, b, c) (((((a) << 6) | (b)) << 6) | (c))
#define CONCAT4(a, b, c, d) (((((((a) << 6) | (b)) << 6) | (c)) << 6) | (d))

/* The user data nft stores with each kind of set (key byte order, data byte
 * order, concatenation info). With it, nft lists the sets exactly as virtwire
 * prints them. */
static const uint8_t UD_IFNAME_SET[] = { 0x00, 0x04, 0x01, 0, 0, 0 };
static const uint8_t UD_ADDR_SET[] = { 0x00, 0x04, 0x02, 0, 0, 0 };
static const uint8_t UD_IFNAME_VMAP[] = { 0x00, 0x04, 0x01, 0, 0, 0, 0x01, 0x04, 0, 0, 0, 0, 0x06, 0x04, 0, 0, 0, 0 };
static const uint8_t UD_ADDR_VMAP[] = { 0x00, 0x04, 0x02, 0, 0, 0, 0x01, 0x04, 0, 0, 0, 0, 0x06, 0x04, 0, 0, 0, 0 };
static const uint8_t UD_CONCAT_SET[] = { 0x00, 0x04, 0, 0, 0, 0, 0x03, 0x08, 0x00, 0x04, 0x0d, 0, 0, 0, 0x01, 0x00 };
static const uint8_t UD_CONCAT_MAP[] = { 0x00, 0x04, 0, 0, 0, 0, 0x01, 0x04, 0, 0, 0, 0,
					 0x03, 0x08, 0x00, 0x04, 0x0d, 0, 0, 0, 0x01, 0x00,
					 0x04, 0x08, 0x00, 0x04, 0x0d, 0, 0, 0, 0x01, 0x00,
					 0x06, 0x04, 0, 0, 0, 0 };

#define SET(p, name, text, kt, kl, fl, ud, pl) vw_plan_add_set((p), (name), (text), (kt), (kl), (fl), (ud), sizeof(ud), (pl))

typedef struct {
	VwPlan *plan;
	VwDiags *diags;
	GHashTable *elem_count; /* owner → guint elements planned */
} Planner;

/* ---------------------------------------------------------------------- */
/* The skeleton */

static void plan_sets(VwPlan *p)
{
	static const uint8_t c4[] = { 1, 4, 2, 4 }, c4any[] = { 1, 2, 4 };
	static const uint8_t c6[] = { 1, 16, 2, 16 }, c6any[] = { 1, 2, 16 };
	const char *fwd4_type = "inet_proto . ipv4_addr . inet_service : ipv4_addr . inet_service";
	const char *fwd4any_type = "inet_proto . inet_service : ipv4_addr . inet_service";
	const char *fwd6_type = "inet_proto . ipv6_addr . inet_service : ipv6_addr . inet_service";
	const char *fwd6any_type = "inet_proto . inet_service : ipv6_addr . inet_service";
	VwSet *s;

	/* Interfaces by role. */
	SET(p, "bridges", "ifname", T_IFNAME, 16, 0, UD_IFNAME_SET, 1);
	SET(p, "closed", "ifname", T_IFNAME, 16, 0, UD_IFNAME_SET, 1);
	SET(p, "served", "ifname", T_IFNAME, 16, 0, UD_IFNAME_SET, 1);
	SET(p, "localnet", "ifname", T_IFNAME, 16, 0, UD_IFNAME_SET, 1);
	/* "BR" . "BR": guests of one bridge talking to each other, which the
	 * forward hook sees when the host has br_netfilter enabled. */
	SET(p, "intra", "ifname . ifname", CONCAT2(T_IFNAME, T_IFNAME), 32, 0, UD_CONCAT_SET, 1);
	s = SET(p, "egress", "ifname : verdict", T_IFNAME, 16, 0, UD_IFNAME_VMAP, 1);
	vw_set_make_map(s, NFT_DATA_VERDICT, 16);
	s = SET(p, "ingress", "ifname : verdict", T_IFNAME, 16, 0, UD_IFNAME_VMAP, 1);
	vw_set_make_map(s, NFT_DATA_VERDICT, 16);
	s = SET(p, "snat4", "ipv4_addr : verdict", T_IPADDR, 4, NFT_SET_INTERVAL, UD_ADDR_VMAP, 2);
	vw_set_make_map(s, NFT_DATA_VERDICT, 16);
	s = SET(p, "snat6", "ipv6_addr : verdict", T_IP6ADDR, 16, NFT_SET_INTERVAL, UD_ADDR_VMAP, 2);
	vw_set_make_map(s, NFT_DATA_VERDICT, 16);
	/* The host's own addresses on guest networks. */
	SET(p, "gw4", "ipv4_addr", T_IPADDR, 4, 0, UD_ADDR_SET, 2);
	SET(p, "gw6", "ipv6_addr", T_IP6ADDR, 16, 0, UD_ADDR_SET, 2);
	/* What guests may ask the host for in every mode with a host address. */
	SET(p, "host-services", "inet_proto . inet_service", CONCAT2(T_INET_PROTOCOL, T_INET_SERVICE), 8, 0,
	    UD_CONCAT_SET, 1);

	/* Port forwards, IPv4: on one address, on any address, on 127.0.0.0/8;
	 * the keys that have an allow-list, and the allow-lists. */
	s = SET(p, "fwd4", fwd4_type, CONCAT3(T_INET_PROTOCOL, T_IPADDR, T_INET_SERVICE), 12, 0, UD_CONCAT_MAP, 1);
	vw_set_make_map(s, CONCAT2(T_IPADDR, T_INET_SERVICE), 8);
	s = SET(p, "fwd4any", fwd4any_type, CONCAT2(T_INET_PROTOCOL, T_INET_SERVICE), 8, 0, UD_CONCAT_MAP, 1);
	vw_set_make_map(s, CONCAT2(T_IPADDR, T_INET_SERVICE), 8);
	s = SET(p, "fwd4lo", fwd4any_type, CONCAT2(T_INET_PROTOCOL, T_INET_SERVICE), 8, 0, UD_CONCAT_MAP, 1);
	vw_set_make_map(s, CONCAT2(T_IPADDR, T_INET_SERVICE), 8);
	SET(p, "fwd4src", "inet_proto . ipv4_addr . inet_service", CONCAT3(T_INET_PROTOCOL, T_IPADDR, T_INET_SERVICE),
	    12, 0, UD_CONCAT_SET, 1);
	SET(p, "fwd4anysrc", "inet_proto . inet_service", CONCAT2(T_INET_PROTOCOL, T_INET_SERVICE), 8, 0,
	    UD_CONCAT_SET, 1);
	s = SET(p, "fwd4allow", "inet_proto . ipv4_addr . inet_service . ipv4_addr",
		CONCAT4(T_INET_PROTOCOL, T_IPADDR, T_INET_SERVICE, T_IPADDR), 16, NFT_SET_INTERVAL | NFT_SET_CONCAT,
		UD_CONCAT_SET, 1);
	vw_set_set_concat(s, c4, sizeof(c4));
	s = SET(p, "fwd4anyallow", "inet_proto . inet_service . ipv4_addr",
		CONCAT3(T_INET_PROTOCOL, T_INET_SERVICE, T_IPADDR), 12, NFT_SET_INTERVAL | NFT_SET_CONCAT,
		UD_CONCAT_SET, 1);
	vw_set_set_concat(s, c4any, sizeof(c4any));

	/* The same for IPv6 (no loopback forwards: ::1 cannot be DNATed). */
	s = SET(p, "fwd6", fwd6_type, CONCAT3(T_INET_PROTOCOL, T_IP6ADDR, T_INET_SERVICE), 24, 0, UD_CONCAT_MAP, 1);
	vw_set_make_map(s, CONCAT2(T_IP6ADDR, T_INET_SERVICE), 20);
	s = SET(p, "fwd6any", fwd6any_type, CONCAT2(T_INET_PROTOCOL, T_INET_SERVICE), 8, 0, UD_CONCAT_MAP, 1);
	vw_set_make_map(s, CONCAT2(T_IP6ADDR, T_INET_SERVICE), 20);
	SET(p, "fwd6src", "inet_proto . ipv6_addr . inet_service", CONCAT3(T_INET_PROTOCOL, T_IP6ADDR, T_INET_SERVICE),
	    24, 0, UD_CONCAT_SET, 1);
	SET(p, "fwd6anysrc", "inet_proto . inet_service", CONCAT2(T_INET_PROTOCOL, T_INET_SERVICE), 8, 0,
	    UD_CONCAT_SET, 1);
	s = SET(p, "fwd6allow", "inet_proto . ipv6_addr . inet_service . ipv6_addr",
		CONCAT4(T_INET_PROTOCOL, T_IP6ADDR, T_INET_SERVICE, T_IP6ADDR), 40, NFT_SET_INTERVAL | NFT_SET_CONCAT,
		UD_CONCAT_SET, 1);
	vw_set_set_concat(s, c6, sizeof(c6));
	s = SET(p, "fwd6anyallow", "inet_proto . inet_service . ipv6_addr",
		CONCAT3(T_INET_PROTOCOL, T_INET_SERVICE, T_IP6ADDR), 24, NFT_SET_INTERVAL | NFT_SET_CONCAT,
		UD_CONCAT_SET, 1);
	vw_set_set_concat(s, c6any, sizeof(c6any));

	/* Traffic of forwarded connections, per target (protocol, guest
	 * address, guest port): the packets and bytes `virtwire status`
	 * shows, counted by the elements themselves. */
	s = SET(p, "fwd4count", "inet_proto . ipv4_addr . inet_service", CONCAT3(T_INET_PROTOCOL, T_IPADDR, T_INET_SERVICE),
		12, 0, UD_CONCAT_SET, 1);
	s->counter = true;
	s = SET(p, "fwd6count", "inet_proto . ipv6_addr . inet_service", CONCAT3(T_INET_PROTOCOL, T_IP6ADDR, T_INET_SERVICE),
		24, 0, UD_CONCAT_SET, 1);
	s->counter = true;

	for (guint i = 0; i < p->sets->len; i++) {
		VwSet *x = p->sets->pdata[i];

		if (strcmp(x->name, "bridges") == 0)
			x->kind = VW_SET_BRIDGES;
		else if (g_str_has_prefix(x->name, "gw"))
			x->kind = VW_SET_GATEWAYS;
		else if (g_str_has_prefix(x->name, "snat"))
			x->kind = VW_SET_SUBNETS;
		else if (strcmp(x->name, "host-services") == 0)
			x->kind = VW_SET_SERVICES;
		else if (x->counter)
			x->kind = VW_SET_COUNTERS;
		else if (g_str_has_prefix(x->name, "fwd"))
			x->kind = VW_SET_FORWARDS;
	}
}

static void add_service(VwSet *s, uint8_t proto, uint16_t port)
{
	VwElem *e = vw_elem_new(NULL);

	vw_key_put_proto(e->key, &e->key_len, proto);
	vw_key_put_port(e->key, &e->key_len, port);
	e->text = g_strdup_printf("%s . %u", vw_proto_to_string(proto), port);
	vw_set_add(s, e);
}

static void plan_skeleton(VwPlan *p)
{
	VwChain *c;
	VwRuleBuf rb;

	plan_sets(p);
	{
		VwSet *svc = vw_plan_find_set(p, "host-services");

		add_service(svc, VW_PROTO_UDP, 53); /* DNS */
		add_service(svc, VW_PROTO_TCP, 53);
		add_service(svc, VW_PROTO_UDP, 67); /* DHCP */
		add_service(svc, VW_PROTO_UDP, 547); /* DHCPv6 */
	}

	/* Guests sent away are told so (rather than left to time out). */
	c = vw_plan_add_chain(p, "guest-reject", NULL);
	rb = vw_rb_new();
	vw_rb_reject_admin(&rb);
	vw_rb_commit(&rb, c);

	/* Port forwards, for packets addressed to the host (from outside, from
	 * guests, or from the host itself). Specific listen addresses first;
	 * then "any address" forwards, which skip the host's addresses on guest
	 * networks, and loopback unless a network enables it. */
	c = vw_plan_add_chain(p, "forwards", NULL);
	rb = vw_rb_new();
	vw_rb_ifname_in(&rb, false, "closed");
	vw_rb_verdict(&rb, NFT_RETURN, NULL);
	vw_rb_commit(&rb, c);
	for (int fam = AF_INET; fam; fam = fam == AF_INET ? AF_INET6 : 0) {
		const char *m = fam == AF_INET ? "fwd4" : "fwd6";
		g_autofree char *src = g_strdup_printf("%ssrc", m);
		g_autofree char *allow = g_strdup_printf("%sallow", m);

		rb = vw_rb_new();
		vw_rb_fwd_keys_in(&rb, fam, true, src);
		vw_rb_fwd_allow_not_in(&rb, fam, true, allow);
		vw_rb_verdict(&rb, NFT_RETURN, NULL);
		vw_rb_commit(&rb, c);
		rb = vw_rb_new();
		vw_rb_dnat_map(&rb, fam, true, m);
		vw_rb_commit(&rb, c);
	}
	rb = vw_rb_new();
	vw_rb_daddr_in(&rb, AF_INET, "gw4");
	vw_rb_verdict(&rb, NFT_RETURN, NULL);
	vw_rb_commit(&rb, c);
	rb = vw_rb_new();
	vw_rb_daddr_in(&rb, AF_INET6, "gw6");
	vw_rb_verdict(&rb, NFT_RETURN, NULL);
	vw_rb_commit(&rb, c);
	{
		VwPrefix lo4 = { .addr = { .family = AF_INET, .b = { 127 } }, .prefix = 8 };
		VwPrefix lo6 = { .addr = { .family = AF_INET6, .b = { [15] = 1 } }, .prefix = 128 };

		rb = vw_rb_new();
		vw_rb_fwd_keys_in(&rb, AF_INET, false, "fwd4anysrc");
		vw_rb_fwd_allow_not_in(&rb, AF_INET, false, "fwd4anyallow");
		vw_rb_verdict(&rb, NFT_RETURN, NULL);
		vw_rb_commit(&rb, c);
		rb = vw_rb_new();
		vw_rb_prefix(&rb, true, &lo4, false);
		vw_rb_dnat_map(&rb, AF_INET, false, "fwd4lo");
		vw_rb_commit(&rb, c);
		rb = vw_rb_new();
		vw_rb_prefix(&rb, true, &lo4, false);
		vw_rb_verdict(&rb, NFT_RETURN, NULL);
		vw_rb_commit(&rb, c);
		rb = vw_rb_new();
		vw_rb_dnat_map(&rb, AF_INET, false, "fwd4any");
		vw_rb_commit(&rb, c);
		rb = vw_rb_new();
		vw_rb_fwd_keys_in(&rb, AF_INET6, false, "fwd6anysrc");
		vw_rb_fwd_allow_not_in(&rb, AF_INET6, false, "fwd6anyallow");
		vw_rb_verdict(&rb, NFT_RETURN, NULL);
		vw_rb_commit(&rb, c);
		rb = vw_rb_new();
		vw_rb_prefix(&rb, true, &lo6, false);
		vw_rb_verdict(&rb, NFT_RETURN, NULL);
		vw_rb_commit(&rb, c);
		rb = vw_rb_new();
		vw_rb_dnat_map(&rb, AF_INET6, false, "fwd6any");
		vw_rb_commit(&rb, c);
	}

	/* Both directions of forwarded connections, for the counters: the
	 * guest is the destination one way and the source the other. */
	c = vw_plan_add_chain(p, "count", NULL);
	for (int fam = AF_INET; fam; fam = fam == AF_INET ? AF_INET6 : 0) {
		const char *set = fam == AF_INET ? "fwd4count" : "fwd6count";

		rb = vw_rb_new();
		vw_rb_addr_port_in(&rb, fam, true, set);
		vw_rb_commit(&rb, c);
		rb = vw_rb_new();
		vw_rb_addr_port_in(&rb, fam, false, set);
		vw_rb_commit(&rb, c);
	}

	c = vw_plan_add_base_chain(p, "prerouting", VW_CHAIN_NAT, NF_INET_PRE_ROUTING, -100, "dstnat");
	rb = vw_rb_new();
	vw_rb_fib_daddr_local(&rb);
	vw_rb_verdict(&rb, NFT_JUMP, "forwards");
	vw_rb_commit(&rb, c);

	/* The host itself reaching a forward through one of its addresses. */
	c = vw_plan_add_base_chain(p, "output-nat", VW_CHAIN_NAT, NF_INET_LOCAL_OUT, -100, "-100");
	rb = vw_rb_new();
	vw_rb_fib_daddr_local(&rb);
	vw_rb_verdict(&rb, NFT_JUMP, "forwards");
	vw_rb_commit(&rb, c);

	/* Source NAT, dispatched by the guest's source subnet (postrouting
	 * knows no input interface). Loopback forwards need their 127.0.0.1
	 * source replaced, or the guest's reply has nowhere to go. */
	c = vw_plan_add_base_chain(p, "postrouting", VW_CHAIN_NAT, NF_INET_POST_ROUTING, 100, "srcnat");
	{
		VwPrefix lo4 = { .addr = { .family = AF_INET, .b = { 127 } }, .prefix = 8 };

		rb = vw_rb_new();
		vw_rb_ifname_in(&rb, true, "localnet");
		vw_rb_prefix(&rb, false, &lo4, false);
		vw_rb_ct_status_dnat(&rb);
		vw_rb_masquerade(&rb);
		vw_rb_commit(&rb, c);
	}
	rb = vw_rb_new();
	vw_rb_saddr_vmap(&rb, AF_INET, "snat4");
	vw_rb_commit(&rb, c);
	rb = vw_rb_new();
	vw_rb_saddr_vmap(&rb, AF_INET6, "snat6");
	vw_rb_commit(&rb, c);

	/* Forwarded traffic. The priority runs it before a host firewall's
	 * chains at the standard filter priority, so the mark is there when
	 * they look. Guests of one bridge may talk (with br_netfilter their
	 * frames pass here too); networks never reach each other except
	 * through a forward (a DNATed connection into one of virtwire's
	 * bridges). */
	c = vw_plan_add_base_chain(p, "forward", VW_CHAIN_FILTER, NF_INET_FORWARD, -10, "filter - 10");
	rb = vw_rb_new();
	vw_rb_ct_status_dnat(&rb);
	vw_rb_verdict(&rb, NFT_JUMP, "count");
	vw_rb_commit(&rb, c);
	rb = vw_rb_new();
	vw_rb_ct_state_est_rel(&rb);
	vw_rb_verdict(&rb, NF_ACCEPT, NULL);
	vw_rb_commit(&rb, c);
	rb = vw_rb_new();
	vw_rb_ifname_in(&rb, true, "bridges");
	vw_rb_ct_status_dnat(&rb);
	vw_rb_ct_mark_or(&rb, VW_CT_MARK);
	vw_rb_verdict(&rb, NF_ACCEPT, NULL);
	vw_rb_commit(&rb, c);
	rb = vw_rb_new();
	vw_rb_ifpair_in(&rb, "intra");
	vw_rb_ct_mark_or(&rb, VW_CT_MARK);
	vw_rb_verdict(&rb, NF_ACCEPT, NULL);
	vw_rb_commit(&rb, c);
	rb = vw_rb_new();
	vw_rb_ifname_in(&rb, false, "bridges");
	vw_rb_ifname_in(&rb, true, "bridges");
	vw_rb_verdict(&rb, NFT_JUMP, "guest-reject");
	vw_rb_commit(&rb, c);
	rb = vw_rb_new();
	vw_rb_ifname_vmap(&rb, false, "egress");
	vw_rb_commit(&rb, c);
	rb = vw_rb_new();
	vw_rb_ifname_vmap(&rb, true, "ingress");
	vw_rb_commit(&rb, c);

	/* Traffic to the host: internal networks are kept out; DHCP and DNS
	 * from guests are admitted (and marked). */
	c = vw_plan_add_base_chain(p, "input", VW_CHAIN_FILTER, NF_INET_LOCAL_IN, -10, "filter - 10");
	rb = vw_rb_new();
	vw_rb_ifname_in(&rb, false, "closed");
	vw_rb_verdict(&rb, NF_DROP, NULL);
	vw_rb_commit(&rb, c);
	rb = vw_rb_new();
	vw_rb_ifname_in(&rb, false, "served");
	vw_rb_proto_port_in(&rb, "host-services");
	vw_rb_ct_mark_or(&rb, VW_CT_MARK);
	vw_rb_verdict(&rb, NF_ACCEPT, NULL);
	vw_rb_commit(&rb, c);

	c = vw_plan_add_base_chain(p, "output", VW_CHAIN_FILTER, NF_INET_LOCAL_OUT, -10, "filter - 10");
	rb = vw_rb_new();
	vw_rb_ifname_in(&rb, true, "closed");
	vw_rb_verdict(&rb, NF_DROP, NULL);
	vw_rb_commit(&rb, c);
}

/* ---------------------------------------------------------------------- */
/* Elements */

static bool count_elements(Planner *pl, const char *owner, guint n, VwLoc loc)
{
	guint have = GPOINTER_TO_UINT(g_hash_table_lookup(pl->elem_count, owner));

	if (have + n > VW_MAX_ELEMENTS_PER_NETWORK) {
		if (have <= VW_MAX_ELEMENTS_PER_NETWORK)
			vw_error(pl->diags, loc, "too-many",
				 "forward fewer or smaller port ranges (each port of a range is one entry)",
				 "'%s' needs more than %u forward entries", owner, VW_MAX_ELEMENTS_PER_NETWORK);
		g_hash_table_replace(pl->elem_count, g_strdup(owner), GUINT_TO_POINTER(VW_MAX_ELEMENTS_PER_NETWORK + 1));
		return false;
	}
	g_hash_table_replace(pl->elem_count, g_strdup(owner), GUINT_TO_POINTER(have + n));
	return true;
}

static void add_ifname(VwPlan *p, const char *set, const char *ifname, const char *owner)
{
	VwElem *e = vw_elem_new(owner);

	vw_key_ifname(e, ifname);
	e->text = g_strdup_printf("\"%s\"", ifname);
	vw_set_add(vw_plan_find_set(p, set), e);
}

static void add_ifname_verdict(VwPlan *p, const char *map, const char *ifname, int verdict, const char *chain,
			       const char *owner)
{
	VwElem *e = vw_elem_new(owner);

	vw_key_ifname(e, ifname);
	e->has_verdict = true;
	e->verdict = verdict;
	e->chain = g_strdup(chain);
	if (verdict == NFT_JUMP)
		e->text = g_strdup_printf("\"%s\" : jump %s", ifname, chain);
	else
		e->text = g_strdup_printf("\"%s\" : %s", ifname, verdict == NF_DROP ? "drop" : "accept");
	vw_set_add(vw_plan_find_set(p, map), e);
}

static void add_addr(VwPlan *p, const char *set, const VwAddr *a, const char *owner)
{
	VwElem *e = vw_elem_new(owner);
	char buf[VW_ADDR_STRLEN];

	vw_key_put_addr(e->key, &e->key_len, a);
	e->text = g_strdup(vw_addr_to_string(a, buf));
	vw_set_add(vw_plan_find_set(p, set), e);
}

/* An interval of a single-field interval map: the start element carries the
 * data; an end element (flagged, key one past the last address) closes it,
 * unless the interval runs to the end of the address space. */
static void add_subnet_jump(VwPlan *p, const char *map, const VwPrefix *sub, const char *chain, const char *owner)
{
	VwElem *e = vw_elem_new(owner);
	VwAddr end = vw_addr_broadcast(&sub->addr, sub->prefix);
	VwAddr net = vw_addr_network(&sub->addr, sub->prefix);
	g_autofree char *t = vw_prefix_nft_text(sub);
	int i;

	vw_key_put_addr(e->key, &e->key_len, &net);
	e->has_verdict = true;
	e->verdict = NFT_JUMP;
	e->chain = g_strdup(chain);
	e->text = g_strdup_printf("%s : jump %s", t, chain);
	vw_set_add(vw_plan_find_set(p, map), e);

	for (i = (int)vw_addr_len(end.family) - 1; i >= 0; i--)
		if (++end.b[i] != 0)
			break;
	if (i < 0)
		return;
	e = vw_elem_new(owner);
	vw_key_put_addr(e->key, &e->key_len, &end);
	e->flags = NFT_SET_ELEM_INTERVAL_END;
	vw_set_add(vw_plan_find_set(p, map), e);
}

typedef struct {
	const VwNetwork *net;
	const char *id;
	const char *owner;
	const VwForward *fwd;
	VwLoc loc;
} FwdCtx;

static void collision(Planner *pl, const FwdCtx *fc, uint16_t port)
{
	g_autofree char *what = vw_forward_describe(fc->fwd);

	vw_error(pl->diags, fc->loc, "forward-collision", "run 'virtwire check' on all the networks together",
		 "forward %s: host port %u/%s is already forwarded (by another network or domain)", what, port,
		 vw_proto_to_string(fc->fwd->proto));
}

static void plan_forward_family(Planner *pl, const FwdCtx *fc, int family, const VwAddr *target)
{
	const VwForward *f = fc->fwd;
	bool any = !vw_addr_is_set(&f->listen);
	bool v6 = family == AF_INET6;
	VwSet *map = vw_plan_find_set(pl->plan, any ? (v6 ? "fwd6any" : "fwd4any") : (v6 ? "fwd6" : "fwd4"));
	VwSet *lo = any && !v6 && vw_network_localhost(fc->net) ? vw_plan_find_set(pl->plan, "fwd4lo") : NULL;
	VwSet *keys = NULL, *allow = NULL;
	unsigned n = vw_port_range_len(f->host);
	char lbuf[VW_ADDR_STRLEN], tbuf[VW_ADDR_STRLEN];
	const char *proto = vw_proto_to_string(f->proto);

	if (f->sources->len) {
		keys = vw_plan_find_set(pl->plan, any ? (v6 ? "fwd6anysrc" : "fwd4anysrc") : (v6 ? "fwd6src" : "fwd4src"));
		allow = vw_plan_find_set(pl->plan,
					 any ? (v6 ? "fwd6anyallow" : "fwd4anyallow") : (v6 ? "fwd6allow" : "fwd4allow"));
	}
	if (!count_elements(pl, fc->owner, n * (2 + (lo != NULL) + (keys != NULL)) + f->sources->len, fc->loc))
		return;
	vw_addr_to_string(&f->listen, lbuf);
	vw_addr_to_string(target, tbuf);

	/* One map entry per port: a shifted range maps port by port, and an
	 * exact-match map keeps every lookup O(1). */
	for (unsigned i = 0; i < n; i++) {
		uint16_t hp = (uint16_t)(f->host.lo + i);
		uint16_t gp = f->has_guest_port ? (uint16_t)(f->guest.lo + (vw_port_range_len(f->guest) > 1 ? i : 0)) : hp;
		VwElem *e = vw_elem_new(fc->owner);

		vw_key_put_proto(e->key, &e->key_len, (uint8_t)f->proto);
		if (!any)
			vw_key_put_addr(e->key, &e->key_len, &f->listen);
		vw_key_put_port(e->key, &e->key_len, hp);
		vw_key_put_addr(e->data, &e->data_len, target);
		vw_key_put_port(e->data, &e->data_len, gp);
		if (any)
			e->text = g_strdup_printf("%s . %u : %s . %u", proto, hp, tbuf, gp);
		else
			e->text = g_strdup_printf("%s . %s . %u : %s . %u", proto, lbuf, hp, tbuf, gp);
		if (lo) {
			VwElem *l = vw_elem_new(fc->owner);

			memcpy(l->key, e->key, e->key_len);
			l->key_len = e->key_len;
			memcpy(l->data, e->data, e->data_len);
			l->data_len = e->data_len;
			l->text = g_strdup(e->text);
			if (!vw_set_add(lo, l))
				collision(pl, fc, hp);
		}
		if (!vw_set_add(map, e)) {
			collision(pl, fc, hp);
			return;
		}
		{
			/* Forwards to one target share its counter. */
			VwElem *k = vw_elem_new(fc->owner);

			vw_key_put_proto(k->key, &k->key_len, (uint8_t)f->proto);
			vw_key_put_addr(k->key, &k->key_len, target);
			vw_key_put_port(k->key, &k->key_len, gp);
			k->text = g_strdup_printf("%s . %s . %u", proto, tbuf, gp);
			vw_set_add(vw_plan_find_set(pl->plan, v6 ? "fwd6count" : "fwd4count"), k);
		}
		if (keys) {
			VwElem *k = vw_elem_new(fc->owner);

			vw_key_put_proto(k->key, &k->key_len, (uint8_t)f->proto);
			if (!any)
				vw_key_put_addr(k->key, &k->key_len, &f->listen);
			vw_key_put_port(k->key, &k->key_len, hp);
			k->text = any ? g_strdup_printf("%s . %u", proto, hp)
				      : g_strdup_printf("%s . %s . %u", proto, lbuf, hp);
			vw_set_add(keys, k);
		}
	}
	for (guint i = 0; allow && i < f->sources->len; i++) {
		const VwSource *src = f->sources->pdata[i];
		VwAddr first = vw_addr_network(&src->prefix.addr, src->prefix.prefix);
		VwAddr last = vw_addr_broadcast(&src->prefix.addr, src->prefix.prefix);
		g_autofree char *st = vw_prefix_nft_text(&src->prefix);
		g_autofree char *ports = n > 1 ? g_strdup_printf("%u-%u", f->host.lo, f->host.hi)
					       : g_strdup_printf("%u", f->host.lo);
		VwElem *e;

		if (src->prefix.addr.family != family)
			continue;
		e = vw_elem_new(fc->owner);
		/* A concatenated interval: the key is the first of each field's
		 * range, the key end the last. */
		vw_key_put_proto(e->key, &e->key_len, (uint8_t)f->proto);
		vw_key_put_proto(e->key_end, &e->key_end_len, (uint8_t)f->proto);
		if (!any) {
			vw_key_put_addr(e->key, &e->key_len, &f->listen);
			vw_key_put_addr(e->key_end, &e->key_end_len, &f->listen);
		}
		vw_key_put_port(e->key, &e->key_len, f->host.lo);
		vw_key_put_port(e->key_end, &e->key_end_len, f->host.hi);
		vw_key_put_addr(e->key, &e->key_len, &first);
		vw_key_put_addr(e->key_end, &e->key_end_len, &last);
		e->text = any ? g_strdup_printf("%s . %s . %s", proto, ports, st)
			      : g_strdup_printf("%s . %s . %s . %s", proto, lbuf, ports, st);
		vw_set_add(allow, e);
	}
}

static void plan_forward(Planner *pl, const VwNetwork *net, const char *id, const char *owner, const VwForward *f)
{
	FwdCtx fc = { net, id, owner, f, f->loc };

	if (!f->has_proto || !f->has_host_port)
		return;
	for (int fam = AF_INET; fam; fam = fam == AF_INET ? AF_INET6 : 0) {
		VwAddr target;

		if (vw_addr_is_set(&f->listen) && f->listen.family != fam)
			continue;
		if (!vw_forward_target(net, f, fam, &target))
			continue;
		plan_forward_family(pl, &fc, fam, &target);
	}
}

/* ---------------------------------------------------------------------- */
/* Networks */

static void add_sysctl(VwPlan *p, const char *path, const char *value, const char *owner, bool revert)
{
	VwSysctl *s;

	for (guint i = 0; i < p->sysctls->len; i++)
		if (strcmp(((VwSysctl *)p->sysctls->pdata[i])->path, path) == 0)
			return;
	s = g_new0(VwSysctl, 1);
	s->path = g_strdup(path);
	s->value = g_strdup(value);
	s->owner = g_strdup(owner);
	s->revert = revert;
	g_ptr_array_add(p->sysctls, s);
}

static bool has_family(const VwNetwork *net, int family)
{
	for (guint i = 0; i < net->ips->len; i++)
		if (((VwIp *)net->ips->pdata[i])->address.family == family)
			return true;
	return false;
}

bool vw_plan_network_uses_table(const VwNetwork *net)
{
	if (vw_network_virtwire_owns_firewall(net))
		return true;
	return (net->forward == VW_FWD_NAT || net->forward == VW_FWD_ROUTE) && net->vw &&
	       (net->vw->forwards->len > 0 || net->vw->domain_forwards == VW_TRI_YES);
}

static void plan_network(Planner *pl, const VwNetwork *net)
{
	VwPlan *p = pl->plan;
	g_autofree char *id = vw_plan_network_id(net->name);
	g_autofree char *out_chain = g_strdup_printf("nw-%s-out", id);
	g_autofree char *in_chain = g_strdup_printf("nw-%s-in", id);
	g_autofree char *snat_chain = g_strdup_printf("nw-%s-snat", id);
	bool own = vw_network_virtwire_owns_firewall(net);
	VwMode mode = vw_network_effective_mode(net);
	const char *br = net->bridge;
	GPtrArray *fwds = vw_network_forwards(net);
	bool hairpin = vw_network_hairpin(net) && (mode == VW_MODE_NAT || mode == VW_MODE_ROUTE);
	bool snat = own && mode == VW_MODE_NAT;
	VwChain *c;
	VwRuleBuf rb;

	if (!br || strchr(br, '%')) {
		vw_error(pl->diags, net->loc, "missing-bridge",
			 "give <bridge name='…'/>, or pass the live XML (virsh net-dumpxml NAME) in which libvirt "
			 "has filled it in",
			 "network '%s': virtwire needs the bridge's name", net->name);
		return;
	}
	add_ifname(p, "bridges", br, id);
	{
		VwElem *e = vw_elem_new(id);

		vw_key_ifname(e, br);
		memcpy(e->key + 16, e->key, 16);
		e->key_len = 32;
		e->text = g_strdup_printf("\"%s\" . \"%s\"", br, br);
		vw_set_add(vw_plan_find_set(p, "intra"), e);
	}
	for (guint i = 0; i < net->ips->len; i++) {
		const VwIp *ip = net->ips->pdata[i];

		if (vw_addr_is_set(&ip->address))
			add_addr(p, ip->address.family == AF_INET6 ? "gw6" : "gw4", &ip->address, id);
	}

	if (own) {
		switch (mode) {
		case VW_MODE_NAT:
		case VW_MODE_ROUTE:
			add_ifname_verdict(p, "egress", br, NFT_JUMP, out_chain, id);
			if (mode == VW_MODE_ROUTE)
				add_ifname_verdict(p, "ingress", br, NFT_JUMP, in_chain, id);
			else
				add_ifname_verdict(p, "ingress", br, NF_DROP, NULL, id);
			if (net->ips->len)
				add_ifname(p, "served", br, id);
			break;
		case VW_MODE_HOST_ONLY:
			add_ifname_verdict(p, "egress", br, NFT_JUMP, "guest-reject", id);
			add_ifname_verdict(p, "ingress", br, NF_DROP, NULL, id);
			if (net->ips->len)
				add_ifname(p, "served", br, id);
			break;
		case VW_MODE_INTERNAL:
			add_ifname_verdict(p, "egress", br, NFT_JUMP, "guest-reject", id);
			add_ifname_verdict(p, "ingress", br, NF_DROP, NULL, id);
			add_ifname(p, "closed", br, id);
			break;
		case VW_MODE_BRIDGED:
		case VW_MODE_UNSET:
		case VW_MODE__COUNT:
			break;
		}
	}
	/* libvirt's own NAT firewall rejects new connections towards the
	 * bridge: keep one accept for the DNATed ones in front of it. */
	if (!own && mode == VW_MODE_NAT && (has_family(net, AF_INET) || has_family(net, AF_INET6))) {
		VwCoexist *cx = g_new0(VwCoexist, 1);

		cx->id = g_strdup(id);
		cx->bridge = g_strdup(br);
		cx->v4 = has_family(net, AF_INET);
		cx->v6 = has_family(net, AF_INET6);
		cx->text = g_strdup_printf("accept connections DNATed to \"%s\" ahead of libvirt's rejects (%s%s%s)",
					   br, cx->v4 ? "ip" : "", cx->v4 && cx->v6 ? ", " : "", cx->v6 ? "ip6" : "");
		g_ptr_array_add(p->coexist, cx);
	}
	if (vw_network_localhost(net) && (mode == VW_MODE_NAT || mode == VW_MODE_ROUTE)) {
		g_autofree char *path = g_strdup_printf("net/ipv4/conf/%s/route_localnet", br);

		add_ifname(p, "localnet", br, id);
		add_sysctl(p, path, "1", id, true);
	}

	/* Per-network chains come after the skeleton: that is where the kernel
	 * lists chains created by a later apply, too. */
	if (own && (mode == VW_MODE_NAT || mode == VW_MODE_ROUTE)) {
		c = vw_plan_add_chain(p, out_chain, id);
		for (guint i = 0; i < net->ips->len; i++) {
			const VwIp *ip = net->ips->pdata[i];
			VwPrefix sub = { ip->address, ip->prefix };

			if (!ip->has_prefix)
				continue;
			rb = vw_rb_new();
			vw_rb_prefix(&rb, false, &sub, false);
			vw_rb_ct_mark_or(&rb, VW_CT_MARK);
			vw_rb_verdict(&rb, NF_ACCEPT, NULL);
			vw_rb_commit(&rb, c);
		}
		rb = vw_rb_new();
		vw_rb_verdict(&rb, NFT_JUMP, "guest-reject");
		vw_rb_commit(&rb, c);
	}
	if (own && mode == VW_MODE_ROUTE) {
		c = vw_plan_add_chain(p, in_chain, id);
		for (guint i = 0; i < net->ips->len; i++) {
			const VwIp *ip = net->ips->pdata[i];
			VwPrefix sub = { ip->address, ip->prefix };

			if (!ip->has_prefix)
				continue;
			rb = vw_rb_new();
			vw_rb_prefix(&rb, true, &sub, false);
			vw_rb_ct_mark_or(&rb, VW_CT_MARK);
			vw_rb_verdict(&rb, NF_ACCEPT, NULL);
			vw_rb_commit(&rb, c);
		}
		rb = vw_rb_new();
		vw_rb_verdict(&rb, NF_DROP, NULL);
		vw_rb_commit(&rb, c);
	}
	if (snat || (hairpin && (fwds->len || (net->vw && net->vw->domain_forwards == VW_TRI_YES)))) {
		c = vw_plan_add_chain(p, snat_chain, id);
		for (guint i = 0; i < net->ips->len; i++) {
			const VwIp *ip = net->ips->pdata[i];
			VwPrefix sub = { ip->address, ip->prefix };

			if (!ip->has_prefix)
				continue;
			add_subnet_jump(p, ip->address.family == AF_INET6 ? "snat6" : "snat4", &sub, snat_chain, id);
			/* Hairpin: a guest reaching a forward to its own
			 * subnet through the host's address must see the
			 * reply come from the host, not from the other guest. */
			if (hairpin) {
				rb = vw_rb_new();
				vw_rb_prefix(&rb, true, &sub, false);
				vw_rb_ct_status_dnat(&rb);
				vw_rb_masquerade(&rb);
				vw_rb_commit(&rb, c);
			}
		}
		for (guint i = 0; snat && i < net->ips->len; i++) {
			const VwIp *ip = net->ips->pdata[i];
			VwPrefix sub = { ip->address, ip->prefix };
			GPtrArray *ups = net->vw->nat_uplinks;
			const VwAddr *to = &net->vw->nat_address;
			guint nups = ups ? ups->len : 0;

			if (!ip->has_prefix)
				continue;
			for (guint u = 0; u < MAX(nups, 1u); u++) {
				rb = vw_rb_new();
				vw_rb_prefix(&rb, true, &sub, true);
				if (nups)
					vw_rb_ifname_eq(&rb, true, ups->pdata[u]);
				if (vw_addr_is_set(to) && to->family == ip->address.family)
					vw_rb_snat_to(&rb, to);
				else
					vw_rb_masquerade(&rb);
				vw_rb_commit(&rb, c);
			}
		}
	}

	if (own && (mode == VW_MODE_NAT || mode == VW_MODE_ROUTE)) {
		if (has_family(net, AF_INET) || fwds->len)
			add_sysctl(p, "net/ipv4/ip_forward", "1", id, false);
		if (has_family(net, AF_INET6))
			add_sysctl(p, "net/ipv6/conf/all/forwarding", "1", id, false);
	} else if (fwds->len) {
		add_sysctl(p, "net/ipv4/ip_forward", "1", id, false);
	}

	for (guint i = 0; i < fwds->len; i++)
		plan_forward(pl, net, id, id, fwds->pdata[i]);
}

/* The domain's forwards on @net, targeting its interface's reservation. */
static void plan_domain(Planner *pl, const VwNetwork *net, const VwPlanDomain *pd)
{
	const VwDomain *dom = pd->domain;
	g_autofree char *id = vw_plan_network_id(net->name);
	g_autofree char *owner = vw_plan_port_owner(id, pd->port_uuid ? pd->port_uuid : dom->name);

	if (!dom->vw)
		return;
	for (guint i = 0; i < dom->vw->forwards->len; i++) {
		/* Planned as a network forward to the interface's MAC. */
		g_autoptr(VwForward) copy =
			vw_domain_forward_resolve(dom, dom->vw->forwards->pdata[i], net->name, pd->has_mac ? &pd->mac : NULL);

		if (copy)
			plan_forward(pl, net, id, owner, copy);
	}
}

VwPlan *vw_plan_skeleton(void)
{
	VwPlan *p = vw_plan_new();

	plan_skeleton(p);
	return p;
}

static int network_name_cmp(gconstpointer a, gconstpointer b)
{
	const VwNetwork *x = *(VwNetwork *const *)a, *y = *(VwNetwork *const *)b;

	return g_strcmp0(x->name, y->name);
}

VwPlan *vw_plan_build(GPtrArray *networks, GPtrArray *domains, VwDiags *diags)
{
	g_autoptr(VwPlan) p = vw_plan_new();
	g_autoptr(GPtrArray) sorted = g_ptr_array_new();
	g_autoptr(GHashTable) counts = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	Planner pl = { p, diags, counts };
	guint errors = vw_diags_count(diags, VW_SEV_ERROR);
	bool table = false;

	/* Networks in name order: the plan must not depend on file order. */
	for (guint i = 0; i < networks->len; i++) {
		const VwNetwork *n = networks->pdata[i];

		if (!n->name)
			continue;
		g_ptr_array_add(sorted, (gpointer)n);
		g_ptr_array_add(p->networks, g_strdup(n->name));
		table |= vw_plan_network_uses_table(n);
	}
	g_ptr_array_sort(sorted, network_name_cmp);
	if (table)
		plan_skeleton(p);
	for (guint i = 0; i < sorted->len; i++) {
		const VwNetwork *n = sorted->pdata[i];
		g_autofree char *id = vw_plan_network_id(n->name);

		vw_plan_links(p, n, id);
		if (!vw_plan_network_uses_table(n))
			continue;
		plan_network(&pl, n);
		for (guint j = 0; domains && j < domains->len; j++) {
			const VwPlanDomain *pd = domains->pdata[j];

			if (g_strcmp0(pd->network, n->name) == 0)
				plan_domain(&pl, n, pd);
		}
	}
	if (vw_diags_count(diags, VW_SEV_ERROR) > errors)
		return NULL;
	return g_steal_pointer(&p);
}
