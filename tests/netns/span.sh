#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Spanning (<vw:span control='static'>): one internal network and one
# host-only network over VXLAN across three "hypervisors", each with its own
# state directory, bridge and guests. Guests on different hosts reach each
# other (IPv4 and IPv6, ARP and ND across hosts, a full-MTU payload with DF
# set); the two networks (VNIs 4242 and 4243) are isolated; VXLAN from an
# address that is not a peer is dropped; teardown on one host leaves the
# others working, and teardown everywhere leaves nothing. A third network
# (VNI 4244) spans h1 and h2 over an IPv6 underlay.
#
#                       ul (bridge ul-br)              x 192.0.2.99 (no peer)
#        ┌──────────────────┼──────────────────┐──────────┘
#   h1 ul0 192.0.2.11   h2 ul0 192.0.2.12   h3 ul0 192.0.2.13
#   vw-seg ── vw4242    vw-seg ── vw4242    vw-seg ── vw4242     (internal, 10.77.0.0/24)
#    └ a1 .11            └ a2 .12            └ a3 .13
#   vw-ho ── vw4243     vw-ho ── vw4243                          (host-only, 10.78.0.0/24)
#    └ b1 .11            └ b2 .12
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/netns/span-lib.sh
. "$(dirname "$0")/span-lib.sh"
need_root
[ -d /sys/module/vxlan ] || modprobe vxlan 2>/dev/null || vwt_skip "no vxlan module"

topology() {
	span_underlay && host_on_underlay h1 11 && host_on_underlay h2 12 && host_on_underlay h3 13 && host_on_underlay x 99
}
setup "topology: three hosts and an outsider on the underlay" topology
span_net_xml seg vw-seg internal 4242 77 >"$VWT_TMP/seg.xml"
span_net_xml ho vw-ho host-only 4243 78 >"$VWT_TMP/ho.xml"

check "check: the spanning networks are valid together" vw h1 check "$VWT_TMP/seg.xml" "$VWT_TMP/ho.xml"
says "plan shows the VXLAN device" 'link vxlan vw4242: create if missing, VNI 4242, UDP port 4789, local address of ul0' \
	vw h1 plan "$VWT_TMP/seg.xml"
says "plan shows a peer's forwarding entry" 'link fdb vw4242: 00:00:00:00:00:00 dst 192.0.2.12' vw h1 plan "$VWT_TMP/seg.xml"
apply_on "the internal network" "$VWT_TMP/seg.xml" h1 h2 h3
apply_on "the host-only network" "$VWT_TMP/ho.xml" h1 h2

says "h1: vw4242 is a VXLAN device with VNI 4242 over ul0 from 192.0.2.11" 'vxlan id 4242 local 192\.0\.2\.11 dev ul0' \
	nsx h1 ip -d link show vw4242
says "h1: vw4242 is a port of vw-seg" 'master vw-seg' nsx h1 ip link show vw4242
says "h1: the bridge's MTU leaves room for the header (1500 - 50)" 'mtu 1450' nsx h1 ip link show vw-seg
check "h1: the peers are in the forwarding database, not h1 itself" sh -c \
	"f=\$(ip netns exec $(ns h1) bridge fdb show dev vw4242 | grep '^00:00:00:00:00:00'); \
	 echo \"\$f\" | grep -q 'dst 192.0.2.12' && echo \"\$f\" | grep -q 'dst 192.0.2.13' && ! echo \"\$f\" | grep -q 'dst 192.0.2.11'"
says "h1: VXLAN is admitted from the peers" '192\.0\.2\.12 \. 4789 \. 0x1092 comment "seg"' \
	nsx h1 nft list set inet virtwire span4

guest_on h1 vw-seg a1 52:54:00:77:00:11 11 77 && guest_on h2 vw-seg a2 52:54:00:77:00:12 12 77 &&
	guest_on h3 vw-seg a3 52:54:00:77:00:13 13 77 &&
	guest_on h1 vw-ho b1 52:54:00:78:00:11 11 78 && guest_on h2 vw-ho b2 52:54:00:78:00:12 12 78
setup "guests on the three hosts" test $? = 0
settle a1 a2 a3 b1 b2 || true
serve a2 tcp4 80
serve a2 tcp6 80
serve a3 tcp4 80
serve b2 tcp4 80

