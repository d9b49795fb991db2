#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# One forward coming and going on a running network (issue 14, target 4),
# with 10 and with 10,000 forwards in the network, binaries side by side in
# one run (ROUNDS rounds, each running every case once with each binary, in
# alternating order); medians and the ratio 10,000/10 per binary:
#
#   port   a domain's port plugged and unplugged: libvirt's network hooks
#          `port-created` then `port-deleted` (the domain, recorded by its
#          `prepare` hook, has one forward of its own)
#   edit   an edited network: `virtwire apply FILE` with one forward more,
#          then the file as it was (one forward added, one removed)
#
# Every case runs in a namespace of its own (vwt-bench-port-PID-…), the
# network started first through the `started` hook (port) or applied (edit).
# Also: the elements each change committed, counted by `nft monitor` for the
# last binary (exactly the domain's / the edited forward's, whatever N).
#
#   sudo bench/port.sh A_BIN [B_BIN]      (ROUNDS=15, SIZES="10 10000")
. "$(dirname "$0")/lib.sh"

[ $# -ge 1 ] || die "usage: sudo bench/port.sh A_BIN [B_BIN]"
BINS=("$@")
ROUNDS=${ROUNDS:-15}
SIZES=${SIZES:-10 10000}
need_root
need_tools python3 nft nsenter
for b in "${BINS[@]}"; do
	[ -x "$b" ] || die "$b is not an executable"
done
bench_start
for i in "${!BINS[@]}"; do
	record "binary-$i" "${BINS[$i]}"
done
T=$BENCH_TMP
PORT=00000000-0000-4000-9000-000000000171
DOM=00000000-0000-4000-8000-000000000171

# net N [EXTRA]: the network, as `virsh net-dumpxml` prints it; EXTRA adds
# one forward (the edited file).
net() {
	python3 - "$@" <<'PY'
import sys
n = int(sys.argv[1])
extra = len(sys.argv) > 2
fw = "".join("\n      <vw:forward proto='tcp' host-port='%d' guest-address='198.18.0.200' guest-port='80'/>"
             % (20000 + i) for i in range(n + (1 if extra else 0)))
print("""<network>
  <name>port</name>
  <uuid>6b0b4c1e-6a43-4a2e-9d0e-1d1c7c0b5f71</uuid>
  <forward mode='open'/>
  <bridge name='vwb-port' stp='off' delay='0'/>
  <mac address='52:54:00:00:17:01'/>
  <ip address='198.18.0.1' prefix='16'>
    <dhcp>
      <host mac='52:54:00:aa:dd:10' ip='198.18.0.10'/>
    </dhcp>
  </ip>
  <metadata>
    <vw:network xmlns:vw="urn:virtwire:1" mode="nat">
      <vw:domain-forwards allow='yes' host-ports='8000-8999'/>%s
    </vw:network>
  </metadata>
</network>""" % fw)
PY
}

# hookdata N [PORT_UUID]: the network as the network hook reads it, with
# guest1's <networkport> when PORT_UUID is given.
hookdata() {
	net "$1" | vwt_hookdata ${2:+"$2" guest1 "$DOM" 52:54:00:aa:dd:10 vwb-port}
}

vwt_domain guest1 "$DOM" 52:54:00:aa:dd:10 port "$PORT" \
	"<vw:forward network='port' proto='tcp' host-port='8080' guest-port='80'/>" >"$T/dom.xml"

# bridge NS: libvirt's bridge, as the network hook expects it.
bridge() {
	ip -n "$1" link add vwb-port address 52:54:00:00:17:01 type bridge stp_state 0 forward_delay 0 &&
		ip -n "$1" addr add 198.18.0.1/16 dev vwb-port && ip -n "$1" link set vwb-port up
}

for n in $SIZES; do
	hookdata "$n" >"$T/started-$n.xml"
	hookdata "$n" "$PORT" >"$T/created-$n.xml"
	hookdata "$n" "$PORT" >"$T/deleted-$n.xml"
	net "$n" >"$T/edit-$n.xml"
	net "$n" extra >"$T/edit-$n-plus.xml"
	for i in "${!BINS[@]}"; do
		b=${BINS[$i]}
		bench_ns ns "p$i-$n" || die "cannot create a namespace"
		bridge "$ns" || die "cannot make the bridge"
		st=$T/state-p$i-$n
		in_ns "$ns" "$b" hook network --state-dir "$st" port started begin - <"$T/started-$n.xml" >/dev/null ||
			die "$b: started failed"
		in_ns "$ns" "$b" hook qemu --state-dir "$st" guest1 prepare begin - <"$T/dom.xml" >/dev/null ||
			die "$b: prepare failed"
		printf 'port-%s-%s\t%s\t%s\n' "$i" "$n" "$ns" "$st" >>"$T/cases"
		bench_ns ns "e$i-$n" || die "cannot create a namespace"
		st=$T/state-e$i-$n
		in_ns "$ns" "$b" apply --state-dir "$st" "$T/edit-$n.xml" >/dev/null || die "$b: apply failed"
		printf 'edit-%s-%s\t%s\t%s\n' "$i" "$n" "$ns" "$st" >>"$T/cases"
	done
done

# run CASE: one plug and unplug, or one edit there and back.
run() {
	local kind=${1%%-*} rest=${1#*-} i n ns st b
	i=${rest%%-*}
	n=${rest#*-}
	b=${BINS[$i]}
	read -r ns st < <(awk -v c="$1" '$1 == c { print $2, $3 }' "$T/cases")
	if [ "$kind" = port ]; then
		in_ns "$ns" "$b" hook network --state-dir "$st" port port-created begin - <"$T/created-$n.xml" &&
			in_ns "$ns" "$b" hook network --state-dir "$st" port port-deleted begin - <"$T/deleted-$n.xml"
	else
		in_ns "$ns" "$b" apply --state-dir "$st" "$T/edit-$n-plus.xml" &&
			in_ns "$ns" "$b" apply --state-dir "$st" "$T/edit-$n.xml"
	fi
}

cases=$(cut -f1 "$T/cases")
for r in $(seq 1 "$ROUNDS"); do
	order=$cases
	[ $((r % 2)) = 0 ] && order=$(tac <<<"$cases")
	for c in $order; do
		timed_run "$T/time-$c" run "$c"
	done
done

# The elements one change commits, counted by nft monitor (last binary).
last=$((${#BINS[@]} - 1))
for n in $SIZES; do
	for kind in port edit; do
		read -r ns _ < <(awk -v c="$kind-$last-$n" '$1 == c { print $2, $3 }' "$T/cases")
		in_ns "$ns" timeout 20 nft monitor >"$T/monitor" 2>/dev/null &
		mon=$!
		VWT_PIDS+=("$mon")
		sleep 0.5
		run "$kind-$last-$n" >/dev/null || die "$kind-$last-$n failed"
		sleep 0.5
		kill "$mon" 2>/dev/null
		wait "$mon" 2>/dev/null
		record "elements-$kind-$n" "$(grep -c 'element' "$T/monitor") element changes in nft monitor (add and remove)"
	done
done

for kind in port edit; do
	for i in "${!BINS[@]}"; do
		files=()
		for n in $SIZES; do
			files+=("$T/time-$kind-$i-$n")
		done
		record "$kind-$i" "$(median_ratios "${files[@]}") (A=${SIZES%% *} forwards, B=${SIZES##* }; binary $i)"
	done
done
