#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# `virtwire check` speed, with hyperfine (warmup, then mean ± σ):
#   - one network with 10,000 forwards (target: under 100 ms)
#   - 100 networks side by side, 10 forwards each (1,000 in all)
#   - one network with 100,000 forwards (for information; few runs)
# Each also with --no-schema, which skips the libvirt RelaxNG validation and
# so shows what that step costs. No root needed.
#
#   bench/check.sh            (VW_BIN=... for another binary; QUICK=1 skips 100,000)
. "$(dirname "$0")/lib.sh"

need_tools hyperfine python3
need_virtwire
bench_start

T=$BENCH_TMP
gen -n 10000 -o "$T/fwd-10000.xml"
gen -n 100000 -o "$T/fwd-100000.xml"
gen --networks 100 --forwards 10 --out-dir "$T/multi"
"$VW_BIN" check --no-schema "$T/fwd-10000.xml" >/dev/null && "$VW_BIN" check "$T/multi/"*.xml >/dev/null ||
	die "the generated files do not check clean"

# hf NAME RUNS WARMUP COMMAND: one hyperfine benchmark, summarised.
hf() {
	local name=$1 runs=$2 warmup=$3 cmd=$4
	hyperfine -N --style basic --runs "$runs" --warmup "$warmup" --export-json "$BENCH_OUT/${BENCH_TAG:+$BENCH_TAG-}$name.json" \
		--command-name "$name" "$cmd" >"$T/hf.out" 2>&1 || { cat "$T/hf.out"; die "$name failed"; }
	record "$name" "$(hf_summary "$BENCH_OUT/${BENCH_TAG:+$BENCH_TAG-}$name.json")"
}

hf check-1x10000 20 3 "$VW_BIN check $T/fwd-10000.xml"
hf check-1x10000-noschema 20 3 "$VW_BIN check --no-schema $T/fwd-10000.xml"
# hyperfine -N takes no glob: the 100 file names, spelled out.
hf check-100x10 20 3 "$VW_BIN check $(echo "$T"/multi/*.xml)"
hf check-100x10-noschema 20 3 "$VW_BIN check --no-schema $(echo "$T"/multi/*.xml)"
if [ "${QUICK:-0}" = 1 ]; then
	record check-1x100000 "skipped (QUICK=1)"
else
	hf check-1x100000-noschema 5 1 "$VW_BIN check --no-schema $T/fwd-100000.xml"
	# About a minute a run at d7a0d18 (see RESULTS.md): two runs, no warmup.
	hf check-1x100000 2 0 "$VW_BIN check $T/fwd-100000.xml"
fi
