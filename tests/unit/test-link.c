/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Links without root. Netlink messages: each filler builds its message into
 * a buffer, the parser reads it back, and the values must survive. The link
 * executor: a recording fake backend (an in-memory kernel) that fails
 * operation N; for every N of a realistic plan the fake must end exactly as
 * it started, and a complete apply followed by an undo must too.
 */
#include <errno.h>
#include <string.h>

#include <glib.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>

#include <virtwire/exec.h>
#include <virtwire/plan.h>
#include <virtwire/xml.h>

#include "link-private.h"

/* ---------------------------------------------------------------------- */
/* Messages */

static void test_msg_bridge(void)
{
	g_autoptr(nl_msg) msg = nlmsg_alloc();
	VwLinkChange ch = { .set_mac = true, .set_mtu = true, .mtu = 9000, .set_stp = true, .stp = true,
			    .set_delay = true, .forward_delay = 300, .set_alias = true };
	VwLinkInfo li;

	g_assert_true(vw_mac_parse("52:54:00:12:34:56", &ch.mac));
	g_strlcpy(ch.alias, "virtwire:web", sizeof(ch.alias));
	g_assert_cmpint(vw_nlmsg_bridge_add(msg, "vw-web", &ch), ==, 0);
	g_assert_cmpint(nlmsg_hdr(msg)->nlmsg_type, ==, RTM_NEWLINK);
	g_assert_true(nlmsg_hdr(msg)->nlmsg_flags & NLM_F_CREATE);
	g_assert_cmpint(vw_nlmsg_link_parse(nlmsg_hdr(msg), &li), ==, 0);
	g_assert_cmpstr(li.name, ==, "vw-web");
	g_assert_cmpstr(li.kind, ==, "bridge");
	g_assert_true(li.has_mac && vw_mac_equal(&li.mac, &ch.mac));
	g_assert_cmpuint(li.mtu, ==, 9000);
	g_assert_true(li.stp);
	g_assert_cmpuint(li.forward_delay, ==, 300);
	g_assert_cmpstr(li.alias, ==, "virtwire:web");
}

static void test_msg_change(void)
{
	g_autoptr(nl_msg) msg = nlmsg_alloc();
	VwLinkChange ch = { .set_up = true, .up = true, .set_master = true, .master = 7 };
	VwLinkInfo li;

	g_assert_cmpint(vw_nlmsg_link_change(msg, 12, false, &ch), ==, 0);
	g_assert_cmpint(vw_nlmsg_link_parse(nlmsg_hdr(msg), &li), ==, 0);
	g_assert_cmpint(li.ifindex, ==, 12);
	g_assert_true(li.up);
	g_assert_cmpint(li.master, ==, 7);
	g_assert_cmpuint(((struct ifinfomsg *)nlmsg_data(nlmsg_hdr(msg)))->ifi_change, ==, IFF_UP);
}

static void test_msg_port_flags(void)
{
	g_autoptr(nl_msg) msg = nlmsg_alloc();
	VwLinkInfo li;

	/* Isolated has no libnl helper: it must be in the message all the same. */
	g_assert_cmpint(vw_nlmsg_port_flags(msg, 5, 1, 1), ==, 0);
	g_assert_cmpint(nlmsg_hdr(msg)->nlmsg_type, ==, RTM_SETLINK);
	g_assert_cmpint(((struct ifinfomsg *)nlmsg_data(nlmsg_hdr(msg)))->ifi_family, ==, AF_BRIDGE);
	g_assert_cmpint(vw_nlmsg_link_parse(nlmsg_hdr(msg), &li), ==, 0);
	g_assert_true(li.is_port);
	g_assert_true(li.hairpin);
	g_assert_true(li.isolated);
}

