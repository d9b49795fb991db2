/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The engine's context: the state directory and the kernel's two seams,
 * opened when first needed, and what every operation reads of the records. */
#include <string.h>
#include <syslog.h>

#include "engine-private.h"

VwEngine *vw_engine_new(const VwEngineConfig *cfg)
{
	VwEngine *e = g_new0(VwEngine, 1);

	if (cfg)
		e->cfg = *cfg;
	e->cfg.state_dir = e->state_dir = g_strdup(e->cfg.state_dir ? e->cfg.state_dir : VW_STATE_DIR_DEFAULT);
	e->cfg.schema_dir = e->schema_dir = g_strdup(e->cfg.schema_dir);
	e->cfg.config_file = e->config_file = g_strdup(e->cfg.config_file);
	if (!e->cfg.lock_timeout_ms)
		e->cfg.lock_timeout_ms = VW_LOCK_TIMEOUT_MS_DEFAULT;
	return e;
}

void vw_engine_free(VwEngine *e)
{
	if (!e)
		return;
	vw_store_close(e->store);
	vw_link_backend_free(e->own_links);
	vw_nft_backend_free(e->own_nft);
	vw_ct_backend_free(e->own_ct);
	vw_eng_forget_learned(e);
	g_free(e->state_dir);
	g_free(e->schema_dir);
	g_free(e->config_file);
	g_free(e);
}

const char *vw_engine_state_dir(const VwEngine *e)
{
	return e->store ? vw_store_dir(e->store) : e->cfg.state_dir;
}

VwStore *vw_eng_store(VwEngine *e, bool create, GError **error)
{
	if (!e->store) {
		if (!vw_store_open(e->cfg.state_dir, create, &e->store, error))
			return NULL;
		vw_store_set_faults(e->store, e->cfg.faults);
	}
	return e->store;
}

bool vw_eng_lock(VwEngine *e, GError **error)
{
	VwStore *s = vw_eng_store(e, true, error);

	return s && vw_store_lock(s, e->cfg.lock_timeout_ms, error);
}

void vw_eng_unlock(VwEngine *e)
{
	if (e->store)
		vw_store_unlock(e->store);
}

const VwLinkBackend *vw_eng_links(VwEngine *e, GError **error)
{
	if (e->cfg.links)
		return e->cfg.links;
	if (!e->own_links)
		e->own_links = vw_link_backend_netlink(error);
	return e->own_links;
}

const VwNftBackend *vw_eng_nft(VwEngine *e, GError **error)
{
	if (e->cfg.nft)
		return e->cfg.nft;
	if (!e->own_nft)
		e->own_nft = vw_nft_backend_netlink(error);
	return e->own_nft;
}

void vw_eng_stage(VwEngine *e, const char *name)
{
	if (e->cfg.stage)
		e->cfg.stage(name, e->cfg.stage_data);
}

void vw_apply_report_free(VwApplyReport *r)
{
	if (!r)
		return;
	g_free(r->name);
	if (r->changes)
		g_ptr_array_unref(r->changes);
	g_free(r);
}

void vw_recorded_free(VwRecorded *r)
{
	if (!r)
		return;
	vw_state_free(r->st);
	vw_doc_free(r->doc);
	g_free(r);
}

char *vw_eng_scope_of(const char *id)
{
	return g_strdup_printf("%s:*", id);
}

/* ---------------------------------------------------------------------- */
/* Records */

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

/* A port's owner tag in words: its domain's name, from its record. */
static char *port_words(VwEngine *e, const VwState *st, const char *port)
{
	const VwStatePort *p = vw_state_find_port(st, port);
	g_autofree char *xml = NULL;
	g_autoptr(VwDiags) d = vw_diags_new();
	g_autoptr(VwDoc) doc = NULL;

	if (p && e->store && vw_store_load_domain(e->store, p->domain_uuid, &xml, NULL) &&
	    vw_doc_load_memory("domain", xml, strlen(xml), NULL, d, &doc) == VW_LOAD_OK && doc->domain &&
	    doc->domain->name)
		return g_strdup_printf("domain '%s' (its port on network '%s')", doc->domain->name, st->name);
	return g_strdup_printf("a port of network '%s'", st->name);
}

static char *state_words(VwEngine *e, const VwState *st, const char *port)
{
	return port ? port_words(e, st, port) : g_strdup_printf("network '%s'", st->name);
}

char *vw_eng_owner_words(const char *tag, void *data)
{
	VwOwnerWords *w = data;
	g_auto(GStrv) f = g_strsplit(tag, ":", 2);
	g_autoptr(GPtrArray) names = NULL;

	for (guint i = 0; w->states && i < w->states->len; i++) {
		const VwState *st = w->states->pdata[i];

		if (g_strcmp0(st->id, f[0]) == 0)
			return state_words(w->engine, st, f[1]);
	}
	if (!w->engine->store)
		return NULL;
	names = vw_store_list(w->engine->store);
	for (guint i = 0; i < names->len; i++) {
		g_autoptr(VwState) st = NULL;

		if (vw_store_load(w->engine->store, names->pdata[i], &st, NULL) && g_strcmp0(st->id, f[0]) == 0)
			return state_words(w->engine, st, f[1]);
	}
	return NULL;
}

