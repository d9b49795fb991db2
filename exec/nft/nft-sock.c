/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The nftables netlink socket: dumps of table inet virtwire, and batches. */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <sys/uio.h>
#include <libnftnl/batch.h>
#include <libnftnl/gen.h>
#include <libnftnl/udata.h>

#include "nft-private.h"


/* Large enough for a dump's multi-part replies (the kernel fills up to
 * 32 KiB per recv). */
#define RECV_BUF_SIZE (64 * 1024)

struct VwNftSock {
	struct mnl_socket *nl;
	uint32_t portid;
	uint32_t seq;
};

VwNftSock *vw_nft_sock_open(GError **error)
{
	g_autofree VwNftSock *s = g_new0(VwNftSock, 1);
	int one = 1;

	s->nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!s->nl) {
		g_set_error(error, VW_ERROR, VW_ERROR_FAILED, "cannot open a netfilter netlink socket: %s",
			    g_strerror(errno));
		return NULL;
	}
	if (mnl_socket_bind(s->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		g_set_error(error, VW_ERROR, VW_ERROR_FAILED, "cannot bind the netlink socket: %s", g_strerror(errno));
		mnl_socket_close(s->nl);
		return NULL;
	}
	/* Acks carry only the header back (not the whole message), and errors
	 * carry the kernel's explanation. */
	mnl_socket_setsockopt(s->nl, NETLINK_CAP_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(s->nl, NETLINK_EXT_ACK, &one, sizeof(one));
	s->portid = mnl_socket_get_portid(s->nl);
	s->seq = (uint32_t)time(NULL);
	return g_steal_pointer(&s);
}

void vw_nft_sock_close(VwNftSock *s)
{
	if (!s)
		return;
	mnl_socket_close(s->nl);
	g_free(s);
}

/* ---------------------------------------------------------------------- */
/* Reading */

static void kchain_free(VwKChain *c)
{
	if (!c)
		return;
	g_free(c->type);
	g_ptr_array_unref(c->rules);
	g_free(c);
}

static void kelem_free(VwKElem *e)
{
	if (!e)
		return;
	g_free(e->chain);
	g_free(e->owner);
	g_free(e);
}

static void kset_free(VwKSet *s)
{
	if (!s)
		return;
	g_hash_table_unref(s->elems);
	g_free(s);
}

void vw_ktable_free(VwKTable *t)
{
	if (!t)
		return;
	g_hash_table_unref(t->chains);
	g_hash_table_unref(t->sets);
	g_ptr_array_unref(t->chain_order);
	g_free(t);
}

guint vw_kelem_hash(gconstpointer p)
{
	const VwKElem *e = p;
	guint h = e->flags;

	for (uint32_t i = 0; i < e->key_len; i++)
		h = h * 31 + e->key[i];
	return h;
}

gboolean vw_kelem_equal(gconstpointer a, gconstpointer b)
{
	const VwKElem *x = a, *y = b;

	return x->flags == y->flags && x->key_len == y->key_len && memcmp(x->key, y->key, x->key_len) == 0 &&
	       x->key_end_len == y->key_end_len && memcmp(x->key_end, y->key_end, x->key_end_len) == 0;
}

typedef int (*DumpCb)(const struct nlmsghdr *nlh, void *data);

/* A dump the kernel flagged NLM_F_DUMP_INTR: the ruleset changed while it
 * was being read. The generation is global, so any program's transaction
 * does it (libvirt's iptables-nft rebuilding its rules, another network's
 * hook). What was read may be inconsistent: read again. */
static GQuark dump_interrupted_quark(void)
{
	return g_quark_from_static_string("virtwire-nft-dump-interrupted");
}

#define DUMP_ATTEMPTS 100

/* True when @buf (@n bytes) holds the end of the dump with @seq. */
static bool dump_ends_in(const char *buf, ssize_t n, uint32_t seq)
{
	int len = (int)n;

	for (const struct nlmsghdr *h = (const struct nlmsghdr *)buf; mnl_nlmsg_ok(h, len);
	     h = mnl_nlmsg_next(h, &len))
		if (h->nlmsg_seq == seq && (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR))
			return true;
	return false;
}

/* Runs one request and feeds every reply to @cb. ENOENT → *missing. An
 * interrupted dump fails with dump_interrupted_quark() once all of it has
 * been received (the socket stays in step for the next request). */
static bool dump(VwNftSock *s, struct nlmsghdr *nlh, DumpCb cb, void *data, bool *missing, GError **error)
{
	char buf[RECV_BUF_SIZE];
	uint32_t seq = nlh->nlmsg_seq;
	ssize_t n;
	int ret;

	if (missing)
		*missing = false;
	if (mnl_socket_sendto(s->nl, nlh, nlh->nlmsg_len) < 0) {
		g_set_error(error, VW_ERROR, VW_ERROR_FAILED, "netlink send failed: %s", g_strerror(errno));
		return false;
	}
	for (;;) {
		n = mnl_socket_recvfrom(s->nl, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			g_set_error(error, VW_ERROR, VW_ERROR_FAILED, "netlink receive failed: %s", g_strerror(errno));
			return false;
		}
		ret = mnl_cb_run(buf, (size_t)n, seq, s->portid, cb, data);
		if (ret == MNL_CB_STOP)
			return true;
		if (ret < 0) {
			if (errno == ENOENT && missing) {
				*missing = true;
				return true;
			}
			if (errno == EINTR) {
				/* mnl_cb_run stopped at the flagged message: the
				 * rest of this dump, its end included, may still
				 * be in @buf or yet to come. Receiving again
				 * without looking would wait forever for a dump
				 * that has ended. */
				while (!dump_ends_in(buf, n, seq)) {
					n = mnl_socket_recvfrom(s->nl, buf, sizeof(buf));
					if (n < 0 && errno != EINTR) {
						g_set_error(error, VW_ERROR, VW_ERROR_FAILED, "netlink receive failed: %s",
							    g_strerror(errno));
						return false;
					}
				}
				g_set_error(error, dump_interrupted_quark(), 0,
					    "the ruleset kept changing while virtwire read it (%d attempts)", DUMP_ATTEMPTS);
				return false;
			}
			g_set_error(error, VW_ERROR, VW_ERROR_FAILED, "reading nftables failed: %s", g_strerror(errno));
			return false;
		}
	}
}

/* Whether to read again after @err (clearing it then), with a short pause
 * so a burst of changes can pass. */
static bool read_again(GError **err, guint attempt)
{
	if (!g_error_matches(*err, dump_interrupted_quark(), 0) || attempt + 1 >= DUMP_ATTEMPTS)
		return false;
	g_clear_error(err);
	g_usleep(1000 * (attempt < 10 ? 1 : 10));
	return true;
}

static int table_cb(const struct nlmsghdr *nlh, void *data)
{
	*(bool *)data = true;
	return MNL_CB_OK;
}

static int chain_cb(const struct nlmsghdr *nlh, void *data)
{
	VwKTable *t = data;
	g_autoptr(nftnl_chain) c = nftnl_chain_alloc();
	VwKChain *kc;
	const char *name;

	if (nftnl_chain_nlmsg_parse(nlh, c) < 0)
		return MNL_CB_OK;
	if (g_strcmp0(nftnl_chain_get_str(c, NFTNL_CHAIN_TABLE), VW_NFT_TABLE) != 0 ||
	    nftnl_chain_get_u32(c, NFTNL_CHAIN_FAMILY) != NFPROTO_INET)
		return MNL_CB_OK;
	name = nftnl_chain_get_str(c, NFTNL_CHAIN_NAME);
	kc = g_new0(VwKChain, 1);
	kc->rules = g_ptr_array_new_with_free_func(g_free);
	kc->handle = nftnl_chain_get_u64(c, NFTNL_CHAIN_HANDLE);
	if (nftnl_chain_is_set(c, NFTNL_CHAIN_HOOKNUM)) {
		kc->base = true;
		kc->hook = nftnl_chain_get_u32(c, NFTNL_CHAIN_HOOKNUM);
		kc->prio = nftnl_chain_get_s32(c, NFTNL_CHAIN_PRIO);
		kc->type = g_strdup(nftnl_chain_get_str(c, NFTNL_CHAIN_TYPE));
	}
	g_ptr_array_add(t->chain_order, g_strdup(name));
	g_hash_table_replace(t->chains, g_strdup(name), kc);
	return MNL_CB_OK;
}

static int rule_cb(const struct nlmsghdr *nlh, void *data)
{
	VwKTable *t = data;
	g_autoptr(nftnl_rule) r = nftnl_rule_alloc();
	VwKChain *kc;

	if (nftnl_rule_nlmsg_parse(nlh, r) < 0)
		return MNL_CB_OK;
	if (g_strcmp0(nftnl_rule_get_str(r, NFTNL_RULE_TABLE), VW_NFT_TABLE) != 0 ||
	    nftnl_rule_get_u32(r, NFTNL_RULE_FAMILY) != NFPROTO_INET)
		return MNL_CB_OK;
	kc = g_hash_table_lookup(t->chains, nftnl_rule_get_str(r, NFTNL_RULE_CHAIN));
	if (kc)
		g_ptr_array_add(kc->rules, vw_nft_rule_canon(r));
	return MNL_CB_OK;
}

static int set_cb(const struct nlmsghdr *nlh, void *data)
{
	VwKTable *t = data;
	g_autoptr(nftnl_set) s = nftnl_set_alloc();
	VwKSet *ks;

	if (nftnl_set_nlmsg_parse(nlh, s) < 0)
		return MNL_CB_OK;
	if (g_strcmp0(nftnl_set_get_str(s, NFTNL_SET_TABLE), VW_NFT_TABLE) != 0 ||
	    nftnl_set_get_u32(s, NFTNL_SET_FAMILY) != NFPROTO_INET)
		return MNL_CB_OK;
	ks = g_new0(VwKSet, 1);
	ks->flags = nftnl_set_get_u32(s, NFTNL_SET_FLAGS);
	ks->key_type = nftnl_set_get_u32(s, NFTNL_SET_KEY_TYPE);
	ks->key_len = nftnl_set_get_u32(s, NFTNL_SET_KEY_LEN);
	if (nftnl_set_is_set(s, NFTNL_SET_DATA_TYPE)) {
		ks->data_type = nftnl_set_get_u32(s, NFTNL_SET_DATA_TYPE);
		ks->data_len = nftnl_set_get_u32(s, NFTNL_SET_DATA_LEN);
	}
	ks->elems = g_hash_table_new_full(vw_kelem_hash, vw_kelem_equal, (GDestroyNotify)kelem_free, NULL);
	g_hash_table_replace(t->sets, g_strdup(nftnl_set_get_str(s, NFTNL_SET_NAME)), ks);
	return MNL_CB_OK;
}

static int comment_cb(const struct nftnl_udata *attr, void *data)
{
	if (nftnl_udata_type(attr) == NFTNL_UDATA_SET_ELEM_COMMENT) {
		const char *v = nftnl_udata_get(attr);
		uint8_t len = nftnl_udata_len(attr);

		if (len > 0 && v[len - 1] == '\0')
			*(char **)data = g_strdup(v);
	}
	return 0;
}

static int counter_cb(struct nftnl_expr *x, void *data)
{
	VwKElem *k = data;

	if (g_strcmp0(nftnl_expr_get_str(x, NFTNL_EXPR_NAME), "counter") == 0) {
		k->has_counter = true;
		k->packets = nftnl_expr_get_u64(x, NFTNL_EXPR_CTR_PACKETS);
		k->bytes = nftnl_expr_get_u64(x, NFTNL_EXPR_CTR_BYTES);
	}
	return 0;
}

static int elem_cb(const struct nlmsghdr *nlh, void *data)
{
	VwKSet *ks = data;
	g_autoptr(nftnl_set) s = nftnl_set_alloc();
	struct nftnl_set_elems_iter *it;
	struct nftnl_set_elem *e;

	if (nftnl_set_elems_nlmsg_parse(nlh, s) < 0)
		return MNL_CB_OK;
	it = nftnl_set_elems_iter_create(s);
	while ((e = nftnl_set_elems_iter_next(it))) {
		VwKElem *k = g_new0(VwKElem, 1);
		uint32_t len;
		const void *p;

		if ((p = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &len)) && len <= VW_NFT_DATA_MAX) {
			memcpy(k->key, p, len);
			k->key_len = len;
		}
		if ((p = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY_END, &len)) && len <= VW_NFT_DATA_MAX) {
			memcpy(k->key_end, p, len);
			k->key_end_len = len;
		}
		if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_FLAGS))
			k->flags = nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_FLAGS);
		if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_VERDICT)) {
			k->has_verdict = true;
			k->verdict = (int32_t)nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_VERDICT);
			if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_CHAIN))
				k->chain = g_strdup(nftnl_set_elem_get_str(e, NFTNL_SET_ELEM_CHAIN));
		} else if ((p = nftnl_set_elem_get(e, NFTNL_SET_ELEM_DATA, &len)) && len <= VW_NFT_DATA_MAX) {
			memcpy(k->data, p, len);
			k->data_len = len;
		}
		if ((p = nftnl_set_elem_get(e, NFTNL_SET_ELEM_USERDATA, &len)))
			nftnl_udata_parse(p, len, comment_cb, &k->owner);
		nftnl_set_elem_expr_foreach(e, counter_cb, k);
		/* Interval maps report their data length on end elements too:
		 * keep the element identity to key, key end and flags. */
		g_hash_table_replace(ks->elems, k, k);
	}
	nftnl_set_elems_iter_destroy(it);
	return MNL_CB_OK;
}

