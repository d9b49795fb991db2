/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * virtwire watch: a listener on the kernel's nftables, link and neighbour
 * notifications (exec/events) that keeps the recorded networks as they were
 * applied while others change the host:
 *
 *  - a batch of anybody else's that touches table inet virtwire, a table
 *    where virtwire keeps rules, or another firewall's base chains (a
 *    flush, a reload, a firewall starting) calls for a restore; a burst of
 *    them is one restore, QUIET ms after the last event and at most MAX ms
 *    after the first. virtwire's own batches (this process's, and those of
 *    the CLI and hooks, which keep the records and the kernel in step) call
 *    for nothing, so a restore never sets off another;
 *  - a port plugged into a recorded network's bridge gets the network's
 *    port flags (hairpin, isolated), as the hooks set them on libvirt's taps;
 *  - a remote VTEP that zebra adds to or removes from the VXLAN device of a
 *    control="evpn" network (an all-zeros forwarding entry) calls for a
 *    restore: the underlay admits VXLAN from exactly those (engine/evpn.c);
 *  - an address a guest uses on the bridge, seen in the neighbour table,
 *    becomes the target of the network's forwards by its MAC that have no
 *    DHCP reservation (networks with <vw:learn-addresses enabled='yes'/>).
 *
 * The records are read again only when the state directory changed. What
 * the events carry is copied into fixed fields: memory stays flat however
 * many come.
 */
#include <glib-unix.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include <linux/neighbour.h>

#include "engine-private.h"

#define QUIET_MS_DEFAULT 50
#define MAX_MS_DEFAULT 300

enum {
	DUE_RESTORE = 1 << 0, /* the firewall may be missing something */
	DUE_RESCAN = 1 << 1,  /* link or neighbour events were lost: look at them all */
};

/* A recorded network, as watch needs it. */
typedef struct {
	VwRecorded *rec;
	int ifindex; /* its bridge's; 0: not there */
	bool flags;  /* its ports get flags */
	/* "FAMILY MAC" of the guests whose address its forwards follow */
	GHashTable *follow;
} Managed;

struct VwWatch {
	VwEngine *e;
	VwWatchOptions opt;
	VwEvents *ev;
	GMainLoop *loop;
	guint fd_src[2];
	guint timer;
	gint64 first, last; /* of the burst under way */
	unsigned due;
	GPtrArray *managed; /* Managed* */
	guint64 stamp;	    /* of the state directory when they were read */
	bool have_stamp;
	guint64 restores;
	GError *fatal;
};

