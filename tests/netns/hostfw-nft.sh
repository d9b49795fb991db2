#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Host firewalls virtwire cannot integrate with: a plain nftables ruleset
# with drop policies on input and forward (the NixOS/Fedora shape). apply
# warns and verify reports, naming the table, the chain, the network and the
# rule to add; the traffic is dropped until the operator adds exactly that
# rule, and flows after. Then iptables' own chains with Docker's shape under
# [host-firewall] integrate=no: only the warning, nothing of virtwire's in
# DOCKER-USER; with integrate=yes virtwire's rules are on top of it and the
# traffic flows; teardown leaves the chain as it found it. A bridged
# network's guest beside them: with br_netfilter its frames pass those
# forward chains, and it gets the same warning and the same fix; without,
# nothing is said and nothing needs to be (VWT_BRNF runs it both ways).
#
#   wan 203.0.113.2 ── host wan0 203.0.113.1, vw-web 192.168.180.1/24 ── guest1 .10
#   lan 198.51.100.1 ── host eth1 → vw-lan (bridged) ── guest4 198.51.100.50
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/hostfw-lib.sh"
need_root
need_tools iptables

topology() {
	topo_wan &&
		guests_on vw-web &&
		lan_segment
}
setup "topology: wan, host, bridge vw-web, guest1, the LAN on eth1" topology
lan_xml

net_xml web vw-web 192.168.180 nat "$SSH_FWD" >"$VWT_TMP/web.xml"
printf '[host-firewall]\nintegrate=no\n' >"$VWT_TMP/leave.conf"
printf '[host-firewall]\nintegrate=yes\n' >"$VWT_TMP/integrate.conf"

# vwc CONF CMD ARGS...: virtwire (the test build, which reads VIRTWIRE_CONFIG)
# in the host namespace with the test's state directory.
vwc() {
	local conf=$1 cmd=$2
	shift 2
	VIRTWIRE_CONFIG=$VWT_TMP/$conf.conf nsx host "$VW_TEST_BIN" "$cmd" --state-dir "$VWT_TMP/state" "$@"
}

# out FILE CMD...: CMD's output (both streams) into FILE, whatever its
# status (verify exits 1 on differences): the checks read the file.
out() {
	local f=$1
	shift
	"$@" >"$f" 2>&1
	return 0
}

serve wan tcp4 80
serve guest1 tcp4 22
serve host udp4 53
serve lan tcp4 80

# lan_dropped WHEN CHAIN FILE: with br_netfilter, the bridged guest's frames
# are dropped by the forward chain, and the warning of apply (in FILE) about
# CHAIN (an ERE) names its network; without it, nothing is said and they
# flow.
lan_dropped() {
	if brnf_on; then
		says "$1: the warning names the bridged network (br_netfilter passes its frames)" \
			"$2 will drop what virtwire admits for network 'lan' \(its guests' bridged traffic" cat "$3"
		blocked "$1: the bridged guest's frames are dropped" guest4 tcp4 198.51.100.1 80 dropped host
	else
		lacks "$1: no warning for the bridged network (its frames pass no forward hook)" "admits for network 'lan'" cat "$3"
		reach "$1: the bridged guest reaches the LAN" guest4 tcp4 198.51.100.1 80 '^lan 198\.51\.100\.50$'
	fi
}

# --- A. table inet filter, policy drop ------------------------------------------
setup "table inet filter, policy drop on input and forward" nsx host nft -f - <<'NFT'
table inet filter {
	chain input {
		type filter hook input priority filter; policy drop;
		iif "lo" accept
		ct state established,related accept
	}
	chain forward {
		type filter hook forward priority filter; policy drop;
	}
}
NFT
check "apply beside the drop policies" eval 'vwc integrate apply "$VWT_TMP/web.xml" "$VWT_TMP/lan.xml" \
	>"$VWT_TMP/apply.out" 2>&1'
