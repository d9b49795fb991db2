/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The fake nf_tables kernel (see fake-nft.h). Batches are read with libmnl
 * and libnftnl as the kernel reads them and applied to a copy of the
 * ruleset, which replaces it only when every message was accepted. Replies
 * are built with libnftnl's message builders and handed to the caller's
 * callback through mnl_cb_run, as the real backend does.
 *
 * Set elements are parsed here with libmnl: libnftnl 1.2.4 numbers the
 * elements of a list nest 1, 2, 3 … when it builds one but accepts only
 * NFTA_LIST_ELEM when it parses one (the kernel takes both), so a message
 * of several elements it built does not parse back with it.
 */
#include <endian.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_comment.h>
#include <sys/uio.h>
#include <libnftnl/batch.h>
#include <libnftnl/udata.h>

#include "fake-nft.h"
#include "nft-private.h"

/* A reply message's room: a nest of set elements stays within 64 KiB. */
#define MSG_ROOM (128 * 1024)
/* Elements per reply message, as the kernel fills a page with them. */
#define ELEMS_PER_REPLY 32

/* ====================================================================== */
/* The ruleset */

typedef struct {
	NftElemText t;
	GBytes *udata; /* as sent */
} FElem;

typedef struct {
	struct nftnl_rule *r; /* as the kernel reports it (handle set) */
	uint64_t handle;
} FRule;

typedef struct {
	char *name;
	uint64_t handle;
	bool base;
	struct nftnl_chain *c;
	GPtrArray *rules; /* FRule* */
} FChain;

typedef struct {
	char *name;
	struct nftnl_set *s;
	uint32_t flags, klen, dlen;
	bool map, verdict_map, counter;
	GPtrArray *elems; /* FElem*, in insertion order */
	GPtrArray *gone;  /* FElem* the batch being applied deleted */
} FSet;

typedef struct {
	int family;
	char *name;
	uint64_t handle;
	uint64_t hgen;	   /* handles of its chains, sets and rules */
	GPtrArray *chains; /* FChain* */
	GPtrArray *sets;   /* FSet* */
} FTable;

typedef struct {
	GPtrArray *tables; /* FTable* */
	uint64_t thandle;
} Ruleset;

struct FakeNft {
	Ruleset *rs;
	uint32_t gen;
	guint interrupt; /* the dump to interrupt, counted down; 0: none */
	int fail_next;
	guint dumps, batches, gets;
};

static void felem_free(FElem *e)
{
	if (!e)
		return;
	g_free(e->t.chain);
	g_free(e->t.comment);
	if (e->udata)
		g_bytes_unref(e->udata);
	g_free(e);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FElem, felem_free)

static FElem *felem_copy(const FElem *e)
{
	FElem *c = g_memdup2(e, sizeof(*e));

	c->t.chain = g_strdup(e->t.chain);
	c->t.comment = g_strdup(e->t.comment);
	if (c->udata)
		g_bytes_ref(c->udata);
	return c;
}

static void frule_free(FRule *r)
{
	nftnl_rule_free(r->r);
	g_free(r);
}

static void fchain_free(FChain *c)
{
	g_free(c->name);
	nftnl_chain_free(c->c);
	g_ptr_array_unref(c->rules);
	g_free(c);
}

static void fset_free(FSet *s)
{
	g_free(s->name);
	nftnl_set_free(s->s);
	g_ptr_array_unref(s->elems);
	if (s->gone)
		g_ptr_array_unref(s->gone);
	g_free(s);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FSet, fset_free)

static void ftable_free(FTable *t)
{
	g_free(t->name);
	g_ptr_array_unref(t->chains);
	g_ptr_array_unref(t->sets);
	g_free(t);
}

static Ruleset *ruleset_new(void)
{
	Ruleset *rs = g_new0(Ruleset, 1);

	rs->tables = g_ptr_array_new_with_free_func((GDestroyNotify)ftable_free);
	return rs;
}

static void ruleset_free(Ruleset *rs)
{
	if (!rs)
		return;
	g_ptr_array_unref(rs->tables);
	g_free(rs);
}

/* libnftnl objects are copied through a message, as the kernel would. */
static struct nftnl_rule *rule_clone(struct nftnl_rule *r)
{
	g_autofree char *buf = g_malloc(MSG_ROOM);
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_NEWRULE,
						     (uint16_t)nftnl_rule_get_u32(r, NFTNL_RULE_FAMILY), 0, 0);
	struct nftnl_rule *c = nftnl_rule_alloc();

	nftnl_rule_nlmsg_build_payload(nlh, r);
	g_assert_cmpint(nftnl_rule_nlmsg_parse(nlh, c), ==, 0);
	return c;
}

static struct nftnl_chain *chain_clone(const struct nftnl_chain *ch)
{
	char buf[4096];
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_NEWCHAIN,
						     (uint16_t)nftnl_chain_get_u32(ch, NFTNL_CHAIN_FAMILY), 0, 0);
	struct nftnl_chain *c = nftnl_chain_alloc();

	nftnl_chain_nlmsg_build_payload(nlh, ch);
	g_assert_cmpint(nftnl_chain_nlmsg_parse(nlh, c), ==, 0);
	return c;
}

static struct nftnl_set *set_clone(struct nftnl_set *s)
{
	char buf[4096];
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_NEWSET,
						     (uint16_t)nftnl_set_get_u32(s, NFTNL_SET_FAMILY), 0, 0);
	struct nftnl_set *c = nftnl_set_alloc();

	nftnl_set_nlmsg_build_payload(nlh, s);
	g_assert_cmpint(nftnl_set_nlmsg_parse(nlh, c), ==, 0);
	return c;
}

static FChain *fchain_copy(const FChain *c)
{
	FChain *n = g_memdup2(c, sizeof(*c));

	n->name = g_strdup(c->name);
	n->c = chain_clone(c->c);
	n->rules = g_ptr_array_new_with_free_func((GDestroyNotify)frule_free);
	for (guint i = 0; i < c->rules->len; i++) {
		const FRule *r = c->rules->pdata[i];
		FRule *nr = g_new0(FRule, 1);

		nr->r = rule_clone(r->r);
		nr->handle = r->handle;
		g_ptr_array_add(n->rules, nr);
	}
	return n;
}

static FSet *fset_copy(const FSet *s)
{
	FSet *n = g_memdup2(s, sizeof(*s));

	n->name = g_strdup(s->name);
	n->s = set_clone(s->s);
	n->elems = g_ptr_array_new_with_free_func((GDestroyNotify)felem_free);
	n->gone = g_ptr_array_new_with_free_func((GDestroyNotify)felem_free);
	for (guint i = 0; i < s->elems->len; i++)
		g_ptr_array_add(n->elems, felem_copy(s->elems->pdata[i]));
	return n;
}

static FTable *ftable_new(int family, const char *name)
{
	FTable *t = g_new0(FTable, 1);

	t->family = family;
	t->name = g_strdup(name);
	t->chains = g_ptr_array_new_with_free_func((GDestroyNotify)fchain_free);
	t->sets = g_ptr_array_new_with_free_func((GDestroyNotify)fset_free);
	return t;
}

static Ruleset *ruleset_copy(const Ruleset *rs)
{
	Ruleset *n = ruleset_new();

	n->thandle = rs->thandle;
	for (guint i = 0; i < rs->tables->len; i++) {
		const FTable *t = rs->tables->pdata[i];
		FTable *c = ftable_new(t->family, t->name);

		c->handle = t->handle;
		c->hgen = t->hgen;
		for (guint j = 0; j < t->chains->len; j++)
			g_ptr_array_add(c->chains, fchain_copy(t->chains->pdata[j]));
		for (guint j = 0; j < t->sets->len; j++)
			g_ptr_array_add(c->sets, fset_copy(t->sets->pdata[j]));
		g_ptr_array_add(n->tables, c);
	}
	return n;
}

static FTable *table_find(const Ruleset *rs, int family, const char *name)
{
	for (guint i = 0; name && i < rs->tables->len; i++) {
		FTable *t = rs->tables->pdata[i];

		if (t->family == family && strcmp(t->name, name) == 0)
			return t;
	}
	return NULL;
}

static FChain *chain_find(const FTable *t, const char *name)
{
	for (guint i = 0; name && i < t->chains->len; i++) {
		FChain *c = t->chains->pdata[i];

		if (strcmp(c->name, name) == 0)
			return c;
	}
	return NULL;
}

static FSet *set_find(const FTable *t, const char *name)
{
	for (guint i = 0; name && i < t->sets->len; i++) {
		FSet *s = t->sets->pdata[i];

		if (strcmp(s->name, name) == 0)
			return s;
	}
	return NULL;
}

static int rule_index(const FChain *c, uint64_t handle)
{
	for (guint i = 0; i < c->rules->len; i++)
		if (((FRule *)c->rules->pdata[i])->handle == handle)
			return (int)i;
	return -1;
}

static const char *family_name(int family)
{
	switch (family) {
	case NFPROTO_INET:
		return "inet";
	case NFPROTO_IPV4:
		return "ip";
	case NFPROTO_IPV6:
		return "ip6";
	case NFPROTO_BRIDGE:
		return "bridge";
	case NFPROTO_NETDEV:
		return "netdev";
	case NFPROTO_ARP:
		return "arp";
	default:
		return "?";
	}
}

/* ====================================================================== */
/* Elements, parsed with libmnl (see the top of the file) */

typedef struct {
	const struct nlattr **tb;
	int max;
} Attrs;

static int attr_cb(const struct nlattr *a, void *data)
{
	Attrs *at = data;
	int type = mnl_attr_get_type(a);

	if (type <= at->max)
		at->tb[type] = a;
	return MNL_CB_OK;
}

static bool nested(const struct nlattr *nest, const struct nlattr **tb, int max)
{
	Attrs at = { tb, max };

	return mnl_attr_parse_nested(nest, attr_cb, &at) >= 0;
}

static bool parse_value(const struct nlattr *nest, uint8_t *buf, uint32_t *len)
{
	const struct nlattr *tb[NFTA_DATA_MAX + 1] = { 0 };
	uint16_t n;

	if (!nested(nest, tb, NFTA_DATA_MAX) || !tb[NFTA_DATA_VALUE])
		return false;
	n = mnl_attr_get_payload_len(tb[NFTA_DATA_VALUE]);
	if (n == 0 || n > 64)
		return false;
	memcpy(buf, mnl_attr_get_payload(tb[NFTA_DATA_VALUE]), n);
	*len = n;
	return true;
}