static void say(VwWatch *w, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static void say(VwWatch *w, const char *fmt, ...)
{
	g_autofree char *line = NULL;
	va_list ap;

	if (!w->opt.log)
		return;
	va_start(ap, fmt);
	line = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	w->opt.log(line, w->opt.log_data);
}

/* ---------------------------------------------------------------------- */
/* The recorded networks */

static void managed_free(Managed *m)
{
	vw_recorded_free(m->rec);
	if (m->follow)
		g_hash_table_unref(m->follow);
	g_free(m);
}

static char *follow_key(int family, const VwMac *mac)
{
	char m[VW_MAC_STRLEN];

	return g_strdup_printf("%d %s", family, vw_mac_to_string(mac, m));
}

/* The MACs whose address @m's forwards follow: its forwards by guest-mac,
 * and its recorded ports (domain forwards), in each family without a
 * reservation. */
static void follow_macs(Managed *m)
{
	const VwNetwork *net = m->rec->doc->network;
	GPtrArray *fwds = vw_network_forwards(net);
	g_autoptr(GArray) macs = g_array_new(FALSE, FALSE, sizeof(VwMac));

	if (!vw_network_learns(net))
		return;
	for (guint i = 0; i < fwds->len; i++) {
		const VwForward *f = fwds->pdata[i];

		if (f->has_guest_mac)
			g_array_append_val(macs, f->guest_mac);
	}
	for (guint i = 0; i < m->rec->st->ports->len; i++) {
		VwMac mac;

		if (vw_mac_parse(((VwStatePort *)m->rec->st->ports->pdata[i])->mac, &mac))
			g_array_append_val(macs, mac);
	}
	m->follow = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	for (guint i = 0; i < macs->len; i++)
		for (int fam = AF_INET; fam; fam = fam == AF_INET ? AF_INET6 : 0)
			if (!vw_network_find_reservation(net, &g_array_index(macs, VwMac, i), fam))
				g_hash_table_add(m->follow, follow_key(fam, &g_array_index(macs, VwMac, i)));
}

/* Reads the records again when the state directory changed since. */
static void refresh(VwWatch *w)
{
	g_autoptr(GPtrArray) recorded = NULL;
	const VwLinkBackend *be;
	VwStore *s = vw_eng_store(w->e, false, NULL);
	guint64 stamp = s ? vw_store_stamp(s) : 0;

	if (w->have_stamp && stamp == w->stamp)
		return;
	w->stamp = stamp;
	w->have_stamp = s != NULL;
	g_ptr_array_set_size(w->managed, 0);
	vw_eng_forget_learned(w->e);
	recorded = vw_eng_load_recorded(w->e, NULL, NULL);
	be = vw_eng_links(w->e, NULL);
	for (guint i = 0; i < recorded->len; i++) {
		Managed *m = g_new0(Managed, 1);
		const VwNetwork *net;
		VwLinkInfo li;
		int hairpin, isolated;

		m->rec = g_steal_pointer(&recorded->pdata[i]);
		net = m->rec->doc->network;
		if (be && net->bridge && be->link_get(be->ctx, net->bridge, &li) == 0)
			m->ifindex = li.ifindex;
		m->flags = vw_eng_wants_port_flags(net, &hairpin, &isolated);
		follow_macs(m);
		g_ptr_array_add(w->managed, m);
	}
}

static Managed *by_bridge(VwWatch *w, int ifindex)
{
	for (guint i = 0; ifindex && i < w->managed->len; i++) {
		Managed *m = w->managed->pdata[i];

		if (m->ifindex == ifindex)
			return m;
	}
	return NULL;
}

/* ---------------------------------------------------------------------- */
/* What events call for */

static void restore(VwWatch *w)
{
	g_autoptr(VwRestoreReport) rep = vw_restore_report_new();
	g_autoptr(GError) err = NULL;

	w->restores++;
	if (!vw_engine_restore(w->e, rep, &err)) {
		say(w, "restore failed: %s", err->message);
		return;
	}
	for (guint i = 0; i < rep->diags->items->len; i++)
		say(w, "%s", ((VwDiag *)rep->diags->items->pdata[i])->message);
	if (rep->messages)
		say(w, "restored %u difference%s of %u network%s in one transaction of %u messages", rep->drift,
		    rep->drift == 1 ? "" : "s", rep->networks, rep->networks == 1 ? "" : "s", rep->messages);
	else if (w->opt.verbose)
		say(w, "restore: nothing was missing (%s)", rep->unread ? "nothing read" : "read, nothing sent");
}

/* A port of a recorded network's bridge: the network's flags on it. */
static void port_plugged(VwWatch *w, Managed *m, const char *port)
{
	const VwNetwork *net = m->rec->doc->network;
	g_autoptr(GError) err = NULL;
	bool changed;

	/* Bridged mode's uplink is a port too, and not a guest's. */
	if (!m->flags || (net->vw && g_strcmp0(net->vw->uplink, port) == 0))
		return;
	if (!vw_eng_port_flags(w->e, net, port, &changed, &err))
		say(w, "network '%s': %s", net->name, err->message);
	else if (changed)
		say(w, "network '%s': port %s got the network's port flags", net->name, port);
}

/* Every port of the recorded networks' bridges (after lost events). */
static void rescan_ports(VwWatch *w)
{
	const VwLinkBackend *be = vw_eng_links(w->e, NULL);
	g_autoptr(GArray) links = g_array_new(FALSE, TRUE, sizeof(VwLinkInfo));

	if (!be || be->link_list(be->ctx, links) != 0)
		return;
	for (guint i = 0; i < links->len; i++) {
		const VwLinkInfo *li = &g_array_index(links, VwLinkInfo, i);
		Managed *m = by_bridge(w, li->master);

		if (m)
			port_plugged(w, m, li->name);
	}
}

static void schedule(VwWatch *w, unsigned what);

/*
 * A guest seen using @ev->addr: news for a network whose forwards follow
 * its MAC is recorded, and the firewall follows it. The first address seen
 * is taken from any entry that resolved; a change only from an entry the
 * kernel has just confirmed (REACHABLE: the guest answered at that address),
 * because the entry of an address the guest has left lingers, and turns
 * STALE, for a while.
 */
static void guest_seen(VwWatch *w, Managed *m, const VwEvent *ev)
{
	VwNetwork *net = m->rec->doc->network;
	const VwIp *ip = vw_network_find_ip(net, &ev->addr);
	const VwAddr *known = vw_network_find_learned(net, &ev->mac, ev->addr.family);
	g_autofree char *key = follow_key(ev->addr.family, &ev->mac);
	g_autoptr(GError) err = NULL;
	char a[VW_ADDR_STRLEN], mac[VW_MAC_STRLEN];
	bool changed;

	if (!m->follow || !g_hash_table_contains(m->follow, key) || !ip || vw_addr_equal(&ip->address, &ev->addr) ||
	    (known && vw_addr_equal(known, &ev->addr)))
		return;
	if (known && (ev->dump || !(ev->state & (NUD_REACHABLE | NUD_PERMANENT))))
		return;
	if (!vw_eng_learn(w->e, net->name, &ev->mac, &ev->addr, &changed, &err)) {
		say(w, "network '%s': %s", net->name, err->message);
		return;
	}
	vw_network_learn(net, &ev->mac, &ev->addr);
	if (!changed)
		return;
	say(w, "network '%s': guest %s uses %s: its forwards follow", net->name, vw_mac_to_string(&ev->mac, mac),
	    vw_addr_to_string(&ev->addr, a));
	schedule(w, DUE_RESTORE);
}

/* ---------------------------------------------------------------------- */
/* Events */

static gboolean on_timer(gpointer data);

/* A link appeared, changed or went: a bridge made anew has another ifindex;
 * a port of a recorded network's bridge gets its flags. */
static void link_changed(VwWatch *w, const VwEvent *ev)
{
	Managed *m;

	for (guint i = 0; i < w->managed->len; i++) {
		m = w->managed->pdata[i];
		if (g_strcmp0(m->rec->doc->network->bridge, ev->name) == 0)
			m->ifindex = ev->deleted ? 0 : ev->ifindex;
	}
	if (!ev->deleted && (m = by_bridge(w, ev->master)))
		port_plugged(w, m, ev->name);
}

/* Something is due: it runs when the burst of events is over. */
static void schedule(VwWatch *w, unsigned what)
{
	gint64 now = g_get_monotonic_time();

	w->due |= what;
	w->last = now;
	if (!w->timer) {
		w->first = now;
		w->timer = g_timeout_add(w->opt.quiet_ms, on_timer, w);
	}
}

/* zebra added or removed a remote VTEP (an all-zeros entry) on the VXLAN
 * device of a recorded control="evpn" network: the underlay admits VXLAN
 * from its VTEPs, so the firewall follows (a restore plans with the
 * device's entries, engine/evpn.c). */
static void flood_changed(VwWatch *w, const VwEvent *ev)
{
	static const VwMac zero = { { 0 } };
	const VwLinkBackend *be = vw_eng_links(w->e, NULL);

	if (!be || !vw_mac_equal(&ev->mac, &zero))
		return;
	refresh(w);
	for (guint i = 0; i < w->managed->len; i++) {
		const VwNetwork *net = ((Managed *)w->managed->pdata[i])->rec->doc->network;
		const VwSpan *s = net->vw ? net->vw->span : NULL;
		g_autofree char *dev = NULL;
		VwLinkInfo li;
		char a[VW_ADDR_STRLEN];

		if (!s || s->control != VW_SPAN_EVPN || !s->vni)
			continue;
		dev = vw_span_device(s);
		if (be->link_get(be->ctx, dev, &li) == 0 && li.ifindex == ev->ifindex) {
			say(w, "network '%s': EVPN neighbour %s %s %s", net->name, vw_addr_to_string(&ev->addr, a),
			    ev->deleted ? "left" : "seen on", dev);
			schedule(w, DUE_RESTORE);
			return;
		}
	}
}

/* A batch committed by virtwire: this process's restore, or the CLI's or a
 * hook's, which change the kernel and the records together. */
static bool virtwires(const VwEvent *ev)
{
	return ev->pid == (uint32_t)getpid() || g_str_has_prefix(ev->comm, "virtwire");
}

static void on_event(const VwEvent *ev, void *data)
{
	VwWatch *w = data;
	Managed *m;

	switch (ev->kind) {
	case VW_EVENT_NFT:
		if (!virtwires(ev) && (ev->table || ev->base_chain || ev->watched))
			schedule(w, DUE_RESTORE);
		break;
	case VW_EVENT_LOST:
		schedule(w, ev->rtnl ? DUE_RESCAN : DUE_RESTORE);
		break;
	case VW_EVENT_LINK:
		refresh(w);
		link_changed(w, ev);
		break;
	case VW_EVENT_NEIGH:
		if (ev->fdb) {
			if (!ev->dump)
				flood_changed(w, ev);
			break;
		}
		if (ev->deleted || !ev->has_mac ||
		    !(ev->state & (NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT)))
			break;
		refresh(w);
		if ((m = by_bridge(w, ev->ifindex)))
			guest_seen(w, m, ev);
		break;
	}
}

static void act(VwWatch *w)
{
	unsigned due = w->due;
	g_autoptr(GError) err = NULL;

	w->due = 0;
	refresh(w);
	if (due & DUE_RESCAN) {
		rescan_ports(w);
		if (!vw_events_dump_neighbours(w->ev, &err))
			say(w, "%s", err->message);
	}
	if (due & DUE_RESTORE)
		restore(w);
}

static gboolean on_timer(gpointer data)
{
	VwWatch *w = data;
	gint64 now = g_get_monotonic_time();
	gint64 quiet = (gint64)w->opt.quiet_ms * 1000, max = (gint64)w->opt.max_ms * 1000;

	w->timer = 0;
	if (now - w->last < quiet && now - w->first < max) {
		/* Still coming: wait for the quiet, or the bound. */
		gint64 wait = MIN(quiet - (now - w->last), max - (now - w->first));

		w->timer = g_timeout_add((guint)MAX(wait / 1000, 1), on_timer, w);
		return G_SOURCE_REMOVE;
	}
	act(w);
	return G_SOURCE_REMOVE;
}

static gboolean on_readable(gint fd, GIOCondition cond, gpointer data)
{
	VwWatch *w = data;
	guint i = fd == vw_events_fd(w->ev, 0) ? 0 : 1;

	if (!vw_events_read(w->ev, i, on_event, w, &w->fatal)) {
		g_main_loop_quit(w->loop);
		return G_SOURCE_REMOVE;
	}
	return G_SOURCE_CONTINUE;
}

/* ---------------------------------------------------------------------- */

/* The tables whose changes call for a restore besides virtwire's own: those
 * where virtwire keeps rules. Host firewall integrations that keep rules in
 * further tables (Docker's, firewalld's) add them here. */
static GArray *watched_tables(void)
{
	GArray *t = g_array_new(FALSE, TRUE, sizeof(VwTableName));
	size_t n;
	const VwForeignPlace *places = vw_plan_foreign_places(&n);

	for (size_t i = 0; i < n; i++) {
		VwTableName tn = { places[i].family, places[i].table };

		g_array_append_val(t, tn);
	}
	return t;
}

VwWatch *vw_watch_new(VwEngine *e, const VwWatchOptions *opt, GError **error)
{
	g_autoptr(GArray) tables = watched_tables();
	VwWatch *w = g_new0(VwWatch, 1);

	w->e = e;
	if (opt)
		w->opt = *opt;
	if (!w->opt.quiet_ms)
		w->opt.quiet_ms = QUIET_MS_DEFAULT;
	if (!w->opt.max_ms)
		w->opt.max_ms = MAX_MS_DEFAULT;
	w->managed = g_ptr_array_new_with_free_func((GDestroyNotify)managed_free);
	if (!vw_eng_links(e, error) || !vw_eng_nft(e, error) ||
	    !vw_events_open((VwTableName *)(void *)tables->data, tables->len, &w->ev, error)) {
		vw_watch_free(w);
		return NULL;
	}
	return w;
}

void vw_watch_free(VwWatch *w)
{
	if (!w)
		return;
	for (guint i = 0; i < 2; i++)
		if (w->fd_src[i])
			g_source_remove(w->fd_src[i]);
	if (w->timer)
		g_source_remove(w->timer);
	vw_events_close(w->ev);
	g_clear_pointer(&w->loop, g_main_loop_unref);
	g_ptr_array_unref(w->managed);
	g_clear_error(&w->fatal);
	g_free(w);
}

bool vw_watch_run(VwWatch *w, GError **error)
{
	w->loop = g_main_loop_new(NULL, FALSE);
	for (guint i = 0; i < 2; i++)
		w->fd_src[i] = g_unix_fd_add(vw_events_fd(w->ev, i), G_IO_IN, on_readable, w);
	/* What happened while nobody listened: everything looked at once. */
	w->due = DUE_RESTORE | DUE_RESCAN;
	act(w);
	say(w, "watching %u network%s recorded in %s", w->managed->len, w->managed->len == 1 ? "" : "s",
	    vw_engine_state_dir(w->e));
	g_main_loop_run(w->loop);
	for (guint i = 0; i < 2; i++)
		g_clear_handle_id(&w->fd_src[i], g_source_remove);
	g_clear_handle_id(&w->timer, g_source_remove);
	if (w->fatal) {
		g_propagate_error(error, g_steal_pointer(&w->fatal));
		return false;
	}
	return true;
}

void vw_watch_stop(VwWatch *w)
{
	if (w->loop)
		g_main_loop_quit(w->loop);
}

void vw_watch_stats(const VwWatch *w, guint64 *events, guint64 *restores)
{
	*events = vw_events_count(w->ev);
	*restores = w->restores;
}
