# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
#
# tests/libvirt/lib.sh - shared by the virtwire tests against a real libvirtd
# (examples.sh, traffic.sh, badinput.sh, resilience.sh, parallel.sh).
#
# Every test runs libvirtd in a sandbox of its own (sandbox.sh: netns
# vwt-NAME, private mount namespace, its own /etc/libvirt ...) with virtwire
# installed as its network/qemu/lxc/daemon hook, state under
# $VW_SB_DIR/vwstate. "Outside" namespaces are vwt-* too, on TEST-NET
# addresses only. Results are TAP on stdout (one ok/not ok per check, the plan
# last); progress and diagnostics of the sandbox go to stderr. Cleanup runs on
# every exit (sandbox.sh's EXIT trap, plus vw_cleanup_add).
#
#   vwt_require [qemu]      skip (77, "1..0 # SKIP why") unless root, libvirtd,
#                           its LXC driver, the tools, and (qemu) TCG qemu
#   vwt_sandbox NAME        sandbox with virtwire's hooks; sets VWT_STATE
#   vwt_vw ARGS...          virtwire inside the sandbox, on the hooks' state dir
#   ok/not_ok/check/check_fails/diag/done_testing/bail    TAP
#   vwt_in WHERE CMD...     run CMD in WHERE: a guest name, "sb" (the
#                           sandbox), or a netns name "vwt-…"
#   vwt_serve WHERE PORT [tcp|udp]   answer each connection with
#                           "WHERE PEER" (bounded by VWT_SERVE_SECS)
#   vwt_probe WHERE ADDR PORT [tcp|udp]   print the answer (empty: none)
#   reach DESC WHERE ADDR PORT REGEX [tcp|udp] / unreachable DESC WHERE ADDR PORT
#   vwt_pings WHERE ADDR    one ping, 1 s
#   vwt_lxc_guest ARGS...   vw_lxc_guest, and wait until it can be entered
#   vwt_net_gone NAME [BRIDGE]   nothing of network NAME left (prints what is)
#   vwt_table_gone          table inet virtwire absent
#   vwt_nft_table           nft -s list table inet virtwire (stateless)
#   vwt_nft_canon           the same, canonical (for comparing two states)
#   vwt_coexist_rules       virtwire's rules in iptables (the coexistence accept)
#   CMD | matches ERE       like grep -Eq, safe with pipefail

set -u -o pipefail

VWT_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VWT_HERE=$VWT_SRC/tests/libvirt
VW_BIN=$(readlink -f "${VW_BIN:-$VWT_SRC/build/virtwire}")
export VW_BIN
VWT_N=0
VWT_FAILED=0
# Servers in guests and namespaces die after this many seconds at the latest.
: "${VWT_SERVE_SECS:=240}"
# Probes give up after this many seconds.
: "${VWT_PROBE_TIMEOUT:=2}"

# CMD | matches ERE: whether CMD's output has a line matching ERE. Reads all
# of it first: "grep -q" in a pipe exits at the first match, the writer then
# dies of SIGPIPE, and pipefail turns the match into a failure.
matches() {
	local in
	in=$(cat)
	grep -Eq -- "$1" <<<"$in"
}

# --- TAP -------------------------------------------------------------------

ok() {
	VWT_N=$((VWT_N + 1))
	echo "ok $VWT_N - $*"
}

not_ok() {
	VWT_N=$((VWT_N + 1))
	VWT_FAILED=$((VWT_FAILED + 1))
	echo "not ok $VWT_N - $*"
}

diag() {
	printf '%s\n' "$*" | sed 's/^/# /'
}

# check DESC CMD...: one TAP line from CMD's status; its output as diagnostics on failure.
check() {
	local desc=$1 out
	shift
	if out=$("$@" 2>&1); then
		ok "$desc"
	else
		not_ok "$desc"
		diag "$(head -40 <<<"$out")"
	fi
}

# check_fails DESC CMD...: CMD must fail.
check_fails() {
	local desc=$1 out
	shift
	if out=$("$@" 2>&1); then
		not_ok "$desc"
		diag "$(head -40 <<<"$out")"
	else
		ok "$desc"
	fi
}

done_testing() {
	echo "1..$VWT_N"
	[[ $VWT_FAILED -eq 0 ]]
}

