/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The parsers (xml/), fed from memory: every field of the model for a network,
 * a domain, a networkport and hookData, with line numbers; virtwire's metadata
 * and its strictness; the hard caps; documents that cannot be read.
 */
#include <arpa/inet.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <glib.h>

#include <virtwire/check.h>
#include <virtwire/xml.h>

#include "xml-private.h"

/* Parses @xml as @name without schemas; asserts the status. */
static VwDoc *load(const char *name, const char *xml, VwDiags *diags, VwLoadStatus want)
{
	VwDoc *doc = NULL;

	g_assert_cmpint(vw_doc_load_memory(name, xml, strlen(xml), NULL, diags, &doc), ==, want);
	if (want == VW_LOAD_OK)
		g_assert_nonnull(doc);
	else
		g_assert_null(doc);
	return doc;
}

/* The line of the first occurrence of @marker in @xml. */
static int line_of(const char *xml, const char *marker)
{
	const char *at = strstr(xml, marker);
	int line = 1;

	g_assert_nonnull(at);
	for (const char *p = xml; p < at; p++)
		line += *p == '\n';
	return line;
}

static void assert_addr(const VwAddr *a, const char *want)
{
	char buf[VW_ADDR_STRLEN];

	g_assert_cmpstr(vw_addr_to_string(a, buf), ==, want);
}

static void assert_mac(const VwMac *m, const char *want)
{
	char buf[VW_MAC_STRLEN];

	g_assert_cmpstr(vw_mac_to_string(m, buf), ==, want);
}

/* Exactly one finding, with this code and line; returns it. */
static const VwDiag *assert_one(const VwDiags *d, const char *code, int line)
{
	const VwDiag *x;

	if (d->items->len != 1) {
		g_autofree char *all = vw_diags_format_text(d);

		g_test_message("findings:\n%s", all);
	}
	g_assert_cmpuint(d->items->len, ==, 1);
	x = d->items->pdata[0];
	g_assert_cmpstr(x->code, ==, code);
	g_assert_cmpint(x->loc.line, ==, line);
	return x;
}

static const VwDiag *find_code(const VwDiags *d, const char *code)
{
	for (guint i = 0; i < d->items->len; i++) {
		const VwDiag *x = d->items->pdata[i];

		if (strcmp(x->code, code) == 0)
			return x;
	}
	return NULL;
}

static void assert_clean(const VwDiags *d)
{
	if (d->items->len) {
		g_autofree char *all = vw_diags_format_text(d);

		g_test_message("unexpected findings:\n%s", all);
	}
	g_assert_cmpuint(d->items->len, ==, 0);
}

/* ---------------------------------------------------------------------- */

static const char network_xml[] =
	"<network connections='3'>\n"
	"  <name>vwnat</name>\n"
	"  <uuid>2f1e0d1c-0b0a-4909-8807-060504030201</uuid>\n"
	"  <metadata>\n"
	"    <other:thing xmlns:other='http://example.org/other/1'/>\n"
	"    <vw:network xmlns:vw='urn:virtwire:1' mode='nat'>\n"
	"      <vw:nat uplink='eth0, wlan0' address='203.0.113.5'/>\n"
	"      <vw:forward name='web1-ssh' proto='tcp' host-port='2222' guest-mac='52:54:00:AA:bb:10' "
	"guest-port='22'>\n"
	"        <vw:source address='198.51.100.0/24'/>\n"
	"        <vw:source address='2001:db8:ab::/48'/>\n"
	"      </vw:forward>\n"
	"      <vw:forward proto='udp' address='203.0.113.5' host-port='60000-60010' guest-address='192.168.150.60'/>\n"
	"      <vw:forward proto='sctp' host-port='8000-8010' guest-address='192.168.150.61' guest-port='9000-9010'/>\n"
	"      <vw:hairpin enabled='no'/>\n"
	"      <vw:localhost enabled='yes'/>\n"
	"      <vw:domain-forwards allow='yes' host-ports='1024-65535'/>\n"
	"    </vw:network>\n"
	"  </metadata>\n"
	"  <forward mode='open' dev='eth0'>\n"
	"    <interface dev='eth0'/>\n"
	"    <interface dev='eth1'/>\n"
	"    <nat ipv6='yes'>\n"
	"      <address start='203.0.113.10' end='203.0.113.20'/>\n"
	"      <port start='1024' end='65535'/>\n"
	"    </nat>\n"
	"  </forward>\n"
	"  <bridge name='vw-nat' stp='off' delay='2' macTableManager='libvirt' zone='trusted'/>\n"
	"  <mac address='52:54:00:12:34:56'/>\n"
	"  <mtu size='9000'/>\n"
	"  <port isolated='yes'/>\n"
	"  <domain name='nat.example'/>\n"
	"  <ip address='192.168.150.1' netmask='255.255.255.0'>\n"
	"    <dhcp>\n"
	"      <range start='192.168.150.100' end='192.168.150.200'/>\n"
	"      <host mac='52:54:00:aa:bb:10' name='web1' ip='192.168.150.10'/>\n"
	"      <host name='printer' ip='192.168.150.20'/>\n"
	"    </dhcp>\n"
	"  </ip>\n"
	"  <ip family='ipv6' address='2001:db8:150::1' prefix='64'/>\n"
	"  <ip address='10.150.0.1' prefix='16'/>\n"
	"</network>\n";

