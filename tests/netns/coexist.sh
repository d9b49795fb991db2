#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Forwards into a NAT network whose firewall libvirt writes: virtwire keeps
# one accept for DNATed connections at the top of libvirt's forward path and
# touches nothing else of libvirt's. Both of libvirt's firewall backends:
#  A. iptables (libvirt <= 10.3, iptables-nft): the layout libvirt 9 writes,
#     loaded with iptables-restore; the accept is an iptables rule at the top
#     of FORWARD that iptables itself reads and deletes.
#  B. nftables (libvirt >= 10.4): tests/libvirt/libvirt-nft-nat.nft; the
#     accept is first in the base chain forward of ip/ip6 libvirt_network.
#
#   wan 203.0.113.2 ── host wan0 203.0.113.1
#                      vwtlv0 (libvirt's bridge) 192.168.160.1/24 2001:db8:160::1/64
#                       └─ guest1 192.168.160.10 2001:db8:160::10
. "$(dirname "$0")/lib.sh"
need_root
iptables -V 2>/dev/null | grep -q nf_tables || vwt_skip "iptables-nft is not installed (tools/bootstrap installs it)"

NET=lvnat
BR=vwtlv0
cat >"$VWT_TMP/net.xml" <<XML
<network>
  <name>$NET</name>
  <forward mode='nat'/>
  <bridge name='$BR'/>
  <ip address='192.168.160.1' prefix='24'/>
  <ip family='ipv6' address='2001:db8:160::1' prefix='64'/>
  <metadata>
    <vw:network xmlns:vw="urn:virtwire:1">
      <vw:forward name="ssh" proto="tcp" host-port="2223" guest-address="192.168.160.10" guest-port="22"/>
      <vw:forward name="ssh6" proto="tcp" host-port="2223" guest-address="2001:db8:160::10" guest-port="22"/>
    </vw:network>
  </metadata>
</network>
XML

# The filter and nat tables libvirt 9.0 writes for one NAT network.
libvirt9_rules() { # $1: 4 or 6
	local sub=192.168.160.0/24 rej=icmp-port-unreachable
	[ "$1" = 6 ] && sub=2001:db8:160::/64 rej=icmp6-port-unreachable
	cat <<RULES
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:LIBVIRT_FWI - [0:0]
:LIBVIRT_FWO - [0:0]
:LIBVIRT_FWX - [0:0]
:LIBVIRT_INP - [0:0]
:LIBVIRT_OUT - [0:0]
-A INPUT -j LIBVIRT_INP
-A FORWARD -j LIBVIRT_FWX
-A FORWARD -j LIBVIRT_FWI
-A FORWARD -j LIBVIRT_FWO
-A OUTPUT -j LIBVIRT_OUT
-A LIBVIRT_FWI -d $sub -o $BR -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A LIBVIRT_FWI -o $BR -j REJECT --reject-with $rej
-A LIBVIRT_FWO -s $sub -i $BR -j ACCEPT
-A LIBVIRT_FWO -i $BR -j REJECT --reject-with $rej
-A LIBVIRT_FWX -i $BR -o $BR -j ACCEPT
COMMIT
RULES
	[ "$1" = 6 ] && return
	cat <<RULES
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:LIBVIRT_PRT - [0:0]
-A POSTROUTING -j LIBVIRT_PRT
-A LIBVIRT_PRT -s $sub ! -d $sub -p tcp -j MASQUERADE --to-ports 1024-65535
-A LIBVIRT_PRT -s $sub ! -d $sub -j MASQUERADE
COMMIT
RULES
}

# Everything of libvirt's, without counters, to compare before and after.
libvirt_saved() {
	{
		nsx host iptables-save | grep -v '^#'
		nsx host ip6tables-save | grep -v '^#'
	} | sed 's/\[[0-9]*:[0-9]*\]//'
}

# verify_says ERE: verify finds drift (exit 1) and says ERE.
verify_says() {
	local rc=0
	vw host verify "$NET" || rc=$?
	echo "exit $rc"
	[ "$rc" = 1 ]
} >"$VWT_TMP/verify.out" 2>&1
verify_drift() { # ERE
	verify_says || { cat "$VWT_TMP/verify.out"; return 1; }
	grep -E -- "$1" "$VWT_TMP/verify.out" || { cat "$VWT_TMP/verify.out"; return 1; }
}