static int ignore_cb(const struct nlmsghdr *nlh, void *data)
{
	return MNL_CB_OK;
}

static int gen_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nftnl_gen *g = nftnl_gen_alloc();

	if (nftnl_gen_nlmsg_parse(nlh, g) == 0 && nftnl_gen_is_set(g, NFTNL_GEN_ID)) {
		*(uint32_t *)data = nftnl_gen_get_u32(g, NFTNL_GEN_ID);
	}
	nftnl_gen_free(g);
	return MNL_CB_OK;
}

bool vw_nft_sock_generation(VwNftSock *s, uint32_t *gen, GError **error)
{
	char buf[256];
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETGEN, AF_UNSPEC, NLM_F_ACK, ++s->seq);

	*gen = 0;
	return dump(s, nlh, gen_cb, gen, NULL, error);
}

bool vw_nft_generation(uint32_t *gen, GError **error)
{
	g_autoptr(VwNftSock) s = vw_nft_sock_open(error);

	return s && vw_nft_sock_generation(s, gen, error);
}

static int collect_cb(const struct nlmsghdr *nlh, void *data)
{
	g_ptr_array_add(data, g_memdup2(nlh, nlh->nlmsg_len));
	return MNL_CB_OK;
}

static bool dump_rules_once(VwNftSock *s, int family, const char *table, const char *chain, GPtrArray *msgs,
			    bool *exists, GError **error);

