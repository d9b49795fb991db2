/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Plan → libnftnl objects. Pure: builds messages' contents, sends nothing,
 * so it is tested without root (build, parse back, compare). */
#include <stddef.h>
#include <string.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <libnftnl/udata.h>

#include "nft-private.h"

struct nftnl_table *vw_nft_build_table(const VwTable *t)
{
	struct nftnl_table *nt = nftnl_table_alloc();

	nftnl_table_set_str(nt, NFTNL_TABLE_NAME, t->name);
	nftnl_table_set_u32(nt, NFTNL_TABLE_FAMILY, (uint32_t)t->family);
	return nt;
}

struct nftnl_chain *vw_nft_build_chain(const VwTable *t, const VwChain *c)
{
	struct nftnl_chain *ch = nftnl_chain_alloc();

	nftnl_chain_set_str(ch, NFTNL_CHAIN_TABLE, t->name);
	nftnl_chain_set_u32(ch, NFTNL_CHAIN_FAMILY, (uint32_t)t->family);
	nftnl_chain_set_str(ch, NFTNL_CHAIN_NAME, c->name);
	if (c->type != VW_CHAIN_REGULAR) {
		nftnl_chain_set_str(ch, NFTNL_CHAIN_TYPE, c->type == VW_CHAIN_NAT ? "nat" : "filter");
		nftnl_chain_set_u32(ch, NFTNL_CHAIN_HOOKNUM, c->hook);
		nftnl_chain_set_s32(ch, NFTNL_CHAIN_PRIO, c->prio);
		nftnl_chain_set_u32(ch, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	}
	return ch;
}

/*
 * The expressions of the plan as libnftnl's, described by a table: each
 * kind's name and which VwExpr field goes to which attribute. libnftnl puts
 * the attributes of a message in its own order, so the table's is free.
 */
typedef enum {
	F_NONE,
	F_KEY,
	F_SREG,
	F_DREG,
	F_OP,
	F_OFFSET,
	F_LEN,
	F_VERDICT,
	F_DATA, /* data[len] */
	F_MASK, /* mask[len] */
	F_XOR,	/* xor_[len] */
	F_NAME, /* a string */
	F_CODE, /* op as a u8 */
} Field;

typedef struct {
	uint16_t attr;
	Field field;
} Attr;

typedef struct {
	VwExprKind kind;
	const char *name;
	Attr attrs[5];
} ExprDesc;

static const ExprDesc descs[] = {
	{ VW_X_META, "meta", { { NFTNL_EXPR_META_KEY, F_KEY }, { NFTNL_EXPR_META_DREG, F_DREG } } },
	{ VW_X_PAYLOAD,
	  "payload",
	  { { NFTNL_EXPR_PAYLOAD_BASE, F_KEY },
	    { NFTNL_EXPR_PAYLOAD_OFFSET, F_OFFSET },
	    { NFTNL_EXPR_PAYLOAD_LEN, F_LEN },
	    { NFTNL_EXPR_PAYLOAD_DREG, F_DREG } } },
	{ VW_X_CMP,
	  "cmp",
	  { { NFTNL_EXPR_CMP_SREG, F_SREG }, { NFTNL_EXPR_CMP_OP, F_OP }, { NFTNL_EXPR_CMP_DATA, F_DATA } } },
	{ VW_X_BITWISE,
	  "bitwise",
	  { { NFTNL_EXPR_BITWISE_SREG, F_SREG },
	    { NFTNL_EXPR_BITWISE_DREG, F_DREG },
	    { NFTNL_EXPR_BITWISE_LEN, F_LEN },
	    { NFTNL_EXPR_BITWISE_MASK, F_MASK },
	    { NFTNL_EXPR_BITWISE_XOR, F_XOR } } },
	/* The lookup's flags always, as the kernel always reports them back;
	 * its dreg only when it has one (len). */
	{ VW_X_LOOKUP,
	  "lookup",
	  { { NFTNL_EXPR_LOOKUP_SREG, F_SREG },
	    { NFTNL_EXPR_LOOKUP_SET, F_NAME },
	    { NFTNL_EXPR_LOOKUP_FLAGS, F_OP } } },
	{ VW_X_VERDICT, "immediate", { { NFTNL_EXPR_IMM_VERDICT, F_VERDICT } } },
	{ VW_X_IMMEDIATE, "immediate", { { NFTNL_EXPR_IMM_DREG, F_DREG }, { NFTNL_EXPR_IMM_DATA, F_DATA } } },
	{ VW_X_CT_LOAD, "ct", { { NFTNL_EXPR_CT_KEY, F_KEY }, { NFTNL_EXPR_CT_DREG, F_DREG } } },
	{ VW_X_CT_SET, "ct", { { NFTNL_EXPR_CT_KEY, F_KEY }, { NFTNL_EXPR_CT_SREG, F_SREG } } },
	{ VW_X_NAT, "nat", { { NFTNL_EXPR_NAT_TYPE, F_KEY }, { NFTNL_EXPR_NAT_FAMILY, F_OP } } },
	{ VW_X_MASQ, "masq", { { 0, F_NONE } } },
	{ VW_X_REJECT, "reject", { { NFTNL_EXPR_REJECT_TYPE, F_KEY }, { NFTNL_EXPR_REJECT_CODE, F_CODE } } },
	{ VW_X_FIB,
	  "fib",
	  { { NFTNL_EXPR_FIB_FLAGS, F_OP }, { NFTNL_EXPR_FIB_RESULT, F_KEY }, { NFTNL_EXPR_FIB_DREG, F_DREG } } },
	{ VW_X_BYTEORDER,
	  "byteorder",
	  { { NFTNL_EXPR_BYTEORDER_SREG, F_SREG },
	    { NFTNL_EXPR_BYTEORDER_DREG, F_DREG },
	    { NFTNL_EXPR_BYTEORDER_OP, F_KEY },
	    { NFTNL_EXPR_BYTEORDER_LEN, F_LEN },
	    { NFTNL_EXPR_BYTEORDER_SIZE, F_OP } } },
	{ VW_X_COUNTER, "counter", { { 0, F_NONE } } },
	{ VW_X_MATCH, "match", { { NFTNL_EXPR_MT_NAME, F_NAME }, { NFTNL_EXPR_MT_REV, F_KEY } } },
};

static void set_attr(struct nftnl_expr *e, const Attr *a, const VwExpr *x)
{
	static const size_t u32_field[] = {
		[F_KEY] = offsetof(VwExpr, key),	 [F_SREG] = offsetof(VwExpr, sreg),
		[F_DREG] = offsetof(VwExpr, dreg),	 [F_OP] = offsetof(VwExpr, op),
		[F_OFFSET] = offsetof(VwExpr, offset),	 [F_LEN] = offsetof(VwExpr, len),
		[F_VERDICT] = offsetof(VwExpr, verdict),
	};

	switch (a->field) {
	case F_NONE:
		break;
	case F_DATA:
		nftnl_expr_set(e, a->attr, x->data, x->len);
		break;
	case F_MASK:
		nftnl_expr_set(e, a->attr, x->mask, x->len);
		break;
	case F_XOR:
		nftnl_expr_set(e, a->attr, x->xor_, x->len);
		break;
	case F_NAME:
		nftnl_expr_set_str(e, a->attr, x->name);
		break;
	case F_CODE:
		nftnl_expr_set_u8(e, a->attr, (uint8_t)x->op);
		break;
	case F_KEY:
	case F_SREG:
	case F_DREG:
	case F_OP:
	case F_OFFSET:
	case F_LEN:
	case F_VERDICT:
		nftnl_expr_set_u32(e, a->attr, *(const uint32_t *)((const char *)x + u32_field[a->field]));
		break;
	}
}

/* What the table cannot say: attributes that depend on the expression. */
static void set_special(struct nftnl_expr *e, const VwExpr *x)
{
	gsize n = 0;
	const void *d;

	switch (x->kind) {
	case VW_X_LOOKUP:
		if (x->len)
			nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_DREG, x->dreg);
		break;
	case VW_X_VERDICT:
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
		if (x->name)
			nftnl_expr_set_str(e, NFTNL_EXPR_IMM_CHAIN, x->name);
		break;
	case VW_X_NAT:
		/* Spelled out as the kernel reports it back: the range is one
		 * address (and one port), and the flags say what is mapped. */
		nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MIN, x->sreg);
		nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MAX, x->sreg);
		if (x->reg2) {
			nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_PROTO_MIN, x->reg2);
			nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_PROTO_MAX, x->reg2);
		}
		nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FLAGS,
				   NF_NAT_RANGE_MAP_IPS | (x->reg2 ? NF_NAT_RANGE_PROTO_SPECIFIED : 0));
		break;
	case VW_X_COUNTER:
		/* A new counter, spelled out as iptables-nft sends it. */
		nftnl_expr_set_u64(e, NFTNL_EXPR_CTR_PACKETS, 0);
		nftnl_expr_set_u64(e, NFTNL_EXPR_CTR_BYTES, 0);
		break;
	case VW_X_MATCH:
		d = x->info ? g_bytes_get_data(x->info, &n) : NULL;
		/* libnftnl keeps (and frees) the buffer: it must be the heap's. */
		nftnl_expr_set(e, NFTNL_EXPR_MT_INFO, g_memdup2(d, n), (uint32_t)n);
		break;
	case VW_X_META:
	case VW_X_PAYLOAD:
	case VW_X_CMP:
	case VW_X_BITWISE:
	case VW_X_IMMEDIATE:
	case VW_X_CT_LOAD:
	case VW_X_CT_SET:
	case VW_X_MASQ:
	case VW_X_REJECT:
	case VW_X_FIB:
	case VW_X_BYTEORDER:
		break;
	}
}