static bool parse_data(const struct nlattr *nest, NftElemText *t)
{
	const struct nlattr *tb[NFTA_DATA_MAX + 1] = { 0 };
	const struct nlattr *vb[NFTA_VERDICT_MAX + 1] = { 0 };

	if (!nested(nest, tb, NFTA_DATA_MAX))
		return false;
	if (!tb[NFTA_DATA_VERDICT])
		return parse_value(nest, t->data, &t->data_len);
	if (!nested(tb[NFTA_DATA_VERDICT], vb, NFTA_VERDICT_MAX) || !vb[NFTA_VERDICT_CODE])
		return false;
	t->has_verdict = true;
	t->verdict = (int32_t)ntohl(mnl_attr_get_u32(vb[NFTA_VERDICT_CODE]));
	if (vb[NFTA_VERDICT_CHAIN])
		t->chain = g_strdup(mnl_attr_get_str(vb[NFTA_VERDICT_CHAIN]));
	return true;
}

static void parse_counter(const struct nlattr *expr, NftElemText *t)
{
	const struct nlattr *tb[NFTA_EXPR_MAX + 1] = { 0 };
	const struct nlattr *cb[NFTA_COUNTER_MAX + 1] = { 0 };

	if (!nested(expr, tb, NFTA_EXPR_MAX) || !tb[NFTA_EXPR_NAME] ||
	    strcmp(mnl_attr_get_str(tb[NFTA_EXPR_NAME]), "counter") != 0)
		return;
	t->has_counter = true;
	if (tb[NFTA_EXPR_DATA] && nested(tb[NFTA_EXPR_DATA], cb, NFTA_COUNTER_MAX)) {
		if (cb[NFTA_COUNTER_PACKETS])
			t->packets = be64toh(mnl_attr_get_u64(cb[NFTA_COUNTER_PACKETS]));
		if (cb[NFTA_COUNTER_BYTES])
			t->bytes = be64toh(mnl_attr_get_u64(cb[NFTA_COUNTER_BYTES]));
	}
}

static int comment_cb(const struct nftnl_udata *attr, void *data)
{
	const char *v = nftnl_udata_get(attr);
	uint8_t len = nftnl_udata_len(attr);

	/* The comment is type 0 in element and rule user data alike. */
	if (nftnl_udata_type(attr) == NFTNL_UDATA_SET_ELEM_COMMENT && len > 0 && v[len - 1] == '\0') {
		g_free(*(char **)data);
		*(char **)data = g_strdup(v);
	}
	return 0;
}

/* One element (an NFTA_LIST_ELEM nest, whatever its type number); NULL
 * when it is malformed. */
static FElem *elem_parse(const struct nlattr *nest)
{
	const struct nlattr *tb[NFTA_SET_ELEM_MAX + 1] = { 0 };
	g_autoptr(FElem) e = g_new0(FElem, 1);
	const struct nlattr *a;

	if (!nested(nest, tb, NFTA_SET_ELEM_MAX) || !tb[NFTA_SET_ELEM_KEY] ||
	    !parse_value(tb[NFTA_SET_ELEM_KEY], e->t.key, &e->t.key_len))
		return NULL;
	if (tb[NFTA_SET_ELEM_KEY_END] && !parse_value(tb[NFTA_SET_ELEM_KEY_END], e->t.key_end, &e->t.key_end_len))
		return NULL;
	if (tb[NFTA_SET_ELEM_FLAGS])
		e->t.flags = ntohl(mnl_attr_get_u32(tb[NFTA_SET_ELEM_FLAGS]));
	if (tb[NFTA_SET_ELEM_DATA] && !parse_data(tb[NFTA_SET_ELEM_DATA], &e->t))
		return NULL;
	if (tb[NFTA_SET_ELEM_USERDATA]) {
		const void *p = mnl_attr_get_payload(tb[NFTA_SET_ELEM_USERDATA]);
		uint16_t len = mnl_attr_get_payload_len(tb[NFTA_SET_ELEM_USERDATA]);

		e->udata = g_bytes_new(p, len);
		nftnl_udata_parse(p, len, comment_cb, &e->t.comment);
	}
	if (tb[NFTA_SET_ELEM_EXPR])
		parse_counter(tb[NFTA_SET_ELEM_EXPR], &e->t);
	if (tb[NFTA_SET_ELEM_EXPRESSIONS])
		mnl_attr_for_each_nested(a, tb[NFTA_SET_ELEM_EXPRESSIONS])
			parse_counter(a, &e->t);
	return g_steal_pointer(&e);
}

/* The table, set and elements of a NEWSETELEM/DELSETELEM message. */
typedef struct {
	const char *table, *set;
	bool has_list;
	GPtrArray *elems; /* FElem* */
} ElemList;

static bool elems_parse(const struct nlmsghdr *nlh, ElemList *l)
{
	const struct nlattr *tb[NFTA_SET_ELEM_LIST_MAX + 1] = { 0 };
	Attrs at = { tb, NFTA_SET_ELEM_LIST_MAX };
	const struct nlattr *a;

	l->elems = g_ptr_array_new_with_free_func((GDestroyNotify)felem_free);
	if (mnl_attr_parse(nlh, sizeof(struct nfgenmsg), attr_cb, &at) < 0)
		return false;
	l->table = tb[NFTA_SET_ELEM_LIST_TABLE] ? mnl_attr_get_str(tb[NFTA_SET_ELEM_LIST_TABLE]) : NULL;
	l->set = tb[NFTA_SET_ELEM_LIST_SET] ? mnl_attr_get_str(tb[NFTA_SET_ELEM_LIST_SET]) : NULL;
	if (!tb[NFTA_SET_ELEM_LIST_ELEMENTS])
		return true;
	l->has_list = true;
	mnl_attr_for_each_nested(a, tb[NFTA_SET_ELEM_LIST_ELEMENTS]) {
		FElem *e = elem_parse(a);

		if (!e)
			return false;
		g_ptr_array_add(l->elems, e);
	}
	return true;
}

static void hex_append(GString *s, const uint8_t *b, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		g_string_append_printf(s, "%02x", b[i]);
}

char *nft_elem_text(const NftElemText *e)
{
	GString *s = g_string_new(NULL);

	hex_append(s, e->key, e->key_len);
	if (e->key_end_len) {
		g_string_append(s, " - ");
		hex_append(s, e->key_end, e->key_end_len);
	}
	if (e->flags)
		g_string_append_printf(s, " flags %u", e->flags);
	if (e->has_verdict) {
		g_string_append_printf(s, " : verdict %d%s%s", e->verdict, e->chain ? " " : "",
				       e->chain ? e->chain : "");
	} else if (e->data_len) {
		g_string_append(s, " : ");
		hex_append(s, e->data, e->data_len);
	}
	if (e->comment)
		g_string_append_printf(s, " comment \"%s\"", e->comment);
	if (e->has_counter)
		g_string_append_printf(s, " counter %" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT, e->packets, e->bytes);
	return g_string_free(s, FALSE);
}

/* The element as libnftnl builds it, for replies and batches. */
static struct nftnl_set_elem *elem_build(const NftElemText *t, GBytes *udata)
{
	struct nftnl_set_elem *ne = nftnl_set_elem_alloc();

	nftnl_set_elem_set(ne, NFTNL_SET_ELEM_KEY, t->key, t->key_len);
	if (t->key_end_len)
		nftnl_set_elem_set(ne, NFTNL_SET_ELEM_KEY_END, t->key_end, t->key_end_len);
	if (t->flags)
		nftnl_set_elem_set_u32(ne, NFTNL_SET_ELEM_FLAGS, t->flags);
	if (t->has_verdict) {
		nftnl_set_elem_set_u32(ne, NFTNL_SET_ELEM_VERDICT, (uint32_t)t->verdict);
		if (t->chain)
			nftnl_set_elem_set_str(ne, NFTNL_SET_ELEM_CHAIN, t->chain);
	} else if (t->data_len) {
		nftnl_set_elem_set(ne, NFTNL_SET_ELEM_DATA, t->data, t->data_len);
	}
	if (udata)
		nftnl_set_elem_set(ne, NFTNL_SET_ELEM_USERDATA, g_bytes_get_data(udata, NULL),
				   (uint32_t)g_bytes_get_size(udata));
	if (t->has_counter) {
		struct nftnl_expr *x = nftnl_expr_alloc("counter");

		nftnl_expr_set_u64(x, NFTNL_EXPR_CTR_PACKETS, t->packets);
		nftnl_expr_set_u64(x, NFTNL_EXPR_CTR_BYTES, t->bytes);
		nftnl_set_elem_add_expr(ne, x);
	}
	return ne;
}

/* Elements of set @set into a message of @type: every element in a nest of
 * type NFTA_LIST_ELEM, as the kernel writes them. */
static void elems_put(struct nlmsghdr *nlh, const char *table, const char *set, struct nftnl_set_elem **elems, guint n)
{
	g_autoptr(nftnl_set) hdr = nftnl_set_alloc();
	struct nlattr *nest;

	nftnl_set_set_str(hdr, NFTNL_SET_TABLE, table);
	nftnl_set_set_str(hdr, NFTNL_SET_NAME, set);
	nftnl_set_elems_nlmsg_build_payload(nlh, hdr);
	nest = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_LIST_ELEMENTS);
	for (guint i = 0; i < n; i++)
		nftnl_set_elem_nlmsg_build(nlh, elems[i], NFTA_LIST_ELEM);
	mnl_attr_nest_end(nlh, nest);
}

/* ====================================================================== */
/* Text views of libnftnl objects */

static char *chain_text(const struct nftnl_chain *c)
{
	const char *name = nftnl_chain_get_str(c, NFTNL_CHAIN_NAME);

	if (!nftnl_chain_is_set(c, NFTNL_CHAIN_HOOKNUM))
		return g_strdup(name);
	return g_strdup_printf("%s type %s hook %u prio %d policy %u", name, nftnl_chain_get_str(c, NFTNL_CHAIN_TYPE),
			       nftnl_chain_get_u32(c, NFTNL_CHAIN_HOOKNUM), nftnl_chain_get_s32(c, NFTNL_CHAIN_PRIO),
			       nftnl_chain_get_u32(c, NFTNL_CHAIN_POLICY));
}

static int xt_comment_cb(struct nftnl_expr *e, void *data)
{
	uint32_t len;
	const struct xt_comment_info *ci;

	if (g_strcmp0(nftnl_expr_get_str(e, NFTNL_EXPR_NAME), "match") != 0 ||
	    g_strcmp0(nftnl_expr_get_str(e, NFTNL_EXPR_MT_NAME), "comment") != 0)
		return 0;
	ci = nftnl_expr_get(e, NFTNL_EXPR_MT_INFO, &len);
	if (ci && len >= sizeof(*ci)) {
		g_free(*(char **)data);
		*(char **)data = g_strndup(ci->comment, sizeof(ci->comment));
	}
	return 0;
}

