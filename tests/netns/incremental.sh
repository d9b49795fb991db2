#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# A domain's port on a running network of 10,000 forwards, as libvirt's
# hooks bring it (prepare, port-created; port-deleted): while the ruleset is
# at the generation virtwire's last commit left, exactly the port's elements
# are sent and the table is not read back (a delta); after someone else's
# commit the full path runs and repairs; a key another network holds is
# refused with the words of the full path.
#
#   wan 203.0.113.2
#    │ veth
#   host wan0 203.0.113.1
#        vw-inc (bridge, 52:54:00:00:17:01) 192.168.170.1/24   network inc: 10,000 forwards
#         └─ guest1 52:54:00:aa:dd:10 192.168.170.10 (reserved), a server on port 80
#        vw-oth (bridge) 192.168.171.1/24                      network oth: forward tcp 9090
. "$(dirname "$0")/lib.sh"
need_root
need_tools strace

MAC1=52:54:00:aa:dd:10
DOM1=00000000-0000-4000-8000-000000000171
PORT1=00000000-0000-4000-9000-000000000171

topology() {
	topo_wan &&
		ip -n "$(ns host)" link add vw-inc type bridge stp_state 0 forward_delay 0 &&
		ip -n "$(ns host)" link set vw-inc address 52:54:00:00:17:01 &&
		ip -n "$(ns host)" addr add 192.168.170.1/24 dev vw-inc &&
		ip -n "$(ns host)" link set vw-inc up &&
		topo_bridge vw-oth 192.168.171.1/24 &&
		topo_guest guest1 vw-inc $MAC1 192.168.170.10/24 192.168.170.1
}
setup "topology: wan, host, bridge vw-inc with guest1, bridge vw-oth" topology

# net_xml CONNECTIONS: network inc as libvirt formats it for its hooks,
# 10,000 forwards (tcp 20000-29999 to 192.168.170.200), the guest's
# reservation, domain forwards allowed.
net_xml() {
	python3 - "$1" <<'PY'
import sys
conn = " connections='%s'" % sys.argv[1] if sys.argv[1] != "0" else ""
fw = "".join("\n        <vw:forward proto='tcp' host-port='%d' guest-address='192.168.170.200' guest-port='80'/>"
             % (20000 + i) for i in range(10000))
print("""  <network%s>
    <name>inc</name>
    <uuid>6b0b4c1e-6a43-4a2e-9d0e-1d1c7c0b5f71</uuid>
    <metadata>
      <vw:network xmlns:vw="urn:virtwire:1" mode="nat">
        <vw:spoof-filter enabled='no'/>
        <vw:domain-forwards allow='yes' host-ports='8000-8999'/>%s
      </vw:network>
    </metadata>
    <forward mode='open'/>
    <bridge name='vw-inc' stp='off' delay='0'/>
    <mac address='52:54:00:00:17:01'/>
    <ip address='192.168.170.1' prefix='24'>
      <dhcp>
        <host mac='52:54:00:aa:dd:10' ip='192.168.170.10'/>
      </dhcp>
    </ip>
  </network>""" % (conn, fw))
PY
}

# hookdata CONNECTIONS [PORT]: the network hook's stdin, with the port.
hookdata() {
	echo "<hookData>"
	net_xml "$1"
	if [ -n "${2:-}" ]; then
		cat <<XML
  <networkport>
    <uuid>$2</uuid>
    <owner><name>guest1</name><uuid>$DOM1</uuid></owner>
    <mac address='$MAC1'/>
    <plug type='network' bridge='vw-inc'/>
  </networkport>
XML
	fi
	echo "</hookData>"
}

cat >"$VWT_TMP/dom1.xml" <<XML
<domain type='kvm'>
  <name>guest1</name>
  <uuid>$DOM1</uuid>
  <memory>65536</memory>
  <os><type>hvm</type></os>
  <devices>
    <interface type='network'>
      <mac address='$MAC1'/>
      <source network='inc' portid='$PORT1'/>
    </interface>
  </devices>
  <metadata><vw:domain xmlns:vw='urn:virtwire:1'>
    <vw:forward network='inc' proto='tcp' host-port='8080' guest-port='80'/>
  </vw:domain></metadata>
