#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Spanning with BGP EVPN (<vw:span control='evpn'>): three "hypervisors" on an
# underlay, each with its own state directory, its own zebra and bgpd
# (tests/lib/frr.sh: Debian's frr with examples/frr/frr.conf, full mesh, or
# with VWT_EVPN_RR=1 h1 as the route reflector of h2 and h3) and its own
# virtwire watch. The same network XML is applied on every host: zebra sees
# the VXLAN device, the type-3 routes become flood entries to the other hosts,
# the underlay admits VXLAN from exactly those, guests on different hosts
# reach each other (IPv4, IPv6, a full-MTU payload with DF set), a guest moved
# from h1 to h3 is re-learned by MAC mobility and reached within 1 s of
# sending, VXLAN from a non-neighbour is dropped, two VNIs stay isolated,
# a host-only network's guests reach each other and their own host's bridge
# address only (no host's own frames cross),
# teardown on h3 withdraws its routes while h1 and h2 keep working, and
# teardown everywhere leaves nothing of virtwire.
#
#                       ul (bridge ul-br)              x 192.0.2.99 (no VTEP)
#        ┌──────────────────┼──────────────────┐──────────┘
#   h1 ul0 192.0.2.11   h2 ul0 192.0.2.12   h3 ul0 192.0.2.13     (zebra + bgpd each)
#   vw-seg ── vw4242    vw-seg ── vw4242    vw-seg ── vw4242      (internal, 10.77.0.0/24)
#    ├ a1 .11            └ a2 .12            └ a3 .13
#    └ m  .20  ── moves to h3 (m3)
#   vw-iso ── vw4243    vw-iso ── vw4243                          (internal, 10.78.0.0/24)
#    └ b1 .11            └ b2 .12
#   vw-ho ── vw4244     vw-ho ── vw4244                           (host-only, 10.79.0.0/24)
#    └ c1 .11            └ c2 .12
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/netns/span-lib.sh
. "$(dirname "$0")/span-lib.sh"
# shellcheck source=tests/lib/frr.sh
. "$(dirname "$0")/../lib/frr.sh"
need_root
need_frr
[ -d /sys/module/vxlan ] || modprobe vxlan 2>/dev/null || vwt_skip "no vxlan module"
RR=${VWT_EVPN_RR:-0}


setup "topology: three hosts and an outsider on the underlay" topology
span_net_xml seg vw-seg internal 4242 77 evpn >"$VWT_TMP/seg.xml"
span_net_xml iso vw-iso internal 4243 78 evpn >"$VWT_TMP/iso.xml"
span_net_xml ho vw-ho host-only 4244 79 evpn >"$VWT_TMP/ho.xml"

# --- FRR: zebra and bgpd on every host, sessions up ---------------------------
if [ "$RR" = 1 ]; then
	frr_start "$(ns h1)" 192.0.2.11 192.0.2.11 192.0.2.12 192.0.2.13 --rr || bail "FRR on h1 (reflector)"
	frr_start "$(ns h2)" 192.0.2.12 192.0.2.12 192.0.2.11 || bail "FRR on h2"
	frr_start "$(ns h3)" 192.0.2.13 192.0.2.13 192.0.2.11 || bail "FRR on h3"
	sessions=(2 1 1)
else
	for n in 1 2 3; do
		frr_start "$(ns h$n)" "192.0.2.1$n" "192.0.2.1$n" 192.0.2.11 192.0.2.12 192.0.2.13 || bail "FRR on h$n"
	done
	sessions=(2 2 2)
fi
for n in 1 2 3; do
	check "h$n: ${sessions[n - 1]} BGP session(s) established ($([ "$RR" = 1 ] && echo route reflector || echo full mesh))" \
		frr_wait_established "$(ns h$n)" "${sessions[n - 1]}" 20
done

# --- apply -------------------------------------------------------------------------
check "check: control='evpn' without peers is valid" vw h1 check "$VWT_TMP/seg.xml" "$VWT_TMP/iso.xml"
check "check: … for a host-only network too" vw h1 check "$VWT_TMP/ho.xml"
says "plan: the VXLAN device with learning off and neighbour suppression on" \
	'link vxlan vw4242: .*learning off, .*port of vw-seg with learning off and neighbour suppression on' \
	vw h1 plan "$VWT_TMP/seg.xml"
