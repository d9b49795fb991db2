#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# What the host firewall integration (docs/real-host.md) costs an apply, as
# two or more binaries side by side in one run (this machine is noisy: only
# a comparison made in the same minutes means anything). ROUNDS rounds, each
# running every case once with each binary, the first binary of each round
# rotating; per binary and case the median, and its ratio to the first
# binary's (A).
#
# The network is a typical one (bench/gen-network.py -n 3: mode nat, three
# forwards), applied as a hook or `virtwire apply` does. Cases:
#
#   ruleset  what else the host's ruleset holds, restored before every
#            apply (after `nft flush ruleset`):
#              empty   nothing
#              docker  Docker's iptables-nft tables as dockerd 20.10 leaves
#                      them with its bridge docker0 (FORWARD policy DROP,
#                      DOCKER-USER, DOCKER-ISOLATION-STAGE-*, its nat rules)
#              k8s     the same plus kube-proxy's shape at 1,500 services
#                      (iptables mode: 4,500 rules and 3,000 chains, in
#                      table ip nat)
#   bus      none  no system bus (its socket absent)
#            bus   a dbus-daemon --system, firewalld not running
#   command  apply    into the namespace after the reset: the network is new
#            reapply  the same again: nothing to change
#
# And `virtwire --version` (no nsenter): the start-up every hook call pays,
# whatever it does (the shared libraries loaded and relocated).
#
# Every command runs in the namespace vwt-bench-hostfw-PID and in a mount
# namespace of its own (a holder process per bus case: a private /run, with
# the dbus-daemon's socket in it or not), entered with nsenter (its cost is in
# every figure: `floor`, /bin/true entered the same way). The state
# directory is on /dev/shm (a tmpfs, like /run on a real host).
#
# Also the instructions of one apply and one reapply of each binary in the
# k8s and docker cases with a system bus, counted by callgrind (repeatable
# whatever the machine does), and the requests each sends (strace -c:
# netlink's sendto/sendmsg, D-Bus' connect).
#
#   sudo bench/hostfw.sh A_BIN B_BIN [C_BIN...]
#       ROUNDS=15 RULESETS="empty docker k8s" BUSES="none bus"
#       LABELS="what A was built from" "… B" … (for the summary)
. "$(dirname "$0")/lib.sh"

