#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# A forward takes its host port from the host: `apply` warns when a host
# process listens where a forward takes over (sock_diag, as `ss -ltu` reads
# it), and only there — not for sockets on loopback, on the host's address
# on the guest network, or of the other family.
#
#   wan 203.0.113.2 ── host wan0 203.0.113.1
#                      vw-ls 192.168.191.1/24 (libvirt's, a fixture)
#
# host sockets                  forward                          warned
#   tcp [::]:2222 (dual-stack)  ssh-alt tcp 2222, every address  yes
#   tcp 0.0.0.0:8080            web tcp 8080 on 203.0.113.1      yes
#   tcp 203.0.113.1:9000        pinned tcp 9000 on 203.0.113.1   yes
#   udp 0.0.0.0:5353            mdns udp 5353, every address     yes
#   tcp 127.0.0.1:8443          local tcp 8443, every address    no: loopback, localhost off
#   tcp 192.168.191.1:8081      gw tcp 8081, every address       no: the guest network's address
#   udp [::]:6000 (IPv6 only)   v4only udp 6000 on 203.0.113.1   no: the other family
#   tcp 0.0.0.0:7000            other udp 7000                   no: the other protocol
. "$(dirname "$0")/lib.sh"
need_root

setup "topology: wan, host, bridge vw-ls" eval 'topo_wan && topo_bridge vw-ls 192.168.191.1/24'
cat >"$VWT_TMP/ls.xml" <<'XML'
<network>
  <name>ls</name>
  <forward mode='open'/>
  <bridge name='vw-ls'/>
  <ip address='192.168.191.1' prefix='24'/>
  <metadata>
    <vw:network xmlns:vw="urn:virtwire:1" mode="nat">
      <vw:forward name="ssh-alt" proto="tcp" host-port="2222" guest-address="192.168.191.10" guest-port="22"/>
      <vw:forward name="web" proto="tcp" address="203.0.113.1" host-port="8080" guest-address="192.168.191.10"/>
      <vw:forward name="pinned" proto="tcp" address="203.0.113.1" host-port="9000" guest-address="192.168.191.10"/>
      <vw:forward name="mdns" proto="udp" host-port="5353" guest-address="192.168.191.10"/>
      <vw:forward name="local" proto="tcp" host-port="8443" guest-address="192.168.191.10"/>
      <vw:forward name="gw" proto="tcp" host-port="8081" guest-address="192.168.191.10"/>
      <vw:forward name="v4only" proto="udp" address="203.0.113.1" host-port="6000" guest-address="192.168.191.10"/>
      <vw:forward name="other" proto="udp" host-port="7000" guest-address="192.168.191.10"/>
    </vw:network>
  </metadata>
</network>
XML

# The host's sockets: one process holding them all, bounded in time, ended
# by PID at the test's end.
sockets() {
	ip netns exec "$(ns host)" timeout 120 python3 -c '
import socket, sys, time
def tcp(fam, addr, port, v6only=None):
    s = socket.socket(fam, socket.SOCK_STREAM)
    if v6only is not None:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, v6only)
    s.bind((addr, port)); s.listen(); return s
def udp(fam, addr, port, v6only=None):
    s = socket.socket(fam, socket.SOCK_DGRAM)
    if v6only is not None:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, v6only)
    s.bind((addr, port)); return s
keep = [tcp(socket.AF_INET6, "::", 2222, 0), tcp(socket.AF_INET, "0.0.0.0", 8080),
        tcp(socket.AF_INET, "203.0.113.1", 9000), udp(socket.AF_INET, "0.0.0.0", 5353),
        tcp(socket.AF_INET, "127.0.0.1", 8443), tcp(socket.AF_INET, "192.168.191.1", 8081),
        udp(socket.AF_INET6, "::", 6000, 1), tcp(socket.AF_INET, "0.0.0.0", 7000)]
print("ready", flush=True)
time.sleep(120)
' >"$VWT_TMP/sockets.out" 2>&1 &
	SOCKETS_PID=$!
	VWT_PIDS+=("$SOCKETS_PID")
	for _ in $(seq 1 100); do
		grep -qx ready "$VWT_TMP/sockets.out" && return 0
		kill -0 "$SOCKETS_PID" 2>/dev/null || break
		sleep 0.05
	done
	cat "$VWT_TMP/sockets.out"
	return 1
}
setup "host sockets listen" sockets
setup "ss sees them" eval 'nsx host ss -ltun >"$VWT_TMP/ss.out" && [ "$(grep -c LISTEN "$VWT_TMP/ss.out")" = 6 ]'

check "apply works, warnings and all" vw host apply "$VWT_TMP/ls.xml"
cp "$VWT_TMP/check.out" "$VWT_TMP/apply.out"
diag "$(cat "$VWT_TMP/apply.out")"
for f in ssh-alt web pinned mdns; do
	check "warned: forward '$f' takes a port a host process listens on" \
		grep -E "forward '$f': a host process \(uid 0\) listens on .*which the forward takes.*\[port-in-use\]" \
		"$VWT_TMP/apply.out"
done
check "… the dual-stack socket named as the kernel has it" grep -F "listens on tcp [::]:2222" "$VWT_TMP/apply.out"
check "… with how to find the process" grep -F "'ss -tnlpe sport = :8080' names the process" "$VWT_TMP/apply.out"
check "exactly those four warnings" test "$(grep -c '\[port-in-use\]' "$VWT_TMP/apply.out")" = 4
for f in local gw v4only other; do
	lacks "not warned: forward '$f'" "forward '$f'" cat "$VWT_TMP/apply.out"
done
says "the forwards are applied all the same" 'tcp \. 2222 comment "ls" : 192\.168\.191\.10 \. 22' nsx host nft list map inet virtwire fwd4any

setup "the host sockets close" eval 'kill "$SOCKETS_PID"; wait "$SOCKETS_PID" 2>/dev/null; true'
setup "their ports are free" eval '! nsx host ss -ltun | grep -q ":2222 "'
lacks "with nothing listening, re-apply warns of nothing" 'port-in-use' vw host apply "$VWT_TMP/ls.xml"
check "teardown" vw host teardown ls
done_testing
