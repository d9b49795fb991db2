/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ctnetlink messages: a dump request and a deletion built into a buffer,
 * an entry read back from one. No sockets here. */
#include <arpa/inet.h>
#include <string.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>

#include "ct-private.h"

static struct nlmsghdr *put_header(void *buf, size_t size, uint8_t type, uint16_t flags, int family, uint32_t seq)
{
	struct nlmsghdr *nlh;
	struct nfgenmsg *nfg;

	g_assert(size >= VW_CT_MSG_MAX);
	memset(buf, 0, VW_CT_MSG_MAX);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = seq;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = family == AF_INET6 ? NFPROTO_IPV6 : NFPROTO_IPV4;
	nfg->version = NFNETLINK_V0;
	return nlh;
}

struct nlmsghdr *vw_ct_build_dump(void *buf, size_t size, int family, uint32_t seq)
{
	return put_header(buf, size, IPCTNL_MSG_CT_GET, NLM_F_DUMP, family, seq);
}

static void put_tuple(struct nlmsghdr *nlh, const VwCtEntry *e)
{
	struct nlattr *tuple = mnl_attr_nest_start(nlh, CTA_TUPLE_ORIG);
	struct nlattr *n = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);
	bool v6 = e->family == AF_INET6;

	mnl_attr_put(nlh, v6 ? CTA_IP_V6_SRC : CTA_IP_V4_SRC, vw_addr_len(e->family), e->src.b);
	mnl_attr_put(nlh, v6 ? CTA_IP_V6_DST : CTA_IP_V4_DST, vw_addr_len(e->family), e->dst.b);
	mnl_attr_nest_end(nlh, n);
	n = mnl_attr_nest_start(nlh, CTA_TUPLE_PROTO);
	mnl_attr_put_u8(nlh, CTA_PROTO_NUM, e->proto);
	mnl_attr_put_u16(nlh, CTA_PROTO_SRC_PORT, htons(e->sport));
	mnl_attr_put_u16(nlh, CTA_PROTO_DST_PORT, htons(e->dport));
	mnl_attr_nest_end(nlh, n);
	mnl_attr_nest_end(nlh, tuple);
}

struct nlmsghdr *vw_ct_build_delete(void *buf, size_t size, const VwCtEntry *e, uint32_t seq)
{
	struct nlmsghdr *nlh;

	/* Without its tuple, a deletion is a flush of the whole table. */
	if ((e->family != AF_INET && e->family != AF_INET6) || e->src.family != e->family || e->dst.family != e->family)
		return NULL;
	nlh = put_header(buf, size, IPCTNL_MSG_CT_DELETE, NLM_F_ACK, e->family, seq);
	put_tuple(nlh, e);
	if (e->zone)
		mnl_attr_put_u16(nlh, CTA_ZONE, htons(e->zone));
	if (e->has_id)
		mnl_attr_put_u32(nlh, CTA_ID, htonl(e->id));
	return nlh;
}

/* ---------------------------------------------------------------------- */
/* Reading */

#define ATTR_MAX 32

typedef struct {
	const struct nlattr *tb[ATTR_MAX + 1];
} Attrs;

static int attr_cb(const struct nlattr *a, void *data)
{
	Attrs *at = data;
	uint16_t type = mnl_attr_get_type(a);

	if (type <= ATTR_MAX)
		at->tb[type] = a;
	return MNL_CB_OK;
}

static bool nested(const struct nlattr *a, Attrs *ret)
{
	memset(ret, 0, sizeof(*ret));
	return a && mnl_attr_parse_nested(a, attr_cb, ret) >= 0;
}

static bool get_addr(const struct nlattr *a, int family, VwAddr *ret)
{
	if (!a || mnl_attr_get_payload_len(a) != vw_addr_len(family))
		return false;
	ret->family = family;
	memcpy(ret->b, mnl_attr_get_payload(a), vw_addr_len(family));
	return true;
}