static void test_network(void)
{
	g_autoptr(VwDiags) d = vw_diags_new();
	g_autoptr(VwDoc) doc = load("net.xml", network_xml, d, VW_LOAD_OK);
	const VwNetwork *n = doc->network;
	const VwNetMeta *vw;
	const VwIp *ip;
	const VwDhcpRange *r;
	const VwDhcpHost *h;
	const VwForward *f;
	const VwSource *s;

	assert_clean(d);
	g_assert_cmpint(doc->kind, ==, VW_DOC_NETWORK);
	g_assert_cmpstr(doc->file, ==, "net.xml");
	/* Interned: a location is a plain value. */
	g_assert_true(doc->file == g_intern_string("net.xml"));
	g_assert_null(doc->domain);
	g_assert_null(doc->port);

	g_assert_cmpstr(n->name, ==, "vwnat");
	g_assert_cmpstr(n->uuid, ==, "2f1e0d1c-0b0a-4909-8807-060504030201");
	g_assert_cmpint(n->connections, ==, 3);
	g_assert_cmpint(n->loc.line, ==, 1);
	g_assert_cmpint(n->forward, ==, VW_FWD_OPEN);
	g_assert_cmpint(n->forward_loc.line, ==, line_of(network_xml, "<forward "));
	g_assert_cmpstr(n->forward_dev, ==, "eth0");
	g_assert_cmpuint(n->forward_ifaces->len, ==, 2);
	g_assert_cmpstr(n->forward_ifaces->pdata[1], ==, "eth1");
	assert_addr(&n->nat_start, "203.0.113.10");
	assert_addr(&n->nat_end, "203.0.113.20");
	g_assert_cmpuint(n->nat_ports.lo, ==, 1024);
	g_assert_cmpuint(n->nat_ports.hi, ==, 65535);
	g_assert_cmpint(n->nat_ipv6, ==, VW_TRI_YES);
	g_assert_cmpstr(n->bridge, ==, "vw-nat");
	g_assert_cmpint(n->bridge_loc.line, ==, line_of(network_xml, "<bridge "));
	g_assert_cmpint(n->stp, ==, VW_TRI_NO);
	g_assert_true(n->has_delay);
	g_assert_cmpuint(n->delay, ==, 2);
	g_assert_cmpstr(n->mac_table_manager, ==, "libvirt");
	g_assert_cmpstr(n->zone, ==, "trusted");
	g_assert_true(n->has_mac);
	assert_mac(&n->mac, "52:54:00:12:34:56");
	g_assert_cmpuint(n->mtu, ==, 9000);
	g_assert_cmpint(n->port_isolated, ==, VW_TRI_YES);
	g_assert_cmpstr(n->domain_name, ==, "nat.example");

	g_assert_cmpuint(n->ips->len, ==, 3);
	ip = n->ips->pdata[0];
	assert_addr(&ip->address, "192.168.150.1");
	g_assert_true(ip->has_prefix);
	g_assert_cmpuint(ip->prefix, ==, 24);
	g_assert_true(ip->has_dhcp);
	g_assert_cmpint(ip->loc.line, ==, line_of(network_xml, "<ip address='192.168.150.1'"));
	g_assert_cmpuint(ip->ranges->len, ==, 1);
	r = ip->ranges->pdata[0];
	assert_addr(&r->start, "192.168.150.100");
	assert_addr(&r->end, "192.168.150.200");
	g_assert_cmpint(r->loc.line, ==, line_of(network_xml, "<range "));
	g_assert_cmpuint(ip->hosts->len, ==, 2);
	h = ip->hosts->pdata[0];
	g_assert_true(h->has_mac);
	assert_mac(&h->mac, "52:54:00:aa:bb:10");
	assert_addr(&h->ip, "192.168.150.10");
	g_assert_cmpstr(h->name, ==, "web1");
	g_assert_cmpint(h->loc.line, ==, line_of(network_xml, "<host mac="));
	h = ip->hosts->pdata[1];
	g_assert_false(h->has_mac);
	g_assert_cmpstr(h->name, ==, "printer");
	ip = n->ips->pdata[1];
	g_assert_cmpint(ip->address.family, ==, AF_INET6);
	g_assert_cmpuint(ip->prefix, ==, 64);
	g_assert_false(ip->has_dhcp);
	g_assert_cmpuint(ip->ranges->len, ==, 0);
	ip = n->ips->pdata[2];
	g_assert_cmpuint(ip->prefix, ==, 16);

	vw = n->vw;
	g_assert_nonnull(vw);
	g_assert_cmpint(vw->loc.line, ==, line_of(network_xml, "<vw:network"));
	g_assert_cmpint(vw->mode, ==, VW_MODE_NAT);
	g_assert_null(vw->uplink);
	g_assert_true(vw->has_nat);
	g_assert_cmpint(vw->nat_loc.line, ==, line_of(network_xml, "<vw:nat "));
	g_assert_cmpuint(vw->nat_uplinks->len, ==, 2);
	g_assert_cmpstr(vw->nat_uplinks->pdata[0], ==, "eth0");
	g_assert_cmpstr(vw->nat_uplinks->pdata[1], ==, "wlan0");
	assert_addr(&vw->nat_address, "203.0.113.5");
	g_assert_cmpint(vw->hairpin, ==, VW_TRI_NO);
	g_assert_cmpint(vw->hairpin_loc.line, ==, line_of(network_xml, "<vw:hairpin"));
	g_assert_cmpint(vw->localhost, ==, VW_TRI_YES);
	g_assert_cmpint(vw->localhost_loc.line, ==, line_of(network_xml, "<vw:localhost"));
	g_assert_cmpint(vw->domain_forwards, ==, VW_TRI_YES);
	g_assert_true(vw->has_domain_ports);
	g_assert_cmpuint(vw->domain_ports.lo, ==, 1024);
	g_assert_cmpuint(vw->domain_ports.hi, ==, 65535);
	g_assert_cmpint(vw->domain_forwards_loc.line, ==, line_of(network_xml, "<vw:domain-forwards"));

	g_assert_cmpuint(vw->forwards->len, ==, 3);
	g_assert_true(vw_network_forwards(n) == vw->forwards);
	f = vw->forwards->pdata[0];
	g_assert_cmpstr(f->name, ==, "web1-ssh");
	g_assert_true(f->has_proto);
	g_assert_cmpint(f->proto, ==, VW_PROTO_TCP);
	g_assert_false(vw_addr_is_set(&f->listen));
	g_assert_true(f->has_host_port);
	g_assert_cmpuint(f->host.lo, ==, 2222);
	g_assert_cmpuint(f->host.hi, ==, 2222);
	g_assert_true(f->has_guest_port);
	g_assert_cmpuint(f->guest.lo, ==, 22);
	g_assert_true(f->has_guest_mac);
	assert_mac(&f->guest_mac, "52:54:00:aa:bb:10");
	g_assert_false(vw_addr_is_set(&f->guest_addr));
	g_assert_null(f->network);
	g_assert_cmpint(f->loc.line, ==, line_of(network_xml, "<vw:forward name='web1-ssh'"));
	g_assert_cmpuint(f->sources->len, ==, 2);
	s = f->sources->pdata[0];
	g_assert_cmpint(s->prefix.addr.family, ==, AF_INET);
	g_assert_cmpuint(s->prefix.prefix, ==, 24);
	g_assert_cmpint(s->loc.line, ==, line_of(network_xml, "<vw:source address='198"));
	s = f->sources->pdata[1];
	g_assert_cmpint(s->prefix.addr.family, ==, AF_INET6);
	g_assert_cmpuint(s->prefix.prefix, ==, 48);
	f = vw->forwards->pdata[1];
	g_assert_null(f->name);
	g_assert_cmpint(f->proto, ==, VW_PROTO_UDP);
	assert_addr(&f->listen, "203.0.113.5");
	g_assert_cmpuint(f->host.lo, ==, 60000);
	g_assert_cmpuint(f->host.hi, ==, 60010);
	g_assert_false(f->has_guest_port);
	assert_addr(&f->guest_addr, "192.168.150.60");
	g_assert_false(f->has_guest_mac);
	g_assert_cmpuint(f->sources->len, ==, 0);
	f = vw->forwards->pdata[2];
	g_assert_cmpint(f->proto, ==, VW_PROTO_SCTP);
	g_assert_cmpuint(f->guest.lo, ==, 9000);
	g_assert_cmpuint(f->guest.hi, ==, 9010);

	/* The model's helpers over what was parsed. */
	g_assert_cmpint(vw_network_effective_mode(n), ==, VW_MODE_NAT);
	g_assert_true(vw_network_virtwire_owns_firewall(n));
	g_assert_false(vw_network_hairpin(n));
	g_assert_true(vw_network_localhost(n));
	{
		VwMac m;
		VwAddr a;
		const VwIp *found;
		g_autofree char *desc0 = vw_forward_describe(vw->forwards->pdata[0]);
		g_autofree char *desc1 = vw_forward_describe(vw->forwards->pdata[1]);

		g_assert_true(vw_mac_parse("52:54:00:aa:bb:10", &m));
		g_assert_nonnull(vw_network_find_reservation(n, &m, AF_INET));
		g_assert_null(vw_network_find_reservation(n, &m, AF_INET6));
		g_assert_true(vw_addr_parse("10.150.3.4", &a));
		found = vw_network_find_ip(n, &a);
		g_assert_true(found == n->ips->pdata[2]);
		g_assert_true(vw_addr_parse("10.151.0.1", &a));
		g_assert_null(vw_network_find_ip(n, &a));
		g_assert_cmpstr(desc0, ==, "'web1-ssh'");
		g_assert_cmpstr(desc1, ==, "udp/60000-60010");
	}
}

static void test_network_defaults(void)
{
	static const char xml[] = "<network>\n"
				  "  <name>default</name>\n"
				  "  <forward/>\n"
				  "  <bridge name='virbr0'/>\n"
				  "  <ip address='192.168.122.1' prefix='24'/>\n"
				  "  <ip family='ipv6' address='2001:db8:122::1'/>\n"
				  "</network>\n";
	g_autoptr(VwDiags) d = vw_diags_new();
	g_autoptr(VwDoc) doc = load("default.xml", xml, d, VW_LOAD_OK);
	const VwNetwork *n = doc->network;

	assert_clean(d);
	/* <forward/> without mode= is libvirt's nat. */
	g_assert_cmpint(n->forward, ==, VW_FWD_NAT);
	g_assert_null(n->vw);
	g_assert_cmpuint(vw_network_forwards(n)->len, ==, 0);
	g_assert_cmpint(n->stp, ==, VW_TRI_UNSET);
	g_assert_false(n->has_delay);
	g_assert_false(n->has_mac);
	g_assert_cmpuint(n->mtu, ==, 0);
	g_assert_cmpint(n->connections, ==, 0);
	/* IPv6 without prefix= is a /64, silently (libvirt's default). */
	g_assert_cmpuint(((VwIp *)n->ips->pdata[1])->prefix, ==, 64);
	g_assert_cmpint(vw_network_effective_mode(n), ==, VW_MODE_NAT);
	g_assert_false(vw_network_virtwire_owns_firewall(n));
	/* Hairpin defaults on in nat, localhost off. */
	g_assert_true(vw_network_hairpin(n));
	g_assert_false(vw_network_localhost(n));
}

static void test_network_isolated(void)
{
	static const char xml[] = "<network>\n  <name>lab</name>\n  <ip address='10.1.2.1'/>\n</network>\n";
	g_autoptr(VwDiags) d = vw_diags_new();
	g_autoptr(VwDoc) doc = load("lab.xml", xml, d, VW_LOAD_OK);
	const VwDiag *x;

	g_assert_cmpint(doc->network->forward, ==, VW_FWD_NONE);
	g_assert_cmpint(vw_network_effective_mode(doc->network), ==, VW_MODE_HOST_ONLY);
	g_assert_false(vw_network_hairpin(doc->network));
	/* 10.x without a prefix: libvirt's classful /8, with a warning. */
	g_assert_cmpuint(((VwIp *)doc->network->ips->pdata[0])->prefix, ==, 8);
	x = assert_one(d, "classful-prefix", 3);
	g_assert_cmpint(x->severity, ==, VW_SEV_WARNING);
}

