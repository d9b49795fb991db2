/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What each selector of a rule statement reads: its words in nft's syntax,
 * its datatype and length. Shared by the rule builders and both of their
 * generators. */
#include <linux/netfilter/nf_tables.h>

#include "plan-private.h"

/* A payload's base as VwSelInfo keeps it (0: not a payload). */
#define LL (NFT_PAYLOAD_LL_HEADER + 1)
#define NH (NFT_PAYLOAD_NETWORK_HEADER + 1)
#define TH (NFT_PAYLOAD_TRANSPORT_HEADER + 1)

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
	[VW_SEL_ETHER_SADDR] = { "ether saddr", VW_NFT_ETHER_ADDR, 6, false, false, LL, 6 },
	[VW_SEL_ETHER_TYPE] = { "ether type", VW_NFT_NONE, 2, false, false, LL, 12 },
	[VW_SEL_ARP_SHA] = { "arp saddr ether", VW_NFT_ETHER_ADDR, 6, false, false, NH, 8 },
	[VW_SEL_ARP_SPA] = { "arp saddr ip", VW_NFT_IPV4_ADDR, 4, false, false, NH, 14 },
	[VW_SEL_ICMPV6_TYPE] = { "icmpv6 type", VW_NFT_NONE, 1, false, false, TH, 0 },
	[VW_SEL_UDP_SPORT] = { "udp sport", VW_NFT_INET_SERVICE, 2, false, false, TH, 0 },
	[VW_SEL_UDP_DPORT] = { "udp dport", VW_NFT_INET_SERVICE, 2, false, false, TH, 2 },
	[VW_SEL_ND_TARGET] = { "@th,64,128", VW_NFT_ND_TARGET, 16, false, false, TH, 8 },
	[VW_SEL_VXLAN_VNI] = { "@th,96,24", VW_NFT_VXLAN_VNI, 3, false, false, TH, 12 },
};

const VwSelInfo *vw_sel_info(VwSel sel)
{
	return &sel_infos[sel];
}

uint32_t vw_sel_len(VwSel sel, int family)
{
	return sel_infos[sel].address ? vw_addr_len(family) : sel_infos[sel].len;
}
