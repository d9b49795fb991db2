/* SPDX-License-Identifier: GPL-2.0-or-later */
/* virtwire's mode (<vw:network mode=…>) against libvirt's <forward mode=…>,
 * and the settings that only mean something in some modes. */
#include "check-private.h"

static const VwForward *first_forward(const VwNetMeta *vw)
{
	return vw->forwards->pdata[0];
}

/*
 * virtwire's mode against libvirt's forward mode: the combinations refused,
 * and what to say. In the message, {name} is the network's name and {mode}
 * virtwire's mode. A rule with mode VW_MODE__COUNT stands for every mode not
 * in @allowed (a bit per VwMode).
 */
typedef struct {
	VwForwardMode fwd;
	VwMode mode;
	guint allowed;
	const char *code, *hint, *msg;
} ModeRule;

#define BIT(m) (1u << (m))

static const ModeRule mode_rules[] = {
	{ VW_FWD_NONE, VW_MODE_BRIDGED, 0, "mode-mismatch", "add <forward mode='bridge'/> and <bridge name='…'/>",
	  "network '{name}': mode='bridged' needs libvirt's <forward mode='bridge'/>, but the network is isolated "
	  "(no <forward>)" },
	{ VW_FWD_NONE, VW_MODE__COUNT, BIT(VW_MODE_UNSET) | BIT(VW_MODE_HOST_ONLY) | BIT(VW_MODE_BRIDGED),
	  "mode-mismatch", "use <forward mode='open'/>: then libvirt writes no firewall and virtwire writes it",
	  "network '{name}': mode='{mode}' on an isolated network (no <forward>), where libvirt's own firewall keeps "
	  "guests in" },
	{ VW_FWD_OPEN, VW_MODE_UNSET, 0, "missing-mode", "add mode='nat', 'route', 'host-only' or 'internal'",
	  "network '{name}': <forward mode='open'/> leaves the firewall to virtwire, but <vw:network> names no "
	  "virtwire mode" },
	{ VW_FWD_OPEN, VW_MODE_BRIDGED, 0, "mode-mismatch", "use <forward mode='bridge'/> with <bridge name='…'/>",
	  "network '{name}': mode='bridged' needs libvirt's <forward mode='bridge'/>, not 'open'" },
	{ VW_FWD_BRIDGE, VW_MODE__COUNT, BIT(VW_MODE_UNSET) | BIT(VW_MODE_BRIDGED), "mode-mismatch",
	  "for this mode use <forward mode='open'/>",
	  "network '{name}': <forward mode='bridge'/> is virtwire's mode='bridged', not '{mode}'" },
};

/* The first rule of @mode_rules the network breaks, as a finding. */
static void mode_rule(const VwNetwork *net, VwDiags *d)
{
	const VwNetMeta *vw = net->vw;

	for (size_t i = 0; i < G_N_ELEMENTS(mode_rules); i++) {
		const ModeRule *r = &mode_rules[i];
		g_autofree char *msg = NULL;
		g_auto(GStrv) parts = NULL;

		if (r->fwd != net->forward ||
		    (r->mode == VW_MODE__COUNT ? (r->allowed & BIT(vw->mode)) != 0 : r->mode != vw->mode))
			continue;
		parts = g_strsplit(r->msg, "{name}", -1);
		msg = g_strjoinv(net->name, parts);
		g_strfreev(parts);
		parts = g_strsplit(msg, "{mode}", -1);
		g_free(msg);
		msg = g_strjoinv(vw_mode_to_string(vw->mode), parts);
		E(d, vw->loc, r->code, r->hint, "%s", msg);
		return;
	}
}

/* An isolated network (no <forward>). */
static void on_isolated(const VwNetwork *net, VwDiags *d)
{
	const VwNetMeta *vw = net->vw;

	mode_rule(net, d);
	if (vw->forwards->len > 0)
		E(d, first_forward(vw)->loc, "forwards-isolated",
		  "isolated networks reach nothing outside; for forwards use <forward mode='open'/> with "
		  "<vw:network mode='nat'>",
		  "network '%s' is isolated (no <forward>): it cannot have port forwards", net->name);
}