</domain>
XML
hookdata 0 >"$VWT_TMP/started.xml"
hookdata 1 $PORT1 >"$VWT_TMP/created.xml"
hookdata 0 $PORT1 >"$VWT_TMP/deleted.xml"

cat >"$VWT_TMP/oth.xml" <<'XML'
<network>
  <name>oth</name>
  <forward mode='open'/>
  <bridge name='vw-oth'/>
  <ip address='192.168.171.1' prefix='24'/>
  <metadata>
    <vw:network xmlns:vw="urn:virtwire:1" mode="nat">
      <vw:spoof-filter enabled='no'/>
      <vw:forward proto='tcp' host-port='8080' guest-address='192.168.171.10' guest-port='80'/>
    </vw:network>
  </metadata>
</network>
XML

STATE=$VWT_TMP/state-host

# vw_saved ARGS...: vw host ARGS, its output kept in $VWT_TMP/saved.out too.
vw_saved() {
	local rc=0
	vw host "$@" >"$VWT_TMP/saved.out" 2>&1 || rc=$?
	cat "$VWT_TMP/saved.out"
	return $rc
}

# hook OP FILE: the network hook, as libvirt runs it, with VIRTWIRE_DEBUG's
# stages on stderr (into $VWT_TMP/OP.stages) and its netlink receives
# counted by strace (into $VWT_TMP/OP.strace).
hook() {
	local op=$1 file=$2
	VIRTWIRE_DEBUG=timing vwt_in host strace -f -qq -e trace=recvmsg,recvfrom -o "$VWT_TMP/$op.strace" \
		"$VW_TEST_BIN" hook --state-dir "$STATE" network inc "$op" begin - <"$file" 2>"$VWT_TMP/$op.stages"
}

# recvs OP: how many receives the hook made from netlink.
recvs() {
	grep -c 'recv' "$VWT_TMP/$1.strace"
}

# monitor_start: `nft monitor` in host, running (into $VWT_TMP/monitor.raw)
# before virtwire's next commit: its marker tables are commits too, so it
# starts before the commit a delta relies on.
monitor_start() {
	local i
	nsx host timeout 300 stdbuf -oL nft monitor >"$VWT_TMP/monitor.raw" 2>&1 &
	MONITOR=$!
	VWT_PIDS+=("$MONITOR")
	for i in $(seq 1 400); do
		nsx host nft add table ip vwt_start 2>/dev/null && nsx host nft delete table ip vwt_start
		grep -q 'table ip vwt_start' "$VWT_TMP/monitor.raw" && return 0
		sleep 0.05
	done
	return 1
}

# last_commit CMD...: CMD, which commits once; the element lines of that
# commit as the monitor saw them into $VWT_TMP/monitor.out.
last_commit() {
	local before i rc=0
	before=$(grep -c 'new generation' "$VWT_TMP/monitor.raw")
	"$@" || rc=$?
	for i in $(seq 1 100); do
		[ "$(grep -c 'new generation' "$VWT_TMP/monitor.raw")" -gt "$before" ] && break
		sleep 0.05
	done
	awk -v n="$before" '/new generation/ { g++; next } g == n && /element inet virtwire/' \
		"$VWT_TMP/monitor.raw" >"$VWT_TMP/monitor.out"
	return $rc
}

# elements_sent N OWNER: exactly N element lines, every one of OWNER's.
elements_sent() {
	local n
	n=$(wc -l <"$VWT_TMP/monitor.out")
	[ "$n" = "$1" ] && every_line "$2" "$VWT_TMP/monitor.out" ||
		{ echo "$n element lines:"; cat "$VWT_TMP/monitor.out"; return 1; }
}

setup "nft monitor runs" monitor_start
check "network inc with 10,000 forwards starts (hook started)" \
	vw host hook network inc started begin - <"$VWT_TMP/started.xml"
serve guest1 tcp4 80
check "another network, oth, forwards tcp 8080" vw host apply "$VWT_TMP/oth.xml"
check "guest1's domain is prepared" vw host hook qemu guest1 prepare begin - <"$VWT_TMP/dom1.xml"

# A conflict first: tcp 8080 is oth's.
check_fails "port-created with a forward another network holds fails" \
	vw_saved hook network inc port-created begin - <"$VWT_TMP/created.xml"