static char *rule_text(struct nftnl_rule *r)
{
	g_autofree char *canon = vw_nft_rule_canon(r);
	g_autofree char *comment = NULL;

	if (nftnl_rule_is_set(r, NFTNL_RULE_USERDATA)) {
		uint32_t len;
		const void *ud = nftnl_rule_get_data(r, NFTNL_RULE_USERDATA, &len);

		nftnl_udata_parse(ud, len, comment_cb, &comment);
	}
	if (!comment)
		nftnl_expr_foreach(r, xt_comment_cb, &comment);
	if (!comment)
		return g_steal_pointer(&canon);
	return g_strdup_printf("%scomment \"%s\"", canon, comment);
}

static int has_counter_cb(struct nftnl_expr *e, void *data)
{
	if (g_strcmp0(nftnl_expr_get_str(e, NFTNL_EXPR_NAME), "counter") == 0)
		*(bool *)data = true;
	return 0;
}

static bool set_counts(struct nftnl_set *s)
{
	bool counter = false;

	nftnl_set_expr_foreach(s, has_counter_cb, &counter);
	return counter;
}

static char *set_text(struct nftnl_set *s)
{
	GString *t = g_string_new(NULL);

	g_string_append_printf(t, "%s flags 0x%x key %u/%u", nftnl_set_get_str(s, NFTNL_SET_NAME),
			       nftnl_set_get_u32(s, NFTNL_SET_FLAGS), nftnl_set_get_u32(s, NFTNL_SET_KEY_TYPE),
			       nftnl_set_get_u32(s, NFTNL_SET_KEY_LEN));
	if (nftnl_set_is_set(s, NFTNL_SET_DATA_TYPE))
		g_string_append_printf(t, " data 0x%x/%u", nftnl_set_get_u32(s, NFTNL_SET_DATA_TYPE),
				       nftnl_set_get_u32(s, NFTNL_SET_DATA_LEN));
	if (set_counts(s))
		g_string_append(t, " counter");
	return g_string_free(t, FALSE);
}

static GPtrArray *strv_new(void)
{
	return g_ptr_array_new_with_free_func(g_free);
}

/* ====================================================================== */
/* Batches: one message at a time, on a copy of the ruleset */

typedef struct {
	Ruleset *rs;
	const Ruleset *before; /* as it was before the batch */
	const struct nlmsghdr *nlh;
	int family;
	uint16_t flags;
	char *why;    /* the explanation of a refusal */
	bool changed; /* the kernel had something to commit */
} Msg;

static int refuse(Msg *m, int err, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

static int refuse(Msg *m, int err, const char *fmt, ...)
{
	va_list ap;

	g_free(m->why);
	va_start(ap, fmt);
	m->why = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	return err;
}

static int need_table(Msg *m, const char *name, FTable **ret)
{
	if (!name)
		return refuse(m, -EINVAL, "no table given");
	*ret = table_find(m->rs, m->family, name);
	if (!*ret)
		return refuse(m, -ENOENT, "no table %s %s", family_name(m->family), name);
	return 0;
}

static int need_chain(Msg *m, FTable *t, const char *name, FChain **ret)
{
	if (!name)
		return refuse(m, -EINVAL, "no chain given");
	*ret = chain_find(t, name);
	if (!*ret)
		return refuse(m, -ENOENT, "no chain %s in table %s %s", name, family_name(t->family), t->name);
	return 0;
}

static int need_set(Msg *m, FTable *t, const char *name, FSet **ret)
{
	if (!name)
		return refuse(m, -EINVAL, "no set given");
	*ret = set_find(t, name);
	if (!*ret)
		return refuse(m, -ENOENT, "no set %s in table %s %s", name, family_name(t->family), t->name);
	return 0;
}

static int msg_new_table(Msg *m)
{
	g_autoptr(nftnl_table) nt = nftnl_table_alloc();
	const char *name;
	FTable *t;

	if (nftnl_table_nlmsg_parse(m->nlh, nt) < 0 || !(name = nftnl_table_get_str(nt, NFTNL_TABLE_NAME)))
		return refuse(m, -EINVAL, "a table needs a name");
	if (table_find(m->rs, m->family, name))
		return m->flags & NLM_F_EXCL ? refuse(m, -EEXIST, "table %s %s exists", family_name(m->family), name)
					     : 0;
	t = ftable_new(m->family, name);
	t->handle = ++m->rs->thandle;
	g_ptr_array_add(m->rs->tables, t);
	m->changed = true;
	return 0;
}

static int msg_del_table(Msg *m)
{
	g_autoptr(nftnl_table) nt = nftnl_table_alloc();
	FTable *t;
	int e;

	if (nftnl_table_nlmsg_parse(m->nlh, nt) < 0)
		return refuse(m, -EINVAL, "malformed table");
	if ((e = need_table(m, nftnl_table_get_str(nt, NFTNL_TABLE_NAME), &t)))
		return e;
	/* Everything in it goes with it. */
	g_ptr_array_remove(m->rs->tables, t);
	m->changed = true;
	return 0;
}

/* An existing chain again: the kernel takes it as an update. */
static int chain_update(Msg *m, const FChain *c, const struct nftnl_chain *nc)
{
	if (m->flags & NLM_F_EXCL)
		return refuse(m, -EEXIST, "chain %s exists", c->name);
	if (nftnl_chain_is_set(nc, NFTNL_CHAIN_HOOKNUM) &&
	    (!c->base ||
	     nftnl_chain_get_u32(nc, NFTNL_CHAIN_HOOKNUM) != nftnl_chain_get_u32(c->c, NFTNL_CHAIN_HOOKNUM) ||
	     nftnl_chain_get_s32(nc, NFTNL_CHAIN_PRIO) != nftnl_chain_get_s32(c->c, NFTNL_CHAIN_PRIO)))
		return refuse(m, -EEXIST, "chain %s exists with another hook or priority", c->name);
	/* The kernel records an update even when nothing differs. */
	m->changed = true;
	return 0;
}

static int msg_new_chain(Msg *m)
{
	g_autoptr(nftnl_chain) nc = nftnl_chain_alloc();
	const char *name;
	FTable *t;
	FChain *c;
	bool base;
	int e;

	if (nftnl_chain_nlmsg_parse(m->nlh, nc) < 0)
		return refuse(m, -EINVAL, "malformed chain");
	if ((e = need_table(m, nftnl_chain_get_str(nc, NFTNL_CHAIN_TABLE), &t)))
		return e;
	if (!(name = nftnl_chain_get_str(nc, NFTNL_CHAIN_NAME)))
		return refuse(m, -EINVAL, "a chain needs a name");
	if ((c = chain_find(t, name)))
		return chain_update(m, c, nc);
	base = nftnl_chain_is_set(nc, NFTNL_CHAIN_HOOKNUM);
	if (!base && nftnl_chain_is_set(nc, NFTNL_CHAIN_POLICY))
		return refuse(m, -EOPNOTSUPP, "a regular chain has no policy");
	if (base && !nftnl_chain_is_set(nc, NFTNL_CHAIN_PRIO))
		return refuse(m, -EINVAL, "a base chain needs a priority");
	c = g_new0(FChain, 1);
	c->name = g_strdup(name);
	c->base = base;
	c->handle = ++t->hgen;
	c->rules = g_ptr_array_new_with_free_func((GDestroyNotify)frule_free);
	nftnl_chain_unset(nc, NFTNL_CHAIN_ID);
	nftnl_chain_set_u64(nc, NFTNL_CHAIN_HANDLE, c->handle);
	nftnl_chain_set_u32(nc, NFTNL_CHAIN_FAMILY, (uint32_t)m->family);
	if (base) {
		if (!nftnl_chain_is_set(nc, NFTNL_CHAIN_TYPE))
			nftnl_chain_set_str(nc, NFTNL_CHAIN_TYPE, "filter");
		if (!nftnl_chain_is_set(nc, NFTNL_CHAIN_POLICY))
			nftnl_chain_set_u32(nc, NFTNL_CHAIN_POLICY, NF_ACCEPT);
		nftnl_chain_set_u32(nc, NFTNL_CHAIN_FLAGS, NFT_CHAIN_BASE);
	}
	c->c = g_steal_pointer(&nc);
	g_ptr_array_add(t->chains, c);
	m->changed = true;
	return 0;
}

typedef struct {
	const char *name;
	guint count;
} Refs;

static int jump_cb(struct nftnl_expr *e, void *data)
{
	Refs *r = data;

	if (g_strcmp0(nftnl_expr_get_str(e, NFTNL_EXPR_NAME), "immediate") == 0 &&
	    nftnl_expr_is_set(e, NFTNL_EXPR_IMM_CHAIN) &&
	    g_strcmp0(nftnl_expr_get_str(e, NFTNL_EXPR_IMM_CHAIN), r->name) == 0)
		r->count++;
	return 0;
}

/* Rules and verdict map elements that jump to chain @name. */
static guint chain_refs(const FTable *t, const char *name)
{
	Refs r = { name, 0 };

	for (guint i = 0; i < t->chains->len; i++) {
		const FChain *c = t->chains->pdata[i];

		for (guint j = 0; j < c->rules->len; j++)
			nftnl_expr_foreach(((FRule *)c->rules->pdata[j])->r, jump_cb, &r);
	}
	for (guint i = 0; i < t->sets->len; i++) {
		const FSet *s = t->sets->pdata[i];

		for (guint j = 0; s->verdict_map && j < s->elems->len; j++)
			if (g_strcmp0(((FElem *)s->elems->pdata[j])->t.chain, name) == 0)
				r.count++;
	}
	return r.count;
}

static int msg_del_chain(Msg *m)
{
	g_autoptr(nftnl_chain) nc = nftnl_chain_alloc();
	FTable *t;
	FChain *c;
	int e;

	if (nftnl_chain_nlmsg_parse(m->nlh, nc) < 0)
		return refuse(m, -EINVAL, "malformed chain");
	if ((e = need_table(m, nftnl_chain_get_str(nc, NFTNL_CHAIN_TABLE), &t)) ||
	    (e = need_chain(m, t, nftnl_chain_get_str(nc, NFTNL_CHAIN_NAME), &c)))
		return e;
	if (chain_refs(t, c->name))
		return refuse(m, -EBUSY, "chain %s is still jumped to", c->name);
	/* Its rules go with it. */
	g_ptr_array_remove(t->chains, c);
	m->changed = true;
	return 0;
}

typedef struct {
	Msg *m;
	const FTable *t;
	int err;
} RefCheck;

/* A rule may name only sets and chains that are there. */
static int rule_ref_cb(struct nftnl_expr *e, void *data)
{
	RefCheck *rc = data;
	const char *name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);
	const FChain *c;

	if (g_strcmp0(name, "lookup") == 0 && !set_find(rc->t, nftnl_expr_get_str(e, NFTNL_EXPR_LOOKUP_SET))) {
		rc->err = refuse(rc->m, -ENOENT, "rule looks up set %s, which is not there",
				 nftnl_expr_get_str(e, NFTNL_EXPR_LOOKUP_SET));
		return -1;
	}
	if (g_strcmp0(name, "immediate") != 0 || !nftnl_expr_is_set(e, NFTNL_EXPR_IMM_CHAIN))
		return 0;
	c = chain_find(rc->t, nftnl_expr_get_str(e, NFTNL_EXPR_IMM_CHAIN));
	if (!c)
		rc->err = refuse(rc->m, -ENOENT, "rule jumps to chain %s, which is not there",
				 nftnl_expr_get_str(e, NFTNL_EXPR_IMM_CHAIN));
	else if (c->base)
		rc->err = refuse(rc->m, -EOPNOTSUPP, "rule jumps to base chain %s", c->name);
	return rc->err ? -1 : 0;
}

