/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Semantic rules: everything libvirt's schemas cannot express about a
 * network, a domain, and several of them together. Each finding names the
 * object, says what is wrong and, where there is one, how to fix it.
 */
#include <string.h>

#include <virtwire/check.h>

#define E(d, loc, code, hint, ...) vw_error((d), (loc), (code), (hint), __VA_ARGS__)
#define W(d, loc, code, hint, ...) vw_warning((d), (loc), (code), (hint), __VA_ARGS__)

static const char *fam_name(int family)
{
	return family == AF_INET6 ? "IPv6" : "IPv4";
}

static VwPrefix ip_subnet(const VwIp *ip)
{
	VwPrefix p = { vw_addr_network(&ip->address, ip->prefix), ip->prefix };

	return p;
}

/* True when @a is the network or broadcast address of a subnet in which those
 * are not usable by hosts (IPv4 shorter than /31). */
static bool is_subnet_edge(const VwAddr *a, unsigned prefix)
{
	VwAddr net, bcast;

	if (a->family != AF_INET || prefix >= 31)
		return false;
	net = vw_addr_network(a, prefix);
	bcast = vw_addr_broadcast(a, prefix);
	return vw_addr_equal(a, &net) || vw_addr_equal(a, &bcast);
}

/* ---------------------------------------------------------------------- */
/* Modes */

static bool mode_forwards_ports(VwMode m)
{
	return m == VW_MODE_NAT || m == VW_MODE_ROUTE;
}

