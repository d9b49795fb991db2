#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The state directory: files written 0600 in the documented format; a
# corrupt or missing record makes teardown refuse clearly and change
# nothing; `teardown --from FILE` then removes what the kernel shows to be
# virtwire's (its table objects, the bridge it created) and nothing else
# (a bridge libvirt made stays).
#
#   host: vw-st (made by virtwire), vw-found (a fixture standing for libvirt's bridge)
. "$(dirname "$0")/lib.sh"
need_root

setup "namespace host with the bridge vw-found" eval 'ns_add host && ip -n "$(ns host)" link add vw-found type bridge'
net() { # NAME BRIDGE SUBNET
	cat <<XML
<network>
  <name>$1</name>
  <forward mode='open'/>
  <bridge name='$2' stp='off'/>
  <ip address='$3.1' prefix='24'/>
  <metadata><vw:network xmlns:vw="urn:virtwire:1" mode="host-only"/></metadata>
</network>
XML
}
net st vw-st 10.70.1 >"$VWT_TMP/st.xml"
net found vw-found 10.70.2 >"$VWT_TMP/found.xml"
check "apply both" vw host apply "$VWT_TMP/st.xml" "$VWT_TMP/found.xml"
check "the state file is mode 0600" test "$(stat -c %a "$VWT_TMP/state-host/st.state")" = 600
check "the XML copy is mode 0600" test "$(stat -c %a "$VWT_TMP/state-host/st.xml")" = 600
check "the state directory is mode 0700" test "$(stat -c %a "$VWT_TMP/state-host")" = 700
check "the state file is versioned" test "$(head -1 "$VWT_TMP/state-host/st.state")" = "virtwire-state 2"
check "it records the bridge as created" grep -qx "link bridge created vw-st" "$VWT_TMP/state-host/st.state"
check "… and libvirt's bridge as found" grep -qx "link bridge found vw-found" "$VWT_TMP/state-host/found.state"
check "it ends with 'end'" test "$(tail -1 "$VWT_TMP/state-host/st.state")" = "end"

snapshot() {
	nsx host ip -br link
	nsx host ip -br addr
	nsx host nft list ruleset
}

# Damaged: truncated in the middle.
setup "truncate st's record" eval 'head -3 "$VWT_TMP/state-host/st.state" >"$VWT_TMP/trunc" && cp "$VWT_TMP/trunc" "$VWT_TMP/state-host/st.state"'
snapshot >"$VWT_TMP/before"
vw host teardown st >"$VWT_TMP/out" 2>&1
check "a damaged record: teardown fails (exit 2)" test $? = 2
check "… saying the record is damaged" grep -q "damaged record" "$VWT_TMP/out"
check "… and suggesting --from" grep -q -- "--from FILE" "$VWT_TMP/out"
snapshot >"$VWT_TMP/after"
check "… having changed nothing" diff "$VWT_TMP/before" "$VWT_TMP/after"
check "teardown --from the XML" vw host teardown --from "$VWT_TMP/st.xml" st
lacks "… removed the bridge virtwire had created" '^vw-st ' nsx host ip -br link
lacks "… removed its table elements" 'comment "st"' nsx host nft list table inet virtwire
says "… kept the other network's" 'comment "found"' nsx host nft list table inet virtwire
lacks "… and removed the damaged record" '^st\.state$' ls "$VWT_TMP/state-host"

# Missing: the record is gone.
setup "delete found's record" rm "$VWT_TMP/state-host/found.state"
snapshot >"$VWT_TMP/before"
vw host teardown found >"$VWT_TMP/out" 2>&1
check "a missing record: teardown fails (exit 1)" test $? = 1
check "… saying there is no record" grep -q "has no record" "$VWT_TMP/out"
snapshot >"$VWT_TMP/after"
check "… having changed nothing" diff "$VWT_TMP/before" "$VWT_TMP/after"
check "teardown --from the XML" vw host teardown --from "$VWT_TMP/found.xml" found
cp "$VWT_TMP/check.out" "$VWT_TMP/from.out"
says "… left libvirt's bridge alone" '^vw-found ' nsx host ip -br link
check "… and says so" grep -q "does not carry virtwire's marker" "$VWT_TMP/from.out"
lacks "no table left" virtwire nsx host nft list tables
done_testing
