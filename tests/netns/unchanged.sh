#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# A call that finds nothing to change (issue 14): a network of 10,000
# forwards, started through the network hook as libvirt does, then the same
# `started`, `virtwire restore` and the daemon hook again: nothing reaches
# the ruleset (nft monitor), the generation record holds the input digest.
# Whatever moves takes the full path and is repaired: an element deleted by
# someone else, one byte of the XML, libvirt's bridge losing its address.
#
# Which path a call took: the test binary's VIRTWIRE_DEBUG=timing prints each
# stage after the first, so the full path shows "plan" and the short way
# (one stage, "unchanged") nothing. All calls go through that binary: the
# input digest names the executable that planned.
#
#   host: vwb-bench (the bridge as libvirt leaves it), network "bench"
. "$(dirname "$0")/lib.sh"
need_root

N=10000
BR=vwb-bench
python3 "$VW_SRC/bench/gen-network.py" -n "$N" --hookdata -o "$VWT_TMP/big.xml" || bail "gen-network.py"
MAC=$(python3 "$VW_SRC/bench/gen-network.py" -n "$N" --print-mac)
# One byte changed: the last forward's host port 11023 → 11029.
last=$((1024 + N - 1))
sed "s/host-port=\"$last\"/host-port=\"$((last + 6))\"/" "$VWT_TMP/big.xml" >"$VWT_TMP/byte.xml"
ST=$VWT_TMP/state

topology() {
	ns_add host || return 1
	nsx host ip link add "$BR" address "$MAC" type bridge stp_state 0 forward_delay 0 &&
		nsx host ip addr add 198.18.0.1/16 dev "$BR" && nsx host ip link set "$BR" up
}
setup "namespace host with libvirt's bridge $BR" topology
setup "the changed XML differs in one byte" test "$(cmp -l "$VWT_TMP/big.xml" "$VWT_TMP/byte.xml" | wc -l)" = 1

# hook OP [XML]: the network hook as libvirt runs it.
hook() {
	nsx host env VIRTWIRE_DEBUG=timing "$VW_TEST_BIN" hook network --state-dir "$ST" bench "$1" begin - \
		<"${2:-$VWT_TMP/big.xml}"
}
daemon() {
	nsx host env VIRTWIRE_DEBUG=timing "$VW_TEST_BIN" hook daemon --state-dir "$ST" - start - start </dev/null
}
restore() {
	nsx host env VIRTWIRE_DEBUG=timing "$VW_TEST_BIN" restore --state-dir "$ST"
}
lacks_port() { ! has_port "$1"; }
elems() { nsx host nft list map inet virtwire fwd4any | grep -o 'tcp \. [0-9]* comment' | wc -l; }
has_port() { nsx host nft list map inet virtwire fwd4any | grep -q "tcp \. $1 "; }

says "started: applies $N forwards (the full path: plans)" "virtwire: plan " hook started
check "… all $N elements are in the kernel" test "$(elems)" = "$N"
check "the generation record holds bench's input digest" \
	grep -Eq '^net bench [0-9a-f]{64} [0-9a-f]{64}$' "$ST/firewall.gen"
lacks "the same started again plans nothing" "virtwire: " hook started
check "… and commits nothing (nft monitor)" nft_quiet host hook started
# The markers' commits moved the generation: the full path, which sends
# nothing and keeps the digest; then the short way.
says "restore after someone else's commits: the full path" "virtwire: plan " restore
lacks "restore again plans nothing" "virtwire: " restore
says "… and says nothing was missing" "nothing was missing" restore
lacks "the daemon hook's re-assert plans nothing" "virtwire: " daemon
lacks "started after all that plans nothing" "virtwire: " hook started
check "restore commits nothing (nft monitor)" nft_quiet host restore

