/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Statements → expressions, as nft's netlink_linearize.c generates them:
 * values in register 1, a concatenated key from register 1 on with each
 * field at a 32-bit boundary, and the dependencies nft adds once per rule:
 * in an inet table the protocol check before the first IPv4 or IPv6 header
 * field; in a bridge table the ethernet protocol before a network header
 * field (meta protocol for IPv4 and IPv6 addresses, the ether type for ARP
 * and ICMPv6, as nft 1.0 writes them) and the transport protocol before a
 * UDP or ICMPv6 field.
 */
#include <string.h>

#include <linux/if_ether.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_comment.h>
#include <linux/netfilter/xt_connmark.h>
#include <linux/netfilter/xt_conntrack.h>

#include "plan-private.h"

typedef struct {
	VwRule *rule;
	/* The protocol (NFPROTO_*) the rule already checked. */
	int nfproto;
	/* Bridge family: the ethernet (ETH_P_*) and transport (IPPROTO_*)
	 * protocols the rule already checked. */
	bool bridge;
	uint16_t ethproto;
	uint8_t l4proto;
} Lin;

static VwExpr *push(Lin *l, VwExprKind kind)
{
	VwExpr x = { .kind = kind };

	g_array_append_val(l->rule->exprs, x);
	return &g_array_index(l->rule->exprs, VwExpr, l->rule->exprs->len - 1);
}

/* The register of the 32-bit word @word counted from register 1, as nft
 * names it: a 128-bit register when the word starts one (NFT_REG_1 …),
 * else a 32-bit one (NFT_REG32_01 …). */
static uint32_t reg_of(uint32_t word)
{
	return word % 4 == 0 ? NFT_REG_1 + word / 4 : NFT_REG32_00 + word;
}

static void meta(Lin *l, uint32_t key, uint32_t dreg)
{
	VwExpr *x = push(l, VW_X_META);

	x->key = key;
	x->dreg = dreg;
}

static void payload(Lin *l, uint32_t base, uint32_t offset, uint32_t len, uint32_t dreg)
{
	VwExpr *x = push(l, VW_X_PAYLOAD);

	x->key = base;
	x->offset = offset;
	x->len = len;
	x->dreg = dreg;
}

static void cmp(Lin *l, uint32_t op, const void *data, uint32_t len)
{
	VwExpr *x = push(l, VW_X_CMP);

	x->sreg = NFT_REG_1;
	x->op = op;
	x->len = len;
	memcpy(x->data, data, len);
}

static void bitwise(Lin *l, const void *mask, const void *xor_, uint32_t len)
{
	VwExpr *x = push(l, VW_X_BITWISE);

	x->sreg = x->dreg = NFT_REG_1;
	x->len = len;
	memcpy(x->mask, mask, len);
	memcpy(x->xor_, xor_, len);
}

static void ct_load(Lin *l, uint32_t key, uint32_t dreg)
{
	VwExpr *x = push(l, VW_X_CT_LOAD);

	x->key = key;
	x->dreg = dreg;
}

static uint32_t nfproto_of(int family)
{
	return family == AF_INET6 ? NFPROTO_IPV6 : NFPROTO_IPV4;
}

/* Bridge family: the ethernet protocol, by meta protocol or the ether
 * type, as nft checks it for what the rule reads. */
static void need_ethproto(Lin *l, uint16_t proto, bool by_meta)
{
	uint8_t be[2] = { (uint8_t)(proto >> 8), (uint8_t)proto };

	if (l->ethproto == proto)
		return;
	l->ethproto = proto;
	if (by_meta)
		meta(l, NFT_META_PROTOCOL, NFT_REG_1);
	else
		payload(l, NFT_PAYLOAD_LL_HEADER, 12, 2, NFT_REG_1);
	cmp(l, NFT_CMP_EQ, be, 2);
}

static void need_l4proto(Lin *l, uint8_t proto)
{
	if (l->l4proto == proto)
		return;
	l->l4proto = proto;
	meta(l, NFT_META_L4PROTO, NFT_REG_1);
	cmp(l, NFT_CMP_EQ, &proto, 1);
}

static void need_bridge_dep(Lin *l, VwSel sel, int family)
{
	if (sel == VW_SEL_SADDR || sel == VW_SEL_DADDR)
		need_ethproto(l, family == AF_INET6 ? ETH_P_IPV6 : ETH_P_IP, true);
	else if (sel == VW_SEL_ARP_SHA || sel == VW_SEL_ARP_SPA)
		need_ethproto(l, ETH_P_ARP, false);
	if (sel == VW_SEL_ICMPV6_TYPE) {
		need_ethproto(l, ETH_P_IPV6, false);
		need_l4proto(l, IPPROTO_ICMPV6);
	} else if (sel == VW_SEL_UDP_SPORT || sel == VW_SEL_UDP_DPORT) {
		need_l4proto(l, IPPROTO_UDP);
	}
}

