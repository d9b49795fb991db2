/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The host's firewalls (docs/real-host.md). virtwire integrates with those
 * it can through their own extension points — its rules at the top of
 * Docker's and ufw's chains (planned with the skeleton, kept by the
 * reconcile), its bridges in firewalld's zones (here) — unless the
 * configuration file says to leave them alone. Whatever still drops what
 * virtwire admits is reported: a warning from apply, a difference from
 * verify, each naming the table and chain, the network and the rule to add.
 *
 * A hook runs this, so it reads no more than it needs: one reading of the
 * ruleset answers both what will drop virtwire's traffic and whether
 * firewalld runs (its rules are there); firewalld is asked over D-Bus only
 * then.
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

/* ---------------------------------------------------------------------- */
/* What the ruleset says */

/* The host's ruleset, as far as its firewalls go: read once per command. */
typedef struct {
	GPtrArray *blockers; /* VwBlocker* */
	bool firewalld;	     /* firewalld's rules are there: it runs */
	GError *failed;	     /* it could not be read */
} HostRules;

static void host_rules_clear(HostRules *h)
{
	g_clear_pointer(&h->blockers, g_ptr_array_unref);
	g_clear_error(&h->failed);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(HostRules, host_rules_clear)

static void host_rules_read(VwEngine *e, HostRules *h)
{
	const VwNftBackend *nft = vw_eng_nft(e, &h->failed);

	h->blockers = g_ptr_array_new_with_free_func((GDestroyNotify)vw_blocker_free);
	/* Unread, firewalld may run: it is asked. */
	h->firewalld = true;
	if (nft)
		vw_nft_blockers(nft, h->blockers, &h->firewalld, &h->failed);
}

/* ---------------------------------------------------------------------- */
/* firewalld */

/* Where firewalld has (or is to have) a network's bridge. */
typedef struct {
	char *zone;   /* where virtwire puts it (NULL: firewalld was not asked) */
	bool settled; /* it is there: its zone decides its traffic, nothing to warn about */
} ZoneOf;

static void zone_of_free(ZoneOf *z)
{
	g_free(z->zone);
	g_free(z);
}

static GHashTable *zones_new(void)
{
	return g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)zone_of_free);
}

/* The zone virtwire puts a bridge in: VW_FIREWALLD_ZONE, or (bridged mode)
 * the zone of @uplink, or firewalld's default zone when that is in none —
 * where the host's own traffic on the uplink went before it was bridged. */
static bool target_zone(VwFirewalld *fw, const char *uplink, char **ret, GError **error)
{
	if (!uplink) {
		*ret = g_strdup(VW_FIREWALLD_ZONE);
		return true;
	}
	if (!vw_firewalld_zone_of(fw, uplink, ret, error))
		return false;
	if (**ret)
		return true;
	g_free(*ret);
	return vw_firewalld_default_zone(fw, ret, error);
}

/* @net's bridge into its zone (with @integrate; zone virtwire only when
 * firewalld has it, @have_own); out of zone virtwire otherwise. A bridged
 * network's bridge is never taken out: the administrator may have put it
 * there, as the warning says to. */
static bool bind_one(VwFirewalld *fw, const VwNetwork *net, bool integrate, bool have_own, ZoneOf *zo, GError **error)
{
	g_autofree char *now = NULL;
	VwFirewalldBind how;
	const char *uplink;
	bool removed;

	vw_plan_firewalld_zone(net, &uplink);
	if (!target_zone(fw, uplink, &zo->zone, error))
		return false;
	if (integrate && (uplink || have_own)) {
		if (!vw_firewalld_bind(fw, zo->zone, net->bridge, &how, error))
			return false;
		/* In someone else's zone: theirs decides, and may drop. */
		zo->settled = how != VW_FIREWALLD_ELSEWHERE;
		return true;
	}
	if (!uplink)
		return vw_firewalld_unbind(fw, VW_FIREWALLD_ZONE, net->bridge, &removed, error);
	if (!vw_firewalld_zone_of(fw, net->bridge, &now, error))
		return false;
	zo->settled = strcmp(now, zo->zone) == 0;
	return true;
}

/* Binds (or, leaving firewalls alone, unbinds) the bridges of @nets in
 * firewalld, when it runs; each one's zone into @zones (bridge → ZoneOf),
 * what fails into @diags. */
static void firewalld_bind(VwEngine *e, GPtrArray *nets, VwDiags *diags, GHashTable *zones)
{
	g_autoptr(VwFirewalld) fw = NULL;
	g_autoptr(GError) err = NULL;
	bool integrate = e->hostfw_mode != 2, own = false;

	if (!vw_firewalld_open(&fw, &err) || (fw && !vw_firewalld_has_zone(fw, VW_FIREWALLD_ZONE, &own, &err))) {
		vw_warning(diags, vw_loc(NULL, 0), "firewalld", NULL, "%s", err->message);
		return;
	}
	for (guint i = 0; fw && i < nets->len; i++) {
		const VwNetwork *net = nets->pdata[i];
		ZoneOf *zo;
		const char *uplink;

		if (!vw_plan_firewalld_zone(net, &uplink))
			continue;
		zo = g_new0(ZoneOf, 1);
		g_hash_table_replace(zones, net->bridge, zo);
		if (!bind_one(fw, net, integrate, own, zo, &err)) {
			vw_warning(diags, net->loc, "firewalld", NULL, "network '%s': %s", net->name, err->message);
			g_clear_error(&err);
		}
	}
}

