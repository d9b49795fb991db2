#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# NAT mode with real packets: egress masquerade, port forwards of every kind,
# allow-lists, hairpin, the host reaching its own forwards, localhost
# forwards, SNAT to a chosen address; IPv4 and IPv6; tcp, udp and sctp.
#
#   wan  203.0.113.2 .4   2001:db8:ffff::2
#    │ veth
#   host wan0 203.0.113.1 .3 .5   2001:db8:ffff::1
#        vw-web (bridge) 192.168.150.1/24 2001:db8:150::1/64
#         ├─ guest1 52:54:00:aa:bb:10 192.168.150.10 2001:db8:150::10
#         └─ guest2 52:54:00:aa:bb:11 192.168.150.11 2001:db8:150::11
. "$(dirname "$0")/lib.sh"
need_root
need_tools conntrack

topology() {
	topo_wan &&
		ip -n "$(ns host)" addr add 203.0.113.3/24 dev wan0 &&
		ip -n "$(ns host)" addr add 203.0.113.5/24 dev wan0 &&
		ip -n "$(ns wan)" addr add 203.0.113.4/24 dev eth0 &&
		# wan can route to the guests, so "no forward, no entry" is a real test.
		ip -n "$(ns wan)" route add 192.168.150.0/24 via 203.0.113.1 &&
		ip -n "$(ns wan)" -6 route add 2001:db8:150::/64 via 2001:db8:ffff::1 &&
		topo_bridge vw-web 192.168.150.1/24 2001:db8:150::1/64 &&
		topo_guest guest1 vw-web 52:54:00:aa:bb:10 192.168.150.10/24 192.168.150.1 2001:db8:150::10/64 2001:db8:150::1 &&
		topo_guest guest2 vw-web 52:54:00:aa:bb:11 192.168.150.11/24 192.168.150.1 2001:db8:150::11/64 2001:db8:150::1
}
setup "topology: wan, host, bridge vw-web, guest1, guest2" topology

write_net() { # $1: extra vw elements
	cat >"$VWT_TMP/web.xml" <<XML
<network>
  <name>web</name>
  <forward mode='open'/>
  <bridge name='vw-web'/>
  <ip address='192.168.150.1' prefix='24'>
    <dhcp>
      <host mac='52:54:00:aa:bb:10' ip='192.168.150.10'/>
    </dhcp>
  </ip>
  <ip family='ipv6' address='2001:db8:150::1' prefix='64'/>
  <metadata>
    <vw:network xmlns:vw="urn:virtwire:1" mode="nat">
      <vw:forward name="ssh" proto="tcp" host-port="2222" guest-mac="52:54:00:aa:bb:10" guest-port="22"/>
      <vw:forward name="dns" proto="udp" host-port="5353" guest-address="192.168.150.10" guest-port="53"/>
      <vw:forward name="range" proto="tcp" host-port="7000-7002" guest-address="192.168.150.11"/>
      <vw:forward name="shifted" proto="tcp" host-port="8000-8002" guest-address="192.168.150.11" guest-port="9000-9002"/>
      <vw:forward name="web" proto="tcp" address="203.0.113.1" host-port="8080" guest-address="192.168.150.10" guest-port="80"/>
      <vw:forward name="admin" proto="tcp" host-port="8443" guest-address="192.168.150.10" guest-port="443">
        <vw:source address="203.0.113.2"/>
      </vw:forward>
      <vw:forward name="sig" proto="sctp" host-port="3868" guest-address="192.168.150.11"/>
      <vw:forward name="web6" proto="tcp" address="2001:db8:ffff::1" host-port="8080" guest-address="2001:db8:150::10" guest-port="80"/>
      <vw:forward name="ssh6" proto="tcp" host-port="2223" guest-address="2001:db8:150::10" guest-port="22"/>
      <vw:forward name="dns6" proto="udp" host-port="5353" guest-address="2001:db8:150::10" guest-port="53"/>
      $1
    </vw:network>
  </metadata>
</network>
XML
}

write_net ""
check "apply the nat network" vw host apply "$VWT_TMP/web.xml"
check "IPv4 forwarding is on" test "$(nsx host sysctl -n net.ipv4.ip_forward)" = 1
check "IPv6 forwarding is on" test "$(nsx host sysctl -n net.ipv6.conf.all.forwarding)" = 1

serve wan tcp4 80
serve wan tcp6 80
serve guest1 tcp4 22
serve guest1 tcp6 22
serve guest1 udp4 53
serve guest1 udp6 53
serve guest1 tcp4 80
serve guest1 tcp6 80
serve guest1 tcp4 443
serve guest2 tcp4 7000
serve guest2 tcp4 7002
serve guest2 tcp4 9001
serve host udp4 53

