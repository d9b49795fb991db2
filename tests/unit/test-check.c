/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The semantic rules (xml/check.c) on in-memory XML: for each rule, an input
 * that breaks it gives exactly that finding, at the line of the object it is
 * about; the same input put right gives no finding at all. Then the forward
 * collision check at scale, on models built directly.
 */
#include <arpa/inet.h>
#include <string.h>

#include <glib.h>

#include <virtwire/check.h>
#include <virtwire/xml.h>

/* ---------------------------------------------------------------------- */
/* Building blocks: a network is NET(name, forward, bridge, ips, metadata). */

#define NET(name, fwd, bridge, ips, meta) \
	"<network>\n  <name>" name "</name>\n  " fwd "\n  <bridge name='" bridge "'/>\n" ips meta "</network>\n"
#define OPEN "<forward mode='open'/>"
#define ISOLATED "<!-- isolated -->"
#define LV_NAT "<forward mode='nat'/>"
#define LV_ROUTE "<forward mode='route'/>"
#define LV_BRIDGE "<forward mode='bridge'/>"
#define WEB "52:54:00:aa:bb:10"
#define WEB2 "52:54:00:aa:bb:20"

/* 192.168.150.0/24 with DHCP and a reservation for WEB (and WEB2). */
#define IP10 "  <ip address='10.0.0.1' prefix='24'/>\n"
#define IP150                                                            \
	"  <ip address='192.168.150.1' prefix='24'>\n"                   \
	"    <dhcp>\n"                                                   \
	"      <range start='192.168.150.100' end='192.168.150.200'/>\n" \
	"      <host mac='" WEB "' name='web1' ip='192.168.150.10'/>\n"  \
	"      <host mac='" WEB2 "' name='web2' ip='192.168.150.20'/>\n" \
	"    </dhcp>\n"                                                  \
	"  </ip>\n"
#define IP6 "  <ip family='ipv6' address='2001:db8:150::1' prefix='64'/>\n"
/* An <ip> with a DHCP body of one's own. */
#define IPD(dhcp) "  <ip address='192.168.150.1' prefix='24'>\n    <dhcp>\n" dhcp "    </dhcp>\n  </ip>\n"

#define VWM_OPEN "  <metadata>\n    <vw:network xmlns:vw='urn:virtwire:1'"
#define VWM_CLOSE "    </vw:network>\n  </metadata>\n"
#define VWM(attrs, body) VWM_OPEN attrs ">\n" body VWM_CLOSE
#define VW(mode, body) VWM(" mode='" mode "'", body)

/* A NAT network on forward mode='open' with @body in its vw:network. */
#define NAT(body) NET("vwnat", OPEN, "vw-nat", IP150, VW("nat", body))
#define NAT6(body) NET("vwnat", OPEN, "vw-nat", IP150 IP6, VW("nat", body))
#define FWD(attrs) "      <vw:forward proto='tcp' " attrs "/>\n"

/* Domains on the 'public' network, which allows domain forwards. */
#define POLICY "      <vw:domain-forwards allow='yes' host-ports='10000-10999'/>\n"
#define PUBLIC(body) NET("public", OPEN, "vw-public", IP150, VW("nat", POLICY body))
#define IFACE(net, mac)                                                                                       \
	"    <interface type='network'>\n      <mac address='" mac "'/>\n      <source network='" net "'/>\n" \
	"    </interface>\n"
#define DOM(name, ifaces, body)                                                                             \
	"<domain type='kvm'>\n  <name>" name "</name>\n  <devices>\n" ifaces "  </devices>\n  <metadata>\n" \
	"    <vw:domain xmlns:vw='urn:virtwire:1'>\n" body "    </vw:domain>\n  </metadata>\n</domain>\n"
#define DFWD(attrs) "      <vw:forward network='public' proto='tcp' " attrs "/>\n"
#define WEB1(body) DOM("web1", IFACE("public", WEB), body)

/* 10, 50 and 100 bytes of a name. */
#define C10 "abcdefghij"
#define C50 C10 C10 C10 C10 C10
#define C100 C50 C50

#define PORT(uuid, mac, bridge)                                                     \
	"<networkport>\n" uuid "  <owner>\n    <name>web1</name>\n  </owner>\n" mac \
	"  <plug type='network' bridge='" bridge "'/>\n</networkport>\n"
#define PUUID "  <uuid>9f12e818-ebd7-4bf4-8694-25b182683b1e</uuid>\n"
#define PMAC(m) "  <mac address='" m "'/>\n"

typedef struct {
	const char *path;
	const char *docs[4]; /* loaded as a.xml, b.xml, c.xml, d.xml */
	const char *code;    /* NULL: the input must give no finding at all */
	int doc;	     /* the document the finding is in */
	const char *at;	     /* the finding is on the line of this text */
	VwSeverity severity;
	/* Findings expected besides this one (another rule that necessarily
	 * fires on the same input); the one checked is the first in @doc. */
	guint also;
} RuleCase;