/* Where a new rule goes: appended (NLM_F_APPEND) or inserted at the head,
 * after or before the rule NFTA_RULE_POSITION names; with NLM_F_REPLACE,
 * in place of the rule NFTA_RULE_HANDLE names. */
static int rule_place(Msg *m, FChain *c, struct nftnl_rule *r, guint *at)
{
	bool append = m->flags & NLM_F_APPEND;
	int i;

	if (nftnl_rule_is_set(r, NFTNL_RULE_HANDLE)) {
		if (!(m->flags & NLM_F_REPLACE))
			return refuse(m, -EOPNOTSUPP, "a new rule with a handle replaces one (NLM_F_REPLACE)");
		if ((i = rule_index(c, nftnl_rule_get_u64(r, NFTNL_RULE_HANDLE))) < 0)
			return refuse(m, -ENOENT, "no rule to replace in chain %s", c->name);
		g_ptr_array_remove_index(c->rules, (guint)i);
		*at = (guint)i;
		return 0;
	}
	if (nftnl_rule_is_set(r, NFTNL_RULE_POSITION)) {
		if ((i = rule_index(c, nftnl_rule_get_u64(r, NFTNL_RULE_POSITION))) < 0)
			return refuse(m, -ENOENT, "no rule at the position given in chain %s", c->name);
		*at = append ? (guint)i + 1 : (guint)i;
		return 0;
	}
	*at = append ? c->rules->len : 0;
	return 0;
}

static int msg_new_rule(Msg *m)
{
	static const uint16_t not_kept[] = { NFTNL_RULE_POSITION, NFTNL_RULE_ID, NFTNL_RULE_POSITION_ID,
					     NFTNL_RULE_COMPAT_PROTO, NFTNL_RULE_COMPAT_FLAGS };
	g_autoptr(nftnl_rule) nr = nftnl_rule_alloc();
	RefCheck rc = { m, NULL, 0 };
	FTable *t;
	FChain *c;
	FRule *fr;
	guint at = 0;
	int e;

	if (nftnl_rule_nlmsg_parse(m->nlh, nr) < 0)
		return refuse(m, -EINVAL, "malformed rule");
	if ((e = need_table(m, nftnl_rule_get_str(nr, NFTNL_RULE_TABLE), &t)) ||
	    (e = need_chain(m, t, nftnl_rule_get_str(nr, NFTNL_RULE_CHAIN), &c)))
		return e;
	rc.t = t;
	nftnl_expr_foreach(nr, rule_ref_cb, &rc);
	if (rc.err || (e = rule_place(m, c, nr, &at)))
		return rc.err ? rc.err : e;
	for (size_t i = 0; i < G_N_ELEMENTS(not_kept); i++)
		nftnl_rule_unset(nr, not_kept[i]);
	fr = g_new0(FRule, 1);
	fr->handle = ++t->hgen;
	nftnl_rule_set_u64(nr, NFTNL_RULE_HANDLE, fr->handle);
	nftnl_rule_set_u32(nr, NFTNL_RULE_FAMILY, (uint32_t)m->family);
	fr->r = g_steal_pointer(&nr);
	g_ptr_array_insert(c->rules, (gint)at, fr);
	m->changed = true;
	return 0;
}

static void flush_chain(Msg *m, FChain *c)
{
	if (c->rules->len)
		m->changed = true;
	g_ptr_array_set_size(c->rules, 0);
}

static int msg_del_rule(Msg *m)
{
	g_autoptr(nftnl_rule) nr = nftnl_rule_alloc();
	FTable *t;
	FChain *c = NULL;
	int e, i;

	if (nftnl_rule_nlmsg_parse(m->nlh, nr) < 0)
		return refuse(m, -EINVAL, "malformed rule");
	if ((e = need_table(m, nftnl_rule_get_str(nr, NFTNL_RULE_TABLE), &t)))
		return e;
	if (nftnl_rule_is_set(nr, NFTNL_RULE_CHAIN) &&
	    (e = need_chain(m, t, nftnl_rule_get_str(nr, NFTNL_RULE_CHAIN), &c)))
		return e;
	if (!nftnl_rule_is_set(nr, NFTNL_RULE_HANDLE)) {
		/* No handle: every rule of the chain (of the table, without one). */
		for (guint j = 0; j < t->chains->len; j++)
			if (!c || t->chains->pdata[j] == c)
				flush_chain(m, t->chains->pdata[j]);
		return 0;
	}
	if (!c)
		return refuse(m, -EINVAL, "a rule's handle needs its chain");
	if ((i = rule_index(c, nftnl_rule_get_u64(nr, NFTNL_RULE_HANDLE))) < 0)
		return refuse(m, -ENOENT, "no rule with handle %" G_GUINT64_FORMAT " in chain %s",
			      nftnl_rule_get_u64(nr, NFTNL_RULE_HANDLE), c->name);
	g_ptr_array_remove_index(c->rules, (guint)i);
	m->changed = true;
	return 0;
}

/* What the kernel compares when a set is created again. */
static bool set_same(const FSet *a, const FSet *b)
{
	return a->flags == b->flags && a->klen == b->klen && a->dlen == b->dlen && a->counter == b->counter &&
	       nftnl_set_get_u32(a->s, NFTNL_SET_KEY_TYPE) == nftnl_set_get_u32(b->s, NFTNL_SET_KEY_TYPE) &&
	       nftnl_set_get_u32(a->s, NFTNL_SET_DATA_TYPE) == nftnl_set_get_u32(b->s, NFTNL_SET_DATA_TYPE);
}

/* A set from its message, checked as the kernel checks it. */
static int set_from(Msg *m, struct nftnl_set *ns, FSet **ret)
{
	g_autoptr(FSet) s = NULL;
	uint32_t flags = nftnl_set_is_set(ns, NFTNL_SET_FLAGS) ? nftnl_set_get_u32(ns, NFTNL_SET_FLAGS) : 0;
	uint32_t klen = nftnl_set_get_u32(ns, NFTNL_SET_KEY_LEN);
	bool map = flags & NFT_SET_MAP;
	bool vmap = map && nftnl_set_get_u32(ns, NFTNL_SET_DATA_TYPE) == NFT_DATA_VERDICT;
	uint32_t dlen = vmap ? 16 : nftnl_set_get_u32(ns, NFTNL_SET_DATA_LEN);

	if (!nftnl_set_get_str(ns, NFTNL_SET_NAME))
		return refuse(m, -EINVAL, "a set needs a name");
	if (klen == 0 || klen > 64)
		return refuse(m, -EINVAL, "set %s: key length %u", nftnl_set_get_str(ns, NFTNL_SET_NAME), klen);
	if (map != nftnl_set_is_set(ns, NFTNL_SET_DATA_TYPE) || (map && !vmap && (dlen == 0 || dlen > 64)))
		return refuse(m, -EINVAL, "set %s: a map needs a data type and length, a set has none",
			      nftnl_set_get_str(ns, NFTNL_SET_NAME));
	s = g_new0(FSet, 1);
	s->name = g_strdup(nftnl_set_get_str(ns, NFTNL_SET_NAME));
	s->flags = flags;
	s->klen = klen;
	s->dlen = map ? dlen : 0;
	s->map = map;
	s->verdict_map = vmap;
	s->counter = set_counts(ns);
	s->elems = g_ptr_array_new_with_free_func((GDestroyNotify)felem_free);
	s->gone = g_ptr_array_new_with_free_func((GDestroyNotify)felem_free);
	if (map)
		nftnl_set_set_u32(ns, NFTNL_SET_DATA_LEN, dlen);
	nftnl_set_unset(ns, NFTNL_SET_ID);
	s->s = ns;
	*ret = g_steal_pointer(&s);
	return 0;
}

static int msg_new_set(Msg *m)
{
	struct nftnl_set *ns = nftnl_set_alloc();
	g_autoptr(FSet) s = NULL;
	FTable *t;
	FSet *old;
	int e;

	if (nftnl_set_nlmsg_parse(m->nlh, ns) < 0)
		return nftnl_set_free(ns), refuse(m, -EINVAL, "malformed set");
	if ((e = need_table(m, nftnl_set_get_str(ns, NFTNL_SET_TABLE), &t)) || (e = set_from(m, ns, &s)))
		return nftnl_set_free(ns), e;
	if ((old = set_find(t, s->name))) {
		if (m->flags & NLM_F_EXCL)
			return refuse(m, -EEXIST, "set %s exists", s->name);
		return set_same(old, s) ? 0 : refuse(m, -EEXIST, "set %s exists with another type", s->name);
	}
	nftnl_set_set_u64(s->s, NFTNL_SET_HANDLE, ++t->hgen);
	nftnl_set_set_u32(s->s, NFTNL_SET_FAMILY, (uint32_t)m->family);
	g_ptr_array_add(t->sets, g_steal_pointer(&s));
	m->changed = true;
	return 0;
}

typedef struct {
	const char *set;
	bool used;
} SetUse;

static int lookup_cb(struct nftnl_expr *e, void *data)
{
	SetUse *u = data;

	if (g_strcmp0(nftnl_expr_get_str(e, NFTNL_EXPR_NAME), "lookup") == 0 &&
	    g_strcmp0(nftnl_expr_get_str(e, NFTNL_EXPR_LOOKUP_SET), u->set) == 0)
		u->used = true;
	return 0;
}

