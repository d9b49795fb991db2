#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The command line's safety rails. A network libvirt runs with <forward
# mode='open'/> has no firewall but virtwire's: 'uninstall-hooks', and
# 'teardown' of such a network, refuse without --force and name the networks
# (exit 1, nothing changed), and with --force go ahead and print the same
# list as a warning. Also: uninstall-hooks of a folder that is not there
# fails; read-only commands never create the state directory; install-hooks
# records the running binary (warning when it is a build tree's); the hook
# entries keep libvirt's four arguments as they are.
#
# The records are written here as the network hook writes them (source
# "libvirt network hook"). What reaches the kernel (teardown --force, status)
# runs as root in a namespace of its own, vwt-…; without root those checks
# are skipped.
. "$(dirname "$0")/../lib/common.sh"

S=$VWT_TMP/state
H=$VWT_TMP/hooks
mkdir -m 700 "$S" && mkdir "$H"

# record NAME SOURCE EXAMPLE: a record of network NAME applied from SOURCE
# (percent-escaped), its XML the example's with the name changed.
record() {
	sed "s|<name>[^<]*</name>|<name>$1</name>|" "$VW_SRC/examples/$3" >"$S/$1.xml" &&
		printf 'virtwire-state 2\nnetwork %s\nid %s\nstatus applied\napplied 2026-01-01T00:00:00Z\nsource %s\nbridge vw-%s\nmode nat\nend\n' \
			"$1" "$1" "$2" "$1" >"$S/$1.state" && chmod 600 "$S/$1.xml" "$S/$1.state"
}
HOOK='libvirt%20network%20hook'
setup "records" record lab "$HOOK" nat.xml
setup "records" record web "$HOOK" route.xml
setup "records" record cli /etc/virtwire/cli.xml nat.xml
setup "records" record dflt "$HOOK" libvirt-nat-forwards.xml
# in_ns CMD...: as root in a namespace of ours, else as is (then the kernel
# refuses any change): every command that could reach the kernel runs so,
# even one that is meant to refuse before it does.
ROOT=
if [ "$(id -u)" = 0 ]; then
	ROOT=vwt-clirails-$$
	setup "namespace" vwt_ns_add "$ROOT"
fi
in_ns() {
	if [ -n "$ROOT" ]; then vwt_in "$ROOT" "$@"; else "$@"; fi
}
err=$VWT_TMP/err

# refused DESC WANT-ERE NOT-ERE CMD...: exit 1, stderr says "refused" and
# matches WANT-ERE, and not NOT-ERE.
refused() {
	local desc=$1 want=$2 not=$3 rc=0
	shift 3
	"$@" >/dev/null 2>"$err" </dev/null || rc=$?
	if [ "$rc" = 1 ] && grep -q "refused" "$err" && grep -Eq -- "$want" "$err" && ! grep -Eq -- "$not" "$err"; then
		ok "$desc"
	else
		not_ok "$desc"
		diag "status $rc; stderr:"
		sed 's/^/#   /' "$err"
	fi
}

# --- teardown ------------------------------------------------------------------
refused "teardown of a network libvirt runs in mode open is refused, naming it" \
	"network 'lab' with <forward mode='open'/>" "'cli'" in_ns "$VW_BIN" teardown --state-dir "$S" lab cli
check "... and nothing was torn down (its record is there)" test -f "$S/lab.state" -a -f "$S/cli.state"
check "... and it says --force" grep -q -- "--force" "$err"
if [ -n "$ROOT" ]; then
	says "teardown --force goes ahead (exit 0)" "network 'lab': torn down" in_ns "$VW_BIN" teardown --state-dir "$S" --force lab
	cp "$VWT_TMP/check.out" "$VWT_TMP/said"
	check "... warning with the same list" grep -Eq "warning: libvirt runs network 'lab' with <forward mode='open'/>" "$VWT_TMP/said"
	check "... and the record is gone" test ! -e "$S/lab.state"
	lacks "teardown of a CLI-applied network is not refused" "refused|warning" in_ns "$VW_BIN" teardown --state-dir "$S" cli
	lacks "teardown of libvirt's own nat network (forwards only) is not refused" "refused|warning" \
		in_ns "$VW_BIN" teardown --state-dir "$S" dflt
	setup "records again" record lab "$HOOK" nat.xml
else
	skip "teardown --force goes ahead" "needs root (a namespace of its own)"
fi

# --- uninstall-hooks -------------------------------------------------------------
setup "install-hooks" "$VW_BIN" install-hooks --hooks-dir "$H" --state-dir "$S"
mkdir -p "$H/qemu.d" && printf '#!/bin/sh\n' >"$VWT_TMP/foreign" && chmod 755 "$VWT_TMP/foreign"
refused "uninstall-hooks is refused while libvirt runs networks in mode open, naming them" \
	"networks 'lab', 'web' with <forward mode='open'/>" "'cli'|'dflt'" "$VW_BIN" uninstall-hooks --hooks-dir "$H"