says "… in the words of the full path" "the forward tcp \. 8080 of .* is already taken by network 'oth'" \
	cat "$VWT_TMP/saved.out"
lacks "… and the port is not recorded" "$PORT1" cat "$STATE/inc.state"
check "oth goes, its forward with it" vw host teardown oth

check "port-created: the domain's forward comes" last_commit hook port-created "$VWT_TMP/created.xml"
says "… as a delta" delta cat "$VWT_TMP/port-created.stages"
check "… exactly the port's two elements sent (map fwd4any, set fwd4count)" \
	elements_sent 2 "^add element inet virtwire fwd4(any|count) .*comment \"inc:$PORT1\""
check "… and the table not read back: few netlink receives" test "$(recvs port-created)" -lt 30
diag "netlink receives: $(recvs port-created)"
reach "traffic reaches guest1 through the new forward" wan tcp4 203.0.113.1 8080 '^guest1 203\.0\.113\.2$'
says "the record keeps the port's elements" "^port $PORT1 $DOM1 $MAC1 i/fwd4any/" cat "$STATE/inc.state"

check "port-deleted: the forward goes" last_commit hook port-deleted "$VWT_TMP/deleted.xml"
says "… as a delta" delta cat "$VWT_TMP/port-deleted.stages"
check "… exactly the port's two elements deleted" \
	elements_sent 2 "^delete element inet virtwire fwd4(any|count) .*"
check "… the table not read back" test "$(recvs port-deleted)" -lt 30
blocked "guest1 is not reached through port 8080 any more" wan tcp4 203.0.113.1 8080 refused
lacks "… and no element of the port is left" "inc:$PORT1" nsx host nft list table inet virtwire

# Someone else commits: an element of the network's deleted by hand.
check "the port comes again" hook port-created "$VWT_TMP/created.xml"
check "someone deletes one of the network's elements (nft delete element)" \
	nsx host nft delete element inet virtwire fwd4any '{ tcp . 20005 }'
check "port-deleted after that: the full path" hook port-deleted "$VWT_TMP/deleted.xml"
lacks "… not a delta" 'delta' cat "$VWT_TMP/port-deleted.stages"
check "… which reads the table" test "$(recvs port-deleted)" -ge 30
check "port-created: the full path again" hook port-created "$VWT_TMP/created.xml"
lacks "… not a delta" 'delta' cat "$VWT_TMP/port-created.stages"
reach "traffic reaches guest1 through the forward" wan tcp4 203.0.113.1 8080 '^guest1 203\.0\.113\.2$'
check "started again repairs the network: its element is back" \
	vw host hook network inc started begin - <"$VWT_TMP/started.xml"
says "… the element deleted by hand is there" "tcp \. 20005 " nsx host nft list map inet virtwire fwd4any
says "… and records the elements of the port it found" "^port $PORT1 $DOM1 $MAC1 i/fwd4any/" cat "$STATE/inc.state"
check "port-deleted after the repair: a delta (started recorded the port's elements)" \
	last_commit hook port-deleted "$VWT_TMP/deleted.xml"
says "… as a delta" delta cat "$VWT_TMP/port-deleted.stages"
check "… exactly the port's two elements deleted" \
	elements_sent 2 "^delete element inet virtwire fwd4(any|count) .*"
check "… the table not read back" test "$(recvs port-deleted)" -lt 30
lacks "… and no element of the port is left" "inc:$PORT1" nsx host nft list table inet virtwire
check "port-created: a delta again (nobody else committed since)" hook port-created "$VWT_TMP/created.xml"
says "… as a delta" delta cat "$VWT_TMP/port-created.stages"
reach "traffic reaches guest1 through the forward" wan tcp4 203.0.113.1 8080 '^guest1 203\.0\.113\.2$'
check "port-deleted: a delta" hook port-deleted "$VWT_TMP/deleted.xml"
says "… as a delta" delta cat "$VWT_TMP/port-deleted.stages"
lacks "… and no element of the port is left" "inc:$PORT1" nsx host nft list table inet virtwire
check "the network stops (hook stopped)" vw host hook network inc stopped end - <"$VWT_TMP/started.xml"
lacks "nothing of virtwire's is left" "virtwire" nsx host nft list tables

done_testing
