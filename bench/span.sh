#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# What spanning a network across hosts (docs/spanning.md, static peers)
# costs, in one run:
#
# 1. Throughput across the overlay against the same guests on one host.
#    The same network XML (examples/span-internal.xml: internal, VNI 4242;
#    here over ul0, peers 192.0.2.11 and 192.0.2.12, 198.18.0.1/24) applied
#    by virtwire, each host with its own state directory, and two guests set
#    up alike (198.18.0.11 and .12, MTU the bridge's):
#
#      one host    ga ── vw-span (host "one", ul0 192.0.2.11 to nowhere) ── gb
#      two hosts   ga ── vw-span ── vw4242 ─ ul0 192.0.2.11 (h1)
#                                              │ veth (the underlay)
#                  gb ── vw-span ── vw4242 ─ ul0 192.0.2.12 (h2)
#
#    iperf3 from ga to gb (server started here, ended by PID): TCP, one
#    stream, 5 s; UDP with 64-byte payloads at no rate limit, 5 s (the
#    per-packet cost: packets the server received per second). ROUNDS
#    rounds, each running every case in both setups, the order of the two
#    setups alternating. Medians, and the ratio two hosts / one host. Each
#    run also checks the path it measured: across hosts h1's vw4242 sent at
#    least the bytes gb received; on one host its vw4242 sent (nearly)
#    nothing.
#
# 2. Apply time with 1,000 static peers: a spanning internal network with
#    1,000 <vw:peer> (198.19.0.1 upwards, in the RFC 2544 benchmarking range;
#    198.19.0.1 is the underlay's own address, skipped for the forwarding
#    database) against the same network with 3 peers, in a namespace holding
#    only ul0 (a veth to nowhere, 198.19.0.1/16): apply into an empty
#    namespace (reset before every run: VXLAN device and bridge deleted,
#    `nft flush ruleset`, state directory removed), re-apply (nothing changes: watched once with
#    nft monitor and bridge monitor), and teardown (after an untimed apply).
#    hyperfine -N through nsenter (its own cost recorded as nsenter-overhead).
#    After an apply: the 1,000 peers are elements of one set (span4), the
#    ruleset has as many rules as with 3 peers, and the VXLAN device's
#    forwarding database holds 999 all-zeros entries.
#
#   sudo bench/span.sh        (ROUNDS=3 SECONDS_PER_RUN=5 APPLY_RUNS=20 PEERS=1000; VW_BIN=...)
. "$(dirname "$0")/lib.sh"

need_root
need_tools hyperfine iperf3 python3 nft ip bridge ss nsenter timeout
need_virtwire
[ -d /sys/module/vxlan ] || modprobe vxlan 2>/dev/null || die "no vxlan module"
bench_start
record iperf3 "$(iperf3 --version | head -1)"
record load "$(cut -d' ' -f1-3 /proc/loadavg) (load average at the start)"

T=$BENCH_TMP
ROUNDS=${ROUNDS:-3}
SECS=${SECONDS_PER_RUN:-5}
APPLY_RUNS=${APPLY_RUNS:-20}
PEERS=${PEERS:-1000}

# span_xml PEER...: examples/span-internal.xml (network vw-span, bridge
# vw-span, internal, VNI 4242) over ul0, with these peers and the
# benchmarks' guest range (198.18.0.1/24).
span_xml() {
	python3 - "$VW_SRC/examples/span-internal.xml" "$@" <<'PY'
import re, sys
xml = open(sys.argv[1]).read().replace('underlay="eth1"', 'underlay="ul0"')
xml = xml.replace("address='192.168.110.254'", "address='198.18.0.1'")
peers = "".join('        <vw:peer address="%s"/>\n' % a for a in sys.argv[2:])
xml, n = re.subn(r'(?:[ \t]*<vw:peer [^>]*/>\n)+', lambda m: peers, xml)
if n != 1 or 'underlay="ul0"' not in xml or "198.18.0.1" not in xml:
    sys.exit("examples/span-internal.xml is not as expected")
sys.stdout.write(xml)
PY
}

# --- 1. throughput -------------------------------------------------------------

span_xml 192.0.2.11 192.0.2.12 >"$T/seg.xml" || die "cannot make the network"

# guest HOSTNS GUESTNS VAR ADDR MAC: a guest namespace (its name in VAR) on
# the host's bridge, its veth's host end enslaved as libvirt enslaves a tap
# (with the bridge's MTU, which the guest gets too).
guest() {
	local host=$1 what=$2 addr=$4 mac=$5 g mtu
	bench_ns "$3" "$what" || return 1
	g=${!3}
	mtu=$(ip netns exec "$host" cat /sys/class/net/vw-span/mtu) &&
		ip -n "$host" link add "g-$what" type veth peer name eth0 netns "$g" &&
		ip -n "$host" link set "g-$what" mtu "$mtu" master vw-span up &&
		ip -n "$g" link set eth0 address "$mac" mtu "$mtu" &&
		ip -n "$g" addr add "$addr/24" dev eth0 &&
		ip -n "$g" link set eth0 up
}