static void test_msg_addr(void)
{
	g_autoptr(nl_msg) msg = nlmsg_alloc();
	VwAddrInfo a = { .flags = IFA_F_NODAD, .valid_lft = 600, .preferred_lft = 300 }, b;
	int idx;

	g_assert_true(vw_prefix_parse("2001:db8:150::1/64", &a.prefix));
	g_assert_cmpint(vw_nlmsg_addr(msg, true, 9, &a), ==, 0);
	g_assert_cmpint(vw_nlmsg_addr_parse(nlmsg_hdr(msg), &idx, &b), ==, 0);
	g_assert_cmpint(idx, ==, 9);
	g_assert_true(vw_addr_equal(&a.prefix.addr, &b.prefix.addr));
	g_assert_cmpuint(b.prefix.prefix, ==, 64);
	g_assert_cmpuint(b.flags, ==, IFA_F_NODAD);
	g_assert_cmpuint(b.valid_lft, ==, 600);
	g_assert_cmpuint(b.preferred_lft, ==, 300);
}

static void test_msg_route(void)
{
	g_autoptr(nl_msg) msg = nlmsg_alloc();
	VwRouteInfo r = { .metric = 100, .table = RT_TABLE_MAIN, .protocol = RTPROT_STATIC, .scope = RT_SCOPE_UNIVERSE,
			  .type = RTN_UNICAST },
		    b;
	g_autofree char *text = NULL;
	int oif;

	g_assert_true(vw_prefix_parse("0.0.0.0/0", &r.dst));
	g_assert_true(vw_addr_parse("198.51.100.1", &r.gateway));
	g_assert_cmpint(vw_nlmsg_route(msg, true, 3, &r), ==, 0);
	g_assert_cmpint(vw_nlmsg_route_parse(nlmsg_hdr(msg), &oif, &b), ==, 0);
	g_assert_cmpint(oif, ==, 3);
	text = vw_route_to_string(&b);
	g_assert_cmpstr(text, ==, "0.0.0.0/0 via 198.51.100.1 metric 100 proto 4 scope 0 table 254 type 1");
	g_assert_true(vw_route_from_string(text, &r));
	g_assert_true(vw_addr_equal(&r.gateway, &b.gateway));
	g_assert_cmpuint(r.metric, ==, 100);
}

/* ---------------------------------------------------------------------- */
/* The fake kernel */

typedef struct {
	VwLinkInfo info;
	GArray *addrs;  /* VwAddrInfo */
	GArray *routes; /* VwRouteInfo */
} FLink;

typedef struct {
	GPtrArray *links; /* FLink* */
	GHashTable *sysctls;
	int next_index;
	int mutations;
	int fail_at;
} Fake;

static void flink_free(FLink *l)
{
	g_array_unref(l->addrs);
	g_array_unref(l->routes);
	g_free(l);
}

static FLink *find(Fake *f, const char *name)
{
	for (guint i = 0; i < f->links->len; i++) {
		FLink *l = f->links->pdata[i];

		if (strcmp(l->info.name, name) == 0)
			return l;
	}
	return NULL;
}

static FLink *fake_add(Fake *f, const char *name, const char *kind)
{
	FLink *l = g_new0(FLink, 1);

	g_strlcpy(l->info.name, name, sizeof(l->info.name));
	g_strlcpy(l->info.kind, kind, sizeof(l->info.kind));
	l->info.ifindex = f->next_index++;
	l->info.mtu = 1500;
	l->info.has_mac = true;
	l->info.mac.b[0] = 0x02;
	l->info.mac.b[5] = (uint8_t)l->info.ifindex;
	l->addrs = g_array_new(FALSE, TRUE, sizeof(VwAddrInfo));
	l->routes = g_array_new(FALSE, TRUE, sizeof(VwRouteInfo));
	g_ptr_array_add(f->links, l);
	return l;
}

/* Counts a change; the fail_at-th one fails and changes nothing. */
static int change(Fake *f)
{
	return ++f->mutations == f->fail_at ? -EIO : 0;
}

static int f_link_get(void *ctx, const char *name, VwLinkInfo *ret)
{
	FLink *l = find(ctx, name);

	if (!l)
		return -ENODEV;
	*ret = l->info;
	ret->is_port = l->info.master != 0;
	return 0;
}

