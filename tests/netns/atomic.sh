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

ns_add host || exit 1
ip -n "$(ns host)" link add vw-a type bridge
ip -n "$(ns host)" link add vw-b type bridge
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

# The first apply itself: a fault leaves no table at all.
for n in 1 2 30 60; do
	VIRTWIRE_FAULT=nft:$n vw host apply "$VWT_TMP/a.xml" >"$VWT_TMP/out" 2>&1
	rc=$?
	check "fault at message $n of a first apply: apply fails" test "$rc" -ne 0
	check "… and says which message the kernel refused" grep -q "the kernel refused to add rule to chain vw-fault-injected" "$VWT_TMP/out"
	check "… and no table exists" sh -c "! ip netns exec $(ns host) nft list tables | grep -q virtwire"
done

check "apply network a" vw host apply "$VWT_TMP/a.xml"
snapshot >"$VWT_TMP/before"

for n in 1 3 8 20; do
	VIRTWIRE_FAULT=nft:$n vw host apply "$VWT_TMP/b.xml" >"$VWT_TMP/out" 2>&1
	check "fault at message $n while adding network b: apply fails" test $? -ne 0
	snapshot >"$VWT_TMP/after"
	check "… kernel and state exactly as before" cmp "$VWT_TMP/before" "$VWT_TMP/after"
done

for n in 1 4 9 15; do
	VIRTWIRE_FAULT=nft:$n vw host apply "$VWT_TMP/a2.xml" >"$VWT_TMP/out" 2>&1
	check "fault at message $n while replacing network a: apply fails" test $? -ne 0
	snapshot >"$VWT_TMP/after"
	check "… the old network a stands, whole" cmp "$VWT_TMP/before" "$VWT_TMP/after"
done

VIRTWIRE_FAULT=nft:5 vw host teardown a >"$VWT_TMP/out" 2>&1
check "fault during teardown: teardown fails" test $? -ne 0
snapshot >"$VWT_TMP/after"
check "… network a is still there, and still recorded" cmp "$VWT_TMP/before" "$VWT_TMP/after"

check "without the fault, the replacement goes through" vw host apply "$VWT_TMP/a2.xml"
check "the new forward is there" sh -c "ip netns exec $(ns host) nft list map inet virtwire fwd4any | grep -q 'tcp . 3333'"
check "the old forward is gone" sh -c "! ip netns exec $(ns host) nft list map inet virtwire fwd4any | grep -q 'tcp . 2222'"
check "teardown" vw host teardown a
check "nothing left" sh -c "! ip netns exec $(ns host) nft list ruleset | grep -q virtwire"
done_testing
