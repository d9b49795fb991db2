/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Rule fragments. Each appends the expressions nft itself would generate for
 * a piece of nft syntax (as `nft --debug=netlink` shows) and that piece of
 * syntax, so a rule's bytecode and its printed form cannot drift apart. The
 * golden tests check both against a real kernel and nft.
 */
#include <string.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include "plan-private.h"

#define REG32(n) (NFT_REG32_00 + (n))

VwRuleBuf vw_rb_new(void)
{
	VwRuleBuf rb;

	rb.rule = g_new0(VwRule, 1);
	rb.rule->exprs = g_array_new(FALSE, TRUE, sizeof(VwExpr));
	rb.text = g_string_new(NULL);
	rb.nfproto = 0;
	return rb;
}

void vw_rb_commit(VwRuleBuf *rb, VwChain *chain)
{
	rb->rule->text = g_string_free(rb->text, FALSE);
	rb->text = NULL;
	g_ptr_array_add(chain->rules, rb->rule);
	rb->rule = NULL;
}

static VwExpr *push(VwRuleBuf *rb, VwExprKind kind)
{
	VwExpr x = { .kind = kind };

	g_array_append_val(rb->rule->exprs, x);
	return &g_array_index(rb->rule->exprs, VwExpr, rb->rule->exprs->len - 1);
}

