# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
#
# tests/lib/frr.sh - FRR (Debian 12's frr 8.4: zebra and bgpd) as the BGP
# EVPN control plane of "hypervisor" namespaces, for the tests of spanning
# networks (<vw:span control="evpn">). Source it after tests/lib/common.sh
# (it sources common.sh itself when that is not loaded yet).
#
# Safety: FRR runs only inside a namespace the test made (vwt-…), in a mount
# namespace of its own (unshare -m, private propagation) where /etc/frr,
# /run/frr (= /var/run/frr) and /var/tmp are bind mounts of the instance's
# directory under $VWT_TMP: the machine's /etc/frr and /run/frr are never read
# or written, and nothing of FRR ever runs in the machine's namespace. Only
# zebra and bgpd are started (no watchfrr, no staticd); their PIDs are
# recorded and exactly those are ended, at frr_stop or at exit.
#
# The configuration is examples/frr/frr.conf, the text operators are told to
# install, with this host's values put in the lines the file says an operator
# sets (router-id, update-source, the neighbors, the route-reflector line).
#
#   start/stop  frr_start HOSTNS ROUTER_ID LOCAL_ADDR PEER... [--rr]
#               frr_stop HOSTNS
#   vtysh       frr_vtysh HOSTNS CMD...   (one -c per CMD)
#               frr_json HOSTNS CMD       (the output, checked to be JSON)
#   sessions    frr_wait_established HOSTNS N TIMEOUT
#   EVPN state  frr_evpn_routes HOSTNS; frr_evpn_macs HOSTNS;
#               frr_evpn_vnis HOSTNS      (JSON, FRR's own shape)
#               frr_vni_up HOSTNS VNI     (zebra has the VNI, its VXLAN device
#                                          up, on a bridge; prints VTEP IP)
#               frr_imet_vteps HOSTNS VNI (originators of type-3 routes)
#               frr_remote_vteps HOSTNS VNI (zebra's flood list)
#               frr_mac HOSTNS VNI MAC    ("local SEQ" or "remote VTEP SEQ")
#               frr_wait HOSTNS TIMEOUT WANT FN ARGS... (bounded poll until
#                                          FN's output equals WANT)

if ! declare -F vwt_cleanup_add >/dev/null; then
	# shellcheck source=tests/lib/common.sh
	. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
fi

FRR_EXAMPLE=${FRR_EXAMPLE:-$VW_SRC/examples/frr}
FRR_LIBDIR=${FRR_LIBDIR:-/usr/lib/frr}

# need_frr: the prerequisites (a skip when missing).
need_frr() {
	need_tools vtysh unshare python3
	if ! [ -x "$FRR_LIBDIR/zebra" ] || ! [ -x "$FRR_LIBDIR/bgpd" ]; then
		vwt_unmet "frr is not installed (tools/bootstrap installs it)"
	fi
	getent passwd frr >/dev/null || vwt_unmet "the user frr is missing (the frr package makes it)"
}

# _frr_dir HOSTNS: the instance's directory (etc/ run/ vartmp/, logs, pids).
_frr_dir() {
	echo "$VWT_TMP/frr/$1"
}

# frr_conf ROUTER_ID LOCAL_ADDR PEER... [--rr]: examples/frr/frr.conf with
# this host's values, on stdout. Peers equal to LOCAL_ADDR are left out. Fails
# when the example lacks a line it has to change (it and this must agree).
frr_conf() {
	local rid=$1 local_addr=$2 rr=0 peers=() p
	shift 2
	for p in "$@"; do
		case $p in
		--rr) rr=1 ;;
		"$local_addr") ;;
		*) peers+=("$p") ;;
		esac
	done
	python3 - "$FRR_EXAMPLE/frr.conf" "$rid" "$local_addr" "$rr" "${peers[@]}" <<'EOF'