# bail DESC: a failed step the rest of the test cannot do without.
bail() {
	not_ok "$*"
	diag "giving up: the remaining checks depend on this"
	vw_sb_log_tail 15 2>/dev/null | sed 's/^/# libvirtd: /'
	echo "1..$VWT_N"
	exit 1
}

# --- prerequisites -----------------------------------------------------------

_vwt_skip() {
	echo "1..0 # SKIP $*"
	exit 77
}

vwt_require() {
	local c
	[[ $EUID == 0 ]] || _vwt_skip "needs root (network namespaces, a real libvirtd)"
	[[ -x /usr/sbin/libvirtd ]] || _vwt_skip "/usr/sbin/libvirtd is missing (libvirt-daemon)"
	[[ -x /usr/lib/libvirt/libvirt_lxc ]] || _vwt_skip "libvirt's LXC driver is missing (libvirt-daemon-driver-lxc)"
	for c in virsh ip nsenter unshare nft iptables-save socat ss timeout ping python3; do
		command -v "$c" >/dev/null || _vwt_skip "$c is not installed"
	done
	[[ -x "$VW_BIN" ]] || _vwt_skip "virtwire binary $VW_BIN not built"
	if [[ "${1:-}" == qemu ]]; then
		[[ -x /usr/bin/qemu-system-x86_64 ]] || _vwt_skip "qemu-system-x86_64 is missing"
	fi
	return 0
}

# --- sandbox with virtwire ---------------------------------------------------

_vwt_install_hooks() {
	VWT_STATE=$VW_SB_DIR/vwstate
	export VWT_STATE
	"$VW_BIN" install-hooks --hooks-dir "$VW_SB_HOOKS" --state-dir "$VWT_STATE" >/dev/null
}

# vwt_sandbox NAME: a sandboxed libvirtd with virtwire's hooks installed
# before it starts (libvirtd looks for hooks at start only).
vwt_sandbox() {
	# Sandboxes of tests that were SIGKILLed: their owner is gone.
	: # (no vw_sandbox_reap_stale here: other sessions share this machine)
	vw_sandbox_start "$1" _vwt_install_hooks || bail "sandboxed libvirtd with virtwire's hooks starts"
	VWT_STATE=$VW_SB_DIR/vwstate
	export VWT_STATE
	VWT_TMP=$VW_SB_DIR/t
	mkdir -p "$VWT_TMP"
}

vwt_vw() {
	local cmd=$1
	shift
	case $cmd in
	apply | teardown | verify | status | hook) vw_sb_exec "$VW_BIN" "$cmd" --state-dir "$VWT_STATE" "$@" ;;
	*) vw_sb_exec "$VW_BIN" "$cmd" "$@" ;;
	esac
}

# vwt_define_start FILE: net-define + net-start, output on failure.
vwt_define_start() {
	local name
	name=$(sed -n 's:.*<name>\(.*\)</name>.*:\1:p' "$1" | head -1)
	vw_virsh net-define "$1" >/dev/null && vw_virsh net-start "$name" >/dev/null
}

# --- where commands run --------------------------------------------------------

# vwt_in WHERE CMD...: "sb" = the sandbox netns (and mounts), "vwt-*" = a
# namespace of ours, anything else = an LXC guest of the sandbox.
vwt_in() {
	local where=$1
	shift
	case $where in
	sb) vw_sb_exec "$@" ;;
	vwt-*) ip netns exec "$where" "$@" ;;
	*) vw_lxc_exec "$where" "$@" ;;
	esac
}

# vwt_serve WHERE PORT [tcp|udp]: a server in the background answering every
# connection (datagram) with "WHERE PEER". Waits until it listens.
vwt_serve() {
	local where=$1 port=$2 proto=${3:-tcp} i pid opt=-Hltn
	local log=$VWT_TMP/serve-$where-$port-$proto.log
	case $proto in
	tcp)
		# nofork: the shell writes the answer straight into the
		# connection. Through socat's own relay a child's short output
		# could be lost when the client's EOF came first (seen: the
		# connection closed without data, about 1 probe in 300).
		vwt_in "$where" "$(command -v timeout)" "$VWT_SERVE_SECS" "$(command -v socat)" \
			"TCP4-LISTEN:$port,reuseaddr,fork" SYSTEM:"echo $where \$SOCAT_PEERADDR,nofork" \
			</dev/null >"$log" 2>&1 &
		;;
	udp)
		# Not socat's UDP4-RECVFROM,fork: it lost or refused about half
		# of the datagrams here. One socket, one answer per datagram.
		opt=-Hlun
		vwt_in "$where" "$(command -v timeout)" "$VWT_SERVE_SECS" /usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1])))