# Drift: someone else deletes one element; the generation moved.
setup "someone deletes the element of port $last" nsx host nft delete element inet virtwire fwd4any "{ tcp . $last }"
check "… it is gone" test "$(elems)" = $((N - 1))
check "started repairs it" hook started
check "… it is back: $N elements" test "$(elems)" = "$N"
check "… with port $last" has_port "$last"

# One byte of the input.
check "started with one byte changed" hook started "$VWT_TMP/byte.xml"
check "… the changed forward is in the kernel" has_port $((last + 6))
check "… the old one is gone" lacks_port "$last"
check "started with the first XML again" hook started
check "… port $last is back" has_port "$last"

# libvirt's bridge no longer as the XML says: the full path refuses, as before.
setup "the bridge loses its address" nsx host ip addr del 198.18.0.1/16 dev "$BR"
check_fails "started refuses a bridge without its address" hook started
setup "the address back" nsx host ip addr add 198.18.0.1/16 dev "$BR"
# As it was when started last succeeded: nothing to do.
lacks "the address back: started has nothing to do" "virtwire: " hook started

# The production binary: a repeat that finds nothing to change loads neither
# libxml2 nor libsystemd (modules/module.h). Its first call takes the full
# path (the input digest names the executable), and parses.
if [ -e "$(dirname "$VW_BIN")/virtwire-xml.so" ]; then
	prod_started() {
		nsx host "$VW_BIN" hook network --state-dir "$ST" bench started begin - <"$VWT_TMP/big.xml"
	}
	says "the production binary's first started parses (loads the xml module)" 'file=.*virtwire-xml\.so' \
		loads prod_started
	lacks "its repeat loads neither libxml2 nor libsystemd" 'libxml2|libsystemd|virtwire-(xml|firewalld)\.so' \
		loads prod_started
else
	skip "the production binary's repeat loads no libxml2" "this build has no modules (static_deps)"
fi

# --- virtwire apply FILE, again -------------------------------------------------
# A network applied by hand (virtwire makes its bridge): the same file again
# is up to date without a parse; what moves takes the full path.
cat >"$VWT_TMP/small.xml" <<'XML'
<network>
  <name>small</name>
  <forward mode='open'/>
  <bridge name='vw-small' stp='off'/>
  <ip address='192.168.198.1' prefix='24'/>
  <metadata>
    <vw:network xmlns:vw="urn:virtwire:1" mode="nat">
      <vw:forward name="web" proto="tcp" host-port="30088" guest-address="192.168.198.10" guest-port="80"/>
    </vw:network>
  </metadata>
</network>
XML
sed 's/host-port="30088"/host-port="30089"/' "$VWT_TMP/small.xml" >"$VWT_TMP/small2.xml"
apply() {
	nsx host env VIRTWIRE_DEBUG=timing "$VW_TEST_BIN" apply --state-dir "$ST" "$@"
}
says "apply small: the full path" "virtwire: plan " apply "$VWT_TMP/small.xml"
lacks "apply small again: nothing parsed or planned" "virtwire: " apply "$VWT_TMP/small.xml"
says "… it says so" "^network 'small': up to date$" apply "$VWT_TMP/small.xml"
check "… and commits nothing (nft monitor)" nft_quiet host apply "$VWT_TMP/small.xml"
says "the same file under another name: the full path (the record names the file applied)" "virtwire: plan " \
	apply "$VWT_TMP/../$(basename "$VWT_TMP")/small.xml"
setup "small's bridge deleted by someone" nsx host ip link del vw-small
says "apply small after its bridge went: the full path" "virtwire: plan " apply "$VWT_TMP/small.xml"
check "… the bridge is back" nsx host ip link show vw-small
says "apply with the forward moved to 30089: the full path" "virtwire: plan " apply "$VWT_TMP/small2.xml"
says "… 30089 in the kernel" "tcp \. 30089 " nsx host nft list map inet virtwire fwd4any
check "teardown small" nsx host "$VW_TEST_BIN" teardown --state-dir "$ST" small

done_testing
