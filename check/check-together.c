/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Several networks and domains given together: duplicate names, bridges
 * and MACs, overlapping subnets, and forwards that claim the same host port.
 * O(n log n) in the number of forwards and subnets. */
#include "check-private.h"

typedef struct {
	VwProto proto;
	int family;
	bool any; /* every local address */
	VwAddr listen;
	VwPortRange host;
	const VwForward *fwd;
	const char *owner; /* "network 'x'" or "domain 'y'" */
	guint order;	   /* place in the input: networks, then domains */
} Claim;

static int claim_cmp(gconstpointer pa, gconstpointer pb)
{
	const Claim *a = pa, *b = pb;

	if (a->proto != b->proto)
		return (a->proto > b->proto) - (a->proto < b->proto);
	if (a->family != b->family)
		return (a->family > b->family) - (a->family < b->family);
	if (a->host.lo != b->host.lo)
		return (a->host.lo > b->host.lo) - (a->host.lo < b->host.lo);
	return (a->host.hi > b->host.hi) - (a->host.hi < b->host.hi);
}

static void add_claims(GArray *claims, const VwForward *f, unsigned fams, const char *owner)
{
	for (int fi = 0; fi < 2; fi++) {
		Claim c = { 0 };

		if (!(fams & (fi ? VW_FAM_V6 : VW_FAM_V4)))
			continue;
		c.proto = f->proto;
		c.family = fi ? AF_INET6 : AF_INET;
		c.any = !vw_addr_is_set(&f->listen);
		c.listen = f->listen;
		c.host = f->host;
		c.fwd = f;
		c.owner = owner;
		c.order = claims->len;
		g_array_append_val(claims, c);
	}
}

static guint addr_hash(gconstpointer p)
{
	return vw_addr_hash(p);
}

static gboolean addr_equal(gconstpointer a, gconstpointer b)
{
	return vw_addr_equal(a, b);
}

static const char *claim_where(const Claim *c, char buf[VW_ADDR_STRLEN])
{
	if (c->any)
		return c->family == AF_INET6 ? "every IPv6 address" : "every IPv4 address";
	return vw_addr_to_string(&c->listen, buf);
}

static void report_collision(const Claim *c, const Claim *prev, VwDiags *d)
{
	g_autofree char *what = vw_forward_describe(c->fwd);
	g_autofree char *other = vw_forward_describe(prev->fwd);
	g_autofree char *ports = NULL;
	g_autofree char *there = NULL;
	unsigned lo = MAX(c->host.lo, prev->host.lo), hi = MIN(c->host.hi, prev->host.hi);
	char a[VW_ADDR_STRLEN], b[VW_ADDR_STRLEN];
	const char *here = claim_where(c, a);
	const char *where_prev = claim_where(prev, b);

	/* Name both listen addresses when they differ: "on 203.0.113.5" is
	 * taken by a forward "on every IPv4 address". */
	there = strcmp(here, where_prev) != 0 ? g_strdup_printf(" on %s", where_prev) : g_strdup("");
	ports = lo == hi ? g_strdup_printf("%u", lo) : g_strdup_printf("%u-%u", lo, hi);
	E(d, c->fwd->loc, "forward-collision", "pick another host port, or another listen address",
	  "forward %s: host port %s/%s on %s is already forwarded by %s of %s%s (%s:%d)", what, ports,
	  vw_proto_to_string(c->proto), here, other, prev->owner, there, prev->fwd->loc.file, prev->fwd->loc.line);
}

/*
 * Forward collisions in O(n log n): sort the claims of one protocol and
 * family by first port, then sweep, remembering the claim that reaches
 * furthest overall, among "any address" claims, and per listen address. A
 * claim collides with an earlier one iff one of those reaches its first port.
 */
static void check_collisions(GArray *claims, VwDiags *d)
{
	g_autoptr(GHashTable) by_addr = NULL;
	const Claim *far_all = NULL, *far_any = NULL;

	g_array_sort(claims, claim_cmp);
	for (guint i = 0; i < claims->len; i++) {
		const Claim *c = &g_array_index(claims, Claim, i);
		const Claim *hit = NULL;

		if (i == 0 || c->proto != g_array_index(claims, Claim, i - 1).proto ||
		    c->family != g_array_index(claims, Claim, i - 1).family) {
			g_clear_pointer(&by_addr, g_hash_table_unref);
			by_addr = g_hash_table_new(addr_hash, addr_equal);
			far_all = far_any = NULL;
		}
		if (c->any) {
			if (far_all && far_all->host.hi >= c->host.lo)
				hit = far_all;
		} else {
			const Claim *same = g_hash_table_lookup(by_addr, &c->listen);

			if (same && same->host.hi >= c->host.lo)
				hit = same;
			else if (far_any && far_any->host.hi >= c->host.lo)
				hit = far_any;
		}
		if (hit) {
			/* Blame whichever of the two comes later in the input
			 * (the networks being added come after those that
			 * are already there). */
			if (c->order < hit->order)
				report_collision(hit, c, d);
			else
				report_collision(c, hit, d);
		}
		if (!far_all || c->host.hi > far_all->host.hi)
			far_all = c;
		if (c->any) {
			if (!far_any || c->host.hi > far_any->host.hi)
				far_any = c;
		} else {
			const Claim *same = g_hash_table_lookup(by_addr, &c->listen);

			if (!same || c->host.hi > same->host.hi)
				g_hash_table_insert(by_addr, (gpointer)&c->listen, (gpointer)c);
		}
	}
}

