#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# virtwire watch, running for real in the host namespace: the forwards
# answer again within a second after the ruleset is flushed, after table
# inet virtwire is deleted, and after libvirt's firewall re-creates its
# chains in front of virtwire's accept; a burst of changes is one restore;
# virtwire's own batches set off nothing; a port plugged in later gets its
# network's port flags; a forward by guest-mac without a reservation follows
# the address its guest uses; memory and file descriptors stay flat over
# 10,000 events; SIGTERM ends it cleanly.
#
#   wan  203.0.113.2
#    │ veth
#   host wan0 203.0.113.1
#        vw-web 192.168.150.1/24 (nat, virtwire's firewall)
#         ├─ guest1 52:54:00:aa:bb:10 192.168.150.10   (forward 2222 → 22)
#         └─ guest3 52:54:00:aa:bb:30 192.168.150.30, later .31
#                                       (forward 2230 → 22 by guest-mac, no reservation)
#        vwtlv0 192.168.160.1/24 (libvirt's nat, libvirt's nftables firewall)
#         └─ guest2 192.168.160.10                      (forward 2223 → 22)
#        vw-lab 192.168.151.1/24 (host-only, <port isolated='yes'/>)
. "$(dirname "$0")/lib.sh"
need_root

topology() {
	topo_wan &&
		ip -n "$(ns wan)" route add 192.168.160.0/24 via 203.0.113.1 &&
		topo_bridge vw-web 192.168.150.1/24 &&
		topo_guest guest1 vw-web 52:54:00:aa:bb:10 192.168.150.10/24 192.168.150.1 &&
		topo_guest guest3 vw-web 52:54:00:aa:bb:30 192.168.150.30/24 192.168.150.1 &&
		topo_bridge vwtlv0 192.168.160.1/24 &&
		topo_guest guest2 vwtlv0 52:54:00:aa:bb:20 192.168.160.10/24 192.168.160.1 &&
		# A host that probes a neighbour a second after using it (the
		# default is five): a guest's new address is confirmed sooner.
		nsx host sysctl -qw net.ipv4.neigh.vw-web.delay_first_probe_time=1 &&
		nsx host nft -f "$VW_SRC/tests/libvirt/libvirt-nft-nat.nft"
}
setup "topology: wan, host, bridges vw-web and vwtlv0, guests 1-3, libvirt's nftables table" topology

net_doc web vw-web 192.168.150.1/24 mode=nat '<vw:learn-addresses enabled="yes"/>' \
	'<vw:forward name="ssh" proto="tcp" host-port="2222" guest-address="192.168.150.10" guest-port="22"/>' \
	'<vw:forward name="follow" proto="tcp" host-port="2230" guest-mac="52:54:00:aa:bb:30" guest-port="22"/>' \
	>"$VWT_TMP/web.xml"
net_doc vwnat vwtlv0 192.168.160.1/24 forward=nat \
	'<vw:forward name="ssh" proto="tcp" host-port="2223" guest-address="192.168.160.10" guest-port="22"/>' \
	>"$VWT_TMP/lvnat.xml"
net_doc lab vw-lab 192.168.151.1/24 mode=host-only "<port isolated='yes'/>" >"$VWT_TMP/lab.xml"

says "apply web: its forward by MAC without a reservation is a warning" "warning: .*guest-mac-learned" \
	vw host apply "$VWT_TMP/web.xml"
check "apply vwnat (libvirt's nat network with a forward)" vw host apply "$VWT_TMP/lvnat.xml"
check "apply lab" vw host apply "$VWT_TMP/lab.xml"
serve guest1 tcp4 22
serve guest2 tcp4 22
serve guest3 tcp4 22
reach "web's forward answers" wan tcp4 203.0.113.1 2222 '^guest1 203\.0\.113\.2$'
reach "vwnat's forward answers" wan tcp4 203.0.113.1 2223 '^guest2 203\.0\.113\.2$'

# --- watch ---------------------------------------------------------------------

WLOG=$VWT_TMP/watch.log
# Not through a function: $! must be virtwire's own process (ip netns exec
# execs it).
ip netns exec "$(ns host)" "$VW_BIN" watch --state-dir "$VWT_TMP/state-host" --verbose 2>"$WLOG" &
WPID=$!
VWT_PIDS+=("$WPID")
watching() {
	local i
	for i in $(seq 1 100); do
		grep -q 'watching 3 networks' "$WLOG" && return 0
		sleep 0.05
	done
	cat "$WLOG"
	return 1
}
check "watch starts, watching the 3 recorded networks" watching
check "… it is virtwire itself (the PID the test stops)" test "$(cat "/proc/$WPID/comm")" = virtwire

