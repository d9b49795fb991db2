#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Spanning nat and route networks (<vw:span control='static'>): the
# distributed anycast gateway across three "hypervisors". Every host's
# bridge has the gateway's address and MAC; each host answers ARP and ND
# for it to its own guests only (no gateway ARP crosses the overlay, and a
# frame from the overlay with the gateway's MAC is dropped before the
# bridge learns it); each host masquerades (nat, IPv4 and IPv6) or routes
# (route) its own guests' traffic through its own uplink; DHCP (reservations only) is
# answered by the guest's own host, the others never hear the DISCOVER; a
# forward reaches a guest on its host with conntrack on that host only; a
# guest that moves (libvirt's hooks on both hosts, its link moved) is
# reached on its new host, its domain forward follows, and the FDB of the
# other hosts follows within a second of the guest sending.
#
# VWT_SPAN_CONTROL=evpn (meson's span-gw-evpn) runs the same with
# control="evpn" and no peers: zebra and bgpd on every host (tests/lib/frr.sh,
# full mesh); the sessions and the type-3 routes come first, restore takes
# zebra's neighbours into each host's firewall, and where the static variant
# looks at what the VXLAN devices learned, this one looks at zebra's type-2
# routes and entries. With EVPN the bridge suppresses ARP and ND: a guest's
# request for the gateway (the host's own address) never crosses the overlay.
#
#            ul (ul-br) 192.0.2.0/24                    wan (wan-br) 203.0.113.2
#        ┌──────────────────┼──────────────────┐      ┌───────────┼───────────┐
#   h1 ul0 .11          h2 ul0 .12          h3 ul0 .13  wan0 .11   wan0 .12   wan0 .13
#   vw-gw ── vw4280     vw-gw ── vw4280     vw-gw ── vw4280           (nat, 10.80.0.0/24)
#    ├ a1 .11            ├ a2 .12            └ a3 .13
#    └ m .31 (moves to h3)  └ d2 (DHCP: .21)
#   vw-rt ── vw4281     vw-rt ── vw4281                               (route, 10.81.0.0/24)
#    └ r1 .11            └ r2 .12
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/netns/span-lib.sh
. "$(dirname "$0")/span-lib.sh"
# shellcheck source=tests/lib/frr.sh
. "$(dirname "$0")/../lib/frr.sh"
need_root
need_tools dnsmasq busybox conntrack
CONTROL=${VWT_SPAN_CONTROL:-static}
case $CONTROL in
static) ;;
evpn) need_frr ;;
*) bail "VWT_SPAN_CONTROL='$CONTROL': static or evpn" ;;
esac
evpn() { [ "$CONTROL" = evpn ]; }
[ -d /sys/module/vxlan ] || modprobe vxlan 2>/dev/null || vwt_skip "no vxlan module"

GWMAC=52:54:00:00:80:01 RTMAC=52:54:00:00:81:01
MACM=52:54:00:80:00:31 MACD=52:54:00:80:00:21

# host H N: namespace H on the underlay (192.0.2.N) and its uplink (wan0,
# 203.0.113.N) on the WAN's bridge.
host() {
	host_on_underlay "$1" "$2" &&
		ip -n "$(ns "$1")" link add wan0 type veth peer name "w-$1" netns "$(ns wan)" &&
		ip -n "$(ns wan)" link set "w-$1" master wan-br up &&
		ip -n "$(ns "$1")" addr add "203.0.113.$2/24" dev wan0 &&
		ip -n "$(ns "$1")" addr add "2001:db8:ffff::$2/64" dev wan0 nodad &&
		ip -n "$(ns "$1")" link set wan0 up
}

# routed_guest H BR ROLE MAC N SUBNET: guest_on with routes via the
# gateway (.1).
routed_guest() {
	guest_on "$@" &&
		ip -n "$(ns "$3")" route add default via "10.$6.0.1" &&
		ip -n "$(ns "$3")" -6 route add default via "fd00:$6::1"
}

# gw_guest H BR ROLE MAC N SUBNET: routed_guest, with the port flags
# virtwire's port hooks give a nat or route network's port (m, which runs
# the hooks, gets them from virtwire).
gw_guest() {
	routed_guest "$@" && nsx "$1" bridge link set dev "g-$3" hairpin on
}

span_xml() { # VNI
	if evpn; then
		echo "<vw:span vni=\"$1\" underlay=\"ul0\" control=\"evpn\"/>"
		return
	fi
	cat <<XML
<vw:span vni="$1" underlay="ul0">
        <vw:peer address="192.0.2.11"/>
        <vw:peer address="192.0.2.12"/>
        <vw:peer address="192.0.2.13"/>
      </vw:span>
XML
}