static void test_network_bad_values(void)
{
	static const struct {
		const char *xml;
		const char *code;
		int line;
	} cases[] = {
		{ "<network>\n<name>x</name>\n<forward mode='tunnel'/>\n</network>", "invalid-value", 3 },
		{ "<network>\n<name>x</name>\n<bridge name='b' stp='maybe'/>\n</network>", "invalid-value", 3 },
		{ "<network>\n<name>x</name>\n<bridge name='b' delay='-1'/>\n</network>", "invalid-value", 3 },
		{ "<network>\n<name>x</name>\n<mtu size='70000'/>\n</network>", "invalid-value", 3 },
		{ "<network>\n<name>x</name>\n<mac address='52:54:00:12:34'/>\n</network>", "invalid-value", 3 },
		{ "<network>\n<name>x</name>\n<ip prefix='24'/>\n</network>", "missing-attribute", 3 },
		{ "<network>\n<name>x</name>\n<ip address='10.0.0.256' prefix='8'/>\n</network>", "invalid-value", 3 },
		{ "<network>\n<name>x</name>\n<ip address='10.0.0.1' prefix='0'/>\n</network>", "invalid-prefix", 3 },
		{ "<network>\n<name>x</name>\n<ip address='::1' prefix='129'/>\n</network>", "invalid-prefix", 3 },
		{ "<network>\n<name>x</name>\n<ip address='10.0.0.1' prefix='x'/>\n</network>", "invalid-value", 3 },
		{ "<network>\n<name>x</name>\n<ip address='10.0.0.1' netmask='255.0.255.0'/>\n</network>",
		  "invalid-netmask", 3 },
		{ "<network>\n<name>x</name>\n<ip address='2001:db8::1' netmask='255.255.0.0'/>\n</network>",
		  "invalid-netmask", 3 },
		{ "<network>\n<name>x</name>\n<ip address='10.0.0.1' netmask='255.0.0.0' prefix='8'/>\n</network>",
		  "invalid-value", 3 },
		{ "<network>\n<name>x</name>\n<ip address='10.0.0.1' prefix='8' family='ipv5'/>\n</network>",
		  "invalid-value", 3 },
		{ "<network>\n<name>x</name>\n<ip address='10.0.0.1' prefix='8' family='ipv6'/>\n</network>",
		  "family-mismatch", 3 },
		{ "<network>\n<name>x</name>\n<ip address='224.0.0.1'/>\n</network>", "missing-prefix", 3 },
		{ "<network>\n<name>x</name>\n<ip address='10.0.0.1' prefix='8'>\n<dhcp>\n<range end='10.0.0.9'/>"
		  "\n</dhcp>\n</ip>\n</network>",
		  "missing-attribute", 5 },
		{ "<network>\n<name>x</name>\n<ip address='10.0.0.1' prefix='8'>\n<dhcp>\n"
		  "<host mac='52:54:00:zz:00:01' ip='10.0.0.5'/>\n</dhcp>\n</ip>\n</network>",
		  "invalid-value", 5 },
		{ "<network>\n<uuid>0</uuid>\n</network>", "missing-name", 1 },
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(VwDiags) d = vw_diags_new();
		g_autoptr(VwDoc) doc = NULL;

		g_test_message("case %" G_GSIZE_FORMAT ": %s", i, cases[i].xml);
		doc = load("bad.xml", cases[i].xml, d, VW_LOAD_OK);
		assert_one(d, cases[i].code, cases[i].line);
	}
}

/* ---------------------------------------------------------------------- */

static const char domain_xml[] =
	"<domain type='kvm' id='3'>\n"
	"  <name>web1</name>\n"
	"  <uuid>c2168349-d7f7-434a-944a-327164f20e3f</uuid>\n"
	"  <metadata>\n"
	"    <vw:domain xmlns:vw='urn:virtwire:1'>\n"
	"      <vw:forward network='public' mac='52:54:00:aa:bb:20' name='web' proto='tcp' address='203.0.113.5' "
	"host-port='10080' guest-port='80'>\n"
	"        <vw:source address='198.51.100.0/24'/>\n"
	"      </vw:forward>\n"
	"      <vw:forward network='public' proto='udp' host-port='10000-10010'/>\n"
	"    </vw:domain>\n"
	"  </metadata>\n"
	"  <devices>\n"
	"    <interface type='network'>\n"
	"      <mac address='52:54:00:aa:bb:10'/>\n"
	"      <source network='public' portid='9f12e818-ebd7-4bf4-8694-25b182683b1e' bridge='vw-public'/>\n"
	"      <target dev='vnet0'/>\n"
	"    </interface>\n"
	"    <interface type='bridge'>\n"
	"      <mac address='52:54:00:aa:bb:20'/>\n"
	"      <source bridge='br0'/>\n"
	"    </interface>\n"
	"    <interface type='network'>\n"
	"      <source network='lxcnet'/>\n"
	"      <ip address='192.168.150.51' family='ipv4' prefix='24'/>\n"
	"      <ip address='2001:db8:150::51'/>\n"
	"      <route address='0.0.0.0' prefix='0' gateway='192.168.150.1'/>\n"
	"      <guest dev='eth0' actual='vnet2'/>\n"
	"    </interface>\n"
	"  </devices>\n"
	"</domain>\n";

static void test_domain(void)
{
	g_autoptr(VwDiags) d = vw_diags_new();
	g_autoptr(VwDoc) doc = load("web1.xml", domain_xml, d, VW_LOAD_OK);
	const VwDomain *dom = doc->domain;
	const VwInterface *i;
	const VwPrefix *p;
	const VwForward *f;

	assert_clean(d);
	g_assert_cmpint(doc->kind, ==, VW_DOC_DOMAIN);
	g_assert_null(doc->network);
	g_assert_cmpstr(dom->name, ==, "web1");
	g_assert_cmpstr(dom->uuid, ==, "c2168349-d7f7-434a-944a-327164f20e3f");
	g_assert_cmpstr(dom->type, ==, "kvm");
	g_assert_cmpint(dom->loc.line, ==, 1);
	g_assert_cmpuint(dom->interfaces->len, ==, 3);

	i = dom->interfaces->pdata[0];
	g_assert_cmpstr(i->type, ==, "network");
	g_assert_true(i->has_mac);
	assert_mac(&i->mac, "52:54:00:aa:bb:10");
	g_assert_cmpstr(i->source_network, ==, "public");
	g_assert_cmpstr(i->source_bridge, ==, "vw-public");
	g_assert_cmpstr(i->portid, ==, "9f12e818-ebd7-4bf4-8694-25b182683b1e");
	g_assert_cmpstr(i->target_dev, ==, "vnet0");
	g_assert_cmpint(i->loc.line, ==, line_of(domain_xml, "<interface type='network'>"));
	i = dom->interfaces->pdata[1];
	g_assert_cmpstr(i->type, ==, "bridge");
	g_assert_null(i->source_network);
	g_assert_cmpstr(i->source_bridge, ==, "br0");
	g_assert_null(i->target_dev);
	i = dom->interfaces->pdata[2];
	g_assert_false(i->has_mac);
	/* LXC: the host side of the veth before the start. */
	g_assert_cmpstr(i->target_dev, ==, "vnet2");
	g_assert_cmpuint(i->ips->len, ==, 2);
	p = i->ips->pdata[0];
	assert_addr(&p->addr, "192.168.150.51");
	g_assert_cmpuint(p->prefix, ==, 24);
	p = i->ips->pdata[1];
	g_assert_cmpuint(p->prefix, ==, 128);
	g_assert_cmpuint(i->routes->len, ==, 1);
	p = i->routes->pdata[0];
	g_assert_cmpuint(p->prefix, ==, 0);
	assert_addr(i->route_gws->pdata[0], "192.168.150.1");

	g_assert_nonnull(dom->vw);
	g_assert_cmpint(dom->vw->loc.line, ==, line_of(domain_xml, "<vw:domain"));
	g_assert_cmpuint(dom->vw->forwards->len, ==, 2);
	f = dom->vw->forwards->pdata[0];
	g_assert_cmpstr(f->network, ==, "public");
	g_assert_true(f->has_mac);
	assert_mac(&f->mac, "52:54:00:aa:bb:20");
	g_assert_cmpstr(f->name, ==, "web");
	g_assert_cmpint(f->proto, ==, VW_PROTO_TCP);
	assert_addr(&f->listen, "203.0.113.5");
	g_assert_cmpuint(f->host.lo, ==, 10080);
	g_assert_cmpuint(f->guest.lo, ==, 80);
	g_assert_false(f->has_guest_mac);
	g_assert_cmpuint(f->sources->len, ==, 1);
	g_assert_cmpint(f->loc.line, ==, line_of(domain_xml, "<vw:forward network='public' mac="));
	f = dom->vw->forwards->pdata[1];
	g_assert_false(f->has_mac);
	g_assert_cmpuint(f->host.hi, ==, 10010);
}

static void test_domain_no_metadata(void)
{
	static const char xml[] = "<domain type='lxc'>\n  <name>ct</name>\n</domain>\n";
	g_autoptr(VwDiags) d = vw_diags_new();
	g_autoptr(VwDoc) doc = load("ct.xml", xml, d, VW_LOAD_OK);

	assert_clean(d);
	g_assert_null(doc->domain->vw);
	g_assert_cmpuint(doc->domain->interfaces->len, ==, 0);
	g_assert_cmpstr(doc->domain->type, ==, "lxc");
}

/* ---------------------------------------------------------------------- */

