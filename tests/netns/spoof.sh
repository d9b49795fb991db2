#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The spoof filter with real frames: guests send from their own MAC and
# addresses only. Hand-made frames (tests/lib/frames.py) from a guest that
# spoofs another guest's reserved address, an address outside the subnet, a
# WAN address, another MAC, ARP and NDP claims to the gateway; a DHCP server
# in a guest; each next to the same guest's own frame of the same kind, which
# must arrive (the control). The legitimate traffic of every guest keeps
# working, and `status` counts the drops. Guests whose ports libvirt names
# come through the hooks, as libvirt runs them (prepare, port-created,
# start); guest4's port is one virtwire does not know, held to its
# reservation per MAC.
#
#   wan  203.0.113.2   2001:db8:ffff::2
#    │ veth
#   host wan0 203.0.113.1   2001:db8:ffff::1
#        vw-sp (bridge, 52:54:00:00:16:01) 192.168.160.1/24 2001:db8:160::1/64
#         ├─ guest1 52:54:00:aa:cc:10 192.168.160.10 (reserved) 2001:db8:160::10     port known
#         ├─ guest2 52:54:00:aa:cc:11 192.168.160.20 (its <ip>, as LXC gives it)   port known
#         ├─ guest3 52:54:00:aa:cc:12 192.168.160.30 (no reservation) 2001:db8:160::30 port known: the spoofer
#         ├─ guest4 52:54:00:aa:cc:13 192.168.160.40 (reserved)                    port unknown
#         ├─ opt    52:54:00:aa:cc:14 192.168.160.51 (reserved .50; its domain opts out)
#         └─ client 52:54:00:aa:cc:15 (no address: DHCP)                            port known
. "$(dirname "$0")/lib.sh"
need_root
need_tools dnsmasq busybox

FRAMES=$VW_SRC/tests/lib/frames.py
MAC1=52:54:00:aa:cc:10 MAC2=52:54:00:aa:cc:11 MAC3=52:54:00:aa:cc:12
MAC4=52:54:00:aa:cc:13 MACO=52:54:00:aa:cc:14 MACC=52:54:00:aa:cc:15
GW_LL=fe80::5054:ff:fe00:1601

topology() {
	topo_wan &&
		ip -n "$(ns wan)" route add 192.168.160.0/24 via 203.0.113.1 &&
		ip -n "$(ns host)" link add vw-sp type bridge stp_state 0 forward_delay 0 &&
		ip -n "$(ns host)" link set vw-sp address 52:54:00:00:16:01 &&
		ip -n "$(ns host)" addr add 192.168.160.1/24 dev vw-sp &&
		ip -n "$(ns host)" addr add 2001:db8:160::1/64 dev vw-sp nodad &&
		ip -n "$(ns host)" link set vw-sp up &&
		topo_guest guest1 vw-sp $MAC1 192.168.160.10/24 192.168.160.1 2001:db8:160::10/64 2001:db8:160::1 &&
		topo_guest guest2 vw-sp $MAC2 192.168.160.20/24 192.168.160.1 &&
		topo_guest guest3 vw-sp $MAC3 192.168.160.30/24 192.168.160.1 2001:db8:160::30/64 2001:db8:160::1 &&
		topo_guest guest4 vw-sp $MAC4 192.168.160.40/24 192.168.160.1 &&
		ip -n "$(ns guest4)" addr add 192.168.160.41/24 dev eth0 &&
		topo_guest opt vw-sp $MACO 192.168.160.51/24 192.168.160.1 &&
		ns_add client &&
		ip -n "$(ns host)" link add g-client type veth peer name eth0 netns "$(ns client)" &&
		ip -n "$(ns client)" link set eth0 address $MACC &&
		ip -n "$(ns host)" link set g-client master vw-sp up &&
		ip -n "$(ns client)" link set eth0 up
}
setup "topology: wan, host, bridge vw-sp, six guests" topology
setup "IPv6 addresses ready" settle host guest1 guest3

