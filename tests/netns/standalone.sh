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

setup "topology: wan, host" topo_wan
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
setup "links and addresses before" eval 'nsx host ip -br link >"$VWT_TMP/links-before" && nsx host ip -br addr >"$VWT_TMP/addrs-before"'
lacks "no bridge before apply" '^vw-std ' nsx host ip -br link
check "apply builds the whole network" vw host apply "$VWT_TMP/std.xml"
# Up: the administrative flag, not the carrier (a bridge without ports has none).
says "the bridge exists and is up" '<([^>]*,)?UP(,[^>]*)?>' nsx host ip link show vw-std
says "… with the MAC of <mac>" 'link/ether 52:54:00:19:00:01 ' nsx host ip link show vw-std
says "… with the MTU of <mtu>" ' mtu 9000 ' nsx host ip link show vw-std
says "… STP off as the XML says" '^0$' nsx host cat /sys/class/net/vw-std/bridge/stp_state
says "… with the host's address" ' 192\.168\.190\.1/24 ' nsx host ip addr show vw-std
check "… IPv6 off on it (no IPv6 address)" test "$(nsx host sysctl -n net.ipv6.conf.vw-std.disable_ipv6)" = 1
check "… route_localnet for localhost forwards" test "$(nsx host sysctl -n net.ipv4.conf.vw-std.route_localnet)" = 1
says "… named as virtwire's in its alias" 'alias virtwire:std' nsx host ip -d link show vw-std
check "verify: the kernel matches" vw host verify std

setup "guest1 on vw-std, MTU 9000" eval 'topo_guest guest1 vw-std 52:54:00:19:00:10 192.168.190.10/24 192.168.190.1 &&
	ip -n "$(ns host)" link set g-guest1 mtu 9000 && ip -n "$(ns guest1)" link set eth0 mtu 9000'
serve wan tcp4 80
serve guest1 tcp4 22
reach "guest reaches wan through virtwire's bridge" guest1 tcp4 203.0.113.2 80 '^wan 203\.0\.113\.1$'
reach "a forward reaches the guest" wan tcp4 203.0.113.1 2222 '^guest1 203\.0\.113\.2$'
reach "the host reaches the forward on 127.0.0.1" host tcp4 127.0.0.1 2222 '^guest1 192\.168\.190\.1$'
# The port came after the apply: the next apply gives it the network's port
# flags (virtwire watch does so as it is plugged), and only that.
says "re-apply gives the port plugged since its hairpin flag" "^network 'std': applied \(1 link change, 0 sysctls set, 0 firewall differences" \
	vw host apply "$VWT_TMP/std.xml"
says "… it has it" "hairpin on" nsx host ip -d link show g-guest1
says "re-apply: up to date" "^network 'std': up to date$" vw host apply "$VWT_TMP/std.xml"
says "status shows the forward's traffic" "forward 'ssh'.*: [1-9][0-9]* packets" vw host status

# The guest's port goes before teardown, as libvirt unplugs taps first.
setup "unplug guest1" ip -n "$(ns host)" link del g-guest1
check "teardown" vw host teardown std
lacks "no bridge after teardown" '^vw-std ' nsx host ip -br link
lacks "no virtwire table after teardown" virtwire nsx host nft list tables
setup "links and addresses after" eval 'nsx host ip -br link >"$VWT_TMP/links-after" && nsx host ip -br addr >"$VWT_TMP/addrs-after"'
check "links as before" diff "$VWT_TMP/links-before" "$VWT_TMP/links-after"
check "addresses as before" diff "$VWT_TMP/addrs-before" "$VWT_TMP/addrs-after"
check "forwarding stays on (as libvirt leaves it)" test "$(sysctls)" = 1
lacks "no state left" '\.state$' ls "$VWT_TMP/state-host"
done_testing
