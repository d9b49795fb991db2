/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Batches: the messages of one nftables transaction, each with a
 * description for errors, committed through a backend. */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <sys/uio.h>
#include <libnftnl/batch.h>

#include "nft-private.h"

/* ---------------------------------------------------------------------- */
/* Batches */

/* A message's place in the batch and what it does, for error messages. */
typedef struct {
	uint32_t seq;
	char *what;
} MsgInfo;

struct VwBatch {
	struct nftnl_batch *nb;
	GArray *msgs; /* MsgInfo */
	uint32_t begin_seq;
	uint32_t seq;
	guint count;
	size_t bytes;
	int fault_after; /* -1: none */
	bool fault_done;
};

static void msginfo_clear(MsgInfo *m)
{
	g_free(m->what);
}

VwBatch *vw_batch_new(uint32_t genid)
{
	VwBatch *b = g_new0(VwBatch, 1);
	long page = sysconf(_SC_PAGESIZE);
	struct nlmsghdr *begin;

	/* Pages of 32 memory pages; a single message (a nest of set elements)
	 * can reach 64 KiB, which the overrun room must hold. */
	b->nb = nftnl_batch_alloc((uint32_t)page * 32, UINT16_MAX + (uint32_t)page);
	b->msgs = g_array_new(FALSE, TRUE, sizeof(MsgInfo));
	g_array_set_clear_func(b->msgs, (GDestroyNotify)msginfo_clear);
	b->seq = (uint32_t)time(NULL) << 8;
	b->fault_after = -1;
	b->begin_seq = b->seq;
	begin = nftnl_batch_begin(nftnl_batch_buffer(b->nb), b->seq++);
	/* The kernel refuses the whole batch (ERESTART) when anyone committed
	 * since that generation: the batch was made for what was read then. */
	if (genid)
		mnl_attr_put_u32(begin, NFNL_BATCH_GENID, htonl(genid));
	nftnl_batch_update(b->nb);
	return b;
}

void vw_batch_free(VwBatch *b)
{
	if (!b)
		return;
	nftnl_batch_free(b->nb);
	g_array_unref(b->msgs);
	g_free(b);
}

guint vw_batch_count(const VwBatch *b)
{
	return b->count;
}

static struct nlmsghdr *msg_start_family(VwBatch *b, uint16_t type, uint16_t family, uint16_t flags, char *what)
{
	MsgInfo m = { b->seq, what };

	g_array_append_val(b->msgs, m);
	/* No NLM_F_ACK: nfnetlink reports every message that fails (and a
	 * failed commit, on the batch's first message) whatever the flag, so
	 * a batch that leaves nothing in the socket was committed. An ack per
	 * success would cost a recv() per message. */
	return nftnl_nlmsg_build_hdr(nftnl_batch_buffer(b->nb), type, family, flags, b->seq++);
}

static struct nlmsghdr *msg_start(VwBatch *b, const VwTable *t, uint16_t type, uint16_t flags, char *what)
{
	return msg_start_family(b, type, (uint16_t)t->family, flags, what);
}

static void add_fault(VwBatch *b);

static void msg_end(VwBatch *b, struct nlmsghdr *nlh)
{
	b->bytes += nlh->nlmsg_len;
	b->count++;
	nftnl_batch_update(b->nb);
	if (b->fault_after >= 0 && !b->fault_done && b->count >= (guint)b->fault_after) {
		b->fault_done = true;
		add_fault(b);
	}
}

void vw_batch_set_fault(VwBatch *b, guint after)
{
	b->fault_after = (int)after;
}

void vw_batch_add_table(VwBatch *b, const VwTable *t)
{
	g_autoptr(nftnl_table) nt = vw_nft_build_table(t);
	struct nlmsghdr *nlh = msg_start(b, t, NFT_MSG_NEWTABLE, NLM_F_CREATE, g_strdup_printf("create %s", t->label));

	nftnl_table_nlmsg_build_payload(nlh, nt);
	msg_end(b, nlh);
}

void vw_batch_del_table(VwBatch *b, const VwTable *t)
{
	g_autoptr(nftnl_table) nt = vw_nft_build_table(t);
	struct nlmsghdr *nlh = msg_start(b, t, NFT_MSG_DELTABLE, 0, g_strdup_printf("delete %s", t->label));

	nftnl_table_nlmsg_build_payload(nlh, nt);
	msg_end(b, nlh);
}