/* One expression of the plan as libnftnl's. */
static struct nftnl_expr *build_expr(const VwExpr *x)
{
	for (size_t i = 0; i < G_N_ELEMENTS(descs); i++) {
		struct nftnl_expr *e;

		if (descs[i].kind != x->kind)
			continue;
		e = nftnl_expr_alloc(descs[i].name);
		for (size_t j = 0; j < G_N_ELEMENTS(descs[i].attrs) && descs[i].attrs[j].field != F_NONE; j++)
			set_attr(e, &descs[i].attrs[j], x);
		set_special(e, x);
		return e;
	}
	g_assert_not_reached();
}

struct nftnl_rule *vw_nft_build_rule(int family, const char *table, const char *chain, const VwRule *r)
{
	struct nftnl_rule *nr = nftnl_rule_alloc();

	nftnl_rule_set_str(nr, NFTNL_RULE_TABLE, table);
	nftnl_rule_set_str(nr, NFTNL_RULE_CHAIN, chain);
	nftnl_rule_set_u32(nr, NFTNL_RULE_FAMILY, (uint32_t)family);
	for (guint i = 0; i < r->exprs->len; i++)
		nftnl_rule_add_expr(nr, build_expr(&g_array_index(r->exprs, VwExpr, i)));
	if (r->compat) {
		nftnl_rule_set_u32(nr, NFTNL_RULE_COMPAT_PROTO, 0);
		nftnl_rule_set_u32(nr, NFTNL_RULE_COMPAT_FLAGS, 0);
	}
	if (r->comment) {
		struct nftnl_udata_buf *ud = nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN);