net_xml() { # NAME BRIDGE MODE VNI SUBNET MAC EXTRA-IP4 EXTRA-VW
	cat <<XML
<network>
  <name>$1</name>
  <uuid>6b0b4c1e-6a43-4a2e-9d0e-00000000$4</uuid>
  <forward mode='open'/>
  <bridge name='$2' stp='off' delay='0'/>
  <mac address='$6'/>
  <ip address='10.$5.0.1' prefix='24'>${7:-}</ip>
  <ip family='ipv6' address='fd00:$5::1' prefix='64'/>
  <metadata>
    <vw:network xmlns:vw="urn:virtwire:1" mode="$3">
      $(span_xml "$4")
      ${8:-}
    </vw:network>
  </metadata>
</network>
XML
}

topology() {
	span_underlay && ns_add wan &&
		ip -n "$(ns wan)" link add wan-br type bridge stp_state 0 forward_delay 0 &&
		ip -n "$(ns wan)" addr add 203.0.113.2/24 dev wan-br &&
		ip -n "$(ns wan)" addr add 2001:db8:ffff::2/64 dev wan-br nodad &&
		ip -n "$(ns wan)" link set wan-br up &&
		host h1 11 && host h2 12 && host h3 13 &&
		# Route mode: the WAN's router knows each guest's host (host
		# routes, as BGP would announce them).
		ip -n "$(ns wan)" route add 10.81.0.11/32 via 203.0.113.11 &&
		ip -n "$(ns wan)" route add 10.81.0.12/32 via 203.0.113.12
}
setup "topology: three hosts on an underlay and a WAN" topology

# --- EVPN: zebra and bgpd on every host, full mesh ------------------------------------------

if evpn; then
	for n in 1 2 3; do
		frr_start "$(ns h$n)" "192.0.2.1$n" "192.0.2.1$n" 192.0.2.11 192.0.2.12 192.0.2.13 || bail "FRR on h$n"
	done
	for n in 1 2 3; do
		check "h$n: 2 BGP sessions established (full mesh)" frr_wait_established "$(ns h$n)" 2 30
	done
fi
# zebra_neigh H IP MAC: H's neighbour IP on vw-gw is MAC, zebra's (from a
# type-2 MAC/IP route).
zebra_neigh() {
	nsx "$1" ip neigh show "$2" dev vw-gw | grep -Eq "^$2 lladdr $3 extern_learn"
}
# remote_mac H VNI MAC VTEP: H's zebra has MAC behind VTEP (a type-2 route),
# and H's VXLAN device has zebra's entry for it.
remote_mac() {
	frr_mac "$(ns "$1")" "$2" "$3" | grep -q "^remote $4 " &&
		fdb_has "$1" "vw$2" "^$3 dst $4 .*extern_learn"
}

net_xml gw vw-gw nat 4280 80 $GWMAC "
    <dhcp>
      <host mac='$MACD' ip='10.80.0.21'/>
      <host mac='$MACM' ip='10.80.0.31'/>
    </dhcp>" '<vw:forward name="a2" proto="tcp" host-port="8080" guest-address="10.80.0.12" guest-port="80"/>
      <vw:domain-forwards allow="yes" host-ports="8000-8100"/>
      <vw:spoof-filter enabled="no"/>' >"$VWT_TMP/gw.xml"
net_xml rt vw-rt route 4281 81 $RTMAC >"$VWT_TMP/rt.xml"

# --- check ---------------------------------------------------------------------------

check "check: the spanning nat and route networks are valid" vw h1 check "$VWT_TMP/gw.xml" "$VWT_TMP/rt.xml"
sed "/<mac address/d" "$VWT_TMP/gw.xml" >"$VWT_TMP/nomac.xml"
says "check: a spanning nat network without the gateway's MAC is refused" 'error: .*\[span-gateway-mac\]' \
	sh -c "$VW_BIN check '$VWT_TMP/nomac.xml'; test \$? = 1"
sed "s|<host mac='$MACD'|<range start='10.80.0.100' end='10.80.0.150'/>&|" "$VWT_TMP/gw.xml" >"$VWT_TMP/range.xml"
says "check: a DHCP range in a spanning network is refused" 'error: .*\[span-dhcp-range\]' \
	sh -c "$VW_BIN check '$VWT_TMP/range.xml'; test \$? = 1"

apply_on "the nat network" "$VWT_TMP/gw.xml" h1 h2 h3
apply_on "the route network" "$VWT_TMP/rt.xml" h1 h2
for h in h1 h2 h3; do
	says "$h: the gateway 10.80.0.1 with MAC $GWMAC on vw-gw" "link/ether $GWMAC" nsx "$h" ip addr show vw-gw
