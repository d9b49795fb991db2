/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The kernel's notifications for virtwire watch: nftables' (NFNLGRP_NFTABLES:
 * every object a batch adds or deletes, then the batch's new generation with
 * the committing process) and rtnetlink's links and neighbours. Two sockets,
 * read without waiting when poll says so; nothing is polled on a timer.
 *
 * What a batch touched is summed up as its messages come and handed over at
 * its NFT_MSG_NEWGEN, which names who committed it: so virtwire's own
 * batches can be told from everybody else's. The buffers are allocated once;
 * reading costs no memory per message.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/rtnetlink.h>

#include <virtwire/exec.h>

/* Notifications fit a page (NLMSG_GOODSIZE); a batch of them fits in one
 * read of this. */
#define READ_BUF_SIZE (64 * 1024)
/* Room for a burst (a flush of a large ruleset, a restart of Docker) before
 * the kernel drops notifications: then VW_EVENT_LOST. */
#define SOCKET_BUF_SIZE (8 * 1024 * 1024)

struct VwEvents {
	struct mnl_socket *nl[2]; /* 0: nfnetlink, 1: rtnetlink */
	char *buf;
	VwTableName *watched;
	size_t n_watched;
	VwEvent batch; /* what the batch under way touched so far */
	guint64 messages;
	uint32_t dump_seq;
};

/* ---------------------------------------------------------------------- */
/* Opening */

static struct mnl_socket *open_socket(int bus, const unsigned *groups, size_t n, GError **error)
{
	struct mnl_socket *nl = mnl_socket_open2(bus, SOCK_NONBLOCK | SOCK_CLOEXEC);
	int size = SOCKET_BUF_SIZE;

	if (!nl) {
		vw_set_errno(error, -errno, NULL, "cannot open a netlink socket for events");
		return NULL;
	}
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0)
		goto fail;
	for (size_t i = 0; i < n; i++)
		if (mnl_socket_setsockopt(nl, NETLINK_ADD_MEMBERSHIP, (void *)&groups[i], sizeof(groups[i])) < 0)
			goto fail;
	/* Root may go past the system's limit (rmem_max); anyone else gets
	 * what it allows. */
	if (setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	return nl;
fail:
	vw_set_errno(error, -errno, NULL, "cannot listen to the kernel's %s notifications",
		     bus == NETLINK_NETFILTER ? "nftables" : "link and neighbour");
	mnl_socket_close(nl);
	return NULL;
}

bool vw_events_open(const VwTableName *watched, size_t n, VwEvents **ret, GError **error)
{
	static const unsigned nft_groups[] = { NFNLGRP_NFTABLES };
	static const unsigned rt_groups[] = { RTNLGRP_LINK, RTNLGRP_NEIGH };
	g_autoptr(VwEvents) ev = g_new0(VwEvents, 1);

	ev->buf = g_malloc(READ_BUF_SIZE);
	ev->watched = g_new0(VwTableName, n + 1);
	ev->n_watched = n;
	for (size_t i = 0; i < n; i++) {
		ev->watched[i].family = watched[i].family;
		ev->watched[i].name = g_strdup(watched[i].name);
	}
	ev->dump_seq = (uint32_t)g_get_monotonic_time();
	if (!(ev->nl[0] = open_socket(NETLINK_NETFILTER, nft_groups, G_N_ELEMENTS(nft_groups), error)) ||
	    !(ev->nl[1] = open_socket(NETLINK_ROUTE, rt_groups, G_N_ELEMENTS(rt_groups), error)))
		return false;
	*ret = g_steal_pointer(&ev);
	return true;
}

void vw_events_close(VwEvents *ev)
{
	if (!ev)
		return;
	for (guint i = 0; i < 2; i++)
		if (ev->nl[i])
			mnl_socket_close(ev->nl[i]);
	for (size_t i = 0; i < ev->n_watched; i++)
		g_free((char *)ev->watched[i].name);
	g_free(ev->watched);
	g_free(ev->buf);
	g_free(ev);
}

int vw_events_fd(const VwEvents *ev, guint i)
{
	return mnl_socket_get_fd(ev->nl[i ? 1 : 0]);
}

guint64 vw_events_count(const VwEvents *ev)
{
	return ev->messages;
}

/* ---------------------------------------------------------------------- */
/* nftables */

typedef struct {
	const char *table;
	bool hook;
} NftAttrs;

/* Every nftables object message names its table in attribute 1
 * (NFTA_TABLE_NAME, NFTA_CHAIN_TABLE, NFTA_RULE_TABLE, NFTA_SET_TABLE …). */
