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
# every exit (sandbox.sh's EXIT trap, then tests/lib/common.sh's).
#
# TAP (check, says, lacks, setup, bail …), vw_in and the traffic helpers
# (serve, probe, reach, blocked) come from tests/lib/common.sh; WHERE there is
# a guest name, "sb" (the sandbox) or a netns name "vwt-…". Here:
#
#   vwt_require [qemu]      skip (77, "1..0 # SKIP why") unless root, libvirtd,
#                           its LXC driver, the tools, and (qemu) TCG qemu
#   vwt_sandbox NAME        sandbox with virtwire's hooks; sets VWT_STATE
#   vwt_vw ARGS...          virtwire inside the sandbox, on the hooks' state dir
#   vwt_in WHERE CMD...     run CMD in WHERE
#   vwt_pings WHERE ADDR    one ping, 1 s
#   vwt_lxc_guest ARGS...   vw_lxc_guest, and wait until it can be entered
#   dom_fwd NET HOST-PORT GUEST-PORT   a <vw:domain> with one forward
#   vwt_net NAME BRIDGE NET24 [ITEM...]  $VWT_TMP/NAME.xml, NET24.1/24 with DHCP
#   vwt_net_gone NAME [BRIDGE]   nothing of network NAME left (prints what is)
#   vwt_table_gone          tables inet and bridge virtwire absent
#   vwt_nft_table           nft -s list table inet virtwire (stateless)
#   vwt_nft_canon           the same, canonical (for comparing two states)
#   fw_rules / fw_no_dups   libvirt's firewall in the backend in use (VWT_FW),
#                           one rule a line, sorted; and no rule twice
#   vwt_coexist_rules       virtwire's rules there (the coexistence accepts)
#   vwt_coexist_first       the first rule of the place virtwire's accept goes
#
# Which libvirt: VW_SB_LIBVIRT (sandbox.sh) = machine (Debian 12's 9.0),
# 11-nftables or 11-iptables (libvirt 11 from tools/libvirt-tree, firewall_backend
# set). VWT_FW is the backend libvirt writes with: "iptables" (chains LIBVIRT_*
# in ip/ip6 filter, nat and mangle, through iptables-nft) or "nftables" (tables
# ip and ip6 libvirt_network); every firewall helper reads the one in use.
#
# Every "nothing left" helper fails when the listing it reads fails: a
# sandbox that does not answer has not shown that anything is gone.

set -u -o pipefail

# shellcheck source=tests/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
VWT_HERE=$VW_SRC/tests/libvirt
VW_BIN=$(readlink -f "$VW_BIN")
export VW_BIN

# Before "Bail out!": what libvirtd said last.
vwt_on_bail() {
	echo "libvirtd's log, last lines:"
	vw_sb_log_tail 15
}

# --- prerequisites -----------------------------------------------------------

