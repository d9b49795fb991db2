/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A network's forwards, and the rules its forwards share with a domain's:
 * port ranges, listen address, sources, and the guest they reach. */
#include "check-private.h"

/* guest-port against host-port: the same length, or one port. */
static void check_ports(const VwForward *f, const char *what, VwDiags *d)
{
	if (f->has_host_port && f->has_guest_port && vw_port_range_len(f->host) != vw_port_range_len(f->guest) &&
	    vw_port_range_len(f->guest) != 1) {
		unsigned n = vw_port_range_len(f->host);
		g_autofree char *hint = NULL;

		if (n == 1)
			hint = g_strdup_printf("make guest-port='%u' (one port, like host-port)", f->guest.lo);
		else if (f->guest.lo + n - 1 > 65535)
			hint = g_strdup_printf("a guest range of %u ports starts at %u at the latest", n,
					       65535 - n + 1);
		else
			hint = g_strdup_printf("make guest-port='%u-%u' (%u ports, like host-port)", f->guest.lo,
					       f->guest.lo + n - 1, n);

		E(d, f->loc, "guest-range-length", hint, "forward %s: guest-port has %u ports but host-port has %u",
		  what, vw_port_range_len(f->guest), vw_port_range_len(f->host));
	} else if (f->has_host_port && f->has_guest_port && vw_port_range_len(f->host) > 1 &&
		   vw_port_range_len(f->guest) == 1) {
		g_autofree char *hint = g_strdup_printf("to shift the range write guest-port='%u-%u'", f->guest.lo,
							f->guest.lo + vw_port_range_len(f->host) - 1);

		if (f->guest.lo + vw_port_range_len(f->host) - 1 > 65535)
			E(d, f->loc, "guest-range-length", NULL,
			  "forward %s: a host range of %u ports cannot start at guest port %u", what,
			  vw_port_range_len(f->host), f->guest.lo);
		else
			E(d, f->loc, "guest-range-length", hint,
			  "forward %s: host-port is a range of %u ports but guest-port is a single port", what,
			  vw_port_range_len(f->host));
	}
}

static void check_listen(const VwNetwork *net, const VwForward *f, const char *what, VwDiags *d)
{
	char a[VW_ADDR_STRLEN];

	if (!vw_addr_is_set(&f->listen))
		return;
	vw_addr_to_string(&f->listen, a);
	if (f->listen.family == AF_INET6 && vw_addr_is_loopback(&f->listen))
		E(d, f->loc, "localhost-ipv6", "forward on 127.0.0.1, or on an address of the host",
		  "forward %s: address='::1' cannot be forwarded (the kernel does not route IPv6 loopback "
		  "traffic to other hosts)",
		  what);
	else if (vw_addr_is_loopback(&f->listen) && !vw_network_localhost(net))
		E(d, f->loc, "localhost-disabled",
		  "add <vw:localhost enabled='yes'/> to the network to allow forwards on 127.0.0.1",
		  "forward %s: address='%s' is a loopback address, and the network does not enable "
		  "localhost forwards",
		  what, a);
	else if (vw_network_find_ip(net, &f->listen))
		E(d, f->loc, "listen-on-guest-subnet",
		  "listen on an address of the host outside, or leave address= out",
		  "forward %s: address='%s' is inside the guests' own subnet", what, a);
}

static void check_sources(const VwForward *f, const char *what, VwDiags *d)
{
	for (guint i = 0; i < f->sources->len; i++) {
		const VwSource *s = f->sources->pdata[i];
		VwAddr netaddr = vw_addr_network(&s->prefix.addr, s->prefix.prefix);
		g_autofree char *ps = vw_prefix_to_string(&s->prefix);

		if (vw_addr_is_set(&f->listen) && s->prefix.addr.family != f->listen.family)
			E(d, s->loc, "family-mismatch", "list sources of the listen address's family",
			  "forward %s: source %s is %s but the forward listens on an %s address", what, ps,
			  vw_chk_fam_name(s->prefix.addr.family), vw_chk_fam_name(f->listen.family));
		else if (vw_addr_is_set(&f->guest_addr) && s->prefix.addr.family != f->guest_addr.family)
			E(d, s->loc, "family-mismatch", "list sources of the guest address's family",
			  "forward %s: source %s is %s but the guest address is %s", what, ps,
			  vw_chk_fam_name(s->prefix.addr.family), vw_chk_fam_name(f->guest_addr.family));
		if (!vw_addr_equal(&netaddr, &s->prefix.addr)) {
			VwPrefix np = { netaddr, s->prefix.prefix };
			g_autofree char *ns = vw_prefix_to_string(&np);
			g_autofree char *hint = g_strdup_printf("write %s", ns);

			W(d, s->loc, "source-host-bits", hint, "forward %s: source %s has host bits set; it means %s",
			  what, ps, ns);
		}
	}
}