static int msg_del_set(Msg *m)
{
	g_autoptr(nftnl_set) ns = nftnl_set_alloc();
	FTable *t;
	FSet *s;
	SetUse u = { NULL, false };
	int e;

	if (nftnl_set_nlmsg_parse(m->nlh, ns) < 0)
		return refuse(m, -EINVAL, "malformed set");
	if ((e = need_table(m, nftnl_set_get_str(ns, NFTNL_SET_TABLE), &t)) ||
	    (e = need_set(m, t, nftnl_set_get_str(ns, NFTNL_SET_NAME), &s)))
		return e;
	u.set = s->name;
	for (guint i = 0; i < t->chains->len; i++) {
		const FChain *c = t->chains->pdata[i];

		for (guint j = 0; j < c->rules->len; j++)
			nftnl_expr_foreach(((FRule *)c->rules->pdata[j])->r, lookup_cb, &u);
	}
	if (u.used)
		return refuse(m, -EBUSY, "set %s is still looked up by a rule", s->name);
	g_ptr_array_remove(t->sets, s);
	m->changed = true;
	return 0;
}

static bool has_data(const NftElemText *t)
{
	return t->has_verdict || t->data_len;
}

static bool data_equal(const NftElemText *a, const NftElemText *b)
{
	if (a->has_verdict || b->has_verdict)
		return a->has_verdict == b->has_verdict && a->verdict == b->verdict &&
		       g_strcmp0(a->chain, b->chain) == 0;
	return a->data_len == b->data_len && memcmp(a->data, b->data, a->data_len) == 0;
}

/* An element's identity: its key, its key end (its key when it has none),
 * and whether it ends an interval. */
static bool elem_same_key(const NftElemText *a, const NftElemText *b)
{
	const uint8_t *ae = a->key_end_len ? a->key_end : a->key, *be = b->key_end_len ? b->key_end : b->key;
	uint32_t al = a->key_end_len ? a->key_end_len : a->key_len, bl = b->key_end_len ? b->key_end_len : b->key_len;

	return a->key_len == b->key_len && memcmp(a->key, b->key, a->key_len) == 0 && al == bl &&
	       memcmp(ae, be, al) == 0 &&
	       (a->flags & NFT_SET_ELEM_INTERVAL_END) == (b->flags & NFT_SET_ELEM_INTERVAL_END);
}

static int elem_index(const FSet *s, const NftElemText *t)
{
	for (guint i = 0; i < s->elems->len; i++)
		if (elem_same_key(&((FElem *)s->elems->pdata[i])->t, t))
			return (int)i;
	return -1;
}

/* An element checked against its set, as the kernel checks it. */
static int elem_check(Msg *m, const FTable *t, const FSet *s, const FElem *e)
{
	const NftElemText *x = &e->t;
	bool end = x->flags & NFT_SET_ELEM_INTERVAL_END;
	bool pipapo = (s->flags & (NFT_SET_INTERVAL | NFT_SET_CONCAT)) == (NFT_SET_INTERVAL | NFT_SET_CONCAT);
	const FChain *c;

	if (x->key_len != s->klen)
		return refuse(m, -EINVAL, "set %s: a key of %u bytes, not %u", s->name, x->key_len, s->klen);
	if (end && (!(s->flags & NFT_SET_INTERVAL) || pipapo))
		return refuse(m, -EOPNOTSUPP, "set %s has no interval ends", s->name);
	if (x->key_end_len && !pipapo)
		return refuse(m, -EINVAL, "set %s takes no key end", s->name);
	if (end && (has_data(x) || e->udata || x->has_counter))
		return refuse(m, -EINVAL, "set %s: an interval's end takes no data, comment or expression", s->name);
	if (!s->map || end)
		return s->map || !has_data(x) ? 0 : refuse(m, -EINVAL, "set %s is not a map", s->name);
	if (s->verdict_map != x->has_verdict || (!s->verdict_map && x->data_len != s->dlen))
		return refuse(m, -EINVAL, "map %s: data of another type or length", s->name);
	if (!x->chain)
		return x->verdict == NFT_JUMP || x->verdict == NFT_GOTO ? refuse(m, -EINVAL, "a jump needs a chain")
									: 0;
	if (!(c = chain_find(t, x->chain)))
		return refuse(m, -ENOENT, "map %s: chain %s is not there", s->name, x->chain);
	return c->base ? refuse(m, -EOPNOTSUPP, "map %s: jump to base chain %s", s->name, x->chain) : 0;
}

static int elem_add(Msg *m, const FTable *t, FSet *s, FElem *e)
{
	int err = elem_check(m, t, s, e), i;
	g_autofree char *text = NULL;

	if (err)
		return err;
	if ((i = elem_index(s, &e->t)) >= 0) {
		const NftElemText *old = &((FElem *)s->elems->pdata[i])->t;

		text = nft_elem_text(&e->t);
		if (has_data(old) != has_data(&e->t))
			return refuse(m, -EBUSY, "set %s: element %s is there with other data", s->name, text);
		if (!data_equal(old, &e->t))
			return refuse(m, -EEXIST, "set %s: element %s is there with other data", s->name, text);
		if (m->flags & NLM_F_EXCL)
			return refuse(m, -EEXIST, "set %s: element %s exists", s->name, text);
		/* The element stays as it is, its comment too. */
		return 0;
	}
	e = felem_copy(e);
	if (s->counter && !(e->t.flags & NFT_SET_ELEM_INTERVAL_END))
		e->t.has_counter = true;
	g_ptr_array_add(s->elems, e);
	m->changed = true;
	return 0;
}

/* The element right below key @key among @elems, or @best. */
static const NftElemText *below(GPtrArray *elems, const NftElemText *key, const NftElemText *best)
{
	for (guint i = 0; elems && i < elems->len; i++) {
		const NftElemText *x = &((FElem *)elems->pdata[i])->t;

		if (memcmp(x->key, key->key, key->key_len) < 0 &&
		    (!best || memcmp(x->key, best->key, key->key_len) > 0))
			best = x;
	}
	return best;
}

/* The kernel deletes an interval's end (of an interval set that is not a
 * concatenation) only with a start right below it: one there before the
 * batch, added by it, or deleted by it. A lone end stays. */
static bool end_deletable(Msg *m, const FTable *t, const FSet *s, const NftElemText *end)
{
	const FTable *bt = table_find(m->before, t->family, t->name);
	const FSet *bs = bt ? set_find(bt, s->name) : NULL;
	const NftElemText *x = NULL;

	if (!(end->flags & NFT_SET_ELEM_INTERVAL_END) || (s->flags & NFT_SET_CONCAT))
		return true;
	x = below(s->elems, end, below(s->gone, end, below(bs ? bs->elems : NULL, end, NULL)));
	return x && !(x->flags & NFT_SET_ELEM_INTERVAL_END);
}

static int elem_del(Msg *m, const FTable *t, FSet *s, const FElem *e)
{
	int i = elem_index(s, &e->t);
	g_autofree char *text = i < 0 || !end_deletable(m, t, s, &e->t) ? nft_elem_text(&e->t) : NULL;

	if (i < 0)
		return refuse(m, -ENOENT, "set %s: no element %s", s->name, text);
	if (text)
		return refuse(m, -ENOENT, "set %s: the interval end %s has no start", s->name, text);
	g_ptr_array_add(s->gone, g_ptr_array_steal_index(s->elems, (guint)i));
	m->changed = true;
	return 0;
}

static int msg_elems(Msg *m, bool add)
{
	ElemList l = { 0 };
	g_autoptr(GPtrArray) owned = NULL;
	FTable *t;
	FSet *s;
	int e = 0;

	if (!elems_parse(m->nlh, &l))
		e = refuse(m, -EINVAL, "malformed set elements");
	owned = l.elems;
	if (e || (e = need_table(m, l.table, &t)) || (e = need_set(m, t, l.set, &s)))
		return e;
	if (!l.has_list) {
		if (add)
			return refuse(m, -EINVAL, "no elements to add");
		/* Without a list: every element of the set. */
		if (s->elems->len)
			m->changed = true;
		g_ptr_array_set_size(s->elems, 0);
		return 0;
	}
	for (guint i = 0; i < l.elems->len && !e; i++)
		e = add ? elem_add(m, t, s, l.elems->pdata[i]) : elem_del(m, t, s, l.elems->pdata[i]);
	return e;
}

static int msg_apply(Msg *m, const struct nlmsghdr *nlh)
{
	const struct nfgenmsg *g = mnl_nlmsg_get_payload(nlh);

	m->nlh = nlh;
	m->family = g->nfgen_family;
	m->flags = nlh->nlmsg_flags;
	if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_NFTABLES)
		return refuse(m, -EINVAL, "not an nf_tables message");
	switch (NFNL_MSG_TYPE(nlh->nlmsg_type)) {
	case NFT_MSG_NEWTABLE:
		return msg_new_table(m);
	case NFT_MSG_DELTABLE:
		return msg_del_table(m);
	case NFT_MSG_NEWCHAIN:
		return msg_new_chain(m);
	case NFT_MSG_DELCHAIN:
		return msg_del_chain(m);
	case NFT_MSG_NEWRULE:
		return msg_new_rule(m);
	case NFT_MSG_DELRULE:
		return msg_del_rule(m);
	case NFT_MSG_NEWSET:
		return msg_new_set(m);
	case NFT_MSG_DELSET:
		return msg_del_set(m);
	case NFT_MSG_NEWSETELEM:
		return msg_elems(m, true);
	case NFT_MSG_DELSETELEM:
		return msg_elems(m, false);
	default:
		return refuse(m, -EOPNOTSUPP, "the fake does not take message %u", NFNL_MSG_TYPE(nlh->nlmsg_type));
	}
}

/* The batch's begin: for nf_tables, and (when it names the generation it
 * was made for) made for this one, or refused whole with ERESTART. */
static int batch_begin(FakeNft *f, const struct nlmsghdr *nlh, int left, uint32_t *seq, char **ext)
{
	const struct nlattr *tb[NFNL_BATCH_MAX + 1] = { 0 };
	Attrs at = { tb, NFNL_BATCH_MAX };

	if (!mnl_nlmsg_ok(nlh, left) || nlh->nlmsg_type != NFNL_MSG_BATCH_BEGIN ||
	    ntohs(((const struct nfgenmsg *)mnl_nlmsg_get_payload(nlh))->res_id) != NFNL_SUBSYS_NFTABLES ||
	    mnl_attr_parse(nlh, sizeof(struct nfgenmsg), attr_cb, &at) < 0)
		return -EINVAL;
	if (tb[NFNL_BATCH_GENID] && ntohl(mnl_attr_get_u32(tb[NFNL_BATCH_GENID])) != f->gen) {
		*seq = nlh->nlmsg_seq;
		*ext = g_strdup_printf("the batch was made for generation %u, the ruleset is at %u",
				       ntohl(mnl_attr_get_u32(tb[NFNL_BATCH_GENID])), f->gen);
		return -ERESTART;
	}
	return 0;
}

