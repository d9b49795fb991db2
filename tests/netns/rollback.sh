#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Rollback with real kernel errors in the middle of a plan: a link change
# refused by the kernel (fault point VIRTWIRE_FAULT=link:N sends a request
# for a device that does not exist), or the nftables batch refused after the
# links were made (VIRTWIRE_FAULT=nft:N). Links, addresses, routes, sysctls
# and ruleset must be exactly as before, in NAT and in bridged mode.
#
#   host: vw-rb (NAT, made by virtwire) ; eth0 198.51.100.2/24 ── lan 198.51.100.1
#         vw-br (bridged over eth0)
. "$(dirname "$0")/lib.sh"
need_root

topology() {
	ns_add host && ns_add lan &&
		ip -n "$(ns host)" link add eth0 type veth peer name eth0 netns "$(ns lan)" &&
		ip -n "$(ns lan)" addr add 198.51.100.1/24 dev eth0 &&
		ip -n "$(ns lan)" link set eth0 up &&
		ip -n "$(ns host)" addr add 198.51.100.2/24 dev eth0 &&
		ip -n "$(ns host)" link set eth0 up &&
		ip -n "$(ns host)" route add default via 198.51.100.1
}
setup "topology: host with eth0, lan" topology
# Let the veth settle (carrier, link-local address) before the first
# snapshot: the kernel does that asynchronously.
for _ in $(seq 1 100); do
	if ip -n "$(ns host)" -br addr show eth0 | grep -q 'UP.*fe80' && ip -n "$(ns lan)" -br link show eth0 | grep -q UP; then
		break
	fi
	sleep 0.05
done
cat >"$VWT_TMP/rb.xml" <<'XML'
<network>
  <name>rb</name>
  <forward mode='open'/>
  <bridge name='vw-rb' stp='off'/>
  <mtu size='9000'/>
  <ip address='192.168.192.1' prefix='24'/>
  <ip family='ipv6' address='2001:db8:192::1' prefix='64'/>
  <metadata>
    <vw:network xmlns:vw="urn:virtwire:1" mode="nat">
      <vw:forward name="ssh" proto="tcp" host-port="2222" guest-address="192.168.192.10" guest-port="22"/>
      <vw:localhost enabled="yes"/>
    </vw:network>
  </metadata>
</network>
XML
cat >"$VWT_TMP/br.xml" <<'XML'
<network>
  <name>br</name>
  <forward mode='bridge'/>
  <bridge name='vw-br'/>
  <metadata><vw:network xmlns:vw="urn:virtwire:1" mode="bridged" uplink="eth0"/></metadata>
</network>
XML

snapshot() {
	nsx host ip -d -br link
	nsx host ip -br addr
	nsx host ip route
	nsx host ip -6 route | grep -v '^fe80\|^multicast'
	nsx host sysctl -a 2>/dev/null | grep -E '^net\.ipv(4|6)\.conf\.(all|default|vw-|eth0)|^net\.ipv4\.ip_forward'
	nsx host nft list ruleset
	ls "$VWT_TMP/state-host" 2>/dev/null | grep -v '^lock$'
}

# try_faults FILE KIND MAX every|first: apply FILE with a fault at change
# 1, 2, … of KIND; each must fail on that fault (exit 2, naming it) and leave
# everything as before. "every": the faults run out before MAX (an apply
# goes through: every change point was tried); "first": all of 1..MAX fail.
try_faults() {
	local file=$1 kind=$2 max=$3 want=$4 n rc x clean=
	x=$(basename "$file")
	for n in $(seq 1 "$max"); do
		snapshot >"$VWT_TMP/before"
		VIRTWIRE_FAULT=$kind:$n vw host apply "$file" >"$VWT_TMP/out" 2>&1
		rc=$?
		snapshot >"$VWT_TMP/after"
		if [ "$rc" -eq 0 ]; then
			# Past the last change: nothing left to fail; undo it.
			clean=$n
			setup "$x: teardown after the apply without a fault" vw host teardown "${x%.xml}"
			break
		fi
		check "$x: $kind error at change $n: apply fails naming it" \
			eval "cat '$VWT_TMP/out'; [ $rc = 2 ] && grep -q 'No such device\|the kernel refused' '$VWT_TMP/out'"
		check "$x: $kind error at change $n: everything as before" \
			diff "$VWT_TMP/before" "$VWT_TMP/after"
	done
	case $want in
	every) check "$x: every $kind change point tried (faults at 1-$((${clean:-1} - 1)), then a clean apply)" \
		test "${clean:-0}" -gt 1 ;;
	first) check "$x: a $kind fault at each of changes 1-$max" test -z "$clean" ;;
	esac
}

try_faults "$VWT_TMP/rb.xml" link 12 every
try_faults "$VWT_TMP/rb.xml" nft 3 first
try_faults "$VWT_TMP/br.xml" link 12 every
serve lan tcp4 80
reach "the host still reaches its LAN after all that" host tcp4 198.51.100.1 80 '^lan 198\.51\.100\.2$'
done_testing
