/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Reading libxml2 trees: lines, attributes and children, for the parsers. */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "xml-private.h"

/*
 * Past 65535, libxml2 (2.9, XML_PARSE_BIG_LINES) keeps the real line only on
 * text nodes, as the line where the text ends; an element gets 65535 and
 * xmlGetLineNo() borrows a neighbour's line, one too far. The text right
 * after the start tag (or after an empty element) begins on the element's
 * line: count back over its newlines.
 */
static long big_line(const xmlNode *node, long line)
{
	const xmlNode *text = NULL;

	if (node->children && node->children->type == XML_TEXT_NODE)
		text = node->children;
	else if (!node->children && node->next && node->next->type == XML_TEXT_NODE)
		text = node->next;
	if (!text || text->line != 65535 || !text->psvi)
		return line;
	line = (long)(ptrdiff_t)text->psvi;
	for (const xmlChar *p = text->content; p && *p; p++)
		line -= *p == '\n';
	return line;
}

int vw_xml_rel_line(const VwParseCtx *ctx, long line)
{
	line -= ctx->line_base;
	return line > 0 && line <= INT_MAX ? (int)line : 0;
}

int vw_xml_line(const VwParseCtx *ctx, const xmlNode *node)
{
	gpointer cached;
	long line;

	if (!node)
		return 0;
	/* Counted once (the text may be megabytes long, and an element is
	 * asked for its line once per finding), or known from the parse: a
	 * CDATA section has no line of its own, and one right after a forward
	 * (which is not in the tree, forward.c) takes the forward's. */
	cached = g_hash_table_lookup(ctx->lines, node);
	if (cached)
		return vw_xml_rel_line(ctx, GPOINTER_TO_INT(cached));
	line = xmlGetLineNo(node);
	if (node->type == XML_ELEMENT_NODE && node->line == 65535) {
		line = big_line(node, line);
		if (line > 0 && line <= INT_MAX)
			g_hash_table_insert(ctx->lines, (gpointer)node, GINT_TO_POINTER((int)line));
	}
	return vw_xml_rel_line(ctx, line);
}

VwLoc vw_xml_loc(const VwParseCtx *ctx, const xmlNode *node)
{
	VwLoc loc = { ctx->file, vw_xml_line(ctx, node) };

	return loc;
}

const char *vw_xml_prop(const xmlNode *node, const char *name)
{
	for (const xmlAttr *a = node->properties; a; a = a->next) {
		if (a->ns || strcmp((const char *)a->name, name) != 0)
			continue;
		/* The parser leaves one text child for a plain value. */
		if (a->children && a->children->type == XML_TEXT_NODE && !a->children->next)
			return (const char *)a->children->content;
		return "";
	}
	return NULL;
}

bool vw_xml_is(const xmlNode *node, const char *name)
{
	return node && node->type == XML_ELEMENT_NODE && !node->ns && strcmp((const char *)node->name, name) == 0;
}

bool vw_xml_is_vw(const xmlNode *node)
{
	return node && node->type == XML_ELEMENT_NODE && node->ns && node->ns->href &&
	       g_str_has_prefix((const char *)node->ns->href, VW_NS_PREFIX);
}

xmlNode *vw_xml_next(xmlNode *node, const char *name)
{
	for (; node; node = node->next)
		if (vw_xml_is(node, name))
			return node;
	return NULL;
}

xmlNode *vw_xml_child(const xmlNode *node, const char *name)
{
	return vw_xml_next(node->children, name);
}

char *vw_xml_child_text(const xmlNode *node, const char *name)
{
	xmlNode *c = vw_xml_child(node, name);
	xmlChar *t;
	char *ret;

	if (!c)
		return NULL;
	t = xmlNodeGetContent(c);
	ret = g_strstrip(g_strdup((const char *)t));
	xmlFree(t);
	return ret;
}

static void bad_value(const VwParseCtx *ctx, const xmlNode *node, const char *name, const char *value,
		      const char *expected)
{
	vw_error(ctx->diags, vw_xml_loc(ctx, node), "invalid-value", NULL, "<%s%s%s>: %s='%s' is not %s",
		 node->ns && node->ns->prefix ? (const char *)node->ns->prefix : "",
		 node->ns && node->ns->prefix ? ":" : "", (const char *)node->name, name, value, expected);
}

bool vw_xml_prop_uint(const VwParseCtx *ctx, const xmlNode *node, const char *name, unsigned max, unsigned *ret)
{
	const char *v = vw_xml_prop(node, name);
	char *end;
	unsigned long long x;

	if (!v)
		return false;
	errno = 0;
	x = g_ascii_isdigit(*v) ? strtoull(v, &end, 10) : 0;
	if (!g_ascii_isdigit(*v) || errno || *end || x > max) {
		g_autofree char *exp = g_strdup_printf("a number from 0 to %u", max);

		bad_value(ctx, node, name, v, exp);
		return false;
	}
	*ret = (unsigned)x;
	return true;
}

bool vw_xml_prop_addr(const VwParseCtx *ctx, const xmlNode *node, const char *name, VwAddr *ret)
{
	const char *v = vw_xml_prop(node, name);

	if (!v)
		return false;
	if (!vw_addr_parse(v, ret)) {
		bad_value(ctx, node, name, v, "an IPv4 or IPv6 address");
		return false;
	}
	return true;
}

bool vw_xml_prop_mac(const VwParseCtx *ctx, const xmlNode *node, const char *name, VwMac *ret)
{
	const char *v = vw_xml_prop(node, name);

	if (!v)
		return false;
	if (!vw_mac_parse(v, ret)) {
		bad_value(ctx, node, name, v, "a MAC address (52:54:00:xx:xx:xx)");
		return false;
	}
	return true;
}

bool vw_xml_prop_tristate(const VwParseCtx *ctx, const xmlNode *node, const char *name, VwTristate *ret)
{
	const char *v = vw_xml_prop(node, name);

	if (!v)
		return false;
	if (strcmp(v, "yes") == 0 || strcmp(v, "on") == 0) {
		*ret = VW_TRI_YES;
		return true;
	}
	if (strcmp(v, "no") == 0 || strcmp(v, "off") == 0) {
		*ret = VW_TRI_NO;
		return true;
	}
	bad_value(ctx, node, name, v, "'yes' or 'no'");
	return false;
}
