/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libvirt <network> XML → VwNetwork. Elements virtwire does not use are
 * skipped; libvirt's schema (when available) judges those. */
#include <string.h>

#include "xml-private.h"

static void parse_port_range(const VwParseCtx *ctx, xmlNode *n, VwPortRange *ret)
{
	unsigned lo = 0, hi = 0;

	vw_xml_prop_uint(ctx, n, "start", 65535, &lo);
	if (!vw_xml_prop_uint(ctx, n, "end", 65535, &hi))
		hi = lo;
	ret->lo = (uint16_t)lo;
	ret->hi = (uint16_t)hi;
}

static void parse_forward(const VwParseCtx *ctx, VwNetwork *net, xmlNode *fwd)
{
	const char *mode = vw_xml_prop(fwd, "mode");
	const char *dev = vw_xml_prop(fwd, "dev");
	xmlNode *nat;

	net->forward_loc = vw_xml_loc(ctx, fwd);
	/* <forward/> without a mode is libvirt's nat. */
	net->forward = VW_FWD_NAT;
	if (mode && !vw_forward_mode_from_string(mode, &net->forward)) {
		vw_error(ctx->diags, net->forward_loc, "invalid-value",
			 "libvirt's forward modes: nat, route, open, bridge, private, vepa, passthrough, hostdev",
			 "<forward>: mode='%s' is not a libvirt forward mode", mode);
		net->forward = VW_FWD_NAT;
	}
	net->forward_dev = g_strdup(dev);
	for (xmlNode *i = vw_xml_child(fwd, "interface"); i; i = vw_xml_next(i->next, "interface")) {
		const char *d = vw_xml_prop(i, "dev");

		if (d)
			g_ptr_array_add(net->forward_ifaces, g_strdup(d));
	}
	nat = vw_xml_child(fwd, "nat");
	if (nat) {
		xmlNode *a = vw_xml_child(nat, "address");
		xmlNode *p = vw_xml_child(nat, "port");

		vw_xml_prop_tristate(ctx, nat, "ipv6", &net->nat_ipv6);
		if (a) {
			vw_xml_prop_addr(ctx, a, "start", &net->nat_start);
			vw_xml_prop_addr(ctx, a, "end", &net->nat_end);
		}
		if (p)
			parse_port_range(ctx, p, &net->nat_ports);
	}
}

static void parse_dhcp(const VwParseCtx *ctx, VwIp *ip, xmlNode *dhcp)
{
	ip->has_dhcp = true;
	for (xmlNode *c = dhcp->children; c; c = c->next) {
		if (vw_xml_is(c, "range")) {
			VwDhcpRange *r;

			if (ip->ranges->len >= VW_MAX_DHCP_RANGES) {
				vw_error(ctx->diags, vw_xml_loc(ctx, c), "too-many", NULL,
					 "more than %d DHCP ranges in one <ip>", VW_MAX_DHCP_RANGES);
				return;
			}
			r = g_new0(VwDhcpRange, 1);
			r->loc = vw_xml_loc(ctx, c);
			/* Reported here, where absent and malformed can be told
			 * apart; the checker skips a range with either unset. */
			if (!vw_xml_prop(c, "start") || !vw_xml_prop(c, "end"))
				vw_error(ctx->diags, r->loc, "missing-attribute", "write <range start='…' end='…'/>",
					 "DHCP <range> has no %s=", vw_xml_prop(c, "start") ? "end" : "start");
			vw_xml_prop_addr(ctx, c, "start", &r->start);
			vw_xml_prop_addr(ctx, c, "end", &r->end);
			g_ptr_array_add(ip->ranges, r);
		} else if (vw_xml_is(c, "host")) {
			VwDhcpHost *h;

			if (ip->hosts->len >= VW_MAX_DHCP_HOSTS) {
				vw_error(ctx->diags, vw_xml_loc(ctx, c), "too-many", NULL,
					 "more than %d DHCP hosts in one <ip>", VW_MAX_DHCP_HOSTS);
				return;
			}
			h = g_new0(VwDhcpHost, 1);
			h->loc = vw_xml_loc(ctx, c);
			h->has_mac = vw_xml_prop_mac(ctx, c, "mac", &h->mac);
			vw_xml_prop_addr(ctx, c, "ip", &h->ip);
			h->name = g_strdup(vw_xml_prop(c, "name"));
			g_ptr_array_add(ip->hosts, h);
		}
	}
}

