/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Guests' ports: a domain's forwards come and go with its port on a
 * recorded network, exactly its elements, in one transaction; the record
 * first, the kernel after, the record back if the kernel refuses.
 */
#include <string.h>

#include "engine-private.h"

typedef struct {
	VwEngine *e;
	const VwPortRequest *req;
	VwState *st;  /* the record, changed */
	VwState *was; /* as it was */
	VwDoc *netdoc;
} Port;

/* The network's record; false without an error for a network virtwire
 * does not manage, or a port change that changes nothing. */
static bool port_record(Port *p, GError **error)
{
	g_autoptr(GError) err = NULL;

	if (!vw_store_load(p->e->store, p->req->network, &p->st, &err)) {
		if (!g_error_matches(err, VW_ERROR, VW_ERROR_NOT_FOUND))
			g_propagate_error(error, g_steal_pointer(&err));
		return false;
	}
	p->was = vw_state_copy(p->st);
	if (p->req->add) {
		g_autofree char *xml = NULL;

		/* No record of the domain: it has no forwards (its prepare
		 * hook records the ones that have). */
		if (!vw_store_load_domain(p->e->store, p->req->domain_uuid, &xml, NULL))
			return false;
		vw_state_add_port(p->st, p->req->port_uuid, p->req->domain_uuid, p->req->mac);
		return true;
	}
	if (!vw_state_find_port(p->st, p->req->port_uuid))
		return false;
	vw_state_remove_port(p->st, p->req->port_uuid);
	return true;
}

/* The network with this port only: the reconcile touches exactly its
 * elements. */
static bool port_reconcile(Port *p, GError **error)
{
	g_autoptr(GPtrArray) nets = g_ptr_array_new();
	g_autoptr(GPtrArray) docs = g_ptr_array_new_with_free_func((GDestroyNotify)vw_doc_free);
	g_autoptr(GPtrArray) doms = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) scope = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(VwDiags) diags = vw_diags_new();
	g_autoptr(VwPlan) plan = NULL;
	g_autoptr(VwNftResult) res = NULL;
	g_autoptr(GPtrArray) states = g_ptr_array_new();
	VwOwnerWords words = { p->e, states };
	VwNftRequest rq = { scope, VW_NFT_RELEASED, vw_eng_owner_words, &words, p->e->cfg.faults };
	const VwNftBackend *nft;
	guint ended;

	g_ptr_array_add(nets, p->netdoc->network);
	g_ptr_array_add(states, p->st);
	if (p->req->add) {
		VwState one = *p->st;
		g_autoptr(GPtrArray) only = g_ptr_array_new();

		g_ptr_array_add(only, vw_state_find_port(p->st, p->req->port_uuid));
		one.ports = only;
		vw_eng_recorded_ports(p->e, &one, docs, doms);
		if (p->req->diags)
			vw_eng_warn_listeners(p->e, nets, doms, false, p->req->diags);
	}
	plan = vw_plan_build(nets, doms, diags);
	if (!plan) {
		g_autofree char *t = vw_diags_format_text(diags);

		g_set_error(error, VW_ERROR, VW_ERROR_INVALID, "%s", g_strchomp(t));
		return false;
	}
	vw_eng_plan_hostfw(p->e, plan);
	if (!vw_plan_has_tables(plan))
		return true;
	g_ptr_array_add(scope, vw_plan_port_owner(p->st->id, p->req->port_uuid));
	if (!(nft = vw_eng_nft(p->e, error)) || !vw_nft_reconcile(nft, plan, &rq, &res, error))
		return false;
	for (guint i = 0; i < res->drift->len; i++) {
		const VwDrift *d = res->drift->pdata[i];

		vw_log_change(p->st->name, d->object, "repaired: %s", d->what);
	}
	/* The network's part changed with its port. */
	g_ptr_array_add(ids, g_strdup(p->st->id));
	vw_store_gen_update(p->e->store, res, ids, NULL);
	/* The port's forwards are gone (a guest stopped): so are their
	 * connections. Best effort, as a hook has no one to warn. */
	vw_eng_end_connections(p->e, res, &ended, NULL);
	return true;
}

