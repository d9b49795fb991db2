#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# virtwire's log, read back (docs/logging.md). The hooks and the CLI run in
# the namespace "host" and in a private mount namespace (a holder process
# owns it: a tmpfs /run, and a /dev of the test's own holding only null),
# where the journal's socket /run/systemd/journal/socket, and later syslog's
# /dev/log, are unix datagram sockets that tests/lib/logsink.py reads: the
# journal's native protocol (binary-length fields included) or syslog's
# lines, one JSON record each. Asserted: the fields of a network started
# call (operation, network, result, duration, identifier, priority), a
# change it made, a warning with its code and the line of `virsh
# net-dumpxml`, a failure at stopped (exit 0, PRIORITY=3), apply -v showing
# on stderr the lines it logs; then, without the journal's socket, the same
# through syslog; then a real systemd-journald (volatile, in the namespace),
# read back with journalctl's field matches.
#
#   host: bridge vw-lg 192.168.190.1/24 (libvirt's, as the network hook sees it)
. "$(dirname "$0")/lib.sh"
need_root
need_tools nsenter unshare python3

setup "namespace host, bridge vw-lg" eval 'ns_add host && topo_bridge vw-lg 192.168.190.1/24'
SINK=$VW_SRC/tests/lib/logsink.py
STATE=$VWT_TMP/state
J=$VWT_TMP/journal.jsonl
S=$VWT_TMP/syslog.jsonl

# libvirt's stdin for the network hook: <network> on line 2, so line N of
# `virsh net-dumpxml lg` is line N+1 here. The forward of port 2223 is on
# line 9 of the network.
cat >"$VWT_TMP/hook.xml" <<'XML'
<hookData>
  <network>
    <name>lg</name>
    <uuid>0b3f3c1e-5f0a-4d0e-9a39-1d1c0e6a4c01</uuid>
    <forward mode='open'/>
    <bridge name='vw-lg' stp='off' delay='0'/>
    <ip address='192.168.190.1' prefix='24'/>
    <metadata>
      <vw:network xmlns:vw="urn:virtwire:1" mode="nat">
        <vw:forward name="web" proto="tcp" host-port="2223" guest-address="192.168.190.10" guest-port="80"/>
      </vw:network>
    </metadata>
  </network>
</hookData>
XML
# The same network as `virsh net-dumpxml` would print it (for apply).
sed -e '1d' -e '$d' -e 's/^  //' "$VWT_TMP/hook.xml" >"$VWT_TMP/lg.xml"
FWD_LINE=$(grep -n 'host-port="2223"' "$VWT_TMP/lg.xml" | cut -d: -f1)

# --- the mount namespace ------------------------------------------------------
mkdir -p "$VWT_TMP/dev" && touch "$VWT_TMP/dev/null"
ip netns exec "$(ns host)" unshare -m --propagation private bash -c '
	mount -t tmpfs tmpfs /run && mkdir -p /run/systemd/journal &&
	mount --bind /dev/null "$1/dev/null" && mount --rbind "$1/dev" /dev &&
	echo ready >"$1/holder" && exec sleep 3600' _ "$VWT_TMP" </dev/null >/dev/null 2>&1 &
HOLDER=$!
VWT_PIDS+=("$HOLDER")
for _ in $(seq 1 100); do [ -e "$VWT_TMP/holder" ] && break; sleep 0.05; done
setup "the mount namespace" test -e "$VWT_TMP/holder"
inside() { nsenter -t "$HOLDER" -n -m -- "$@"; }
setup "its /run is its own" inside test ! -e /run/systemd/journal/socket

# sink KIND SOCKET OUT: logsink.py inside, until ready; its PID in SINK_PID.
sink() {
	inside timeout 600 python3 "$SINK" "$1" "$2" "$3" </dev/null >"$VWT_TMP/sink-$1.out" 2>&1 &
	SINK_PID=$!
	VWT_PIDS+=("$SINK_PID")
	for _ in $(seq 1 100); do grep -qx ready "$VWT_TMP/sink-$1.out" 2>/dev/null && return 0; sleep 0.05; done
	cat "$VWT_TMP/sink-$1.out"
	return 1
}
# hook OP SUBOP: the network hook as libvirt runs it (stderr kept).
hook() {
	inside "$VW_BIN" hook network --state-dir "$STATE" lg "$1" "$2" - <"$VWT_TMP/hook.xml" 2>"$VWT_TMP/hook.err"
}
# found OUT KEY=VALUE... [.FIELD]: the last record with those fields.
found() {
	python3 "$SINK" find "$@"
}
# Records arrive a datagram at a time: wait (bounded) for one.
wait_for() {
	for _ in $(seq 1 40); do found "$@" >/dev/null && break; sleep 0.05; done
	found "$@"
}

