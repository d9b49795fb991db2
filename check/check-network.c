/* SPDX-License-Identifier: GPL-2.0-or-later */
/* One network alone: its bridge, its addresses and DHCP, then its modes
 * (check-modes.c) and forwards (check-forward.c). */
#include "check-private.h"

/* ---------------------------------------------------------------------- */
/* The name */

/* How many bytes of a refused name a message shows. */
#define NAME_SHOWN 64

static bool is_control(gunichar c)
{
	return c < 0x20 || (c >= 0x7f && c <= 0x9f);
}

/* @name as a message can quote it: control characters and bytes that are
 * not UTF-8 escaped, cut after NAME_SHOWN bytes. */
static char *name_shown(const char *name)
{
	GString *s = g_string_new(NULL);
	const char *p = name, *end = name + strlen(name);

	while (p < end && s->len < NAME_SHOWN) {
		gunichar c = g_utf8_get_char_validated(p, end - p);

		if (c == (gunichar)-1 || c == (gunichar)-2) {
			g_string_append_printf(s, "\\x%02x", (guchar)*p++);
		} else if (c == '\n') {
			g_string_append(s, "\\n");
			p++;
		} else if (is_control(c)) {
			g_string_append_printf(s, c < 0x80 ? "\\x%02x" : "\\u%04x", c);
			p = g_utf8_next_char(p);
		} else {
			g_string_append_len(s, p, g_utf8_next_char(p) - p);
			p = g_utf8_next_char(p);
		}
	}
	if (p < end)
		g_string_append(s, "…");
	return g_string_free(s, FALSE);
}

/* Why @name cannot be a network's, or NULL. */
static char *name_refused(const char *name)
{
	size_t len = strlen(name);

	if (!len)
		return g_strdup("is empty");
	if (len > VW_MAX_NETWORK_NAME)
		return g_strdup_printf("is %zu bytes long, more than %u", len, VW_MAX_NETWORK_NAME);
	if (strchr(name, '/'))
		return g_strdup("contains '/'");
	if (!g_utf8_validate(name, (gssize)len, NULL))
		return g_strdup("is not UTF-8");
	for (const char *p = name; *p; p = g_utf8_next_char(p))
		if (is_control(g_utf8_get_char(p)))
			return g_strdup("contains a control character");
	return NULL;
}

bool vw_chk_name_ok(const char *name)
{
	g_autofree char *why = name_refused(name);

	return !why;
}

bool vw_check_network_name(const char *name, VwLoc loc, VwDiags *d)
{
	g_autofree char *why = name_refused(name ? name : "");
	g_autofree char *shown = NULL;

	if (!why)
		return true;
	shown = name_shown(name ? name : "");
	E(d, loc, "network-name",
	  "libvirt keeps each network in files named after it: use letters, digits, '-', '_' and '.' (at "
	  "most " G_STRINGIFY(VW_MAX_NETWORK_NAME) " bytes)",
	  "network name '%s' %s", shown, why);
	return false;
}

/* ---------------------------------------------------------------------- */
/* Addresses and DHCP */

static void check_dhcp_range(const VwNetwork *net, const VwIp *ip, const VwPrefix *sub, const VwDhcpRange *r,
			     VwDiags *d)
{
	char a[VW_ADDR_STRLEN], b[VW_ADDR_STRLEN], h[VW_ADDR_STRLEN];

	/* The parser has reported a missing or malformed start=/end=. */
	if (!vw_addr_is_set(&r->start) || !vw_addr_is_set(&r->end))
		return;
	if (r->start.family != ip->address.family || r->end.family != ip->address.family) {
		E(d, r->loc, "family-mismatch", NULL, "network '%s': DHCP range is not %s like its <ip>", net->name,
		  vw_chk_fam_name(ip->address.family));
		return;
	}
	vw_addr_to_string(&r->start, a);
	vw_addr_to_string(&r->end, b);
	if (vw_addr_cmp(&r->start, &r->end) > 0) {
		E(d, r->loc, "dhcp-range",
		  "swap start= and end=", "network '%s': DHCP range %s - %s ends before it starts", net->name, a, b);
		return;
	}
	if (!vw_prefix_contains(sub, &r->start) || !vw_prefix_contains(sub, &r->end)) {
		g_autofree char *s = vw_prefix_to_string(sub);

		E(d, r->loc, "dhcp-range", "keep the range inside the <ip>'s subnet",
		  "network '%s': DHCP range %s - %s is not inside %s", net->name, a, b, s);
		return;
	}
	if (vw_addr_cmp(&r->start, &ip->address) <= 0 && vw_addr_cmp(&ip->address, &r->end) <= 0)
		E(d, r->loc, "dhcp-range", "start the range after the host's address",
		  "network '%s': DHCP range %s - %s covers the host's own address %s", net->name, a, b,
		  vw_addr_to_string(&ip->address, h));
	if (vw_chk_is_subnet_edge(&r->start, ip->prefix) || vw_chk_is_subnet_edge(&r->end, ip->prefix))
		E(d, r->loc, "dhcp-range", "leave out the subnet's network and broadcast addresses",
		  "network '%s': DHCP range %s - %s includes the subnet's network or broadcast address", net->name, a,
		  b);
}