/* More ports than this on every address of the host is "all of them" for
 * the host's own services. */
#define WIDE_RANGE 1024

/* A forward takes its host ports from the host itself: TCP port 22 is the
 * operator's own sshd, and a wide range on every address takes whatever
 * the host serves in it. Both are allowed, and worth a warning (an error
 * with check --strict). */
static void check_host_services(const VwForward *f, const char *what, VwDiags *d)
{
	char a[VW_ADDR_STRLEN] = "every address";
	unsigned n = vw_port_range_len(f->host);

	if (!f->has_host_port)
		return;
	if (vw_addr_is_set(&f->listen))
		vw_addr_to_string(&f->listen, a);
	if (f->proto == VW_PROTO_TCP && f->host.lo <= 22 && f->host.hi >= 22)
		W(d, f->loc, "forward-takes-ssh",
		  "forward another host port (guest-port='22' keeps the guest's side), or listen on an address "
		  "the host's sshd does not use",
		  "forward %s: tcp port 22 on %s of the host goes to the guest: the host's own sshd is no longer "
		  "reachable there",
		  what, a);
	else if (n >= WIDE_RANGE && !vw_addr_is_set(&f->listen))
		W(d, f->loc, "forward-takes-all-ports", "narrow the range, or listen on one address with address=",
		  "forward %s: %u %s ports on every address of the host go to the guest, with any host service "
		  "listening among them",
		  what, n, vw_proto_to_string(f->proto));
}

void vw_chk_forward_common(const VwNetwork *net, const VwForward *f, const char *what, VwDiags *d)
{
	check_ports(f, what, d);
	check_host_services(f, what, d);
	check_listen(net, f, what, d);
	check_sources(f, what, d);
}

/* The guest's reservations give the families a forward by MAC reaches it
 * in: with a listen address, vw_chk_forward_common has compared the sources
 * with that already. */
void vw_chk_source_families(const VwForward *f, unsigned fams, const char *what, VwDiags *d)
{
	if (vw_addr_is_set(&f->listen) || !fams)
		return;
	for (guint i = 0; i < f->sources->len; i++) {
		const VwSource *s = f->sources->pdata[i];
		unsigned fam = s->prefix.addr.family == AF_INET6 ? VW_FAM_V6 : VW_FAM_V4;
		g_autofree char *ps = NULL;

		if (fams & fam)
			continue;
		ps = vw_prefix_to_string(&s->prefix);
		E(d, s->loc, "family-mismatch", "list sources of the guest's address family",
		  "forward %s: source %s is %s but the guest has no %s reservation on this network", what, ps,
		  vw_chk_fam_name(s->prefix.addr.family), vw_chk_fam_name(s->prefix.addr.family));
	}
}

static void check_guest_address(const VwNetwork *net, const VwForward *f, const VwAddr *g, const char *what, VwDiags *d)
{
	char a[VW_ADDR_STRLEN];
	const VwIp *ip = vw_network_find_ip(net, g);
	bool host = false, edge = false;

	if (ip && !(host = vw_addr_equal(g, &ip->address)) && !(edge = vw_chk_is_subnet_edge(g, ip->prefix)))
		return; /* the usual case: nothing to word */
	vw_addr_to_string(g, a);
	if (!ip) {
		bool any = false;

		for (guint i = 0; i < net->ips->len; i++)
			any |= ((VwIp *)net->ips->pdata[i])->address.family == g->family;
		E(d, f->loc, "guest-outside-subnet",
		  any ? "forward to a guest's address inside the network's subnet" : "add an <ip> of that family",
		  "forward %s: guest address %s is not inside any %s subnet of network '%s'", what, a,
		  vw_chk_fam_name(g->family), net->name);
		return;
	}
	if (host)
		E(d, f->loc, "guest-is-host", "forward to a guest's address, not the host's",
		  "forward %s: guest address %s is the host's own address on network '%s'", what, a, net->name);
	else if (edge)
		E(d, f->loc, "guest-network-address", NULL,
		  "forward %s: guest address %s is the network or broadcast address of its subnet", what, a);
}