done
if evpn; then
	for n in 1 2 3; do
		check "h$n: zebra has VNI 4280 on vw-gw with VTEP 192.0.2.1$n" \
			frr_wait "$(ns h$n)" 20 "192.0.2.1$n vw-gw" frr_vni_up 4280
	done
	for n in 1 2; do
		check "h$n: zebra has VNI 4281 on vw-rt" frr_wait "$(ns h$n)" 20 "192.0.2.1$n vw-rt" frr_vni_up 4281
	done
	check "h1: the type-3 routes of VNI 4280 from all three hosts" \
		frr_wait "$(ns h1)" 20 "$(printf '192.0.2.11\n192.0.2.12\n192.0.2.13')" frr_imet_vteps 4280
	check "h1: … of VNI 4281 from h1 and h2" \
		frr_wait "$(ns h1)" 20 "$(printf '192.0.2.11\n192.0.2.12')" frr_imet_vteps 4281
	check "h1: flood entries to h2 and h3 (zebra's)" poll 20 flood_is h1 vw4280 "$(printf '192.0.2.12\n192.0.2.13')"
	check "h2: flood entries to h1 and h3" poll 20 flood_is h2 vw4280 "$(printf '192.0.2.11\n192.0.2.13')"
	check "h3: flood entries to h1 and h2" poll 20 flood_is h3 vw4280 "$(printf '192.0.2.11\n192.0.2.12')"
	check "h1: VNI 4281 floods to h2 only" poll 20 flood_is h1 vw4281 "192.0.2.12"
	check "h2: VNI 4281 floods to h1 only" poll 20 flood_is h2 vw4281 "192.0.2.11"
	for h in h1 h2 h3; do
		check "restore on $h takes zebra's neighbours into its firewall" vw "$h" restore
	done
	check "h2 admits VXLAN from h1 into VNI 4280" admits h2 192.0.2.11 0x10b8
	check "… and from h3" admits h2 192.0.2.13 0x10b8
	check "h1 admits VXLAN from h2 into VNI 4281" admits h1 192.0.2.12 0x10b9
	check "verify on h1: the kernel matches (zebra's entries are no drift)" vw h1 verify gw rt
	check "verify on h3" vw h3 verify gw
	says "plan: the VXLAN device with learning off and neighbour suppression on" \
		'link vxlan vw4280: .*learning off, .*port of vw-gw with learning off and neighbour suppression on' \
		vw h1 plan "$VWT_TMP/gw.xml"
fi

gw_guest h1 vw-gw a1 52:54:00:80:00:11 11 80 && gw_guest h2 vw-gw a2 52:54:00:80:00:12 12 80 &&
	gw_guest h3 vw-gw a3 52:54:00:80:00:13 13 80 &&
	gw_guest h1 vw-rt r1 52:54:00:81:00:11 11 81 && gw_guest h2 vw-rt r2 52:54:00:81:00:12 12 81
setup "guests on the three hosts" test $? = 0
settle a1 a2 a3 r1 r2 h1 h2 h3 wan || true
serve a2 tcp4 80
serve a2 tcp6 80
serve a1 tcp4 80
serve r2 tcp4 80
serve wan tcp4 80
serve wan tcp6 80

# --- one segment, guest to guest --------------------------------------------------------

reach "a1 (h1) reaches a2 (h2) over IPv4" a1 tcp4 10.80.0.12 80 '^a2 10\.80\.0\.11$'
reach "a1 (h1) reaches a2 (h2) over IPv6" a1 tcp6 fd00:80::12 80 '^a2 fd00:80::11$'
reach "a3 (h3) reaches a1 (h1)" a3 tcp4 10.80.0.11 80 '^a1 10\.80\.0\.13$'
reach "route: r1 (h1) reaches r2 (h2)" r1 tcp4 10.81.0.12 80 '^r2 10\.81\.0\.11$'
if evpn; then
	# What the static variant's VXLAN devices learn from traffic, zebra
	# installs from the type-2 routes.
	check "h2's zebra has a1's MAC behind h1 (a type-2 route, zebra's extern_learn entry)" \
		poll 10 remote_mac h2 4280 52:54:00:80:00:11 192.0.2.11
	check "h1's zebra has a2's MAC behind h2" poll 10 remote_mac h1 4280 52:54:00:80:00:12 192.0.2.12
	check "route: h1's zebra has r2's MAC behind h2" poll 10 remote_mac h1 4281 52:54:00:81:00:12 192.0.2.12
fi

# --- each host's guests leave through their own host -------------------------------------------