/* libvirt's own <forward mode='nat'/> or 'route'. */
static void on_libvirt_nat_route(const VwNetwork *net, VwDiags *d)
{
	const VwNetMeta *vw = net->vw;
	const char *fm = vw_forward_mode_to_string(net->forward);

	/* Compare with libvirt's own mode: the effective mode is the vw
	 * mode whenever one is given, so it cannot tell a contradiction. */
	if (vw->mode != VW_MODE_UNSET && vw->mode != (net->forward == VW_FWD_NAT ? VW_MODE_NAT : VW_MODE_ROUTE)) {
		g_autofree char *hint = NULL;

		if (vw->mode == VW_MODE_BRIDGED)
			hint = g_strdup("bridged networks take <forward mode='bridge'/>");
		else
			hint = g_strdup_printf("drop mode= to keep libvirt's %s, or use <forward mode='open'/> so "
					       "that virtwire realises mode='%s'",
					       fm, vw_mode_to_string(vw->mode));
		E(d, vw->loc, "mode-mismatch", hint,
		  "network '%s': mode='%s' contradicts libvirt's <forward mode='%s'/>", net->name,
		  vw_mode_to_string(vw->mode), fm);
	}
	if (vw->has_nat)
		E(d, vw->nat_loc, "nat-libvirt",
		  net->forward == VW_FWD_NAT
			  ? "libvirt does this network's NAT: set <forward mode='nat'><nat><address …/></nat></forward>"
			  : "a routed network is not translated; drop <vw:nat>",
		  "network '%s': <vw:nat> on libvirt's <forward mode='%s'/>", net->name, fm);
}

static void on_open(const VwNetwork *net, VwDiags *d)
{
	mode_rule(net, d);
}

static void on_bridge(const VwNetwork *net, VwDiags *d)
{
	const VwNetMeta *vw = net->vw;

	if (vw->mode == VW_MODE_UNSET)
		E(d, vw->loc, "mode-mismatch", vw->uplink ? "add mode='bridged'" : "add mode='bridged' uplink='DEV'",
		  "network '%s': <forward mode='bridge'/> is virtwire's mode='bridged', but <vw:network> "
		  "names no virtwire mode",
		  net->name);
	else
		mode_rule(net, d);
	if (!net->bridge)
		E(d, net->forward_loc, "missing-bridge", "add <bridge name='br0'/>",
		  "network '%s': mode='bridged' needs a <bridge name='…'/> for virtwire to create", net->name);
	if (net->ips->len)
		E(d, ((VwIp *)net->ips->pdata[0])->loc, "ip-on-bridge",
		  "drop <ip>: the bridge takes the uplink's addresses",
		  "network '%s': libvirt does not allow <ip> with <forward mode='bridge'/>", net->name);
}

/* The vw mode against libvirt's forward mode; false when virtwire has
 * nothing to do on this kind of network at all (and nothing else to say). */
static bool against_forward(const VwNetwork *net, VwDiags *d)
{
	switch (net->forward) {
	case VW_FWD_NONE:
		on_isolated(net, d);
		return true;
	case VW_FWD_NAT:
	case VW_FWD_ROUTE:
		on_libvirt_nat_route(net, d);
		return true;
	case VW_FWD_OPEN:
		on_open(net, d);
		return true;
	case VW_FWD_BRIDGE:
		on_bridge(net, d);
		return true;
	case VW_FWD_PRIVATE:
	case VW_FWD_VEPA:
	case VW_FWD_PASSTHROUGH:
	case VW_FWD_HOSTDEV:
	case VW_FWD__COUNT:
		E(d, net->vw->loc, "mode-mismatch", "remove <vw:network>, or use a bridge-based forward mode",
		  "network '%s': virtwire manages no traffic on <forward mode='%s'/> (macvtap/hostdev) networks",
		  net->name, vw_forward_mode_to_string(net->forward));
		return false;
	}
	return true;
}

/* mode='bridged' (its uplink and bridge), or an uplink= where it means
 * nothing. */