static const char port_xml[] = "<networkport>\n"
			       "  <uuid>9f12e818-ebd7-4bf4-8694-25b182683b1e</uuid>\n"
			       "  <owner>\n"
			       "    <name>web1</name>\n"
			       "    <uuid>c2168349-d7f7-434a-944a-327164f20e3f</uuid>\n"
			       "  </owner>\n"
			       "  <mac address='52:54:00:aa:bb:01'/>\n"
			       "  <port isolated='yes'/>\n"
			       "  <plug type='network' bridge='vw-public'/>\n"
			       "</networkport>\n";

static void assert_port(const VwNetPort *p, int first_line)
{
	g_assert_cmpstr(p->uuid, ==, "9f12e818-ebd7-4bf4-8694-25b182683b1e");
	g_assert_cmpstr(p->owner_name, ==, "web1");
	g_assert_cmpstr(p->owner_uuid, ==, "c2168349-d7f7-434a-944a-327164f20e3f");
	g_assert_true(p->has_mac);
	assert_mac(&p->mac, "52:54:00:aa:bb:01");
	g_assert_cmpint(p->mac_loc.line, ==, first_line + 6);
	g_assert_cmpstr(p->plug_type, ==, "network");
	g_assert_cmpstr(p->plug_bridge, ==, "vw-public");
	g_assert_cmpint(p->isolated, ==, VW_TRI_YES);
	g_assert_cmpint(p->loc.line, ==, first_line);
}

static void test_networkport(void)
{
	g_autoptr(VwDiags) d = vw_diags_new();
	g_autoptr(VwDoc) doc = load("port.xml", port_xml, d, VW_LOAD_OK);

	assert_clean(d);
	g_assert_cmpint(doc->kind, ==, VW_DOC_NETWORKPORT);
	g_assert_null(doc->network);
	assert_port(doc->port, 1);
}

static void test_hookdata(void)
{
	g_autofree char *xml = g_strdup_printf("<hookData>\n"
					       "  <network>\n"
					       "    <name>public</name>\n"
					       "    <forward mode='nat'/>\n"
					       "    <bridge name='vw-public'/>\n"
					       "  </network>\n"
					       "%s"
					       "</hookData>\n",
					       port_xml);
	g_autoptr(VwDiags) d = vw_diags_new();
	g_autoptr(VwDoc) doc = load("hook.xml", xml, d, VW_LOAD_OK);

	assert_clean(d);
	g_assert_cmpint(doc->kind, ==, VW_DOC_HOOKDATA);
	g_assert_cmpstr(doc->network->name, ==, "public");
	g_assert_cmpint(doc->network->loc.line, ==, 2);
	g_assert_cmpint(doc->network->bridge_loc.line, ==, 5);
	g_assert_nonnull(doc->port);
	assert_port(doc->port, 7);
}

static void test_hookdata_network_only(void)
{
	static const char xml[] = "<hookData>\n  <network>\n    <name>public</name>\n  </network>\n</hookData>\n";
	g_autoptr(VwDiags) d = vw_diags_new();
	g_autoptr(VwDoc) doc = load("hook.xml", xml, d, VW_LOAD_OK);

	assert_clean(d);
	g_assert_null(doc->port);
	g_assert_cmpint(doc->network->forward, ==, VW_FWD_NONE);
}

static void test_hookdata_broken(void)
{
	static const char *const xml[] = {
		"<hookData>\n  <networkport/>\n</hookData>\n",
		"<hookData>\n  <network><name>a</name></network>\n  <network><name>b</name></network>\n</hookData>\n",
		"<hookData>\n  <network><name>a</name></network>\n  <networkport/>\n  <networkport/>\n</hookData>\n",
	};

	for (gsize i = 0; i < G_N_ELEMENTS(xml); i++) {
		g_autoptr(VwDiags) d = vw_diags_new();

		load("hook.xml", xml[i], d, VW_LOAD_MALFORMED);
		assert_one(d, "malformed-hookdata", 1);
	}
}

/* ---------------------------------------------------------------------- */
/* Metadata strictness */

#define META_NET(body)                                                                       \
	"<network>\n"                                                                        \
	"  <name>vwnat</name>\n"                                                             \
	"  <metadata>\n"                                                                     \
	"    <vw:network xmlns:vw='urn:virtwire:1' mode='nat'>\n" body "    </vw:network>\n" \
	"  </metadata>\n"                                                                    \
	"</network>\n"

static void test_meta_unknown_attribute(void)
{
	static const char xml[] = META_NET(
		"      <vw:forward proto='tcp' host-port='22' guest-adress='192.168.150.10'/>\n");
	g_autoptr(VwDiags) d = vw_diags_new();
	g_autoptr(VwDoc) doc = load("net.xml", xml, d, VW_LOAD_OK);
	const VwDiag *x = find_code(d, "unknown-attribute");

	g_assert_nonnull(x);
	g_assert_cmpint(x->loc.line, ==, 5);
	g_assert_nonnull(strstr(x->message, "'guest-adress'"));
	g_assert_true(g_str_has_prefix(x->hint, "did you mean 'guest-address'?"));
	/* Without the misspelt attribute the forward has no target. */
	g_assert_nonnull(find_code(d, "forward-target"));
	g_assert_cmpuint(d->items->len, ==, 2);
}

static void test_meta_unknown_attribute_far(void)
{
	/* Nothing close enough: no guess, just the valid names. */
	static const char xml[] = META_NET("      <vw:hairpin enabled='yes' colour='blue'/>\n");
	g_autoptr(VwDiags) d = vw_diags_new();
	g_autoptr(VwDoc) doc = load("net.xml", xml, d, VW_LOAD_OK);
	const VwDiag *x = assert_one(d, "unknown-attribute", 5);

	g_assert_cmpstr(x->hint, ==, "valid attributes: enabled");
}

static void test_meta_cases(void)
{
	static const struct {
		const char *body;
		const char *code;
		int line;
	} cases[] = {
		{ "      <vw:forwrd proto='tcp'/>\n", "unknown-element", 5 },
		{ "      <forward proto='tcp'/>\n", "unknown-element", 5 },
		{ "      <vw:hairpin enabled='yes'/>\n      <vw:hairpin enabled='no'/>\n", "duplicate-element", 6 },
		{ "      <vw:localhost enabled='yes'>\n      <vw:x/>\n      </vw:localhost>\n", "unknown-element", 6 },
		{ "      <vw:localhost enabled='sure'/>\n", "invalid-value", 5 },
		{ "      <vw:localhost/>\n", "missing-attribute", 5 },
		{ "      <vw:domain-forwards host-ports='1024-2048'/>\n", "missing-attribute", 5 },
		{ "      <vw:domain-forwards allow='yes' host-ports='2048-1024'/>\n", "port-range-order", 5 },
		{ "      <vw:nat address='203.0.113'/>\n", "invalid-address", 5 },
		{ "      <vw:nat uplink=' , '/>\n", "invalid-value", 5 },
		{ "      <vw:nat uplink='a b c d e f g h i'/>\n", "too-many", 5 },
		{ "      text\n", "unexpected-text", 5 },
		{ "      <vw:hairpin enabled='yes'>\n        on\n\n      </vw:hairpin>\n", "unexpected-text", 6 },
		{ "      <vw:forward proto='tcp' host-port='22' guest-address='10.0.0.2' "
		  "guest-mac='52:54:00:00:00:01'/>\n",
		  "forward-target", 5 },
		{ "      <vw:forward proto='tcp' host-port='22'/>\n", "forward-target", 5 },
		{ "      <vw:forward host-port='22' guest-address='10.0.0.2'/>\n", "missing-attribute", 5 },
		{ "      <vw:forward proto='gre' host-port='22' guest-address='10.0.0.2'/>\n", "invalid-protocol", 5 },
		{ "      <vw:forward proto='tcp' guest-address='10.0.0.2'/>\n", "missing-attribute", 5 },
		{ "      <vw:forward proto='tcp' host-port='0' guest-address='10.0.0.2'/>\n", "invalid-port", 5 },
		{ "      <vw:forward proto='tcp' host-port='65536' guest-address='10.0.0.2'/>\n", "invalid-port", 5 },
		{ "      <vw:forward proto='tcp' host-port='1-2-3' guest-address='10.0.0.2'/>\n", "invalid-port", 5 },
		{ "      <vw:forward proto='tcp' host-port='99999999999999999999' guest-address='10.0.0.2'/>\n",
		  "invalid-port", 5 },
		{ "      <vw:forward proto='tcp' host-port='22' guest-port='x' guest-address='10.0.0.2'/>\n",
		  "invalid-port", 5 },
		{ "      <vw:forward proto='tcp' host-port='9-1' guest-address='10.0.0.2'/>\n", "port-range-order", 5 },
		{ "      <vw:forward proto='tcp' host-port='22' address='x' guest-address='10.0.0.2'/>\n",
		  "invalid-address", 5 },
		{ "      <vw:forward proto='tcp' host-port='22' guest-address='10.0.0.300'/>\n", "invalid-address", 5 },
		{ "      <vw:forward proto='tcp' host-port='22' guest-mac='52:54:00'/>\n", "invalid-mac", 5 },
		{ "      <vw:forward name='' proto='tcp' host-port='22' guest-address='10.0.0.2'/>\n", "invalid-value",
		  5 },
		{ "      <vw:forward proto='tcp' host-port='22' guest-address='10.0.0.2'>\n"
		  "        <vw:source address='10.0.0.0/40'/>\n      </vw:forward>\n",
		  "invalid-source", 6 },
		{ "      <vw:forward proto='tcp' host-port='22' guest-address='10.0.0.2'>\n"
		  "        <vw:source/>\n      </vw:forward>\n",
		  "missing-attribute", 6 },
		{ "      <vw:forward proto='tcp' host-port='22' guest-address='10.0.0.2' vw:x='1'/>\n",
		  "unknown-attribute", 5 },
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *xml = g_strdup_printf(META_NET("%s"), cases[i].body);
		g_autoptr(VwDiags) d = vw_diags_new();
		g_autoptr(VwDoc) doc = NULL;

		g_test_message("case %" G_GSIZE_FORMAT ": %s", i, cases[i].body);
		doc = load("net.xml", xml, d, VW_LOAD_OK);
		assert_one(d, cases[i].code, cases[i].line);
	}
}

