/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Plan → libnftnl objects. Pure: builds messages' contents, sends nothing,
 * so it is tested without root (build, parse back, compare). */
#include <string.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <libnftnl/udata.h>

#include "nft-private.h"

struct nftnl_table *vw_nft_build_table(void)
{
	struct nftnl_table *t = nftnl_table_alloc();

	nftnl_table_set_str(t, NFTNL_TABLE_NAME, VW_NFT_TABLE);
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, NFPROTO_INET);
	return t;
}

struct nftnl_chain *vw_nft_build_chain(const VwChain *c)
{
	struct nftnl_chain *ch = nftnl_chain_alloc();

	nftnl_chain_set_str(ch, NFTNL_CHAIN_TABLE, VW_NFT_TABLE);
	nftnl_chain_set_u32(ch, NFTNL_CHAIN_FAMILY, NFPROTO_INET);
	nftnl_chain_set_str(ch, NFTNL_CHAIN_NAME, c->name);
	if (c->type != VW_CHAIN_REGULAR) {
		nftnl_chain_set_str(ch, NFTNL_CHAIN_TYPE, c->type == VW_CHAIN_NAT ? "nat" : "filter");
		nftnl_chain_set_u32(ch, NFTNL_CHAIN_HOOKNUM, c->hook);
		nftnl_chain_set_s32(ch, NFTNL_CHAIN_PRIO, c->prio);
		nftnl_chain_set_u32(ch, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	}
	return ch;
}

static struct nftnl_expr *build_meta(const VwExpr *x)
{
	struct nftnl_expr *e = nftnl_expr_alloc("meta");

	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, x->key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, x->dreg);
	return e;
}

static struct nftnl_expr *build_payload(const VwExpr *x)
{
	struct nftnl_expr *e = nftnl_expr_alloc("payload");

	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, x->key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, x->offset);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, x->len);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, x->dreg);
	return e;
}

static struct nftnl_expr *build_cmp(const VwExpr *x)
{
	struct nftnl_expr *e = nftnl_expr_alloc("cmp");

	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, x->sreg);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, x->op);
	nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, x->data, x->len);
	return e;
}

static struct nftnl_expr *build_bitwise(const VwExpr *x)
{
	struct nftnl_expr *e = nftnl_expr_alloc("bitwise");

	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, x->sreg);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, x->dreg);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, x->len);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, x->mask, x->len);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, x->xor_, x->len);
	return e;
}

static struct nftnl_expr *build_lookup(const VwExpr *x)
{
	struct nftnl_expr *e = nftnl_expr_alloc("lookup");

	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, x->sreg);
	nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, x->name);
	if (x->len)
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_DREG, x->dreg);
	/* Always sent, as the kernel always reports it back. */
	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_FLAGS, x->op);
	return e;
}

static struct nftnl_expr *build_verdict(const VwExpr *x)
{
	struct nftnl_expr *e = nftnl_expr_alloc("immediate");

	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, (uint32_t)x->verdict);
	if (x->name)
		nftnl_expr_set_str(e, NFTNL_EXPR_IMM_CHAIN, x->name);
	return e;
}

static struct nftnl_expr *build_immediate(const VwExpr *x)
{
	struct nftnl_expr *e = nftnl_expr_alloc("immediate");

	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, x->dreg);
	nftnl_expr_set(e, NFTNL_EXPR_IMM_DATA, x->data, x->len);
	return e;
}

static struct nftnl_expr *build_ct_load(const VwExpr *x)
{
	struct nftnl_expr *e = nftnl_expr_alloc("ct");

	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, x->key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, x->dreg);
	return e;
}

static struct nftnl_expr *build_ct_set(const VwExpr *x)
{
	struct nftnl_expr *e = nftnl_expr_alloc("ct");

	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, x->key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_SREG, x->sreg);
	return e;
}

static struct nftnl_expr *build_nat(const VwExpr *x)
{
	struct nftnl_expr *e = nftnl_expr_alloc("nat");

	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_TYPE, x->key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FAMILY, x->op);
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
	return e;
}

static struct nftnl_expr *build_masq(const VwExpr *x)
{
	return nftnl_expr_alloc("masq");
}

static struct nftnl_expr *build_reject(const VwExpr *x)
{
	struct nftnl_expr *e = nftnl_expr_alloc("reject");