# --- the journal --------------------------------------------------------------
setup "a journal socket (logsink.py)" sink journal /run/systemd/journal/socket "$J"
serve host tcp4 2223

check "network started: exit 0" hook started begin
says "the call's summary: operation, network, result, priority, identifier" '^[0-9]+$' \
	wait_for "$J" VIRTWIRE_OPERATION="network started" VIRTWIRE_NETWORK=lg VIRTWIRE_RESULT=ok PRIORITY=6 \
	SYSLOG_IDENTIFIER=virtwire .VIRTWIRE_DURATION_MS
says "… its message names the network" "^network 'lg': network started: done \([0-9]+ ms\)$" \
	found "$J" VIRTWIRE_OPERATION="network started" VIRTWIRE_RESULT=ok .MESSAGE
says "a change it made: table inet virtwire, at notice" "^network 'lg': table inet virtwire: " \
	found "$J" VIRTWIRE_OPERATION="network started" VIRTWIRE_NETWORK=lg VIRTWIRE_OBJECT="table inet virtwire" \
	PRIORITY=5 .MESSAGE
says "the forward's port is in use: a warning, with its code and line $FWD_LINE" "^$FWD_LINE\$" \
	found "$J" VIRTWIRE_OPERATION="network started" VIRTWIRE_CODE=port-in-use PRIORITY=4 .VIRTWIRE_LINE
says "… on stderr too, naming the network, the line of virsh net-dumpxml and the forward" \
	"^virtwire: warning: network 'lg' \(virsh net-dumpxml lg, line $FWD_LINE\): forward 'web': " cat "$VWT_TMP/hook.err"
lacks "no path under the state directory in any record" "$STATE" cat "$J"

# A failure libvirt ignores: the state directory is not safe to use.
setup "the state directory writable by others" chmod 0777 "$STATE"
check "network stopped that fails: exit 0 all the same" hook stopped end
says "… logged at error level: PRIORITY=3, result failed" "libvirt goes on" \
	wait_for "$J" VIRTWIRE_OPERATION="network stopped" VIRTWIRE_NETWORK=lg VIRTWIRE_RESULT=failed PRIORITY=3 .MESSAGE
says "… and why, at error level" "writable by others" \
	found "$J" VIRTWIRE_OPERATION="network stopped" PRIORITY=3 VIRTWIRE_NETWORK=lg .MESSAGE
setup "the state directory safe again" chmod 0700 "$STATE"
check "network stopped: exit 0" hook stopped end
says "… result ok" "^6$" wait_for "$J" VIRTWIRE_OPERATION="network stopped" VIRTWIRE_RESULT=ok .PRIORITY

# apply -v: stderr shows the lines the journal gets.
inside "$VW_BIN" apply -v --no-schema --state-dir "$STATE" "$VWT_TMP/lg.xml" >/dev/null 2>"$VWT_TMP/apply.err"
setup "apply's summary reached the journal" wait_for "$J" VIRTWIRE_OPERATION=apply VIRTWIRE_RESULT=ok
python3 -c '
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("VIRTWIRE_OPERATION") == "apply":
        print("virtwire: " + {"3": "error: ", "4": "warning: "}.get(r["PRIORITY"], "") + r["MESSAGE"])
' "$J" >"$VWT_TMP/apply.journal"
grep '^virtwire: ' "$VWT_TMP/apply.err" >"$VWT_TMP/apply.stderr" || true
check "apply -v: stderr has exactly the journal's lines of the apply" diff "$VWT_TMP/apply.journal" "$VWT_TMP/apply.stderr"
says "… among them its changes" "^virtwire: network 'lg': table inet virtwire: repaired: " cat "$VWT_TMP/apply.stderr"
says "apply's warning (the forward's port is in use) is in the journal too, with its code and line" "^$FWD_LINE\$" \
	found "$J" VIRTWIRE_OPERATION=apply VIRTWIRE_CODE=port-in-use PRIORITY=4 .VIRTWIRE_LINE
inside "$VW_BIN" teardown --state-dir "$STATE" lg >/dev/null 2>&1

# A teardown logs the links it removes: a network whose bridge virtwire made.
cat >"$VWT_TMP/lgx.xml" <<'XML'
<network>
  <name>lgx</name>
  <forward mode='open'/>
  <bridge name='vw-lgx' stp='off'/>
  <ip address='192.168.197.1' prefix='24'/>
  <metadata><vw:network xmlns:vw="urn:virtwire:1" mode="host-only"/></metadata>