static void check_net_forward(const VwNetwork *net, const VwForward *f, VwDiags *d)
{
	g_autofree char *what = vw_forward_describe(f);
	char a[VW_ADDR_STRLEN], m[VW_MAC_STRLEN];

	vw_chk_forward_common(net, f, what, d);
	if (vw_addr_is_set(&f->guest_addr)) {
		if (vw_addr_is_set(&f->listen) && f->listen.family != f->guest_addr.family)
			E(d, f->loc, "family-mismatch", "NAT does not translate between IPv4 and IPv6",
			  "forward %s: listens on an %s address but the guest address %s is %s", what,
			  vw_chk_fam_name(f->listen.family), vw_addr_to_string(&f->guest_addr, a),
			  vw_chk_fam_name(f->guest_addr.family));
		else
			check_guest_address(net, f, &f->guest_addr, what, d);
	} else if (f->has_guest_mac) {
		unsigned fams;

		vw_mac_to_string(&f->guest_mac, m);
		if (!vw_network_find_reservation(net, &f->guest_mac, AF_INET) &&
		    !vw_network_find_reservation(net, &f->guest_mac, AF_INET6)) {
			vw_chk_unreserved(net, f->loc, what, m, NULL, d);
			return;
		}
		fams = vw_forward_families(net, f);
		if (!fams)
			E(d, f->loc, "family-mismatch",
			  f->listen.family == AF_INET6
				  ? "libvirt reserves IPv6 addresses by DUID, not by MAC: use guest-address= for IPv6"
				  : "add an IPv4 <host mac=… ip=…/> reservation, or listen on an IPv6 address",
			  "forward %s: guest-mac %s has no %s reservation for address='%s'", what, m,
			  vw_chk_fam_name(f->listen.family), vw_addr_to_string(&f->listen, a));
		vw_chk_source_families(f, fams, what, d);
		for (int fam = AF_INET; fam; fam = fam == AF_INET ? AF_INET6 : 0) {
			VwAddr g;

			if (vw_forward_target(net, f, fam, &g))
				check_guest_address(net, f, &g, what, d);
		}
	}
}

void vw_chk_unreserved(const VwNetwork *net, VwLoc loc, const char *what, const char *mac, const char *domain,
		       VwDiags *d)
{
	g_autofree char *who = domain ? g_strdup_printf("domain '%s': forward %s: MAC", domain, what)
				      : g_strdup_printf("forward %s: guest-mac", what);
	g_autofree char *hint = NULL;

	if (vw_network_learns(net)) {
		/* docs/restore-watch.md: the forward follows the guest once
		 * virtwire watch has seen the address it uses. */
		W(d, loc, "guest-mac-learned",
		  "it forwards nothing until 'virtwire watch' sees the guest on the bridge; a reservation "
		  "(<host mac=… ip=…/>) makes the target fixed",
		  "%s %s has no DHCP reservation in network '%s': the forward follows the address the guest is "
		  "seen using",
		  who, mac, net->name);
		return;
	}
	hint = domain ? g_strdup_printf("the network's owner adds <host mac='%s' ip='…'/> to its <dhcp>, or "
					"<vw:learn-addresses enabled='yes'/> to its metadata",
					mac)
		      : g_strdup_printf("add <host mac='%s' ip='…'/> to the network's <ip><dhcp>, use "
					"guest-address=, or let the forward follow the guest with "
					"<vw:learn-addresses enabled='yes'/> and 'virtwire watch'",
					mac);
	E(d, loc, "guest-mac-unreserved", hint, "%s %s has no DHCP reservation in network '%s'", who, mac, net->name);
}

void vw_chk_forwards(const VwNetwork *net, VwDiags *d)
{
	g_autoptr(GHashTable) names = g_hash_table_new(g_str_hash, g_str_equal);
	GPtrArray *fwds = vw_network_forwards(net);
	/* Where the network cannot have forwards at all, vw_chk_modes said so
	 * once; each forward's details would only add noise (a bridged
	 * network has no subnet to hold a guest address). */
	bool takes_forwards = (net->forward == VW_FWD_NAT || net->forward == VW_FWD_ROUTE ||
			       net->forward == VW_FWD_OPEN) &&
			      vw_chk_mode_forwards_ports(vw_network_effective_mode(net));

	for (guint i = 0; i < fwds->len; i++) {
		const VwForward *f = fwds->pdata[i];
		const VwForward *prev;

		if (f->name) {
			prev = g_hash_table_lookup(names, f->name);
			if (prev)
				E(d, f->loc, "duplicate-name", "give each forward its own name",
				  "network '%s': two forwards are named '%s' (the other at line %d)", net->name,
				  f->name, prev->loc.line);
			else
				g_hash_table_insert(names, f->name, (gpointer)f);
		}
		if (takes_forwards)
			check_net_forward(net, f, d);
	}
}