static int f_link_list(void *ctx, GArray *ret)
{
	Fake *f = ctx;

	for (guint i = 0; i < f->links->len; i++)
		g_array_append_val(ret, ((FLink *)f->links->pdata[i])->info);
	return 0;
}

static void apply_change(VwLinkInfo *li, const VwLinkChange *ch)
{
	if (ch->set_mac) {
		li->mac = ch->mac;
		li->has_mac = true;
	}
	if (ch->set_mtu)
		li->mtu = ch->mtu;
	if (ch->set_up)
		li->up = ch->up;
	if (ch->set_master)
		li->master = ch->master;
	if (ch->set_stp)
		li->stp = ch->stp;
	if (ch->set_delay)
		li->forward_delay = ch->forward_delay;
	if (ch->set_alias)
		g_strlcpy(li->alias, ch->alias, sizeof(li->alias));
}

static int f_bridge_add(void *ctx, const char *name, const VwLinkChange *conf)
{
	Fake *f = ctx;
	int e;

	if (find(f, name))
		return -EEXIST;
	if ((e = change(f)))
		return e;
	apply_change(&fake_add(f, name, "bridge")->info, conf);
	return 0;
}

static int f_link_del(void *ctx, const char *name)
{
	Fake *f = ctx;
	FLink *l = find(f, name);
	int e;

	if (!l)
		return -ENODEV;
	if ((e = change(f)))
		return e;
	for (guint i = 0; i < f->links->len; i++) {
		FLink *p = f->links->pdata[i];

		if (p->info.master == l->info.ifindex)
			p->info.master = 0;
	}
	/* Its sysctls go with it, as /proc/sys/net/…/conf/NAME does. */
	{
		g_autofree char *dir = g_strdup_printf("/%s/", l->info.name);
		GHashTableIter it;
		gpointer k;

		g_hash_table_iter_init(&it, f->sysctls);
		while (g_hash_table_iter_next(&it, &k, NULL))
			if (strstr(k, dir))
				g_hash_table_iter_remove(&it);
	}
	g_ptr_array_remove(f->links, l);
	return 0;
}

static int f_link_change(void *ctx, const char *name, const VwLinkChange *ch)
{
	Fake *f = ctx;
	FLink *l = find(f, name);
	int e;

	if (!l)
		return -ENODEV;
	if ((e = change(f)))
		return e;
	apply_change(&l->info, ch);
	return 0;
}

static int f_port_flags(void *ctx, const char *port, int hairpin, int isolated)
{
	Fake *f = ctx;
	FLink *l = find(f, port);
	int e;

	if (!l)
		return -ENODEV;
	if ((e = change(f)))
		return e;
	if (hairpin >= 0)
		l->info.hairpin = hairpin;
	if (isolated >= 0)
		l->info.isolated = isolated;
	return 0;
}

static int find_addr(GArray *a, const VwPrefix *p)
{
	for (guint i = 0; i < a->len; i++) {
		const VwAddrInfo *x = &g_array_index(a, VwAddrInfo, i);

		if (vw_addr_equal(&x->prefix.addr, &p->addr) && x->prefix.prefix == p->prefix)
			return (int)i;
	}
	return -1;
}

static int f_addr_list(void *ctx, const char *dev, GArray *ret)
{
	FLink *l = find(ctx, dev);

	if (!l)
		return -ENODEV;
	g_array_append_vals(ret, l->addrs->data, l->addrs->len);
	return 0;
}

static int f_addr_add(void *ctx, const char *dev, const VwAddrInfo *a)
{
	Fake *f = ctx;
	FLink *l = find(f, dev);
	int e;

	if (!l)
		return -ENODEV;
	if (find_addr(l->addrs, &a->prefix) >= 0)
		return -EEXIST;
	if ((e = change(f)))
		return e;
	g_array_append_val(l->addrs, *a);
	return 0;
}

