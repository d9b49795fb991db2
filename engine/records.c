/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The records as every operation reads them: a recorded network's XML
 * parsed (with what watch learned for it), every recorded network, the
 * ports' domains, the networks libvirt runs in mode open. */
#include <string.h>

#include "engine-private.h"

/* What findings about a recorded network call its XML: the file it was
 * applied from, or (applied by a hook) what the operator sees of it, never
 * virtwire's copy under the state directory. */
static char *record_label(const VwState *st, bool *libvirt)
{
	*libvirt = !st->source || !*st->source || strcmp(st->source, VW_SOURCE_HOOK) == 0;
	return *libvirt ? g_strdup_printf("virsh net-dumpxml %s", st->name) : g_strdup(st->source);
}

/* Network @st's document from @xml (@len bytes, the record's or a part of
 * it), labelled as its record is. */
static VwDoc *parse_network(VwEngine *e, const VwState *st, const char *xml, gsize len, GError **error)
{
	g_autofree char *path = e->store ? vw_store_xml_path(e->store, st->name) : g_strdup("the recorded XML");
	g_autoptr(VwDiags) d = vw_diags_new();
	VwDoc *doc = NULL;
	bool libvirt;
	g_autofree char *label = record_label(st, &libvirt);
	VwLoadStatus ok = libvirt ? vw_doc_load_libvirt(label, xml, len, NULL, d, &doc)
				  : vw_doc_load_memory(label, xml, len, NULL, d, &doc);

	if (ok != VW_LOAD_OK || !doc->network || g_strcmp0(doc->network->name, st->name) != 0) {
		vw_doc_free(doc);
		g_set_error(error, VW_ERROR, VW_ERROR_STATE,
			    "%s: the recorded XML of network '%s' is not that network's", path, st->name);
		return NULL;
	}
	vw_eng_add_learned(e, doc->network);
	return doc;
}

VwDoc *vw_eng_parse_record(VwEngine *e, const VwState *st, GError **error)
{
	return parse_network(e, st, st->xml, strlen(st->xml), error);
}

/* ---------------------------------------------------------------------- */
/* The recorded network without its forwards
 *
 * A port's plan needs its network (addresses, reservations, modes), never
 * the network's own forwards, which at 10,000 forwards are nearly all of
 * the XML. Those are cut out of the bytes before parsing: every element
 * <P:forward> where P is the one prefix bound to virtwire's namespace.
 * Comments, CDATA sections and processing instructions are stepped over
 * whole (a forward in a comment is no forward); anything else the scan does
 * not know for certain (a DOCTYPE, the namespace as a default one or under
 * two prefixes, a forward inside a forward) gives up, and the caller parses
 * the whole record. */

#define VW_NS "urn:virtwire:1"

/* The prefix bound to virtwire's namespace in @xml, when exactly one is
 * and no default namespace is it (NULL otherwise). */
static char *vw_prefix(const char *xml, gsize len)
{
	g_autofree char *prefix = NULL;
	const char *p = xml, *end = xml + len;

	while ((p = memmem(p, (size_t)(end - p), VW_NS, strlen(VW_NS)))) {
		const char *q = p - 1, *eq, *name;

		/* … xmlns:PFX="urn:virtwire:1" */
		if (q - 8 < xml || (*q != '"' && *q != '\'') || q[-1] != '=' || p + strlen(VW_NS) >= end ||
		    p[strlen(VW_NS)] != *q)
			return NULL;
		eq = q - 1;
		for (name = eq; name > xml && (g_ascii_isalnum(name[-1]) || strchr("-_.", name[-1])); name--)
			;
		if (name - 6 < xml || memcmp(name - 6, "xmlns:", 6) != 0 || name == eq)
			return NULL;
		if (!prefix)
			prefix = g_strndup(name, (gsize)(eq - name));
		else if (strlen(prefix) != (gsize)(eq - name) || memcmp(prefix, name, (gsize)(eq - name)) != 0)
			return NULL;
		p += strlen(VW_NS);
	}
	return g_steal_pointer(&prefix);
}

/* The end of the tag that starts at @p ('<'): past its '>', quotes
 * respected; NULL when it does not end. */
static const char *tag_end(const char *p, const char *end)
{
	for (p++; p < end; p++) {
		if (*p == '>')
			return p + 1;
		if ((*p == '"' || *p == '\'') && !(p = memchr(p + 1, *p, (size_t)(end - p - 1))))
			return NULL;
	}
	return NULL;
}

/* Past the markup at @p that is no element (comment, CDATA, processing
 * instruction, closing tag): its end; @p itself when it is an element's
 * start; NULL when unknown or unended. */
static const char *skip_other(const char *p, const char *end)
{
	static const struct {
		const char *open, *close;
	} other[] = { { "<!--", "-->" }, { "<![CDATA[", "]]>" }, { "<?", "?>" } };

	for (size_t i = 0; i < G_N_ELEMENTS(other); i++) {
		size_t n = strlen(other[i].open);
		const char *c;

		if ((size_t)(end - p) < n || memcmp(p, other[i].open, n) != 0)
			continue;
		c = memmem(p + n, (size_t)(end - p - (ptrdiff_t)n), other[i].close, strlen(other[i].close));
		return c ? c + strlen(other[i].close) : NULL;
	}
	if (end - p > 1 && p[1] == '!')
		return NULL;
	return end - p > 1 && p[1] == '/' ? tag_end(p, end) : p;
}