reach "a1 reaches the WAN masqueraded to h1's address" a1 tcp4 203.0.113.2 80 '^wan 203\.0\.113\.11$'
reach "a2 reaches the WAN masqueraded to h2's address" a2 tcp4 203.0.113.2 80 '^wan 203\.0\.113\.12$'
reach "a3 reaches the WAN masqueraded to h3's address" a3 tcp4 203.0.113.2 80 '^wan 203\.0\.113\.13$'
reach "… over IPv6: a1 as h1's address" a1 tcp6 2001:db8:ffff::2 80 '^wan 2001:db8:ffff::11$'
reach "… a2 as h2's" a2 tcp6 2001:db8:ffff::2 80 '^wan 2001:db8:ffff::12$'
says "h2's conntrack has a2's connection, masqueraded" 'src=10\.80\.0\.12 dst=203\.0\.113\.2 .*dport=80 .*src=203\.0\.113\.2 dst=203\.0\.113\.12' \
	nsx h2 conntrack -L -p tcp -s 10.80.0.12
lacks "h1's conntrack has none of a2's WAN connection" 'src=10\.80\.0\.12 dst=203\.0\.113\.2 ' nsx h1 conntrack -L -p tcp
lacks "… nor h3's" 'src=10\.80\.0\.12 dst=203\.0\.113\.2 ' nsx h3 conntrack -L -p tcp
reach "route: r2 reaches the WAN through h2, its own address unchanged" r2 tcp4 203.0.113.2 80 '^wan 10\.81\.0\.12$'
says "route: h2's conntrack has it" 'src=10\.81\.0\.12 dst=203\.0\.113\.2 ' nsx h2 conntrack -L -p tcp -s 10.81.0.12
lacks "route: h1's has not" 'src=10\.81\.0\.12 dst=203\.0\.113\.2 ' nsx h1 conntrack -L -p tcp
reach "route: the WAN reaches r2 through h2" wan tcp4 10.81.0.12 80 '^r2 203\.0\.113\.2$'

# --- the gateway is answered at home --------------------------------------------------------------

# cap_py IFACE vxlan|plain [UNTIL-MAC]: the ARP frames on IFACE (vxlan: inside
# VXLAN, with the outer source), one line each ("arp request|reply SRCMAC
# spa SPA tpa TPA [from OUTER-SRC]"), until the marker datagram (UDP port 9,
# "vwt-end"), a frame from UNTIL-MAC, or 15 s; "end" when a marker came.
cap_py='
import socket, struct, sys, time
iface, vxlan, until = sys.argv[1], sys.argv[2] == "vxlan", sys.argv[3] if len(sys.argv) > 3 else None
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.bind((iface, 0))
print("ready", flush=True)
end = time.time() + 15
while time.time() < end:
    s.settimeout(max(0.01, end - time.time()))
    try:
        f = s.recv(65535)
    except socket.timeout:
        break
    src = ""
    if vxlan:
        if len(f) < 42 or f[12:14] != b"\x08\x00" or f[23] != 17:
            continue
        u = 14 + (f[14] & 15) * 4
        dport = struct.unpack("!H", f[u + 2:u + 4])[0]
        if dport == 9 and b"vwt-end" in f:
            print("end", flush=True)
            break
        if dport != 4789:
            continue
        src = " from " + socket.inet_ntoa(f[26:30])
        f = f[u + 16:]
    if len(f) < 42 or f[12:14] != b"\x08\x06":
        continue
    op = "request" if struct.unpack("!H", f[20:22])[0] == 1 else "reply"
    mac = ":".join("%02x" % b for b in f[6:12])
    print("arp", op, mac, "spa", socket.inet_ntoa(f[28:32]), "tpa", socket.inet_ntoa(f[38:42]) + src, flush=True)
    if mac == until:
        print("end", flush=True)
        break
'
capture_gw_arp() {
	local pid
	nsx h1 timeout 20 python3 -c "$cap_py" ul0 vxlan >"$VWT_TMP/cap" 2>&1 &
	pid=$!
	VWT_PIDS+=("$pid")
	poll 5 grep -qx ready "$VWT_TMP/cap" || return 1
	nsx a2 ip neigh flush dev eth0
	nsx h1 ip neigh flush dev vw-gw
	nsx a2 ping -c 1 -W 2 10.80.0.1 || return 1
	# With EVPN the request for the gateway stays home (below); one for
	# an address nobody has is flooded, and shows the capture sees a2.
	! evpn || nsx a2 busybox arping -c 1 -w 1 -I eth0 10.80.0.250 >/dev/null 2>&1
	nsx h2 python3 -c 'import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"vwt-end", ("192.0.2.11", 9))'
	wait "$pid"
	cat "$VWT_TMP/cap"
	grep -qx end "$VWT_TMP/cap"
}
check "a2 (h2) pings the gateway; h1's underlay is captured meanwhile" capture_gw_arp
if evpn; then
	says "the capture saw a2's ARP request for an address nobody has cross to h1 (flooded)" \
		'^arp request 52:54:00:80:00:12 spa 10\.80\.0\.12 tpa 10\.80\.0\.250 from 192\.0\.2\.12$' cat "$VWT_TMP/cap"
	# Neighbour suppression: the bridge keeps a request for its own
	# address (the gateway's) off the suppressing port, the VXLAN device.
	lacks "… but not its request for the gateway (h2's own address: suppressed)" \
		'^arp request 52:54:00:80:00:12 spa 10\.80\.0\.12 tpa 10\.80\.0\.1 ' cat "$VWT_TMP/cap"
	check "h1 knows a2 from zebra (h2's type-2 MAC/IP route), not from its ARP" \
		poll 10 zebra_neigh h1 10.80.0.12 52:54:00:80:00:12