/* libvirt's defaults for an <ip> without netmask= or prefix=: /64 for IPv6,
 * the old classful mask for IPv4 (which surprises people, hence a warning). */
static void default_prefix(const VwParseCtx *ctx, VwIp *ip)
{
	uint8_t first = ip->address.b[0];

	if (ip->address.family == AF_INET6) {
		ip->prefix = 64;
		ip->has_prefix = true;
		return;
	}
	if (first < 128)
		ip->prefix = 8;
	else if (first < 192)
		ip->prefix = 16;
	else if (first < 224)
		ip->prefix = 24;
	else {
		vw_error(ctx->diags, ip->loc, "missing-prefix", "add prefix='24' (or the length you mean)",
			 "<ip> has neither netmask= nor prefix=, and its address has no classful default");
		return;
	}
	ip->has_prefix = true;
	vw_warning(ctx->diags, ip->loc, "classful-prefix", "add prefix= (or netmask=) to say what you mean",
		   "<ip> has neither netmask= nor prefix=: libvirt assumes the classful /%u", ip->prefix);
}

static void parse_ip(const VwParseCtx *ctx, VwNetwork *net, xmlNode *n)
{
	VwIp *ip;
	const char *family = vw_xml_prop(n, "family");
	VwAddr mask = { 0 };
	xmlNode *dhcp;

	if (net->ips->len >= VW_MAX_IPS) {
		vw_error(ctx->diags, vw_xml_loc(ctx, n), "too-many", NULL, "more than %d <ip> elements in one network",
			 VW_MAX_IPS);
		return;
	}
	ip = vw_ip_new();
	ip->loc = vw_xml_loc(ctx, n);
	g_ptr_array_add(net->ips, ip);
	if (!vw_xml_prop(n, "address")) {
		vw_error(ctx->diags, ip->loc, "missing-attribute", NULL, "<ip> has no address=");
		return;
	}
	if (!vw_xml_prop_addr(ctx, n, "address", &ip->address))
		return;
	if (family && strcmp(family, "ipv4") != 0 && strcmp(family, "ipv6") != 0)
		vw_error(ctx->diags, ip->loc, "invalid-value", NULL, "<ip>: family='%s' is not 'ipv4' or 'ipv6'",
			 family);
	else if (family && (strcmp(family, "ipv6") == 0) != (ip->address.family == AF_INET6))
		vw_error(ctx->diags, ip->loc, "family-mismatch", "make family= match the address, or drop it",
			 "<ip>: family='%s' but address='%s' is %s", family, vw_xml_prop(n, "address"),
			 ip->address.family == AF_INET6 ? "IPv6" : "IPv4");
	if (vw_xml_prop(n, "prefix")) {
		unsigned max = vw_addr_bits(ip->address.family);

		if (vw_xml_prop_uint(ctx, n, "prefix", 255, &ip->prefix)) {
			if (ip->prefix > max || ip->prefix == 0)
				vw_error(ctx->diags, ip->loc, "invalid-prefix", NULL,
					 "<ip>: prefix='%u' is out of range for %s (1-%u)", ip->prefix,
					 ip->address.family == AF_INET6 ? "IPv6" : "IPv4", max);
			else
				ip->has_prefix = true;
		}
	}
	if (vw_xml_prop(n, "netmask")) {
		if (ip->has_prefix) {
			vw_error(ctx->diags, ip->loc, "invalid-value",
				 "give one of netmask= or prefix=", "<ip> has both netmask= and prefix=");
		} else if (vw_xml_prop_addr(ctx, n, "netmask", &mask)) {
			if (mask.family != AF_INET || ip->address.family != AF_INET)
				vw_error(ctx->diags, ip->loc, "invalid-netmask",
					 "IPv6 addresses take prefix=", "<ip>: netmask= is for IPv4 addresses only");
			else if (!vw_netmask_to_prefix(&mask, &ip->prefix) || ip->prefix == 0)
				vw_error(ctx->diags, ip->loc, "invalid-netmask", "write it as prefix='N' instead",
					 "<ip>: netmask='%s' is not a contiguous netmask", vw_xml_prop(n, "netmask"));
			else
				ip->has_prefix = true;
		}
	}
	if (!ip->has_prefix && !vw_xml_prop(n, "prefix") && !vw_xml_prop(n, "netmask"))
		default_prefix(ctx, ip);
	dhcp = vw_xml_child(n, "dhcp");
	if (dhcp)
		parse_dhcp(ctx, ip, dhcp);
}

