#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Coexistence: tables of other owners — an iptables-nft `ip filter` table and
# an `inet fw` table, both with a drop policy — are byte-for-byte the same
# after apply and after teardown. Their one documented rule (accept the
# conntrack mark 0x10000000) lets what virtwire admits through, and nothing
# else.
#
#   wan 203.0.113.2 ── host wan0 203.0.113.1, vw-web 192.168.180.1/24 ── guest1 .10
. "$(dirname "$0")/lib.sh"
need_root
need_tools iptables conntrack

topology() {
	topo_wan &&
		ip -n "$(ns wan)" route add 192.168.180.0/24 via 203.0.113.1 &&
		topo_bridge vw-web 192.168.180.1/24 &&
		topo_guest guest1 vw-web 52:54:00:00:18:10 192.168.180.10/24 192.168.180.1
}
setup "topology: wan, host, bridge vw-web, guest1" topology

# A host firewall of someone else's, in both styles.
setup "iptables FORWARD, policy drop" eval 'nsx host iptables -P FORWARD DROP &&
	nsx host iptables -A FORWARD -m connmark --mark 0x10000000/0x10000000 -j ACCEPT &&
	nsx host iptables -A FORWARD -p icmp -j ACCEPT'
setup "table inet fw, policy drop" nsx host nft -f - <<'NFT'
table inet fw {
	chain input {
		type filter hook input priority filter; policy drop;
		iif "lo" accept
		ct state established,related accept
		ct mark & 0x10000000 == 0x10000000 accept
	}
	chain forward {
		type filter hook forward priority filter; policy drop;
		ct mark & 0x10000000 == 0x10000000 accept
	}
}
NFT
# Objects and handles byte for byte; counters (-s leaves them out) move with
# the test's own traffic.
others() {
	nsx host nft -s -a list table ip filter
	nsx host nft -s -a list table inet fw
	nsx host iptables-save | grep -v '^#'
}
others >"$VWT_TMP/before"

cat >"$VWT_TMP/web.xml" <<'XML'
<network>
  <name>web</name>
  <forward mode='open'/>
  <bridge name='vw-web'/>
  <ip address='192.168.180.1' prefix='24'/>
  <metadata>
    <vw:network xmlns:vw="urn:virtwire:1" mode="nat">
      <vw:forward name="ssh" proto="tcp" host-port="2222" guest-address="192.168.180.10" guest-port="22"/>
    </vw:network>
  </metadata>
</network>
XML
check "apply beside other tables" vw host apply "$VWT_TMP/web.xml"
others >"$VWT_TMP/after-apply"
check "other tables unchanged after apply" cmp "$VWT_TMP/before" "$VWT_TMP/after-apply"

serve wan tcp4 80
serve guest1 tcp4 22
reach "guest egress passes the drop-policy firewalls (marked)" guest1 tcp4 203.0.113.2 80 '^wan 203\.0\.113\.1$'
reach "a forward passes them (marked)" wan tcp4 203.0.113.1 2222 '^guest1 203\.0\.113\.2$'
blocked "what virtwire does not admit stays blocked (wan → guest directly; the host gets through)" \
	wan tcp4 192.168.180.10 22 dropped host
says "admitted connections carry the mark" 'mark=268435456' nsx host conntrack -L

check "teardown" vw host teardown web
others >"$VWT_TMP/after-teardown"
check "other tables unchanged after teardown" cmp "$VWT_TMP/before" "$VWT_TMP/after-teardown"
lacks "the ruleset holds only the other tables" virtwire nsx host nft list ruleset
done_testing
