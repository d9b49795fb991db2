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
if ! iptables -V 2>/dev/null | grep -q nf_tables; then
	echo "1..0 # SKIP iptables-nft is not installed (tools/bootstrap installs it)"
	exit 77
fi

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

verify_to() { # FILE: runs verify, keeps its output in FILE
	vw host verify "$NET" >"$1" 2>&1
}

topo_wan || exit 1
ip -n "$(ns wan)" -6 route add 2001:db8:160::/64 via 2001:db8:ffff::1
topo_bridge "$BR" 192.168.160.1/24 2001:db8:160::1/64
topo_guest guest1 "$BR" 52:54:00:aa:bb:10 192.168.160.10/24 192.168.160.1 2001:db8:160::10/64 2001:db8:160::1
# libvirt turns forwarding on for its NAT networks.
nsx host sysctl -qw net.ipv4.ip_forward=1
nsx host sysctl -qw net.ipv6.conf.all.forwarding=1
serve guest1 tcp4 22
serve guest1 tcp6 22
settle host wan guest1

diag "A. libvirt's iptables backend"
libvirt9_rules 4 | nsx host iptables-restore || exit 1
libvirt9_rules 6 | nsx host ip6tables-restore || exit 1
libvirt_saved >"$VWT_TMP/libvirt.before"

check "plan shows the accept in libvirt's firewall" sh -c \
	"ip netns exec $(ns host) $VW_BIN plan $VWT_TMP/net.xml | grep -F 'coexist accept connections DNATed to \"$BR\" ahead of libvirt'\''s rejects (ip, ip6)'"
check "apply" vw host apply "$VWT_TMP/net.xml"
expect="-A FORWARD -o $BR -m conntrack --ctstate DNAT -m comment --comment \"virtwire: network $NET\" -j ACCEPT"
check "iptables reads virtwire's rule, first in FORWARD" \
	test "$(nsx host iptables -S FORWARD | sed -n 2p)" = "$expect"
check "ip6tables reads it too, first in FORWARD" \
	test "$(nsx host ip6tables -S FORWARD | sed -n 2p)" = "$expect"
check "iptables-save still reads the whole table" sh -c \
	"! ip netns exec $(ns host) iptables-save | grep -q incompatible"
reach "a forward reaches the guest (IPv4)" wan tcp4 203.0.113.1 2223 "^guest1 203\.0\.113\.2$"
reach "a forward reaches the guest (IPv6)" wan tcp6 2001:db8:ffff::1 2223 "^guest1 2001:db8:ffff::2$"
unreachable "libvirt still rejects what virtwire did not DNAT" wan tcp4 192.168.160.10 22
check "verify: no drift" vw host verify "$NET"
check "re-apply sends nothing" sh -c \
	"ip netns exec $(ns host) $VW_BIN apply --state-dir $VWT_TMP/state-host $VWT_TMP/net.xml | grep -q 'up to date'"

# Without the accept, libvirt's reject wins: the rule is what makes it work.
nsx host iptables -D FORWARD 1
unreachable "without virtwire's accept, libvirt rejects the forward" wan tcp4 203.0.113.1 2223
check_fails "verify fails" verify_to "$VWT_TMP/verify.out"
check "verify reports the missing accept" grep -q "iptables FORWARD: virtwire's accept for network $NET is missing" "$VWT_TMP/verify.out"
check "apply puts it back" vw host apply "$VWT_TMP/net.xml"
check "… first in FORWARD" test "$(nsx host iptables -S FORWARD | sed -n 2p)" = "$expect"
reach "… and the forward works again" wan tcp4 203.0.113.1 2223 "^guest1 203\.0\.113\.2$"