static const RuleCase cases[] = {
	/* ------------------------------------------------------------------ */
	/* vw mode against libvirt's forward mode */
	{ "mode/nat-on-isolated",
	  { NET("lab", ISOLATED, "vw-lab", IP150, VW("nat", "")) },
	  "mode-mismatch",
	  0,
	  "<vw:network" },
	{ "mode/bridged-on-isolated",
	  { NET("lan", ISOLATED, "vw-lan", "", VWM(" mode='bridged' uplink='eth0'", "")) },
	  "mode-mismatch",
	  0,
	  "<vw:network" },
	{ "mode/host-only-on-isolated/good", { NET("lab", ISOLATED, "vw-lab", IP150, VW("host-only", "")) } },
	{ "mode/forwards-on-isolated",
	  { NET("lab", ISOLATED, "vw-lab", IP150, VWM("", FWD("host-port='2222' guest-mac='" WEB "'"))) },
	  "forwards-isolated",
	  0,
	  "<vw:forward" },
	{ "mode/forwards-on-isolated/good",
	  { NET("lab", OPEN, "vw-lab", IP150, VW("nat", FWD("host-port='2222' guest-mac='" WEB "'"))) } },
	{ "mode/nat-on-route",
	  { NET("r", LV_ROUTE, "vw-r", IP150, VW("nat", "")) },
	  "mode-mismatch",
	  0,
	  "<vw:network" },
	{ "mode/route-on-nat",
	  { NET("n", LV_NAT, "vw-n", IP150, VW("route", "")) },
	  "mode-mismatch",
	  0,
	  "<vw:network" },
	{ "mode/bridged-on-nat",
	  { NET("n", LV_NAT, "vw-n", "", VWM(" mode='bridged' uplink='eth0'", "")) },
	  "mode-mismatch",
	  0,
	  "<vw:network" },
	{ "mode/nat-on-nat/good",
	  { NET("n", LV_NAT, "vw-n", IP150, VW("nat", FWD("host-port='2222' guest-mac='" WEB "'"))) } },
	{ "mode/route-on-route/good", { NET("r", LV_ROUTE, "vw-r", IP150, VW("route", "")) } },
	{ "mode/libvirt-nat-forwards/good",
	  { NET("n", LV_NAT, "vw-n", IP150, VWM("", FWD("host-port='2222' guest-mac='" WEB "'"))) } },
	{ "mode/vw-nat-on-libvirt-nat",
	  { NET("n", LV_NAT, "vw-n", IP150, VWM("", "      <vw:nat address='203.0.113.5'/>\n")) },
	  "nat-libvirt",
	  0,
	  "<vw:nat" },
	{ "mode/vw-nat-on-libvirt-route",
	  { NET("r", LV_ROUTE, "vw-r", IP150, VWM("", "      <vw:nat uplink='eth0'/>\n")) },
	  "nat-libvirt",
	  0,
	  "<vw:nat" },
	{ "mode/missing-on-open", { NET("o", OPEN, "vw-o", IP150, VWM("", "")) }, "missing-mode", 0, "<vw:network" },
	{ "mode/bridged-on-open",
	  { NET("o", OPEN, "vw-o", "", VWM(" mode='bridged' uplink='eth0'", "")) },
	  "mode-mismatch",
	  0,
	  "<vw:network" },
	{ "mode/unset-on-bridge",
	  { NET("b", LV_BRIDGE, "vw-b", "", VWM(" uplink='eth0'", "")) },
	  "mode-mismatch",
	  0,
	  "<vw:network" },
	{ "mode/nat-on-bridge", { NET("b", LV_BRIDGE, "vw-b", "", VW("nat", "")) }, "mode-mismatch", 0, "<vw:network" },
	{ "mode/on-passthrough",
	  { "<network>\n  <name>d</name>\n  <forward mode='passthrough'>\n    <interface dev='eth3'/>\n"
	    "  </forward>\n" VW("nat", "") "</network>\n" },
	  "mode-mismatch",
	  0,
	  "<vw:network" },
	{ "mode/bridged/good", { NET("b", LV_BRIDGE, "vw-b", "", VWM(" mode='bridged' uplink='eth0'", "")) } },
	{ "mode/bridged-missing-bridge",
	  { "<network>\n  <name>b</name>\n  <forward mode='bridge'/>\n" VWM(" mode='bridged' uplink='eth0'",
									    "") "</network>\n" },
	  "missing-bridge",
	  0,
	  "<forward" },
	{ "mode/bridged-with-ip",
	  { NET("b", LV_BRIDGE, "vw-b", "  <ip address='192.168.1.2' prefix='24'/>\n",
		VWM(" mode='bridged' uplink='eth0'", "")) },
	  "ip-on-bridge",
	  0,
	  "<ip " },
	{ "mode/bridged-missing-uplink",
	  { NET("b", LV_BRIDGE, "vw-b", "", VW("bridged", "")) },
	  "missing-uplink",
	  0,
	  "<vw:network" },
	{ "mode/bridged-uplink-invalid",
	  { NET("b", LV_BRIDGE, "vw-b", "", VWM(" mode='bridged' uplink='enp0s31f6-uplink0'", "")) },
	  "invalid-ifname",
	  0,
	  "<vw:network" },
	{ "mode/bridged-uplink-is-bridge",
	  { NET("b", LV_BRIDGE, "eth0", "", VWM(" mode='bridged' uplink='eth0'", "")) },
	  "invalid-ifname",
	  0,
	  "<vw:network" },
	{ "mode/bridged-bridge-template",
	  { NET("b", LV_BRIDGE, "vwbr%d", "", VWM(" mode='bridged' uplink='eth0'", "")) },
	  "invalid-ifname",
	  0,
	  "<bridge" },
	{ "mode/forwards-on-bridged",
	  { NET("b", LV_BRIDGE, "vw-b", "",
		VWM(" mode='bridged' uplink='eth0'", FWD("host-port='2222' guest-address='192.168.1.20'"))) },
	  "forwards-mode",
	  0,
	  "<vw:forward" },
	{ "mode/uplink-outside-bridged",
	  { NET("n", OPEN, "vw-n", IP150, VWM(" mode='nat' uplink='eth0'", "")) },
	  "uplink-mode",
	  0,
	  "<vw:network" },
	{ "mode/vw-nat-in-route",
	  { NET("r", OPEN, "vw-r", IP150, VW("route", "      <vw:nat uplink='eth0'/>\n")) },
	  "nat-mode",
	  0,
	  "<vw:nat" },
	{ "mode/vw-nat-on-isolated",
	  { NET("l", ISOLATED, "vw-l", IP150, VWM("", "      <vw:nat address='203.0.113.5'/>\n")) },
	  "nat-mode",
	  0,
	  "<vw:nat" },
	{ "mode/nat-uplink-invalid",
	  { NAT("      <vw:nat uplink='eth0 eth0:1'/>\n") },
	  "invalid-ifname",
	  0,
	  "<vw:nat" },
	{ "mode/nat-uplink/good", { NAT("      <vw:nat uplink='eth0,wlan0' address='203.0.113.5'/>\n") } },
	{ "mode/nat-address-inside",
	  { NAT("      <vw:nat address='192.168.150.5'/>\n") },
	  "nat-address",
	  0,
	  "<vw:nat" },
	{ "mode/nat-address-family",
	  { NAT("      <vw:nat address='2001:db8:ffff::5'/>\n") },
	  "family-mismatch",
	  0,
	  "<vw:nat" },
	{ "mode/nat-address-v6/good", { NAT6("      <vw:nat address='2001:db8:ffff::5'/>\n") } },
	{ "mode/forwards-on-host-only",
	  { NET("h", OPEN, "vw-h", IP150, VW("host-only", FWD("host-port='2222' guest-mac='" WEB "'"))) },
	  "forwards-mode",
	  0,
	  "<vw:forward" },
	{ "mode/forwards-on-internal",
	  { NET("i", OPEN, "vw-i", IP10, VW("internal", FWD("host-port='2222' guest-address='10.0.0.5'"))) },
	  "forwards-mode",
	  0,
	  "<vw:forward" },
	{ "mode/route-forwards/good",
	  { NET("r", OPEN, "vw-r", IP150, VW("route", FWD("host-port='2222' guest-mac='" WEB "'"))) } },
	{ "mode/domain-forwards-on-host-only",
	  { NET("h", OPEN, "vw-h", IP150, VW("host-only", POLICY)) },
	  "forwards-mode",
	  0,
	  "<vw:domain-forwards" },
	{ "mode/domain-forwards-denied-on-host-only/good",
	  { NET("h", OPEN, "vw-h", IP150, VW("host-only", "      <vw:domain-forwards allow='no'/>\n")) } },
	{ "mode/hairpin-no-effect",
	  { NET("h", OPEN, "vw-h", IP150, VW("host-only", "      <vw:hairpin enabled='yes'/>\n")) },
	  "no-effect",
	  0,
	  "<vw:hairpin",
	  VW_SEV_WARNING },
	{ "mode/hairpin/good", { NAT("      <vw:hairpin enabled='no'/>\n") } },
	{ "mode/localhost-no-effect",
	  { NET("i", OPEN, "vw-i", IP10, VW("internal", "      <vw:localhost enabled='yes'/>\n")) },
	  "no-effect",
	  0,
	  "<vw:localhost",
	  VW_SEV_WARNING },
	{ "mode/localhost-off/good",
	  { NET("i", OPEN, "vw-i", IP10, VW("internal", "      <vw:localhost enabled='no'/>\n")) } },
	{ "mode/internal-dhcp",
	  { NET("i", OPEN, "vw-i", IP150, VW("internal", "")) },
	  "internal-dhcp",
	  0,
	  "<range ",
	  VW_SEV_WARNING },
	/* libvirt 9 refuses it, libvirt 11 takes it: a warning. */
	{ "mode/internal-without-ip",
	  { NET("i", OPEN, "vw-i", "", VW("internal", "")) },
	  "missing-ip",
	  0,
	  "<vw:network",
	  VW_SEV_WARNING },
	{ "mode/internal/good", { NET("i", OPEN, "vw-i", IP10, VW("internal", "")) } },
	{ "mode/nat-without-ip", { NET("n", OPEN, "vw-n", "", VW("nat", "")) }, "missing-ip", 0, "<vw:network" },
	{ "mode/host-only-without-ip",
	  { NET("h", OPEN, "vw-h", "", VW("host-only", "")) },
	  "missing-ip",
	  0,
	  "<vw:network" },

	/* ------------------------------------------------------------------ */
	/* Names of devices */
	{ "ifname/bridge-too-long",
	  { NET("n", OPEN, "vw-nat-a-bridge0", IP150, VW("nat", "")) },
	  "invalid-ifname",
	  0,
	  "<bridge" },
	{ "ifname/bridge-slash", { NET("n", OPEN, "vw/nat", IP150, VW("nat", "")) }, "invalid-ifname", 0, "<bridge" },
	{ "ifname/bridge/good", { NET("n", OPEN, "vw-nat-a-bridge", IP150, VW("nat", "")) } },
	{ "ifname/bridge-template/good", { NET("n", LV_NAT, "vwbr%d", IP150, "") } },

	/* ------------------------------------------------------------------ */
	/* Addresses and DHCP */
	{ "ip/host-is-network",
	  { NET("n", OPEN, "vw-n", "  <ip address='192.168.150.0' prefix='24'/>\n", VW("nat", "")) },
	  "host-address",
	  0,
	  "<ip " },
	{ "ip/host-is-broadcast",
	  { NET("n", OPEN, "vw-n", "  <ip address='192.168.150.255' prefix='24'/>\n", VW("nat", "")) },
	  "host-address",
	  0,
	  "<ip " },
	{ "ip/host-on-31/good",
	  { NET("n", OPEN, "vw-n", "  <ip address='192.168.150.0' prefix='31'/>\n", VW("nat", "")) } },
	{ "ip/host-loopback",
	  { NET("n", OPEN, "vw-n", "  <ip address='127.0.5.1' prefix='24'/>\n", VW("nat", "")) },
	  "host-address",
	  0,
	  "<ip " },
	{ "dhcp/range-family",
	  { NET("n", OPEN, "vw-n", IPD("      <range start='2001:db8::10' end='2001:db8::20'/>\n"), VW("nat", "")) },
	  "family-mismatch",
	  0,
	  "<range" },
	{ "dhcp/range-reversed",
	  { NET("n", OPEN, "vw-n", IPD("      <range start='192.168.150.200' end='192.168.150.100'/>\n"),
		VW("nat", "")) },
	  "dhcp-range",
	  0,
	  "<range" },
	{ "dhcp/range-outside",
	  { NET("n", OPEN, "vw-n", IPD("      <range start='192.168.150.100' end='192.168.151.10'/>\n"),
		VW("nat", "")) },
	  "dhcp-range",
	  0,
	  "<range" },
	{ "dhcp/range-covers-host",
	  { NET("n", OPEN, "vw-n", IPD("      <range start='192.168.150.1' end='192.168.150.254'/>\n"),
		VW("nat", "")) },
	  "dhcp-range",
	  0,
	  "<range" },
	{ "dhcp/range-broadcast",
	  { NET("n", OPEN, "vw-n", IPD("      <range start='192.168.150.2' end='192.168.150.255'/>\n"),
		VW("nat", "")) },
	  "dhcp-range",
	  0,
	  "<range" },
	{ "dhcp/range-edges/good",
	  { NET("n", OPEN, "vw-n", IPD("      <range start='192.168.150.2' end='192.168.150.254'/>\n"),
		VW("nat", "")) } },
	{ "dhcp/host-family",
	  { NET("n", OPEN, "vw-n", IPD("      <host mac='" WEB "' ip='2001:db8::10'/>\n"), VW("nat", "")) },
	  "family-mismatch",
	  0,
	  "<host" },
	{ "dhcp/host-outside",
	  { NET("n", OPEN, "vw-n", IPD("      <host mac='" WEB "' ip='192.168.15.10'/>\n"), VW("nat", "")) },
	  "dhcp-host",
	  0,
	  "<host" },
	{ "dhcp/host-is-host",
	  { NET("n", OPEN, "vw-n", IPD("      <host mac='" WEB "' ip='192.168.150.1'/>\n"), VW("nat", "")) },
	  "dhcp-host",
	  0,
	  "<host" },
	{ "dhcp/host-broadcast",
	  { NET("n", OPEN, "vw-n", IPD("      <host mac='" WEB "' ip='192.168.150.255'/>\n"), VW("nat", "")) },
	  "dhcp-host",
	  0,
	  "<host" },
	{ "dhcp/host-no-mac-no-name",
	  { NET("n", OPEN, "vw-n", IPD("      <host ip='192.168.150.10'/>\n"), VW("nat", "")) },
	  "dhcp-host",
	  0,
	  "<host" },
	{ "dhcp/host-name-only/good",
	  { NET("n", OPEN, "vw-n", IPD("      <host name='printer' ip='192.168.150.10'/>\n"), VW("nat", "")) } },
	{ "dhcp/host-ipv6-mac",
	  { NET("n", OPEN, "vw-n",
		"  <ip family='ipv6' address='2001:db8::1' prefix='64'>\n    <dhcp>\n"
		"      <host mac='" WEB "' ip='2001:db8::10'/>\n    </dhcp>\n  </ip>\n",
		VW("nat", "")) },
	  "dhcp-host",
	  0,
	  "<host" },
	{ "dhcp/host-ipv6-id/good",
	  { NET("n", OPEN, "vw-n",
		"  <ip family='ipv6' address='2001:db8::1' prefix='64'>\n    <dhcp>\n"
		"      <host id='0:3:0:1:52:54:0:aa:bb:10' ip='2001:db8::10'/>\n    </dhcp>\n  </ip>\n",
		VW("nat", "")) } },
	{ "dhcp/multiple",
	  { NET("n", OPEN, "vw-n",
		IP150 "  <ip address='10.150.0.1' prefix='16'>\n    <dhcp>\n"
		      "      <range start='10.150.1.1' end='10.150.1.9'/>\n    </dhcp>\n  </ip>\n",
		VW("nat", "")) },
	  "dhcp-multiple",
	  0,
	  "<ip address='10.150" },
	{ "dhcp/one-per-family/good",
	  { NET("n", OPEN, "vw-n",
		IP150 "  <ip family='ipv6' address='2001:db8::1' prefix='64'>\n    <dhcp>\n"
		      "      <range start='2001:db8::100' end='2001:db8::1ff'/>\n    </dhcp>\n  </ip>\n",
		VW("nat", "")) } },
	{ "ip/overlap-in-network",
	  { NET("n", OPEN, "vw-n", IP150 "  <ip address='192.168.150.129' prefix='25'/>\n", VW("nat", "")) },
	  "subnet-overlap",
	  0,
	  "<ip address='192.168.150.129'" },
	{ "ip/adjacent-in-network/good",
	  { NET("n", OPEN, "vw-n", IP150 "  <ip address='192.168.151.1' prefix='24'/>\n", VW("nat", "")) } },
	{ "dhcp/duplicate-mac",
	  { NET("n", OPEN, "vw-n",
		IPD("      <host mac='" WEB "' ip='192.168.150.10'/>\n      <host mac='" WEB
		    "' ip='192.168.150.11'/>\n"),
		VW("nat", "")) },
	  "duplicate-reservation",
	  0,
	  "192.168.150.11" },
	{ "dhcp/duplicate-ip",
	  { NET("n", OPEN, "vw-n",
		IPD("      <host mac='" WEB "' ip='192.168.150.10'/>\n      <host mac='" WEB2
		    "' ip='192.168.150.10'/>\n"),
		VW("nat", "")) },
	  "duplicate-reservation",
	  0,
	  WEB2 },

	/* ------------------------------------------------------------------ */
	/* Forwards */
	{ "fwd/guest-range-length",
	  { NAT(FWD("host-port='8000-8010' guest-port='9000-9005' guest-mac='" WEB "'")) },
	  "guest-range-length",
	  0,
	  "<vw:forward" },
	{ "fwd/guest-range-single-host",
	  { NAT(FWD("host-port='8443' guest-port='443-444' guest-mac='" WEB "'")) },
	  "guest-range-length",
	  0,
	  "<vw:forward" },
	{ "fwd/range-to-one-port",
	  { NAT(FWD("host-port='8000-8010' guest-port='80' guest-mac='" WEB "'")) },
	  "guest-range-length",
	  0,
	  "<vw:forward" },
	{ "fwd/range-to-one-port-overflow",
	  { NAT(FWD("host-port='8000-8010' guest-port='65530' guest-mac='" WEB "'")) },
	  "guest-range-length",
	  0,
	  "<vw:forward" },
	{ "fwd/shifted-range/good", { NAT(FWD("host-port='8000-8010' guest-port='9000-9010' guest-mac='" WEB "'")) } },
	{ "fwd/shifted-range-top/good",
	  { NAT(FWD("host-port='8000-8010' guest-port='65525-65535' guest-mac='" WEB "'")) } },
	{ "fwd/localhost-ipv6",
	  { NAT6(FWD("address='::1' host-port='8443' guest-address='2001:db8:150::10'") "      <vw:localhost "
											"enabled='yes'/>\n") },
	  "localhost-ipv6",
	  0,
	  "<vw:forward" },
	{ "fwd/localhost-disabled",
	  { NAT(FWD("address='127.0.0.1' host-port='8443' guest-mac='" WEB "'")) },
	  "localhost-disabled",
	  0,
	  "<vw:forward" },
	{ "fwd/localhost-enabled/good",
	  { NAT(FWD("address='127.0.0.1' host-port='8443' guest-mac='" WEB
		    "'") "      <vw:localhost enabled='yes'/>\n") } },
	{ "fwd/listen-on-guest-subnet",
	  { NAT(FWD("address='192.168.150.1' host-port='2222' guest-mac='" WEB "'")) },
	  "listen-on-guest-subnet",
	  0,
	  "<vw:forward" },
	{ "fwd/listen-outside/good", { NAT(FWD("address='203.0.113.5' host-port='2222' guest-mac='" WEB "'")) } },
	{ "fwd/source-family-listen",
	  { NAT("      <vw:forward proto='tcp' address='203.0.113.5' host-port='2222' guest-mac='" WEB "'>\n"
		"        <vw:source address='2001:db8:ab::/48'/>\n      </vw:forward>\n") },
	  "family-mismatch",
	  0,
	  "<vw:source" },
	{ "fwd/source-family-guest",
	  { NAT6("      <vw:forward proto='tcp' host-port='2222' guest-address='2001:db8:150::10'>\n"
		 "        <vw:source address='198.51.100.0/24'/>\n      </vw:forward>\n") },
	  "family-mismatch",
	  0,
	  "<vw:source" },
	{ "fwd/source-family-guest-mac",
	  { NAT6("      <vw:forward proto='tcp' host-port='2222' guest-mac='" WEB "'>\n"
		 "        <vw:source address='2001:db8:ab::/48'/>\n      </vw:forward>\n") },
	  "family-mismatch",
	  0,
	  "<vw:source" },
	{ "fwd/takes-ssh",
	  { NAT(FWD("host-port='22' guest-mac='" WEB "'")) },
	  "forward-takes-ssh",
	  0,
	  "<vw:forward",
	  VW_SEV_WARNING },
	{ "fwd/takes-ssh-in-range",
	  { NAT(FWD("address='203.0.113.5' host-port='20-30' guest-mac='" WEB "'")) },
	  "forward-takes-ssh",
	  0,
	  "<vw:forward",
	  VW_SEV_WARNING },
	{ "fwd/udp-22/good", { NAT("      <vw:forward proto='udp' host-port='22' guest-mac='" WEB "'/>\n") } },
	{ "fwd/ssh-on-guest-port/good", { NAT(FWD("host-port='2222' guest-port='22' guest-mac='" WEB "'")) } },
	{ "fwd/takes-all-ports",
	  { NAT("      <vw:forward proto='udp' host-port='1-65535' guest-mac='" WEB "'/>\n") },
	  "forward-takes-all-ports",
	  0,
	  "<vw:forward",
	  VW_SEV_WARNING },
	{ "fwd/takes-all-ports-domain",
	  { NET("public", OPEN, "vw-public", IP150,
		VW("nat", "      <vw:domain-forwards allow='yes' host-ports='10000-19999'/>\n")),
	    WEB1(DFWD("host-port='10000-11023'")) },
	  "forward-takes-all-ports",
	  1,
	  "<vw:forward",
	  VW_SEV_WARNING },
	{ "fwd/wide-range-on-one-address/good",
	  { NAT("      <vw:forward proto='udp' address='203.0.113.5' host-port='1-65535' guest-mac='" WEB "'/>\n") } },
	{ "fwd/narrow-range/good", { NAT(FWD("host-port='30000-31022' guest-mac='" WEB "'")) } },
	{ "fwd/source-host-bits",
	  { NAT("      <vw:forward proto='tcp' host-port='2222' guest-mac='" WEB "'>\n"
		"        <vw:source address='198.51.100.7/24'/>\n      </vw:forward>\n") },
	  "source-host-bits",
	  0,
	  "<vw:source",
	  VW_SEV_WARNING },
	{ "fwd/sources/good",
	  { NAT6("      <vw:forward proto='tcp' host-port='2222' guest-mac='" WEB "'>\n"
		 "        <vw:source address='198.51.100.0/24'/>\n        <vw:source address='203.0.113.9'/>\n"
		 "      </vw:forward>\n"
		 "      <vw:forward proto='tcp' host-port='2222' guest-address='2001:db8:150::10'>\n"
		 "        <vw:source address='2001:db8:ab::/48'/>\n      </vw:forward>\n") } },
	{ "fwd/guest-outside-subnet",
	  { NAT(FWD("host-port='2222' guest-address='192.168.151.10'")) },
	  "guest-outside-subnet",
	  0,
	  "<vw:forward" },
	{ "fwd/guest-no-subnet-of-family",
	  { NAT(FWD("host-port='2222' guest-address='2001:db8:150::10'")) },
	  "guest-outside-subnet",
	  0,
	  "<vw:forward" },
	{ "fwd/guest-is-host",
	  { NAT(FWD("host-port='2222' guest-address='192.168.150.1'")) },
	  "guest-is-host",
	  0,
	  "<vw:forward" },
	{ "fwd/guest-broadcast",
	  { NAT(FWD("host-port='2222' guest-address='192.168.150.255'")) },
	  "guest-network-address",
	  0,
	  "<vw:forward" },
	{ "fwd/guest-network",
	  { NAT(FWD("host-port='2222' guest-address='192.168.150.0'")) },
	  "guest-network-address",
	  0,
	  "<vw:forward" },
	{ "fwd/guest-address/good",
	  { NAT6(FWD("host-port='2222' guest-address='192.168.150.254'")
			 FWD("host-port='23' guest-address='2001:db8:150::ffff'")) } },
	{ "fwd/family-listen-guest",
	  { NAT6(FWD("address='2001:db8:ffff::5' host-port='2222' guest-address='192.168.150.10'")) },
	  "family-mismatch",
	  0,
	  "<vw:forward" },
	{ "fwd/guest-mac-unreserved",
	  { NAT(FWD("host-port='2222' guest-mac='52:54:00:aa:bb:99'")) },
	  "guest-mac-unreserved",
	  0,
	  "<vw:forward" },
	{ "fwd/guest-mac-family",
	  { NAT6(FWD("address='2001:db8:ffff::5' host-port='2222' guest-mac='" WEB "'")) },
	  "family-mismatch",
	  0,
	  "<vw:forward" },
	{ "fwd/guest-mac/good", { NAT6(FWD("address='203.0.113.5' host-port='2222' guest-mac='" WEB "'")) } },
	{ "fwd/duplicate-name",
	  { NAT("      <vw:forward name='ssh' proto='tcp' host-port='2222' guest-mac='" WEB "'/>\n"
		"      <vw:forward name='ssh' proto='tcp' host-port='23' guest-mac='" WEB2 "'/>\n") },
	  "duplicate-name",
	  0,
	  "host-port='23'" },
	{ "fwd/names/good",
	  { NAT("      <vw:forward name='ssh1' proto='tcp' host-port='2222' guest-mac='" WEB "'/>\n"
		"      <vw:forward name='ssh2' proto='tcp' host-port='23' guest-mac='" WEB2 "'/>\n") } },

	/* ------------------------------------------------------------------ */
	/* Collisions */
	{ "collision/in-network",
	  { NAT(FWD("host-port='2222' guest-mac='" WEB "'") FWD("host-port='2222' guest-mac='" WEB2 "'")) },
	  "forward-collision",
	  0,
	  "host-port='2222' guest-mac='" WEB2 },
	{ "collision/any-vs-address",
	  { NAT(FWD("host-port='443' guest-mac='" WEB "'")
			FWD("address='203.0.113.5' host-port='443' guest-mac='" WEB2 "'")) },
	  "forward-collision",
	  0,
	  "203.0.113.5" },
	{ "collision/address-vs-any",
	  { NAT(FWD("address='203.0.113.5' host-port='443' guest-mac='" WEB "'")
			FWD("host-port='443' guest-mac='" WEB2 "'")) },
	  "forward-collision",
	  0,
	  "guest-mac='" WEB2 },
	{ "collision/ranges",
	  { NAT(FWD("host-port='10000-10100' guest-mac='" WEB "'")
			FWD("host-port='10100-10200' guest-mac='" WEB2 "'")) },
	  "forward-collision",
	  0,
	  "10100-10200" },
	{ "collision/across-networks",
	  { NET("a", OPEN, "vw-a", IP150, VW("nat", FWD("host-port='2222' guest-mac='" WEB "'"))),
	    NET("b", OPEN, "vw-b", "  <ip address='192.168.151.1' prefix='24'/>\n",
		VW("nat", FWD("host-port='2222' guest-address='192.168.151.10'"))) },
	  "forward-collision",
	  1,
	  "<vw:forward" },
	{ "collision/domain-vs-network",
	  { PUBLIC(FWD("host-port='10080' guest-mac='" WEB2 "'")), WEB1(DFWD("host-port='10080'")) },
	  "forward-collision",
	  1,
	  "<vw:forward" },
	{ "collision/none/good",
	  { NAT6(FWD("host-port='2222' guest-mac='" WEB
		     "'") "      <vw:forward proto='udp' host-port='2222' guest-mac='" WEB "'/>\n"
			  "      <vw:forward proto='sctp' host-port='2222' guest-mac='" WEB
			  "'/>\n" FWD("host-port='2222' guest-address='2001:db8:150::10'")
				  FWD("address='203.0.113.5' host-port='443' guest-mac='" WEB "'")
					  FWD("address='203.0.113.6' host-port='443' guest-mac='" WEB2 "'")
						  FWD("host-port='10000-10099' guest-mac='" WEB "'")
							  FWD("host-port='10100-10199' guest-mac='" WEB2 "'")),
	    NET("b", OPEN, "vw-b", "  <ip address='192.168.151.1' prefix='24'/>\n",
		VW("nat", FWD("host-port='23' guest-address='192.168.151.10'"))) } },

	/* ------------------------------------------------------------------ */
	/* Networks together */
	{ "together/duplicate-network",
	  { NET("n", OPEN, "vw-a", IP150, VW("nat", "")),
	    NET("n", OPEN, "vw-b", "  <ip address='192.168.151.1' prefix='24'/>\n", VW("nat", "")) },
	  "duplicate-network",
	  1,
	  "<network>" },
	{ "together/duplicate-bridge",
	  { NET("a", OPEN, "vw-a", IP150, VW("nat", "")),
	    NET("b", OPEN, "vw-a", "  <ip address='192.168.151.1' prefix='24'/>\n", VW("nat", "")) },
	  "duplicate-bridge",
	  1,
	  "<bridge" },
	{ "together/subnet-overlap",
	  { NET("a", OPEN, "vw-a", "  <ip address='10.10.0.1' prefix='16'/>\n", VW("nat", "")),
	    NET("b", OPEN, "vw-b", "  <ip address='10.10.20.1' prefix='24'/>\n", VW("nat", "")) },
	  "subnet-overlap",
	  1,
	  "<ip " },
	{ "together/subnet-overlap-ipv6",
	  { NET("a", OPEN, "vw-a", "  <ip family='ipv6' address='2001:db8:100::1' prefix='48'/>\n", VW("nat", "")),
	    NET("b", OPEN, "vw-b", "  <ip family='ipv6' address='2001:db8:100:5::1' prefix='64'/>\n", VW("nat", "")) },
	  "subnet-overlap",
	  1,
	  "<ip " },
	{ "together/subnet-overlap-wide-later",
	  { NET("a", OPEN, "vw-a", "  <ip address='10.10.20.1' prefix='24'/>\n", VW("nat", "")),
	    NET("b", OPEN, "vw-b", "  <ip address='10.10.0.1' prefix='16'/>\n", VW("nat", "")) },
	  "subnet-overlap",
	  0,
	  "<ip " },
	{ "together/subnets/good",
	  { NET("a", OPEN, "vw-a", "  <ip address='192.168.163.1' prefix='25'/>\n" IP6, VW("nat", "")),
	    NET("b", OPEN, "vw-b", "  <ip address='192.168.163.129' prefix='25'/>\n", VW("nat", "")),
	    NET("c", OPEN, "vw-c", "  <ip family='ipv6' address='2001:db8:151::1' prefix='64'/>\n", VW("nat", "")) } },

	/* ------------------------------------------------------------------ */
	/* Domains */
	{ "domain/mac-multicast",
	  { DOM("web1", IFACE("public", "53:54:00:aa:bb:10"), "") },
	  "invalid-mac",
	  0,
	  "<interface" },
	{ "domain/duplicate-mac",
	  { DOM("web1", IFACE("public", WEB) IFACE("public", WEB), "") },
	  "duplicate-mac",
	  0,
	  IFACE("public", WEB) "  </devices>" },
	{ "domain/duplicate-mac-across",
	  { DOM("web1", IFACE("public", WEB), ""), DOM("web2", IFACE("public", WEB), "") },
	  "duplicate-mac",
	  1,
	  "<interface" },
	{ "domain/duplicate-name",
	  { DOM("web1", IFACE("public", WEB), ""), DOM("web1", IFACE("public", WEB2), "") },
	  "duplicate-domain",
	  1,
	  "<domain" },
	{ "domain/macs/good",
	  { DOM("web1", IFACE("public", WEB) IFACE("backend", "52:54:00:bb:bb:10"), ""),
	    DOM("web2", IFACE("public", WEB2), "") } },
	{ "dfwd/network-unknown",
	  { WEB1(DFWD("host-port='10080'")) },
	  "network-unknown",
	  0,
	  "<vw:forward",
	  VW_SEV_WARNING },
	{ "dfwd/denied",
	  { NAT(""),
	    DOM("web1", IFACE("vwnat", WEB), "      <vw:forward network='vwnat' proto='tcp' host-port='10080'/>\n") },
	  "domain-forwards-denied",
	  1,
	  "<vw:forward" },
	{ "dfwd/denied-explicitly",
	  { NET("public", OPEN, "vw-public", IP150, VW("nat", "      <vw:domain-forwards allow='no'/>\n")),
	    WEB1(DFWD("host-port='10080'")) },
	  "domain-forwards-denied",
	  1,
	  "<vw:forward" },
	{ "dfwd/no-vw-network",
	  { NET("public", LV_NAT, "vw-public", IP150, ""), WEB1(DFWD("host-port='10080'")) },
	  "domain-forwards-denied",
	  1,
	  "<vw:forward" },
	{ "dfwd/port-below", { PUBLIC(""), WEB1(DFWD("host-port='9999'")) }, "domain-forward-port", 1, "<vw:forward" },
	{ "dfwd/range-past",
	  { PUBLIC(""), WEB1(DFWD("host-port='10990-11000'")) },
	  "domain-forward-port",
	  1,
	  "<vw:forward" },
	{ "dfwd/policy-edges/good",
	  { PUBLIC(""), WEB1(DFWD("host-port='10000'") DFWD("host-port='10999'") DFWD("host-port='10500-10510'")) } },
	{ "dfwd/any-port/good",
	  { NET("public", OPEN, "vw-public", IP150, VW("nat", "      <vw:domain-forwards allow='yes'/>\n")),
	    WEB1(DFWD("host-port='80'")) } },
	/* The policy itself is refused on a host-only network, in a.xml. */
	{ "dfwd/mode-has-no-forwards",
	  { NET("public", OPEN, "vw-public", IP150, VW("host-only", POLICY)), WEB1(DFWD("host-port='10080'")) },
	  "forwards-mode",
	  1,
	  "<vw:forward",
	  VW_SEV_ERROR,
	  1 },
	{ "dfwd/no-interface",
	  { PUBLIC(""), DOM("web1", IFACE("other", WEB), DFWD("host-port='10080'")) },
	  "no-interface",
	  1,
	  "<vw:forward" },
	{ "dfwd/mac-not-found",
	  { PUBLIC(""), WEB1(DFWD("mac='52:54:00:aa:bb:99' host-port='10080'")) },
	  "no-interface",
	  1,
	  "<vw:forward" },
	{ "dfwd/ambiguous",
	  { PUBLIC(""), DOM("web1", IFACE("public", WEB) IFACE("public", WEB2), DFWD("host-port='10080'")) },
	  "ambiguous-interface",
	  1,
	  "<vw:forward" },
	{ "dfwd/ambiguous-resolved/good",
	  { PUBLIC(""), DOM("web1", IFACE("public", WEB) IFACE("public", WEB2),
			    DFWD("mac='" WEB2 "' host-port='10080'") DFWD("mac='" WEB "' host-port='10081'")) } },
	{ "dfwd/interface-no-mac",
	  { PUBLIC(""),
	    DOM("web1", "    <interface type='network'>\n      <source network='public'/>\n    </interface>\n",
		DFWD("host-port='10080'")) },
	  "interface-no-mac",
	  1,
	  "<interface" },
	{ "dfwd/unreserved",
	  { PUBLIC(""), DOM("web1", IFACE("public", "52:54:00:aa:bb:99"), DFWD("host-port='10080'")) },
	  "guest-mac-unreserved",
	  1,
	  "<vw:forward" },
	{ "dfwd/family",
	  { PUBLIC(""), WEB1(DFWD("address='2001:db8:ffff::5' host-port='10080'")) },
	  "family-mismatch",
	  1,
	  "<vw:forward" },
	{ "dfwd/common-rules",
	  { PUBLIC(""), WEB1(DFWD("address='127.0.0.1' host-port='10080'")) },
	  "localhost-disabled",
	  1,
	  "<vw:forward" },
	{ "dfwd/source-family",
	  { PUBLIC(""), WEB1("      <vw:forward network='public' proto='tcp' host-port='10080'>\n"
			     "        <vw:source address='2001:db8:ab::/48'/>\n      </vw:forward>\n") },
	  "family-mismatch",
	  1,
	  "<vw:source" },
	{ "dfwd/good", { PUBLIC(""), WEB1(DFWD("address='203.0.113.5' host-port='10080' guest-port='80'")) } },

	/* ------------------------------------------------------------------ */
	/* Network names: what libvirt and the state directory can hold */
	{ "name/empty", { NET("", OPEN, "vw-n", IP150, VW("nat", "")) }, "network-name", 0, "<network>" },
	{ "name/blank", { NET("  ", OPEN, "vw-n", IP150, VW("nat", "")) }, "network-name", 0, "<network>" },
	{ "name/too-long",
	  { NET(C100 C100 C50 "1234567", OPEN, "vw-n", IP150, VW("nat", "")) },
	  "network-name",
	  0,
	  "<network>" },
	{ "name/longest/good", { NET(C100 C100 C50 "123456", OPEN, "vw-n", IP150, VW("nat", "")) } },
	{ "name/slash", { NET("lab/a", OPEN, "vw-n", IP150, VW("nat", "")) }, "network-name", 0, "<network>" },
	{ "name/newline",
	  { NET("lab&#10;a.xml:1: error: forged", OPEN, "vw-n", IP150, VW("nat", "")) },
	  "network-name",
	  0,
	  "<network>" },
	{ "name/tab", { NET("lab&#9;a", OPEN, "vw-n", IP150, VW("nat", "")) }, "network-name", 0, "<network>" },
	{ "name/del", { NET("lab&#127;a", OPEN, "vw-n", IP150, VW("nat", "")) }, "network-name", 0, "<network>" },
	{ "name/c1", { NET("lab&#133;a", OPEN, "vw-n", IP150, VW("nat", "")) }, "network-name", 0, "<network>" },
	{ "name/unicode-and-space/good", { NET("réseau de lab", OPEN, "vw-n", IP150, VW("nat", "")) } },
	/* The refused name is that network's only finding, and no other
	 * network's finding quotes it (here: the same subnet twice). */
	{ "name/alone",
	  { NET("lab/a", OPEN, "vw-a", IP150, VW("nat", FWD("host-port='2222' guest-address='10.9.9.9'"))),
	    NET("lab", OPEN, "vw-b", IP150, VW("nat", "")) },
	  "network-name",
	  0,
	  "<network>" },

	/* ------------------------------------------------------------------ */
	/* Networkports */
	{ "port/no-mac", { PORT(PUUID, "", "vw-public") }, "port-no-mac", 0, "<networkport>" },
	{ "port/multicast", { PORT(PUUID, PMAC("01:00:5e:00:00:fb"), "vw-public") }, "invalid-mac", 0, "<mac" },
	{ "port/no-uuid", { PORT("", PMAC(WEB), "vw-public") }, "port-no-uuid", 0, "<networkport>" },
	{ "port/good", { PORT(PUUID, PMAC(WEB), "vw-public") } },
	{ "port/bridge-mismatch",
	  { "<hookData>\n" NET("public", OPEN, "vw-public", IP150, VW("nat", ""))
		    PORT(PUUID, PMAC(WEB), "virbr0") "</hookData>\n" },
	  "port-bridge-mismatch",
	  0,
	  "<networkport>",
	  VW_SEV_WARNING },
	{ "port/hookdata/good",
	  { "<hookData>\n" NET("public", OPEN, "vw-public", IP150, VW("nat", ""))
		    PORT(PUUID, PMAC(WEB), "vw-public") "</hookData>\n" } },
};

