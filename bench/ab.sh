#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Two virtwire binaries side by side in one run (this machine is noisy:
# only a comparison made in the same minutes means anything): ROUNDS rounds,
# each running every command once with each binary, in alternating order.
# Per binary and command: the median, and the ratio B/A of the medians.
#
#   check            virtwire check FILE (with libvirt's schemas)
#   check-noschema   virtwire check --no-schema FILE
#   apply            virtwire apply FILE into an empty namespace (reset
#                    before every run: `nft flush ruleset`, forwarding off,
#                    the state directory removed, the bridge fixture there)
#   apply-noschema   the same with --no-schema
#   reapply          virtwire apply FILE again: nothing changes
#
# Also the instructions of one apply --no-schema of each binary, counted by
# callgrind (repeatable whatever the machine is doing).
#
#   sudo bench/ab.sh A_BIN B_BIN        (N=10000 forwards, ROUNDS=15)
. "$(dirname "$0")/lib.sh"

[ $# -eq 2 ] || die "usage: sudo bench/ab.sh A_BIN B_BIN"
A=$1
B=$2
N=${N:-10000}
ROUNDS=${ROUNDS:-15}
need_root
need_tools python3 nft nsenter
[ -x "$A" ] && [ -x "$B" ] || die "both binaries must exist"
bench_start
record A "$A${A_LABEL:+ ($A_LABEL)}"
record B "$B${B_LABEL:+ ($B_LABEL)}"
T=$BENCH_TMP
# STATE_DIR=/dev/shm/...: the records on another file system (tmpfs: no
# cost of fsync).
ST=${STATE_DIR:-$T/state}
bench_ns NS ab || die "cannot create a namespace"
gen -n "$N" --bridge vwb-bench >"$T/net.xml" || die "cannot generate the network"

reset_ns() {
	in_ns "$NS" nft flush ruleset
	in_ns "$NS" sysctl -qw net.ipv4.ip_forward=0 net.ipv6.conf.all.forwarding=0
	ip -n "$NS" link show vwb-bench >/dev/null 2>&1 ||
		{ ip -n "$NS" link add vwb-bench type bridge && ip -n "$NS" link set vwb-bench up; }
	rm -rf "$ST"
	sleep 0.1
}

# timed LABEL COMMAND...: one run, its wall time appended to LABEL's file.
timed() {
	local label=$1
	shift
	timed_run "$T/$label" "$@"
}

one_round() {
	local bin=$1 tag=$2
	timed "$tag-check" "$bin" check "$T/net.xml"
	timed "$tag-check-noschema" "$bin" check --no-schema "$T/net.xml"
	reset_ns
	timed "$tag-apply" in_ns "$NS" "$bin" apply --state-dir "$ST" "$T/net.xml"
	timed "$tag-reapply" in_ns "$NS" "$bin" apply --state-dir "$ST" "$T/net.xml"
	reset_ns
	timed "$tag-apply-noschema" in_ns "$NS" "$bin" apply --no-schema --state-dir "$ST" "$T/net.xml"
}

for r in $(seq 1 "$ROUNDS"); do
	if [ $((r % 2)) = 1 ]; then
		one_round "$A" A
		one_round "$B" B
	else
		one_round "$B" B
		one_round "$A" A
	fi
done

for cmd in check check-noschema apply apply-noschema reapply; do
	record "$cmd" "$(median_ratios "$T/A-$cmd" "$T/B-$cmd")"
done

if command -v valgrind >/dev/null; then
	for tag in A B; do
		bin=$A
		[ $tag = B ] && bin=$B
		reset_ns
		in_ns "$NS" valgrind --tool=callgrind --callgrind-out-file="$T/cg-$tag" \
			"$bin" apply --no-schema --state-dir "$ST" "$T/net.xml" >/dev/null 2>"$T/cg-$tag.log" ||
			die "callgrind of $tag failed"
		record "instructions-$tag" "$(grep -m1 -o 'Collected : [0-9]*' "$T/cg-$tag.log" | cut -d' ' -f3)"
	done
fi
