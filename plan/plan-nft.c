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

#define IFNAME VW_NFT_IFNAME
#define IPV4 VW_NFT_IPV4_ADDR
#define IPV6 VW_NFT_IPV6_ADDR
#define PROTO VW_NFT_INET_PROTO
#define SERVICE VW_NFT_INET_SERVICE
#define VERDICT VW_NFT_VERDICT

/* The skeleton's sets and maps, in the order nft lists them. */
static const VwSetDesc skeleton_sets[] = {
	/* Interfaces by role. */
	{ "bridges", VW_SET_BRIDGES, { IFNAME } },
	{ "closed", VW_SET_INTERFACES, { IFNAME } },
	{ "served", VW_SET_INTERFACES, { IFNAME } },
	{ "localnet", VW_SET_INTERFACES, { IFNAME } },
	/* "BR" . "BR": guests of one bridge talking to each other, which the
	 * forward hook sees when the host has br_netfilter enabled. */
	{ "intra", VW_SET_INTERFACES, { IFNAME, IFNAME } },
	{ "egress", VW_SET_INTERFACES, { IFNAME }, { VERDICT } },
	{ "ingress", VW_SET_INTERFACES, { IFNAME }, { VERDICT } },
	/* Source NAT, by the guests' subnet. */
	{ "snat4", VW_SET_SUBNETS, { IPV4 }, { VERDICT }, .interval = true },
	{ "snat6", VW_SET_SUBNETS, { IPV6 }, { VERDICT }, .interval = true },
	/* The host's own addresses on guest networks. */
	{ "gw4", VW_SET_GATEWAYS, { IPV4 } },
	{ "gw6", VW_SET_GATEWAYS, { IPV6 } },
	/* What guests may ask the host for in every mode with a host address. */
	{ "host-services", VW_SET_SERVICES, { PROTO, SERVICE } },
	/* Port forwards, IPv4: on one address, on any address, on 127.0.0.0/8;
	 * the keys that have an allow-list, and the allow-lists. */
	{ "fwd4", VW_SET_FORWARDS, { PROTO, IPV4, SERVICE }, { IPV4, SERVICE } },
	{ "fwd4any", VW_SET_FORWARDS, { PROTO, SERVICE }, { IPV4, SERVICE } },
	{ "fwd4lo", VW_SET_FORWARDS, { PROTO, SERVICE }, { IPV4, SERVICE } },
	{ "fwd4src", VW_SET_FORWARDS, { PROTO, IPV4, SERVICE } },
	{ "fwd4anysrc", VW_SET_FORWARDS, { PROTO, SERVICE } },
	{ "fwd4allow", VW_SET_FORWARDS, { PROTO, IPV4, SERVICE, IPV4 }, .interval = true },
	{ "fwd4anyallow", VW_SET_FORWARDS, { PROTO, SERVICE, IPV4 }, .interval = true },
	/* The same for IPv6 (no loopback forwards: ::1 cannot be DNATed). */
	{ "fwd6", VW_SET_FORWARDS, { PROTO, IPV6, SERVICE }, { IPV6, SERVICE } },
	{ "fwd6any", VW_SET_FORWARDS, { PROTO, SERVICE }, { IPV6, SERVICE } },
	{ "fwd6src", VW_SET_FORWARDS, { PROTO, IPV6, SERVICE } },
	{ "fwd6anysrc", VW_SET_FORWARDS, { PROTO, SERVICE } },
	{ "fwd6allow", VW_SET_FORWARDS, { PROTO, IPV6, SERVICE, IPV6 }, .interval = true },
	{ "fwd6anyallow", VW_SET_FORWARDS, { PROTO, SERVICE, IPV6 }, .interval = true },
	/* Traffic of forwarded connections, per target (protocol, guest
	 * address, guest port): the packets and bytes `virtwire status`
	 * shows, counted by the elements themselves. */
	{ "fwd4count", VW_SET_COUNTERS, { PROTO, IPV4, SERVICE }, .counter = true },
	{ "fwd6count", VW_SET_COUNTERS, { PROTO, IPV6, SERVICE }, .counter = true },
};

/* The sets one family's forwards go to; [0] on one address, [1] on any. */
typedef struct {
	VwSet *map[2], *src[2], *allow[2];
	VwSet *lo; /* loopback forwards (IPv4 only) */
	VwSet *count;
} FwdSets;

typedef struct {
	VwPlan *plan;
	VwDiags *diags;
	GHashTable *elem_count; /* owner → guint elements planned */
	FwdSets fwd[2];		/* IPv4, IPv6 */
} Planner;

static VwTable *inet(VwPlan *p)
{
	return &p->tables[VW_TABLE_INET];
}

/* A set of the skeleton. */
static VwSet *set_of(const VwPlan *p, const char *name)
{
	VwSet *s = vw_plan_find_set(p, name);

	g_assert(s);
	return s;
}

