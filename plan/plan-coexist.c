/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Forwards into libvirt's own NAT networks. libvirt rejects new connections
 * towards such a network's bridge in its own table, and a reject there wins
 * over any accept elsewhere. So, for each of these networks with forwards,
 * virtwire keeps exactly one accept for connections DNATed to the bridge
 * where libvirt's rebuilds cannot get ahead of it — the only place virtwire
 * writes outside its own table (exec/nft/nft-coexist.c keeps it there):
 *
 *  - libvirt's iptables backend (libvirt 9, iptables-nft): at the top of the
 *    built-in FORWARD chain of `ip filter` (and `ip6 filter`), above
 *    libvirt's jumps, encoded exactly as iptables-nft encodes
 *      -o BR -m conntrack --ctstate DNAT -m comment --comment "virtwire: network ID" -j ACCEPT
 *    so iptables and libvirt keep reading the table;
 *  - libvirt's nftables backend (libvirt >= 10.4): at the top of the base
 *    chain `forward` of `ip libvirt_network` (and ip6), as
 *      oifname "BR" ct status dnat counter accept comment "virtwire: network ID"
 */
#include <linux/netfilter.h>
#include <linux/netfilter/xt_conntrack.h>

#include "plan-private.h"

static const VwForeignPlace places[] = {
	{ NFPROTO_IPV4, "filter", "FORWARD", "iptables FORWARD", true },
	{ NFPROTO_IPV6, "filter", "FORWARD", "ip6tables FORWARD", true },
	{ NFPROTO_IPV4, "libvirt_network", "forward", "chain forward of ip libvirt_network", false },
	{ NFPROTO_IPV6, "libvirt_network", "forward", "chain forward of ip6 libvirt_network", false },
};

const VwForeignPlace *vw_plan_foreign_places(size_t *n)
{
	*n = G_N_ELEMENTS(places);
	return places;
}

/* The accept for bridge @br of network @id in @place. */
static VwRule *coexist_rule(const VwForeignPlace *place, const char *id, const char *br)
{
	g_autofree char *comment = g_strdup_printf(VW_COEXIST_COMMENT_PREFIX "%s", id);
	VwRuleBuf rb = place->iptables ? vw_rb_new_iptables() : vw_rb_new();

	vw_rb_ifname_eq(&rb, true, br);
	if (place->iptables) {
		vw_rb_xt_ctstate(&rb, XT_CONNTRACK_STATE_DNAT);
		vw_rb_comment(&rb, comment);
		vw_rb_counter(&rb);
		vw_rb_verdict(&rb, NF_ACCEPT, NULL);
	} else {
		vw_rb_ct_status_dnat(&rb);
		vw_rb_counter(&rb);
		vw_rb_verdict(&rb, NF_ACCEPT, NULL);
		vw_rb_comment(&rb, comment);
	}
	return vw_rb_finish(&rb);
}

void vw_plan_coexist(VwPlan *p, const char *id, const char *br, bool v4, bool v6)
{
	VwCoexist *cx = g_new0(VwCoexist, 1);

	cx->id = g_strdup(id);
	cx->bridge = g_strdup(br);
	cx->v4 = v4;
	cx->v6 = v6;
	cx->text = g_strdup_printf("accept connections DNATed to \"%s\" ahead of libvirt's rejects (%s%s%s)", br,
				   v4 ? "ip" : "", v4 && v6 ? ", " : "", v6 ? "ip6" : "");
	cx->rules = g_ptr_array_new_with_free_func((GDestroyNotify)vw_foreign_rule_free);
	for (size_t i = 0; i < G_N_ELEMENTS(places); i++) {
		const VwForeignPlace *place = &places[i];
		VwForeignRule *f;

		if (!(place->family == NFPROTO_IPV4 ? v4 : v6))
			continue;
		f = g_new0(VwForeignRule, 1);
		f->family = place->family;
		f->table = place->table;
		f->chain = place->chain;
		f->label = place->label;
		f->rule = coexist_rule(place, id, br);
		g_ptr_array_add(cx->rules, f);
	}
	g_ptr_array_add(p->coexist, cx);
}