# One host: ul0 is a veth whose other end stays in the host (no dummy
# module everywhere); the peer 192.0.2.12 is never reached, and nothing is
# meant for it.
bench_ns ONE span-one || die "cannot create a namespace"
ip -n "$ONE" link add ul0 type veth peer name ul0-end && ip -n "$ONE" addr add 192.0.2.11/24 dev ul0 &&
	ip -n "$ONE" link set ul0-end up && ip -n "$ONE" link set ul0 up ||
	die "cannot make the one host's underlay"
bench_ns H1 span-h1 && bench_ns H2 span-h2 || die "cannot create namespaces"
ip -n "$H1" link add ul0 type veth peer name ul0 netns "$H2" &&
	ip -n "$H1" addr add 192.0.2.11/24 dev ul0 && ip -n "$H2" addr add 192.0.2.12/24 dev ul0 &&
	ip -n "$H1" link set ul0 up && ip -n "$H2" link set ul0 up || die "cannot make the underlay"
for h in ONE H1 H2; do
	in_ns "${!h}" "$VW_BIN" apply --state-dir "$T/state-$h" "$T/seg.xml" >"$T/apply.out" 2>&1 ||
		{ cat "$T/apply.out"; die "virtwire apply on $h failed"; }
done
guest "$ONE" span-one-a ONE_A 198.18.0.11 52:54:00:18:00:11 && guest "$ONE" span-one-b ONE_B 198.18.0.12 52:54:00:18:00:12 &&
	guest "$H1" span-h1-a X_A 198.18.0.11 52:54:00:18:00:11 && guest "$H2" span-h2-b X_B 198.18.0.12 52:54:00:18:00:12 ||
	die "cannot make the guests"
record mtu "bridge and guests $(ip netns exec "$H1" cat /sys/class/net/vw-span/mtu) (ul0 $(ip netns exec "$H1" cat /sys/class/net/ul0/mtu) less the VXLAN header), the same in both setups"

# The servers, bounded in time; ended by PID (nsenter execs timeout, which
# passes the signal on to iperf3).
for s in ONE_B X_B; do
	nsenter --net="/run/netns/${!s}" timeout 1800 iperf3 -s -B 198.18.0.12 -p 5201 </dev/null >"$T/server-$s.log" 2>&1 &
	VWT_PIDS+=($!)
done
for s in ONE_B X_B; do
	for _ in $(seq 1 50); do
		in_ns "${!s}" ss -Hltn 'sport = :5201' | grep -q 5201 && continue 2
		sleep 0.1
	done
	cat "$T/server-$s.log"
	die "the iperf3 server in $s did not start"
done
for c in ONE_A X_A; do
	in_ns "${!c}" ping -c 3 -i 0.2 -W 2 198.18.0.12 >"$T/ping.out" 2>&1 || { cat "$T/ping.out"; die "$c does not reach 198.18.0.12"; }
done

# vx_tx HOSTNS: bytes the host's VXLAN device has sent.
vx_tx() {
	ip netns exec "$1" cat /sys/class/net/vw4242/statistics/tx_bytes
}

# iperf SETUP KIND ROUND: one iperf3 run from ga to gb; its JSON in
# $T/SETUP-KIND-ROUND.json, and a check that it took the path it is meant to.
iperf() {
	local setup=$1 kind=$2 r=$3 client host before after got args
	case $setup in
	one) client=$ONE_A host=$ONE ;;
	across) client=$X_A host=$H1 ;;
	esac
	case $kind in
	tcp) args=() ;;
	udp64) args=(-u -l 64 -b 0) ;;
	esac
	before=$(vx_tx "$host")
	timeout $((SECS + 25)) nsenter --net="/run/netns/$client" iperf3 -c 198.18.0.12 -p 5201 -t "$SECS" -J "${args[@]}" \
		>"$T/$setup-$kind-$r.json" 2>"$T/iperf.err" || { head -c 600 "$T/$setup-$kind-$r.json"; cat "$T/iperf.err"; die "$setup $kind run $r failed"; }
	after=$(vx_tx "$host")
	got=$(python3 - "$T/$setup-$kind-$r.json" "$kind" $((after - before)) "$setup" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
kind, vx, setup = sys.argv[2], int(sys.argv[3]), sys.argv[4]
if kind == "tcp":
    s = d["end"]["sum_received"]
    rx = s["bytes"]
    mss = d["start"].get("tcp_mss_default") or 0
    print("%.4f %.0f %d" % (s["bits_per_second"] / 1e9, rx / mss / s["seconds"] if mss else 0, mss))
else:
    s = d["end"]["sum"]
    got = s["packets"] - s["lost_packets"]
    rx = got * 64
    print("%.4f %.0f %.1f" % (got * 64 * 8 / s["seconds"] / 1e9, got / s["seconds"], s["lost_percent"]))
# The path: across hosts the payload went through h1's VXLAN device; on one
# host it never did (a few flooded broadcasts at most).
if setup == "across" and vx < rx:
    sys.exit("vw4242 on h1 sent %d bytes, gb received %d: not the overlay" % (vx, rx))
if setup == "one" and vx > max(rx // 100, 100000):
    sys.exit("vw4242 on the one host sent %d bytes of %d: the traffic left the host" % (vx, rx))
PY
	) || die "$setup $kind run $r: $got"
	echo "$got" >>"$T/$setup-$kind"
	echo "# $setup $kind run $r: $got (vw4242 sent $((after - before)) bytes)"
}