static int line_of(const char *xml, const char *marker)
{
	const char *at = strstr(xml, marker);
	int line = 1;

	g_assert_nonnull(at);
	for (const char *p = xml; p < at; p++)
		line += *p == '\n';
	return line;
}

/* Loads every document of @c and runs all the rules over them. */
static VwDiags *run(const char *const *docs, GPtrArray *out)
{
	static const char *const names[] = { "a.xml", "b.xml", "c.xml", "d.xml" };
	VwDiags *d = vw_diags_new();

	for (int i = 0; i < 4 && docs[i]; i++) {
		VwDoc *doc = NULL;

		g_assert_cmpint(vw_doc_load_memory(names[i], docs[i], strlen(docs[i]), NULL, d, &doc), ==, VW_LOAD_OK);
		g_ptr_array_add(out, doc);
	}
	/* The inputs themselves parse cleanly: every finding is the rule's. */
	if (d->items->len) {
		g_autofree char *all = vw_diags_format_text(d);

		g_test_message("parse findings:\n%s", all);
	}
	g_assert_cmpuint(d->items->len, ==, 0);
	vw_check_docs(out, d);
	vw_diags_sort(d);
	return d;
}

/* One message wherever the name is checked: the rule alone, on a name
 * given directly (as the engine and the hook have it). */
