/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Statements → text: what `nft list` prints for the rule (nft's statement
 * and expression print functions), or, for iptables-nft's rules, the words
 * iptables-save writes for them.
 */
#include <string.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/xt_conntrack.h>
#include <linux/rtnetlink.h>

#include "plan-private.h"

char *vw_prefix_nft_text(const VwPrefix *p)
{
	char buf[VW_ADDR_STRLEN];
	VwAddr net = vw_addr_network(&p->addr, p->prefix);

	if (p->prefix == vw_addr_bits(p->addr.family))
		return g_strdup(vw_addr_to_string(&net, buf));
	return g_strdup_printf("%s/%u", vw_addr_to_string(&net, buf), p->prefix);
}

typedef struct {
	uint32_t bit;
	const char *name;
} Flag;

/* The names of ct state and ct status bits (nft's ct_state_tbl and
 * ct_status_tbl), printed in bit order. */
static const Flag ct_states[] = {
	{ NF_CT_STATE_INVALID_BIT, "invalid" },	       { NF_CT_STATE_BIT(IP_CT_ESTABLISHED), "established" },
	{ NF_CT_STATE_BIT(IP_CT_RELATED), "related" }, { NF_CT_STATE_BIT(IP_CT_NEW), "new" },
	{ NF_CT_STATE_UNTRACKED_BIT, "untracked" },    { 0, NULL },
};
static const Flag ct_statuses[] = {
	{ IPS_EXPECTED, "expected" }, { IPS_SEEN_REPLY, "seen-reply" },
	{ IPS_ASSURED, "assured" },   { IPS_CONFIRMED, "confirmed" },
	{ IPS_SRC_NAT, "snat" },      { IPS_DST_NAT, "dnat" },
	{ IPS_DYING, "dying" },	      { 0, NULL },
};
/* iptables' --ctstate words, in the order libxt_conntrack prints them. */
static const Flag xt_states[] = {
	{ XT_CONNTRACK_STATE_INVALID, "INVALID" },
	{ XT_CONNTRACK_STATE_BIT(IP_CT_NEW), "NEW" },
	{ XT_CONNTRACK_STATE_BIT(IP_CT_RELATED), "RELATED" },
	{ XT_CONNTRACK_STATE_BIT(IP_CT_ESTABLISHED), "ESTABLISHED" },
	{ XT_CONNTRACK_STATE_UNTRACKED, "UNTRACKED" },
	{ XT_CONNTRACK_STATE_SNAT, "SNAT" },
	{ XT_CONNTRACK_STATE_DNAT, "DNAT" },
	{ 0, NULL },
};

static void flags_text(GString *out, const Flag *names, uint32_t bits)
{
	const char *sep = "";

	for (const Flag *f = names; f->name; f++) {
		if (!(bits & f->bit))
			continue;
		g_string_append_printf(out, "%s%s", sep, f->name);
		sep = ",";
	}
}

static void sel_text(GString *out, VwSel sel, int family)
{
	if (vw_sel_info(sel)->address)
		g_string_append(out, family == AF_INET6 ? "ip6 " : "ip ");
	g_string_append(out, vw_sel_info(sel)->text);
}

static void key_text(GString *out, const VwStmt *st)
{
	for (unsigned i = 0; i < st->nkey; i++) {
		if (i)
			g_string_append(out, " . ");
		sel_text(out, st->key[i], st->family);
	}
}

typedef struct {
	unsigned value;
	const char *name;
} Word;

/* The names nft prints for the values virtwire matches. */
static const Word ether_types[] = { { 0x0800, "ip" }, { 0x0806, "arp" }, { 0x86dd, "ip6" }, { 0, NULL } };
static const Word icmpv6_types[] = {
	{ 133, "nd-router-solicit" },
	{ 134, "nd-router-advert" },
	{ 135, "nd-neighbor-solicit" },
	{ 136, "nd-neighbor-advert" },
	{ 0, NULL },
};
static const Word l4protos[] = { { 6, "tcp" }, { 17, "udp" }, { 58, "ipv6-icmp" }, { 132, "sctp" }, { 0, NULL } };