typedef struct {
	VwPrefix p;
	const VwNetwork *net;
	const VwIp *ip;
} Sub;

static int sub_cmp(gconstpointer pa, gconstpointer pb)
{
	const Sub *a = pa, *b = pb;
	int c = vw_addr_cmp(&a->p.addr, &b->p.addr);

	if (c)
		return c;
	return (a->p.prefix > b->p.prefix) - (a->p.prefix < b->p.prefix);
}

/* Networks and bridges by name; @names gets the first network of each name. */
static void check_names(GPtrArray *networks, GHashTable *names, VwDiags *d)
{
	g_autoptr(GHashTable) bridges = g_hash_table_new(g_str_hash, g_str_equal);

	for (guint i = 0; i < networks->len; i++) {
		const VwNetwork *n = networks->pdata[i];
		const VwNetwork *prev;

		if (!n->name)
			continue;
		prev = g_hash_table_lookup(names, n->name);
		if (prev) {
			E(d, n->loc, "duplicate-network", "give each network its own name",
			  "network '%s' is defined twice (also at %s:%d)", n->name, prev->loc.file, prev->loc.line);
			continue;
		}
		g_hash_table_insert(names, n->name, (gpointer)n);
		if (n->bridge && !strchr(n->bridge, '%')) {
			prev = g_hash_table_lookup(bridges, n->bridge);
			if (prev)
				E(d, n->bridge_loc, "duplicate-bridge", "give each network its own bridge",
				  "network '%s': bridge '%s' is also network '%s''s (%s:%d)", n->name, n->bridge,
				  prev->name, prev->bridge_loc.file, prev->bridge_loc.line);
			else
				g_hash_table_insert(bridges, n->bridge, (gpointer)n);
		}
	}
}

/* Subnets across networks, in O(n log n): CIDR prefixes either nest or are
 * disjoint, so after sorting by (family, network address, length) a prefix
 * overlaps an earlier one iff the earlier prefix reaching furthest contains
 * it. A network defined twice counts once (@names: the first of each name). */
static void check_subnets(GPtrArray *networks, GHashTable *names, VwDiags *d)
{
	g_autoptr(GArray) subs = g_array_new(FALSE, FALSE, sizeof(Sub));
	const Sub *far = NULL;
	VwAddr far_end = { 0 };

	for (guint i = 0; i < networks->len; i++) {
		const VwNetwork *n = networks->pdata[i];

		if (n->name && g_hash_table_lookup(names, n->name) != n)
			continue;
		for (guint j = 0; j < n->ips->len; j++) {
			const VwIp *ip = n->ips->pdata[j];
			Sub sub = { vw_chk_ip_subnet(ip), n, ip };

			if (ip->has_prefix && vw_addr_is_set(&ip->address))
				g_array_append_val(subs, sub);
		}
	}
	g_array_sort(subs, sub_cmp);
	for (guint i = 0; i < subs->len; i++) {
		const Sub *cur = &g_array_index(subs, Sub, i);
		VwAddr end_addr = vw_addr_broadcast(&cur->p.addr, cur->p.prefix);

		if (far && far->p.addr.family == cur->p.addr.family && vw_prefix_contains(&far->p, &cur->p.addr) &&
		    far->net != cur->net) {
			g_autofree char *a = vw_prefix_to_string(&cur->p);
			g_autofree char *b = vw_prefix_to_string(&far->p);

			E(d, cur->ip->loc, "subnet-overlap", "give each network a subnet of its own",
			  "network '%s': subnet %s overlaps %s of network '%s' (%s:%d)", cur->net->name, a, b,
			  far->net->name, far->ip->loc.file, far->ip->loc.line);
		}
		if (!far || far->p.addr.family != cur->p.addr.family || vw_addr_cmp(&end_addr, &far_end) > 0) {
			far = cur;
			far_end = end_addr;
		}
	}
}

/* The host ports the networks' own forwards claim. */
static void network_claims(GPtrArray *networks, GArray *claims, GPtrArray *owners)
{
	for (guint i = 0; i < networks->len; i++) {
		const VwNetwork *n = networks->pdata[i];
		GPtrArray *fwds = vw_network_forwards(n);
		char *owner;

		if (!fwds->len)
			continue;
		owner = g_strdup_printf("network '%s'", n->name);
		g_ptr_array_add(owners, owner);
		for (guint j = 0; j < fwds->len; j++) {
			const VwForward *f = fwds->pdata[j];

			if (f->has_proto && f->has_host_port)
				add_claims(claims, f, vw_forward_families(n, f), owner);
		}
	}
}