static void test_network_name_message(void)
{
	static const struct {
		const char *name;
		const char *message;
	} names[] = {
		{ "", "network name '' is empty" },
		{ "lab/a", "network name 'lab/a' contains '/'" },
		{ "lab\na.xml:1: error: forged",
		  "network name 'lab\\na.xml:1: error: forged' contains a control character" },
		{ "lab\x85", "network name 'lab\\x85' is not UTF-8" },
		{ "lab\xc2\x85", "network name 'lab\\u0085' contains a control character" },
		{ C100 C100 C100, "network name '" C50 "abcdefghijabcd…' is 300 bytes long, more than 256" },
	};

	for (gsize i = 0; i < G_N_ELEMENTS(names); i++) {
		g_autoptr(VwDiags) d = vw_diags_new();
		const VwDiag *x;

		g_assert_false(vw_check_network_name(names[i].name, vw_loc("n.xml", 3), d));
		g_assert_cmpuint(d->items->len, ==, 1);
		x = d->items->pdata[0];
		g_assert_cmpstr(x->code, ==, "network-name");
		g_assert_cmpstr(x->message, ==, names[i].message);
		g_assert_cmpint(x->loc.line, ==, 3);
	}
	g_assert_true(vw_check_network_name("default", vw_loc("n.xml", 3), NULL));
}