static void text(VwRuleBuf *rb, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void text(VwRuleBuf *rb, const char *fmt, ...)
{
	va_list ap;

	if (rb->text->len)
		g_string_append_c(rb->text, ' ');
	va_start(ap, fmt);
	g_string_append_vprintf(rb->text, fmt, ap);
	va_end(ap);
}

static void meta(VwRuleBuf *rb, uint32_t key, uint32_t dreg)
{
	VwExpr *x = push(rb, VW_X_META);

	x->key = key;
	x->dreg = dreg;
}

static void payload(VwRuleBuf *rb, uint32_t base, uint32_t offset, uint32_t len, uint32_t dreg)
{
	VwExpr *x = push(rb, VW_X_PAYLOAD);

	x->key = base;
	x->offset = offset;
	x->len = len;
	x->dreg = dreg;
}

static void cmp(VwRuleBuf *rb, uint32_t op, const void *data, uint32_t len)
{
	VwExpr *x = push(rb, VW_X_CMP);

	x->sreg = NFT_REG_1;
	x->op = op;
	x->len = len;
	memcpy(x->data, data, len);
}

static void cmp_u32(VwRuleBuf *rb, uint32_t op, uint32_t v)
{
	cmp(rb, op, &v, 4);
}

static void bitwise(VwRuleBuf *rb, const void *mask, const void *xor_, uint32_t len)
{
	VwExpr *x = push(rb, VW_X_BITWISE);

	x->sreg = x->dreg = NFT_REG_1;
	x->len = len;
	memcpy(x->mask, mask, len);
	memcpy(x->xor_, xor_, len);
}

static void lookup(VwRuleBuf *rb, const char *set, uint32_t dreg, bool has_dreg, bool invert)
{
	VwExpr *x = push(rb, VW_X_LOOKUP);

	x->sreg = NFT_REG_1;
	x->dreg = has_dreg ? dreg : 0;
	x->op = invert ? NFT_LOOKUP_F_INV : 0;
	x->len = has_dreg; /* marks "dreg present" */
	x->name = g_strdup(set);
}

/* The dependency nft adds before matching on an IPv4 or IPv6 header in an
 * inet table. */
static void need_nfproto(VwRuleBuf *rb, int family)
{
	uint8_t proto = family == AF_INET6 ? NFPROTO_IPV6 : NFPROTO_IPV4;

	if (rb->nfproto == proto)
		return;
	rb->nfproto = proto;
	meta(rb, NFT_META_NFPROTO, NFT_REG_1);
	cmp(rb, NFT_CMP_EQ, &proto, 1);
}

static const char *ipname(int family)
{
	return family == AF_INET6 ? "ip6" : "ip";
}

static uint32_t addr_offset(int family, bool daddr)
{
	if (family == AF_INET6)
		return daddr ? 24 : 8;
	return daddr ? 16 : 12;
}

void vw_rb_prefix(VwRuleBuf *rb, bool daddr, const VwPrefix *p, bool neg)
{
	int family = p->addr.family;
	uint32_t full = vw_addr_len(family);
	VwAddr net = vw_addr_network(&p->addr, p->prefix);
	g_autofree char *t = vw_prefix_nft_text(p);

	need_nfproto(rb, family);
	if (p->prefix % 8 == 0) {
		/* Whole bytes: compare just the prefix. */
		uint32_t n = p->prefix / 8;

		payload(rb, NFT_PAYLOAD_NETWORK_HEADER, addr_offset(family, daddr), n, NFT_REG_1);
		cmp(rb, neg ? NFT_CMP_NEQ : NFT_CMP_EQ, net.b, n);
	} else {
		uint8_t mask[16] = { 0 }, zero[16] = { 0 };

		for (unsigned i = 0; i < p->prefix; i++)
			mask[i / 8] |= (uint8_t)(0x80 >> (i % 8));
		payload(rb, NFT_PAYLOAD_NETWORK_HEADER, addr_offset(family, daddr), full, NFT_REG_1);
		bitwise(rb, mask, zero, full);
		cmp(rb, neg ? NFT_CMP_NEQ : NFT_CMP_EQ, net.b, full);
	}
	text(rb, "%s %s %s%s", ipname(family), daddr ? "daddr" : "saddr", neg ? "!= " : "", t);
}

void vw_rb_ifname_in(VwRuleBuf *rb, bool oif, const char *set)
{
	meta(rb, oif ? NFT_META_OIFNAME : NFT_META_IIFNAME, NFT_REG_1);
	lookup(rb, set, 0, false, false);
	text(rb, "%s @%s", oif ? "oifname" : "iifname", set);
}

void vw_rb_ifpair_in(VwRuleBuf *rb, const char *set)
{
	/* Two 16-byte names: the second starts in register 2. */
	meta(rb, NFT_META_IIFNAME, NFT_REG_1);
	meta(rb, NFT_META_OIFNAME, NFT_REG_2);
	lookup(rb, set, 0, false, false);
	text(rb, "iifname . oifname @%s", set);
}

void vw_rb_ifname_eq(VwRuleBuf *rb, bool oif, const char *name)
{
	uint8_t buf[16] = { 0 };

	memcpy(buf, name, MIN(strlen(name), 15));
	meta(rb, oif ? NFT_META_OIFNAME : NFT_META_IIFNAME, NFT_REG_1);
	cmp(rb, NFT_CMP_EQ, buf, 16);
	text(rb, "%s \"%s\"", oif ? "oifname" : "iifname", name);
}

void vw_rb_ifname_vmap(VwRuleBuf *rb, bool oif, const char *map)
{
	meta(rb, oif ? NFT_META_OIFNAME : NFT_META_IIFNAME, NFT_REG_1);
	lookup(rb, map, NFT_REG_VERDICT, true, false);
	text(rb, "%s vmap @%s", oif ? "oifname" : "iifname", map);
}

static void ct_load(VwRuleBuf *rb, uint32_t key)
{
	VwExpr *x = push(rb, VW_X_CT_LOAD);

	x->key = key;
	x->dreg = NFT_REG_1;
}

static void ct_bits_set(VwRuleBuf *rb, uint32_t key, uint32_t bits)
{
	uint32_t mask = bits, zero = 0;

	ct_load(rb, key);
	bitwise(rb, &mask, &zero, 4);
	cmp_u32(rb, NFT_CMP_NEQ, 0);
}

void vw_rb_ct_state_est_rel(VwRuleBuf *rb)
{
	/* NF_CT_STATE_BIT(IP_CT_ESTABLISHED) | NF_CT_STATE_BIT(IP_CT_RELATED) */
	ct_bits_set(rb, NFT_CT_STATE, 0x2 | 0x4);
	text(rb, "ct state established,related");
}

void vw_rb_ct_status_dnat(VwRuleBuf *rb)
{
	ct_bits_set(rb, NFT_CT_STATUS, 1u << 5 /* IPS_DST_NAT */);
	text(rb, "ct status dnat");
}

void vw_rb_fib_daddr_local(VwRuleBuf *rb)
{
	VwExpr *x = push(rb, VW_X_FIB);

	x->op = NFTA_FIB_F_DADDR;
	x->key = NFT_FIB_RESULT_ADDRTYPE;
	x->dreg = NFT_REG_1;
	cmp_u32(rb, NFT_CMP_EQ, 2 /* RTN_LOCAL */);
	text(rb, "fib daddr type local");
}

void vw_rb_proto_port_in(VwRuleBuf *rb, const char *set)
{
	meta(rb, NFT_META_L4PROTO, NFT_REG_1);
	payload(rb, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, REG32(1));
	lookup(rb, set, 0, false, false);
	text(rb, "meta l4proto . th dport @%s", set);
}

void vw_rb_saddr_vmap(VwRuleBuf *rb, int family, const char *map)
{
	need_nfproto(rb, family);
	payload(rb, NFT_PAYLOAD_NETWORK_HEADER, addr_offset(family, false), vw_addr_len(family), NFT_REG_1);
	lookup(rb, map, NFT_REG_VERDICT, true, false);
	text(rb, "%s saddr vmap @%s", ipname(family), map);
}

void vw_rb_daddr_in(VwRuleBuf *rb, int family, const char *set)
{
	need_nfproto(rb, family);
	payload(rb, NFT_PAYLOAD_NETWORK_HEADER, addr_offset(family, true), vw_addr_len(family), NFT_REG_1);
	lookup(rb, set, 0, false, false);
	text(rb, "%s daddr @%s", ipname(family), set);
}

/*
 * The key "meta l4proto [. ip daddr] . th dport [. ip saddr]" in registers
 * 1, 9, 10 … (each field padded to 32 bits). Interval (pipapo) sets want
 * the protocol byte in network order, hence the byteorder nft inserts.
 */
static void fwd_key(VwRuleBuf *rb, int family, bool with_daddr, bool with_saddr, bool interval)
{
	uint32_t words = 1, alen = vw_addr_len(family);

	if (with_daddr || with_saddr)
		need_nfproto(rb, family);
	meta(rb, NFT_META_L4PROTO, NFT_REG_1);
	if (interval) {
		VwExpr *x = push(rb, VW_X_BYTEORDER);

		x->sreg = x->dreg = NFT_REG_1;
		x->key = NFT_BYTEORDER_HTON;
		x->op = 2; /* size */
		x->len = 1;
	}
	if (with_daddr) {
		payload(rb, NFT_PAYLOAD_NETWORK_HEADER, addr_offset(family, true), alen, REG32(words));
		words += alen / 4;
	}
	payload(rb, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, REG32(words));
	words++;
	if (with_saddr)
		payload(rb, NFT_PAYLOAD_NETWORK_HEADER, addr_offset(family, false), alen, REG32(words));
}

void vw_rb_addr_port_in(VwRuleBuf *rb, int family, bool dst, const char *set)
{
	uint32_t alen = vw_addr_len(family);

	need_nfproto(rb, family);
	meta(rb, NFT_META_L4PROTO, NFT_REG_1);
	payload(rb, NFT_PAYLOAD_NETWORK_HEADER, addr_offset(family, dst), alen, REG32(1));
	payload(rb, NFT_PAYLOAD_TRANSPORT_HEADER, dst ? 2 : 0, 2, REG32(1 + alen / 4));
	lookup(rb, set, 0, false, false);
	text(rb, "meta l4proto . %s %s . th %s @%s", ipname(family), dst ? "daddr" : "saddr", dst ? "dport" : "sport",
	     set);
}

void vw_rb_fwd_keys_in(VwRuleBuf *rb, int family, bool with_daddr, const char *set)
{
	fwd_key(rb, family, with_daddr, false, false);
	lookup(rb, set, 0, false, false);
	if (with_daddr)
		text(rb, "meta l4proto . %s daddr . th dport @%s", ipname(family), set);
	else
		text(rb, "meta l4proto . th dport @%s", set);
}

void vw_rb_fwd_allow_not_in(VwRuleBuf *rb, int family, bool with_daddr, const char *set)
{
	fwd_key(rb, family, with_daddr, true, true);
	lookup(rb, set, 0, false, true);
	if (with_daddr)
		text(rb, "meta l4proto . %s daddr . th dport . %s saddr != @%s", ipname(family), ipname(family),
		     set);
	else
		text(rb, "meta l4proto . th dport . %s saddr != @%s", ipname(family), set);
}

void vw_rb_dnat_map(VwRuleBuf *rb, int family, bool with_daddr, const char *map)
{
	VwExpr *x;

	fwd_key(rb, family, with_daddr, false, false);
	lookup(rb, map, NFT_REG_1, true, false);
	x = push(rb, VW_X_NAT);
	x->key = NFT_NAT_DNAT;
	x->op = family == AF_INET6 ? NFPROTO_IPV6 : NFPROTO_IPV4;
	x->sreg = NFT_REG_1;
	/* The port follows the address in the map's data: in the next 32-bit
	 * register for IPv4, in register 2 (after 128 bits) for IPv6. */
	x->reg2 = family == AF_INET6 ? NFT_REG_2 : REG32(1);
	if (with_daddr)
		text(rb, "dnat %s to meta l4proto . %s daddr . th dport map @%s", ipname(family), ipname(family), map);
	else
		text(rb, "dnat %s to meta l4proto . th dport map @%s", ipname(family), map);
}

void vw_rb_ct_mark_or(VwRuleBuf *rb, uint32_t bits)
{
	uint32_t mask = ~bits, xor_ = bits;
	VwExpr *x;

	ct_load(rb, NFT_CT_MARK);
	bitwise(rb, &mask, &xor_, 4);
	x = push(rb, VW_X_CT_SET);
	x->key = NFT_CT_MARK;
	x->sreg = NFT_REG_1;
	text(rb, "ct mark set ct mark | 0x%08x", bits);
}

void vw_rb_masquerade(VwRuleBuf *rb)
{
	push(rb, VW_X_MASQ);
	text(rb, "masquerade");
}

void vw_rb_snat_to(VwRuleBuf *rb, const VwAddr *a)
{
	char buf[VW_ADDR_STRLEN];
	VwExpr *x = push(rb, VW_X_IMMEDIATE);

	x->dreg = NFT_REG_1;
	x->len = vw_addr_len(a->family);
	memcpy(x->data, a->b, x->len);
	x = push(rb, VW_X_NAT);
	x->key = NFT_NAT_SNAT;
	x->op = a->family == AF_INET6 ? NFPROTO_IPV6 : NFPROTO_IPV4;
	x->sreg = NFT_REG_1;
	text(rb, "snat %s to %s", ipname(a->family), vw_addr_to_string(a, buf));
}

void vw_rb_reject_admin(VwRuleBuf *rb)
{
	VwExpr *x = push(rb, VW_X_REJECT);

	x->key = NFT_REJECT_ICMPX_UNREACH;
	x->op = NFT_REJECT_ICMPX_ADMIN_PROHIBITED;
	text(rb, "reject with icmpx admin-prohibited");
}

void vw_rb_verdict(VwRuleBuf *rb, int verdict, const char *chain)
{
	VwExpr *x = push(rb, VW_X_VERDICT);

	x->verdict = verdict;
	x->name = g_strdup(chain);
	switch (verdict) {
	case NF_ACCEPT:
		text(rb, "accept");
		break;
	case NF_DROP:
		text(rb, "drop");
		break;
	case NFT_RETURN:
		text(rb, "return");
		break;
	case NFT_JUMP:
		text(rb, "jump %s", chain);
		break;
	case NFT_GOTO:
		text(rb, "goto %s", chain);
		break;
	default:
		g_assert_not_reached();
	}
}
