#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# tests/libvirt/logging.sh - what libvirt's hooks log, and the lines their
# findings name (docs/logging.md). The sandbox's /run is its own: there
# /run/systemd/journal/socket is a unix datagram socket that
# tests/lib/logsink.py reads, decoding the journal's native protocol, so the
# hooks libvirtd runs log into it as into journald.
#
#   ┌─ netns vwt-logPID (sandbox: libvirtd, virtwire hooks) ─────────────────┐
#   │ lga vw-lga 192.168.191.1/24  nat, forwards 2222 (ssh) and 2223 (web);  │
#   │                              a host process listens on 2223: warning  │
#   │ lgb vw-lgb 192.168.192.1/24  forwards 2222 too: refused at start      │
#   └──────────────────────────────────────────────────────────────────────────┘
#
# Asserted: network started's record (operation, network, result, duration,
# priority, identifier) and a change line; the warning's line, and the
# refused start's lines (its own and the other network's), each equal to
# the line of that <vw:forward> in `virsh net-dumpxml NAME`, in the journal
# and in virsh's error, never a path under the state directory; a failing
# 'stopped' exits 0 for libvirt and is logged at PRIORITY=3.
#
# Exit: 0 pass, 1 fail, 77 skip. TAP on stdout.
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/libvirt/lib.sh
source "$HERE/lib.sh"
vwt_require

vwt_sandbox "log$$"
x=$VWT_TMP
SINK=$VW_SRC/tests/lib/logsink.py
J=$x/journal.jsonl
vwt_in sb python3 -c pass 2>/dev/null || vwt_skip "no python3 in the sandbox's tree"

mknet() { # NAME BRIDGE SUBNET FORWARDS...
	local name=$1 br=$2 sub=$3
	shift 3
	{
		printf "<network>\n  <name>%s</name>\n  <forward mode='open'/>\n  <bridge name='%s' stp='off'/>\n" \
			"$name" "$br"
		printf "  <ip address='%s.1' prefix='24'/>\n  <metadata>\n" "$sub"
		printf '    <vw:network xmlns:vw="urn:virtwire:1" mode="nat">\n'
		printf '%s\n' "$@"
		printf '    </vw:network>\n  </metadata>\n</network>\n'
	} >"$x/$name.xml"
}
mknet lga vw-lga 192.168.191 \
	'      <vw:forward name="ssh" proto="tcp" host-port="2222" guest-address="192.168.191.10" guest-port="22"/>' \
	'      <vw:forward name="web" proto="tcp" host-port="2223" guest-address="192.168.191.11" guest-port="80"/>'
mknet lgb vw-lgb 192.168.192 \
	'      <vw:forward name="ssh" proto="tcp" host-port="2222" guest-address="192.168.192.10" guest-port="22"/>'

# The journal's socket, in the sandbox's own /run.
setup "the sandbox's /run has no journal" vwt_in sb test ! -e /run/systemd/journal/socket
setup "its folder" vwt_in sb mkdir -p /run/systemd/journal
vwt_in sb timeout 600 python3 "$SINK" journal /run/systemd/journal/socket "$J" </dev/null >"$x/sink.out" 2>&1 &
VWT_PIDS+=("$!")
for _ in $(seq 1 100); do grep -qx ready "$x/sink.out" 2>/dev/null && break; sleep 0.05; done
setup "a journal socket (logsink.py)" grep -qx ready "$x/sink.out"
found() { python3 "$SINK" find "$@"; }
wait_for() {
	for _ in $(seq 1 40); do found "$@" >/dev/null && break; sleep 0.05; done
	found "$@"
}
# line NAME PORT: the line of the forward of host port PORT in `virsh
# net-dumpxml NAME`, as the operator sees it.
line() {
	vw_virsh net-dumpxml "$1" | grep -n "host-port=.$2." | cut -d: -f1
}

serve sb tcp4 2223
check "lga starts" vwt_define_start "$x/lga.xml"
says "network started: its record (operation, network, result, priority, identifier, duration)" '^[0-9]+$' \
	wait_for "$J" VIRTWIRE_OPERATION="network started" VIRTWIRE_NETWORK=lga VIRTWIRE_RESULT=ok PRIORITY=6 \
	SYSLOG_IDENTIFIER=virtwire .VIRTWIRE_DURATION_MS
