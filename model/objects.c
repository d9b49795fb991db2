/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdio.h>
#include <string.h>

#include <virtwire/model.h>

static const char *const forward_mode_names[VW_FWD__COUNT] = {
	[VW_FWD_NONE] = "none",	      [VW_FWD_NAT] = "nat",
	[VW_FWD_ROUTE] = "route",     [VW_FWD_OPEN] = "open",
	[VW_FWD_BRIDGE] = "bridge",   [VW_FWD_PRIVATE] = "private",
	[VW_FWD_VEPA] = "vepa",	      [VW_FWD_PASSTHROUGH] = "passthrough",
	[VW_FWD_HOSTDEV] = "hostdev",
};

static const char *const mode_names[VW_MODE__COUNT] = {
	[VW_MODE_UNSET] = "unset",	   [VW_MODE_NAT] = "nat",	    [VW_MODE_ROUTE] = "route",
	[VW_MODE_HOST_ONLY] = "host-only", [VW_MODE_INTERNAL] = "internal", [VW_MODE_BRIDGED] = "bridged",
};

static bool lookup(const char *const *table, int n, const char *s, int first, int *ret)
{
	for (int i = first; s && i < n; i++) {
		if (table[i] && strcmp(table[i], s) == 0) {
			*ret = i;
			return true;
		}
	}
	return false;
}

const char *vw_forward_mode_to_string(VwForwardMode m)
{
	return (unsigned)m < VW_FWD__COUNT ? forward_mode_names[m] : "?";
}

bool vw_forward_mode_has_bridge(VwForwardMode m)
{
	return m == VW_FWD_NONE || m == VW_FWD_NAT || m == VW_FWD_ROUTE || m == VW_FWD_OPEN || m == VW_FWD_BRIDGE;
}

bool vw_forward_mode_from_string(const char *s, VwForwardMode *ret)
{
	int v;

	/* "none" is virtwire's name for the absent <forward>, not libvirt's. */
	if (!lookup(forward_mode_names, VW_FWD__COUNT, s, VW_FWD_NAT, &v))
		return false;
	*ret = (VwForwardMode)v;
	return true;
}

const char *vw_mode_to_string(VwMode m)
{
	return (unsigned)m < VW_MODE__COUNT ? mode_names[m] : "?";
}

bool vw_mode_from_string(const char *s, VwMode *ret)
{
	int v;

	if (!lookup(mode_names, VW_MODE__COUNT, s, VW_MODE_NAT, &v))
		return false;
	*ret = (VwMode)v;
	return true;
}

const char *vw_proto_to_string(VwProto p)
{
	switch (p) {
	case VW_PROTO_TCP:
		return "tcp";
	case VW_PROTO_UDP:
		return "udp";
	case VW_PROTO_SCTP:
		return "sctp";
	}
	return "?";
}

bool vw_proto_from_string(const char *s, VwProto *ret)
{
	static const VwProto all[] = { VW_PROTO_TCP, VW_PROTO_UDP, VW_PROTO_SCTP };

	for (size_t i = 0; s && i < G_N_ELEMENTS(all); i++) {
		if (strcmp(s, vw_proto_to_string(all[i])) == 0) {
			*ret = all[i];
			return true;
		}
	}
	return false;
}

static void free_source(gpointer p)
{
	g_free(p);
}

/* The allow-list of every forward that has none (never added to). */
static GPtrArray *no_sources(void)
{
	static GPtrArray *none;

	if (g_once_init_enter(&none))
		g_once_init_leave(&none, g_ptr_array_new());
	return g_ptr_array_ref(none);
}

VwForward *vw_forward_new(void)
{
	VwForward *f = g_new0(VwForward, 1);

	f->sources = no_sources();
	return f;
}

void vw_forward_add_source(VwForward *f, VwSource *src)
{
	if (!f->sources->len) {
		g_ptr_array_unref(f->sources);
		f->sources = g_ptr_array_new_with_free_func(free_source);
	}
	g_ptr_array_add(f->sources, src);
}

void vw_forward_free(VwForward *f)
{
	if (!f)
		return;
	g_free(f->name);
	g_free(f->network);
	g_ptr_array_unref(f->sources);
	g_free(f);
}

static void free_range(gpointer p)
{
	g_free(p);
}

static void free_host(gpointer p)
{
	VwDhcpHost *h = p;

	if (!h)
		return;
	g_free(h->name);
	g_free(h);
}

VwIp *vw_ip_new(void)
{
	VwIp *ip = g_new0(VwIp, 1);

	ip->ranges = g_ptr_array_new_with_free_func(free_range);
	ip->hosts = g_ptr_array_new_with_free_func(free_host);
	return ip;
}

void vw_ip_free(VwIp *ip)
{
	if (!ip)
		return;
	g_ptr_array_unref(ip->ranges);
	g_ptr_array_unref(ip->hosts);
	g_free(ip);
}

void vw_net_meta_free(VwNetMeta *m)
{
	if (!m)
		return;
	g_free(m->uplink);
	if (m->nat_uplinks)
		g_ptr_array_unref(m->nat_uplinks);
	if (m->forwards)
		g_ptr_array_unref(m->forwards);
	vw_span_free(m->span);
	g_free(m);
}