static void check_modes(const VwNetwork *net, VwDiags *d)
{
	const VwNetMeta *vw = net->vw;
	const char *fm = vw_forward_mode_to_string(net->forward);
	VwMode eff = vw_network_effective_mode(net);
	bool has_forwards = vw && vw->forwards->len > 0;

	if (!vw)
		return;
	switch (net->forward) {
	case VW_FWD_NONE:
		if (vw->mode == VW_MODE_BRIDGED)
			E(d, vw->loc, "mode-mismatch", "add <forward mode='bridge'/> and <bridge name='…'/>",
			  "network '%s': mode='bridged' needs libvirt's <forward mode='bridge'/>, but the network "
			  "is isolated (no <forward>)",
			  net->name);
		else if (vw->mode != VW_MODE_UNSET && vw->mode != VW_MODE_HOST_ONLY)
			E(d, vw->loc, "mode-mismatch",
			  "use <forward mode='open'/>: then libvirt writes no firewall and virtwire writes it",
			  "network '%s': mode='%s' on an isolated network (no <forward>), where libvirt's own "
			  "firewall keeps guests in",
			  net->name, vw_mode_to_string(vw->mode));
		if (has_forwards)
			E(d, ((VwForward *)vw->forwards->pdata[0])->loc, "forwards-isolated",
			  "isolated networks reach nothing outside; for forwards use <forward mode='open'/> with "
			  "<vw:network mode='nat'>",
			  "network '%s' is isolated (no <forward>): it cannot have port forwards", net->name);
		break;
	case VW_FWD_NAT:
	case VW_FWD_ROUTE:
		/* Compare with libvirt's own mode: the effective mode is the vw
		 * mode whenever one is given, so it cannot tell a contradiction. */
		if (vw->mode != VW_MODE_UNSET &&
		    vw->mode != (net->forward == VW_FWD_NAT ? VW_MODE_NAT : VW_MODE_ROUTE)) {
			g_autofree char *hint = NULL;

			if (vw->mode == VW_MODE_BRIDGED)
				hint = g_strdup("bridged networks take <forward mode='bridge'/>");
			else
				hint = g_strdup_printf("drop mode= to keep libvirt's %s, or use <forward mode='open'/> so "
						       "that virtwire realises mode='%s'",
						       fm, vw_mode_to_string(vw->mode));
			E(d, vw->loc, "mode-mismatch", hint,
			  "network '%s': mode='%s' contradicts libvirt's <forward mode='%s'/>", net->name,
			  vw_mode_to_string(vw->mode), fm);
		}
		if (vw->has_nat)
			E(d, vw->nat_loc, "nat-libvirt",
			  net->forward == VW_FWD_NAT
				  ? "libvirt does this network's NAT: set <forward mode='nat'><nat><address …/></nat></forward>"
				  : "a routed network is not translated; drop <vw:nat>",
			  "network '%s': <vw:nat> on libvirt's <forward mode='%s'/>", net->name, fm);
		break;
	case VW_FWD_OPEN:
		if (vw->mode == VW_MODE_UNSET)
			E(d, vw->loc, "missing-mode", "add mode='nat', 'route', 'host-only' or 'internal'",
			  "network '%s': <forward mode='open'/> leaves the firewall to virtwire, but <vw:network> "
			  "names no virtwire mode",
			  net->name);
		else if (vw->mode == VW_MODE_BRIDGED)
			E(d, vw->loc, "mode-mismatch", "use <forward mode='bridge'/> with <bridge name='…'/>",
			  "network '%s': mode='bridged' needs libvirt's <forward mode='bridge'/>, not 'open'",
			  net->name);
		break;
	case VW_FWD_BRIDGE:
		if (vw->mode == VW_MODE_UNSET)
			E(d, vw->loc, "mode-mismatch",
			  vw->uplink ? "add mode='bridged'" : "add mode='bridged' uplink='DEV'",
			  "network '%s': <forward mode='bridge'/> is virtwire's mode='bridged', but <vw:network> "
			  "names no virtwire mode",
			  net->name);
		else if (vw->mode != VW_MODE_BRIDGED)
			E(d, vw->loc, "mode-mismatch", "for this mode use <forward mode='open'/>",
			  "network '%s': <forward mode='bridge'/> is virtwire's mode='bridged', not '%s'",
			  net->name, vw_mode_to_string(vw->mode));
		if (!net->bridge)
			E(d, net->forward_loc, "missing-bridge", "add <bridge name='br0'/>",
			  "network '%s': mode='bridged' needs a <bridge name='…'/> for virtwire to create",
			  net->name);
		if (net->ips->len)
			E(d, ((VwIp *)net->ips->pdata[0])->loc, "ip-on-bridge",
			  "drop <ip>: the bridge takes the uplink's addresses",
			  "network '%s': libvirt does not allow <ip> with <forward mode='bridge'/>", net->name);
		break;
	case VW_FWD_PRIVATE:
	case VW_FWD_VEPA:
	case VW_FWD_PASSTHROUGH:
	case VW_FWD_HOSTDEV:
	case VW_FWD__COUNT:
		E(d, vw->loc, "mode-mismatch", "remove <vw:network>, or use a bridge-based forward mode",
		  "network '%s': virtwire manages no traffic on <forward mode='%s'/> (macvtap/hostdev) networks",
		  net->name, fm);
		return;
	}

	if (vw->mode == VW_MODE_BRIDGED) {
		if (!vw->uplink)
			E(d, vw->loc, "missing-uplink", "add uplink='eth0' (the device on the LAN)",
			  "network '%s': mode='bridged' needs uplink='DEV'", net->name);
		else if (!vw_ifname_valid(vw->uplink, false))
			E(d, vw->loc, "invalid-ifname", "interface names are 1-15 bytes without '/', ':' or spaces",
			  "network '%s': uplink='%s' is not a valid interface name", net->name, vw->uplink);
		else if (net->bridge && strcmp(net->bridge, vw->uplink) == 0)
			E(d, vw->loc, "invalid-ifname", "the bridge is a new device: give it another name",
			  "network '%s': the uplink and the bridge are both '%s'", net->name, vw->uplink);
		if (net->bridge && strchr(net->bridge, '%'))
			E(d, net->bridge_loc, "invalid-ifname", "write a full name, e.g. br0",
			  "network '%s': virtwire creates the bridged-mode bridge itself, so '%s' cannot be a "
			  "template",
			  net->name, net->bridge);
		if (has_forwards)
			E(d, ((VwForward *)vw->forwards->pdata[0])->loc, "forwards-mode",
			  "guests of a bridged network are peers on the LAN: reach them directly",
			  "network '%s': port forwards make no sense in mode='bridged'", net->name);
	} else if (vw->uplink && net->forward != VW_FWD_BRIDGE) {
		/* On <forward mode='bridge'/> the mode-mismatch above says it. */
		E(d, vw->loc, "uplink-mode", "for the devices NAT leaves through, write <vw:nat uplink='…'/>",
		  "network '%s': uplink= is for mode='bridged'", net->name);
	}

	/* libvirt's nat and route were answered above (nat-libvirt); elsewhere
	 * (open, isolated, bridge) <vw:nat> only means something in mode nat. */
	if (vw->has_nat && eff != VW_MODE_UNSET && eff != VW_MODE_NAT && net->forward != VW_FWD_NAT &&
	    net->forward != VW_FWD_ROUTE)
		E(d, vw->nat_loc, "nat-mode", "drop <vw:nat>, or use mode='nat'",
		  "network '%s': <vw:nat> in mode='%s'", net->name, vw_mode_to_string(eff));
	for (guint i = 0; vw->nat_uplinks && i < vw->nat_uplinks->len; i++) {
		const char *u = vw->nat_uplinks->pdata[i];

		if (!vw_ifname_valid(u, false))
			E(d, vw->nat_loc, "invalid-ifname", "interface names are 1-15 bytes without '/', ':' or spaces",
			  "network '%s': <vw:nat> uplink '%s' is not a valid interface name", net->name, u);
	}
	if (vw_addr_is_set(&vw->nat_address)) {
		const VwIp *ip = vw_network_find_ip(net, &vw->nat_address);
		bool family_ok = false;

		for (guint i = 0; i < net->ips->len; i++)
			family_ok |= ((VwIp *)net->ips->pdata[i])->address.family == vw->nat_address.family;
		if (ip)
			E(d, vw->nat_loc, "nat-address", "SNAT to an address of the host on the outside",
			  "network '%s': <vw:nat> address is inside the guests' own subnet", net->name);
		else if (!family_ok)
			E(d, vw->nat_loc, "family-mismatch", NULL,
			  "network '%s': <vw:nat> address is %s, but the network has no %s subnet", net->name,
			  fam_name(vw->nat_address.family), fam_name(vw->nat_address.family));
	}

	if (has_forwards && eff != VW_MODE_UNSET && !mode_forwards_ports(eff) && eff != VW_MODE_BRIDGED &&
	    net->forward != VW_FWD_NONE)
		E(d, ((VwForward *)vw->forwards->pdata[0])->loc, "forwards-mode",
		  "port forwards need mode='nat' or 'route'",
		  "network '%s': mode='%s' lets nothing from outside reach guests, so it cannot have port "
		  "forwards",
		  net->name, vw_mode_to_string(eff));
	/* Without a mode (missing-mode, mode-mismatch above) there is nothing
	 * to weigh these settings against. */
	if (vw->domain_forwards == VW_TRI_YES && eff != VW_MODE_UNSET && !mode_forwards_ports(eff))
		E(d, vw->domain_forwards_loc, "forwards-mode", "allow domain forwards in mode 'nat' or 'route' only",
		  "network '%s': <vw:domain-forwards allow='yes'/> in mode='%s'", net->name, vw_mode_to_string(eff));
	if (vw->hairpin != VW_TRI_UNSET && eff != VW_MODE_UNSET && !mode_forwards_ports(eff))
		W(d, vw->hairpin_loc, "no-effect", "drop it", "network '%s': <vw:hairpin> has no effect in mode='%s'",
		  net->name, vw_mode_to_string(eff));
	if (vw->localhost == VW_TRI_YES && eff != VW_MODE_UNSET && !mode_forwards_ports(eff))
		W(d, vw->localhost_loc, "no-effect", "drop it", "network '%s': <vw:localhost> has no effect in mode='%s'",
		  net->name, vw_mode_to_string(eff));

	if (net->forward == VW_FWD_OPEN && vw->mode != VW_MODE_UNSET) {
		if (net->ips->len == 0 && vw->mode == VW_MODE_INTERNAL)
			E(d, vw->loc, "missing-ip",
			  "add <ip address='192.168.100.1' prefix='24'/> (no <dhcp>): libvirt needs it for "
			  "<forward mode='open'/>, and in mode='internal' virtwire keeps the guests away from it",
			  "network '%s': libvirt refuses <forward mode='open'/> without an <ip>", net->name);
		else if (net->ips->len == 0 && vw->mode != VW_MODE_BRIDGED)
			E(d, vw->loc, "missing-ip", "add <ip address='192.168.100.1' prefix='24'>…</ip>",
			  "network '%s': mode='%s' needs at least one <ip> (the host's address on the network)",
			  net->name, vw_mode_to_string(vw->mode));
		for (guint i = 0; vw->mode == VW_MODE_INTERNAL && i < net->ips->len; i++) {
			const VwIp *ip = net->ips->pdata[i];

			if (ip->has_dhcp)
				W(d,
				  ip->ranges->len ? ((VwDhcpRange *)ip->ranges->pdata[0])->loc
				  : ip->hosts->len ? ((VwDhcpHost *)ip->hosts->pdata[0])->loc
						   : ip->loc,
				  "internal-dhcp",
				  "drop <dhcp> and give the guests static addresses, or use mode='host-only'",
				  "network '%s': in mode='internal' guests cannot reach the host, so its DHCP serves "
				  "nobody",
				  net->name);
		}
	}
}