		nftnl_udata_put_strz(ud, NFTNL_UDATA_RULE_COMMENT, r->comment);
		nftnl_rule_set_data(nr, NFTNL_RULE_USERDATA, nftnl_udata_buf_data(ud), nftnl_udata_buf_len(ud));
		nftnl_udata_buf_free(ud);
	}
	return nr;
}

struct nftnl_rule *vw_nft_build_foreign_rule(const VwForeignRule *f)
{
	return vw_nft_build_rule(f->family, f->table, f->chain, f->rule);
}

struct nftnl_set *vw_nft_build_set(const VwTable *t, const VwSet *s)
{
	struct nftnl_set *ns = nftnl_set_alloc();

	nftnl_set_set_str(ns, NFTNL_SET_TABLE, t->name);
	nftnl_set_set_u32(ns, NFTNL_SET_FAMILY, (uint32_t)t->family);
	nftnl_set_set_str(ns, NFTNL_SET_NAME, s->name);
	nftnl_set_set_u32(ns, NFTNL_SET_FLAGS, s->flags);
	nftnl_set_set_u32(ns, NFTNL_SET_KEY_TYPE, s->key_type);
	nftnl_set_set_u32(ns, NFTNL_SET_KEY_LEN, s->key_len);
	if (s->is_map) {
		nftnl_set_set_u32(ns, NFTNL_SET_DATA_TYPE, s->data_type);
		nftnl_set_set_u32(ns, NFTNL_SET_DATA_LEN, s->data_len);
	}
	if (s->concat_n)
		nftnl_set_set_data(ns, NFTNL_SET_DESC_CONCAT, s->concat, s->concat_n);
	if (s->counter)
		nftnl_set_add_expr(ns, nftnl_expr_alloc("counter"));
	if (s->udata) {
		gsize n;
		const void *d = g_bytes_get_data(s->udata, &n);

		nftnl_set_set_data(ns, NFTNL_SET_USERDATA, d, (uint32_t)n);
	}
	return ns;
}

