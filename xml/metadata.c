/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * virtwire's metadata (xmlns:vw="urn:virtwire:1") inside libvirt's
 * <metadata>. libvirt ignores what it does not know, so virtwire is strict:
 * inside its namespace an unknown element or attribute is an error, because a
 * typo ("hots-port") must never silently drop a forward.
 */
#include <stdlib.h>
#include <string.h>

#include "xml-private.h"

#define VW_ELEMENT(name) "<vw:" name ">"

static const char *const network_attrs[] = { "mode", "uplink", NULL };
static const char *const nat_attrs[] = { "uplink", "address", NULL };
static const char *const enabled_attrs[] = { "enabled", NULL };
static const char *const net_spoof_attrs[] = { "enabled", "domain-opt-out", NULL };
static const char *const domfwd_attrs[] = { "allow", "host-ports", NULL };
static const char *const domain_attrs[] = { NULL };

static unsigned edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	g_autofree unsigned *row = g_new(unsigned, lb + 1);

	for (size_t j = 0; j <= lb; j++)
		row[j] = (unsigned)j;
	for (size_t i = 1; i <= la; i++) {
		unsigned diag = row[0];

		row[0] = (unsigned)i;
		for (size_t j = 1; j <= lb; j++) {
			unsigned up = row[j];
			unsigned best = MIN(row[j] + 1, row[j - 1] + 1);

			row[j] = MIN(best, diag + (a[i - 1] != b[j - 1]));
			diag = up;
		}
	}
	return row[lb];
}

char *vw_meta_suggest(const char *bad, const char *const *valid, const char *what)
{
	GString *s = g_string_new(NULL);
	const char *best = NULL;
	unsigned best_d = 3;

	for (size_t i = 0; valid[i]; i++) {
		unsigned d = edit_distance(bad, valid[i]);

		if (d < best_d) {
			best_d = d;
			best = valid[i];
		}
	}
	if (best)
		g_string_append_printf(s, "did you mean '%s'? ", best);
	if (valid[0]) {
		g_string_append_printf(s, "%s: ", what);
		for (size_t i = 0; valid[i]; i++)
			g_string_append_printf(s, "%s%s", i ? ", " : "", valid[i]);
	} else {
		g_string_append_printf(s, "%s: none", what);
	}
	return g_string_free(s, FALSE);
}

bool vw_meta_in_list(const char *s, const char *const *list)
{
	for (size_t i = 0; list[i]; i++)
		if (strcmp(s, list[i]) == 0)
			return true;
	return false;
}

void vw_meta_check_attr(const VwParseCtx *ctx, VwLoc loc, const char *element, const char *name, const char *prefix,
			const char *const *allowed, const char *const *elsewhere)
{
	if (elsewhere && !prefix && vw_meta_in_list(name, elsewhere))
		return;
	if (prefix) {
		vw_error(ctx->diags, loc, "unknown-attribute", "virtwire's attributes take no namespace prefix",
			 "<vw:%s>: attribute '%s:%s' is not virtwire's", element, prefix, name);
	} else if (!vw_meta_in_list(name, allowed)) {
		g_autofree char *hint = vw_meta_suggest(name, allowed, "valid attributes");

		vw_error(ctx->diags, loc, "unknown-attribute", hint, "<vw:%s>: unknown attribute '%s'", element, name);
	}
}

void vw_meta_check_text(const VwParseCtx *ctx, const char *element, int element_line, const char *content, VwLoc loc)
{
	g_autofree char *t = g_strstrip(g_strdup(content));

	if (!*t)
		return;
	/* libxml2 gives a text node the line where it ends: step back to the
	 * line of its first visible character. */
	for (const char *p = content + strspn(content, " \t\r\n"); *p; p++)
		loc.line -= *p == '\n';
	loc.line = MAX(loc.line, element_line);
	vw_error(ctx->diags, loc, "unexpected-text", "virtwire's settings are attributes: <vw:forward proto='tcp' …/>",
		 "<vw:%s> holds text '%.40s'", element, t);
}

/* Reports unknown attributes and stray text of a vw element. Attributes in
 * @elsewhere are not virtwire's here either, but have a finding of their own
 * that says more. */
