#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The trust boundary (issue 11, R1–R6): what the state directory holds, or
# fails to hold, never makes virtwire leave a network applied but
# unrecorded, tear down what it did not make, or write outside the
# directory. Every case compares the kernel (links, addresses, ruleset)
# before and after.
#
#   host: vw-long   (R1: a network whose name has 300 characters)
#         vw-full*  (R2: the state directory on a full tmpfs, in a private
#                    mount namespace; store faults at every record write)
#         vw-dmg    (R3: damaged, truncated, future and deleted records)
#         vw-safe   (R5: unsafe state directories, planted links)
#         vw-vic    (R6: a record naming victim0 ── victim1, an unrelated
#                    veth pair, and sysctls virtwire never sets)
. "$(dirname "$0")/lib.sh"
need_root
for tool in unshare mount dd sha256sum; do
	command -v "$tool" >/dev/null || { echo "1..0 # SKIP $tool is not installed"; exit 77; }
done

ns_add host || exit 1
HOST=$(ns host)

# net NAME BRIDGE SUBNET [MODE]: a network virtwire builds whole (its bridge
# does not exist before).
net() {
	cat <<XML
<network>
  <name>$1</name>
  <forward mode='open'/>
  <bridge name='$2' stp='off'/>
  <ip address='$3.1' prefix='24'/>
  <metadata><vw:network xmlns:vw="urn:virtwire:1" mode="${4:-host-only}"/></metadata>
</network>
XML
}

snapshot() {
	nsx host ip -br link
	nsx host ip -br addr
	nsx host nft list ruleset
}

# same_kernel DESC BEFORE: the kernel is as the snapshot BEFORE has it.
same_kernel() {
	snapshot >"$VWT_TMP/now"
	check "$1" diff -u "$2" "$VWT_TMP/now"
}

# failed RCFILE [OUTFILE]: the exit status recorded there is a failure (a
# missing or empty file is no answer, and fails); else the output is shown.
failed() {
	grep -qx '[1-9][0-9]*' "$1" && return 0
	echo "exit status: $(cat "$1" 2>/dev/null)"
	[ -n "${2:-}" ] && head -20 "$2"
	return 1
}

# says PATTERN FILE: the output says it (else it is shown).
says() {
	grep -q -- "$1" "$2" && return 0
	head -30 "$2"
	return 1
}

no_bridge() {
	! ip -n "$HOST" link show "$1" >/dev/null 2>&1
}

no_table() {
	! nsx host nft list tables | grep -q 'inet virtwire'
}

# need DESC COMMAND...: a step of the test's own (not virtwire's outcome):
# silent when it works, a failure when it does not.
need() {
	local desc=$1
	shift
	if ! "$@" >"$VWT_TMP/need.out" 2>&1; then
		not_ok "setup: $desc"
		sed 's/^/# /' "$VWT_TMP/need.out" | head -20
	fi
}

# files_of DIR: every file of the directory with its content's hash.
files_of() {
	(cd "$1" && find . -type f ! -name lock -exec sha256sum {} + | sort -k2)
}

# ---------------------------------------------------------------------------
# R1: a name of 300 characters.

long=$(printf 'n%.0s' $(seq 1 300))
net "$long" vw-long 10.71.1 >"$VWT_TMP/long.xml"
if vw host check "$VWT_TMP/long.xml" >"$VWT_TMP/r1-check.out" 2>&1; then
	ok "R1: check accepts a 300-character name"
	check "R1: apply applies it" vw host apply "$VWT_TMP/long.xml"
	check "… and records it" sh -c "ls '$VWT_TMP/state-host'/*.state >/dev/null 2>&1"
	check "… under a file name of bounded length" sh -c \
		"for f in '$VWT_TMP/state-host'/*; do [ \${#f} -lt \$((${#VWT_TMP} + 120)) ] || exit 1; done"
	vw host status >"$VWT_TMP/r1-status.out" 2>&1
	check "status lists it" grep -q "$long" "$VWT_TMP/r1-status.out"
	check "teardown NAME removes it" vw host teardown "$long"
	check "… no bridge left" no_bridge vw-long
	check "… no table left" no_table
	check "… no record left" sh -c "! ls '$VWT_TMP/state-host' | grep -q -e '\\.state\$' -e '\\.xml\$'"
else
	check "R1: check refuses it, saying the name is the trouble" grep -qi name "$VWT_TMP/r1-check.out"
	snapshot >"$VWT_TMP/r1-before"
	check_fails "… and apply refuses it too" vw host apply "$VWT_TMP/long.xml"
	same_kernel "… having changed nothing" "$VWT_TMP/r1-before"