lacks "plan: no forwarding entry of virtwire's (zebra's)" '^link fdb' vw h1 plan "$VWT_TMP/seg.xml"
apply_on seg "$VWT_TMP/seg.xml" h1 h2 h3
for h in h1 h2; do
	check "apply iso on $h" vw "$h" apply "$VWT_TMP/iso.xml"
	check "apply ho (host-only) on $h" vw "$h" apply "$VWT_TMP/ho.xml"
done

# An underlay with IPv6 only (x's ul6): refused at apply, nothing left.
setup "x has an interface with IPv6 only" sh -c "ip -n $(ns x) link add ul6 type veth peer name ul6p &&
	ip -n $(ns x) addr add 2001:db8:6::99/64 dev ul6 nodad && ip -n $(ns x) link set ul6p up &&
	ip -n $(ns x) link set ul6 up"
sed 's/underlay="ul0"/underlay="ul6"/' "$VWT_TMP/seg.xml" >"$VWT_TMP/seg6.xml"
refused_v6() {
	! vw x apply "$VWT_TMP/seg6.xml" >"$VWT_TMP/v6.out" 2>&1 &&
		grep -q "ul6 has no global IPv4 address: control='evpn' needs one .*no IPv6 VTEPs" "$VWT_TMP/v6.out" ||
		{ cat "$VWT_TMP/v6.out"; return 1; }
}
check "apply over an IPv6-only underlay is refused (frr 8.4 has no IPv6 VTEPs)" refused_v6
lacks "… and leaves nothing on x" 'vw4242|vw-seg' nsx x ip link show

says "h1: vw4242 is a VXLAN device, VNI 4242, from 192.0.2.11 over ul0, learning off" \
	'vxlan id 4242 local 192\.0\.2\.11 dev ul0 .*nolearning' nsx h1 ip -d link show vw4242
says "h1: its bridge port learns nothing" 'learning off' nsx h1 bridge -d link show dev vw4242
says "h1: … and suppresses ARP and ND flooding" 'neigh_suppress on' nsx h1 bridge -d link show dev vw4242
for n in 1 2 3; do
	check "h$n: zebra has VNI 4242 on vw-seg with VTEP 192.0.2.1$n" \
		frr_wait "$(ns h$n)" 5 "192.0.2.1$n vw-seg" frr_vni_up 4242
done
check "h1: zebra has the type-3 routes of h2 and h3" \
	frr_wait "$(ns h1)" 5 "$(printf '192.0.2.11\n192.0.2.12\n192.0.2.13')" frr_imet_vteps 4242
check "h1: flood entries to h2 and h3 (zebra's), none to itself" \
	poll 5 flood_is h1 vw4242 "$(printf '192.0.2.12\n192.0.2.13')"
check "h2: flood entries to h1 and h3" poll 5 flood_is h2 vw4242 "$(printf '192.0.2.11\n192.0.2.13')"
check "h3: flood entries to h1 and h2" poll 5 flood_is h3 vw4242 "$(printf '192.0.2.11\n192.0.2.12')"
check "h1: VNI 4243 floods to h2 only" poll 5 flood_is h1 vw4243 "192.0.2.12"
for n in 1 2; do
	check "h$n: zebra has the host-only VNI 4244 on vw-ho with VTEP 192.0.2.1$n" \
		frr_wait "$(ns h$n)" 5 "192.0.2.1$n vw-ho" frr_vni_up 4244
done
check "h1: host-only VNI 4244 floods to h2 only" poll 5 flood_is h1 vw4244 "192.0.2.12"
check "h2: … and to h1 only" poll 5 flood_is h2 vw4244 "192.0.2.11"

# Without watch: h1 applied before h2 and h3 had a device, so its firewall
# admits neither yet (the documented window); verify says so, restore mends.
check "h1 before watch: the underlay does not admit h2 yet" not_admits h1 192.0.2.12 0x1092
check_fails "verify on h1 sees the firewall behind zebra's neighbours" vw h1 verify seg
check "restore on h1 takes zebra's neighbours in" vw h1 restore
check "… h1 admits VXLAN from h2 into VNI 4242" admits h1 192.0.2.12 0x1092
check "… and from h3" admits h1 192.0.2.13 0x1092
check "verify on h1: the kernel matches (zebra's entries are no drift)" vw h1 verify seg iso