else
	says "a2's ARP request for the gateway crossed to h1 (the capture saw it)" \
		'^arp request 52:54:00:80:00:12 spa 10\.80\.0\.12 tpa 10\.80\.0\.1 from 192\.0\.2\.12$' cat "$VWT_TMP/cap"
	# An ARP request for its own address makes Linux note the sender and answer.
	says "h1 heard it and answered too (it noted a2)" '^10\.80\.0\.12 lladdr 52:54:00:80:00:12 ' \
		nsx h1 ip neigh show 10.80.0.12 dev vw-gw
fi
lacks "… but no gateway ARP reply crossed the overlay, either way" 'spa 10\.80\.0\.1 ' cat "$VWT_TMP/cap"
says "a2 has the gateway at $GWMAC" "10\.80\.0\.1 .*lladdr $GWMAC" nsx a2 ip neigh show 10.80.0.1
check "a2 pings the gateway over IPv6 (ND answered at home)" nsx a2 ping -c 1 -W 2 fd00:80::1
lacks "h1's bridge never learned the gateway's MAC on the VXLAN port" "$GWMAC dev vw4280" nsx h1 bridge fdb show br vw-gw
if evpn; then
	# The bridge's own MAC is a permanent entry, which zebra does not
	# announce, nor its addresses (advertise-default-gw and
	# advertise-svi-ip are off): no host claims the gateway for another's
	# guests. (The listings are JSON, or the check fails: no answer.)
	says "h1's zebra has a2's MAC (the listing answers)" '"52:54:00:80:00:12"' \
		frr_json "$(ns h1)" "show evpn mac vni 4280 json"
	for h in h1 h2 h3; do
		lacks "$h's zebra has no MAC entry for the gateway's MAC" "$GWMAC" \
			frr_json "$(ns "$h")" "show evpn mac vni 4280 json"
	done
	gwre="$GWMAC|[[\"](10\\.80\\.0\\.1|fd00:80::1|fe80::5054:ff:fe00:8001)[]\"]"
	says "h1's bgpd has type-2 routes (a2's)" '52:54:00:80:00:12' \
		frr_json "$(ns h1)" "show bgp l2vpn evpn route vni 4280 type macip json"
	lacks "… none for the gateway's MAC or addresses" "$gwre" \
		frr_json "$(ns h1)" "show bgp l2vpn evpn route vni 4280 type macip json"
fi

# A peer (h1) sends h2 gratuitous ARP for the gateway over VNI 4280, as a
# host whose own frames were not kept home would: from the gateway's MAC,
# and from another MAC (a host whose bridge has another MAC). Both are
# dropped as they come off the overlay: a2 hears neither, h2's bridge learns
# neither. The control, from another address, reaches a2. (The spoof
# filter, on by default, drops a frame that claims the gateway's address
# wherever it comes from; it is off here, so that span-in is seen alone.)
span_in() { # RULE-SET: its drop counter in h2's span-in
	nsx h2 nft list chain bridge virtwire span-in | sed -n "s/.*$1 counter packets \([0-9]*\).*/\1/p"
}
ROGUE=52:54:00:99:00:01 CTL=52:54:00:99:00:99
mac_before=$(span_in '@span-gw-mac') arp_before=$(span_in 'arp saddr ip @span-gw4')
nsx a2 timeout 20 python3 -c "$cap_py" eth0 plain "$CTL" >"$VWT_TMP/a2-cap" 2>&1 &
cap=$!
VWT_PIDS+=("$cap")
setup "a capture on a2" poll 5 grep -qx ready "$VWT_TMP/a2-cap"
# For 10.80.0.250, which nobody uses: h2's own ARP (from the gateway's MAC
# and address) asks for its guests, never for that.
setup "h1 sends VXLAN with the gateway's MAC to h2" vxlan_arp h1 192.0.2.12 4280 $GWMAC 10.80.0.1 10.80.0.250
setup "… with the gateway's address from $ROGUE" vxlan_arp h1 192.0.2.12 4280 $ROGUE 10.80.0.1 10.80.0.250
setup "… and the control, 10.80.0.99 from $CTL" vxlan_arp h1 192.0.2.12 4280 $CTL 10.80.0.99 10.80.0.250
wait "$cap"
says "the control reached a2 (the path is good)" "^arp request $CTL spa 10\.80\.0\.99 tpa 10\.80\.0\.250\$" \
	cat "$VWT_TMP/a2-cap"