/* ---------------------------------------------------------------------- */
/* Addresses and DHCP */

static void check_ip(const VwNetwork *net, const VwIp *ip, VwDiags *d)
{
	char a[VW_ADDR_STRLEN], b[VW_ADDR_STRLEN];
	VwPrefix sub;

	if (!ip->has_prefix || !vw_addr_is_set(&ip->address))
		return;
	sub = ip_subnet(ip);
	if (is_subnet_edge(&ip->address, ip->prefix))
		E(d, ip->loc, "host-address", "give the host a usable address, e.g. the first one of the subnet",
		  "network '%s': %s is the %s address of its /%u", net->name, vw_addr_to_string(&ip->address, a),
		  vw_addr_equal(&ip->address, &sub.addr) ? "network" : "broadcast", ip->prefix);
	if (vw_addr_is_loopback(&ip->address))
		E(d, ip->loc, "host-address", NULL, "network '%s': %s is a loopback address", net->name,
		  vw_addr_to_string(&ip->address, a));

	for (guint i = 0; i < ip->ranges->len; i++) {
		const VwDhcpRange *r = ip->ranges->pdata[i];

		/* The parser has reported a missing or malformed start=/end=. */
		if (!vw_addr_is_set(&r->start) || !vw_addr_is_set(&r->end))
			continue;
		if (r->start.family != ip->address.family || r->end.family != ip->address.family) {
			E(d, r->loc, "family-mismatch", NULL, "network '%s': DHCP range is not %s like its <ip>",
			  net->name, fam_name(ip->address.family));
			continue;
		}
		vw_addr_to_string(&r->start, a);
		vw_addr_to_string(&r->end, b);
		if (vw_addr_cmp(&r->start, &r->end) > 0) {
			E(d, r->loc, "dhcp-range", "swap start= and end=",
			  "network '%s': DHCP range %s - %s ends before it starts", net->name, a, b);
			continue;
		}
		if (!vw_prefix_contains(&sub, &r->start) || !vw_prefix_contains(&sub, &r->end)) {
			g_autofree char *s = vw_prefix_to_string(&sub);

			E(d, r->loc, "dhcp-range", "keep the range inside the <ip>'s subnet",
			  "network '%s': DHCP range %s - %s is not inside %s", net->name, a, b, s);
			continue;
		}
		if (vw_addr_cmp(&r->start, &ip->address) <= 0 && vw_addr_cmp(&ip->address, &r->end) <= 0) {
			char h[VW_ADDR_STRLEN];

			E(d, r->loc, "dhcp-range", "start the range after the host's address",
			  "network '%s': DHCP range %s - %s covers the host's own address %s", net->name, a, b,
			  vw_addr_to_string(&ip->address, h));
		}
		if (is_subnet_edge(&r->start, ip->prefix) || is_subnet_edge(&r->end, ip->prefix))
			E(d, r->loc, "dhcp-range", "leave out the subnet's network and broadcast addresses",
			  "network '%s': DHCP range %s - %s includes the subnet's network or broadcast address",
			  net->name, a, b);
	}

	for (guint i = 0; i < ip->hosts->len; i++) {
		const VwDhcpHost *h = ip->hosts->pdata[i];

		if (!vw_addr_is_set(&h->ip))
			continue;
		vw_addr_to_string(&h->ip, a);
		if (h->ip.family != ip->address.family) {
			E(d, h->loc, "family-mismatch", NULL, "network '%s': reservation %s is not %s like its <ip>",
			  net->name, a, fam_name(ip->address.family));
			continue;
		}
		if (!vw_prefix_contains(&sub, &h->ip)) {
			g_autofree char *s = vw_prefix_to_string(&sub);

			E(d, h->loc, "dhcp-host", "reserve an address inside the subnet",
			  "network '%s': reservation %s is not inside %s", net->name, a, s);
		} else if (vw_addr_equal(&h->ip, &ip->address)) {
			E(d, h->loc, "dhcp-host", "reserve another address: this one is the host's",
			  "network '%s': reservation %s is the host's own address", net->name, a);
		} else if (is_subnet_edge(&h->ip, ip->prefix)) {
			E(d, h->loc, "dhcp-host", NULL,
			  "network '%s': reservation %s is the subnet's network or broadcast address", net->name, a);
		}
		/* libvirt's own rules: an IPv4 host needs mac= or name= (dnsmasq
		 * matches one of them), and an IPv6 host must not have mac=
		 * (DHCPv6 clients are matched by id= or name=). */
		if (!h->has_mac && !h->name && ip->address.family == AF_INET)
			E(d, h->loc, "dhcp-host", "add mac='52:54:00:…'",
			  "network '%s': IPv4 reservation %s has neither mac= nor name=", net->name, a);
		if (h->has_mac && ip->address.family == AF_INET6)
			E(d, h->loc, "dhcp-host",
			  "libvirt matches DHCPv6 clients by id='DUID' or name=; forward to this guest with "
			  "guest-address=",
			  "network '%s': IPv6 reservation %s has mac=, which libvirt refuses", net->name, a);
	}
}

