# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
#
# Shared by the netns tests. Every test builds its own topology in network
# namespaces named vwt-<test>-<pid>-<role>, never touches the machine's own
# namespace, and removes its namespaces, processes (by PID) and files on exit,
# failure included. Results are TAP: one "ok"/"not ok" line per check.
# TAP, cleanup, virtwire and traffic helpers: tests/lib/common.sh; here, the
# roles and the topology of these tests.
#
# "Outside" is TEST-NET only: wan 203.0.113.0/24 and 2001:db8:ffff::/64.
#
# VWT_BRNF=0|1 (set by meson for the tests that run both ways): bridged
# frames through the inet hooks (br_netfilter) or not, in every namespace.

# shellcheck source=tests/lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

# need_root: root, the tools, and br_netfilter when VWT_BRNF=1 asks for it.
need_root() {
	[ "$(id -u)" = 0 ] || vwt_skip "needs root (network namespaces)"
	need_tools ip nft python3
	if [ "${VWT_BRNF:-}" = 1 ] && [ ! -d /proc/sys/net/bridge ]; then
		vwt_skip "VWT_BRNF=1, but br_netfilter is not loaded (modprobe br_netfilter)"
	fi
}

# --- roles ----------------------------------------------------------------------

# ns ROLE: the namespace's name.
ns() {
	echo "vwt-$VWT_ID-$1"
}

# ns_add ROLE: the role's namespace, with br_netfilter as VWT_BRNF says.
ns_add() {
	local n
	n=$(ns "$1")
	vwt_ns_add "$n" || return 1
	if [ -n "${VWT_BRNF:-}" ] && [ -d /proc/sys/net/bridge ]; then
		# Per network namespace (a new one starts with 1 while the module
		# is loaded): set, and read back.
		ip netns exec "$n" sysctl -qw net.bridge.bridge-nf-call-iptables="$VWT_BRNF" \
			net.bridge.bridge-nf-call-ip6tables="$VWT_BRNF" || return 1
		[ "$(ip netns exec "$n" cat /proc/sys/net/bridge/bridge-nf-call-iptables)" = "$VWT_BRNF" ] &&
			[ "$(ip netns exec "$n" cat /proc/sys/net/bridge/bridge-nf-call-ip6tables)" = "$VWT_BRNF" ] || return 1
	fi
}

# vwt_in WHERE COMMAND...: WHERE is a role, or a namespace's full name (vwt-…).
vwt_in() {
	local where=$1
	shift
	case $where in
	vwt-*) ip netns exec "$where" "$@" ;;
	*) ip netns exec "$(ns "$where")" "$@" ;;
	esac
}

# nsx ROLE COMMAND...: runs a command in the role's namespace.
nsx() {
	vwt_in "$@"
}

# vw ROLE ARGS...: virtwire in a role's namespace, with the test's own
# state directory.
vw() {
	local role=$1
	shift
	vw_in "$role" "$VWT_TMP/state-$role" "$@"
}

# --- topology ------------------------------------------------------------

# topo_wan: namespaces "host" and "wan", joined by a veth (host: wan0).
#   wan 203.0.113.2/24 2001:db8:ffff::2/64 ── host wan0 203.0.113.1/24 2001:db8:ffff::1/64
topo_wan() {
	ns_add host && ns_add wan &&
		ip -n "$(ns host)" link add wan0 type veth peer name eth0 netns "$(ns wan)" &&
		ip -n "$(ns host)" addr add 203.0.113.1/24 dev wan0 &&
		ip -n "$(ns host)" addr add 2001:db8:ffff::1/64 dev wan0 nodad &&
		ip -n "$(ns wan)" addr add 203.0.113.2/24 dev eth0 &&
		ip -n "$(ns wan)" addr add 2001:db8:ffff::2/64 dev eth0 nodad &&
		ip -n "$(ns host)" link set wan0 up &&
		ip -n "$(ns wan)" link set eth0 up &&
		nsx host sysctl -qw net.ipv4.ip_forward=0 &&
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
		esac || return 1
	done
	ip -n "$(ns host)" link set "$br" up
}

