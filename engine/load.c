/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Input: documents parsed and checked, alone and together, and against the
 * networks already recorded; the plan `virtwire plan` prints. */
#include <string.h>

#include "engine-private.h"

bool vw_engine_load(VwEngine *e, char **files, bool schema, GPtrArray *docs, VwDiags *diags)
{
	g_autoptr(VwSchemas) schemas = schema ? vw_schemas_new(e->cfg.schema_dir) : NULL;
	bool ok = true;

	for (char **f = files; f && *f; f++) {
		VwDoc *doc = NULL;

		if (vw_doc_load_file(*f, schemas, diags, &doc) != VW_LOAD_OK)
			ok = false;
		else
			g_ptr_array_add(docs, doc);
	}
	vw_check_docs(docs, diags);
	vw_diags_sort(diags);
	return ok;
}

void vw_engine_collect(GPtrArray *docs, GPtrArray *networks, GPtrArray *domains)
{
	for (guint i = 0; i < docs->len; i++) {
		VwDoc *doc = docs->pdata[i];

		if (doc->network && networks)
			g_ptr_array_add(networks, doc->network);
		for (guint j = 0; doc->domain && domains && j < doc->domain->interfaces->len; j++) {
			const VwInterface *iface = doc->domain->interfaces->pdata[j];
			VwPlanDomain *pd;

			if (!iface->source_network)
				continue;
			pd = g_new0(VwPlanDomain, 1);
			pd->domain = doc->domain;
			pd->network = iface->source_network;
			pd->port_uuid = iface->portid;
			pd->has_mac = iface->has_mac;
			pd->mac = iface->mac;
			g_ptr_array_add(domains, pd);
		}
	}
}

static bool invalid(VwDiags *diags, GError **error)
{
	guint n = vw_diags_count(diags, VW_SEV_ERROR);

	g_set_error(error, VW_ERROR, VW_ERROR_INVALID, "%u error%s in the input", n, n == 1 ? "" : "s");
	return false;
}

VwPlan *vw_engine_plan(VwEngine *e, GPtrArray *docs, VwDiags *diags, GError **error)
{
	g_autoptr(GPtrArray) networks = g_ptr_array_new();
	g_autoptr(GPtrArray) domains = g_ptr_array_new_with_free_func(g_free);
	VwPlan *plan;

	if (vw_diags_has_errors(diags))
		return invalid(diags, error), NULL;
	/* What apply would do to the host's other firewalls depends on the
	 * configuration file: a broken one fails the plan as it fails apply. */
	if (!vw_eng_hostfw_integrate(e, error))
		return NULL;
	vw_engine_collect(docs, networks, domains);
	plan = vw_plan_build(networks, domains, diags);
	if (!plan)
		invalid(diags, error);
	vw_eng_plan_hostfw(e, plan);
	return plan;
}

bool vw_engine_check_start(VwEngine *e, const char *xml, gsize len, VwDiags *diags)
{
	static const char self[] = "network XML";
	g_autoptr(VwSchemas) schemas = vw_schemas_new(e->cfg.schema_dir);
	g_autoptr(VwDiags) all = vw_diags_new();
	g_autoptr(VwDoc) doc = NULL;
	g_autoptr(GPtrArray) docs = g_ptr_array_new();
	g_autoptr(GPtrArray) recorded = NULL;
	g_autoptr(GHashTable) skip = g_hash_table_new(g_str_hash, g_str_equal);

	/* The full check, as `virtwire check`: libvirt's schema included. */
	if (vw_doc_load_libvirt(self, xml, len, schemas, diags, &doc) != VW_LOAD_OK || !doc->network)
		return false;
	/* Against the networks already applied too: a forward or subnet one
	 * of them holds is refused now, before libvirt builds anything. They
	 * come first, so a conflict is blamed on this network; findings about
	 * them alone are not this start's business. */
	g_hash_table_add(skip, doc->network->name);
	recorded = vw_eng_load_recorded(e, skip, NULL);
	for (guint i = 0; i < recorded->len; i++)
		g_ptr_array_add(docs, ((VwRecorded *)recorded->pdata[i])->doc);
	g_ptr_array_add(docs, doc);
	vw_check_docs(docs, all);
	for (guint i = 0; i < all->items->len; i++) {
		const VwDiag *x = all->items->pdata[i];

		if (g_strcmp0(x->loc.file, self) == 0)
			vw_diags_add(diags, x->loc, x->severity, x->code, x->hint, "%s", x->message);
	}
	return !vw_diags_has_errors(diags);
}

