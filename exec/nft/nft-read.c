/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Reading nftables through a backend: virtwire's tables, the chains of
 * other tables virtwire keeps a rule in, the ruleset's generation. */
#include <errno.h>
#include <string.h>
#include <time.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <libnftnl/gen.h>
#include <libnftnl/udata.h>

#include "nft-private.h"

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

void vw_kelem_free(VwKElem *e)
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

/* Sequence numbers of requests: replies are matched to them. */
static uint32_t next_seq(void)
{
	static uint32_t seq;

	if (!seq)
		seq = (uint32_t)time(NULL);
	return ++seq;
}

#define DUMP_ATTEMPTS 100

/* One request through the backend. -ENOENT → *@missing (when asked);
 * -EINTR (a dump interrupted by a change) → *@again. */
static bool request(const VwNftBackend *be, struct nlmsghdr *nlh, VwNftReplyFn cb, void *data, bool *missing,
		    bool *again, GError **error)
{
	int e = be->request(be->ctx, nlh, cb, data);

	if (missing)
		*missing = e == -ENOENT;
	if (again)
		*again = e == -EINTR;
	if (e == 0 || (e == -ENOENT && missing) || (e == -EINTR && again))
		return true;
	if (e == -EINTR)
		return g_set_error(error, VW_ERROR, VW_ERROR_FAILED,
				   "the ruleset kept changing while virtwire read it (%d attempts)", DUMP_ATTEMPTS),
		       false;
	return vw_set_errno(error, e, NULL, "reading nftables failed");
}

/* Whether to read again after an interrupted dump, with a short pause so a
 * burst of changes can pass. */
static bool read_again(guint attempt)
{
	if (attempt + 1 >= DUMP_ATTEMPTS)
		return false;
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
	if (g_strcmp0(nftnl_chain_get_str(c, NFTNL_CHAIN_TABLE), t->name) != 0 ||
	    nftnl_chain_get_u32(c, NFTNL_CHAIN_FAMILY) != (uint32_t)t->family)
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
	if (g_strcmp0(nftnl_rule_get_str(r, NFTNL_RULE_TABLE), t->name) != 0 ||
	    nftnl_rule_get_u32(r, NFTNL_RULE_FAMILY) != (uint32_t)t->family)
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
	if (g_strcmp0(nftnl_set_get_str(s, NFTNL_SET_TABLE), t->name) != 0 ||
	    nftnl_set_get_u32(s, NFTNL_SET_FAMILY) != (uint32_t)t->family)
		return MNL_CB_OK;
	ks = g_new0(VwKSet, 1);
	ks->flags = nftnl_set_get_u32(s, NFTNL_SET_FLAGS);
	ks->key_type = nftnl_set_get_u32(s, NFTNL_SET_KEY_TYPE);
	ks->key_len = nftnl_set_get_u32(s, NFTNL_SET_KEY_LEN);
	if (nftnl_set_is_set(s, NFTNL_SET_DATA_TYPE)) {
		ks->data_type = nftnl_set_get_u32(s, NFTNL_SET_DATA_TYPE);
		ks->data_len = nftnl_set_get_u32(s, NFTNL_SET_DATA_LEN);
	}
	ks->elems = g_hash_table_new_full(vw_kelem_hash, vw_kelem_equal, (GDestroyNotify)vw_kelem_free, NULL);
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

bool vw_nft_generation(const VwNftBackend *be, uint32_t *gen, GError **error)
{
	char buf[256];
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETGEN, AF_UNSPEC, NLM_F_ACK, next_seq());

	*gen = 0;
	return request(be, nlh, gen_cb, gen, NULL, NULL, error);
}

static int collect_cb(const struct nlmsghdr *nlh, void *data)
{
	g_ptr_array_add(data, g_memdup2(nlh, nlh->nlmsg_len));
	return MNL_CB_OK;
}

/* The rule messages of one chain, from one dump; *@again when it was
 * interrupted. */
