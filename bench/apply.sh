#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Time to apply, and to tear down, one network with N port forwards, into a
# network namespace of the benchmark's own (vwt-bench-apply-PID, a bridge
# vwb-bench in it as the fixture libvirt would have created), for
# N = 1, 100, 1,000, 10,000, 100,000:
#
#   virtwire          virtwire apply FILE (as a user runs it: with libvirt's
#                     schema validation), and virtwire teardown NAME
#   virtwire-noschema virtwire apply --no-schema FILE (the same without the
#                     RelaxNG step; for where the time goes)
#   nft-plan          `nft -f` of the tables `virtwire plan --nft` prints for
#                     the same XML: the same ruleset as virtwire's, loaded
#                     by nft (the issue 14 comparison)
#   nft-rules         the same forwards as one nft rule each, one `nft -f`
#                     (table ip natbench, prerouting nat chain,
#                     `tcp dport P dnat to A:P'` per forward);
#                     teardown: nft delete table ip natbench
#   iptables          one `iptables -t nat -A PREROUTING ...` per forward,
#                     the whole loop timed (N <= 1,000 only);
#                     teardown: iptables -t nat -F PREROUTING
#
# Between runs hyperfine's --prepare resets the namespace: `nft flush
# ruleset`, forwarding back off, the state dir removed, then a pause so the
# kernel's deferred freeing of the last run's objects is over before the
# next timed run. Peak memory (maximum RSS, /usr/bin/time -v) at N = 100,000.
# The 100,000-forward virtwire apply takes about two minutes at b907655 (see
# RESULTS.md), so it is timed in a loop with /usr/bin/time (which also gives
# its peak memory), not with hyperfine: SLOW_RUNS runs (default 1).
#
#   sudo bench/apply.sh       (SIZES="1 100 1000" for a subset; VW_BIN=...)
. "$(dirname "$0")/lib.sh"

need_root
need_tools hyperfine python3 nft iptables nsenter
need_virtwire
[ -x /usr/bin/time ] || die "/usr/bin/time is missing (Debian: apt-get install time)"
bench_start
record iptables "$(iptables -V)"
record nft "$(nft -v)"

T=$BENCH_TMP
SIZES=${SIZES:-"1 100 1000 10000 100000"}
bench_ns NS apply || die "cannot create a namespace"
ST=$T/state

# reset: the namespace as new (bridge fixture, empty ruleset, forwarding off).
cat >"$T/reset.sh" <<EOF
#!/bin/sh
n=/run/netns/$NS
nsenter --net=\$n nft flush ruleset
nsenter --net=\$n sysctl -qw net.ipv4.ip_forward=0 net.ipv6.conf.all.forwarding=0
ip -n $NS link show vwb-bench >/dev/null 2>&1 || { ip -n $NS link add vwb-bench type bridge && ip -n $NS link set vwb-bench up; }
rm -rf $ST
sleep \${1:-0.05}
EOF
# prep KIND N: reset, then put that N's forwards in place (for teardown).
cat >"$T/prep.sh" <<EOF
#!/bin/sh
kind=\$1 n=\$2 pause=\$3
$T/reset.sh 0 || exit 1
case \$kind in
virtwire) nsenter --net=/run/netns/$NS $VW_BIN apply --no-schema --state-dir $ST $T/fwd-\$n.xml >/dev/null ;;
nft-rules) nsenter --net=/run/netns/$NS nft -f $T/fwd-\$n.nft ;;
iptables) nsenter --net=/run/netns/$NS sh $T/fwd-\$n.sh ;;
esac || exit 1
sleep \$pause
EOF
chmod +x "$T/reset.sh" "$T/prep.sh"
"$T/reset.sh" 0 || die "cannot reset $NS"

# hf NAME RUNS WARMUP PREPARE COMMAND
hf() {
	local name=$1 runs=$2 warmup=$3 prepare=$4 cmd=$5
	hyperfine -N --style basic --runs "$runs" --warmup "$warmup" --prepare "$prepare" \
		--export-json "$BENCH_OUT/${BENCH_TAG:+$BENCH_TAG-}$name.json" --command-name "$name" "$cmd" >"$T/hf.out" 2>&1 ||
		{ cat "$T/hf.out"; die "$name failed"; }
	record "$name" "$(hf_summary "$BENCH_OUT/${BENCH_TAG:+$BENCH_TAG-}$name.json")"
}

