#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# virtwire beside a real firewalld (Debian 12's 1.3, nftables backend,
# default zone public) with its own dbus-daemon: both run in the test's
# host namespace and in a private mount namespace (its own /run, a copy of
# /etc/firewalld with virtwire's zone and policy from data/firewalld, its
# log in the test's directory); virtwire runs there too and reaches
# firewalld over D-Bus. The bridges go to zone 'virtwire'; every mode works;
# after firewalld's --reload (over D-Bus) and a restart a re-assert puts
# them back; teardown removes exactly that. With integrate=no: only the
# warning. A bridged network's bridge goes to the zone of its uplink (the
# default zone when the uplink is in none): within it firewalld forwards
# what br_netfilter hands it of the bridged guest's frames (VWT_BRNF runs it
# both ways).
#
#   wan 203.0.113.2 ── host wan0 203.0.113.1
#                      vw-web 192.168.180.1/24 (nat) ── guest1 .10
#                      vw-rt  192.168.181.1/24 (route) ── guest2 .10
#   lan 198.51.100.1 ── host eth1 → vw-lan (bridged) ── guest4 198.51.100.50
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/hostfw-lib.sh"
need_root
need_tools firewalld dbus-daemon gdbus nsenter unshare

topology() {
	topo_wan &&
		ip -n "$(ns wan)" route add 192.168.181.0/24 via 203.0.113.1 &&
		ip -n "$(ns wan)" route add 192.168.180.0/24 via 203.0.113.1 &&
		guests_on vw-web vw-rt &&
		lan_segment
}
setup "topology: wan, host, bridges vw-web and vw-rt, guests, the LAN on eth1" topology
lan_xml
NETS=("$VWT_TMP/web.xml" "$VWT_TMP/rt.xml" "$VWT_TMP/lan.xml")

net_xml web vw-web 192.168.180 nat "$SSH_FWD" >"$VWT_TMP/web.xml"
net_xml rt vw-rt 192.168.181 route >"$VWT_TMP/rt.xml"
printf '[host-firewall]\nintegrate=no\n' >"$VWT_TMP/leave.conf"

# --- the sandbox: a holder process owns the mount namespace ------------------
F=$VWT_TMP/fw
mkdir -p "$F/etc" "$F/log" && cp -a /etc/firewalld/. "$F/etc/" &&
	cp "$VW_SRC/data/firewalld/zones/virtwire.xml" "$F/etc/zones/" &&
	cp "$VW_SRC/data/firewalld/policies/virtwire-in.xml" "$F/etc/policies/"
holder() {
	ip netns exec "$(ns host)" unshare -m --propagation private bash -c '
		mount -t tmpfs tmpfs /run && mkdir -p /run/dbus &&
		mount --bind "$1/etc" /etc/firewalld && mount --bind "$1/log" /var/log &&
		echo ready >"$1/holder" && exec sleep 3600' _ "$F" &
	HOLDER=$!
	VWT_PIDS+=("$HOLDER")
	for _ in $(seq 1 100); do [ -e "$F/holder" ] && return 0; sleep 0.05; done
	return 1
}
# In the holder's namespaces (its mounts: the bus, firewalld's files).
inside() {
	nsenter -t "$HOLDER" -n -m "$@"
}
vwt_in() {
	local where=$1
	shift
	case $where in
	host) inside "$@" ;;
	vwt-*) ip netns exec "$where" "$@" ;;
	*) ip netns exec "$(ns "$where")" "$@" ;;
	esac
}
fwcall() {
	inside gdbus call --system --dest org.fedoraproject.FirewallD1 --object-path /org/fedoraproject/FirewallD1 \
		--method "org.fedoraproject.FirewallD1.$1" "${@:2}"
}
firewalld_start() {
	(exec nsenter -t "$HOLDER" -n -m firewalld --nofork --nopid --log-file "$F/log/firewalld.log") >>"$F/out" 2>&1 &
	FWPID=$!
	VWT_PIDS+=("$FWPID")
	for _ in $(seq 1 200); do
		fwcall getDefaultZone >/dev/null 2>&1 && inside nft list table inet firewalld >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	tail -5 "$F/out" "$F/log/firewalld.log"
	return 1
}
firewalld_stop() {
	kill "$FWPID" 2>/dev/null
	for _ in $(seq 1 200); do kill -0 "$FWPID" 2>/dev/null || return 0; sleep 0.05; done
	return 1
}
setup "the sandbox's mount namespace" holder
setup "its dbus-daemon" inside dbus-daemon --system --fork
vwt_cleanup_add 'for p in $(ip netns pids "$(ns host)" 2>/dev/null); do kill "$p" 2>/dev/null; done; sleep 0.3'
setup "firewalld starts" firewalld_start
fwlist() {
	inside nft list table inet firewalld | sed 's/packets [0-9]* bytes [0-9]*//'
}
fwlist >"$VWT_TMP/fw-before"

serve wan tcp4 80
serve guest1 tcp4 22
serve guest2 tcp4 22
serve host udp4 53
serve lan tcp4 80

