#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# tests/libvirt/examples.sh - every example network of examples/ through a
# real libvirtd with virtwire as its hook: virsh net-define, net-start,
# `virtwire verify --all` clean, net-destroy, and then nothing left (no
# table, no element or chain of the network, no bridge virtwire made, no
# state file, no tagged rule in libvirt's firewall, no dnsmasq). Then all of them at once
# (they are written as one consistent host), torn down again.
#
#   netns vwt-exPID (sandbox: libvirtd + dnsmasq, virtwire hooks)
#   ┌─────────────────────────────────────────────────────────────┐
#   │ vw-nat vw-lvnat vw-route vw-host vw-int vw-nat-a/-b/-c      │
#   │   (bridges libvirt makes, one example network at a time)    │
#   │                                                             │
#   │ vw-lan (bridged.xml: virtwire makes it over eth0)           │
#   │   └── eth0 198.51.100.2/24, default via 198.51.100.1 ──┐    │
#   └────────────────────────────────────────────────────────┼────┘
#                                                  veth       │
#   netns vwt-exlPID ("the LAN")   eth0 198.51.100.1/24 ─────┘
#
# nat.xml's <vw:nat uplink="eth0"/> matches that same eth0. Exit: 0 pass,
# 1 fail, 77 skip. TAP on stdout.
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/libvirt/lib.sh
source "$HERE/lib.sh"
vwt_require

T0=$(_vw_now_ms)
vwt_sandbox "ex$$"
LAN="exl$$"
setup "LAN namespace vwt-$LAN" vw_ns_add "$LAN"

# The uplink bridged.xml names: eth0, with an address and a default route
# that virtwire must move to its bridge and give back.
setup_uplink() {
	ip -n "$VW_SB_NS" link add eth0 type veth peer name eth0 netns "vwt-$LAN" &&
		ip -n "vwt-$LAN" addr add 198.51.100.1/24 dev eth0 &&
		ip -n "vwt-$LAN" link set eth0 up &&
		ip -n "$VW_SB_NS" addr add 198.51.100.2/24 dev eth0 &&
		ip -n "$VW_SB_NS" link set eth0 up &&
		ip -n "$VW_SB_NS" route add default via 198.51.100.1 dev eth0
}
setup "uplink eth0 in the sandbox" setup_uplink

# The underlay the spanning examples name: eth1 with host 1's tunnel
# address (192.0.2.11), the LAN namespace as host 2 (192.0.2.12).
setup_underlay() {
	ip -n "$VW_SB_NS" link add eth1 type veth peer name eth1 netns "vwt-$LAN" &&
		ip -n "vwt-$LAN" addr add 192.0.2.12/24 dev eth1 &&
		ip -n "vwt-$LAN" link set eth1 up &&
		ip -n "$VW_SB_NS" addr add 192.0.2.11/24 dev eth1 &&
		ip -n "$VW_SB_NS" link set eth1 up
}
setup "underlay eth1 in the sandbox" setup_underlay

# eth0 as it was before any network touched it: addresses and routes.
uplink_snapshot() {
	ip -n "$VW_SB_NS" -4 -o addr show dev eth0 | awk '{print $4}'
	ip -n "$VW_SB_NS" -4 route show dev eth0 | sort
	ip -n "$VW_SB_NS" -4 route show default
}
UPLINK_BEFORE=$(uplink_snapshot)
setup "eth0's address and default route are known" matches 'default via 198\.51\.100\.1' <<<"$UPLINK_BEFORE"
uplink_restored() {
	local now l
	now=$(uplink_snapshot)
	[[ "$now" == "$UPLINK_BEFORE" ]] || { diff <(echo "$UPLINK_BEFORE") <(echo "$now"); return 1; }
	l=$(ip -n "$VW_SB_NS" -d link show eth0) || { echo "eth0 is gone"; return 1; }
	! matches 'master' <<<"$l" || { echo "eth0 still enslaved"; return 1; }
	vwt_pings sb 198.51.100.1 || { echo "the LAN does not answer through eth0"; return 1; }
}

net_name() { sed -n 's:.*<name>\(.*\)</name>.*:\1:p' "$1" | head -1; }
net_bridge() { sed -n "s:.*<bridge name=['\"]\([^'\"]*\)['\"].*:\1:p" "$1" | head -1; }

# Everything virtwire may have left of network NAME (bridge BR), and of
# virtwire at all when no network runs.
nothing_left() {
	local rc=0
	if [[ -n "$1" ]]; then vwt_net_gone "$1" "$2" || rc=1; fi
	vwt_all_gone || rc=1
	return $rc
}

# verify_clean NAME: verify --all succeeds and has checked NAME.
verify_clean() {
	local out
	out=$(vwt_vw verify --all 2>&1) || { echo "$out"; return 1; }
	grep -q "^network '$1': the kernel matches" <<<"$out" || { echo "verify did not check $1: $out"; return 1; }
}

mapfile -t FILES < <(grep -l '^<network' "$VW_SRC"/examples/*.xml | sort)
setup "examples/ has its networks (found ${#FILES[@]})" test "${#FILES[@]}" -ge 8
diag "example networks: ${FILES[*]##*/}"

