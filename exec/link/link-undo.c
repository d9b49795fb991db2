/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Undoing what a record says virtwire created — at teardown, after a failed
 * apply, for what a network no longer has. A record is a file, and a file
 * can be damaged or forged; the kernel is the proof. So each record is
 * undone only where the kernel shows it to be virtwire's:
 *
 *   bridge         deleted only when it is a bridge carrying virtwire's
 *                  marker for the network (its alias VW_LINK_ALIAS_PREFIX ID)
 *   addr           removed from a bridge with that marker, or when the
 *                  address itself carries virtwire's (IFA_PROTO VW_ADDR_PROTO)
 *   link-config    restored only on a bridge
 *   enslave, copied-addr, moved-route, dropped-addr
 *                  (bridged mode) only around a bridge with the marker
 *   port-flags     only on a port of a bridge
 *   sysctl         only the few virtwire ever writes, to 0 or 1
 *   vxlan          deleted only when it is a VXLAN device carrying the
 *                  network's marker
 *   fdb            removed only from such a VXLAN device
 *   span-mtu       restored only on a bridge
 *
 * Anything else is left as it is, and said so.
 */
#include <errno.h>
#include <string.h>

#include <virtwire/exec.h>

typedef struct {
	const VwLinkBackend *be;
	const char *id;
	bool recorded;	  /* from a record: the kernel must prove each */
	GPtrArray *notes; /* char*, may be NULL */
	guint noted;	  /* notes made (also where @notes is NULL) */
} Undo;