static void test_rule(gconstpointer data)
{
	static const char *const names[] = { "a.xml", "b.xml", "c.xml", "d.xml" };
	const RuleCase *c = data;
	g_autoptr(GPtrArray) docs = g_ptr_array_new_with_free_func((GDestroyNotify)vw_doc_free);
	g_autoptr(VwDiags) d = run(c->docs, docs);
	g_autofree char *text = vw_diags_format_text(d);
	const VwDiag *x;

	if (!c->code) {
		if (d->items->len)
			g_test_message("unexpected findings:\n%s", text);
		g_assert_cmpuint(d->items->len, ==, 0);
		return;
	}
	if (d->items->len != 1 + c->also)
		g_test_message("findings:\n%s", text);
	g_assert_cmpuint(d->items->len, ==, 1 + c->also);
	x = NULL;
	for (guint i = 0; !x && i < d->items->len; i++)
		if (g_strcmp0(((VwDiag *)d->items->pdata[i])->loc.file, names[c->doc]) == 0)
			x = d->items->pdata[i];
	g_assert_nonnull(x);
	g_assert_cmpstr(x->code, ==, c->code);
	g_assert_cmpint(x->severity, ==, c->severity);
	g_assert_cmpstr(x->loc.file, ==, names[c->doc]);
	g_assert_cmpint(x->loc.line, ==, line_of(c->docs[c->doc], c->at));
	/* Messages are one line without a trailing period. */
	g_assert_null(strchr(x->message, '\n'));
	g_assert_false(g_str_has_suffix(x->message, "."));
}

