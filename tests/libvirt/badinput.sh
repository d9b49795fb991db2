#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# tests/libvirt/badinput.sh - what libvirt users see when virtwire refuses:
# invalid networks make `virsh net-start` fail, domain forwards outside the
# network's policy make `virsh start` fail, each with virtwire's own message
# in virsh's error, and nothing is left half-applied (no table element or
# chain, no state record, no bridge, no bridge port, no dnsmasq), while the
# network that was already running keeps exactly what it had.
#
#   ┌─ netns vwt-badPID (sandbox: libvirtd, virtwire hooks) ────────────────┐
#   │ vwt-good 10.78.1.1/24  nat, forward tcp 3000, domain forwards on     │
#   │                        host ports 10000-10099 (running throughout)    │
#   │   gok   .11  its own forward 10050 (allowed: it starts)               │
#   │   gout  .12  forward 2222: outside 10000-10099        -> start fails  │
#   │   gdup  .13  forward 10050 again: gok holds it        -> start fails  │
#   │   gnores     MAC without a reservation                -> start fails  │
#   │ vwt-clos 10.78.7.1/24  nat, no <vw:domain-forwards>                   │
#   │   gdeny      forward on it                            -> start fails  │
#   │ vwt-plain 10.78.8.1/24 libvirt nat, no virtwire metadata              │
#   │   gunman     forward on it                            -> start fails  │
#   │ networks that must not start (bridges that must not stay):           │
#   │   badaddr  (guest-address outside the subnet)   vwt-bada              │
#   │   badmac   (guest-mac without DHCP reservation)  vwt-badm             │
#   │   badtypo  (guest-adress= : unknown attribute)   vwt-badt             │
#   │   badiso   (forwards on an isolated network)     vwt-badi             │
#   │   badcoll  (host port 3000 already good's: refused at 'started',      │
#   │             after libvirt made bridge, addresses and dnsmasq)  vwt-badc│
#   │   badbridged (bridged over an uplink that does not exist)   vwt-badb  │
#   └───────────────────────────────────────────────────────────────────────┘
#
# Exit: 0 pass, 1 fail, 77 skip. TAP on stdout.
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/libvirt/lib.sh
source "$HERE/lib.sh"
vwt_require

T0=$(_vw_now_ms)
vwt_sandbox "bad$$"
x=$VWT_TMP

vwt_net good vwt-good 10.78.1 host=52:54:00:78:01:10=10.78.1.10 host=52:54:00:78:01:11=10.78.1.11 \
	host=52:54:00:78:01:12=10.78.1.12 host=52:54:00:78:01:13=10.78.1.13 mode=nat \
	'<vw:forward name="web" proto="tcp" host-port="3000" guest-address="10.78.1.10" guest-port="80"/>' \
	'<vw:domain-forwards allow="yes" host-ports="10000-10099"/>'
vwt_net closed vwt-clos 10.78.7 mode=nat
vwt_net badaddr vwt-bada 10.78.2 mode=nat \
	'<vw:forward name="oops" proto="tcp" host-port="3001" guest-address="10.99.9.9" guest-port="80"/>'
vwt_net badcoll vwt-badc 10.78.3 mode=nat \
	'<vw:forward name="again" proto="tcp" host-port="3000" guest-address="10.78.3.10" guest-port="80"/>'
vwt_net badmac vwt-badm 10.78.4 mode=nat \
	'<vw:forward name="nomac" proto="tcp" host-port="3002" guest-mac="52:54:00:78:04:99" guest-port="80"/>'
vwt_net badtypo vwt-badt 10.78.5 mode=nat \
	'<vw:forward name="typo" proto="tcp" host-port="3003" guest-adress="10.78.5.10"/>'
vwt_net badiso vwt-badi 10.78.6 forward= \
	'<vw:forward name="iso" proto="tcp" host-port="3004" guest-address="10.78.6.10"/>'
vwt_net plain vwt-plain 10.78.8 forward=nat host=52:54:00:78:08:10=10.78.8.10
cat >"$x/badbridged.xml" <<'EOF'
<network>
  <name>badbridged</name>
  <forward mode='bridge'/>
  <bridge name='vwt-badb'/>
  <metadata>
    <vw:network xmlns:vw="urn:virtwire:1" mode="bridged" uplink="nosuch0"/>
  </metadata>
</network>
EOF

for n in good closed plain; do
	setup "net-start $n" vwt_define_start "$x/$n.xml"
done
VW_GUEST_METADATA=$(dom_fwd good 10050 80) \
	setup "gok (its forward 10050 is within good's policy) starts" vwt_lxc_guest gok good 52:54:00:78:01:11 10.78.1.11/24 10.78.1.1

# What must stay exactly as it is through every refusal below: the table
# (good's elements and chains, gok's port) and the state directory.
table_now() { vwt_nft_table 2>&1; }
state_now() { (cd "$VWT_STATE" && find . -type f ! -name lock -exec sha256sum {} + | sort); }
TABLE0=$(table_now)
STATE0=$(state_now)
setup "gok's forward 10050 is in table inet virtwire" matches 'tcp \. 10050 comment "good:' <<<"$TABLE0"
setup "the state directory holds good's record" matches '/good\.state$' <<<"$STATE0"
unchanged() {
	local rc=0
	python3 "$VW_SRC/tests/lib/nftnorm.py" <(echo "$TABLE0") <(table_now) || rc=1
	[[ "$(state_now)" == "$STATE0" ]] || { echo "state directory changed:"; diff <(echo "$STATE0") <(state_now); rc=1; }
	return $rc
}