/* Duplicate MACs and IPs among reservations (per family, since one MAC may
 * hold an IPv4 and an IPv6 reservation), multiple DHCP sections, and <ip>
 * subnets that overlap inside one network. */
static void check_reservations(const VwNetwork *net, VwDiags *d)
{
	g_autoptr(GHashTable) macs = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	g_autoptr(GHashTable) ips = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	const VwIp *dhcp_by_family[2] = { NULL, NULL };

	for (guint i = 0; i < net->ips->len; i++) {
		const VwIp *ip = net->ips->pdata[i];
		int fi = ip->address.family == AF_INET6;

		if (ip->has_dhcp && vw_addr_is_set(&ip->address)) {
			if (dhcp_by_family[fi])
				E(d, ip->loc, "dhcp-multiple", "move all DHCP settings into one <ip>",
				  "network '%s': libvirt allows <dhcp> in one %s <ip> only (the other is at line %d)",
				  net->name, fam_name(ip->address.family), dhcp_by_family[fi]->loc.line);
			else
				dhcp_by_family[fi] = ip;
		}
		for (guint j = 0; j < i; j++) {
			const VwIp *o = net->ips->pdata[j];
			VwPrefix a, b;

			if (!ip->has_prefix || !o->has_prefix || ip->address.family != o->address.family)
				continue;
			a = ip_subnet(ip);
			b = ip_subnet(o);
			if (vw_prefix_overlaps(&a, &b)) {
				g_autofree char *sa = vw_prefix_to_string(&a);
				g_autofree char *sb = vw_prefix_to_string(&b);

				E(d, ip->loc, "subnet-overlap", NULL,
				  "network '%s': <ip> subnet %s overlaps %s (line %d) of the same network", net->name,
				  sa, sb, o->loc.line);
			}
		}
		for (guint j = 0; j < ip->hosts->len; j++) {
			const VwDhcpHost *h = ip->hosts->pdata[j];
			char buf[VW_ADDR_STRLEN], mbuf[VW_MAC_STRLEN];
			gpointer prev;

			if (h->has_mac) {
				char *key = g_strdup_printf("%d/%s", fi, vw_mac_to_string(&h->mac, mbuf));

				prev = g_hash_table_lookup(macs, key);
				if (prev) {
					E(d, h->loc, "duplicate-reservation", "one MAC gets one address per family",
					  "network '%s': MAC %s is reserved twice (also at line %d)", net->name, mbuf,
					  ((const VwDhcpHost *)prev)->loc.line);
					g_free(key);
				} else {
					g_hash_table_insert(macs, key, (gpointer)h);
				}
			}
			if (vw_addr_is_set(&h->ip)) {
				char *key = g_strdup(vw_addr_to_string(&h->ip, buf));

				prev = g_hash_table_lookup(ips, key);
				if (prev) {
					E(d, h->loc, "duplicate-reservation", "give each guest its own address",
					  "network '%s': address %s is reserved twice (also at line %d)", net->name, buf,
					  ((const VwDhcpHost *)prev)->loc.line);
					g_free(key);
				} else {
					g_hash_table_insert(ips, key, (gpointer)h);
				}
			}
		}
	}
}

