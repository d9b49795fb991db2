# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
#
# Shared by the netns tests. Every test builds its own topology in network
# namespaces named vwt-<test>-<pid>-<role>, never touches the machine's own
# namespace, and removes its namespaces, processes (by PID) and files on exit,
# failure included. Results are TAP: one "ok"/"not ok" line per check.
#
# "Outside" is TEST-NET only: wan 203.0.113.0/24 and 2001:db8:ffff::/64.

set -u

VW_BIN=${VW_BIN:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build/virtwire}
VW_TEST_BIN=${VW_TEST_BIN:-$(dirname "$VW_BIN")/tests/virtwire-test}
VW_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VWT_ID="$(basename "$0" .sh | tr -c 'a-z0-9\n' '-' | cut -c1-12)-$$"
VWT_TMP=$(mktemp -d "/tmp/vwt-$VWT_ID.XXXXXX")
VWT_NS=()
VWT_PIDS=()
VWT_N=0
VWT_FAILED=0
# Probes give up after this many seconds: every loop here is bounded.
PROBE_TIMEOUT=${PROBE_TIMEOUT:-2}

vwt_cleanup() {
	local pid ns
	for pid in "${VWT_PIDS[@]}"; do
		kill "$pid" 2>/dev/null
	done
	for pid in "${VWT_PIDS[@]}"; do
		wait "$pid" 2>/dev/null
	done
	for ns in "${VWT_NS[@]}"; do
		# Anything still running in a namespace of ours is ours.
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill -9 "$pid" 2>/dev/null
		done
		ip netns del "$ns" 2>/dev/null
	done
	rm -rf "$VWT_TMP"
}
trap vwt_cleanup EXIT
trap 'exit 130' INT TERM

need_root() {
	if [ "$(id -u)" != 0 ]; then
		echo "1..0 # SKIP needs root (network namespaces)"
		exit 77
	fi
	for tool in ip nft socat; do
		if ! command -v "$tool" >/dev/null; then
			echo "1..0 # SKIP $tool is not installed (tools/bootstrap installs it)"
			exit 77
		fi
	done
}

# --- TAP ---------------------------------------------------------------

ok() {
	VWT_N=$((VWT_N + 1))
	echo "ok $VWT_N - $*"
}

not_ok() {
	VWT_N=$((VWT_N + 1))
	VWT_FAILED=$((VWT_FAILED + 1))
	echo "not ok $VWT_N - $*"
}

skip() {
	VWT_N=$((VWT_N + 1))
	echo "ok $VWT_N - $1 # SKIP $2"
}

# check DESCRIPTION COMMAND...: one TAP line from a command's status.
check() {
	local desc=$1
	shift
	if "$@" >"$VWT_TMP/check.out" 2>&1; then
		ok "$desc"
	else
		not_ok "$desc"
		sed 's/^/# /' "$VWT_TMP/check.out" | head -40
	fi
}

# check_fails DESCRIPTION COMMAND...: the command must fail.
check_fails() {
	local desc=$1
	shift
	if "$@" >"$VWT_TMP/check.out" 2>&1; then
		not_ok "$desc"
		sed 's/^/# /' "$VWT_TMP/check.out" | head -40
	else
		ok "$desc"
	fi
}

done_testing() {
	echo "1..$VWT_N"
	[ "$VWT_FAILED" -eq 0 ]
}

diag() {
	echo "$*" | sed 's/^/# /'
}

# --- namespaces -------------------------------------------------------------

# ns ROLE: the namespace's name.
ns() {
	echo "vwt-$VWT_ID-$1"
}

ns_add() {
	local n
	n=$(ns "$1")
	ip netns add "$n" || return 1
	VWT_NS+=("$n")
	ip -n "$n" link set lo up
}

# nsx ROLE COMMAND...: runs a command in the role's namespace.
nsx() {
	local role=$1
	shift
	ip netns exec "$(ns "$role")" "$@"
}

