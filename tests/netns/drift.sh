#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Drift: for each of an address deleted, the MTU changed, the bridge down,
# the table flushed, one forward's map element deleted, a chain deleted, an
# element of the spoof filter deleted, its table deleted —
# `virtwire verify` reports exactly that (exit 1), `virtwire apply` repairs
# it, and verify is clean again (exit 0).
#
#   host: vw-dr (made by virtwire) 192.168.191.1/24, MTU 9000, NAT, one forward
. "$(dirname "$0")/lib.sh"
need_root

setup "namespace host" ns_add host
cat >"$VWT_TMP/dr.xml" <<'XML'
<network>
  <name>dr</name>
  <forward mode='open'/>
  <bridge name='vw-dr' stp='off' delay='0'/>
  <mtu size='9000'/>
  <ip address='192.168.191.1' prefix='24'/>
  <metadata>
    <vw:network xmlns:vw="urn:virtwire:1" mode="nat">
      <vw:forward name="ssh" proto="tcp" host-port="2222" guest-address="192.168.191.10" guest-port="22"/>
    </vw:network>
  </metadata>
</network>
XML
check "apply" vw host apply "$VWT_TMP/dr.xml"
check "verify is clean after apply" vw host verify dr

# drift NAME COMMAND EXPECTED-LINES…: one kind of drift, reported exactly.
drift() {
	local name=$1 cmd=$2 rc
	shift 2
	setup "$name: make the drift" nsx host sh -c "$cmd"
	vw host verify dr >"$VWT_TMP/verify.out" 2>&1
	rc=$?
	check "$name: verify exits 1" test "$rc" = 1
	grep '^drift: ' "$VWT_TMP/verify.out" | sort >"$VWT_TMP/got"
	printf '%s\n' "$@" | sort >"$VWT_TMP/want"
	check "$name: verify reports exactly that" diff "$VWT_TMP/want" "$VWT_TMP/got"
	check "$name: apply repairs it" vw host apply "$VWT_TMP/dr.xml"
	check "$name: verify is clean again" vw host verify dr
}

drift "address deleted" "ip addr del 192.168.191.1/24 dev vw-dr" \
	"drift: vw-dr: address 192.168.191.1/24 is missing"
drift "MTU changed" "ip link set vw-dr mtu 1400" \
	"drift: vw-dr: mtu is 1400, expected 9000"
drift "bridge down" "ip link set vw-dr down" \
	"drift: vw-dr: is down, expected up"
drift "one forward's map element deleted" "nft delete element inet virtwire fwd4any '{ tcp . 2222 }'" \
	"drift: map fwd4any: element tcp . 2222 : 192.168.191.10 . 22 is missing"
drift "a chain deleted" "nft delete chain inet virtwire output" \
	"drift: chain output: is missing"
drift "an address of the spoof filter deleted" "nft delete element bridge virtwire taken4 '{ 192.168.191.1 }'" \
	"drift: set taken4 of table bridge virtwire: element 192.168.191.1 is missing"
drift "the spoof filter's table deleted" "nft delete table bridge virtwire" \
	"drift: table bridge virtwire: is missing"

# Flushing the table empties every chain: each chain's first rule is
# reported missing (verify names the first difference of a chain).
nsx host nft list table inet virtwire | sed -n 's/^\tchain \([^ ]*\) {$/\1/p' >"$VWT_TMP/chains"
mapfile -t want < <(while read -r c; do
	first=$(nsx host nft list chain inet virtwire "$c" | sed -n '/^\t\t[a-z]/{/^\t\ttype /d;p}' | head -1 | sed 's/^\t\t//')
	[ -n "$first" ] && echo "drift: chain $c: rule 1 is missing: $first"
done <"$VWT_TMP/chains")
setup "the first rule of each chain is known" test "${#want[@]}" -gt 0
drift "table flushed" "nft flush table inet virtwire" "${want[@]}"

check "teardown" vw host teardown dr
done_testing