# answers_within MS FROM ADDR PORT REGEX: a tcp4 connection from FROM to
# ADDR:PORT answers (a line matching REGEX) within MS milliseconds of the
# moment the caller took in T0 (date +%s%N); tried every 20 ms.
T0=0
answers_within() {
	vwt_in "$2" timeout 10 python3 - "$T0" "$1" "$3" "$4" "$5" <<'PY'
import re, socket, sys, time
t0, limit, addr, port, want = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5]
got = ""
while True:
    ms = (time.time_ns() - t0) / 1e6
    try:
        with socket.create_connection((addr, port), timeout=0.2) as s:
            s.sendall(b"probe\n")
            got = s.makefile().readline().strip()
    except OSError as e:
        got = "!" + type(e).__name__
    if re.search(want, got):
        print("answered %.0f ms after the change: %s" % (ms, got))
        sys.exit(0 if ms <= limit else 1)
    if ms > limit:
        print("no answer within %d ms (last: %s)" % (limit, got))
        sys.exit(1)
    time.sleep(0.02)
PY
}
restores() {
	grep -c -E 'restored|restore: nothing' "$WLOG"
}
# settled: the log has not grown for half a second (at most 5 s): what the
# last change called for is done.
settled() {
	local i size
	for i in $(seq 1 10); do
		size=$(stat -c %s "$WLOG")
		sleep 0.5
		[ "$(stat -c %s "$WLOG")" = "$size" ] && return 0
	done
	return 1
}

T0=$(date +%s%N)
setup "nft flush ruleset" nsx host nft flush ruleset
check "after a flush, web's forward answers again within a second" \
	answers_within 1000 wan 203.0.113.1 2222 '^guest1 203\.0\.113\.2$'
check "… and vwnat's" answers_within 1500 wan 203.0.113.1 2223 '^guest2 203\.0\.113\.2$'
setup "libvirt's table back (the flush took it too)" eval 'sleep 0.5 && nsx host nft -f "$VW_SRC/tests/libvirt/libvirt-nft-nat.nft"'
setup "watch is done with it" settled
n=$(restores)
sleep 1
check "virtwire's own restore set off no other (no restore in the second after)" test "$(restores)" = "$n"

T0=$(date +%s%N)
setup "nft delete table inet virtwire" nsx host nft delete table inet virtwire
check "after the table is deleted, the forward answers again within a second" \
	answers_within 1000 wan 203.0.113.1 2222 '^guest1 203\.0\.113\.2$'

# libvirt makes its table anew (as at its restart): virtwire's accept is gone
# with the old one, and libvirt's rejects come first.
T0=$(date +%s%N)
setup "libvirt re-creates its nftables table" eval 'nsx host nft delete table ip libvirt_network &&
	nsx host nft -f "$VW_SRC/tests/libvirt/libvirt-nft-nat.nft"'
check "after libvirt re-creates its chains, vwnat's forward answers again within a second" \
	answers_within 1000 wan 203.0.113.1 2223 '^guest2 203\.0\.113\.2$'
says "virtwire's accept is first in libvirt's forward chain again" "^[[:space:]]+oif(name)? \"?vwtlv0\"? ct status dnat .*virtwire" \
	sh -c "ip netns exec $(ns host) nft list chain ip libvirt_network forward | sed -n 4p"

# A burst: ten batches in a row that each call for a restore are one restore
# (nft -i commits each line as a batch of its own, one after the other).
setup "watch is done with the last change" settled
n=$(restores)
burst() {
	local i
	{
		echo "flush ruleset"
		for i in $(seq 1 9); do
			echo "add table ip vwt_burst$i; add chain ip vwt_burst$i c { type filter hook input priority 0; }"
		done
	} | nsx host nft -i >/dev/null
}
setup "a burst of ten batches (a flush, then nine firewalls starting)" burst
setup "watch is done with the burst" settled
check "a burst of ten batches is one restore" test "$(restores)" = $((n + 1))
reach "… after which the forward answers" wan tcp4 203.0.113.1 2222 '^guest1 203\.0\.113\.2$'
setup "libvirt's table back" eval 'for i in $(seq 1 9); do nsx host nft delete table ip vwt_burst$i; done;
	nsx host nft -f "$VW_SRC/tests/libvirt/libvirt-nft-nat.nft"'

# --- ports plugged in later --------------------------------------------------------

port_flag() { # PORT FLAG: within a second, the bridge port shows FLAG on
	local i
	for i in $(seq 1 20); do
		nsx host ip -d link show "$1" | grep -q "$2 on" && return 0
		sleep 0.05
	done
	nsx host ip -d link show "$1"
	return 1
}
setup "a port plugged into vw-web after the apply" eval 'nsx host ip link add late-web type veth peer name late-web-p &&
	nsx host ip link set late-web master vw-web up'
