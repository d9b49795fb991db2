#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# What restoring costs, and how long a host's forwards stay gone after
# someone flushes the ruleset (nftables.service's restart, `nft flush
# ruleset`):
#
#   flush-watch   `nft flush ruleset` → the forward answers again, with
#                 `virtwire watch` running (target: < 1 s)
#   flush-restore the same, with `virtwire restore` run right after the
#                 flush (what virtwire-restore@nftables.service does)
#   restore-*     `virtwire restore` alone: after the flush (repairs),
#                 with nothing missing after someone else's commit (reads
#                 the table, sends nothing), and with nothing missing and
#                 the generation unchanged (reads nothing, sends nothing)
#   quiet         proof that a restore with nothing missing sends nothing:
#                 its JSON report says 0 messages, and `nft monitor` sees no
#                 generation committed by virtwire over RUNS such restores
#                 (each after a commit of someone else's, which it does see)
#
# For a typical network (3 forwards) and one with 10,000 (the probed forward
# last). Topology as flatness.sh: wan ─ host (bridge vwb-bench 198.18.0.1/16)
# ─ guest 198.18.0.10 with a server on port 80; forward 203.0.113.1:8080 →
# 198.18.0.10:80. "Answers" is a TCP connection from wan that gets the
# server's line, tried every 5 ms from the moment before the flush (by a
# prober already running).
#
#   sudo bench/restore.sh     (RUNS=20 SIZES="3 10000"; VW_BIN=...)
. "$(dirname "$0")/lib.sh"

need_root
need_tools python3 nft ip nsenter
need_virtwire
bench_start

T=$BENCH_TMP
RUNS=${RUNS:-20}
SIZES=${SIZES:-3 10000}

bench_ns WAN rst-wan && bench_ns HOST rst-host && bench_ns GUEST rst-guest || die "cannot create namespaces"
ip -n "$HOST" link add wan0 type veth peer name eth0 netns "$WAN"
ip -n "$HOST" addr add 203.0.113.1/24 dev wan0
ip -n "$WAN" addr add 203.0.113.2/24 dev eth0
ip -n "$HOST" link set wan0 up
ip -n "$WAN" link set eth0 up
ip -n "$HOST" link add vwb-bench type bridge stp_state 0 forward_delay 0
ip -n "$HOST" addr add 198.18.0.1/16 dev vwb-bench
ip -n "$HOST" link set vwb-bench up
ip -n "$HOST" link add g-guest type veth peer name eth0 netns "$GUEST"
ip -n "$HOST" link set g-guest master vwb-bench up
ip -n "$GUEST" addr add 198.18.0.10/16 dev eth0
ip -n "$GUEST" link set eth0 up
ip -n "$GUEST" route add default via 198.18.0.1
serve "$GUEST" tcp4 80

# answer_ms COMMAND...: milliseconds from the moment before COMMAND (run
# from wan's namespace, a shell command line) until a connection from wan to
# 203.0.113.1:8080 gets the server's line; at most 10 s, then "none". The
# prober is up before COMMAND runs: its start-up is not in the figure.
answer_ms() {
	ip netns exec "$WAN" python3 - "$*" <<'PY'
import socket, subprocess, sys, time
t0 = time.time_ns()
if subprocess.run(sys.argv[1], shell=True).returncode != 0:
    sys.exit("the command failed: " + sys.argv[1])
while (time.time_ns() - t0) < 10e9:
    try:
        with socket.create_connection(("203.0.113.1", 8080), timeout=0.2) as s:
            s.sendall(b"bench\n")
            if s.makefile().readline().startswith("vwt-"):
                print("%.1f" % ((time.time_ns() - t0) / 1e6))
                sys.exit(0)
    except OSError:
        pass
    time.sleep(0.005)
print("none")
PY
}

# stats VALUES...: "median X ms, p90 Y, max Z (n runs)"; "none" counts as a failure.
stats() {
	python3 - "$@" <<'PY'
import statistics, sys
v = [float(x) for x in sys.argv[1:] if x != "none"]
bad = len(sys.argv[1:]) - len(v)
if not v:
    print("no run answered")
    sys.exit(0)
v.sort()
p90 = v[min(len(v) - 1, int(round(0.9 * len(v))) - 1)]
print("median %.1f ms, p90 %.1f, min %.1f, max %.1f (%d runs%s)" % (statistics.median(v), p90, v[0], v[-1], len(v),
      ", %d without an answer within 10 s" % bad if bad else ""))
PY
}