static void check_element(const VwParseCtx *ctx, xmlNode *n, const char *const *allowed, const char *const *elsewhere)
{
	VwLoc loc = vw_xml_loc(ctx, n);

	for (xmlAttr *a = n->properties; a; a = a->next)
		vw_meta_check_attr(ctx, loc, (const char *)n->name, (const char *)a->name,
				   a->ns ? (const char *)a->ns->prefix : NULL, allowed, elsewhere);
	for (xmlNode *c = n->children; c; c = c->next)
		if (c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE)
			vw_meta_check_text(ctx, (const char *)n->name, loc.line, (const char *)c->content,
					   vw_xml_loc(ctx, c));
}

void vw_meta_stray(const VwParseCtx *ctx, VwLoc loc, const char *parent, const char *name, const char *href,
		   const char *const *valid)
{
	g_autofree char *hint = NULL;

	if (!href) {
		hint = g_strdup_printf("write <vw:%s> (elements inside <vw:%s> need the vw: prefix too)", name, parent);
		vw_error(ctx->diags, loc, "unknown-element", hint, "<%s> inside <vw:%s> is not in virtwire's namespace",
			 name, parent);
		return;
	}
	if (!g_str_has_prefix(href, VW_NS_PREFIX)) {
		vw_error(ctx->diags, loc, "unknown-element", NULL, "<%s> from namespace '%s' inside <vw:%s>", name,
			 href, parent);
		return;
	}
	hint = vw_meta_suggest(name, valid, "valid elements");
	vw_error(ctx->diags, loc, "unknown-element", hint, "<vw:%s>: unknown element <vw:%s>", parent, name);
}

/* A child element that is not virtwire's inside a virtwire element. */
static void stray_child(const VwParseCtx *ctx, xmlNode *parent, xmlNode *c, const char *const *valid)
{
	vw_meta_stray(ctx, vw_xml_loc(ctx, c), (const char *)parent->name, (const char *)c->name,
		      c->ns ? (c->ns->href ? (const char *)c->ns->href : "") : NULL, valid);
}

static bool vw_named(const xmlNode *n, const char *name)
{
	return vw_xml_is_vw(n) && strcmp((const char *)n->name, name) == 0;
}

bool vw_meta_ports(const VwParseCtx *ctx, VwLoc loc, const char *element, const char *attr, const char *v,
		   VwPortRange *ret)
{
	unsigned long lo, hi;
	char *end;

	if (!v)
		return false;
	if (!g_ascii_isdigit(*v))
		goto bad;
	lo = strtoul(v, &end, 10);
	hi = lo;
	if (*end == '-') {
		if (!g_ascii_isdigit(end[1]))
			goto bad;
		hi = strtoul(end + 1, &end, 10);
	}
	if (*end)
		goto bad;
	if (lo < 1 || lo > 65535 || hi < 1 || hi > 65535) {
		vw_error(ctx->diags, loc, "invalid-port", "ports are 1 to 65535", "<vw:%s>: %s='%s' is out of range",
			 element, attr, v);
		return false;
	}
	if (lo > hi) {
		g_autofree char *hint = g_strdup_printf("write %s='%lu-%lu'", attr, hi, lo);

		vw_error(ctx->diags, loc, "port-range-order", hint,
			 "<vw:%s>: %s='%s' is a range that ends before it starts", element, attr, v);
		return false;
	}
	ret->lo = (uint16_t)lo;
	ret->hi = (uint16_t)hi;
	return true;
bad:
	vw_error(ctx->diags, loc, "invalid-port", "write a port ('22') or a range ('8000-8010')",
		 "<vw:%s>: %s='%s' is not a port or a port range", element, attr, v);
	return false;
}