says "… and a change it made, at notice" "^network 'lga': table inet virtwire: " \
	found "$J" VIRTWIRE_OPERATION="network started" VIRTWIRE_NETWORK=lga VIRTWIRE_OBJECT="table inet virtwire" \
	PRIORITY=5 .MESSAGE
says "network start: its record too" "^network 'lga': network start: done" \
	found "$J" VIRTWIRE_OPERATION="network start" VIRTWIRE_NETWORK=lga VIRTWIRE_RESULT=ok .MESSAGE
WEB_LINE=$(line lga 2223)
setup "virsh net-dumpxml lga shows the forward of 2223" test -n "$WEB_LINE"
says "the port-in-use warning names line $WEB_LINE, the forward's in virsh net-dumpxml lga" "^$WEB_LINE\$" \
	found "$J" VIRTWIRE_OPERATION="network started" VIRTWIRE_NETWORK=lga VIRTWIRE_CODE=port-in-use PRIORITY=4 \
	.VIRTWIRE_LINE
says "… and its message says where and which forward" \
	"^network 'lga' \(virsh net-dumpxml lga, line $WEB_LINE\): forward 'web'" \
	found "$J" VIRTWIRE_CODE=port-in-use .MESSAGE

# lgb's forward collides with lga's: refused at 'start' (before libvirt
# builds anything), each side named by its own line.
setup "lgb defined" vw_virsh net-define "$x/lgb.xml"
B_LINE=$(line lgb 2222)
A_LINE=$(line lga 2222)
setup "virsh net-dumpxml shows both forwards of 2222" test -n "$B_LINE" -a -n "$A_LINE"
vw_virsh net-start lgb >"$x/lgb.out" 2>&1 && bail "lgb started although its forward collides"
diag "virsh net-start lgb: $(tr '\n' ' ' <"$x/lgb.out")"
says "virsh's error: network 'lgb', line $B_LINE of virsh net-dumpxml lgb, forward 'ssh'" \
	"network 'lgb' \(virsh net-dumpxml lgb, line $B_LINE\): forward 'ssh'" cat "$x/lgb.out"
says "… and the other side as line $A_LINE of virsh net-dumpxml lga" "virsh net-dumpxml lga:$A_LINE\)" cat "$x/lgb.out"
lacks "… no path under the state directory" "$VWT_STATE|\.xml:[0-9]" cat "$x/lgb.out"
says "the journal: the same finding at error level, VIRTWIRE_LINE=$B_LINE" "^$B_LINE\$" \
	wait_for "$J" VIRTWIRE_OPERATION="network start" VIRTWIRE_NETWORK=lgb VIRTWIRE_CODE=forward-collision \
	PRIORITY=3 .VIRTWIRE_LINE
says "… and the call failed" "^3$" \
	found "$J" VIRTWIRE_OPERATION="network start" VIRTWIRE_NETWORK=lgb VIRTWIRE_RESULT=failed .PRIORITY
lacks "no record names a path under the state directory" "$VWT_STATE" cat "$J"

# A failure libvirt ignores: 'stopped' with the state directory unsafe.
setup "the state directory writable by others" chmod 0777 "$VWT_STATE"
check "net-destroy lga succeeds (libvirt ignores 'stopped')" vw_virsh net-destroy lga
says "… the failure is logged: network stopped, result failed, PRIORITY=3" "libvirt goes on" \
	wait_for "$J" VIRTWIRE_OPERATION="network stopped" VIRTWIRE_NETWORK=lga VIRTWIRE_RESULT=failed PRIORITY=3 \
	.MESSAGE
setup "the state directory safe again" chmod 0700 "$VWT_STATE"
# libvirt has stopped lga, but its failed 'stopped' left the record, which
# says libvirt runs it in mode open: teardown wants --force for that.
setup "lga torn down by hand" vwt_vw teardown --force lga
vw_virsh net-undefine lga >/dev/null 2>&1
vw_virsh net-undefine lgb >/dev/null 2>&1
check "nothing of lga left" vwt_net_gone lga vw-lga

done_testing
