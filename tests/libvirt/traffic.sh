#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# tests/libvirt/traffic.sh - real packets through libvirt-started guests on
# networks virtwire realises as libvirt's hook: NAT egress, a network forward
# by guest-mac + DHCP reservation, a domain's own forward from its
# <vw:domain> metadata, hairpin, host-only and internal isolation, two NAT
# networks isolated from each other but reaching each other's forwards,
# bridged mode with a LAN behind the uplink, a forward into libvirt's own
# nat network, and a qemu TCG domain with a domain forward.
#
#                      netns vwt-trwPID ("wan")  203.0.113.2/24
#                                 │ veth
#   ┌─ netns vwt-trfPID (sandbox: libvirtd, dnsmasq, virtwire hooks) ───────┐
#   │ wan-trwPID 203.0.113.1/24 (the host's outside address)                │
#   │                                                                       │
#   │ vwt-nat1 10.77.1.1/24  nat        g1 .10 (fwd tcp 2222->22, udp 2053->53 │
#   │   forwards by MAC + reservation)  g2 .11 (its own fwd 10080->80)      │
#   │   domain-forwards 10000-10999     q1 .12 qemu TCG (own fwd 10081->80) │
#   │ vwt-nat2 10.77.4.1/24  nat        g6 .10 (fwd tcp 2224->22)           │
#   │ vwt-ho   10.77.2.1/24  host-only  g3 .10                              │
#   │ vwt-int  10.77.3.1/24  internal   g4 .10, g5 .11 (host closed to them)│
#   │ vwt-lvn  10.77.5.1/24  libvirt's own <forward mode='nat'/>            │
#   │                                   g8 .10 (fwd tcp 2225->22 by MAC)    │
#   │ vwt-brd  bridged over vwup0       g7 198.51.100.20 (a LAN peer)       │
#   │   vwup0 198.51.100.2/24, default via 198.51.100.1 (moved to the       │
#   │   bridge while the network runs, given back at net-destroy)           │
#   └──────────────────────────────────┬────────────────────────────────────┘
#                                      │ veth (vwup0 ── eth0)
#                      netns vwt-trlPID ("lan")  198.51.100.1/24
#
# All bridges stp='off' (STP would hold every new port for 4 s; bridged mode
# cannot say so, libvirt refuses stp= there, virtwire picks). Guests are
# LXC containers on the host's filesystem (socat runs inside them); g1/g2/g6/
# g8 have the addresses their networks reserve for their MACs, set statically.
#
# The forward INTO libvirt's own nat network (vwt-lvn, port 2225) works
# through virtwire's coexistence rule (an accept for DNATed connections at the
# top of FORWARD in iptables' ip filter, driver/exec-coexist.c): libvirt's
# "oifname vwt-lvn reject" in LIBVIRT_FWI would drop it otherwise.
#
# Exit: 0 pass, 1 fail, 77 skip. TAP on stdout.
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/libvirt/lib.sh
source "$HERE/lib.sh"
vwt_require
HAVE_QEMU=0
[[ -x /usr/bin/qemu-system-x86_64 && "${VWT_QEMU:-1}" != 0 ]] && HAVE_QEMU=1

T0=$(_vw_now_ms)
vwt_sandbox "trf$$"
WAN="trw$$"
LAN="trl$$"
W=vwt-$WAN
L=vwt-$LAN
HOST=203.0.113.1

# --- the LAN behind the bridged network's uplink ------------------------------
# Before the wan: the uplink's default route is then the sandbox's only one.
setup "LAN namespace" vw_ns_add "$LAN"
setup "uplink vwup0 with 198.51.100.2/24 and a default route" eval 'ip -n "$VW_SB_NS" link add vwup0 type veth peer name eth0 netns "$L" &&
	ip -n "$L" addr add 198.51.100.1/24 dev eth0 && ip -n "$L" link set eth0 up &&
	ip -n "$VW_SB_NS" addr add 198.51.100.2/24 dev vwup0 && ip -n "$VW_SB_NS" link set vwup0 up &&
	ip -n "$VW_SB_NS" route add default via 198.51.100.1 dev vwup0'
uplink_snapshot() {
	ip -n "$VW_SB_NS" -4 -o addr show dev vwup0 | awk '{print $4}'
	ip -n "$VW_SB_NS" -4 route show dev vwup0 | sort
	ip -n "$VW_SB_NS" -4 route show default
}
UPLINK_BEFORE=$(uplink_snapshot)
setup "vwup0's address and default route are known" matches 'default via 198\.51\.100\.1' <<<"$UPLINK_BEFORE"

