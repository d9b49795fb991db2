# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
#
# Shared by the hostfw-*.sh tests: a bridged network beside the host's
# firewall. The host's second uplink eth1 is on the LAN of namespace "lan";
# virtwire's bridged network 'lan' builds vw-lan over it, and guest4 is a
# peer on that LAN. With br_netfilter (bridge-nf-call-iptables=1, as Docker
# sets it) the frames bridged between guest4 and the LAN pass the inet
# forward hooks, and so every firewall's forward chain, its drop policy
# included; without it they never reach them.
#
#   lan 198.51.100.1/24 ── host eth1 198.51.100.2/24, enslaved to vw-lan (bridged) ── guest4 198.51.100.50

# lan_segment: the namespace "lan" and the host's eth1.
lan_segment() {
	ns_add lan &&
		ip -n "$(ns host)" link add eth1 type veth peer name eth0 netns "$(ns lan)" &&
		ip -n "$(ns lan)" addr add 198.51.100.1/24 dev eth0 &&
		ip -n "$(ns lan)" link set eth0 up &&
		ip -n "$(ns host)" addr add 198.51.100.2/24 dev eth1 &&
		ip -n "$(ns host)" link set eth1 up
}

# lan_xml: the bridged network 'lan' over eth1 (the bridge's STP is off:
# its ports forward at once), into $VWT_TMP/lan.xml.
lan_xml() {
	cat >"$VWT_TMP/lan.xml" <<'XML'
<network>
  <name>lan</name>
  <forward mode='bridge'/>
  <bridge name='vw-lan'/>
  <metadata><vw:network xmlns:vw="urn:virtwire:1" mode="bridged" uplink="eth1"/></metadata>
</network>
XML
}

# lan_plug: guest4 on vw-lan, which virtwire's apply made (again after a
# teardown took the bridge away); its server the first time.
lan_plug() {
	if ip -n "$(ns host)" link show g-guest4 >/dev/null 2>&1; then
		ip -n "$(ns host)" link set g-guest4 master vw-lan up
	else
		topo_guest guest4 vw-lan 52:54:00:00:18:40 198.51.100.50/24 198.51.100.1 && serve guest4 tcp4 22
	fi
}

# brnf_on: whether bridged frames pass the inet hooks in the host's
# namespace (br_netfilter, bridge-nf-call-iptables=1).
brnf_on() {
	[ "$(ip netns exec "$(ns host)" cat /proc/sys/net/bridge/bridge-nf-call-iptables 2>/dev/null)" = 1 ]
}

# lan_traffic WHEN: the bridged guest and the LAN, both ways.
lan_traffic() {
	reach "$1: a bridged guest reaches the LAN" guest4 tcp4 198.51.100.1 80 '^lan 198\.51\.100\.50$'
	reach "$1: the LAN reaches the bridged guest" lan tcp4 198.51.100.50 22 '^guest4 198\.51\.100\.1$'
}