check "... (the state directory is the one the entries name)" grep -q -- "--state-dir '$S'" "$H/network.d/50-virtwire"
check "... and the entries are all still there" test "$(ls "$H"/*.d/50-virtwire | wc -l)" = 4
says "uninstall-hooks --force removes them (exit 0)" "removed virtwire's entries" "$VW_BIN" uninstall-hooks --hooks-dir "$H" --force
cp "$VWT_TMP/check.out" "$VWT_TMP/said"
check "... warning with the same list" grep -Eq "warning: libvirt runs networks 'lab', 'web' with" "$VWT_TMP/said"
check "... and they are gone" test -z "$(ls "$H"/*.d/50-virtwire 2>/dev/null)"
says "uninstall-hooks with nothing there says so (exit 0)" "nothing removed" "$VW_BIN" uninstall-hooks --hooks-dir "$H"
setup "install-hooks without --state-dir" "$VW_BIN" install-hooks --hooks-dir "$H"
refused "uninstall-hooks --state-dir DIR looks at DIR's records" "networks 'lab', 'web'" "'cli'" \
	"$VW_BIN" uninstall-hooks --hooks-dir "$H" --state-dir "$S"
cp "$VWT_TMP/foreign" "$H/qemu.d/50-virtwire"
lacks "uninstall-hooks with no such network recorded goes ahead silently" "refused|warning" \
	"$VW_BIN" uninstall-hooks --hooks-dir "$H" --state-dir "$VWT_TMP/no-state"
check "... and leaves a file of another's by that name" cmp "$VWT_TMP/foreign" "$H/qemu.d/50-virtwire"
check "... and creates no state directory" test ! -e "$VWT_TMP/no-state"
rc=0
"$VW_BIN" uninstall-hooks --hooks-dir "$VWT_TMP/no-hooks" >/dev/null 2>"$err" || rc=$?
check "uninstall-hooks of a missing folder fails (exit 2), naming it" \
	eval "[ $rc = 2 ] && grep -q '$VWT_TMP/no-hooks is not a directory' '$err'"

# --- read-only commands never create the state directory -----------------------
for c in "status" "verify --all" "restore"; do
	in_ns "$VW_BIN" $c --state-dir "$VWT_TMP/none" >/dev/null 2>&1
	check "$c --state-dir DIR (missing) does not create DIR" test ! -e "$VWT_TMP/none"
done
rc=0
in_ns "$VW_BIN" teardown --state-dir "$VWT_TMP/none" nosuch >/dev/null 2>"$err" || rc=$?
check "teardown of a name with no state directory: exit 1, naming the network" \
	eval "[ $rc = 1 ] && grep -q \"network 'nosuch' has no record\" '$err'"
check "... and does not create DIR" test ! -e "$VWT_TMP/none"

# --- install-hooks: the binary it records ---------------------------------------
H2=$VWT_TMP/hooks2
says "install-hooks from the build tree warns that it records the build tree's binary" \
	"warning: .* is in the build tree" "$VW_BIN" install-hooks --hooks-dir "$H2"
check "... and records it" grep -q "^exec '$(readlink -f "$VW_BIN")' hook network" "$H2/network.d/50-virtwire"
mkdir -p "$VWT_TMP/sbin" && cp "$VW_BIN" "$VWT_TMP/sbin/virtwire"
lacks "install-hooks of an installed binary records it, without a warning" "warning" \
	"$VWT_TMP/sbin/virtwire" install-hooks --hooks-dir "$H2" --state-dir "$VWT_TMP/hookstate"
check "... the entries run it" grep -q "^exec '$VWT_TMP/sbin/virtwire' hook network" "$H2/network.d/50-virtwire"
check_fails "install-hooks --binary with a relative path fails" "$VW_BIN" install-hooks --hooks-dir "$H2" --binary virtwire

# --- the entries keep libvirt's arguments as they are -----------------------------
check "the daemon entry runs (libvirt's '- shutdown - shutdown')" "$H2/daemon.d/50-virtwire" - shutdown - shutdown </dev/null
check "... and creates no state directory" test ! -e "$VWT_TMP/hookstate"
check "a domain named like an option reaches the hook as its OBJECT (exit 0)" \
	"$H2/qemu.d/50-virtwire" --bogus stopped end - </dev/null
check_fails "an unknown option before libvirt's four fails" "$VW_BIN" hook --bogus qemu vm stopped end - </dev/null

done_testing