# vw_in NETNS STATEDIR COMMAND ARGS...: virtwire in a namespace, with a
# state directory for the commands that keep one; with VIRTWIRE_FAULT set,
# the test build's binary, which injects the fault.
vw_in() {
	local netns=$1 dir=$2 cmd=$3 bin=$VW_BIN
	shift 3
	[ -n "${VIRTWIRE_FAULT:-}" ] && bin=$VW_TEST_BIN
	case $cmd in
	apply | teardown | verify | status | hook) set -- "$cmd" --state-dir "$dir" "$@" ;;
	*) set -- "$cmd" "$@" ;;
	esac
	ip netns exec "$netns" "$bin" "$@"
}

# vw ROLE ARGS...: virtwire in a role's namespace, with the test's own
# state directory.
vw() {
	local role=$1
	shift
	vw_in "$(ns "$role")" "$VWT_TMP/state-$role" "$@"
}

# --- topology ------------------------------------------------------------

# topo_wan: namespaces "host" and "wan", joined by a veth (host: wan0).
#   wan 203.0.113.2/24 2001:db8:ffff::2/64 ── host wan0 203.0.113.1/24 2001:db8:ffff::1/64
topo_wan() {
	ns_add host && ns_add wan || return 1
	ip -n "$(ns host)" link add wan0 type veth peer name eth0 netns "$(ns wan)" || return 1
	ip -n "$(ns host)" addr add 203.0.113.1/24 dev wan0
	ip -n "$(ns host)" addr add 2001:db8:ffff::1/64 dev wan0 nodad
	ip -n "$(ns wan)" addr add 203.0.113.2/24 dev eth0
	ip -n "$(ns wan)" addr add 2001:db8:ffff::2/64 dev eth0 nodad
	ip -n "$(ns host)" link set wan0 up
	ip -n "$(ns wan)" link set eth0 up
	nsx host sysctl -qw net.ipv4.ip_forward=0
	nsx host sysctl -qw net.ipv6.conf.all.forwarding=0
}

# topo_bridge BR [CIDR...]: a bridge in "host" with the host's addresses,
# as libvirt would create it (a fixture where virtwire does not build it).
topo_bridge() {
	local br=$1 a
	shift
	ip -n "$(ns host)" link add "$br" type bridge stp_state 0 forward_delay 0 || return 1
	for a in "$@"; do
		case $a in
		*:*) ip -n "$(ns host)" addr add "$a" dev "$br" nodad ;;
		*) ip -n "$(ns host)" addr add "$a" dev "$br" ;;
		esac
	done
	ip -n "$(ns host)" link set "$br" up
}

# topo_guest ROLE BR MAC IP4/P GW4 [IP6/P GW6]: a guest namespace on the
# bridge, its veth's host end (g-ROLE) enslaved as libvirt enslaves a tap.
topo_guest() {
	local role=$1 br=$2 mac=$3 ip4=$4 gw4=$5 ip6=${6:-} gw6=${7:-}
	local hostif="g-$role"
	ns_add "$role" || return 1
	ip -n "$(ns host)" link add "$hostif" type veth peer name eth0 netns "$(ns "$role")" || return 1
	ip -n "$(ns "$role")" link set eth0 address "$mac"
	ip -n "$(ns host)" link set "$hostif" master "$br" up
	# As virtwire sets it on guest ports of networks with hairpin: with
	# br_netfilter, a DNATed frame may have to leave by the port it came in.
	ip -n "$(ns host)" link set "$hostif" type bridge_slave hairpin on
	ip -n "$(ns "$role")" addr add "$ip4" dev eth0
	ip -n "$(ns "$role")" link set eth0 up
	ip -n "$(ns "$role")" route add default via "$gw4"
	if [ -n "$ip6" ]; then
		ip -n "$(ns "$role")" addr add "$ip6" dev eth0 nodad
		ip -n "$(ns "$role")" -6 route add default via "$gw6"
	fi
}

# settle ROLE...: waits (at most 5 s) until no IPv6 address in the roles'
# namespaces is tentative: before that, neighbour discovery over the new
# links does not answer yet and an IPv6 probe can fail.
settle() {
	local i role busy
	for i in $(seq 1 100); do
		busy=
		for role in "$@"; do
			if ip -n "$(ns "$role")" -6 addr show tentative | grep -q inet6; then
				busy=1
			fi
		done
		[ -z "$busy" ] && return 0
		sleep 0.05
	done
	return 1
}

# --- traffic ---------------------------------------------------------------