/* ---------------------------------------------------------------------- */
/* Findings */

/* Which families' forward hooks br_netfilter hands bridged frames to here:
 * bit 0 IPv4 (bridge-nf-call-iptables), bit 1 IPv6. */
static guint bridged_frames(VwEngine *e)
{
	static const char *const calls[] = { "net/bridge/bridge-nf-call-iptables",
					     "net/bridge/bridge-nf-call-ip6tables" };
	const VwLinkBackend *be = vw_eng_links(e, NULL);
	guint on = 0;

	for (guint i = 0; be && i < G_N_ELEMENTS(calls); i++) {
		g_autofree char *v = NULL;

		if (be->sysctl_get(be->ctx, calls[i], &v) == 0 && strcmp(v, "1") == 0)
			on |= 1u << i;
	}
	return on;
}

/* Whether blocker @b sees bridged frames, given bridged_frames() @brnf. */
static bool sees_bridged(const VwBlocker *b, guint brnf)
{
	if (b->hook != NF_INET_FORWARD)
		return false;
	return b->family == NFPROTO_IPV4 ? brnf & 1 : b->family == NFPROTO_IPV6 ? brnf & 2 : brnf != 0;
}

/* What blocker @b drops of @net, in words; NULL: nothing. */
static const char *dropped(const VwNetwork *net, const VwBlocker *b, guint brnf)
{
	VwMode m = vw_network_effective_mode(net);
	bool own = vw_network_virtwire_owns_firewall(net);
	bool fwds = vw_network_forwards(net)->len > 0 && !b->accepts_dnat;

	if (m == VW_MODE_BRIDGED)
		return sees_bridged(b, brnf)
			       ? "its guests' bridged traffic, which br_netfilter passes through this chain"
			       : NULL;
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

static bool is_firewalld(const VwBlocker *b)
{
	return b->family == NFPROTO_INET && strcmp(b->table, "firewalld") == 0;
}

/* What to do about firewalld's chain for @net's bridge, in zone @zone (NULL:
 * not known). */
static char *firewalld_fix(const VwNetwork *net, const char *zone)
{
	const char *uplink;

	if (vw_plan_firewalld_zone(net, &uplink) && uplink)
		return g_strdup_printf("put bridge %s in a zone that forwards within itself, as its uplink's: "
				       "'firewall-cmd --zone=%s --add-interface=%s' (virtwire does so itself unless "
				       "[host-firewall] integrate=no)",
				       net->bridge, zone ? zone : "ZONE", net->bridge);
	return g_strdup_printf("put bridge %s in a zone that accepts it: 'firewall-cmd --zone=" VW_FIREWALLD_ZONE
			       " --add-interface=%s' (virtwire does so itself when firewalld has its zone: "
			       "install data/firewalld/ and reload firewalld)",
			       net->bridge, net->bridge);
}

/* The sentence for @net's traffic dropped by @b; @zone: where firewalld
 * should have its bridge, when known. */
static char *blocker_text(const VwBlocker *b, const VwNetwork *net, const char *what, const char *zone)
{
	const char *fam = b->family == NFPROTO_IPV4 ? "ip" : b->family == NFPROTO_IPV6 ? "ip6" : "inet";
	g_autofree char *fix = is_firewalld(b) ? firewalld_fix(net, zone) : g_strdup_printf("add '%s'", b->rule);

	return g_strdup_printf(
		"table %s %s, chain %s (%s%s) will drop what virtwire admits for network '%s' (%s): %s%s", fam,
		b->table, b->chain, b->hook == NF_INET_FORWARD ? "hook forward" : "hook input",
		b->policy_drop ? ", policy drop" : ", drops what reaches its end", net->name, what, fix,
		b->prio < -10 ? " (its priority runs it before virtwire marks the connections: accept "
				"them there by interface instead)"
			      : "");
}

/* Each blocker's sentence for each network of @nets it drops something
 * of, into @out (char*). firewalld's chain is left out for a bridge in
 * its zone (@zones); a ruleset that cannot be read is said so. */
static void findings(VwEngine *e, const HostRules *h, GPtrArray *nets, GHashTable *zones, GPtrArray *out)
{
	bool bridged = false;
	guint brnf;

	if (h->failed) {
		g_ptr_array_add(out, g_strdup_printf("the host's firewalls could not be read: %s", h->failed->message));
		return;
	}
	for (guint j = 0; j < nets->len; j++)
		bridged |= vw_network_effective_mode(nets->pdata[j]) == VW_MODE_BRIDGED;
	brnf = bridged && h->blockers->len ? bridged_frames(e) : 0;
	for (guint i = 0; i < h->blockers->len; i++) {
		const VwBlocker *b = h->blockers->pdata[i];

		for (guint j = 0; j < nets->len; j++) {
			const VwNetwork *net = nets->pdata[j];
			const ZoneOf *zo = net->bridge ? g_hash_table_lookup(zones, net->bridge) : NULL;
			const char *what = dropped(net, b, brnf);

			if (what && !(is_firewalld(b) && zo && zo->settled))
				g_ptr_array_add(out, blocker_text(b, net, what, zo ? zo->zone : NULL));
		}
	}
}

/* ---------------------------------------------------------------------- */

void vw_eng_hostfw_apply(VwEngine *e, GPtrArray *nets, VwDiags *diags)
{
	g_autoptr(GPtrArray) found = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GHashTable) zones = zones_new();
	g_auto(HostRules) h = { 0 };

	host_rules_read(e, &h);
	if (h.firewalld)
		firewalld_bind(e, nets, diags, zones);
	findings(e, &h, nets, zones, found);
	for (guint i = 0; i < found->len; i++)
		vw_warning(diags, vw_loc(NULL, 0), "host-firewall",
			   "virtwire marks every connection it admits with ct mark 0x10000000 (docs/real-host.md)",
			   "%s", (char *)found->pdata[i]);
}