static void test_meta_top_level(void)
{
	static const struct {
		const char *meta;
		const char *code;
		int line;
	} cases[] = {
		{ "<vw:network xmlns:vw='urn:virtwire:1'/>\n<vw:network xmlns:vw='urn:virtwire:1'/>",
		  "duplicate-element", 5 },
		{ "<vw:network xmlns:vw='urn:virtwire:2'/>", "metadata-version", 4 },
		{ "<vw:domain xmlns:vw='urn:virtwire:1'/>", "misplaced-element", 4 },
		{ "<vw:netwrok xmlns:vw='urn:virtwire:1'/>", "unknown-element", 4 },
		{ "<vw:network xmlns:vw='urn:virtwire:1' mode='nat-ish'/>", "invalid-mode", 4 },
		{ "<vw:network xmlns:vw='urn:virtwire:1' uplinks='eth0'/>", "unknown-attribute", 4 },
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *xml = g_strdup_printf(
			"<network>\n<name>x</name>\n<metadata>\n%s\n</metadata>\n</network>\n", cases[i].meta);
		g_autoptr(VwDiags) d = vw_diags_new();
		g_autoptr(VwDoc) doc = NULL;

		g_test_message("case %" G_GSIZE_FORMAT ": %s", i, cases[i].meta);
		doc = load("net.xml", xml, d, VW_LOAD_OK);
		assert_one(d, cases[i].code, cases[i].line);
	}
}

static void test_meta_domain(void)
{
	static const struct {
		const char *meta;
		const char *code;
		int line;
	} cases[] = {
		{ "<vw:network xmlns:vw='urn:virtwire:1'/>", "misplaced-element", 4 },
		{ "<vw:domain xmlns:vw='urn:virtwire:1' x='1'/>", "unknown-attribute", 4 },
		{ "<vw:domain xmlns:vw='urn:virtwire:1'>\n<vw:hairpin enabled='yes'/>\n</vw:domain>", "unknown-element",
		  5 },
		{ "<vw:domain xmlns:vw='urn:virtwire:1'>\n<vw:forward proto='tcp' host-port='1'/>\n</vw:domain>",
		  "missing-attribute", 5 },
		{ "<vw:domain xmlns:vw='urn:virtwire:1'>\n<vw:forward network='n' proto='tcp' host-port='1' "
		  "guest-mac='52:54:00:00:00:01'/>\n</vw:domain>",
		  "domain-forward-target", 5 },
		{ "<vw:domain xmlns:vw='urn:virtwire:1'>\n<vw:forward network='n' mac='52:54' proto='tcp' "
		  "host-port='1'/>\n</vw:domain>",
		  "invalid-mac", 5 },
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *xml = g_strdup_printf(
			"<domain type='kvm'>\n<name>x</name>\n<metadata>\n%s\n</metadata>\n</domain>\n", cases[i].meta);
		g_autoptr(VwDiags) d = vw_diags_new();
		g_autoptr(VwDoc) doc = NULL;

		g_test_message("case %" G_GSIZE_FORMAT ": %s", i, cases[i].meta);
		doc = load("dom.xml", xml, d, VW_LOAD_OK);
		assert_one(d, cases[i].code, cases[i].line);
	}
}

/* ---------------------------------------------------------------------- */
/* Hard caps, built in memory */

static void test_cap_forwards(void)
{
	GString *xml = g_string_new("<network>\n  <name>big</name>\n  <metadata>\n"
				    "    <vw:network xmlns:vw='urn:virtwire:1' mode='nat'>\n");
	g_autofree char *buf = NULL;
	g_autoptr(VwDiags) d = vw_diags_new();
	g_autoptr(VwDoc) doc = NULL;
	const VwForward *last;

	/* Line 5 onwards: one forward per line, 65,537 of them. */
	for (unsigned i = 0; i < VW_MAX_FORWARDS + 1; i++)
		g_string_append_printf(xml, "      <vw:forward proto='%s' host-port='%u' guest-address='10.0.0.2'/>\n",
				       i < 65535 ? "tcp" : "udp", i % 65535 + 1);
	g_string_append(xml, "    </vw:network>\n  </metadata>\n</network>\n");
	buf = g_string_free(xml, FALSE);
	doc = load("big.xml", buf, d, VW_LOAD_OK);
	g_assert_cmpuint(doc->network->vw->forwards->len, ==, VW_MAX_FORWARDS);
	/* Line numbers past 65535 stay right (XML_PARSE_BIG_LINES). */
	last = doc->network->vw->forwards->pdata[VW_MAX_FORWARDS - 1];
	g_assert_cmpint(last->loc.line, ==, 4 + VW_MAX_FORWARDS);
	assert_one(d, "too-many", 5 + VW_MAX_FORWARDS);
}

static void test_cap_sources(void)
{
	GString *xml = g_string_new("<network>\n  <name>src</name>\n  <metadata>\n"
				    "    <vw:network xmlns:vw='urn:virtwire:1' mode='nat'>\n"
				    "      <vw:forward proto='tcp' host-port='22' guest-address='10.0.0.2'>\n");
	g_autofree char *buf = NULL;
	g_autoptr(VwDiags) d = vw_diags_new();
	g_autoptr(VwDoc) doc = NULL;
	const VwForward *f;

	for (unsigned i = 0; i < VW_MAX_SOURCES + 1; i++)
		g_string_append_printf(xml, "        <vw:source address='198.51.100.%u'/>\n", i + 1);
	g_string_append(xml, "      </vw:forward>\n    </vw:network>\n  </metadata>\n</network>\n");
	buf = g_string_free(xml, FALSE);
	doc = load("src.xml", buf, d, VW_LOAD_OK);
	f = doc->network->vw->forwards->pdata[0];
	g_assert_cmpuint(f->sources->len, ==, VW_MAX_SOURCES);
	assert_one(d, "too-many", 6 + VW_MAX_SOURCES);
}

static void test_cap_ips_interfaces(void)
{
	GString *net = g_string_new("<network>\n<name>ips</name>\n");
	GString *dom = g_string_new("<domain type='kvm'>\n<name>many</name>\n<devices>\n");
	g_autofree char *nbuf = NULL, *dbuf = NULL;
	g_autoptr(VwDiags) d = vw_diags_new();
	g_autoptr(VwDiags) d2 = vw_diags_new();
	g_autoptr(VwDoc) ndoc = NULL, ddoc = NULL;

	for (unsigned i = 0; i < VW_MAX_IPS + 1; i++)
		g_string_append_printf(net, "<ip address='10.%u.0.1' prefix='16'/>\n", i);
	g_string_append(net, "</network>\n");
	nbuf = g_string_free(net, FALSE);
	ndoc = load("ips.xml", nbuf, d, VW_LOAD_OK);
	g_assert_cmpuint(ndoc->network->ips->len, ==, VW_MAX_IPS);
	assert_one(d, "too-many", 3 + VW_MAX_IPS);

	for (unsigned i = 0; i < VW_MAX_INTERFACES + 1; i++)
		g_string_append_printf(dom, "<interface type='network'><source network='n'/></interface>\n");
	g_string_append(dom, "</devices>\n</domain>\n");
	dbuf = g_string_free(dom, FALSE);
	ddoc = load("many.xml", dbuf, d2, VW_LOAD_OK);
	g_assert_cmpuint(ddoc->domain->interfaces->len, ==, VW_MAX_INTERFACES);
	assert_one(d2, "too-many", 4 + VW_MAX_INTERFACES);
}

static void test_cap_dhcp(void)
{
	GString *xml = g_string_new("<network>\n<name>dhcp</name>\n<ip address='10.0.0.1' prefix='8'>\n<dhcp>\n");
	g_autofree char *buf = NULL;
	g_autoptr(VwDiags) d = vw_diags_new();
	g_autoptr(VwDoc) doc = NULL;
	const VwIp *ip;

	for (unsigned i = 0; i < VW_MAX_DHCP_RANGES + 1; i++)
		g_string_append_printf(xml, "<range start='10.1.%u.1' end='10.1.%u.9'/>\n", i, i);
	g_string_append(xml, "</dhcp>\n</ip>\n</network>\n");
	buf = g_string_free(xml, FALSE);
	doc = load("dhcp.xml", buf, d, VW_LOAD_OK);
	ip = doc->network->ips->pdata[0];
	g_assert_cmpuint(ip->ranges->len, ==, VW_MAX_DHCP_RANGES);
	assert_one(d, "too-many", 5 + VW_MAX_DHCP_RANGES);
}