fi

# ---------------------------------------------------------------------------
# R2: records that cannot be written.

net full-a vw-fulla 10.72.1 >"$VWT_TMP/full-a.xml"
net full-a vw-fulla 10.72.2 >"$VWT_TMP/full-a2.xml"
net full-b vw-fullb 10.72.3 >"$VWT_TMP/full-b.xml"
full=$VWT_TMP/full
need "a mount point" mkdir "$full"
# One private mount namespace, so the tmpfs is nobody else's: network
# full-a is applied while there is room, the tmpfs is filled, then full-b
# is applied and full-a re-applied with a changed XML; each command's
# output and exit status, and snapshots, go to files outside the tmpfs.
cat >"$VWT_TMP/r2.sh" <<'SH'
set -u
T=$1 FULL=$2 NS=$3 BIN=$4
vwx() { ip netns exec "$NS" "$BIN" "$1" --state-dir "$FULL/state" "${@:2}"; }
snap() { ip -n "$NS" -br link; ip -n "$NS" -br addr; ip netns exec "$NS" nft list ruleset; }
mount -t tmpfs -o size=1m,mode=0700 vwt-r2 "$FULL" || exit 1
mkdir -m 0700 "$FULL/state"
vwx apply "$T/full-a.xml" >"$T/r2-a.out" 2>&1; echo $? >"$T/r2-a.rc"
dd if=/dev/zero of="$FULL/fill" bs=4k >/dev/null 2>&1
echo full >"$FULL/probe" 2>/dev/null && echo "not full" >"$T/r2-notfull"
snap >"$T/r2-before"
(cd "$FULL/state" && find . -type f ! -name lock -exec sha256sum {} + | sort -k2) >"$T/r2-files-before"
vwx apply "$T/full-b.xml" >"$T/r2-b.out" 2>&1; echo $? >"$T/r2-b.rc"
snap >"$T/r2-after-b"
vwx apply "$T/full-a2.xml" >"$T/r2-a2.out" 2>&1; echo $? >"$T/r2-a2.rc"
snap >"$T/r2-after-a2"
(cd "$FULL/state" && find . -type f ! -name lock -exec sha256sum {} + | sort -k2) >"$T/r2-files-after"
rm -f "$FULL/fill"
vwx teardown full-a >"$T/r2-td.out" 2>&1; echo $? >"$T/r2-td.rc"
snap >"$T/r2-end"
umount "$FULL"
SH
snapshot >"$VWT_TMP/r2-start"
unshare -m --propagation private bash "$VWT_TMP/r2.sh" "$VWT_TMP" "$full" "$HOST" "$VW_BIN"
need "the tmpfs is full" test -e "$VWT_TMP/r2-a.rc" -a ! -e "$VWT_TMP/r2-notfull"
check "R2: full-a applies while the disk has room" grep -qx 0 "$VWT_TMP/r2-a.rc"
check "R2: a new network on a full disk: apply fails" failed "$VWT_TMP/r2-b.rc" "$VWT_TMP/r2-b.out"
check "… saying the record cannot be written" grep -q "No space left on device" "$VWT_TMP/r2-b.out"
check "… having changed nothing in the kernel" diff -u "$VWT_TMP/r2-before" "$VWT_TMP/r2-after-b"
check "… no bridge full-b" sh -c "! grep -q vw-fullb '$VWT_TMP/r2-after-b'"
check "R2: a changed XML on a full disk: apply fails" failed "$VWT_TMP/r2-a2.rc" "$VWT_TMP/r2-a2.out"
check "… having changed nothing in the kernel" diff -u "$VWT_TMP/r2-before" "$VWT_TMP/r2-after-a2"
check "… and the previous record is whole (record and XML)" \
	diff -u "$VWT_TMP/r2-files-before" "$VWT_TMP/r2-files-after"
check "R2: with room again, teardown full-a" grep -qx 0 "$VWT_TMP/r2-td.rc"
check "… leaves the kernel as at the start" diff -u "$VWT_TMP/r2-start" "$VWT_TMP/r2-end"

# The same with the test build's store fault, at every record write of an
# apply (writes 1..k: the intent, then the final record) until it succeeds.