/* The rules of a chain to @cb, from one consistent dump: the replies are
 * kept until the dump completed uninterrupted (read again otherwise), so
 * @cb sees each rule once. */
bool vw_nft_dump_rules(VwNftSock *s, int family, const char *table, const char *chain,
		       int (*cb)(const struct nlmsghdr *nlh, void *data), void *data, bool *exists, GError **error)
{
	g_autoptr(GError) err = NULL;

	for (guint attempt = 0;; attempt++) {
		g_autoptr(GPtrArray) msgs = g_ptr_array_new_with_free_func(g_free);

		if (dump_rules_once(s, family, table, chain, msgs, exists, &err)) {
			for (guint i = 0; i < msgs->len; i++)
				if (cb(msgs->pdata[i], data) <= MNL_CB_STOP)
					break;
			return true;
		}
		if (!read_again(&err, attempt))
			break;
	}
	g_propagate_error(error, g_steal_pointer(&err));
	return false;
}

static bool dump_rules_once(VwNftSock *s, int family, const char *table, const char *chain, GPtrArray *msgs,
			    bool *exists, GError **error)
{
	g_autoptr(nftnl_rule) r = nftnl_rule_alloc();
	char buf[8192];
	struct nlmsghdr *nlh;
	bool missing;

	g_autoptr(nftnl_chain) c = nftnl_chain_alloc();

	/* A dump of a table that is not there is just empty: ask for the
	 * chain itself first. */
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, table);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, chain);
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETCHAIN, (uint16_t)family, NLM_F_ACK, ++s->seq);
	nftnl_chain_nlmsg_build_payload(nlh, c);
	if (!dump(s, nlh, ignore_cb, NULL, &missing, error))
		return false;
	*exists = !missing;
	if (missing)
		return true;

	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, table);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETRULE, (uint16_t)family, NLM_F_DUMP, ++s->seq);
	nftnl_rule_nlmsg_build_payload(nlh, r);
	return dump(s, nlh, collect_cb, msgs, NULL, error);
}