/* "create map fwd4" in table inet virtwire; "… of table bridge virtwire"
 * in the other one. */
static char *what_of(const VwTable *t, char *what)
{
	char *s;

	if (t->family == NFPROTO_INET)
		return what;
	s = g_strdup_printf("%s of %s", what, t->label);
	g_free(what);
	return s;
}

void vw_batch_add_set(VwBatch *b, const VwTable *t, const VwSet *s)
{
	g_autoptr(nftnl_set) ns = vw_nft_build_set(t, s);
	struct nlmsghdr *nlh = msg_start(
		b, t, NFT_MSG_NEWSET, NLM_F_CREATE,
		what_of(t, g_strdup_printf("create %s %s", s->is_map ? "map" : "set", s->name)));

	/* The kernel wants an id for every new set, unique in the batch. */
	nftnl_set_set_u32(ns, NFTNL_SET_ID, b->count + 1);
	nftnl_set_nlmsg_build_payload(nlh, ns);
	msg_end(b, nlh);
}

void vw_batch_add_chain(VwBatch *b, const VwTable *t, const VwChain *c)
{
	g_autoptr(nftnl_chain) nc = vw_nft_build_chain(t, c);
	struct nlmsghdr *nlh = msg_start(b, t, NFT_MSG_NEWCHAIN, NLM_F_CREATE,
					 what_of(t, g_strdup_printf("create chain %s", c->name)));

	nftnl_chain_nlmsg_build_payload(nlh, nc);
	msg_end(b, nlh);
}

void vw_batch_flush_chain(VwBatch *b, const VwTable *t, const char *chain)
{
	g_autoptr(nftnl_rule) r = nftnl_rule_alloc();
	struct nlmsghdr *nlh = msg_start(b, t, NFT_MSG_DELRULE, 0,
					 what_of(t, g_strdup_printf("flush chain %s", chain)));

	/* DELRULE without a handle removes every rule of the chain. */
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, t->name);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, (uint32_t)t->family);
	nftnl_rule_nlmsg_build_payload(nlh, r);
	msg_end(b, nlh);
}

void vw_batch_del_chain(VwBatch *b, const VwTable *t, const char *chain)
{
	g_autoptr(nftnl_chain) c = nftnl_chain_alloc();
	struct nlmsghdr *nlh = msg_start(b, t, NFT_MSG_DELCHAIN, 0,
					 what_of(t, g_strdup_printf("delete chain %s", chain)));

	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, t->name);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, (uint32_t)t->family);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, chain);
	nftnl_chain_nlmsg_build_payload(nlh, c);
	msg_end(b, nlh);
}

void vw_batch_add_rule(VwBatch *b, const VwTable *t, const char *chain, const VwRule *r)
{
	g_autoptr(nftnl_rule) nr = vw_nft_build_rule(t->family, t->name, chain, r);
	struct nlmsghdr *nlh = msg_start(b, t, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND,
					 what_of(t, g_strdup_printf("add rule to chain %s: %s", chain, r->text)));

	nftnl_rule_nlmsg_build_payload(nlh, nr);
	msg_end(b, nlh);
}

void vw_batch_del_foreign_rule(VwBatch *b, int family, const char *table, const char *chain, guint64 handle,
			       const char *what)
{
	g_autoptr(nftnl_rule) r = nftnl_rule_alloc();
	struct nlmsghdr *nlh = msg_start_family(b, NFT_MSG_DELRULE, (uint16_t)family, 0,
						g_strdup_printf("delete virtwire's rule from %s", what));

	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, table);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
	nftnl_rule_set_u64(r, NFTNL_RULE_HANDLE, handle);
	nftnl_rule_nlmsg_build_payload(nlh, r);
	msg_end(b, nlh);
}

void vw_batch_insert_foreign_rule(VwBatch *b, struct nftnl_rule *r, const char *what)
{
	/* No NLM_F_APPEND and no position: the kernel puts it first. */
	struct nlmsghdr *nlh = msg_start_family(b, NFT_MSG_NEWRULE, (uint16_t)nftnl_rule_get_u32(r, NFTNL_RULE_FAMILY),
						NLM_F_CREATE,
						g_strdup_printf("insert virtwire's rule at the top of %s", what));

	nftnl_rule_nlmsg_build_payload(nlh, r);
	msg_end(b, nlh);
}