reach "a1 (h1) reaches a2 (h2) over IPv4" a1 tcp4 10.77.0.12 80 '^a2 10\.77\.0\.11$'
reach "a1 (h1) reaches a2 (h2) over IPv6" a1 tcp6 fd00:77::12 80 '^a2 fd00:77::11$'
reach "a1 (h1) reaches a3 (h3)" a1 tcp4 10.77.0.13 80 '^a3 10\.77\.0\.11$'
says "a1 learned a2's MAC by ARP across hosts" '10\.77\.0\.12 .*lladdr 52:54:00:77:00:12' nsx a1 ip neigh show 10.77.0.12
says "a1 learned a2's MAC by ND across hosts" 'fd00:77::12 .*lladdr 52:54:00:77:00:12' nsx a1 ip -6 neigh show fd00:77::12
says "h1's VXLAN device learned a2's MAC from h2" '52:54:00:77:00:12 dst 192\.0\.2\.12' nsx h1 bridge fdb show dev vw4242
# The overlay's MTU (1450) less the IPv4 and ICMP headers, don't fragment.
check "a full-MTU ping with DF set crosses the overlay unfragmented" nsx a1 ping -c 1 -W 2 -M "do" -s 1422 10.77.0.12
check_fails "… and one byte more does not fit the overlay's MTU" nsx a1 ping -c 1 -W 1 -M "do" -s 1423 10.77.0.12
reach "host-only: b1 (h1) reaches b2 (h2)" b1 tcp4 10.78.0.12 80 '^b2 10\.78\.0\.11$'
span_host_only_local h1 b1 h2 b2 vw-ho vw4243 78
# b2 also answers at 10.77.0.50 (the internal network's subnet) on VNI
# 4243: b1 (VNI 4243, 10.77.0.60 too) reaches it there, a1 (VNI 4242) must not.
setup "b1 and b2 have addresses in 10.77.0.0/24 as well" sh -c \
	"ip -n $(ns b2) addr add 10.77.0.50/24 dev eth0 && ip -n $(ns b1) addr add 10.77.0.60/24 dev eth0"
blocked "isolated: a1 (VNI 4242) does not reach b2's 10.77.0.50 (VNI 4243)" a1 tcp4 10.77.0.50 80 dropped b1

# VXLAN from 192.0.2.99 (no peer) carrying a broadcast ARP for a1 into VNI
# 4242: dropped on the underlay, counted, and a1 never sees it.
drops() { nsx h1 nft list chain inet virtwire input | sed -n 's/.*@span-vni counter packets \([0-9]*\).*/\1/p'; }
before=$(drops)
nsx a1 ip neigh flush dev eth0
setup "an outsider sends VXLAN into VNI 4242" vxlan_arp x 192.0.2.11 4242 52:54:00:99:00:99 10.77.0.99 10.77.0.11
# shellcheck disable=SC2317 # called by check
dropped_three() {
	local after
	after=$(drops)
	echo "h1's drops: $before -> $after"
	[ "${after:-0}" -ge "$((${before:-0} + 3))" ]
}
# Once counted, the packets are gone: what follows sees their whole effect.
check "h1 counts the outsider's VXLAN as dropped" poll 3 dropped_three
lacks "a1 never heard of the outsider's MAC" '52:54:00:99:00:99' nsx a1 ip neigh show
lacks "h1's VXLAN device learned nothing from the outsider" '52:54:00:99:00:99' nsx h1 bridge fdb show dev vw4242
setup "a peer (h2) sends the same VXLAN packet" vxlan_arp h2 192.0.2.11 4242 52:54:00:99:00:99 10.77.0.99 10.77.0.11
check "… which h1 takes (the control: the packet itself is good)" \
	poll 3 fdb_has h1 vw4242 '52:54:00:99:00:99 dst 192\.0\.2\.12'
nsx h1 bridge fdb del 52:54:00:99:00:99 dev vw4242 2>/dev/null

check "verify on h1: the kernel matches" vw h1 verify seg
says "status on h1 shows the VXLAN device" 'span: VXLAN vw4242 \(up\), VNI 4242, UDP port 4789, over ul0 from 192\.0\.2\.11' \
	vw h1 status seg
