#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The firewall's generation record (state dir firewall.gen): a repeat apply
# trusts it only while nobody has committed to the ruleset since virtwire
# made it right, only in the network namespace it was made in, and only for
# the network's current plan.
#
#   host-a: vw-ga (bridge fixture), network "ga"; vw-gb, network "gb"
#   host-b: vw-ga too, the same state directory used from here
. "$(dirname "$0")/lib.sh"
need_root

topology() {
	local r
	ns_add host-a && ns_add host-b || return 1
	for r in host-a host-b; do
		ip -n "$(ns "$r")" link add vw-ga type bridge && ip -n "$(ns "$r")" link set vw-ga up || return 1
	done
	ip -n "$(ns host-a)" link add vw-gb type bridge && ip -n "$(ns host-a)" link set vw-gb up
}
setup "namespaces host-a and host-b with their bridges" topology

net() { # NAME BRIDGE SUBNET-PREFIX HOSTPORT...
	local name=$1 br=$2 sub=$3 fw="" p
	shift 3
	for p in "$@"; do
		fw="$fw<vw:forward name='f$p' proto='tcp' host-port='$p' guest-address='$sub.10' guest-port='22'/>"
	done
	cat <<XML
<network><name>$name</name><forward mode='open'/><bridge name='$br'/>
  <ip address='$sub.1' prefix='24'/>
  <metadata><vw:network xmlns:vw="urn:virtwire:1" mode="nat">$fw</vw:network></metadata>
</network>
XML
}
net ga vw-ga 192.168.170 2201 2202 >"$VWT_TMP/ga.xml"
net ga vw-ga 192.168.170 2201 2202 2203 >"$VWT_TMP/ga3.xml"
net gb vw-gb 192.168.171 2301 >"$VWT_TMP/gb.xml"
ST=$VWT_TMP/state
va() { vw_in host-a "$ST" "$@"; }
vb() { vw_in host-b "$ST" "$@"; }
elems() { ip netns exec "$(ns "$1")" nft list map inet virtwire fwd4any 2>/dev/null | grep -o 'tcp \. [0-9]*' | sort | tr '\n' ' '; }

check "apply ga" va apply "$VWT_TMP/ga.xml"
check "the record names ga" grep -q '^net ga ' "$ST/firewall.gen"
says "re-apply: up to date" "^network 'ga': up to date$" va apply "$VWT_TMP/ga.xml"

# A change of someone else's, in the same commit as a drift of virtwire's
# table: the generation moved, so the repeat reads the kernel and repairs.
setup "a foreign commit that also deletes one of virtwire's elements" nsx host-a nft -f - <<'NFT'
add table ip other
delete element inet virtwire fwd4any { tcp . 2202 }
NFT
check "the drift is there" test "$(elems host-a)" = "tcp . 2201 "
check "re-apply after a foreign commit repairs" va apply "$VWT_TMP/ga.xml"
check "… the element is back" test "$(elems host-a)" = "tcp . 2201 tcp . 2202 "

# A changed plan is never taken as up to date.
check "apply ga with a third forward" va apply "$VWT_TMP/ga3.xml"
check "… it is in the kernel" test "$(elems host-a)" = "tcp . 2201 tcp . 2202 tcp . 2203 "

# Another network's apply keeps ga's entry (virtwire's commit was the only one).
check "apply gb" va apply "$VWT_TMP/gb.xml"
check "the record names ga and gb" sh -c "grep -q '^net ga ' $ST/firewall.gen && grep -q '^net gb ' $ST/firewall.gen"
says "re-apply ga: up to date" "^network 'ga': up to date$" va apply "$VWT_TMP/ga3.xml"

# The same state directory from another network namespace whose ruleset is
# at the same generation number: the record is not this one's. A new
# namespace's ruleset starts at generation 1; host-b is brought to the
# recorded one with commits of its own.
gen=$(sed -n 's/^gen //p' "$ST/firewall.gen")
pad() {
	local i
	for i in $(seq 2 "$gen"); do
		if [ $((i % 2)) = 0 ]; then nsx host-b nft add table ip pad; else nsx host-b nft delete table ip pad; fi || return 1
	done
}
setup "the recorded generation is a number" test "$gen" -gt 1
setup "host-b brought to generation $gen" pad
# Control: the record, claimed for host-b, is taken there as it stands (so
# the generations are equal and only the namespace tells them apart): the
# apply trusts it for the firewall and sends no message to nftables.
setup "a copy of the record claimed for host-b" eval 'cp -r "$ST" "$VWT_TMP/forged" &&
	sed -i "s/^netns .*/netns $(stat -L -c "%d:%i" "/run/netns/$(ns host-b)")/" "$VWT_TMP/forged/firewall.gen"'
says "control: host-b is at the recorded generation (a record claimed for it is trusted: no firewall message)" \
	"^network 'ga': .* 0 firewall differences repaired in one transaction of 0 messages" \
	vw_in host-b "$VWT_TMP/forged" apply "$VWT_TMP/ga3.xml"
lacks "… and so it sent nothing: no table in host-b" virtwire nsx host-b nft list tables
check "apply ga in host-b with the same state directory" vb apply "$VWT_TMP/ga3.xml"
check "… table inet virtwire is there in host-b" test "$(elems host-b)" = "tcp . 2201 tcp . 2202 tcp . 2203 "

check "verify ga in host-a: no drift" va verify ga
check "teardown gb and ga in host-a" va teardown gb ga
lacks "no record is left" '^firewall\.gen$' ls "$ST"

done_testing