# loop_time NAME RUNS PREPARE COMMAND...: a careful loop for the slow cases:
# prepare, then time the command with date +%s%N and /usr/bin/time -v;
# records mean ± σ and the largest maximum RSS.
loop_time() {
	local name=$1 runs=$2 prepare=$3 t0 t1
	shift 3
	: >"$T/times"
	: >"$T/rss"
	for _ in $(seq 1 "$runs"); do
		$prepare || die "$name: prepare failed"
		t0=$(date +%s%N)
		/usr/bin/time -v -o "$T/time-v" "$@" >/dev/null || die "$name failed"
		t1=$(date +%s%N)
		echo $(((t1 - t0) / 1000)) >>"$T/times"
		sed -n 's/.*Maximum resident set size (kbytes): //p' "$T/time-v" >>"$T/rss"
	done
	record "$name" "$(python3 - "$T/times" <<'PY'
import statistics, sys
t = [int(x) / 1e3 for x in open(sys.argv[1])]
sd = statistics.stdev(t) if len(t) > 1 else 0.0
print("%.0f ± %.0f ms (min %.0f, max %.0f, %d runs)" % (statistics.mean(t), sd, min(t), max(t), len(t)))
PY
)"
	record "$name-maxrss" "$(sort -n "$T/rss" | tail -1) KiB"
}

# rss NAME PREPARE COMMAND...: peak memory of one run.
rss() {
	local name=$1 prepare=$2
	shift 2
	$prepare || die "$name: prepare failed"
	/usr/bin/time -v -o "$T/time-v" "$@" >/dev/null || die "$name failed"
	record "$name-maxrss" "$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$T/time-v") KiB"
}

NSX="nsenter --net=/run/netns/$NS"
hf nsenter-overhead 30 3 "$T/reset.sh 0" "$NSX true"

for n in $SIZES; do
	gen -n "$n" -o "$T/fwd-$n.xml"
	gen -n "$n" --format nft -o "$T/fwd-$n.nft"
	[ "$n" -le 1000 ] && gen -n "$n" --format iptables -o "$T/fwd-$n.sh"
	case $n in
	1 | 100 | 1000) runs=20 warm=2 pause=0.05 ;;
	10000) runs=10 warm=2 pause=0.3 ;;
	*) runs=5 warm=1 pause=1 ;;
	esac

	# Applies.
	if [ "$n" -ge 100000 ]; then
		loop_time "apply-virtwire-$n" "${SLOW_RUNS:-1}" "$T/reset.sh $pause" $NSX "$VW_BIN" apply --state-dir "$ST" "$T/fwd-$n.xml"
	else
		hf "apply-virtwire-$n" "$runs" "$warm" "$T/reset.sh $pause" "$NSX $VW_BIN apply --state-dir $ST $T/fwd-$n.xml"
	fi
	hf "apply-virtwire-noschema-$n" "$runs" "$warm" "$T/reset.sh $pause" \
		"$NSX $VW_BIN apply --no-schema --state-dir $ST $T/fwd-$n.xml"
	hf "apply-nft-rules-$n" "$runs" "$warm" "$T/reset.sh $pause" "$NSX nft -f $T/fwd-$n.nft"
	# nft -f of exactly the tables virtwire plan prints: the kernel's and
	# nft's cost of the same ruleset, the floor apply is held against
	# (issue 14, target 1).
	"$VW_BIN" plan --nft "$T/fwd-$n.xml" >"$T/fwd-$n.plan.nft" || die "plan --nft of $n forwards"
	hf "apply-nft-plan-$n" "$runs" "$warm" "$T/reset.sh $pause" "$NSX nft -f $T/fwd-$n.plan.nft"
	if [ "$n" -le 1000 ]; then
		if [ "$n" -ge 1000 ]; then r=5 w=1; else r=$runs w=$warm; fi
		hf "apply-iptables-$n" "$r" "$w" "$T/reset.sh $pause" "$NSX sh $T/fwd-$n.sh"
	fi

	# Teardowns (each run after a fresh apply of the same N).
	hf "teardown-virtwire-$n" "$runs" "$warm" "$T/prep.sh virtwire $n $pause" \
		"$NSX $VW_BIN teardown --state-dir $ST bench"
	hf "teardown-nft-rules-$n" "$runs" "$warm" "$T/prep.sh nft-rules $n $pause" \
		"$NSX nft delete table ip natbench"
	if [ "$n" -le 1000 ]; then
		hf "teardown-iptables-$n" "$runs" "$warm" "$T/prep.sh iptables $n $pause" \
			"$NSX iptables -w -t nat -F PREROUTING"
	fi

	# Peak memory at the largest N.
	if [ "$n" -ge 100000 ]; then
		rss "apply-virtwire-noschema-$n" "$T/reset.sh 1" $NSX "$VW_BIN" apply --no-schema --state-dir "$ST" "$T/fwd-$n.xml"
		rss "apply-nft-rules-$n" "$T/reset.sh 1" $NSX nft -f "$T/fwd-$n.nft"
		rss "teardown-virtwire-$n" "$T/prep.sh virtwire $n 1" $NSX "$VW_BIN" teardown --state-dir "$ST" bench
	fi
done
