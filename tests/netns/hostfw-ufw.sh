#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# virtwire beside a real ufw (Debian 12's), enabled with its default DROP
# policies on input and forward, in the test's host namespace and a private
# mount namespace (copies of /etc/ufw and /etc/default/ufw; no sysctl file).
# virtwire's accepts go to the top of ufw's before chains (forward and
# input, both families); every mode works, DHCP/DNS to the host included;
# `ufw reload` re-creates ufw's chains without them, verify says so, a
# re-assert puts them back; teardown leaves iptables as ufw made it. A
# bridged network's guest reaches its LAN through ufw's FORWARD too (with
# br_netfilter its frames pass it; VWT_BRNF runs it both ways).
#
#   wan 203.0.113.2 ── host wan0 203.0.113.1
#                      vw-web 192.168.180.1/24 (nat) ── guest1 .10
#                      vw-rt  192.168.181.1/24 (route) ── guest2 .10
#                      vw-ho  192.168.182.1/24 (host-only) ── guest3 .10
#   lan 198.51.100.1 ── host eth1 → vw-lan (bridged) ── guest4 198.51.100.50
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/hostfw-lib.sh"
need_root
need_tools ufw iptables nsenter unshare

topology() {
	topo_wan &&
		ip -n "$(ns wan)" route add 192.168.181.0/24 via 203.0.113.1 &&
		ip -n "$(ns wan)" route add 192.168.180.0/24 via 203.0.113.1 &&
		guests_on vw-web vw-rt vw-ho &&
		lan_segment
}
setup "topology: wan, host, three bridges, guests, the LAN on eth1" topology
lan_xml

net_xml web vw-web 192.168.180 nat "$SSH_FWD" >"$VWT_TMP/web.xml"
net_xml rt vw-rt 192.168.181 route >"$VWT_TMP/rt.xml"
net_xml ho vw-ho 192.168.182 host-only >"$VWT_TMP/ho.xml"
NETS=("$VWT_TMP/web.xml" "$VWT_TMP/rt.xml" "$VWT_TMP/ho.xml" "$VWT_TMP/lan.xml")
printf '[host-firewall]\nintegrate=no\n' >"$VWT_TMP/leave.conf"

# --- the sandbox: a holder process owns the mount namespace ------------------
U=$VWT_TMP/ufw
mkdir -p "$U/etc" && cp -a /etc/ufw/. "$U/etc/" && : >"$U/sysctl.conf" &&
	sed "s|^IPT_SYSCTL=.*|IPT_SYSCTL=$U/sysctl.conf|" /etc/default/ufw >"$U/default"
holder() {
	ip netns exec "$(ns host)" unshare -m --propagation private bash -c '
		mount -t tmpfs tmpfs /run && mount --bind "$1/etc" /etc/ufw &&
		mount --bind "$1/default" /etc/default/ufw &&
		echo ready >"$1/holder" && exec sleep 3600' _ "$U" &
	HOLDER=$!
	VWT_PIDS+=("$HOLDER")
	for _ in $(seq 1 100); do [ -e "$U/holder" ] && return 0; sleep 0.05; done
	return 1
}
inside() {
	nsenter -t "$HOLDER" -n -m "$@"
}
setup "the sandbox's mount namespace" holder
setup "ufw enabled" inside ufw --force enable
says "ufw's shape: FORWARD policy DROP" '^-P FORWARD DROP' nsx host iptables -S FORWARD
says "ufw's shape: INPUT policy DROP" '^-P INPUT DROP' nsx host iptables -S INPUT
ipt() {
	nsx host iptables-save | grep -v '^#' | sed 's/ \[[0-9]*:[0-9]*\]//'
	nsx host ip6tables-save | grep -v '^#' | sed 's/ \[[0-9]*:[0-9]*\]//'
}
# ufw's first reload adds rules of its own to its chains: its steady shape.
setup "ufw reload" inside ufw reload
ipt >"$VWT_TMP/ipt-before"

serve wan tcp4 80
serve guest1 tcp4 22
serve guest2 tcp4 22
serve host udp4 53
serve lan tcp4 80