static void check_dhcp_host(const VwNetwork *net, const VwIp *ip, const VwPrefix *sub, const VwDhcpHost *h, VwDiags *d)
{
	char a[VW_ADDR_STRLEN];

	if (!vw_addr_is_set(&h->ip))
		return;
	vw_addr_to_string(&h->ip, a);
	if (h->ip.family != ip->address.family) {
		E(d, h->loc, "family-mismatch", NULL, "network '%s': reservation %s is not %s like its <ip>", net->name,
		  a, vw_chk_fam_name(ip->address.family));
		return;
	}
	if (!vw_prefix_contains(sub, &h->ip)) {
		g_autofree char *s = vw_prefix_to_string(sub);

		E(d, h->loc, "dhcp-host", "reserve an address inside the subnet",
		  "network '%s': reservation %s is not inside %s", net->name, a, s);
	} else if (vw_addr_equal(&h->ip, &ip->address)) {
		E(d, h->loc, "dhcp-host", "reserve another address: this one is the host's",
		  "network '%s': reservation %s is the host's own address", net->name, a);
	} else if (vw_chk_is_subnet_edge(&h->ip, ip->prefix)) {
		E(d, h->loc, "dhcp-host", NULL,
		  "network '%s': reservation %s is the subnet's network or broadcast address", net->name, a);
	}
	/* libvirt's own rules: an IPv4 host needs mac= or name= (dnsmasq
	 * matches one of them), and an IPv6 host must not have mac=
	 * (DHCPv6 clients are matched by id= or name=). */
	if (!h->has_mac && !h->name && ip->address.family == AF_INET)
		E(d, h->loc, "dhcp-host", "add mac='52:54:00:…'",
		  "network '%s': IPv4 reservation %s has neither mac= nor name=", net->name, a);
	if (h->has_mac && ip->address.family == AF_INET6)
		E(d, h->loc, "dhcp-host",
		  "libvirt matches DHCPv6 clients by id='DUID' or name=; forward to this guest with guest-address=",
		  "network '%s': IPv6 reservation %s has mac=, which libvirt refuses", net->name, a);
}

static void check_ip(const VwNetwork *net, const VwIp *ip, VwDiags *d)
{
	char a[VW_ADDR_STRLEN];
	VwPrefix sub;

	if (!ip->has_prefix || !vw_addr_is_set(&ip->address))
		return;
	sub = vw_chk_ip_subnet(ip);
	if (vw_chk_is_subnet_edge(&ip->address, ip->prefix))
		E(d, ip->loc, "host-address", "give the host a usable address, e.g. the first one of the subnet",
		  "network '%s': %s is the %s address of its /%u", net->name, vw_addr_to_string(&ip->address, a),
		  vw_addr_equal(&ip->address, &sub.addr) ? "network" : "broadcast", ip->prefix);
	if (vw_addr_is_loopback(&ip->address))
		E(d, ip->loc, "host-address", NULL, "network '%s': %s is a loopback address", net->name,
		  vw_addr_to_string(&ip->address, a));
	for (guint i = 0; i < ip->ranges->len; i++)
		check_dhcp_range(net, ip, &sub, ip->ranges->pdata[i], d);
	for (guint i = 0; i < ip->hosts->len; i++)
		check_dhcp_host(net, ip, &sub, ip->hosts->pdata[i], d);
}

/* Inserts @key → @h into @seen, or reports that @key is there already;
 * takes @key. */
static void reserve_once(GHashTable *seen, char *key, const VwDhcpHost *h, const VwNetwork *net, const char *what,
			 const char *shown, const char *hint, VwDiags *d)
{
	const VwDhcpHost *prev = g_hash_table_lookup(seen, key);

	if (!prev) {
		g_hash_table_insert(seen, key, (gpointer)h);
		return;
	}
	E(d, h->loc, "duplicate-reservation", hint, "network '%s': %s %s is reserved twice (also at line %d)",
	  net->name, what, shown, prev->loc.line);
	g_free(key);
}