static void check_bridged(const VwNetwork *net, VwDiags *d)
{
	const VwNetMeta *vw = net->vw;

	if (vw->mode != VW_MODE_BRIDGED) {
		/* On <forward mode='bridge'/> the mode-mismatch says it. */
		if (vw->uplink && net->forward != VW_FWD_BRIDGE)
			E(d, vw->loc, "uplink-mode", "for the devices NAT leaves through, write <vw:nat uplink='…'/>",
			  "network '%s': uplink= is for mode='bridged'", net->name);
		return;
	}
	if (!vw->uplink)
		E(d, vw->loc, "missing-uplink", "add uplink='eth0' (the device on the LAN)",
		  "network '%s': mode='bridged' needs uplink='DEV'", net->name);
	else if (!vw_ifname_valid(vw->uplink, false))
		E(d, vw->loc, "invalid-ifname", "interface names are 1-15 bytes without '/', ':' or spaces",
		  "network '%s': uplink='%s' is not a valid interface name", net->name, vw->uplink);
	else if (net->bridge && strcmp(net->bridge, vw->uplink) == 0)
		E(d, vw->loc, "invalid-ifname", "the bridge is a new device: give it another name",
		  "network '%s': the uplink and the bridge are both '%s'", net->name, vw->uplink);
	if (net->bridge && strchr(net->bridge, '%'))
		E(d, net->bridge_loc, "invalid-ifname", "write a full name, e.g. br0",
		  "network '%s': virtwire creates the bridged-mode bridge itself, so '%s' cannot be a template",
		  net->name, net->bridge);
	if (vw->forwards->len > 0)
		E(d, first_forward(vw)->loc, "forwards-mode",
		  "guests of a bridged network are peers on the LAN: reach them directly",
		  "network '%s': port forwards make no sense in mode='bridged'", net->name);
}

/* <vw:nat>: where it means something, its uplinks and its address. */
static void check_vw_nat(const VwNetwork *net, VwMode eff, VwDiags *d)
{
	const VwNetMeta *vw = net->vw;

	/* libvirt's nat and route were answered above (nat-libvirt); elsewhere
	 * (open, isolated, bridge) <vw:nat> only means something in mode nat. */
	if (vw->has_nat && eff != VW_MODE_UNSET && eff != VW_MODE_NAT && net->forward != VW_FWD_NAT &&
	    net->forward != VW_FWD_ROUTE)
		E(d, vw->nat_loc, "nat-mode", "drop <vw:nat>, or use mode='nat'", "network '%s': <vw:nat> in mode='%s'",
		  net->name, vw_mode_to_string(eff));
	for (guint i = 0; vw->nat_uplinks && i < vw->nat_uplinks->len; i++) {
		const char *u = vw->nat_uplinks->pdata[i];

		if (!vw_ifname_valid(u, false))
			E(d, vw->nat_loc, "invalid-ifname", "interface names are 1-15 bytes without '/', ':' or spaces",
			  "network '%s': <vw:nat> uplink '%s' is not a valid interface name", net->name, u);
	}
	if (vw_addr_is_set(&vw->nat_address)) {
		const VwIp *ip = vw_network_find_ip(net, &vw->nat_address);
		bool family_ok = false;

		for (guint i = 0; i < net->ips->len; i++)
			family_ok |= ((VwIp *)net->ips->pdata[i])->address.family == vw->nat_address.family;
		if (ip)
			E(d, vw->nat_loc, "nat-address", "SNAT to an address of the host on the outside",
			  "network '%s': <vw:nat> address is inside the guests' own subnet", net->name);
		else if (!family_ok)
			E(d, vw->nat_loc, "family-mismatch", NULL,
			  "network '%s': <vw:nat> address is %s, but the network has no %s subnet", net->name,
			  vw_chk_fam_name(vw->nat_address.family), vw_chk_fam_name(vw->nat_address.family));
	}
}

/* Forwards, domain forwards, hairpin and localhost in a mode that has no
 * port forwards. */