BROKEN=()
for f in "${FILES[@]}"; do
	n=$(net_name "$f")
	br=$(net_bridge "$f")
	x=${f##*/}
	setup "$x: name and bridge" test -n "$n" -a -n "$br"
	# libvirt's own validation of the example: a failure counts, a
	# success is only the way to the checks of virtwire below.
	if ! out=$(vw_virsh net-define "$f" 2>&1); then
		not_ok "$x: libvirt accepts the example (virsh net-define)"
		diag "$out"
		BROKEN+=("$x")
		continue
	fi
	check "$x: virsh net-start $n (virtwire's hooks accept it)" vw_virsh net-start "$n"
	check "$x: virtwire verify --all is clean" verify_clean "$n"
	case $x in
	bridged.xml)
		# The ping right away: the host must not lose its LAN while
		# the bridge takes eth0's place (no STP hold on the port).
		check "$x: eth0 is a port of $br, which has eth0's address and default route; the LAN answers at once" \
			eval "vw_sb_exec ip -d link show eth0 | matches 'master $br' &&
			      vw_sb_exec ip -4 -o addr show dev $br | matches ' 198.51.100.2/24 ' &&
			      vw_sb_exec ip -4 route show default | matches 'via 198.51.100.1 dev $br' &&
			      vwt_pings sb 198.51.100.1"
		;;
	span-*.xml)
		vni=$(sed -n 's/.*<vw:span vni="\([0-9]*\)".*/\1/p' "$f")
		check "$x: VXLAN device vw$vni over eth1 is a port of $br, up" \
			eval "vw_sb_exec ip -d link show vw$vni | matches 'master $br' &&
			      vw_sb_exec ip -d link show vw$vni | matches 'vxlan id $vni .*local 192\.0\.2\.11 dev eth1' &&
			      vw_sb_exec ip link show vw$vni | matches 'state (UP|UNKNOWN)'"
		# Static peers: virtwire's entry to the other host; EVPN: none
		# of virtwire's (FRR's zebra writes them; none runs here).
		if grep -q 'control="evpn"' "$f"; then
			lacks "$x: no forwarding entry of virtwire's on vw$vni (zebra's to make)" '^00:00:00:00:00:00' \
				vw_sb_exec bridge fdb show dev vw$vni
		else
			says "$x: vw$vni floods to the peer 192.0.2.12" '^00:00:00:00:00:00 dst 192\.0\.2\.12 ' \
				vw_sb_exec bridge fdb show dev vw$vni
		fi
		;;
	libvirt-nat-forwards.xml)
		# libvirt's own nat: virtwire adds only forwards, plus the tagged
		# accept for DNATed connections above libvirt's jumps.
		check "$x: its forwards are in table inet virtwire" \
			eval "vwt_nft_table | matches 'tcp . 2223 comment \"$n\" : 192.168.101.10 . 22'"
		# Where libvirt's backend rejects: ip filter FORWARD (iptables)
		# or the chain forward of ip libvirt_network (nftables).
		check "$x: virtwire's coexistence accept is the first rule of $(vwt_coexist_place) ($VWT_FW)" \
			eval "vwt_coexist_first | matches 'virtwire: network $n\"' && vwt_coexist_first | matches '(ACCEPT|accept)'"
		check "$x: exactly one rule of virtwire's in libvirt's $VWT_FW firewall (IPv4 only)" vwt_coexist_count 1
		if [[ $VWT_FW == nftables ]]; then
			lacks "$x: nothing of virtwire's in iptables' tables (libvirt writes with nftables)" virtwire \
				eval "vw_sb_exec iptables-save && vw_sb_exec ip6tables-save"
		fi
		;;
	esac
	check "$x: virsh net-destroy $n" vw_virsh net-destroy "$n"
	check "$x: nothing of $n left (table, elements, bridge, state, rules, dnsmasq)" nothing_left "$n" "$br"
	if [[ $x == bridged.xml ]]; then
		check "$x: eth0 has its address and routes back, and reaches the LAN" uplink_restored
	fi
	vw_virsh net-undefine "$n" >/dev/null 2>&1
done

# All of them side by side: one consistent host (without those libvirt
# refused above, already reported).
started=()
all_ok=1
for f in "${FILES[@]}"; do
	[[ " ${BROKEN[*]} " == *" ${f##*/} "* ]] && continue
	vw_virsh net-define "$f" >/dev/null 2>&1 || all_ok=0
	if vw_virsh net-start "$(net_name "$f")" >"$VW_SB_DIR/t/start.out" 2>&1; then
		started+=("$(net_name "$f")")
	else
		all_ok=0
		diag "$(cat "$VW_SB_DIR/t/start.out")"
	fi
done
if ((all_ok)); then ok "all ${#started[@]} example networks libvirt accepts run side by side"; else not_ok "all example networks run side by side"; fi
check "all together: virtwire verify --all is clean" vwt_vw verify --all
all_listed() {
	local out n
	out=$(vwt_vw status) || return 1
	for n in "${started[@]}"; do grep -q "^network '$n'" <<<"$out" || { echo "$n not in status"; return 1; }; done
}
check "all together: virtwire status lists every network" all_listed
for n in "${started[@]}"; do vw_virsh net-destroy "$n" >/dev/null 2>&1 || diag "net-destroy $n failed"; done
all_gone() {
	local f rc=0
	for f in "${FILES[@]}"; do nothing_left "$(net_name "$f")" "$(net_bridge "$f")" >/dev/null || rc=1; done
	nothing_left "" "" || rc=1
	return $rc
}
check "all together: destroyed, nothing left" all_gone
check "all together: eth0 has its address and routes back" uplink_restored

diag "examples.sh took $(($(_vw_now_ms) - T0)) ms"
done_testing
