/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The links of a plan read back: every difference between the kernel and a
 * network's link operations and sysctls (what libvirt made included: the
 * bridge, its MAC, MTU, STP, addresses). Nothing is changed.
 */
#include <errno.h>
#include <string.h>

#include <virtwire/exec.h>

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
		vw_drift_add(out, VW_DRIFT_LINK, op->dev, "the bridge is missing");
		return true;
	}
	if (e) {
		g_set_error(error, VW_ERROR, VW_ERROR_FAILED, "cannot read link %s: %s", op->dev, g_strerror(-e));
		return false;
	}
	if (strcmp(li.kind, "bridge") != 0) {
		vw_drift_add(out, VW_DRIFT_LINK, op->dev, "is a %s, expected a bridge",
			     li.kind[0] ? li.kind : "device");
		return true;
	}
	if (!li.up)
		vw_drift_add(out, VW_DRIFT_LINK, op->dev, "is down, expected up");
	if (op->mac_of_uplink) {
		if (be->link_get(be->ctx, op->uplink, &up) == 0) {
			if (up.has_mac && (!li.has_mac || !vw_mac_equal(&li.mac, &up.mac)))
				vw_drift_add(out, VW_DRIFT_LINK, op->dev, "MAC is %s, expected %s (the uplink's)",
					     vw_mac_to_string(&li.mac, a), vw_mac_to_string(&up.mac, b));
			if (li.mtu != up.mtu)
				vw_drift_add(out, VW_DRIFT_LINK, op->dev, "mtu is %u, expected %u (the uplink's)",
					     li.mtu, up.mtu);
		} else {
			vw_drift_add(out, VW_DRIFT_LINK, op->uplink, "the uplink is missing");
		}
	} else {
		if (op->has_mac && (!li.has_mac || !vw_mac_equal(&li.mac, &op->mac)))
			vw_drift_add(out, VW_DRIFT_LINK, op->dev, "MAC is %s, expected %s",
				     vw_mac_to_string(&li.mac, a), vw_mac_to_string(&op->mac, b));
		if (op->mtu && li.mtu != op->mtu)
			vw_drift_add(out, VW_DRIFT_LINK, op->dev, "mtu is %u, expected %u", li.mtu, op->mtu);
	}
	if (li.stp != op->stp)
		vw_drift_add(out, VW_DRIFT_LINK, op->dev, "STP is %s, expected %s", onoff(li.stp), onoff(op->stp));
	/* With STP on the kernel keeps at least 2 s: compare only what can be
	 * set. */
	if (li.forward_delay != op->delay * 100 && (!op->stp || op->delay >= 2))
		vw_drift_add(out, VW_DRIFT_LINK, op->dev, "forward delay is %u s, expected %u s",
			     li.forward_delay / 100, op->delay);
	return true;
}

static void check_sysctl(const VwLinkBackend *be, const char *path, const char *value, GPtrArray *out)
{
	g_autofree char *cur = NULL;
	g_autofree char *dotted = g_strdelimit(g_strdup(path), "/", '.');

	if (be->sysctl_get(be->ctx, path, &cur) != 0)
		vw_drift_add(out, VW_DRIFT_SYSCTL, dotted, "cannot be read (is the device there?), expected %s", value);
	else if (strcmp(cur, value) != 0)
		vw_drift_add(out, VW_DRIFT_SYSCTL, dotted, "is %s, expected %s", cur, value);
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
	vw_drift_add(out, VW_DRIFT_LINK, op->dev, "address %s is missing", p);
}

static void check_enslave(const VwLinkBackend *be, const VwLinkOp *op, GPtrArray *out)
{
	VwLinkInfo up, br;

	if (be->link_get(be->ctx, op->uplink, &up) != 0 || be->link_get(be->ctx, op->dev, &br) != 0)
		return;
	if (up.master != br.ifindex)
		vw_drift_add(out, VW_DRIFT_LINK, op->uplink, "is not a port of %s", op->dev);
}

static void check_moved_addrs(const VwLinkBackend *be, const VwLinkOp *op, GPtrArray *out)
{
	g_autoptr(GArray) addrs = g_array_new(FALSE, TRUE, sizeof(VwAddrInfo));

	if (be->addr_list(be->ctx, op->uplink, addrs) != 0)
		return;
	for (guint i = 0; i < addrs->len; i++) {
		const VwAddrInfo *a = &g_array_index(addrs, VwAddrInfo, i);
		g_autofree char *p = vw_prefix_to_string(&a->prefix);

		if (a->prefix.addr.family == AF_INET6 && a->prefix.addr.b[0] == 0xfe &&
		    (a->prefix.addr.b[1] & 0xc0) == 0x80)
			continue;
		vw_drift_add(out, VW_DRIFT_LINK, op->uplink, "still has address %s, expected it on %s", p, op->dev);
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

		/* A VXLAN port's flags are its own operation's (link-apply.c). */
		if (p.master != br.ifindex || strcmp(p.kind, "vxlan") == 0 || be->link_get(be->ctx, p.name, &p) != 0)
			continue;
		if (op->hairpin >= 0 && p.hairpin != (op->hairpin > 0))
			vw_drift_add(out, VW_DRIFT_PORT, p.name, "hairpin is %s, expected %s", onoff(p.hairpin),
				     onoff(op->hairpin > 0));
		if (op->isolated >= 0 && p.isolated != (op->isolated > 0))
			vw_drift_add(out, VW_DRIFT_PORT, p.name, "isolated is %s, expected %s", onoff(p.isolated),
				     onoff(op->isolated > 0));
	}
}