setup "guest4 on vw-lan" lan_plug
says "apply warns: the forward chain, the network and the rule to add" \
	"warning: table inet filter, chain forward \(hook forward, policy drop\) will drop what virtwire admits for network 'web'.*nft insert rule inet filter forward ct mark and 0x10000000 == 0x10000000 accept" \
	cat "$VWT_TMP/apply.out"
says "apply warns: the input chain drops the guests' DHCP and DNS" \
	"chain input \(hook input, policy drop\) will drop what virtwire admits for network 'web' \(its guests' DHCP and DNS\): add 'nft insert rule inet filter input ct mark and 0x10000000 == 0x10000000 accept'" \
	cat "$VWT_TMP/apply.out"
out "$VWT_TMP/verify.out" vwc integrate verify web
says "verify reports it too" "drift: host firewall: table inet filter, chain forward" cat "$VWT_TMP/verify.out"
says "… and fails" "^1$" eval 'vwc integrate verify web >/dev/null 2>&1; echo $?' 
lacks "virtwire changed nothing of table inet filter" "virtwire|0x10000000" nsx host nft list table inet filter
blocked "guest egress is dropped by the host's forward policy" guest1 tcp4 203.0.113.2 80 dropped host
blocked "the guest's DNS to the host is dropped by its input policy" guest1 udp4 192.168.180.1 53 dropped host
lan_dropped "inet filter" "table inet filter, chain forward \(hook forward, policy drop\)" "$VWT_TMP/apply.out"

# The rules exactly as the warnings give them.
grep -o "nft insert rule inet filter [a-z]* ct mark and 0x10000000 == 0x10000000 accept" "$VWT_TMP/apply.out" |
	sort -u >"$VWT_TMP/fixes"
check "the warnings gave two rules" test "$(wc -l <"$VWT_TMP/fixes")" = 2
while read -r fix; do
	# shellcheck disable=SC2086
	setup "the operator adds: $fix" nsx host $fix
done <"$VWT_TMP/fixes"
reach "with the suggested rule, guest egress flows" guest1 tcp4 203.0.113.2 80 '^wan 203\.0\.113\.1$'
reach "a forward flows" wan tcp4 203.0.113.1 2222 '^guest1 203\.0\.113\.2$'
reach "the guest's DNS to the host flows" guest1 udp4 192.168.180.1 53 '^host 192\.168\.180\.10$'
lan_traffic "with the suggested rule"
check "verify: nothing left to report" vwc integrate verify web lan
check "teardown" vwc integrate teardown web lan
setup "table inet filter removed" nsx host nft delete table inet filter

# --- B. iptables with Docker's shape, left alone, then integrated ----------------
setup "iptables FORWARD policy DROP, jumping to DOCKER-USER" eval 'nsx host iptables -N DOCKER-USER &&
	nsx host iptables -A DOCKER-USER -j RETURN && nsx host iptables -P FORWARD DROP &&
	nsx host iptables -A FORWARD -j DOCKER-USER'
# Without the rule counters ([packets:bytes]), which the test's traffic moves.
ipt() {
	nsx host iptables-save | grep -v '^#' | sed 's/ \[[0-9]*:[0-9]*\]//'
}
ipt >"$VWT_TMP/ipt-before"
check "integrate=no: apply" eval 'vwc leave apply "$VWT_TMP/web.xml" "$VWT_TMP/lan.xml" >"$VWT_TMP/apply.out" 2>&1'
says "integrate=no: apply only warns, with iptables' own rule" \
	"chain FORWARD \(hook forward, policy drop\).*add 'iptables -I FORWARD -m connmark --mark 0x10000000/0x10000000 -j ACCEPT'" \
	cat "$VWT_TMP/apply.out"