traffic() {
	reach "$1: nat guest egress" guest1 tcp4 203.0.113.2 80 '^wan 203\.0\.113\.1$'
	reach "$1: a forward" wan tcp4 203.0.113.1 2222 '^guest1 203\.0\.113\.2$'
	reach "$1: DNS to the host" guest1 udp4 192.168.180.1 53 '^host 192\.168\.180\.10$'
	reach "$1: routed guest egress" guest2 tcp4 203.0.113.2 80 '^wan 192\.168\.181\.10$'
	reach "$1: routed inbound" wan tcp4 192.168.181.10 22 '^guest2 203\.0\.113\.2$'
	blocked "$1: what virtwire does not admit stays out (wan to the nat guest)" wan tcp4 192.168.180.10 22 \
		dropped host
	lan_traffic "$1"
}
zones() {
	echo "$(fwcall zone.getZoneOfInterface vw-web) $(fwcall zone.getZoneOfInterface vw-rt)"
}
lan_zone() {
	fwcall zone.getZoneOfInterface vw-lan
}

# integrate=no first: firewalld rejects, and virtwire says where and why.
check "integrate=no: apply" eval 'VIRTWIRE_CONFIG=$VWT_TMP/leave.conf inside "$VW_TEST_BIN" apply \
	--state-dir "$VWT_TMP/state-host" "${NETS[@]}" >"$VWT_TMP/apply.out" 2>&1'
says "integrate=no: the warning names firewalld's chain and the zone to use" \
	"table inet firewalld, chain filter_FORWARD .* will drop what virtwire admits for network 'web'.*firewall-cmd --zone=virtwire --add-interface=vw-web" \
	cat "$VWT_TMP/apply.out"
says "integrate=no: the bridges are in no zone" "^\(''.*\(''" zones
blocked "integrate=no: firewalld rejects guest egress" guest1 tcp4 203.0.113.2 80 rejected
setup "guest4 on vw-lan" lan_plug
says "integrate=no: the bridged network's bridge is in no zone" "^\(''," lan_zone
if brnf_on; then
	says "integrate=no: the warning names the bridged network and its uplink's zone (the default one)" \
		"chain filter_FORWARD .* will drop what virtwire admits for network 'lan' \(its guests' bridged traffic.*'firewall-cmd --zone=public --add-interface=vw-lan'" \
		cat "$VWT_TMP/apply.out"
	blocked "integrate=no: firewalld rejects the bridged guest's frames" guest4 tcp4 198.51.100.1 80 rejected
else
	lacks "integrate=no: no warning for the bridged network (its frames pass no forward hook)" \
		"admits for network 'lan'" cat "$VWT_TMP/apply.out"
	reach "integrate=no: the bridged guest reaches the LAN" guest4 tcp4 198.51.100.1 80 '^lan 198\.51\.100\.50$'
fi

check "apply" vw host apply "${NETS[@]}"
says "both bridges are in zone virtwire" "^\('virtwire',\) \('virtwire',\)$" zones
says "the bridged network's bridge is in the default zone (its uplink is in none)" "^\('public',\)$" lan_zone
check "verify: nothing to report" vw host verify --all
traffic "firewalld"

setup "firewalld --reload, over D-Bus" fwcall reload
says "after --reload, verify sees the bridges in no zone" "bridge vw-web is in no zone" eval 'vw host verify --all; true'
says "… the bridged one too, and where it goes" "bridge vw-lan is in no zone \(virtwire binds it to zone 'public'\)" \
	eval 'vw host verify --all; true'
check "re-assert (what virtwire restore does)" vw host apply "${NETS[@]}"
says "both bridges back in zone virtwire" "^\('virtwire',\) \('virtwire',\)$" zones
says "the bridged one back in the default zone" "^\('public',\)$" lan_zone
traffic "after --reload"

setup "firewalld stops" firewalld_stop
setup "firewalld starts again" firewalld_start
check "re-assert" vw host apply "${NETS[@]}"
says "both bridges back in zone virtwire" "^\('virtwire',\) \('virtwire',\)$" zones
says "the bridged one back in the default zone" "^\('public',\)$" lan_zone
traffic "after firewalld's restart"

check "teardown" vw host teardown web rt lan
says "the bridges are in no zone again" "^\(''.*\(''" zones
says "… the bridged one too" "^\('',\)$" lan_zone
lacks "firewalld's table names no bridge of virtwire's" "vw-web|vw-rt|vw-lan" fwlist
# firewalld keeps the chains of a zone once it was active: its own, not
# virtwire's. Its dispatch is as before.
zones_dispatch() {
	sed -n '/chain [a-z]*_ZONES {/,/}/p' "$1"
}
fwlist >"$VWT_TMP/fw-after"
check "firewalld's zone dispatch exactly as before" \
	eval 'diff -u <(zones_dispatch "$VWT_TMP/fw-before") <(zones_dispatch "$VWT_TMP/fw-after")'

# An uplink in a zone: the bridge takes its zone (where the host's traffic
# on the uplink went before it was bridged), and leaves it at teardown.
setup "eth1 in zone internal" fwcall zone.addInterface internal eth1
check "apply the bridged network" vw host apply "$VWT_TMP/lan.xml"
setup "guest4 on vw-lan again" lan_plug
says "its bridge is in its uplink's zone" "^\('internal',\)$" lan_zone
lan_traffic "uplink in zone internal"
check "teardown" vw host teardown lan
says "the bridge is in no zone again" "^\('',\)$" lan_zone
says "the uplink is still in its zone" "^\('internal',\)$" fwcall zone.getZoneOfInterface eth1
done_testing