while True:
    d, a = s.recvfrom(4096)
    s.sendto(("%s %s\n" % (sys.argv[2], a[0])).encode(), a)
' "$port" "$where" </dev/null >"$log" 2>&1 &
		;;
	*) return 1 ;;
	esac
	pid=$!
	vw_cleanup_add "kill $pid 2>/dev/null"
	for ((i = 0; i < 100; i++)); do
		vwt_in "$where" "$(command -v ss)" "$opt" 2>/dev/null | matches "[:.]$port " && return 0
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "server $where:$port exited:" >&2
			cat "$log" >&2
			return 1
		fi
		sleep 0.05
	done
	echo "server $where:$port does not listen after 100 polls" >&2
	vwt_in "$where" "$(command -v ss)" -Hlntu >&2
	cat "$log" >&2
	return 1
}

# vwt_probe WHERE ADDR PORT [tcp|udp]: the first line of the answer.
vwt_probe() {
	local where=$1 addr=$2 port=$3 proto=${4:-tcp} target
	case $proto in
	tcp) target="TCP4:$addr:$port,connect-timeout=$VWT_PROBE_TIMEOUT" ;;
	udp) target="UDP4:$addr:$port" ;;
	*) return 1 ;;
	esac
	# -t: after sending, wait that long for the answer (default 0.5 s).
	echo probe | vwt_in "$where" "$(command -v timeout)" $((VWT_PROBE_TIMEOUT + 2)) \
		"$(command -v socat)" -T"$VWT_PROBE_TIMEOUT" -t"$VWT_PROBE_TIMEOUT" - "$target" 2>/dev/null | head -1
}

# reach DESC WHERE ADDR PORT REGEX [PROTO]: the answer matches REGEX (ERE).
reach() {
	local desc=$1 got
	got=$(vwt_probe "$2" "$3" "$4" "${6:-tcp}")
	if grep -Eq "$5" <<<"$got"; then
		ok "$desc"
	else
		not_ok "$desc"
		diag "from $2 to $3:$4: expected /$5/, got '$got'"
		diag "a second try: '$(vwt_probe "$2" "$3" "$4" "${6:-tcp}")'"
	fi
}

# unreachable DESC WHERE ADDR PORT [PROTO]: no answer at all.
unreachable() {
	local desc=$1 got
	got=$(vwt_probe "$2" "$3" "$4" "${5:-tcp}")
	if [[ -z "$got" ]]; then
		ok "$desc"
	else
		not_ok "$desc"
		diag "from $2 to $3:$4: expected no answer, got '$got'"
	fi
}

# vwt_lxc_guest ARGS...: vw_lxc_guest, then wait (bounded) until the guest
# can be entered: right after "virsh start" libvirt may not know the init pid
# yet ("Init pid is not yet available"). VW_LXC_NOWAIT=1 skips the wait.
vwt_lxc_guest() {
	vw_lxc_guest "$@" || return
	[[ "${VW_LXC_NOWAIT:-0}" == 1 ]] && return 0
	_vw_wait 10 vw_lxc_exec "$1" /bin/true 2>/dev/null ||
		_vw_die "guest $1 cannot be entered 10 s after its start"
}

vwt_pings() {
	vwt_in "$1" "$(command -v ping)" -c1 -W1 -q "$2" >/dev/null 2>&1
}

# --- what is left ----------------------------------------------------------------

vwt_nft_table() {
	vw_sb_exec nft -s list table inet virtwire
}