static const VwPrefix lo4 = { .addr = { .family = AF_INET, .b = { 127 } }, .prefix = 8 };
static const VwPrefix lo6 = { .addr = { .family = AF_INET6, .b = { [15] = 1 } }, .prefix = 128 };

/* ---------------------------------------------------------------------- */
/* The skeleton */

static void add_service(VwSet *s, uint8_t proto, uint16_t port)
{
	VwElem *e = vw_elem_new(NULL);

	vw_key_put_proto(e->key, &e->key_len, proto);
	vw_key_put_port(e->key, &e->key_len, port);
	vw_set_add(s, e);
}

static void plan_sets(VwPlan *p)
{
	VwSet *svc;

	for (size_t i = 0; i < G_N_ELEMENTS(skeleton_sets); i++)
		vw_plan_add_set(inet(p), &skeleton_sets[i]);
	svc = set_of(p, "host-services");
	add_service(svc, VW_PROTO_UDP, 53); /* DNS */
	add_service(svc, VW_PROTO_TCP, 53);
	add_service(svc, VW_PROTO_UDP, 67);  /* DHCP */
	add_service(svc, VW_PROTO_UDP, 547); /* DHCPv6 */
}

/* Port forwards on one of the host's addresses, of both families. */
static void forwards_on_address(VwPlan *p, VwChain *c)
{
	for (int fam = AF_INET; fam; fam = fam == AF_INET ? AF_INET6 : 0) {
		const char *m = fam == AF_INET ? "fwd4" : "fwd6";
		g_autofree char *src = g_strdup_printf("%ssrc", m);
		g_autofree char *allow = g_strdup_printf("%sallow", m);
		VwRuleBuf rb = vw_rb_new();

		vw_rb_fwd_keys_in(&rb, fam, true, set_of(p, src));
		vw_rb_fwd_allow_not_in(&rb, fam, true, set_of(p, allow));
		vw_rb_commit_verdict(&rb, c, NFT_RETURN, NULL);
		rb = vw_rb_new();
		vw_rb_dnat_map(&rb, fam, true, set_of(p, m));
		vw_rb_commit(&rb, c);
	}
}

/* "Any address" forwards, which skip the host's addresses on guest
 * networks, and loopback unless a network enables it. */
static void forwards_on_any(VwPlan *p, VwChain *c)
{
	VwRuleBuf rb = vw_rb_new();

	vw_rb_daddr_in(&rb, AF_INET, set_of(p, "gw4"));
	vw_rb_commit_verdict(&rb, c, NFT_RETURN, NULL);
	rb = vw_rb_new();
	vw_rb_daddr_in(&rb, AF_INET6, set_of(p, "gw6"));
	vw_rb_commit_verdict(&rb, c, NFT_RETURN, NULL);
	rb = vw_rb_new();
	vw_rb_fwd_keys_in(&rb, AF_INET, false, set_of(p, "fwd4anysrc"));
	vw_rb_fwd_allow_not_in(&rb, AF_INET, false, set_of(p, "fwd4anyallow"));
	vw_rb_commit_verdict(&rb, c, NFT_RETURN, NULL);
	rb = vw_rb_new();
	vw_rb_prefix(&rb, true, &lo4, false);
	vw_rb_dnat_map(&rb, AF_INET, false, set_of(p, "fwd4lo"));
	vw_rb_commit(&rb, c);
	rb = vw_rb_new();
	vw_rb_prefix(&rb, true, &lo4, false);
	vw_rb_commit_verdict(&rb, c, NFT_RETURN, NULL);
	rb = vw_rb_new();
	vw_rb_dnat_map(&rb, AF_INET, false, set_of(p, "fwd4any"));
	vw_rb_commit(&rb, c);
	rb = vw_rb_new();
	vw_rb_fwd_keys_in(&rb, AF_INET6, false, set_of(p, "fwd6anysrc"));
	vw_rb_fwd_allow_not_in(&rb, AF_INET6, false, set_of(p, "fwd6anyallow"));
	vw_rb_commit_verdict(&rb, c, NFT_RETURN, NULL);
	rb = vw_rb_new();
	vw_rb_prefix(&rb, true, &lo6, false);
	vw_rb_commit_verdict(&rb, c, NFT_RETURN, NULL);
	rb = vw_rb_new();
	vw_rb_dnat_map(&rb, AF_INET6, false, set_of(p, "fwd6any"));
	vw_rb_commit(&rb, c);
}

/* Port forwards, for packets addressed to the host (from outside, from
 * guests, or from the host itself): specific listen addresses first. */
static void chain_forwards(VwPlan *p)
{
	VwChain *c = vw_plan_add_chain(inet(p), "forwards", NULL);
	VwRuleBuf rb = vw_rb_new();

	vw_rb_ifname_in(&rb, false, set_of(p, "closed"));
	vw_rb_commit_verdict(&rb, c, NFT_RETURN, NULL);
	forwards_on_address(p, c);
	forwards_on_any(p, c);
}