static int f_addr_del(void *ctx, const char *dev, const VwAddrInfo *a)
{
	Fake *f = ctx;
	FLink *l = find(f, dev);
	int i, e;

	if (!l)
		return -ENODEV;
	i = find_addr(l->addrs, &a->prefix);
	if (i < 0)
		return -EADDRNOTAVAIL;
	if ((e = change(f)))
		return e;
	g_array_remove_index(l->addrs, (guint)i);
	/* As Linux does: routes whose gateway no remaining address of the
	 * device reaches go with the address. */
	for (guint j = l->routes->len; j-- > 0;) {
		const VwRouteInfo *r = &g_array_index(l->routes, VwRouteInfo, j);
		bool reachable = !vw_addr_is_set(&r->gateway);

		for (guint k = 0; k < l->addrs->len && !reachable; k++)
			reachable = vw_prefix_contains(&g_array_index(l->addrs, VwAddrInfo, k).prefix, &r->gateway);
		if (!reachable)
			g_array_remove_index(l->routes, j);
	}
	return 0;
}

static int find_route(GArray *rs, const VwRouteInfo *r)
{
	for (guint i = 0; i < rs->len; i++) {
		const VwRouteInfo *x = &g_array_index(rs, VwRouteInfo, i);

		if (vw_addr_equal(&x->dst.addr, &r->dst.addr) && x->dst.prefix == r->dst.prefix &&
		    x->metric == r->metric)
			return (int)i;
	}
	return -1;
}

static int f_route_list(void *ctx, const char *dev, GArray *ret)
{
	FLink *l = find(ctx, dev);

	if (!l)
		return -ENODEV;
	g_array_append_vals(ret, l->routes->data, l->routes->len);
	return 0;
}

static int f_route_add(void *ctx, const char *dev, const VwRouteInfo *r)
{
	Fake *f = ctx;
	FLink *l = find(f, dev);
	bool reachable;
	int e;

	if (!l)
		return -ENODEV;
	if (find_route(l->routes, r) >= 0)
		return -EEXIST;
	/* A gateway must be on a subnet of the device. */
	reachable = !vw_addr_is_set(&r->gateway);
	for (guint k = 0; k < l->addrs->len && !reachable; k++)
		reachable = vw_prefix_contains(&g_array_index(l->addrs, VwAddrInfo, k).prefix, &r->gateway);
	if (!reachable)
		return -ENETUNREACH;
	if ((e = change(f)))
		return e;
	g_array_append_val(l->routes, *r);
	return 0;
}

static int f_route_del(void *ctx, const char *dev, const VwRouteInfo *r)
{
	Fake *f = ctx;
	FLink *l = find(f, dev);
	int i, e;

	if (!l)
		return -ENODEV;
	i = find_route(l->routes, r);
	if (i < 0)
		return -ESRCH;
	if ((e = change(f)))
		return e;
	g_array_remove_index(l->routes, (guint)i);
	return 0;
}

static int f_sysctl_get(void *ctx, const char *path, char **ret)
{
	const char *v = g_hash_table_lookup(((Fake *)ctx)->sysctls, path);

	*ret = g_strdup(v ? v : "0");
	return 0;
}

static int f_sysctl_set(void *ctx, const char *path, const char *value)
{
	Fake *f = ctx;
	int e;

	if ((e = change(f)))
		return e;
	g_hash_table_replace(f->sysctls, g_strdup(path), g_strdup(value));
	return 0;
}

static VwLinkBackend fake_backend(Fake *f)
{
	VwLinkBackend be = {
		.ctx = f,
		.link_get = f_link_get,
		.link_list = f_link_list,
		.bridge_add = f_bridge_add,
		.link_del = f_link_del,
		.link_change = f_link_change,
		.port_flags = f_port_flags,
		.addr_list = f_addr_list,
		.addr_add = f_addr_add,
		.addr_del = f_addr_del,
		.route_list = f_route_list,
		.route_add = f_route_add,
		.route_del = f_route_del,
		.sysctl_get = f_sysctl_get,
		.sysctl_set = f_sysctl_set,
	};

	return be;
}