# store_faults WHAT XML: each failed apply leaves the kernel and the
# records as they were; $last: the last write whose fault was tried, $rc:
# the apply's status after it.
store_faults() {
	local what=$1 xml=$2 n
	snapshot >"$VWT_TMP/sf-kernel"
	files_of "$VWT_TMP/state-host" >"$VWT_TMP/sf-files"
	last=0 rc=1
	for n in 1 2 3 4 5 6 7 8; do
		VIRTWIRE_FAULT=store:$n vw host apply "$xml" >"$VWT_TMP/sf.out" 2>&1
		rc=$?
		[ "$rc" = 0 ] && break
		last=$n
		check "R2: store:$n: $what: apply fails" grep -q "No space left on device" "$VWT_TMP/sf.out"
		same_kernel "… and the kernel is rolled back" "$VWT_TMP/sf-kernel"
		files_of "$VWT_TMP/state-host" >"$VWT_TMP/sf-now"
		check "… and the records are as before (record and XML)" diff -u "$VWT_TMP/sf-files" "$VWT_TMP/sf-now"
	done
}
# Writes 1 and 2 are the intent (XML, record), before the kernel changes;
# the last one that fails is the final record, after it changed.
store_faults "a new network" "$VWT_TMP/full-b.xml"
check "R2: the final record's fault (write 3 or later) was tried" test "$last" -ge 3
check "R2: with no fault left, the apply succeeds" test "$rc" = 0
check "… and builds the bridge" sh -c "ip -n $HOST link show vw-fullb >/dev/null"
net full-b vw-fullb 10.72.4 >"$VWT_TMP/full-b2.xml"
store_faults "a changed XML" "$VWT_TMP/full-b2.xml"
check "R2: the changed XML's final record fault was tried" test "$last" -ge 3
check "R2: with no fault left, the changed XML applies" test "$rc" = 0
check "teardown full-b" vw host teardown full-b
check "… no bridge left" no_bridge vw-fullb

# ---------------------------------------------------------------------------
# R3: a record that is damaged, truncated, of a future version, or gone, of
# a network whose bridge virtwire created.

net dmg vw-dmg 10.73.1 >"$VWT_TMP/dmg.xml"
rec=$VWT_TMP/state-host/dmg.state
for damage in garbage truncated future deleted; do
	check "R3 $damage: apply builds the network" vw host apply "$VWT_TMP/dmg.xml"
	case $damage in
	garbage) head -c 300 /dev/urandom >"$rec" ;;
	truncated) head -n 4 "$rec" >"$VWT_TMP/trunc" && cat "$VWT_TMP/trunc" >"$rec" ;;
	future) sed -i '1s/.*/virtwire-state 99/' "$rec" ;;
	deleted) rm -f "$rec" "$VWT_TMP/state-host/dmg.xml" ;;
	esac
	snapshot >"$VWT_TMP/r3-before"
	files_of "$VWT_TMP/state-host" >"$VWT_TMP/r3-files"
	vw host apply "$VWT_TMP/dmg.xml" >"$VWT_TMP/r3.out" 2>&1
	echo $? >"$VWT_TMP/r3.rc"
	check "R3 $damage: apply of the same XML fails" failed "$VWT_TMP/r3.rc" "$VWT_TMP/r3.out"
	check "… naming the way out: teardown --from" grep -q -- "teardown .*--from" "$VWT_TMP/r3.out"
	check "… or --adopt" grep -q -- "--adopt" "$VWT_TMP/r3.out"
	same_kernel "… having changed nothing in the kernel" "$VWT_TMP/r3-before"
	files_of "$VWT_TMP/state-host" >"$VWT_TMP/r3-now"
	check "… nor the record" diff -u "$VWT_TMP/r3-files" "$VWT_TMP/r3-now"
	case $damage in
	garbage | future)
		check "R3 $damage: teardown --from FILE NAME" vw host teardown --from "$VWT_TMP/dmg.xml" dmg
		;;
	*)
		check "R3 $damage: apply --adopt" vw host apply --adopt "$VWT_TMP/dmg.xml"
		check "… records the bridge as created, not found" grep -qx "link bridge created vw-dmg" "$rec"
		check "… then teardown NAME" vw host teardown dmg
		;;
	esac
	check "… removes the bridge" no_bridge vw-dmg
	check "… and the record" test ! -e "$rec"
done

# ---------------------------------------------------------------------------
# R5: a state directory that is not root's alone, and planted links.

