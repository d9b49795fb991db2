/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Rules as descriptions: each vw_rb_* call appends one statement (a match, a
 * lookup, an action) in nft's own terms. vw_rb_commit then generates the
 * expressions (rule-linearize.c) and the text (rule-print.c) from the same
 * list, so a rule's bytecode and its printed form cannot drift apart; the
 * unit test test-nft-payload holds both against what nft makes of the text.
 */
#include <string.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/rtnetlink.h>

#include "plan-private.h"

static VwNftType sel_type(VwSel sel, int family)
{
	if (vw_sel_info(sel)->address)
		return family == AF_INET6 ? VW_NFT_IPV6_ADDR : VW_NFT_IPV4_ADDR;
	return vw_sel_info(sel)->type;
}

static VwRuleBuf rb_new(bool iptables, bool bridge)
{
	VwRuleBuf rb = { g_array_new(FALSE, TRUE, sizeof(VwStmt)), iptables, bridge };

	return rb;
}

VwRuleBuf vw_rb_new(void)
{
	return rb_new(false, false);
}

VwRuleBuf vw_rb_new_iptables(void)
{
	return rb_new(true, false);
}

VwRuleBuf vw_rb_new_bridge(void)
{
	return rb_new(false, true);
}

VwRule *vw_rb_finish(VwRuleBuf *rb)
{
	VwRule *r = g_new0(VwRule, 1);

	r->exprs = g_array_new(FALSE, TRUE, sizeof(VwExpr));
	vw_rule_linearize(rb, r);
	r->text = vw_rule_print(rb);
	for (guint i = 0; i < rb->stmts->len; i++)
		g_free(g_array_index(rb->stmts, VwStmt, i).str);
	g_clear_pointer(&rb->stmts, g_array_unref);
	return r;
}

void vw_rb_commit(VwRuleBuf *rb, VwChain *chain)
{
	g_ptr_array_add(chain->rules, vw_rb_finish(rb));
}

void vw_rb_commit_verdict(VwRuleBuf *rb, VwChain *chain, int verdict, const char *target)
{
	vw_rb_verdict(rb, verdict, target);
	vw_rb_commit(rb, chain);
}

static VwStmt *add(VwRuleBuf *rb, VwStmtKind kind)
{
	VwStmt st = { .kind = kind };

	g_array_append_val(rb->stmts, st);
	return &g_array_index(rb->stmts, VwStmt, rb->stmts->len - 1);
}

/* A statement reading @n selectors of @family. */
static VwStmt *add_key(VwRuleBuf *rb, VwStmtKind kind, int family, const VwSel *key, unsigned n)
{
	VwStmt *st = add(rb, kind);

	g_assert(n <= VW_KEY_MAX);
	st->family = family;
	memcpy(st->key, key, n * sizeof(*key));
	st->nkey = n;
	return st;
}

/* Field types of one datatype (a "typeof" set's field is its type's). */
static bool same_type(VwNftType a, VwNftType b)
{
	return a == b || (vw_nft_type_info(a)->id == vw_nft_type_info(b)->id &&
			  vw_nft_type_info(a)->size == vw_nft_type_info(b)->size);
}

/* A lookup's key must be the set's: the same fields, of the same types. */
static void add_lookup(VwRuleBuf *rb, VwStmtKind kind, int family, const VwSel *key, unsigned n, const VwSet *set,
		       bool neg)
{
	VwStmt *st = add_key(rb, kind, family, key, n);

	g_assert(set);
	for (unsigned i = 0; i < n; i++)
		g_assert(same_type(set->key[i], sel_type(key[i], family)));
	g_assert(n == VW_SET_KEY_FIELDS || set->key[n] == VW_NFT_NONE);
	g_assert(kind != VW_ST_VMAP || set->data[0] == VW_NFT_VERDICT);
	st->set = set;
	st->neg = neg;
}

static void add_prefix(VwRuleBuf *rb, VwSel sel, const VwPrefix *p, bool neg)
{
	VwStmt *st = add_key(rb, VW_ST_PREFIX, p->addr.family, &sel, 1);

	g_assert(sel_type(sel, p->addr.family) == (p->addr.family == AF_INET6 ? VW_NFT_IPV6_ADDR : VW_NFT_IPV4_ADDR));
	st->prefix = *p;
	st->neg = neg;
}

void vw_rb_prefix(VwRuleBuf *rb, bool daddr, const VwPrefix *p, bool neg)
{
	add_prefix(rb, daddr ? VW_SEL_DADDR : VW_SEL_SADDR, p, neg);
}

