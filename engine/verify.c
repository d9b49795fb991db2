/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The kernel read back. verify: compared with the plan apply would send —
 * links (what libvirt made included), sysctls, and table inet virtwire
 * through a dry run of the same reconcile apply uses. status: the recorded
 * networks with their forwards' traffic. Nothing is changed.
 */
#include <string.h>

#include "engine-private.h"

void vw_verify_result_free(VwVerifyResult *r)
{
	if (!r)
		return;
	g_free(r->name);
	g_clear_error(&r->error);
	g_ptr_array_unref(r->drift);
	g_free(r);
}

static VwVerifyResult *result_new(const char *name)
{
	VwVerifyResult *r = g_new0(VwVerifyResult, 1);

	r->name = g_strdup(name);
	r->drift = g_ptr_array_new_with_free_func((GDestroyNotify)vw_drift_free);
	return r;
}

/* One network: its links and sysctls, then its part of the table (a dry
 * run of apply's reconcile, limited to it). The domain forwards of the
 * ports recorded for it are part of what apply makes. */
static void verify_one(VwEngine *e, const VwNetwork *net, const VwState *st, VwVerifyResult *r)
{
	g_autoptr(GPtrArray) nets = g_ptr_array_new();
	g_autoptr(GPtrArray) scope = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) port_docs = g_ptr_array_new_with_free_func((GDestroyNotify)vw_doc_free);
	g_autoptr(GPtrArray) port_doms = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(VwDiags) diags = vw_diags_new();
	g_autofree char *id = vw_plan_network_id(net->name);
	g_autoptr(VwPlan) plan = NULL;
	g_autoptr(VwNftResult) res = NULL;
	VwNftRequest rq = { scope, VW_NFT_DRY_RUN, NULL, NULL, NULL };
	const VwLinkBackend *be;
	const VwNftBackend *nft;

	vw_eng_add_learned(e, (VwNetwork *)net);
	g_ptr_array_add(nets, (gpointer)net);
	vw_eng_recorded_ports(e, st, port_docs, port_doms);
	plan = vw_plan_build(nets, port_doms, diags);
	if (!plan) {
		g_set_error(&r->error, VW_ERROR, VW_ERROR_INVALID, "the network's XML could not be planned");
		return;
	}
	vw_eng_plan_hostfw(e, plan);
	if (!(be = vw_eng_links(e, &r->error)) || !vw_verify_links(be, plan, id, r->drift, &r->error))
		return;
	g_ptr_array_add(scope, vw_eng_scope_of(id));
	if (!vw_plan_has_tables(plan))
		return;
	if (!(nft = vw_eng_nft(e, &r->error)) || !vw_nft_reconcile(nft, plan, &rq, &res, &r->error))
		return;
	for (guint i = 0; i < res->drift->len; i++) {
		const VwDrift *d = res->drift->pdata[i];

		vw_drift_add(r->drift, d->kind, d->object, "%s", d->what);
	}
	vw_eng_hostfw_verify(e, net, r->drift);
}

static VwVerifyResult *verify_recorded(VwEngine *e, const char *name)
{
	VwVerifyResult *r = result_new(name);
	g_autoptr(VwState) st = NULL;
	g_autoptr(VwDoc) doc = NULL;

	if (vw_store_load(e->store, name, &st, &r->error) && (doc = vw_eng_parse_record(e, st, &r->error)))
		verify_one(e, doc->network, st, r);
	return r;
}