net safe vw-safe 10.75.1 >"$VWT_TMP/safe.xml"
sd=$VWT_TMP/state-safe
vws() { vw_in "$HOST" "$sd" "$@"; }
check "R5: apply" vws apply "$VWT_TMP/safe.xml"
for unsafe in mode-0777 mode-0770 other-owner; do
	case $unsafe in
	mode-0777) chmod 0777 "$sd" ;;
	mode-0770) chmod 0770 "$sd" ;;
	other-owner) chmod 0700 "$sd" && chown 65534:65534 "$sd" ;;
	esac
	snapshot >"$VWT_TMP/r5-before"
	files_of "$sd" >"$VWT_TMP/r5-files"
	for cmd in "apply $VWT_TMP/safe.xml" "teardown safe" "verify safe" "status" "hook network safe started begin -"; do
		# shellcheck disable=SC2086
		vws $cmd <"$VWT_TMP/safe.xml" >"$VWT_TMP/r5.out" 2>&1
		echo $? >"$VWT_TMP/r5.rc"
		check "R5 $unsafe: '${cmd%% *}' refuses the directory" failed "$VWT_TMP/r5.rc" "$VWT_TMP/r5.out"
		check "… saying why" grep -Eq "writable by others|belongs to user 65534" "$VWT_TMP/r5.out"
	done
	same_kernel "R5 $unsafe: nothing changed in the kernel" "$VWT_TMP/r5-before"
	files_of "$sd" >"$VWT_TMP/r5-now"
	check "… nor in the directory" diff -u "$VWT_TMP/r5-files" "$VWT_TMP/r5-now"
	chown 0:0 "$sd" && chmod 0700 "$sd"
done

# Links planted in the directory, to files outside it (one there, one not
# yet there): whatever virtwire does, it never writes through them.
echo precious >"$VWT_TMP/outside"
outside_sum=$(sha256sum <"$VWT_TMP/outside")
for f in lock safe.state safe.xml firewall.gen; do
	rm -f "$sd/$f"
	case $f in
	lock | safe.xml) ln -s "$VWT_TMP/outside-new-$f" "$sd/$f" ;;
	*) ln -s "$VWT_TMP/outside" "$sd/$f" ;;
	esac
	vws apply "$VWT_TMP/safe.xml" >"$VWT_TMP/r5.out" 2>&1
	vws apply --adopt "$VWT_TMP/safe.xml" >>"$VWT_TMP/r5.out" 2>&1
	vws status >>"$VWT_TMP/r5.out" 2>&1
	check "R5 link as $f: the file outside is unchanged" test "$(sha256sum <"$VWT_TMP/outside")" = "$outside_sum"
	check "… and no file was created outside" sh -c "! ls '$VWT_TMP'/outside-new-* 2>/dev/null"
	rm -f "$VWT_TMP"/outside-new-*
	case $f in
	lock)
		check "… apply refuses the linked lock" grep -q "lock is a symbolic link" "$VWT_TMP/r5.out"
		rm -f "$sd/lock"
		;;
	*) check "… and the link was not followed (replaced or refused)" sh -c "[ ! -L '$sd/$f' ] || grep -q 'symbolic link' '$VWT_TMP/r5.out'" ;;
	esac
done
check "R5: after all that, teardown safe" vws teardown safe
check "… removes its bridge" no_bridge vw-safe

# ---------------------------------------------------------------------------
# R6: a record naming what virtwire never made.

need "a veth pair" ip -n "$HOST" link add victim0 type veth peer name victim1
net vic vw-vic 10.76.1 >"$VWT_TMP/vic.xml"
check "R6: apply" vw host apply "$VWT_TMP/vic.xml"
echo new >"$VWT_TMP/x"
need "rp_filter 0" nsx host sysctl -qw net.ipv4.conf.all.rp_filter=0
# /proc/sys/../../..$VWT_TMP/x is $VWT_TMP/x.
{
	grep -vx end "$VWT_TMP/state-host/vic.state"
	echo "link bridge created victim0"
	echo "sysctl ../../..$VWT_TMP/x old new revert"
	echo "sysctl net/ipv4/conf/all/rp_filter 1 0 revert"
	echo end
} >"$VWT_TMP/vic.state" && cat "$VWT_TMP/vic.state" >"$VWT_TMP/state-host/vic.state"
vw host teardown vic >"$VWT_TMP/r6.out" 2>&1
echo $? >"$VWT_TMP/r6.rc"
check "R6: teardown removes virtwire's own bridge" no_bridge vw-vic
check "… leaves the unrelated veth victim0" sh -c "ip -n $HOST link show victim0 >/dev/null 2>&1"
check "… and says so" says victim0 "$VWT_TMP/r6.out"
check "… writes nothing outside /proc/sys/net" test "$(cat "$VWT_TMP/x")" = new
check "… and says so" says "tmp.*/x" "$VWT_TMP/r6.out"
check "… leaves rp_filter, which virtwire never sets" test "$(nsx host sysctl -n net.ipv4.conf.all.rp_filter)" = 0
check "… and says so" says rp_filter "$VWT_TMP/r6.out"
check "… and removes the record" test ! -e "$VWT_TMP/state-host/vic.state"
done_testing
