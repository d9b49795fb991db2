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

VwDoc *vw_eng_parse_record(VwEngine *e, const VwState *st, GError **error)
{
	g_autofree char *path = e->store ? vw_store_xml_path(e->store, st->name) : g_strdup("the recorded XML");
	g_autoptr(VwDiags) d = vw_diags_new();
	VwDoc *doc = NULL;
	bool libvirt;
	g_autofree char *label = record_label(st, &libvirt);
	VwLoadStatus ok = libvirt ? vw_doc_load_libvirt(label, st->xml, strlen(st->xml), NULL, d, &doc)
				  : vw_doc_load_memory(label, st->xml, strlen(st->xml), NULL, d, &doc);

	if (ok != VW_LOAD_OK || !doc->network || g_strcmp0(doc->network->name, st->name) != 0) {
		vw_doc_free(doc);
		g_set_error(error, VW_ERROR, VW_ERROR_STATE,
			    "%s: the recorded XML of network '%s' is not that network's", path, st->name);
		return NULL;
	}
	vw_eng_add_learned(e, doc->network);
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