# --- watch on every host --------------------------------------------------------------
WPIDS=()
for h in h1 h2 h3; do
	# Not through a function: $! must be virtwire's own process.
	ip netns exec "$(ns "$h")" "$VW_BIN" watch --state-dir "$VWT_TMP/state-$h" --verbose \
		2>"$VWT_TMP/watch-$h.log" &
	WPIDS+=("$!")
	VWT_PIDS+=("$!")
done
for h in h1 h2 h3; do
	check "$h: watch runs" poll 5 grep -Eq 'watching [0-9]+ networks?' "$VWT_TMP/watch-$h.log"
done
admits2() { # H A B: H admits VXLAN into VNI 4242 from 192.0.2.A and 192.0.2.B
	admits "$1" "192.0.2.$2" 0x1092 && admits "$1" "192.0.2.$3" 0x1092
}
check "h2: watch's restore admits h1 and h3" poll 3 admits2 h2 11 13
check "h3: … admits h1 and h2" poll 3 admits2 h3 11 12
check "h3 admits nothing into VNI 4243 (it has no such network)" not_admits h3 192.0.2.11 0x1093

# --- guests ------------------------------------------------------------------------------
guest_on h1 vw-seg a1 52:54:00:77:00:11 11 77 && guest_on h2 vw-seg a2 52:54:00:77:00:12 12 77 &&
	guest_on h3 vw-seg a3 52:54:00:77:00:13 13 77 && guest_on h1 vw-seg m 52:54:00:77:00:20 20 77 &&
	guest_on h1 vw-iso b1 52:54:00:78:00:11 11 78 && guest_on h2 vw-iso b2 52:54:00:78:00:12 12 78 &&
	guest_on h1 vw-ho c1 52:54:00:79:00:11 11 79 && guest_on h2 vw-ho c2 52:54:00:79:00:12 12 79
setup "guests on the three hosts" test $? = 0
settle a1 a2 a3 m b1 b2 c1 c2 || true
serve a1 tcp4 80
serve a2 tcp4 80
serve a2 tcp6 80
serve a3 tcp4 80
serve m tcp4 80
serve b2 tcp4 80
serve c2 tcp4 80
serve a1 udp4 7000

reach "a1 (h1) reaches a2 (h2) over IPv4" a1 tcp4 10.77.0.12 80 '^a2 10\.77\.0\.11$'
reach "a1 (h1) reaches a2 (h2) over IPv6" a1 tcp6 fd00:77::12 80 '^a2 fd00:77::11$'
reach "a2 (h2) reaches a3 (h3)" a2 tcp4 10.77.0.13 80 '^a3 10\.77\.0\.12$'
reach "iso: b1 (h1) reaches b2 (h2)" b1 tcp4 10.78.0.12 80 '^b2 10\.78\.0\.11$'
check "h1: the watch admits VXLAN from h2 into the host-only VNI 4244" poll 3 admits h1 192.0.2.12 0x1094
reach "host-only: c1 (h1) reaches c2 (h2)" c1 tcp4 10.79.0.12 80 '^c2 10\.79\.0\.11$'
span_host_only_local h1 c1 h2 c2 vw-ho vw4244 79
# With EVPN the VXLAN port learns nothing: the checks above and below see
# that zebra announced neither host's bridge.
lacks "… nor h1's to h2" "$(bridge_mac h1 vw-ho)" nsx h2 bridge fdb show dev vw4244
check "h2's zebra has c1's MAC as a type-2 route from h1" \
	frr_wait "$(ns h2)" 5 "remote 192.0.2.11 0" frr_mac 4244 52:54:00:79:00:11
check "verify on h1: the host-only network matches" vw h1 verify ho
check "verify on h2: … and there" vw h2 verify ho
# The overlay's MTU (1450) less the IPv4 and ICMP headers, don't fragment.
check "a full-MTU ping with DF set crosses the overlay unfragmented" nsx a1 ping -c 1 -W 2 -M "do" -s 1422 10.77.0.12
check_fails "… one byte more does not fit" nsx a1 ping -c 1 -W 1 -M "do" -s 1423 10.77.0.12
check "a full-MTU IPv6 ping (1450 less 48)" nsx a1 ping -6 -c 1 -W 2 -M "do" -s 1402 fd00:77::12

check "h2's zebra has a1's MAC as a type-2 route from h1" \
	frr_wait "$(ns h2)" 5 "remote 192.0.2.11 0" frr_mac 4242 52:54:00:77:00:11
check "h2's VXLAN device has a1's MAC behind h1 (extern_learn: zebra's)" \
	poll 3 fdb_has h2 vw4242 '^52:54:00:77:00:11 dst 192\.0\.2\.11 .*extern_learn'