static bool read_once(VwNftSock *s, bool no_elems, VwKTable **ret, GError **error);

/* The table as the kernel holds it, from dumps none of which was
 * interrupted by a change (each attempt starts from scratch). */
bool vw_nft_read(VwNftSock *s, bool no_elems, VwKTable **ret, GError **error)
{
	g_autoptr(GError) err = NULL;

	for (guint attempt = 0;; attempt++) {
		if (read_once(s, no_elems, ret, &err))
			return true;
		if (!read_again(&err, attempt))
			break;
	}
	g_propagate_error(error, g_steal_pointer(&err));
	return false;
}

static bool read_once(VwNftSock *s, bool no_elems, VwKTable **ret, GError **error)
{
	g_autoptr(VwKTable) t = g_new0(VwKTable, 1);
	char buf[8192];
	struct nlmsghdr *nlh;
	bool missing;
	GHashTableIter it;
	gpointer name, value;

	t->chains = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)kchain_free);
	t->sets = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)kset_free);
	t->chain_order = g_ptr_array_new_with_free_func(g_free);

	{
		g_autoptr(nftnl_table) tb = vw_nft_build_table();

		nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETTABLE, NFPROTO_INET, NLM_F_ACK, ++s->seq);
		nftnl_table_nlmsg_build_payload(nlh, tb);
		if (!dump(s, nlh, table_cb, &t->exists, &missing, error))
			return false;
		if (missing || !t->exists) {
			t->exists = false;
			*ret = g_steal_pointer(&t);
			return true;
		}
	}
	{
		g_autoptr(nftnl_chain) c = nftnl_chain_alloc();

		nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, VW_NFT_TABLE);
		nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETCHAIN, NFPROTO_INET, NLM_F_DUMP, ++s->seq);
		nftnl_chain_nlmsg_build_payload(nlh, c);
		if (!dump(s, nlh, chain_cb, t, NULL, error))
			return false;
	}
	{
		g_autoptr(nftnl_rule) r = nftnl_rule_alloc();

		nftnl_rule_set_str(r, NFTNL_RULE_TABLE, VW_NFT_TABLE);
		nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETRULE, NFPROTO_INET, NLM_F_DUMP, ++s->seq);
		nftnl_rule_nlmsg_build_payload(nlh, r);
		if (!dump(s, nlh, rule_cb, t, NULL, error))
			return false;
	}
	{
		g_autoptr(nftnl_set) st = nftnl_set_alloc();

		nftnl_set_set_str(st, NFTNL_SET_TABLE, VW_NFT_TABLE);
		nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETSET, NFPROTO_INET, NLM_F_DUMP, ++s->seq);
		nftnl_set_nlmsg_build_payload(nlh, st);
		if (!dump(s, nlh, set_cb, t, NULL, error))
			return false;
	}
	if (no_elems) {
		*ret = g_steal_pointer(&t);
		return true;
	}
	g_hash_table_iter_init(&it, t->sets);
	while (g_hash_table_iter_next(&it, &name, &value)) {
		g_autoptr(nftnl_set) st = nftnl_set_alloc();

		nftnl_set_set_str(st, NFTNL_SET_TABLE, VW_NFT_TABLE);
		nftnl_set_set_str(st, NFTNL_SET_NAME, name);
		nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETSETELEM, NFPROTO_INET, NLM_F_DUMP, ++s->seq);
		nftnl_set_elems_nlmsg_build_payload(nlh, st);
		if (!dump(s, nlh, elem_cb, value, NULL, error))
			return false;
	}
	*ret = g_steal_pointer(&t);
	return true;
}

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