/* Whether the element at @p is named @name ("P:forward"). */
static bool named(const char *p, const char *end, const char *name)
{
	size_t n = strlen(name);

	return (size_t)(end - p) > n + 1 && memcmp(p + 1, name, n) == 0 && strchr(" \t\r\n/>", p[n + 1]);
}

/* The end of the forward element at @p: its own tag's when it closes
 * itself, else its closing tag's (its children, sources, have none of
 * their own). NULL when it is not that simple. */
static const char *forward_end(const char *p, const char *end, const char *name, const char *close)
{
	const char *t = tag_end(p, end);

	if (!t || t[-2] == '/')
		return t;
	for (p = t; (p = memchr(p, '<', (size_t)(end - p)));) {
		if ((size_t)(end - p) >= strlen(close) && memcmp(p, close, strlen(close)) == 0)
			return tag_end(p, end);
		if (named(p, end, name) || skip_other(p, end) != p || !(p = tag_end(p, end)))
			return NULL;
	}
	return NULL;
}

/* A start tag at @p (not a closing tag): past it, *@closed when it closes
 * itself; NULL when it does not end. */
static const char *start_tag(const char *p, const char *end, bool *closed)
{
	const char *t = tag_end(p, end);

	*closed = t && t[-2] == '/';
	return t;
}

GArray *vw_eng_forward_spans(const char *xml, gsize len)
{
	g_autofree char *prefix = vw_prefix(xml, len);
	g_autofree char *name = prefix ? g_strdup_printf("%s:forward", prefix) : NULL;
	g_autofree char *close = prefix ? g_strdup_printf("</%s:forward", prefix) : NULL;
	g_autofree char *network = prefix ? g_strdup_printf("%s:network", prefix) : NULL;
	g_autoptr(GArray) spans = g_array_new(FALSE, FALSE, sizeof(VwByteSpan));
	const char *p = xml, *end = xml + len;
	int depth = 0, net_depth = -1; /* open elements; theirs inside <P:network> */
	bool net_seen = false, closed;

	if (!prefix)
		return NULL;
	while ((p = memchr(p, '<', (size_t)(end - p)))) {
		const char *next = skip_other(p, end), *f;
		VwByteSpan sp;

		if (!next)
			return NULL;
		if (next != p) {
			/* A closing tag leaves an element; the network's, the network. */
			if (p[1] == '/' && depth-- == net_depth)
				net_depth = -1;
			p = next;
			continue;
		}
		if (named(p, end, name)) {
			/* Only the network's own forwards, in its namespace. */
			if (depth != net_depth || !(f = forward_end(p, end, name, close)) ||
			    memmem(p, (size_t)(f - p), "xmlns", 5))
				return NULL;
			sp = (VwByteSpan){ (gsize)(p - xml), (gsize)(f - xml) };
			g_array_append_val(spans, sp);
			p = f;
			continue;
		}
		if (!(next = start_tag(p, end, &closed)))
			return NULL;
		if (named(p, end, network)) {
			if (net_seen || closed)
				return NULL;
			net_seen = true;
			net_depth = depth + 1;
		}
		depth += !closed;
		p = next;
	}
	return depth == 0 ? g_steal_pointer(&spans) : NULL;
}

GString *vw_eng_cut_forwards(const char *xml, gsize len, const GArray *spans, const GArray *keep)
{
	GString *out = g_string_sized_new(len);
	gsize kept = 0;
	guint k = 0;

	for (guint i = 0; i < spans->len; i++) {
		const VwByteSpan *sp = &g_array_index(spans, VwByteSpan, i);

		/* Both in document order: one pass. */
		while (keep && k < keep->len && g_array_index(keep, VwByteSpan, k).start < sp->start)
			k++;
		if (keep && k < keep->len && g_array_index(keep, VwByteSpan, k).start == sp->start)
			continue;
		g_string_append_len(out, xml + kept, (gssize)(sp->start - kept));
		for (const char *c = xml + sp->start; (c = memchr(c, '\n', (size_t)(xml + sp->end - c))); c++)
			g_string_append_c(out, '\n');
		kept = sp->end;
	}
	g_string_append_len(out, xml + kept, (gssize)(len - kept));
	return out;
}

/* @xml without its forwards, *@cut of them; NULL when that cannot be told
 * for certain. */
static GString *cut_forwards(const char *xml, gsize len, guint *cut)
{
	g_autoptr(GArray) spans = vw_eng_forward_spans(xml, len);

	*cut = spans ? spans->len : 0;
	return spans ? vw_eng_cut_forwards(xml, len, spans, NULL) : NULL;
}

VwDoc *vw_eng_parse_record_part(VwEngine *e, const VwState *st, const GArray *spans, const GArray *keep)
{
	g_autoptr(GString) part = vw_eng_cut_forwards(st->xml, strlen(st->xml), spans, keep);

	return parse_network(e, st, part->str, part->len, NULL);
}