/* ---------------------------------------------------------------------- */
/* Forwards */

/* Checks that apply to network and domain forwards alike: ports, listen
 * address, sources. @what names the forward in messages. */
static void check_forward_common(const VwNetwork *net, const VwForward *f, const char *what, VwDiags *d)
{
	char a[VW_ADDR_STRLEN];

	if (f->has_host_port && f->has_guest_port &&
	    vw_port_range_len(f->host) != vw_port_range_len(f->guest) && vw_port_range_len(f->guest) != 1) {
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
		g_autofree char *hint =
			g_strdup_printf("to shift the range write guest-port='%u-%u'", f->guest.lo,
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

	if (vw_addr_is_set(&f->listen)) {
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

	for (guint i = 0; i < f->sources->len; i++) {
		const VwSource *s = f->sources->pdata[i];
		VwAddr netaddr = vw_addr_network(&s->prefix.addr, s->prefix.prefix);
		g_autofree char *ps = vw_prefix_to_string(&s->prefix);

		if (vw_addr_is_set(&f->listen) && s->prefix.addr.family != f->listen.family)
			E(d, s->loc, "family-mismatch", "list sources of the listen address's family",
			  "forward %s: source %s is %s but the forward listens on an %s address", what, ps,
			  fam_name(s->prefix.addr.family), fam_name(f->listen.family));
		else if (vw_addr_is_set(&f->guest_addr) && s->prefix.addr.family != f->guest_addr.family)
			E(d, s->loc, "family-mismatch", "list sources of the guest address's family",
			  "forward %s: source %s is %s but the guest address is %s", what, ps,
			  fam_name(s->prefix.addr.family), fam_name(f->guest_addr.family));
		if (!vw_addr_equal(&netaddr, &s->prefix.addr)) {
			VwPrefix np = { netaddr, s->prefix.prefix };
			g_autofree char *ns = vw_prefix_to_string(&np);
			g_autofree char *hint = g_strdup_printf("write %s", ns);

			W(d, s->loc, "source-host-bits", hint, "forward %s: source %s has host bits set; it means %s",
			  what, ps, ns);
		}
	}
}

/* Sources against the families a forward by MAC reaches its guest in (the
 * guest's reservations): with a listen address, check_forward_common has
 * compared them with that already. */
static void check_source_families(const VwForward *f, unsigned fams, const char *what, VwDiags *d)
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
		  fam_name(s->prefix.addr.family), fam_name(s->prefix.addr.family));
	}
}

static void check_guest_address(const VwNetwork *net, const VwForward *f, const VwAddr *g, const char *what,
				VwDiags *d)
{
	char a[VW_ADDR_STRLEN];
	const VwIp *ip = vw_network_find_ip(net, g);

	vw_addr_to_string(g, a);
	if (!ip) {
		bool any = false;

		for (guint i = 0; i < net->ips->len; i++)
			any |= ((VwIp *)net->ips->pdata[i])->address.family == g->family;
		E(d, f->loc, "guest-outside-subnet",
		  any ? "forward to a guest's address inside the network's subnet" : "add an <ip> of that family",
		  "forward %s: guest address %s is not inside any %s subnet of network '%s'", what, a,
		  fam_name(g->family), net->name);
		return;
	}
	if (vw_addr_equal(g, &ip->address))
		E(d, f->loc, "guest-is-host", "forward to a guest's address, not the host's",
		  "forward %s: guest address %s is the host's own address on network '%s'", what, a, net->name);
	else if (is_subnet_edge(g, ip->prefix))
		E(d, f->loc, "guest-network-address", NULL,
		  "forward %s: guest address %s is the network or broadcast address of its subnet", what, a);
}

