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

static void drift(GPtrArray *out, const char *object, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static void drift(GPtrArray *out, const char *object, const char *fmt, ...)
{
	VwDrift *d = g_new0(VwDrift, 1);
	va_list ap;

	d->object = g_strdup(object);
	va_start(ap, fmt);
	d->what = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_ptr_array_add(out, d);
}

void vw_drift_free(VwDrift *d)
{
	if (!d)
		return;
	g_free(d->object);
	g_free(d->what);
	g_free(d);
}

static const char *onoff(bool b)
{
	return b ? "on" : "off";
}

static bool check_bridge(const VwLinkBackend *be, const VwLinkOp *op, GPtrArray *out, GError **error)
{
	VwLinkInfo li, up;
	char a[VW_MAC_STRLEN], b[VW_MAC_STRLEN];
	int e = be->link_get(be->ctx, op->dev, &li);

	if (e == -ENODEV) {
		drift(out, op->dev, "the bridge is missing");
		return true;
	}
	if (e) {
		g_set_error(error, VW_ERROR, VW_ERROR_FAILED, "cannot read link %s: %s", op->dev, g_strerror(-e));
		return false;
	}
	if (strcmp(li.kind, "bridge") != 0) {
		drift(out, op->dev, "is a %s, expected a bridge", li.kind[0] ? li.kind : "device");
		return true;
	}
	if (!li.up)
		drift(out, op->dev, "is down, expected up");
	if (op->mac_of_uplink) {
		if (be->link_get(be->ctx, op->uplink, &up) == 0) {
			if (up.has_mac && (!li.has_mac || !vw_mac_equal(&li.mac, &up.mac)))
				drift(out, op->dev, "MAC is %s, expected %s (the uplink's)", vw_mac_to_string(&li.mac, a),
				      vw_mac_to_string(&up.mac, b));
			if (li.mtu != up.mtu)
				drift(out, op->dev, "mtu is %u, expected %u (the uplink's)", li.mtu, up.mtu);
		} else {
			drift(out, op->uplink, "the uplink is missing");
		}
	} else {
		if (op->has_mac && (!li.has_mac || !vw_mac_equal(&li.mac, &op->mac)))
			drift(out, op->dev, "MAC is %s, expected %s", vw_mac_to_string(&li.mac, a),
			      vw_mac_to_string(&op->mac, b));
		if (op->mtu && li.mtu != op->mtu)
			drift(out, op->dev, "mtu is %u, expected %u", li.mtu, op->mtu);
	}
	if (li.stp != op->stp)
		drift(out, op->dev, "STP is %s, expected %s", onoff(li.stp), onoff(op->stp));
	/* With STP on the kernel keeps at least 2 s: compare only what can be
	 * set. */
	if (li.forward_delay != op->delay * 100 && (!op->stp || op->delay >= 2))
		drift(out, op->dev, "forward delay is %u s, expected %u s", li.forward_delay / 100, op->delay);
	return true;
}

static void check_sysctl(const VwLinkBackend *be, const char *path, const char *value, GPtrArray *out)
{
	g_autofree char *cur = NULL;
	g_autofree char *dotted = g_strdelimit(g_strdup(path), "/", '.');

	if (be->sysctl_get(be->ctx, path, &cur) != 0)
		drift(out, dotted, "cannot be read (is the device there?), expected %s", value);
	else if (strcmp(cur, value) != 0)
		drift(out, dotted, "is %s, expected %s", cur, value);
}

static void check_addr(const VwLinkBackend *be, const VwLinkOp *op, GPtrArray *out)
{
	g_autoptr(GArray) addrs = g_array_new(FALSE, TRUE, sizeof(VwAddrInfo));
	g_autofree char *p = vw_prefix_to_string(&op->addr);

	if (be->addr_list(be->ctx, op->dev, addrs) != 0)
		return; /* the missing bridge is reported already */
	for (guint i = 0; i < addrs->len; i++) {
		const VwAddrInfo *a = &g_array_index(addrs, VwAddrInfo, i);

		if (a->prefix.prefix == op->addr.prefix && vw_addr_equal(&a->prefix.addr, &op->addr.addr))
			return;
	}
	drift(out, op->dev, "address %s is missing", p);
}

static void check_enslave(const VwLinkBackend *be, const VwLinkOp *op, GPtrArray *out)
{
	VwLinkInfo up, br;

	if (be->link_get(be->ctx, op->uplink, &up) != 0 || be->link_get(be->ctx, op->dev, &br) != 0)
		return;
	if (up.master != br.ifindex)
		drift(out, op->uplink, "is not a port of %s", op->dev);
}

static void check_moved_addrs(const VwLinkBackend *be, const VwLinkOp *op, GPtrArray *out)
{
	g_autoptr(GArray) addrs = g_array_new(FALSE, TRUE, sizeof(VwAddrInfo));

	if (be->addr_list(be->ctx, op->uplink, addrs) != 0)
		return;
	for (guint i = 0; i < addrs->len; i++) {
		const VwAddrInfo *a = &g_array_index(addrs, VwAddrInfo, i);
		g_autofree char *p = vw_prefix_to_string(&a->prefix);

		if (a->prefix.addr.family == AF_INET6 && a->prefix.addr.b[0] == 0xfe && (a->prefix.addr.b[1] & 0xc0) == 0x80)
			continue;
		drift(out, op->uplink, "still has address %s, expected it on %s", p, op->dev);
	}
}

static void check_ports(const VwLinkBackend *be, const VwLinkOp *op, GPtrArray *out)
{
	g_autoptr(GArray) links = g_array_new(FALSE, TRUE, sizeof(VwLinkInfo));
	VwLinkInfo br;

	if (be->link_get(be->ctx, op->dev, &br) != 0 || be->link_list(be->ctx, links) != 0)
		return;
	for (guint i = 0; i < links->len; i++) {
		VwLinkInfo p = g_array_index(links, VwLinkInfo, i);

		if (p.master != br.ifindex || be->link_get(be->ctx, p.name, &p) != 0)
			continue;
		if (op->hairpin >= 0 && p.hairpin != (op->hairpin > 0))
			drift(out, p.name, "hairpin is %s, expected %s", onoff(p.hairpin), onoff(op->hairpin > 0));
		if (op->isolated >= 0 && p.isolated != (op->isolated > 0))
			drift(out, p.name, "isolated is %s, expected %s", onoff(p.isolated), onoff(op->isolated > 0));
	}
}

bool vw_verify_links(const VwLinkBackend *be, const VwPlan *plan, const char *owner, GPtrArray *out,
		     GError **error)
{
	for (guint i = 0; i < plan->links->len; i++) {
		const VwLinkOp *op = plan->links->pdata[i];

		if (g_strcmp0(op->owner, owner) != 0)
			continue;
		switch (op->kind) {
		case VW_LOP_BRIDGE:
			if (!check_bridge(be, op, out, error))
				return false;
			break;
		case VW_LOP_SYSCTL:
			check_sysctl(be, op->path, op->value, out);
			break;
		case VW_LOP_ADDR:
			check_addr(be, op, out);
			break;
		case VW_LOP_ENSLAVE:
			check_enslave(be, op, out);
			break;
		case VW_LOP_MOVE_ADDRS:
			check_moved_addrs(be, op, out);
			break;
		case VW_LOP_MOVE_ROUTES:
			break;
		case VW_LOP_PORT_FLAGS:
			check_ports(be, op, out);
			break;
		}
	}
	for (guint i = 0; i < plan->sysctls->len; i++) {
		const VwSysctl *s = plan->sysctls->pdata[i];

		if (g_strcmp0(s->owner, owner) == 0)
			check_sysctl(be, s->path, s->value, out);
	}
	return true;
}

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

			drift(r->drift, d->object, "%s", d->what);
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