import re, sys
path, rid, local, rr, peers = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "1", sys.argv[5:]
out, seen = [], set()
for line in open(path):
    if re.fullmatch(r" bgp router-id \S+\n", line):
        line, _ = f" bgp router-id {rid}\n", seen.add("router-id")
    elif re.fullmatch(r" neighbor vteps update-source \S+\n", line):
        line, _ = f" neighbor vteps update-source {local}\n", seen.add("update-source")
    elif re.fullmatch(r" neighbor \S+ peer-group vteps\n", line):
        if "neighbors" in seen:
            continue
        seen.add("neighbors")
        line = "".join(f" neighbor {p} peer-group vteps\n" for p in peers)
    elif re.fullmatch(r"  ! neighbor vteps route-reflector-client\n", line):
        seen.add("rr")
        if rr:
            line = "  neighbor vteps route-reflector-client\n"
    out.append(line)
missing = {"router-id", "update-source", "neighbors", "rr"} - seen
if missing:
    sys.exit(f"frr_conf: {path} lacks the line(s) for: {', '.join(sorted(missing))}")
sys.stdout.write("".join(out))
EOF
}

# The supervisor: runs in the instance's own mount namespace, puts the
# instance's directories over FRR's, starts zebra, then (once zebra's socket
# is there) bgpd, writes their PIDs, and waits for them. $1: the directory,
# $2 and $3: zebra's and bgpd's options.
# shellcheck disable=SC2016
_FRR_SUPERVISOR='
set -eu
d=$1
mount --bind "$d/etc" /etc/frr
mount --bind "$d/run" /run/frr
mount --bind "$d/vartmp" /var/tmp
# shellcheck disable=SC2086
'"$FRR_LIBDIR"'/zebra $2 --log stdout -P 0 >"$d/zebra.log" 2>&1 </dev/null &
echo $! >"$d/zebra.pid"
i=0
while [ ! -S /run/frr/zserv.api ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
# shellcheck disable=SC2086
'"$FRR_LIBDIR"'/bgpd $3 --log stdout -P 0 >"$d/bgpd.log" 2>&1 </dev/null &
echo $! >"$d/bgpd.pid"
wait
'

# frr_start HOSTNS ROUTER_ID LOCAL_ADDR PEER... [--rr]: zebra and bgpd for the
# hypervisor namespace HOSTNS, configured with frr_conf's text (the daemons'
# options from examples/frr/daemons). With --rr the instance is a route
# reflector whose clients are the PEERs; a client lists only the reflector.
# Returns when both daemons took the configuration; fails (with their logs as
# TAP diagnostics) otherwise. Call it from the test's own shell (not in $(…)
# or a pipe): the supervisor must be the shell's child to be ended at exit.
frr_start() {
	local ns=$1 d bgpd='' zebra_options='' bgpd_options='' i
	d=$(_frr_dir "$ns")
	[ ! -e "$d" ] || { diag "frr_start: $ns already has an instance"; return 1; }
	mkdir -p "$d/etc" "$d/run" "$d/vartmp" || return 1
	frr_conf "${@:2}" >"$d/etc/frr.conf" || return 1
	printf 'service integrated-vtysh-config\n' >"$d/etc/vtysh.conf"
	cp "$FRR_EXAMPLE/daemons" "$d/etc/daemons"
	# shellcheck disable=SC1091
	. "$d/etc/daemons" || return 1
	[ "$bgpd" = yes ] || { diag "frr_start: examples/frr/daemons does not enable bgpd"; return 1; }
	# As the package leaves them: /etc/frr frr:frr 0750 with 0640 files,
	# /run/frr frr:frr 0755 (the daemons make their sockets there after
	# dropping to frr); /var/tmp as the machine's (FRR makes frr/ in it).
	chown -R frr:frr "$d/etc" "$d/run" && chmod 0750 "$d/etc" && chmod 0640 "$d/etc"/* &&
		chmod 0755 "$d/run" && chmod 1777 "$d/vartmp" || return 1
	vwt_cleanup_add "frr_stop $ns"
	ip netns exec "$ns" unshare -m --propagation private sh -c "$_FRR_SUPERVISOR" frr-supervisor \
		"$d" "$zebra_options" "$bgpd_options" </dev/null >"$d/supervisor.log" 2>&1 &
	echo $! >"$d/supervisor.pid"
	VWT_PIDS+=("$!")
	for i in $(seq 1 100); do
		[ -S "$d/run/zebra.vty" ] && [ -S "$d/run/bgpd.vty" ] && break
		sleep 0.05
	done
	if ! [ -S "$d/run/zebra.vty" ] || ! [ -S "$d/run/bgpd.vty" ]; then
		diag "frr_start $ns: zebra or bgpd did not come up within 5 s"
		_frr_logs "$ns"
		return 1
	fi
	# As Debian's frrinit does: the integrated configuration through vtysh -b.
	if ! ip netns exec "$ns" vtysh --vty_socket "$d/run" --config_dir "$d/etc" -b >"$d/boot.log" 2>&1; then
		diag "frr_start $ns: vtysh -b failed"
		_frr_logs "$ns"
		return 1
	fi
}

_frr_logs() {
	local d f
	d=$(_frr_dir "$1")
	for f in supervisor.log zebra.log bgpd.log boot.log; do
		[ -s "$d/$f" ] && diag "--- $f" && diag "$(tail -20 "$d/$f")"
	done
	return 0
}

# _frr_pid_of HOSTNS DAEMON: the daemon's PID when it is still the process
# the supervisor started (its name and parent checked: never a reused PID).
_frr_pid_of() {
	local d pid sup st
	d=$(_frr_dir "$1")
	pid=$(cat "$d/$2.pid" 2>/dev/null) && sup=$(cat "$d/supervisor.pid" 2>/dev/null) || return 1
	[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ] || return 1
	st=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
	st=${st##*) }
	# shellcheck disable=SC2086
	set -- $st
	[ "$2" = "$sup" ] && echo "$pid"
}

# frr_pids HOSTNS: the instance's zebra and bgpd PIDs that still run.
frr_pids() {
	_frr_pid_of "$1" zebra
	_frr_pid_of "$1" bgpd
	return 0
}

# frr_stop HOSTNS: ends bgpd, then zebra (SIGTERM, SIGKILL after 5 s), by
# their recorded PIDs; the supervisor ends with them; removes the files.
frr_stop() {
	local ns=$1 d daemon pid sup i
	d=$(_frr_dir "$ns")
	[ -d "$d" ] || return 0
	for daemon in bgpd zebra; do
		pid=$(_frr_pid_of "$ns" "$daemon") || continue
		kill "$pid" 2>/dev/null
		for i in $(seq 1 100); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.05
		done
		kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
	done
	sup=$(cat "$d/supervisor.pid" 2>/dev/null) &&
		_vwt_our_child "$sup" && kill "$sup" 2>/dev/null && wait "$sup" 2>/dev/null
	rm -rf "$d"
	return 0
}

# frr_vtysh HOSTNS CMD...: vtysh against the instance's sockets, one -c per
# CMD.
frr_vtysh() {
	local ns=$1 d args=() c
	d=$(_frr_dir "$ns")
	shift
	for c in "$@"; do
		args+=(-c "$c")
	done
	ip netns exec "$ns" vtysh --vty_socket "$d/run" --config_dir "$d/etc" "${args[@]}"
}

# frr_json HOSTNS CMD: CMD's output, which must parse as JSON (a daemon that
# does not answer is no answer: failure).
frr_json() {
	local out
	out=$(frr_vtysh "$1" "$2") || return 1
	python3 -c 'import json, sys; json.loads(sys.argv[1])' "$out" 2>/dev/null || {
		echo "frr_json: '$2' did not give JSON: $(head -c 300 <<<"$out")" >&2
		return 1
	}
	printf '%s\n' "$out"
}

frr_evpn_routes() {
	frr_json "$1" "show bgp l2vpn evpn route json"
}

frr_evpn_macs() {
	frr_json "$1" "show evpn mac vni all json"
}

frr_evpn_vnis() {
	frr_json "$1" "show evpn vni json"
}

# _frr_py HOSTNS CMD SCRIPT ARGS...: CMD's JSON read by the python SCRIPT
# (as `data`, with ARGS in `args`); its stdout is the answer.
_frr_py() {
	local json
	json=$(frr_json "$1" "$2") || return 1
	python3 -c 'import json, sys
data = json.loads(sys.stdin.read()); args = sys.argv[2:]
exec(sys.argv[1])' "$3" "${@:4}" <<<"$json"
}

# frr_established HOSTNS: how many BGP sessions are established.
frr_established() {
	_frr_py "$1" "show bgp neighbors json" '
print(sum(1 for n in data.values() if isinstance(n, dict) and n.get("bgpState") == "Established"))'
}

# frr_wait HOSTNS TIMEOUT WANT FN ARGS...: polls FN HOSTNS ARGS... every
# 0.1 s until its output is WANT, for at most TIMEOUT seconds (a fraction
# allowed). Prints the last output; fails on timeout.
frr_wait() {
	local ns=$1 timeout=$2 want=$3 fn=$4 got='' end
	shift 4
	end=$(($(vwt_now_ms) + $(vwt_ms "$timeout")))
	while :; do
		got=$("$fn" "$ns" "$@" 2>/dev/null)
		[ "$got" = "$want" ] && break
		[ "$(vwt_now_ms)" -lt "$end" ] || { printf '%s\n' "$got"; return 1; }
		sleep 0.1
	done
	printf '%s\n' "$got"
}

# frr_wait_established HOSTNS N TIMEOUT: waits (at most TIMEOUT seconds)
# until HOSTNS has N established BGP sessions.
frr_wait_established() {
	frr_wait "$1" "$3" "$2" frr_established >/dev/null
}

# frr_vni_up HOSTNS VNI: "VTEP-IP BRIDGE" when zebra has the VNI with a
# local VTEP address and the bridge its VXLAN device is a port of (empty
# otherwise). (frr 8.4's JSON has no state field.)
frr_vni_up() {
	_frr_py "$1" "show evpn vni $2 json" '
if data.get("vni") == int(args[0]) and data.get("vtepIp", "0.0.0.0") != "0.0.0.0" and data.get("sviInterface"):
    print(data["vtepIp"], data["sviInterface"])' "$2"
}

# frr_imet_vteps HOSTNS VNI: the originating VTEPs of the type-3 (inclusive
# multicast) routes bgpd holds for VNI, sorted, one a line (its own too).
frr_imet_vteps() {
	_frr_py "$1" "show bgp l2vpn evpn route vni $2 type multicast json" '
ips = {p["ip"] for v in data.values() if isinstance(v, dict)
       for ps in v.get("paths", []) for p in ps if p.get("valid") and "ip" in p}
print("\n".join(sorted(ips)))'
}

# frr_remote_vteps HOSTNS VNI: the remote VTEPs zebra has for VNI (what it
# installs as 00:00:00:00:00:00 FDB entries), sorted, one a line.
frr_remote_vteps() {
	_frr_py "$1" "show evpn vni json" '
print("\n".join(sorted(data.get(args[0], {}).get("remoteVteps", []))))' "$2"
}

# frr_mac HOSTNS VNI MAC: "local SEQ" or "remote VTEP SEQ" as zebra has MAC
# in VNI (SEQ: its MAC mobility sequence number); empty when it has none.
frr_mac() {
	_frr_py "$1" "show evpn mac vni $2 mac $3 json" '
m = data.get(args[0])
if isinstance(m, dict):
    if m.get("type") == "local":
        print("local", m.get("localSequence", "?"))
    elif m.get("type") == "remote":
        print("remote", m.get("remoteVtep", "?"), m.get("remoteSequence", "?"))' "$3"
}