topology() {
	# wan routes the guests' subnets to the host, so that what libvirt
	# rejects is a packet that got there.
	topo_wan &&
		ip -n "$(ns wan)" route add 192.168.160.0/24 via 203.0.113.1 &&
		ip -n "$(ns wan)" -6 route add 2001:db8:160::/64 via 2001:db8:ffff::1 &&
		topo_bridge "$BR" 192.168.160.1/24 2001:db8:160::1/64 &&
		topo_guest guest1 "$BR" 52:54:00:aa:bb:10 192.168.160.10/24 192.168.160.1 2001:db8:160::10/64 2001:db8:160::1 &&
		# libvirt turns forwarding on for its NAT networks.
		nsx host sysctl -qw net.ipv4.ip_forward=1 &&
		nsx host sysctl -qw net.ipv6.conf.all.forwarding=1
}
setup "topology: wan, host, libvirt's bridge $BR, guest1" topology
serve guest1 tcp4 22
serve guest1 tcp6 22
setup "IPv6 addresses settle" settle host wan guest1

diag "A. libvirt's iptables backend"
setup "libvirt 9's iptables rules" eval 'libvirt9_rules 4 | nsx host iptables-restore && libvirt9_rules 6 | nsx host ip6tables-restore'
libvirt_saved >"$VWT_TMP/libvirt.before"
setup "libvirt's rules are saved" grep -q LIBVIRT_FWI "$VWT_TMP/libvirt.before"

says "plan shows the accept in libvirt's firewall" \
	"coexist accept connections DNATed to \"$BR\" ahead of libvirt's rejects \(ip, ip6\)" vw host plan "$VWT_TMP/net.xml"
check "apply" vw host apply "$VWT_TMP/net.xml"
expect="-A FORWARD -o $BR -m conntrack --ctstate DNAT -m comment --comment \"virtwire: network $NET\" -j ACCEPT"
check "iptables reads virtwire's rule, first in FORWARD" \
	test "$(nsx host iptables -S FORWARD | sed -n 2p)" = "$expect"
check "ip6tables reads it too, first in FORWARD" \
	test "$(nsx host ip6tables -S FORWARD | sed -n 2p)" = "$expect"
lacks "iptables-save still reads the whole table" incompatible nsx host iptables-save
reach "a forward reaches the guest (IPv4)" wan tcp4 203.0.113.1 2223 "^guest1 203\.0\.113\.2$"
reach "a forward reaches the guest (IPv6)" wan tcp6 2001:db8:ffff::1 2223 "^guest1 2001:db8:ffff::2$"
blocked "libvirt still rejects what virtwire did not DNAT (its icmp-port-unreachable)" wan tcp4 192.168.160.10 22 refused
check "verify: no drift" vw host verify "$NET"
says "re-apply sends nothing" "^network '$NET': up to date$" vw host apply "$VWT_TMP/net.xml"

# Without the accept, libvirt's reject wins: the rule is what makes it work.
setup "delete virtwire's accept" nsx host iptables -D FORWARD 1
blocked "without virtwire's accept, libvirt rejects the forward" wan tcp4 203.0.113.1 2223 refused
check "verify fails, reporting the missing accept" verify_drift "iptables FORWARD: virtwire's accept for network $NET is missing"
check "apply puts it back" vw host apply "$VWT_TMP/net.xml"
check "… first in FORWARD" test "$(nsx host iptables -S FORWARD | sed -n 2p)" = "$expect"
reach "… and the forward works again" wan tcp4 203.0.113.1 2223 "^guest1 203\.0\.113\.2$"

# libvirt re-inserts a missing jump at the top (as after its rebuilds).
setup "move libvirt's jump to the top" eval 'nsx host iptables -D FORWARD -j LIBVIRT_FWI && nsx host iptables -I FORWARD 1 -j LIBVIRT_FWI'
check "verify fails, seeing the accept below libvirt's jump" \
	verify_drift "iptables FORWARD: virtwire's accept for network $NET is below other rules"