# libvirt re-inserts a missing jump at the top (as after its rebuilds).
nsx host iptables -D FORWARD -j LIBVIRT_FWI
nsx host iptables -I FORWARD 1 -j LIBVIRT_FWI
check_fails "verify fails" verify_to "$VWT_TMP/verify.out"
check "verify sees the accept below libvirt's jump" grep -q "iptables FORWARD: virtwire's accept for network $NET is below other rules" "$VWT_TMP/verify.out"
check "the daemon hook's reassert moves it back to the top" sh -c \
	"ip netns exec $(ns host) $VW_BIN hook --state-dir $VWT_TMP/state-host daemon - reload begin - </dev/null"
check "… first in FORWARD again, and only once" sh -c \
	"test \"\$(ip netns exec $(ns host) iptables -S FORWARD | sed -n 2p)\" = '$expect' &&
	 test \"\$(ip netns exec $(ns host) iptables -S FORWARD | grep -c virtwire)\" = 1"
reach "… the forward works" wan tcp4 203.0.113.1 2223 "^guest1 203\.0\.113\.2$"
# Put libvirt's order back as it was for the comparison below.
nsx host iptables -D FORWARD -j LIBVIRT_FWI
nsx host iptables -I FORWARD 3 -j LIBVIRT_FWI

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
check "no virtwire rule is left in libvirt's tables" sh -c \
	"! { ip netns exec $(ns host) iptables-save; ip netns exec $(ns host) ip6tables-save; } | grep -q virtwire"
check "table inet virtwire stays for the other network" nsx host nft list table inet virtwire
check "teardown the other network" vw host teardown other
libvirt_saved >"$VWT_TMP/libvirt.after"
check "libvirt's rules are exactly as before" diff -u "$VWT_TMP/libvirt.before" "$VWT_TMP/libvirt.after"

diag "B. libvirt's nftables backend"
nsx host nft flush ruleset
nsx host nft -f "$VW_SRC/tests/libvirt/libvirt-nft-nat.nft" || exit 1
nsx host nft list ruleset | sed 's/counter packets [0-9]* bytes [0-9]*/counter/; s/ # handle [0-9]*//' >"$VWT_TMP/nft.before"
check "apply" vw host apply "$VWT_TMP/net.xml"
for fam in ip ip6; do
	check "virtwire's accept is first in $fam libvirt_network forward" sh -c \
		"ip netns exec $(ns host) nft list chain $fam libvirt_network forward | sed -n 4p |
		 grep -Fx '		oifname \"$BR\" ct status dnat counter packets 0 bytes 0 accept comment \"virtwire: network $NET\"'"
done
check "no rule went into other tables" sh -c "! ip netns exec $(ns host) nft list tables | grep -q filter"
reach "a forward reaches the guest" wan tcp4 203.0.113.1 2223 "^guest1 203\.0\.113\.2$"
check "verify: no drift" vw host verify "$NET"
h=$(nsx host nft -a list chain ip libvirt_network forward | sed -n 's/.*virtwire.* # handle \([0-9]*\)$/\1/p')
nsx host nft delete rule ip libvirt_network forward handle "$h"
unreachable "without it, libvirt rejects the forward" wan tcp4 203.0.113.1 2223
check_fails "verify reports it missing" vw host verify "$NET"
check "apply puts it back" vw host apply "$VWT_TMP/net.xml"
reach "… and the forward works again" wan tcp4 203.0.113.1 2223 "^guest1 203\.0\.113\.2$"
check "teardown" vw host teardown "$NET"
nsx host nft list ruleset | sed 's/counter packets [0-9]* bytes [0-9]*/counter/; s/ # handle [0-9]*//' >"$VWT_TMP/nft.after"
check "libvirt's tables are exactly as before" diff -u "$VWT_TMP/nft.before" "$VWT_TMP/nft.after"

diag "C. no libvirt firewall at all"
nsx host nft flush ruleset
check "apply works without libvirt's tables" vw host apply "$VWT_TMP/net.xml"
check "and creates none of them" sh -c "test \"\$(ip netns exec $(ns host) nft list tables)\" = 'table inet virtwire'"
check "teardown" vw host teardown "$NET"

done_testing