static void note(Undo *u, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void note(Undo *u, const char *fmt, ...)
{
	va_list ap;

	u->noted++;
	if (!u->notes)
		return;
	va_start(ap, fmt);
	g_ptr_array_add(u->notes, g_strdup_vprintf(fmt, ap));
	va_end(ap);
}

/* -ENODEV: the link is gone; 1: a bridge with virtwire's marker for the
 * network; 0: anything else (described in @why). */
static int marked_bridge(Undo *u, const char *name, VwLinkInfo *li, char **why)
{
	g_autofree char *alias = g_strdup_printf(VW_LINK_ALIAS_PREFIX "%s", u->id);
	int e = u->be->link_get(u->be->ctx, name, li);

	*why = NULL;
	if (e)
		return e == -ENODEV ? -ENODEV : 0;
	if (strcmp(li->kind, "bridge") != 0) {
		*why = g_strdup_printf("%s is a %s, not a bridge", name, li->kind[0] ? li->kind : "device");
		return 0;
	}
	/* What this very process created a moment ago needs no proof (its
	 * marker may be what failed to be set). */
	if (u->recorded && strcmp(li->alias, alias) != 0) {
		*why = g_strdup_printf("bridge %s does not carry virtwire's marker for the network", name);
		return 0;
	}
	return 1;
}

static bool parse_kv(const char *extra, const char *key, unsigned *ret)
{
	g_auto(GStrv) f = g_strsplit(extra ? extra : "", " ", -1);
	size_t n = strlen(key);

	for (char **p = f; *p; p++) {
		if (strncmp(*p, key, n) == 0 && (*p)[n] == '=') {
			guint64 v;

			if (!g_ascii_string_to_unsigned(*p + n + 1, 10, 0, G_MAXUINT32, &v, NULL))
				return false;
			*ret = (unsigned)v;
			return true;
		}
	}
	return false;
}

static int undo_bridge(Undo *u, const VwStateLink *l)
{
	g_autofree char *why = NULL;
	VwLinkInfo li;
	int m = marked_bridge(u, l->object, &li, &why);

	if (m < 0)
		return 0; /* gone already */
	if (m == 0) {
		note(u, "%s: left as it is", why ? why : l->object);
		return 0;
	}
	return u->be->link_del(u->be->ctx, l->object);
}

static int undo_link_config(Undo *u, const VwStateLink *l)
{
	VwLinkChange ch = { 0 };
	VwLinkInfo li;
	unsigned v;
	g_auto(GStrv) f = g_strsplit(l->extra ? l->extra : "", " ", -1);

	if (u->be->link_get(u->be->ctx, l->object, &li) != 0)
		return 0;
	if (strcmp(li.kind, "bridge") != 0) {
		note(u, "%s is not a bridge: its settings are left as they are", l->object);
		return 0;
	}
	if ((ch.set_up = parse_kv(l->extra, "up", &v)))
		ch.up = v;
	if ((ch.set_mtu = parse_kv(l->extra, "mtu", &v)))
		ch.mtu = v;
	if ((ch.set_stp = parse_kv(l->extra, "stp", &v)))
		ch.stp = v;
	if ((ch.set_delay = parse_kv(l->extra, "delay", &v)))
		ch.forward_delay = v;
	for (char **p = f; *p; p++)
		if (g_str_has_prefix(*p, "mac="))
			ch.set_mac = vw_mac_parse(*p + 4, &ch.mac);
	return u->be->link_change(u->be->ctx, l->object, &ch);
}

static int undo_sysctl(Undo *u, const VwStateLink *l)
{
	const char *v = l->extra ? l->extra : "0";

	if (!vw_sysctl_is_virtwires(l->object) || (strcmp(v, "0") != 0 && strcmp(v, "1") != 0)) {
		note(u, "sysctl %s is not one virtwire sets: left as it is", l->object);
		return 0;
	}
	return u->be->sysctl_set(u->be->ctx, l->object, v);
}

/* The address on @dev carries virtwire's marker. */
static bool addr_marked(Undo *u, const char *dev, const VwPrefix *p)
{
	g_autoptr(GArray) addrs = g_array_new(FALSE, TRUE, sizeof(VwAddrInfo));

	if (u->be->addr_list(u->be->ctx, dev, addrs) != 0)
		return false;
	for (guint i = 0; i < addrs->len; i++) {
		const VwAddrInfo *a = &g_array_index(addrs, VwAddrInfo, i);

		if (a->prefix.prefix == p->prefix && vw_addr_equal(&a->prefix.addr, &p->addr))
			return a->proto == VW_ADDR_PROTO;
	}
	return false;
}

static int undo_addr(Undo *u, const VwStateLink *l)
{
	g_auto(GStrv) obj = g_strsplit(l->object, " ", 2);
	g_autofree char *why = NULL;
	VwAddrInfo a = { 0 };
	VwLinkInfo li;
	int m;

	if (!obj[0] || !obj[1] || !vw_prefix_parse(obj[1], &a.prefix))
		return -EINVAL;
	m = marked_bridge(u, obj[0], &li, &why);
	if (m < 0)
		return 0;
	if (m == 0 && u->recorded && !addr_marked(u, obj[0], &a.prefix)) {
		note(u, "address %s on %s carries no marker of virtwire's: left as it is", obj[1], obj[0]);
		return 0;
	}
	return u->be->addr_del(u->be->ctx, obj[0], &a);
}

/* Bridged mode: the bridge (first of the record's object) must be the
 * network's own, with its marker. */
static bool bridged_proven(Undo *u, const VwStateLink *l, const char *bridge)
{
	g_autofree char *why = NULL;
	VwLinkInfo li;
	int m = marked_bridge(u, bridge, &li, &why);

	if (m == 0)
		note(u, "%s %s: %s: left as it is", l->kind, l->object, why ? why : "not virtwire's");
	return m == 1;
}

static int undo_enslave(Undo *u, const VwStateLink *l)
{
	g_auto(GStrv) obj = g_strsplit(l->object, " ", 2);
	VwLinkChange ch = { .set_master = true, .master = 0 };

	if (!obj[0] || !obj[1])
		return -EINVAL;
	if (!bridged_proven(u, l, obj[1]))
		return 0;
	return u->be->link_change(u->be->ctx, obj[0], &ch);
}

/* copied-addr / dropped-addr / moved-route "BRIDGE UPLINK" EXTRA. */
static int undo_move(Undo *u, const VwStateLink *l)
{
	g_auto(GStrv) obj = g_strsplit(l->object, " ", 2);
	VwAddrInfo a;
	VwRouteInfo rt;
	int e;

	if (!obj[0] || !obj[1])
		return -EINVAL;
	if (!bridged_proven(u, l, obj[0]))
		return 0;
	if (strcmp(l->kind, "moved-route") == 0) {
		if (!vw_route_from_string(l->extra, &rt))
			return -EINVAL;
		u->be->route_del(u->be->ctx, obj[0], &rt);
		e = u->be->route_add(u->be->ctx, obj[1], &rt);
		return e == -EEXIST ? 0 : e;
	}
	if (!vw_addrinfo_from_string(l->extra, &a))
		return -EINVAL;
	if (strcmp(l->kind, "copied-addr") == 0) {
		e = u->be->addr_del(u->be->ctx, obj[0], &a);
		return e == -EADDRNOTAVAIL ? 0 : e;
	}
	e = u->be->addr_add(u->be->ctx, obj[1], &a);
	return e == -EEXIST ? 0 : e;
}

static int undo_port_flags(Undo *u, const VwStateLink *l)
{
	VwLinkInfo li;
	unsigned h = 0, i = 0;

	if (u->be->link_get(u->be->ctx, l->object, &li) != 0)
		return 0;
	if (!li.is_port || !li.master) {
		note(u, "%s is not a bridge port: left as it is", l->object);
		return 0;
	}
	parse_kv(l->extra, "hairpin", &h);
	parse_kv(l->extra, "isolated", &i);
	return u->be->port_flags(u->be->ctx, l->object, h ? 1 : 0, i ? 1 : 0);
}

/* -ENODEV: gone; 1: a VXLAN device with virtwire's marker for the network
 * (or, not from a record, any VXLAN device: this process just made it);
 * 0: anything else, noted. */
static int marked_vxlan(Undo *u, const char *name, const char *what)
{
	g_autofree char *alias = g_strdup_printf(VW_LINK_ALIAS_PREFIX "%s", u->id);
	VwLinkInfo li;
	int e = u->be->link_get(u->be->ctx, name, &li);

	if (e)
		return e == -ENODEV ? -ENODEV : 0;
	if (strcmp(li.kind, "vxlan") != 0 || (u->recorded && strcmp(li.alias, alias) != 0)) {
		note(u, "%s: %s is not virtwire's VXLAN device for the network: left as it is", what, name);
		return 0;
	}
	return 1;
}

static int undo_vxlan(Undo *u, const VwStateLink *l)
{
	int m = marked_vxlan(u, l->object, l->object);

	return m == 1 ? u->be->link_del(u->be->ctx, l->object) : 0;
}

/* fdb "VXLAN PEER": the all-zeros entry to a peer. */
static int undo_fdb(Undo *u, const VwStateLink *l)
{
	g_auto(GStrv) obj = g_strsplit(l->object, " ", 2);
	VwFdbEntry f = { .permanent = true };
	int e;

	if (!obj[0] || !obj[1] || !vw_addr_parse(obj[1], &f.dst))
		return -EINVAL;
	if (marked_vxlan(u, obj[0], l->object) != 1)
		return 0;
	e = u->be->fdb_del ? u->be->fdb_del(u->be->ctx, obj[0], &f) : -EOPNOTSUPP;
	return e == -ENOENT ? 0 : e;
}

static int undo_one(Undo *u, const VwStateLink *l)
{
	static const struct {
		const char *kind;
		int (*fn)(Undo *u, const VwStateLink *l);
	} kinds[] = {
		{ "bridge", undo_bridge },
		{ "link-config", undo_link_config },
		{ "sysctl", undo_sysctl },
		{ "addr", undo_addr },
		{ "enslave", undo_enslave },
		{ "copied-addr", undo_move },
		{ "dropped-addr", undo_move },
		{ "moved-route", undo_move },
		{ "port-flags", undo_port_flags },
		{ "vxlan", undo_vxlan },
		{ "fdb", undo_fdb },
		{ "span-mtu", undo_link_config },
	};

	if (!l->created)
		return 0;
	for (size_t k = 0; k < G_N_ELEMENTS(kinds); k++) {
		if (strcmp(l->kind, kinds[k].kind) != 0)
			continue;
		return kinds[k].fn(u, l);
	}
	note(u, "a record of unknown kind '%s' (%s): left as it is", l->kind, l->object);
	return 0;
}

bool vw_link_undo(const VwLinkBackend *be, const char *id, GPtrArray *links, bool recorded, GPtrArray *notes,
		  GPtrArray *done, GError **error)
{
	Undo u = { be, id, recorded, notes, 0 };
	int first_err = 0;
	const VwStateLink *first_link = NULL;

	/* Newest first: each record was made when everything before it was
	 * in place, so the exact reverse is always possible. */
	for (guint i = links->len; i-- > 0;) {
		const VwStateLink *l = links->pdata[i];
		guint noted = u.noted;
		int e = undo_one(&u, l);

		/* What is gone already needs no undoing. */
		if (e == -ENODEV)
			continue;
		if (!e && l->created && u.noted == noted && done)
			g_ptr_array_add(done, g_strdup_printf("%s %s", l->kind, l->object));
		if (e && !first_err) {
			first_err = e;
			first_link = l;
		}
	}
	if (first_err)
		return vw_set_errno(error, first_err, be->last_error ? be->last_error(be->ctx) : NULL,
				    "could not undo %s %s", first_link->kind, first_link->object);
	return true;
}