static void check_net_forward(const VwNetwork *net, const VwForward *f, VwDiags *d)
{
	g_autofree char *what = vw_forward_describe(f);
	char a[VW_ADDR_STRLEN], m[VW_MAC_STRLEN];

	check_forward_common(net, f, what, d);
	if (vw_addr_is_set(&f->guest_addr)) {
		if (vw_addr_is_set(&f->listen) && f->listen.family != f->guest_addr.family)
			E(d, f->loc, "family-mismatch", "NAT does not translate between IPv4 and IPv6",
			  "forward %s: listens on an %s address but the guest address %s is %s", what,
			  fam_name(f->listen.family), vw_addr_to_string(&f->guest_addr, a),
			  fam_name(f->guest_addr.family));
		else
			check_guest_address(net, f, &f->guest_addr, what, d);
	} else if (f->has_guest_mac) {
		unsigned fams;

		vw_mac_to_string(&f->guest_mac, m);
		if (!vw_network_find_reservation(net, &f->guest_mac, AF_INET) &&
		    !vw_network_find_reservation(net, &f->guest_mac, AF_INET6)) {
			g_autofree char *hint = g_strdup_printf(
				"add <host mac='%s' ip='…'/> to the network's <ip><dhcp>, or use guest-address=", m);

			E(d, f->loc, "guest-mac-unreserved", hint,
			  "forward %s: guest-mac %s has no DHCP reservation in network '%s'", what, m, net->name);
			return;
		}
		fams = vw_forward_families(net, f);
		if (!fams)
			E(d, f->loc, "family-mismatch",
			  f->listen.family == AF_INET6
				  ? "libvirt reserves IPv6 addresses by DUID, not by MAC: use guest-address= for IPv6"
				  : "add an IPv4 <host mac=… ip=…/> reservation, or listen on an IPv6 address",
			  "forward %s: guest-mac %s has no %s reservation for address='%s'", what, m,
			  fam_name(f->listen.family), vw_addr_to_string(&f->listen, a));
		check_source_families(f, fams, what, d);
		for (int fam = AF_INET; fam; fam = fam == AF_INET ? AF_INET6 : 0) {
			VwAddr g;

			if (vw_forward_target(net, f, fam, &g))
				check_guest_address(net, f, &g, what, d);
		}
	}
}