VwBatch *vw_batch_new(void)
{
	VwBatch *b = g_new0(VwBatch, 1);
	long page = sysconf(_SC_PAGESIZE);

	/* Pages of 32 memory pages; a single message (a nest of set elements)
	 * can reach 64 KiB, which the overrun room must hold. */
	b->nb = nftnl_batch_alloc((uint32_t)page * 32, UINT16_MAX + (uint32_t)page);
	b->msgs = g_array_new(FALSE, TRUE, sizeof(MsgInfo));
	g_array_set_clear_func(b->msgs, (GDestroyNotify)msginfo_clear);
	b->seq = (uint32_t)time(NULL) << 8;
	b->fault_after = -1;
	nftnl_batch_begin(nftnl_batch_buffer(b->nb), b->seq++);
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

static struct nlmsghdr *msg_start(VwBatch *b, uint16_t type, uint16_t flags, char *what)
{
	return msg_start_family(b, type, NFPROTO_INET, flags, what);
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

void vw_batch_add_table(VwBatch *b)
{
	g_autoptr(nftnl_table) t = vw_nft_build_table();
	struct nlmsghdr *nlh = msg_start(b, NFT_MSG_NEWTABLE, NLM_F_CREATE, g_strdup("create table inet " VW_NFT_TABLE));

	nftnl_table_nlmsg_build_payload(nlh, t);
	msg_end(b, nlh);
}

void vw_batch_del_table(VwBatch *b)
{
	g_autoptr(nftnl_table) t = vw_nft_build_table();
	struct nlmsghdr *nlh = msg_start(b, NFT_MSG_DELTABLE, 0, g_strdup("delete table inet " VW_NFT_TABLE));

	nftnl_table_nlmsg_build_payload(nlh, t);
	msg_end(b, nlh);
}

void vw_batch_add_set(VwBatch *b, const VwSet *s)
{
	g_autoptr(nftnl_set) ns = vw_nft_build_set(s);
	struct nlmsghdr *nlh = msg_start(b, NFT_MSG_NEWSET, NLM_F_CREATE,
					 g_strdup_printf("create %s %s", s->is_map ? "map" : "set", s->name));

	/* The kernel wants an id for every new set, unique in the batch. */
	nftnl_set_set_u32(ns, NFTNL_SET_ID, b->count + 1);
	nftnl_set_nlmsg_build_payload(nlh, ns);
	msg_end(b, nlh);
}

void vw_batch_add_chain(VwBatch *b, const VwChain *c)
{
	g_autoptr(nftnl_chain) nc = vw_nft_build_chain(c);
	struct nlmsghdr *nlh = msg_start(b, NFT_MSG_NEWCHAIN, NLM_F_CREATE, g_strdup_printf("create chain %s", c->name));

	nftnl_chain_nlmsg_build_payload(nlh, nc);
	msg_end(b, nlh);
}

static struct nftnl_chain *named_chain(const char *name)
{
	struct nftnl_chain *c = nftnl_chain_alloc();

	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, VW_NFT_TABLE);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, NFPROTO_INET);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name);
	return c;
}

