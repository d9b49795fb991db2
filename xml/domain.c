/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libvirt <domain> XML → VwDomain: only what networking needs. */
#include <string.h>

#include "xml-private.h"

static void parse_iface_ip(const VwParseCtx *ctx, VwInterface *iface, xmlNode *n)
{
	VwPrefix *p = g_new0(VwPrefix, 1);
	unsigned prefix;

	if (!vw_xml_prop_addr(ctx, n, "address", &p->addr)) {
		g_free(p);
		return;
	}
	p->prefix = vw_addr_bits(p->addr.family);
	if (vw_xml_prop_uint(ctx, n, "prefix", vw_addr_bits(p->addr.family), &prefix))
		p->prefix = prefix;
	g_ptr_array_add(iface->ips, p);
}

static void parse_iface_route(const VwParseCtx *ctx, VwInterface *iface, xmlNode *n)
{
	VwPrefix dst = { 0 };
	VwAddr gw = { 0 };
	unsigned prefix;

	if (!vw_xml_prop_addr(ctx, n, "address", &dst.addr))
		return;
	dst.prefix = vw_addr_bits(dst.addr.family);
	if (vw_xml_prop_uint(ctx, n, "prefix", vw_addr_bits(dst.addr.family), &prefix))
		dst.prefix = prefix;
	vw_xml_prop_addr(ctx, n, "gateway", &gw);
	g_ptr_array_add(iface->routes, g_memdup2(&dst, sizeof(dst)));
	g_ptr_array_add(iface->route_gws, g_memdup2(&gw, sizeof(gw)));
}

static VwInterface *parse_interface(const VwParseCtx *ctx, xmlNode *n)
{
	VwInterface *iface = vw_interface_new();
	xmlNode *c;

	iface->loc = vw_xml_loc(ctx, n);
	iface->type = g_strdup(vw_xml_prop(n, "type"));
	c = vw_xml_child(n, "mac");
	if (c)
		iface->has_mac = vw_xml_prop_mac(ctx, c, "address", &iface->mac);
	c = vw_xml_child(n, "source");
	if (c) {
		iface->source_network = g_strdup(vw_xml_prop(c, "network"));
		iface->source_bridge = g_strdup(vw_xml_prop(c, "bridge"));
		iface->portid = g_strdup(vw_xml_prop(c, "portid"));
	}
	c = vw_xml_child(n, "target");
	if (c)
		iface->target_dev = g_strdup(vw_xml_prop(c, "dev"));
	/* LXC names the host side of the veth in <guest actual=…> before the
	 * start, and in <target dev=…> once running. */
	if (!iface->target_dev) {
		c = vw_xml_child(n, "guest");
		if (c && vw_xml_prop(c, "actual"))
			iface->target_dev = g_strdup(vw_xml_prop(c, "actual"));
	}
	c = vw_xml_child(n, "alias");
	if (c)
		iface->alias = g_strdup(vw_xml_prop(c, "name"));
	c = vw_xml_child(n, "teaming");
	if (c) {
		iface->teaming = g_strdup(vw_xml_prop(c, "type"));
		iface->teaming_persistent = g_strdup(vw_xml_prop(c, "persistent"));
	}
	for (c = vw_xml_child(n, "ip"); c; c = vw_xml_next(c->next, "ip"))
		parse_iface_ip(ctx, iface, c);
	for (c = vw_xml_child(n, "route"); c; c = vw_xml_next(c->next, "route"))
		parse_iface_route(ctx, iface, c);
	return iface;
}

VwDomain *vw_xml_parse_domain(const VwParseCtx *ctx, xmlNode *root)
{
	g_autoptr(VwDomain) dom = vw_domain_new();
	xmlNode *n;

	dom->loc = vw_xml_loc(ctx, root);
	dom->type = g_strdup(vw_xml_prop(root, "type"));
	dom->name = vw_xml_child_text(root, "name");
	if (!dom->name || !*dom->name)
		vw_error(ctx->diags, dom->loc, "missing-name", "add <name>…</name>", "the domain has no <name>");
	dom->uuid = vw_xml_child_text(root, "uuid");
	n = vw_xml_child(root, "devices");
	if (n) {
		for (xmlNode *c = vw_xml_child(n, "interface"); c; c = vw_xml_next(c->next, "interface")) {
			if (dom->interfaces->len >= VW_MAX_INTERFACES) {
				vw_error(ctx->diags, vw_xml_loc(ctx, c), "too-many", NULL,
					 "more than %d interfaces in one domain", VW_MAX_INTERFACES);
				break;
			}
			g_ptr_array_add(dom->interfaces, parse_interface(ctx, c));
		}
	}
	n = vw_xml_child(root, "metadata");
	if (n)
		dom->vw = vw_xml_parse_dom_meta(ctx, n);
	return g_steal_pointer(&dom);
}
