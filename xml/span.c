/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * <vw:span vni underlay [port] [control]> with its <vw:peer address/>
 * children: a network that spans hosts over VXLAN. What the values mean
 * together (a peer family, an MTU, EVPN without peers) is the checker's
 * (check/check-span.c); here each value is read or refused on its own.
 */
#include <stdlib.h>
#include <string.h>

#include "xml-private.h"

static const char *const span_attrs[] = { "vni", "underlay", "port", "control", NULL };
static const char *const peer_attrs[] = { "address", NULL };

/* A number attribute of <vw:span> in 1..@max; false (with a finding
 * saying what it should be) when absent or malformed. */
static bool span_number(const VwParseCtx *ctx, const VwSpan *s, xmlNode *n, const char *attr, guint64 max,
			const char *what, const char *hint, guint64 *ret)
{
	const char *v = vw_xml_prop(n, attr);

	if (v && !g_ascii_string_to_unsigned(v, 10, 1, max, ret, NULL)) {
		vw_error(ctx->diags, s->loc, max == VW_VNI_MAX ? "invalid-vni" : "invalid-port", hint,
			 "<vw:span>: %s='%s' is not %s", attr, v, what);
		return false;
	}
	return v != NULL;
}

static void parse_vni(const VwParseCtx *ctx, VwSpan *s, xmlNode *n)
{
	guint64 vni;

	if (!vw_xml_prop(n, "vni"))
		vw_error(ctx->diags, s->loc, "missing-attribute", "add vni='N', the same on every host (1-16777215)",
			 "<vw:span> has no vni=");
	else if (span_number(ctx, s, n, "vni", VW_VNI_MAX, "a VXLAN network identifier",
			     "a VXLAN network identifier is 1 to 16777215", &vni))
		s->vni = (guint32)vni;
}

static void parse_port(const VwParseCtx *ctx, VwSpan *s, xmlNode *n)
{
	guint64 port;

	s->port = VW_VXLAN_PORT;
	if (span_number(ctx, s, n, "port", 65535, "a UDP port (1-65535)", "leave port= out for VXLAN's own, 4789",
			&port))
		s->port = (uint16_t)port;
}

static void parse_control(const VwParseCtx *ctx, VwSpan *s, xmlNode *n)
{
	const char *v = vw_xml_prop(n, "control");

	s->control = VW_SPAN_STATIC;
	if (!v || strcmp(v, "static") == 0)
		return;
	if (strcmp(v, "evpn") == 0)
		s->control = VW_SPAN_EVPN;
	else
		vw_error(ctx->diags, s->loc, "invalid-value", "control='static' (the listed peers) or control='evpn'",
			 "<vw:span>: control='%s' is not static or evpn", v);
}

static void parse_peer(const VwParseCtx *ctx, VwSpan *s, xmlNode *n)
{
	const char *v = vw_xml_prop(n, "address");
	VwPeer *p;

	vw_xml_vw_element(ctx, n, peer_attrs);
	for (xmlNode *c = n->children; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE)
			vw_xml_vw_stray(ctx, n, c, (const char *const[]){ NULL });
	if (!v) {
		vw_error(ctx->diags, vw_xml_loc(ctx, n), "missing-attribute",
			 "write <vw:peer address='192.0.2.12'/>, the underlay address of a host",
			 "<vw:peer> has no address=");
		return;
	}
	p = g_new0(VwPeer, 1);
	p->loc = vw_xml_loc(ctx, n);
	if (!vw_addr_parse(v, &p->address)) {
		vw_error(ctx->diags, p->loc, "invalid-address", "a peer is one IPv4 or IPv6 address, no prefix",
			 "<vw:peer>: address='%s' is not an IPv4 or IPv6 address", v);
		g_free(p);
		return;
	}
	g_ptr_array_add(s->peers, p);
}

VwSpan *vw_xml_parse_span(const VwParseCtx *ctx, xmlNode *n)
{
	VwSpan *s = g_new0(VwSpan, 1);
	const char *v;

	s->loc = vw_xml_loc(ctx, n);
	s->peers = g_ptr_array_new_with_free_func(g_free);
	vw_xml_vw_element(ctx, n, span_attrs);
	parse_vni(ctx, s, n);
	v = vw_xml_prop(n, "underlay");
	if (v && !vw_ifname_valid(v, false))
		vw_error(ctx->diags, s->loc, "invalid-ifname",
			 "interface names are 1-15 bytes without '/', ':', quotes or spaces",
			 "<vw:span>: underlay='%s' is not a valid interface name", v);
	s->underlay = g_strdup(v);
	parse_port(ctx, s, n);
	parse_control(ctx, s, n);
	for (xmlNode *c = n->children; c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (!vw_xml_is_vw(c) || strcmp((const char *)c->name, "peer") != 0) {
			vw_xml_vw_stray(ctx, n, c, (const char *const[]){ "peer", NULL });
			continue;
		}
		if (s->peers->len >= VW_MAX_PEERS) {
			vw_error(ctx->diags, vw_xml_loc(ctx, c), "too-many",
				 "more hosts than this want a control plane: control='evpn'",
				 "more than %d <vw:peer> in one <vw:span>", VW_MAX_PEERS);
			break;
		}
		parse_peer(ctx, s, c);
	}
	return s;
}