static bool has_recorded(GPtrArray *out, const char *name)
{
	for (guint j = 0; j < out->len; j++)
		if (g_strcmp0(((VwRecorded *)out->pdata[j])->st->name, name) == 0)
			return true;
	return false;
}

/* Network @name's record, parsed; NULL (with *@err) when there is none or
 * it cannot be read. */
static VwRecorded *load_recorded(VwEngine *e, VwStore *s, const char *name, GError **err)
{
	VwState *st = NULL;
	VwDoc *doc = NULL;
	VwRecorded *r;

	if (s && vw_store_load(s, name, &st, err))
		doc = vw_eng_parse_record(e, st, err);
	if (!doc) {
		vw_state_free(st);
		return NULL;
	}
	r = g_new0(VwRecorded, 1);
	r->st = st;
	r->doc = doc;
	return r;
}

/* The recorded networks the domain's forwards name (VwRecorded* into @out);
 * a forward to a network that is not recorded is an error. */
static void domain_networks(VwEngine *e, const VwDomain *dom, GPtrArray *out, VwDiags *diags)
{
	VwStore *s = vw_eng_store(e, false, NULL);

	for (guint i = 0; dom->vw && i < dom->vw->forwards->len; i++) {
		const VwForward *f = dom->vw->forwards->pdata[i];
		g_autofree char *what = vw_forward_describe(f);
		g_autoptr(GError) err = NULL;
		VwRecorded *r;

		if (!f->network || has_recorded(out, f->network))
			continue;
		if ((r = load_recorded(e, s, f->network, &err))) {
			g_ptr_array_add(out, r);
			continue;
		}
		if (err && !g_error_matches(err, VW_ERROR, VW_ERROR_NOT_FOUND))
			vw_error(diags, f->loc, "state-unreadable", NULL, "domain '%s': forward %s: %s", dom->name,
				 what, err->message);
		else
			vw_error(diags, f->loc, "domain-forwards-denied",
				 "the network's owner allows domain forwards with <vw:domain-forwards allow='yes' "
				 "…/> in the network's virtwire metadata",
				 "domain '%s': forward %s: network '%s' is not managed by virtwire (or not running)",
				 dom->name, what, f->network);
	}
}

/* The recorded networks of the domain's interfaces too (into @out); true
 * when one of them filters spoofed traffic: then the domain is recorded,
 * so that its ports' filter knows its interfaces. */
static bool interface_networks(VwEngine *e, const VwDomain *dom, GPtrArray *out)
{
	VwStore *s = vw_eng_store(e, false, NULL);
	bool spoof = false;

	for (guint i = 0; i < dom->interfaces->len; i++) {
		const char *name = ((const VwInterface *)dom->interfaces->pdata[i])->source_network;
		VwRecorded *r;

		if (name && !has_recorded(out, name) && (r = load_recorded(e, s, name, NULL)))
			g_ptr_array_add(out, r);
	}
	for (guint i = 0; i < out->len; i++)
		spoof |= vw_network_spoof_filter(((VwRecorded *)out->pdata[i])->doc->network);
	return spoof;
}

bool vw_engine_prepare_domain(VwEngine *e, const VwDomain *dom, const char *xml, VwDiags *diags, GError **error)
{
	g_autoptr(GPtrArray) recorded = g_ptr_array_new_with_free_func((GDestroyNotify)vw_recorded_free);
	g_autoptr(GPtrArray) nets = g_ptr_array_new();
	bool forwards = dom->vw && dom->vw->forwards->len;
	VwStore *s;

	domain_networks(e, dom, recorded, diags);
	if (!interface_networks(e, dom, recorded) && !forwards)
		return true;
	for (guint i = 0; i < recorded->len; i++)
		g_ptr_array_add(nets, ((VwRecorded *)recorded->pdata[i])->doc->network);
	vw_check_domain(dom, nets, diags);
	if (vw_diags_has_errors(diags))
		return invalid(diags, error);
	if (!dom->uuid) {
		g_set_error(error, VW_ERROR, VW_ERROR_INVALID, "domain '%s' has no uuid", dom->name);
		return false;
	}
	/* Recorded now: the network's port-created hook, which comes next,
	 * plans the port's forwards and spoof filter from it (the start hook
	 * records it again, with the taps libvirt has named by then). */
	s = vw_eng_store(e, true, error);
	return s && vw_store_save_domain(s, dom->uuid, xml, error);
}
