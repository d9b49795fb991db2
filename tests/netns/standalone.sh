#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# A NAT network built entirely by `virtwire apply` — bridge, addresses,
# sysctls, rules — with no libvirt and no fixture: a guest reaches wan, a
# forward works, and teardown leaves no bridge, address, sysctl change or
# table behind.
#
#   wan 203.0.113.2 ── host wan0 203.0.113.1
#                      vw-std (made by virtwire) 192.168.190.1/24, MTU 9000
#                        └─ guest1 192.168.190.10 (plugged in after apply, as libvirt plugs a tap)
. "$(dirname "$0")/lib.sh"
need_root

topo_wan || exit 1
cat >"$VWT_TMP/std.xml" <<'XML'
<network>
  <name>std</name>
  <forward mode='open'/>
  <bridge name='vw-std' stp='off' delay='0'/>
  <mac address='52:54:00:19:00:01'/>
  <mtu size='9000'/>
  <ip address='192.168.190.1' prefix='24'>
    <dhcp><host mac='52:54:00:19:00:10' ip='192.168.190.10'/></dhcp>
  </ip>
  <metadata>
    <vw:network xmlns:vw="urn:virtwire:1" mode="nat">
      <vw:forward name="ssh" proto="tcp" host-port="2222" guest-mac="52:54:00:19:00:10" guest-port="22"/>
      <vw:localhost enabled="yes"/>
    </vw:network>
  </metadata>
</network>
XML
sysctls() {
	nsx host sysctl -n net.ipv4.ip_forward
}
nsx host ip -br link >"$VWT_TMP/links-before"
nsx host ip -br addr >"$VWT_TMP/addrs-before"
check "no bridge before apply" sh -c "! ip -n $(ns host) link show vw-std 2>/dev/null"
check "apply builds the whole network" vw host apply "$VWT_TMP/std.xml"
check "the bridge exists and is up" sh -c "ip -n $(ns host) link show vw-std | grep -q 'state\\|UP'"
check "… with the MAC of <mac>" sh -c "ip -n $(ns host) link show vw-std | grep -q 52:54:00:19:00:01"
check "… with the MTU of <mtu>" sh -c "ip -n $(ns host) link show vw-std | grep -q 'mtu 9000'"
check "… STP off as the XML says" test "$(cat /proc/sys/net/ipv4/ip_forward >/dev/null; ip netns exec "$(ns host)" cat /sys/class/net/vw-std/bridge/stp_state)" = 0
check "… with the host's address" sh -c "ip -n $(ns host) addr show vw-std | grep -q '192.168.190.1/24'"
check "… IPv6 off on it (no IPv6 address)" test "$(nsx host sysctl -n net.ipv6.conf.vw-std.disable_ipv6)" = 1
check "… route_localnet for localhost forwards" test "$(nsx host sysctl -n net.ipv4.conf.vw-std.route_localnet)" = 1
check "… named as virtwire's in its alias" sh -c "ip -n $(ns host) -d link show vw-std | grep -q 'alias virtwire:std'"
check "verify: the kernel matches" vw host verify std

topo_guest guest1 vw-std 52:54:00:19:00:10 192.168.190.10/24 192.168.190.1
ip -n "$(ns host)" link set g-guest1 mtu 9000
ip -n "$(ns guest1)" link set eth0 mtu 9000
serve wan tcp4 80
serve guest1 tcp4 22
reach "guest reaches wan through virtwire's bridge" guest1 tcp4 203.0.113.2 80 '^wan 203\.0\.113\.1$'
reach "a forward reaches the guest" wan tcp4 203.0.113.1 2222 '^guest1 203\.0\.113\.2$'
reach "the host reaches the forward on 127.0.0.1" host tcp4 127.0.0.1 2222 '^guest1 192\.168\.190\.1$'
check "re-apply: up to date" sh -c "ip netns exec $(ns host) $VW_BIN apply --state-dir '$VWT_TMP/state-host' '$VWT_TMP/std.xml' | grep -q 'up to date'"
check "status shows the forward's traffic" sh -c "ip netns exec $(ns host) $VW_BIN status --state-dir '$VWT_TMP/state-host' | grep -E \"forward 'ssh'.*: [1-9][0-9]* packets\""

# The guest's port goes before teardown, as libvirt unplugs taps first.
ip -n "$(ns host)" link del g-guest1
check "teardown" vw host teardown std
check "no bridge after teardown" sh -c "! ip -n $(ns host) link show vw-std 2>/dev/null"
check "no virtwire table after teardown" sh -c "! ip netns exec $(ns host) nft list tables | grep -q virtwire"
nsx host ip -br link >"$VWT_TMP/links-after"
nsx host ip -br addr >"$VWT_TMP/addrs-after"
check "links as before" diff "$VWT_TMP/links-before" "$VWT_TMP/links-after"
check "addresses as before" diff "$VWT_TMP/addrs-before" "$VWT_TMP/addrs-after"
check "forwarding stays on (as libvirt leaves it)" test "$(sysctls)" = 1
check "no state left" sh -c "! ls '$VWT_TMP/state-host'/*.state 2>/dev/null"
done_testing
