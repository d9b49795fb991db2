#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# host-only, internal and route with real packets, side by side on one host,
# each isolated from the others.
#
#   wan 203.0.113.2 (routes the route network via the host)
#    │
#   host wan0 203.0.113.1
#     vw-ho  192.168.160.1/24   host-only   ho1 .10, ho2 .11
#     vw-in  10.99.0.254/24     internal    in1 10.99.0.1, in2 10.99.0.2
#     vw-rt  192.168.170.1/24 2001:db8:170::1/64   route   rt1 .10 / ::10
#   The internal network has the host address libvirt needs for
#   <forward mode='open'/>: the guests must not reach it all the same.
. "$(dirname "$0")/lib.sh"
need_root

topology() {
	topo_wan &&
		ip -n "$(ns wan)" route add 192.168.170.0/24 via 203.0.113.1 &&
		ip -n "$(ns wan)" -6 route add 2001:db8:170::/64 via 2001:db8:ffff::1 &&
		ip -n "$(ns wan)" route add 192.168.160.0/24 via 203.0.113.1 &&
		topo_bridge vw-ho 192.168.160.1/24 &&
		topo_bridge vw-in 10.99.0.254/24 &&
		topo_bridge vw-rt 192.168.170.1/24 2001:db8:170::1/64 &&
		topo_guest ho1 vw-ho 52:54:00:00:16:10 192.168.160.10/24 192.168.160.1 &&
		topo_guest ho2 vw-ho 52:54:00:00:16:11 192.168.160.11/24 192.168.160.1 &&
		topo_guest in1 vw-in 52:54:00:00:99:01 10.99.0.1/24 10.99.0.254 &&
		topo_guest in2 vw-in 52:54:00:00:99:02 10.99.0.2/24 10.99.0.254 &&
		topo_guest rt1 vw-rt 52:54:00:00:17:10 192.168.170.10/24 192.168.170.1 2001:db8:170::10/64 2001:db8:170::1
}
setup "topology: wan, host, three bridges, five guests" topology

cat >"$VWT_TMP/ho.xml" <<'XML'
<network>
  <name>ho</name>
  <forward mode='open'/>
  <bridge name='vw-ho'/>
  <ip address='192.168.160.1' prefix='24'/>
  <metadata><vw:network xmlns:vw="urn:virtwire:1" mode="host-only"/></metadata>
</network>
XML
cat >"$VWT_TMP/in.xml" <<'XML'
<network>
  <name>in</name>
  <forward mode='open'/>
  <bridge name='vw-in'/>
  <ip address='10.99.0.254' prefix='24'/>
  <metadata><vw:network xmlns:vw="urn:virtwire:1" mode="internal"/></metadata>
</network>
XML
cat >"$VWT_TMP/rt.xml" <<'XML'
<network>
  <name>rt</name>
  <forward mode='open'/>
  <bridge name='vw-rt'/>
  <ip address='192.168.170.1' prefix='24'/>
  <ip family='ipv6' address='2001:db8:170::1' prefix='64'/>
  <metadata><vw:network xmlns:vw="urn:virtwire:1" mode="route"/></metadata>
</network>
XML
check "apply host-only, internal and route networks" vw host apply "$VWT_TMP/ho.xml" "$VWT_TMP/in.xml" "$VWT_TMP/rt.xml"

serve wan tcp4 80
serve host tcp4 7777
serve host udp4 53
for g in ho1 ho2 in1 in2 rt1; do serve "$g" tcp4 22; done
serve rt1 tcp6 22

# host-only: guests ↔ host and guests ↔ guests; nothing else.
reach "host-only: guest reaches the host" ho1 tcp4 192.168.160.1 7777 '^host 192\.168\.160\.10$'
reach "host-only: guest reaches the host's DNS" ho1 udp4 192.168.160.1 53 '^host 192\.168\.160\.10$'
reach "host-only: host reaches a guest" host tcp4 192.168.160.10 22 '^ho1 192\.168\.160\.1$'
reach "host-only: guest reaches another guest" ho1 tcp4 192.168.160.11 22 '^ho2 192\.168\.160\.10$'
blocked "host-only: guest cannot reach wan (virtwire rejects it)" ho1 tcp4 203.0.113.2 80 rejected
blocked "host-only: wan cannot reach a guest (the host can)" wan tcp4 192.168.160.10 22 dropped host

# internal: guests ↔ guests only.
reach "internal: guest reaches another guest" in1 tcp4 10.99.0.2 22 '^in2 10\.99\.0\.1$'
blocked "internal: guest cannot reach the host (a host-only guest can)" in1 tcp4 10.99.0.254 7777 dropped ho1
blocked "internal: guest cannot reach the host's other address (wan can)" in1 tcp4 203.0.113.1 7777 dropped wan
blocked "internal: host cannot reach a guest (the other guest can)" host tcp4 10.99.0.1 22 dropped in2
blocked "internal: guest cannot reach wan (the host can)" in1 tcp4 203.0.113.2 80 dropped host

# route: both ways, untranslated.
reach "route: guest reaches wan untranslated" rt1 tcp4 203.0.113.2 80 '^wan 192\.168\.170\.10$'
reach "route: wan reaches a guest untranslated" wan tcp4 192.168.170.10 22 '^rt1 203\.0\.113\.2$'
reach "route: wan reaches a guest over IPv6" wan tcp6 2001:db8:170::10 22 '^rt1 2001:db8:ffff::2$'
reach "route: guest reaches the host" rt1 tcp4 192.168.170.1 7777 '^host 192\.168\.170\.10$'

# Isolation between networks.
blocked "route guest cannot reach a host-only guest (virtwire rejects it)" rt1 tcp4 192.168.160.10 22 rejected
blocked "host-only guest cannot reach a route guest (virtwire rejects it)" ho1 tcp4 192.168.170.10 22 rejected
blocked "internal guest cannot reach a route guest (wan can)" in1 tcp4 192.168.170.10 22 dropped wan

check "teardown all three" vw host teardown ho in rt
lacks "no virtwire table left" virtwire nsx host nft list tables
done_testing