# --- the wan ------------------------------------------------------------------
setup "wan namespace" vw_wan_add "$WAN" 203.0.113.2/24 2001:db8:113::2/64 "$HOST/24"
# So that the wan could reach guest subnets directly if nothing stopped it.
setup "wan route to the guest subnets" ip -n "$W" route add 10.77.0.0/16 via "$HOST"

# --- networks -------------------------------------------------------------------
x=$VWT_TMP
cat >"$x/nat1.xml" <<'EOF'
<network>
  <name>nat1</name>
  <forward mode='open'/>
  <bridge name='vwt-nat1' stp='off'/>
  <ip address='10.77.1.1' prefix='24'>
    <dhcp>
      <range start='10.77.1.100' end='10.77.1.200'/>
      <host mac='52:54:00:77:01:10' name='g1' ip='10.77.1.10'/>
      <host mac='52:54:00:77:01:11' name='g2' ip='10.77.1.11'/>
      <host mac='52:54:00:77:01:12' name='q1' ip='10.77.1.12'/>
    </dhcp>
  </ip>
  <metadata>
    <vw:network xmlns:vw="urn:virtwire:1" mode="nat">
      <vw:forward name="g1-ssh" proto="tcp" host-port="2222" guest-mac="52:54:00:77:01:10" guest-port="22"/>
      <vw:forward name="g1-dns" proto="udp" host-port="2053" guest-address="10.77.1.10" guest-port="53"/>
      <vw:domain-forwards allow="yes" host-ports="10000-10999"/>
    </vw:network>
  </metadata>
</network>
EOF
cat >"$x/nat2.xml" <<'EOF'
<network>
  <name>nat2</name>
  <forward mode='open'/>
  <bridge name='vwt-nat2' stp='off'/>
  <ip address='10.77.4.1' prefix='24'>
    <dhcp>
      <range start='10.77.4.100' end='10.77.4.200'/>
      <host mac='52:54:00:77:04:10' name='g6' ip='10.77.4.10'/>
    </dhcp>
  </ip>
  <metadata>
    <vw:network xmlns:vw="urn:virtwire:1" mode="nat">
      <vw:forward name="g6-ssh" proto="tcp" host-port="2224" guest-mac="52:54:00:77:04:10" guest-port="22"/>
    </vw:network>
  </metadata>
</network>
EOF
cat >"$x/hostonly.xml" <<'EOF'
<network>
  <name>hostonly</name>
  <forward mode='open'/>
  <bridge name='vwt-ho' stp='off'/>
  <ip address='10.77.2.1' prefix='24'/>
  <metadata>
    <vw:network xmlns:vw="urn:virtwire:1" mode="host-only"/>
  </metadata>
</network>
EOF
# libvirt refuses <forward mode='open'/> without an <ip>: the bridge has an
# address here, and internal mode must keep the guests away from it.
cat >"$x/internal.xml" <<'EOF'
<network>
  <name>internal</name>
  <forward mode='open'/>
  <bridge name='vwt-int' stp='off'/>
  <ip address='10.77.3.1' prefix='24'/>
  <metadata>
    <vw:network xmlns:vw="urn:virtwire:1" mode="internal"/>
  </metadata>
</network>
EOF
cat >"$x/lvnat.xml" <<'EOF'
<network>
  <name>lvnat</name>
  <forward mode='nat'/>
  <bridge name='vwt-lvn' stp='off'/>
  <ip address='10.77.5.1' prefix='24'>
    <dhcp>
      <range start='10.77.5.100' end='10.77.5.200'/>
      <host mac='52:54:00:77:05:10' name='g8' ip='10.77.5.10'/>
    </dhcp>
  </ip>
  <metadata>
    <vw:network xmlns:vw="urn:virtwire:1">
      <vw:forward name="g8-ssh" proto="tcp" host-port="2225" guest-mac="52:54:00:77:05:10" guest-port="22"/>
    </vw:network>
  </metadata>
</network>
EOF
cat >"$x/bridged.xml" <<'EOF'
<network>
  <name>bridged</name>
  <forward mode='bridge'/>
  <bridge name='vwt-brd'/>
  <metadata>
    <vw:network xmlns:vw="urn:virtwire:1" mode="bridged" uplink="vwup0"/>
  </metadata>
