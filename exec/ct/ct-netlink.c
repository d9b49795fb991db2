/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The real conntrack backend. ctnetlink is a subsystem of netfilter's
 * netlink, like nf_tables: the same kind of socket carries its requests, so
 * this backend is a socket of nftables' real backend of its own. The
 * kernel loads nf_conntrack_netlink when it is first asked. */
#include "ct-private.h"

static int ct_request(void *ctx, const struct nlmsghdr *req, VwNftReplyFn cb, void *data)
{
	const VwNftBackend *nl = ctx;

	return nl->request(nl->ctx, req, cb, data);
}

static void ct_free(void *ctx)
{
	vw_nft_backend_free(ctx);
}

VwCtBackend *vw_ct_backend_netlink(GError **error)
{
	VwNftBackend *nl = vw_nft_backend_netlink(error);
	VwCtBackend *be;

	if (!nl)
		return NULL;
	be = g_new0(VwCtBackend, 1);
	be->ctx = nl;
	be->request = ct_request;
	be->free = ct_free;
	return be;
}

void vw_ct_backend_free(VwCtBackend *be)
{
	if (!be)
		return;
	if (be->free)
		be->free(be->ctx);
	g_free(be);
}