cat >"$VWT_TMP/sp.xml" <<'XML'
<network>
  <name>sp</name>
  <uuid>6b0b4c1e-6a43-4a2e-9d0e-1d1c7c0b5f01</uuid>
  <forward mode='open'/>
  <bridge name='vw-sp'/>
  <mac address='52:54:00:00:16:01'/>
  <ip address='192.168.160.1' prefix='24'>
    <dhcp>
      <range start='192.168.160.100' end='192.168.160.150'/>
      <host mac='52:54:00:aa:cc:10' ip='192.168.160.10'/>
      <host mac='52:54:00:aa:cc:13' ip='192.168.160.40'/>
      <host mac='52:54:00:aa:cc:14' ip='192.168.160.50'/>
    </dhcp>
  </ip>
  <ip family='ipv6' address='2001:db8:160::1' prefix='64'/>
  <metadata>
    <vw:network xmlns:vw="urn:virtwire:1" mode="nat">
      <vw:spoof-filter domain-opt-out="yes"/>
    </vw:network>
  </metadata>
</network>
XML

# domain NAME N MAC [TAP] [IP] [META]: a domain with one interface on sp,
# as libvirt passes it to the qemu hooks (with the tap once it is named).
domain() {
	vwt_domain "$1" "00000000-0000-4000-8000-0000000000$2" "$3" sp "00000000-0000-4000-9000-0000000000$2" \
		${4:+"tap=$4"} ${5:+"ip=$5/24"} ${6:+"$6"}
}

# port NAME N MAC: the network hook's port-created for the domain's interface.
port() {
	vwt_hookdata "00000000-0000-4000-9000-0000000000$2" "$1" "00000000-0000-4000-8000-0000000000$2" "$3" vw-sp \
		<"$VWT_TMP/sp.xml"
}

# plug NAME N MAC [IP] [META]: libvirt starting the domain: prepare, the
# port, then start with the tap named.
plug() {
	local name=$1 n=$2 mac=$3 ip=${4:-} meta=${5:-}
	domain "$name" "$n" "$mac" "" "$ip" "$meta" >"$VWT_TMP/$name-prepare.xml" &&
		domain "$name" "$n" "$mac" "g-$name" "$ip" "$meta" >"$VWT_TMP/$name-start.xml" &&
		port "$name" "$n" "$mac" >"$VWT_TMP/$name-port.xml" &&
		vw host hook qemu "$name" prepare begin - <"$VWT_TMP/$name-prepare.xml" &&
		vw host hook network sp port-created begin - <"$VWT_TMP/$name-port.xml" &&
		vw host hook qemu "$name" start begin - <"$VWT_TMP/$name-start.xml"
}

check "apply the network (its spoof filter on by default)" vw host apply "$VWT_TMP/sp.xml"
check "guest1 starts: hooks prepare, port-created, start" plug guest1 01 $MAC1
check "guest2 starts, with its <ip>" plug guest2 02 $MAC2 192.168.160.20
check "guest3 starts" plug guest3 03 $MAC3
check "the domain that opts out starts" plug opt 05 $MACO "" "<vw:spoof-filter enabled='no'/>"
check "the DHCP client's domain starts" plug client 06 $MACC
says "the ports are in table bridge virtwire" '"g-guest3" comment "sp:00000000-0000-4000-9000-000000000003" : goto nw-sp-guest' \
	nsx host nft list map bridge virtwire ports
says "the opted-out port is accepted as it is" '"g-opt" comment "[^"]*" : accept' nsx host nft list map bridge virtwire ports
check "verify finds the kernel as planned (both tables, the ports included)" vw host verify sp
says "status: the spoof filter is on, nothing dropped yet" '^  spoof filter: on, 0 spoofed frames dropped$' vw host status

# --- legitimate traffic of every guest ------------------------------------------

