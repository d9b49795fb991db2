/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The host's firewalls (docs/real-host.md). virtwire integrates with those
 * it can through their own extension points — its rules at the top of
 * Docker's and ufw's chains (planned with the skeleton, kept by the
 * reconcile), its bridges bound to its zone in firewalld (here) — unless
 * the configuration file says to leave them alone. Whatever still drops
 * what virtwire admits is reported: a warning from apply, a difference from
 * verify, each naming the table and chain, the network and the rule to add.
 */
#include <string.h>

#include <linux/netfilter.h>

#include "engine-private.h"

bool vw_eng_hostfw_integrate(VwEngine *e, GError **error)
{
	const char *path = e->cfg.config_file ? e->cfg.config_file : VW_CONFIG_FILE_DEFAULT;
	bool integrate = true;

	if (e->hostfw_mode == 0) {
		if (!vw_config_host_firewall(path, &integrate, error))
			return false;
		e->hostfw_mode = integrate ? 1 : 2;
	}
	return true;
}

void vw_eng_plan_hostfw(VwEngine *e, VwPlan *plan)
{
	/* A configuration that cannot be read fails apply (there); elsewhere
	 * virtwire's rules stay as they are planned. */
	if (plan && vw_eng_hostfw_integrate(e, NULL) && e->hostfw_mode == 2) {
		g_ptr_array_set_size(plan->host, 0);
		g_ptr_array_set_size(plan->zones, 0);
		plan->host_alone = true;
	}
}

/* The networks whose bridge belongs in firewalld's virtwire zone: those
 * whose firewall virtwire owns and whose guests reach anything. */
static bool wants_zone(const VwNetwork *net)
{
	VwMode m = vw_network_effective_mode(net);

	return net->bridge && vw_network_virtwire_owns_firewall(net) &&
	       (m == VW_MODE_NAT || m == VW_MODE_ROUTE || m == VW_MODE_HOST_ONLY);
}

/* Binds (or, leaving firewalls alone, unbinds) the bridges of @nets in
 * firewalld; what fails or is left is said in @diags. *@bound: every
 * bridge that wants the zone is in it. */
static void firewalld_bind(VwEngine *e, GPtrArray *nets, VwDiags *diags, bool *bound)
{
	g_autoptr(VwFirewalld) fw = NULL;
	g_autoptr(GError) err = NULL;
	bool integrate = e->hostfw_mode != 2, zone = false;

	*bound = false;
	if (!vw_firewalld_open(&fw, &err) || (fw && !vw_firewalld_has_zone(fw, VW_FIREWALLD_ZONE, &zone, &err))) {
		vw_warning(diags, vw_loc(NULL, 0), "firewalld", NULL, "%s", err->message);
		return;
	}
	if (!fw)
		return;
	*bound = integrate && zone;
	for (guint i = 0; i < nets->len; i++) {
		const VwNetwork *net = nets->pdata[i];
		VwFirewalldBind how = VW_FIREWALLD_ALREADY;
		bool removed, ok;

		if (!wants_zone(net))
			continue;
		ok = integrate && zone ? vw_firewalld_bind(fw, VW_FIREWALLD_ZONE, net->bridge, &how, &err)
				       : vw_firewalld_unbind(fw, VW_FIREWALLD_ZONE, net->bridge, &removed, &err);
		if (!ok) {
			vw_warning(diags, net->loc, "firewalld", NULL, "network '%s': %s", net->name, err->message);
			g_clear_error(&err);
			*bound = false;
		} else if (how == VW_FIREWALLD_ELSEWHERE) {
			/* Someone else's choice: their zone decides. */
			*bound = false;
		}
	}
}

/* What blocker @b drops of @net, in words; NULL: nothing. */
static const char *dropped(const VwNetwork *net, const VwBlocker *b)
{
	VwMode m = vw_network_effective_mode(net);
	bool own = vw_network_virtwire_owns_firewall(net);
	bool fwds = vw_network_forwards(net)->len > 0 && !b->accepts_dnat;

	if (b->hook == NF_INET_LOCAL_IN)
		return own && net->ips->len && (m == VW_MODE_NAT || m == VW_MODE_ROUTE || m == VW_MODE_HOST_ONLY)
			       ? "its guests' DHCP and DNS"
			       : NULL;
	if (own && m == VW_MODE_ROUTE)
		return "its guests' traffic (both ways) and its forwards";
	if (own && m == VW_MODE_NAT)
		return fwds ? "its guests' traffic and its forwards" : "its guests' traffic";
	return fwds ? "its forwards" : NULL;
}