</network>
EOF
check "net-start bridged" vwt_define_start "$x/bridged.xml"
# The bridge takes the uplink's place: the host must keep its LAN. (libvirt
# refuses stp= and delay= in <forward mode='bridge'/>: the bridge's STP is
# virtwire's to choose, and with STP on the uplink port would not forward for
# 2 x 2 s.)
check "bridged: the host reaches the LAN right after net-start (the uplink port forwards at once)" \
	vwt_pings sb 198.51.100.1
for n in nat1 nat2 hostonly internal lvnat; do
	check "net-start $n" vwt_define_start "$x/$n.xml"
done

# qemu first: iPXE takes its lease while the LXC checks run.
if ((HAVE_QEMU)); then
	VW_LXC_NOWAIT=1 VW_GUEST_METADATA=$(dom_fwd nat1 10081 80) \
		check "qemu TCG domain q1 with its own forward starts on nat1 (hooks prepare/start/started pass)" \
		vw_qemu_guest q1 nat1 52:54:00:77:01:12
fi

# --- guests -----------------------------------------------------------------------
guest() { setup "guest $1 starts" vwt_lxc_guest "$@"; }
guest g1 nat1 52:54:00:77:01:10 10.77.1.10/24 10.77.1.1
VW_GUEST_METADATA=$(dom_fwd nat1 10080 80) guest g2 nat1 52:54:00:77:01:11 10.77.1.11/24 10.77.1.1
guest g3 hostonly 52:54:00:77:02:10 10.77.2.10/24 10.77.2.1
guest g4 internal 52:54:00:77:03:10 10.77.3.10/24 10.77.3.1
guest g5 internal 52:54:00:77:03:11 10.77.3.11/24 10.77.3.1
guest g6 nat2 52:54:00:77:04:10 10.77.4.10/24 10.77.4.1
guest g7 bridged 52:54:00:77:06:10 198.51.100.20/24 198.51.100.1
guest g8 lvnat 52:54:00:77:05:10 10.77.5.10/24 10.77.5.1

serve "$W" tcp4 7000
serve "$L" tcp4 7001
serve sb tcp4 7005
serve g1 tcp4 22
serve g1 udp4 53
serve g2 tcp4 80
serve g3 tcp4 7003
serve g4 tcp4 7002
serve g6 tcp4 22
serve g7 tcp4 7004
serve g8 tcp4 22

check "virtwire verify --all is clean with every network and guest up" vwt_vw verify --all

# --- nat ------------------------------------------------------------------------
reach "nat egress: g1 reaches the wan, masqueraded to the host's wan address" \
	g1 tcp4 203.0.113.2 7000 "^$W 203\.0\.113\.1$"
reach "network forward by guest-mac + reservation: wan -> $HOST:2222 reaches g1:22, real source kept" \
	"$W" tcp4 "$HOST" 2222 '^g1 203\.0\.113\.2$'
reach "network forward by guest-address, udp: wan -> $HOST:2053 reaches g1:53" \
	"$W" udp4 "$HOST" 2053 '^g1 203\.0\.113\.2$'
reach "domain forward from g2's <vw:domain> metadata: wan -> $HOST:10080 reaches g2:80" \
	"$W" tcp4 "$HOST" 10080 '^g2 203\.0\.113\.2$'
check "virtwire status shows g2's domain forward, by domain and host port, with its traffic" \
	eval "vwt_vw status | matches \"^  domain forward .* of 'g2': tcp port 10080 -> 10\\.77\\.1\\.11 \\(52:54:00:77:01:11\\) port 80: [1-9][0-9]* packets\""
blocked "nat: the wan cannot reach g1 directly, only through forwards (the host can)" "$W" tcp4 10.77.1.10 22 dropped sb
blocked "nat: an unpublished host port is not forwarded (the host resets it)" "$W" tcp4 "$HOST" 2223 refused
reach "hairpin: g2 reaches g1's forward through the host's wan address" g2 tcp4 "$HOST" 2222 '^g1 '
reach "hairpin: g1 reaches its own forward through the host's wan address" g1 tcp4 "$HOST" 2222 '^g1 '