static int nft_attr_cb(const struct nlattr *a, void *data)
{
	NftAttrs *at = data;

	if (mnl_attr_get_type(a) == NFTA_TABLE_NAME && mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
		at->table = mnl_attr_get_str(a);
	else if (mnl_attr_get_type(a) == NFTA_CHAIN_HOOK)
		at->hook = true;
	return MNL_CB_OK;
}

static int gen_attr_cb(const struct nlattr *a, void *data)
{
	VwEvent *e = data;

	switch (mnl_attr_get_type(a)) {
	case NFTA_GEN_ID:
		if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
			e->gen = ntohl(mnl_attr_get_u32(a));
		break;
	case NFTA_GEN_PROC_PID:
		if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
			e->pid = ntohl(mnl_attr_get_u32(a));
		break;
	case NFTA_GEN_PROC_NAME:
		if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
			g_strlcpy(e->comm, mnl_attr_get_str(a), sizeof(e->comm));
		break;
	default:
		break;
	}
	return MNL_CB_OK;
}

static bool watched_table(const VwEvents *ev, int family, const char *table)
{
	for (size_t i = 0; i < ev->n_watched; i++)
		if (ev->watched[i].family == family && strcmp(ev->watched[i].name, table) == 0)
			return true;
	return false;
}

/* One message of a batch: what it touched, added to the batch's summary;
 * at its end (the new generation), the summary goes to @cb. */
static void nft_message(VwEvents *ev, const struct nlmsghdr *nlh, VwEventFn cb, void *data)
{
	const struct nfgenmsg *g = mnl_nlmsg_get_payload(nlh);
	unsigned type = NFNL_MSG_TYPE(nlh->nlmsg_type);
	NftAttrs at = { NULL, false };

	if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_NFTABLES || mnl_nlmsg_get_payload_len(nlh) < sizeof(*g))
		return;
	if (type == NFT_MSG_NEWGEN) {
		ev->batch.kind = VW_EVENT_NFT;
		mnl_attr_parse(nlh, sizeof(*g), gen_attr_cb, &ev->batch);
		cb(&ev->batch, data);
		memset(&ev->batch, 0, sizeof(ev->batch));
		return;
	}
	mnl_attr_parse(nlh, sizeof(*g), nft_attr_cb, &at);
	if (!at.table)
		return;
	if ((g->nfgen_family == NFPROTO_INET || g->nfgen_family == NFPROTO_BRIDGE) &&
	    strcmp(at.table, VW_NFT_TABLE) == 0)
		ev->batch.table = true;
	else if (at.hook && (type == NFT_MSG_NEWCHAIN || type == NFT_MSG_DELCHAIN))
		ev->batch.base_chain = true;
	if (watched_table(ev, g->nfgen_family, at.table))
		ev->batch.watched = true;
}

/* ---------------------------------------------------------------------- */
/* Links and neighbours */