VwNetwork *vw_network_new(void)
{
	VwNetwork *n = g_new0(VwNetwork, 1);

	n->ips = g_ptr_array_new_with_free_func((GDestroyNotify)vw_ip_free);
	n->forward_ifaces = g_ptr_array_new_with_free_func(g_free);
	return n;
}

void vw_network_free(VwNetwork *n)
{
	if (!n)
		return;
	g_free(n->name);
	g_free(n->uuid);
	g_free(n->forward_dev);
	g_ptr_array_unref(n->forward_ifaces);
	g_free(n->bridge);
	g_free(n->mac_table_manager);
	g_free(n->zone);
	g_free(n->domain_name);
	g_ptr_array_unref(n->ips);
	if (n->reservations)
		g_hash_table_unref(n->reservations);
	if (n->learned)
		g_hash_table_unref(n->learned);
	vw_net_meta_free(n->vw);
	g_free(n);
}

VwInterface *vw_interface_new(void)
{
	VwInterface *i = g_new0(VwInterface, 1);

	i->ips = g_ptr_array_new_with_free_func(g_free);
	i->routes = g_ptr_array_new_with_free_func(g_free);
	i->route_gws = g_ptr_array_new_with_free_func(g_free);
	return i;
}

void vw_interface_free(VwInterface *i)
{
	if (!i)
		return;
	g_free(i->type);
	g_free(i->source_network);
	g_free(i->source_bridge);
	g_free(i->portid);
	g_free(i->target_dev);
	g_free(i->alias);
	g_free(i->teaming);
	g_free(i->teaming_persistent);
	g_ptr_array_unref(i->ips);
	g_ptr_array_unref(i->routes);
	g_ptr_array_unref(i->route_gws);
	g_free(i);
}

VwDomain *vw_domain_new(void)
{
	VwDomain *d = g_new0(VwDomain, 1);

	d->interfaces = g_ptr_array_new_with_free_func((GDestroyNotify)vw_interface_free);
	return d;
}

void vw_domain_free(VwDomain *d)
{
	if (!d)
		return;
	g_free(d->name);
	g_free(d->uuid);
	g_free(d->type);
	g_ptr_array_unref(d->interfaces);
	if (d->vw) {
		g_ptr_array_unref(d->vw->forwards);
		g_free(d->vw);
	}
	g_free(d);
}

VwNetPort *vw_netport_new(void)
{
	return g_new0(VwNetPort, 1);
}

void vw_netport_free(VwNetPort *p)
{
	if (!p)
		return;
	g_free(p->uuid);
	g_free(p->owner_name);
	g_free(p->owner_uuid);
	g_free(p->plug_type);
	g_free(p->plug_bridge);
	g_free(p);
}

void vw_doc_free(VwDoc *doc)
{
	if (!doc)
		return;
	vw_network_free(doc->network);
	vw_netport_free(doc->port);
	vw_domain_free(doc->domain);
	g_free(doc);
}

VwMode vw_network_effective_mode(const VwNetwork *n)
{
	if (n->vw && n->vw->mode != VW_MODE_UNSET)
		return n->vw->mode;
	switch (n->forward) {
	case VW_FWD_NAT:
		return VW_MODE_NAT;
	case VW_FWD_ROUTE:
		return VW_MODE_ROUTE;
	case VW_FWD_NONE:
		return VW_MODE_HOST_ONLY;
	case VW_FWD_BRIDGE:
	case VW_FWD_OPEN:
	case VW_FWD_PRIVATE:
	case VW_FWD_VEPA:
	case VW_FWD_PASSTHROUGH:
	case VW_FWD_HOSTDEV:
	case VW_FWD__COUNT:
		break;
	}
	return VW_MODE_UNSET;
}

bool vw_network_virtwire_owns_firewall(const VwNetwork *n)
{
	return n->forward == VW_FWD_OPEN && n->vw && n->vw->mode != VW_MODE_UNSET && n->vw->mode != VW_MODE_BRIDGED;
}

bool vw_network_hairpin(const VwNetwork *n)
{
	if (n->vw && n->vw->hairpin != VW_TRI_UNSET)
		return n->vw->hairpin == VW_TRI_YES;
	return vw_network_effective_mode(n) == VW_MODE_NAT;
}

bool vw_network_localhost(const VwNetwork *n)
{
	return n->vw && n->vw->localhost == VW_TRI_YES;
}

bool vw_network_spoof_filter(const VwNetwork *n)
{
	VwMode mode = vw_network_effective_mode(n);

	if (!n->vw || n->vw->spoof_filter == VW_TRI_NO)
		return false;
	if (mode == VW_MODE_INTERNAL)
		return n->vw->spoof_filter == VW_TRI_YES;
	return mode == VW_MODE_NAT || mode == VW_MODE_ROUTE || mode == VW_MODE_HOST_ONLY;
}

bool vw_domain_spoof_filter_off(const VwDomain *d, const VwNetwork *n)
{
	return d->vw && d->vw->spoof_filter == VW_TRI_NO && n->vw && n->vw->spoof_domain_off == VW_TRI_YES;
}

