/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What each selector of a rule statement reads: its words in nft's syntax,
 * its datatype and length. Shared by the rule builders and both of their
 * generators. */
#include "plan-private.h"

static const VwSelInfo sel_infos[] = {
	[VW_SEL_IIFNAME] = { "iifname", VW_NFT_IFNAME, 16, false, false },
	[VW_SEL_OIFNAME] = { "oifname", VW_NFT_IFNAME, 16, false, false },
	[VW_SEL_L4PROTO] = { "meta l4proto", VW_NFT_INET_PROTO, 1, true, false },
	[VW_SEL_SADDR] = { "saddr", VW_NFT_IPV4_ADDR, 4, false, true },
	[VW_SEL_DADDR] = { "daddr", VW_NFT_IPV4_ADDR, 4, false, true },
	[VW_SEL_SPORT] = { "th sport", VW_NFT_INET_SERVICE, 2, false, false },
	[VW_SEL_DPORT] = { "th dport", VW_NFT_INET_SERVICE, 2, false, false },
	[VW_SEL_CT_STATE] = { "ct state", VW_NFT_NONE, 4, true, false },
	[VW_SEL_CT_STATUS] = { "ct status", VW_NFT_NONE, 4, true, false },
	[VW_SEL_CT_MARK] = { "ct mark", VW_NFT_NONE, 4, true, false },
	[VW_SEL_FIB_DADDR_TYPE] = { "fib daddr type", VW_NFT_NONE, 4, true, false },
};

const VwSelInfo *vw_sel_info(VwSel sel)
{
	return &sel_infos[sel];
}

uint32_t vw_sel_len(VwSel sel, int family)
{
	return sel_infos[sel].address ? vw_addr_len(family) : sel_infos[sel].len;
}
