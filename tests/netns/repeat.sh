#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# tests/netns/repeat.sh on|off [RUNS]: runs the netns suite RUNS times (10 by
# default) with br_netfilter enabled (on) or disabled (off) in every test
# namespace, and counts the runs in which every test passed. Each test's
# namespaces get net.bridge.bridge-nf-call-iptables and -ip6tables from
# VWT_BRNF (tests/netns/lib.sh ns_add: the sysctls are per network
# namespace); the tests that meson runs both ways (NAME-brnf0, NAME-brnf1)
# run only in the variant of the mode. Needs root and br_netfilter (built in,
# or `modprobe br_netfilter`). Exit status 0 when every run passed.
#
#   sudo tests/netns/repeat.sh on 10 && sudo tests/netns/repeat.sh off 10
set -u

mode=${1:-}
runs=${2:-10}
build=${BUILD:-build}
case $mode in
on) brnf=1 other=brnf0 ;;
off) brnf=0 other=brnf1 ;;
*)
	echo "usage: $0 on|off [RUNS]" >&2
	exit 2
	;;
esac
[ "$(id -u)" = 0 ] || { echo "$0: needs root" >&2; exit 2; }
[ -d /proc/sys/net/bridge ] || { echo "$0: br_netfilter is not loaded (modprobe br_netfilter)" >&2; exit 2; }
cd "$(dirname "$0")/../.." || exit 2

mapfile -t tests < <(meson test -C "$build" --suite netns --list 2>/dev/null | sed -n 's/^virtwire:netns \/ //p' | grep -v -- "-$other\$")
[ "${#tests[@]}" -gt 0 ] || { echo "$0: no netns test in $build" >&2; exit 2; }

passed=0
log=$(mktemp "/tmp/vwt-repeat-$mode.XXXXXX")
for i in $(seq 1 "$runs"); do
	start=$(date +%s)
	if VWT_BRNF=$brnf meson test -C "$build" --suite netns --num-processes 1 "${tests[@]}" >"$log" 2>&1; then
		passed=$((passed + 1))
		echo "run $i/$runs ($mode): every test passed ($(($(date +%s) - start)) s)"
	else
		echo "run $i/$runs ($mode): FAILED ($(($(date +%s) - start)) s)"
		grep -E '^ *[0-9]+/[0-9]+ .* (FAIL|ERROR|TIMEOUT)' "$log" | sed 's/^/  /'
		cp "$build/meson-logs/testlog.txt" "/tmp/vwt-repeat-$mode-run$i.log"
		echo "  log: /tmp/vwt-repeat-$mode-run$i.log"
	fi
done
rm -f "$log"
echo "br_netfilter $mode: $passed of $runs runs passed (${#tests[@]} tests each)"
[ "$passed" = "$runs" ]