serve host tcp4 7000
serve host tcp6 7000
serve wan tcp4 80
serve guest1 tcp4 8000
serve guest1 tcp6 8000
reach "guest1 (reserved address) reaches the host" guest1 tcp4 192.168.160.1 7000 '^host 192\.168\.160\.10$'
reach "guest1 reaches the host over IPv6" guest1 tcp6 2001:db8:160::1 7000 '^host 2001:db8:160::10$'
reach "guest2 (its <ip>) reaches the host" guest2 tcp4 192.168.160.1 7000 '^host 192\.168\.160\.20$'
reach "guest3 (no reservation, an address of the subnet) reaches the host" guest3 tcp4 192.168.160.1 7000 \
	'^host 192\.168\.160\.30$'
reach "guest3 reaches the host over IPv6" guest3 tcp6 2001:db8:160::1 7000 '^host 2001:db8:160::30$'
reach "guest4 (port unknown, reserved) reaches the host" guest4 tcp4 192.168.160.1 7000 '^host 192\.168\.160\.40$'
reach "guest3 reaches guest1" guest3 tcp4 192.168.160.10 8000 '^guest1 192\.168\.160\.30$'
reach "guest3 reaches guest1 over IPv6 (neighbour discovery between guests)" guest3 tcp6 2001:db8:160::10 8000 \
	'^guest1 2001:db8:160::30$'
reach "guests reach outside, masqueraded" guest2 tcp4 203.0.113.2 80 '^wan 203\.0\.113\.1$'
reach "the domain that opts out sends from an address not its own" opt tcp4 192.168.160.1 7000 \
	'^host 192\.168\.160\.51$'
blocked "guest4 sends from no address but its reservation (per MAC)" guest4@192.168.160.41 tcp4 192.168.160.1 7000 \
	dropped guest4

# --- spoofed frames -----------------------------------------------------------

# capture ROLE IFACE END: frames arriving at ROLE's IFACE into
# $VWT_TMP/cap-ROLE, until the frame with text END (sent last) arrives, 10 s
# at most; waits until the capture listens.
capture() {
	local log=$VWT_TMP/cap-$1 _
	vwt_in "$1" timeout 15 python3 "$FRAMES" capture "$2" 10 "$3" >"$log" 2>&1 &
	CAPTURES+=("$!")
	VWT_PIDS+=("$!")
	for _ in $(seq 1 100); do
		grep -qx ready "$log" && return 0
		sleep 0.05
	done
	bail "a capture listens on $1 $2"
}

# sent FROM KIND ARGS...: a hand-made frame from FROM's eth0.
sent() {
	local from=$1
	shift
	vwt_in "$from" python3 "$FRAMES" send eth0 "$@"
}

# got ROLE OWN SPOOFED: ROLE's capture has OWN (the control: the same
# guest's own frame, sent just before) and no line with SPOOFED.
got() {
	if ! grep -Fq -- "$2" "$VWT_TMP/cap-$1"; then
		diag "$1 did not see the control frame '$2':"
		diag "$(cat "$VWT_TMP/cap-$1")"
		return 1
	fi
	if grep -Fq -- "$3" "$VWT_TMP/cap-$1"; then
		diag "$1 saw the spoofed frame: $(grep -F -- "$3" "$VWT_TMP/cap-$1")"
		return 1
	fi
}

# spoof DESC FROM "OWN FRAME" "SPOOFED FRAME" SEEN-OWN SEEN-SPOOFED: FROM
# sends its own frame, then the spoofed one, then one more of its own that
# ends the captures (a busy machine cannot make them end before the frames
# come); guest1 and the host's bridge (what routing and NAT would get) see
# the first, not the second.
declare -A OWN_UDP
spoof() {
	local desc=$1 from=$2 own=$3 bad=$4 own_line=$5 bad_line=$6 pid end="end-$VWT_N"
	CAPTURES=()
	capture guest1 eth0 "$end"
	capture host vw-sp "$end"
	# shellcheck disable=SC2086 # the frames' words
	if ! sent "$from" $own || ! sent "$from" $bad || ! sent "$from" ${OWN_UDP[$from]} "$end"; then
		bail "$from sends frames"
	fi
	for pid in "${CAPTURES[@]}"; do
		wait "$pid"
	done
	check "$desc: dropped before another guest sees it" got guest1 "$own_line" "$bad_line"
	check "$desc: dropped before the host routes it" got host "$own_line" "$bad_line"
}