static void check_forward_settings(const VwNetwork *net, VwMode eff, VwDiags *d)
{
	const VwNetMeta *vw = net->vw;
	bool forwards_ports = vw_chk_mode_forwards_ports(eff);

	if (vw->forwards->len > 0 && eff != VW_MODE_UNSET && !forwards_ports && eff != VW_MODE_BRIDGED &&
	    net->forward != VW_FWD_NONE)
		E(d, first_forward(vw)->loc, "forwards-mode", "port forwards need mode='nat' or 'route'",
		  "network '%s': mode='%s' lets nothing from outside reach guests, so it cannot have port "
		  "forwards",
		  net->name, vw_mode_to_string(eff));
	/* Without a mode (missing-mode, mode-mismatch above) there is nothing
	 * to weigh these settings against. */
	if (eff == VW_MODE_UNSET || forwards_ports)
		return;
	if (vw->domain_forwards == VW_TRI_YES)
		E(d, vw->domain_forwards_loc, "forwards-mode", "allow domain forwards in mode 'nat' or 'route' only",
		  "network '%s': <vw:domain-forwards allow='yes'/> in mode='%s'", net->name, vw_mode_to_string(eff));
	if (vw->hairpin != VW_TRI_UNSET)
		W(d, vw->hairpin_loc, "no-effect", "drop it", "network '%s': <vw:hairpin> has no effect in mode='%s'",
		  net->name, vw_mode_to_string(eff));
	if (vw->localhost == VW_TRI_YES)
		W(d, vw->localhost_loc, "no-effect", "drop it",
		  "network '%s': <vw:localhost> has no effect in mode='%s'", net->name, vw_mode_to_string(eff));
}

/* The spoof filter where it does nothing: bridged mode (the LAN's addresses
 * are not virtwire's to know), or letting domains opt out of a filter that
 * is off. */
static void check_spoof_settings(const VwNetwork *net, VwMode eff, VwDiags *d)
{
	const VwNetMeta *vw = net->vw;

	if (eff == VW_MODE_BRIDGED && vw->spoof_filter == VW_TRI_YES)
		W(d, vw->spoof_filter_loc, "no-effect", "drop it",
		  "network '%s': <vw:spoof-filter> has no effect in mode='bridged' (the LAN's addresses are not "
		  "virtwire's to know)",
		  net->name);
	else if (vw->spoof_domain_off == VW_TRI_YES && !vw_network_spoof_filter(net) && eff != VW_MODE_UNSET)
		W(d, vw->spoof_filter_loc, "no-effect", "drop domain-opt-out=, or turn the filter on",
		  "network '%s': domain-opt-out= has no effect: the network's spoof filter is off", net->name);
}

/* On <forward mode='open'/>, virtwire's mode and the network's <ip>. */
static void check_open_ips(const VwNetwork *net, VwDiags *d)
{
	const VwNetMeta *vw = net->vw;

	if (net->forward != VW_FWD_OPEN || vw->mode == VW_MODE_UNSET)
		return;
	/* libvirt 9 refuses an open network without an address, libvirt 11
	 * accepts it: an internal network needs none, so say it only. */
	if (net->ips->len == 0 && vw->mode == VW_MODE_INTERNAL)
		W(d, vw->loc, "missing-ip",
		  "with libvirt 9, add <ip address='192.168.100.1' prefix='24'/> (no <dhcp>): in "
		  "mode='internal' virtwire keeps the guests away from it",
		  "network '%s': libvirt 9 refuses <forward mode='open'/> without an <ip> (libvirt 11 accepts it)",
		  net->name);
	else if (net->ips->len == 0 && vw->mode != VW_MODE_BRIDGED)
		E(d, vw->loc, "missing-ip", "add <ip address='192.168.100.1' prefix='24'>…</ip>",
		  "network '%s': mode='%s' needs at least one <ip> (the host's address on the network)", net->name,
		  vw_mode_to_string(vw->mode));
	for (guint i = 0; vw->mode == VW_MODE_INTERNAL && i < net->ips->len; i++) {
		const VwIp *ip = net->ips->pdata[i];

		if (ip->has_dhcp)
			W(d,
			  ip->ranges->len  ? ((VwDhcpRange *)ip->ranges->pdata[0])->loc
			  : ip->hosts->len ? ((VwDhcpHost *)ip->hosts->pdata[0])->loc
					   : ip->loc,
			  "internal-dhcp", "drop <dhcp> and give the guests static addresses, or use mode='host-only'",
			  "network '%s': in mode='internal' guests cannot reach the host, so its DHCP serves nobody",
			  net->name);
	}
}

void vw_chk_modes(const VwNetwork *net, VwDiags *d)
{
	VwMode eff = vw_network_effective_mode(net);

	if (!net->vw || !against_forward(net, d))
		return;
	check_bridged(net, d);
	check_vw_nat(net, eff, d);
	check_forward_settings(net, eff, d);
	check_spoof_settings(net, eff, d);
	check_open_ips(net, d);
}