static bool dump_rules_once(const VwNftBackend *be, int family, const char *table, const char *chain, GPtrArray *msgs,
			    bool *exists, bool *again, GError **error)
{
	g_autoptr(nftnl_rule) r = nftnl_rule_alloc();
	g_autoptr(nftnl_chain) c = nftnl_chain_alloc();
	char buf[8192];
	struct nlmsghdr *nlh;
	bool missing;

	/* A dump of a table that is not there is just empty: ask for the
	 * chain itself first. */
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, table);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, chain);
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETCHAIN, (uint16_t)family, NLM_F_ACK, next_seq());
	nftnl_chain_nlmsg_build_payload(nlh, c);
	*again = false;
	if (!request(be, nlh, ignore_cb, NULL, &missing, NULL, error))
		return false;
	*exists = !missing;
	if (missing)
		return true;
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, table);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETRULE, (uint16_t)family, NLM_F_DUMP, next_seq());
	nftnl_rule_nlmsg_build_payload(nlh, r);
	return request(be, nlh, collect_cb, msgs, NULL, again, error);
}

/* The rules of a chain to @cb, from one consistent dump: the replies are
 * kept until the dump completed uninterrupted (read again otherwise), so
 * @cb sees each rule once. */
bool vw_nft_dump_rules(const VwNftBackend *be, int family, const char *table, const char *chain, VwNftReplyFn cb,
		       void *data, bool *exists, GError **error)
{
	for (guint attempt = 0;; attempt++) {
		g_autoptr(GPtrArray) msgs = g_ptr_array_new_with_free_func(g_free);
		bool again;

		if (!dump_rules_once(be, family, table, chain, msgs, exists, &again, error))
			return false;
		if (!again) {
			for (guint i = 0; i < msgs->len; i++)
				if (cb(msgs->pdata[i], data) <= MNL_CB_STOP)
					break;
			return true;
		}
		if (!read_again(attempt))
			return g_set_error(error, VW_ERROR, VW_ERROR_FAILED,
					   "the ruleset kept changing while virtwire read it (%d attempts)",
					   DUMP_ATTEMPTS),
			       false;
	}
}

static VwKTable *ktable_new(const VwTable *of)
{
	VwKTable *t = g_new0(VwKTable, 1);

	t->family = of->family;
	t->name = of->name;
	t->chains = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)kchain_free);
	t->sets = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)kset_free);
	t->chain_order = g_ptr_array_new_with_free_func(g_free);
	return t;
}

/* One dump of the table's objects of message type @type into @cb. */
static bool dump_objects(const VwNftBackend *be, VwKTable *t, uint16_t type, VwNftReplyFn cb, bool *again,
			 GError **error)
{
	char buf[8192];
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, type, (uint16_t)t->family, NLM_F_DUMP, next_seq());

	/* Chains, rules and sets take the table's name in the same attribute
	 * number (NFTA_*_TABLE = 1). */
	mnl_attr_put_strz(nlh, NFTA_CHAIN_TABLE, t->name);
	return request(be, nlh, cb, t, NULL, again, error);
}

static bool dump_elems(const VwNftBackend *be, VwKTable *t, bool *again, GError **error)
{
	GHashTableIter it;
	gpointer name, value;

	g_hash_table_iter_init(&it, t->sets);
	while (g_hash_table_iter_next(&it, &name, &value)) {
		g_autoptr(nftnl_set) st = nftnl_set_alloc();
		char buf[8192];
		struct nlmsghdr *nlh;

		nftnl_set_set_str(st, NFTNL_SET_TABLE, t->name);
		nftnl_set_set_str(st, NFTNL_SET_NAME, name);
		nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETSETELEM, (uint16_t)t->family, NLM_F_DUMP, next_seq());
		nftnl_set_elems_nlmsg_build_payload(nlh, st);
		if (!request(be, nlh, elem_cb, value, NULL, again, error))
			return false;
		if (*again)
			return true;
	}
	return true;
}

/* The whole table once; *@again when a dump was interrupted. */
static bool read_once(const VwNftBackend *be, const VwTable *of, bool no_elems, VwKTable **ret, bool *again,
		      GError **error)
{
	g_autoptr(VwKTable) t = ktable_new(of);
	g_autoptr(nftnl_table) tb = vw_nft_build_table(of);
	char buf[8192];
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETTABLE, (uint16_t)of->family, NLM_F_ACK,
						     next_seq());
	bool missing;

	*again = false;
	nftnl_table_nlmsg_build_payload(nlh, tb);
	if (!request(be, nlh, table_cb, &t->exists, &missing, NULL, error))
		return false;
	if (!missing && t->exists &&
	    (!dump_objects(be, t, NFT_MSG_GETCHAIN, chain_cb, again, error) ||
	     (!*again && !dump_objects(be, t, NFT_MSG_GETRULE, rule_cb, again, error)) ||
	     (!*again && !dump_objects(be, t, NFT_MSG_GETSET, set_cb, again, error)) ||
	     (!*again && !no_elems && !dump_elems(be, t, again, error))))
		return false;
	t->exists = t->exists && !missing;
	*ret = g_steal_pointer(&t);
	return true;
}

