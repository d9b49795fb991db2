#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Bridged mode: virtwire builds a bridge over the host's uplink, moving the
# uplink's MAC, addresses and routes (the default route too) to the bridge,
# so the host stays on its LAN; a guest on the bridge is a peer on the LAN.
# Teardown puts everything back.
#
#   lan  198.51.100.1/24 (the LAN's router; stands for the LAN), 2001:db8:100::1/64
#    │ veth
#   host eth0 198.51.100.2/24 2001:db8:100::2/64, default via 198.51.100.1
#        vw-lan (bridged, made by virtwire) ── guest1 198.51.100.50
. "$(dirname "$0")/lib.sh"
need_root

topology() {
	ns_add host && ns_add lan &&
		ip -n "$(ns host)" link add eth0 type veth peer name eth0 netns "$(ns lan)" &&
		ip -n "$(ns lan)" addr add 198.51.100.1/24 dev eth0 &&
		ip -n "$(ns lan)" addr add 2001:db8:100::1/64 dev eth0 nodad &&
		ip -n "$(ns lan)" link set eth0 up &&
		ip -n "$(ns host)" addr add 198.51.100.2/24 dev eth0 &&
		ip -n "$(ns host)" addr add 2001:db8:100::2/64 dev eth0 nodad &&
		ip -n "$(ns host)" link set eth0 up &&
		ip -n "$(ns host)" route add default via 198.51.100.1 &&
		ip -n "$(ns host)" -6 route add default via 2001:db8:100::1
}
setup "topology: host with uplink eth0, lan" topology
cat >"$VWT_TMP/lan.xml" <<'XML'
<network>
  <name>lan</name>
  <forward mode='bridge'/>
  <bridge name='vw-lan'/>
  <metadata>
    <vw:network xmlns:vw="urn:virtwire:1" mode="bridged" uplink="eth0"/>
  </metadata>
</network>
XML
serve lan tcp4 80
serve lan tcp6 80
uplink_mac=$(ip -n "$(ns host)" -br link show eth0 | awk '{print $3}')
setup "the uplink's MAC is known" test -n "$uplink_mac"
nsx host ip route show >"$VWT_TMP/routes-before"
nsx host ip -6 route show | grep -v '^fe80\|^multicast\|^ff00' >"$VWT_TMP/routes6-before"
nsx host ip -br addr show eth0 >"$VWT_TMP/addr-before"

reach "before: the host reaches the LAN" host tcp4 198.51.100.1 80 '^lan 198\.51\.100\.2$'
check "apply bridged mode" vw host apply "$VWT_TMP/lan.xml"
says "the uplink is a port of the bridge" 'master vw-lan' nsx host ip link show eth0
says "the bridge has the uplink's MAC" " $uplink_mac " nsx host ip -br link show vw-lan
check "the uplink's addresses are on the bridge" sh -c "ip -n $(ns host) addr show vw-lan | grep -q 198.51.100.2/24 && ip -n $(ns host) addr show vw-lan | grep -q 2001:db8:100::2/64"
lacks "… and no longer on the uplink" 'inet6? (198\.51|2001:db8:100::2)' nsx host ip addr show eth0
says "the default route goes through the bridge" 'dev vw-lan' nsx host ip route show default
says "… the IPv6 one too" 'dev vw-lan' nsx host ip -6 route show default
# Nothing to filter in bridged mode: only the bridge in @intra, so that the
# frames br_netfilter passes through the forward hook are marked as
# virtwire's for the host's firewalls (docs/real-host.md).
says "the table has the bridge in intra" '"vw-lan" \. "vw-lan" comment "lan"' nsx host nft list set inet virtwire intra
lacks "… and in no set of guest bridges" 'vw-lan' nsx host nft list set inet virtwire bridges
check "verify: the kernel matches" vw host verify lan
reach "while bridged: the host reaches the LAN" host tcp4 198.51.100.1 80 '^lan 198\.51\.100\.2$'
reach "while bridged: the host reaches the LAN over IPv6" host tcp6 2001:db8:100::1 80 '^lan 2001:db8:100::2$'
setup "guest1 on vw-lan" topo_guest guest1 vw-lan 52:54:00:00:50:10 198.51.100.50/24 198.51.100.1
reach "a guest on the bridge is a LAN peer (no NAT)" guest1 tcp4 198.51.100.1 80 '^lan 198\.51\.100\.50$'
setup "unplug guest1" ip -n "$(ns host)" link del g-guest1

check "teardown" vw host teardown lan
lacks "no bridge after teardown" '^vw-lan ' nsx host ip -br link
lacks "no table after teardown" virtwire nsx host nft list tables
nsx host ip route show >"$VWT_TMP/routes-after"
nsx host ip -6 route show | grep -v '^fe80\|^multicast\|^ff00' >"$VWT_TMP/routes6-after"
nsx host ip -br addr show eth0 >"$VWT_TMP/addr-after"
check "the uplink has its addresses back" diff "$VWT_TMP/addr-before" "$VWT_TMP/addr-after"
check "the routes are back, default route included" diff "$VWT_TMP/routes-before" "$VWT_TMP/routes-after"
check "the IPv6 routes are back" diff "$VWT_TMP/routes6-before" "$VWT_TMP/routes6-after"
reach "after: the host reaches the LAN" host tcp4 198.51.100.1 80 '^lan 198\.51\.100\.2$'
reach "after: the host reaches the LAN over IPv6" host tcp6 2001:db8:100::1 80 '^lan 2001:db8:100::2$'
done_testing