static char *elem_what(const VwTable *t, bool add, const VwSet *s, const VwElem *e, guint n)
{
	g_autofree char *set = t->family == NFPROTO_INET ? g_strdup(s->name)
							 : g_strdup_printf("%s of %s", s->name, t->label);
	const char *first = e->text ? e->text : vw_elem_text(s, e) ? vw_elem_text(s, e) : "(interval end)";

	if (n == 1)
		return g_strdup_printf("%s element %s %s %s", add ? "add" : "delete", first, add ? "to" : "from", set);
	return g_strdup_printf("%s %u elements %s %s (the first: %s)", add ? "add" : "delete", n, add ? "to" : "from",
			       set, first);
}

/* Elements per message: at most ~250 bytes each (two IPv6 concatenations and
 * an owner comment), so 128 stay well inside a 64 KiB attribute nest. */
#define ELEMS_PER_MSG 128

void vw_batch_elems(VwBatch *b, const VwTable *t, bool add, const VwSet *set, GPtrArray *elems)
{
	for (guint i = 0; i < elems->len; i += ELEMS_PER_MSG) {
		g_autoptr(nftnl_set) ns = nftnl_set_alloc();
		guint n = MIN(ELEMS_PER_MSG, elems->len - i);
		struct nlmsghdr *nlh;

		nftnl_set_set_str(ns, NFTNL_SET_TABLE, t->name);
		nftnl_set_set_u32(ns, NFTNL_SET_FAMILY, (uint32_t)t->family);
		nftnl_set_set_str(ns, NFTNL_SET_NAME, set->name);
		for (guint j = 0; j < n; j++)
			nftnl_set_elem_add(ns, vw_nft_build_elem(elems->pdata[i + j]));
		nlh = msg_start(b, t, add ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM, add ? NLM_F_CREATE : 0,
				elem_what(t, add, set, elems->pdata[i], n));
		nftnl_set_elems_nlmsg_build_payload(nlh, ns);
		msg_end(b, nlh);
	}
}

static void add_fault(VwBatch *b)
{
	g_autoptr(nftnl_rule) r = nftnl_rule_alloc();
	struct nlmsghdr *nlh = msg_start_family(b, NFT_MSG_NEWRULE, NFPROTO_INET, NLM_F_CREATE | NLM_F_APPEND,
						g_strdup("add rule to chain vw-fault-injected (test fault point)"));

	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, VW_NFT_TABLE);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, "vw-fault-injected");
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_INET);
	nftnl_rule_nlmsg_build_payload(nlh, r);
	msg_end(b, nlh);
}

static const char *msg_what(const VwBatch *b, uint32_t seq)
{
	for (guint i = 0; i < b->msgs->len; i++) {
		const MsgInfo *m = &g_array_index(b->msgs, MsgInfo, i);

		if (m->seq == seq)
			return m->what;
	}
	return NULL;
}

bool vw_batch_send(const VwNftBackend *be, VwBatch *b, bool *stale, GError **error)
{
	g_autofree struct iovec *iov = NULL;
	g_autofree char *ext = NULL;
	uint32_t seq = 0;
	guint niov;
	int e;

	if (b->fault_after >= 0 && !b->fault_done) {
		b->fault_done = true;
		add_fault(b);
	}
	nftnl_batch_end(nftnl_batch_buffer(b->nb), b->seq++);
	nftnl_batch_update(b->nb);
	niov = (guint)nftnl_batch_iovec_len(b->nb);
	iov = g_new(struct iovec, niov);
	nftnl_batch_iovec(b->nb, iov, niov);
	e = be->commit(be->ctx, iov, niov, &seq, &ext);
	*stale = e == -ERESTART && seq == b->begin_seq;
	if (*stale)
		return g_set_error(error, VW_ERROR, VW_ERROR_FAILED,
				   "the ruleset kept changing between virtwire's reading and its batch "
				   "(nothing was changed)"),
		       false;
	if (e == -ENOBUFS && !seq)
		return g_set_error(error, VW_ERROR, VW_ERROR_FAILED,
				   "the kernel's replies to the nftables batch overflowed the socket"),
		       false;
	if (e) {
		const char *what = seq ? msg_what(b, seq) : NULL;

		return vw_set_errno(error, e, ext, "the kernel refused to %s (nothing was changed)",
				    what ? what : "commit the nftables batch");
	}
	return true;
}