/* The sentence for @net's traffic dropped by @b. */
static char *blocker_text(const VwBlocker *b, const VwNetwork *net, const char *what)
{
	const char *fam = b->family == NFPROTO_IPV4 ? "ip" : b->family == NFPROTO_IPV6 ? "ip6" : "inet";
	g_autofree char *fix = NULL;

	if (strcmp(b->table, "firewalld") == 0 && b->family == NFPROTO_INET)
		fix = g_strdup_printf("put bridge %s in a zone that accepts it: 'firewall-cmd --zone=" VW_FIREWALLD_ZONE
				      " --add-interface=%s' (virtwire does so itself when firewalld has its zone: "
				      "install data/firewalld/ and reload firewalld)",
				      net->bridge, net->bridge);
	else
		fix = g_strdup_printf("add '%s'", b->rule);
	return g_strdup_printf(
		"table %s %s, chain %s (%s%s) will drop what virtwire admits for network '%s' (%s): %s%s", fam,
		b->table, b->chain, b->hook == NF_INET_FORWARD ? "hook forward" : "hook input",
		b->policy_drop ? ", policy drop" : ", drops what reaches its end", net->name, what, fix,
		b->prio < -10 ? " (its priority runs it before virtwire marks the connections: accept "
				"them there by interface instead)"
			      : "");
}

/* Each blocker's sentence for each network of @nets it drops something
 * of, into @out (char*). Tables handled otherwise (@skip_firewalld) are
 * left out; a ruleset that cannot be read is said so. */
static void findings(VwEngine *e, GPtrArray *nets, bool skip_firewalld, GPtrArray *out)
{
	g_autoptr(GPtrArray) blockers = g_ptr_array_new_with_free_func((GDestroyNotify)vw_blocker_free);
	g_autoptr(GError) err = NULL;
	const VwNftBackend *nft = vw_eng_nft(e, &err);

	if (!nft || !vw_nft_blockers(nft, blockers, &err)) {
		g_ptr_array_add(out, g_strdup_printf("the host's firewalls could not be read: %s", err->message));
		return;
	}
	for (guint i = 0; i < blockers->len; i++) {
		const VwBlocker *b = blockers->pdata[i];

		if (skip_firewalld && b->family == NFPROTO_INET && strcmp(b->table, "firewalld") == 0)
			continue;
		for (guint j = 0; j < nets->len; j++) {
			const VwNetwork *net = nets->pdata[j];
			const char *what = dropped(net, b);

			if (what)
				g_ptr_array_add(out, blocker_text(b, net, what));
		}
	}
}

void vw_eng_hostfw_apply(VwEngine *e, GPtrArray *nets, VwDiags *diags)
{
	g_autoptr(GPtrArray) found = g_ptr_array_new_with_free_func(g_free);
	bool bound;

	firewalld_bind(e, nets, diags, &bound);
	findings(e, nets, bound, found);
	for (guint i = 0; i < found->len; i++)
		vw_warning(diags, vw_loc(NULL, 0), "host-firewall",
			   "virtwire marks every connection it admits with ct mark 0x10000000 (docs/real-host.md)",
			   "%s", (char *)found->pdata[i]);
}

void vw_eng_hostfw_verify(VwEngine *e, const VwNetwork *net, GPtrArray *drift)
{
	g_autoptr(GPtrArray) nets = g_ptr_array_new();
	g_autoptr(GPtrArray) found = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(VwFirewalld) fw = NULL;
	g_autofree char *zone = NULL;
	bool bound = false;

	g_ptr_array_add(nets, (gpointer)net);
	if (wants_zone(net) && vw_firewalld_open(&fw, NULL) && fw &&
	    vw_firewalld_zone_of(fw, net->bridge, &zone, NULL)) {
		bound = zone && *zone;
		if (!bound && vw_eng_hostfw_integrate(e, NULL) && e->hostfw_mode != 2)
			vw_drift_add(drift, VW_DRIFT_HOST, "firewalld",
				     "bridge %s is in no zone (virtwire binds it to zone '" VW_FIREWALLD_ZONE "')",
				     net->bridge);
	}
	findings(e, nets, bound, found);
	for (guint i = 0; i < found->len; i++)
		vw_drift_add(drift, VW_DRIFT_HOST, "host firewall", "%s", (char *)found->pdata[i]);
}

void vw_eng_hostfw_teardown(VwEngine *e, GPtrArray *bridges, GPtrArray *notes)
{
	g_autoptr(VwFirewalld) fw = NULL;
	g_autoptr(GError) err = NULL;

	if (!vw_firewalld_open(&fw, &err)) {
		g_ptr_array_add(notes, g_strdup_printf("warning: %s", err->message));
		return;
	}
	for (guint i = 0; fw && i < bridges->len; i++) {
		bool removed;

		if (!vw_firewalld_unbind(fw, VW_FIREWALLD_ZONE, bridges->pdata[i], &removed, &err)) {
			g_ptr_array_add(notes, g_strdup_printf("warning: %s", err->message));
			g_clear_error(&err);
		} else if (removed) {
			g_ptr_array_add(notes,
					g_strdup_printf("bridge %s unbound from firewalld's zone " VW_FIREWALLD_ZONE,
							(char *)bridges->pdata[i]));
		}
	}
}