VwDoc *vw_eng_parse_record_base(VwEngine *e, const VwState *st)
{
	guint cut;
	g_autoptr(GString) base = cut_forwards(st->xml, strlen(st->xml), &cut);
	VwDoc *doc = base ? parse_network(e, st, base->str, base->len, NULL) : NULL;
	const VwNetwork *net = doc ? doc->network : NULL;

	/* What forwards the network has decides, besides its forwards, only
	 * whether a network of libvirt's own firewall needs virtwire's table
	 * (plan-nft.c uses_inet): not when it takes domain forwards, whose
	 * ports are the only ones with elements there. */
	if (net && (!net->vw || net->vw->forwards->len ||
		    (cut && !vw_network_virtwire_owns_firewall(net) &&
		     vw_network_effective_mode(net) != VW_MODE_BRIDGED && net->vw->domain_forwards != VW_TRI_YES)))
		g_clear_pointer(&doc, vw_doc_free);
	return doc;
}

GPtrArray *vw_eng_load_recorded(VwEngine *e, GHashTable *skip, VwDiags *diags)
{
	GPtrArray *out = g_ptr_array_new_with_free_func((GDestroyNotify)vw_recorded_free);
	g_autoptr(GPtrArray) names = NULL;
	VwStore *s = vw_eng_store(e, false, NULL);

	if (!s)
		return out;
	names = vw_store_list(s);
	for (guint i = 0; i < names->len; i++) {
		const char *name = names->pdata[i];
		g_autoptr(GError) err = NULL;
		VwRecorded *r;
		VwState *st = NULL;
		VwDoc *doc;

		if (skip && g_hash_table_contains(skip, name))
			continue;
		if (!vw_store_load(s, name, &st, &err) || !(doc = vw_eng_parse_record(e, st, &err))) {
			vw_state_free(st);
			if (diags)
				vw_warning(diags, vw_loc(NULL, 0), "state-unreadable",
					   "'virtwire teardown --from FILE NAME' removes such a network",
					   "the record of network '%s' is unusable, so it was not checked against: %s",
					   name, err->message);
			continue;
		}
		r = g_new0(VwRecorded, 1);
		r->st = st;
		r->doc = doc;
		g_ptr_array_add(out, r);
	}
	return out;
}

GPtrArray *vw_engine_open_networks(VwEngine *e)
{
	g_autoptr(GPtrArray) recorded = vw_eng_load_recorded(e, NULL, NULL);
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);

	for (guint i = 0; i < recorded->len; i++) {
		const VwRecorded *r = recorded->pdata[i];

		if (g_strcmp0(r->st->source, VW_SOURCE_HOOK) == 0 && vw_network_virtwire_owns_firewall(r->doc->network))
			g_ptr_array_add(names, g_strdup(r->st->name));
	}
	return names;
}

void vw_eng_recorded_ports(VwEngine *e, const VwState *st, GPtrArray *docs, GPtrArray *doms)
{
	for (guint i = 0; st && e->store && i < st->ports->len; i++) {
		const VwStatePort *p = st->ports->pdata[i];
		g_autofree char *xml = NULL;
		g_autoptr(VwDiags) d = vw_diags_new();
		VwDoc *doc = NULL;
		VwPlanDomain *pd;

		g_autofree char *label = g_strdup_printf("virsh dumpxml %s", p->domain_uuid);

		/* Recorded as the domain hooks got it: lines as `virsh dumpxml`
		 * shows them. */
		if (!vw_store_load_domain(e->store, p->domain_uuid, &xml, NULL) ||
		    vw_doc_load_libvirt(label, xml, strlen(xml), NULL, d, &doc) != VW_LOAD_OK || !doc->domain) {
			vw_doc_free(doc);
			continue;
		}
		g_ptr_array_add(docs, doc);
		pd = g_new0(VwPlanDomain, 1);
		pd->domain = doc->domain;
		pd->network = g_intern_string(st->name);
		pd->port_uuid = g_intern_string(p->uuid);
		pd->has_mac = vw_mac_parse(p->mac, &pd->mac);
		g_ptr_array_add(doms, pd);
	}
}

void vw_eng_note_port_elems(const VwPlan *plan, VwState *st)
{
	g_autoptr(GPtrArray) owners = g_ptr_array_new();
	g_autoptr(GHashTable) elems = NULL;

	for (guint i = 0; i < st->ports->len; i++) {
		g_autofree char *owner = vw_plan_port_owner(st->id, ((VwStatePort *)st->ports->pdata[i])->uuid);

		g_ptr_array_add(owners, (gpointer)g_intern_string(owner));
	}
	if (!owners->len)
		return;
	elems = vw_nft_owners_elems(plan, owners);
	for (guint i = 0; i < st->ports->len; i++) {
		VwStatePort *p = st->ports->pdata[i];

		g_free(p->elems);
		p->elems = g_strdup(g_hash_table_lookup(elems, owners->pdata[i]));
	}
}