/* <vw:hairpin enabled=…/>, <vw:localhost enabled=…/>, <vw:learn-addresses enabled=…/> */
static void parse_enabled(const VwParseCtx *ctx, xmlNode *n, VwTristate *ret, VwLoc *loc)
{
	*loc = vw_xml_loc(ctx, n);
	check_element(ctx, n, enabled_attrs, NULL);
	for (xmlNode *c = n->children; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE)
			stray_child(ctx, n, c, (const char *const[]){ NULL });
	if (!vw_xml_prop(n, "enabled"))
		vw_error(ctx->diags, *loc, "missing-attribute", "write enabled='yes' or enabled='no'",
			 "<vw:%s> has no enabled=", (const char *)n->name);
	else
		vw_xml_prop_tristate(ctx, n, "enabled", ret);
}

/* <vw:spoof-filter enabled=… [domain-opt-out=…]/>: a domain's has enabled=
 * only, and must say it; a network's may just let domains opt out. */
static void parse_spoof_filter(const VwParseCtx *ctx, xmlNode *n, VwTristate *enabled, VwTristate *domain_off,
			       VwLoc *loc)
{
	*loc = vw_xml_loc(ctx, n);
	check_element(ctx, n, domain_off ? net_spoof_attrs : enabled_attrs, NULL);
	for (xmlNode *c = n->children; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE)
			stray_child(ctx, n, c, (const char *const[]){ NULL });
	if (!vw_xml_prop(n, "enabled") && !(domain_off && vw_xml_prop(n, "domain-opt-out")))
		vw_error(ctx->diags, *loc, "missing-attribute",
			 domain_off ? "write enabled='yes' or enabled='no' (or domain-opt-out='yes')"
				    : "write enabled='no' to turn the network's spoof filter off for this domain",
			 "<vw:spoof-filter> has no enabled=");
	vw_xml_prop_tristate(ctx, n, "enabled", enabled);
	if (domain_off)
		vw_xml_prop_tristate(ctx, n, "domain-opt-out", domain_off);
}

static void split_uplinks(const char *v, GPtrArray *out)
{
	g_auto(GStrv) parts = g_strsplit_set(v, ", ", -1);

	for (char **p = parts; *p; p++)
		if (**p)
			g_ptr_array_add(out, g_strdup(*p));
}

static void parse_nat(const VwParseCtx *ctx, VwNetMeta *m, xmlNode *n)
{
	const char *v;

	m->has_nat = true;
	m->nat_loc = vw_xml_loc(ctx, n);
	check_element(ctx, n, nat_attrs, NULL);
	for (xmlNode *c = n->children; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE)
			stray_child(ctx, n, c, (const char *const[]){ NULL });
	v = vw_xml_prop(n, "uplink");
	if (v) {
		split_uplinks(v, m->nat_uplinks);
		if (m->nat_uplinks->len == 0)
			vw_error(ctx->diags, m->nat_loc, "invalid-value", "name a device, or leave uplink= out",
				 "<vw:nat>: uplink= is empty");
		if (m->nat_uplinks->len > VW_MAX_UPLINKS)
			vw_error(ctx->diags, m->nat_loc, "too-many", NULL, "<vw:nat>: more than %d uplink devices",
				 VW_MAX_UPLINKS);
	}
	v = vw_xml_prop(n, "address");
	if (v && !vw_addr_parse(v, &m->nat_address))
		vw_error(ctx->diags, m->nat_loc, "invalid-address", NULL,
			 "<vw:nat>: address='%s' is not an IPv4 or IPv6 address", v);
}

static void parse_domain_forwards(const VwParseCtx *ctx, VwNetMeta *m, xmlNode *n)
{
	m->domain_forwards_loc = vw_xml_loc(ctx, n);
	check_element(ctx, n, domfwd_attrs, NULL);
	for (xmlNode *c = n->children; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE)
			stray_child(ctx, n, c, (const char *const[]){ NULL });
	if (!vw_xml_prop(n, "allow"))
		vw_error(ctx->diags, m->domain_forwards_loc, "missing-attribute", "write allow='yes' or allow='no'",
			 "<vw:domain-forwards> has no allow=");
	else
		vw_xml_prop_tristate(ctx, n, "allow", &m->domain_forwards);
	m->has_domain_ports = vw_meta_ports(ctx, m->domain_forwards_loc, (const char *)n->name, "host-ports",
					    vw_xml_prop(n, "host-ports"), &m->domain_ports);
}

