/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Executing the link operations of a plan through a VwLinkBackend. Each
 * operation looks at the kernel first: what is already right is recorded as
 * found (and never removed later), what virtwire changes is recorded with
 * what undoes it. On any failure, what this run did is undone, newest first.
 *
 * Records (VwStateLink): kind, object, created|found, extra:
 *   bridge       NAME                      (created: deleted at teardown)
 *   link-config  NAME  "up=0 mtu=1500 …"   (old values of a found link)
 *   sysctl       PATH  OLD-VALUE
 *   addr         "DEV PREFIX"
 *   enslave      "PORT BRIDGE"
 *   copied-addr  "BRIDGE UPLINK"  ADDRINFO  (the uplink's address, on the bridge)
 *   moved-route  "BRIDGE UPLINK"  ROUTE     (the uplink's route, on the bridge)
 *   dropped-addr "BRIDGE UPLINK"  ADDRINFO  (the address, off the uplink)
 *   port-flags   PORT  "hairpin=0 isolated=0" (old values)
 *   vxlan        NAME  BRIDGE                 (created: deleted at teardown)
 *   fdb          "VXLAN PEER"                 (the all-zeros entry to a peer)
 *   span-mtu     BRIDGE  "mtu=1500"           (old MTU, lowered for VXLAN's header)
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <virtwire/exec.h>
#include <virtwire/exec.h>
#include <virtwire/state.h>

typedef struct {
	const VwLinkBackend *be;
	VwState *st;	     /* the new record */
	const VwState *prev; /* the previous one, or NULL */
	GPtrArray *undo;     /* VwStateLink* of this run (owned by st->links) */
	guint fault;	     /* a test fault: mutation N fails (0: none) */
	int mutations;
} Run;

static bool fail(Run *r, GError **error, int err, const char *fmt, ...) G_GNUC_PRINTF(4, 5);
static bool fail(Run *r, GError **error, int err, const char *fmt, ...)
{
	g_autofree char *what = NULL;
	const char *kernel = r->be->last_error ? r->be->last_error(r->be->ctx) : NULL;
	va_list ap;

	va_start(ap, fmt);
	what = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_set_error(error, VW_ERROR, VW_ERROR_FAILED, "%s: %s%s%s%s", what, g_strerror(-err), kernel ? " (" : "",
		    kernel ? kernel : "", kernel ? ")" : "");
	return false;
}

/* Every change to the kernel goes through here: counted, so a test can
 * make the Nth one fail with a real kernel error (a request for a device
 * that does not exist). */
static int mutate(Run *r)
{
	r->mutations++;
	if (r->fault > 0 && (guint)r->mutations == r->fault) {
		VwLinkChange ch = { .set_up = true, .up = true };
		int e = r->be->link_change(r->be->ctx, "vw-fault-inj", &ch);

		return e ? e : -EIO;
	}
	return 0;
}

static VwStateLink *record(Run *r, const char *kind, const char *object, bool created, const char *extra)
{
	VwStateLink *l = vw_state_add_link(r->st, kind, object, created, extra);

	if (created)
		g_ptr_array_add(r->undo, l);
	return l;
}

/* The previous run's record of the same object, if any. */
static const VwStateLink *prev_record(const Run *r, const char *kind, const char *object)
{
	for (guint i = 0; r->prev && i < r->prev->links->len; i++) {
		const VwStateLink *l = r->prev->links->pdata[i];

		if (strcmp(l->kind, kind) == 0 && strcmp(l->object, object) == 0)
			return l;
	}
	return NULL;
}

/* Found now, but created by an earlier apply: still virtwire's. */
static void record_found(Run *r, const char *kind, const char *object, const char *extra)
{
	const VwStateLink *p = prev_record(r, kind, object);

	if (p && p->created)
		vw_state_add_link(r->st, kind, object, true, p->extra);
	else
		vw_state_add_link(r->st, kind, object, false, extra);
}

static char *link_config_string(const VwLinkInfo *li)
{
	char m[VW_MAC_STRLEN];

	return g_strdup_printf("up=%d mtu=%u mac=%s stp=%d delay=%u", li->up, li->mtu, vw_mac_to_string(&li->mac, m),
			       li->stp, li->forward_delay);
}

/* What the bridge of @op must have: MAC, MTU (the uplink's in bridged
 * mode), STP, forward delay. */
static bool bridge_wanted(Run *r, const VwLinkOp *op, VwLinkChange *ch, GError **error)
{
	VwLinkInfo up;
	int e;

	*ch = (VwLinkChange){ .set_stp = true, .stp = op->stp, .set_delay = true, .forward_delay = op->delay * 100 };
	if (!op->mac_of_uplink) {
		ch->set_mac = op->has_mac;
		ch->mac = op->mac;
		ch->set_mtu = op->mtu != 0;
		ch->mtu = op->mtu;
		return true;
	}
	if ((e = r->be->link_get(r->be->ctx, op->uplink, &up)))
		return fail(r, error, e, "uplink %s", op->uplink);
	ch->set_mac = up.has_mac;
	ch->mac = up.mac;
	ch->set_mtu = true;
	ch->mtu = up.mtu;
	return true;
}

static bool bridge_create(Run *r, const VwLinkOp *op, VwLinkChange *ch, GError **error)
{
	/* The kernel takes neither an alias nor a lasting MTU at creation (an
	 * MTU given then yields to the first port with a smaller one; one
	 * changed afterwards is the user's and stays): both are set right
	 * after. The alias is virtwire's marker: teardown deletes only a
	 * bridge that carries it. */
	VwLinkChange after = { .set_alias = true };
	int e;

	g_snprintf(after.alias, sizeof(after.alias), VW_LINK_ALIAS_PREFIX "%s", op->owner);
	if (ch->set_mtu && !op->mac_of_uplink) {
		after.set_mtu = true;
		after.mtu = ch->mtu;
		ch->set_mtu = false;
	}
	ch->set_up = true;
	ch->up = true;
	if ((e = mutate(r)) || (e = r->be->bridge_add(r->be->ctx, op->dev, ch)))
		return fail(r, error, e, "cannot create bridge %s", op->dev);
	record(r, "bridge", op->dev, true, NULL);
	if ((e = mutate(r)) || (e = r->be->link_change(r->be->ctx, op->dev, &after)))
		return fail(r, error, e, "cannot configure bridge %s", op->dev);
	return true;
}

/* What of @want differs on the found bridge @li. */
static bool bridge_fix(const VwLinkInfo *li, const VwLinkChange *want, VwLinkChange *fix)
{
	*fix = (VwLinkChange){ 0 };
	if (want->set_mac && (!li->has_mac || !vw_mac_equal(&li->mac, &want->mac))) {
		fix->set_mac = true;
		fix->mac = want->mac;
	}
	if (want->set_mtu && li->mtu != want->mtu) {
		fix->set_mtu = true;
		fix->mtu = want->mtu;
	}
	if (li->stp != want->stp) {
		fix->set_stp = true;
		fix->stp = want->stp;
	}
	/* The kernel refuses a delay under 2 s with STP on; only a bridge
	 * without STP takes any delay. */
	if (li->forward_delay != want->forward_delay && (!want->stp || want->forward_delay >= 200)) {
		fix->set_delay = true;
		fix->forward_delay = want->forward_delay;
	}
	if (!li->up) {
		fix->set_up = true;
		fix->up = true;
	}
	return fix->set_mac || fix->set_mtu || fix->set_stp || fix->set_delay || fix->set_up;
}

/* Found: repair what differs from the XML (libvirt's bridge drifted, or
 * ours did), remembering the old values for a rollback. */
static bool bridge_repair(Run *r, const VwLinkOp *op, const VwLinkInfo *li, const VwLinkChange *want, GError **error)
{
	const VwStateLink *earlier = prev_record(r, "link-config", op->dev);
	g_autofree char *old = NULL;
	VwLinkChange fix;
	int e;

	if (!bridge_fix(li, want, &fix)) {
		if (earlier && earlier->created)
			vw_state_add_link(r->st, "link-config", op->dev, true, earlier->extra);
		return true;
	}
	/* The values before virtwire's first change are the ones to restore. */
	old = earlier && earlier->created ? g_strdup(earlier->extra) : link_config_string(li);
	if ((e = mutate(r)) || (e = r->be->link_change(r->be->ctx, op->dev, &fix)))
		return fail(r, error, e, "cannot configure bridge %s", op->dev);
	record(r, "link-config", op->dev, true, old);
	return true;
}

static bool op_bridge(Run *r, const VwLinkOp *op, GError **error)
{
	g_autofree char *alias = g_strdup_printf(VW_LINK_ALIAS_PREFIX "%s", op->owner);
	VwLinkChange want;
	VwLinkInfo li;
	int e;

	if (!bridge_wanted(r, op, &want, error))
		return false;
	e = r->be->link_get(r->be->ctx, op->dev, &li);
	if (e == -ENODEV)
		return bridge_create(r, op, &want, error);
	if (e)
		return fail(r, error, e, "cannot read link %s", op->dev);
	if (strcmp(li.kind, "bridge") != 0)
		return fail(r, error, -EEXIST, "%s exists and is not a bridge (%s)", op->dev,
			    li.kind[0] ? li.kind : "a device");
	/* A bridge with virtwire's marker for this network is virtwire's,
	 * whatever the records say. */
	if (strcmp(li.alias, alias) == 0)
		vw_state_add_link(r->st, "bridge", op->dev, true, NULL);
	else
		record_found(r, "bridge", op->dev, NULL);
	return bridge_repair(r, op, &li, &want, error);
}

static bool op_sysctl(Run *r, const VwLinkOp *op, GError **error)
{
	g_autofree char *old = NULL;
	int e = r->be->sysctl_get(r->be->ctx, op->path, &old);

	if (e)
		return fail(r, error, e, "cannot read sysctl %s", op->path);
	if (strcmp(old, op->value) == 0) {
		record_found(r, "sysctl", op->path, old);
		return true;
	}
	if ((e = mutate(r)) || (e = r->be->sysctl_set(r->be->ctx, op->path, op->value)))
		return fail(r, error, e, "cannot set sysctl %s to %s", op->path, op->value);
	record(r, "sysctl", op->path, true, old);
	return true;
}

static bool has_addr(GArray *addrs, const VwPrefix *p)
{
	for (guint i = 0; i < addrs->len; i++) {
		const VwAddrInfo *a = &g_array_index(addrs, VwAddrInfo, i);

		if (a->prefix.prefix == p->prefix && vw_addr_equal(&a->prefix.addr, &p->addr))
			return true;
	}
	return false;
}

static bool op_addr(Run *r, const VwLinkOp *op, GError **error)
{
	g_autoptr(GArray) addrs = g_array_new(FALSE, TRUE, sizeof(VwAddrInfo));
	g_autofree char *p = vw_prefix_to_string(&op->addr);
	g_autofree char *object = g_strdup_printf("%s %s", op->dev, p);
	VwAddrInfo a = {
		.prefix = op->addr, .proto = VW_ADDR_PROTO, .valid_lft = 0xffffffffu, .preferred_lft = 0xffffffffu
	};
	int e = r->be->addr_list(r->be->ctx, op->dev, addrs);

	if (e)
		return fail(r, error, e, "cannot list the addresses of %s", op->dev);
	if (has_addr(addrs, &op->addr)) {
		record_found(r, "addr", object, NULL);
		return true;
	}
	/* The host owns this address: no duplicate detection (which would
	 * keep an IPv6 address tentative until a guest plugs in). */
	if (op->addr.addr.family == AF_INET6)
		a.flags = 0x02; /* IFA_F_NODAD */
	if ((e = mutate(r)) || (e = r->be->addr_add(r->be->ctx, op->dev, &a)))
		return fail(r, error, e, "cannot add address %s to %s", p, op->dev);
	record(r, "addr", object, true, NULL);
	return true;
}

static bool op_enslave(Run *r, const VwLinkOp *op, GError **error)
{
	VwLinkInfo up, br;
	g_autofree char *object = g_strdup_printf("%s %s", op->uplink, op->dev);
	VwLinkChange ch = { .set_master = true };
	int e;

	if ((e = r->be->link_get(r->be->ctx, op->uplink, &up)))
		return fail(r, error, e, "uplink %s", op->uplink);
	if ((e = r->be->link_get(r->be->ctx, op->dev, &br)))
		return fail(r, error, e, "bridge %s", op->dev);
	if (up.master == br.ifindex) {
		record_found(r, "enslave", object, NULL);
		return true;
	}
	if (up.master)
		return fail(r, error, -EBUSY, "uplink %s is already a port of another device", op->uplink);
	ch.master = br.ifindex;
	if ((e = mutate(r)) || (e = r->be->link_change(r->be->ctx, op->uplink, &ch)))
		return fail(r, error, e, "cannot enslave %s to %s", op->uplink, op->dev);
	record(r, "enslave", object, true, NULL);
	return true;
}

static bool movable_addr(const VwAddrInfo *a)
{
	/* Link-local addresses are each device's own (the kernel makes them). */
	if (a->prefix.addr.family == AF_INET6 && a->prefix.addr.b[0] == 0xfe && (a->prefix.addr.b[1] & 0xc0) == 0x80)
		return false;
	return a->scope != 253 /* RT_SCOPE_LINK */ || a->prefix.addr.family == AF_INET;
}

/* Moves are carried over from the previous record when already done, so a
 * re-apply keeps knowing what to move back. */
static void carry_moves(Run *r, const char *kind, const char *object)
{
	for (guint i = 0; r->prev && i < r->prev->links->len; i++) {
		const VwStateLink *l = r->prev->links->pdata[i];

		if (strcmp(l->kind, kind) == 0 && strcmp(l->object, object) == 0)
			vw_state_add_link(r->st, kind, object, true, l->extra);
	}
}

/*
 * Bridged mode moves the uplink's addresses and routes in three steps, in
 * an order whose exact reverse is always safe: the addresses are copied to
 * the bridge, the routes moved (their gateways reachable through the
 * bridge by then), and only then the addresses dropped from the uplink
 * (dropping one first would take the routes that use it with it).
 */
static bool op_copy_addrs(Run *r, const VwLinkOp *op, GArray *addrs, GError **error)
{
	g_autofree char *object = g_strdup_printf("%s %s", op->dev, op->uplink);
	int e;

	carry_moves(r, "copied-addr", object);
	for (guint i = 0; i < addrs->len; i++) {
		const VwAddrInfo *a = &g_array_index(addrs, VwAddrInfo, i);
		g_autofree char *text = vw_addrinfo_to_string(a);
		g_autofree char *p = vw_prefix_to_string(&a->prefix);

		if ((e = mutate(r)) || (e = r->be->addr_add(r->be->ctx, op->dev, a)))
			return fail(r, error, e, "cannot add address %s to %s", p, op->dev);
		record(r, "copied-addr", object, true, text);
	}
	return true;
}

static bool op_move_routes(Run *r, const VwLinkOp *op, GArray *routes, GError **error)
{
	g_autofree char *object = g_strdup_printf("%s %s", op->dev, op->uplink);
	int e;

	carry_moves(r, "moved-route", object);
	for (guint i = 0; i < routes->len; i++) {
		const VwRouteInfo *rt = &g_array_index(routes, VwRouteInfo, i);
		g_autofree char *text = vw_route_to_string(rt);

		if ((e = mutate(r)) || (e = r->be->route_del(r->be->ctx, op->uplink, rt)))
			return fail(r, error, e, "cannot remove route %s from %s", text, op->uplink);
		if ((e = mutate(r)) || (e = r->be->route_add(r->be->ctx, op->dev, rt))) {
			/* Put it back where it was before saying why. */
			r->be->route_add(r->be->ctx, op->uplink, rt);
			return fail(r, error, e, "cannot add route %s to %s", text, op->dev);
		}
		record(r, "moved-route", object, true, text);
	}
	return true;
}

static bool op_drop_addrs(Run *r, const VwLinkOp *op, GArray *addrs, GError **error)
{
	g_autofree char *object = g_strdup_printf("%s %s", op->dev, op->uplink);
	int e;

	carry_moves(r, "dropped-addr", object);
	for (guint i = 0; i < addrs->len; i++) {
		const VwAddrInfo *a = &g_array_index(addrs, VwAddrInfo, i);
		g_autofree char *text = vw_addrinfo_to_string(a);
		g_autofree char *p = vw_prefix_to_string(&a->prefix);

		if ((e = mutate(r)) || (e = r->be->addr_del(r->be->ctx, op->uplink, a)))
			return fail(r, error, e, "cannot remove address %s from %s", p, op->uplink);
		record(r, "dropped-addr", object, true, text);
	}
	return true;
}

/* The uplink's addresses that move: not the link-local ones, which are
 * each device's own. */
static GArray *movable_addrs(Run *r, const char *dev)
{
	GArray *all = g_array_new(FALSE, TRUE, sizeof(VwAddrInfo));
	GArray *out = g_array_new(FALSE, TRUE, sizeof(VwAddrInfo));

	if (r->be->addr_list(r->be->ctx, dev, all) == 0) {
		for (guint i = 0; i < all->len; i++)
			if (movable_addr(&g_array_index(all, VwAddrInfo, i)))
				g_array_append_val(out, g_array_index(all, VwAddrInfo, i));
	}
	g_array_unref(all);
	return out;
}

static bool op_port_flags(Run *r, const VwLinkOp *op, GError **error)
{
	g_autoptr(GArray) links = g_array_new(FALSE, TRUE, sizeof(VwLinkInfo));
	VwLinkInfo br;
	int e;

	if ((e = r->be->link_get(r->be->ctx, op->dev, &br)))
		return fail(r, error, e, "bridge %s", op->dev);
	if ((e = r->be->link_list(r->be->ctx, links)))
		return fail(r, error, e, "cannot list links");
	for (guint i = 0; i < links->len; i++) {
		VwLinkInfo p = g_array_index(links, VwLinkInfo, i);
		g_autofree char *old = NULL;

		/* A VXLAN device reflecting frames back (hairpin) would loop
		 * them between the hosts: its flags are its own operation's. */
		if (p.master != br.ifindex || strcmp(p.kind, "vxlan") == 0)
			continue;
		/* The list has no port flags: read the port itself. */
		if ((e = r->be->link_get(r->be->ctx, p.name, &p)))
			continue;
		if ((op->hairpin < 0 || p.hairpin == (op->hairpin > 0)) &&
		    (op->isolated < 0 || p.isolated == (op->isolated > 0))) {
			record_found(r, "port-flags", p.name, NULL);
			continue;
		}
		{
			const VwStateLink *earlier = prev_record(r, "port-flags", p.name);

			old = earlier && earlier->created
				      ? g_strdup(earlier->extra)
				      : g_strdup_printf("hairpin=%d isolated=%d", p.hairpin, p.isolated);
		}
		if ((e = mutate(r)) || (e = r->be->port_flags(r->be->ctx, p.name, op->hairpin, op->isolated)))
			return fail(r, error, e, "cannot set the flags of bridge port %s", p.name);
		record(r, "port-flags", p.name, true, old);
	}
	return true;
}

/* The underlay's address of @family that is the tunnel's local end: its
 * first global one. */
static bool underlay_addr(Run *r, const VwLinkOp *op, VwAddr *ret, GError **error)
{
	g_autoptr(GArray) addrs = g_array_new(FALSE, TRUE, sizeof(VwAddrInfo));
	int e = r->be->addr_list(r->be->ctx, op->uplink, addrs);

	if (e)
		return fail(r, error, e, "underlay %s", op->uplink);
	for (guint i = 0; i < addrs->len; i++) {
		const VwAddrInfo *a = &g_array_index(addrs, VwAddrInfo, i);

		if (a->prefix.addr.family == op->family && a->scope == 0 /* RT_SCOPE_UNIVERSE */) {
			*ret = a->prefix.addr;
			return true;
		}
	}
	if (op->evpn)
		g_set_error(error, VW_ERROR, VW_ERROR_FAILED,
			    "underlay %s has no global IPv4 address: control='evpn' needs one as the VTEP address "
			    "(FRR 8.4's zebra has no IPv6 VTEPs; span an IPv6 underlay with control='static')",
			    op->uplink);
	else
		g_set_error(error, VW_ERROR, VW_ERROR_FAILED,
			    "underlay %s has no global %s address: the tunnel's local end is this host's address there",
			    op->uplink, op->family == AF_INET6 ? "IPv6" : "IPv4");
	return false;
}

/* The overlay's MTU: the XML's, which must leave the header room on the
 * underlay, or the underlay's less the header. */
static bool span_mtu(const VwLinkOp *op, const VwLinkInfo *ul, unsigned *ret, GError **error)
{
	unsigned over = vw_span_overhead(op->family);

	if (op->mtu && op->mtu + over > ul->mtu) {
		g_set_error(error, VW_ERROR, VW_ERROR_FAILED,
			    "the network's MTU %u and the %u-byte VXLAN header do not fit the MTU %u of underlay %s: "
			    "lower <mtu size='%u'/>, or raise the underlay's MTU to %u",
			    op->mtu, over, ul->mtu, op->uplink, ul->mtu > over ? ul->mtu - over : 0, op->mtu + over);
		return false;
	}
	if (!op->mtu && ul->mtu < over + 68) {
		g_set_error(error, VW_ERROR, VW_ERROR_FAILED, "underlay %s's MTU %u leaves no room for VXLAN",
			    op->uplink, ul->mtu);
		return false;
	}
	*ret = op->mtu ? op->mtu : ul->mtu - over;
	return true;
}

static bool vxlan_matches(const VwLinkInfo *li, const VwVxlanConf *c)
{
	return li->vni == c->vni && li->vxlan_port == c->port && vw_addr_equal(&li->vxlan_local, &c->local) &&
	       li->vxlan_link == c->link && li->vxlan_learning == c->learning;
}

/* The VXLAN device of @op exists, as configured: created if missing,
 * made anew when its identity (VNI, port, local end, underlay) drifted. */
static bool vxlan_present(Run *r, const VwLinkOp *op, const VwVxlanConf *conf, GError **error)
{
	g_autofree char *alias = g_strdup_printf(VW_LINK_ALIAS_PREFIX "%s", op->owner);
	VwLinkChange marker = { .set_alias = true };
	VwLinkInfo li;
	int e = r->be->link_get(r->be->ctx, op->dev, &li);
	bool known = e == 0;

	if (e && e != -ENODEV)
		return fail(r, error, e, "cannot read link %s", op->dev);
	if (known) {
		if (strcmp(li.kind, "vxlan") != 0 || strcmp(li.alias, alias) != 0)
			return fail(r, error, -EEXIST, "%s exists and is not virtwire's VXLAN device for the network",
				    op->dev);
		/* With virtwire's marker for the network: virtwire's. */
		vw_state_add_link(r->st, "vxlan", op->dev, true, op->master);
		if (vxlan_matches(&li, conf))
			return true;
		if ((e = mutate(r)) || (e = r->be->link_del(r->be->ctx, op->dev)))
			return fail(r, error, e, "cannot replace VXLAN device %s", op->dev);
	}
	if ((e = mutate(r)) || (e = r->be->vxlan_add(r->be->ctx, op->dev, conf)))
		return fail(r, error, e, "cannot create VXLAN device %s", op->dev);
	if (!known)
		record(r, "vxlan", op->dev, true, op->master);
	g_strlcpy(marker.alias, alias, sizeof(marker.alias));
	if ((e = mutate(r)) || (e = r->be->link_change(r->be->ctx, op->dev, &marker)))
		return fail(r, error, e, "cannot mark VXLAN device %s", op->dev);
	return true;
}

/* A bridge whose MTU its user set does not follow its ports: lowered to
 * the overlay's, the old value kept for teardown. */
static bool bridge_mtu(Run *r, const VwLinkOp *op, const VwLinkInfo *br, unsigned mtu, GError **error)
{
	const VwStateLink *earlier = prev_record(r, "span-mtu", op->master);
	g_autofree char *old = NULL;
	VwLinkChange ch = { .set_mtu = true, .mtu = mtu };
	int e;

	if (br->mtu <= mtu) {
		if (earlier && earlier->created)
			vw_state_add_link(r->st, "span-mtu", op->master, true, earlier->extra);
		return true;
	}
	old = earlier && earlier->created ? g_strdup(earlier->extra) : g_strdup_printf("mtu=%u", br->mtu);
	if ((e = mutate(r)) || (e = r->be->link_change(r->be->ctx, op->master, &ch)))
		return fail(r, error, e, "cannot set the MTU of bridge %s to %u", op->master, mtu);
	record(r, "span-mtu", op->master, true, old);
	return true;
}

/* No IPv6 of the host's own on the VXLAN device: up, it would send its
 * own neighbour discovery and MLD straight to every peer, past the bridge
 * and the rule that keeps the host's frames off the overlay. Set before it
 * goes up; the setting goes with the device. */
static bool vxlan_quiet(Run *r, const VwLinkOp *op, GError **error)
{
	g_autofree char *path = g_strdup_printf("net/ipv6/conf/%s/disable_ipv6", op->dev);
	g_autofree char *cur = NULL;
	int e = r->be->sysctl_get(r->be->ctx, path, &cur);

	if (e == 0 && strcmp(cur, "1") == 0)
		return true;
	if ((e = mutate(r)) || (e = r->be->sysctl_set(r->be->ctx, path, "1")))
		return fail(r, error, e, "cannot disable IPv6 on %s", op->dev);
	return true;
}

/* EVPN's VXLAN port (control="evpn"): learning off, neighbour suppression
 * on, set once it is a port (the kernel keeps them with the port). */
static bool evpn_port(Run *r, const VwLinkOp *op, GError **error)
{
	VwLinkInfo li;
	int e;

	if (!r->be->port_evpn)
		return fail(r, error, -EOPNOTSUPP, "EVPN port flags of %s", op->dev);
	if ((e = r->be->link_get(r->be->ctx, op->dev, &li)))
		return fail(r, error, e, "cannot read link %s", op->dev);
	if (li.is_port && !li.port_learning && li.neigh_suppress)
		return true;
	if ((e = mutate(r)) || (e = r->be->port_evpn(r->be->ctx, op->dev, false, true)))
		return fail(r, error, e, "cannot set learning off and neighbour suppression on for bridge port %s",
			    op->dev);
	return true;
}

/* The device is made a port of the bridge but left down: it goes up only
 * once the firewall that keeps the host's own frames off the overlay is in
 * place (vw_link_raise_spans). */
static bool op_vxlan(Run *r, const VwLinkOp *op, GError **error)
{
	VwVxlanConf conf = { .vni = op->vni, .port = op->port, .learning = op->learning };
	VwLinkChange ch = { .set_master = true };
	VwLinkInfo ul, br, li;
	int e;

	/* A backend without VXLAN (a test's fake) cannot span. */
	if (!r->be->vxlan_add || !r->be->fdb_list || !r->be->fdb_add)
		return fail(r, error, -EOPNOTSUPP, "VXLAN device %s", op->dev);
	if ((e = r->be->link_get(r->be->ctx, op->uplink, &ul)))
		return fail(r, error, e, "underlay %s", op->uplink);
	if ((e = r->be->link_get(r->be->ctx, op->master, &br)))
		return fail(r, error, e, "bridge %s", op->master);
	conf.link = ul.ifindex;
	if (!underlay_addr(r, op, &conf.local, error) || !span_mtu(op, &ul, &conf.mtu, error) ||
	    !vxlan_present(r, op, &conf, error))
		return false;
	if (!vxlan_quiet(r, op, error))
		return false;
	if ((e = r->be->link_get(r->be->ctx, op->dev, &li)))
		return fail(r, error, e, "cannot read link %s", op->dev);
	ch.master = br.ifindex;
	ch.set_mtu = li.mtu != conf.mtu;
	ch.mtu = conf.mtu;
	if ((li.master != br.ifindex || ch.set_mtu) &&
	    ((e = mutate(r)) || (e = r->be->link_change(r->be->ctx, op->dev, &ch))))
		return fail(r, error, e, "cannot make %s a port of %s", op->dev, op->master);
	if (op->isolated > 0 && (e = r->be->port_flags(r->be->ctx, op->dev, -1, 1)))
		return fail(r, error, e, "cannot isolate bridge port %s", op->dev);
	if (op->evpn && !evpn_port(r, op, error))
		return false;
	if ((e = r->be->link_get(r->be->ctx, op->master, &br)))
		return fail(r, error, e, "bridge %s", op->master);
	return bridge_mtu(r, op, &br, conf.mtu, error);
}

static bool has_fdb(GArray *fdb, const VwMac *mac, const VwAddr *dst)
{
	for (guint i = 0; i < fdb->len; i++) {
		const VwFdbEntry *f = &g_array_index(fdb, VwFdbEntry, i);

		if (vw_mac_equal(&f->mac, mac) && vw_addr_equal(&f->dst, dst))
			return true;
	}
	return false;
}

/* The all-zeros entry to a peer: every frame with no known place goes to
 * it too. Not to this host itself. */
static bool op_fdb(Run *r, const VwLinkOp *op, GError **error)
{
	g_autoptr(GArray) fdb = g_array_new(FALSE, TRUE, sizeof(VwFdbEntry));
	VwFdbEntry f = { .dst = op->peer, .permanent = true };
	char a[VW_ADDR_STRLEN];
	g_autofree char *object = g_strdup_printf("%s %s", op->dev, vw_addr_to_string(&op->peer, a));
	VwLinkInfo li;
	int e;

	if ((e = r->be->link_get(r->be->ctx, op->dev, &li)))
		return fail(r, error, e, "VXLAN device %s", op->dev);
	if (vw_addr_equal(&li.vxlan_local, &op->peer))
		return true;
	if ((e = r->be->fdb_list(r->be->ctx, op->dev, fdb)))
		return fail(r, error, e, "cannot read the forwarding database of %s", op->dev);
	if (has_fdb(fdb, &f.mac, &f.dst)) {
		record_found(r, "fdb", object, NULL);
		return true;
	}
	if ((e = mutate(r)) || (e = r->be->fdb_add(r->be->ctx, op->dev, &f)))
		return fail(r, error, e, "cannot add peer %s to %s", a, op->dev);
	record(r, "fdb", object, true, NULL);
	return true;
}

bool vw_link_raise_spans(const VwLinkBackend *be, const VwPlan *plan, const char *owner, GError **error)
{
	VwLinkChange up = { .set_up = true, .up = true };

	for (guint i = 0; i < plan->links->len; i++) {
		const VwLinkOp *op = plan->links->pdata[i];
		VwLinkInfo li;
		int e;

		if (op->kind != VW_LOP_VXLAN || g_strcmp0(op->owner, owner) != 0)
			continue;
		if ((e = be->link_get(be->ctx, op->dev, &li)))
			return vw_set_errno(error, e, NULL, "VXLAN device %s", op->dev);
		if (!li.up && (e = be->link_change(be->ctx, op->dev, &up)))
			return vw_set_errno(error, e, NULL, "cannot set VXLAN device %s up", op->dev);
	}
	return true;
}

bool vw_link_is_virtwires(const VwLinkOp *op)
{
	return op->kind == VW_LOP_VXLAN || op->kind == VW_LOP_FDB;
}

static bool apply_ops(const VwLinkBackend *be, const VwPlan *plan, const char *owner, bool own_only,
		      const VwState *prev, VwState *st, GPtrArray *undo, const VwFaults *faults, GError **error)
{
	Run r = { be, st, prev, undo, faults ? faults->link : 0, 0 };
	g_autoptr(GArray) routes = NULL;
	g_autoptr(GArray) addrs = NULL;
	guint first = undo->len;

	for (guint i = 0; i < plan->links->len; i++) {
		const VwLinkOp *op = plan->links->pdata[i];
		bool ok = true;

		if (g_strcmp0(op->owner, owner) != 0 || (own_only && !vw_link_is_virtwires(op)))
			continue;
		switch (op->kind) {
		case VW_LOP_BRIDGE:
			ok = op_bridge(&r, op, error);
			break;
		case VW_LOP_SYSCTL:
			ok = op_sysctl(&r, op, error);
			break;
		case VW_LOP_ADDR:
			ok = op_addr(&r, op, error);
			break;
		case VW_LOP_ENSLAVE:
			ok = op_enslave(&r, op, error);
			break;
		case VW_LOP_MOVE_ADDRS:
			g_clear_pointer(&addrs, g_array_unref);
			addrs = movable_addrs(&r, op->uplink);
			ok = op_copy_addrs(&r, op, addrs, error);
			break;
		case VW_LOP_MOVE_ROUTES:
			routes = g_array_new(FALSE, TRUE, sizeof(VwRouteInfo));
			if (be->route_list(be->ctx, op->uplink, routes) != 0)
				g_array_set_size(routes, 0);
			ok = op_move_routes(&r, op, routes, error);
			if (ok && addrs)
				ok = op_drop_addrs(&r, op, addrs, error);
			break;
		case VW_LOP_PORT_FLAGS:
			ok = op_port_flags(&r, op, error);
			break;
		case VW_LOP_VXLAN:
			ok = op_vxlan(&r, op, error);
			break;
		case VW_LOP_FDB:
			ok = op_fdb(&r, op, error);
			break;
		}
		if (!ok) {
			g_autoptr(GPtrArray) mine = g_ptr_array_new();

			for (guint j = first; j < undo->len; j++)
				g_ptr_array_add(mine, undo->pdata[j]);
			vw_link_undo(be, owner, mine, false, NULL, NULL, NULL);
			g_ptr_array_set_size(undo, first);
			return false;
		}
	}
	return true;
}

bool vw_link_apply(const VwLinkBackend *be, const VwPlan *plan, const char *owner, const VwState *prev, VwState *st,
		   GPtrArray *undo, const VwFaults *faults, GError **error)
{
	return apply_ops(be, plan, owner, false, prev, st, undo, faults, error);
}

bool vw_link_apply_own(const VwLinkBackend *be, const VwPlan *plan, const char *owner, const VwState *prev, VwState *st,
		       GPtrArray *undo, const VwFaults *faults, GError **error)
{
	return apply_ops(be, plan, owner, true, prev, st, undo, faults, error);
}