setup "guest4 on vw-lan again" lan_plug
lan_dropped "integrate=no" "table ip filter, chain FORWARD \(hook forward, policy drop\)" "$VWT_TMP/apply.out"
lacks "integrate=no: nothing of virtwire's in iptables" "virtwire" nsx host iptables-save
blocked "integrate=no: guest egress is dropped" guest1 tcp4 203.0.113.2 80 dropped host
check "integrate=yes: apply" eval 'vwc integrate apply "$VWT_TMP/web.xml" "$VWT_TMP/lan.xml" >"$VWT_TMP/apply.out" 2>&1'
says "… repairs the firewall: virtwire's rules into DOCKER-USER" "network 'web': applied" cat "$VWT_TMP/apply.out"
cat >"$VWT_TMP/docker-user.want" <<'RULES'
-N DOCKER-USER
-A DOCKER-USER -o docker0 -m comment --comment "virtwire: Docker networks keep their own rules" -j RETURN
-A DOCKER-USER -o br-+ -m comment --comment "virtwire: Docker networks keep their own rules" -j RETURN
-A DOCKER-USER -m connmark --mark 0x10000000/0x10000000 -m comment --comment "virtwire: accept the connections virtwire admits" -j ACCEPT
-A DOCKER-USER -j RETURN
RULES
check "DOCKER-USER: virtwire's three rules first (iptables reads them), Docker's RETURN last" \
	eval 'nsx host iptables -S DOCKER-USER | diff -u "$VWT_TMP/docker-user.want" -'
# vwp CONF: `virtwire plan` of both networks (it reads the configuration file, not the kernel).
vwp() {
	VIRTWIRE_CONFIG=$VWT_TMP/$1.conf "$VW_TEST_BIN" plan "$VWT_TMP/web.xml" "$VWT_TMP/lan.xml"
}
# plan_docker_user CONF: the DOCKER-USER rules plan shows, as iptables -S lists them.
plan_docker_user() {
	vwp "$1" >"$VWT_TMP/plan.out" || return 1
	sed -n "s/^host-firewall Docker's DOCKER-USER (iptables), at its top: /-A DOCKER-USER /p" "$VWT_TMP/plan.out"
}
check "plan showed exactly the rules apply put in DOCKER-USER" \
	eval 'plan_docker_user integrate | diff -u <(sed -n 2,4p "$VWT_TMP/docker-user.want") -'
says "… and the bridge it puts in firewalld's zones" \
	"^host-firewall firewalld: bridge vw-lan into the zone of its uplink eth1" cat "$VWT_TMP/plan.out"
says "integrate=no: plan says it leaves the host's firewalls alone" \
	"^host-firewall none: \[host-firewall\] integrate=no" vwp leave
lacks "integrate=no: … and shows none of their rules" "DOCKER-USER|firewalld" vwp leave
lacks "integrate=yes: no warning left" "warning" cat "$VWT_TMP/apply.out"
reach "integrate=yes: guest egress flows through Docker's FORWARD" guest1 tcp4 203.0.113.2 80 '^wan 203\.0\.113\.1$'
reach "integrate=yes: a forward flows" wan tcp4 203.0.113.1 2222 '^guest1 203\.0\.113\.2$'
lan_traffic "integrate=yes"
setup "DOCKER-USER flushed and re-made as dockerd does at start" eval 'nsx host iptables -F DOCKER-USER &&
	nsx host iptables -A DOCKER-USER -j RETURN'
out "$VWT_TMP/verify.out" vwc integrate verify web
says "verify sees virtwire's rules missing from DOCKER-USER" "DOCKER-USER.*is missing" cat "$VWT_TMP/verify.out"
says "a re-assert puts them back" "network 'web': applied" vwc integrate apply "$VWT_TMP/web.xml" "$VWT_TMP/lan.xml"
says "virtwire's accept is back" "connmark --mark 0x10000000/0x10000000" nsx host iptables -S DOCKER-USER
check "teardown" vwc integrate teardown web lan
ipt >"$VWT_TMP/ipt-after"
check "iptables exactly as before" cmp "$VWT_TMP/ipt-before" "$VWT_TMP/ipt-after"
done_testing