# serve ROLE PROTO PORT: a server answering every connection or datagram with
# "ROLE PEER" (PEER: the source address it saw). PROTO: tcp4 tcp6 udp4 udp6
# sctp4 sctp6.
serve() {
	local role=$1 proto=$2 port=$3 listen
	case $proto in
	tcp4) listen="TCP4-LISTEN:$port,reuseaddr,fork" ;;
	tcp6) listen="TCP6-LISTEN:$port,reuseaddr,fork,ipv6only=1" ;;
	udp4) listen="UDP4-RECVFROM:$port,reuseaddr,fork" ;;
	udp6) listen="UDP6-RECVFROM:$port,reuseaddr,fork,ipv6only=1" ;;
	sctp4) listen="SCTP4-LISTEN:$port,reuseaddr,fork" ;;
	sctp6) listen="SCTP6-LISTEN:$port,reuseaddr,fork,ipv6only=1" ;;
	*) return 1 ;;
	esac
	# socat spells IPv6 peers in full, in brackets: print them the usual way.
	nsx "$role" socat "$listen" \
		SYSTEM:"echo $role \$(python3 -c 'import ipaddress,sys; print(ipaddress.ip_address(sys.argv[1].strip(\"[]\")))' \$SOCAT_PEERADDR)" \
		2>/dev/null &
	VWT_PIDS+=($!)
	# Wait (bounded) until it listens.
	local i
	for i in $(seq 1 50); do
		if nsx "$role" ss -Hlnp 2>/dev/null | grep -q ":$port .*socat"; then
			return 0
		fi
		case $proto in sctp*) sleep 0.1; return 0 ;; esac
		sleep 0.02
	done
	return 1
}

# probe ROLE PROTO ADDR PORT: prints the server's answer (empty: none).
probe() {
	local role=$1 proto=$2 addr=$3 port=$4 target
	case $proto in
	tcp4) target="TCP4:$addr:$port,connect-timeout=$PROBE_TIMEOUT" ;;
	tcp6) target="TCP6:[$addr]:$port,connect-timeout=$PROBE_TIMEOUT" ;;
	udp4) target="UDP4:$addr:$port" ;;
	udp6) target="UDP6:[$addr]:$port" ;;
	sctp4) target="SCTP4:$addr:$port,connect-timeout=$PROBE_TIMEOUT" ;;
	sctp6) target="SCTP6:[$addr]:$port,connect-timeout=$PROBE_TIMEOUT" ;;
	*) return 1 ;;
	esac
	echo probe | timeout $((PROBE_TIMEOUT + 2)) ip netns exec "$(ns "$role")" \
		socat -T"$PROBE_TIMEOUT" - "$target" 2>/dev/null | head -1
}

# reach DESC ROLE PROTO ADDR PORT EXPECT: the answer must match EXPECT (an
# extended regex, e.g. "^guest1 203\.0\.113\.2$").
# A busy machine can lose the first attempt: a second one is allowed (and
# noted); a rule that is wrong fails both.
reach() {
	local desc=$1 got
	got=$(probe "$2" "$3" "$4" "$5")
	if ! echo "$got" | grep -Eq "$6"; then
		diag "$desc: no answer at the first attempt ('$got'), trying once more"
		got=$(probe "$2" "$3" "$4" "$5")
	fi
	if echo "$got" | grep -Eq "$6"; then
		ok "$desc"
	else
		not_ok "$desc"
		diag "expected /$6/, got '${got}'"
	fi
}

# unreachable DESC ROLE PROTO ADDR PORT: no answer at all.
unreachable() {
	local desc=$1 got
	got=$(probe "$2" "$3" "$4" "$5")
	if [ -z "$got" ]; then
		ok "$desc"
	else
		not_ok "$desc"
		diag "expected no answer, got '$got'"
	fi
}

# sctp_available ROLE: whether the kernel here speaks SCTP.
sctp_available() {
	nsx "$1" python3 -c 'import socket; socket.socket(socket.AF_INET, socket.SOCK_STREAM, 132)' 2>/dev/null
}

# nft_same_table A B: two `nft list table` texts, equal when set and map
# elements are compared as sets (the kernel lists hash sets in its own order).
nft_same_table() {
	python3 "$VW_SRC/tests/netns/nftnorm.py" "$1" "$2"
}