/* Both directions of forwarded connections, for the counters: the guest is
 * the destination one way and the source the other. */
static void chain_count(VwPlan *p)
{
	VwChain *c = vw_plan_add_chain(inet(p), "count", NULL);

	for (int fam = AF_INET; fam; fam = fam == AF_INET ? AF_INET6 : 0) {
		const VwSet *set = set_of(p, fam == AF_INET ? "fwd4count" : "fwd6count");
		VwRuleBuf rb = vw_rb_new();

		vw_rb_addr_port_in(&rb, fam, true, set);
		vw_rb_commit(&rb, c);
		rb = vw_rb_new();
		vw_rb_addr_port_in(&rb, fam, false, set);
		vw_rb_commit(&rb, c);
	}
}

static void chains_nat(VwPlan *p)
{
	VwChain *c = vw_plan_add_base_chain(inet(p), "prerouting", VW_CHAIN_NAT, NF_INET_PRE_ROUTING, -100, "dstnat");
	VwRuleBuf rb = vw_rb_new();

	vw_rb_fib_daddr_local(&rb);
	vw_rb_commit_verdict(&rb, c, NFT_JUMP, "forwards");

	/* The host itself reaching a forward through one of its addresses. */
	c = vw_plan_add_base_chain(inet(p), "output-nat", VW_CHAIN_NAT, NF_INET_LOCAL_OUT, -100, "-100");
	rb = vw_rb_new();
	vw_rb_fib_daddr_local(&rb);
	vw_rb_commit_verdict(&rb, c, NFT_JUMP, "forwards");

	/* Source NAT, dispatched by the guest's source subnet (postrouting
	 * knows no input interface). Loopback forwards need their 127.0.0.1
	 * source replaced, or the guest's reply has nowhere to go. */
	c = vw_plan_add_base_chain(inet(p), "postrouting", VW_CHAIN_NAT, NF_INET_POST_ROUTING, 100, "srcnat");
	rb = vw_rb_new();
	vw_rb_ifname_in(&rb, true, set_of(p, "localnet"));
	vw_rb_prefix(&rb, false, &lo4, false);
	vw_rb_ct_status_dnat(&rb);
	vw_rb_masquerade(&rb);
	vw_rb_commit(&rb, c);
	rb = vw_rb_new();
	vw_rb_saddr_vmap(&rb, AF_INET, set_of(p, "snat4"));
	vw_rb_commit(&rb, c);
	rb = vw_rb_new();
	vw_rb_saddr_vmap(&rb, AF_INET6, set_of(p, "snat6"));
	vw_rb_commit(&rb, c);
}

/* Forwarded traffic. The priority runs it before a host firewall's chains
 * at the standard filter priority, so the mark is there when they look.
 * Guests of one bridge may talk (with br_netfilter their frames pass here
 * too); networks never reach each other except through a forward (a
 * DNATed connection into one of virtwire's bridges). */
static void chain_forward(VwPlan *p)
{
	VwChain *c = vw_plan_add_base_chain(inet(p), "forward", VW_CHAIN_FILTER, NF_INET_FORWARD, -10, "filter - 10");
	const VwSet *bridges = set_of(p, "bridges");
	VwRuleBuf rb = vw_rb_new();

	vw_rb_ct_status_dnat(&rb);
	vw_rb_commit_verdict(&rb, c, NFT_JUMP, "count");
	rb = vw_rb_new();
	vw_rb_ct_state_est_rel(&rb);
	vw_rb_commit_verdict(&rb, c, NF_ACCEPT, NULL);
	rb = vw_rb_new();
	vw_rb_ifname_in(&rb, true, bridges);
	vw_rb_ct_status_dnat(&rb);
	vw_rb_ct_mark_or(&rb, VW_CT_MARK);
	vw_rb_commit_verdict(&rb, c, NF_ACCEPT, NULL);
	rb = vw_rb_new();
	vw_rb_ifpair_in(&rb, set_of(p, "intra"));
	vw_rb_ct_mark_or(&rb, VW_CT_MARK);
	vw_rb_commit_verdict(&rb, c, NF_ACCEPT, NULL);
	/* Untracked ones too (neighbour discovery, with br_netfilter): their
	 * ct mark cannot be loaded, which ends the rule above before its
	 * accept. */
	rb = vw_rb_new();
	vw_rb_ifpair_in(&rb, set_of(p, "intra"));
	vw_rb_commit_verdict(&rb, c, NF_ACCEPT, NULL);
	rb = vw_rb_new();
	vw_rb_ifname_in(&rb, false, bridges);
	vw_rb_ifname_in(&rb, true, bridges);
	vw_rb_commit_verdict(&rb, c, NFT_JUMP, "guest-reject");
	/* A guest's TCP connection begins with a SYN. A segment of one that
	 * conntrack no longer knows (its forward went away and virtwire
	 * ended it) would otherwise be taken up as new and masqueraded from
	 * the very host port the client knows: the old connection back, the
	 * other way round. The guest is told it is over. */
	rb = vw_rb_new();
	vw_rb_ifname_in(&rb, false, bridges);
	vw_rb_ct_state_new(&rb);
	vw_rb_tcp_not_syn(&rb);
	vw_rb_reject_tcp_reset(&rb);
	vw_rb_commit(&rb, c);
	rb = vw_rb_new();
	vw_rb_ifname_vmap(&rb, false, set_of(p, "egress"));
	vw_rb_commit(&rb, c);
	rb = vw_rb_new();
	vw_rb_ifname_vmap(&rb, true, set_of(p, "ingress"));
	vw_rb_commit(&rb, c);
}