/* Reports a second occurrence of a singleton element. */
static bool once(const VwParseCtx *ctx, xmlNode *n, bool *seen)
{
	if (*seen) {
		vw_error(ctx->diags, vw_xml_loc(ctx, n), "duplicate-element", "merge them into one",
			 "<vw:%s> appears more than once", (const char *)n->name);
		return false;
	}
	*seen = true;
	return true;
}

/* The forwards that stood before element child @before of @n (G_MAXUINT: the
 * rest) into @out; false past VW_MAX_FORWARDS, where reading stops. */
static bool take_forwards(const VwParseCtx *ctx, xmlNode *n, guint before, guint *taken, GPtrArray *out, bool domain)
{
	VwLoc over;

	if (vw_xml_forwards_take(ctx, n, before, taken, out, &over))
		return true;
	if (domain)
		vw_error(ctx->diags, over, "too-many", NULL, "more than %d forwards in one domain", VW_MAX_FORWARDS);
	else
		vw_error(ctx->diags, over, "too-many", "use port ranges, or split the forwards over several networks",
			 "more than %d forwards in one network", VW_MAX_FORWARDS);
	return false;
}

static VwNetMeta *parse_vw_network(const VwParseCtx *ctx, xmlNode *n)
{
	static const char *const children[] = {
		"nat",		"forward",	   "hairpin", "localhost", "domain-forwards",
		"spoof-filter", "learn-addresses", "span",    NULL
	};
	VwNetMeta *m = g_new0(VwNetMeta, 1);
	bool seen_nat = false, seen_hairpin = false, seen_localhost = false, seen_domfwd = false, seen_spoof = false;
	bool seen_learn = false, seen_span = false;
	guint child = 0, taken = 0;
	const char *v;

	m->loc = vw_xml_loc(ctx, n);
	m->forwards = g_ptr_array_new_with_free_func((GDestroyNotify)vw_forward_free);
	m->nat_uplinks = g_ptr_array_new_with_free_func(g_free);
	check_element(ctx, n, network_attrs, NULL);
	v = vw_xml_prop(n, "mode");
	if (v && !vw_mode_from_string(v, &m->mode))
		vw_error(ctx->diags, m->loc, "invalid-mode",
			 "virtwire's modes: nat, route, host-only, internal, bridged",
			 "<vw:network>: mode='%s' is not a virtwire mode", v);
	m->uplink = g_strdup(vw_xml_prop(n, "uplink"));
	/* The forwards are not in the tree (forward.c): each comes in where it stood. */
	for (xmlNode *c = n->children; c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (!take_forwards(ctx, n, child++, &taken, m->forwards, false))
			return m;
		if (vw_named(c, "nat")) {
			if (once(ctx, c, &seen_nat))
				parse_nat(ctx, m, c);
		} else if (vw_named(c, "hairpin")) {
			if (once(ctx, c, &seen_hairpin))
				parse_enabled(ctx, c, &m->hairpin, &m->hairpin_loc);
		} else if (vw_named(c, "localhost")) {
			if (once(ctx, c, &seen_localhost))
				parse_enabled(ctx, c, &m->localhost, &m->localhost_loc);
		} else if (vw_named(c, "domain-forwards")) {
			if (once(ctx, c, &seen_domfwd))
				parse_domain_forwards(ctx, m, c);
		} else if (vw_named(c, "spoof-filter")) {
			if (once(ctx, c, &seen_spoof))
				parse_spoof_filter(ctx, c, &m->spoof_filter, &m->spoof_domain_off,
						   &m->spoof_filter_loc);
		} else if (vw_named(c, "learn-addresses")) {
			if (once(ctx, c, &seen_learn))
				parse_enabled(ctx, c, &m->learn, &m->learn_loc);
		} else if (vw_named(c, "span")) {
			if (once(ctx, c, &seen_span))
				m->span = vw_xml_parse_span(ctx, c);
		} else {
			stray_child(ctx, n, c, children);
		}
	}
	take_forwards(ctx, n, G_MAXUINT, &taken, m->forwards, false);
	return m;
}