/* nft checks the protocol before reading an IPv4 or IPv6 header (and, in
 * a bridge table, before the other headers too). */
static void need_nfproto(Lin *l, const VwStmt *st)
{
	uint8_t proto = (uint8_t)nfproto_of(st->family);
	bool address = false;

	bool udp = false;

	for (unsigned i = 0; i < st->nkey; i++) {
		address |= vw_sel_info(st->key[i])->address;
		udp |= st->key[i] == VW_SEL_UDP_DPORT || st->key[i] == VW_SEL_UDP_SPORT;
		if (l->bridge)
			need_bridge_dep(l, st->key[i], st->family);
	}
	if (l->bridge)
		return;
	if (address && l->nfproto != proto) {
		l->nfproto = proto;
		meta(l, NFT_META_NFPROTO, NFT_REG_1);
		cmp(l, NFT_CMP_EQ, &proto, 1);
	}
	/* A UDP header's field: nft checks the transport protocol first. */
	if (udp)
		need_l4proto(l, IPPROTO_UDP);
}

static uint32_t addr_offset(int family, bool daddr)
{
	if (family == AF_INET6)
		return daddr ? 24 : 8;
	return daddr ? 16 : 12;
}

/* Where a payload selector reads: base, offset (and its length). */
static bool payload_of(VwSel sel, int family, uint32_t *base, uint32_t *offset)
{
	const VwSelInfo *si = vw_sel_info(sel);

	if (si->address) {
		*base = NFT_PAYLOAD_NETWORK_HEADER;
		*offset = addr_offset(family, sel == VW_SEL_DADDR);
		return true;
	}
	if (!si->base)
		return false;
	*base = si->base - 1;
	*offset = si->offset;
	return true;
}

static void load(Lin *l, VwSel sel, int family, uint32_t dreg)
{
	uint32_t base, offset;

	if (payload_of(sel, family, &base, &offset)) {
		payload(l, base, offset, vw_sel_len(sel, family), dreg);
		return;
	}
	switch (sel) {
	case VW_SEL_IIFNAME:
		meta(l, NFT_META_IIFNAME, dreg);
		break;
	case VW_SEL_OIFNAME:
		meta(l, NFT_META_OIFNAME, dreg);
		break;
	case VW_SEL_L4PROTO:
		meta(l, NFT_META_L4PROTO, dreg);
		break;
	case VW_SEL_SPORT:
	case VW_SEL_DPORT:
		payload(l, NFT_PAYLOAD_TRANSPORT_HEADER, sel == VW_SEL_DPORT ? 2 : 0, 2, dreg);
		break;
	case VW_SEL_CT_STATE:
		ct_load(l, NFT_CT_STATE, dreg);
		break;
	case VW_SEL_CT_STATUS:
		ct_load(l, NFT_CT_STATUS, dreg);
		break;
	case VW_SEL_CT_MARK:
		ct_load(l, NFT_CT_MARK, dreg);
		break;
	case VW_SEL_FIB_DADDR_TYPE: {
		VwExpr *x = push(l, VW_X_FIB);

		x->op = NFTA_FIB_F_DADDR;
		x->key = NFT_FIB_RESULT_ADDRTYPE;
		x->dreg = dreg;
		break;
	}
	case VW_SEL_SADDR:
	case VW_SEL_DADDR:
	case VW_SEL_ETHER_SADDR:
	case VW_SEL_ETHER_TYPE:
	case VW_SEL_ARP_SHA:
	case VW_SEL_ARP_SPA:
	case VW_SEL_ICMPV6_TYPE:
	case VW_SEL_UDP_SPORT:
	case VW_SEL_UDP_DPORT:
	case VW_SEL_ND_TARGET:
	case VW_SEL_VXLAN_VNI:
		g_assert_not_reached(); /* payloads, above */
	}
}

/* A statement's key in registers 1, …. Interval (pipapo) sets take every
 * field in network order, so nft converts host-order ones; the only one
 * virtwire has is meta l4proto, one byte converted as a 16-bit value. */
