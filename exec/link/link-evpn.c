/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The bridge port flags of a VXLAN device that BGP EVPN controls
 * (control="evpn"): learning off (zebra installs the remote MACs) and
 * neighbour suppression on (the bridge answers ARP and ND for the remote
 * guests from its neighbour table instead of flooding them to every host).
 * The message is what `bridge link set dev vw4242 learning off
 * neigh_suppress on` sends; libnl 3.7 has no neighbour suppression flag, so
 * both attributes are written here.
 */
#include <errno.h>

#include <linux/if_bridge.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <netlink/attr.h>

#include "link-private.h"

int vw_nlmsg_port_evpn(int ifindex, bool learning, bool neigh_suppress, struct nl_msg **ret)
{
	g_autoptr(nl_msg) msg = nlmsg_alloc_simple(RTM_SETLINK, NLM_F_REQUEST | NLM_F_ACK);
	struct ifinfomsg ifi = { .ifi_family = AF_BRIDGE, .ifi_index = ifindex };
	struct nlattr *prot;

	if (!msg || nlmsg_append(msg, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0)
		return -ENOMEM;
	prot = nla_nest_start(msg, IFLA_PROTINFO | NLA_F_NESTED);
	if (!prot || nla_put_u8(msg, IFLA_BRPORT_LEARNING, learning ? 1 : 0) < 0 ||
	    nla_put_u8(msg, IFLA_BRPORT_NEIGH_SUPPRESS, neigh_suppress ? 1 : 0) < 0)
		return -EMSGSIZE;
	nla_nest_end(msg, prot);
	*ret = g_steal_pointer(&msg);
	return 0;
}

void vw_nlmsg_brport_parse(struct nlattr *const *pt, VwLinkInfo *ret)
{
	if (pt[IFLA_BRPORT_LEARNING])
		ret->port_learning = nla_get_u8(pt[IFLA_BRPORT_LEARNING]) != 0;
	if (pt[IFLA_BRPORT_NEIGH_SUPPRESS])
		ret->neigh_suppress = nla_get_u8(pt[IFLA_BRPORT_NEIGH_SUPPRESS]) != 0;
}