/* ---------------------------------------------------------------------- */
/* Collisions at scale, on models built directly */

static VwForward *forward(VwProto proto, const char *listen, unsigned lo, unsigned hi, const char *guest, int line)
{
	VwForward *f = vw_forward_new();

	f->proto = proto;
	f->has_proto = true;
	if (listen)
		g_assert_true(vw_addr_parse(listen, &f->listen));
	f->host.lo = (uint16_t)lo;
	f->host.hi = (uint16_t)hi;
	f->has_host_port = true;
	g_assert_true(vw_addr_parse(guest, &f->guest_addr));
	f->loc = vw_loc(g_intern_string("big.xml"), line);
	return f;
}

static VwNetwork *network(const char *name, const char *subnet)
{
	VwNetwork *n = vw_network_new();
	VwIp *ip = vw_ip_new();
	VwPrefix p;

	g_assert_true(vw_prefix_parse(subnet, &p));
	n->name = g_strdup(name);
	n->forward = VW_FWD_OPEN;
	n->loc = vw_loc(g_intern_string("big.xml"), 1);
	ip->address = p.addr;
	ip->prefix = p.prefix;
	ip->has_prefix = true;
	g_ptr_array_add(n->ips, ip);
	n->vw = g_new0(VwNetMeta, 1);
	n->vw->mode = VW_MODE_NAT;
	n->vw->forwards = g_ptr_array_new_with_free_func((GDestroyNotify)vw_forward_free);
	n->vw->nat_uplinks = g_ptr_array_new_with_free_func(g_free);
	return n;
}