vwt_require() {
	local why
	need_root "a real libvirtd in network namespaces"
	why=$(vw_sandbox_available) || vwt_skip "$why"
	_vw_sb_pick_libvirt || bail "VW_SB_LIBVIRT=$VW_SB_LIBVIRT"
	VWT_FW=$VW_SB_FW
	need_tools virsh ip nsenter unshare nft iptables-save ss timeout ping python3
	[[ -x "$VW_BIN" ]] || vwt_skip "virtwire binary $VW_BIN not built"
	if [[ "${1:-}" == qemu ]]; then
		[[ -x "$VW_SB_ROOT/usr/bin/qemu-system-x86_64" ]] || vwt_skip "qemu-system-x86_64 is missing"
	fi
	# In a tree, the hooks run virtwire from the build: the tree sees the
	# source and the build folders at their own paths.
	VW_SB_BINDS=$VW_SRC
	[[ "$(dirname "$VW_BIN")/" == "$VW_SRC"/* ]] || VW_SB_BINDS+=" $(dirname "$VW_BIN")"
	diag "libvirt $(vw_sandbox_libvirt_version) (${VW_SB_LIBVIRT}), its firewall: $VWT_FW"
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
	vw_sandbox_start "$1" _vwt_install_hooks || bail "a sandboxed libvirtd with virtwire's hooks starts"
	VWT_STATE=$VW_SB_DIR/vwstate
	export VWT_STATE
	VWT_TMP=$VW_SB_DIR/t
	mkdir -p "$VWT_TMP"
}

vwt_vw() {
	vw_in sb "$VWT_STATE" "$@"
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
	local t
	t=$(vw_sb_exec nft list tables) || { echo "nft list tables failed: no answer"; return 1; }
	if grep -Eq '(inet|bridge) virtwire' <<<"$t"; then
		echo "a table of virtwire's still exists:"
		grep -E '(inet|bridge) virtwire' <<<"$t"
		vw_sb_exec nft list table inet virtwire | head -30
		return 1
	fi
}

# --- libvirt's firewall, in the backend in use --------------------------------------

# _fw_list: the sandbox's firewall outside virtwire's tables, in chain
# order, one rule a line, no counters; fails when a listing does.
#   iptables: "ip TABLE -A CHAIN …" (iptables-save), "ip6 TABLE -A CHAIN …"
#   nftables: "FAMILY TABLE CHAIN RULE" (nft -s list ruleset): libvirt's
#             tables ip/ip6 libvirt_network, and whatever else is there
_fw_list() {
	local out fam
	case $VWT_FW in
	iptables)
		for fam in ip ip6; do
			out=$(vw_sb_exec "${fam}tables-save" 2>&1) ||
				{ echo "${fam}tables-save failed: $out" >&2; return 1; }
			awk -v f="$fam" '/^\*/ { t = substr($0, 2) } /^-A/ { print f, t, $0 }' <<<"$out"
		done
		;;
	nftables)
		out=$(vw_sb_exec nft -s list ruleset 2>&1) || { echo "nft list ruleset failed: $out" >&2; return 1; }
		awk '
			/^table / { f = $2; t = $3; c = ""; next }
			/^\tchain / { c = $2; next }
			/^\t\t/ && c != "" && !/;$/ && !((f == "inet" || f == "bridge") && t == "virtwire") {
				sub(/^\t\t/, ""); print f, t, c, $0 }
			/^\t}/ { c = "" }' <<<"$out"
		;;
	*)
		echo "VWT_FW is '${VWT_FW:-}': iptables or nftables" >&2
		return 1
		;;
	esac
}

# fw_rules: _fw_list sorted, to compare two states.
fw_rules() {
	local r
	r=$(_fw_list) || return 1
	sort <<<"$r"
}

# fw_no_dups: there are rules (libvirt's), and none of them twice.
fw_no_dups() {
	local r d
	r=$(fw_rules) || return 1
	[[ -n "$r" ]] || { echo "no $VWT_FW rules at all: nothing to compare"; return 1; }
	d=$(uniq -d <<<"$r")
	[[ -z "$d" ]] || { echo "duplicate $VWT_FW rules:"; echo "$d"; return 1; }
}

# The rules in libvirt's firewall that carry virtwire's tag; fails when the
# listing does.
vwt_coexist_rules() {
	local r
	r=$(fw_rules) || return 1
	grep -F 'virtwire' <<<"$r" || true
}

# The place virtwire's coexistence accept must head, as _fw_list names it.
vwt_coexist_place() {
	case $VWT_FW in
	iptables) echo "ip filter -A FORWARD" ;;
	nftables) echo "ip libvirt_network forward" ;;
	esac
}

# vwt_coexist_first: the first rule of that place (nothing when it is empty).
vwt_coexist_first() {
	local r place
	r=$(_fw_list) || return 1
	place=$(vwt_coexist_place)
	awk -v p="$place " 'index($0, p) == 1 { print; exit }' <<<"$r"
}

# vwt_coexist_count N: exactly N rules of virtwire's in libvirt's firewall
# (N > 0 for a test that has such networks: an empty listing is no answer).
vwt_coexist_count() {
	local r n
	r=$(vwt_coexist_rules) || return 1
	n=$(grep -c . <<<"$r" || true)
	echo "$n rules of virtwire's in libvirt's $VWT_FW firewall:"
	echo "$r"
	[[ "$n" == "$1" ]]
}

