#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Atomicity: a batch that fails anywhere (a test-only fault point makes the
# kernel refuse message N) leaves the kernel exactly as before, and the state
# directory too. Applies, replacements and teardowns alike.
#
#   host: vw-a (nat, network a, applied first), vw-b (route, network b)
. "$(dirname "$0")/lib.sh"
need_root

setup "namespace host with bridges vw-a and vw-b" eval 'ns_add host &&
	ip -n "$(ns host)" link add vw-a type bridge && ip -n "$(ns host)" link add vw-b type bridge'
cat >"$VWT_TMP/a.xml" <<'XML'
<network>
  <name>a</name>
  <forward mode='open'/>
  <bridge name='vw-a'/>
  <ip address='10.20.0.1' prefix='24'/>
  <metadata>
    <vw:network xmlns:vw="urn:virtwire:1" mode="nat">
      <vw:forward name="ssh" proto="tcp" host-port="2222" guest-address="10.20.0.10" guest-port="22"/>
      <vw:forward name="many" proto="udp" host-port="40000-40999" guest-address="10.20.0.10"/>
    </vw:network>
  </metadata>
</network>
XML
sed -e 's/2222/3333/' -e 's/40000-40999/41000-41999/' "$VWT_TMP/a.xml" >"$VWT_TMP/a2.xml"
cat >"$VWT_TMP/b.xml" <<'XML'
<network>
  <name>b</name>
  <forward mode='open'/>
  <bridge name='vw-b'/>
  <ip address='10.21.0.1' prefix='24'/>
  <metadata><vw:network xmlns:vw="urn:virtwire:1" mode="route"/></metadata>
</network>
XML

snapshot() {
	nsx host nft list ruleset
	ls "$VWT_TMP/state-host"
	cat "$VWT_TMP/state-host"/*.state | grep -v '^applied '
}

# faulted KIND:N COMMAND ARGS...: virtwire in host with that fault; true
# when it failed (exit 2) on the injected fault, as its message says (a
# failure of any other kind, or a binary that injects nothing, is not this).
faulted() {
	local fault=$1 rc
	shift
	VIRTWIRE_FAULT=$fault vw host "$@" >"$VWT_TMP/out" 2>&1
	rc=$?
	cat "$VWT_TMP/out"
	echo "exit $rc"
	[ "$rc" = 2 ] && grep -q "the kernel refused to add rule to chain vw-fault-injected" "$VWT_TMP/out"
}

# The first apply itself: a fault leaves no table at all.
for n in 1 2 30 60; do
	check "fault at message $n of a first apply: apply fails on it, saying which message the kernel refused" \
		faulted "nft:$n" apply "$VWT_TMP/a.xml"
	lacks "… and no table exists" virtwire nsx host nft list tables
done

check "apply network a" vw host apply "$VWT_TMP/a.xml"
snapshot >"$VWT_TMP/before"
setup "the snapshot holds network a" grep -q 'table inet virtwire' "$VWT_TMP/before"

for n in 1 3 8 20; do
	check "fault at message $n while adding network b: apply fails on it" faulted "nft:$n" apply "$VWT_TMP/b.xml"
	snapshot >"$VWT_TMP/after"
	check "… kernel and state exactly as before" cmp "$VWT_TMP/before" "$VWT_TMP/after"
done

for n in 1 4 9 15; do
	check "fault at message $n while replacing network a: apply fails on it" faulted "nft:$n" apply "$VWT_TMP/a2.xml"
	snapshot >"$VWT_TMP/after"
	check "… the old network a stands, whole" cmp "$VWT_TMP/before" "$VWT_TMP/after"
done

check "fault during teardown: teardown fails on it" faulted nft:5 teardown a
snapshot >"$VWT_TMP/after"
check "… network a is still there, and still recorded" cmp "$VWT_TMP/before" "$VWT_TMP/after"

check "without the fault, the replacement goes through" vw host apply "$VWT_TMP/a2.xml"
says "the new forward is there" 'tcp \. 3333' nsx host nft list map inet virtwire fwd4any
lacks "the old forward is gone" 'tcp \. 2222' nsx host nft list map inet virtwire fwd4any
check "teardown" vw host teardown a
lacks "nothing left" virtwire nsx host nft list ruleset
done_testing