bool vw_engine_port(VwEngine *e, const VwPortRequest *req, GError **error)
{
	Port p = { e, req, NULL, NULL, NULL };
	g_autoptr(GError) err = NULL;
	bool ok = false;

	if (!req->network || !req->port_uuid || !req->domain_uuid || !req->mac)
		return true; /* not a port of anything virtwire could manage */
	if (!vw_eng_lock(e, error))
		return false;
	if (!port_record(&p, &err)) {
		ok = err == NULL;
	} else if ((p.netdoc = vw_eng_parse_record(e, p.st, &err)) && vw_store_save(e->store, p.st, &err)) {
		ok = port_reconcile(&p, &err);
		if (!ok)
			vw_store_save(e->store, p.was, NULL);
	}
	if (err)
		g_propagate_error(error, g_steal_pointer(&err));
	vw_eng_unlock(e);
	vw_state_free(p.st);
	vw_state_free(p.was);
	vw_doc_free(p.netdoc);
	return ok;
}

bool vw_engine_port_flags(VwEngine *e, const char *network, const char *tap, GError **error)
{
	g_autoptr(VwState) st = NULL;
	g_autoptr(VwDoc) doc = NULL;
	g_autoptr(GError) lerr = NULL;

	if (!vw_eng_store(e, false, &lerr) || !vw_store_load(e->store, network, &st, &lerr) ||
	    !(doc = vw_eng_parse_record(e, st, &lerr))) {
		/* Not a network of virtwire's: nothing to do. */
		if (g_error_matches(lerr, VW_ERROR, VW_ERROR_NOT_FOUND))
			return true;
		g_propagate_error(error, g_steal_pointer(&lerr));
		return false;
	}
	return vw_eng_port_flags(e, doc->network, tap, NULL, error);
}

bool vw_eng_wants_port_flags(const VwNetwork *net, int *hairpin, int *isolated)
{
	VwMode mode = vw_network_effective_mode(net);

	*hairpin = (mode == VW_MODE_NAT || mode == VW_MODE_ROUTE) && vw_network_hairpin(net) ? 1 : -1;
	*isolated = net->port_isolated == VW_TRI_YES ? 1 : -1;
	return *hairpin >= 0 || *isolated >= 0;
}

bool vw_eng_port_flags(VwEngine *e, const VwNetwork *net, const char *tap, bool *changed, GError **error)
{
	const VwLinkBackend *be;
	VwLinkInfo li;
	int hairpin, isolated, err;

	if (changed)
		*changed = false;
	if (!vw_eng_wants_port_flags(net, &hairpin, &isolated))
		return true;
	if (!(be = vw_eng_links(e, error)))
		return false;
	if (be->link_get(be->ctx, tap, &li) != 0)
		return true; /* gone already */
	if ((hairpin < 0 || li.hairpin == (hairpin > 0)) && (isolated < 0 || li.isolated == (isolated > 0)))
		return true;
	err = be->port_flags(be->ctx, tap, hairpin, isolated);
	if (err)
		return vw_set_errno(error, err, be->last_error ? be->last_error(be->ctx) : NULL,
				    "cannot set the bridge port flags of %s", tap);
	if (changed)
		*changed = true;
	vw_log_change(net->name, tap, "bridge port flags set (hairpin %s, isolated %s)",
		      hairpin < 0 ? "as it was"
		      : hairpin	  ? "on"
				  : "off",
		      isolated < 0 ? "as it was"
		      : isolated   ? "on"
				   : "off");
	return true;
}

bool vw_engine_release_domain(VwEngine *e, const char *uuid, GError **error)
{
	g_autoptr(GPtrArray) names = NULL;
	bool ok = true;

	if (!vw_eng_store(e, false, NULL))
		return true;
	/* The XML at release has no portid any more: the records say which
	 * ports were the domain's. */
	names = vw_store_list(e->store);
	for (guint i = 0; i < names->len; i++) {
		g_autoptr(VwState) st = NULL;
		g_autoptr(GError) lerr = NULL;

		/* A damaged record names no port of the domain's that could be
		 * removed: its network's teardown goes by the kernel. */
		if (!vw_store_load(e->store, names->pdata[i], &st, &lerr))
			continue;
		for (guint j = 0; j < st->ports->len; j++) {
			const VwStatePort *p = st->ports->pdata[j];
			VwPortRequest req = { st->name, p->uuid, p->domain_uuid, p->mac, false };
			g_autoptr(GError) err = NULL;

			if (g_strcmp0(p->domain_uuid, uuid) != 0 || vw_engine_port(e, &req, &err))
				continue;
			if (ok)
				g_propagate_error(error, g_steal_pointer(&err));
			ok = false;
		}
	}
	return vw_store_remove_domain(e->store, uuid, ok ? error : NULL) && ok;
}
