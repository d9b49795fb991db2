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
 *
 * The host firewalls virtwire integrates with through nftables (see
 * docs/real-host.md) get accepts for every connection virtwire admits — it
 * marks them with VW_CT_MARK — shared by all networks and planned with the
 * skeleton, at the top of each one's documented extension point:
 *
 *  - Docker: its chain DOCKER-USER (ip filter, and ip6 filter from Docker
 *    27), which its FORWARD jumps to before any of Docker's own rules and
 *    which Docker never flushes;
 *  - ufw: its chains ufw-before-forward and ufw-before-input (ip and ip6
 *    filter), where its before.rules go — ahead of the user's rules and of
 *    its drop policies; ufw re-creates them at each reload, after which
 *    virtwire's restore puts them back.
 *
 * Both are iptables-nft tables, so the rules are written as iptables writes
 *   -m connmark --mark 0x10000000/0x10000000 -m comment --comment "virtwire: …" -j ACCEPT
 * In a forward chain, what goes to Docker's bridges (docker0, br-*) is
 * returned to Docker's own rules first: a guest reaches a container only as
 * anything else outside Docker's networks does, through a published port.
 *
 * firewalld takes no rule of others: virtwire puts bridges in its zones
 * instead (plan->zones, bound at apply by engine/hostfw.c over D-Bus).
 */
#include <string.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/xt_conntrack.h>

#include "plan-private.h"

#define IPV4 NFPROTO_IPV4
#define IPV6 NFPROTO_IPV6

static const VwForeignPlace places[] = {
	{ IPV4, "filter", "FORWARD", "iptables FORWARD", true, false },
	{ IPV6, "filter", "FORWARD", "ip6tables FORWARD", true, false },
	{ IPV4, "libvirt_network", "forward", "chain forward of ip libvirt_network", false, false },
	{ IPV6, "libvirt_network", "forward", "chain forward of ip6 libvirt_network", false, false },
	{ IPV4, "filter", "DOCKER-USER", "Docker's DOCKER-USER (iptables)", true, true },
	{ IPV6, "filter", "DOCKER-USER", "Docker's DOCKER-USER (ip6tables)", true, true },
	{ IPV4, "filter", "ufw-before-forward", "ufw's ufw-before-forward (iptables)", true, true },
	{ IPV6, "filter", "ufw6-before-forward", "ufw's ufw6-before-forward (ip6tables)", true, true },
	{ IPV4, "filter", "ufw-before-input", "ufw's ufw-before-input (iptables)", true, true },
	{ IPV6, "filter", "ufw6-before-input", "ufw's ufw6-before-input (ip6tables)", true, true },
};

const VwForeignPlace *vw_plan_foreign_places(size_t *n)
{
	*n = G_N_ELEMENTS(places);
	return places;
}

/* The comments of the shared host firewall rules. */
#define HOST_ACCEPT_COMMENT VW_FOREIGN_COMMENT_MARK " accept the connections virtwire admits"
#define HOST_DOCKER_COMMENT VW_FOREIGN_COMMENT_MARK " Docker networks keep their own rules"

/* Docker names its bridges docker0 and br-<network id>. */
static const struct {
	const char *name;
	bool prefix;
} docker_bridges[] = { { "docker0", false }, { "br-", true } };

static void add_foreign(GPtrArray *to, const VwForeignPlace *place, VwRule *rule)
{
	VwForeignRule *f = g_new0(VwForeignRule, 1);

	f->family = place->family;
	f->table = place->table;
	f->chain = place->chain;
	f->label = place->label;
	f->rule = rule;
	g_ptr_array_add(to, f);
}

/* The rules of one host place, in order. */
static void host_place(VwPlan *p, const VwForeignPlace *place)
{
	bool forward = g_str_has_suffix(place->chain, "forward") || strcmp(place->chain, "DOCKER-USER") == 0;
	VwRuleBuf rb;

	for (size_t i = 0; forward && i < G_N_ELEMENTS(docker_bridges); i++) {
		rb = vw_rb_new_iptables();
		if (docker_bridges[i].prefix)
			vw_rb_ifname_prefix(&rb, true, docker_bridges[i].name);
		else
			vw_rb_ifname_eq(&rb, true, docker_bridges[i].name);
		vw_rb_comment(&rb, HOST_DOCKER_COMMENT);
		vw_rb_counter(&rb);
		vw_rb_verdict(&rb, NFT_RETURN, NULL);
		add_foreign(p->host, place, vw_rb_finish(&rb));
	}
	rb = vw_rb_new_iptables();
	vw_rb_xt_connmark(&rb, VW_CT_MARK);
	vw_rb_comment(&rb, HOST_ACCEPT_COMMENT);
	vw_rb_counter(&rb);
	vw_rb_verdict(&rb, NF_ACCEPT, NULL);
	add_foreign(p->host, place, vw_rb_finish(&rb));
}

void vw_plan_host_rules(VwPlan *p)
{
	for (size_t i = 0; i < G_N_ELEMENTS(places); i++)
		if (places[i].host)
			host_place(p, &places[i]);
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

		if (!place->host && (place->family == NFPROTO_IPV4 ? v4 : v6))
			add_foreign(cx->rules, place, coexist_rule(place, id, br));
	}
	g_ptr_array_add(p->coexist, cx);
}

bool vw_plan_firewalld_zone(const VwNetwork *net, const char **uplink)
{
	VwMode m = vw_network_effective_mode(net);

	*uplink = NULL;
	if (!net->bridge)
		return false;
	if (m == VW_MODE_BRIDGED) {
		*uplink = net->vw->uplink;
		return *uplink != NULL;
	}
	/* Internal networks reach nothing: the default zone may refuse them. */
	return vw_network_virtwire_owns_firewall(net) &&
	       (m == VW_MODE_NAT || m == VW_MODE_ROUTE || m == VW_MODE_HOST_ONLY);
}

void vw_plan_zone_bind(VwPlan *p, const VwNetwork *net, const char *id)
{
	const char *uplink;
	VwZoneBind *z;

	if (!vw_plan_firewalld_zone(net, &uplink))
		return;
	z = g_new0(VwZoneBind, 1);
	z->id = g_strdup(id);
	z->bridge = g_strdup(net->bridge);
	z->uplink = g_strdup(uplink);
	g_ptr_array_add(p->zones, z);
}