struct nftnl_set_elem *vw_nft_build_elem(const VwElem *e)
{
	struct nftnl_set_elem *ne = nftnl_set_elem_alloc();

	nftnl_set_elem_set(ne, NFTNL_SET_ELEM_KEY, e->key, e->key_len);
	if (e->key_end_len)
		nftnl_set_elem_set(ne, NFTNL_SET_ELEM_KEY_END, e->key_end, e->key_end_len);
	if (e->flags)
		nftnl_set_elem_set_u32(ne, NFTNL_SET_ELEM_FLAGS, e->flags);
	if (e->has_verdict) {
		nftnl_set_elem_set_u32(ne, NFTNL_SET_ELEM_VERDICT, (uint32_t)e->verdict);
		if (e->chain)
			nftnl_set_elem_set_str(ne, NFTNL_SET_ELEM_CHAIN, e->chain);
	} else if (e->data_len) {
		nftnl_set_elem_set(ne, NFTNL_SET_ELEM_DATA, e->data, e->data_len);
	}
	/* The kernel takes no user data on an interval's end element: its
	 * owner is the start element's (see infer_end_owners). */
	if (e->owner && !(e->flags & NFT_SET_ELEM_INTERVAL_END)) {
		struct nftnl_udata_buf *ud = nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN);

		/* The owner is the element's comment: nft shows it, and
		 * virtwire finds a network's elements by it. */
		nftnl_udata_put_strz(ud, NFTNL_UDATA_SET_ELEM_COMMENT, e->owner);
		nftnl_set_elem_set(ne, NFTNL_SET_ELEM_USERDATA, nftnl_udata_buf_data(ud), nftnl_udata_buf_len(ud));
		nftnl_udata_buf_free(ud);
	}
	return ne;
}

static int canon_expr(struct nftnl_expr *e, void *data)
{
	GString *out = data;
	const char *name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);
	char buf[512];

	/* Counters move with traffic: leave their values out. */
	if (g_strcmp0(name, "counter") == 0) {
		g_string_append(out, "[ counter ] ");
		return 0;
	}
	nftnl_expr_snprintf(buf, sizeof(buf), e, NFTNL_OUTPUT_DEFAULT, 0);
	g_string_append_printf(out, "[ %s %s] ", name, buf);
	return 0;
}

char *vw_nft_rule_canon(struct nftnl_rule *r)
{
	GString *out = g_string_new(NULL);

	nftnl_expr_foreach(r, canon_expr, out);
	return g_string_free(out, FALSE);
}
