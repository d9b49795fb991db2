#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# tests/libvirt/resilience.sh - virtwire across libvirtd's life: a restart
# with guests running (every forward still works, nothing duplicated in
# table inet virtwire or in libvirt's firewall), the table deleted by hand
# and brought back by a SIGHUP (the daemon hook re-asserts it), and 50
# start/stop cycles of a network with a guest (nothing left, no growth of the
# state directory, no leftover processes).
#
#                      netns vwt-rswPID ("wan")  203.0.113.2/24
#                                 │ veth
#   ┌─ netns vwt-resPID (sandbox: libvirtd, dnsmasq, virtwire hooks) ───────┐
#   │ wan-rswPID 203.0.113.1/24                                             │
#   │ vwt-rnat 10.79.1.1/24 virtwire nat  r1 .10 (network fwd 2301 -> 22)   │
#   │                                     r2 .11 (its own fwd 10070 -> 80)  │
#   │ vwt-rlv  10.79.2.1/24 libvirt's own nat                               │
#   │                                     r3 .10 (network fwd 2302 -> 22,   │
#   │                                     needs the coexistence accept)     │
#   │ vwt-rcyc 10.79.9.1/24 virtwire nat  rc .10 (fwd 2309, its own 10090): │
#   │                                     started and stopped 50 times      │
#   └───────────────────────────────────────────────────────────────────────┘
#
# The forward into libvirt's own nat network (r3, 2302) works through
# virtwire's coexistence rule (an accept for DNATed connections at the top
# of FORWARD in ip filter, or of chain forward in ip libvirt_network with
# libvirt's nftables backend), which must survive libvirt's rebuilds.
#
# Exit: 0 pass, 1 fail, 77 skip. TAP on stdout.
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/libvirt/lib.sh
source "$HERE/lib.sh"
vwt_require
: "${VWT_CYCLES:=50}"

T0=$(_vw_now_ms)
vwt_sandbox "res$$"
WAN="rsw$$"
W=vwt-$WAN
HOST=203.0.113.1
setup "wan namespace" vw_wan_add "$WAN" 203.0.113.2/24 2001:db8:113::2/64 "$HOST/24"
x=$VWT_TMP

vwt_net rnat vwt-rnat 10.79.1 host=52:54:00:79:01:10=10.79.1.10 host=52:54:00:79:01:11=10.79.1.11 mode=nat \
	'<vw:forward name="r1-ssh" proto="tcp" host-port="2301" guest-mac="52:54:00:79:01:10" guest-port="22"/>' \
	'<vw:domain-forwards allow="yes" host-ports="10000-10099"/>'
vwt_net rlv vwt-rlv 10.79.2 forward=nat host=52:54:00:79:02:10=10.79.2.10 \
	'<vw:forward name="r3-ssh" proto="tcp" host-port="2302" guest-mac="52:54:00:79:02:10" guest-port="22"/>'
vwt_net rcyc vwt-rcyc 10.79.9 host=52:54:00:79:09:10=10.79.9.10 mode=nat \
	'<vw:forward name="rc-ssh" proto="tcp" host-port="2309" guest-mac="52:54:00:79:09:10" guest-port="22"/>' \
	'<vw:domain-forwards allow="yes" host-ports="10000-10099"/>'
for n in rnat rlv; do setup "net-start $n" vwt_define_start "$x/$n.xml"; done
setup "guest r1" vwt_lxc_guest r1 rnat 52:54:00:79:01:10 10.79.1.10/24 10.79.1.1
VW_GUEST_METADATA=$(dom_fwd rnat 10070 80) setup "guest r2" vwt_lxc_guest r2 rnat 52:54:00:79:01:11 10.79.1.11/24 10.79.1.1
setup "guest r3" vwt_lxc_guest r3 rlv 52:54:00:79:02:10 10.79.2.10/24 10.79.2.1
serve r1 tcp4 22
serve r2 tcp4 80
serve r3 tcp4 22