	nftnl_expr_set_u32(e, NFTNL_EXPR_REJECT_TYPE, x->key);
	nftnl_expr_set_u8(e, NFTNL_EXPR_REJECT_CODE, (uint8_t)x->op);
	return e;
}

static struct nftnl_expr *build_fib(const VwExpr *x)
{
	struct nftnl_expr *e = nftnl_expr_alloc("fib");

	nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_FLAGS, x->op);
	nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_RESULT, x->key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_DREG, x->dreg);
	return e;
}

static struct nftnl_expr *build_byteorder(const VwExpr *x)
{
	struct nftnl_expr *e = nftnl_expr_alloc("byteorder");

	nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_SREG, x->sreg);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_DREG, x->dreg);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_OP, x->key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_LEN, x->len);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_SIZE, x->op);
	return e;
}

static struct nftnl_expr *build_counter(const VwExpr *x)
{
	/* A new counter, spelled out as iptables-nft sends it. */
	struct nftnl_expr *e = nftnl_expr_alloc("counter");

	nftnl_expr_set_u64(e, NFTNL_EXPR_CTR_PACKETS, 0);
	nftnl_expr_set_u64(e, NFTNL_EXPR_CTR_BYTES, 0);
	return e;
}

static struct nftnl_expr *build_match(const VwExpr *x)
{
	struct nftnl_expr *e = nftnl_expr_alloc("match");
	gsize n = 0;
	const void *d = x->info ? g_bytes_get_data(x->info, &n) : NULL;

	nftnl_expr_set_str(e, NFTNL_EXPR_MT_NAME, x->name);
	nftnl_expr_set_u32(e, NFTNL_EXPR_MT_REV, x->key);
	/* libnftnl keeps (and frees) the buffer: it must be the heap's. */
	nftnl_expr_set(e, NFTNL_EXPR_MT_INFO, g_memdup2(d, n), (uint32_t)n);
	return e;
}

/* One expression of the plan as libnftnl's. */
static struct nftnl_expr *build_expr(const VwExpr *x)
{
	switch (x->kind) {
	case VW_X_META:
		return build_meta(x);
	case VW_X_PAYLOAD:
		return build_payload(x);
	case VW_X_CMP:
		return build_cmp(x);
	case VW_X_BITWISE:
		return build_bitwise(x);
	case VW_X_LOOKUP:
		return build_lookup(x);
	case VW_X_VERDICT:
		return build_verdict(x);
	case VW_X_IMMEDIATE:
		return build_immediate(x);
	case VW_X_CT_LOAD:
		return build_ct_load(x);
	case VW_X_CT_SET:
		return build_ct_set(x);
	case VW_X_NAT:
		return build_nat(x);
	case VW_X_MASQ:
		return build_masq(x);
	case VW_X_REJECT:
		return build_reject(x);
	case VW_X_FIB:
		return build_fib(x);
	case VW_X_BYTEORDER:
		return build_byteorder(x);
	case VW_X_COUNTER:
		return build_counter(x);
	case VW_X_MATCH:
		return build_match(x);
	}
	return NULL;
}

struct nftnl_rule *vw_nft_build_rule(const char *chain, const VwRule *r)
{
	struct nftnl_rule *nr = nftnl_rule_alloc();

	nftnl_rule_set_str(nr, NFTNL_RULE_TABLE, VW_NFT_TABLE);
	nftnl_rule_set_str(nr, NFTNL_RULE_CHAIN, chain);
	nftnl_rule_set_u32(nr, NFTNL_RULE_FAMILY, NFPROTO_INET);
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
	struct nftnl_rule *nr = vw_nft_build_rule(f->chain, f->rule);

	nftnl_rule_set_str(nr, NFTNL_RULE_TABLE, f->table);
	nftnl_rule_set_u32(nr, NFTNL_RULE_FAMILY, (uint32_t)f->family);
	return nr;
}

struct nftnl_set *vw_nft_build_set(const VwSet *s)
{
	struct nftnl_set *ns = nftnl_set_alloc();

	nftnl_set_set_str(ns, NFTNL_SET_TABLE, VW_NFT_TABLE);
	nftnl_set_set_u32(ns, NFTNL_SET_FAMILY, NFPROTO_INET);
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