# Egress: guests reach outside, seen as the host.
reach "guest reaches wan, masqueraded (IPv4)" guest1 tcp4 203.0.113.2 80 '^wan 203\.0\.113\.1$'
reach "guest reaches wan, masqueraded (IPv6)" guest1 tcp6 2001:db8:ffff::2 80 '^wan 2001:db8:ffff::1$'
reach "guest reaches the host's DNS on the bridge" guest1 udp4 192.168.150.1 53 '^host 192\.168\.150\.10$'

# Inbound: only through forwards. The host reaches the guests directly at
# the same moment (the control): only the wan is cut off.
blocked "wan cannot reach a guest directly (IPv4)" wan tcp4 192.168.150.10 22 dropped host
blocked "wan cannot reach a guest directly (IPv6)" wan tcp6 2001:db8:150::10 22 dropped host
reach "forward by guest-mac (tcp 2222 → 22), source kept" wan tcp4 203.0.113.1 2222 '^guest1 203\.0\.113\.2$'
reach "forward on every host address (203.0.113.3 too)" wan tcp4 203.0.113.3 2222 '^guest1 203\.0\.113\.2$'
reach "udp forward (5353 → 53)" wan udp4 203.0.113.1 5353 '^guest1 203\.0\.113\.2$'
reach "range forward, first port" wan tcp4 203.0.113.1 7000 '^guest2 203\.0\.113\.2$'
reach "range forward, last port" wan tcp4 203.0.113.1 7002 '^guest2 203\.0\.113\.2$'
reach "shifted range (8001 → 9001)" wan tcp4 203.0.113.1 8001 '^guest2 203\.0\.113\.2$'
# No forward: the host itself answers, with a reset (nothing listens there).
blocked "no forward on a port outside the range" wan tcp4 203.0.113.1 7003 refused
reach "listen-address forward answers on its address" wan tcp4 203.0.113.1 8080 '^guest1 203\.0\.113\.2$'
blocked "listen-address forward ignores other addresses" wan tcp4 203.0.113.3 8080 refused
reach "allow-list admits the allowed source" wan tcp4 203.0.113.1 8443 '^guest1 203\.0\.113\.2$'
blocked "allow-list refuses another source (not forwarded: the host resets it)" wan@203.0.113.4 tcp4 203.0.113.1 8443 refused
reach "IPv6 listen-address forward" wan tcp6 2001:db8:ffff::1 8080 '^guest1 2001:db8:ffff::2$'
reach "IPv6 forward on every address (2223 → 22)" wan tcp6 2001:db8:ffff::1 2223 '^guest1 2001:db8:ffff::2$'
reach "IPv6 udp forward" wan udp6 2001:db8:ffff::1 5353 '^guest1 2001:db8:ffff::2$'

if sctp_available guest2 && sctp_available wan; then
	serve guest2 sctp4 3868
	reach "sctp forward" wan sctp4 203.0.113.1 3868 '^guest2 203\.0\.113\.2$'
else
	skip "sctp forward" "the kernel's sctp module is not available"
fi

# Hairpin: a guest reaching a forward through the host's public address;
# the reply must come back through the host (source: the host's bridge
# address), or the connection would break.
reach "hairpin: guest2 → public address → guest1" guest2 tcp4 203.0.113.1 2222 '^guest1 192\.168\.150\.1$'
reach "hairpin: a guest reaching its own forward" guest1 tcp4 203.0.113.1 2222 '^guest1 192\.168\.150\.1$'

# The host itself, through its own address.
reach "the host reaches its own forward" host tcp4 203.0.113.1 2222 '^guest1 203\.0\.113\.1$'
reach "the host reaches its own IPv6 forward" host tcp6 2001:db8:ffff::1 2223 '^guest1 2001:db8:ffff::1$'
# Any-address forwards do not answer on the guests' gateway address.
blocked "no forward on the host's address on the guest network" guest2 tcp4 192.168.150.1 2222 refused

# Localhost: off unless enabled.
blocked "no localhost forward unless enabled" host tcp4 127.0.0.1 2222 refused
check "route_localnet untouched" test "$(nsx host sysctl -n net.ipv4.conf.vw-web.route_localnet)" = 0
write_net '<vw:localhost enabled="yes"/>'
check "re-apply with localhost enabled" vw host apply "$VWT_TMP/web.xml"
check "route_localnet set on the bridge" test "$(nsx host sysctl -n net.ipv4.conf.vw-web.route_localnet)" = 1
reach "localhost forward when enabled" host tcp4 127.0.0.1 2222 '^guest1 192\.168\.150\.1$'
reach "other forwards keep working across the re-apply" wan tcp4 203.0.113.1 7000 '^guest2 203\.0\.113\.2$'

