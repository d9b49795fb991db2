#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The systemd units of systemd/ as systemd itself reads them: each one (the
# template as the instances the docs enable) through `systemd-analyze
# verify`, which must exit 0 and say nothing (it only warns, exit 0, about
# an unknown key or section). ExecStart= points at the virtwire just built,
# so the check that the command is executable is real. No root needed.
. "$(dirname "$0")/../lib/common.sh"
need_tools systemd-analyze

units=$VW_SRC/systemd
# verify_unit NAME TEMPLATE: TEMPLATE.in as NAME, verified.
verify_unit() {
	local name=$1 dir=$VWT_TMP/units
	mkdir -p "$dir" &&
		sed "s#@BINDIR@/virtwire#$VW_BIN#g" "$units/$2.in" >"$dir/$name" &&
		systemd-analyze verify --man=no "$dir/$name" >"$VWT_TMP/verify.out" 2>&1
	local rc=$?
	cat "$VWT_TMP/verify.out"
	[ "$rc" = 0 ] && [ ! -s "$VWT_TMP/verify.out" ]
}

for service in nftables firewalld docker; do
	check "virtwire-restore@$service.service: systemd-analyze verify is silent" \
		verify_unit "virtwire-restore@$service.service" "virtwire-restore@.service"
done
check "virtwire-watch.service: systemd-analyze verify is silent" verify_unit virtwire-watch.service virtwire-watch.service
says "the restore unit runs 'virtwire restore' at start and at reload" \
	'^ExecReload=.*/virtwire restore$' grep -E '^Exec(Start|Reload)=' "$units/virtwire-restore@.service.in"
says "the restore unit is restarted and reloaded with its service" '^ReloadPropagatedFrom=%i.service$' \
	grep -E '^(PartOf|ReloadPropagatedFrom)=' "$units/virtwire-restore@.service.in"
# A unit systemd would refuse must fail here: the check can fail.
printf '[Unit]\nDescription=broken\n[Service]\nExecStart=%s/no-such-binary\n' "$VWT_TMP" >"$VWT_TMP/units/vwt-broken.service"
check_fails "a unit whose command does not exist fails the check" \
	systemd-analyze verify --man=no "$VWT_TMP/units/vwt-broken.service"
done_testing
