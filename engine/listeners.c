/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Forwards against the host's own services. A forward's DNAT takes its host
 * ports from the host: a process listening there is no longer reachable on
 * the addresses the forward covers. virtwire applies the forward all the
 * same (the operator asked for it) and says so; `check` cannot know, only
 * the host's sockets tell.
 */
#include <string.h>

#include "engine-private.h"

static bool addr_is_any(const VwAddr *a)
{
	static const uint8_t zero[16];

	return memcmp(a->b, zero, vw_addr_len(a->family)) == 0;
}

/* Whether a forward of @net listening on @listen (family 0: every address
 * of the host but its addresses on guest networks, and loopback unless the
 * network enables it) takes the address socket @l is bound to. */
static bool takes_address(const VwNetwork *net, GPtrArray *nets, const VwAddr *listen, const VwListener *l)
{
	if (addr_is_any(&l->addr)) {
		/* A wildcard socket: of the forward's family, or IPv6 taking
		 * IPv4 too. */
		return !vw_addr_is_set(listen) || l->addr.family == listen->family ||
		       (l->addr.family == AF_INET6 && !l->v6only);
	}
	if (vw_addr_is_set(listen))
		return vw_addr_equal(listen, &l->addr);
	if (vw_addr_is_loopback(&l->addr))
		return net && vw_network_localhost(net);
	for (guint i = 0; i < nets->len; i++)
		if (vw_network_find_ip(nets->pdata[i], &l->addr))
			return false;
	return true;
}

static void warn_forward(const VwNetwork *net, GPtrArray *nets, const VwForward *f, GArray *socks, VwDiags *diags)
{
	for (guint i = 0; i < socks->len; i++) {
		const VwListener *l = &g_array_index(socks, VwListener, i);
		g_autofree char *what = NULL;
		g_autofree char *hint = NULL;
		char a[VW_ADDR_STRLEN];

		if (l->proto != f->proto || l->port < f->host.lo || l->port > f->host.hi ||
		    !takes_address(net, nets, &f->listen, l))
			continue;
		what = vw_forward_describe(f);
		vw_addr_to_string(&l->addr, a);
		hint = g_strdup_printf("'ss -%cnlpe sport = :%u' names the process (socket inode %" G_GUINT64_FORMAT
				       "); forward another host port, or listen on another address",
				       f->proto == VW_PROTO_UDP ? 'u' : 't', l->port, l->inode);
		vw_warning(diags, f->loc, "port-in-use", hint,
			   "forward %s: a host process (uid %u) listens on %s %s%s%s:%u, which the forward takes: it "
			   "is no longer reachable there from outside",
			   what, l->uid, vw_proto_to_string(l->proto), l->addr.family == AF_INET6 ? "[" : "", a,
			   l->addr.family == AF_INET6 ? "]" : "", l->port);
		return; /* one warning per forward is enough to act on */
	}
}

static const VwNetwork *network_named(GPtrArray *nets, const char *name)
{
	for (guint i = 0; i < nets->len; i++) {
		const VwNetwork *n = nets->pdata[i];

		if (g_strcmp0(n->name, name) == 0)
			return n;
	}
	return NULL;
}

static GPtrArray *net_forwards(const VwNetwork *n)
{
	return n->vw ? n->vw->forwards : NULL;
}

static GPtrArray *dom_forwards(const VwPlanDomain *pd)
{
	return pd->domain->vw ? pd->domain->vw->forwards : NULL;
}

static bool any_forward(GPtrArray *nets, GPtrArray *doms, bool of_nets)
{
	for (guint i = 0; of_nets && i < nets->len; i++)
		if (net_forwards(nets->pdata[i]) && net_forwards(nets->pdata[i])->len)
			return true;
	for (guint i = 0; doms && i < doms->len; i++)
		if (dom_forwards(doms->pdata[i]) && dom_forwards(doms->pdata[i])->len)
			return true;
	return false;
}

void vw_eng_warn_listeners(VwEngine *e, GPtrArray *nets, GPtrArray *doms, bool of_nets, VwDiags *diags)
{
	g_autoptr(GArray) socks = g_array_new(FALSE, FALSE, sizeof(VwListener));
	g_autoptr(GError) err = NULL;
	bool (*list)(GArray *, GError **) = e->cfg.listeners;

	if (!list && !e->cfg.nft)
		list = vw_listeners;
	if (!list || !any_forward(nets, doms, of_nets))
		return;
	if (!list(socks, &err)) {
		vw_warning(diags, vw_loc(NULL, 0), "port-in-use", NULL,
			   "forwards were not checked against the host's listening sockets: %s", err->message);
		return;
	}
	for (guint i = 0; of_nets && i < nets->len; i++) {
		const VwNetwork *net = nets->pdata[i];
		GPtrArray *fwds = net_forwards(net);

		for (guint j = 0; fwds && j < fwds->len; j++)
			warn_forward(net, nets, fwds->pdata[j], socks, diags);
	}
	for (guint i = 0; doms && i < doms->len; i++) {
		const VwPlanDomain *pd = doms->pdata[i];
		GPtrArray *fwds = dom_forwards(pd);

		for (guint j = 0; fwds && j < fwds->len; j++) {
			const VwForward *f = fwds->pdata[j];

			if (g_strcmp0(f->network, pd->network) == 0)
				warn_forward(network_named(nets, pd->network), nets, f, socks, diags);
		}
	}
}