lacks "a2 heard neither frame claiming the gateway" "^arp request ($GWMAC|$ROGUE) spa 10\.80\.0\.1 tpa 10\.80\.0\.250\$" \
	cat "$VWT_TMP/a2-cap"
# shellcheck disable=SC2317 # called by check
in_grew() {
	local mac arp
	mac=$(span_in '@span-gw-mac') arp=$(span_in 'arp saddr ip @span-gw4')
	echo "h2's span-in drops: gateway MAC $mac_before -> $mac, gateway ARP $arp_before -> $arp"
	[ -n "$mac" ] && [ "$mac" -ge $((${mac_before:-0} + 3)) ] && [ -n "$arp" ] && [ "$arp" -ge $((${arp_before:-0} + 3)) ]
}
check "h2 counted them at span-in" in_grew
diag "$(cat "$VWT_TMP/check.out")"
lacks "h2's bridge did not learn $ROGUE on the VXLAN port" "^$ROGUE dev vw4280 .*master vw-gw" nsx h2 bridge fdb show br vw-gw
if evpn; then
	# Learning is off on an EVPN port: remote MACs are zebra's alone.
	lacks "… nor the control (learning off: remote MACs come from zebra)" "^$CTL dev vw4280" \
		nsx h2 bridge fdb show br vw-gw
else
	says "… it learned the control" "^$CTL dev vw4280 .*master vw-gw" nsx h2 bridge fdb show br vw-gw
fi
says "a2 still has the gateway at $GWMAC" "10\.80\.0\.1 .*lladdr $GWMAC" nsx a2 ip neigh show 10.80.0.1
nsx h2 bridge fdb del $CTL dev vw4280 master 2>/dev/null

# --- DHCP: reservations, answered by the guest's own host ---------------------------------------

cat >"$VWT_TMP/lease.sh" <<'SH'
#!/bin/sh
[ "$1" = bound ] && echo "lease $ip from $serverid"
exit 0
SH
chmod +x "$VWT_TMP/lease.sh"
# dnsmasq on each host as libvirt runs it for the network: the same
# reservations everywhere, no range.
for h in h1 h2 h3; do
	nsx "$h" timeout 120 dnsmasq --no-daemon --conf-file=/dev/null --port=0 --interface=vw-gw --bind-interfaces \
		--dhcp-range=10.80.0.0,static,255.255.255.0,120 --dhcp-host=$MACD,10.80.0.21 --dhcp-host=$MACM,10.80.0.31 \
		--dhcp-authoritative --log-dhcp --log-facility=- --dhcp-leasefile="$VWT_TMP/leases-$h" --pid-file= \
		>"$VWT_TMP/dnsmasq-$h.log" 2>&1 &
	VWT_PIDS+=("$!")
done
for h in h1 h2 h3; do
	setup "dnsmasq serves on $h" poll 5 grep -q 'static leases only' "$VWT_TMP/dnsmasq-$h.log"
done
setup "the DHCP guest d2 on h2" guest_on h2 vw-gw d2 $MACD
fwd_drops() { nsx h2 nft list chain bridge virtwire span-fwd | sed -n 's/.*@span-dhcp counter packets \([0-9]*\).*/\1/p'; }
before=$(fwd_drops)
says "d2 gets its reservation from the gateway" '^lease 10\.80\.0\.21 from 10\.80\.0\.1$' \
	nsx d2 timeout 15 busybox udhcpc -i eth0 -f -q -n -t 4 -T 1 -s "$VWT_TMP/lease.sh"
says "h2's dnsmasq answered d2" "DHCPACK\(vw-gw\) 10\.80\.0\.21 $MACD" cat "$VWT_TMP/dnsmasq-h2.log"
lacks "h1's dnsmasq never saw d2's DISCOVER" "$MACD" cat "$VWT_TMP/dnsmasq-h1.log"
lacks "… nor h3's" "$MACD" cat "$VWT_TMP/dnsmasq-h3.log"
# shellcheck disable=SC2317 # called by check
fwd_grew() {
	local after
	after=$(fwd_drops)
	echo "h2's span-fwd DHCP drops: $before -> $after"
	[ -n "$after" ] && [ "$after" -gt "${before:-0}" ]
}
check "h2 kept d2's DHCP off the overlay (span-fwd counted it)" fwd_grew
diag "$(cat "$VWT_TMP/check.out")"