[ $# -ge 2 ] || die "usage: sudo bench/hostfw.sh A_BIN B_BIN [C_BIN...]"
BINS=()
for b in "$@"; do BINS+=("$(realpath "$b")"); done
ROUNDS=${ROUNDS:-15}
RULESETS=${RULESETS:-empty docker k8s}
BUSES=${BUSES:-none bus}
read -r -a LABEL <<<"${LABELS:-}"
need_root
need_tools python3 nft iptables-restore nsenter unshare dbus-daemon
TAGS=()
for i in "${!BINS[@]}"; do
	[ -x "${BINS[i]}" ] || die "no binary at ${BINS[i]}"
	TAGS+=("$(echo ABCDEFGHIJ | cut -c$((i + 1)))")
done
bench_start
for i in "${!BINS[@]}"; do
	record "${TAGS[i]}" "${BINS[i]}${LABEL[i]:+ (${LABEL[i]})}"
done
T=$BENCH_TMP
ST=/dev/shm/vwt-bench-hostfw-$$
vwt_cleanup_add 'rm -rf "$ST"'
bench_ns NS hostfw || die "cannot create a namespace"
gen -n 3 --bridge vwb-bench >"$T/net.xml" || die "cannot generate the network"
ip -n "$NS" link add vwb-bench type bridge && ip -n "$NS" link set vwb-bench up || die "no bridge fixture"
ip -n "$NS" link add docker0 type bridge && ip -n "$NS" link set docker0 up || die "no docker0 fixture"

# --- the host rulesets -------------------------------------------------------
cat >"$T/docker.rules" <<'RULES'
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:DOCKER - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
-A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER
-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE
-A DOCKER -i docker0 -j RETURN
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:DOCKER - [0:0]
:DOCKER-ISOLATION-STAGE-1 - [0:0]
:DOCKER-ISOLATION-STAGE-2 - [0:0]
:DOCKER-USER - [0:0]
-A FORWARD -j DOCKER-USER
-A FORWARD -j DOCKER-ISOLATION-STAGE-1
-A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -o docker0 -j DOCKER
-A FORWARD -i docker0 ! -o docker0 -j ACCEPT
-A FORWARD -i docker0 -o docker0 -j ACCEPT
-A DOCKER-ISOLATION-STAGE-1 -i docker0 ! -o docker0 -j DOCKER-ISOLATION-STAGE-2
-A DOCKER-ISOLATION-STAGE-1 -j RETURN
-A DOCKER-ISOLATION-STAGE-2 -o docker0 -j DROP
-A DOCKER-ISOLATION-STAGE-2 -j RETURN
-A DOCKER-USER -j RETURN
COMMIT
RULES
python3 - >"$T/k8s.rules" <<'PY'
# kube-proxy (iptables mode): per service a match in KUBE-SERVICES, a
# service chain and an endpoint chain with the DNAT.
n = 1500
print("*nat")
for c in ["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"]:
    print(":%s ACCEPT [0:0]" % c)
print(":KUBE-SERVICES - [0:0]")
for i in range(n):
    print(":KUBE-SVC-%06d - [0:0]" % i)
    print(":KUBE-SEP-%06d - [0:0]" % i)
print("-A PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES")
print("-A OUTPUT -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES")
for i in range(n):
    a, b = divmod(i, 250)
    print("-A KUBE-SERVICES -d 10.96.%d.%d/32 -p tcp -m tcp --dport 80 -j KUBE-SVC-%06d" % (a, b + 1, i))
    print("-A KUBE-SVC-%06d -j KUBE-SEP-%06d" % (i, i))
    print("-A KUBE-SEP-%06d -p tcp -m tcp -j DNAT --to-destination 10.244.%d.%d:8080" % (i, a, b + 1))
print("COMMIT")
PY

reset_ns() { # RULESET
	in_ns "$NS" nft flush ruleset
	case $1 in
	docker) in_ns "$NS" iptables-restore -w <"$T/docker.rules" ;;
	k8s) in_ns "$NS" iptables-restore -w <"$T/docker.rules" && in_ns "$NS" iptables-restore -w -n <"$T/k8s.rules" ;;
	esac || die "cannot restore the $1 ruleset"
	in_ns "$NS" sysctl -qw net.ipv4.ip_forward=0 net.ipv6.conf.all.forwarding=0
	rm -rf "$ST"
	sleep 0.1
}

# --- the mount namespaces: one holder per bus case ------------------------------
holder() { # CASE
	local dir=$T/holder-$1
	mkdir -p "$dir"
	ip netns exec "$NS" unshare -m --propagation private bash -c '
		mount -t tmpfs tmpfs /run && mkdir -p /run/dbus /run/netns || exit 1
		if [ "$2" = bus ]; then dbus-daemon --system --fork || exit 1; fi
		echo ready >"$1/ready" && exec sleep 100000' _ "$dir" "$1" &
	VWT_PIDS+=("$!")
	printf -v "HOLDER_$1" '%s' "$!"
	for _ in $(seq 1 100); do [ -e "$dir/ready" ] && return 0; sleep 0.05; done
	return 1
}
for bus in $BUSES; do
	holder "$bus" || die "cannot start the $bus holder"
done
# The dbus-daemon is the namespace's: ended by PID with it.
vwt_cleanup_add 'for p in $(ip netns pids "$NS" 2>/dev/null); do kill "$p" 2>/dev/null; done; sleep 0.2'
[ -z "${HOLDER_bus:-}" ] || nsenter -t "$HOLDER_bus" -m test -S /run/dbus/system_bus_socket ||
	die "the bus case has no system bus"
