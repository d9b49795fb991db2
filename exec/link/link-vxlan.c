/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The messages of spanning networks: a VXLAN device, the entries of its
 * forwarding database, and both read back. Filled here with libnl-3's
 * message functions, as link-msg.c fills the others (libnl-route's object
 * model would be one library more that every call of virtwire loads, for
 * two messages only a spanning network's apply sends); sent by
 * link-netlink.c.
 */
#include <errno.h>
#include <string.h>

#include <arpa/inet.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <netlink/attr.h>
#include <netlink/msg.h>

#include "link-private.h"

static int put_addr(struct nl_msg *msg, int type4, int type6, const VwAddr *a)
{
	return nla_put(msg, a->family == AF_INET6 ? type6 : type4, (int)vw_addr_len(a->family), a->b);
}

/* IFLA_LINKINFO of kind vxlan: the VNI, the UDP port (network order), MAC
 * learning, the underlay device (its MTU and its route out) and the local
 * endpoint. */
static int put_vxlan_info(struct nl_msg *msg, const VwVxlanConf *conf)
{
	struct nlattr *info, *data;

	info = nla_nest_start(msg, IFLA_LINKINFO);
	if (!info)
		return -EMSGSIZE;
	VW_PUT(nla_put_string(msg, IFLA_INFO_KIND, "vxlan"));
	data = nla_nest_start(msg, IFLA_INFO_DATA);
	if (!data)
		return -EMSGSIZE;
	VW_PUT(nla_put_u32(msg, IFLA_VXLAN_ID, conf->vni));
	if (conf->link)
		VW_PUT(nla_put_u32(msg, IFLA_VXLAN_LINK, (uint32_t)conf->link));
	if (vw_addr_is_set(&conf->local))
		VW_PUT(put_addr(msg, IFLA_VXLAN_LOCAL, IFLA_VXLAN_LOCAL6, &conf->local));
	VW_PUT(nla_put_u8(msg, IFLA_VXLAN_LEARNING, conf->learning ? 1 : 0));
	VW_PUT(nla_put_u16(msg, IFLA_VXLAN_PORT, htons(conf->port)));
	nla_nest_end(msg, data);
	nla_nest_end(msg, info);
	return 0;
}

int vw_nlmsg_vxlan_add(const char *name, const VwVxlanConf *conf, struct nl_msg **ret)
{
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
	g_autoptr(nl_msg) msg = nlmsg_alloc_simple(RTM_NEWLINK, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);

	if (!msg)
		return -ENOMEM;
	VW_PUT(nlmsg_append(msg, &ifi, sizeof(ifi), NLMSG_ALIGNTO));
	if (conf->mtu)
		VW_PUT(nla_put_u32(msg, IFLA_MTU, conf->mtu));
	VW_PUT(nla_put_string(msg, IFLA_IFNAME, name));
	VW_PUT(put_vxlan_info(msg, conf));
	*ret = g_steal_pointer(&msg);
	return 0;
}

int vw_nlmsg_fdb(bool add, int ifindex, const VwFdbEntry *f, struct nl_msg **ret)
{
	/* The device's own table (as `bridge fdb append … self`), kept until
	 * removed; several entries may share the all-zeros MAC. */
	struct ndmsg nd = {
		.ndm_family = AF_BRIDGE,
		.ndm_ifindex = ifindex,
		.ndm_state = NUD_NOARP | NUD_PERMANENT,
		.ndm_flags = NTF_SELF,
	};
	g_autoptr(nl_msg) msg = add ? nlmsg_alloc_simple(RTM_NEWNEIGH, NLM_F_ACK | NLM_F_CREATE | NLM_F_APPEND)
				    : nlmsg_alloc_simple(RTM_DELNEIGH, NLM_F_ACK);

	if (!msg)
		return -ENOMEM;
	VW_PUT(nlmsg_append(msg, &nd, sizeof(nd), NLMSG_ALIGNTO));
	VW_PUT(put_addr(msg, NDA_DST, NDA_DST, &f->dst));
	VW_PUT(nla_put(msg, NDA_LLADDR, 6, f->mac.b));
	*ret = g_steal_pointer(&msg);
	return 0;
}

static void parse_addr(struct nlattr *a, int family, VwAddr *ret)
{
	if (!a || nla_len(a) != (int)vw_addr_len(family))
		return;
	memset(ret, 0, sizeof(*ret));
	ret->family = family;
	memcpy(ret->b, nla_data(a), vw_addr_len(family));
}

void vw_nlmsg_vxlan_parse(struct nlattr *data, VwLinkInfo *ret)
{
	struct nlattr *tb[IFLA_VXLAN_MAX + 1];

	if (nla_parse_nested(tb, IFLA_VXLAN_MAX, data, NULL) < 0)
		return;
	if (tb[IFLA_VXLAN_ID])
		ret->vni = nla_get_u32(tb[IFLA_VXLAN_ID]);
	parse_addr(tb[IFLA_VXLAN_LOCAL], AF_INET, &ret->vxlan_local);
	parse_addr(tb[IFLA_VXLAN_LOCAL6], AF_INET6, &ret->vxlan_local);
	if (tb[IFLA_VXLAN_PORT])
		ret->vxlan_port = ntohs(nla_get_u16(tb[IFLA_VXLAN_PORT]));
	if (tb[IFLA_VXLAN_LINK])
		ret->vxlan_link = (int)nla_get_u32(tb[IFLA_VXLAN_LINK]);
	if (tb[IFLA_VXLAN_LEARNING])
		ret->vxlan_learning = nla_get_u8(tb[IFLA_VXLAN_LEARNING]) != 0;
}

int vw_nlmsg_fdb_parse(const struct nlmsghdr *nlh, int *ifindex, VwFdbEntry *ret)
{
	struct nlattr *tb[NDA_MAX + 1];
	const struct ndmsg *nd;
	struct nlattr *dst;

	if (nlh->nlmsg_type != RTM_NEWNEIGH)
		return -EINVAL;
	if (nlmsg_parse((struct nlmsghdr *)nlh, sizeof(*nd), tb, NDA_MAX, NULL) < 0)
		return -EINVAL;
	nd = nlmsg_data(nlh);
	dst = tb[NDA_DST];
	if (nd->ndm_family != AF_BRIDGE || !tb[NDA_LLADDR] || nla_len(tb[NDA_LLADDR]) != 6 || !dst)
		return -EINVAL;
	memset(ret, 0, sizeof(*ret));
	memcpy(ret->mac.b, nla_data(tb[NDA_LLADDR]), 6);
	parse_addr(dst, nla_len(dst) == 16 ? AF_INET6 : AF_INET, &ret->dst);
	if (!vw_addr_is_set(&ret->dst))
		return -EINVAL;
	ret->permanent = (nd->ndm_state & NUD_PERMANENT) != 0;
	*ifindex = nd->ndm_ifindex;
	return 0;
}
