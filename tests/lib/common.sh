# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
#
# tests/lib/common.sh - shared by the netns tests (tests/netns/lib.sh), the
# libvirt tests (tests/libvirt/lib.sh) and the benchmarks (bench/lib.sh).
#
# Safety: every namespace is one the script creates (vwt-…); processes are
# ended by PID, and what is still running in a namespace of ours is ours;
# namespaces, processes and the temporary directory go on exit, failure
# included.
#
# Honesty: a counted check asserts an outcome of virtwire, and a check that
# gets no answer fails. Steps the test needs but does not test go through
# `setup` (silent when they work, "Bail out!" when they do not). Absence is
# asserted with `lacks` (the listing must succeed), reachability with `reach`
# (the expected answer) and `blocked` (a named outcome: a reset, an ICMP
# error, or silence while another source gets through to the same place).
#
#   TAP         ok not_ok skip diag check check_fails says lacks setup bail
#               done_testing
#   prereqs     need_root need_tools vwt_skip (vwt_unmet decides: skip, or
#               die in the benchmarks)
#   cleanup     vwt_cleanup_add CMD; VWT_PIDS+=(PID); vwt_ns_add NAME
#   where       vwt_in WHERE CMD... (here: WHERE is a netns; the suites'
#               libraries redefine it for their roles, sandbox and guests)
#   virtwire    vw_in WHERE STATEDIR CMD ARGS...
#   traffic     serve WHERE PROTO PORT; probe FROM PROTO ADDR PORT;
#               reach DESC FROM PROTO ADDR PORT REGEX;
#               blocked DESC FROM PROTO ADDR PORT HOW [CONTROL]
#               (FROM: WHERE, or WHERE@SOURCE-ADDRESS)
#   text        CMD | matches ERE; every_line ERE FILE
#   libvirt     net_doc NAME BRIDGE ADDRESS/PREFIX [ITEM...] (a network);
#               vwt_hookdata [PORT OWNER OWNER_UUID MAC BRIDGE] (a network
#               hook's stdin); vwt_domain NAME UUID MAC NETWORK PORT [ITEM...]
#               (a qemu hook's)

set -u

VW_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VW_BIN=${VW_BIN:-$VW_SRC/build/virtwire}
VW_TEST_BIN=${VW_TEST_BIN:-$(dirname "$VW_BIN")/tests/virtwire-test}
: "${VWT_ID:=$(basename "$0" .sh | tr -c 'a-z0-9\n' '-' | cut -c1-12)-$$}"
VWT_TMP=$(mktemp -d "/tmp/vwt-$VWT_ID.XXXXXX")
_VWT_OWN_TMP=$VWT_TMP
VWT_NS=()
VWT_PIDS=()
VWT_CLEANUPS=()
VWT_N=0
VWT_FAILED=0
# Probes give up after this many seconds, servers end after this many: every
# loop and every process here is bounded.
: "${VWT_PROBE_TIMEOUT:=${PROBE_TIMEOUT:-2}}"
: "${VWT_SERVE_SECS:=300}"
VWT_PROBE_PY=$(<"$VW_SRC/tests/lib/probe.py")

# --- cleanup -------------------------------------------------------------------

# vwt_cleanup_add CMD...: CMD (eval'd) runs at exit, before the namespaces go.
vwt_cleanup_add() {
	VWT_CLEANUPS+=("$*")
}