# --- a network forward: answered by the guest's host, symmetric ----------------------------------

reach "the WAN reaches a2 through h2's forward (8080)" wan tcp4 203.0.113.12 8080 '^a2 203\.0\.113\.2$'
says "h2's conntrack: the DNATed connection, replied by a2 through h2" \
	'src=203\.0\.113\.2 dst=203\.0\.113\.12 .*dport=8080 src=10\.80\.0\.12 dst=203\.0\.113\.2 sport=80 .*\[ASSURED\]' \
	nsx h2 conntrack -L -p tcp --orig-port-dst 8080
# TCP segments a2 received (its namespace's counter): a SYN that reached
# it through h1 would count, whether or not the handshake completed.
tcp_in() {
	nsx a2 awk '/^Tcp:/ { if (!c) { for (i = 1; i <= NF; i++) if ($i == "InSegs") c = i } else print $c }' /proc/net/snmp
}
# shellcheck disable=SC2317 # called by check
via_h1_silent() {
	local got before after
	before=$(tcp_in)
	got=$(probe wan tcp4 203.0.113.11 8080)
	after=$(tcp_in)
	echo "the WAN to h1's 8080: $got; TCP segments a2 received meanwhile: $before -> $after"
	[ "$got" = '!timeout' ] && [ -n "$before" ] && [ "$after" = "$before" ]
}
check "through h1 (a2 is not its guest) the forward leads nowhere: a2 never sees it" via_h1_silent
diag "$(cat "$VWT_TMP/check.out")"
says "h1 DNATed the attempt, unreplied" 'dst=203\.0\.113\.11 .*dport=8080 \[UNREPLIED\] src=10\.80\.0\.12 ' \
	nsx h1 conntrack -L -p tcp --orig-port-dst 8080
lacks "h1 has no replied connection for it" 'dport=8080 .*ASSURED' nsx h1 conntrack -L -p tcp --orig-port-dst 8080
lacks "h2 has none addressed to h1 (no reply through another host)" 'dst=203\.0\.113\.11 ' \
	nsx h2 conntrack -L -p tcp --orig-port-dst 8080

# --- a guest that moves from h1 to h3 ----------------------------------------------------------

# domain [TAP]: m, with one interface on gw and a forward of its own (8081
# to its port 80), as libvirt passes it to the qemu hooks.
domain() {
	vwt_domain m 00000000-0000-4000-8000-000000000031 "$MACM" gw 00000000-0000-4000-9000-000000000031 \
		${1:+"tap=$1"} "<vw:forward network='gw' proto='tcp' host-port='8081' guest-port='80'/>"
}
domain >"$VWT_TMP/m-prepare.xml"
domain g-m >"$VWT_TMP/m-start.xml"
# m's port on gw, as the network hooks port-created and port-deleted read it.
vwt_hookdata 00000000-0000-4000-9000-000000000031 m 00000000-0000-4000-8000-000000000031 "$MACM" vw-gw \
	<"$VWT_TMP/gw.xml" >"$VWT_TMP/m-port.xml"
# up H: libvirt starting m's side on H (after a migrate filter on the
# destination): prepare, the port, start with the tap named.
up() {
	vw "$1" hook qemu m prepare begin - <"$VWT_TMP/m-prepare.xml" &&
		vw "$1" hook network gw port-created begin - <"$VWT_TMP/m-port.xml"
}
start() {
	vw "$1" hook qemu m start begin - <"$VWT_TMP/m-start.xml" &&
		vw "$1" hook qemu m started begin - <"$VWT_TMP/m-start.xml"
}
# down H: the source after the migration: stopped, the port deleted, release.
down() {
	vw "$1" hook qemu m stopped end - <"$VWT_TMP/m-start.xml" &&
		vw "$1" hook network gw port-deleted begin - <"$VWT_TMP/m-port.xml" &&
		vw "$1" hook qemu m release end - <"$VWT_TMP/m-start.xml"
}
check "m starts on h1: hooks prepare, port-created" up h1
setup "m's link on h1's bridge" routed_guest h1 vw-gw m $MACM 31 80
check "… start, started" start h1
settle m || true
serve m tcp4 80
reach "a2 (h2) reaches m on h1" a2 tcp4 10.80.0.31 80 '^m 10\.80\.0\.12$'
if evpn; then
	check "h2's zebra has m's MAC behind h1 (type-2 route)" poll 10 remote_mac h2 4280 $MACM 192.0.2.11
