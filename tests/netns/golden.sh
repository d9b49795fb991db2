#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# One golden file checks both the planner and the executor: for every case in
# tests/xml with a plan expectation, apply the case in a fresh namespace and
# compare `nft list table inet virtwire` and `nft list table bridge virtwire`
# with the expected tables (elements as sets). Then re-apply (nothing may
# change) and tear down (nothing may stay).
#
#   vwt-golden-PID-cN:  bridges of the case (fixtures), virtwire apply
. "$(dirname "$0")/lib.sh"
need_root

i=0
for dir in "$VW_SRC"/tests/xml/*/; do
	[ -f "$dir/plan.out" ] || continue
	name=$(basename "$dir")
	if ! tail -1 "$dir/plan.out" | grep -q '^\[exit 0\]$'; then
		continue # a case whose plan is refused: nothing to apply
	fi
	i=$((i + 1))
	role="c$i"
	setup "$name: namespace" ns_add "$role"
	# Fixtures: the bridges libvirt would have made (not for bridged
	# mode, where virtwire makes it), and bridged mode's uplink.
	for f in "$dir"/*.xml; do
		if grep -q 'mode="bridged"' "$f"; then
			for up in $(sed -n 's/.*<vw:network[^>]*uplink="\([^"]*\)".*/\1/p' "$f"); do
				ip -n "$(ns "$role")" link add "$up" type veth peer name "vwt-peer" 2>/dev/null
			done
			continue
		fi
		for br in $(sed -n "s/.*<bridge name='\([^'%]*\)'.*/\1/p" "$f"); do
			ip -n "$(ns "$role")" link add "$br" type bridge 2>/dev/null
		done
		# A spanning network's underlay, with this host's tunnel endpoint
		# of either family (docs/spanning.md).
		for ul in $(sed -n 's/.*<vw:span[^>]*underlay="\([^"]*\)".*/\1/p' "$f"); do
			ip -n "$(ns "$role")" link add "$ul" type veth peer name "vwt-ulpeer" 2>/dev/null &&
				ip -n "$(ns "$role")" addr add 192.0.2.11/24 dev "$ul" &&
				ip -n "$(ns "$role")" addr add 2001:db8::11/64 dev "$ul" nodad &&
				ip -n "$(ns "$role")" link set "$ul" up
		done
	done
	ip -n "$(ns "$role")" -br link >"$VWT_TMP/links-before"
	sed -e '/^sysctl /d' -e '/^link /d' -e '/^coexist /d' -e '/^host-firewall /d' -e '/^\[exit /d' "$dir/plan.out" \
		>"$VWT_TMP/expected"
	mapfile -t files < <(cd "$dir" && ls ./*.xml)
	if ! (cd "$dir" && vw "$role" apply "${files[@]}") >"$VWT_TMP/apply.out" 2>&1; then
		not_ok "$name: apply"
		sed 's/^/# /' "$VWT_TMP/apply.out"
		continue
	fi
	if [ ! -s "$VWT_TMP/expected" ]; then
		lacks "$name: no table, as planned" virtwire nsx "$role" nft list tables
	else
		{
			nsx "$role" nft list table inet virtwire
			nsx "$role" nft list table bridge virtwire
		} >"$VWT_TMP/actual" 2>&1
		check "$name: nft list table equals the plan" nft_same_table "$VWT_TMP/expected" "$VWT_TMP/actual"
	fi
	setup "$name: list the ruleset" eval 'nsx "$role" nft list ruleset >"$VWT_TMP/before-reapply"'
	reapply() {
		# The input's warnings (a case may have some) are said again.
		(cd "$dir" && vw "$role" apply "${files[@]}") 2>&1 | grep -Ev ': warning: |^  hint: ' >"$VWT_TMP/reapply.out"
		[ "${PIPESTATUS[0]}" = 0 ] && every_line "up to date" "$VWT_TMP/reapply.out"
	}
	check "$name: re-apply succeeds and reports nothing to do" reapply
	setup "$name: list the ruleset" eval 'nsx "$role" nft list ruleset >"$VWT_TMP/after-reapply"'
	check "$name: re-apply changes nothing" cmp "$VWT_TMP/before-reapply" "$VWT_TMP/after-reapply"
	mapfile -t nets < <(for f in "$VWT_TMP/state-$role"/*.state; do basename "$f" .state; done)
	check "$name: teardown" vw "$role" teardown "${nets[@]}"
	lacks "$name: no trace after teardown" virtwire nsx "$role" nft list ruleset
	ip -n "$(ns "$role")" -br link >"$VWT_TMP/links-after"
	check "$name: links as before apply" diff "$VWT_TMP/links-before" "$VWT_TMP/links-after"
	ip netns del "$(ns "$role")"
done
setup "tests/xml has cases with a plan to apply" test "$i" -gt 0
done_testing