/* Where firewalld has @net's bridge, into @zones; a difference when
 * virtwire would bind it and it is in no zone. */
static void verify_zone(VwEngine *e, const VwNetwork *net, GHashTable *zones, GPtrArray *drift)
{
	g_autoptr(VwFirewalld) fw = NULL;
	g_autofree char *now = NULL;
	const char *uplink;
	ZoneOf *zo;

	if (!vw_plan_firewalld_zone(net, &uplink) || !vw_firewalld_open(&fw, NULL) || !fw ||
	    !vw_firewalld_zone_of(fw, net->bridge, &now, NULL))
		return;
	zo = g_new0(ZoneOf, 1);
	g_hash_table_replace(zones, net->bridge, zo);
	target_zone(fw, uplink, &zo->zone, NULL);
	zo->settled = *now;
	if (!zo->settled && vw_eng_hostfw_integrate(e, NULL) && e->hostfw_mode != 2)
		vw_drift_add(drift, VW_DRIFT_HOST, "firewalld",
			     "bridge %s is in no zone (virtwire binds it to zone '%s')", net->bridge,
			     zo->zone ? zo->zone : "?");
}

void vw_eng_hostfw_verify(VwEngine *e, const VwNetwork *net, GPtrArray *drift)
{
	g_autoptr(GPtrArray) nets = g_ptr_array_new();
	g_autoptr(GPtrArray) found = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GHashTable) zones = zones_new();
	g_auto(HostRules) h = { 0 };

	g_ptr_array_add(nets, (gpointer)net);
	host_rules_read(e, &h);
	if (h.firewalld)
		verify_zone(e, net, zones, drift);
	findings(e, &h, nets, zones, found);
	for (guint i = 0; i < found->len; i++)
		vw_drift_add(drift, VW_DRIFT_HOST, "host firewall", "%s", (char *)found->pdata[i]);
}

/* Bridged mode's uplink in record @st ("enslave" of "UPLINK BRIDGE"), or
 * NULL. */
static char *recorded_uplink(const VwState *st)
{
	for (guint i = 0; i < st->links->len; i++) {
		const VwStateLink *l = st->links->pdata[i];

		if (strcmp(l->kind, "enslave") == 0 && strchr(l->object, ' '))
			return g_strndup(l->object, (gsize)(strchr(l->object, ' ') - l->object));
	}
	return NULL;
}

void vw_eng_hostfw_teardown(VwEngine *e, const VwState *st, GPtrArray *notes)
{
	g_autoptr(VwFirewalld) fw = NULL;
	g_autoptr(GError) err = NULL;
	g_autofree char *uplink = NULL;
	g_autofree char *zone = NULL;
	bool removed = false;

	if (!st->bridge)
		return;
	if (!vw_firewalld_open(&fw, &err)) {
		g_ptr_array_add(notes, g_strdup_printf("warning: %s", err->message));
		return;
	}
	if (!fw)
		return;
	/* Out of the zone virtwire would put it in, if it is there. */
	uplink = recorded_uplink(st);
	if (!target_zone(fw, uplink, &zone, &err) || !vw_firewalld_unbind(fw, zone, st->bridge, &removed, &err))
		g_ptr_array_add(notes, g_strdup_printf("warning: %s", err->message));
	else if (removed)
		g_ptr_array_add(notes, g_strdup_printf("bridge %s unbound from firewalld's zone %s", st->bridge, zone));
}