# --- networks that virtwire refuses ----------------------------------------------
# refused_net NAME BRIDGE ERE: net-start fails, virsh shows virtwire's message
# (matching ERE), and nothing of NAME is left; the rest is unchanged.
refused_net() {
	local n=$1 br=$2 want=$3 out rc=0
	setup "$n: net-define" vw_virsh net-define "$x/$n.xml"
	if out=$(vw_virsh net-start "$n" 2>&1); then
		not_ok "$n: virsh net-start fails"
		diag "$out"
	else
		ok "$n: virsh net-start fails"
	fi
	if grep -q 'virtwire: ' <<<"$out" && grep -Eq -- "$want" <<<"$out"; then
		ok "$n: virsh's error carries virtwire's message (/$want/)"
	else
		not_ok "$n: virsh's error carries virtwire's message (/$want/)"
		diag "$out"
	fi
	check "$n: the network is not active" eval "vw_virsh net-info $n | matches '^Active: +no'"
	check "$n: nothing half-applied (no element, chain, state, bridge $br, dnsmasq)" vwt_net_gone "$n" "$br"
	check "$n: good, gok and the state directory are unchanged" unchanged
}
refused_net badaddr vwt-bada "10\.99\.9\.9 is not inside any IPv4 subnet"
refused_net badmac vwt-badm "52:54:00:78:04:99 has no DHCP reservation"
refused_net badtypo vwt-badt "unknown attribute 'guest-adress'.*did you mean 'guest-address'"
refused_net badiso vwt-badi "isolated .*cannot have port forwards"
refused_net badcoll vwt-badc "3000.*(good|web)"
refused_net badbridged vwt-badb "nosuch0"
lacks "badbridged: no bridge of virtwire's is left" 'alias virtwire:' vw_sb_exec ip -d -o link show type bridge

# --- domains outside the policy -------------------------------------------------------
# refused_dom NAME NET BRIDGE MAC IP ERE METADATA: virsh start fails with virtwire's
# message; the domain is not running; nothing of it is left.
refused_dom() {
	local g=$1 net=$2 br=$3 mac=$4 ip=$5 want=$6 md=$7 out ports0
	ports0=$(bridge_ports "$br") || bail "list the ports of $br"
	if out=$(VW_GUEST_METADATA=$md vw_lxc_guest "$g" "$net" "$mac" "$ip" - 2>&1); then
		not_ok "$g: virsh start fails"
		diag "$out"
	else
		ok "$g: virsh start fails"
	fi
	if grep -q 'virtwire: ' <<<"$out" && grep -Eq -- "$want" <<<"$out"; then
		ok "$g: virsh's error carries virtwire's message (/$want/)"
	else
		not_ok "$g: virsh's error carries virtwire's message (/$want/)"
		diag "$out"
	fi
	check "$g: the domain is not running" eval "vw_virsh_lxc domstate $g | matches '^shut off'"
	check "$g: nothing half-applied (table, state directory, domain record unchanged)" unchanged
	check "$g: no bridge port of it is left ($ports0 on $br, as before)" eval "[[ \"\$(bridge_ports $br)\" == $ports0 ]]"
}
# bridge_ports BR: how many ports BR has (fails when the listing does).
bridge_ports() {
	local out
	out=$(vw_sb_exec ip -o link show master "$1") || return 1
	grep -c . <<<"$out" || true
}
refused_dom gout good vwt-good 52:54:00:78:01:12 10.78.1.12/24 "2222.*10000-10099|10000-10099.*2222" "$(dom_fwd good 2222 22)"
refused_dom gdeny closed vwt-clos 52:54:00:78:07:10 10.78.7.10/24 "closed" "$(dom_fwd closed 10060 80)"
refused_dom gunman plain vwt-plain 52:54:00:78:08:10 10.78.8.10/24 "plain.*not managed by virtwire" "$(dom_fwd plain 10061 80)"
refused_dom gnores good vwt-good 52:54:00:78:01:99 10.78.1.99/24 "52:54:00:78:01:99" "$(dom_fwd good 10062 80)"
refused_dom gdup good vwt-good 52:54:00:78:01:13 10.78.1.13/24 "10050 of domain 'gdup' .* already taken by domain 'gok'" "$(dom_fwd good 10050 80)"

check "virtwire verify --all is clean after all the refusals" vwt_vw verify --all
setup "virsh destroy gok" vw_virsh_lxc destroy gok
lacks "gok's forward goes with gok" 'tcp \. 10050 ' vwt_nft_table
for n in good closed plain; do setup "net-destroy $n" vw_virsh net-destroy "$n"; done
check "everything destroyed: nothing of virtwire left" vwt_all_gone

diag "badinput.sh took $(($(_vw_now_ms) - T0)) ms"
done_testing
