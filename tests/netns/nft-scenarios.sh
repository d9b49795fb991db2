#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The nftables scenarios of tests/unit/test-nft.c on the real kernel: the same
# binary, the same assertions as on the fake, with --kernel, in a namespace
# of its own (it starts each scenario from an empty ruleset there). Where the
# two differ, the fake or virtwire is wrong.
#
#   vwt-nft-scenar-PID-k: no links, only the namespace's nftables ruleset
. "$(dirname "$0")/lib.sh"
need_root

VW_NFT_SCENARIOS=${VW_NFT_SCENARIOS:-$(dirname "$VW_BIN")/tests/unit/test-nft}
if [ ! -x "$VW_NFT_SCENARIOS" ]; then
	echo "1..0 # SKIP $VW_NFT_SCENARIOS is not built"
	exit 77
fi
ns_add k || exit 1
# GTest writes the TAP itself, one line per scenario.
ip netns exec "$(ns k)" "$VW_NFT_SCENARIOS" --kernel --tap
