/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Addresses, prefixes, netmasks, MACs and interface names (include/virtwire/addr.h). */
#include <arpa/inet.h>

#include <glib.h>

#include <virtwire/model.h>

static VwAddr addr(const char *s)
{
	VwAddr a;

	g_assert_true(vw_addr_parse(s, &a));
	return a;
}

static VwPrefix prefix(const char *s)
{
	VwPrefix p;

	g_assert_true(vw_prefix_parse(s, &p));
	return p;
}

static void test_addr_parse(void)
{
	static const char *const bad[] = {
		"",	    "1.2.3",	  "1.2.3.4.5", "256.1.1.1",	 "1.2.3.4 ",	 " 1.2.3.4", "1.2.3.4/24",
		"01.2.3.4", "0x7f.0.0.1", "::g",       "2001:db8::1::2", "fe80::1%eth0", "[::1]",    "localhost",
	};
	VwAddr a, untouched = { .family = 99 };

	a = addr("192.168.150.1");
	g_assert_cmpint(a.family, ==, AF_INET);
	g_assert_cmpuint(a.b[0], ==, 192);
	g_assert_cmpuint(a.b[3], ==, 1);
	a = addr("2001:db8::1");
	g_assert_cmpint(a.family, ==, AF_INET6);
	g_assert_cmpuint(a.b[0], ==, 0x20);
	g_assert_cmpuint(a.b[15], ==, 1);
	a = addr("::ffff:192.0.2.1");
	g_assert_cmpint(a.family, ==, AF_INET6);
	a = addr("0.0.0.0");
	g_assert_cmpint(a.family, ==, AF_INET);

	g_assert_false(vw_addr_parse(NULL, &a));
	for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
		a = untouched;
		g_assert_false(vw_addr_parse(bad[i], &a));
		/* ret_ outputs are left alone on failure. */
		g_assert_cmpint(a.family, ==, 99);
	}
}

static void test_prefix_parse(void)
{
	static const char *const bad[] = {
		"/24",	       "10.0.0.0/",    "10.0.0.0/33",	 "10.0.0.0/-1", "10.0.0.0/8x",
		"10.0.0.0/ 8", "10.0.0.0/8/8", "2001:db8::/129", "10.0.0/8",	"",
		"10.0.0.0/+8",
	};
	VwPrefix p;

	p = prefix("10.0.0.0/8");
	g_assert_cmpuint(p.prefix, ==, 8);
	g_assert_cmpint(p.addr.family, ==, AF_INET);
	p = prefix("203.0.113.7");
	g_assert_cmpuint(p.prefix, ==, 32);
	p = prefix("2001:db8::/32");
	g_assert_cmpuint(p.prefix, ==, 32);
	g_assert_cmpint(p.addr.family, ==, AF_INET6);
	p = prefix("2001:db8::1");
	g_assert_cmpuint(p.prefix, ==, 128);
	p = prefix("::/0");
	g_assert_cmpuint(p.prefix, ==, 0);
	p = prefix("0.0.0.0/0");
	g_assert_cmpuint(p.prefix, ==, 0);
	/* Host bits are kept: the checker warns about them. */
	p = prefix("198.51.100.7/24");
	g_assert_cmpuint(p.addr.b[3], ==, 7);

	g_assert_false(vw_prefix_parse(NULL, &p));
	for (gsize i = 0; i < G_N_ELEMENTS(bad); i++)
		g_assert_false(vw_prefix_parse(bad[i], &p));
}

static void test_netmask(void)
{
	static const struct {
		const char *mask;
		bool ok;
		unsigned prefix;
	} cases[] = {
		{ "255.255.255.0", true, 24 },	 { "255.255.255.255", true, 32 }, { "0.0.0.0", true, 0 },
		{ "255.255.254.0", true, 23 },	 { "128.0.0.0", true, 1 },	  { "255.255.255.252", true, 30 },
		{ "255.0.255.0", false, 0 },	 { "255.255.0.255", false, 0 },	  { "0.0.0.255", false, 0 },
		{ "255.255.255.253", false, 0 },
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		VwAddr m = addr(cases[i].mask);
		unsigned n = 99;

		g_assert_cmpint(vw_netmask_to_prefix(&m, &n), ==, cases[i].ok);
		if (cases[i].ok)
			g_assert_cmpuint(n, ==, cases[i].prefix);
	}
}