static int cmp_str(gconstpointer a, gconstpointer b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Everything the fake kernel holds, as text (order-independent). */
static char *snapshot(Fake *f)
{
	g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func(g_free);
	GHashTableIter it;
	gpointer k, v;
	GString *out = g_string_new(NULL);

	for (guint i = 0; i < f->links->len; i++) {
		const FLink *l = f->links->pdata[i];
		char m[VW_MAC_STRLEN];

		g_ptr_array_add(lines, g_strdup_printf("link %s %s mac=%s mtu=%u up=%d master=%d stp=%d delay=%u alias=%s "
						       "hairpin=%d isolated=%d",
						       l->info.name, l->info.kind, vw_mac_to_string(&l->info.mac, m),
						       l->info.mtu, l->info.up, l->info.master, l->info.stp,
						       l->info.forward_delay, l->info.alias, l->info.hairpin,
						       l->info.isolated));
		for (guint j = 0; j < l->addrs->len; j++) {
			g_autofree char *a = vw_addrinfo_to_string(&g_array_index(l->addrs, VwAddrInfo, j));

			g_ptr_array_add(lines, g_strdup_printf("addr %s %s", l->info.name, a));
		}
		for (guint j = 0; j < l->routes->len; j++) {
			g_autofree char *r = vw_route_to_string(&g_array_index(l->routes, VwRouteInfo, j));

			g_ptr_array_add(lines, g_strdup_printf("route %s %s", l->info.name, r));
		}
	}
	g_hash_table_iter_init(&it, f->sysctls);
	while (g_hash_table_iter_next(&it, &k, &v))
		g_ptr_array_add(lines, g_strdup_printf("sysctl %s=%s", (char *)k, (char *)v));
	g_ptr_array_sort(lines, cmp_str);
	for (guint i = 0; i < lines->len; i++)
		g_string_append_printf(out, "%s\n", (char *)lines->pdata[i]);
	return g_string_free(out, FALSE);
}

static void fake_init(Fake *f)
{
	memset(f, 0, sizeof(*f));
	f->links = g_ptr_array_new_with_free_func((GDestroyNotify)flink_free);
	f->sysctls = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	f->next_index = 1;
}

static void fake_clear(Fake *f)
{
	g_ptr_array_unref(f->links);
	g_hash_table_unref(f->sysctls);
}

/* A host with an uplink carrying addresses and routes, and a bridge
 * libvirt made (down, another MTU) with two guest ports. */
static void host_setup(Fake *f)
{
	FLink *eth0 = fake_add(f, "eth0", "veth");
	FLink *virbr = fake_add(f, "vw-web", "bridge");
	FLink *p;
	VwAddrInfo a = { .valid_lft = 0xffffffffu, .preferred_lft = 0xffffffffu };
	VwRouteInfo r = { .table = RT_TABLE_MAIN, .protocol = RTPROT_STATIC, .type = RTN_UNICAST, .metric = 100 };

	eth0->info.up = true;
	vw_prefix_parse("198.51.100.5/24", &a.prefix);
	g_array_append_val(eth0->addrs, a);
	vw_prefix_parse("2001:db8:ffff::5/64", &a.prefix);
	g_array_append_val(eth0->addrs, a);
	vw_prefix_parse("0.0.0.0/0", &r.dst);
	vw_addr_parse("198.51.100.1", &r.gateway);
	g_array_append_val(eth0->routes, r);
	vw_prefix_parse("2001:db8::/32", &r.dst);
	vw_addr_parse("2001:db8:ffff::1", &r.gateway);
	g_array_append_val(eth0->routes, r);
	virbr->info.mtu = 1400;
	virbr->info.stp = true;
	for (int i = 0; i < 2; i++) {
		g_autofree char *n = g_strdup_printf("vnet%d", i);

		p = fake_add(f, n, "tun");
		p->info.master = virbr->info.ifindex;
	}
}

#define WEB_XML                                                                                                   \
	"<network><name>web</name><forward mode='open'/><bridge name='vw-web' stp='off'/><mtu size='9000'/>"     \
	"<ip address='192.168.150.1' prefix='24'/><ip family='ipv6' address='2001:db8:150::1' prefix='64'/>"      \
	"<metadata><vw:network xmlns:vw='urn:virtwire:1' mode='nat'/></metadata></network>"
#define NEW_XML                                                                                                   \
	"<network><name>new</name><forward mode='open'/><bridge name='vw-new'/>"                                  \
	"<ip address='192.168.151.1' prefix='24'/>"                                                               \
	"<metadata><vw:network xmlns:vw='urn:virtwire:1' mode='host-only'/></metadata></network>"
#define LAN_XML                                                                                                   \
	"<network><name>lan</name><forward mode='bridge'/><bridge name='vw-lan' stp='off'/>"                      \
	"<metadata><vw:network xmlns:vw='urn:virtwire:1' mode='bridged' uplink='eth0'/></metadata></network>"

static VwPlan *plan_for(const char *const *xmls, GPtrArray *docs)
{
	g_autoptr(VwDiags) d = vw_diags_new();
	g_autoptr(GPtrArray) nets = g_ptr_array_new();

	for (guint i = 0; xmls[i]; i++) {
		VwDoc *doc = NULL;

		g_assert_cmpint(vw_doc_load_memory("t.xml", xmls[i], strlen(xmls[i]), NULL, d, &doc), ==, VW_LOAD_OK);
		g_ptr_array_add(docs, doc);
		g_ptr_array_add(nets, doc->network);
	}
	return vw_plan_build(nets, NULL, d);
}

/* Applies every network of @plan; false at the first failure (which has
 * undone that network's own changes), after undoing the earlier ones. */
static bool apply_all(const VwLinkBackend *be, const VwPlan *plan, GPtrArray *states)
{
	g_autoptr(GPtrArray) undo = g_ptr_array_new();

	for (guint i = 0; i < plan->networks->len; i++) {
		g_autofree char *id = vw_plan_network_id(plan->networks->pdata[i]);
		VwState *st = vw_state_new(id);
		g_autoptr(GError) err = NULL;

		g_ptr_array_add(states, st);
		if (!vw_link_apply(be, plan, id, NULL, st, undo, NULL, &err)) {
			g_assert_nonnull(err);
			g_assert_true(vw_link_undo(be, id, undo, NULL, NULL));
			return false;
		}
	}
	return true;
}

static void test_rollback_every_step(void)
{
	const char *xmls[] = { WEB_XML, NEW_XML, LAN_XML, NULL };
	g_autoptr(GPtrArray) docs = g_ptr_array_new_with_free_func((GDestroyNotify)vw_doc_free);
	g_autoptr(VwPlan) plan = plan_for(xmls, docs);
	Fake f;
	VwLinkBackend be;
	g_autofree char *start = NULL, *done = NULL, *undone = NULL;
	int total;

	g_assert_nonnull(plan);
	/* A complete run, to count the changes it makes. */
	fake_init(&f);
	host_setup(&f);
	be = fake_backend(&f);
	start = snapshot(&f);
	{
		g_autoptr(GPtrArray) states = g_ptr_array_new_with_free_func((GDestroyNotify)vw_state_free);
		g_autoptr(GPtrArray) all = g_ptr_array_new();

		g_assert_true(apply_all(&be, plan, states));
		total = f.mutations;
		done = snapshot(&f);
		/* What it made: the new bridges, the uplink's move, the fixes. */
		g_assert_nonnull(strstr(done, "link vw-new bridge"));
		g_assert_nonnull(strstr(done, "link vw-lan bridge mac=02:00:00:00:00:01 mtu=1500 up=1"));
		g_assert_nonnull(strstr(done, "addr vw-lan 198.51.100.5/24"));
		g_assert_nonnull(strstr(done, "route vw-lan 0.0.0.0/0 via 198.51.100.1"));
		g_assert_null(strstr(done, "addr eth0 198.51.100.5/24"));
		g_assert_nonnull(strstr(done, "link vw-web bridge mac=02:00:00:00:00:02 mtu=9000 up=1"));
		g_assert_nonnull(strstr(done, "link vnet0 tun mac=02:00:00:00:00:03 mtu=1500 up=0 master=2 stp=0 delay=0 alias= hairpin=1"));
		/* Teardown: every network's records undone, newest first. */
		for (guint i = states->len; i-- > 0;) {
			VwState *st = states->pdata[i];

			for (guint j = 0; j < st->links->len; j++)
				g_ptr_array_add(all, st->links->pdata[j]);
		}
		{
			/* vw_link_undo goes newest first over one list: give
			 * it the records in apply order. */
			g_autoptr(GPtrArray) ordered = g_ptr_array_new();

			for (guint i = 0; i < states->len; i++) {
				VwState *st = states->pdata[i];

				for (guint j = 0; j < st->links->len; j++)
					g_ptr_array_add(ordered, st->links->pdata[j]);
			}
			g_assert_true(vw_link_undo(&be, "net", ordered, NULL, NULL));
		}
		undone = snapshot(&f);
		g_assert_cmpstr(undone, ==, start);
	}
	fake_clear(&f);
	g_assert_cmpint(total, >, 15);

	/* Now fail the Nth change, for every N: nothing may remain. */
	for (int n = 1; n <= total; n++) {
		g_autoptr(GPtrArray) states = g_ptr_array_new_with_free_func((GDestroyNotify)vw_state_free);
		g_autofree char *before = NULL, *after = NULL;

		fake_init(&f);
		host_setup(&f);
		be = fake_backend(&f);
		before = snapshot(&f);
		f.fail_at = n;
		g_assert_false(apply_all(&be, plan, states));
		after = snapshot(&f);
		if (strcmp(before, after) != 0)
			g_error("after a failure at change %d of %d the fake kernel differs:\nbefore:\n%s\nafter:\n%s", n,
				total, before, after);
		fake_clear(&f);
	}
}

static void test_reapply_keeps_ownership(void)
{
	const char *xmls[] = { NEW_XML, NULL };
	g_autoptr(GPtrArray) docs = g_ptr_array_new_with_free_func((GDestroyNotify)vw_doc_free);
	g_autoptr(VwPlan) plan = plan_for(xmls, docs);
	g_autoptr(VwState) first = vw_state_new("new");
	g_autoptr(VwState) second = vw_state_new("new");
	g_autoptr(GPtrArray) undo = g_ptr_array_new();
	g_autofree char *start = NULL;
	Fake f;
	VwLinkBackend be;

	fake_init(&f);
	host_setup(&f);
	be = fake_backend(&f);
	start = snapshot(&f);
	g_assert_true(vw_link_apply(&be, plan, "new", NULL, first, undo, NULL, NULL));
	f.mutations = 0;
	g_ptr_array_set_size(undo, 0);
	/* The second apply finds everything, changes nothing, and still knows
	 * the bridge and its address are virtwire's. */
	g_assert_true(vw_link_apply(&be, plan, "new", first, second, undo, NULL, NULL));
	g_assert_cmpint(f.mutations, ==, 0);
	g_assert_cmpuint(undo->len, ==, 0);
	for (guint i = 0; i < second->links->len; i++) {
		const VwStateLink *l = second->links->pdata[i];

		if (strcmp(l->kind, "bridge") == 0 || strcmp(l->kind, "addr") == 0)
			g_assert_true(l->created);
	}
	g_assert_true(vw_link_undo(&be, "new", second->links, NULL, NULL));
	{
		g_autofree char *end = snapshot(&f);

		g_assert_cmpstr(end, ==, start);
	}
	fake_clear(&f);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/link/msg/bridge", test_msg_bridge);
	g_test_add_func("/link/msg/change", test_msg_change);
	g_test_add_func("/link/msg/port-flags", test_msg_port_flags);
	g_test_add_func("/link/msg/addr", test_msg_addr);
	g_test_add_func("/link/msg/route", test_msg_route);
	g_test_add_func("/link/exec/rollback-every-step", test_rollback_every_step);
	g_test_add_func("/link/exec/reapply-keeps-ownership", test_reapply_keeps_ownership);
	return g_test_run();
}
