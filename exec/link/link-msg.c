/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <string.h>

#include <linux/if_addr.h>
#include <linux/if_bridge.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <netlink/attr.h>

#include "link-private.h"

static int put_link_common(struct nl_msg *msg, const VwLinkChange *ch)
{
	if (ch->set_mac)
		VW_PUT(nla_put(msg, IFLA_ADDRESS, 6, ch->mac.b));
	if (ch->set_mtu)
		VW_PUT(nla_put_u32(msg, IFLA_MTU, ch->mtu));
	if (ch->set_master)
		VW_PUT(nla_put_u32(msg, IFLA_MASTER, (uint32_t)ch->master));
	if (ch->set_alias)
		VW_PUT(nla_put_string(msg, IFLA_IFALIAS, ch->alias));
	return 0;
}

/* IFLA_LINKINFO of kind bridge with the STP and forward-delay settings
 * that ch sets; a creation needs the kind even when it sets neither. */
static int put_bridge_info(struct nl_msg *msg, const VwLinkChange *ch, bool create)
{
	struct nlattr *info, *data;

	if (!create && !ch->set_stp && !ch->set_delay)
		return 0;
	info = nla_nest_start(msg, IFLA_LINKINFO);
	if (!info)
		return -EMSGSIZE;
	VW_PUT(nla_put_string(msg, IFLA_INFO_KIND, "bridge"));
	data = nla_nest_start(msg, IFLA_INFO_DATA);
	if (!data)
		return -EMSGSIZE;
	if (ch->set_stp)
		VW_PUT(nla_put_u32(msg, IFLA_BR_STP_STATE, ch->stp ? 1 : 0));
	if (ch->set_delay)
		VW_PUT(nla_put_u32(msg, IFLA_BR_FORWARD_DELAY, ch->forward_delay));
	nla_nest_end(msg, data);
	nla_nest_end(msg, info);
	return 0;
}

static struct ifinfomsg *put_ifinfo(struct nl_msg *msg, int family, int ifindex, const VwLinkChange *ch)
{
	struct ifinfomsg ifi = { .ifi_family = (unsigned char)family, .ifi_index = ifindex };