VwNetwork *vw_xml_parse_network(const VwParseCtx *ctx, xmlNode *root)
{
	g_autoptr(VwNetwork) net = vw_network_new();
	xmlNode *n;
	unsigned v;

	net->loc = vw_xml_loc(ctx, root);
	net->forward = VW_FWD_NONE;
	if (vw_xml_prop_uint(ctx, root, "connections", 1u << 30, &v))
		net->connections = (int)v;
	/* An empty one is the checker's (network-name), as any other name it
	 * refuses. */
	net->name = vw_xml_child_text(root, "name");
	if (!net->name)
		vw_error(ctx->diags, net->loc, "missing-name", "add <name>…</name>", "the network has no <name>");
	net->uuid = vw_xml_child_text(root, "uuid");
	n = vw_xml_child(root, "forward");
	if (n)
		parse_forward(ctx, net, n);
	n = vw_xml_child(root, "bridge");
	if (n) {
		net->bridge_loc = vw_xml_loc(ctx, n);
		net->bridge = g_strdup(vw_xml_prop(n, "name"));
		vw_xml_prop_tristate(ctx, n, "stp", &net->stp);
		net->has_delay = vw_xml_prop_uint(ctx, n, "delay", 3600, &net->delay);
		net->mac_table_manager = g_strdup(vw_xml_prop(n, "macTableManager"));
		net->zone = g_strdup(vw_xml_prop(n, "zone"));
	}
	n = vw_xml_child(root, "mac");
	if (n)
		net->has_mac = vw_xml_prop_mac(ctx, n, "address", &net->mac);
	n = vw_xml_child(root, "mtu");
	if (n)
		vw_xml_prop_uint(ctx, n, "size", 65535, &net->mtu);
	n = vw_xml_child(root, "port");
	if (n)
		vw_xml_prop_tristate(ctx, n, "isolated", &net->port_isolated);
	n = vw_xml_child(root, "domain");
	if (n)
		net->domain_name = g_strdup(vw_xml_prop(n, "name"));
	for (n = vw_xml_child(root, "ip"); n; n = vw_xml_next(n->next, "ip"))
		parse_ip(ctx, net, n);
	vw_network_index(net);
	n = vw_xml_child(root, "metadata");
	if (n)
		net->vw = vw_xml_parse_net_meta(ctx, n);
	return g_steal_pointer(&net);
}

VwNetPort *vw_xml_parse_netport(const VwParseCtx *ctx, xmlNode *root)
{
	g_autoptr(VwNetPort) p = vw_netport_new();
	xmlNode *n;

	p->loc = vw_xml_loc(ctx, root);
	p->uuid = vw_xml_child_text(root, "uuid");
	n = vw_xml_child(root, "owner");
	if (n) {
		p->owner_name = vw_xml_child_text(n, "name");
		p->owner_uuid = vw_xml_child_text(n, "uuid");
	}
	n = vw_xml_child(root, "mac");
	if (n) {
		p->mac_loc = vw_xml_loc(ctx, n);
		p->has_mac = vw_xml_prop_mac(ctx, n, "address", &p->mac);
	}
	n = vw_xml_child(root, "plug");
	if (n) {
		p->plug_type = g_strdup(vw_xml_prop(n, "type"));
		p->plug_bridge = g_strdup(vw_xml_prop(n, "bridge"));
	}
	n = vw_xml_child(root, "port");
	if (n)
		vw_xml_prop_tristate(ctx, n, "isolated", &p->isolated);
	return g_steal_pointer(&p);
}
