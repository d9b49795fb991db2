#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Per-packet cost vs the number of forwards: new TCP connections per second
# through one port forward, with N = 1 and N = 100,000 forwards in place,
# for virtwire (forwards in nftables maps) and for the same forwards as one
# nft rule each (the probed forward LAST in the rule list: the worst case
# for rules). Target: virtwire at N = 100,000 keeps >= 90% of its N = 1 rate.
#
#   wan  eth0 203.0.113.2/24 (+ .10 ... : one client address per run)
#    │ veth
#   host wan0 203.0.113.1/24
#        vwb-bench (bridge) 198.18.0.1/16
#         └─ guest eth0 198.18.0.10/16, connrate server on port 80
#
# Forward: tcp 203.0.113.1:8080 → 198.18.0.10:80 ("probe", the last of N).
# The client (bench/connrate.c) in wan connects, reads one byte, closes, one
# connection after the other, for 5 s or 60,000 connections; median of 3.
#
# Keeping conntrack and TIME_WAIT out of the result:
#   - the server closes first and the client then closes with SO_LINGER 0
#     (RST): no TIME_WAIT socket on either side;
#   - each connection binds the next source port (1024-65023) and each run
#     its own source address, so no 4-tuple (and no conntrack entry) is ever
#     reused;
#   - nf_conntrack_max cannot be raised outside the machine's own namespace
#     (the kernel refuses it in others, and that one is not ours to change;
#     it is 262,144 here): instead a run makes at most 60,000 connections,
#     and every run starts with the host namespace's conntrack table
#     flushed (conntrack -F in that namespace); the count before and after
#     each run, and the entries' states after the first, are printed.
#
#   sudo bench/flatness.sh    (SECONDS_PER_RUN=5 RUNS=3 N_LARGE=100000; VW_BIN=...)
. "$(dirname "$0")/lib.sh"

need_root
need_tools python3 nft ip nsenter
need_virtwire
bench_start

T=$BENCH_TMP
SECS=${SECONDS_PER_RUN:-5}
RUNS=${RUNS:-3}
N_LARGE=${N_LARGE:-100000}
MAXCONN=60000
# PIN=1: client and server each on a CPU of their own (by default the
# scheduler places them; pinning was no steadier, and slower, on 2 cores).
if [ "${PIN:-0}" = 1 ] && [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
	PIN_CLIENT="taskset -c 0" PIN_SERVER="taskset -c 1"
else
	PIN_CLIENT="" PIN_SERVER=""
fi

CONNRATE=$VW_SRC/build/bench/connrate
if [ ! -x "$CONNRATE" ] || [ "$CONNRATE" -ot "$BENCH_DIR/connrate.c" ]; then
	CONNRATE=$T/connrate
	cc -O2 -Wall -o "$CONNRATE" "$BENCH_DIR/connrate.c" || die "cannot build connrate"
fi

bench_ns WAN flat-wan && bench_ns HOST flat-host && bench_ns GUEST flat-guest || die "cannot create namespaces"
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
# One client source address per run (TEST-NET-3, on wan's own link).
for i in $(seq 10 40); do
	ip -n "$WAN" addr add "203.0.113.$i/24" dev eth0
done

# The server, bounded in time (it exits by itself after 20 minutes).
in_ns "$GUEST" $PIN_SERVER "$CONNRATE" serve -p 80 -T 1200 >"$T/server.out" 2>&1 &
VWT_PIDS+=($!)
for _ in $(seq 1 50); do
	grep -q listening "$T/server.out" 2>/dev/null && break
	sleep 0.1
done
grep -q listening "$T/server.out" || die "the server did not start"

gen -n 1 --probe 8080=198.18.0.10:80 -o "$T/fwd-1.xml"
gen -n 1 --probe 8080=198.18.0.10:80 --format nft -o "$T/fwd-1.nft"
gen -n "$N_LARGE" --probe 8080=198.18.0.10:80 -o "$T/fwd-$N_LARGE.xml"
gen -n "$N_LARGE" --probe 8080=198.18.0.10:80 --format nft -o "$T/fwd-$N_LARGE.nft"

ct_count() {
	in_ns "$HOST" cat /proc/sys/net/netfilter/nf_conntrack_count 2>/dev/null || echo 0
}

# ct_reset: every run starts with an empty conntrack table in the host
# namespace (conntrack -F there), so neither the table's size nor entries of
# an earlier run weigh on the next. Without the conntrack tool: wait (at
# most 60 s) for the table to drain.
ct_reset() {
	local i
	if command -v conntrack >/dev/null; then
		in_ns "$HOST" conntrack -F >/dev/null 2>&1
		return 0
	fi
	for i in $(seq 1 120); do
		[ "$(ct_count)" -lt 2000 ] && return 0
		sleep 0.5
	done
	echo "# conntrack did not drain: $(ct_count) entries" >&2
}

# ct_states: the host's conntrack entries by TCP state ("12345 CLOSE ...").
ct_states() {
	command -v conntrack >/dev/null || return 0
	in_ns "$HOST" conntrack -L -p tcp 2>/dev/null | awk '{print $4}' | sort | uniq -c | sort -rn |
		awk '{printf "%s %s, ", $1, $2}' | sed 's/, $//'
}

# load KIND N: the host's ruleset for that case, from an empty one.
load() {
	local kind=$1 n=$2
	in_ns "$HOST" nft flush ruleset
	rm -rf "$T/state"
	sleep 1 # the kernel frees the previous ruleset in the background
	case $kind in
	virtwire)
		# --no-schema: libvirt's RelaxNG validation alone takes about a
		# minute at 100,000 forwards (see apply.sh) and has no bearing
		# on the data path measured here.
		in_ns "$HOST" "$VW_BIN" apply --no-schema --state-dir "$T/state" "$T/fwd-$n.xml" >/dev/null
		;;
	nft-rules)
		in_ns "$HOST" sysctl -qw net.ipv4.ip_forward=1 &&
			in_ns "$HOST" nft -f "$T/fwd-$n.nft"
		;;
	esac || die "$kind: loading $n forwards failed"
	sleep 1
}