/* ---------------------------------------------------------------------- */
/* Documents that cannot be used */

static void test_malformed(void)
{
	static const struct {
		const char *xml;
		int line;
	} cases[] = {
		{ "<network>\n  <name>x</name>\n  <forward mode='open'>\n</network>\n", 4 },
		{ "<network>\n  <name>x</name\n</network>\n", 3 },
		{ "<network>\n  <forward mode=open/>\n</network>\n", 2 },
		{ "<network>&undefined;</network>\n", 1 },
		{ "", 1 },
		{ "   \n", 2 },
		{ "<network/><network/>", 1 },
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(VwDiags) d = vw_diags_new();

		g_test_message("case %" G_GSIZE_FORMAT ": %s", i, cases[i].xml);
		load("bad.xml", cases[i].xml, d, VW_LOAD_MALFORMED);
		/* One finding: the first fatal error, not the wreckage after it. */
		assert_one(d, "malformed-xml", cases[i].line);
	}
}

static void test_unknown_document(void)
{
	static const char *const xml[] = {
		"<interface type='ethernet' name='eth0'/>\n",
		"<pool type='dir'><name>x</name></pool>\n",
		"<vw:network xmlns:vw='urn:virtwire:1'/>\n",
		"<network xmlns='http://example.org/ns'><name>x</name></network>\n",
	};

	for (gsize i = 0; i < G_N_ELEMENTS(xml); i++) {
		g_autoptr(VwDiags) d = vw_diags_new();

		load("doc.xml", xml[i], d, VW_LOAD_MALFORMED);
		assert_one(d, "unknown-document", 1);
	}
}

static void test_too_large(void)
{
	g_autoptr(VwDiags) d = vw_diags_new();
	VwDoc *doc = (VwDoc *)0x1;

	/* The size is refused before a byte is read. */
	g_assert_cmpint(vw_doc_load_memory("huge.xml", "<", (size_t)VW_MAX_FILE_SIZE + 1, NULL, d, &doc), ==,
			VW_LOAD_MALFORMED);
	g_assert_null(doc);
	assert_one(d, "file-too-large", 0);
}

static void test_unreadable(void)
{
	g_autoptr(VwDiags) d = vw_diags_new();
	VwDoc *doc = NULL;

	g_assert_cmpint(vw_doc_load_file("/nonexistent/virtwire/net.xml", NULL, d, &doc), ==, VW_LOAD_UNREADABLE);
	g_assert_null(doc);
	assert_one(d, "unreadable", 0);
}

/* ---------------------------------------------------------------------- */
/* What a document may cost */

/* An empty <name> is the checker's to refuse (network-name), as any other
 * name it cannot take. */
static void test_network_empty_name(void)
{
	static const char xml[] = "<network>\n<name>  </name>\n</network>\n";
	g_autoptr(VwDiags) d = vw_diags_new();
	g_autoptr(VwDoc) doc = load("n.xml", xml, d, VW_LOAD_OK);

	assert_clean(d);
	g_assert_cmpstr(doc->network->name, ==, "");
}

#define NET_TAIL "<forward mode='nat'/>\n<ip address='192.168.150.1' prefix='24'/>\n</network>\n"

/* Every form of DOCTYPE is refused where it starts, before anything in it
 * is read: libvirt never writes one. */
static void test_doctype(void)
{
	static const char *const xml[] = {
		/* An internal entity, in text and in an attribute. */
		"<?xml version='1.0'?>\n<!DOCTYPE network [ <!ENTITY e 'vwnat'> "
		"]>\n<network>\n<name>&e;</name>\n" NET_TAIL,
		"<?xml version='1.0'?>\n<!DOCTYPE network [ <!ENTITY e 'vw-nat'> ]>\n<network>\n<name>x</name>\n"
		"<bridge name='&e;'/>\n" NET_TAIL,
		/* An external entity: never read. */
		"<?xml version='1.0'?>\n<!DOCTYPE network [ <!ENTITY x SYSTEM 'file:///etc/hostname'> ]>\n<network>\n"
		"<name>&x;</name>\n" NET_TAIL,
		/* A parameter entity that declares another. */
		"<?xml version='1.0'?>\n<!DOCTYPE network [ <!ENTITY % p \"<!ENTITY q 'Q'>\"> %p; ]>\n<network>\n"
		"<name>&q;</name>\n" NET_TAIL,
		/* An external subset only, and a bare DOCTYPE. */
		"<?xml version='1.0'?>\n<!DOCTYPE network SYSTEM 'http://example.invalid/network.dtd'>\n<network>\n"
		"<name>x</name>\n" NET_TAIL,
		"<?xml version='1.0'?>\n<!DOCTYPE network PUBLIC '-//x//y' "
		"'network.dtd'>\n<network>\n<name>x</name>\n" NET_TAIL,
		"<!-- first -->\n<!DOCTYPE network>\n<network>\n<name>x</name>\n" NET_TAIL,
		"<?xml version='1.0'?>\n<!DOCTYPE hookData [ <!ENTITY e 'x'> "
		"]>\n<hookData>\n<network>\n<name>&e;</name>\n"
		"</network>\n</hookData>\n",
	};

	for (gsize i = 0; i < G_N_ELEMENTS(xml); i++) {
		g_autoptr(VwDiags) d = vw_diags_new();
		const VwDiag *x;

		g_test_message("case %" G_GSIZE_FORMAT ": %s", i, xml[i]);
		load("dtd.xml", xml[i], d, VW_LOAD_MALFORMED);
		x = assert_one(d, "doctype", 2);
		g_assert_cmpstr(x->message, ==, "libvirt documents have no DOCTYPE; remove it");
	}
}

/* AddressSanitizer reserves terabytes of address space: no RLIMIT_AS there. */
#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

typedef enum { THROUGH_PARSER, THROUGH_SCHEMA, THROUGH_CHECK } Through;

/* Loads @xml through @through: it must be refused with one finding, @code,
 * in well under a second, and the peak RSS of this (fresh) process must grow
 * by less than 64 MiB. */
static void assert_refused_cheaply(const char *what, const char *xml, Through through, const char *code)
{
	static const char *const how[] = { "parser", "parser+schema", "check" };
	g_autoptr(VwSchemas) s = through == THROUGH_PARSER ? NULL : vw_schemas_new(NULL);
	g_autoptr(VwDiags) d = vw_diags_new();
	g_autoptr(GPtrArray) docs = g_ptr_array_new_with_free_func((GDestroyNotify)vw_doc_free);
	struct rusage before, after;
	VwDoc *doc = NULL;
	gint64 start, took;

	g_assert_cmpint(getrusage(RUSAGE_SELF, &before), ==, 0);
	start = g_get_monotonic_time();
	g_assert_cmpint(vw_doc_load_memory("big.xml", xml, strlen(xml), s, d, &doc), ==, VW_LOAD_MALFORMED);
	if (through == THROUGH_CHECK)
		vw_check_docs(docs, d);
	took = g_get_monotonic_time() - start;
	g_assert_cmpint(getrusage(RUSAGE_SELF, &after), ==, 0);
	g_test_message("%s through the %s: %" G_GINT64_FORMAT " us, peak RSS %ld KiB (%ld before)", what, how[through],
		       took, after.ru_maxrss, before.ru_maxrss);
	g_assert_null(doc);
	g_assert_cmpuint(d->items->len, ==, 1);
	g_assert_cmpstr(((const VwDiag *)d->items->pdata[0])->code, ==, code);
	g_assert_cmpint(took, <, G_USEC_PER_SEC / 2);
	g_assert_cmpint(after.ru_maxrss - before.ru_maxrss, <, 64 * 1024);
}

/* Entity expansion: a 110 KB file that declares one 50 KB entity and uses
 * it 20,000 times (1 GB once expanded: more than 4 GB allocated by the
 * parser, the tree and RelaxNG before), in text and in an attribute; and
 * the classic billion laughs. In a fresh process (its peak RSS is this
 * test's alone) held to 1 GiB of address space. */