static void check_forwards(const VwNetwork *net, VwDiags *d)
{
	g_autoptr(GHashTable) names = g_hash_table_new(g_str_hash, g_str_equal);
	GPtrArray *fwds = vw_network_forwards(net);
	/* Where the network cannot have forwards at all, check_modes said so
	 * once; each forward's details would only add noise (a bridged
	 * network has no subnet to hold a guest address). */
	bool takes_forwards = (net->forward == VW_FWD_NAT || net->forward == VW_FWD_ROUTE ||
			       net->forward == VW_FWD_OPEN) &&
			      mode_forwards_ports(vw_network_effective_mode(net));

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

void vw_check_network(const VwNetwork *net, VwDiags *d)
{
	if (!net->name)
		return;
	if (net->bridge && !vw_ifname_valid(net->bridge, true))
		E(d, net->bridge_loc, "invalid-ifname",
		  "interface names are 1-15 bytes without '/', ':', quotes or spaces",
		  "network '%s': bridge name '%s' is not a valid interface name", net->name, net->bridge);
	check_modes(net, d);
	for (guint i = 0; i < net->ips->len; i++)
		check_ip(net, net->ips->pdata[i], d);
	check_reservations(net, d);
	check_forwards(net, d);
}

/* ---------------------------------------------------------------------- */
/* Domains */

static const VwNetwork *find_network(GPtrArray *networks, const char *name)
{
	for (guint i = 0; networks && name && i < networks->len; i++) {
		const VwNetwork *n = networks->pdata[i];

		if (g_strcmp0(n->name, name) == 0)
			return n;
	}
	return NULL;
}

/* The domain's interface that a domain forward targets, or NULL with an
 * error. */
static const VwInterface *forward_interface(const VwDomain *dom, const VwForward *f, const char *what,
					    VwDiags *d)
{
	const VwInterface *found = NULL;
	guint n = 0;
	char m[VW_MAC_STRLEN];

	for (guint i = 0; i < dom->interfaces->len; i++) {
		const VwInterface *iface = dom->interfaces->pdata[i];

		if (g_strcmp0(iface->source_network, f->network) != 0)
			continue;
		if (f->has_mac && !(iface->has_mac && vw_mac_equal(&iface->mac, &f->mac)))
			continue;
		n++;
		found = found ? found : iface;
	}
	if (n == 0) {
		if (f->has_mac)
			E(d, f->loc, "no-interface", "mac= must be the MAC of one of the domain's interfaces on it",
			  "domain '%s': forward %s: no interface on network '%s' has MAC %s", dom->name, what,
			  f->network, vw_mac_to_string(&f->mac, m));
		else
			E(d, f->loc, "no-interface", "add <interface type='network'><source network='…'/></interface>",
			  "domain '%s': forward %s: the domain has no interface on network '%s'", dom->name, what,
			  f->network);
		return NULL;
	}
	if (n > 1) {
		E(d, f->loc, "ambiguous-interface", "add mac='…' to the forward to pick one",
		  "domain '%s': forward %s: the domain has %u interfaces on network '%s'", dom->name, what, n,
		  f->network);
		return NULL;
	}
	if (!found->has_mac) {
		E(d, found->loc, "interface-no-mac",
		  "give the interface a fixed <mac address='52:54:00:…'/> and reserve an address for it",
		  "domain '%s': forward %s targets an interface without <mac>", dom->name, what);
		return NULL;
	}
	return found;
}

static void check_dom_forward(const VwDomain *dom, const VwForward *f, GPtrArray *networks, VwDiags *d)
{
	g_autofree char *what = vw_forward_describe(f);
	const VwNetwork *net;
	const VwInterface *iface;
	const VwNetMeta *vw;
	char m[VW_MAC_STRLEN];

	if (!f->network)
		return;
	net = find_network(networks, f->network);
	iface = forward_interface(dom, f, what, d);
	if (!net) {
		W(d, f->loc, "network-unknown", "give the network's XML to 'virtwire check' too",
		  "domain '%s': forward %s: network '%s' is not among the files given, so the forward was not "
		  "checked against its policy",
		  dom->name, what, f->network);
		return;
	}
	vw = net->vw;
	if (!vw || vw->domain_forwards != VW_TRI_YES) {
		E(d, f->loc, "domain-forwards-denied",
		  "the network's owner can allow them with <vw:domain-forwards allow='yes' host-ports='…'/>",
		  "domain '%s': forward %s: network '%s' does not allow domain forwards", dom->name, what,
		  net->name);
		return;
	}
	if (!mode_forwards_ports(vw_network_effective_mode(net))) {
		E(d, f->loc, "forwards-mode", "only networks in mode 'nat' or 'route' forward ports",
		  "domain '%s': forward %s: network '%s' in mode '%s' has no forwards",
		  dom->name, what, net->name, vw_mode_to_string(vw_network_effective_mode(net)));
		return;
	}
	if (vw->has_domain_ports && f->has_host_port &&
	    (f->host.lo < vw->domain_ports.lo || f->host.hi > vw->domain_ports.hi)) {
		g_autofree char *hint = g_strdup_printf("pick host ports within %u-%u", vw->domain_ports.lo,
							vw->domain_ports.hi);
		g_autofree char *ports = f->host.lo == f->host.hi ? g_strdup_printf("port %u", f->host.lo)
								  : g_strdup_printf("ports %u-%u", f->host.lo, f->host.hi);

		E(d, f->loc, "domain-forward-port", hint,
		  "domain '%s': forward %s: host %s %s outside the ports network '%s' allows to domains "
		  "(%u-%u)",
		  dom->name, what, ports, f->host.lo == f->host.hi ? "is" : "are", net->name, vw->domain_ports.lo,
		  vw->domain_ports.hi);
	}
	check_forward_common(net, f, what, d);
	if (!iface)
		return;
	vw_mac_to_string(&iface->mac, m);
	if (!vw_network_find_reservation(net, &iface->mac, AF_INET) &&
	    !vw_network_find_reservation(net, &iface->mac, AF_INET6)) {
		g_autofree char *hint =
			g_strdup_printf("the network's owner adds <host mac='%s' ip='…'/> to its <dhcp>", m);

		E(d, f->loc, "guest-mac-unreserved", hint,
		  "domain '%s': forward %s: MAC %s has no DHCP reservation in network '%s'", dom->name, what, m,
		  net->name);
		return;
	}
	if (vw_addr_is_set(&f->listen) && !vw_network_find_reservation(net, &iface->mac, f->listen.family))
		E(d, f->loc, "family-mismatch",
		  f->listen.family == AF_INET6
			  ? "libvirt reserves IPv6 addresses by DUID, not by MAC: listen on an IPv4 address"
			  : "the network's owner adds an IPv4 <host mac=… ip=…/> reservation",
		  "domain '%s': forward %s: MAC %s has no %s reservation for the %s listen address", dom->name,
		  what, m, fam_name(f->listen.family), fam_name(f->listen.family));
	check_source_families(f,
			      (vw_network_find_reservation(net, &iface->mac, AF_INET) ? VW_FAM_V4 : 0) |
				      (vw_network_find_reservation(net, &iface->mac, AF_INET6) ? VW_FAM_V6 : 0),
			      what, d);
}

void vw_check_domain(const VwDomain *dom, GPtrArray *networks, VwDiags *d)
{
	g_autoptr(GHashTable) macs = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);

	if (!dom->name)
		return;
	for (guint i = 0; i < dom->interfaces->len; i++) {
		const VwInterface *iface = dom->interfaces->pdata[i];
		char m[VW_MAC_STRLEN];
		const VwInterface *prev;

		if (!iface->has_mac)
			continue;
		vw_mac_to_string(&iface->mac, m);
		if (vw_mac_is_multicast(&iface->mac))
			E(d, iface->loc, "invalid-mac", "the first octet must be even (e.g. 52:54:00:…)",
			  "domain '%s': MAC %s is a multicast address", dom->name, m);
		prev = g_hash_table_lookup(macs, m);
		if (prev)
			E(d, iface->loc, "duplicate-mac", "give each interface its own MAC",
			  "domain '%s': two interfaces have MAC %s (the other at line %d)", dom->name, m,
			  prev->loc.line);
		else
			g_hash_table_insert(macs, g_strdup(m), (gpointer)iface);
	}
	if (!dom->vw)
		return;
	for (guint i = 0; i < dom->vw->forwards->len; i++)
		check_dom_forward(dom, dom->vw->forwards->pdata[i], networks, d);
}

/* ---------------------------------------------------------------------- */
/* Together */