for r in $(seq 1 "$ROUNDS"); do
	order="one across"
	[ $((r % 2)) = 0 ] && order="across one"
	for kind in tcp udp64; do
		for setup in $order; do
			iperf "$setup" "$kind" "$r"
		done
	done
done

# summary KIND: medians of both setups and the ratio.
summary() {
	python3 - "$T/one-$1" "$T/across-$1" "$1" <<'PY'
import statistics, sys
rows = [[list(map(float, l.split())) for l in open(f)] for f in sys.argv[1:3]]
kind = sys.argv[3]
med = [[statistics.median(c) for c in zip(*r)] for r in rows]
runs = lambda r, i, fmt: " ".join(fmt % x[i] for x in r)
if kind == "tcp":
    for name, m, r in zip(("one-host", "across"), med, rows):
        print("tcp-%s\t%.2f Gbit/s, %.0f segments/s of %d bytes (MSS) (medians of %d; Gbit/s: %s)"
              % (name, m[0], m[1], m[2], len(r), runs(r, 0, "%.2f")))
    print("tcp-ratio\tacross / one host %.2f (Gbit/s)" % (med[1][0] / med[0][0]))
else:
    for name, m, r in zip(("one-host", "across"), med, rows):
        print("udp64-%s\t%.0f packets/s received, %.3f Gbit/s of payload, %.1f%% lost (medians of %d; packets/s: %s)"
              % (name, m[1], m[0], m[2], len(r), runs(r, 1, "%.0f")))
    print("udp64-ratio\tacross / one host %.2f (packets/s)" % (med[1][1] / med[0][1]))
PY
}
for kind in tcp udp64; do
	summary "$kind" >"$T/summary" || die "no summary of $kind"
	while IFS=$'\t' read -r k v; do record "$k" "$v"; done <"$T/summary"
done
# The servers are done: end them now, not at exit.
for pid in "${VWT_PIDS[@]}"; do
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
done
VWT_PIDS=()

# --- 2. apply time with PEERS static peers ----------------------------------------

bench_ns AP span-apply || die "cannot create a namespace"
ip -n "$AP" link add ul0 type veth peer name ul0-end && ip -n "$AP" addr add 198.19.0.1/16 dev ul0 &&
	ip -n "$AP" link set ul0-end up && ip -n "$AP" link set ul0 up ||
	die "cannot make the underlay"
# peers N: 198.19.0.1 ... the Nth address after 198.19.0.0.
peers() {
	python3 -c 'import ipaddress, sys; print(" ".join(str(ipaddress.ip_address("198.19.0.0") + i) for i in range(1, int(sys.argv[1]) + 1)))' "$1"
}
# shellcheck disable=SC2046 # one peer a word
span_xml $(peers 3) >"$T/peers-3.xml" && span_xml $(peers "$PEERS") >"$T/peers-$PEERS.xml" || die "cannot make the networks"
ST=$T/state-apply
cat >"$T/reset.sh" <<EOF
#!/bin/sh
ip -n $AP link del vw4242 2>/dev/null
ip -n $AP link del vw-span 2>/dev/null
nsenter --net=/run/netns/$AP nft flush ruleset || exit 1
rm -rf $ST
sleep \${1:-0.05}
EOF
cat >"$T/prep.sh" <<EOF
#!/bin/sh
$T/reset.sh 0 && nsenter --net=/run/netns/$AP $VW_BIN apply --state-dir $ST $T/peers-\$1.xml >/dev/null && sleep 0.05
EOF
chmod +x "$T/reset.sh" "$T/prep.sh"
NSX="nsenter --net=/run/netns/$AP"

