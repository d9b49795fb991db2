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
#   vwt_net_gone NAME [BRIDGE]   nothing of network NAME left (prints what is)
#   vwt_table_gone          table inet virtwire absent
#   vwt_nft_table           nft -s list table inet virtwire (stateless)
#   vwt_nft_canon           the same, canonical (for comparing two states)
#   vwt_coexist_rules       virtwire's rules in iptables (the coexistence accept)
#   ipt_rules / ipt_no_dups the sandbox's iptables rules, "TABLE RULE" sorted
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
	need_root "a real libvirtd in network namespaces"
	[[ -x /usr/sbin/libvirtd ]] || vwt_skip "/usr/sbin/libvirtd is missing (libvirt-daemon)"
	[[ -x /usr/lib/libvirt/libvirt_lxc ]] || vwt_skip "libvirt's LXC driver is missing (libvirt-daemon-driver-lxc)"
	need_tools virsh ip nsenter unshare nft iptables-save ss timeout ping python3
	[[ -x "$VW_BIN" ]] || vwt_skip "virtwire binary $VW_BIN not built"
	if [[ "${1:-}" == qemu ]]; then
		[[ -x /usr/bin/qemu-system-x86_64 ]] || vwt_skip "qemu-system-x86_64 is missing"
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
	if grep -q 'inet virtwire' <<<"$t"; then
		echo "table inet virtwire still exists:"
		vw_sb_exec nft list table inet virtwire | head -30
		return 1
	fi
}

# ipt_rules: the sandbox's iptables rules as "TABLE -A CHAIN …", sorted (no
# counters); fails when iptables-save does.
ipt_rules() {
	local out
	out=$(vw_sb_exec iptables-save) || { echo "iptables-save failed" >&2; return 1; }
	awk '/^\*/ { t = substr($0, 2) } /^-A/ { print t, $0 }' <<<"$out" | sort
}

# ipt_no_dups: there are rules (libvirt's), and none of them twice.
ipt_no_dups() {
	local r d
	r=$(ipt_rules) || return 1
	[[ -n "$r" ]] || { echo "no iptables rules at all: nothing to compare"; return 1; }
	d=$(uniq -d <<<"$r")
	[[ -z "$d" ]] || { echo "duplicate iptables rules:"; echo "$d"; return 1; }
}

# The sandbox's iptables rules that carry virtwire's tag; fails when
# iptables-save does.
vwt_coexist_rules() {
	local r
	r=$(ipt_rules) || return 1
	grep -E '^[a-z]+ -A .*virtwire' <<<"$r" || true
}

# Bridges in the sandbox that virtwire made (alias virtwire:ID); fails when
# the listing does.
vwt_vw_bridges() {
	local out
	out=$(vw_sb_exec ip -d -o link show type bridge) || { echo "ip link failed" >&2; return 1; }
	grep -o 'alias virtwire:[^ ]*' <<<"$out" || true
}

# vwt_net_gone NAME [BRIDGE]: nothing of network NAME is left: no element or
# chain of it in the table, no state files, no bridge, no tagged iptables
# rule, no dnsmasq. Prints what it finds; every listing must answer.
vwt_net_gone() {
	local name=$1 br=${2:-} rc=0 t p links pids rules
	t=$(vw_sb_exec nft list tables) || { echo "nft list tables failed"; return 1; }
	if grep -q 'inet virtwire' <<<"$t"; then
		t=$(vw_sb_exec nft list table inet virtwire) || { echo "nft list table failed"; return 1; }
		if grep -E "comment \"$name(:[^\"]*)?\"|nw-$name-" <<<"$t"; then
			echo "^ left in table inet virtwire"
			rc=1
		fi
	fi
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
	if grep -F -- "$name" <<<"$rules"; then
		echo "^ iptables rule of $name left"
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
# it made, no tagged iptables rule.
vwt_all_gone() {
	local rc=0 b r
	vwt_table_gone || rc=1
	vwt_state_empty || rc=1
	b=$(vwt_vw_bridges) || return 1
	[[ -z "$b" ]] || { echo "bridges of virtwire left: $b"; rc=1; }
	r=$(vwt_coexist_rules) || return 1
	[[ -z "$r" ]] || { echo "iptables rules of virtwire left:"; echo "$r"; rc=1; }
	return $rc
}

# dom_fwd NETWORK HOST-PORT GUEST-PORT: a domain's <vw:domain> with one forward.
dom_fwd() {
	printf '<vw:domain xmlns:vw="urn:virtwire:1"><vw:forward network="%s" proto="tcp" host-port="%s" guest-port="%s"/></vw:domain>' "$@"
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