# Bridges in the sandbox that virtwire made (alias virtwire:ID); fails when
# the listing does.
vwt_vw_bridges() {
	local out
	out=$(vw_sb_exec ip -d -o link show type bridge) || { echo "ip link failed" >&2; return 1; }
	grep -o 'alias virtwire:[^ ]*' <<<"$out" || true
}

# vwt_net_gone NAME [BRIDGE]: nothing of network NAME is left: no element or
# chain of it in the table, no state files, no bridge, no tagged rule in
# libvirt's firewall, no dnsmasq. Prints what it finds; every listing must answer.
vwt_net_gone() {
	local name=$1 br=${2:-} rc=0 t tt fam p links pids rules
	t=$(vw_sb_exec nft list tables) || { echo "nft list tables failed"; return 1; }
	for fam in inet bridge; do
		grep -q "$fam virtwire" <<<"$t" || continue
		tt=$(vw_sb_exec nft list table $fam virtwire) || { echo "nft list table $fam virtwire failed"; return 1; }
		if grep -E "comment \"$name(:[^\"]*)?\"|nw-$name-" <<<"$tt"; then
			echo "^ left in table $fam virtwire"
			rc=1
		fi
	done
	[[ -d "$VWT_STATE" ]] || { echo "no state directory $VWT_STATE"; return 1; }
	for p in "$VWT_STATE/$name.xml" "$VWT_STATE/$name.state"; do
		[[ -e "$p" ]] && { echo "state file $p left"; rc=1; }
	done
	links=$(vw_sb_exec ip -br link) || { echo "ip link failed"; return 1; }
	if [[ -n "$br" ]] && grep -Eq "^$br(@| )" <<<"$links"; then
		echo "bridge $br left:"
		vw_sb_exec ip -d link show "$br"
		rc=1
	fi
	rules=$(vwt_coexist_rules) || return 1
	if grep -F -- "virtwire: network $name\"" <<<"$rules"; then
		echo "^ $VWT_FW rule of $name left"
		rc=1
	fi
	pids=$(ip netns pids "$VW_SB_NS") || { echo "ip netns pids failed"; return 1; }
	for p in $pids; do
		if tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | matches "dnsmasq/$name.conf"; then
			echo "dnsmasq of $name (pid $p) left"
			rc=1
		fi
	done
	return $rc
}

# The state directory (it must exist) holds nothing but its lock (and an
# empty domains dir).
vwt_state_empty() {
	local left
	left=$(cd "$VWT_STATE" && find . -mindepth 1 ! -name lock ! -path ./domains | sort) ||
		{ echo "cannot read $VWT_STATE"; return 1; }
	[[ -z "$left" ]] || { echo "left in $VWT_STATE:"; echo "$left"; return 1; }
}

# vwt_all_gone: nothing of virtwire at all: no table, no state, no bridge
# it made, no tagged rule in libvirt's firewall.
vwt_all_gone() {
	local rc=0 b r
	vwt_table_gone || rc=1
	vwt_state_empty || rc=1
	b=$(vwt_vw_bridges) || return 1
	[[ -z "$b" ]] || { echo "bridges of virtwire left: $b"; rc=1; }
	r=$(vwt_coexist_rules) || return 1
	[[ -z "$r" ]] || { echo "$VWT_FW rules of virtwire left:"; echo "$r"; rc=1; }
	return $rc
}

# dom_fwd NETWORK HOST-PORT GUEST-PORT: a domain's <vw:domain> with one forward.
dom_fwd() {
	printf '<vw:domain xmlns:vw="urn:virtwire:1"><vw:forward network="%s" proto="tcp" host-port="%s" guest-port="%s"/></vw:domain>' "$@"
}

# vwt_net NAME BRIDGE NET24 [ITEM...]: $VWT_TMP/NAME.xml, network NAME as
# these tests define one: BRIDGE without STP, the address NET24.1/24, DHCP
# over NET24.100-200, and net_doc's ITEMs (tests/lib/common.sh: forward=,
# host=MAC=IP, mode=, virtwire's elements).
vwt_net() {
	net_doc "$1" "$2" "$3.1/24" stp=off "range=$3.100-$3.200" "${@:4}" >"$VWT_TMP/$1.xml"
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