bool vw_engine_verify(VwEngine *e, const VwVerifyRequest *req, GPtrArray *results, GError **error)
{
	g_autoptr(GPtrArray) names = NULL;
	g_autoptr(GError) err = NULL;

	if (!vw_eng_links(e, error) || !vw_eng_nft(e, error))
		return false;
	if (!vw_eng_store(e, false, &err) && !g_error_matches(err, VW_ERROR, VW_ERROR_NOT_FOUND)) {
		g_propagate_error(error, g_steal_pointer(&err));
		return false;
	}
	for (guint i = 0; req->networks && i < req->networks->len; i++) {
		const VwNetwork *net = req->networks->pdata[i];
		VwVerifyResult *r = result_new(net->name);
		g_autoptr(VwState) st = NULL;

		if (e->store)
			vw_store_load(e->store, net->name, &st, NULL);
		verify_one(e, net, st, r);
		g_ptr_array_add(results, r);
	}
	if (req->networks)
		return true;
	if (req->all) {
		names = e->store ? vw_store_list(e->store) : g_ptr_array_new_with_free_func(g_free);
	} else {
		names = g_ptr_array_new_with_free_func(g_free);
		for (char **n = req->names; n && *n; n++)
			g_ptr_array_add(names, g_strdup(*n));
	}
	for (guint i = 0; i < names->len; i++) {
		if (!e->store) {
			VwVerifyResult *r = result_new(names->pdata[i]);

			g_set_error(&r->error, VW_ERROR, VW_ERROR_NOT_FOUND, "network '%s' has no record in %s",
				    (char *)names->pdata[i], vw_engine_state_dir(e));
			g_ptr_array_add(results, r);
			continue;
		}
		g_ptr_array_add(results, verify_recorded(e, names->pdata[i]));
	}
	return true;
}

/* ---------------------------------------------------------------------- */
/* Status */

static void status_forward_free(VwStatusForward *f)
{
	vw_forward_free(f->forward);
	g_free(f->domain);
	g_free(f);
}

void vw_status_network_free(VwStatusNetwork *n)
{
	if (!n)
		return;
	g_free(n->name);
	g_clear_error(&n->error);
	g_free(n->mode);
	g_free(n->bridge);
	g_free(n->applied);
	if (n->addresses)
		g_ptr_array_unref(n->addresses);
	if (n->forwards)
		g_ptr_array_unref(n->forwards);
	vw_status_span_free(n->span);
	g_free(n);
}

/* Sums the counters of one forward's targets: every port of its range, in
 * every family it forwards (forwards to one target share its counter). */
static void forward_traffic(const VwNetwork *net, VwStatusForward *sf, GPtrArray *counters)
{
	const VwForward *f = sf->forward;

	for (int fam = AF_INET; fam; fam = fam == AF_INET ? AF_INET6 : 0) {
		VwAddr target;

		if ((vw_addr_is_set(&f->listen) && f->listen.family != fam) || !vw_forward_target(net, f, fam, &target))
			continue;
		if (!sf->has_target) {
			sf->has_target = true;
			sf->target = target;
		}
		for (unsigned i = 0; i < vw_port_range_len(f->host); i++) {
			uint16_t gp = vw_forward_guest_port(f, i);

			for (guint c = 0; c < counters->len; c++) {
				const VwCounter *k = counters->pdata[c];

				if (k->proto == f->proto && k->port == gp && vw_addr_equal(&k->addr, &target)) {
					sf->packets += k->packets;
					sf->bytes += k->bytes;
				}
			}
		}
	}
}

static void add_forward(VwStatusNetwork *sn, const VwNetwork *net, VwForward *f, const char *domain,
			GPtrArray *counters)
{
	VwStatusForward *sf = g_new0(VwStatusForward, 1);

	sf->forward = f;
	sf->domain = g_strdup(domain);
	forward_traffic(net, sf, counters);
	g_ptr_array_add(sn->forwards, sf);
}