/* Traffic to and from the host: internal networks are kept out; DHCP and
 * DNS from guests are admitted (and marked). */
static void chains_local(VwPlan *p)
{
	VwChain *c = vw_plan_add_base_chain(inet(p), "input", VW_CHAIN_FILTER, NF_INET_LOCAL_IN, -10, "filter - 10");
	const VwSet *closed = set_of(p, "closed");
	VwRuleBuf rb = vw_rb_new();

	vw_rb_ifname_in(&rb, false, closed);
	vw_rb_commit_verdict(&rb, c, NF_DROP, NULL);
	rb = vw_rb_new();
	vw_rb_ifname_in(&rb, false, set_of(p, "served"));
	vw_rb_proto_port_in(&rb, set_of(p, "host-services"));
	vw_rb_ct_mark_or(&rb, VW_CT_MARK);
	vw_rb_commit_verdict(&rb, c, NF_ACCEPT, NULL);

	c = vw_plan_add_base_chain(inet(p), "output", VW_CHAIN_FILTER, NF_INET_LOCAL_OUT, -10, "filter - 10");
	rb = vw_rb_new();
	vw_rb_ifname_in(&rb, true, closed);
	vw_rb_commit_verdict(&rb, c, NF_DROP, NULL);
}

static void plan_skeleton(VwPlan *p)
{
	VwChain *c;
	VwRuleBuf rb;

	plan_sets(p);
	/* Guests sent away are told so (rather than left to time out). */
	c = vw_plan_add_chain(inet(p), "guest-reject", NULL);
	rb = vw_rb_new();
	vw_rb_reject_admin(&rb);
	vw_rb_commit(&rb, c);
	chain_forwards(p);
	chain_count(p);
	chains_nat(p);
	chain_forward(p);
	chains_local(p);
	vw_plan_span_skeleton(p);
	vw_plan_host_rules(p);
}

static void find_fwd_sets(Planner *pl)
{
	for (int v6 = 0; v6 < 2; v6++) {
		FwdSets *fs = &pl->fwd[v6];
		const char *m = v6 ? "fwd6" : "fwd4";
		g_autofree char *any = g_strdup_printf("%sany", m);
		g_autofree char *src = g_strdup_printf("%ssrc", m);
		g_autofree char *anysrc = g_strdup_printf("%sanysrc", m);
		g_autofree char *allow = g_strdup_printf("%sallow", m);
		g_autofree char *anyallow = g_strdup_printf("%sanyallow", m);
		g_autofree char *count = g_strdup_printf("%scount", m);

		fs->map[0] = set_of(pl->plan, m);
		fs->map[1] = set_of(pl->plan, any);
		fs->src[0] = set_of(pl->plan, src);
		fs->src[1] = set_of(pl->plan, anysrc);
		fs->allow[0] = set_of(pl->plan, allow);
		fs->allow[1] = set_of(pl->plan, anyallow);
		fs->lo = v6 ? NULL : set_of(pl->plan, "fwd4lo");
		fs->count = set_of(pl->plan, count);
	}
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
		g_hash_table_replace(pl->elem_count, g_strdup(owner),
				     GUINT_TO_POINTER(VW_MAX_ELEMENTS_PER_NETWORK + 1));
		return false;
	}
	g_hash_table_replace(pl->elem_count, g_strdup(owner), GUINT_TO_POINTER(have + n));
	return true;
}

static void add_ifname(VwPlan *p, const char *set, const char *ifname, const char *owner)
{
	VwElem *e = vw_elem_new(owner);

	vw_key_ifname(e, ifname);
	vw_set_add(set_of(p, set), e);
}

static void add_ifname_verdict(VwPlan *p, const char *map, const char *ifname, int verdict, const char *chain,
			       const char *owner)
{
	VwElem *e = vw_elem_new(owner);

	vw_key_ifname(e, ifname);
	e->has_verdict = true;
	e->verdict = verdict;
	e->chain = g_strdup(chain);
	vw_set_add(set_of(p, map), e);
}

