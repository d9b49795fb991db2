#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Concurrent virtwire processes serialise on the state directory's lock:
# 8 applies of different networks at once, then 4 teardowns racing 4 more
# applies, then 8 teardowns at once. The end states are exact.
#
#   host: vw-c1 … vw-c12, each a NAT network 10.60.N.0/24 with one forward
. "$(dirname "$0")/lib.sh"
need_root

setup "namespace host" ns_add host
for i in $(seq 1 12); do
	cat >"$VWT_TMP/c$i.xml" <<XML
<network>
  <name>c$i</name>
  <forward mode='open'/>
  <bridge name='vw-c$i' stp='off'/>
  <ip address='10.60.$i.1' prefix='24'/>
  <metadata>
    <vw:network xmlns:vw="urn:virtwire:1" mode="nat">
      <vw:forward proto="tcp" host-port="$((3000 + i))" guest-address="10.60.$i.10" guest-port="22"/>
    </vw:network>
  </metadata>
</network>
XML
done

# parallel COMMAND ARGS… (one per network number): all at once, all must succeed.
parallel() {
	local verb=$1 pids=() failed=0 i
	shift
	for i in "$@"; do
		if [ "$verb" = apply ]; then
			vw host apply "$VWT_TMP/c$i.xml" >"$VWT_TMP/out.$i" 2>&1 &
		else
			vw host teardown "c$i" >"$VWT_TMP/out.$i" 2>&1 &
		fi
		pids+=($!)
	done
	for p in "${pids[@]}"; do
		wait "$p" || failed=$((failed + 1))
	done
	return "$failed"
}

check "8 applies at once all succeed" parallel apply 1 2 3 4 5 6 7 8
check "8 networks recorded" test "$(ls "$VWT_TMP/state-host"/*.state | wc -l)" = 8
check "verify --all: the kernel matches all 8" vw host verify --all
check "all 8 forwards in the map" test "$(nsx host nft list map inet virtwire fwd4any | grep -c 'comment "c')" = 8
check "8 bridges" test "$(nsx host ip -br link | grep -c '^vw-c')" = 8

# Teardowns of 1-4 racing applies of 9-12.
pids=()
for i in 1 2 3 4; do vw host teardown "c$i" >/dev/null 2>&1 & pids+=($!); done
for i in 9 10 11 12; do vw host apply "$VWT_TMP/c$i.xml" >/dev/null 2>&1 & pids+=($!); done
failed=0
for p in "${pids[@]}"; do wait "$p" || failed=$((failed + 1)); done
check "4 teardowns racing 4 applies all succeed" test "$failed" = 0
check "exactly networks 5-12 are recorded" test "$(cd "$VWT_TMP/state-host" && ls ./*.state | sort -V | tr -d './\n')" = "c5statec6statec7statec8statec9statec10statec11statec12state"
check "verify --all: the kernel matches all 8" vw host verify --all
check "exactly their forwards are in the map" test "$(nsx host nft list map inet virtwire fwd4any | grep -o 'comment "c[0-9]*"' | sort -V | tr -d '\n')" = 'comment "c5"comment "c6"comment "c7"comment "c8"comment "c9"comment "c10"comment "c11"comment "c12"'
check "bridges of 1-4 gone, 5-12 there" test "$(nsx host ip -br link | grep -o '^vw-c[0-9]*' | sort -V | tr '\n' ' ')" = "vw-c5 vw-c6 vw-c7 vw-c8 vw-c9 vw-c10 vw-c11 vw-c12 "

check "8 teardowns at once all succeed" parallel teardown 5 6 7 8 9 10 11 12
lacks "no table left" virtwire nsx host nft list tables
lacks "no bridge left" '^vw-c' nsx host ip -br link
lacks "no state left" '\.state$' ls "$VWT_TMP/state-host"
done_testing