typedef struct {
	GHashTable *names;     /* domain name → first VwDomain */
	GHashTable *macs;      /* MAC text → first VwInterface with it */
	GHashTable *iface_dom; /* VwInterface → its VwDomain */
} DomainsSeen;

/* A domain defined twice, and MACs that another domain uses too. */
static void check_domain_unique(const VwDomain *dom, DomainsSeen *seen, VwDiags *d)
{
	const VwDomain *prev = g_hash_table_lookup(seen->names, dom->name);

	if (prev)
		E(d, dom->loc, "duplicate-domain", NULL, "domain '%s' is defined twice (also at %s:%d)", dom->name,
		  prev->loc.file, prev->loc.line);
	else
		g_hash_table_insert(seen->names, dom->name, (gpointer)dom);
	for (guint j = 0; j < dom->interfaces->len; j++) {
		const VwInterface *iface = dom->interfaces->pdata[j];
		g_autofree char *place = vw_chk_mac_place(iface);
		const VwInterface *other_iface;
		const VwDomain *other;

		if (!place)
			continue;
		other_iface = g_hash_table_lookup(seen->macs, place);
		other = other_iface ? g_hash_table_lookup(seen->iface_dom, other_iface) : NULL;
		if (!other) {
			g_hash_table_insert(seen->iface_dom, (gpointer)iface, (gpointer)dom);
			g_hash_table_insert(seen->macs, g_steal_pointer(&place), (gpointer)iface);
		} else if (other != dom) {
			/* Point at the other interface, not at its <domain>. */
			E(d, iface->loc, "duplicate-mac", "give each guest interface on one network its own MAC",
			  "domain '%s': MAC %s is also used by domain '%s' (%s:%d)", dom->name, place, other->name,
			  other_iface->loc.file, other_iface->loc.line);
		}
	}
}

/* The host ports a domain's forwards claim, in the families its interface
 * on the network has reservations in. */
static void domain_claims(const VwDomain *dom, GPtrArray *networks, GArray *claims, GPtrArray *owners)
{
	char *owner;

	if (!dom->vw || !dom->vw->forwards->len)
		return;
	owner = g_strdup_printf("domain '%s'", dom->name);
	g_ptr_array_add(owners, owner);
	for (guint j = 0; j < dom->vw->forwards->len; j++) {
		const VwForward *f = dom->vw->forwards->pdata[j];
		const VwNetwork *n = vw_chk_find_network(networks, f->network);
		unsigned fams = 0;

		if (!n || !f->has_proto || !f->has_host_port)
			continue;
		for (guint k = 0; k < dom->interfaces->len; k++) {
			const VwInterface *iface = dom->interfaces->pdata[k];

			if (g_strcmp0(iface->source_network, f->network) || !iface->has_mac ||
			    (f->has_mac && !vw_mac_equal(&f->mac, &iface->mac)))
				continue;
			if (vw_network_find_reservation(n, &iface->mac, AF_INET))
				fams |= VW_FAM_V4;
			if (vw_network_find_reservation(n, &iface->mac, AF_INET6))
				fams |= VW_FAM_V6;
		}
		if (vw_addr_is_set(&f->listen))
			fams &= f->listen.family == AF_INET ? VW_FAM_V4 : VW_FAM_V6;
		add_claims(claims, f, fams, owner);
	}
}

void vw_check_together(GPtrArray *all_networks, GPtrArray *domains, VwDiags *d)
{
	/* A network whose name is refused has that one finding (its own
	 * rules); it is not quoted in anyone else's. */
	g_autoptr(GPtrArray) networks = g_ptr_array_new();
	g_autoptr(GArray) claims = g_array_new(FALSE, FALSE, sizeof(Claim));
	g_autoptr(GPtrArray) owners = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GHashTable) names = g_hash_table_new(g_str_hash, g_str_equal);
	g_autoptr(GHashTable) dom_names = g_hash_table_new(g_str_hash, g_str_equal);
	g_autoptr(GHashTable) macs = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	g_autoptr(GHashTable) iface_dom = g_hash_table_new(NULL, NULL);
	DomainsSeen seen = { dom_names, macs, iface_dom };

	for (guint i = 0; i < all_networks->len; i++) {
		const VwNetwork *n = all_networks->pdata[i];

		if (!n->name || vw_chk_name_ok(n->name))
			g_ptr_array_add(networks, (gpointer)n);
	}
	check_names(networks, names, d);
	check_subnets(networks, names, d);
	vw_chk_span_together(networks, d);
	network_claims(networks, claims, owners);
	for (guint i = 0; domains && i < domains->len; i++) {
		const VwDomain *dom = domains->pdata[i];

		if (!dom->name)
			continue;
		check_domain_unique(dom, &seen, d);
		domain_claims(dom, networks, claims, owners);
	}
	check_collisions(claims, d);
}