/* Applies the batch in @buf to a copy of the ruleset, which replaces it when
 * every message was accepted. */
static int batch_run(FakeNft *f, const void *buf, size_t len, uint32_t *seq, char **ext)
{
	const struct nlmsghdr *nlh = buf;
	int left = (int)len;
	Msg m = { 0 };
	bool ended = false;
	int e = batch_begin(f, nlh, left, seq, ext);

	if (e)
		return e;
	m.rs = ruleset_copy(f->rs);
	m.before = f->rs;
	for (nlh = mnl_nlmsg_next(nlh, &left); mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
		if (nlh->nlmsg_type == NFNL_MSG_BATCH_END) {
			ended = true;
			break;
		}
		if (f->fail_next) {
			e = refuse(&m, -f->fail_next, "refused by the test (fake_nft_fail_next_commit)");
			f->fail_next = 0;
		} else {
			e = msg_apply(&m, nlh);
		}
		if (e) {
			*seq = nlh->nlmsg_seq;
			*ext = g_steal_pointer(&m.why);
			ruleset_free(m.rs);
			return e;
		}
	}
	if (!ended) {
		ruleset_free(m.rs);
		return -EINVAL;
	}
	ruleset_free(f->rs);
	f->rs = m.rs;
	/* An empty transaction commits nothing, and the generation stays. */
	if (m.changed)
		f->gen++;
	return 0;
}

static int fake_commit(void *ctx, const struct iovec *iov, size_t n, uint32_t *seq, char **ext)
{
	FakeNft *f = ctx;
	g_autoptr(GByteArray) all = g_byte_array_new();

	*seq = 0;
	*ext = NULL;
	for (size_t i = 0; i < n; i++)
		g_byte_array_append(all, iov[i].iov_base, (guint)iov[i].iov_len);
	f->batches++;
	return batch_run(f, all->data, all->len, seq, ext);
}

/* ====================================================================== */
/* Requests */

typedef struct {
	FakeNft *f;
	GByteArray *out;
	uint32_t seq;
	uint16_t multi; /* NLM_F_MULTI in a dump */
} Reply;

static struct nlmsghdr *reply_start(Reply *r, char *buf, uint16_t type, int family, uint16_t flags)
{
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, type, (uint16_t)family, r->multi | flags, r->seq);
	struct nfgenmsg *g = mnl_nlmsg_get_payload(nlh);

	/* The kernel puts the generation's low bits there. */
	g->res_id = htons((uint16_t)r->f->gen);
	return nlh;
}

static void reply_add(Reply *r, const struct nlmsghdr *nlh)
{
	g_byte_array_append(r->out, (const guint8 *)nlh, MNL_ALIGN(nlh->nlmsg_len));
}

/* An error, or (0) an acknowledgement, carrying only the request's header
 * (NETLINK_CAP_ACK). */
static void reply_error(Reply *r, const struct nlmsghdr *req, int err)
{
	char buf[256] = { 0 };
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nlmsgerr *e;

	nlh->nlmsg_type = NLMSG_ERROR;
	nlh->nlmsg_flags = NLM_F_CAPPED;
	nlh->nlmsg_seq = r->seq;
	e = mnl_nlmsg_put_extra_header(nlh, sizeof(*e));
	e->error = err;
	e->msg = *req;
	reply_add(r, nlh);
}

static void reply_done(Reply *r)
{
	char buf[64] = { 0 };
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);

	nlh->nlmsg_type = NLMSG_DONE;
	nlh->nlmsg_flags = NLM_F_MULTI;
	nlh->nlmsg_seq = r->seq;
	*(int *)mnl_nlmsg_put_extra_header(nlh, sizeof(int)) = 0;
	reply_add(r, nlh);
}

static bool family_matches(int asked, int family)
{
	return asked == NFPROTO_UNSPEC || asked == family;
}

static void reply_table(Reply *r, const FTable *t)
{
	g_autoptr(nftnl_table) nt = nftnl_table_alloc();
	char buf[1024];
	struct nlmsghdr *nlh = reply_start(r, buf, NFT_MSG_NEWTABLE, t->family, 0);

	nftnl_table_set_str(nt, NFTNL_TABLE_NAME, t->name);
	nftnl_table_set_u32(nt, NFTNL_TABLE_FAMILY, (uint32_t)t->family);
	nftnl_table_set_u32(nt, NFTNL_TABLE_FLAGS, 0);
	nftnl_table_set_u32(nt, NFTNL_TABLE_USE, t->chains->len);
	nftnl_table_set_u64(nt, NFTNL_TABLE_HANDLE, t->handle);
	nftnl_table_nlmsg_build_payload(nlh, nt);
	reply_add(r, nlh);
}

static int answer_tables(Reply *r, const struct nlmsghdr *req, int family, bool dump)
{
	g_autoptr(nftnl_table) want = nftnl_table_alloc();
	const FTable *t;

	if (dump) {
		for (guint i = 0; i < r->f->rs->tables->len; i++)
			if (family_matches(family, ((FTable *)r->f->rs->tables->pdata[i])->family))
				reply_table(r, r->f->rs->tables->pdata[i]);
		return 0;
	}
	if (nftnl_table_nlmsg_parse(req, want) < 0)
		return -EINVAL;
	if (!(t = table_find(r->f->rs, family, nftnl_table_get_str(want, NFTNL_TABLE_NAME))))
		return -ENOENT;
	reply_table(r, t);
	return 0;
}

static void reply_chain(Reply *r, const FTable *t, const FChain *c)
{
	char buf[4096];
	struct nlmsghdr *nlh = reply_start(r, buf, NFT_MSG_NEWCHAIN, t->family, 0);

	nftnl_chain_nlmsg_build_payload(nlh, c->c);
	reply_add(r, nlh);
}

/* A dump of chains is not filtered by table: every chain of the family. */
static int answer_chains(Reply *r, const struct nlmsghdr *req, int family, bool dump)
{
	g_autoptr(nftnl_chain) want = nftnl_chain_alloc();
	const FTable *t;
	const FChain *c;

	for (guint i = 0; dump && i < r->f->rs->tables->len; i++) {
		t = r->f->rs->tables->pdata[i];
		for (guint j = 0; family_matches(family, t->family) && j < t->chains->len; j++)
			reply_chain(r, t, t->chains->pdata[j]);
	}
	if (dump)
		return 0;
	if (nftnl_chain_nlmsg_parse(req, want) < 0)
		return -EINVAL;
	if (!(t = table_find(r->f->rs, family, nftnl_chain_get_str(want, NFTNL_CHAIN_TABLE))) ||
	    !(c = chain_find(t, nftnl_chain_get_str(want, NFTNL_CHAIN_NAME))))
		return -ENOENT;
	reply_chain(r, t, c);
	return 0;
}

static void reply_rules(Reply *r, const FTable *t, const FChain *c)
{
	g_autofree char *buf = g_malloc(MSG_ROOM);

	for (guint i = 0; i < c->rules->len; i++) {
		const FRule *fr = c->rules->pdata[i];
		struct nlmsghdr *nlh = reply_start(r, buf, NFT_MSG_NEWRULE, t->family, NLM_F_APPEND);

		/* Each rule says which one it follows. */
		if (i > 0)
			nftnl_rule_set_u64(fr->r, NFTNL_RULE_POSITION, ((FRule *)c->rules->pdata[i - 1])->handle);
		nftnl_rule_nlmsg_build_payload(nlh, fr->r);
		nftnl_rule_unset(fr->r, NFTNL_RULE_POSITION);
		reply_add(r, nlh);
	}
}

/* A dump of rules, of one table and chain when the request names them. */
static int answer_rules(Reply *r, const struct nlmsghdr *req, int family, bool dump)
{
	g_autoptr(nftnl_rule) want = nftnl_rule_alloc();
	const char *table, *chain;

	if (!dump)
		return -EOPNOTSUPP;
	if (nftnl_rule_nlmsg_parse(req, want) < 0)
		return -EINVAL;
	table = nftnl_rule_get_str(want, NFTNL_RULE_TABLE);
	chain = nftnl_rule_get_str(want, NFTNL_RULE_CHAIN);
	for (guint i = 0; i < r->f->rs->tables->len; i++) {
		const FTable *t = r->f->rs->tables->pdata[i];

		if (!family_matches(family, t->family) || (table && strcmp(table, t->name) != 0))
			continue;
		for (guint j = 0; j < t->chains->len; j++) {
			const FChain *c = t->chains->pdata[j];

			if (!chain || strcmp(chain, c->name) == 0)
				reply_rules(r, t, c);
		}
	}
	return 0;
}

static void reply_set(Reply *r, const FTable *t, const FSet *s)
{
	char buf[4096];
	struct nlmsghdr *nlh = reply_start(r, buf, NFT_MSG_NEWSET, t->family, 0);

	nftnl_set_nlmsg_build_payload(nlh, s->s);
	reply_add(r, nlh);
}

/* Sets: a dump of one table's, or one. */
static int answer_sets(Reply *r, const struct nlmsghdr *req, int family, bool dump)
{
	g_autoptr(nftnl_set) want = nftnl_set_alloc();
	const char *table;
	const FTable *t;
	const FSet *s;

	if (nftnl_set_nlmsg_parse(req, want) < 0)
		return -EINVAL;
	table = nftnl_set_get_str(want, NFTNL_SET_TABLE);
	for (guint i = 0; dump && i < r->f->rs->tables->len; i++) {
		t = r->f->rs->tables->pdata[i];
		if (!family_matches(family, t->family) || (table && strcmp(table, t->name) != 0))
			continue;
		for (guint j = 0; j < t->sets->len; j++)
			reply_set(r, t, t->sets->pdata[j]);
	}
	if (dump)
		return 0;
	if (!(t = table_find(r->f->rs, family, table)) || !(s = set_find(t, nftnl_set_get_str(want, NFTNL_SET_NAME))))
		return -ENOENT;
	reply_set(r, t, s);
	return 0;
}

/* A set's elements, packed into messages; an empty set still gets one. */
/* One element, asked for by its key (as `nft get element`): the one with
 * exactly that key, or -ENOENT. */
static int answer_elem(Reply *r, const FTable *t, const FSet *s, const FElem *asked, char *buf)
{
	int i = elem_index(s, &asked->t);
	struct nftnl_set_elem *ne;
	struct nlmsghdr *nlh;

	r->f->gets++;
	if (i < 0)
		return -ENOENT;
	nlh = reply_start(r, buf, NFT_MSG_NEWSETELEM, t->family, 0);
	ne = elem_build(&((const FElem *)s->elems->pdata[i])->t, ((const FElem *)s->elems->pdata[i])->udata);
	elems_put(nlh, t->name, s->name, &ne, 1);
	nftnl_set_elem_free(ne);
	reply_add(r, nlh);
	return 0;
}

