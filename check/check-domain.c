/* SPDX-License-Identifier: GPL-2.0-or-later */
/* One domain alone, and its forwards against the policy of the networks
 * they go through (<vw:domain-forwards>). */
#include "check-private.h"

/* The domain's interface that a domain forward targets, or NULL with an
 * error. */
static const VwInterface *forward_interface(const VwDomain *dom, const VwForward *f, const char *what, VwDiags *d)
{
	const VwInterface *found = NULL;
	guint n = 0;
	char m[VW_MAC_STRLEN];

	for (guint i = 0; i < dom->interfaces->len; i++) {
		const VwInterface *iface = dom->interfaces->pdata[i];

		if (g_strcmp0(iface->source_network, f->network) != 0)
			continue;
		if (f->has_mac && !(iface->has_mac && vw_mac_equal(&iface->mac, &f->mac)))
			continue;
		n++;
		found = found ? found : iface;
	}
	if (n == 0) {
		if (f->has_mac)
			E(d, f->loc, "no-interface", "mac= must be the MAC of one of the domain's interfaces on it",
			  "domain '%s': forward %s: no interface on network '%s' has MAC %s", dom->name, what,
			  f->network, vw_mac_to_string(&f->mac, m));
		else
			E(d, f->loc, "no-interface", "add <interface type='network'><source network='…'/></interface>",
			  "domain '%s': forward %s: the domain has no interface on network '%s'", dom->name, what,
			  f->network);
		return NULL;
	}
	if (n > 1) {
		E(d, f->loc, "ambiguous-interface", "add mac='…' to the forward to pick one",
		  "domain '%s': forward %s: the domain has %u interfaces on network '%s'", dom->name, what, n,
		  f->network);
		return NULL;
	}
	if (!found->has_mac) {
		E(d, found->loc, "interface-no-mac",
		  "give the interface a fixed <mac address='52:54:00:…'/> and reserve an address for it",
		  "domain '%s': forward %s targets an interface without <mac>", dom->name, what);
		return NULL;
	}
	return found;
}

/* The network's policy for domain forwards; false when it refuses the
 * forward outright (then nothing more is worth saying). */
static bool check_policy(const VwDomain *dom, const VwForward *f, const VwNetwork *net, const char *what, VwDiags *d)
{
	const VwNetMeta *vw = net->vw;

	if (!vw || vw->domain_forwards != VW_TRI_YES) {
		E(d, f->loc, "domain-forwards-denied",
		  "the network's owner can allow them with <vw:domain-forwards allow='yes' host-ports='…'/>",
		  "domain '%s': forward %s: network '%s' does not allow domain forwards", dom->name, what, net->name);
		return false;
	}
	if (!vw_chk_mode_forwards_ports(vw_network_effective_mode(net))) {
		E(d, f->loc, "forwards-mode", "only networks in mode 'nat' or 'route' forward ports",
		  "domain '%s': forward %s: network '%s' in mode '%s' has no forwards", dom->name, what, net->name,
		  vw_mode_to_string(vw_network_effective_mode(net)));
		return false;
	}
	if (vw->has_domain_ports && f->has_host_port &&
	    (f->host.lo < vw->domain_ports.lo || f->host.hi > vw->domain_ports.hi)) {
		g_autofree char *hint = g_strdup_printf("pick host ports within %u-%u", vw->domain_ports.lo,
							vw->domain_ports.hi);
		g_autofree char *ports = f->host.lo == f->host.hi
						 ? g_strdup_printf("port %u", f->host.lo)
						 : g_strdup_printf("ports %u-%u", f->host.lo, f->host.hi);

		E(d, f->loc, "domain-forward-port", hint,
		  "domain '%s': forward %s: host %s %s outside the ports network '%s' opens to domains "
		  "(%u-%u)",
		  dom->name, what, ports, f->host.lo == f->host.hi ? "is" : "are", net->name, vw->domain_ports.lo,
		  vw->domain_ports.hi);
	}
	return true;
}