# forwards_work WHEN: every forward answers, from the wan and by hairpin.
forwards_work() {
	reach "$1: wan -> $HOST:2301 reaches r1 (network forward)" "$W" tcp4 "$HOST" 2301 '^r1 203\.0\.113\.2$'
	reach "$1: wan -> $HOST:10070 reaches r2 (r2's own forward)" "$W" tcp4 "$HOST" 10070 '^r2 203\.0\.113\.2$'
	reach "$1: hairpin: r2 -> $HOST:2301 reaches r1" r2 tcp4 "$HOST" 2301 '^r1 '
	reach "$1: wan -> $HOST:2302 reaches r3 in libvirt's own nat network" \
		"$W" tcp4 "$HOST" 2302 '^r3 203\.0\.113\.2$'
}
same_table() {
	local now
	now=$(vwt_nft_canon 2>&1)
	[[ "$now" == "$1" ]] || { diff <(echo "$1") <(echo "$now"); return 1; }
}
same_fw() {
	local now
	now=$(fw_rules)
	[[ "$now" == "$1" ]] || { diff <(echo "$1") <(echo "$now"); return 1; }
}
# rlv is IPv4 only: one accept, heading its place.
coexist_one() {
	vwt_coexist_count 1 || return 1
	vwt_coexist_first | matches 'virtwire: network rlv"' || { echo "not first in $(vwt_coexist_place)"; return 1; }
}

forwards_work "before"
check "before: virtwire verify --all is clean" vwt_vw verify --all
TABLE0=$(vwt_nft_canon)
FW0=$(fw_rules)
setup "table inet virtwire and libvirt's $VWT_FW rules are listed" test -n "$TABLE0" -a -n "$FW0"
check "before: virtwire's one coexistence accept heads $(vwt_coexist_place) ($VWT_FW)" coexist_one
check "before: no duplicate $VWT_FW rules" fw_no_dups

# --- libvirtd restart with guests running ---------------------------------------------
INIT_R1=$(_vw_lxc_init r1)
setup "r1's init process is known" test -n "$INIT_R1"
setup "libvirtd restarts" vw_time_ms T_RESTART vw_sandbox_restart
diag "libvirtd restarted in ${T_RESTART} ms with r1, r2, r3 running"
check "restart: the guests kept running (r1's init is the same process)" \
	eval "[[ \"\$(_vw_lxc_init r1)\" == '$INIT_R1' ]] && vw_virsh_lxc domstate r2 | matches running && vw_virsh_lxc domstate r3 | matches running"
# libvirt rebuilds its firewall rules at start (after the port-created
# replay); wait (bounded) until they are all back.
_vw_wait 10 same_fw "$FW0" >/dev/null
forwards_work "after restart"
check "after restart: table inet virtwire is as before (no element or rule twice, none missing)" same_table "$TABLE0"
check "after restart: libvirt's and virtwire's $VWT_FW rules are as before" same_fw "$FW0"
check "after restart: virtwire's one accept still heads $(vwt_coexist_place), no duplicates" \
	eval "coexist_one && fw_no_dups"
check "after restart: virtwire verify --all is clean" vwt_vw verify --all

# --- the table deleted by hand, SIGHUP ------------------------------------------------------
setup "nft delete table inet virtwire" vw_sb_exec nft delete table inet virtwire
blocked "table deleted: wan -> $HOST:2301 is not forwarded (the host resets it)" "$W" tcp4 "$HOST" 2301 refused
table_back() { vw_sb_exec nft list table inet virtwire >/dev/null 2>&1; }
setup "SIGHUP to libvirtd" vw_sandbox_reload
vw_time_ms T_BACK _vw_wait 15 table_back
check "SIGHUP: the daemon hook re-asserts table inet virtwire (back after ${T_BACK} ms)" table_back
_vw_wait 10 same_fw "$FW0" >/dev/null
check "after SIGHUP: table inet virtwire is as before" same_table "$TABLE0"
check "after SIGHUP: libvirt's and virtwire's $VWT_FW rules are as before (rebuilt by libvirt)" same_fw "$FW0"
check "after SIGHUP: virtwire's one accept still heads $(vwt_coexist_place)" coexist_one
forwards_work "after SIGHUP"
check "after SIGHUP: virtwire verify --all is clean" vwt_vw verify --all