# Rounds: each round measures every case once, in turn, so that a slow
# spell of the machine (a shared, 2-core VM here) weighs on all cases alike
# rather than on whichever ran then.
SRC=10
CASES="virtwire:1 virtwire:$N_LARGE nft-rules:1 nft-rules:$N_LARGE"
declare -A RATES
for r in $(seq 1 "$RUNS"); do
	for c in $CASES; do
		kind=${c%%:*} n=${c#*:}
		load "$kind" "$n"
		# The forward must work before it is measured.
		in_ns "$WAN" "$CONNRATE" client -d 203.0.113.1 -p 8080 -b 203.0.113.2 -s $((40000 + 100 * r))-$((40099 + 100 * r)) \
			-n 20 -t 10 >"$T/probe.out" 2>&1 || { cat "$T/probe.out"; die "$kind $n: the forward does not answer"; }
		ct_reset
		before=$(ct_count)
		out=$(in_ns "$WAN" $PIN_CLIENT "$CONNRATE" client -d 203.0.113.1 -p 8080 -b "203.0.113.$SRC" \
			-n "$MAXCONN" -t "$SECS") || die "$kind $n run $r: $out"
		SRC=$((SRC + 1))
		after=$(ct_count)
		echo "# $kind N=$n run $r: $out (host conntrack entries: $before before, $after after)"
		[ "$r" = 1 ] && echo "#   conntrack states after the run: $(ct_states)"
		RATES[$c]="${RATES[$c]:-} $(echo "$out" | sed -n 's/.*rate=\([0-9.]*\).*/\1/p')"
	done
done
median() {
	printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}
declare -A MEDIAN
for c in $CASES; do
	kind=${c%%:*} n=${c#*:}
	# shellcheck disable=SC2086
	MEDIAN[$c]=$(median ${RATES[$c]})
	record "flat-$kind-$n" "${MEDIAN[$c]} conn/s median (runs:${RATES[$c]})"
done

ratio() {
	python3 -c "import sys; print('%.1f%%' % (100 * float(sys.argv[2]) / float(sys.argv[1])))" "$1" "$2"
}
for kind in virtwire nft-rules; do
	record "flat-$kind-ratio" "$(ratio "${MEDIAN[$kind:1]}" "${MEDIAN[$kind:$N_LARGE]}") of the N=1 rate at N=$N_LARGE"
done
