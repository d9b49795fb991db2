/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The real link backend: rtnetlink through libnl, in the current network
 * namespace. Messages are filled by link-msg.c; this file only sends them
 * and reads dumps. */
#include <errno.h>
#include <string.h>

#include <linux/if_addr.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

#include <virtwire/exec.h>

#include "link-private.h"

typedef struct {
	struct nl_sock *sk;
	char error[512];
	/* per request */
	int err;
	bool done;
	bool interrupted; /* the dump was flagged NLM_F_DUMP_INTR */
	GArray *out;
	int kind; /* 0 link, 1 addr, 2 route, 3 fdb */
	int ifindex_filter;
} Ctx;

static void nl_error_text(Ctx *c, const struct nlmsgerr *e)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)((const char *)e - NLMSG_HDRLEN);
	size_t off = sizeof(*e);
	const struct nlattr *a;
	int len;

	c->error[0] = '\0';
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - NLMSG_HDRLEN;
	a = (const struct nlattr *)((const char *)e + NLMSG_ALIGN(off));
	len = (int)nlh->nlmsg_len - NLMSG_HDRLEN - (int)NLMSG_ALIGN(off);
	for (; nla_ok(a, len); a = nla_next(a, &len)) {
		if (nla_type(a) == NLMSGERR_ATTR_MSG) {
			g_strlcpy(c->error, nla_data(a), sizeof(c->error));
			g_strchomp(c->error);
		}
	}
}

static int on_error(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	Ctx *c = arg;

	c->err = e->error;
	if (e->error)
		nl_error_text(c, e);
	c->done = true;
	return NL_STOP;
}

static int on_ack(struct nl_msg *msg, void *arg)
{
	Ctx *c = arg;

	c->done = true;
	return NL_STOP;
}

static int on_finish(struct nl_msg *msg, void *arg)
{
	Ctx *c = arg;

	c->done = true;
	return NL_STOP;
}

static int on_valid(struct nl_msg *msg, void *arg)
{
	Ctx *c = arg;
	struct nlmsghdr *nlh = nlmsg_hdr(msg);

	if (!c->out)
		return NL_OK;
	if (c->kind == 0) {
		VwLinkInfo li;

		if (vw_nlmsg_link_parse(nlh, &li) == 0)
			g_array_append_val(c->out, li);
	} else if (c->kind == 1) {
		VwAddrInfo a;
		int idx;

		if (vw_nlmsg_addr_parse(nlh, &idx, &a) == 0 && (!c->ifindex_filter || idx == c->ifindex_filter))
			g_array_append_val(c->out, a);
	} else if (c->kind == 3) {
		VwFdbEntry f;
		int idx;

		if (vw_nlmsg_fdb_parse(nlh, &idx, &f) == 0 && idx == c->ifindex_filter)
			g_array_append_val(c->out, f);
	} else {
		VwRouteInfo r;
		int oif;

		if (vw_nlmsg_route_parse(nlh, &oif, &r) == 0 && oif == c->ifindex_filter)
			g_array_append_val(c->out, r);
	}
	return NL_OK;
}

/* Sends @msg and waits for the kernel's answer (ack, error or dump end). */
static int talk(Ctx *c, struct nl_msg *msg)
{
	int r;

	c->err = 0;
	c->done = false;
	c->interrupted = false;
	c->error[0] = '\0';
	r = nl_send_auto(c->sk, msg);
	if (r < 0)
		return -EIO;
	while (!c->done) {
		r = nl_recvmsgs_default(c->sk);
		/* libnl reads an interrupted dump to its end (so c->done)
		 * and only then says so. */
		if (r == -NLE_DUMP_INTR)
			c->interrupted = true;
		if (r < 0 && !c->done)
			return c->err ? c->err : -EIO;
	}
	return c->err;
}

static struct nl_msg *new_msg(void)
{
	return nlmsg_alloc();
}