OWN_UDP[guest3]="udp4 $MAC3 192.168.160.30 192.168.160.255 9"
OWN_UDP[guest4]="udp4 $MAC4 192.168.160.40 192.168.160.255 9"
spoof "guest3 sending as guest1's reserved address" guest3 \
	"udp4 $MAC3 192.168.160.30 192.168.160.255 9 own-1" "udp4 $MAC3 192.168.160.10 192.168.160.255 9 spoof-1" \
	"own-1" "spoof-1"
spoof "guest3 sending from outside the subnet" guest3 \
	"udp4 $MAC3 192.168.160.30 192.168.160.255 9 own-2" "udp4 $MAC3 10.99.0.5 192.168.160.255 9 spoof-2" \
	"own-2" "spoof-2"
spoof "guest3 sending from a WAN address" guest3 \
	"udp4 $MAC3 192.168.160.30 203.0.113.2 9 own-3" "udp4 $MAC3 203.0.113.2 203.0.113.2 9 spoof-3" "own-3" "spoof-3"
spoof "guest3 sending from another MAC (guest1's)" guest3 \
	"udp4 $MAC3 192.168.160.30 192.168.160.255 9 own-4" "udp4 $MAC1 192.168.160.30 192.168.160.255 9 spoof-4" \
	"own-4" "spoof-4"
spoof "guest3 sending as the gateway" guest3 \
	"udp4 $MAC3 192.168.160.30 192.168.160.255 9 own-5" "udp4 $MAC3 192.168.160.1 192.168.160.255 9 spoof-5" \
	"own-5" "spoof-5"
spoof "ARP: guest3 claiming the gateway's address" guest3 \
	"arp $MAC3 $MAC3 192.168.160.30" "arp $MAC3 $MAC3 192.168.160.1" "arp $MAC3 $MAC3 192.168.160.30" \
	"arp $MAC3 $MAC3 192.168.160.1"
spoof "ARP: guest3 claiming its address for another MAC" guest3 \
	"arp $MAC3 $MAC3 192.168.160.30" "arp $MAC3 52:54:00:aa:cc:99 192.168.160.30" "arp $MAC3 $MAC3 192.168.160.30" \
	"arp $MAC3 52:54:00:aa:cc:99 192.168.160.30"
spoof "NDP: guest3 advertising the gateway's address" guest3 \
	"na6 $MAC3 2001:db8:160::30 2001:db8:160::30" "na6 $MAC3 2001:db8:160::30 2001:db8:160::1" \
	"na6 $MAC3 2001:db8:160::30 2001:db8:160::30" "na6 $MAC3 2001:db8:160::30 2001:db8:160::1"
spoof "NDP: guest3 advertising the gateway's link-local address" guest3 \
	"na6 $MAC3 fe80::5054:ff:feaa:cc12 fe80::5054:ff:feaa:cc12" "na6 $MAC3 fe80::5054:ff:feaa:cc12 $GW_LL" \
	"na6 $MAC3 fe80::5054:ff:feaa:cc12 fe80::5054:ff:feaa:cc12" "na6 $MAC3 fe80::5054:ff:feaa:cc12 $GW_LL"
spoof "NDP: guest3 advertising guest1's link-local address" guest3 \
	"na6 $MAC3 2001:db8:160::30 2001:db8:160::30" "na6 $MAC3 2001:db8:160::30 fe80::5054:ff:feaa:cc10" \
	"na6 $MAC3 2001:db8:160::30 2001:db8:160::30" "na6 $MAC3 2001:db8:160::30 fe80::5054:ff:feaa:cc10"
spoof "per MAC (port unknown): guest4 sending as guest1's reserved address" guest4 \
	"udp4 $MAC4 192.168.160.40 192.168.160.255 9 own-6" "udp4 $MAC4 192.168.160.10 192.168.160.255 9 spoof-6" \
	"own-6" "spoof-6"