# SNAT to a chosen address instead of masquerading.
write_net '<vw:nat address="203.0.113.5"/>'
check "re-apply with an SNAT address" vw host apply "$VWT_TMP/web.xml"
check "route_localnet restored when localhost is no longer enabled" \
	test "$(nsx host sysctl -n net.ipv4.conf.vw-web.route_localnet)" = 0
reach "guest reaches wan as the SNAT address" guest1 tcp4 203.0.113.2 80 '^wan 203\.0\.113\.5$'

# Hairpin off: the forward still works from outside, not through the host's
# address from inside.
write_net '<vw:hairpin enabled="no"/>'
check "re-apply with hairpin off" vw host apply "$VWT_TMP/web.xml"
# Without hairpin NAT the connection is DNATed to guest1 with guest2's own
# source: conntrack shows the reply going to 192.168.150.11, not to the
# host's bridge address. What guest2 then sees depends on br_netfilter: with
# it the reply is tracked at the bridge and un-NATed (an answer naming
# guest2's own address); without it guest1 answers guest2 directly, guest2
# does not know that peer, and nothing comes back.
hairpin_off() {
	local got want
	nsx host conntrack -F 2>/dev/null
	got=$(probe guest2 tcp4 203.0.113.1 2222)
	nsx host conntrack -L -p tcp --orig-dst 203.0.113.1 --dport 2222 >"$VWT_TMP/ct" 2>/dev/null || {
		echo "conntrack -L failed"
		return 1
	}
	cat "$VWT_TMP/ct"
	echo "guest2 got: $got"
	grep -Eq 'src=192\.168\.150\.11 dst=203\.0\.113\.1 .*dport=2222 .*src=192\.168\.150\.10 dst=192\.168\.150\.11 sport=22 ' "$VWT_TMP/ct" ||
		{ echo "no connection DNATed to guest1 with guest2's own source"; return 1; }
	! grep -q 'dst=192\.168\.150\.1 ' "$VWT_TMP/ct" || { echo "the host's address appears: hairpin NAT"; return 1; }
	case ${VWT_BRNF:-} in
	1) want='guest1 192.168.150.11' ;;
	0) want='!timeout' ;;
	*) [ "$got" = 'guest1 192.168.150.11' ] || [ "$got" = '!timeout' ] ;;
	esac
	[ -z "${want:-}" ] || [ "$got" = "$want" ] || { echo "expected guest2 to get '$want'"; return 1; }
}
check "no hairpin NAT when disabled (guest1 sees guest2's own address)" hairpin_off
reach "the forward still works from outside" wan tcp4 203.0.113.1 2222 '^guest1 203\.0\.113\.2$'

# Isolated ports (<port isolated='yes'/>): guests do not reach each other on
# the bridge, in both modes. A guest reaching another guest's forward through
# the host's address differs, and not by virtwire's rules: without
# br_netfilter the host routes the DNATed packet out of the bridge device
# (no isolated port sends it), with it br_netfilter's bridged-DNAT path
# (br_nf_pre_routing_finish: the new destination lies behind the same
# bridge) hands the frame back to the bridge as sent by the guest's isolated
# port, and the bridge drops it between isolated ports before any hook.
# docs/restore-watch.md, "br_netfilter".
write_net ""
sed "s|<bridge name='vw-web'/>|<bridge name='vw-web'/><port isolated='yes'/>|" "$VWT_TMP/web.xml" >"$VWT_TMP/web-iso.xml"
check "re-apply with isolated ports" vw host apply "$VWT_TMP/web-iso.xml"
says "the guests' ports are isolated" "isolated on" nsx host ip -d link show g-guest2
blocked "isolated: guest2 does not reach guest1 on the bridge" guest2 tcp4 192.168.150.10 22 dropped host
reach "isolated: the forward works from outside" wan tcp4 203.0.113.1 2222 '^guest1 203\.0\.113\.2$'
isolated_hairpin() {
	local got want
	got=$(probe guest2 tcp4 203.0.113.1 2222)
	echo "guest2 got: $got"
	case ${VWT_BRNF:-} in
	1) want='!timeout' ;;
	0) want='guest1 192.168.150.1' ;;
	*) [ "$got" = 'guest1 192.168.150.1' ] || [ "$got" = '!timeout' ] ;;
	esac
	[ -z "${want:-}" ] || [ "$got" = "$want" ] || { echo "expected guest2 to get '$want'"; return 1; }
}
check "isolated: guest2 through the host's address to guest1's forward (answers only without br_netfilter)" \
	isolated_hairpin

check "teardown" vw host teardown web
lacks "no virtwire table after teardown" virtwire nsx host nft list tables
blocked "forward gone after teardown (the host resets it)" wan tcp4 203.0.113.1 2222 refused
done_testing
