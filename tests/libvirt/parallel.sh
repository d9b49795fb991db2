#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# tests/libvirt/parallel.sh - many networks started at once: libvirt runs the
# hooks of different networks in parallel, and virtwire's state lock and
# per-network transactions must leave every network complete. 12 networks of
# every kind are started by 12 concurrent `virsh net-start`, checked
# (`virtwire verify --all` clean, each network's elements, chains, records,
# bridge and coexistence rule present), then destroyed by 12 concurrent
# `virsh net-destroy`, and nothing may be left. Five rounds (VWT_ROUNDS).
#
#   ┌─ netns vwt-parPID (sandbox: libvirtd, virtwire hooks) ────────────────┐
#   │ p0..p5  virtwire nat    vwt-p0..5  10.80.0-5.1/24  forward tcp 2400+i │
#   │ p6      virtwire route  vwt-p6     10.80.6.1/24                       │
#   │ p7      host-only       vwt-p7     10.80.7.1/24                       │
#   │ p8, p9  libvirt's nat   vwt-p8, 9  10.80.8-9.1/24  forward tcp 2408/9 │
#   │         (+ virtwire's coexistence accept in ip filter FORWARD)        │
#   │ p10     internal        vwt-p10    10.80.10.1/24                      │
#   │ p11     bridged         vwt-p11 over pup0 198.51.100.2/24 ── veth ──┐ │
#   └─────────────────────────────────────────────────────────────────────┼─┘
#                                       netns vwt-plPID  198.51.100.1/24 ─┘
#
# Exit: 0 pass, 1 fail, 77 skip. TAP on stdout.
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/libvirt/lib.sh
source "$HERE/lib.sh"
vwt_require
: "${VWT_ROUNDS:=5}"

T0=$(_vw_now_ms)
vwt_sandbox "par$$"
LAN="pl$$"
setup "LAN namespace" vw_ns_add "$LAN"
setup "uplink pup0" eval 'ip -n "$VW_SB_NS" link add pup0 type veth peer name eth0 netns "vwt-$LAN" &&
	ip -n "vwt-$LAN" addr add 198.51.100.1/24 dev eth0 && ip -n "vwt-$LAN" link set eth0 up &&
	ip -n "$VW_SB_NS" addr add 198.51.100.2/24 dev pup0 && ip -n "$VW_SB_NS" link set pup0 up'
x=$VWT_TMP

# mknet NAME FORWARD-ELEMENT VW-ATTRS VW-CHILDREN I [DHCP-HOSTS]
mknet() {
	cat >"$x/$1.xml" <<EOF
<network>
  <name>$1</name>
  $2
  <bridge name='vwt-$1' stp='off'/>
  <ip address='10.80.$5.1' prefix='24'>
    <dhcp>
      <range start='10.80.$5.100' end='10.80.$5.200'/>
      <host mac='52:54:00:80:$(printf %02x "$5"):10' ip='10.80.$5.10'/>
    </dhcp>
  </ip>
  <metadata>
    <vw:network xmlns:vw="urn:virtwire:1"$3>
      $4
    </vw:network>
  </metadata>
</network>
EOF
}
fwd() { # I
	printf '<vw:forward name="f%s" proto="tcp" host-port="%s" guest-mac="52:54:00:80:%02x:10" guest-port="22"/>' \
		"$1" $((2400 + $1)) "$1"
}
OPEN="<forward mode='open'/>"
NETS=()
for i in 0 1 2 3 4 5; do mknet "p$i" "$OPEN" ' mode="nat"' "$(fwd "$i")" "$i"; NETS+=("p$i"); done
mknet p6 "$OPEN" ' mode="route"' '' 6
mknet p7 "$OPEN" ' mode="host-only"' '' 7
mknet p8 "<forward mode='nat'/>" '' "$(fwd 8)" 8
mknet p9 "<forward mode='nat'/>" '' "$(fwd 9)" 9
mknet p10 "$OPEN" ' mode="internal"' '' 10
cat >"$x/p11.xml" <<'EOF'
<network>
  <name>p11</name>
  <forward mode='bridge'/>
  <bridge name='vwt-p11'/>
  <metadata>
    <vw:network xmlns:vw="urn:virtwire:1" mode="bridged" uplink="pup0"/>
  </metadata>
</network>
EOF
NETS+=(p6 p7 p8 p9 p10 p11)
for n in "${NETS[@]}"; do setup "net-define $n" vw_virsh net-define "$x/$n.xml"; done

UPLINK0=$(ip -n "$VW_SB_NS" -4 -o addr show dev pup0 | awk '{print $4}')
setup "pup0 has its address" test "$UPLINK0" = 198.51.100.2/24

# in_parallel OP: `virsh OP NAME` for every network at once, each bounded in
# time; prints the failures.
in_parallel() {
	local op=$1 n pids=() rc=0 uri
	uri=$(_vw_sb_uri qemu)
	for n in "${NETS[@]}"; do
		(
			timeout -k 5 60 virsh -c "$uri" "$op" "$n" >"$x/$op-$n.out" 2>&1
			echo $? >"$x/$op-$n.rc"
		) &
		pids+=($!)
	done
	for n in "${pids[@]}"; do wait "$n"; done
	for n in "${NETS[@]}"; do
		if [[ "$(cat "$x/$op-$n.rc" 2>/dev/null)" != 0 ]]; then
			echo "virsh $op $n failed:"
			cat "$x/$op-$n.out"
			rc=1
		fi
	done
	return $rc
}