static void test_to_string(void)
{
	char buf[VW_ADDR_STRLEN];
	VwAddr unset = { 0 };
	VwPrefix p = prefix("2001:db8:0:0::/48");
	g_autofree char *s = vw_prefix_to_string(&p);
	g_autofree char *s4 = NULL;
	VwAddr a = addr("2001:0db8:0000::0001");

	g_assert_cmpstr(vw_addr_to_string(&a, buf), ==, "2001:db8::1");
	a = addr("192.0.2.1");
	g_assert_cmpstr(vw_addr_to_string(&a, buf), ==, "192.0.2.1");
	g_assert_cmpstr(vw_addr_to_string(&unset, buf), ==, "(none)");
	g_assert_cmpstr(s, ==, "2001:db8::/48");
	p = prefix("198.51.100.0/24");
	s4 = vw_prefix_to_string(&p);
	g_assert_cmpstr(s4, ==, "198.51.100.0/24");
}

static void test_compare(void)
{
	VwAddr a = addr("10.0.0.1"), b = addr("10.0.0.2"), c = addr("10.0.0.1"), v6 = addr("::1");
	VwAddr low6 = addr("::");

	g_assert_true(vw_addr_equal(&a, &c));
	g_assert_false(vw_addr_equal(&a, &b));
	g_assert_false(vw_addr_equal(&a, &v6));
	g_assert_cmpint(vw_addr_cmp(&a, &b), <, 0);
	g_assert_cmpint(vw_addr_cmp(&b, &a), >, 0);
	g_assert_cmpint(vw_addr_cmp(&a, &c), ==, 0);
	/* Every IPv4 address sorts before every IPv6 address. */
	g_assert_cmpint(vw_addr_cmp(&b, &low6), <, 0);
	g_assert_cmpint(vw_addr_cmp(&v6, &a), >, 0);
	g_assert_cmpuint(vw_addr_hash(&a), ==, vw_addr_hash(&c));
	g_assert_cmpuint(vw_addr_hash(&a), !=, vw_addr_hash(&b));
}

static void test_network_broadcast(void)
{
	char buf[VW_ADDR_STRLEN];
	VwAddr a = addr("192.168.150.77"), r;

	r = vw_addr_network(&a, 24);
	g_assert_cmpstr(vw_addr_to_string(&r, buf), ==, "192.168.150.0");
	r = vw_addr_broadcast(&a, 24);
	g_assert_cmpstr(vw_addr_to_string(&r, buf), ==, "192.168.150.255");
	r = vw_addr_network(&a, 20);
	g_assert_cmpstr(vw_addr_to_string(&r, buf), ==, "192.168.144.0");
	r = vw_addr_broadcast(&a, 20);
	g_assert_cmpstr(vw_addr_to_string(&r, buf), ==, "192.168.159.255");
	r = vw_addr_network(&a, 32);
	g_assert_true(vw_addr_equal(&r, &a));
	r = vw_addr_network(&a, 0);
	g_assert_cmpstr(vw_addr_to_string(&r, buf), ==, "0.0.0.0");

	a = addr("2001:db8:150::1234");
	r = vw_addr_network(&a, 64);
	g_assert_cmpstr(vw_addr_to_string(&r, buf), ==, "2001:db8:150::");
	r = vw_addr_broadcast(&a, 64);
	g_assert_cmpstr(vw_addr_to_string(&r, buf), ==, "2001:db8:150:0:ffff:ffff:ffff:ffff");
	r = vw_addr_network(&a, 33);
	g_assert_cmpstr(vw_addr_to_string(&r, buf), ==, "2001:db8::");
}

static void test_contains_overlaps(void)
{
	VwPrefix p24 = prefix("192.168.150.0/24"), p16 = prefix("192.168.0.0/16"), other = prefix("192.168.151.0/24");
	VwPrefix lo25 = prefix("192.168.150.0/25"), hi25 = prefix("192.168.150.128/25");
	VwPrefix v6 = prefix("2001:db8:150::/64"), v6wide = prefix("2001:db8::/32"), any4 = prefix("0.0.0.0/0");
	VwAddr in = addr("192.168.150.200"), out = addr("192.168.151.1"), in6 = addr("2001:db8:150::10");

	g_assert_true(vw_prefix_contains(&p24, &in));
	g_assert_false(vw_prefix_contains(&p24, &out));
	g_assert_true(vw_prefix_contains(&any4, &out));
	g_assert_false(vw_prefix_contains(&any4, &in6));
	g_assert_true(vw_prefix_contains(&v6, &in6));
	g_assert_false(vw_prefix_contains(&v6, &in));

	g_assert_true(vw_prefix_overlaps(&p24, &p16));
	g_assert_true(vw_prefix_overlaps(&p16, &p24));
	g_assert_false(vw_prefix_overlaps(&p24, &other));
	/* Adjacent halves touch but do not overlap. */
	g_assert_false(vw_prefix_overlaps(&lo25, &hi25));
	g_assert_true(vw_prefix_overlaps(&lo25, &p24));
	g_assert_true(vw_prefix_overlaps(&v6, &v6wide));
	g_assert_false(vw_prefix_overlaps(&v6, &p24));
	g_assert_true(vw_prefix_overlaps(&p24, &p24));
}