static bool get_port(const struct nlattr *a, uint16_t *ret)
{
	if (!a || mnl_attr_get_payload_len(a) != 2)
		return false;
	*ret = ntohs(mnl_attr_get_u16(a));
	return true;
}

/* One direction's tuple: addresses of @family, protocol and ports (a
 * protocol without ports leaves them 0). */
static bool parse_tuple(const struct nlattr *t, int family, uint8_t *proto, VwAddr *src, VwAddr *dst, uint16_t *sport,
			uint16_t *dport)
{
	Attrs tuple, ip, l4;
	bool v6 = family == AF_INET6;

	if (!nested(t, &tuple) || !nested(tuple.tb[CTA_TUPLE_IP], &ip) || !nested(tuple.tb[CTA_TUPLE_PROTO], &l4))
		return false;
	if (!get_addr(ip.tb[v6 ? CTA_IP_V6_SRC : CTA_IP_V4_SRC], family, src) ||
	    !get_addr(ip.tb[v6 ? CTA_IP_V6_DST : CTA_IP_V4_DST], family, dst))
		return false;
	if (!l4.tb[CTA_PROTO_NUM] || mnl_attr_get_payload_len(l4.tb[CTA_PROTO_NUM]) != 1)
		return false;
	*proto = mnl_attr_get_u8(l4.tb[CTA_PROTO_NUM]);
	*sport = *dport = 0;
	if (l4.tb[CTA_PROTO_SRC_PORT] && !get_port(l4.tb[CTA_PROTO_SRC_PORT], sport))
		return false;
	return !l4.tb[CTA_PROTO_DST_PORT] || get_port(l4.tb[CTA_PROTO_DST_PORT], dport);
}

static bool get_be32(const struct nlattr *a, uint32_t *ret)
{
	if (!a || mnl_attr_get_payload_len(a) != 4)
		return false;
	*ret = ntohl(mnl_attr_get_u32(a));
	return true;
}

bool vw_ct_parse(const struct nlmsghdr *nlh, VwCtEntry *ret)
{
	const struct nfgenmsg *nfg;
	uint8_t type = nlh->nlmsg_type & 0xff, rproto = 0;
	Attrs at = { 0 };

	memset(ret, 0, sizeof(*ret));
	if (nlh->nlmsg_type >> 8 != NFNL_SUBSYS_CTNETLINK ||
	    (type != IPCTNL_MSG_CT_NEW && type != IPCTNL_MSG_CT_DELETE) ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(*nfg))
		return false;
	nfg = mnl_nlmsg_get_payload(nlh);
	if (nfg->nfgen_family != NFPROTO_IPV4 && nfg->nfgen_family != NFPROTO_IPV6)
		return false;
	ret->family = nfg->nfgen_family == NFPROTO_IPV6 ? AF_INET6 : AF_INET;
	if (mnl_attr_parse(nlh, sizeof(*nfg), attr_cb, &at) < 0 ||
	    !parse_tuple(at.tb[CTA_TUPLE_ORIG], ret->family, &ret->proto, &ret->src, &ret->dst, &ret->sport,
			 &ret->dport))
		return false;
	if (at.tb[CTA_TUPLE_REPLY]) {
		if (!parse_tuple(at.tb[CTA_TUPLE_REPLY], ret->family, &rproto, &ret->reply_src, &ret->reply_dst,
				 &ret->reply_sport, &ret->reply_dport) ||
		    rproto != ret->proto)
			return false;
		ret->has_reply = true;
	}
	if (at.tb[CTA_STATUS] && !get_be32(at.tb[CTA_STATUS], &ret->status))
		return false;
	if (at.tb[CTA_ZONE]) {
		if (mnl_attr_get_payload_len(at.tb[CTA_ZONE]) != 2)
			return false;
		ret->zone = ntohs(mnl_attr_get_u16(at.tb[CTA_ZONE]));
	}
	ret->has_id = at.tb[CTA_ID] != NULL;
	return !ret->has_id || get_be32(at.tb[CTA_ID], &ret->id);
}