# restore_json: one restore, its JSON report; the time it took in RESTORE_MS.
restore_json() {
	local t0 t1
	t0=$(date +%s%N)
	in_ns "$HOST" "$VW_BIN" restore --state-dir "$STATE" --format json >"$T/restore.json" || die "restore failed"
	t1=$(date +%s%N)
	RESTORE_MS=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 1e6 }')
}
json() { # FIELD
	python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$T/restore.json" "$1"
}

other_commit() {
	in_ns "$HOST" nft add table ip vwt_other && in_ns "$HOST" nft delete table ip vwt_other
}

one_size() {
	local n=$1 i ms watched=() direct=() repair=() read=() unread=() wpid mon mpid virt others
	STATE=$T/state-$n
	gen -n "$n" --probe 8080=198.18.0.10:80 -o "$T/net-$n.xml"
	in_ns "$HOST" "$VW_BIN" apply --no-schema --state-dir "$STATE" "$T/net-$n.xml" >/dev/null || die "apply failed"
	[ "$(answer_ms true)" != none ] || die "the forward does not answer after apply"

	# Without watch: flush, restore at once (as the systemd unit would).
	for i in $(seq 1 "$RUNS"); do
		direct+=("$(answer_ms "nsenter --net=/run/netns/$HOST sh -c 'nft flush ruleset && $VW_BIN restore --state-dir $STATE >/dev/null'")")
	done
	# restore alone: repairing, reading, and neither.
	for i in $(seq 1 "$RUNS"); do
		in_ns "$HOST" nft flush ruleset
		restore_json
		[ "$(json messages)" -gt 0 ] || die "a restore after a flush sent nothing"
		repair+=("$RESTORE_MS")
		other_commit
		restore_json
		[ "$(json messages)" = 0 ] && [ "$(json unread)" = False ] || die "restore after another commit: $(cat "$T/restore.json")"
		read+=("$RESTORE_MS")
		restore_json
		[ "$(json messages)" = 0 ] && [ "$(json unread)" = True ] || die "restore with nothing changed: $(cat "$T/restore.json")"
		unread+=("$RESTORE_MS")
	done
	record "restore-repair-$n" "$(stats "${repair[@]}")"
	record "restore-read-$n" "$(stats "${read[@]}") (0 messages every time)"
	record "restore-unread-$n" "$(stats "${unread[@]}") (0 messages every time)"
	record "flush-restore-$n" "$(stats "${direct[@]}")"

	# The generation: nft monitor over RUNS rounds of someone else's commit
	# and a restore with nothing missing.
	mon=$T/monitor-$n.out
	ip netns exec "$HOST" timeout 300 nft monitor >"$mon" 2>&1 &
	mpid=$!
	sleep 0.3
	for i in $(seq 1 "$RUNS"); do
		other_commit
		restore_json
	done
	sleep 0.3
	kill "$mpid" 2>/dev/null
	wait "$mpid" 2>/dev/null
	virt=$(grep -c 'new generation .*(virtwire)' "$mon")
	others=$(grep -c 'new generation .*(nft)' "$mon")
	[ "$others" = $((2 * RUNS)) ] || die "nft monitor saw $others of the $((2 * RUNS)) other commits: it was not listening"
	record "quiet-$n" "$RUNS restores with nothing missing: $virt generations committed by virtwire, $others by nft (the monitor saw every one of those)"

	# With watch running.
	ip netns exec "$HOST" "$VW_BIN" watch --state-dir "$STATE" 2>"$T/watch-$n.log" &
	wpid=$!
	VWT_PIDS+=("$wpid")
	for i in $(seq 1 100); do
		grep -q watching "$T/watch-$n.log" && break
		sleep 0.05
	done
	grep -q watching "$T/watch-$n.log" || die "watch did not start: $(cat "$T/watch-$n.log")"
	for i in $(seq 1 "$RUNS"); do
		watched+=("$(answer_ms "nsenter --net=/run/netns/$HOST nft flush ruleset")")
		sleep 0.2
	done
	kill -TERM "$wpid"
	wait "$wpid" || die "watch did not end cleanly"
	record "flush-watch-$n" "$(stats "${watched[@]}")"
	record "watch-log-$n" "$(grep -c restored "$T/watch-$n.log") restores that repaired; $(tail -1 "$T/watch-$n.log" | sed 's/^virtwire watch: //')"
	in_ns "$HOST" "$VW_BIN" teardown --state-dir "$STATE" bench >/dev/null || die "teardown failed"
}

for n in $SIZES; do
	one_size "$n"
done