# hf NAME PREPARE COMMAND: hyperfine, APPLY_RUNS runs after one warmup.
hf() {
	local name=$1 prepare=$2 cmd=$3 json=$BENCH_OUT/${BENCH_TAG:+$BENCH_TAG-}span-$1.json
	hyperfine -N --style basic --runs "$APPLY_RUNS" --warmup 1 ${prepare:+--prepare "$prepare"} \
		--export-json "$json" --command-name "$name" "$cmd" >"$T/hf.out" 2>&1 || { cat "$T/hf.out"; die "$name failed"; }
	record "$name" "$(hf_summary "$json"), median $(hf_median "$json") ms"
}

hf_median() {
	python3 -c 'import json, sys; print("%.1f" % (json.load(open(sys.argv[1]))["results"][0]["median"] * 1e3))' "$1"
}

hf nsenter-overhead "" "$NSX /bin/true"
for n in 3 "$PEERS"; do
	hf "apply-$n" "$T/reset.sh" "$NSX $VW_BIN apply --state-dir $ST $T/peers-$n.xml"
	# Applied as the last timed run left it; the repeats change nothing.
	hf "reapply-$n" "" "$NSX $VW_BIN apply --state-dir $ST $T/peers-$n.xml"
	hf "teardown-$n" "$T/prep.sh $n" "$NSX $VW_BIN teardown --state-dir $ST vw-span"
done
for what in apply reapply teardown; do
	j=$BENCH_OUT/${BENCH_TAG:+$BENCH_TAG-}span-$what
	record "$what-ratio" "$PEERS peers / 3 peers $(python3 -c 'import sys; print("%.1f" % (float(sys.argv[2]) / float(sys.argv[1])))' \
		"$(hf_median "$j-3.json")" "$(hf_median "$j-$PEERS.json")") (medians)"
done

# What an apply of PEERS peers leaves (and a repeat's changes: none).
"$T/prep.sh" "$PEERS" || die "apply of $PEERS peers failed"
in_ns "$AP" nft -j list ruleset >"$T/ruleset-$PEERS.json"
in_ns "$AP" bridge fdb show dev vw4242 >"$T/fdb-$PEERS"
nsenter --net="/run/netns/$AP" timeout 20 nft monitor >"$T/monitor-nft" 2>&1 &
mon1=$!
nsenter --net="/run/netns/$AP" timeout 20 bridge monitor fdb >"$T/monitor-fdb" 2>&1 &
mon2=$!
VWT_PIDS+=("$mon1" "$mon2")
sleep 0.3
in_ns "$AP" "$VW_BIN" apply --state-dir "$ST" "$T/peers-$PEERS.xml" >/dev/null || die "re-apply of $PEERS peers failed"
sleep 0.3
kill "$mon1" "$mon2" 2>/dev/null
wait "$mon1" "$mon2" 2>/dev/null
VWT_PIDS=()
"$T/prep.sh" 3 || die "apply of 3 peers failed"
in_ns "$AP" nft -j list ruleset >"$T/ruleset-3.json"

python3 - "$T/ruleset-3.json" "$T/ruleset-$PEERS.json" "$PEERS" <<'PY' >"$T/summary" || die "the ruleset is not as expected: $(cat "$T/summary")"
import json, sys
def load(f):
    objs = json.load(open(f))["nftables"]
    rules = sum(1 for o in objs if "rule" in o)
    sets = {o["set"]["name"]: len(o["set"].get("elem", [])) for o in objs if "set" in o}
    return rules, sets
r3, s3 = load(sys.argv[1])
rn, sn = load(sys.argv[2])
n = int(sys.argv[3])
print("ruleset-%d\tspan4 holds %d elements (3 peers: %d); %d rules, as with 3 peers (%d)" % (n, sn.get("span4", 0), s3.get("span4", 0), rn, r3))
if sn.get("span4") != n or rn != r3:
    sys.exit(1)
PY
while IFS=$'\t' read -r k v; do record "$k" "$v"; done <"$T/summary"
fdb=$(grep -c '^00:00:00:00:00:00 dst 198\.19\.' "$T/fdb-$PEERS")
own=$(grep -c 'dst 198\.19\.0\.1 ' "$T/fdb-$PEERS")
record "fdb-$PEERS" "vw4242 has $fdb all-zeros entries (one per peer but the host's own: $own to 198.19.0.1)"
[ "$fdb" = $((PEERS - 1)) ] && [ "$own" = 0 ] || die "expected $((PEERS - 1)) forwarding entries, none to 198.19.0.1"
if [ -s "$T/monitor-nft" ] || [ -s "$T/monitor-fdb" ]; then
	record "reapply-changes-$PEERS" "the re-apply changed something: $(head -c 300 "$T/monitor-nft" "$T/monitor-fdb")"
	die "a re-apply of $PEERS peers changed the kernel"
fi
record "reapply-changes-$PEERS" "none (nft monitor and bridge monitor fdb saw no event during a re-apply)"
record load "$(cut -d' ' -f1-3 /proc/loadavg) (load average at the end)"
