# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
#
# Shared by the benchmarks. Cleanup, namespaces and prerequisites come from
# tests/lib/common.sh, as for the tests: every namespace is one the
# benchmark creates (vwt-bench-<what>-<pid>[-role]), the machine's own
# namespace is never changed, and namespaces, processes (VWT_PIDS) and temp
# files go on exit, failure included (vwt_cleanup_add for more).

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VWT_ID="bench-$(basename "$0" .sh)-$$"
# shellcheck source=tests/lib/common.sh
. "$BENCH_DIR/../tests/lib/common.sh"
# Results (hyperfine JSON, summaries): bench/out/ is git-ignored.
BENCH_OUT=${BENCH_OUT:-$BENCH_DIR/out}
# BENCH_TAG=x: results go to bench/out/NAME-x.* (to keep several binaries' apart).
BENCH_NAME="$(basename "$0" .sh)${BENCH_TAG:+-$BENCH_TAG}"
# shellcheck disable=SC2034 # the benchmarks' scratch directory
BENCH_TMP=$VWT_TMP
mkdir -p "$BENCH_OUT"

die() {
	echo "$(basename "$0"): $*" >&2
	exit 1
}

# A benchmark that cannot run is an error, not a skip.
vwt_unmet() {
	die "$*"
}

need_virtwire() {
	[ -x "$VW_BIN" ] || die "no virtwire binary at $VW_BIN: build it (meson setup build && ninja -C build) or set VW_BIN"
}

# bench_ns VAR NAME: a fresh namespace vwt-bench-NAME-PID, lo up, its name in
# VAR (not printed: a $(...) subshell would not register it for cleanup).
bench_ns() {
	local n="vwt-bench-$2-$$"
	vwt_ns_add "$n" || return 1
	printf -v "$1" '%s' "$n"
}

# in_ns NS COMMAND...: runs a command in the namespace's network stack only
# (setns, lighter than `ip netns exec`: virtwire, nft and iptables need no
# more; virtwire's sysctls go through /proc/sys, which follows the netns).
in_ns() {
	local n=$1
	shift
	nsenter --net="/run/netns/$n" "$@"
}

# gen ARGS...: bench/gen-network.py.
gen() {
	python3 "$BENCH_DIR/gen-network.py" "$@"
}

# machine: one line describing the machine.
machine() {
	local cpu
	cpu=$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
	echo "nproc $(nproc), kernel $(uname -r), CPU ${cpu:-unknown}, $(awk '/MemTotal/ {printf "%.0f GiB RAM", $2/1048576}' /proc/meminfo)"
}

# hf_summary JSON [INDEX]: "mean ± σ ms (min … max, n runs)" of a hyperfine
# JSON export.
hf_summary() {
	python3 - "$1" "${2:-0}" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"][int(sys.argv[2])]
sd = r["stddev"] or 0.0
fmt = "%.1f" if r["mean"] < 10 else "%.0f"
def ms(x): return fmt % (x * 1e3)
print("%s ± %s ms (min %s, max %s, %d runs)" % (ms(r["mean"]), ms(sd), ms(r["min"]), ms(r["max"]), len(r["times"])))
PY
}

# record KEY VALUE...: one line of the benchmark's summary file.
record() {
	local key=$1
	shift
	printf '%s\t%s\n' "$key" "$*" | tee -a "$BENCH_SUMMARY"
}

bench_start() {
	BENCH_SUMMARY="$BENCH_OUT/$BENCH_NAME.tsv"
	: >"$BENCH_SUMMARY"
	record machine "$(machine)"
	# VW_LABEL says which source VW_BIN was built from, when not this tree.
	record virtwire "$VW_BIN (${VW_LABEL:-$(cd "$VW_SRC" && git describe --always --dirty 2>/dev/null || echo unknown)})"
	record date "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
}

# timed_run FILE COMMAND...: one run of COMMAND (its output dropped; one that
# fails ends the benchmark), its wall time in µs appended to FILE.
timed_run() {
	local file=$1 t0 t1
	shift
	t0=$(date +%s%N)
	"$@" >/dev/null 2>"$BENCH_TMP/err" || die "$(basename "$file") failed: $(head -3 "$BENCH_TMP/err")"
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000)) >>"$file"
}

# median_ratios FILE...: the median of each FILE's times (µs, one a line),
# named A, B, C … in that order, and each one's ratio to A's:
# "A 6.1 ms, B 7.3 ms (medians of 15), B/A 1.20".
median_ratios() {
	python3 - "$@" <<'PY'
import statistics, sys
meds = [statistics.median(int(x) / 1000 for x in open(f)) for f in sys.argv[1:]]
n = sum(1 for _ in open(sys.argv[1]))
tags = [chr(ord("A") + i) for i in range(len(meds))]
out = ", ".join("%s %.1f ms" % (t, m) for t, m in zip(tags, meds)) + " (medians of %d)" % n
print(out + "".join(", %s/A %.2f" % (t, m / meds[0]) for t, m in zip(tags[1:], meds[1:])))
PY
}
