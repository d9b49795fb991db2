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

# guests_on BR...: for each of vw-web, vw-rt, vw-ho named, the bridge as
# libvirt makes it and its guest (guest1, guest2, guest3 on 192.168.180,
# .181, .182).
guests_on() {
	local br
	for br in "$@"; do
		case $br in
		vw-web) topo_bridge vw-web 192.168.180.1/24 &&
			topo_guest guest1 vw-web 52:54:00:00:18:10 192.168.180.10/24 192.168.180.1 ;;
		vw-rt) topo_bridge vw-rt 192.168.181.1/24 &&
			topo_guest guest2 vw-rt 52:54:00:00:18:20 192.168.181.10/24 192.168.181.1 ;;
		vw-ho) topo_bridge vw-ho 192.168.182.1/24 &&
			topo_guest guest3 vw-ho 52:54:00:00:18:30 192.168.182.10/24 192.168.182.1 ;;
		*) return 1 ;;
		esac || return 1
	done
}

# net_xml NAME BRIDGE SUBNET MODE [CHILDREN]: a network of libvirt's open
# mode with virtwire's metadata (CHILDREN inside vw:network), on stdout.
net_xml() {
	cat <<XML
<network>
  <name>$1</name>
  <forward mode='open'/>
  <bridge name='$2'/>
  <ip address='$3.1' prefix='24'/>
  <metadata>
    <vw:network xmlns:vw="urn:virtwire:1" mode="$4">${5:-}</vw:network>
  </metadata>
</network>
XML
}

# The forward every hostfw test has on network web.
SSH_FWD='<vw:forward name="ssh" proto="tcp" host-port="2222" guest-address="192.168.180.10" guest-port="22"/>'

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