check "the daemon hook's reassert moves it back to the top" vw host hook daemon - reload begin - </dev/null
check "… first in FORWARD again, and only once" sh -c \
	"test \"\$(ip netns exec $(ns host) iptables -S FORWARD | sed -n 2p)\" = '$expect' &&
	 test \"\$(ip netns exec $(ns host) iptables -S FORWARD | grep -c virtwire)\" = 1"
reach "… the forward works" wan tcp4 203.0.113.1 2223 "^guest1 203\.0\.113\.2$"
# Put libvirt's order back as it was for the comparison below.
setup "libvirt's order back" eval 'nsx host iptables -D FORWARD -j LIBVIRT_FWI && nsx host iptables -I FORWARD 3 -j LIBVIRT_FWI'

# Another network keeps the table: the accept still goes with its network.
cat >"$VWT_TMP/other.xml" <<XML
<network>
  <name>other</name>
  <forward mode='open'/>
  <bridge name='vwt-other'/>
  <ip address='192.168.161.1' prefix='24'/>
  <metadata><vw:network xmlns:vw="urn:virtwire:1" mode="host-only"/></metadata>
</network>
XML
check "apply a second network" vw host apply "$VWT_TMP/other.xml"
check "teardown" vw host teardown "$NET"
lacks "no virtwire rule is left in libvirt's tables" virtwire eval 'nsx host iptables-save && nsx host ip6tables-save'
check "table inet virtwire stays for the other network" nsx host nft list table inet virtwire
check "teardown the other network" vw host teardown other
libvirt_saved >"$VWT_TMP/libvirt.after"
check "libvirt's rules are exactly as before" diff -u "$VWT_TMP/libvirt.before" "$VWT_TMP/libvirt.after"

diag "B. libvirt's nftables backend"
setup "libvirt 10's nftables tables" eval 'nsx host nft flush ruleset && nsx host nft -f "$VW_SRC/tests/libvirt/libvirt-nft-nat.nft"'
nsx host nft list ruleset | sed 's/counter packets [0-9]* bytes [0-9]*/counter/; s/ # handle [0-9]*//' >"$VWT_TMP/nft.before"
setup "libvirt's tables are saved" grep -q libvirt_network "$VWT_TMP/nft.before"
check "apply" vw host apply "$VWT_TMP/net.xml"
for fam in ip ip6; do
	check "virtwire's accept is first in $fam libvirt_network forward" sh -c \
		"ip netns exec $(ns host) nft list chain $fam libvirt_network forward | sed -n 4p |
		 grep -Fx '		oifname \"$BR\" ct status dnat counter packets 0 bytes 0 accept comment \"virtwire: network $NET\"'"
done
lacks "no rule went into other tables" filter nsx host nft list tables
reach "a forward reaches the guest" wan tcp4 203.0.113.1 2223 "^guest1 203\.0\.113\.2$"
check "verify: no drift" vw host verify "$NET"
h=$(nsx host nft -a list chain ip libvirt_network forward | sed -n 's/.*virtwire.* # handle \([0-9]*\)$/\1/p')
setup "delete virtwire's accept" nsx host nft delete rule ip libvirt_network forward handle "$h"
blocked "without it, libvirt rejects the forward" wan tcp4 203.0.113.1 2223 refused
check "verify fails, reporting it missing" verify_drift "chain forward of ip libvirt_network: virtwire's accept for network $NET is missing"
check "apply puts it back" vw host apply "$VWT_TMP/net.xml"
reach "… and the forward works again" wan tcp4 203.0.113.1 2223 "^guest1 203\.0\.113\.2$"
check "teardown" vw host teardown "$NET"
nsx host nft list ruleset | sed 's/counter packets [0-9]* bytes [0-9]*/counter/; s/ # handle [0-9]*//' >"$VWT_TMP/nft.after"
check "libvirt's tables are exactly as before" diff -u "$VWT_TMP/nft.before" "$VWT_TMP/nft.after"

diag "C. no libvirt firewall at all"
setup "flush the ruleset" nsx host nft flush ruleset
check "apply works without libvirt's tables" vw host apply "$VWT_TMP/net.xml"
only_virtwire() {
	local t
	t=$(nsx host nft list tables) || return 1
	echo "$t"
	[ "$t" = "table inet virtwire
table bridge virtwire" ]
}
check "and creates none of them (virtwire's own are the only tables)" only_virtwire
check "teardown" vw host teardown "$NET"

done_testing
