#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# tests/nft/rules.payload still says what nft makes of virtwire's rules: the
# file tools/regen-nft-payload writes now, with this nft, iptables-nft and
# kernel, is the one checked in (the unit test test-nft-payload holds
# virtwire's own bytecode against that file).
#
#   vwt-payload-PID: the generator's own namespace (tables loaded, rules
#   added and read back; no links, no traffic)
. "$(dirname "$0")/lib.sh"
need_root
for tool in iptables-nft ip6tables-nft; do
	if ! command -v "$tool" >/dev/null; then
		echo "1..0 # SKIP $tool is not installed (tools/bootstrap installs it)"
		exit 77
	fi
done

if VW_PAYLOAD_BIN=${VW_PAYLOAD_BIN:-$(dirname "$VW_BIN")/tests/unit/test-nft-payload} \
	"$VW_SRC/tools/regen-nft-payload" -o "$VWT_TMP/rules.payload" >"$VWT_TMP/regen.out" 2>&1; then
	ok "the generator ran: $(tail -1 "$VWT_TMP/regen.out")"
	check "tests/nft/rules.payload is what nft makes of the rules now (else run tools/regen-nft-payload)" \
		diff -u "$VW_SRC/tests/nft/rules.payload" "$VWT_TMP/rules.payload"
else
	not_ok "the generator ran"
	sed 's/^/# /' "$VWT_TMP/regen.out"
fi
done_testing