/* 10,000 forwards over both families and all protocols, none colliding:
 * single ports, ranges, and the same ports on distinct listen addresses. */
static VwNetwork *big_network(void)
{
	VwNetwork *n = network("big", "10.0.0.1/16");
	int line = 2;

	for (unsigned i = 0; i < 4000; i++)
		g_ptr_array_add(n->vw->forwards,
				forward(VW_PROTO_TCP, NULL, 1 + i * 10, 1 + i * 10 + 9, "10.0.1.2", line++));
	for (unsigned i = 0; i < 3000; i++)
		g_ptr_array_add(n->vw->forwards, forward(VW_PROTO_UDP, NULL, 1 + i, 1 + i, "10.0.1.3", line++));
	for (unsigned i = 0; i < 2000; i++) {
		g_autofree char *a = g_strdup_printf("203.0.%u.%u", 113 + i / 250, 1 + i % 250);

		g_ptr_array_add(n->vw->forwards, forward(VW_PROTO_SCTP, a, 443, 443, "10.0.1.4", line++));
	}
	for (unsigned i = 0; i < 1000; i++)
		g_ptr_array_add(n->vw->forwards, forward(VW_PROTO_TCP, NULL, 40001 + i, 40001 + i, "10.0.1.5", line++));
	g_assert_cmpuint(n->vw->forwards->len, ==, 10000);
	return n;
}