static void add_addr(VwPlan *p, const char *set, const VwAddr *a, const char *owner)
{
	VwElem *e = vw_elem_new(owner);

	vw_key_put_addr(e->key, &e->key_len, a);
	vw_set_add(set_of(p, set), e);
}

/* A subnet of a single-field interval map, jumping to @chain. */
static void add_subnet_jump(VwPlan *p, const char *map, const VwPrefix *sub, const char *chain, const char *owner)
{
	VwElem *e = vw_elem_new(owner);
	VwAddr net = vw_addr_network(&sub->addr, sub->prefix);
	VwAddr last = vw_addr_broadcast(&sub->addr, sub->prefix);

	vw_key_put_addr(e->key, &e->key_len, &net);
	e->has_verdict = true;
	e->verdict = NFT_JUMP;
	e->chain = g_strdup(chain);
	vw_set_add_range(set_of(p, map), e, last.b);
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

/* The key of a forward on host port @hp: protocol [. listen address] . port. */
static VwElem *fwd_key_elem(const FwdCtx *fc, bool any, uint16_t hp)
{
	VwElem *e = vw_elem_new(fc->owner);

	vw_key_put_proto(e->key, &e->key_len, (uint8_t)fc->fwd->proto);
	if (!any)
		vw_key_put_addr(e->key, &e->key_len, &fc->fwd->listen);
	vw_key_put_port(e->key, &e->key_len, hp);
	return e;
}

/* One host port's elements: its map entry (a shifted range maps port by
 * port, and an exact-match map keeps every lookup O(1)), its loopback twin,
 * its target's counter, its key in the allow-listed keys. False when the
 * port is taken. */
static bool fwd_port_elems(Planner *pl, const FwdCtx *fc, const FwdSets *fs, VwSet *lo, const VwAddr *target,
			   unsigned i)
{
	const VwForward *f = fc->fwd;
	bool any = !vw_addr_is_set(&f->listen);
	uint16_t hp = (uint16_t)(f->host.lo + i);
	uint16_t gp = vw_forward_guest_port(f, i);
	VwElem *e = fwd_key_elem(fc, any, hp);
	VwElem *k;

	vw_key_put_addr(e->data, &e->data_len, target);
	vw_key_put_port(e->data, &e->data_len, gp);
	if (lo) {
		VwElem *l = vw_elem_new(fc->owner);

		memcpy(l->key, e->key, e->key_len);
		l->key_len = e->key_len;
		memcpy(l->data, e->data, e->data_len);
		l->data_len = e->data_len;
		if (!vw_set_add(lo, l))
			collision(pl, fc, hp);
	}
	if (!vw_set_add(fs->map[any], e)) {
		collision(pl, fc, hp);
		return false;
	}
	/* Forwards to one target share its counter. */
	k = vw_elem_new(fc->owner);
	vw_key_put_proto(k->key, &k->key_len, (uint8_t)f->proto);
	vw_key_put_addr(k->key, &k->key_len, target);
	vw_key_put_port(k->key, &k->key_len, gp);
	vw_set_add(fs->count, k);
	if (f->sources->len)
		vw_set_add(fs->src[any], fwd_key_elem(fc, any, hp));
	return true;
}

/* The allow-list of a forward: a concatenated interval per source, from the
 * first of each field's range (the key) to the last (the key end). */
static void fwd_allow_elems(const FwdCtx *fc, const FwdSets *fs, int family)
{
	const VwForward *f = fc->fwd;
	bool any = !vw_addr_is_set(&f->listen);

	for (guint i = 0; i < f->sources->len; i++) {
		const VwSource *src = f->sources->pdata[i];
		VwAddr first = vw_addr_network(&src->prefix.addr, src->prefix.prefix);
		VwAddr last = vw_addr_broadcast(&src->prefix.addr, src->prefix.prefix);
		VwElem *e;

		if (src->prefix.addr.family != family)
			continue;
		e = vw_elem_new(fc->owner);
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
		vw_set_add(fs->allow[any], e);
	}
}

static void plan_forward_family(Planner *pl, const FwdCtx *fc, int family, const VwAddr *target)
{
	const VwForward *f = fc->fwd;
	const FwdSets *fs = &pl->fwd[family == AF_INET6];
	bool any = !vw_addr_is_set(&f->listen);
	VwSet *lo = any && fs->lo && vw_network_localhost(fc->net) ? fs->lo : NULL;
	unsigned n = vw_port_range_len(f->host);

	if (!count_elements(pl, fc->owner, n * (2 + (lo != NULL) + (f->sources->len > 0)) + f->sources->len, fc->loc))
		return;
	for (unsigned i = 0; i < n; i++)
		if (!fwd_port_elems(pl, fc, fs, lo, target, i))
			return;
	if (f->sources->len)
		fwd_allow_elems(fc, fs, family);
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

/* Whether virtwire has anything of the network's in table inet virtwire:
 * its firewall, or forwards into a libvirt network. */
static bool uses_inet(const VwNetwork *net)
{
	/* Bridged mode: only its bridge in @intra (see plan_network). */
	if (vw_network_virtwire_owns_firewall(net) || vw_network_effective_mode(net) == VW_MODE_BRIDGED)
		return true;
	return (net->forward == VW_FWD_NAT || net->forward == VW_FWD_ROUTE) && net->vw &&
	       (net->vw->forwards->len > 0 || net->vw->domain_forwards == VW_TRI_YES);
}

bool vw_plan_network_uses_table(const VwNetwork *net)
{
	return uses_inet(net) || vw_network_spoof_filter(net) || (net->vw && net->vw->span);
}

/* One network, as the planner sees it. */
typedef struct {
	const VwNetwork *net;
	const char *id;
	const char *br;
	VwMode mode;
	bool own; /* virtwire writes the network's firewall */
	bool hairpin;
	GPtrArray *fwds; /* VwForward* */
} NetCtx;

/* The subnet of the network's @i-th address, or false if it has none. */
static bool subnet_of(const VwNetwork *net, guint i, VwPrefix *ret)
{
	const VwIp *ip = net->ips->pdata[i];

	ret->addr = ip->address;
	ret->prefix = ip->prefix;
	return ip->has_prefix;
}

/* The bridge's pair in @intra: traffic within the bridge, which the
 * forward hook sees with br_netfilter, is admitted and marked. */
static void add_intra(VwPlan *p, const NetCtx *nc)
{
	VwElem *e = vw_elem_new(nc->id);

	vw_key_ifname(e, nc->br);
	memcpy(e->key + 16, e->key, 16);
	e->key_len = 32;
	vw_set_add(set_of(p, "intra"), e);
}

/* The bridge, its pair for intra-bridge traffic, the host's addresses. */
static void network_elements(VwPlan *p, const NetCtx *nc)
{
	add_ifname(p, "bridges", nc->br, nc->id);
	add_intra(p, nc);
	for (guint i = 0; i < nc->net->ips->len; i++) {
		const VwIp *ip = nc->net->ips->pdata[i];

		if (vw_addr_is_set(&ip->address))
			add_addr(p, ip->address.family == AF_INET6 ? "gw6" : "gw4", &ip->address, nc->id);
	}
}

/* The bridge in the role sets and dispatch maps of its mode: guests of nat
 * and routed networks leave through the network's chain, the others are
 * sent away; only routed networks are reached from outside; internal
 * networks are closed to the host. */
static void network_roles(VwPlan *p, const NetCtx *nc, const char *out_chain, const char *in_chain)
{
	const char *br = nc->br, *id = nc->id;
	bool routed = nc->mode == VW_MODE_NAT || nc->mode == VW_MODE_ROUTE;

	if (!routed && nc->mode != VW_MODE_HOST_ONLY && nc->mode != VW_MODE_INTERNAL)
		return;
	add_ifname_verdict(p, "egress", br, NFT_JUMP, routed ? out_chain : "guest-reject", id);
	if (nc->mode == VW_MODE_ROUTE)
		add_ifname_verdict(p, "ingress", br, NFT_JUMP, in_chain, id);
	else
		add_ifname_verdict(p, "ingress", br, NF_DROP, NULL, id);
	if (nc->mode == VW_MODE_INTERNAL)
		add_ifname(p, "closed", br, id);
	else if (nc->net->ips->len)
		add_ifname(p, "served", br, id);
}

/* A chain accepting (and marking) the network's subnets as source (@daddr
 * false) or destination, then @verdict. */
static void subnet_chain(VwPlan *p, const NetCtx *nc, const char *name, bool daddr, int verdict, const char *target)
{
	VwChain *c = vw_plan_add_chain(inet(p), name, nc->id);
	VwRuleBuf rb;

	for (guint i = 0; i < nc->net->ips->len; i++) {
		VwPrefix sub;

		if (!subnet_of(nc->net, i, &sub))
			continue;
		rb = vw_rb_new();
		vw_rb_prefix(&rb, daddr, &sub, false);
		vw_rb_ct_mark_or(&rb, VW_CT_MARK);
		vw_rb_commit_verdict(&rb, c, NF_ACCEPT, NULL);
	}
	rb = vw_rb_new();
	vw_rb_commit_verdict(&rb, c, verdict, target);
}

/* Outgoing source NAT of a nat network: masquerade, or SNAT to the chosen
 * address, per subnet (and per egress uplink, if given). */
static void snat_egress(VwChain *c, const NetCtx *nc)
{
	GPtrArray *ups = nc->net->vw->nat_uplinks;
	const VwAddr *to = &nc->net->vw->nat_address;
	guint nups = ups ? ups->len : 0;

	for (guint i = 0; i < nc->net->ips->len; i++) {
		VwPrefix sub;

		if (!subnet_of(nc->net, i, &sub))
			continue;
		for (guint u = 0; u < MAX(nups, 1u); u++) {
			VwRuleBuf rb = vw_rb_new();

			vw_rb_prefix(&rb, true, &sub, true);
			if (nups)
				vw_rb_ifname_eq(&rb, true, ups->pdata[u]);
			if (vw_addr_is_set(to) && to->family == sub.addr.family)
				vw_rb_snat_to(&rb, to);
			else
				vw_rb_masquerade(&rb);
			vw_rb_commit(&rb, c);
		}
	}
}

/* The network's source NAT chain and its subnets in the dispatch maps. */
static void snat_chain(VwPlan *p, const NetCtx *nc, const char *name, bool snat)
{
	VwChain *c = vw_plan_add_chain(inet(p), name, nc->id);

	for (guint i = 0; i < nc->net->ips->len; i++) {
		VwPrefix sub;
		VwRuleBuf rb;

		if (!subnet_of(nc->net, i, &sub))
			continue;
		add_subnet_jump(p, sub.addr.family == AF_INET6 ? "snat6" : "snat4", &sub, name, nc->id);
		/* Hairpin: a guest reaching a forward to its own subnet
		 * through the host's address must see the reply come from the
		 * host, not from the other guest. */
		if (!nc->hairpin)
			continue;
		rb = vw_rb_new();
		vw_rb_prefix(&rb, true, &sub, false);
		vw_rb_ct_status_dnat(&rb);
		vw_rb_masquerade(&rb);
		vw_rb_commit(&rb, c);
	}
	if (snat)
		snat_egress(c, nc);
}

/* Per-network chains come after the skeleton: that is where the kernel
 * lists chains created by a later apply, too. */
static void network_chains(VwPlan *p, const NetCtx *nc, const char *out_chain, const char *in_chain)
{
	g_autofree char *snat_name = g_strdup_printf("nw-%s-snat", nc->id);
	bool routed = nc->mode == VW_MODE_NAT || nc->mode == VW_MODE_ROUTE;
	bool snat = nc->own && nc->mode == VW_MODE_NAT;
	bool dom = nc->net->vw && nc->net->vw->domain_forwards == VW_TRI_YES;

	if (nc->own && routed)
		subnet_chain(p, nc, out_chain, false, NFT_JUMP, "guest-reject");
	if (nc->own && nc->mode == VW_MODE_ROUTE)
		subnet_chain(p, nc, in_chain, true, NF_DROP, NULL);
	if (snat || (nc->hairpin && (nc->fwds->len || dom)))
		snat_chain(p, nc, snat_name, snat);
}

static void network_sysctls(VwPlan *p, const NetCtx *nc)
{
	const char *id = nc->id;

	if (vw_network_localhost(nc->net) && (nc->mode == VW_MODE_NAT || nc->mode == VW_MODE_ROUTE)) {
		g_autofree char *path = g_strdup_printf("net/ipv4/conf/%s/route_localnet", nc->br);

		add_sysctl(p, path, "1", id, true);
	}
	if (nc->own && (nc->mode == VW_MODE_NAT || nc->mode == VW_MODE_ROUTE)) {
		if (has_family(nc->net, AF_INET) || nc->fwds->len)
			add_sysctl(p, "net/ipv4/ip_forward", "1", id, false);
		if (has_family(nc->net, AF_INET6))
			add_sysctl(p, "net/ipv6/conf/all/forwarding", "1", id, false);
	} else if (nc->fwds->len) {
		add_sysctl(p, "net/ipv4/ip_forward", "1", id, false);
	}
}

static void plan_network(Planner *pl, const VwNetwork *net)
{
	VwPlan *p = pl->plan;
	g_autofree char *id = vw_plan_network_id(net->name);
	g_autofree char *out_chain = g_strdup_printf("nw-%s-out", id);
	g_autofree char *in_chain = g_strdup_printf("nw-%s-in", id);
	NetCtx nc = { net, id, net->bridge, vw_network_effective_mode(net), vw_network_virtwire_owns_firewall(net) };

	if (!nc.br || strchr(nc.br, '%')) {
		vw_error(pl->diags, net->loc, "missing-bridge",
			 "give <bridge name='…'/>, or pass the live XML (virsh net-dumpxml NAME) in which libvirt "
			 "has filled it in",
			 "network '%s': virtwire needs the bridge's name", net->name);
		return;
	}
	vw_plan_zone_bind(p, net, id);
	/* Bridged mode: with br_netfilter, the frames bridged between its
	 * guests and the LAN pass the forward hook with the bridge as both
	 * interfaces, and a host firewall's drop policy there would take
	 * them; marked, they pass as virtwire's. Nothing else of it is here
	 * (not a guest bridge: the host's own traffic crosses it). */
	if (nc.mode == VW_MODE_BRIDGED) {
		add_intra(p, &nc);
		return;
	}
	nc.hairpin = vw_network_hairpin(net) && (nc.mode == VW_MODE_NAT || nc.mode == VW_MODE_ROUTE);
	nc.fwds = vw_network_forwards(net);
	network_elements(p, &nc);
	if (nc.own)
		network_roles(p, &nc, out_chain, in_chain);
	/* libvirt's own NAT firewall rejects new connections towards the
	 * bridge: keep one accept for the DNATed ones in front of it. */
	if (!nc.own && nc.mode == VW_MODE_NAT && (has_family(net, AF_INET) || has_family(net, AF_INET6)))
		vw_plan_coexist(p, id, nc.br, has_family(net, AF_INET), has_family(net, AF_INET6));
	if (vw_network_localhost(net) && (nc.mode == VW_MODE_NAT || nc.mode == VW_MODE_ROUTE))
		add_ifname(p, "localnet", nc.br, id);
	network_chains(p, &nc, out_chain, in_chain);
	network_sysctls(p, &nc);
	for (guint i = 0; i < nc.fwds->len; i++)
		plan_forward(pl, net, id, id, nc.fwds->pdata[i]);
}

/* The domain's port on @net: its forwards, targeting its interface's
 * reservation, and the spoof filter on it. */
static void plan_domain(Planner *pl, const VwNetwork *net, const char *id, const VwPlanDomain *pd)
{
	const VwDomain *dom = pd->domain;
	g_autofree char *owner = vw_plan_port_owner(id, pd->port_uuid ? pd->port_uuid : dom->name);

	if (vw_network_spoof_filter(net))
		vw_plan_spoof_port(pl->plan, net, id, owner, pd);
	if (!dom->vw || !uses_inet(net))
		return;
	for (guint i = 0; i < dom->vw->forwards->len; i++) {
		/* Planned as a network forward to the interface's MAC. */
		g_autoptr(VwForward) copy = vw_domain_forward_resolve(dom, dom->vw->forwards->pdata[i], net->name,
								      pd->has_mac ? &pd->mac : NULL);

		if (copy)
			plan_forward(pl, net, id, owner, copy);
	}
}

VwPlan *vw_plan_skeleton(void)
{
	VwPlan *p = vw_plan_new();

	plan_skeleton(p);
	vw_plan_spoof_skeleton(p);
	return p;
}

static int network_name_cmp(gconstpointer a, gconstpointer b)
{
	const VwNetwork *x = *(VwNetwork *const *)a, *y = *(VwNetwork *const *)b;

	return g_strcmp0(x->name, y->name);
}

/* The networks to plan, in name order: the plan must not depend on file
 * order. True when any of them needs the table. */
static bool sorted_networks(VwPlan *p, GPtrArray *networks, GPtrArray *sorted)
{
	bool table = false;

	for (guint i = 0; i < networks->len; i++) {
		const VwNetwork *n = networks->pdata[i];

		if (!n->name)
			continue;
		g_ptr_array_add(sorted, (gpointer)n);
		g_ptr_array_add(p->networks, g_strdup(n->name));
		table |= vw_plan_network_uses_table(n);
	}
	g_ptr_array_sort(sorted, network_name_cmp);
	return table;
}

VwPlan *vw_plan_build(GPtrArray *networks, GPtrArray *domains, VwDiags *diags)
{
	g_autoptr(VwPlan) p = vw_plan_new();
	g_autoptr(GPtrArray) sorted = g_ptr_array_new();
	g_autoptr(GHashTable) counts = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	Planner pl = { .plan = p, .diags = diags, .elem_count = counts };
	guint errors = vw_diags_count(diags, VW_SEV_ERROR);

	if (sorted_networks(p, networks, sorted)) {
		plan_skeleton(p);
		vw_plan_spoof_skeleton(p);
		find_fwd_sets(&pl);
	}
	for (guint i = 0; i < sorted->len; i++) {
		const VwNetwork *n = sorted->pdata[i];
		g_autofree char *id = vw_plan_network_id(n->name);

		vw_plan_links(p, n, id);
		if (uses_inet(n))
			plan_network(&pl, n);
		vw_plan_span_elements(p, n, id, diags);
		if (vw_network_spoof_filter(n))
			vw_plan_spoof_network(p, n, id);
		for (guint j = 0; domains && j < domains->len; j++)
			if (g_strcmp0(((const VwPlanDomain *)domains->pdata[j])->network, n->name) == 0)
				plan_domain(&pl, n, id, domains->pdata[j]);
	}
	if (vw_diags_count(diags, VW_SEV_ERROR) > errors)
		return NULL;
	vw_plan_drop_indexes(p);
	return g_steal_pointer(&p);
}