# --- host-only ----------------------------------------------------------------
check "host-only: g3 reaches the host (its gateway answers)" vwt_pings g3 10.77.2.1
reach "host-only: g3 reaches a service of the host" g3 tcp4 10.77.2.1 7005 '^sb 10\.77\.2\.10$'
reach "host-only: the host reaches g3" sb tcp4 10.77.2.10 7003 '^g3 10\.77\.2\.1$'
blocked "host-only: g3 does not reach the wan (virtwire rejects it)" g3 tcp4 203.0.113.2 7000 rejected
blocked "host-only: the wan does not reach g3 (the host can)" "$W" tcp4 10.77.2.10 7003 dropped sb
blocked "host-only: g3 does not reach a guest of another network, g1 (virtwire rejects it)" g3 tcp4 10.77.1.10 22 rejected
blocked "host-only: a nat guest (g1) does not reach g3 (virtwire rejects it)" g1 tcp4 10.77.2.10 7003 rejected

# --- internal --------------------------------------------------------------------
reach "internal: g5 reaches g4 on the same network" g5 tcp4 10.77.3.10 7002 '^g4 10\.77\.3\.11$'
blocked "internal: g4 does not reach a service of the host on its bridge address (g3, host-only, can)" \
	g4 tcp4 10.77.3.1 7005 dropped g3
blocked "internal: g4 does not reach the host's DNS (dnsmasq on 10.77.3.1:53; the host itself can)" \
	g4 tcp4 10.77.3.1 53 dropped sb
blocked "internal: g4 does not reach the wan (the host can)" g4 tcp4 203.0.113.2 7000 dropped sb
blocked "internal: the wan does not reach g4 (g5 can)" "$W" tcp4 10.77.3.10 7002 dropped g5
blocked "internal: a nat guest (g1) does not reach g4 (virtwire rejects it)" g1 tcp4 10.77.3.10 7002 rejected

# --- two NAT networks ---------------------------------------------------------------
blocked "nat1 -> nat2: g1 does not reach g6 directly (virtwire rejects it)" g1 tcp4 10.77.4.10 22 rejected
blocked "nat2 -> nat1: g6 does not reach g1 directly (virtwire rejects it)" g6 tcp4 10.77.1.10 22 rejected
reach "nat1 -> nat2: g1 reaches nat2's published forward ($HOST:2224 -> g6)" g1 tcp4 "$HOST" 2224 '^g6 '
reach "nat2 -> nat1: g6 reaches nat1's published forward ($HOST:2222 -> g1)" g6 tcp4 "$HOST" 2222 '^g1 '
reach "wan -> nat2's forward $HOST:2224 reaches g6" "$W" tcp4 "$HOST" 2224 '^g6 203\.0\.113\.2$'

# --- libvirt's own nat network ---------------------------------------------------------
reach "libvirt nat: g8 reaches the wan through libvirt's NAT" g8 tcp4 203.0.113.2 7000 "^$W 203\.0\.113\.1$"
says "libvirt nat: g8's forward is in table inet virtwire" \
	'tcp \. 2225 comment "lvnat" : 10\.77\.5\.10 \. 22' vwt_nft_table
reach "libvirt nat: forward by network metadata, wan -> $HOST:2225 reaches g8:22" \
	"$W" tcp4 "$HOST" 2225 '^g8 203\.0\.113\.2$'
reach "libvirt nat: g1 (nat1) reaches lvnat's forward $HOST:2225" \
	g1 tcp4 "$HOST" 2225 '^g8 '

# --- bridged -------------------------------------------------------------------------
check "bridged: vwup0 is a port of vwt-brd, which holds vwup0's address and default route" \
	eval "vw_sb_exec ip -d link show vwup0 | matches 'master vwt-brd' &&
	      vw_sb_exec ip -4 -o addr show dev vwt-brd | matches ' 198\.51\.100\.2/24 ' &&
	      vw_sb_exec ip -4 route show default | matches 'via 198\.51\.100\.1 dev vwt-brd'"