static void load_key(Lin *l, const VwStmt *st)
{
	bool interval = st->set && (st->set->flags & NFT_SET_INTERVAL);
	uint32_t word = 0;

	need_nfproto(l, st);
	for (unsigned i = 0; i < st->nkey; i++) {
		uint32_t len = vw_sel_len(st->key[i], st->family);

		load(l, st->key[i], st->family, reg_of(word));
		if (interval && vw_sel_info(st->key[i])->host_order) {
			VwExpr *x = push(l, VW_X_BYTEORDER);

			g_assert(len == 1);
			x->sreg = x->dreg = reg_of(word);
			x->key = NFT_BYTEORDER_HTON;
			x->op = 2; /* size */
			x->len = len;
		}
		word += (len + 3) / 4;
	}
}

static void lookup(Lin *l, const VwStmt *st, uint32_t dreg, bool has_dreg)
{
	VwExpr *x = push(l, VW_X_LOOKUP);

	x->sreg = NFT_REG_1;
	x->dreg = has_dreg ? dreg : 0;
	x->op = st->neg ? NFT_LOOKUP_F_INV : 0;
	x->len = has_dreg; /* marks "dreg present" */
	x->name = g_strdup(st->set->name);
}

static void lin_prefix(Lin *l, const VwStmt *st)
{
	const VwPrefix *p = &st->prefix;
	uint32_t full = vw_addr_len(st->family);
	VwAddr net = vw_addr_network(&p->addr, p->prefix);
	uint32_t op = st->neg ? NFT_CMP_NEQ : NFT_CMP_EQ;
	uint32_t base, offset;

	g_assert(payload_of(st->key[0], st->family, &base, &offset) && base == NFT_PAYLOAD_NETWORK_HEADER);
	need_nfproto(l, st);
	if (p->prefix % 8 == 0) {
		/* Whole bytes: nft compares just the prefix. */
		payload(l, NFT_PAYLOAD_NETWORK_HEADER, offset, p->prefix / 8, NFT_REG_1);
		cmp(l, op, net.b, p->prefix / 8);
	} else {
		uint8_t mask[16] = { 0 }, zero[16] = { 0 };

		for (unsigned i = 0; i < p->prefix; i++)
			mask[i / 8] |= (uint8_t)(0x80 >> (i % 8));
		payload(l, NFT_PAYLOAD_NETWORK_HEADER, offset, full, NFT_REG_1);
		bitwise(l, mask, zero, full);
		cmp(l, op, net.b, full);
	}
}

static void lin_flags(Lin *l, const VwStmt *st)
{
	uint32_t mask = st->bits, zero = 0;

	load(l, st->key[0], 0, NFT_REG_1);
	bitwise(l, &mask, &zero, 4);
	cmp(l, NFT_CMP_NEQ, &zero, 4);
}

/* "tcp flags != syn / fin,syn,rst,ack", after the check nft adds for the
 * transport header: meta l4proto tcp. */
static void lin_tcp_not_syn(Lin *l)
{
	uint8_t tcp = 6 /* IPPROTO_TCP */, mask = 0x17 /* fin|syn|rst|ack */, zero = 0, syn = 0x02;

	meta(l, NFT_META_L4PROTO, NFT_REG_1);
	cmp(l, NFT_CMP_EQ, &tcp, 1);
	payload(l, NFT_PAYLOAD_TRANSPORT_HEADER, 13, 1, NFT_REG_1);
	bitwise(l, &mask, &zero, 1);
	cmp(l, NFT_CMP_NEQ, &syn, 1);
}

static void nat(Lin *l, uint32_t type, int family, uint32_t proto_reg)
{
	VwExpr *x = push(l, VW_X_NAT);

	x->key = type;
	x->op = nfproto_of(family);
	x->sreg = NFT_REG_1;
	x->reg2 = proto_reg;
}

/* The port follows the address in a DNAT map's data: in the next 32-bit
 * register for IPv4, in register 2 (after 128 bits) for IPv6. */
static void lin_dnat_map(Lin *l, const VwStmt *st)
{
	load_key(l, st);
	lookup(l, st, NFT_REG_1, true);
	nat(l, NFT_NAT_DNAT, st->family, reg_of(vw_addr_len(st->family) / 4));
}

static void lin_snat(Lin *l, const VwStmt *st)
{
	VwExpr *x = push(l, VW_X_IMMEDIATE);

	x->dreg = NFT_REG_1;
	x->len = vw_addr_len(st->family);
	memcpy(x->data, st->addr.b, x->len);
	nat(l, NFT_NAT_SNAT, st->family, 0);
}

static void lin_ct_mark_or(Lin *l, const VwStmt *st)
{
	uint32_t mask = ~st->bits, xor_ = st->bits;
	VwExpr *x;

	load(l, VW_SEL_CT_MARK, 0, NFT_REG_1);
	bitwise(l, &mask, &xor_, 4);
	x = push(l, VW_X_CT_SET);
	x->key = NFT_CT_MARK;
	x->sreg = NFT_REG_1;
}