/* The interface's reservations on the network: the forward's guest. */
static void check_reserved(const VwDomain *dom, const VwForward *f, const VwNetwork *net, const VwInterface *iface,
			   const char *what, VwDiags *d)
{
	char m[VW_MAC_STRLEN];

	vw_mac_to_string(&iface->mac, m);
	if (!vw_network_find_reservation(net, &iface->mac, AF_INET) &&
	    !vw_network_find_reservation(net, &iface->mac, AF_INET6)) {
		vw_chk_unreserved(net, f->loc, what, m, dom->name, d);
		return;
	}
	if (vw_addr_is_set(&f->listen) && !vw_network_find_reservation(net, &iface->mac, f->listen.family))
		E(d, f->loc, "family-mismatch",
		  f->listen.family == AF_INET6
			  ? "libvirt reserves IPv6 addresses by DUID, not by MAC: listen on an IPv4 address"
			  : "the network's owner adds an IPv4 <host mac=… ip=…/> reservation",
		  "domain '%s': forward %s: MAC %s has no %s reservation for the %s listen address", dom->name, what, m,
		  vw_chk_fam_name(f->listen.family), vw_chk_fam_name(f->listen.family));
	vw_chk_source_families(f,
			       (vw_network_find_reservation(net, &iface->mac, AF_INET) ? VW_FAM_V4 : 0) |
				       (vw_network_find_reservation(net, &iface->mac, AF_INET6) ? VW_FAM_V6 : 0),
			       what, d);
}

static void check_dom_forward(const VwDomain *dom, const VwForward *f, GPtrArray *networks, VwDiags *d)
{
	g_autofree char *what = vw_forward_describe(f);
	const VwNetwork *net;
	const VwInterface *iface;

	if (!f->network)
		return;
	net = vw_chk_find_network(networks, f->network);
	iface = forward_interface(dom, f, what, d);
	if (!net) {
		W(d, f->loc, "network-unknown", "give the network's XML to 'virtwire check' too",
		  "domain '%s': forward %s: network '%s' is not among the files given, so the forward was not "
		  "checked against its policy",
		  dom->name, what, f->network);
		return;
	}
	if (!check_policy(dom, f, net, what, d))
		return;
	vw_chk_forward_common(net, f, what, d);
	if (iface)
		check_reserved(dom, f, net, iface, what, d);
}

/* A domain that turns the spoof filter off, on a network that does not let
 * it: refused, as a forward outside the network's policy is. */
static void check_spoof_off(const VwDomain *dom, GPtrArray *networks, VwDiags *d)
{
	g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);

	for (guint i = 0; i < dom->interfaces->len; i++) {
		const VwInterface *iface = dom->interfaces->pdata[i];
		const VwNetwork *net = iface->source_network ? vw_chk_find_network(networks, iface->source_network)
							     : NULL;

		if (!net || !vw_network_spoof_filter(net) || vw_domain_spoof_filter_off(dom, net) ||
		    !g_hash_table_add(seen, (gpointer)net->name))
			continue;
		E(d, dom->vw->spoof_filter_loc, "spoof-filter-denied",
		  "the network's owner can let domains opt out with <vw:spoof-filter domain-opt-out='yes'/>",
		  "domain '%s': network '%s' does not let domains turn its spoof filter off", dom->name, net->name);
	}
}

void vw_check_domain(const VwDomain *dom, GPtrArray *networks, VwDiags *d)
{
	g_autoptr(GHashTable) macs = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);

	if (!dom->name)
		return;
	for (guint i = 0; i < dom->interfaces->len; i++) {
		const VwInterface *iface = dom->interfaces->pdata[i];
		char m[VW_MAC_STRLEN];
		g_autofree char *place = vw_chk_mac_place(iface);
		const VwInterface *prev;

		if (!iface->has_mac)
			continue;
		vw_mac_to_string(&iface->mac, m);
		if (vw_mac_is_multicast(&iface->mac))
			E(d, iface->loc, "invalid-mac", "the first octet must be even (e.g. 52:54:00:…)",
			  "domain '%s': MAC %s is a multicast address", dom->name, m);
		if (!place)
			continue;
		prev = g_hash_table_lookup(macs, place);
		if (!prev)
			g_hash_table_insert(macs, g_steal_pointer(&place), (gpointer)iface);
		else if (!vw_chk_teaming_pair(prev, iface))
			E(d, iface->loc, "duplicate-mac", "give each interface on one network its own MAC",
			  "domain '%s': two interfaces have MAC %s (the other at line %d)", dom->name, place,
			  prev->loc.line);
	}
	if (!dom->vw)
		return;
	if (dom->vw->spoof_filter == VW_TRI_NO)
		check_spoof_off(dom, networks, d);
	for (guint i = 0; i < dom->vw->forwards->len; i++)
		check_dom_forward(dom, dom->vw->forwards->pdata[i], networks, d);
}