</network>
XML
setup "apply lgx (virtwire makes its bridge)" inside "$VW_BIN" apply --no-schema --state-dir "$STATE" "$VWT_TMP/lgx.xml"
check "teardown lgx" inside "$VW_BIN" teardown --state-dir "$STATE" lgx
says "teardown's record of the bridge it removed" "^network 'lgx': bridge vw-lgx: undone" \
	wait_for "$J" VIRTWIRE_OPERATION=teardown VIRTWIRE_NETWORK=lgx VIRTWIRE_OBJECT="bridge vw-lgx" .MESSAGE

# --- syslog, where there is no journal ----------------------------------------
kill "$SINK_PID" 2>/dev/null
wait "$SINK_PID" 2>/dev/null
setup "the journal's socket gone" inside rm -f /run/systemd/journal/socket
JOURNAL_BEFORE=$(wc -l <"$J")
setup "a syslog socket at /dev/log (logsink.py)" sink syslog /dev/log "$S"
check "network started (syslog): exit 0" hook started begin
says "syslog: the call's line, as virtwire, at info" "^network 'lg': network started: done \([0-9]+ ms\)$" \
	wait_for "$S" SYSLOG_IDENTIFIER=virtwire PRIORITY=6 .MESSAGE
says "syslog: the warning, at warning level" "^network 'lg' \(virsh net-dumpxml lg, line $FWD_LINE\): forward 'web'" \
	found "$S" SYSLOG_IDENTIFIER=virtwire PRIORITY=4 .MESSAGE
setup "the state directory writable by others" chmod 0777 "$STATE"
check "network stopped that fails (syslog): exit 0" hook stopped end
says "syslog: the failure at error level" "network stopped failed \(libvirt goes on\)" \
	wait_for "$S" SYSLOG_IDENTIFIER=virtwire PRIORITY=3 .MESSAGE
setup "the state directory safe again" chmod 0700 "$STATE"
check "nothing more went to the journal's old file" test "$(wc -l <"$J")" = "$JOURNAL_BEFORE"
hook stopped end || true

# --- a real journald, read back with journalctl -------------------------------
# Debian's systemd-journald, in the mount namespace: volatile storage on its
# own /run, no kernel messages, nothing forwarded, its configuration the
# test's; it wants a cgroup file system (a cgroup2 of the namespace's own).
JD=/lib/systemd/systemd-journald
if [ -x "$JD" ] && command -v journalctl >/dev/null; then
	printf '[Journal]\nStorage=volatile\nReadKMsg=no\nForwardToSyslog=no\nForwardToKMsg=no\nForwardToConsole=no\nForwardToWall=no\n' \
		>"$VWT_TMP/journald.conf"
	setup "the namespace's cgroup2, /var/log and journald.conf" inside sh -c '
		mount -t cgroup2 none /sys/fs/cgroup && mount -t tmpfs tmpfs /var/log &&
		mount --bind "$1" /etc/systemd/journald.conf' _ "$VWT_TMP/journald.conf"
	inside timeout 600 "$JD" </dev/null >"$VWT_TMP/journald.log" 2>&1 &
	VWT_PIDS+=("$!")
	for _ in $(seq 1 100); do inside test -S /run/systemd/journal/socket && break; sleep 0.05; done
	setup "journald listens" inside test -S /run/systemd/journal/socket
	check "network started (journald): exit 0" hook started begin
	journal_recs() { # FIELD=VALUE...: journalctl's records that match, JSON
		inside journalctl -D /run/log/journal --no-pager -o json SYSLOG_IDENTIFIER=virtwire "$@"
	}
	for _ in $(seq 1 40); do journal_recs VIRTWIRE_RESULT=ok | grep -q . && break; sleep 0.05; done
	says "journalctl VIRTWIRE_NETWORK=lg VIRTWIRE_OPERATION='network started' VIRTWIRE_RESULT=ok: the summary" \
		'"MESSAGE":"network .lg.: network started: done' \
		journal_recs VIRTWIRE_NETWORK=lg "VIRTWIRE_OPERATION=network started" VIRTWIRE_RESULT=ok PRIORITY=6
	says "journalctl: its change, VIRTWIRE_OBJECT=table inet virtwire" '"PRIORITY":"5"' \
		journal_recs VIRTWIRE_NETWORK=lg "VIRTWIRE_OBJECT=table inet virtwire"
	says "journalctl: the warning, VIRTWIRE_LINE=$FWD_LINE" "\"VIRTWIRE_LINE\":\"$FWD_LINE\"" \
		journal_recs VIRTWIRE_CODE=port-in-use PRIORITY=4
	hook stopped end || true
else
	skip "a real journald" "$JD or journalctl is missing"
fi

done_testing