# Everything each network should have while it runs.
all_present() {
	local t n i rc=0
	t=$(vwt_nft_table) || { echo "no table inet virtwire"; return 1; }
	for n in "${NETS[@]}"; do
		[[ -f "$VWT_STATE/$n.state" && -f "$VWT_STATE/$n.xml" ]] || { echo "$n: no state record"; rc=1; }
		case $n in
		p8 | p9) ;;
		p11) ;;
		*)
			grep -q "\"vwt-$n\" comment \"$n\"" <<<"$t" || { echo "$n: its bridge is not in the table's sets"; rc=1; }
			;;
		esac
		case $n in
		p[0-6]) # nat and route: what their guests may send away
			grep -q "chain nw-$n-out " <<<"$t" || { echo "$n: no chain nw-$n-out"; rc=1; } ;;
		p10) # internal: the host is closed to its guests
			grep -q "\"vwt-$n\" comment \"$n\"" <<<"$(sed -n '/set closed/,/}/p' <<<"$t")" ||
				{ echo "$n: vwt-$n is not in set closed"; rc=1; } ;;
		esac
		case $n in
		p[0-5] | p8 | p9)
			i=${n#p}
			grep -q "tcp \. $((2400 + i)) comment \"$n\" : 10\.80\.$i\.10 \. 22" <<<"$t" ||
				{ echo "$n: its forward $((2400 + i)) is missing"; rc=1; }
			;;
		esac
	done
	vw_sb_exec ip -d link show pup0 | matches 'master vwt-p11' || { echo "p11: pup0 is not a port of vwt-p11"; rc=1; }
	vw_sb_exec ip -4 -o addr show dev vwt-p11 | matches " $UPLINK0 " || { echo "p11: vwt-p11 lacks $UPLINK0"; rc=1; }
	return $rc
}
# p8 and p9 (IPv4 only): one accept each, both above libvirt's rules.
coexist_present() {
	local n rc=0 r first
	vwt_coexist_count 2 || rc=1
	r=$(vwt_coexist_rules) || return 1
	for n in p8 p9; do
		matches "virtwire: network $n\"" <<<"$r" || { echo "$n: no coexistence rule of virtwire's in $VWT_FW"; rc=1; }
	done
	first=$(vwt_coexist_first) || return 1
	matches 'virtwire: network p[89]"' <<<"$first" || { echo "first in $(vwt_coexist_place): $first"; rc=1; }
	return $rc
}
nothing_left() {
	local n rc=0 l
	for n in "${NETS[@]}"; do vwt_net_gone "$n" "vwt-$n" || rc=1; done
	vwt_all_gone || rc=1
	[[ "$(ip -n "$VW_SB_NS" -4 -o addr show dev pup0 | awk '{print $4}')" == "$UPLINK0" ]] ||
		{ echo "pup0 did not get $UPLINK0 back"; rc=1; }
	l=$(vw_sb_exec ip -d link show pup0) || { echo "pup0 is gone"; return 1; }
	! matches master <<<"$l" || { echo "pup0 still enslaved"; rc=1; }
	return $rc
}

for ((r = 1; r <= VWT_ROUNDS; r++)); do
	vw_time_ms T_START in_parallel net-start >"$x/round.out" 2>&1
	if [[ $? == 0 ]]; then
		ok "round $r: ${#NETS[@]} concurrent virsh net-start all succeed (${T_START} ms)"
	else
		not_ok "round $r: ${#NETS[@]} concurrent virsh net-start all succeed"
		diag "$(cat "$x/round.out")"
	fi
	verify_all() {
		local out n
		out=$(vwt_vw verify --all 2>&1) || { echo "$out"; return 1; }
		for n in "${NETS[@]}"; do grep -q "^network '$n': the kernel matches" <<<"$out" || { echo "$n not verified: $out"; return 1; }; done
	}
	check "round $r: virtwire verify --all is clean and covers all ${#NETS[@]} networks" verify_all
	check "round $r: every network's elements, chains, records and bridge are there" all_present
	check "round $r: a coexistence rule for each of p8, p9 (libvirt nat with forwards) heading $(vwt_coexist_place)" coexist_present
	check "round $r: no duplicate $VWT_FW rules" fw_no_dups
	vw_time_ms T_STOP in_parallel net-destroy >"$x/round.out" 2>&1
	if [[ $? == 0 ]]; then
		ok "round $r: ${#NETS[@]} concurrent virsh net-destroy all succeed (${T_STOP} ms)"
	else
		not_ok "round $r: ${#NETS[@]} concurrent virsh net-destroy all succeed"
		diag "$(cat "$x/round.out")"
	fi
	check "round $r: nothing left (table, state, bridges, $VWT_FW rules, dnsmasq; pup0 restored)" nothing_left
done

diag "parallel.sh took $(($(_vw_now_ms) - T0)) ms"
done_testing