spoof "per MAC (port unknown): guest4 claiming the gateway over ARP" guest4 \
	"arp $MAC4 $MAC4 192.168.160.40" "arp $MAC4 $MAC4 192.168.160.1" "arp $MAC4 $MAC4 192.168.160.40" \
	"arp $MAC4 $MAC4 192.168.160.1"

# shellcheck disable=SC2317 # called by check
spoofed_counted() {
	local n
	vw host status >"$VWT_TMP/status" 2>&1 || return 1
	n=$(sed -n 's/^  spoof filter: on, \([0-9]*\) spoofed frames\{0,1\} dropped$/\1/p' "$VWT_TMP/status")
	diag "status counts $n spoofed frames"
	# Every spoofed frame above (12 of them, each dropped once), at least.
	[ -n "$n" ] && [ "$n" -ge 12 ]
}
check "status counts the spoofed frames dropped" spoofed_counted

# --- a DHCP server in a guest ---------------------------------------------------

cat >"$VWT_TMP/lease.sh" <<'SH'
#!/bin/sh
[ "$1" = bound ] && echo "lease $ip from $serverid"
exit 0
SH
chmod +x "$VWT_TMP/lease.sh"

# dhcp_server ROLE IFACE FIRST LAST: dnsmasq serving DHCP only, bounded in time.
dhcp_server() {
	vwt_in "$1" timeout 60 dnsmasq --no-daemon --conf-file=/dev/null --port=0 --interface="$2" \
		--bind-interfaces --dhcp-range="$3,$4,255.255.255.0,120" --dhcp-authoritative --no-ping --log-dhcp --log-facility=- \
		--dhcp-leasefile="$VWT_TMP/leases-$1" --pid-file= >"$VWT_TMP/dnsmasq-$1.log" 2>&1 &
	VWT_PIDS+=("$!")
	sleep 0.5
}

# lease: what the client's DHCP got ("lease IP from SERVER"), or nothing.
lease() {
	nsx client timeout 15 busybox udhcpc -i eth0 -f -q -n -t 4 -T 1 -s "$VWT_TMP/lease.sh" 2>/dev/null | grep '^lease'
}

dhcp_server guest3 eth0 192.168.160.200 192.168.160.210
# shellcheck disable=SC2317 # called by check
rogue_unheard() {
	local got
	got=$(lease)
	[ -z "$got" ] || { diag "the client got: $got"; return 1; }
	# The control: the rogue server saw the discover and offered.
	grep -q 'DHCPOFFER' "$VWT_TMP/dnsmasq-guest3.log" || { diag "$(cat "$VWT_TMP/dnsmasq-guest3.log")"; return 1; }
}
check "a DHCP server in guest3 offers, and its offer reaches no other guest" rogue_unheard
dhcp_server host vw-sp 192.168.160.100 192.168.160.150
says "the host's DHCP still answers the client (through the filter: 0.0.0.0 is allowed)" \
	'^lease 192\.168\.160\.1[0-5][0-9] from 192\.168\.160\.1$' lease

# --- drift, repaired from the records ------------------------------------------------

setup "someone deletes guest3's port from the filter" \
	nsx host nft delete element bridge virtwire ports '{ "g-guest3" }'
# shellcheck disable=SC2317 # called by check
verify_reports() {
	vw host verify sp >"$VWT_TMP/verify.out" 2>&1 && return 1
	grep -Fx 'drift: map ports of table bridge virtwire: element "g-guest3" : goto nw-sp-guest is missing' \
		"$VWT_TMP/verify.out" || { diag "$(cat "$VWT_TMP/verify.out")"; return 1; }
}
check "verify reports the port missing" verify_reports
check "apply puts it back (the port's record names it)" vw host apply "$VWT_TMP/sp.xml"
check "verify is clean again" vw host verify sp

# --- the filter goes with its port, its domain and its network --------------------------

check "the opted-out domain is released" vw host hook qemu opt release end - <"$VWT_TMP/opt-start.xml"
lacks "its port left table bridge virtwire" g-opt nsx host nft list map bridge virtwire ports
check "teardown" vw host teardown sp
lacks "no virtwire table left (inet nor bridge)" virtwire nsx host nft list tables
done_testing