static void test_loopback(void)
{
	static const struct {
		const char *a;
		bool loopback;
	} cases[] = {
		{ "127.0.0.1", true },	{ "127.1.2.3", true },	       { "::1", true },
		{ "128.0.0.1", false }, { "126.255.255.255", false },  { "::", false },
		{ "::2", false },	{ "::ffff:127.0.0.1", false }, { "10.0.0.1", false },
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		VwAddr a = addr(cases[i].a);

		g_assert_cmpint(vw_addr_is_loopback(&a), ==, cases[i].loopback);
	}
	g_assert_false(vw_addr_is_loopback(&(VwAddr){ 0 }));
}

static void test_mac(void)
{
	static const char *const bad[] = {
		"",
		"52:54:00:aa:bb",
		"52:54:00:aa:bb:cc:dd",
		"52-54-00-aa-bb-cc",
		"52:54:00:aa:bb:cg",
		"5254.00aa.bbcc",
		"52:54:00:aa:bb:c",
		"52:54:00:aa:bb:ccc",
		" 52:54:00:aa:bb:cc",
		"52:54:0:aa:bb:cc",
	};
	char buf[VW_MAC_STRLEN];
	VwMac m, n;

	g_assert_true(vw_mac_parse("52:54:00:AA:bb:0c", &m));
	g_assert_cmpuint(m.b[0], ==, 0x52);
	g_assert_cmpuint(m.b[3], ==, 0xaa);
	g_assert_cmpuint(m.b[5], ==, 0x0c);
	/* Printed in lower case, as libvirt prints it. */
	g_assert_cmpstr(vw_mac_to_string(&m, buf), ==, "52:54:00:aa:bb:0c");
	g_assert_true(vw_mac_parse("52:54:00:aa:bb:0C", &n));
	g_assert_true(vw_mac_equal(&m, &n));
	g_assert_true(vw_mac_parse("52:54:00:aa:bb:0d", &n));
	g_assert_false(vw_mac_equal(&m, &n));
	g_assert_false(vw_mac_is_multicast(&m));
	g_assert_true(vw_mac_parse("01:00:5e:00:00:fb", &n));
	g_assert_true(vw_mac_is_multicast(&n));
	g_assert_true(vw_mac_parse("ff:ff:ff:ff:ff:ff", &n));
	g_assert_true(vw_mac_is_multicast(&n));

	g_assert_false(vw_mac_parse(NULL, &m));
	for (gsize i = 0; i < G_N_ELEMENTS(bad); i++)
		g_assert_false(vw_mac_parse(bad[i], &m));
}

static void test_ifname(void)
{
	static const char *const good[] = {
		"eth0", "vw-nat", "virbr0", "enp0s31f6.1000", "vw-nat-a-bridge", "br_lan", "a", "vw+1", "wlan0@x",
	};
	static const char *const bad[] = {
		"",    "vw-nat-a-bridge0", ".",	      "..",  "eth0/1", "eth0:1", "wlan 0", "tab\tx", "q\"x",
		"q'x", "back\\x",	   "del\x7f", "ünï", "%d",
	};

	for (gsize i = 0; i < G_N_ELEMENTS(good); i++) {
		g_assert_true(vw_ifname_valid(good[i], false));
		g_assert_true(vw_ifname_valid(good[i], true));
	}
	for (gsize i = 0; i < G_N_ELEMENTS(bad); i++)
		g_assert_false(vw_ifname_valid(bad[i], false));
	g_assert_false(vw_ifname_valid(NULL, true));
	/* One "%d" is libvirt's template, only where a template is allowed. */
	g_assert_true(vw_ifname_valid("vwbr%d", true));
	g_assert_false(vw_ifname_valid("vwbr%d", false));
	g_assert_false(vw_ifname_valid("vwbr%d%d", true));
	g_assert_false(vw_ifname_valid("vwbr%s", true));
	g_assert_false(vw_ifname_valid("vwbr%", true));
	g_assert_true(vw_ifname_valid("%d", true));
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/addr/parse", test_addr_parse);
	g_test_add_func("/addr/prefix-parse", test_prefix_parse);
	g_test_add_func("/addr/netmask", test_netmask);
	g_test_add_func("/addr/to-string", test_to_string);
	g_test_add_func("/addr/compare", test_compare);
	g_test_add_func("/addr/network-broadcast", test_network_broadcast);
	g_test_add_func("/addr/contains-overlaps", test_contains_overlaps);
	g_test_add_func("/addr/loopback", test_loopback);
	g_test_add_func("/addr/mac", test_mac);
	g_test_add_func("/addr/ifname", test_ifname);
	return g_test_run();
}