# topo_guest ROLE BR MAC IP4/P GW4 [IP6/P GW6]: a guest namespace on the
# bridge, its veth's host end (g-ROLE) enslaved as libvirt enslaves a tap.
topo_guest() {
	local role=$1 br=$2 mac=$3 ip4=$4 gw4=$5 ip6=${6:-} gw6=${7:-}
	local hostif="g-$role" g
	g=$(ns "$role")
	ns_add "$role" &&
		ip -n "$(ns host)" link add "$hostif" type veth peer name eth0 netns "$g" &&
		ip -n "$g" link set eth0 address "$mac" &&
		# No port flags: a guest reaching its own forward through the
		# host's address needs hairpin on its port when br_netfilter is on
		# (the DNATed frame leaves by the port it came in), and setting it
		# is virtwire's (apply, the domain hooks, watch), so the tests see
		# whether virtwire did.
		ip -n "$(ns host)" link set "$hostif" master "$br" up &&
		ip -n "$g" addr add "$ip4" dev eth0 &&
		ip -n "$g" link set eth0 up &&
		ip -n "$g" route add default via "$gw4" || return 1
	if [ -n "$ip6" ]; then
		ip -n "$g" addr add "$ip6" dev eth0 nodad &&
			ip -n "$g" -6 route add default via "$gw6"
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

# --- traffic and rules --------------------------------------------------------------

# sctp_available ROLE: whether the kernel here speaks SCTP.
sctp_available() {
	nsx "$1" python3 -c 'import socket; socket.socket(socket.AF_INET, socket.SOCK_STREAM, 132)' 2>/dev/null
}

# nft_same_table A B: two `nft list table` texts, equal when set and map
# elements are compared as sets (the kernel lists hash sets in its own order).
nft_same_table() {
	python3 "$VW_SRC/tests/lib/nftnorm.py" "$1" "$2"
}

# nft_quiet ROLE CMD...: CMD commits nothing to ROLE's ruleset. nft monitor
# runs around it; the table vwt_quiet added before and deleted after it
# must be two consecutive generations. The monitor listens only once it has
# read the ruleset (slow with a large table): marker tables until it shows
# one.
nft_quiet() {
	local role=$1 mon pid i before after rc
	shift
	mon=$(mktemp "$VWT_TMP/monitor.XXXXXX")
	# Not through a function: $! must be the monitor's own process.
	ip netns exec "$(ns "$role")" timeout 150 stdbuf -oL nft monitor >"$mon" 2>&1 &
	pid=$!
	VWT_PIDS+=("$pid")
	# nft monitor reads the whole ruleset before it listens: with 10,000
	# elements on a busy machine that can take a while (90 s at most).
	local until=$((SECONDS + 90))
	while [ "$SECONDS" -lt "$until" ]; do
		nsx "$role" nft add table ip vwt_marker 2>/dev/null && nsx "$role" nft delete table ip vwt_marker
		grep -q 'new generation' "$mon" && break
		sleep 0.2
	done
	grep -q 'new generation' "$mon" || { echo "nft monitor showed nothing in 90 s"; return 1; }
	nsx "$role" nft add table ip vwt_quiet
	"$@"
	rc=$?
	nsx "$role" nft delete table ip vwt_quiet
	for i in $(seq 1 200); do
		grep -q 'delete table ip vwt_quiet' "$mon" && tail -1 "$mon" | grep -q 'new generation' && break
		sleep 0.05
	done
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	read -r before after < <(awk '/add table ip vwt_quiet/ { a = 1; next }
		/new generation/ { g = $4; if (a) { m = g; a = 0 } } END { print m, g }' "$mon")
	echo "command exit $rc; generations around it: ${before:-?}, ${after:-?}"
	sed -n '/add table ip vwt_quiet/,$p' "$mon" | tail -n +2
	[ "$rc" = 0 ] && [ -n "$before" ] && [ "$after" = $((before + 1)) ]
}