/* The network's forwards, and those of its domains' ports. */
static void status_forwards(VwEngine *e, VwStatusNetwork *sn, const VwState *st, const VwNetwork *net,
			    GPtrArray *counters)
{
	g_autoptr(GPtrArray) port_docs = g_ptr_array_new_with_free_func((GDestroyNotify)vw_doc_free);
	g_autoptr(GPtrArray) port_doms = g_ptr_array_new_with_free_func(g_free);
	GPtrArray *fwds = vw_network_forwards(net);

	for (guint j = 0; j < fwds->len; j++) {
		const VwForward *f = fwds->pdata[j];
		add_forward(sn, net, vw_forward_copy(f), NULL, counters);
	}
	vw_eng_recorded_ports(e, st, port_docs, port_doms);
	for (guint j = 0; j < port_doms->len; j++) {
		const VwPlanDomain *pd = port_doms->pdata[j];

		for (guint k = 0; pd->domain->vw && k < pd->domain->vw->forwards->len; k++) {
			VwForward *f = vw_domain_forward_resolve(pd->domain, pd->domain->vw->forwards->pdata[k],
								 st->name, pd->has_mac ? &pd->mac : NULL);

			if (f)
				add_forward(sn, net, f, pd->domain->name, counters);
		}
	}
}

static VwStatusNetwork *status_one(VwEngine *e, const char *name, const VwLinkBackend *be, GPtrArray *counters,
				   GHashTable *spoofed)
{
	VwStatusNetwork *sn = g_new0(VwStatusNetwork, 1);
	g_autoptr(VwState) st = NULL;
	g_autoptr(VwDoc) doc = NULL;
	g_autoptr(GArray) addrs = g_array_new(FALSE, TRUE, sizeof(VwAddrInfo));
	VwLinkInfo li = { 0 };

	sn->name = g_strdup(name);
	if (!vw_store_load(e->store, name, &st, &sn->error) || !(doc = vw_eng_parse_record(e, st, &sn->error)))
		return sn;
	sn->mode = g_strdup(st->mode);
	sn->bridge = g_strdup(st->bridge);
	sn->applied = g_strdup(st->applied);
	sn->addresses = g_ptr_array_new_with_free_func(g_free);
	sn->forwards = g_ptr_array_new_with_free_func((GDestroyNotify)status_forward_free);
	sn->bridge_present = st->bridge && be->link_get(be->ctx, st->bridge, &li) == 0;
	sn->up = sn->bridge_present && li.up;
	sn->has_traffic = sn->bridge_present && li.has_stats;
	sn->rx_packets = li.rx_packets;
	sn->rx_bytes = li.rx_bytes;
	sn->tx_packets = li.tx_packets;
	sn->tx_bytes = li.tx_bytes;
	if (sn->bridge_present)
		be->addr_list(be->ctx, st->bridge, addrs);
	for (guint j = 0; j < addrs->len; j++)
		g_ptr_array_add(sn->addresses, vw_prefix_to_string(&g_array_index(addrs, VwAddrInfo, j).prefix));
	status_forwards(e, sn, st, doc->network, counters);
	sn->spoof_filter = vw_network_spoof_filter(doc->network);
	sn->span = vw_eng_status_span(be, doc->network);
	if (st->id && g_hash_table_lookup(spoofed, st->id))
		sn->spoofed = *(guint64 *)g_hash_table_lookup(spoofed, st->id);
	return sn;
}

bool vw_engine_status(VwEngine *e, GPtrArray *networks, GError **error)
{
	g_autoptr(GPtrArray) counters = g_ptr_array_new_with_free_func((GDestroyNotify)vw_counter_free);
	g_autoptr(GHashTable) spoofed = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	g_autoptr(GPtrArray) names = NULL;
	g_autoptr(GError) err = NULL;
	const VwLinkBackend *be = vw_eng_links(e, error);
	const VwNftBackend *nft = be ? vw_eng_nft(e, error) : NULL;

	if (!nft || !vw_nft_counters(nft, counters, error) || !vw_nft_spoofed(nft, spoofed, error))
		return false;
	if (!vw_eng_store(e, false, &err)) {
		if (g_error_matches(err, VW_ERROR, VW_ERROR_NOT_FOUND))
			return true;
		g_propagate_error(error, g_steal_pointer(&err));
		return false;
	}
	names = vw_store_list(e->store);
	for (guint i = 0; i < names->len; i++)
		g_ptr_array_add(networks, status_one(e, names->pdata[i], be, counters, spoofed));
	return true;
}