bool vw_network_learns(const VwNetwork *n)
{
	return n->vw && n->vw->learn == VW_TRI_YES;
}

GPtrArray *vw_network_forwards(const VwNetwork *n)
{
	static GPtrArray *empty;

	if (n->vw && n->vw->forwards)
		return n->vw->forwards;
	if (g_once_init_enter(&empty))
		g_once_init_leave(&empty, g_ptr_array_new());
	return empty;
}

static char *reservation_key(const VwMac *mac, int family)
{
	char m[VW_MAC_STRLEN];

	return g_strdup_printf("%d %s", family, vw_mac_to_string(mac, m));
}

void vw_network_index(VwNetwork *n)
{
	if (n->reservations)
		g_hash_table_unref(n->reservations);
	n->reservations = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	for (guint i = 0; i < n->ips->len; i++) {
		const VwIp *ip = n->ips->pdata[i];

		for (guint j = 0; j < ip->hosts->len; j++) {
			const VwDhcpHost *h = ip->hosts->pdata[j];
			char *key;

			if (!h->has_mac || !vw_addr_is_set(&h->ip))
				continue;
			key = reservation_key(&h->mac, ip->address.family);
			/* The first one wins, as a look through the hosts finds it. */
			if (g_hash_table_contains(n->reservations, key))
				g_free(key);
			else
				g_hash_table_insert(n->reservations, key, (gpointer)h);
		}
	}
}

void vw_network_learn(VwNetwork *n, const VwMac *mac, const VwAddr *addr)
{
	if (!n->learned)
		n->learned = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	g_hash_table_replace(n->learned, reservation_key(mac, addr->family), g_memdup2(addr, sizeof(*addr)));
}

const VwAddr *vw_network_find_learned(const VwNetwork *n, const VwMac *mac, int family)
{
	g_autofree char *key = NULL;

	if (!n->learned)
		return NULL;
	key = reservation_key(mac, family);
	return g_hash_table_lookup(n->learned, key);
}

const VwDhcpHost *vw_network_find_reservation(const VwNetwork *n, const VwMac *mac, int family)
{
	if (n->reservations) {
		g_autofree char *key = reservation_key(mac, family);

		return g_hash_table_lookup(n->reservations, key);
	}
	for (guint i = 0; i < n->ips->len; i++) {
		const VwIp *ip = n->ips->pdata[i];

		if (ip->address.family != family)
			continue;
		for (guint j = 0; j < ip->hosts->len; j++) {
			const VwDhcpHost *h = ip->hosts->pdata[j];

			if (h->has_mac && vw_mac_equal(&h->mac, mac) && vw_addr_is_set(&h->ip))
				return h;
		}
	}
	return NULL;
}

const VwIp *vw_network_find_ip(const VwNetwork *n, const VwAddr *a)
{
	for (guint i = 0; i < n->ips->len; i++) {
		const VwIp *ip = n->ips->pdata[i];
		VwPrefix p = { ip->address, ip->prefix };

		if (ip->has_prefix && vw_prefix_contains(&p, a))
			return ip;
	}
	return NULL;
}

char *vw_forward_describe(const VwForward *f)
{
	char buf[32];

	/* Once per forward checked, whether a finding words it or not: no printf. */
	if (f->name)
		return g_strconcat("'", f->name, "'", NULL);
	if (f->host.lo == f->host.hi)
		snprintf(buf, sizeof(buf), "%s/%u", vw_proto_to_string(f->proto), f->host.lo);
	else
		snprintf(buf, sizeof(buf), "%s/%u-%u", vw_proto_to_string(f->proto), f->host.lo, f->host.hi);
	return g_strdup(buf);
}

VwForward *vw_forward_copy(const VwForward *f)
{
	VwForward *copy = g_new0(VwForward, 1);

	*copy = *f;
	copy->name = g_strdup(f->name);
	copy->network = g_strdup(f->network);
	copy->sources = no_sources();
	for (guint k = 0; k < f->sources->len; k++)
		vw_forward_add_source(copy, g_memdup2(f->sources->pdata[k], sizeof(VwSource)));
	return copy;
}

VwForward *vw_domain_forward_resolve(const VwDomain *dom, const VwForward *f, const char *network,
				     const VwMac *port_mac)
{
	const VwInterface *iface = NULL;
	VwForward *copy;

	if (g_strcmp0(f->network, network) != 0)
		return NULL;
	for (guint j = 0; j < dom->interfaces->len && !iface; j++) {
		const VwInterface *x = dom->interfaces->pdata[j];

		if (g_strcmp0(x->source_network, network) == 0 && x->has_mac &&
		    (!f->has_mac || vw_mac_equal(&f->mac, &x->mac)) && (!port_mac || vw_mac_equal(port_mac, &x->mac)))
			iface = x;
	}
	if (!iface)
		return NULL;
	copy = vw_forward_copy(f);
	g_clear_pointer(&copy->network, g_free);
	copy->has_mac = false;
	copy->guest_addr = (VwAddr){ 0 };
	copy->has_guest_mac = true;
	copy->guest_mac = iface->mac;
	return copy;
}