else
	check "h2 learned m's MAC from h1" fdb_has h2 vw4280 "^$MACM dst 192\.0\.2\.11 "
fi
reach "the WAN reaches m through h1's forward of m (8081)" wan tcp4 203.0.113.11 8081 '^m 203\.0\.113\.2$'
blocked "h3 has no forward of m yet" wan tcp4 203.0.113.13 8081 refused

# The migration: the destination's hooks, the link moves, the source's hooks.
# shellcheck disable=SC2317 # called by check
migrate_filter() {
	local out
	out=$(vw h3 hook qemu m migrate begin - <"$VWT_TMP/m-start.xml") || return 1
	echo "printed: '$out'"
	[ -z "$out" ]
}
check "h3: the qemu migrate filter prints nothing (the XML stays libvirt's)" migrate_filter
check "h3: prepare, port-created" up h3
move() {
	local mtu
	ip -n "$(ns h1)" link set g-m netns "$(ns h3)" &&
		mtu=$(nsx h3 cat /sys/class/net/vw-gw/mtu) &&
		ip -n "$(ns h3)" link set g-m mtu "$mtu" master vw-gw up
}
setup "m's link moves to h3's bridge" move
check "h3: start, started" start h3
check "h1: stopped, port-deleted, release" down h1

# The FDB follows m's first frame: a gratuitous ARP, then the other hosts'
# VXLAN devices point at h3 within a second.
# shellcheck disable=SC2317 # called by check
fdb_follows() {
	local t0 t1 ok=
	t0=$(date +%s%N)
	nsx m busybox arping -U -c 1 -I eth0 10.80.0.31 >/dev/null 2>&1
	for _ in $(seq 1 40); do
		if fdb_has h2 vw4280 "^$MACM dst 192\.0\.2\.13 " && fdb_has h1 vw4280 "^$MACM dst 192\.0\.2\.13 "; then
			ok=1
			break
		fi
		sleep 0.025
	done
	t1=$(date +%s%N)
	echo "h1 and h2 point m's MAC at h3 after $(((t1 - t0) / 1000000)) ms"
	[ -n "$ok" ] && [ $(((t1 - t0) / 1000000)) -le 1000 ]
}
check "the FDB of h1 and h2 follows m to h3 within a second of m sending" fdb_follows
diag "$(cat "$VWT_TMP/check.out")"
if evpn; then
	check "h2's zebra: m is behind h3 (h3's type-2 route)" poll 10 remote_mac h2 4280 $MACM 192.0.2.13
	check "h1's zebra: the same" poll 10 remote_mac h1 4280 $MACM 192.0.2.13
fi
reach "a2 (h2) reaches m on h3" a2 tcp4 10.80.0.31 80 '^m 10\.80\.0\.12$'
reach "a1 (h1) reaches m on h3" a1 tcp4 10.80.0.31 80 '^m 10\.80\.0\.11$'
reach "m keeps its gateway: the WAN through h3" m tcp4 203.0.113.2 80 '^wan 203\.0\.113\.13$'
reach "the WAN reaches m through h3's forward of m" wan tcp4 203.0.113.13 8081 '^m 203\.0\.113\.2$'
blocked "h1's forward of m is gone" wan tcp4 203.0.113.11 8081 refused
lacks "h1's table has no forward to port 8081" '8081' nsx h1 nft list table inet virtwire
check "verify on h1: the kernel matches its records" vw h1 verify gw
check "verify on h3" vw h3 verify gw

# --- teardown ------------------------------------------------------------------------------

check "teardown on h3" vw h3 teardown gw
if evpn; then
	check "h1's zebra: h3's type-3 route is withdrawn" \
		frr_wait "$(ns h1)" 20 "$(printf '192.0.2.11\n192.0.2.12')" frr_imet_vteps 4280
	check "h1's flood entries: h2 only" poll 20 flood_is h1 vw4280 "192.0.2.12"
	check "h2's flood entries: h1 only" poll 20 flood_is h2 vw4280 "192.0.2.11"
fi
reach "h1 and h2 still work: a1 reaches a2" a1 tcp4 10.80.0.12 80 '^a2 10\.80\.0\.11$'
for h in h1 h2; do
	check "teardown of both networks on $h" vw "$h" teardown gw rt
done
span_left_nothing h1 h2 h3
if evpn; then
	for h in h1 h2 h3; do
		lacks "$h: zebra no longer has VNI 4280 nor 4281" '428[01]' frr_vtysh "$(ns "$h")" "show evpn vni"
	done
	span_frr_stop h1 h2 h3
fi
done_testing