void vw_batch_flush_chain(VwBatch *b, const char *chain)
{
	g_autoptr(nftnl_rule) r = nftnl_rule_alloc();
	struct nlmsghdr *nlh = msg_start(b, NFT_MSG_DELRULE, 0, g_strdup_printf("flush chain %s", chain));

	/* DELRULE without a handle removes every rule of the chain. */
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, VW_NFT_TABLE);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_INET);
	nftnl_rule_nlmsg_build_payload(nlh, r);
	msg_end(b, nlh);
}

void vw_batch_del_chain(VwBatch *b, const char *chain)
{
	g_autoptr(nftnl_chain) c = named_chain(chain);
	struct nlmsghdr *nlh = msg_start(b, NFT_MSG_DELCHAIN, 0, g_strdup_printf("delete chain %s", chain));

	nftnl_chain_nlmsg_build_payload(nlh, c);
	msg_end(b, nlh);
}

void vw_batch_add_rule(VwBatch *b, const char *chain, const VwRule *r)
{
	g_autoptr(nftnl_rule) nr = vw_nft_build_rule(chain, r);
	struct nlmsghdr *nlh = msg_start(b, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND,
					 g_strdup_printf("add rule to chain %s: %s", chain, r->text));

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
						NLM_F_CREATE, g_strdup_printf("insert virtwire's rule at the top of %s", what));

	nftnl_rule_nlmsg_build_payload(nlh, r);
	msg_end(b, nlh);
}

static char *elem_what(bool add, const char *set, const VwElem *e, guint n)
{
	const char *first = e->text ? e->text : "(interval end)";

	if (n == 1)
		return g_strdup_printf("%s element %s %s %s", add ? "add" : "delete", first, add ? "to" : "from", set);
	return g_strdup_printf("%s %u elements %s %s (the first: %s)", add ? "add" : "delete", n, add ? "to" : "from", set,
			       first);
}

/* Elements per message: at most ~250 bytes each (two IPv6 concatenations and
 * an owner comment), so 128 stay well inside a 64 KiB attribute nest. */
#define ELEMS_PER_MSG 128