check "it gets web's hairpin flag within a second" port_flag late-web hairpin
setup "a port plugged into vw-lab after the apply" eval 'nsx host ip link add late-lab type veth peer name late-lab-p &&
	nsx host ip link set late-lab master vw-lab up'
check "it gets lab's isolated flag within a second" port_flag late-lab isolated
says "watch said so" "network 'lab': port late-lab got the network's port flags" cat "$WLOG"

# --- a forward that follows its guest ---------------------------------------------

follows() { # ADDR: the forward by MAC reaches guest3, at ADDR in the map
	local i
	for i in $(seq 1 100); do
		nsx host nft list map inet virtwire fwd4any 2>/dev/null | grep -q "tcp \. 2230 .*: $1 \. 22" && break
		sleep 0.05
	done
	T0=$(date +%s%N)
	answers_within 1000 wan 203.0.113.1 2230 '^guest3 203\.0\.113\.2$'
}
setup "guest3 talks to its gateway" nsx guest3 ping -c 1 -W 2 192.168.150.1
check "the forward by MAC follows guest3 at 192.168.150.30" follows 192.168.150.30
says "the address is recorded for restore and the hooks" "^addr web 52:54:00:aa:bb:30 192\.168\.150\.30$" \
	cat "$VWT_TMP/state-host/learned"
says "restore plans the same (nothing missing)" "nothing was missing" vw host restore
check "verify: no drift" vw host verify web
setup "guest3 moves to 192.168.150.31" eval 'nsx guest3 ip addr flush dev eth0 &&
	nsx guest3 ip addr add 192.168.150.31/24 dev eth0 && nsx guest3 ip route add default via 192.168.150.1 &&
	nsx guest3 ping -c 3 -i 0.5 -W 2 192.168.150.1'
check "the forward follows guest3 to 192.168.150.31" follows 192.168.150.31
says "watch said so" "network 'web': guest 52:54:00:aa:bb:30 uses 192\.168\.150\.31" cat "$WLOG"
sleep 2
check "… and stays there (the old address's entry going stale changes nothing)" \
	sh -c "ip netns exec $(ns host) nft list map inet virtwire fwd4any | grep -q 'tcp . 2230 .*: 192.168.150.31 . 22'"

# --- 10,000 events, flat ------------------------------------------------------------

# What the kernel announces in batches of 200 events: a table with a base
# chain, made and deleted 50 times in one batch (each batch calls for one
# restore); and 2,000 link events (a link's alias changed).
events() { # BATCHES
	local b i f=$VWT_TMP/events.nft
	: >"$f"
	for i in $(seq 1 50); do
		echo "add table ip vwt_ev; add chain ip vwt_ev c { type filter hook input priority 0; }; delete table ip vwt_ev"
	done >"$f"
	for b in $(seq 1 "$1"); do
		nsx host nft -f "$f" || return 1
		sleep 0.01
	done
}
links() { # N
	local i
	for i in $(seq 1 "$1"); do
		echo "link set vwt-ev0 alias vwt-event-$i"
	done >"$VWT_TMP/links.batch"
	nsx host ip -batch "$VWT_TMP/links.batch"
}
usage() { # RSS in kB, open fds
	echo "$(awk '/^VmRSS/ {print $2}' "/proc/$WPID/status") $(ls "/proc/$WPID/fd" | wc -l)"
}
setup "a link to change" nsx host ip link add vwt-ev0 type veth peer name vwt-ev1
setup "warm-up: 2,000 events" events 10
sleep 1
read -r rss0 fd0 < <(usage)
setup "10,000 nftables events" events 50
setup "2,000 link events" links 2000
sleep 2
read -r rss1 fd1 < <(usage)
diag "watch: VmRSS ${rss0} kB -> ${rss1} kB, ${fd0} -> ${fd1} open fds"
check "memory stays flat over 12,000 events (VmRSS grew less than 256 kB)" test $((rss1 - rss0)) -lt 256
check "file descriptors stay flat" test "$fd1" = "$fd0"
reach "the forwards still answer" wan tcp4 203.0.113.1 2222 '^guest1 203\.0\.113\.2$'

# --- SIGTERM -------------------------------------------------------------------------

stop() {
	local i
	kill -TERM "$WPID"
	for i in $(seq 1 40); do
		kill -0 "$WPID" 2>/dev/null || break
		sleep 0.05
	done
	wait "$WPID"
}
check "SIGTERM ends watch with exit status 0" stop
says "… after saying what it did" "stopped after [0-9]+ events and [0-9]+ restores" cat "$WLOG"
count=$(sed -n 's/.*stopped after \([0-9]*\) events.*/\1/p' "$WLOG")
check "… over 12,000 events read (${count:-none})" test "${count:-0}" -ge 12000
check "the forwards stay after watch ends" nsx host nft list map inet virtwire fwd4any
done_testing
