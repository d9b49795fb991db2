# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
#
# Shared by the spanning tests (span.sh, span-gw.sh, span-evpn.sh): hosts on
# an underlay bridge (namespace "ul", bridge ul-br, 192.0.2.0/24), guests on
# a host's bridge, VXLAN frames made by hand, bounded waits, the flood
# entries and the underlay's admission of a VXLAN device, FRR stopped.

# span_underlay: the underlay's namespace and bridge.
span_underlay() {
	ns_add ul &&
		ip -n "$(ns ul)" link add ul-br type bridge stp_state 0 forward_delay 0 &&
		ip -n "$(ns ul)" link set ul-br up
}

# host_on_underlay H N: namespace H, its veth ul0 (192.0.2.N) on the
# underlay's bridge.
host_on_underlay() {
	ns_add "$1" &&
		ip -n "$(ns "$1")" link add ul0 type veth peer name "p-$1" netns "$(ns ul)" &&
		ip -n "$(ns ul)" link set "p-$1" master ul-br up &&
		ip -n "$(ns "$1")" addr add "192.0.2.$2/24" dev ul0 &&
		ip -n "$(ns "$1")" link set ul0 up
}

# guest_on H BR ROLE MAC [N SUBNET]: a guest namespace on H's bridge BR, its
# veth's host end g-ROLE enslaved as libvirt enslaves a tap (with the
# bridge's MTU); with N, the addresses 10.SUBNET.0.N/24 and fd00:SUBNET::N/64.
# The guest's namespace is made when missing (a guest that moves is plugged
# again on another host).
guest_on() {
	local h=$1 br=$2 role=$3 mac=$4 n=${5:-} sub=${6:-} g mtu
	g=$(ns "$role")
	{ [ -e "/run/netns/$g" ] || ns_add "$role"; } &&
		ip -n "$(ns "$h")" link add "g-$role" type veth peer name eth0 netns "$g" &&
		ip -n "$g" link set eth0 address "$mac" &&
		mtu=$(nsx "$h" cat "/sys/class/net/$br/mtu") &&
		ip -n "$(ns "$h")" link set "g-$role" mtu "$mtu" master "$br" up &&
		ip -n "$g" link set eth0 mtu "$mtu" || return 1
	if [ -n "$n" ]; then
		ip -n "$g" addr add "10.$sub.0.$n/24" dev eth0 &&
			ip -n "$g" addr add "fd00:$sub::$n/64" dev eth0 nodad || return 1
	fi
	ip -n "$g" link set eth0 up
}

_span_arp_py='
import socket, struct, sys
dst, vni, mac, spa, tpa = sys.argv[1], int(sys.argv[2]), bytes.fromhex(sys.argv[3].replace(":", "")), \
    socket.inet_aton(sys.argv[4]), socket.inet_aton(sys.argv[5])
frame = b"\xff" * 6 + mac + b"\x08\x06" + struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + mac + spa + bytes(6) + tpa
pkt = struct.pack("!II", 0x08000000, vni << 8) + frame
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(3):
    s.sendto(pkt, (dst, 4789))
'

# vxlan_arp FROM DST VNI MAC SPA TPA: FROM sends DST, three times, VXLAN
# (port 4789, VNI) carrying a broadcast ARP request from MAC, sender SPA,
# for TPA (SPA = TPA: a gratuitous one).
vxlan_arp() {
	nsx "$1" python3 -c "$_span_arp_py" "$2" "$3" "$4" "$5" "$6"
}

# poll SECONDS COMMAND...: COMMAND every 0.05 s until it succeeds, for at
# most SECONDS of the clock (a fraction allowed); then COMMAND's last status
# (and output).
poll() {
	local end
	end=$(($(vwt_now_ms) + $(vwt_ms "$1")))
	shift
	until "$@" >/dev/null 2>&1; do
		[ "$(vwt_now_ms)" -lt "$end" ] || {
			"$@"
			return
		}
		sleep 0.05
	done
}

# fdb_has ROLE DEV ERE: a line of DEV's forwarding database in ROLE matches.
fdb_has() {
	nsx "$1" bridge fdb show dev "$2" | grep -Eq -- "$3"
}

# flood H DEV: the remote VTEPs of H's VXLAN device DEV (its all-zeros
# entries: virtwire's with static peers, zebra's with EVPN), sorted, one a
# line.
flood() {
	nsx "$1" bridge fdb show dev "$2" | sed -n 's/^00:00:00:00:00:00 dst \([0-9.]*\) .*/\1/p' | sort
}
flood_is() { # H DEV WANT
	[ "$(flood "$1" "$2")" = "$3" ]
}