says "… its peers" 'peers: 192\.0\.2\.12 192\.0\.2\.13$' vw h1 status seg
says "… and the remote MACs it learned" 'remote MAC 52:54:00:77:00:12 192\.0\.2\.12' vw h1 status seg
vw h1 status --format json >"$VWT_TMP/status.json"
check "status --format json: the span, its peers and remote MACs" python3 "$VW_SRC/tests/lib/jsoncheck.py" \
	status-span "$VWT_TMP/status.json" seg vw4242 192.0.2.12 52:54:00:77:00:12
check "re-apply on h1 changes nothing" vw h1 apply "$VWT_TMP/seg.xml"
check "verify after re-apply" vw h1 verify seg

# Drift: a deleted forwarding entry, a deleted device.
setup "drift: h1 loses its entry for h2" nsx h1 bridge fdb del 00:00:00:00:00:00 dev vw4242 dst 192.0.2.12
check_fails "verify sees the missing peer" vw h1 verify seg
check "apply repairs it" vw h1 apply "$VWT_TMP/seg.xml"
says "… the entry is back" '00:00:00:00:00:00 dst 192\.0\.2\.12' nsx h1 bridge fdb show dev vw4242
setup "drift: h2's VXLAN device is deleted" nsx h2 ip link del vw4242
check_fails "verify on h2 sees it" vw h2 verify seg
check "apply on h2 makes it again" vw h2 apply "$VWT_TMP/seg.xml"
reach "a1 reaches a2 again" a1 tcp4 10.77.0.12 80 '^a2 10\.77\.0\.11$'

check "teardown on h3" vw h3 teardown seg
lacks "h3 has no VXLAN device" 'vw4242' nsx h3 ip link show
reach "h1 and h2 still work: a1 reaches a2" a1 tcp4 10.77.0.12 80 '^a2 10\.77\.0\.11$'
reach "… over IPv6 too" a1 tcp6 fd00:77::12 80 '^a2 fd00:77::11$'

# An IPv6 underlay: the VXLAN device's local endpoint is IPv6 (IFLA_VXLAN_LOCAL6),
# its forwarding entries point at IPv6 peers, the header takes 70 bytes.
sed -e 's/<vw:span vni="4242"/<vw:span vni="4244"/' -e 's/192\.0\.2\.1\([123]\)/2001:db8:2::1\1/' \
	-e 's/<name>seg</<name>s6</' -e "s/'vw-seg'/'vw-s6'/" -e 's/10\.77\./10.79./' "$VWT_TMP/seg.xml" >"$VWT_TMP/s6.xml"
setup "h1 and h2 have IPv6 underlay addresses" sh -c \
	"ip -n $(ns h1) addr add 2001:db8:2::11/64 dev ul0 nodad && ip -n $(ns h2) addr add 2001:db8:2::12/64 dev ul0 nodad"
apply_on "the network over the IPv6 underlay" "$VWT_TMP/s6.xml" h1 h2
says "h1: vw4244's local endpoint is h1's IPv6 address" 'vxlan id 4244 local 2001:db8:2::11 dev ul0' \
	nsx h1 ip -d link show vw4244
says "h1: the bridge's MTU leaves room for the IPv6 header (1500 - 70)" 'mtu 1430' nsx h1 ip link show vw-s6
says "h1: h2 is in the forwarding database by its IPv6 address" '00:00:00:00:00:00 dst 2001:db8:2::12 self permanent' \
	nsx h1 bridge fdb show dev vw4244
says "h1: VXLAN is admitted from h2's IPv6 address" '2001:db8:2::12 \. 4789 \. 0x1094 comment "s6"' \
	nsx h1 nft list set inet virtwire span6
guest_on h1 vw-s6 c1 52:54:00:79:00:11 11 79 && guest_on h2 vw-s6 c2 52:54:00:79:00:12 12 79
setup "guests on the IPv6 underlay's network" test $? = 0
settle c1 c2 || true
serve c2 tcp4 80
reach "c1 (h1) reaches c2 (h2) across the IPv6 underlay" c1 tcp4 10.79.0.12 80 '^c2 10\.79\.0\.11$'
check "verify on h1" vw h1 verify s6

for h in h1 h2; do
	check "teardown of the networks on $h" vw "$h" teardown seg ho s6
done
span_left_nothing h1 h2 h3
done_testing