static VwDomMeta *parse_vw_domain(const VwParseCtx *ctx, xmlNode *n)
{
	VwDomMeta *m = g_new0(VwDomMeta, 1);
	bool seen_spoof = false;
	guint child = 0, taken = 0;

	m->loc = vw_xml_loc(ctx, n);
	m->forwards = g_ptr_array_new_with_free_func((GDestroyNotify)vw_forward_free);
	check_element(ctx, n, domain_attrs, NULL);
	for (xmlNode *c = n->children; c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (!take_forwards(ctx, n, child++, &taken, m->forwards, true))
			return m;
		if (vw_named(c, "spoof-filter")) {
			if (once(ctx, c, &seen_spoof))
				parse_spoof_filter(ctx, c, &m->spoof_filter, NULL, &m->spoof_filter_loc);
		} else {
			stray_child(ctx, n, c, (const char *const[]){ "forward", "spoof-filter", NULL });
		}
	}
	take_forwards(ctx, n, G_MAXUINT, &taken, m->forwards, true);
	return m;
}

/*
 * Finds the one top-level virtwire element of <metadata>. libvirt keeps one
 * element per namespace and drops the rest, so a second one is an error here
 * rather than a surprise later.
 */
static xmlNode *find_vw_top(const VwParseCtx *ctx, xmlNode *metadata, const char *want, const char *other)
{
	xmlNode *found = NULL;

	for (xmlNode *c = metadata->children; c; c = c->next) {
		const char *href;

		if (!vw_xml_is_vw(c))
			continue;
		href = (const char *)c->ns->href;
		if (strcmp(href, VW_NS_URI) != 0) {
			vw_error(ctx->diags, vw_xml_loc(ctx, c), "metadata-version",
				 "this virtwire reads xmlns:vw=\"" VW_NS_URI "\"",
				 "<%s%s%s> uses virtwire metadata namespace '%s', which this virtwire does not know",
				 c->ns->prefix ? (const char *)c->ns->prefix : "", c->ns->prefix ? ":" : "",
				 (const char *)c->name, href);
			continue;
		}
		if (strcmp((const char *)c->name, want) != 0) {
			if (strcmp((const char *)c->name, other) == 0)
				vw_error(ctx->diags, vw_xml_loc(ctx, c), "misplaced-element",
					 want[0] == 'n' ? "domain forwards go into the domain's <metadata>"
							: "network settings go into the network's <metadata>",
					 "<vw:%s> does not belong in a %s's <metadata>", other,
					 want[0] == 'n' ? "network" : "domain");
			else
				vw_error(ctx->diags, vw_xml_loc(ctx, c), "unknown-element", NULL,
					 "<vw:%s> is not a virtwire element; expected <vw:%s>", (const char *)c->name,
					 want);
			continue;
		}
		if (found) {
			vw_error(ctx->diags, vw_xml_loc(ctx, c), "duplicate-element",
				 "libvirt keeps only one element per namespace in <metadata>: merge them into one",
				 "a second <vw:%s> in <metadata> (the first is at line %ld)", want,
				 (long)vw_xml_line(ctx, found));
			continue;
		}
		found = c;
	}
	return found;
}

VwNetMeta *vw_xml_parse_net_meta(const VwParseCtx *ctx, xmlNode *metadata)
{
	xmlNode *n = find_vw_top(ctx, metadata, "network", "domain");

	return n ? parse_vw_network(ctx, n) : NULL;
}

VwDomMeta *vw_xml_parse_dom_meta(const VwParseCtx *ctx, xmlNode *metadata)
{
	xmlNode *n = find_vw_top(ctx, metadata, "domain", "network");

	return n ? parse_vw_domain(ctx, n) : NULL;
}

/* The element rules above, for the parsers of vw elements in other files. */
void vw_xml_vw_element(const VwParseCtx *ctx, xmlNode *n, const char *const *allowed)
{
	check_element(ctx, n, allowed, NULL);
}

void vw_xml_vw_stray(const VwParseCtx *ctx, xmlNode *parent, xmlNode *c, const char *const *valid)
{
	stray_child(ctx, parent, c, valid);
}
