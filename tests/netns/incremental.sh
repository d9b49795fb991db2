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

# net_xml CONNECTIONS [EDIT...]: network inc as libvirt formats it for its
# hooks, 10,000 forwards (tcp 20000-29999 to 192.168.170.200), the guest's
# reservation, domain forwards allowed. EDIT: -PORT leaves the forward of
# host port PORT out, +XML adds a forward after the last, =XML replaces
# <bridge …/>.
net_xml() {
	python3 - "$@" <<'PY'
import sys
conn = " connections='%s'" % sys.argv[1] if sys.argv[1] != "0" else ""
edits = sys.argv[2:]
gone = {int(e[1:]) for e in edits if e[0] == "-"}
fw = "".join("\n        <vw:forward proto='tcp' host-port='%d' guest-address='192.168.170.200' guest-port='80'/>"
             % (20000 + i) for i in range(10000) if 20000 + i not in gone)
fw += "".join("\n        " + e[1:] for e in edits if e[0] == "+")
bridge = ([e[1:] for e in edits if e[0] == "="] or ["<bridge name='vw-inc' stp='off' delay='0'/>"])[0]
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
    %s
    <mac address='52:54:00:00:17:01'/>
    <ip address='192.168.170.1' prefix='24'>
      <dhcp>
        <host mac='52:54:00:aa:dd:10' ip='192.168.170.10'/>
      </dhcp>
    </ip>
  </network>""" % (conn, fw, bridge))
PY
}

# hookdata CONNECTIONS [PORT [EDIT...]]: the network hook's stdin, with the
# port (PORT "": none), network inc edited as net_xml says.
hookdata() {
	net_xml "$1" "${@:3}" | vwt_hookdata ${2:+"$2" guest1 "$DOM1" "$MAC1" vw-inc}
}

vwt_domain guest1 "$DOM1" "$MAC1" inc "$PORT1" \
	"<vw:forward network='inc' proto='tcp' host-port='8080' guest-port='80'/>" >"$VWT_TMP/dom1.xml"
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

# vw_saved_test ARGS...: hook ARGS (the test binary), its stdout and stderr
# in $VWT_TMP/saved.out too.
vw_saved_test() {
	local rc=0
	hook "$@" >"$VWT_TMP/saved.out" || rc=$?
	cat "$VWT_TMP/$1.stages" >>"$VWT_TMP/saved.out"
	cat "$VWT_TMP/saved.out"
	return $rc
}

# hook OP FILE: the network hook, as libvirt runs it, with VIRTWIRE_DEBUG's
# stages on stderr (into $VWT_TMP/OP.stages) and its netlink receives
# counted by strace (into $VWT_TMP/OP.strace).
hook() {
	local op=$1 file=$2
	VIRTWIRE_DEBUG=timing vwt_in host strace -f -qq -yy -e verbose=none -e trace=recvmsg,recvfrom \
		-o "$VWT_TMP/$op.strace" "$VW_TEST_BIN" hook --state-dir "$STATE" network inc "$op" begin - <"$file" 2>"$VWT_TMP/$op.stages"
}

# recvs OP: how many receives the hook made from netlink.
recvs() {
	grep -c 'recv' "$VWT_TMP/$1.strace"
}

# recvs_nft OP: how many of them from nftables (the rest: links, addresses).
recvs_nft() {
	grep -c 'recv.*NETFILTER' "$VWT_TMP/$1.strace"
}

# monitor_start: `nft monitor` in host, running (into $MONITOR_RAW)
# before virtwire's next commit: its marker tables are commits too, so it
# starts before the commit a delta relies on.
MONITOR_RAW=$VWT_TMP/monitor.raw
monitor_start() {
	local i
	nsx host timeout 300 stdbuf -oL nft monitor >"$MONITOR_RAW" 2>&1 &
	MONITOR=$!
	VWT_PIDS+=("$MONITOR")
	for i in $(seq 1 400); do
		nsx host nft add table ip vwt_start 2>/dev/null && nsx host nft delete table ip vwt_start
		grep -q 'table ip vwt_start' "$MONITOR_RAW" && return 0
		sleep 0.05
	done
	return 1
}

# monitor_settled: the monitor has printed what it was given (a commit of
# 10,000 elements takes it a while): its output stays the same for 0.3 s
# (10 s at most).
monitor_settled() {
	local i n m
	n=$(wc -c <"$MONITOR_RAW")
	for i in $(seq 1 100); do
		sleep 0.1
		m=$(wc -c <"$MONITOR_RAW")
		[ "$m" = "$n" ] && [ $((i % 3)) = 0 ] && return 0
		[ "$m" = "$n" ] || n=$m
	done
}

# last_commit CMD...: CMD, which commits once; the element lines of that
# commit as the monitor saw them into $VWT_TMP/monitor.out.
last_commit() {
	local before i rc=0
	monitor_settled
	before=$(grep -c 'new generation' "$MONITOR_RAW")
	"$@" || rc=$?
	for i in $(seq 1 100); do
		[ "$(grep -c 'new generation' "$MONITOR_RAW")" -gt "$before" ] && break
		sleep 0.05
	done
	awk -v n="$before" '/new generation/ { g++; next } g == n && /element inet virtwire/' \
		"$MONITOR_RAW" >"$VWT_TMP/monitor.out"
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
# --- An edited network ----------------------------------------------------------
# The XML changes in the network's own forwards only (one added, one
# changed, one removed): while the ruleset is at virtwire's own last commit
# and nothing else moved, `started` and `apply FILE` parse, check and plan
# only those forwards and send exactly their elements, the table not read
# back (stage "edit"); anything else takes the full path (stage "plan").
# Every call here goes through the test binary: the record's input digest
# names the executable that planned.

# stages OP: the stages the last call of OP showed.
stages() {
	cat "$VWT_TMP/$1.stages"
}
# quiet OP FILE: OP with FILE again finds nothing to do: no stage shown.
quiet() {
	"$@" && ! grep -q 'virtwire: ' "$VWT_TMP/$1.stages"
}
has_port() { nsx host nft list map inet virtwire fwd4any | grep -q "tcp \. $1 "; }
lacks_port() { ! has_port "$1"; }
# no_commit CMD...: CMD succeeds, and the monitor shows no commit after it.
no_commit() {
	local before
	before=$(grep -c 'new generation' "$MONITOR_RAW")
	"$@" || return 1
	nsx host nft list tables >/dev/null
	sleep 0.3
	[ "$(grep -c 'new generation' "$MONITOR_RAW")" = "$before" ]
}
# line_of PATTERN FILE: the line of the first match.
line_of() {
	grep -n -m1 -- "$1" "$2" | cut -d: -f1
}

FWD_NEW="<vw:forward proto='tcp' host-port='31000' guest-address='192.168.170.10' guest-port='80'/>"
FWD_CHG="<vw:forward proto='tcp' host-port='31001' guest-address='192.168.170.10' guest-port='80'/>"
FWD_BAD="<vw:forward proto='tcp' host-port='31002' guest-address='192.168.99.10' guest-port='80'/>"
FWD_COL="<vw:forward proto='tcp' host-port='20004' guest-address='192.168.170.10' guest-port='80'/>"
hookdata 0 "" "+$FWD_NEW" >"$VWT_TMP/add.xml"
hookdata 0 "" "+$FWD_CHG" >"$VWT_TMP/chg.xml"
hookdata 0 "" "+$FWD_CHG" -20005 >"$VWT_TMP/rm.xml"
hookdata 0 "" -20005 >"$VWT_TMP/rm2.xml"
hookdata 0 "" "+$FWD_BAD" >"$VWT_TMP/bad.xml"
hookdata 0 "" "+$FWD_COL" >"$VWT_TMP/col.xml"
net_xml 0 "+$FWD_BAD" >"$VWT_TMP/bad.net"

# As libvirt leaves its bridge, and the domain hook guest1's port: verify
# then has nothing else to say.
setup "vw-inc without IPv6, guest1's port with hairpin" \
	nsx host sh -c 'sysctl -qw net.ipv6.conf.vw-inc.disable_ipv6=1 && ip link set g-guest1 type bridge_slave hairpin on'
# A monitor of this part's own (the first may time out meanwhile).
MONITOR_RAW=$VWT_TMP/monitor2.raw
setup "nft monitor runs again (a new one)" monitor_start
check "started (test binary): the full path records what the plan was made from" hook started "$VWT_TMP/started.xml"
says "… it planned" 'virtwire: plan ' stages started

check "started with one forward added (31000 to guest1)" last_commit hook started "$VWT_TMP/add.xml"
says "… as an edit" 'virtwire: edit ' stages started
lacks "… nothing planned whole" 'virtwire: plan ' stages started
check "… exactly the forward's two elements sent (map fwd4any, set fwd4count)" \
	elements_sent 2 '^add element inet virtwire fwd4(any|count) .*comment "inc"'
check "… the table not read back: few receives from nftables" test "$(recvs_nft started)" -lt 20
diag "receives from nftables: $(recvs_nft started)"
reach "traffic reaches guest1 through the new forward" wan tcp4 203.0.113.1 31000 '^guest1 203\.0\.113\.2$'
check "verify: the kernel matches the XML" vw host verify inc
check "the same started again has nothing to do" quiet hook started "$VWT_TMP/add.xml"
check "… and commits nothing (nft monitor)" no_commit hook started "$VWT_TMP/add.xml"

check "started with that forward changed (31000 → 31001)" last_commit hook started "$VWT_TMP/chg.xml"
says "… as an edit" 'virtwire: edit ' stages started
check "… exactly two elements: 31000 out, 31001 in (their target's counter stays)" \
	elements_sent 2 '^(delete|add) element inet virtwire fwd4any \{ tcp \. 3100[01] '
check "… the table not read back" test "$(recvs_nft started)" -lt 20
reach "traffic reaches guest1 through 31001" wan tcp4 203.0.113.1 31001 '^guest1 203\.0\.113\.2$'
blocked "31000 forwards nothing any more" wan tcp4 203.0.113.1 31000 refused
check "verify: the kernel matches the XML" vw host verify inc
check "the same started again has nothing to do" quiet hook started "$VWT_TMP/chg.xml"

check "started with forward 20005 removed" last_commit hook started "$VWT_TMP/rm.xml"
says "… as an edit" 'virtwire: edit ' stages started
check "… exactly its map element deleted (its target's counter is shared)" \
	elements_sent 1 '^delete element inet virtwire fwd4any \{ tcp \. 20005 '
check "… the table not read back" test "$(recvs_nft started)" -lt 20
check "… 20005 is gone" lacks_port 20005
check "verify: the kernel matches the XML" vw host verify inc
check "the same started again has nothing to do" quiet hook started "$VWT_TMP/rm.xml"

check "started with 31001 removed too" last_commit hook started "$VWT_TMP/rm2.xml"
says "… as an edit" 'virtwire: edit ' stages started
out='delete element inet virtwire fwd4(any \{ tcp \. 31001 |count \{ tcp \. 192\.168\.170\.10 \. 80 )'
check "… exactly two elements deleted: 31001's and its target's counter (no forward kept names guest1)" \
	elements_sent 2 "^$out"
check "… the table not read back" test "$(recvs_nft started)" -lt 20
check "verify: the kernel matches the XML" vw host verify inc
check "started with the first XML again: 20005 back" last_commit hook started "$VWT_TMP/started.xml"
says "… as an edit" 'virtwire: edit ' stages started
check "… exactly its element added" elements_sent 1 '^add element inet virtwire fwd4any \{ tcp \. 20005 '
check "… 20005 is back" has_port 20005
check "… 31001 is gone" lacks_port 31001
check "verify: the kernel matches the XML" vw host verify inc

# Fall-backs, each with nothing changed by the edit path.
setup "someone deletes an element of the network's (nft delete element)" \
	nsx host nft delete element inet virtwire fwd4any '{ tcp . 20007 }'
check "started with a forward added after someone else's commit" hook started "$VWT_TMP/add.xml"
says "… takes the full path" 'virtwire: plan ' stages started
check "… which reads the table: many receives from nftables" test "$(recvs_nft started)" -ge 20
check "… which repairs 20007" has_port 20007
check "… and adds 31000" has_port 31000
check "started with the first XML again" hook started "$VWT_TMP/started.xml"

cp "$STATE/inc.xml" "$VWT_TMP/inc-record.xml"
check_fails "started with an invalid new forward (guest address outside the subnet) fails" \
	vw_saved_test started "$VWT_TMP/bad.xml"
says "… with the full path's finding at the forward's line" \
	"error: network 'inc' \(virsh net-dumpxml inc, line $(line_of "host-port='31002'" "$VWT_TMP/bad.net")\): .*192\.168\.99\.10" \
	cat "$VWT_TMP/saved.out"
lacks "… not as an edit" 'virtwire: edit ' stages started
check "… the record as before" cmp "$STATE/inc.xml" "$VWT_TMP/inc-record.xml"
check "… and nothing of it in the kernel" lacks_port 31002

check_fails "started with a new forward on a host port the network forwards already fails" \
	vw_saved_test started "$VWT_TMP/col.xml"
says "… in the full path's words" 'forward-collision|already forwarded' cat "$VWT_TMP/saved.out"
lacks "… not as an edit" 'virtwire: edit ' stages started
check "… the record as before" cmp "$STATE/inc.xml" "$VWT_TMP/inc-record.xml"
says "… 20004 still forwards to 192.168.170.200" 'tcp \. 20004 comment "inc" : 192\.168\.170\.200 \. 80' \
	nsx host nft list map inet virtwire fwd4any

# --- apply FILE: a network virtwire makes the bridge of -------------------------
# big_xml [EDIT...]: network big, 10,000 forwards (tcp 40000-49999 to
# 192.168.172.200) and, last, forward "web" (tcp 39999 to guest2); EDIT as
# net_xml's.
big_xml() {
	python3 - "$@" <<'PY'
import sys
edits = sys.argv[1:]
gone = {int(e[1:]) for e in edits if e[0] == "-"}
fw = "".join("\n      <vw:forward proto='tcp' host-port='%d' guest-address='192.168.172.200' guest-port='80'/>"
             % (40000 + i) for i in range(10000) if 40000 + i not in gone)
fw += "\n      <vw:forward name='web' proto='tcp' host-port='39999' guest-address='192.168.172.10' guest-port='80'/>"
fw += "".join("\n      " + e[1:] for e in edits if e[0] == "+")
bridge = ([e[1:] for e in edits if e[0] == "="] or ["<bridge name='vw-big' stp='off' delay='0'/>"])[0]
print("""<network>
  <name>big</name>
  <forward mode='open'/>
  %s
  <ip address='192.168.172.1' prefix='24'/>
  <metadata>
    <vw:network xmlns:vw="urn:virtwire:1" mode="nat">
      <vw:spoof-filter enabled='no'/>%s
    </vw:network>
  </metadata>
</network>""" % (bridge, fw))
PY
}
BIG_NEW="<vw:forward proto='tcp' host-port='39001' guest-address='192.168.172.10' guest-port='80'/>"
BIG_CHG="<vw:forward proto='tcp' host-port='39002' guest-address='192.168.172.10' guest-port='80'/>"
BIG_SPEC="<vw:forward proto='tcp' address='203.0.113.1' host-port='40004' guest-address='192.168.172.10' guest-port='80'/>"
BIG_DUP="<vw:forward name='web' proto='tcp' host-port='39003' guest-address='192.168.172.10' guest-port='80'/>"
big_xml >"$VWT_TMP/big-base.xml"
big_xml "+$BIG_NEW" >"$VWT_TMP/big-add.xml"
big_xml "+$BIG_CHG" >"$VWT_TMP/big-chg.xml"
big_xml "+$BIG_NEW" "=<bridge name='vw-big' stp='off' delay='2'/>" >"$VWT_TMP/big-bridge.xml"
big_xml "+$BIG_DUP" >"$VWT_TMP/big-dup.xml"
big_xml "+$BIG_SPEC" >"$VWT_TMP/big-spec.xml"

# apply: `virtwire apply big.xml` (always that file name: the record names
# the file applied), stages and netlink receives kept as hook's.
apply() {
	VIRTWIRE_DEBUG=timing vwt_in host strace -f -qq -yy -e verbose=none -e trace=recvmsg,recvfrom \
		-o "$VWT_TMP/apply.strace" "$VW_TEST_BIN" apply --state-dir "$STATE" "$VWT_TMP/big.xml" 2>"$VWT_TMP/apply.stages" \
		>"$VWT_TMP/apply.out"
}
# apply_as FILE: big.xml becomes FILE, then apply.
apply_as() {
	cp "$1" "$VWT_TMP/big.xml" && apply
}

check "apply big (10,000 forwards): the full path" apply_as "$VWT_TMP/big-base.xml"
says "… it planned" 'virtwire: plan ' stages apply
setup "guest2 on vw-big" topo_guest guest2 vw-big 52:54:00:aa:dd:20 192.168.172.10/24 192.168.172.1
serve guest2 tcp4 80
check "apply again now that guest2 is plugged in: the full path (a bridge port came)" apply
says "… it planned" 'virtwire: plan ' stages apply

check "apply with one forward added (39001 to guest2)" last_commit apply_as "$VWT_TMP/big-add.xml"
says "… as an edit" 'virtwire: edit ' stages apply
check "… exactly the forward's element sent (its target's counter is web's too)" \
	elements_sent 1 '^add element inet virtwire fwd4any \{ tcp \. 39001 .*comment "big"'
check "… the table not read back" test "$(recvs_nft apply)" -lt 20
says "… and says it applied" "^network 'big': applied " cat "$VWT_TMP/apply.out"
reach "traffic reaches guest2 through the new forward" wan tcp4 203.0.113.1 39001 '^guest2 203\.0\.113\.2$'
check "verify: the kernel matches the XML" vw host verify big
check "apply again has nothing to do" quiet apply
check "… and commits nothing (nft monitor)" no_commit apply
says "… it is up to date" "^network 'big': up to date$" cat "$VWT_TMP/apply.out"

check "apply with that forward changed (39001 → 39002)" last_commit apply_as "$VWT_TMP/big-chg.xml"
says "… as an edit" 'virtwire: edit ' stages apply
check "… exactly two elements: 39001 out, 39002 in" \
	elements_sent 2 '^(delete|add) element inet virtwire fwd4any \{ tcp \. 3900[12] '
check "… the table not read back" test "$(recvs_nft apply)" -lt 20
reach "traffic reaches guest2 through 39002" wan tcp4 203.0.113.1 39002 '^guest2 203\.0\.113\.2$'
blocked "39001 forwards nothing any more" wan tcp4 203.0.113.1 39001 refused
check "verify: the kernel matches the XML" vw host verify big

check "apply with that forward removed" last_commit apply_as "$VWT_TMP/big-base.xml"
says "… as an edit" 'virtwire: edit ' stages apply
check "… exactly its element deleted (web still counts on the target)" \
	elements_sent 1 '^delete element inet virtwire fwd4any \{ tcp \. 39002 '
check "… the table not read back" test "$(recvs_nft apply)" -lt 20
blocked "39002 forwards nothing any more" wan tcp4 203.0.113.1 39002 refused
check "verify: the kernel matches the XML" vw host verify big
check "apply again has nothing to do" quiet apply

check "apply with a forward added and the bridge's forward delay changed" apply_as "$VWT_TMP/big-bridge.xml"
says "… takes the full path" 'virtwire: plan ' stages apply
says "… which changes the bridge" "^network 'big': applied \([1-9][0-9]* link change" cat "$VWT_TMP/apply.out"
check "… and adds 39001" has_port 39001
check "apply the first file again" apply_as "$VWT_TMP/big-base.xml"

cp "$STATE/big.xml" "$VWT_TMP/big-record.xml"
check_fails "apply with a new forward on one address of a host port forwarded on every address fails" \
	apply_as "$VWT_TMP/big-spec.xml"
says "… in the full path's words" "already forwarded by .* on every IPv4 address" \
	cat "$VWT_TMP/apply.stages" "$VWT_TMP/apply.out"
lacks "… not as an edit" 'virtwire: edit ' stages apply
check "… the record as before" cmp "$STATE/big.xml" "$VWT_TMP/big-record.xml"
check "… and nothing of it in the kernel" \
	eval '! nsx host nft list map inet virtwire fwd4 | grep -q "203\.0\.113\.1 \. 40004"'

check_fails "apply with a new forward named as one the network has fails" apply_as "$VWT_TMP/big-dup.xml"
says "… in the full path's words, at its line" \
	"big\.xml:$(line_of "host-port='39003'" "$VWT_TMP/big-dup.xml"): error: .*two forwards are named 'web'" \
	cat "$VWT_TMP/apply.stages" "$VWT_TMP/apply.out"
lacks "… not as an edit" 'virtwire: edit ' stages apply
check "… the record as before" cmp "$STATE/big.xml" "$VWT_TMP/big-record.xml"
check "… and nothing of it in the kernel" lacks_port 39003
check "teardown big" vw host teardown big

check "the network stops (hook stopped)" vw host hook network inc stopped end - <"$VWT_TMP/started.xml"
lacks "nothing of virtwire's is left" "virtwire" nsx host nft list tables

done_testing