static void word_text(GString *out, const Word *words, unsigned v)
{
	for (const Word *w = words; w->name; w++)
		if (w->value == v) {
			g_string_append(out, w->name);
			return;
		}
	g_string_append_printf(out, "%u", v);
}

/* The right side of a match, from the bytes the rule compares. */
static void value_text(GString *out, const VwStmt *st)
{
	char buf[VW_ADDR_STRLEN];
	VwAddr a = { 0 };
	uint32_t v;

	switch (st->key[0]) {
	case VW_SEL_IIFNAME:
	case VW_SEL_OIFNAME:
		g_string_append_printf(out, "\"%.*s\"", (int)strnlen((const char *)st->value, st->value_len),
				       (const char *)st->value);
		return;
	case VW_SEL_FIB_DADDR_TYPE:
		memcpy(&v, st->value, 4);
		if (v == RTN_LOCAL)
			g_string_append(out, "local");
		else
			g_string_append_printf(out, "%u", v);
		return;
	case VW_SEL_SADDR:
	case VW_SEL_DADDR:
	case VW_SEL_ARP_SPA:
		a.family = st->value_len == 16 ? AF_INET6 : AF_INET;
		memcpy(a.b, st->value, st->value_len);
		g_string_append(out, vw_addr_to_string(&a, buf));
		return;
	case VW_SEL_ETHER_TYPE:
		word_text(out, ether_types, (unsigned)st->value[0] << 8 | st->value[1]);
		return;
	case VW_SEL_ICMPV6_TYPE:
		word_text(out, icmpv6_types, st->value[0]);
		return;
	case VW_SEL_L4PROTO:
		word_text(out, l4protos, st->value[0]);
		return;
	case VW_SEL_UDP_SPORT:
	case VW_SEL_UDP_DPORT:
		g_string_append_printf(out, "%u", (unsigned)st->value[0] << 8 | st->value[1]);
		return;
	case VW_SEL_SPORT:
	case VW_SEL_DPORT:
	case VW_SEL_CT_STATE:
	case VW_SEL_CT_STATUS:
	case VW_SEL_CT_MARK:
	case VW_SEL_ETHER_SADDR:
	case VW_SEL_ARP_SHA:
	case VW_SEL_ND_TARGET:
	case VW_SEL_VXLAN_VNI:
		break;
	}
	g_assert_not_reached();
}

const char *vw_verdict_name(int verdict)
{
	switch (verdict) {
	case NF_ACCEPT:
		return "accept";
	case NF_DROP:
		return "drop";
	case NFT_RETURN:
		return "return";
	case NFT_JUMP:
		return "jump";
	case NFT_GOTO:
		return "goto";
	}
	g_assert_not_reached();
}

/* "KEY [!=] @set", "KEY vmap @map" */
static void print_lookup(GString *out, const VwStmt *st)
{
	key_text(out, st);
	if (st->kind == VW_ST_VMAP)
		g_string_append_printf(out, " vmap @%s", st->set->name);
	else
		g_string_append_printf(out, " %s@%s", st->neg ? "!= " : "", st->set->name);
}

