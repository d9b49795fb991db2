/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The real nftables backend: an nfnetlink socket in the current network
 * namespace. Requests and their replies, and batches. */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <sys/uio.h>

#include "nft-private.h"

/* Large enough for a dump's multi-part replies (the kernel fills up to
 * 32 KiB per recv). */
#define RECV_BUF_SIZE (64 * 1024)

typedef struct {
	struct mnl_socket *nl;
	uint32_t portid;
} Sock;

/* True when @buf (@n bytes) holds the end of the dump with @seq. */
static bool dump_ends_in(const char *buf, ssize_t n, uint32_t seq)
{
	int len = (int)n;

	for (const struct nlmsghdr *h = (const struct nlmsghdr *)buf; mnl_nlmsg_ok(h, len); h = mnl_nlmsg_next(h, &len))
		if (h->nlmsg_seq == seq && (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR))
			return true;
	return false;
}

/* After mnl_cb_run stopped at a message flagged NLM_F_DUMP_INTR, the rest
 * of the dump, its end included, may still be in @buf or yet to come:
 * receive it all, so the socket is in step for the next request. */
static int drain_dump(Sock *s, char *buf, ssize_t n, uint32_t seq)
{
	while (!dump_ends_in(buf, n, seq)) {
		n = mnl_socket_recvfrom(s->nl, buf, RECV_BUF_SIZE);
		if (n < 0 && errno != EINTR)
			return -errno;
	}
	return -EINTR;
}

static int sock_request(void *ctx, const struct nlmsghdr *req, VwNftReplyFn cb, void *data)
{
	Sock *s = ctx;
	g_autofree char *buf = g_malloc(RECV_BUF_SIZE);
	uint32_t seq = req->nlmsg_seq;
	ssize_t n;
	int ret;

	if (mnl_socket_sendto(s->nl, req, req->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		n = mnl_socket_recvfrom(s->nl, buf, RECV_BUF_SIZE);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		ret = mnl_cb_run(buf, (size_t)n, seq, s->portid, (mnl_cb_t)cb, data);
		if (ret == MNL_CB_STOP)
			return 0;
		if (ret < 0)
			return errno == EINTR ? drain_dump(s, buf, n, seq) : -errno;
	}
}

/* The kernel's extended-ack text, if any. */
static char *ext_ack_message(const struct nlmsghdr *nlh)
{
	const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);
	size_t off = sizeof(*err);
	const struct nlattr *a;

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return NULL;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += mnl_nlmsg_get_payload_len(&err->msg);
	mnl_attr_for_each(a, nlh, off) {
		if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG)
			return g_strdup(mnl_attr_get_str(a));
	}
	return NULL;
}

/* Every error the kernel queued for the batch: the first one counts. */
static int collect_errors(Sock *s, uint32_t *seq, char **ext)
{
	g_autofree char *buf = g_malloc(RECV_BUF_SIZE);
	int fd = mnl_socket_get_fd(s->nl);
	int first = 0;

	for (;;) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		ssize_t n;

		if (poll(&pfd, 1, 0) <= 0)
			break;
		n = recv(fd, buf, RECV_BUF_SIZE, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			/* Lost replies may have been errors: say so. */
			return errno == ENOBUFS ? -ENOBUFS : first;
		}
		for (const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf; mnl_nlmsg_ok(nlh, (int)n);
		     nlh = mnl_nlmsg_next(nlh, (int *)&n)) {
			const struct nlmsgerr *err;

			if (nlh->nlmsg_type != NLMSG_ERROR)
				continue;
			err = mnl_nlmsg_get_payload(nlh);
			if (err->error == 0 || first)
				continue;
			first = err->error;
			*seq = err->msg.nlmsg_seq;
			*ext = ext_ack_message(nlh);
		}
	}
	return first;
}

static int sock_commit(void *ctx, const struct iovec *iov, size_t niov, uint32_t *seq, char **ext)
{
	Sock *s = ctx;
	int fd = mnl_socket_get_fd(s->nl);
	struct sockaddr_nl snl = { .nl_family = AF_NETLINK };
	struct msghdr msg = { .msg_name = &snl, .msg_namelen = sizeof(snl) };
	size_t bytes = 0;
	int bufsize;

	*seq = 0;
	*ext = NULL;
	for (size_t i = 0; i < niov; i++)
		bytes += iov[i].iov_len;
	/* The kernel handles the whole batch inside sendmsg() and queues an
	 * error for each message it refused: make room for the batch and for
	 * the errors (each one echoes the header it refers to). */
	bufsize = (int)MIN(bytes + 65536, (size_t)INT_MAX / 2);
	setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &bufsize, sizeof(bufsize));
	bufsize = (int)MIN(bytes / 16 + 262144, (size_t)INT_MAX / 2);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bufsize, sizeof(bufsize));
	msg.msg_iov = (struct iovec *)iov;
	msg.msg_iovlen = niov;
	if (sendmsg(fd, &msg, 0) < 0)
		return -errno;
	return collect_errors(s, seq, ext);
}

static void sock_free(void *ctx)
{
	Sock *s = ctx;

	if (s->nl)
		mnl_socket_close(s->nl);
	g_free(s);
}

VwNftBackend *vw_nft_backend_netlink(GError **error)
{
	g_autoptr(VwNftBackend) be = g_new0(VwNftBackend, 1);
	Sock *s = g_new0(Sock, 1);
	int one = 1;

	be->ctx = s;
	be->request = sock_request;
	be->commit = sock_commit;
	be->free = sock_free;
	s->nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!s->nl)
		return vw_set_errno(error, -errno, NULL, "cannot open a netfilter netlink socket"), NULL;
	if (mnl_socket_bind(s->nl, 0, MNL_SOCKET_AUTOPID) < 0)
		return vw_set_errno(error, -errno, NULL, "cannot bind the netfilter netlink socket"), NULL;
	/* Acks carry only the header back (not the whole message), and errors
	 * carry the kernel's explanation. */
	mnl_socket_setsockopt(s->nl, NETLINK_CAP_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(s->nl, NETLINK_EXT_ACK, &one, sizeof(one));
	s->portid = mnl_socket_get_portid(s->nl);
	return g_steal_pointer(&be);
}

void vw_nft_backend_free(VwNftBackend *be)
{
	if (!be)
		return;
	if (be->free)
		be->free(be->ctx);
	g_free(be);
}