static void test_collisions_none(void)
{
	g_autoptr(VwNetwork) n = big_network();
	g_autoptr(GPtrArray) nets = g_ptr_array_new();
	g_autoptr(VwDiags) d = vw_diags_new();
	gint64 start;

	g_ptr_array_add(nets, n);
	start = g_get_monotonic_time();
	vw_check_together(nets, NULL, d);
	g_test_message("10,000 forwards checked in %" G_GINT64_FORMAT " us", g_get_monotonic_time() - start);
	g_assert_cmpuint(d->items->len, ==, 0);
}

static void test_collisions_one_pair(void)
{
	g_autoptr(VwNetwork) n = big_network();
	g_autoptr(VwNetwork) other = network("other", "10.1.0.1/16");
	g_autoptr(GPtrArray) nets = g_ptr_array_new();
	g_autoptr(VwDiags) d = vw_diags_new();
	const VwDiag *x;

	/* One forward of another network on a port inside tcp 1-40000. */
	g_ptr_array_add(other->vw->forwards, forward(VW_PROTO_TCP, "203.0.113.77", 20005, 20005, "10.1.1.2", 20000));
	g_ptr_array_add(nets, n);
	g_ptr_array_add(nets, other);
	vw_check_together(nets, NULL, d);
	g_assert_cmpuint(d->items->len, ==, 1);
	x = d->items->pdata[0];
	g_assert_cmpstr(x->code, ==, "forward-collision");
	/* Blamed on the later of the two in the input. */
	g_assert_cmpint(x->loc.line, ==, 20000);
	g_assert_nonnull(strstr(x->message, "20005/tcp"));
	g_assert_nonnull(strstr(x->message, "network 'big'"));
}

static void test_collisions_pairs(void)
{
	g_autoptr(VwNetwork) n = network("n", "10.0.0.1/16");
	g_autoptr(GPtrArray) nets = g_ptr_array_new();
	g_autoptr(VwDiags) d = vw_diags_new();

	/* 5,000 pairs of forwards, each pair on one port: 5,000 findings. */
	for (unsigned i = 0; i < 10000; i++)
		g_ptr_array_add(n->vw->forwards,
				forward(VW_PROTO_UDP, NULL, 1 + i / 2, 1 + i / 2, "10.0.1.2", (int)i + 1));
	d->limit = 0;
	g_ptr_array_add(nets, n);
	vw_check_together(nets, NULL, d);
	g_assert_cmpuint(d->items->len, ==, 5000);
}

static void test_collisions_scale(void)
{
	g_autoptr(VwNetwork) n = network("n", "10.0.0.1/8");
	g_autoptr(GPtrArray) nets = g_ptr_array_new();
	g_autoptr(VwDiags) d = vw_diags_new();
	gint64 start, took;

	/* 200,000 claims (well past VW_MAX_FORWARDS): an O(n²) scan would take
	 * minutes; the sweep takes well under a second. */
	for (unsigned i = 0; i < 200000; i++) {
		char a[32];

		g_snprintf(a, sizeof(a), "198.%u.%u.%u", 18 + i / 65536, (i / 256) % 256, i % 256);
		g_ptr_array_add(n->vw->forwards, forward(VW_PROTO_TCP, a, 8080, 8080, "10.0.1.2", (int)i + 1));
	}
	g_ptr_array_add(nets, n);
	start = g_get_monotonic_time();
	vw_check_together(nets, NULL, d);
	took = g_get_monotonic_time() - start;
	g_test_message("200,000 forwards checked in %" G_GINT64_FORMAT " us", took);
	g_assert_cmpuint(d->items->len, ==, 0);
	g_assert_cmpint(took, <, 20 * G_USEC_PER_SEC);
}

/* vw_forward_target and vw_forward_families, used by the planner too. */
static void test_forward_target(void)
{
	static const char xml[] = NAT6(FWD("host-port='2222' guest-mac='" WEB "'") FWD(
		"address='2001:db8:ffff::5' host-port='23' guest-address='2001:db8:150::9'")
					       FWD("address='203.0.113.5' host-port='24' guest-mac='" WEB "'"));
	g_autoptr(VwDiags) d = vw_diags_new();
	g_autoptr(VwDoc) doc = NULL;
	GPtrArray *fwds;
	VwAddr a;
	char buf[VW_ADDR_STRLEN];

	g_assert_cmpint(vw_doc_load_memory("n.xml", xml, strlen(xml), NULL, d, &doc), ==, VW_LOAD_OK);
	fwds = vw_network_forwards(doc->network);
	g_assert_true(vw_forward_target(doc->network, fwds->pdata[0], AF_INET, &a));
	g_assert_cmpstr(vw_addr_to_string(&a, buf), ==, "192.168.150.10");
	g_assert_false(vw_forward_target(doc->network, fwds->pdata[0], AF_INET6, &a));
	g_assert_cmpuint(vw_forward_families(doc->network, fwds->pdata[0]), ==, VW_FAM_V4);
	g_assert_true(vw_forward_target(doc->network, fwds->pdata[1], AF_INET6, &a));
	g_assert_false(vw_forward_target(doc->network, fwds->pdata[1], AF_INET, &a));
	g_assert_cmpuint(vw_forward_families(doc->network, fwds->pdata[1]), ==, VW_FAM_V6);
	g_assert_cmpuint(vw_forward_families(doc->network, fwds->pdata[2]), ==, VW_FAM_V4);
	/* A learned address: where there is no reservation (IPv6 here), not
	 * in place of one. */
	{
		VwAddr v4, v6;

		g_assert_true(vw_addr_parse("192.168.150.99", &v4) && vw_addr_parse("2001:db8:150::99", &v6));
		vw_network_learn(doc->network, &((VwForward *)fwds->pdata[0])->guest_mac, &v4);
		vw_network_learn(doc->network, &((VwForward *)fwds->pdata[0])->guest_mac, &v6);
	}
	g_assert_true(vw_forward_target(doc->network, fwds->pdata[0], AF_INET, &a));
	g_assert_cmpstr(vw_addr_to_string(&a, buf), ==, "192.168.150.10");
	g_assert_true(vw_forward_target(doc->network, fwds->pdata[0], AF_INET6, &a));
	g_assert_cmpstr(vw_addr_to_string(&a, buf), ==, "2001:db8:150::99");
	g_assert_cmpuint(vw_forward_families(doc->network, fwds->pdata[0]), ==, VW_FAM_V4 | VW_FAM_V6);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *path = g_strdup_printf("/check/%s", cases[i].path);

		g_test_add_data_func(path, &cases[i], test_rule);
	}
	g_test_add_func("/check/collisions/10000-none", test_collisions_none);
	g_test_add_func("/check/collisions/10000-one-pair", test_collisions_one_pair);
	g_test_add_func("/check/collisions/5000-pairs", test_collisions_pairs);
	g_test_add_func("/check/collisions/200000-scale", test_collisions_scale);
	g_test_add_func("/check/forward-target", test_forward_target);
	g_test_add_func("/check/network-name-message", test_network_name_message);
	return g_test_run();
}