void vw_rb_ifname_in(VwRuleBuf *rb, bool oif, const VwSet *set)
{
	VwSel sel = oif ? VW_SEL_OIFNAME : VW_SEL_IIFNAME;

	add_lookup(rb, VW_ST_LOOKUP, 0, &sel, 1, set, false);
}

void vw_rb_ifpair_in(VwRuleBuf *rb, const VwSet *set)
{
	static const VwSel key[] = { VW_SEL_IIFNAME, VW_SEL_OIFNAME };

	add_lookup(rb, VW_ST_LOOKUP, 0, key, G_N_ELEMENTS(key), set, false);
}

void vw_rb_ifname_eq(VwRuleBuf *rb, bool oif, const char *name)
{
	VwSel sel = oif ? VW_SEL_OIFNAME : VW_SEL_IIFNAME;
	VwStmt *st = add_key(rb, VW_ST_MATCH, 0, &sel, 1);
	size_t n = MIN(strlen(name), 15);

	/* nft compares the whole IFNAMSIZ buffer; iptables the name and its
	 * NUL ("-o br", exactly: "+" would make a prefix). */
	memcpy(st->value, name, n);
	st->value_len = rb->iptables ? (uint32_t)n + 1 : 16;
}

void vw_rb_ifname_vmap(VwRuleBuf *rb, bool oif, const VwSet *map)
{
	VwSel sel = oif ? VW_SEL_OIFNAME : VW_SEL_IIFNAME;

	add_lookup(rb, VW_ST_VMAP, 0, &sel, 1, map, false);
}

static void flags(VwRuleBuf *rb, VwSel sel, uint32_t bits)
{
	add_key(rb, VW_ST_FLAGS, 0, &sel, 1)->bits = bits;
}

void vw_rb_ct_state_est_rel(VwRuleBuf *rb)
{
	flags(rb, VW_SEL_CT_STATE, NF_CT_STATE_BIT(IP_CT_ESTABLISHED) | NF_CT_STATE_BIT(IP_CT_RELATED));
}

void vw_rb_ct_state_new(VwRuleBuf *rb)
{
	flags(rb, VW_SEL_CT_STATE, NF_CT_STATE_BIT(IP_CT_NEW));
}

void vw_rb_tcp_not_syn(VwRuleBuf *rb)
{
	add(rb, VW_ST_TCP_NOT_SYN);
}

void vw_rb_ct_status_dnat(VwRuleBuf *rb)
{
	flags(rb, VW_SEL_CT_STATUS, IPS_DST_NAT);
}

void vw_rb_fib_daddr_local(VwRuleBuf *rb)
{
	VwSel sel = VW_SEL_FIB_DADDR_TYPE;
	VwStmt *st = add_key(rb, VW_ST_MATCH, 0, &sel, 1);
	uint32_t local = RTN_LOCAL;

	memcpy(st->value, &local, 4);
	st->value_len = 4;
}

void vw_rb_proto_port_in(VwRuleBuf *rb, const VwSet *set)
{
	static const VwSel key[] = { VW_SEL_L4PROTO, VW_SEL_DPORT };

	add_lookup(rb, VW_ST_LOOKUP, 0, key, G_N_ELEMENTS(key), set, false);
}

void vw_rb_saddr_vmap(VwRuleBuf *rb, int family, const VwSet *map)
{
	VwSel sel = VW_SEL_SADDR;

	add_lookup(rb, VW_ST_VMAP, family, &sel, 1, map, false);
}

void vw_rb_daddr_in(VwRuleBuf *rb, int family, const VwSet *set)
{
	VwSel sel = VW_SEL_DADDR;

	add_lookup(rb, VW_ST_LOOKUP, family, &sel, 1, set, false);
}

void vw_rb_addr_port_in(VwRuleBuf *rb, int family, bool dst, const VwSet *set)
{
	VwSel key[] = { VW_SEL_L4PROTO, dst ? VW_SEL_DADDR : VW_SEL_SADDR, dst ? VW_SEL_DPORT : VW_SEL_SPORT };

	add_lookup(rb, VW_ST_LOOKUP, family, key, G_N_ELEMENTS(key), set, false);
}

/* "meta l4proto [. ip daddr] . th dport [. ip saddr]": a forward's key. */
static unsigned fwd_key(VwSel *key, bool with_daddr, bool with_saddr)
{
	unsigned n = 0;

	key[n++] = VW_SEL_L4PROTO;
	if (with_daddr)
		key[n++] = VW_SEL_DADDR;
	key[n++] = VW_SEL_DPORT;
	if (with_saddr)
		key[n++] = VW_SEL_SADDR;
	return n;
}