reach "bridged: g7 reaches the LAN as a peer, with its own address" g7 tcp4 198.51.100.1 7001 "^$L 198\.51\.100\.20$"
reach "bridged: the LAN reaches g7 directly" "$L" tcp4 198.51.100.20 7004 '^g7 198\.51\.100\.1$'
check "bridged: the host reaches the LAN through the bridge" vwt_pings sb 198.51.100.1
# The LAN routes the guest subnets to the host: only forwards may pass.
setup "the LAN routes 10.77.0.0/16 to the host" ip -n "$L" route add 10.77.0.0/16 via 198.51.100.2
blocked "bridged: g7 (a LAN peer) does not reach nat1's guests directly (the host can)" g7 tcp4 10.77.1.10 22 dropped sb
blocked "bridged: the LAN does not reach nat1's guests directly (the host can)" "$L" tcp4 10.77.1.10 22 dropped sb
reach "bridged: the LAN reaches nat1's forward on the host's LAN address" "$L" tcp4 198.51.100.2 2222 '^g1 198\.51\.100\.1$'

# --- qemu --------------------------------------------------------------------------------
if ((HAVE_QEMU)); then
	Q1_PORT=$(vw_virsh dumpxml q1 | sed -n "s/.*portid='\([^']*\)'.*/\1/p" | head -1)
	check "qemu: q1's port ($Q1_PORT) is recorded in nat1's state" \
		eval "[[ -n '$Q1_PORT' ]] && grep -q -- '$Q1_PORT' '$VWT_STATE/nat1.state'"
	setup "q1's port id is known" test -n "$Q1_PORT"
	says "qemu: q1's forward is in table inet virtwire (tcp 10081 -> 10.77.1.12:80, tagged with its port)" \
		"tcp \\. 10081 comment \"nat1:$Q1_PORT\" : 10\\.77\\.1\\.12 \\. 80" vwt_nft_table
	check "qemu: virtwire status shows nat1 with q1's domain forward" \
		eval "vwt_vw status | matches \"^network 'nat1'\" && vwt_vw status | matches \"domain forward .* of 'q1': tcp port 10081 -> 10\\.77\\.1\\.12 \\(52:54:00:77:01:12\\) port 80\""
	q1_lease() { vw_virsh net-dhcp-leases nat1 | matches '52:54:00:77:01:12'; }
	check "qemu: q1's iPXE got its DHCP lease on nat1" _vw_wait 20 q1_lease
	check "qemu: virsh destroy q1" vw_virsh destroy q1
	lacks "qemu: q1's forward is gone" 'tcp \. 10081 ' vwt_nft_table
	lacks "qemu: q1's record is gone" "$Q1_PORT" grep -r . "$VWT_STATE"
	check "qemu: virtwire verify --all is still clean" vwt_vw verify --all
else
	skip "qemu TCG domain" "qemu-system-x86_64 not installed (or VWT_QEMU=0)"
fi

# --- teardown ---------------------------------------------------------------------------
setup "virsh destroy g2" vw_virsh_lxc destroy g2
lacks "the domain forward of g2 goes with g2" 'tcp \. 10080 ' vwt_nft_table
blocked "after g2 is gone, $HOST:10080 is not forwarded (the host resets it)" "$W" tcp4 "$HOST" 10080 refused
for g in g1 g3 g4 g5 g6 g7 g8; do setup "virsh destroy $g" vw_virsh_lxc destroy "$g"; done
check "net-destroy bridged" vw_virsh net-destroy bridged
uplink_back() {
	local now l
	now=$(uplink_snapshot)
	[[ "$now" == "$UPLINK_BEFORE" ]] || { diff <(echo "$UPLINK_BEFORE") <(echo "$now"); return 1; }
	l=$(vw_sb_exec ip -d link show vwup0) || { echo "vwup0 is gone"; return 1; }
	! matches 'master' <<<"$l" || { echo "vwup0 still enslaved"; return 1; }
	vwt_pings sb 198.51.100.1 || { echo "the LAN does not answer through vwup0"; return 1; }
}
check "bridged: after net-destroy vwup0 has its address and routes back, the bridge is gone" \
	eval "uplink_back && vwt_net_gone bridged vwt-brd"
for n in nat1 nat2 hostonly internal lvnat; do
	setup "net-destroy $n" vw_virsh net-destroy "$n"
done
all_gone() {
	local n rc=0
	for n in nat1:vwt-nat1 nat2:vwt-nat2 hostonly:vwt-ho internal:vwt-int lvnat:vwt-lvn; do
		vwt_net_gone "${n%%:*}" "${n#*:}" || rc=1
	done
	vwt_all_gone || rc=1
	return $rc
}
check "every network destroyed: nothing of virtwire left" all_gone

diag "traffic.sh took $(($(_vw_now_ms) - T0)) ms"
done_testing