# table inet virtwire in a canonical form, to compare two states of it: one
# line per chain, set and map (sorted: their order in the table is the order
# they were created in, which differs between an incremental build and a
# re-assert), set and map elements sorted, rules in their chain's order;
# handles and counter values left out. A duplicated rule or a missing element
# shows; the order objects were created in does not.
vwt_nft_canon() {
	vw_sb_exec nft -j list table inet virtwire | python3 -c '
import json, sys

def strip(o):
    if isinstance(o, dict):
        return {k: (0 if k in ("packets", "bytes") else strip(v)) for k, v in o.items() if k != "handle"}
    if isinstance(o, list):
        return [strip(v) for v in o]
    return o

objs, rules = [], {}
for item in json.load(sys.stdin)["nftables"]:
    kind, o = next(iter(item.items()))
    if kind in ("metainfo", "table"):
        continue
    o = strip(o)
    if kind == "rule":
        rules.setdefault(o["chain"], []).append(json.dumps(o, sort_keys=True))
        continue
    elem = o.pop("elem", None)
    line = kind + " " + json.dumps(o, sort_keys=True)
    if elem is not None:
        line += " elements " + json.dumps(sorted(json.dumps(e, sort_keys=True) for e in elem))
    objs.append(line)
for line in sorted(objs):
    print(line)
for chain in sorted(rules):
    for i, r in enumerate(rules[chain]):
        print("rule %s %d %s" % (chain, i, r))
'
}

vwt_table_gone() {
	if vw_sb_exec nft list table inet virtwire >/dev/null 2>&1; then
		echo "table inet virtwire still exists:"
		vw_sb_exec nft list table inet virtwire | head -30
		return 1
	fi
}

# The sandbox's iptables rules that carry virtwire's tag.
vwt_coexist_rules() {
	vw_sb_exec iptables-save 2>/dev/null | grep -E '^-A .*virtwire' || true
}

# vwt_net_gone NAME [BRIDGE]: nothing of network NAME is left: no element or
# chain of it in the table, no state files, no bridge, no tagged iptables
# rule, no dnsmasq. Prints what it finds.
vwt_net_gone() {
	local name=$1 br=${2:-} rc=0 t p
	if t=$(vw_sb_exec nft list table inet virtwire 2>/dev/null); then
		if grep -E "comment \"$name(:[^\"]*)?\"|nw-$name-" <<<"$t"; then
			echo "^ left in table inet virtwire"
			rc=1
		fi
	fi
	for p in "$VWT_STATE/$name.xml" "$VWT_STATE/$name.state"; do
		[[ -e "$p" ]] && { echo "state file $p left"; rc=1; }
	done
	if [[ -n "$br" ]] && vw_sb_exec ip link show "$br" >/dev/null 2>&1; then
		echo "bridge $br left:"
		vw_sb_exec ip -d link show "$br"
		rc=1
	fi
	if vwt_coexist_rules | grep -F -- "$name"; then
		echo "^ iptables rule of $name left"
		rc=1
	fi
	for p in $(ip netns pids "$VW_SB_NS" 2>/dev/null); do
		if tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | matches "dnsmasq/$name.conf"; then
			echo "dnsmasq of $name (pid $p) left"
			rc=1
		fi
	done
	return $rc
}

# The state directory holds nothing but its lock (and an empty domains dir).
vwt_state_empty() {
	local left
	left=$(cd "$VWT_STATE" 2>/dev/null && find . -mindepth 1 ! -name lock ! -path ./domains | sort)
	[[ -z "$left" ]] || { echo "left in $VWT_STATE:"; echo "$left"; return 1; }
}

# Bridges in the sandbox that virtwire made (alias virtwire:ID).
vwt_vw_bridges() {
	vw_sb_exec ip -d -o link show type bridge 2>/dev/null | grep -o 'alias virtwire:[^ ]*' || true
}

# Live processes in the sandbox netns (not zombies), one "PID COMM" a line.
vwt_sb_procs() {
	local p
	for p in $(ip netns pids "$VW_SB_NS" 2>/dev/null); do
		[[ "$p" == "$VW_SB_HOLDER_PID" ]] && continue
		_vw_pid_alive "$p" || continue
		echo "$p $(cat "/proc/$p/comm" 2>/dev/null)"
	done
}

# Source the sandbox library last: it installs the EXIT trap when started.
# shellcheck source=tests/libvirt/sandbox.sh
source "$VWT_HERE/sandbox.sh"