static int dump(Ctx *c, int type, int family, int kind, int ifindex, GArray *out)
{
	g_autoptr(nl_msg) msg = new_msg();
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct rtgenmsg g = { .rtgen_family = (unsigned char)family };
	struct ifinfomsg ifi = { .ifi_family = (unsigned char)family };
	int r;

	nlh->nlmsg_type = (uint16_t)type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	/* RTM_GETLINK wants a whole ifinfomsg (for the extended bridge port
	 * attributes with AF_BRIDGE); the others a family byte. */
	if (type == RTM_GETLINK) {
		if (nlmsg_append(msg, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0)
			return -ENOMEM;
		nla_put_u32(msg, IFLA_EXT_MASK, RTEXT_FILTER_BRVLAN);
	} else if (type == RTM_GETNEIGH) {
		/* The forwarding databases: the kernel wants a whole ndmsg. */
		struct ndmsg nd = { .ndm_family = (unsigned char)family };

		if (nlmsg_append(msg, &nd, sizeof(nd), NLMSG_ALIGNTO) < 0)
			return -ENOMEM;
	} else if (nlmsg_append(msg, &g, sizeof(g), NLMSG_ALIGNTO) < 0) {
		return -ENOMEM;
	}
	c->out = out;
	c->kind = kind;
	c->ifindex_filter = ifindex;
	/* A dump interrupted by a change (NLM_F_DUMP_INTR: links or addresses
	 * changed meanwhile, e.g. libvirt starting another network) may lack
	 * objects or hold stale ones: dump again, from scratch. */
	for (guint attempt = 0, len0 = out ? out->len : 0; attempt < 100; attempt++) {
		r = talk(c, msg);
		if (r < 0 || !c->interrupted)
			break;
		if (out)
			g_array_set_size(out, len0);
		nlh->nlmsg_seq = NL_AUTO_SEQ; /* a new sequence number */
		r = -EAGAIN;
		g_usleep(1000);
	}
	c->out = NULL;
	return r;
}

static int nl_link_list(void *ctx, GArray *ret)
{
	return dump(ctx, RTM_GETLINK, AF_UNSPEC, 0, 0, ret);
}

static int nl_link_get(void *ctx, const char *name, VwLinkInfo *ret)
{
	Ctx *c = ctx;
	g_autoptr(nl_msg) msg = new_msg();
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
	g_autoptr(GArray) out = g_array_new(FALSE, TRUE, sizeof(VwLinkInfo));
	int r;

	nlh->nlmsg_type = RTM_GETLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	if (nlmsg_append(msg, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0 || nla_put_string(msg, IFLA_IFNAME, name) < 0)
		return -ENOMEM;
	c->out = out;
	c->kind = 0;
	c->ifindex_filter = 0;
	/* A single-object request ends with the object itself, not an ack. */
	c->err = 0;
	c->done = false;
	if (nl_send_auto(c->sk, msg) < 0) {
		c->out = NULL;
		return -EIO;
	}
	r = nl_recvmsgs_default(c->sk);
	c->out = NULL;
	if (c->err)
		return c->err;
	if (r < 0 || out->len == 0)
		return -ENODEV;
	*ret = g_array_index(out, VwLinkInfo, 0);
	if (ret->master) {
		/* The port flags are in the AF_BRIDGE view of the link. */
		g_autoptr(GArray) br = g_array_new(FALSE, TRUE, sizeof(VwLinkInfo));

		if (dump(c, RTM_GETLINK, AF_BRIDGE, 0, 0, br) == 0) {
			for (guint i = 0; i < br->len; i++) {
				const VwLinkInfo *b = &g_array_index(br, VwLinkInfo, i);

				if (b->ifindex == ret->ifindex && b->is_port) {
					ret->is_port = true;
					ret->hairpin = b->hairpin;
					ret->isolated = b->isolated;
				}
			}
		}
	}
	return 0;
}

static int ifindex_of(Ctx *c, const char *name, int *ret)
{
	VwLinkInfo li;
	int r = nl_link_get(c, name, &li);

	if (r == 0)
		*ret = li.ifindex;
	return r;
}

static int send_filled(Ctx *c, int (*fill)(struct nl_msg *, void *), void *data)
{
	g_autoptr(nl_msg) msg = new_msg();
	int r = fill(msg, data);

	if (r < 0)
		return r;
	return talk(c, msg);
}

typedef struct {
	const char *name;
	int ifindex;
	bool is_bridge;
	const VwLinkChange *ch;
	const VwAddrInfo *a;
	const VwRouteInfo *r;
	bool add;
	int hairpin, isolated;
} Req;

static int fill_bridge_add(struct nl_msg *m, void *d)
{
	Req *q = d;

	return vw_nlmsg_bridge_add(m, q->name, q->ch);
}

static int fill_change(struct nl_msg *m, void *d)
{
	Req *q = d;

	return vw_nlmsg_link_change(m, q->ifindex, q->is_bridge, q->ch);
}

static int fill_del(struct nl_msg *m, void *d)
{
	return vw_nlmsg_link_del(m, ((Req *)d)->ifindex);
}

static int fill_port(struct nl_msg *m, void *d)
{
	Req *q = d;

	return vw_nlmsg_port_flags(m, q->ifindex, q->hairpin, q->isolated);
}

static int fill_addr(struct nl_msg *m, void *d)
{
	Req *q = d;

	return vw_nlmsg_addr(m, q->add, q->ifindex, q->a);
}

static int fill_route(struct nl_msg *m, void *d)
{
	Req *q = d;

	return vw_nlmsg_route(m, q->add, q->ifindex, q->r);
}

static int nl_bridge_add(void *ctx, const char *name, const VwLinkChange *conf)
{
	Req q = { .name = name, .ch = conf };

	return send_filled(ctx, fill_bridge_add, &q);
}

static int nl_link_del(void *ctx, const char *name)
{
	Req q = { 0 };
	int r = ifindex_of(ctx, name, &q.ifindex);

	return r ? r : send_filled(ctx, fill_del, &q);
}

static int nl_link_change(void *ctx, const char *name, const VwLinkChange *ch)
{
	VwLinkInfo li;
	Req q = { .ch = ch };
	int r = nl_link_get(ctx, name, &li);

	if (r)
		return r;
	q.ifindex = li.ifindex;
	q.is_bridge = strcmp(li.kind, "bridge") == 0;
	/* The kernel sets a bridge's forward delay before its STP state and
	 * refuses a delay under 2 s while STP is on: turning STP off together
	 * with such a delay takes two messages, STP first. */
	if (q.is_bridge && li.stp && ch->set_stp && !ch->stp && ch->set_delay) {
		VwLinkChange stp_first = *ch;

		stp_first.set_delay = false;
		q.ch = &stp_first;
		if ((r = send_filled(ctx, fill_change, &q)))
			return r;
		q.ch = ch;
	}
	return send_filled(ctx, fill_change, &q);
}

static int nl_port_flags(void *ctx, const char *port, int hairpin, int isolated)
{
	Req q = { .hairpin = hairpin, .isolated = isolated };
	int r = ifindex_of(ctx, port, &q.ifindex);

	return r ? r : send_filled(ctx, fill_port, &q);
}

static int nl_addr_list(void *ctx, const char *dev, GArray *ret)
{
	int idx, r = ifindex_of(ctx, dev, &idx);

	return r ? r : dump(ctx, RTM_GETADDR, AF_UNSPEC, 1, idx, ret);
}

static int nl_addr_change(void *ctx, const char *dev, const VwAddrInfo *a, bool add)
{
	Req q = { .a = a, .add = add };
	int r = ifindex_of(ctx, dev, &q.ifindex);

	return r ? r : send_filled(ctx, fill_addr, &q);
}

static int nl_addr_add(void *ctx, const char *dev, const VwAddrInfo *a)
{
	return nl_addr_change(ctx, dev, a, true);
}

static int nl_addr_del(void *ctx, const char *dev, const VwAddrInfo *a)
{
	return nl_addr_change(ctx, dev, a, false);
}

static int nl_route_list(void *ctx, const char *dev, GArray *ret)
{
	g_autoptr(GArray) all = g_array_new(FALSE, TRUE, sizeof(VwRouteInfo));
	int idx, r = ifindex_of(ctx, dev, &idx);

	if (r)
		return r;
	r = dump(ctx, RTM_GETROUTE, AF_UNSPEC, 2, idx, all);
	if (r)
		return r;
	for (guint i = 0; i < all->len; i++) {
		const VwRouteInfo *x = &g_array_index(all, VwRouteInfo, i);

		/* The main table's routes that someone made: not the ones the
		 * kernel makes for addresses, nor IPv6 multicast and
		 * link-local ones. */
		if (x->table != RT_TABLE_MAIN || x->protocol == RTPROT_KERNEL || x->type != RTN_UNICAST)
			continue;
		if (x->dst.addr.family == AF_INET6 && x->dst.prefix >= 8 && x->dst.addr.b[0] == 0xfe &&
		    (x->dst.addr.b[1] & 0xc0) == 0x80)
			continue;
		g_array_append_val(ret, *x);
	}
	return 0;
}

static int nl_route_change(void *ctx, const char *dev, const VwRouteInfo *rt, bool add)
{
	Req q = { .r = rt, .add = add };
	int r = ifindex_of(ctx, dev, &q.ifindex);

	return r ? r : send_filled(ctx, fill_route, &q);
}

static int nl_route_add(void *ctx, const char *dev, const VwRouteInfo *r)
{
	return nl_route_change(ctx, dev, r, true);
}

static int nl_route_del(void *ctx, const char *dev, const VwRouteInfo *r)
{
	return nl_route_change(ctx, dev, r, false);
}

static int nl_sysctl_get(void *ctx, const char *path, char **ret)
{
	((Ctx *)ctx)->error[0] = '\0';
	return vw_proc_sysctl_get(path, ret);
}

static int nl_sysctl_set(void *ctx, const char *path, const char *value)
{
	((Ctx *)ctx)->error[0] = '\0';
	return vw_proc_sysctl_set(path, value);
}

static int send_msg(Ctx *c, int r, struct nl_msg *msg)
{
	g_autoptr(nl_msg) owned = msg;

	c->error[0] = '\0';
	return r < 0 ? r : talk(c, owned);
}

static int nl_vxlan_add(void *ctx, const char *name, const VwVxlanConf *conf)
{
	struct nl_msg *msg = NULL;
	int r = vw_nlmsg_vxlan_add(name, conf, &msg);

	return send_msg(ctx, r, msg);
}

static int nl_port_evpn(void *ctx, const char *port, bool learning, bool neigh_suppress)
{
	struct nl_msg *msg = NULL;
	int idx, r = ifindex_of(ctx, port, &idx);

	if (r)
		return r;
	r = vw_nlmsg_port_evpn(idx, learning, neigh_suppress, &msg);
	return send_msg(ctx, r, msg);
}

static int nl_fdb_list(void *ctx, const char *dev, GArray *ret)
{
	int idx, r = ifindex_of(ctx, dev, &idx);

	return r ? r : dump(ctx, RTM_GETNEIGH, AF_BRIDGE, 3, idx, ret);
}

static int nl_fdb_change(void *ctx, const char *dev, const VwFdbEntry *f, bool add)
{
	struct nl_msg *msg = NULL;
	int idx, r = ifindex_of(ctx, dev, &idx);

	if (r)
		return r;
	r = vw_nlmsg_fdb(add, idx, f, &msg);
	return send_msg(ctx, r, msg);
}

static int nl_fdb_add(void *ctx, const char *dev, const VwFdbEntry *f)
{
	return nl_fdb_change(ctx, dev, f, true);
}

static int nl_fdb_del(void *ctx, const char *dev, const VwFdbEntry *f)
{
	return nl_fdb_change(ctx, dev, f, false);
}

static const char *nl_last_error(void *ctx)
{
	Ctx *c = ctx;

	return c->error[0] ? c->error : NULL;
}

static void nl_free(void *ctx)
{
	Ctx *c = ctx;

	if (!c)
		return;
	nl_socket_free(c->sk);
	g_free(c);
}

VwLinkBackend *vw_link_backend_netlink(GError **error)
{
	VwLinkBackend *be;
	Ctx *c = g_new0(Ctx, 1);
	int one = 1;

	c->sk = nl_socket_alloc();
	if (!c->sk || nl_connect(c->sk, NETLINK_ROUTE) < 0) {
		g_set_error(error, VW_ERROR, VW_ERROR_FAILED, "cannot open a route netlink socket");
		nl_free(c);
		return NULL;
	}
	/* The kernel's own words on refusal; acks without the request. */
	setsockopt(nl_socket_get_fd(c->sk), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	setsockopt(nl_socket_get_fd(c->sk), SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	nl_socket_disable_auto_ack(c->sk);
	nl_socket_modify_cb(c->sk, NL_CB_VALID, NL_CB_CUSTOM, on_valid, c);
	nl_socket_modify_cb(c->sk, NL_CB_ACK, NL_CB_CUSTOM, on_ack, c);
	nl_socket_modify_cb(c->sk, NL_CB_FINISH, NL_CB_CUSTOM, on_finish, c);
	nl_socket_modify_err_cb(c->sk, NL_CB_CUSTOM, on_error, c);

	be = g_new0(VwLinkBackend, 1);
	be->ctx = c;
	be->link_get = nl_link_get;
	be->link_list = nl_link_list;
	be->bridge_add = nl_bridge_add;
	be->link_del = nl_link_del;
	be->link_change = nl_link_change;
	be->port_flags = nl_port_flags;
	be->port_evpn = nl_port_evpn;
	be->addr_list = nl_addr_list;
	be->addr_add = nl_addr_add;
	be->addr_del = nl_addr_del;
	be->route_list = nl_route_list;
	be->route_add = nl_route_add;
	be->route_del = nl_route_del;
	be->sysctl_get = nl_sysctl_get;
	be->sysctl_set = nl_sysctl_set;
	be->vxlan_add = nl_vxlan_add;
	be->fdb_list = nl_fdb_list;
	be->fdb_add = nl_fdb_add;
	be->fdb_del = nl_fdb_del;
	be->last_error = nl_last_error;
	be->free = nl_free;
	return be;
}

void vw_link_backend_free(VwLinkBackend *be)
{
	if (!be)
		return;
	if (be->free)
		be->free(be->ctx);
	g_free(be);
}