says "status on h1: the VXLAN device" 'span: VXLAN vw4242 \(up\), VNI 4242, UDP port 4789, over ul0 from 192\.0\.2\.11' \
	vw h1 status seg
says "… the EVPN neighbours h2" 'EVPN neighbours:.* 192\.0\.2\.12( |$)' vw h1 status seg
says "… and h3" 'EVPN neighbours:.* 192\.0\.2\.13( |$)' vw h1 status seg
says "… a2's MAC behind h2" 'remote MAC 52:54:00:77:00:12 192\.0\.2\.12' vw h1 status seg
vw h1 status --format json >"$VWT_TMP/status.json"
check "status --format json: the span, its neighbours and remote MACs" python3 "$VW_SRC/tests/lib/jsoncheck.py" \
	status-span "$VWT_TMP/status.json" seg vw4242 192.0.2.12 52:54:00:77:00:12
says "… control is evpn" '"control": *"evpn"' cat "$VWT_TMP/status.json"
check "verify on h1 with remote MACs installed" vw h1 verify seg iso
check "re-apply on h1" vw h1 apply "$VWT_TMP/seg.xml"
check "… verify still passes" vw h1 verify seg
check "… zebra's flood entries are still there" flood_is h1 vw4242 "$(printf '192.0.2.12\n192.0.2.13')"

# --- isolation -------------------------------------------------------------------------
setup "b1 and b2 have addresses in 10.77.0.0/24 as well" sh -c \
	"ip -n $(ns b2) addr add 10.77.0.50/24 dev eth0 && ip -n $(ns b1) addr add 10.77.0.60/24 dev eth0"
blocked "isolated: a1 (VNI 4242) does not reach b2's 10.77.0.50 (VNI 4243)" a1 tcp4 10.77.0.50 80 dropped b1

# --- VXLAN from a non-neighbour ------------------------------------------------------------
# A unicast UDP datagram to a1 (10.77.0.11:7000) from 10.77.0.99, in VXLAN
# for VNI 4242: from x (no VTEP) it must be dropped and counted; the same
# packet from h2 (a neighbour) reaches a1 (the control).
drops() { nsx h1 nft list chain inet virtwire input | sed -n 's/.*@span-vni counter packets \([0-9]*\).*/\1/p'; }
python_vxlan='
import socket, struct, sys
def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff); s += s >> 16
    return ~s & 0xffff
payload = b"vxlan-" + sys.argv[2].encode()
udp = struct.pack("!HHHH", 40000, 7000, 8 + len(payload), 0) + payload
ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0,
                 socket.inet_aton("10.77.0.99"), socket.inet_aton("10.77.0.11"))
ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
frame = bytes.fromhex("525400770011" "525400990099" "0800") + ip + udp
pkt = struct.pack("!II", 0x08000000, 4242 << 8) + frame
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(3):
    s.sendto(pkt, (sys.argv[1], 4789))
'
hits() { grep -c 'hit 10\.77\.0\.99' "$(_vwt_serve_log a1 udp4 7000)"; }
before=$(drops)
hits0=$(hits)
setup "the outsider x sends VXLAN into VNI 4242" nsx x python3 -c "$python_vxlan" 192.0.2.11 x
dropped_since() { [ "$(drops)" -ge $(($1 + 3)) ]; }
hit_since() { [ "$(hits)" -gt "$1" ]; }
check "h1 counts the outsider's VXLAN as dropped" poll 2 dropped_since "${before:-0}"
check "… and a1 received none of it" test "$(hits)" = "$hits0"
setup "h2 (a neighbour) sends the same packet" nsx h2 python3 -c "$python_vxlan" 192.0.2.11 h2
check "… which reaches a1 (the control: the packet itself is good)" poll 2 hit_since "$hits0"