static int link_attr_cb(const struct nlattr *a, void *data)
{
	VwEvent *e = data;

	if (mnl_attr_get_type(a) == IFLA_IFNAME && mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
		g_strlcpy(e->name, mnl_attr_get_str(a), sizeof(e->name));
	else if (mnl_attr_get_type(a) == IFLA_MASTER && mnl_attr_validate(a, MNL_TYPE_U32) == 0)
		e->master = (int)mnl_attr_get_u32(a);
	return MNL_CB_OK;
}

static int neigh_attr_cb(const struct nlattr *a, void *data)
{
	VwEvent *e = data;
	uint16_t len = mnl_attr_get_payload_len(a);

	if (mnl_attr_get_type(a) == NDA_DST) {
		if (e->addr.family == AF_INET && len == 4)
			memcpy(e->addr.b, mnl_attr_get_payload(a), 4);
		else if (e->addr.family == AF_INET6 && len == 16)
			memcpy(e->addr.b, mnl_attr_get_payload(a), 16);
		else
			e->addr.family = AF_UNSPEC;
	} else if (mnl_attr_get_type(a) == NDA_LLADDR && len == sizeof(e->mac.b)) {
		memcpy(e->mac.b, mnl_attr_get_payload(a), sizeof(e->mac.b));
		e->has_mac = true;
	}
	return MNL_CB_OK;
}

static int fdb_attr_cb(const struct nlattr *a, void *data)
{
	VwEvent *e = data;
	uint16_t len = mnl_attr_get_payload_len(a);

	if (mnl_attr_get_type(a) == NDA_DST && (len == 4 || len == 16)) {
		e->addr.family = len == 4 ? AF_INET : AF_INET6;
		memcpy(e->addr.b, mnl_attr_get_payload(a), len);
	} else if (mnl_attr_get_type(a) == NDA_LLADDR && len == sizeof(e->mac.b)) {
		memcpy(e->mac.b, mnl_attr_get_payload(a), sizeof(e->mac.b));
		e->has_mac = true;
	}
	return MNL_CB_OK;
}

static void fdb_message(const struct nlmsghdr *nlh, const struct ndmsg *nd, VwEventFn cb, void *data)
{
	VwEvent e = { .kind = VW_EVENT_NEIGH, .fdb = true };

	e.ifindex = nd->ndm_ifindex;
	e.state = nd->ndm_state;
	e.deleted = nlh->nlmsg_type == RTM_DELNEIGH;
	e.dump = (nlh->nlmsg_flags & NLM_F_MULTI) != 0;
	mnl_attr_parse(nlh, sizeof(*nd), fdb_attr_cb, &e);
	if (e.addr.family != AF_UNSPEC && e.has_mac)
		cb(&e, data);
}

static void rtnl_message(const struct nlmsghdr *nlh, VwEventFn cb, void *data)
{
	VwEvent e = { 0 };

	if (nlh->nlmsg_type == RTM_NEWLINK || nlh->nlmsg_type == RTM_DELLINK) {
		const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);

		if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifi))
			return;
		e.kind = VW_EVENT_LINK;
		e.ifindex = ifi->ifi_index;
		e.deleted = nlh->nlmsg_type == RTM_DELLINK;
		mnl_attr_parse(nlh, sizeof(*ifi), link_attr_cb, &e);
	} else if (nlh->nlmsg_type == RTM_NEWNEIGH || nlh->nlmsg_type == RTM_DELNEIGH) {
		const struct ndmsg *nd = mnl_nlmsg_get_payload(nlh);

		/* IPv4 and IPv6 neighbours; of the forwarding databases
		 * (AF_BRIDGE), only entries with an endpoint (a VXLAN device's:
		 * EVPN's remote VTEPs and MACs). */
		if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*nd))
			return;
		if (nd->ndm_family == AF_BRIDGE) {
			fdb_message(nlh, nd, cb, data);
			return;
		}
		if (nd->ndm_family != AF_INET && nd->ndm_family != AF_INET6)
			return;
		e.kind = VW_EVENT_NEIGH;
		e.ifindex = nd->ndm_ifindex;
		e.state = nd->ndm_state;
		e.deleted = nlh->nlmsg_type == RTM_DELNEIGH;
		e.dump = (nlh->nlmsg_flags & NLM_F_MULTI) != 0;
		e.addr.family = nd->ndm_family;
		mnl_attr_parse(nlh, sizeof(*nd), neigh_attr_cb, &e);
		if (e.addr.family == AF_UNSPEC)
			return;
	} else {
		return;
	}
	cb(&e, data);
}

bool vw_events_dump_neighbours(VwEvents *ev, GError **error)
{
	uint64_t buf[32]; /* aligned for the header */
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ndmsg *nd;

	nlh->nlmsg_type = RTM_GETNEIGH;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = ++ev->dump_seq;
	nd = mnl_nlmsg_put_extra_header(nlh, sizeof(*nd));
	nd->ndm_family = AF_UNSPEC;
	if (mnl_socket_sendto(ev->nl[1], nlh, nlh->nlmsg_len) < 0)
		return vw_set_errno(error, -errno, NULL, "cannot ask the kernel for its neighbours");
	return true;
}

/* ---------------------------------------------------------------------- */
/* Reading */

bool vw_events_read(VwEvents *ev, guint i, VwEventFn cb, void *data, GError **error)
{
	int fd = vw_events_fd(ev, i);

	for (;;) {
		ssize_t n = recv(fd, ev->buf, READ_BUF_SIZE, MSG_DONTWAIT);
		int len;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return true;
		if (n < 0 && errno == ENOBUFS) {
			/* Notifications were dropped: the batch under way is
			 * incomplete, and anything may have changed. */
			VwEvent lost = { .kind = VW_EVENT_LOST, .rtnl = i != 0 };

			memset(&ev->batch, 0, sizeof(ev->batch));
			cb(&lost, data);
			continue;
		}
		if (n <= 0)
			return vw_set_errno(error, n < 0 ? -errno : -EPIPE, NULL, "cannot read the kernel's events");
		len = (int)n;
		for (const struct nlmsghdr *h = (const struct nlmsghdr *)ev->buf; mnl_nlmsg_ok(h, len);
		     h = mnl_nlmsg_next(h, &len)) {
			ev->messages++;
			if (i == 0)
				nft_message(ev, h, cb, data);
			else
				rtnl_message(h, cb, data);
		}
	}
}