traffic() {
	reach "$1: nat guest egress" guest1 tcp4 203.0.113.2 80 '^wan 203\.0\.113\.1$'
	reach "$1: a forward" wan tcp4 203.0.113.1 2222 '^guest1 203\.0\.113\.2$'
	reach "$1: hairpin" guest1 tcp4 203.0.113.1 2222 '^guest1 '
	reach "$1: DNS to the host (nat)" guest1 udp4 192.168.180.1 53 '^host 192\.168\.180\.10$'
	reach "$1: routed guest egress" guest2 tcp4 203.0.113.2 80 '^wan 192\.168\.181\.10$'
	reach "$1: routed inbound" wan tcp4 192.168.181.10 22 '^guest2 203\.0\.113\.2$'
	reach "$1: DNS to the host (host-only)" guest3 udp4 192.168.182.1 53 '^host 192\.168\.182\.10$'
	blocked "$1: a host-only guest does not leave" guest3 tcp4 203.0.113.2 80 rejected
	blocked "$1: what virtwire does not admit stays out (wan to the nat guest)" wan tcp4 192.168.180.10 22 \
		dropped host
	lan_traffic "$1"
}
# before_first CHAIN: virtwire's rules come first, its accept last of them
# (in a forward chain after the two that leave Docker's bridges to Docker).
before_first() {
	local n=2
	case $1 in *forward) n=4 ;; esac
	nsx host iptables -S "$1" | sed -n "2,${n}p" >"$VWT_TMP/first"
	[ "$(grep -c 'comment "virtwire: ' "$VWT_TMP/first")" = $((n - 1)) ] &&
		tail -1 "$VWT_TMP/first" | grep -q 'connmark --mark 0x10000000/0x10000000 .* -j ACCEPT'
}

check "integrate=no: apply" eval 'VIRTWIRE_CONFIG=$VWT_TMP/leave.conf nsx host "$VW_TEST_BIN" apply \
	--state-dir "$VWT_TMP/state-host" "${NETS[@]}" >"$VWT_TMP/apply.out" 2>&1'
says "integrate=no: the warning names ufw's FORWARD and the rule" \
	"table ip filter, chain FORWARD \(hook forward, policy drop\).*'iptables -I FORWARD -m connmark --mark 0x10000000/0x10000000 -j ACCEPT'" \
	cat "$VWT_TMP/apply.out"
says "integrate=no: … and its INPUT, for DHCP and DNS" \
	"table ip filter, chain INPUT \(hook input, policy drop\) will drop what virtwire admits for network 'ho' \(its guests' DHCP and DNS\)" \
	cat "$VWT_TMP/apply.out"
blocked "integrate=no: ufw drops guest egress" guest1 tcp4 203.0.113.2 80 dropped host
lacks "integrate=no: nothing of virtwire's in iptables" virtwire ipt
setup "guest4 on vw-lan" lan_plug
if brnf_on; then
	says "integrate=no: … and for the bridged network, whose frames br_netfilter passes through FORWARD" \
		"chain FORWARD \(hook forward, policy drop\) will drop what virtwire admits for network 'lan' \(its guests' bridged traffic" \
		cat "$VWT_TMP/apply.out"
	blocked "integrate=no: ufw drops the bridged guest's frames" guest4 tcp4 198.51.100.1 80 dropped host
else
	lacks "integrate=no: no warning for the bridged network (its frames pass no forward hook)" "admits for network 'lan'" \
		cat "$VWT_TMP/apply.out"
	reach "integrate=no: the bridged guest reaches the LAN" guest4 tcp4 198.51.100.1 80 '^lan 198\.51\.100\.50$'
fi

check "apply" vw host apply "${NETS[@]}"
for c in ufw-before-forward ufw-before-input; do
	check "virtwire's accept first in $c" before_first "$c"
done
check "… and in ip6tables' ufw6-before-forward" eval \
	'nsx host ip6tables -S ufw6-before-forward | sed -n 4p | grep -q "connmark .*comment \"virtwire: "'
check "verify: nothing to report" vw host verify --all
traffic "ufw"

setup "ufw reload" inside ufw reload
lacks "ufw reload took virtwire's rules out" virtwire nsx host iptables -S ufw-before-forward
says "verify says so" "ufw's ufw-before-forward \(iptables\): .* is missing" eval 'vw host verify --all; true'
check "re-assert (what virtwire restore does)" vw host apply "${NETS[@]}"
check "virtwire's accept first in ufw-before-forward again" before_first ufw-before-forward
traffic "after ufw reload"

check "teardown" vw host teardown web rt ho lan
check "iptables as ufw made it" eval 'ipt | diff -u "$VWT_TMP/ipt-before" -'
done_testing