static void test_doctype_bounded(void)
{
	g_autofree char *big = g_strnfill(50000, 'A');
	g_autoptr(GString) refs = g_string_new(NULL);
	g_autoptr(GString) laughs = g_string_new("<?xml version='1.0'?>\n<!DOCTYPE network [\n<!ENTITY l0 'lol'>\n");
	g_autofree char *in_text = NULL, *in_attr = NULL;
	struct rlimit as = { 1ul << 30, 1ul << 30 };

	if (!g_test_subprocess()) {
		g_test_trap_subprocess(NULL, 60 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_DEFAULT);
		g_test_trap_assert_passed();
		return;
	}
#ifndef UNDER_ASAN
	g_assert_cmpint(setrlimit(RLIMIT_AS, &as), ==, 0);
#else
	(void)as;
#endif
	for (int i = 0; i < 20000; i++)
		g_string_append(refs, "&e;");
	in_text = g_strdup_printf("<?xml version='1.0'?>\n<!DOCTYPE network [ <!ENTITY e '%s'> ]>\n<network>\n"
				  "<name>n</name>\n<uuid>%s</uuid>\n" NET_TAIL,
				  big, refs->str);
	in_attr = g_strdup_printf("<?xml version='1.0'?>\n<!DOCTYPE network [ <!ENTITY e '%s'> ]>\n<network>\n"
				  "<name>n</name>\n<bridge name='%s'/>\n" NET_TAIL,
				  big, refs->str);
	for (int i = 1; i <= 9; i++) {
		g_string_append_printf(laughs, "<!ENTITY l%d '", i);
		for (int j = 0; j < 10; j++)
			g_string_append_printf(laughs, "&l%d;", i - 1);
		g_string_append(laughs, "'>\n");
	}
	g_string_append(laughs, "]>\n<network>\n<name>&l9;</name>\n" NET_TAIL);
	for (Through t = THROUGH_PARSER; t <= THROUGH_CHECK; t++) {
		assert_refused_cheaply("50 KB entity x 20,000 in text", in_text, t, "doctype");
		assert_refused_cheaply("50 KB entity x 20,000 in an attribute", in_attr, t, "doctype");
		assert_refused_cheaply("billion laughs", laughs->str, t, "doctype");
	}
}

/* libxml2 2.9 checks one element's attributes for duplicates in time
 * quadratic in their number: 80,000 took 9 s. */
static void test_too_many_attributes(void)
{
	g_autoptr(GString) xml = g_string_new("<network>\n<name>x</name>\n<metadata>\n<o:x xmlns:o='urn:o'");
	g_autoptr(VwDiags) d = vw_diags_new();
	g_autoptr(VwDiags) d2 = vw_diags_new();
	g_autoptr(VwDoc) ok = NULL;
	gint64 start;

	/* VW_MAX_ATTRIBUTES, the xmlns declaration one of them, with '>' and
	 * '=' inside values and a comment that looks like a tag before. */
	for (int i = 1; i < VW_MAX_ATTRIBUTES; i++)
		g_string_append_printf(xml, " a%d='=>\"'", i);
	g_string_append(xml, "/>\n<!-- <o:y a=1 b=2> -->\n</metadata>\n" NET_TAIL);
	ok = load("ok.xml", xml->str, d, VW_LOAD_OK);
	assert_clean(d);

	g_string_assign(xml, "<network>\n<name>x</name>\n<bridge name='b'");
	for (int i = 0; i < 80000; i++)
		g_string_append_printf(xml, " a%d=''", i);
	g_string_append(xml, "/>\n" NET_TAIL);
	start = g_get_monotonic_time();
	load("many.xml", xml->str, d2, VW_LOAD_MALFORMED);
	g_assert_cmpint(g_get_monotonic_time() - start, <, G_USEC_PER_SEC / 2);
	g_assert_cmpstr(assert_one(d2, "too-many", 3)->message, ==, "<bridge> has more than 256 attributes");
}

/* A network whose metadata holds @n times @unit. */
static char *network_of(const char *unit, int n)
{
	GString *xml = g_string_new("<network>\n<name>x</name>\n<metadata>\n<o:x xmlns:o='urn:o'>\n");

	for (int j = 0; j < n; j++)
		g_string_append(xml, unit);
	g_string_append(xml, "</o:x>\n</metadata>\n" NET_TAIL);
	return g_string_free(xml, FALSE);
}

/* The tree stops growing at the cap, whatever its nodes are (here a cap
 * of 1,000 instead of VW_MAX_NODES, with the same code). */
static void test_too_many_nodes(void)
{
	static const char *const units[] = { "<b/>",	 "<b a='1' c='2'/>", "<!-- c -->",
					     "<?pi x?>", "<![CDATA[x]]>",    "<b>x</b>\n" };

	for (gsize i = 0; i < G_N_ELEMENTS(units); i++) {
		g_autofree char *fits = network_of(units[i], 300);
		g_autofree char *over = network_of(units[i], 1000);
		g_autoptr(VwDiags) d = vw_diags_new();
		g_autoptr(VwDiags) d2 = vw_diags_new();
		VwDoc *doc = NULL;

		g_test_message("%s", units[i]);
		g_assert_cmpint(vw_xml_load_capped("n.xml", fits, strlen(fits), NULL, 1000, false, d, &doc), ==,
				VW_LOAD_OK);
		assert_clean(d);
		vw_doc_free(doc);
		doc = NULL;
		g_assert_cmpint(vw_xml_load_capped("n.xml", over, strlen(over), NULL, 1000, false, d2, &doc), ==,
				VW_LOAD_MALFORMED);
		g_assert_null(doc);
		/* On the line where the cap is reached. */
		g_assert_cmpuint(d2->items->len, ==, 1);
		g_assert_cmpstr(((const VwDiag *)d2->items->pdata[0])->code, ==, "too-many");
		g_assert_cmpstr(((const VwDiag *)d2->items->pdata[0])->message, ==,
				"the document has more than 1000 elements, attributes and pieces of text");
	}
}

/* UTF-8 only, whatever the document declares: the scan before parsing reads
 * its bytes as UTF-8. */
static void test_encoding(void)
{
	static const char latin1[] =
		"<?xml version='1.0' encoding='ISO-8859-1'?>\n<network>\n<name>caf\xe9</name>\n" NET_TAIL;
	static const char ascii[] =
		"<?xml version='1.0' encoding='ISO-8859-1'?>\n<network>\n<name>cafe</name>\n" NET_TAIL;
	static const char utf16[] = "\xff\xfe<\0n\0e\0t\0w\0o\0r\0k\0/\0>\0";
	g_autoptr(VwDiags) d = vw_diags_new();
	g_autoptr(VwDiags) d2 = vw_diags_new();
	g_autoptr(VwDiags) d3 = vw_diags_new();
	g_autoptr(VwDoc) doc = NULL;
	VwDoc *none = NULL;

	load("l.xml", latin1, d, VW_LOAD_MALFORMED);
	g_assert_nonnull(strstr(assert_one(d, "malformed-xml", 3)->hint, "UTF-8"));
	doc = load("a.xml", ascii, d2, VW_LOAD_OK);
	assert_clean(d2);
	g_assert_cmpint(vw_doc_load_memory("u.xml", utf16, sizeof(utf16) - 1, NULL, d3, &none), ==, VW_LOAD_MALFORMED);
	g_assert_nonnull(strstr(assert_one(d3, "malformed-xml", 1)->message, "not in UTF-8"));
}

/* Past line 65535 an element's line is counted back over the text after
 * it, once: not once per finding (250 findings on an element followed by
 * 8 MB of newlines scanned 2 GB). */
static void test_big_lines_counted_once(void)
{
	g_autoptr(GString) xml = g_string_new("<network>\n<name>x</name>\n<forward mode='open'/>\n");
	g_autoptr(VwDiags) d = vw_diags_new();
	g_autoptr(VwDoc) doc = NULL;
	gint64 start;
	int line;

	for (int i = 0; i < 70000; i++)
		g_string_append_c(xml, '\n');
	line = 4 + 70000;
	g_string_append(xml, "<metadata><vw:network xmlns:vw='urn:virtwire:1' mode='nat'");
	for (int i = 0; i < 250; i++)
		g_string_append_printf(xml, " z%d=''", i);
	g_string_append(xml, ">");
	for (int i = 0; i < (8 << 20); i++)
		g_string_append_c(xml, '\n');
	g_string_append(xml, "</vw:network></metadata>\n<ip address='192.168.150.1' prefix='24'/>\n</network>\n");
	start = g_get_monotonic_time();
	doc = load("lines.xml", xml->str, d, VW_LOAD_OK);
	g_assert_cmpint(g_get_monotonic_time() - start, <, G_USEC_PER_SEC / 2);
	g_assert_cmpuint(d->items->len, ==, 250);
	for (guint i = 0; i < d->items->len; i++)
		g_assert_cmpint(((const VwDiag *)d->items->pdata[i])->loc.line, ==, line);
}

/* Blanks between forwards are one text node (forward.c): an element after
 * them, and one after text that is not blank, keeps its line, past 65535
 * too. */