# Whether PID is still a child of this shell (not a reused PID).
_vwt_our_child() {
	local st
	st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	st=${st##*) }
	# shellcheck disable=SC2086
	set -- $st
	[ "${2:-}" = "$$" ]
}

vwt_cleanup() {
	local pid ns i
	for ((i = ${#VWT_CLEANUPS[@]} - 1; i >= 0; i--)); do
		eval "${VWT_CLEANUPS[i]}"
	done
	for pid in "${VWT_PIDS[@]}"; do
		_vwt_our_child "$pid" && kill "$pid" 2>/dev/null
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
	rm -rf "$_VWT_OWN_TMP"
}
trap vwt_cleanup EXIT
trap 'exit 130' INT TERM

# vwt_ns_add NAME: a new namespace NAME (vwt-…), lo up, removed at exit.
vwt_ns_add() {
	case $1 in vwt-*) ;; *) echo "vwt_ns_add: '$1' is not named vwt-…" >&2; return 1 ;; esac
	ip netns add "$1" || return 1
	VWT_NS+=("$1")
	ip -n "$1" link set lo up
}

# --- prerequisites ---------------------------------------------------------------

# vwt_skip WHY: the whole test is skipped (TAP plan 1..0, exit 77).
vwt_skip() {
	echo "1..0 # SKIP $*"
	exit 77
}

# vwt_unmet WHY: a prerequisite is missing. Tests skip; the benchmarks
# redefine it to fail.
vwt_unmet() {
	vwt_skip "$@"
}

need_root() {
	[ "$(id -u)" = 0 ] || vwt_unmet "needs root (${1:-network namespaces})"
}

need_tools() {
	local t
	for t in "$@"; do
		command -v "$t" >/dev/null || vwt_unmet "$t is not installed (tools/bootstrap installs it)"
	done
}

# --- TAP ----------------------------------------------------------------------------

ok() {
	VWT_N=$((VWT_N + 1))
	echo "ok $VWT_N - $*"
}

not_ok() {
	VWT_N=$((VWT_N + 1))
	VWT_FAILED=$((VWT_FAILED + 1))
	echo "not ok $VWT_N - $*"
}

# skip DESC WHY: a check that could not run here (not a pass).
skip() {
	VWT_N=$((VWT_N + 1))
	echo "ok $VWT_N - $1 # SKIP $2"
}

diag() {
	printf '%s\n' "$*" | sed 's/^/# /'
}

# _vwt_run COMMAND...: runs it with its output in $VWT_TMP/check.out.
_vwt_run() {
	"$@" >"$VWT_TMP/check.out" 2>&1
}

_vwt_show() {
	sed 's/^/# /' "$VWT_TMP/check.out" | head -40
}

# check DESC COMMAND...: one TAP line from the command's status (its output,
# in $VWT_TMP/check.out, shown on failure). Returns that status.
check() {
	local desc=$1
	shift
	if _vwt_run "$@"; then
		ok "$desc"
	else
		not_ok "$desc"
		_vwt_show
		return 1
	fi
}

# check_fails DESC COMMAND...: the command must fail.
check_fails() {
	local desc=$1
	shift
	if _vwt_run "$@"; then
		not_ok "$desc"
		_vwt_show
		return 1
	fi
	ok "$desc"
}

# says DESC ERE COMMAND...: the command succeeds and a line of its output
# (stdout and stderr) matches ERE.
says() {
	local desc=$1 ere=$2
	shift 2
	if _vwt_run "$@" && grep -Eq -- "$ere" "$VWT_TMP/check.out"; then
		ok "$desc"
	else
		not_ok "$desc"
		diag "expected a line matching /$ere/ from a command that succeeds (status $?):"
		_vwt_show
		return 1
	fi
}

# lacks DESC ERE COMMAND...: the command succeeds (so its output is an
# answer: a listing that worked) and no line of it matches ERE. Use it for
# "X is gone": a listing that failed is no answer, and fails.
lacks() {
	local desc=$1 ere=$2 rc=0
	shift 2
	_vwt_run "$@" || rc=$?
	if [ "$rc" = 0 ] && ! grep -Eq -- "$ere" "$VWT_TMP/check.out"; then
		ok "$desc"
	else
		not_ok "$desc"
		if [ "$rc" != 0 ]; then
			diag "the listing failed (status $rc): no answer"
		else
			diag "found /$ere/:"
		fi
		_vwt_show
		return 1
	fi
}

# setup DESC COMMAND...: a step the test needs but does not test: silent
# when it works; when it fails the test bails out.
setup() {
	local desc=$1
	shift
	_vwt_run "$@" && return 0
	_vwt_show
	bail "$desc"
}

# bail DESC: the rest of the test cannot run. Suites may define vwt_on_bail
# to print more (e.g. libvirtd's log).
bail() {
	if declare -F vwt_on_bail >/dev/null; then
		vwt_on_bail 2>&1 | sed 's/^/# /'
	fi
	echo "Bail out! $*"
	exit 1
}

done_testing() {
	echo "1..$VWT_N"
	[ "$VWT_FAILED" -eq 0 ]
}

# loads COMMAND...: the objects the dynamic loader opens for the command
# (LD_DEBUG=files), one "file=NAME" a line; fails when the list lacks libc
# (LD_DEBUG said nothing: no answer). The command's own status is not
# looked at.
loads() {
	local list
	list=$(LD_DEBUG=files "$@" 2>&1 >/dev/null | grep -Eo 'file=[^ ]+' | sort -u)
	printf '%s\n' "$list"
	grep -q 'file=libc\.so' <<<"$list"
}

# --- text -----------------------------------------------------------------------------

# CMD | matches ERE: whether CMD's output has a line matching ERE. Reads all
# of it first: "grep -q" in a pipe exits at the first match, the writer then
# dies of SIGPIPE, and pipefail would turn the match into a failure.
matches() {
	local in
	in=$(cat)
	grep -Eq -- "$1" <<<"$in"
}

# every_line ERE FILE: FILE has at least one line, and every line matches.
every_line() {
	[ -s "$2" ] || { echo "no output at all"; return 1; }
	! grep -Ev -- "$1" "$2"
}

# --- libvirt's documents --------------------------------------------------------------

# net_doc NAME BRIDGE ADDRESS/PREFIX [ITEM...]: a network as `virsh
# net-dumpxml` prints it, NAME on bridge BRIDGE with one IPv4 address, and
# each ITEM in its place:
#   forward=MODE      libvirt's forward mode (default open; forward= none)
#   stp=off           the bridge's STP
#   range=FIRST-LAST  a DHCP range
#   host=MAC=IP       a DHCP reservation
#   mode=MODE         virtwire's mode (none: libvirt's own mode)
#   <vw:…>            an element of virtwire's metadata
#   <…>               an element of the network's own (<port isolated='yes'/>)
# Without mode= and virtwire's elements the network has no metadata.
net_doc() {
	local name=$1 bridge=$2 addr=${3%/*} prefix=${3#*/} forward=open stp='' mode='' item
	local -a dhcp=() elems=() vw=()
	shift 3
	for item in "$@"; do
		case $item in
		forward=*) forward=${item#forward=} ;;
		stp=*) stp=" stp='${item#stp=}'" ;;
		range=*)
			item=${item#range=}
			dhcp+=("<range start='${item%-*}' end='${item#*-}'/>")
			;;
		host=*)
			item=${item#host=}
			dhcp+=("<host mac='${item%=*}' ip='${item##*=}'/>")
			;;
		mode=*) mode=" mode=\"${item#mode=}\"" ;;
		'<vw:'*) vw+=("$item") ;;
		'<'*) elems+=("$item") ;;
		*)
			echo "net_doc: unknown item '$item'" >&2
			return 1
			;;
		esac
	done
	echo "<network>"
	echo "  <name>$name</name>"
	[ -z "$forward" ] || echo "  <forward mode='$forward'/>"
	echo "  <bridge name='$bridge'$stp/>"
	for item in "${elems[@]}"; do
		echo "  $item"
	done
	if [ ${#dhcp[@]} = 0 ]; then
		echo "  <ip address='$addr' prefix='$prefix'/>"
	else
		echo "  <ip address='$addr' prefix='$prefix'>"
		echo "    <dhcp>"
		for item in "${dhcp[@]}"; do
			echo "      $item"
		done
		echo "    </dhcp>"
		echo "  </ip>"
	fi
	if [ ${#vw[@]} != 0 ]; then
		echo "  <metadata>"
		echo "    <vw:network xmlns:vw=\"urn:virtwire:1\"$mode>"
		for item in "${vw[@]}"; do
			echo "      $item"
		done
		echo "    </vw:network>"
		echo "  </metadata>"
	elif [ -n "$mode" ]; then
		echo "  <metadata><vw:network xmlns:vw=\"urn:virtwire:1\"$mode/></metadata>"
	fi
	echo "</network>"
}

# vwt_domain NAME UUID MAC NETWORK PORT [ITEM...]: a domain as libvirt hands
# it to the qemu hooks, with one interface, MAC on NETWORK through the port
# of uuid PORT; each ITEM in its place:
#   tap=DEV          the interface's target (once libvirt named the tap)
#   ip=ADDR/PREFIX   an address of the interface
#   <vw:…>           an element of virtwire's metadata (<vw:domain>)
vwt_domain() {
	local name=$1 uuid=$2 mac=$3 net=$4 port=$5 item
	local -a iface=() vw=()
	shift 5
	for item in "$@"; do
		case $item in
		tap=*) iface+=("<target dev='${item#tap=}'/>") ;;
		ip=*)
			item=${item#ip=}
			iface+=("<ip address='${item%/*}' prefix='${item#*/}'/>")
			;;
		'<vw:'*) vw+=("$item") ;;
		*)
			echo "vwt_domain: unknown item '$item'" >&2
			return 1
			;;
		esac
	done
	cat <<XML
<domain type='kvm'>
  <name>$name</name>
  <uuid>$uuid</uuid>
  <memory>65536</memory>
  <os><type>hvm</type></os>
  <devices>
    <interface type='network'>
      <mac address='$mac'/>
      <source network='$net' portid='$port'/>
XML
	for item in "${iface[@]}"; do
		echo "      $item"
	done
	echo "    </interface>"
	echo "  </devices>"
	if [ ${#vw[@]} != 0 ]; then
		echo "  <metadata><vw:domain xmlns:vw='urn:virtwire:1'>"
		for item in "${vw[@]}"; do
			echo "    $item"
		done
		echo "  </vw:domain></metadata>"
	fi
	echo "</domain>"
}

# vwt_hookdata [PORT OWNER OWNER_UUID MAC BRIDGE] <NETWORK: what libvirt hands
# a network hook on stdin, <hookData> around the network read from stdin;
# with PORT (the port's uuid; the port-created and port-deleted hooks) also
# the <networkport> of domain OWNER's interface MAC on BRIDGE.
vwt_hookdata() {
	echo "<hookData>"
	cat
	if [ -n "${1:-}" ]; then
		cat <<XML
  <networkport>
    <uuid>$1</uuid>
    <owner><name>$2</name><uuid>$3</uuid></owner>
    <mac address='$4'/>
    <plug type='network' bridge='$5'/>
  </networkport>
XML
	fi
	echo "</hookData>"
}

# --- time ------------------------------------------------------------------------------

# vwt_now_ms: the clock in milliseconds.
vwt_now_ms() {
	local t
	t=$(date +%s%N)
	echo $((t / 1000000))
}

# vwt_ms SECONDS: SECONDS (a fraction allowed: 0.5, 2.25) in milliseconds.
vwt_ms() {
	local sec=${1%%.*} frac=0
	[[ $1 == *.* ]] && frac=${1#*.}
	frac=$(printf '%-3.3s' "$frac")
	frac=${frac// /0}
	echo $((10#${sec:-0} * 1000 + 10#$frac))
}

# --- where commands run ----------------------------------------------------------------

# vwt_in WHERE COMMAND...: runs COMMAND in network namespace WHERE. The
# suites' libraries redefine it (netns roles, the libvirt sandbox, guests).
vwt_in() {
	local where=$1
	shift
	ip netns exec "$where" "$@"
}

# vw_in WHERE STATEDIR COMMAND ARGS...: virtwire in WHERE, with STATEDIR for
# the commands that keep state; with VIRTWIRE_FAULT set, the test build's
# binary, which injects the fault.
vw_in() {
	local where=$1 dir=$2 cmd=$3 bin=$VW_BIN
	shift 3
	[ -n "${VIRTWIRE_FAULT:-}" ] && bin=$VW_TEST_BIN
	case $cmd in
	apply | teardown | verify | status | hook | restore | watch) set -- "$cmd" --state-dir "$dir" "$@" ;;
	*) set -- "$cmd" "$@" ;;
	esac
	vwt_in "$where" "$bin" "$@"
}

# --- traffic -------------------------------------------------------------------------------

_vwt_serve_log() {
	echo "$VWT_TMP/serve-$1-$2-$3.log"
}

# serve WHERE PROTO PORT: a server in WHERE answering every connection or
# datagram with "WHERE PEER" (PEER: the source address it saw), on every
# address; PROTO: tcp4 tcp6 udp4 udp6 sctp4 sctp6. Waits (bounded) until
# it listens; a server that does not is a failed setup step (Bail out!).
# Its log ($VWT_TMP/serve-WHERE-PROTO-PORT.log) has a line "hit PEER" for
# every connection it answered.
serve() {
	local where=$1 proto=$2 port=$3 log i pid
	log=$(_vwt_serve_log "$where" "$proto" "$port")
	vwt_in "$where" timeout "$VWT_SERVE_SECS" python3 -c "$VWT_PROBE_PY" serve "$where" "$proto" "$port" \
		</dev/null >"$log" 2>&1 &
	pid=$!
	VWT_PIDS+=("$pid")
	for i in $(seq 1 100); do
		grep -qx ready "$log" 2>/dev/null && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	diag "$(cat "$log")"
	bail "server $where $proto $port listens"
}

# probe FROM PROTO ADDR PORT: what came back (tests/lib/probe.py): the
# answer's first line, or !refused !rejected !no-route !denied !timeout
# !closed !silent !error:NAME. FROM is WHERE, or WHERE@ADDRESS to send from
# that source address.
probe() {
	local where=${1%@*} proto=$2 addr=$3 port=$4 bind='' got
	[[ $1 == *@* ]] && bind=${1#*@}
	got=$(vwt_in "$where" timeout $((VWT_PROBE_TIMEOUT + 3)) python3 -c "$VWT_PROBE_PY" \
		probe "$proto" "$addr" "$port" "$VWT_PROBE_TIMEOUT" ${bind:+"$bind"} 2>&1 | head -1)
	echo "${got:-!error:no-output}"
}

# _vwt_probe2 FROM PROTO ADDR PORT: probe, into VWT_GOT; once more
# when nothing at all came back (a busy machine can lose a packet; an answer
# of any kind is never retried, so a leak cannot hide behind a second try).
_vwt_probe2() {
	VWT_GOT=$(probe "$@")
	if [ "$VWT_GOT" = "!timeout" ] || [ "$VWT_GOT" = "!silent" ]; then
		diag "from $1 to $3:$4 ($2): no answer at the first attempt, trying once more"
		VWT_GOT=$(probe "$@")
	fi
}

# reach DESC FROM PROTO ADDR PORT REGEX: the answer matches REGEX (an
# extended regex, e.g. "^guest1 203\.0\.113\.2$").
reach() {
	local desc=$1
	_vwt_probe2 "$2" "$3" "$4" "$5"
	if [[ "$VWT_GOT" != !* ]] && grep -Eq -- "$6" <<<"$VWT_GOT"; then
		ok "$desc"
	else
		not_ok "$desc"
		diag "from $2 to $4:$5 ($3): expected /$6/, got '$VWT_GOT'"
		return 1
	fi
}

# blocked DESC FROM PROTO ADDR PORT HOW [CONTROL]: the probe gets
# exactly the outcome HOW, an answer of its own:
#   refused   a reset / ICMP port-unreachable: the packet reached a host
#             with nothing listening there (e.g. no forward took it)
#   rejected  an ICMP unreachable/prohibited (virtwire's guest-reject)
#   denied    the sender's own firewall refused to send it
#   dropped   nothing came back, while the same ADDR PORT probed from
#             CONTROL (required) connects or answers at the same moment:
#             the place exists and listens, only this source is cut off.
blocked() {
	local desc=$1 where=$2 proto=$3 addr=$4 port=$5 how=$6 control=${7:-} got want ctl
	case $how in
	refused | rejected | denied) want="!$how" ;;
	dropped)
		want="!timeout"
		if [ -z "$control" ]; then
			not_ok "$desc"
			diag "blocked … dropped needs a CONTROL source: silence alone proves nothing"
			return 1
		fi
		_vwt_probe2 "$control" "$proto" "$addr" "$port"
		ctl=$VWT_GOT
		case $ctl in
		!closed | !silent | [!!]*) ;;
		*)
			not_ok "$desc"
			diag "control: $control gets no answer from $addr:$port either ('$ctl'): the check would prove nothing"
			return 1
			;;
		esac
		;;
	*)
		not_ok "$desc"
		diag "blocked: unknown outcome '$how' (refused, rejected, denied, dropped)"
		return 1
		;;
	esac
	# Silence is what "dropped" expects: one probe, no second try.
	if [ "$how" = dropped ]; then
		got=$(probe "$where" "$proto" "$addr" "$port")
	else
		_vwt_probe2 "$where" "$proto" "$addr" "$port"
		got=$VWT_GOT
	fi
	if [ "$got" = "$want" ]; then
		ok "$desc"
	else
		not_ok "$desc"
		diag "from $where to $addr:$port ($proto): expected $want${ctl:+ (while $control got '$ctl')}, got '$got'"
		return 1
	fi
}

# The check that passed on silence. Kept so that a script still calling it
# fails loudly instead of losing a check to "command not found".
unreachable() {
	not_ok "$1"
	diag "unreachable passed on no answer at all and is gone: use blocked DESC WHERE PROTO ADDR PORT HOW [CONTROL]"
	return 1
}
