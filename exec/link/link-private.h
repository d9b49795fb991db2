/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * rtnetlink messages for links, bridge ports, addresses and routes. Filling
 * a message is apart from sending it: these functions only fill (and parse),
 * so unit tests build every message into a buffer and read it back.
 */
#pragma once

#include <netlink/msg.h>

#include <virtwire/exec.h>

typedef struct nl_msg nl_msg;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(nl_msg, nlmsg_free)

/* In a function that fills a message: -EMSGSIZE when @x (an nla_put or
 * nlmsg_append) did not fit. */
#define VW_PUT(x)                         \
	do {                              \
		if ((x) < 0)              \
			return -EMSGSIZE; \
	} while (0)

/* RTM_NEWLINK creating a bridge (@ch: address, MTU, STP, delay, alias, up). */
int vw_nlmsg_bridge_add(struct nl_msg *msg, const char *name, const VwLinkChange *ch);
/* RTM_NEWLINK changing an existing link; the bridge attributes (STP,
 * delay) only when @is_bridge. */
int vw_nlmsg_link_change(struct nl_msg *msg, int ifindex, bool is_bridge, const VwLinkChange *ch);
int vw_nlmsg_link_del(struct nl_msg *msg, int ifindex);
/* RTM_SETLINK (AF_BRIDGE) with IFLA_PROTINFO: hairpin (IFLA_BRPORT_MODE)
 * and isolated (IFLA_BRPORT_ISOLATED); -1 leaves a flag alone. */
int vw_nlmsg_port_flags(struct nl_msg *msg, int ifindex, int hairpin, int isolated);
int vw_nlmsg_addr(struct nl_msg *msg, bool add, int ifindex, const VwAddrInfo *a);
int vw_nlmsg_route(struct nl_msg *msg, bool add, int ifindex, const VwRouteInfo *r);

/* Parsers for the kernel's RTM_NEWLINK (AF_UNSPEC or AF_BRIDGE), RTM_NEWADDR
 * and RTM_NEWROUTE messages, and for the ones above. 0 or -EINVAL. */
int vw_nlmsg_link_parse(const struct nlmsghdr *nlh, VwLinkInfo *ret);
int vw_nlmsg_addr_parse(const struct nlmsghdr *nlh, int *ifindex, VwAddrInfo *ret);
int vw_nlmsg_route_parse(const struct nlmsghdr *nlh, int *oif, VwRouteInfo *ret);

/* link-vxlan.c: RTM_NEWLINK creating a VXLAN device, RTM_NEWNEIGH /
 * RTM_DELNEIGH for one entry of its forwarding database; the messages are
 * allocated into *@ret (0, -ENOMEM or -EMSGSIZE). */
int vw_nlmsg_vxlan_add(const char *name, const VwVxlanConf *conf, struct nl_msg **ret);
int vw_nlmsg_fdb(bool add, int ifindex, const VwFdbEntry *f, struct nl_msg **ret);
/* The VXLAN attributes of IFLA_INFO_DATA into @ret; an RTM_NEWNEIGH of
 * family AF_BRIDGE with an endpoint into @ifindex and @ret (0, or -EINVAL
 * for any other message). */
void vw_nlmsg_vxlan_parse(struct nlattr *data, VwLinkInfo *ret);
int vw_nlmsg_fdb_parse(const struct nlmsghdr *nlh, int *ifindex, VwFdbEntry *ret);

/* /proc/sys/PATH read (trimmed) and written: 0 or -errno; -EINVAL for a
 * path that would leave /proc/sys. */
int vw_proc_sysctl_get(const char *path, char **ret);
int vw_proc_sysctl_set(const char *path, const char *value);

/* link-evpn.c: RTM_SETLINK (AF_BRIDGE) setting a bridge port's learning
 * (IFLA_BRPORT_LEARNING) and neighbour suppression
 * (IFLA_BRPORT_NEIGH_SUPPRESS), allocated into *@ret; both read from a
 * parsed IFLA_PROTINFO or IFLA_INFO_SLAVE_DATA (@pt, IFLA_BRPORT_MAX + 1
 * entries) into @ret. */
int vw_nlmsg_port_evpn(int ifindex, bool learning, bool neigh_suppress, struct nl_msg **ret);
void vw_nlmsg_brport_parse(struct nlattr *const *pt, VwLinkInfo *ret);