typedef struct {
	VwProto proto;
	int family;
	bool any; /* every local address */
	VwAddr listen;
	VwPortRange host;
	const VwForward *fwd;
	const char *owner; /* "network 'x'" or "domain 'y'" */
	guint order;       /* place in the input: networks, then domains */
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

static void check_networks_together(GPtrArray *networks, VwDiags *d)
{
	g_autoptr(GHashTable) names = g_hash_table_new(g_str_hash, g_str_equal);
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

	/* Subnets across networks, in O(n log n): CIDR prefixes either nest or
	 * are disjoint, so after sorting by (family, network address, length) a
	 * prefix overlaps an earlier one iff the earlier prefix reaching
	 * furthest contains it. */
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
				Sub sub = { ip_subnet(ip), n, ip };

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
}

void vw_check_together(GPtrArray *networks, GPtrArray *domains, VwDiags *d)
{
	g_autoptr(GArray) claims = g_array_new(FALSE, FALSE, sizeof(Claim));
	g_autoptr(GPtrArray) owners = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GHashTable) macs = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	g_autoptr(GHashTable) dom_names = g_hash_table_new(g_str_hash, g_str_equal);
	g_autoptr(GHashTable) iface_dom = g_hash_table_new(NULL, NULL);

	check_networks_together(networks, d);

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

	for (guint i = 0; domains && i < domains->len; i++) {
		const VwDomain *dom = domains->pdata[i];
		const VwDomain *prev;
		char *owner;

		if (!dom->name)
			continue;
		prev = g_hash_table_lookup(dom_names, dom->name);
		if (prev)
			E(d, dom->loc, "duplicate-domain", NULL, "domain '%s' is defined twice (also at %s:%d)",
			  dom->name, prev->loc.file, prev->loc.line);
		else
			g_hash_table_insert(dom_names, dom->name, (gpointer)dom);
		for (guint j = 0; j < dom->interfaces->len; j++) {
			const VwInterface *iface = dom->interfaces->pdata[j];
			char m[VW_MAC_STRLEN];
			const VwInterface *other_iface;
			const VwDomain *other;

			if (!iface->has_mac)
				continue;
			vw_mac_to_string(&iface->mac, m);
			other_iface = g_hash_table_lookup(macs, m);
			other = other_iface ? g_hash_table_lookup(iface_dom, other_iface) : NULL;
			if (!other) {
				g_hash_table_insert(macs, g_strdup(m), (gpointer)iface);
				g_hash_table_insert(iface_dom, (gpointer)iface, (gpointer)dom);
			} else if (other != dom) {
				/* Point at the other interface, not at its <domain>. */
				E(d, iface->loc, "duplicate-mac", "give each guest interface its own MAC",
				  "domain '%s': MAC %s is also used by domain '%s' (%s:%d)", dom->name, m, other->name,
				  other_iface->loc.file, other_iface->loc.line);
			}
		}
		if (!dom->vw || !dom->vw->forwards->len)
			continue;
		owner = g_strdup_printf("domain '%s'", dom->name);
		g_ptr_array_add(owners, owner);
		for (guint j = 0; j < dom->vw->forwards->len; j++) {
			const VwForward *f = dom->vw->forwards->pdata[j];
			const VwNetwork *n = find_network(networks, f->network);
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
	check_collisions(claims, d);
}

/* ---------------------------------------------------------------------- */

static void check_port(const VwDoc *doc, VwDiags *d)
{
	const VwNetPort *p = doc->port;
	const VwNetwork *n = doc->network;
	char m[VW_MAC_STRLEN];

	if (!p->has_mac)
		E(d, p->loc, "port-no-mac", NULL, "<networkport> has no <mac address=…>");
	else if (vw_mac_is_multicast(&p->mac))
		E(d, p->mac_loc, "invalid-mac", NULL, "<networkport>: MAC %s is a multicast address",
		  vw_mac_to_string(&p->mac, m));
	if (!p->uuid)
		E(d, p->loc, "port-no-uuid", NULL, "<networkport> has no <uuid>");
	if (n && p->plug_bridge && n->bridge && strcmp(p->plug_bridge, n->bridge) != 0)
		W(d, p->loc, "port-bridge-mismatch", NULL, "<networkport> plugs into bridge '%s' but network '%s' uses '%s'",
		  p->plug_bridge, n->name, n->bridge);
}

void vw_check_docs(GPtrArray *docs, VwDiags *d)
{
	g_autoptr(GPtrArray) networks = g_ptr_array_new();
	g_autoptr(GPtrArray) domains = g_ptr_array_new();

	for (guint i = 0; i < docs->len; i++) {
		const VwDoc *doc = docs->pdata[i];

		if (doc->network)
			g_ptr_array_add(networks, doc->network);
		if (doc->domain)
			g_ptr_array_add(domains, doc->domain);
	}
	for (guint i = 0; i < networks->len; i++)
		vw_check_network(networks->pdata[i], d);
	for (guint i = 0; i < domains->len; i++)
		vw_check_domain(domains->pdata[i], networks, d);
	for (guint i = 0; i < docs->len; i++) {
		const VwDoc *doc = docs->pdata[i];

		if (doc->port)
			check_port(doc, d);
	}
	vw_check_together(networks, domains, d);
}