[ -z "${HOLDER_none:-}" ] || ! nsenter -t "$HOLDER_none" -m test -e /run/dbus/system_bus_socket ||
	die "the no-bus case has a system bus"

# in_holder BUS COMMAND...
in_holder() {
	local h="HOLDER_$1"
	shift
	nsenter -t "${!h}" -n -m "$@"
}

# one BIN TAG RULESET BUS: an apply into the reset namespace, then a reapply.
one() {
	reset_ns "$3"
	timed_run "$T/$2-$3-$4-apply" in_holder "$4" "$1" apply --state-dir "$ST" "$T/net.xml"
	timed_run "$T/$2-$3-$4-reapply" in_holder "$4" "$1" apply --state-dir "$ST" "$T/net.xml"
}

n=${#BINS[@]}
for r in $(seq 1 "$ROUNDS"); do
	for rs in $RULESETS; do
		for bus in $BUSES; do
			for k in $(seq 0 $((n - 1))); do
				i=$(((r + k) % n))
				one "${BINS[i]}" "${TAGS[i]}" "$rs" "$bus"
				timed_run "$T/${TAGS[i]}-startup" "${BINS[i]}" --version
			done
			timed_run "$T/floor-$bus" in_holder "$bus" /bin/true
		done
	done
done

for bus in $BUSES; do
	record "floor-$bus" "$(median_ratios "$T/floor-$bus" | sed 's/^A //; s/$/: nsenter and an exec/')"
done
files=()
for t in "${TAGS[@]}"; do files+=("$T/$t-startup"); done
record startup "$(median_ratios "${files[@]}")"
for rs in $RULESETS; do
	for bus in $BUSES; do
		for cmd in apply reapply; do
			c="$rs-$bus-$cmd"
			files=()
			for t in "${TAGS[@]}"; do files+=("$T/$t-$c"); done
			record "$c" "$(median_ratios "${files[@]}")"
		done
	done
done

# measure TOOL CMD TAG BIN RULESET BUS: one apply (CMD apply: into the reset
# namespace; reapply: again) under strace (the requests sent: netlink's
# sendto and sendmsg, D-Bus' connect) or callgrind (the instructions).
measure() {
	case $1 in
	strace)
		in_holder "$6" strace -f -c -e trace=sendmsg,sendto,connect -o "$T/strace" \
			"$4" apply --state-dir "$ST" "$T/net.xml" >/dev/null 2>&1 || die "strace of $3 failed"
		record "requests-$5-$6-$2-$3" "$(awk '$NF ~ /^(sendmsg|sendto|connect)$/ {printf "%s %s ", $NF, $4}' "$T/strace")"
		;;
	callgrind)
		in_holder "$6" valgrind --tool=callgrind --callgrind-out-file="$T/cg" \
			"$4" apply --state-dir "$ST" "$T/net.xml" >/dev/null 2>"$T/cg.log" || die "callgrind of $3 failed"
		record "instructions-$5-$6-$2-$3" "$(grep -m1 -o 'Collected : [0-9]*' "$T/cg.log" | cut -d' ' -f3)"
		;;
	esac
}
# counts TAG BIN RULESET BUS: the exact figures of an apply and a reapply.
counts() {
	local tool
	for tool in strace callgrind; do
		command -v "${tool/callgrind/valgrind}" >/dev/null || continue
		reset_ns "$3"
		measure "$tool" apply "$@"
		measure "$tool" reapply "$@"
	done
}
bus=bus
case " $BUSES " in *" bus "*) ;; *) bus=${BUSES%% *} ;; esac
for rs in k8s docker; do
	case " $RULESETS " in *" $rs "*) ;; *) continue ;; esac
	for i in "${!BINS[@]}"; do
		counts "${TAGS[i]}" "${BINS[i]}" "$rs" "$bus"
	done
done
