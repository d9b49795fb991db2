#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# virtwire restore: the recorded networks' firewall put back after someone
# else flushed the ruleset or deleted part of virtwire's table; nothing sent
# to the kernel when nothing is missing (nft monitor sees no generation go
# by); the records kept whole, so a teardown after a restore still removes
# the bridge virtwire created.
#
#   wan  203.0.113.2
#    │ veth
#   host wan0 203.0.113.1
#        vw-web (bridge, as libvirt makes it) 192.168.150.1/24 ─ guest1 192.168.150.10
#        vw-lab (bridge virtwire creates)    192.168.151.1/24
. "$(dirname "$0")/lib.sh"
need_root

topology() {
	topo_wan &&
		topo_bridge vw-web 192.168.150.1/24 &&
		topo_guest guest1 vw-web 52:54:00:aa:bb:10 192.168.150.10/24 192.168.150.1
}
setup "topology: wan, host, bridge vw-web, guest1" topology

net_doc web vw-web 192.168.150.1/24 mode=nat \
	'<vw:forward name="ssh" proto="tcp" host-port="2222" guest-address="192.168.150.10" guest-port="22"/>' \
	>"$VWT_TMP/web.xml"
net_doc lab vw-lab 192.168.151.1/24 mode=host-only >"$VWT_TMP/lab.xml"

check "apply web" vw host apply "$VWT_TMP/web.xml"
check "apply lab (virtwire creates its bridge)" vw host apply "$VWT_TMP/lab.xml"
serve guest1 tcp4 22
reach "the forward answers" wan tcp4 203.0.113.1 2222 '^guest1 203\.0\.113\.2$'

says "restore after apply: nothing missing, nothing read" "2 networks: nothing was missing \(the ruleset has not changed" \
	vw host restore
check "… and nothing committed (nft monitor: no generation between two markers)" nft_quiet host vw host restore

# nftables.service's restart: the whole ruleset flushed.
setup "nft flush ruleset" nsx host nft flush ruleset
blocked "after the flush the forward is gone (the host resets it)" wan tcp4 203.0.113.1 2222 refused
says "restore puts the table back" "^restored: network '(web|lab)': table inet virtwire: is missing" vw host restore
reach "the forward answers again" wan tcp4 203.0.113.1 2222 '^guest1 203\.0\.113\.2$'
check "verify: no drift" vw host verify --all
check "a second restore commits nothing" nft_quiet host vw host restore

# Someone else's commit moves the generation: the table is read, nothing sent.
setup "another table comes and goes" eval 'nsx host nft add table ip other && nsx host nft delete table ip other'
says "after another commit restore reads, finds nothing missing" "2 networks: nothing was missing \(nothing was sent\)" \
	vw host restore
check "… and commits nothing" nft_quiet host vw host restore

# One element deleted by hand: exactly it comes back.
setup "delete the forward's element" nsx host nft delete element inet virtwire fwd4any '{ tcp . 2222 }'
blocked "without its element the forward is gone" wan tcp4 203.0.113.1 2222 refused
says "restore puts the element back" "^restored: network 'web': map fwd4any: element tcp \. 2222 .* missing" vw host restore
reach "the forward answers again" wan tcp4 203.0.113.1 2222 '^guest1 203\.0\.113\.2$'

# The daemon hook restores the same way (libvirtd's start and SIGHUP).
setup "nft flush ruleset" nsx host nft flush ruleset
check "the daemon hook's reload" vw host hook daemon - reload begin - </dev/null
reach "… brings the forward back" wan tcp4 203.0.113.1 2222 '^guest1 203\.0\.113\.2$'

# The monitor does see a restore that repairs something (the check above
# can fail).
setup "nft flush ruleset" nsx host nft flush ruleset
check_fails "a restore that repairs commits, and the monitor sees it" nft_quiet host vw host restore

# A record that cannot be used is said, and the others are restored.
setup "nft flush ruleset" nsx host nft flush ruleset
setup "damage lab's record" cp "$VWT_TMP/state-host/lab.state" "$VWT_TMP/lab.state.good"
printf 'garbage\n' >"$VWT_TMP/state-host/lab.state"
says "restore warns about the damaged record" "warning: the record of network 'lab' is unusable" vw host restore
reach "… and restores the other network" wan tcp4 203.0.113.1 2222 '^guest1 203\.0\.113\.2$'
setup "lab's record back" cp "$VWT_TMP/lab.state.good" "$VWT_TMP/state-host/lab.state"

# The records stay whole: teardown after restores removes what apply made.
check "restore" vw host restore
says "lab's record still has the bridge virtwire created" "^link bridge created vw-lab$" cat "$VWT_TMP/state-host/lab.state"
check "teardown lab" vw host teardown lab
check_fails "its bridge is gone" nsx host ip link show vw-lab
check "teardown web" vw host teardown web
lacks "no virtwire table" virtwire nsx host nft list tables
# A teardown while a restore has read the records: the restore holds the
# lock from its reading to its commit, the teardown waits for it, and the
# network stays torn down (a restore of records read before the teardown
# would bring it back). The test build stops the restore there
# (VIRTWIRE_PAUSE) until the file it made is removed.
net_doc race vw-race 192.168.152.1/24 mode=host-only >"$VWT_TMP/race.xml"
check "apply race (virtwire creates its bridge)" vw host apply "$VWT_TMP/race.xml"
setup "another table comes and goes (restore reads the records)" \
	eval 'nsx host nft add table ip other && nsx host nft delete table ip other'
PAUSE=$VWT_TMP/restore.paused
VIRTWIRE_PAUSE=restore-read:$PAUSE nsx host "$VW_TEST_BIN" restore --state-dir "$VWT_TMP/state-host" \
	>"$VWT_TMP/race-restore.out" 2>&1 &
restore_pid=$!
VWT_PIDS+=("$restore_pid")
paused() {
	local i
	for i in $(seq 1 200); do
		[ -e "$PAUSE" ] && return 0
		sleep 0.05
	done
	return 1
}
check "a restore stops after reading the records" paused
vw host teardown race >"$VWT_TMP/race-teardown.out" 2>&1 &
teardown_pid=$!
VWT_PIDS+=("$teardown_pid")
sleep 1
check "… a teardown meanwhile waits for the restore's lock" kill -0 "$teardown_pid"
rm -f "$PAUSE"
check "the restore ends well" wait "$restore_pid"
check "… and so does the teardown" wait "$teardown_pid"
says "… which tore race down" "network 'race': torn down" cat "$VWT_TMP/race-teardown.out"
check_fails "race has no record" test -e "$VWT_TMP/state-host/race.state"
lacks "… no virtwire table is left" virtwire nsx host nft list tables
check_fails "… and its bridge is gone" nsx host ip link show vw-race
says "restore with nothing recorded does nothing" "^no network is recorded in" vw host restore
says "restore without a state directory does nothing" "^no network is recorded in" \
	vw_in host "$VWT_TMP/none" restore
lacks "… and creates no table" virtwire nsx host nft list tables
unsafe() {
	mkdir -m 0700 "$VWT_TMP/unsafe" && chmod 0777 "$VWT_TMP/unsafe" || return 1
	! vw_in host "$VWT_TMP/unsafe" restore >"$VWT_TMP/unsafe.out" 2>&1 || return 1
	cat "$VWT_TMP/unsafe.out"
	grep -q "is writable by others" "$VWT_TMP/unsafe.out"
}
check "restore refuses a state directory others may write to, and says why" unsafe
done_testing
