/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Verify: the kernel read back and compared with the plan apply would send
 * — links through the link backend (what libvirt made included: the bridge,
 * its MAC, MTU, STP, addresses), sysctls, and table inet virtwire through a
 * dry run of the same reconcile apply uses. Nothing is changed.
 */
#include <errno.h>
#include <string.h>

#include <virtwire/engine.h>
#include <virtwire/exec.h>
#include <virtwire/state.h>
#include <virtwire/xml.h>

void vw_verify_result_free(VwVerifyResult *r)
{
	if (!r)
		return;
	g_free(r->name);
	g_free(r->error);
	g_ptr_array_unref(r->drift);
	g_free(r);
}

/* One network: its links and sysctls, then its part of the table (a dry
 * run of apply's reconcile, limited to it). The domain forwards of the
 * ports recorded for it (in @state_dir) are part of what apply makes. */
static VwVerifyResult *verify_one(const VwLinkBackend *be, const VwNetwork *net, const char *state_dir,
				  VwDiags *diags)
{
	VwVerifyResult *r = g_new0(VwVerifyResult, 1);
	g_autoptr(GPtrArray) nets = g_ptr_array_new();
	g_autoptr(GPtrArray) scope = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) port_docs = g_ptr_array_new_with_free_func((GDestroyNotify)vw_doc_free);
	g_autoptr(GPtrArray) port_doms = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(VwState) st = NULL;
	g_autofree char *id = vw_plan_network_id(net->name);
	g_autoptr(VwPlan) plan = NULL;
	g_autoptr(VwNftResult) res = NULL;
	g_autoptr(GError) err = NULL;

	r->name = g_strdup(net->name);
	r->drift = g_ptr_array_new_with_free_func((GDestroyNotify)vw_drift_free);
	g_ptr_array_add(nets, (gpointer)net);
	if (state_dir && vw_state_load(state_dir, net->name, &st, NULL))
		vw_engine_recorded_ports(state_dir, st, net->name, port_docs, port_doms);
	plan = vw_plan_build(nets, port_doms, diags);
	if (!plan) {
		r->error = g_strdup("the network's XML could not be planned");
		return r;
	}
	if (!vw_verify_links(be, plan, id, r->drift, &err)) {
		r->error = g_strdup(err->message);
		return r;
	}
	g_ptr_array_add(scope, g_strdup_printf("%s:*", id));
	if (plan->sets->len) {
		if (!vw_nft_reconcile(plan, scope, VW_NFT_DRY_RUN, &res, &err)) {
			r->error = g_strdup(err->message);
			return r;
		}
		for (guint i = 0; i < res->drift->len; i++) {
			const VwDrift *d = res->drift->pdata[i];

			vw_drift_add(r->drift, d->object, "%s", d->what);
		}
	}
	return r;
}

bool vw_engine_verify(const VwVerifyRequest *req, GPtrArray *results, GError **error)
{
	g_autoptr(VwLinkBackend) be = vw_link_backend_netlink(error);
	g_autoptr(GPtrArray) docs = g_ptr_array_new_with_free_func((GDestroyNotify)vw_doc_free);
	g_autoptr(GPtrArray) names = NULL;
	g_autoptr(VwDiags) diags = vw_diags_new();

	if (!be)
		return false;
	if (req->networks) {
		for (guint i = 0; i < req->networks->len; i++)
			g_ptr_array_add(results, verify_one(be, req->networks->pdata[i], req->state_dir, diags));
		return true;
	}
	if (req->all) {
		names = vw_state_list(req->state_dir);
	} else {
		names = g_ptr_array_new_with_free_func(g_free);
		for (char **n = req->names; n && *n; n++)
			g_ptr_array_add(names, g_strdup(*n));
	}
	for (guint i = 0; i < names->len; i++) {
		const char *name = names->pdata[i];
		g_autoptr(VwState) st = NULL;
		g_autoptr(GError) err = NULL;
		g_autofree char *path = NULL;
		VwDoc *doc = NULL;

		if (!vw_state_load(req->state_dir, name, &st, &err)) {
			VwVerifyResult *r = g_new0(VwVerifyResult, 1);

			r->name = g_strdup(name);
			r->drift = g_ptr_array_new_with_free_func((GDestroyNotify)vw_drift_free);
			r->error = g_strdup(err->message);
			g_ptr_array_add(results, r);
			continue;
		}
		path = vw_state_xml_path(req->state_dir, name);
		if (vw_doc_load_memory(path, st->xml, strlen(st->xml), NULL, diags, &doc) != VW_LOAD_OK ||
		    !doc->network) {
			VwVerifyResult *r = g_new0(VwVerifyResult, 1);

			vw_doc_free(doc);
			r->name = g_strdup(name);
			r->drift = g_ptr_array_new_with_free_func((GDestroyNotify)vw_drift_free);
			r->error = g_strdup_printf("%s does not parse", path);
			g_ptr_array_add(results, r);
			continue;
		}
		g_ptr_array_add(docs, doc);
		g_ptr_array_add(results, verify_one(be, doc->network, req->state_dir, diags));
	}
	return true;
}