# --- a guest moves from h1 to h3 -----------------------------------------------------------
# As a migration does it: the guest is paused on h1 (m sends nothing more;
# its port and h1's entry for its MAC stay), resumes on h3 (m3: the same MAC
# and addresses, a new port on h3's bridge) and speaks there; then h1's port
# goes (libvirt's port-deleted on the source).
check "before the move, h2 has m behind h1" poll 3 fdb_has h2 vw4242 '^52:54:00:77:00:20 dst 192\.0\.2\.11 '
check "… and so has h3" poll 3 fdb_has h3 vw4242 '^52:54:00:77:00:20 dst 192\.0\.2\.11 '
setup "m is paused on h1 (all it sends is dropped)" nsx m nft -f - <<'NFT'
table netdev paused {
	chain out {
		type filter hook egress device "eth0" priority 0; policy drop;
	}
}
NFT
setup "m resumes on h3" guest_on h3 vw-seg m3 52:54:00:77:00:20 20 77
settle m3 || true
serve m3 tcp4 80
# A gratuitous ARP, a migrated guest's first frame; from then, h2 must know
# m behind h3 within 1 s.
setup "m sends on h3" nsx m3 python3 -c '
import socket, struct
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("eth0", 0))
mac, ip = bytes.fromhex("525400770020"), socket.inet_aton("10.77.0.20")
arp = struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + mac + ip + bytes(6) + ip
s.send(b"\xff" * 6 + mac + b"\x08\x06" + arp)'
check "h2 has m behind h3 within 1 s of its frame (MAC mobility)" \
	poll 1 fdb_has h2 vw4242 '^52:54:00:77:00:20 dst 192\.0\.2\.13 '
setup "m's old port leaves h1" ip -n "$(ns h1)" link del g-m
moved_to_h3() { # H: H's zebra has m remote at h3 with a mobility sequence above 0
	frr_mac "$(ns "$1")" 4242 52:54:00:77:00:20 | grep -Eq '^remote 192\.0\.2\.13 [1-9]'
}
check "h2's zebra: m is remote at h3 with a mobility sequence above 0" poll 2 moved_to_h3 h2
check "h1's zebra: the same (its own entry yielded)" poll 2 moved_to_h3 h1
check "h1's VXLAN device has m behind h3" poll 2 fdb_has h1 vw4242 '^52:54:00:77:00:20 dst 192\.0\.2\.13 '
reach "a2 (h2) reaches m on h3" a2 tcp4 10.77.0.20 80 '^m3 10\.77\.0\.12$'
reach "a1 (h1) reaches m on h3" a1 tcp4 10.77.0.20 80 '^m3 10\.77\.0\.11$'

# --- teardown on h3 ---------------------------------------------------------------------------
check "teardown seg on h3" vw h3 teardown seg
lacks "h3 has no VXLAN device" 'vw4242' nsx h3 ip link show
check "h1's zebra: h3's type-3 route is withdrawn" \
	frr_wait "$(ns h1)" 5 "$(printf '192.0.2.11\n192.0.2.12')" frr_imet_vteps 4242
check "h1's flood entries: h2 only" poll 3 flood_is h1 vw4242 "192.0.2.12"
check "h2's flood entries: h1 only" poll 3 flood_is h2 vw4242 "192.0.2.11"
check "h1's watch no longer admits h3" poll 3 not_admits h1 192.0.2.13 0x1092
check "… and still admits h2" admits h1 192.0.2.12 0x1092
reach "h1 and h2 still work: a1 reaches a2" a1 tcp4 10.77.0.12 80 '^a2 10\.77\.0\.11$'
reach "… over IPv6 too" a1 tcp6 fd00:77::12 80 '^a2 fd00:77::11$'
check "verify on h1 after h3 left" vw h1 verify seg

# --- teardown everywhere --------------------------------------------------------------------
for h in h1 h2; do
	check "teardown of the three networks on $h" vw "$h" teardown seg iso ho
done
stop_watch() {
	local pid=$1 i
	kill -TERM "$pid" || return 1
	for i in $(seq 1 40); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	wait "$pid"
}
for i in 0 1 2; do
	check "watch on h$((i + 1)) ends on SIGTERM with status 0" stop_watch "${WPIDS[i]}"
done
says "h1's watch followed zebra's neighbours" "network 'seg': EVPN neighbour 192\.0\.2\.13 left vw4242" \
	cat "$VWT_TMP/watch-h1.log"
for h in h1 h2 h3; do
	lacks "$h: no VXLAN device is left" 'vxlan' nsx "$h" ip -d link show
	lacks "$h: no flood entry is left" 'dst 192\.0\.2\.' nsx "$h" bridge fdb show
	lacks "$h: no virtwire table is left" 'virtwire' nsx "$h" nft list tables
	lacks "$h: zebra no longer has VNI 4242 nor 4244" '4242|4244' frr_vtysh "$(ns "$h")" "show evpn vni"
done
span_frr_stop h1 h2 h3
done_testing
