/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Semantic rules: everything libvirt's schemas cannot express about a
 * network, a domain, and several of them together. Each finding names the
 * object, says what is wrong and, where there is one, how to fix it.
 *
 * One file per concern: check-network.c (a network's name, addresses and
 * DHCP), check-modes.c (modes), check-forward.c (a network's forwards),
 * check-domain.c (a domain and its forwards), check-together.c (several
 * networks and domains at once), check-util.c (what they share). This file
 * is the entry for a set of documents.
 */
#include "check-private.h"

static void check_port(const VwDoc *doc, VwDiags *d)
{
	const VwNetPort *p = doc->port;
	const VwNetwork *n = doc->network;
	char m[VW_MAC_STRLEN];

	if (!p->has_mac)
		E(d, p->loc, "port-no-mac", NULL, "<networkport> has no <mac address=…>");
	else if (vw_mac_is_multicast(&p->mac))
		E(d, p->mac_loc, "invalid-mac", NULL, "<networkport>: MAC %s is a multicast address",
		  vw_mac_to_string(&p->mac, m));
	if (!p->uuid)
		E(d, p->loc, "port-no-uuid", NULL, "<networkport> has no <uuid>");
	if (n && p->plug_bridge && n->bridge && strcmp(p->plug_bridge, n->bridge) != 0)
		W(d, p->loc, "port-bridge-mismatch", NULL,
		  "<networkport> plugs into bridge '%s' but network '%s' uses '%s'", p->plug_bridge, n->name,
		  n->bridge);
}

void vw_check_docs(GPtrArray *docs, VwDiags *d)
{
	g_autoptr(GPtrArray) networks = g_ptr_array_new();
	g_autoptr(GPtrArray) domains = g_ptr_array_new();

	for (guint i = 0; i < docs->len; i++) {
		const VwDoc *doc = docs->pdata[i];

		if (doc->network)
			g_ptr_array_add(networks, doc->network);
		if (doc->domain)
			g_ptr_array_add(domains, doc->domain);
	}
	for (guint i = 0; i < networks->len; i++)
		vw_check_network(networks->pdata[i], d);
	for (guint i = 0; i < domains->len; i++)
		vw_check_domain(domains->pdata[i], networks, d);
	for (guint i = 0; i < docs->len; i++) {
		const VwDoc *doc = docs->pdata[i];

		if (doc->port)
			check_port(doc, d);
	}
	vw_check_together(networks, domains, d);
}
