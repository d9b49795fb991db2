/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The messages of spanning networks: a VXLAN device (libnl's
 * rtnl_link_vxlan), the entries of its forwarding database (libnl's
 * rtnl_neigh), and both read back. Filled here, sent by link-netlink.c.
 */
#include <errno.h>
#include <string.h>

#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <netlink/addr.h>
#include <netlink/attr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/vxlan.h>
#include <netlink/route/neighbour.h>

#include "link-private.h"

typedef struct rtnl_link rtnl_link;
typedef struct rtnl_neigh rtnl_neigh;
typedef struct nl_addr nl_addr;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(rtnl_link, rtnl_link_put)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(rtnl_neigh, rtnl_neigh_put)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(nl_addr, nl_addr_put)

static nl_addr *addr_of(const VwAddr *a)
{
	return nl_addr_build(a->family, a->b, vw_addr_len(a->family));
}

int vw_nlmsg_vxlan_add(const char *name, const VwVxlanConf *conf, struct nl_msg **ret)
{
	g_autoptr(rtnl_link) link = rtnl_link_vxlan_alloc();
	g_autoptr(nl_addr) local = NULL;

	if (!link)
		return -ENOMEM;
	rtnl_link_set_name(link, name);
	if (conf->mtu)
		rtnl_link_set_mtu(link, conf->mtu);
	if (rtnl_link_vxlan_set_id(link, conf->vni) < 0 || rtnl_link_vxlan_set_port(link, conf->port) < 0 ||
	    rtnl_link_vxlan_set_learning(link, conf->learning) < 0)
		return -EINVAL;
	/* The underlay: the device's own MTU follows it, and its packets
	 * leave through it. */
	if (conf->link && rtnl_link_vxlan_set_link(link, (uint32_t)conf->link) < 0)
		return -EINVAL;
	if (vw_addr_is_set(&conf->local)) {
		local = addr_of(&conf->local);
		if (!local || rtnl_link_vxlan_set_local(link, local) < 0)
			return -EINVAL;
	}
	return rtnl_link_build_add_request(link, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, ret) < 0 ? -ENOMEM : 0;
}

int vw_nlmsg_fdb(bool add, int ifindex, const VwFdbEntry *f, struct nl_msg **ret)
{
	g_autoptr(rtnl_neigh) n = rtnl_neigh_alloc();
	g_autoptr(nl_addr) mac = nl_addr_build(AF_LLC, f->mac.b, 6);
	g_autoptr(nl_addr) dst = addr_of(&f->dst);
	int r;

	if (!n || !mac || !dst)
		return -ENOMEM;
	/* libnl refuses an endpoint of another family than the entry's
	 * (AF_BRIDGE): the endpoint first, then the family. */
	if (rtnl_neigh_set_dst(n, dst) < 0)
		return -EINVAL;
	rtnl_neigh_set_family(n, AF_BRIDGE);
	rtnl_neigh_set_ifindex(n, ifindex);
	rtnl_neigh_set_lladdr(n, mac);
	/* The device's own table (as `bridge fdb append … self`), kept until
	 * removed. */
	rtnl_neigh_set_flags(n, NTF_SELF);
	rtnl_neigh_set_state(n, NUD_NOARP | NUD_PERMANENT);
	if (add)
		r = rtnl_neigh_build_add_request(n, NLM_F_ACK | NLM_F_CREATE | NLM_F_APPEND, ret);
	else
		r = rtnl_neigh_build_delete_request(n, NLM_F_ACK, ret);
	return r < 0 ? -ENOMEM : 0;
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
