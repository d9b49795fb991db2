/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The host's listening sockets, from the kernel's sock_diag netlink (what
 * `ss -ltu` reads): TCP sockets in LISTEN and UDP sockets bound but not
 * connected, of the current network namespace. A forward takes its host
 * port from the host; a service listening there stops being reachable.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <linux/inet_diag.h>
#include <linux/sock_diag.h>

#include <virtwire/exec.h>

/* TCP's state numbers (include/net/tcp_states.h): a bound, unconnected UDP
 * socket is in TCP_CLOSE. */
#define ST_LISTEN 10
#define ST_CLOSE 7

typedef struct {
	VwProto proto;
	GArray *ret;
} Dump;

static int on_attr(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;

	if (mnl_attr_type_valid(attr, INET_DIAG_MAX) > 0)
		tb[mnl_attr_get_type(attr)] = attr;
	return MNL_CB_OK;
}

static int on_msg(const struct nlmsghdr *nlh, void *data)
{
	const Dump *d = data;
	const struct inet_diag_msg *m;
	const struct nlattr *tb[INET_DIAG_MAX + 1] = { 0 };
	VwListener l = { .proto = d->proto };

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*m))
		return MNL_CB_ERROR;
	m = mnl_nlmsg_get_payload(nlh);
	if (m->idiag_family != AF_INET && m->idiag_family != AF_INET6)
		return MNL_CB_OK;
	l.addr.family = m->idiag_family;
	memcpy(l.addr.b, m->id.idiag_src, m->idiag_family == AF_INET ? 4 : 16);
	l.port = ntohs(m->id.idiag_sport);
	l.uid = m->idiag_uid;
	l.inode = m->idiag_inode;
	mnl_attr_parse(nlh, sizeof(*m), on_attr, tb);
	l.v6only = tb[INET_DIAG_SKV6ONLY] && mnl_attr_get_u8(tb[INET_DIAG_SKV6ONLY]);
	if (l.port)
		g_array_append_val(d->ret, l);
	return MNL_CB_OK;
}

static int dump(struct mnl_socket *nl, uint8_t family, VwProto proto, uint32_t states, GArray *ret)
{
	char buf[32768];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct inet_diag_req_v2 *req;
	uint32_t seq = (uint32_t)time(NULL) + family + proto;
	Dump d = { proto, ret };
	ssize_t n;
	int r;

	nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	req = mnl_nlmsg_put_extra_header(nlh, sizeof(*req));
	req->sdiag_family = family;
	req->sdiag_protocol = (uint8_t)proto;
	req->idiag_states = states;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	do {
		if ((n = mnl_socket_recvfrom(nl, buf, sizeof(buf))) < 0)
			return -errno;
		r = mnl_cb_run(buf, (size_t)n, seq, mnl_socket_get_portid(nl), on_msg, &d);
	} while (r > 0);
	return r < 0 ? -errno : 0;
}

bool vw_listeners(GArray *ret, GError **error)
{
	static const struct {
		uint8_t family;
		VwProto proto;
		uint32_t states;
	} dumps[] = {
		{ AF_INET, VW_PROTO_TCP, 1u << ST_LISTEN },
		{ AF_INET6, VW_PROTO_TCP, 1u << ST_LISTEN },
		{ AF_INET, VW_PROTO_UDP, 1u << ST_CLOSE },
		{ AF_INET6, VW_PROTO_UDP, 1u << ST_CLOSE },
	};
	struct mnl_socket *nl = mnl_socket_open(NETLINK_SOCK_DIAG);
	int e = 0;

	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		e = errno;
		if (nl)
			mnl_socket_close(nl);
		g_set_error(error, VW_ERROR, VW_ERROR_FAILED, "cannot open a sock_diag netlink socket: %s",
			    g_strerror(e));
		return false;
	}
	for (size_t i = 0; i < G_N_ELEMENTS(dumps) && !e; i++) {
		e = -dump(nl, dumps[i].family, dumps[i].proto, dumps[i].states, ret);
		/* A kernel without IPv6, or without UDP's sock_diag module. */
		if (e == ENOENT || e == EAFNOSUPPORT)
			e = 0;
	}
	mnl_socket_close(nl);
	if (e)
		g_set_error(error, VW_ERROR, VW_ERROR_FAILED, "cannot list the host's listening sockets: %s",
			    g_strerror(e));
	return e == 0;
}
