#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The command line's one convention, walked over every command and every
# option its --help lists: --help exits 0 with the usage "virtwire CMD
# [OPTION…] …" on stdout; 'virtwire help CMD' prints exactly that; every
# listed option is accepted, and a misspelt one, an unknown option or an
# unknown command exits 2 with one line naming it and then the usage line
# (nothing on stdout); --version prints "virtwire VERSION" everywhere. No
# root needed: nothing here is meant to reach the kernel (--help stops each
# command). Should a regression let a command run all the same, as root it
# runs in a namespace of its own (vwt-…), and install-hooks and
# uninstall-hooks get a hook folder of the test's first.
. "$(dirname "$0")/../lib/common.sh"

vw() {
	"$VW_BIN" "$@"
}
if [ "$(id -u)" = 0 ]; then
	NS=vwt-cliwalk-$$
	setup "namespace" vwt_ns_add "$NS"
	vw() {
		case ${1:-} in
		install-hooks | uninstall-hooks) set -- "$1" --hooks-dir "$VWT_TMP/no-hooks" "${@:2}" ;;
		esac
		vwt_in "$NS" "$VW_BIN" "$@"
	}
fi

: "${VW_VERSION:?VW_VERSION (the project version) must be set}"
out=$VWT_TMP/out
err=$VWT_TMP/err

# usage_error DESC ERE CMD ARGS...: exit 2, nothing on stdout, and on stderr
# exactly two lines: the first matching ERE, the second the usage of CMD
# ("usage: virtwire CMD", CMD '' for the top level).
usage_error() {
	local desc=$1 ere=$2 cmd=$3 rc=0
	shift 3
	vw "$@" >"$out" 2>"$err" </dev/null || rc=$?
	if [ "$rc" = 2 ] && [ ! -s "$out" ] && [ "$(wc -l <"$err")" = 2 ] &&
		head -n1 "$err" | grep -Eq -- "$ere" &&
		sed -n 2p "$err" | grep -q "^usage: virtwire${cmd:+ $cmd}\( \|$\)"; then
		ok "$desc"
	else
		not_ok "$desc"
		diag "status $rc; stdout:"
		sed 's/^/#   /' "$out"
		diag "stderr:"
		sed 's/^/#   /' "$err"
	fi
}

# prints DESC EXPECTED ARGS...: exit 0 and stdout exactly EXPECTED.
prints() {
	local desc=$1 want=$2 got rc=0
	shift 2
	got=$(vw "$@" 2>"$err" </dev/null) || rc=$?
	if [ "$rc" = 0 ] && [ "$got" = "$want" ]; then
		ok "$desc"
	else
		not_ok "$desc"
		diag "status $rc, got: $got"
	fi
}

# --- the top level -----------------------------------------------------------
setup "virtwire help" "$VW_BIN" help
mapfile -t COMMANDS < <("$VW_BIN" help | sed -n '/^Commands:/,/^$/s/^  \([a-z-]*\) .*/\1/p')
check "'virtwire help' lists the 11 commands" test "${#COMMANDS[@]}" -ge 11
prints "virtwire --version" "virtwire $VW_VERSION" --version
prints "virtwire version" "virtwire $VW_VERSION" version
check "virtwire --help is virtwire help" cmp <("$VW_BIN" --help) <("$VW_BIN" help)
usage_error "no command: exit 2, one line and the usage" "no command given" "" 
usage_error "an unknown command: exit 2, naming it" "unknown command 'frobnicate'" "" frobnicate
usage_error "an unknown option: exit 2, naming it" "unknown option --frobnicate" "" --frobnicate
usage_error "help of an unknown command: exit 2, naming it" "unknown command 'frobnicate'" "" help frobnicate
usage_error "help of two commands: exit 2" "one COMMAND" help help check plan

# --- every command -----------------------------------------------------------
for cmd in "${COMMANDS[@]}"; do
	says "$cmd --help: exit 0, usage 'virtwire $cmd [OPTION…]'" "^  virtwire $cmd \[OPTION[^]]*\]" "$VW_BIN" "$cmd" --help
	check "virtwire help $cmd prints exactly '$cmd --help'" cmp <("$VW_BIN" help "$cmd") <("$VW_BIN" "$cmd" --help)
	prints "$cmd --version" "virtwire $VW_VERSION" "$cmd" --version
	usage_error "$cmd --frobnicate: exit 2, naming it" "^virtwire $cmd: .*--frobnicate" "$cmd" "$cmd" --frobnicate
	# Each option --help lists: accepted (with a value when it takes one;
	# --help after it then prints the help), and misspelt, refused.
	mapfile -t OPTS < <("$VW_BIN" "$cmd" --help | sed -n 's/^  \(-[a-zA-Z], \)\{0,1\}\(--[a-z-]*\)\(=[A-Z]*\)\{0,1\} .*/\2\3/p')
	check "$cmd --help lists options" test "${#OPTS[@]}" -ge 2
	for o in "${OPTS[@]}"; do
		name=${o%%=*}
		case $name in --help | --version) continue ;; esac
		arg=$name
		[ "$o" != "$name" ] && arg=$name=1
		says "$cmd $arg is accepted" "^  virtwire $cmd \[OPTION[^]]*\]" vw "$cmd" "$arg" --help
		usage_error "$cmd ${name}x (misspelt): exit 2, naming it" "^virtwire $cmd: .*${name}x" "$cmd" "$cmd" "${name}x" --help
	done
	# Short options too (with a value when the long one takes one).
	for s in $("$VW_BIN" "$cmd" --help | sed -n 's/^  \(-[a-zA-Z]\), --[a-z-]*\(=\)\{0,1\}.*/\1\2/p'); do
		[ "$s" = -h ] && continue
		if [ "${s%=}" != "$s" ]; then
			says "$cmd ${s%=} VALUE is accepted" "^  virtwire $cmd \[OPTION[^]]*\]" vw "$cmd" "${s%=}" 1 --help
		else
			says "$cmd $s is accepted" "^  virtwire $cmd \[OPTION[^]]*\]" vw "$cmd" "$s" --help
		fi
	done
done

# --- arguments ---------------------------------------------------------------
for cmd in check plan apply; do
	usage_error "$cmd without FILE: exit 2" "^virtwire $cmd: no FILE given" "$cmd" "$cmd"
done
usage_error "teardown without NAME: exit 2" "^virtwire teardown: no NAME given" teardown teardown
usage_error "verify without NAME, --all or --xml: exit 2" "^virtwire verify: give network NAMEs" verify verify
for cmd in restore watch install-hooks uninstall-hooks; do
	usage_error "$cmd takes no argument: exit 2, naming it" "^virtwire $cmd: unexpected argument 'extra'" "$cmd" "$cmd" extra
done
usage_error "check --format xml: exit 2, naming it" "^virtwire check: --format must be" check check --format xml x.xml
usage_error "watch --quiet-ms out of range: exit 2" "^virtwire watch: --quiet-ms" watch watch --quiet-ms 99999
usage_error "hook --bogus: exit 2, naming it" "^virtwire hook: unknown option --bogus" hook hook --bogus
usage_error "hook with an unknown option before libvirt's four: exit 2" "unknown option --bogus" hook \
	hook network --bogus lab started begin -
usage_error "hook short of libvirt's four arguments: exit 2" "expected DRIVER OBJECT OP SUBOP EXTRA" hook \
	hook network lab started begin

done_testing
