/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The fake kernel behind VwLinkBackend (see fake-link.h). */
#include <errno.h>
#include <string.h>

#include "fake-link.h"

static void flink_free(FLink *l)
{
	g_array_unref(l->addrs);
	g_array_unref(l->routes);
	g_free(l);
}

static FLink *find_link(FakeLinks *f, const char *name)
{
	for (guint i = 0; i < f->links->len; i++) {
		FLink *l = f->links->pdata[i];

		if (strcmp(l->info.name, name) == 0)
			return l;
	}
	return NULL;
}

FLink *fake_links_add(FakeLinks *f, const char *name, const char *kind)
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
static int change(FakeLinks *f)
{
	return ++f->mutations == f->fail_at ? -EIO : 0;
}

static int f_link_get(void *ctx, const char *name, VwLinkInfo *ret)
{
	FLink *l = find_link(ctx, name);

	if (!l)
		return -ENODEV;
	*ret = l->info;
	ret->is_port = l->info.master != 0;
	return 0;
}

static int f_link_list(void *ctx, GArray *ret)
{
	FakeLinks *f = ctx;

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
	FakeLinks *f = ctx;
	int e;

	if (find_link(f, name))
		return -EEXIST;
	if ((e = change(f)))
		return e;
	apply_change(&fake_links_add(f, name, "bridge")->info, conf);
	return 0;
}

static int f_link_del(void *ctx, const char *name)
{
	FakeLinks *f = ctx;
	FLink *l = find_link(f, name);
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
	FakeLinks *f = ctx;
	FLink *l = find_link(f, name);
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
	FakeLinks *f = ctx;
	FLink *l = find_link(f, port);
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
	FLink *l = find_link(ctx, dev);

	if (!l)
		return -ENODEV;
	g_array_append_vals(ret, l->addrs->data, l->addrs->len);
	return 0;
}

static int f_addr_add(void *ctx, const char *dev, const VwAddrInfo *a)
{
	FakeLinks *f = ctx;
	FLink *l = find_link(f, dev);
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
	FakeLinks *f = ctx;
	FLink *l = find_link(f, dev);
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
	FLink *l = find_link(ctx, dev);

	if (!l)
		return -ENODEV;
	g_array_append_vals(ret, l->routes->data, l->routes->len);
	return 0;
}

static int f_route_add(void *ctx, const char *dev, const VwRouteInfo *r)
{
	FakeLinks *f = ctx;
	FLink *l = find_link(f, dev);
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
	FakeLinks *f = ctx;
	FLink *l = find_link(f, dev);
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
	const char *v = g_hash_table_lookup(((FakeLinks *)ctx)->sysctls, path);

	*ret = g_strdup(v ? v : "0");
	return 0;
}

static int f_sysctl_set(void *ctx, const char *path, const char *value)
{
	FakeLinks *f = ctx;
	int e;

	if ((e = change(f)))
		return e;
	g_hash_table_replace(f->sysctls, g_strdup(path), g_strdup(value));
	return 0;
}

VwLinkBackend fake_links_backend(FakeLinks *f)
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
char *fake_links_snapshot(FakeLinks *f)
{
	g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func(g_free);
	GHashTableIter it;
	gpointer k, v;
	GString *out = g_string_new(NULL);

	for (guint i = 0; i < f->links->len; i++) {
		const FLink *l = f->links->pdata[i];
		char m[VW_MAC_STRLEN];

		g_ptr_array_add(lines,
				g_strdup_printf("link %s %s mac=%s mtu=%u up=%d master=%d stp=%d delay=%u alias=%s "
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

void fake_links_init(FakeLinks *f)
{
	memset(f, 0, sizeof(*f));
	f->links = g_ptr_array_new_with_free_func((GDestroyNotify)flink_free);
	f->sysctls = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	f->next_index = 1;
}

void fake_links_clear(FakeLinks *f)
{
	g_ptr_array_unref(f->links);
	g_hash_table_unref(f->sysctls);
}
