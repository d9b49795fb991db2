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
	g_clear_pointer(&e->learned, g_ptr_array_unref);
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
	VwStore *s;

	if (e->locks) {
		e->locks++;
		return true;
	}
	s = vw_eng_store(e, true, error);
	if (!s || !vw_store_lock(s, e->cfg.lock_timeout_ms, error))
		return false;
	e->locks = 1;
	return true;
}

void vw_eng_unlock(VwEngine *e)
{
	if (!e->locks || --e->locks)
		return;
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