static void xt_match(Lin *l, const char *name, uint32_t rev, GBytes *info)
{
	VwExpr *x = push(l, VW_X_MATCH);

	x->name = g_strdup(name);
	x->key = rev;
	x->info = info;
}

/* As iptables-nft writes "-m conntrack --ctstate …": revision 3. */
static void lin_xt_conntrack(Lin *l, const VwStmt *st)
{
	struct xt_conntrack_mtinfo3 *ct = g_malloc0(XT_ALIGN(sizeof(*ct)));

	ct->match_flags = XT_CONNTRACK_STATE;
	ct->state_mask = (uint16_t)st->bits;
	xt_match(l, "conntrack", 3, g_bytes_new_take(ct, XT_ALIGN(sizeof(*ct))));
}

/* As iptables-nft writes "-m connmark --mark M/M": revision 1. */
static void lin_xt_connmark(Lin *l, const VwStmt *st)
{
	struct xt_connmark_mtinfo1 *cm = g_malloc0(XT_ALIGN(sizeof(*cm)));

	cm->mark = st->bits;
	cm->mask = st->bits;
	xt_match(l, "connmark", 1, g_bytes_new_take(cm, XT_ALIGN(sizeof(*cm))));
}

static void lin_xt_comment(Lin *l, const VwStmt *st)
{
	struct xt_comment_info *ci = g_malloc0(sizeof(*ci));

	g_strlcpy(ci->comment, st->str, sizeof(ci->comment));
	xt_match(l, "comment", 0, g_bytes_new_take(ci, sizeof(*ci)));
}

static void lin_verdict(Lin *l, const VwStmt *st)
{
	VwExpr *x = push(l, VW_X_VERDICT);

	x->verdict = st->verdict;
	x->name = g_strdup(st->str);
}

static void lin_stmt(Lin *l, const VwStmt *st)
{
	switch (st->kind) {
	case VW_ST_MATCH:
		need_nfproto(l, st);
		load(l, st->key[0], st->family, NFT_REG_1);
		cmp(l, st->neg ? NFT_CMP_NEQ : NFT_CMP_EQ, st->value, st->value_len);
		break;
	case VW_ST_PREFIX:
		lin_prefix(l, st);
		break;
	case VW_ST_FLAGS:
		lin_flags(l, st);
		break;
	case VW_ST_LOOKUP:
		load_key(l, st);
		lookup(l, st, 0, false);
		break;
	case VW_ST_VMAP:
		load_key(l, st);
		lookup(l, st, NFT_REG_VERDICT, true);
		break;
	case VW_ST_DNAT_MAP:
		lin_dnat_map(l, st);
		break;
	case VW_ST_SNAT:
		lin_snat(l, st);
		break;
	case VW_ST_MASQ:
		push(l, VW_X_MASQ);
		break;
	case VW_ST_CT_MARK_OR:
		lin_ct_mark_or(l, st);
		break;
	case VW_ST_REJECT: {
		VwExpr *x = push(l, VW_X_REJECT);

		x->key = NFT_REJECT_ICMPX_UNREACH;
		x->op = NFT_REJECT_ICMPX_ADMIN_PROHIBITED;
		break;
	}
	case VW_ST_REJECT_TCP:
		push(l, VW_X_REJECT)->key = NFT_REJECT_TCP_RST;
		break;
	case VW_ST_TCP_NOT_SYN:
		lin_tcp_not_syn(l);
		break;
	case VW_ST_COUNTER:
		push(l, VW_X_COUNTER);
		break;
	case VW_ST_VERDICT:
		lin_verdict(l, st);
		break;
	case VW_ST_XT_CONNTRACK:
		lin_xt_conntrack(l, st);
		break;
	case VW_ST_XT_COMMENT:
		lin_xt_comment(l, st);
		break;
	case VW_ST_XT_CONNMARK:
		lin_xt_connmark(l, st);
		break;
	case VW_ST_COMMENT:
		/* User data, not an expression. */
		g_free(l->rule->comment);
		l->rule->comment = g_strdup(st->str);
		break;
	}
}

void vw_rule_linearize(const VwRuleBuf *rb, VwRule *out)
{
	Lin l = { out, 0, rb->bridge, 0, 0 };

	for (guint i = 0; i < rb->stmts->len; i++)
		lin_stmt(&l, &g_array_index(rb->stmts, VwStmt, i));
	/* iptables-nft marks its rules so: iptables reads them back. */
	out->compat = rb->iptables;
}