static int answer_elems(Reply *r, const struct nlmsghdr *req, int family, bool dump)
{
	ElemList l = { 0 };
	g_autoptr(GPtrArray) owned = NULL;
	g_autofree char *buf = g_malloc(MSG_ROOM);
	const FTable *t;
	const FSet *s;
	bool ok = elems_parse(req, &l);

	owned = l.elems;
	if (!ok || (!dump && l.elems->len != 1))
		return -EINVAL;
	if (!(t = table_find(r->f->rs, family, l.table)) || !(s = set_find(t, l.set)))
		return -ENOENT;
	if (!dump)
		return answer_elem(r, t, s, l.elems->pdata[0], buf);
	for (guint i = 0; i == 0 || i < s->elems->len; i += ELEMS_PER_REPLY) {
		struct nftnl_set_elem *elems[ELEMS_PER_REPLY];
		guint n = MIN(ELEMS_PER_REPLY, s->elems->len - i);
		struct nlmsghdr *nlh = reply_start(r, buf, NFT_MSG_NEWSETELEM, t->family, 0);

		for (guint j = 0; j < n; j++) {
			const FElem *e = s->elems->pdata[i + j];

			elems[j] = elem_build(&e->t, e->udata);
		}
		elems_put(nlh, t->name, s->name, elems, n);
		for (guint j = 0; j < n; j++)
			nftnl_set_elem_free(elems[j]);
		reply_add(r, nlh);
	}
	return 0;
}

static int answer_gen(Reply *r)
{
	char buf[256];
	struct nlmsghdr *nlh = reply_start(r, buf, NFT_MSG_NEWGEN, AF_UNSPEC, 0);

	mnl_attr_put_u32(nlh, NFTA_GEN_ID, htonl(r->f->gen));
	mnl_attr_put_u32(nlh, NFTA_GEN_PROC_PID, htonl((uint32_t)getpid()));
	mnl_attr_put_strz(nlh, NFTA_GEN_PROC_NAME, "fake-nft");
	reply_add(r, nlh);
	return 0;
}

static int answer(Reply *r, const struct nlmsghdr *req)
{
	int family = ((const struct nfgenmsg *)mnl_nlmsg_get_payload(req))->nfgen_family;
	bool dump = req->nlmsg_flags & NLM_F_DUMP;

	if (NFNL_SUBSYS_ID(req->nlmsg_type) != NFNL_SUBSYS_NFTABLES)
		return -EINVAL;
	switch (NFNL_MSG_TYPE(req->nlmsg_type)) {
	case NFT_MSG_GETGEN:
		return answer_gen(r);
	case NFT_MSG_GETTABLE:
		return answer_tables(r, req, family, dump);
	case NFT_MSG_GETCHAIN:
		return answer_chains(r, req, family, dump);
	case NFT_MSG_GETRULE:
		return answer_rules(r, req, family, dump);
	case NFT_MSG_GETSET:
		return answer_sets(r, req, family, dump);
	case NFT_MSG_GETSETELEM:
		return answer_elems(r, req, family, dump);
	default:
		return -EOPNOTSUPP;
	}
}

/* As the kernel marks the parts of a dump that a commit overtook: every
 * message after the first, and the end. */
static void mark_interrupted(GByteArray *out)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)out->data;
	int left = (int)out->len;

	for (guint i = 0; mnl_nlmsg_ok(nlh, left); i++, nlh = mnl_nlmsg_next(nlh, &left))
		if (i > 0 || nlh->nlmsg_type == NLMSG_DONE)
			nlh->nlmsg_flags |= NLM_F_DUMP_INTR;
}

static int fake_request(void *ctx, const struct nlmsghdr *req, VwNftReplyFn cb, void *data)
{
	FakeNft *f = ctx;
	g_autoptr(GByteArray) out = g_byte_array_new();
	bool dump = req->nlmsg_flags & NLM_F_DUMP;
	Reply r = { f, out, req->nlmsg_seq, dump ? NLM_F_MULTI : 0 };
	int e = answer(&r, req), ret;

	if (e) {
		g_byte_array_set_size(out, 0);
		reply_error(&r, req, e);
	} else if (dump) {
		reply_done(&r);
	} else if (req->nlmsg_flags & NLM_F_ACK) {
		reply_error(&r, req, 0);
	}
	if (dump && !e) {
		f->dumps++;
		if (f->interrupt && --f->interrupt == 0)
			mark_interrupted(out);
	}
	errno = 0;
	ret = mnl_cb_run(out->data, out->len, req->nlmsg_seq, 0, (mnl_cb_t)cb, data);
	if (ret >= MNL_CB_STOP)
		return 0;
	return errno ? -errno : -EIO;
}

static void fake_free(void *ctx)
{
	FakeNft *f = ctx;

	ruleset_free(f->rs);
	g_free(f);
}

VwNftBackend *fake_nft_new(FakeNft **fake)
{
	VwNftBackend *be = g_new0(VwNftBackend, 1);
	FakeNft *f = g_new0(FakeNft, 1);

	f->rs = ruleset_new();
	/* Not 0, as a fresh namespace's is not either. */
	f->gen = 1;
	be->ctx = f;
	be->request = fake_request;
	be->commit = fake_commit;
	be->free = fake_free;
	*fake = f;
	return be;
}

void fake_nft_interrupt_dump(FakeNft *f, guint nth)
{
	f->interrupt = nth;
}

void fake_nft_fail_next_commit(FakeNft *f, int err)
{
	f->fail_next = err;
}

uint32_t fake_nft_generation(const FakeNft *f)
{
	return f->gen;
}

guint fake_nft_dumps(const FakeNft *f)
{
	return f->dumps;
}

guint fake_nft_gets(const FakeNft *f)
{
	return f->gets;
}

guint fake_nft_batches(const FakeNft *f)
{
	return f->batches;
}

/* ====================================================================== */
/* Views of the fake's memory */

GPtrArray *fake_nft_tables(FakeNft *f)
{
	GPtrArray *out = strv_new();

	for (guint i = 0; i < f->rs->tables->len; i++) {
		const FTable *t = f->rs->tables->pdata[i];

		g_ptr_array_add(out, g_strdup_printf("%d %s", t->family, t->name));
	}
	return out;
}

GPtrArray *fake_nft_chains(FakeNft *f, int family, const char *table)
{
	const FTable *t = table_find(f->rs, family, table);
	GPtrArray *out;

	if (!t)
		return NULL;
	out = strv_new();
	for (guint i = 0; i < t->chains->len; i++)
		g_ptr_array_add(out, chain_text(((FChain *)t->chains->pdata[i])->c));
	return out;
}

GPtrArray *fake_nft_rules(FakeNft *f, int family, const char *table, const char *chain)
{
	const FTable *t = table_find(f->rs, family, table);
	const FChain *c = t ? chain_find(t, chain) : NULL;
	GPtrArray *out;

	if (!c)
		return NULL;
	out = strv_new();
	for (guint i = 0; i < c->rules->len; i++)
		g_ptr_array_add(out, rule_text(((FRule *)c->rules->pdata[i])->r));
	return out;
}

GPtrArray *fake_nft_sets(FakeNft *f, int family, const char *table)
{
	const FTable *t = table_find(f->rs, family, table);
	GPtrArray *out;

	if (!t)
		return NULL;
	out = strv_new();
	for (guint i = 0; i < t->sets->len; i++)
		g_ptr_array_add(out, set_text(((FSet *)t->sets->pdata[i])->s));
	return out;
}

GPtrArray *fake_nft_elems(FakeNft *f, int family, const char *table, const char *set)
{
	const FTable *t = table_find(f->rs, family, table);
	const FSet *s = t ? set_find(t, set) : NULL;
	GPtrArray *out;

	if (!s)
		return NULL;
	out = strv_new();
	for (guint i = 0; i < s->elems->len; i++)
		g_ptr_array_add(out, nft_elem_text(&((FElem *)s->elems->pdata[i])->t));
	return out;
}

/* ====================================================================== */
/* Views read through a backend */

static int collect_cb(const struct nlmsghdr *nlh, void *data)
{
	g_ptr_array_add(data, g_memdup2(nlh, nlh->nlmsg_len));
	return MNL_CB_OK;
}

/* The reply messages to @req; NULL when the kernel says ENOENT. A dump a
 * commit interrupted is asked for again. */
static GPtrArray *view_request(const VwNftBackend *be, struct nlmsghdr *req)
{
	static uint32_t seq = 4000000;

	for (int attempt = 0; attempt < 10; attempt++) {
		g_autoptr(GPtrArray) msgs = g_ptr_array_new_with_free_func(g_free);
		int e;

		req->nlmsg_seq = ++seq;
		e = be->request(be->ctx, req, collect_cb, msgs);
		if (e == 0)
			return g_steal_pointer(&msgs);
		if (e == -ENOENT)
			return NULL;
		if (e != -EINTR)
			g_error("reading nftables back (message %u): %s", req->nlmsg_type, g_strerror(-e));
	}
	g_error("reading nftables back: every dump was interrupted");
}

static bool view_has_table(const VwNftBackend *be, int family, const char *table)
{
	g_autoptr(nftnl_table) t = nftnl_table_alloc();
	char buf[1024];
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETTABLE, (uint16_t)family, NLM_F_ACK, 0);
	g_autoptr(GPtrArray) msgs = NULL;

	nftnl_table_set_str(t, NFTNL_TABLE_NAME, table);
	nftnl_table_nlmsg_build_payload(nlh, t);
	msgs = view_request(be, nlh);
	return msgs != NULL;
}

GPtrArray *nft_view_tables(const VwNftBackend *be)
{
	char buf[256];
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETTABLE, NFPROTO_UNSPEC, NLM_F_DUMP, 0);
	g_autoptr(GPtrArray) msgs = view_request(be, nlh);
	GPtrArray *out = strv_new();

	for (guint i = 0; msgs && i < msgs->len; i++) {
		g_autoptr(nftnl_table) t = nftnl_table_alloc();

		g_assert_cmpint(nftnl_table_nlmsg_parse(msgs->pdata[i], t), ==, 0);
		g_ptr_array_add(out, g_strdup_printf("%u %s", nftnl_table_get_u32(t, NFTNL_TABLE_FAMILY),
						     nftnl_table_get_str(t, NFTNL_TABLE_NAME)));
	}
	return out;
}