# --- start/stop cycles -----------------------------------------------------------------------
state_files() { find "$VWT_STATE" -type f | sort; }
procs() { vwt_sb_procs | awk '{print $2}' | sort | uniq -c; }
# zombies: how many processes of the sandbox netns are zombies (fails when
# the netns cannot be listed).
zombies() {
	local p n=0 pids
	pids=$(ip netns pids "$VW_SB_NS") || return 1
	for p in $pids; do
		[[ "$(_vw_pid_stat "$p" 3 2>/dev/null)" == Z ]] && n=$((n + 1))
	done
	echo "$n"
}
few_zombies() {
	local n
	n=$(zombies) || return 1
	echo "$n zombies ($ZOMB0 before)"
	((n <= ZOMB0 + 1))
}
setup "net-define rcyc" vw_virsh net-define "$x/rcyc.xml"
FILES0=$(state_files)
PROCS0=$(procs)
TABLE1=$(vwt_nft_canon)
FW1=$(fw_rules)
ZOMB0=$(zombies)
setup "the sandbox's processes are listed" test -n "$PROCS0" -a -n "$ZOMB0"

RC_MD=$(dom_fwd rcyc 10090 22)
cycle() { # N
	vw_virsh net-start rcyc >/dev/null || return
	if (($1 == 1)); then
		VW_LXC_NOWAIT=1 VW_GUEST_METADATA=$RC_MD vw_lxc_guest rc rcyc 52:54:00:79:09:10 10.79.9.10/24 10.79.9.1 >/dev/null || return
	else
		vw_virsh_lxc start rc >/dev/null || return
	fi
	# Both of rc's forwards are in place while it runs.
	vwt_nft_table | matches 'tcp \. 10090 comment "rcyc:' || { echo "rc's own forward missing in cycle $1"; return 1; }
	vwt_nft_table | matches 'tcp \. 2309 comment "rcyc"' || { echo "rcyc's forward missing in cycle $1"; return 1; }
	vw_virsh_lxc destroy rc >/dev/null || return
	vw_virsh net-destroy rcyc >/dev/null
}
CYCLE_FAIL=""
TC0=$(_vw_now_ms)
for ((i = 1; i <= VWT_CYCLES; i++)); do
	if ! out=$(cycle "$i" 2>&1); then
		CYCLE_FAIL="cycle $i: $out"
		break
	fi
done
T_CYCLES=$(($(_vw_now_ms) - TC0))
if [[ -z "$CYCLE_FAIL" ]]; then
	ok "$VWT_CYCLES cycles of net-start rcyc, start rc, destroy rc, net-destroy rcyc in ${T_CYCLES} ms ($((T_CYCLES / VWT_CYCLES)) ms each)"
else
	not_ok "$VWT_CYCLES cycles of net-start rcyc, start rc, destroy rc, net-destroy rcyc"
	diag "$CYCLE_FAIL"
	vw_virsh_lxc destroy rc >/dev/null 2>&1
	vw_virsh net-destroy rcyc >/dev/null 2>&1
fi
check "cycles: nothing of rcyc left (elements, chains, state, bridge, dnsmasq)" vwt_net_gone rcyc vwt-rcyc
# The records (NAME.xml, NAME.state, domain records) must be exactly those of
# before; whatever else virtwire keeps there must not have grown in number.
records() { state_files | grep -E '\.(xml|state)$|/domains/'; }
no_growth() {
	local now
	now=$(state_files)
	diff <(grep -E '\.(xml|state)$|/domains/' <<<"$FILES0") <(records) || return 1
	(($(wc -l <<<"$now") <= $(wc -l <<<"$FILES0"))) || { echo "more files than before:"; diff <(echo "$FILES0") <(echo "$now"); return 1; }
}
check "cycles: no growth in the state directory (the same records, no more files)" no_growth
check "cycles: table inet virtwire is as before" same_table "$TABLE1"
check "cycles: libvirt's $VWT_FW rules are as before" same_fw "$FW1"
# libvirt's dnsmasq and libvirt_lxc are daemonised: give the last ones a
# moment to be gone.
procs_back() { [[ "$(procs)" == "$PROCS0" ]]; }
_vw_wait 5 procs_back
check "cycles: no leftover processes in the sandbox (same programs, same count)" \
	eval "diff <(echo \"\$PROCS0\") <(procs)"
check "cycles: no zombies piled up ($ZOMB0 before)" few_zombies
forwards_work "after the cycles"
check "after the cycles: virtwire verify --all is clean" vwt_vw verify --all

diag "resilience.sh took $(($(_vw_now_ms) - T0)) ms (restart ${T_RESTART} ms, table back ${T_BACK} ms after SIGHUP, cycles ${T_CYCLES} ms)"
done_testing