void vw_rb_fwd_keys_in(VwRuleBuf *rb, int family, bool with_daddr, const VwSet *set)
{
	VwSel key[VW_KEY_MAX];
	unsigned n = fwd_key(key, with_daddr, false);

	add_lookup(rb, VW_ST_LOOKUP, family, key, n, set, false);
}

void vw_rb_fwd_allow_not_in(VwRuleBuf *rb, int family, bool with_daddr, const VwSet *set)
{
	VwSel key[VW_KEY_MAX];
	unsigned n = fwd_key(key, with_daddr, true);

	add_lookup(rb, VW_ST_LOOKUP, family, key, n, set, true);
}

void vw_rb_dnat_map(VwRuleBuf *rb, int family, bool with_daddr, const VwSet *map)
{
	VwSel key[VW_KEY_MAX];
	unsigned n = fwd_key(key, with_daddr, false);

	add_lookup(rb, VW_ST_DNAT_MAP, family, key, n, map, false);
	/* The map gives the address, then the port. */
	g_assert(map->data[0] == (family == AF_INET6 ? VW_NFT_IPV6_ADDR : VW_NFT_IPV4_ADDR));
	g_assert(map->data[1] == VW_NFT_INET_SERVICE);
}

void vw_rb_key_in(VwRuleBuf *rb, int family, const VwSel *key, unsigned n, const VwSet *set, bool neg)
{
	add_lookup(rb, VW_ST_LOOKUP, family, key, n, set, neg);
}

void vw_rb_key_vmap(VwRuleBuf *rb, int family, const VwSel *key, unsigned n, const VwSet *map)
{
	add_lookup(rb, VW_ST_VMAP, family, key, n, map, false);
}

void vw_rb_match(VwRuleBuf *rb, VwSel sel, int family, const void *value, uint32_t len)
{
	VwStmt *st = add_key(rb, VW_ST_MATCH, family, &sel, 1);

	g_assert(len == vw_sel_len(sel, family) && len <= sizeof(st->value));
	memcpy(st->value, value, len);
	st->value_len = len;
}

void vw_rb_prefix_of(VwRuleBuf *rb, VwSel sel, const VwPrefix *p)
{
	add_prefix(rb, sel, p, false);
}

void vw_rb_ct_mark_or(VwRuleBuf *rb, uint32_t bits)
{
	add(rb, VW_ST_CT_MARK_OR)->bits = bits;
}

void vw_rb_masquerade(VwRuleBuf *rb)
{
	add(rb, VW_ST_MASQ);
}

void vw_rb_snat_to(VwRuleBuf *rb, const VwAddr *a)
{
	VwStmt *st = add(rb, VW_ST_SNAT);

	st->family = a->family;
	st->addr = *a;
}

void vw_rb_reject_admin(VwRuleBuf *rb)
{
	add(rb, VW_ST_REJECT);
}

void vw_rb_reject_tcp_reset(VwRuleBuf *rb)
{
	add(rb, VW_ST_REJECT_TCP);
}

void vw_rb_counter(VwRuleBuf *rb)
{
	add(rb, VW_ST_COUNTER);
}

void vw_rb_verdict(VwRuleBuf *rb, int verdict, const char *chain)
{
	VwStmt *st = add(rb, VW_ST_VERDICT);

	g_assert((chain != NULL) == (verdict == NFT_JUMP || verdict == NFT_GOTO));
	st->verdict = verdict;
	st->str = g_strdup(chain);
}

void vw_rb_comment(VwRuleBuf *rb, const char *text)
{
	add(rb, rb->iptables ? VW_ST_XT_COMMENT : VW_ST_COMMENT)->str = g_strdup(text);
}

void vw_rb_xt_ctstate(VwRuleBuf *rb, uint32_t states)
{
	g_assert(rb->iptables);
	add(rb, VW_ST_XT_CONNTRACK)->bits = states;
}

void vw_rb_xt_connmark(VwRuleBuf *rb, uint32_t bits)
{
	g_assert(rb->iptables);
	add(rb, VW_ST_XT_CONNMARK)->bits = bits;
}

void vw_rb_ifname_prefix(VwRuleBuf *rb, bool oif, const char *prefix)
{
	VwSel sel = oif ? VW_SEL_OIFNAME : VW_SEL_IIFNAME;
	VwStmt *st = add_key(rb, VW_ST_MATCH, 0, &sel, 1);
	size_t n = MIN(strlen(prefix), 15);

	/* iptables' "+": the name's first bytes, without its NUL. */
	g_assert(rb->iptables);
	memcpy(st->value, prefix, n);
	st->value_len = (uint32_t)n;
}
