# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
#
# tests/netns/span-lib.sh - the topology of the spanning tests (span.sh,
# span-evpn.sh): three "hypervisors" h1-h3 (ul0 192.0.2.11-13) and an
# outsider x (192.0.2.99) on the underlay's bridge ul-br in namespace ul, and
# guests on a host's bridge. Source it after lib.sh.

# host_on_underlay H N: namespace H, its veth ul0 (192.0.2.N) on the
# underlay's bridge.
host_on_underlay() {
	ns_add "$1" &&
		ip -n "$(ns "$1")" link add ul0 type veth peer name "p-$1" netns "$(ns ul)" &&
		ip -n "$(ns ul)" link set "p-$1" master ul-br up &&
		ip -n "$(ns "$1")" addr add "192.0.2.$2/24" dev ul0 &&
		ip -n "$(ns "$1")" link set ul0 up
}

# guest_on H BR ROLE MAC N SUBNET: ROLE's eth0 (a new veth) on H's bridge BR,
# its host end enslaved as libvirt enslaves a tap (with the bridge's MTU),
# with 10.SUBNET.0.N/24 and fd00:SUBNET::N/64. The guest's namespace is made
# when missing (a guest that moves is plugged again on another host).
guest_on() {
	local h=$1 br=$2 role=$3 mac=$4 n=$5 sub=$6 g mtu
	g=$(ns "$role")
	{ [ -e "/run/netns/$g" ] || ns_add "$role"; } &&
		ip -n "$(ns "$h")" link add "g-$role" type veth peer name eth0 netns "$g" &&
		ip -n "$g" link set eth0 address "$mac" &&
		mtu=$(nsx "$h" cat "/sys/class/net/$br/mtu") &&
		ip -n "$(ns "$h")" link set "g-$role" mtu "$mtu" master "$br" up &&
		ip -n "$g" link set eth0 mtu "$mtu" &&
		ip -n "$g" addr add "10.$sub.0.$n/24" dev eth0 &&
		ip -n "$g" addr add "fd00:$sub::$n/64" dev eth0 nodad &&
		ip -n "$g" link set eth0 up
}

# topology: the underlay, the three hosts and the outsider.
topology() {
	ns_add ul &&
		ip -n "$(ns ul)" link add ul-br type bridge stp_state 0 forward_delay 0 &&
		ip -n "$(ns ul)" link set ul-br up &&
		host_on_underlay h1 11 && host_on_underlay h2 12 && host_on_underlay h3 13 && host_on_underlay x 99
}