void vw_batch_elems(VwBatch *b, bool add, const char *set, GPtrArray *elems)
{
	for (guint i = 0; i < elems->len; i += ELEMS_PER_MSG) {
		g_autoptr(nftnl_set) ns = nftnl_set_alloc();
		guint n = MIN(ELEMS_PER_MSG, elems->len - i);
		struct nlmsghdr *nlh;

		nftnl_set_set_str(ns, NFTNL_SET_TABLE, VW_NFT_TABLE);
		nftnl_set_set_u32(ns, NFTNL_SET_FAMILY, NFPROTO_INET);
		nftnl_set_set_str(ns, NFTNL_SET_NAME, set);
		for (guint j = 0; j < n; j++)
			nftnl_set_elem_add(ns, vw_nft_build_elem(elems->pdata[i + j]));
		nlh = msg_start(b, add ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM, add ? NLM_F_CREATE : 0,
				elem_what(add, set, elems->pdata[i], n));
		nftnl_set_elems_nlmsg_build_payload(nlh, ns);
		msg_end(b, nlh);
	}
}

static void add_fault(VwBatch *b)
{
	g_autoptr(nftnl_rule) r = nftnl_rule_alloc();
	struct nlmsghdr *nlh = msg_start(b, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND,
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
	mnl_attr_for_each(a, nlh, off)
	{
		if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG)
			return g_strdup(mnl_attr_get_str(a));
	}
	return NULL;
}

bool vw_batch_send(VwNftSock *s, VwBatch *b, GError **error)
{
	char buf[RECV_BUF_SIZE];
	int fd = mnl_socket_get_fd(s->nl);
	int bufsize;
	struct iovec *iov;
	struct msghdr msg = { 0 };
	struct sockaddr_nl snl = { .nl_family = AF_NETLINK };
	guint niov;
	ssize_t n;
	int first_err = 0;
	uint32_t first_seq = 0;
	g_autofree char *first_ext = NULL;

	if (b->fault_after >= 0 && !b->fault_done) {
		b->fault_done = true;
		add_fault(b);
	}
	nftnl_batch_end(nftnl_batch_buffer(b->nb), b->seq++);
	nftnl_batch_update(b->nb);

	/* The kernel handles the whole batch inside sendmsg() and queues an
	 * error for each message it refused: make room for the batch and for
	 * the errors (each one echoes the message it refers to). */
	bufsize = (int)MIN(b->bytes + 65536, (size_t)INT_MAX / 2);
	setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &bufsize, sizeof(bufsize));
	bufsize = (int)MIN((size_t)b->count * 1024 + 262144, (size_t)INT_MAX / 2);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bufsize, sizeof(bufsize));

	niov = (guint)nftnl_batch_iovec_len(b->nb);
	iov = g_new(struct iovec, niov);
	nftnl_batch_iovec(b->nb, iov, niov);
	msg.msg_name = &snl;
	msg.msg_namelen = sizeof(snl);
	msg.msg_iov = iov;
	msg.msg_iovlen = niov;
	n = sendmsg(fd, &msg, 0);
	g_free(iov);
	if (n < 0) {
		g_set_error(error, VW_ERROR, VW_ERROR_FAILED, "sending the nftables batch failed: %s", g_strerror(errno));
		return false;
	}
	for (;;) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		const struct nlmsghdr *nlh;

		if (poll(&pfd, 1, 0) <= 0)
			break;
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ENOBUFS) {
				/* Acks were lost, errors too perhaps: say so. */
				g_set_error(error, VW_ERROR, VW_ERROR_FAILED,
					    "the kernel's replies to the nftables batch overflowed the socket");
				return false;
			}
			break;
		}
		for (nlh = (const struct nlmsghdr *)buf; mnl_nlmsg_ok(nlh, (int)n); nlh = mnl_nlmsg_next(nlh, (int *)&n)) {
			const struct nlmsgerr *err;

			if (nlh->nlmsg_type != NLMSG_ERROR)
				continue;
			err = mnl_nlmsg_get_payload(nlh);
			if (err->error == 0 || first_err)
				continue;
			first_err = -err->error;
			first_seq = err->msg.nlmsg_seq;
			first_ext = ext_ack_message(nlh);
		}
	}
	if (first_err) {
		const char *what = msg_what(b, first_seq);

		g_set_error(error, VW_ERROR, VW_ERROR_FAILED, "the kernel refused to %s: %s%s%s%s; nothing was changed",
			    what ? what : "commit the nftables batch", g_strerror(first_err), first_ext ? " (" : "",
			    first_ext ? first_ext : "", first_ext ? ")" : "");
		return false;
	}
	return true;
}