/* The table as the kernel holds it, from dumps none of which was
 * interrupted by a change (each attempt starts from scratch). */
bool vw_nft_read(const VwNftBackend *be, const VwTable *of, bool no_elems, VwKTable **ret, GError **error)
{
	for (guint attempt = 0;; attempt++) {
		g_autoptr(VwKTable) t = NULL;
		bool again;

		if (!read_once(be, of, no_elems, &t, &again, error))
			return false;
		if (!again) {
			*ret = g_steal_pointer(&t);
			return true;
		}
		if (!read_again(attempt))
			break;
	}
	return g_set_error(error, VW_ERROR, VW_ERROR_FAILED,
			   "the ruleset kept changing while virtwire read it (%d attempts)", DUMP_ATTEMPTS),
	       false;
}

bool vw_nft_get_elem(const VwNftBackend *be, const VwTable *t, const VwSet *s, const VwElem *probe, VwKElem **ret,
		     GError **error)
{
	g_autoptr(nftnl_set) ns = nftnl_set_alloc();
	struct nftnl_set_elem *e = nftnl_set_elem_alloc();
	VwKSet ks = { .elems = g_hash_table_new_full(vw_kelem_hash, vw_kelem_equal, (GDestroyNotify)vw_kelem_free,
						     NULL) };
	char buf[1024];
	struct nlmsghdr *nlh;
	GHashTableIter it;
	gpointer k = NULL;
	bool missing, ok;

	/* The key alone identifies it (with its end, for a concatenated
	 * interval): what `nft get element` sends. */
	nftnl_set_set_str(ns, NFTNL_SET_TABLE, t->name);
	nftnl_set_set_str(ns, NFTNL_SET_NAME, s->name);
	nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, probe->key, probe->key_len);
	if (probe->key_end_len)
		nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY_END, probe->key_end, probe->key_end_len);
	if (probe->flags)
		nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_FLAGS, probe->flags);
	nftnl_set_elem_add(ns, e);
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETSETELEM, (uint16_t)t->family, NLM_F_ACK, next_seq());
	nftnl_set_elems_nlmsg_build_payload(nlh, ns);
	*ret = NULL;
	ok = request(be, nlh, elem_cb, &ks, &missing, NULL, error);
	g_hash_table_iter_init(&it, ks.elems);
	if (ok && !missing && g_hash_table_iter_next(&it, &k, NULL)) {
		g_hash_table_iter_steal(&it);
		*ret = k;
	}
	g_hash_table_unref(ks.elems);
	return ok;
}

bool vw_nft_dump_set(const VwNftBackend *be, const VwTable *t, const VwSet *s, GPtrArray *out, GError **error)
{
	g_autoptr(nftnl_set) ns = nftnl_set_alloc();
	VwKSet ks = { .elems = g_hash_table_new_full(vw_kelem_hash, vw_kelem_equal, (GDestroyNotify)vw_kelem_free,
						     NULL) };
	char buf[8192];
	struct nlmsghdr *nlh;
	GHashTableIter it;
	gpointer k;
	bool again = false, ok;

	nftnl_set_set_str(ns, NFTNL_SET_TABLE, t->name);
	nftnl_set_set_str(ns, NFTNL_SET_NAME, s->name);
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETSETELEM, (uint16_t)t->family, NLM_F_DUMP, next_seq());
	nftnl_set_elems_nlmsg_build_payload(nlh, ns);
	/* An interrupted dump is no answer: the caller leaves the decision
	 * to the full path. */
	ok = request(be, nlh, elem_cb, &ks, NULL, &again, error) && !again;
	g_hash_table_iter_init(&it, ks.elems);
	while (ok && g_hash_table_iter_next(&it, &k, NULL)) {
		g_hash_table_iter_steal(&it);
		g_ptr_array_add(out, k);
	}
	g_hash_table_unref(ks.elems);
	return ok;
}