static void print_nft(GString *out, const VwStmt *st)
{
	char buf[VW_ADDR_STRLEN];
	g_autofree char *prefix = NULL;
	const char *ip = st->family == AF_INET6 ? "ip6" : "ip";

	switch (st->kind) {
	case VW_ST_MATCH:
		sel_text(out, st->key[0], st->family);
		g_string_append(out, st->neg ? " != " : " ");
		value_text(out, st);
		break;
	case VW_ST_PREFIX:
		prefix = vw_prefix_nft_text(&st->prefix);
		sel_text(out, st->key[0], st->family);
		g_string_append_printf(out, " %s%s", st->neg ? "!= " : "", prefix);
		break;
	case VW_ST_FLAGS:
		sel_text(out, st->key[0], st->family);
		g_string_append_c(out, ' ');
		flags_text(out, st->key[0] == VW_SEL_CT_STATE ? ct_states : ct_statuses, st->bits);
		break;
	case VW_ST_LOOKUP:
	case VW_ST_VMAP:
		print_lookup(out, st);
		break;
	case VW_ST_DNAT_MAP:
		g_string_append_printf(out, "dnat %s to ", ip);
		key_text(out, st);
		g_string_append_printf(out, " map @%s", st->set->name);
		break;
	case VW_ST_SNAT:
		g_string_append_printf(out, "snat %s to %s", ip, vw_addr_to_string(&st->addr, buf));
		break;
	case VW_ST_MASQ:
		g_string_append(out, "masquerade");
		break;
	case VW_ST_CT_MARK_OR:
		g_string_append_printf(out, "ct mark set ct mark | 0x%08x", st->bits);
		break;
	case VW_ST_REJECT:
		g_string_append(out, "reject with icmpx admin-prohibited");
		break;
	case VW_ST_REJECT_TCP:
		g_string_append(out, "reject with tcp reset");
		break;
	case VW_ST_TCP_NOT_SYN:
		g_string_append(out, "tcp flags != syn / fin,syn,rst,ack");
		break;
	case VW_ST_COUNTER:
		/* A new rule's counter, as nft lists it. */
		g_string_append(out, "counter packets 0 bytes 0");
		break;
	case VW_ST_VERDICT:
		g_string_append(out, vw_verdict_name(st->verdict));
		if (st->str)
			g_string_append_printf(out, " %s", st->str);
		break;
	case VW_ST_COMMENT:
		g_string_append_printf(out, "comment \"%s\"", st->str);
		break;
	case VW_ST_XT_CONNTRACK:
	case VW_ST_XT_COMMENT:
	case VW_ST_XT_CONNMARK:
		g_assert_not_reached();
	}
}

static void print_iptables(GString *out, const VwStmt *st)
{
	switch (st->kind) {
	case VW_ST_MATCH:
		g_assert(st->key[0] == VW_SEL_IIFNAME || st->key[0] == VW_SEL_OIFNAME);
		g_string_append_printf(out, "%s%s %s%s", st->neg ? "! " : "",
				       st->key[0] == VW_SEL_OIFNAME ? "-o" : "-i", (const char *)st->value,
				       st->value_len == strlen((const char *)st->value) ? "+" : "");
		break;
	case VW_ST_XT_CONNTRACK:
		g_string_append(out, "-m conntrack --ctstate ");
		flags_text(out, xt_states, st->bits);
		break;
	case VW_ST_XT_COMMENT:
		g_string_append_printf(out, "-m comment --comment \"%s\"", st->str);
		break;
	case VW_ST_XT_CONNMARK:
		g_string_append_printf(out, "-m connmark --mark 0x%x/0x%x", st->bits, st->bits);
		break;
	case VW_ST_VERDICT:
		if (st->str)
			g_string_append_printf(out, "-%c %s", st->verdict == NFT_GOTO ? 'g' : 'j', st->str);
		else
			g_string_append_printf(out, "-j %s",
					       st->verdict == NF_ACCEPT ? "ACCEPT"
					       : st->verdict == NF_DROP ? "DROP"
									: "RETURN");
		break;
	case VW_ST_COUNTER:
		/* iptables-nft counts every rule; iptables-save shows it only
		 * with -c. */
		break;
	case VW_ST_PREFIX:
	case VW_ST_FLAGS:
	case VW_ST_LOOKUP:
	case VW_ST_VMAP:
	case VW_ST_DNAT_MAP:
	case VW_ST_SNAT:
	case VW_ST_MASQ:
	case VW_ST_CT_MARK_OR:
	case VW_ST_REJECT:
	case VW_ST_REJECT_TCP:
	case VW_ST_TCP_NOT_SYN:
	case VW_ST_COMMENT:
		g_assert_not_reached();
	}
}

char *vw_rule_print(const VwRuleBuf *rb)
{
	GString *out = g_string_new(NULL);

	for (guint i = 0; i < rb->stmts->len; i++) {
		const VwStmt *st = &g_array_index(rb->stmts, VwStmt, i);
		gsize before = out->len;

		if (out->len)
			g_string_append_c(out, ' ');
		if (rb->iptables)
			print_iptables(out, st);
		else
			print_nft(out, st);
		/* A statement with no words leaves no space either. */
		if (out->len == before + 1)
			g_string_truncate(out, before);
	}
	return g_string_free(out, FALSE);
}