/* <ip> subnets of one network that overlap each other. */
static void check_ip_overlap(const VwNetwork *net, guint i, VwDiags *d)
{
	const VwIp *ip = net->ips->pdata[i];

	for (guint j = 0; j < i; j++) {
		const VwIp *o = net->ips->pdata[j];
		VwPrefix a, b;

		if (!ip->has_prefix || !o->has_prefix || ip->address.family != o->address.family)
			continue;
		a = vw_chk_ip_subnet(ip);
		b = vw_chk_ip_subnet(o);
		if (vw_prefix_overlaps(&a, &b)) {
			g_autofree char *sa = vw_prefix_to_string(&a);
			g_autofree char *sb = vw_prefix_to_string(&b);

			E(d, ip->loc, "subnet-overlap", NULL,
			  "network '%s': <ip> subnet %s overlaps %s (line %d) of the same network", net->name, sa, sb,
			  o->loc.line);
		}
	}
}

/* Duplicate MACs and IPs among reservations (per family, since one MAC may
 * hold an IPv4 and an IPv6 reservation), multiple DHCP sections, and <ip>
 * subnets that overlap inside one network. */
static void check_reservations(const VwNetwork *net, VwDiags *d)
{
	g_autoptr(GHashTable) macs = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	g_autoptr(GHashTable) ips = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	const VwIp *dhcp_by_family[2] = { NULL, NULL };

	for (guint i = 0; i < net->ips->len; i++) {
		const VwIp *ip = net->ips->pdata[i];
		int fi = ip->address.family == AF_INET6;

		if (ip->has_dhcp && vw_addr_is_set(&ip->address)) {
			if (dhcp_by_family[fi])
				E(d, ip->loc, "dhcp-multiple", "move all DHCP settings into one <ip>",
				  "network '%s': libvirt allows <dhcp> in one %s <ip> only (the other is at line %d)",
				  net->name, vw_chk_fam_name(ip->address.family), dhcp_by_family[fi]->loc.line);
			else
				dhcp_by_family[fi] = ip;
		}
		check_ip_overlap(net, i, d);
		for (guint j = 0; j < ip->hosts->len; j++) {
			const VwDhcpHost *h = ip->hosts->pdata[j];
			char buf[VW_ADDR_STRLEN], mbuf[VW_MAC_STRLEN];

			if (h->has_mac)
				reserve_once(macs, g_strdup_printf("%d/%s", fi, vw_mac_to_string(&h->mac, mbuf)), h,
					     net, "MAC", mbuf, "one MAC gets one address per family", d);
			if (vw_addr_is_set(&h->ip))
				reserve_once(ips, g_strdup(vw_addr_to_string(&h->ip, buf)), h, net, "address", buf,
					     "give each guest its own address", d);
		}
	}
}

/* libvirt configures the bridge of route, nat, open and isolated networks
 * only: elsewhere the bridge is the host's, and libvirt refuses settings
 * it would not apply ("bridge delay/stp/zone options only allowed in
 * route, nat, and isolated mode"). */
static void check_bridge_options(const VwNetwork *net, VwDiags *d)
{
	switch (net->forward) {
	case VW_FWD_BRIDGE:
	case VW_FWD_PRIVATE:
	case VW_FWD_VEPA:
	case VW_FWD_PASSTHROUGH:
	case VW_FWD_HOSTDEV:
		break;
	case VW_FWD_NONE:
	case VW_FWD_NAT:
	case VW_FWD_ROUTE:
	case VW_FWD_OPEN:
	case VW_FWD__COUNT:
		return;
	}
	if (net->stp != VW_TRI_UNSET || net->has_delay || net->zone)
		E(d, net->bridge_loc, "bridge-options-mode", "drop stp=, delay= and zone= from <bridge>",
		  "network '%s': <bridge> stp=, delay= and zone= are for libvirt's own bridges (nat, route, open, "
		  "isolated), not forward mode='%s'; libvirt refuses them",
		  net->name, vw_forward_mode_to_string(net->forward));
}

/* ---------------------------------------------------------------------- */

void vw_check_network(const VwNetwork *net, VwDiags *d)
{
	/* Without a <name> the parser has said so (missing-name). Every other
	 * finding quotes the name: none for a name that cannot be shown. */
	if (!net->name || !vw_check_network_name(net->name, net->loc, d))
		return;
	if (net->bridge && !vw_ifname_valid(net->bridge, true))
		E(d, net->bridge_loc, "invalid-ifname",
		  "interface names are 1-15 bytes without '/', ':', quotes or spaces",
		  "network '%s': bridge name '%s' is not a valid interface name", net->name, net->bridge);
	check_bridge_options(net, d);
	vw_chk_modes(net, d);
	for (guint i = 0; i < net->ips->len; i++)
		check_ip(net, net->ips->pdata[i], d);
	check_reservations(net, d);
	vw_chk_forwards(net, d);
	vw_chk_span(net, d);
}