GPtrArray *nft_view_chains(const VwNftBackend *be, int family, const char *table)
{
	char buf[256];
	struct nlmsghdr *nlh;
	g_autoptr(GPtrArray) msgs = NULL;
	GPtrArray *out;

	if (!view_has_table(be, family, table))
		return NULL;
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETCHAIN, (uint16_t)family, NLM_F_DUMP, 0);
	msgs = view_request(be, nlh);
	out = strv_new();
	for (guint i = 0; msgs && i < msgs->len; i++) {
		g_autoptr(nftnl_chain) c = nftnl_chain_alloc();

		g_assert_cmpint(nftnl_chain_nlmsg_parse(msgs->pdata[i], c), ==, 0);
		if (g_strcmp0(nftnl_chain_get_str(c, NFTNL_CHAIN_TABLE), table) == 0)
			g_ptr_array_add(out, chain_text(c));
	}
	return out;
}

/* The rule messages of a chain; NULL when the chain is not there. */
static GPtrArray *view_rule_msgs(const VwNftBackend *be, int family, const char *table, const char *chain)
{
	g_autoptr(nftnl_chain) c = nftnl_chain_alloc();
	g_autoptr(nftnl_rule) r = nftnl_rule_alloc();
	char buf[1024];
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETCHAIN, (uint16_t)family, NLM_F_ACK, 0);
	g_autoptr(GPtrArray) found = NULL;

	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, table);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, chain);
	nftnl_chain_nlmsg_build_payload(nlh, c);
	if (!(found = view_request(be, nlh)))
		return NULL;
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETRULE, (uint16_t)family, NLM_F_DUMP, 0);
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, table);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
	nftnl_rule_nlmsg_build_payload(nlh, r);
	return view_request(be, nlh);
}

static struct nftnl_rule *rule_of(const struct nlmsghdr *nlh)
{
	struct nftnl_rule *r = nftnl_rule_alloc();

	g_assert_cmpint(nftnl_rule_nlmsg_parse(nlh, r), ==, 0);
	return r;
}

GPtrArray *nft_view_rules(const VwNftBackend *be, int family, const char *table, const char *chain)
{
	g_autoptr(GPtrArray) msgs = view_rule_msgs(be, family, table, chain);
	GPtrArray *out;

	if (!msgs)
		return NULL;
	out = strv_new();
	for (guint i = 0; i < msgs->len; i++) {
		g_autoptr(nftnl_rule) r = rule_of(msgs->pdata[i]);

		g_ptr_array_add(out, rule_text(r));
	}
	return out;
}

GArray *nft_view_handles(const VwNftBackend *be, int family, const char *table, const char *chain)
{
	g_autoptr(GPtrArray) msgs = view_rule_msgs(be, family, table, chain);
	GArray *out;

	if (!msgs)
		return NULL;
	out = g_array_new(FALSE, FALSE, sizeof(guint64));
	for (guint i = 0; i < msgs->len; i++) {
		g_autoptr(nftnl_rule) r = rule_of(msgs->pdata[i]);
		guint64 h = nftnl_rule_get_u64(r, NFTNL_RULE_HANDLE);

		g_array_append_val(out, h);
	}
	return out;
}

struct nftnl_rule *nft_view_rule(const VwNftBackend *be, int family, const char *table, const char *chain, guint index)
{
	g_autoptr(GPtrArray) msgs = view_rule_msgs(be, family, table, chain);

	if (!msgs || index >= msgs->len)
		return NULL;
	return rule_of(msgs->pdata[index]);
}

GPtrArray *nft_view_sets(const VwNftBackend *be, int family, const char *table)
{
	g_autoptr(nftnl_set) want = nftnl_set_alloc();
	char buf[1024];
	struct nlmsghdr *nlh;
	g_autoptr(GPtrArray) msgs = NULL;
	GPtrArray *out;

	if (!view_has_table(be, family, table))
		return NULL;
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETSET, (uint16_t)family, NLM_F_DUMP, 0);
	nftnl_set_set_str(want, NFTNL_SET_TABLE, table);
	nftnl_set_nlmsg_build_payload(nlh, want);
	msgs = view_request(be, nlh);
	out = strv_new();
	for (guint i = 0; msgs && i < msgs->len; i++) {
		g_autoptr(nftnl_set) s = nftnl_set_alloc();

		g_assert_cmpint(nftnl_set_nlmsg_parse(msgs->pdata[i], s), ==, 0);
		g_ptr_array_add(out, set_text(s));
	}
	return out;
}

GPtrArray *nft_view_elems(const VwNftBackend *be, int family, const char *table, const char *set)
{
	g_autoptr(nftnl_set) want = nftnl_set_alloc();
	char buf[1024];
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETSETELEM, (uint16_t)family, NLM_F_DUMP, 0);
	g_autoptr(GPtrArray) msgs = NULL;
	GPtrArray *out;

	nftnl_set_set_str(want, NFTNL_SET_TABLE, table);
	nftnl_set_set_str(want, NFTNL_SET_NAME, set);
	nftnl_set_elems_nlmsg_build_payload(nlh, want);
	if (!(msgs = view_request(be, nlh)))
		return NULL;
	out = strv_new();
	for (guint i = 0; i < msgs->len; i++) {
		ElemList l = { 0 };
		g_autoptr(GPtrArray) owned = NULL;

		g_assert_true(elems_parse(msgs->pdata[i], &l));
		owned = l.elems;
		for (guint j = 0; j < l.elems->len; j++)
			g_ptr_array_add(out, nft_elem_text(&((FElem *)l.elems->pdata[j])->t));
	}
	return out;
}

/* ====================================================================== */
/* Someone else's batches */

struct NftOther {
	struct nftnl_batch *nb;
	uint32_t seq;
};

NftOther *nft_other_new(void)
{
	NftOther *b = g_new0(NftOther, 1);
	uint32_t page = (uint32_t)sysconf(_SC_PAGESIZE);

	b->nb = nftnl_batch_alloc(page * 32, UINT16_MAX + page);
	b->seq = 7000;
	nftnl_batch_begin(nftnl_batch_buffer(b->nb), b->seq++);
	nftnl_batch_update(b->nb);
	return b;
}

void nft_other_free(NftOther *b)
{
	if (!b)
		return;
	nftnl_batch_free(b->nb);
	g_free(b);
}

static struct nlmsghdr *other_msg(NftOther *b, uint16_t type, int family, uint16_t flags)
{
	return nftnl_nlmsg_build_hdr(nftnl_batch_buffer(b->nb), type, (uint16_t)family, flags, b->seq++);
}

void nft_other_table(NftOther *b, bool add, int family, const char *table)
{
	g_autoptr(nftnl_table) t = nftnl_table_alloc();
	struct nlmsghdr *nlh = other_msg(b, add ? NFT_MSG_NEWTABLE : NFT_MSG_DELTABLE, family, add ? NLM_F_CREATE : 0);

	nftnl_table_set_str(t, NFTNL_TABLE_NAME, table);
	nftnl_table_nlmsg_build_payload(nlh, t);
	nftnl_batch_update(b->nb);
}

void nft_other_chain(NftOther *b, bool add, int family, const char *table, const char *chain, const char *type,
		     int hook, int prio)
{
	g_autoptr(nftnl_chain) c = nftnl_chain_alloc();
	struct nlmsghdr *nlh = other_msg(b, add ? NFT_MSG_NEWCHAIN : NFT_MSG_DELCHAIN, family, add ? NLM_F_CREATE : 0);

	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, table);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, chain);
	if (add && type) {
		nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, type);
		nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, (uint32_t)hook);
		nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, prio);
		nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	}
	nftnl_chain_nlmsg_build_payload(nlh, c);
	nftnl_batch_update(b->nb);
}

void nft_other_rule(NftOther *b, struct nftnl_rule *r, bool append)
{
	struct nlmsghdr *nlh = other_msg(b, NFT_MSG_NEWRULE, (int)nftnl_rule_get_u32(r, NFTNL_RULE_FAMILY),
					 NLM_F_CREATE | (append ? NLM_F_APPEND : 0));

	nftnl_rule_nlmsg_build_payload(nlh, r);
	nftnl_rule_free(r);
	nftnl_batch_update(b->nb);
}

void nft_other_del_rule(NftOther *b, int family, const char *table, const char *chain, guint64 handle)
{
	g_autoptr(nftnl_rule) r = nftnl_rule_alloc();
	struct nlmsghdr *nlh = other_msg(b, NFT_MSG_DELRULE, family, 0);

	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, table);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
	nftnl_rule_set_u64(r, NFTNL_RULE_HANDLE, handle);
	nftnl_rule_nlmsg_build_payload(nlh, r);
	nftnl_batch_update(b->nb);
}

void nft_other_set(NftOther *b, const char *name, uint32_t flags, uint32_t key_type, uint32_t key_len)
{
	g_autoptr(nftnl_set) s = nftnl_set_alloc();
	struct nlmsghdr *nlh = other_msg(b, NFT_MSG_NEWSET, NFPROTO_INET, NLM_F_CREATE);

	nftnl_set_set_str(s, NFTNL_SET_TABLE, VW_NFT_TABLE);
	nftnl_set_set_str(s, NFTNL_SET_NAME, name);
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, flags);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, key_type);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, key_len);
	nftnl_set_set_u32(s, NFTNL_SET_ID, b->seq);
	nftnl_set_nlmsg_build_payload(nlh, s);
	nftnl_batch_update(b->nb);
}

void nft_other_elem(NftOther *b, bool add, const char *set, const NftElemText *e)
{
	g_autoptr(GBytes) udata = NULL;
	struct nftnl_set_elem *ne;
	struct nlmsghdr *nlh = other_msg(b, add ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM, NFPROTO_INET,
					 add ? NLM_F_CREATE : 0);

	if (e->comment) {
		struct nftnl_udata_buf *ud = nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN);

		nftnl_udata_put_strz(ud, NFTNL_UDATA_SET_ELEM_COMMENT, e->comment);
		udata = g_bytes_new(nftnl_udata_buf_data(ud), nftnl_udata_buf_len(ud));
		nftnl_udata_buf_free(ud);
	}
	ne = elem_build(e, udata);
	elems_put(nlh, VW_NFT_TABLE, set, &ne, 1);
	nftnl_set_elem_free(ne);
	nftnl_batch_update(b->nb);
}

int nft_other_commit(NftOther *b, const VwNftBackend *be)
{
	g_autofree struct iovec *iov = NULL;
	g_autofree char *ext = NULL;
	uint32_t seq = 0;
	int n;

	nftnl_batch_end(nftnl_batch_buffer(b->nb), b->seq++);
	nftnl_batch_update(b->nb);
	n = nftnl_batch_iovec_len(b->nb);
	iov = g_new(struct iovec, n);
	nftnl_batch_iovec(b->nb, iov, (uint32_t)n);
	return be->commit(be->ctx, iov, (size_t)n, &seq, &ext);
}