static void check_vxlan(const VwLinkBackend *be, const VwLinkOp *op, GPtrArray *out)
{
	VwLinkInfo li, br, ul;
	unsigned over = vw_span_overhead(op->family);

	if (be->link_get(be->ctx, op->dev, &li) != 0) {
		vw_drift_add(out, VW_DRIFT_LINK, op->dev, "the VXLAN device is missing");
		return;
	}
	if (strcmp(li.kind, "vxlan") != 0) {
		vw_drift_add(out, VW_DRIFT_LINK, op->dev, "is a %s, expected a VXLAN device",
			     li.kind[0] ? li.kind : "device");
		return;
	}
	if (li.vni != op->vni || li.vxlan_port != op->port)
		vw_drift_add(out, VW_DRIFT_LINK, op->dev, "is VNI %u on UDP port %u, expected VNI %u on port %u",
			     li.vni, li.vxlan_port, op->vni, op->port);
	if (li.vxlan_learning != op->learning)
		vw_drift_add(out, VW_DRIFT_LINK, op->dev, "learning is %s, expected %s", onoff(li.vxlan_learning),
			     onoff(op->learning));
	if (!li.up)
		vw_drift_add(out, VW_DRIFT_LINK, op->dev, "is down, expected up");
	if (op->evpn && li.port_learning)
		vw_drift_add(out, VW_DRIFT_PORT, op->dev, "learning is on, expected off (EVPN: zebra installs MACs)");
	if (op->evpn && !li.neigh_suppress)
		vw_drift_add(out, VW_DRIFT_PORT, op->dev, "neighbour suppression is off, expected on (EVPN)");
	if (be->link_get(be->ctx, op->master, &br) == 0 && li.master != br.ifindex)
		vw_drift_add(out, VW_DRIFT_LINK, op->dev, "is not a port of %s", op->master);
	if (be->link_get(be->ctx, op->uplink, &ul) != 0) {
		vw_drift_add(out, VW_DRIFT_LINK, op->uplink, "the underlay is missing");
		return;
	}
	if (li.vxlan_link != ul.ifindex)
		vw_drift_add(out, VW_DRIFT_LINK, op->dev, "does not run over underlay %s", op->uplink);
	if (li.mtu + over > ul.mtu)
		vw_drift_add(out, VW_DRIFT_LINK, op->dev, "mtu %u and the %u-byte header exceed %s's mtu %u", li.mtu,
			     over, op->uplink, ul.mtu);
	else if (!op->mtu && li.mtu != ul.mtu - over)
		vw_drift_add(out, VW_DRIFT_LINK, op->dev, "mtu is %u, expected %u (the underlay's less the header)",
			     li.mtu, ul.mtu - over);
}

static void check_fdb(const VwLinkBackend *be, const VwLinkOp *op, GPtrArray *out)
{
	g_autoptr(GArray) fdb = g_array_new(FALSE, TRUE, sizeof(VwFdbEntry));
	char a[VW_ADDR_STRLEN];
	VwLinkInfo li;

	if (be->link_get(be->ctx, op->dev, &li) != 0 || vw_addr_equal(&li.vxlan_local, &op->peer))
		return; /* the device's absence is reported already; this host is no peer of its own */
	if (!be->fdb_list || be->fdb_list(be->ctx, op->dev, fdb) != 0)
		return;
	for (guint i = 0; i < fdb->len; i++) {
		const VwFdbEntry *f = &g_array_index(fdb, VwFdbEntry, i);
		static const VwMac zero = { { 0 } };

		if (vw_mac_equal(&f->mac, &zero) && vw_addr_equal(&f->dst, &op->peer))
			return;
	}
	vw_drift_add(out, VW_DRIFT_LINK, op->dev, "peer %s is missing from the forwarding database",
		     vw_addr_to_string(&op->peer, a));
}

static bool verify_ops(const VwLinkBackend *be, const VwPlan *plan, const char *owner, bool skip_own, GPtrArray *out,
		       GError **error)
{
	for (guint i = 0; i < plan->links->len; i++) {
		const VwLinkOp *op = plan->links->pdata[i];

		if (g_strcmp0(op->owner, owner) != 0 || (skip_own && vw_link_is_virtwires(op)))
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
		case VW_LOP_VXLAN:
			check_vxlan(be, op, out);
			break;
		case VW_LOP_FDB:
			check_fdb(be, op, out);
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

bool vw_verify_links(const VwLinkBackend *be, const VwPlan *plan, const char *owner, GPtrArray *out, GError **error)
{
	return verify_ops(be, plan, owner, false, out, error);
}

bool vw_verify_libvirt_links(const VwLinkBackend *be, const VwPlan *plan, const char *owner, GPtrArray *out,
			     GError **error)
{
	return verify_ops(be, plan, owner, true, out, error);
}