	if (ch && ch->set_up) {
		ifi.ifi_change = IFF_UP;
		ifi.ifi_flags = ch->up ? IFF_UP : 0;
	}
	if (nlmsg_append(msg, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0)
		return NULL;
	return nlmsg_data(nlmsg_hdr(msg));
}

int vw_nlmsg_bridge_add(struct nl_msg *msg, const char *name, const VwLinkChange *ch)
{
	struct nlmsghdr *nlh = nlmsg_hdr(msg);

	nlh->nlmsg_type = RTM_NEWLINK;
	nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
	if (!put_ifinfo(msg, AF_UNSPEC, 0, ch))
		return -EMSGSIZE;
	VW_PUT(nla_put_string(msg, IFLA_IFNAME, name));
	VW_PUT(put_link_common(msg, ch));
	return put_bridge_info(msg, ch, true);
}

int vw_nlmsg_link_change(struct nl_msg *msg, int ifindex, bool is_bridge, const VwLinkChange *ch)
{
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	int r;

	nlh->nlmsg_type = RTM_NEWLINK;
	nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	if (!put_ifinfo(msg, AF_UNSPEC, ifindex, ch))
		return -EMSGSIZE;
	r = put_link_common(msg, ch);
	if (r < 0)
		return r;
	return is_bridge ? put_bridge_info(msg, ch, false) : 0;
}

int vw_nlmsg_link_del(struct nl_msg *msg, int ifindex)
{
	struct nlmsghdr *nlh = nlmsg_hdr(msg);

	nlh->nlmsg_type = RTM_DELLINK;
	nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	return put_ifinfo(msg, AF_UNSPEC, ifindex, NULL) ? 0 : -EMSGSIZE;
}

int vw_nlmsg_port_flags(struct nl_msg *msg, int ifindex, int hairpin, int isolated)
{
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct nlattr *prot;

	/* What `bridge link set` sends: the port's bridge attributes in a
	 * nested IFLA_PROTINFO of an AF_BRIDGE message. libnl has a helper
	 * for hairpin, none for isolated: both are written here. */
	nlh->nlmsg_type = RTM_SETLINK;
	nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	if (!put_ifinfo(msg, AF_BRIDGE, ifindex, NULL))
		return -EMSGSIZE;
	prot = nla_nest_start(msg, IFLA_PROTINFO | NLA_F_NESTED);
	if (!prot)
		return -EMSGSIZE;
	if (hairpin >= 0)
		VW_PUT(nla_put_u8(msg, IFLA_BRPORT_MODE, hairpin ? 1 : 0));
	if (isolated >= 0)
		VW_PUT(nla_put_u8(msg, IFLA_BRPORT_ISOLATED, isolated ? 1 : 0));
	nla_nest_end(msg, prot);
	return 0;
}

int vw_nlmsg_addr(struct nl_msg *msg, bool add, int ifindex, const VwAddrInfo *a)
{
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct ifaddrmsg ifa = {
		.ifa_family = (unsigned char)a->prefix.addr.family,
		.ifa_prefixlen = (unsigned char)a->prefix.prefix,
		.ifa_flags = (unsigned char)(a->flags & 0xff),
		.ifa_scope = a->scope,
		.ifa_index = (unsigned)ifindex,
	};
	unsigned len = vw_addr_len(a->prefix.addr.family);

	nlh->nlmsg_type = add ? RTM_NEWADDR : RTM_DELADDR;
	nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK | (add ? NLM_F_CREATE | NLM_F_EXCL : 0);
	if (nlmsg_append(msg, &ifa, sizeof(ifa), NLMSG_ALIGNTO) < 0)
		return -EMSGSIZE;
	VW_PUT(nla_put(msg, IFA_LOCAL, (int)len, a->prefix.addr.b));
	VW_PUT(nla_put(msg, IFA_ADDRESS, (int)len, a->prefix.addr.b));
	if (add) {
		VW_PUT(nla_put_u32(msg, IFA_FLAGS, a->flags));
		if (a->proto)
			VW_PUT(nla_put_u8(msg, IFA_PROTO, a->proto));
		if (a->valid_lft != 0xffffffffu || a->preferred_lft != 0xffffffffu) {
			struct ifa_cacheinfo ci = { .ifa_prefered = a->preferred_lft, .ifa_valid = a->valid_lft };

			VW_PUT(nla_put(msg, IFA_CACHEINFO, sizeof(ci), &ci));
		}
	}
	return 0;
}

int vw_nlmsg_route(struct nl_msg *msg, bool add, int ifindex, const VwRouteInfo *r)
{
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	int family = r->dst.addr.family;
	struct rtmsg rtm = {
		.rtm_family = (unsigned char)family,
		.rtm_dst_len = (unsigned char)r->dst.prefix,
		.rtm_table = r->table < 256 ? (unsigned char)r->table : RT_TABLE_UNSPEC,
		.rtm_protocol = r->protocol,
		.rtm_scope = r->scope,
		.rtm_type = r->type,
	};
	unsigned len = vw_addr_len(family);

	nlh->nlmsg_type = add ? RTM_NEWROUTE : RTM_DELROUTE;
	nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK | (add ? NLM_F_CREATE | NLM_F_EXCL : 0);
	if (nlmsg_append(msg, &rtm, sizeof(rtm), NLMSG_ALIGNTO) < 0)
		return -EMSGSIZE;
	if (r->dst.prefix > 0)
		VW_PUT(nla_put(msg, RTA_DST, (int)len, r->dst.addr.b));
	if (vw_addr_is_set(&r->gateway))
		VW_PUT(nla_put(msg, RTA_GATEWAY, (int)vw_addr_len(r->gateway.family), r->gateway.b));
	if (vw_addr_is_set(&r->prefsrc))
		VW_PUT(nla_put(msg, RTA_PREFSRC, (int)vw_addr_len(r->prefsrc.family), r->prefsrc.b));
	VW_PUT(nla_put_u32(msg, RTA_OIF, (uint32_t)ifindex));
	if (r->metric)
		VW_PUT(nla_put_u32(msg, RTA_PRIORITY, r->metric));
	VW_PUT(nla_put_u32(msg, RTA_TABLE, r->table));
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Parsing */

static void parse_linkinfo(struct nlattr *a, VwLinkInfo *ret)
{
	struct nlattr *tb[IFLA_INFO_MAX + 1];
	struct nlattr *br[IFLA_BR_MAX + 1];

	if (nla_parse_nested(tb, IFLA_INFO_MAX, a, NULL) < 0)
		return;
	if (tb[IFLA_INFO_KIND])
		g_strlcpy(ret->kind, nla_get_string(tb[IFLA_INFO_KIND]), sizeof(ret->kind));
	if (tb[IFLA_INFO_SLAVE_KIND] && strcmp(nla_get_string(tb[IFLA_INFO_SLAVE_KIND]), "bridge") == 0)
		ret->is_port = true;
	if (tb[IFLA_INFO_DATA] && strcmp(ret->kind, "bridge") == 0 &&
	    nla_parse_nested(br, IFLA_BR_MAX, tb[IFLA_INFO_DATA], NULL) >= 0) {
		if (br[IFLA_BR_STP_STATE])
			ret->stp = nla_get_u32(br[IFLA_BR_STP_STATE]) != 0;
		if (br[IFLA_BR_FORWARD_DELAY])
			ret->forward_delay = nla_get_u32(br[IFLA_BR_FORWARD_DELAY]);
	}
	if (tb[IFLA_INFO_DATA] && strcmp(ret->kind, "vxlan") == 0)
		vw_nlmsg_vxlan_parse(tb[IFLA_INFO_DATA], ret);
	if (tb[IFLA_INFO_SLAVE_DATA] && ret->is_port) {
		struct nlattr *pt[IFLA_BRPORT_MAX + 1];

		if (nla_parse_nested(pt, IFLA_BRPORT_MAX, tb[IFLA_INFO_SLAVE_DATA], NULL) >= 0) {
			if (pt[IFLA_BRPORT_MODE])
				ret->hairpin = nla_get_u8(pt[IFLA_BRPORT_MODE]) != 0;
			if (pt[IFLA_BRPORT_ISOLATED])
				ret->isolated = nla_get_u8(pt[IFLA_BRPORT_ISOLATED]) != 0;
			vw_nlmsg_brport_parse(pt, ret);
		}
	}
}

int vw_nlmsg_link_parse(const struct nlmsghdr *nlh, VwLinkInfo *ret)
{
	struct nlattr *tb[IFLA_MAX + 1];
	const struct ifinfomsg *ifi;

	if (nlh->nlmsg_type != RTM_NEWLINK && nlh->nlmsg_type != RTM_SETLINK)
		return -EINVAL;
	if (nlmsg_parse((struct nlmsghdr *)nlh, sizeof(*ifi), tb, IFLA_MAX, NULL) < 0)
		return -EINVAL;
	ifi = nlmsg_data(nlh);
	memset(ret, 0, sizeof(*ret));
	ret->ifindex = ifi->ifi_index;
	ret->up = (ifi->ifi_flags & IFF_UP) != 0;
	if (tb[IFLA_IFNAME])
		g_strlcpy(ret->name, nla_get_string(tb[IFLA_IFNAME]), sizeof(ret->name));
	if (tb[IFLA_ADDRESS] && nla_len(tb[IFLA_ADDRESS]) == 6) {
		memcpy(ret->mac.b, nla_data(tb[IFLA_ADDRESS]), 6);
		ret->has_mac = true;
	}
	if (tb[IFLA_MTU])
		ret->mtu = nla_get_u32(tb[IFLA_MTU]);
	if (tb[IFLA_MASTER])
		ret->master = (int)nla_get_u32(tb[IFLA_MASTER]);
	if (tb[IFLA_STATS64] && nla_len(tb[IFLA_STATS64]) >= (int)sizeof(struct rtnl_link_stats64)) {
		struct rtnl_link_stats64 st;

		memcpy(&st, nla_data(tb[IFLA_STATS64]), sizeof(st));
		ret->has_stats = true;
		ret->rx_packets = st.rx_packets;
		ret->rx_bytes = st.rx_bytes;
		ret->tx_packets = st.tx_packets;
		ret->tx_bytes = st.tx_bytes;
	}
	if (tb[IFLA_IFALIAS])
		g_strlcpy(ret->alias, nla_get_string(tb[IFLA_IFALIAS]), sizeof(ret->alias));
	if (tb[IFLA_LINKINFO])
		parse_linkinfo(tb[IFLA_LINKINFO], ret);
	if (tb[IFLA_PROTINFO] && (nla_type(tb[IFLA_PROTINFO]) & NLA_F_NESTED || ifi->ifi_family == AF_BRIDGE)) {
		struct nlattr *pt[IFLA_BRPORT_MAX + 1];

		if (nla_parse_nested(pt, IFLA_BRPORT_MAX, tb[IFLA_PROTINFO], NULL) >= 0) {
			ret->is_port = true;
			if (pt[IFLA_BRPORT_MODE])
				ret->hairpin = nla_get_u8(pt[IFLA_BRPORT_MODE]) != 0;
			if (pt[IFLA_BRPORT_ISOLATED])
				ret->isolated = nla_get_u8(pt[IFLA_BRPORT_ISOLATED]) != 0;
			vw_nlmsg_brport_parse(pt, ret);
		}
	}
	return 0;
}

int vw_nlmsg_addr_parse(const struct nlmsghdr *nlh, int *ifindex, VwAddrInfo *ret)
{
	struct nlattr *tb[IFA_MAX + 1];
	const struct ifaddrmsg *ifa;
	struct nlattr *a;
	unsigned len;

	if (nlh->nlmsg_type != RTM_NEWADDR && nlh->nlmsg_type != RTM_DELADDR)
		return -EINVAL;
	if (nlmsg_parse((struct nlmsghdr *)nlh, sizeof(*ifa), tb, IFA_MAX, NULL) < 0)
		return -EINVAL;
	ifa = nlmsg_data(nlh);
	if (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6)
		return -EINVAL;
	memset(ret, 0, sizeof(*ret));
	*ifindex = (int)ifa->ifa_index;
	ret->prefix.addr.family = ifa->ifa_family;
	ret->prefix.prefix = ifa->ifa_prefixlen;
	ret->scope = ifa->ifa_scope;
	ret->flags = tb[IFA_FLAGS] ? nla_get_u32(tb[IFA_FLAGS]) : ifa->ifa_flags;
	ret->valid_lft = ret->preferred_lft = 0xffffffffu;
	if (tb[IFA_PROTO] && nla_len(tb[IFA_PROTO]) >= 1)
		ret->proto = nla_get_u8(tb[IFA_PROTO]);
	/* IFA_LOCAL is the address itself (IFA_ADDRESS is the peer on
	 * point-to-point links); IPv6 has only IFA_ADDRESS. */
	a = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
	len = vw_addr_len(ifa->ifa_family);
	if (!a || (unsigned)nla_len(a) != len)
		return -EINVAL;
	memcpy(ret->prefix.addr.b, nla_data(a), len);
	if (tb[IFA_CACHEINFO] && nla_len(tb[IFA_CACHEINFO]) >= (int)sizeof(struct ifa_cacheinfo)) {
		const struct ifa_cacheinfo *ci = nla_data(tb[IFA_CACHEINFO]);

		ret->valid_lft = ci->ifa_valid;
		ret->preferred_lft = ci->ifa_prefered;
	}
	return 0;
}

int vw_nlmsg_route_parse(const struct nlmsghdr *nlh, int *oif, VwRouteInfo *ret)
{
	struct nlattr *tb[RTA_MAX + 1];
	const struct rtmsg *rtm;
	unsigned len;

	if (nlh->nlmsg_type != RTM_NEWROUTE && nlh->nlmsg_type != RTM_DELROUTE)
		return -EINVAL;
	if (nlmsg_parse((struct nlmsghdr *)nlh, sizeof(*rtm), tb, RTA_MAX, NULL) < 0)
		return -EINVAL;
	rtm = nlmsg_data(nlh);
	if (rtm->rtm_family != AF_INET && rtm->rtm_family != AF_INET6)
		return -EINVAL;
	memset(ret, 0, sizeof(*ret));
	len = vw_addr_len(rtm->rtm_family);
	ret->dst.addr.family = rtm->rtm_family;
	ret->dst.prefix = rtm->rtm_dst_len;
	ret->protocol = rtm->rtm_protocol;
	ret->scope = rtm->rtm_scope;
	ret->type = rtm->rtm_type;
	ret->table = tb[RTA_TABLE] ? nla_get_u32(tb[RTA_TABLE]) : rtm->rtm_table;
	if (tb[RTA_DST] && (unsigned)nla_len(tb[RTA_DST]) == len)
		memcpy(ret->dst.addr.b, nla_data(tb[RTA_DST]), len);
	if (tb[RTA_GATEWAY] && (unsigned)nla_len(tb[RTA_GATEWAY]) == len) {
		ret->gateway.family = rtm->rtm_family;
		memcpy(ret->gateway.b, nla_data(tb[RTA_GATEWAY]), len);
	}
	if (tb[RTA_PREFSRC] && (unsigned)nla_len(tb[RTA_PREFSRC]) == len) {
		ret->prefsrc.family = rtm->rtm_family;
		memcpy(ret->prefsrc.b, nla_data(tb[RTA_PREFSRC]), len);
	}
	if (tb[RTA_PRIORITY])
		ret->metric = nla_get_u32(tb[RTA_PRIORITY]);
	*oif = tb[RTA_OIF] ? (int)nla_get_u32(tb[RTA_OIF]) : 0;
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Text forms */

char *vw_route_to_string(const VwRouteInfo *r)
{
	g_autofree char *dst = vw_prefix_to_string(&r->dst);
	GString *s = g_string_new(dst);
	char buf[VW_ADDR_STRLEN];

	if (vw_addr_is_set(&r->gateway))
		g_string_append_printf(s, " via %s", vw_addr_to_string(&r->gateway, buf));
	if (vw_addr_is_set(&r->prefsrc))
		g_string_append_printf(s, " src %s", vw_addr_to_string(&r->prefsrc, buf));
	g_string_append_printf(s, " metric %u proto %u scope %u table %u type %u", r->metric, r->protocol, r->scope,
			       r->table, r->type);
	return g_string_free(s, FALSE);
}

bool vw_route_from_string(const char *s, VwRouteInfo *ret)
{
	g_auto(GStrv) f = g_strsplit(s, " ", -1);
	VwRouteInfo r = { 0 };
	guint n = g_strv_length(f);

	if (n < 1 || !vw_prefix_parse(f[0], &r.dst))
		return false;
	for (guint i = 1; i + 1 < n; i += 2) {
		const char *k = f[i], *v = f[i + 1];
		guint64 x;

		if (strcmp(k, "via") == 0) {
			if (!vw_addr_parse(v, &r.gateway))
				return false;
		} else if (strcmp(k, "src") == 0) {
			if (!vw_addr_parse(v, &r.prefsrc))
				return false;
		} else if (g_ascii_string_to_unsigned(v, 10, 0, G_MAXUINT32, &x, NULL)) {
			if (strcmp(k, "metric") == 0)
				r.metric = (uint32_t)x;
			else if (strcmp(k, "proto") == 0 && x < 256)
				r.protocol = (uint8_t)x;
			else if (strcmp(k, "scope") == 0 && x < 256)
				r.scope = (uint8_t)x;
			else if (strcmp(k, "table") == 0)
				r.table = (uint32_t)x;
			else if (strcmp(k, "type") == 0 && x < 256)
				r.type = (uint8_t)x;
			else
				return false;
		} else {
			return false;
		}
	}
	*ret = r;
	return true;
}

char *vw_addrinfo_to_string(const VwAddrInfo *a)
{
	g_autofree char *p = vw_prefix_to_string(&a->prefix);

	g_autofree char *proto = a->proto ? g_strdup_printf(" proto %u", a->proto) : g_strdup("");

	return g_strdup_printf("%s flags %u scope %u valid %u preferred %u%s", p, a->flags, a->scope, a->valid_lft,
			       a->preferred_lft, proto);
}

bool vw_addrinfo_from_string(const char *s, VwAddrInfo *ret)
{
	g_auto(GStrv) f = g_strsplit(s, " ", -1);
	VwAddrInfo a = { .valid_lft = 0xffffffffu, .preferred_lft = 0xffffffffu };
	guint n = g_strv_length(f);

	if (n < 1 || !vw_prefix_parse(f[0], &a.prefix))
		return false;
	for (guint i = 1; i + 1 < n; i += 2) {
		guint64 x;

		if (!g_ascii_string_to_unsigned(f[i + 1], 10, 0, G_MAXUINT32, &x, NULL))
			return false;
		if (strcmp(f[i], "flags") == 0)
			a.flags = (uint32_t)x;
		else if (strcmp(f[i], "scope") == 0 && x < 256)
			a.scope = (uint8_t)x;
		else if (strcmp(f[i], "valid") == 0)
			a.valid_lft = (uint32_t)x;
		else if (strcmp(f[i], "preferred") == 0)
			a.preferred_lft = (uint32_t)x;
		else if (strcmp(f[i], "proto") == 0 && x < 256)
			a.proto = (uint8_t)x;
		else
			return false;
	}
	*ret = a;
	return true;
}