/* ---------------------------------------------------------------------- */
/* What the kernel shows */

bool vw_eng_in_kernel(VwEngine *e, const char *id, const char *bridge, char **what, GError **error)
{
	const VwLinkBackend *links = vw_eng_links(e, error);
	const VwNftBackend *nft = links ? vw_eng_nft(e, error) : NULL;
	g_autofree char *alias = g_strdup_printf(VW_LINK_ALIAS_PREFIX "%s", id);
	g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func(g_free);
	VwLinkInfo li;
	bool exists;

	*what = NULL;
	if (!nft)
		return false;
	if (bridge && links->link_get(links->ctx, bridge, &li) == 0 && strcmp(li.alias, alias) == 0) {
		*what = g_strdup_printf("bridge %s carries virtwire's marker for it", bridge);
		return true;
	}
	if (!vw_nft_table_owners(nft, &exists, ids, error))
		return false;
	for (guint i = 0; i < ids->len; i++) {
		if (strcmp(ids->pdata[i], id) == 0) {
			*what = g_strdup("virtwire's nftables tables hold its elements");
			return true;
		}
	}
	return true;
}

/* Bridged mode: the uplink's addresses and routes on the bridge, recorded
 * in the order apply makes them, so that their reverse puts them back. */
static void uplink_from_kernel(const VwLinkBackend *be, VwState *st, const char *br, int brindex, const char *uplink)
{
	g_autofree char *pair = g_strdup_printf("%s %s", br, uplink);
	g_autofree char *port = g_strdup_printf("%s %s", uplink, br);
	g_autoptr(GArray) addrs = g_array_new(FALSE, TRUE, sizeof(VwAddrInfo));
	g_autoptr(GArray) routes = g_array_new(FALSE, TRUE, sizeof(VwRouteInfo));
	VwLinkInfo up;

	if (be->link_get(be->ctx, uplink, &up) != 0 || up.master != brindex)
		return;
	vw_state_add_link(st, "enslave", port, true, NULL);
	be->addr_list(be->ctx, br, addrs);
	be->route_list(be->ctx, br, routes);
	for (int pass = 0; pass < 3; pass++) {
		for (guint i = 0; pass != 1 && i < addrs->len; i++) {
			const VwAddrInfo *a = &g_array_index(addrs, VwAddrInfo, i);
			g_autofree char *t = vw_addrinfo_to_string(a);

			if (!(a->prefix.addr.family == AF_INET6 && a->prefix.addr.b[0] == 0xfe))
				vw_state_add_link(st, pass ? "dropped-addr" : "copied-addr", pair, true, t);
		}
		for (guint i = 0; pass == 1 && i < routes->len; i++) {
			g_autofree char *t = vw_route_to_string(&g_array_index(routes, VwRouteInfo, i));

			vw_state_add_link(st, "moved-route", pair, true, t);
		}
	}
}

VwState *vw_eng_links_from_kernel(VwEngine *e, const VwNetwork *net, const char *id, char **note)
{
	g_autoptr(VwState) st = vw_state_new(net->name);
	g_autofree char *alias = g_strdup_printf(VW_LINK_ALIAS_PREFIX "%s", id);
	const VwLinkBackend *be = vw_eng_links(e, NULL);
	VwLinkInfo br;

	*note = NULL;
	st->id = g_strdup(id);
	if (!be || !net->bridge || be->link_get(be->ctx, net->bridge, &br) != 0)
		return g_steal_pointer(&st);
	if (strcmp(br.alias, alias) != 0) {
		*note = g_strdup_printf("bridge %s does not carry virtwire's marker for the network: left as it is",
					net->bridge);
		return g_steal_pointer(&st);
	}
	vw_state_add_link(st, "bridge", net->bridge, true, NULL);
	if (net->vw && net->vw->mode == VW_MODE_BRIDGED && net->vw->uplink)
		uplink_from_kernel(be, st, net->bridge, br.ifindex, net->vw->uplink);
	return g_steal_pointer(&st);
}

void vw_eng_log_changes(const char *name, GPtrArray *changes)
{
	/* Notes in words ("… left as it is", connections ended): no object
	 * of their own. */
	for (guint i = 0; vw_log_enabled() && changes && i < changes->len; i++) {
		const char *c = changes->pdata[i];
		bool warning = g_str_has_prefix(c, "warning: ");
		g_autofree char *msg = g_strdup_printf("network '%s': %s", name, warning ? c + strlen("warning: ") : c);
		VwLogRecord r = { warning ? LOG_WARNING : LOG_NOTICE, msg, .network = name, .duration_ms = -1 };

		vw_log_record(&r);
	}
}