# admits H ADDR VNIHEX: H's span4 set has ADDR . 4789 . VNI (lets VXLAN
# from ADDR into the VNI); not_admits: it has not (and the set was listed).
admits() {
	nsx "$1" nft list set inet virtwire span4 | grep -q "$2 \. 4789 \. $3 "
}
not_admits() {
	nsx "$1" nft list set inet virtwire span4 >"$VWT_TMP/set.out" && ! grep -q "$2 \. 4789 \. $3 " "$VWT_TMP/set.out"
}

# span_net_xml NAME BRIDGE MODE VNI SUBNET [CONTROL]: a spanning network of
# virtwire's MODE on bridge BRIDGE, 10.SUBNET.0.1/24, over VNI on ul0: with
# the static peers h1-h3 (192.0.2.11-13), or with CONTROL evpn.
span_net_xml() {
	local span
	if [ "${6:-static}" = evpn ]; then
		span="<vw:span vni=\"$4\" underlay=\"ul0\" control=\"evpn\"/>"
	else
		span="<vw:span vni=\"$4\" underlay=\"ul0\">
        <vw:peer address=\"192.0.2.11\"/>
        <vw:peer address=\"192.0.2.12\"/>
        <vw:peer address=\"192.0.2.13\"/>
      </vw:span>"
	fi
	cat <<XML
<network>
  <name>$1</name>
  <forward mode='open'/>
  <bridge name='$2' stp='off' delay='0'/>
  <ip address='10.$5.0.1' prefix='24'/>
  <metadata>
    <vw:network xmlns:vw="urn:virtwire:1" mode="$3">
      $span
    </vw:network>
  </metadata>
</network>
XML
}

# apply_on WHAT FILE H...: virtwire applies FILE on each host H, one check
# each ("apply WHAT on H").
apply_on() {
	local what=$1 file=$2 h
	shift 2
	for h in "$@"; do
		check "apply $what on $h" vw "$h" apply "$file"
	done
}

# bridge_mac H BR: the MAC address of H's bridge BR.
bridge_mac() {
	nsx "$1" cat "/sys/class/net/$2/address"
}

# span_host_only_local H1 G1 H2 G2 BR VXLAN SUBNET: a host-only network's
# address 10.SUBNET.0.1 is on every host's bridge BR, and each host answers
# its own guests: G1 (on H1) and G2 (on H2) ping it, each reached it at its
# own host's bridge, and H2's bridge MAC never crossed the overlay to H1 (the
# VXLAN device's forwarding database). Five checks.
span_host_only_local() {
	local h1=$1 g1=$2 h2=$3 g2=$4 br=$5 vx=$6 sub=$7 mac1 mac2
	check "host-only: $g1 pings the network's address" nsx "$g1" ping -c 1 -W 2 "10.$sub.0.1"
	check "host-only: $g2 pings it too" nsx "$g2" ping -c 1 -W 2 "10.$sub.0.1"
	mac1=$(bridge_mac "$h1" "$br")
	mac2=$(bridge_mac "$h2" "$br")
	says "… $g1 reached it at its own host's bridge ($h1)" "10\.$sub\.0\.1 .*lladdr $mac1" \
		nsx "$g1" ip neigh show "10.$sub.0.1"
	says "… $g2 at $h2's" "10\.$sub\.0\.1 .*lladdr $mac2" nsx "$g2" ip neigh show "10.$sub.0.1"
	lacks "$h2's bridge MAC never crossed the overlay to $h1" "$mac2" nsx "$h1" bridge fdb show dev "$vx"
}

# span_frr_stop H...: stops each host's FRR (tests/lib/frr.sh), one check
# each that neither of its daemons runs any more (and that there were two).
span_frr_stop() {
	local h pids
	for h in "$@"; do
		pids=$(frr_pids "$(ns "$h")")
		frr_stop "$(ns "$h")"
		# shellcheck disable=SC2086
		check "$h: FRR stopped (zebra and bgpd, by PID)" _span_none_runs $pids
	done
}
_span_none_runs() {
	local p
	[ $# = 2 ] || return 1
	for p in "$@"; do
		! kill -0 "$p" 2>/dev/null || return 1
	done
}

# span_left_nothing H...: every host has no VXLAN device, no peer entry, no
# virtwire table.
span_left_nothing() {
	local h
	for h in "$@"; do
		lacks "$h: no VXLAN device is left" 'vxlan' nsx "$h" ip -d link show
		lacks "$h: no forwarding entry to a peer is left" 'dst 192\.0\.2\.' nsx "$h" bridge fdb show
		lacks "$h: no virtwire table is left" 'virtwire' nsx "$h" nft list tables
	done
}

# topology: the underlay, the three hosts h1-h3 (192.0.2.11-13) and an
# outsider x (192.0.2.99).
topology() {
	span_underlay && host_on_underlay h1 11 && host_on_underlay h2 12 && host_on_underlay h3 13 &&
		host_on_underlay x 99
}