static void test_lines_after_forwards(void)
{
	g_autoptr(GString) xml = g_string_new("<network>\n<name>x</name>\n<forward mode='open'/>\n<metadata>\n"
					      "<vw:network xmlns:vw='urn:virtwire:1' mode='nat'>\n");
	g_autoptr(VwDiags) d = vw_diags_new();
	g_autoptr(VwDoc) doc = NULL;
	int next = 6, first = 0, second; /* the line written next */

	for (int i = 0; i < 40000; i++) {
		g_string_append_printf(xml, "<vw:forward proto='tcp' host-port='%d' guest-address='10.0.0.2'/>\n\n",
				       i + 1);
		next += 2;
		if (i == 100) {
			g_string_append(xml, "<vw:hairpin enabled='maybe'/>\n");
			first = next++;
		}
	}
	g_string_append(xml, "  \n <vw:localhost enabled='maybe'/>\n</vw:network>\n</metadata>\n</network>\n");
	second = next + 1;
	g_assert_cmpint(second, >, 65535);
	doc = load("lines.xml", xml->str, d, VW_LOAD_OK);
	g_assert_cmpuint(d->items->len, ==, 2);
	for (guint i = 0; i < d->items->len; i++)
		g_assert_cmpstr(((const VwDiag *)d->items->pdata[i])->code, ==, "invalid-value");
	g_assert_cmpint(((const VwDiag *)d->items->pdata[0])->loc.line, ==, first);
	g_assert_cmpint(((const VwDiag *)d->items->pdata[1])->loc.line, ==, second);
}

/* ---------------------------------------------------------------------- */
/* Schemas */

static void test_schema_missing(void)
{
	g_autoptr(VwSchemas) s = vw_schemas_new("/nonexistent/virtwire-schemas");
	g_autoptr(VwDiags) d = vw_diags_new();
	g_autoptr(VwDoc) a = NULL, b = NULL;
	const VwDiag *x;

	g_assert_cmpint(vw_doc_load_memory("a.xml", network_xml, strlen(network_xml), s, d, &a), ==, VW_LOAD_OK);
	g_assert_cmpint(vw_doc_load_memory("b.xml", domain_xml, strlen(domain_xml), s, d, &b), ==, VW_LOAD_OK);
	/* One warning for the missing folder, whatever needed it. */
	x = assert_one(d, "schema-missing", 0);
	g_assert_cmpint(x->severity, ==, VW_SEV_WARNING);
	g_assert_null(x->loc.file);
	g_assert_cmpstr(vw_schema_file_for(VW_DOC_HOOKDATA), ==, "network.rng");
	g_assert_cmpstr(vw_schema_file_for(VW_DOC_DOMAIN), ==, "domain.rng");
	g_assert_cmpstr(vw_schema_file_for(VW_DOC_NETWORKPORT), ==, "networkport.rng");
}

static bool have_schemas(void)
{
	g_autofree char *p = g_build_filename(VW_SCHEMA_DIR_DEFAULT, "network.rng", NULL);

	if (g_file_test(p, G_FILE_TEST_EXISTS))
		return true;
	g_test_skip("libvirt's schemas are not installed");
	return false;
}

static void test_schema_validation(void)
{
	static const char bad[] = "<network>\n"
				  "  <name>x</name>\n"
				  "  <colour>in no libvirt schema</colour>\n"
				  "  <bridge name='vw-x'/>\n"
				  "</network>\n";
	g_autofree char *hook = NULL;
	g_autoptr(VwSchemas) s = NULL;
	g_autoptr(VwDiags) d = vw_diags_new();
	g_autoptr(VwDiags) d2 = vw_diags_new();
	g_autoptr(VwDiags) d3 = vw_diags_new();
	g_autoptr(VwDoc) a = NULL, b = NULL, c = NULL, e = NULL, f = NULL;

	if (!have_schemas())
		return;
	s = vw_schemas_new(NULL);
	g_assert_cmpint(vw_doc_load_memory("a.xml", network_xml, strlen(network_xml), s, d, &a), ==, VW_LOAD_OK);
	g_assert_cmpint(vw_doc_load_memory("b.xml", domain_xml, strlen(domain_xml), s, d, &b), ==, VW_LOAD_OK);
	g_assert_cmpint(vw_doc_load_memory("c.xml", port_xml, strlen(port_xml), s, d, &c), ==, VW_LOAD_OK);
	assert_clean(d);
	g_assert_cmpint(vw_doc_load_memory("bad.xml", bad, strlen(bad), s, d2, &e), ==, VW_LOAD_OK);
	/* One finding for <colour> (in no libvirt version: <title> was
	 * refused by 9.0 and is valid from 10), on its own line. */
	assert_one(d2, "schema", 3);

	/* Inside hookData, the inner network is validated with this file's lines. */
	hook = g_strdup_printf("<hookData>\n%s</hookData>\n", bad);
	g_assert_cmpint(vw_doc_load_memory("hook.xml", hook, strlen(hook), s, d3, &f), ==, VW_LOAD_OK);
	assert_one(d3, "schema", 4);
}

/* libxml2's RelaxNG takes time superlinear in a run of siblings (40,000
 * <route> took 2 s, 80,000 6 s): past VW_MAX_SCHEMA_SIBLINGS (a <dhcp>
 * holds more) the schema is not run, and the document is refused. */
static void test_schema_size(void)
{
	g_autoptr(GString) xml = g_string_new("<network>\n<name>x</name>\n<forward mode='nat'/>\n"
					      "<ip address='10.0.0.1' prefix='8'>\n<dhcp>\n");
	g_autoptr(VwSchemas) s = NULL;
	g_autoptr(VwDiags) d = vw_diags_new();
	g_autoptr(VwDiags) d2 = vw_diags_new();
	g_autoptr(VwDoc) ok = NULL, many = NULL;
	gint64 start;

	if (!have_schemas())
		return;
	s = vw_schemas_new(NULL);
	/* More hosts in a <dhcp> than other elements may have children. */
	for (unsigned i = 0; i < VW_MAX_SCHEMA_SIBLINGS + 1; i++)
		g_string_append_printf(xml, "<host mac='52:54:00:00:%02x:%02x' ip='10.1.%u.%u'/>\n", i >> 8, i & 255,
				       i >> 8, i & 255);
	g_string_append(xml, "</dhcp>\n</ip>\n</network>\n");
	g_assert_cmpint(vw_doc_load_memory("ok.xml", xml->str, xml->len, s, d, &ok), ==, VW_LOAD_OK);
	assert_clean(d);

	g_string_assign(
		xml, "<network>\n<name>x</name>\n<forward mode='nat'/>\n<ip address='192.168.150.1' prefix='24'/>\n");
	for (unsigned i = 0; i < 40000; i++)
		g_string_append_printf(xml, "<route address='10.%u.%u.0' prefix='24' gateway='192.168.150.2'/>\n",
				       i >> 8, i & 255);
	g_string_append(xml, "</network>\n");
	start = g_get_monotonic_time();
	g_assert_cmpint(vw_doc_load_memory("many.xml", xml->str, xml->len, s, d2, &many), ==, VW_LOAD_OK);
	g_assert_cmpint(g_get_monotonic_time() - start, <, G_USEC_PER_SEC);
	g_assert_cmpstr(assert_one(d2, "too-many", 1)->message, ==,
			"<network> has more than 4096 child elements: too many for libvirt's schema to be checked on");
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/parse/network", test_network);
	g_test_add_func("/parse/network-defaults", test_network_defaults);
	g_test_add_func("/parse/network-isolated", test_network_isolated);
	g_test_add_func("/parse/network-bad-values", test_network_bad_values);
	g_test_add_func("/parse/domain", test_domain);
	g_test_add_func("/parse/domain-no-metadata", test_domain_no_metadata);
	g_test_add_func("/parse/networkport", test_networkport);
	g_test_add_func("/parse/hookdata", test_hookdata);
	g_test_add_func("/parse/hookdata-network-only", test_hookdata_network_only);
	g_test_add_func("/parse/hookdata-broken", test_hookdata_broken);
	g_test_add_func("/parse/meta/unknown-attribute", test_meta_unknown_attribute);
	g_test_add_func("/parse/meta/unknown-attribute-far", test_meta_unknown_attribute_far);
	g_test_add_func("/parse/meta/network", test_meta_cases);
	g_test_add_func("/parse/meta/top-level", test_meta_top_level);
	g_test_add_func("/parse/meta/domain", test_meta_domain);
	g_test_add_func("/parse/cap/forwards", test_cap_forwards);
	g_test_add_func("/parse/cap/sources", test_cap_sources);
	g_test_add_func("/parse/cap/ips-interfaces", test_cap_ips_interfaces);
	g_test_add_func("/parse/cap/dhcp", test_cap_dhcp);
	g_test_add_func("/parse/malformed", test_malformed);
	g_test_add_func("/parse/unknown-document", test_unknown_document);
	g_test_add_func("/parse/too-large", test_too_large);
	g_test_add_func("/parse/unreadable", test_unreadable);
	g_test_add_func("/parse/schema-missing", test_schema_missing);
	g_test_add_func("/parse/schema-validation", test_schema_validation);
	g_test_add_func("/parse/schema-size", test_schema_size);
	g_test_add_func("/parse/network-empty-name", test_network_empty_name);
	g_test_add_func("/parse/limits/doctype", test_doctype);
	g_test_add_func("/parse/limits/doctype-bounded", test_doctype_bounded);
	g_test_add_func("/parse/limits/attributes", test_too_many_attributes);
	g_test_add_func("/parse/limits/nodes", test_too_many_nodes);
	g_test_add_func("/parse/limits/encoding", test_encoding);
	g_test_add_func("/parse/limits/big-lines", test_big_lines_counted_once);
	g_test_add_func("/parse/lines/after-forwards", test_lines_after_forwards);
	return g_test_run();
}
