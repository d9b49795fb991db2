/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Host firewalls that will drop what virtwire admits. A drop in any base
 * chain is final, so every base chain of another table on the forward and
 * input hooks is read: one that drops what reaches its end (a drop policy,
 * or a last rule that drops or rejects everything) and accepts nothing that
 * carries VW_CT_MARK before it — itself, or in a chain it jumps to — will
 * drop virtwire's guests' traffic. The ruleset is read, never changed, and
 * only as far as the question needs: every chain, then the rules of the
 * tables with such a base chain (a large table of other hooks, such as
 * kube-proxy's nat rules, is never read).
 */
#include <string.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/xt_connmark.h>

#include "nft-private.h"

/* What one rule does, as far as the question goes. */
typedef struct {
	bool accepts_mark; /* accepts connections carrying VW_CT_MARK */
	bool accepts_dnat; /* accepts every DNATed connection (firewalld does) */
	bool final;	   /* drops or rejects everything that reaches it */
	bool accepts_all;  /* accepts everything that reaches it */
	char *jump;	   /* the chain it jumps or goes to, or NULL */
} RuleSum;

typedef struct {
	int family;
	char *table, *name;
	bool base;
	uint32_t hook;
	int32_t prio;
	uint32_t policy;
	GArray *rules; /* RuleSum */
} Chain;

static void chain_free(Chain *c)
{
	for (guint i = 0; i < c->rules->len; i++)
		g_free(g_array_index(c->rules, RuleSum, i).jump);
	g_array_unref(c->rules);
	g_free(c->table);
	g_free(c->name);
	g_free(c);
}

void vw_blocker_free(VwBlocker *b)
{
	if (!b)
		return;
	g_free(b->table);
	g_free(b->chain);
	g_free(b->rule);
	g_free(b);
}

static char *chain_key(int family, const char *table, const char *chain)
{
	return g_strdup_printf("%d %s %s", family, table, chain);
}

static Chain *chain_new(GHashTable *chains, int family, const char *table, const char *name)
{
	Chain *ch = g_new0(Chain, 1);

	ch->family = family;
	ch->table = g_strdup(table);
	ch->name = g_strdup(name);
	ch->rules = g_array_new(FALSE, TRUE, sizeof(RuleSum));
	g_hash_table_replace(chains, chain_key(family, table, name), ch);
	return ch;
}

static const char *family_word(int family)
{
	return family == NFPROTO_IPV4 ? "ip" : family == NFPROTO_IPV6 ? "ip6" : family == NFPROTO_INET ? "inet" : NULL;
}

/* What the chain dump gathers. */
typedef struct {
	GHashTable *chains; /* "FAMILY TABLE CHAIN" → Chain*: the candidates, then the chains their rules are in */
	GHashTable *tables; /* "FAMILY TABLE" → the family, of the candidates' tables */
	bool firewalld;
} Scan;

/* A base chain of the forward or input hook, of another table than
 * virtwire's, of a family whose rules say something of virtwire's traffic. */
static bool candidate(struct nftnl_chain *c, int family, const char *table)
{
	uint32_t hook;

	if (!nftnl_chain_is_set(c, NFTNL_CHAIN_HOOKNUM) || !family_word(family) ||
	    (family == NFPROTO_INET && strcmp(table, VW_NFT_TABLE) == 0) ||
	    g_strcmp0(nftnl_chain_get_str(c, NFTNL_CHAIN_TYPE), "filter") != 0)
		return false;
	hook = nftnl_chain_get_u32(c, NFTNL_CHAIN_HOOKNUM);
	return hook == NF_INET_FORWARD || hook == NF_INET_LOCAL_IN;
}

/* A chain message's table and name, and whether it has a hook: enough to
 * pass over the many regular chains of a large ruleset (kube-proxy has two
 * per service) without parsing them whole. */
static bool chain_peek(const struct nlmsghdr *nlh, const char **table, const char **name, bool *hooked)
{
	const struct nlattr *a;

	*table = *name = NULL;
	*hooked = false;
	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg)) {
		uint16_t type = mnl_attr_get_type(a);

		if (type == NFTA_CHAIN_HOOK)
			*hooked = true;
		else if ((type == NFTA_CHAIN_TABLE || type == NFTA_CHAIN_NAME) &&
			 mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
			*(type == NFTA_CHAIN_TABLE ? table : name) = mnl_attr_get_str(a);
	}
	return *table && *name;
}

static int chain_cb(const struct nlmsghdr *nlh, void *data)
{
	Scan *sc = data;
	g_autoptr(nftnl_chain) c = NULL;
	const char *table, *name;
	bool hooked;
	int family;
	Chain *ch;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(struct nfgenmsg) || !chain_peek(nlh, &table, &name, &hooked))
		return MNL_CB_OK;
	family = ((const struct nfgenmsg *)mnl_nlmsg_get_payload(nlh))->nfgen_family;
	/* firewalld's table (nftables backend), or the chain its iptables
	 * backend always makes. */
	sc->firewalld |= (family == NFPROTO_INET && strcmp(table, "firewalld") == 0) ||
			 (family != NFPROTO_INET && strcmp(table, "filter") == 0 && strcmp(name, "INPUT_direct") == 0);
	if (!hooked || !(c = nftnl_chain_alloc()) || nftnl_chain_nlmsg_parse(nlh, c) < 0 ||
	    !candidate(c, family, table))
		return MNL_CB_OK;
	ch = chain_new(sc->chains, family, table, name);
	ch->base = true;
	ch->hook = nftnl_chain_get_u32(c, NFTNL_CHAIN_HOOKNUM);
	ch->prio = nftnl_chain_get_s32(c, NFTNL_CHAIN_PRIO);
	ch->policy = nftnl_chain_is_set(c, NFTNL_CHAIN_POLICY) ? nftnl_chain_get_u32(c, NFTNL_CHAIN_POLICY) : NF_ACCEPT;
	g_hash_table_replace(sc->tables, g_strdup_printf("%d %s", family, table), GINT_TO_POINTER(family));
	return MNL_CB_OK;
}

/* What a rule's expressions amount to. */
typedef struct {
	RuleSum *sum;
	guint conditions;    /* expressions that select packets */
	uint32_t mark_reg;   /* register holding ct mark (0: none) */
	uint32_t status_reg; /* register holding ct status, masked to its DNAT bit (0: none) */
	bool dnat;	     /* "ct status dnat" */
	bool mark_matched;   /* … compared equal to a value with VW_CT_MARK */
	bool connmark;	     /* iptables' connmark match for VW_CT_MARK */
	int verdict;	     /* NF_ACCEPT, NF_DROP, NFT_JUMP …; 1: none */
	bool rejects;	     /* a reject statement or iptables' REJECT */
} RuleScan;

static void scan_ct(RuleScan *s, struct nftnl_expr *e)
{
	uint32_t key = nftnl_expr_get_u32(e, NFTNL_EXPR_CT_KEY);

	if (nftnl_expr_is_set(e, NFTNL_EXPR_CT_DREG) && key == NFT_CT_MARK)
		s->mark_reg = nftnl_expr_get_u32(e, NFTNL_EXPR_CT_DREG);
	else if (nftnl_expr_is_set(e, NFTNL_EXPR_CT_DREG) && key == NFT_CT_STATUS)
		s->status_reg = nftnl_expr_get_u32(e, NFTNL_EXPR_CT_DREG);
	else
		s->conditions++;
}

/* A mask that drops VW_CT_MARK from the mark read: no longer the mark. */
static void scan_bitwise(RuleScan *s, struct nftnl_expr *e)
{
	uint32_t len = 0;
	const uint32_t *mask = nftnl_expr_get(e, NFTNL_EXPR_BITWISE_MASK, &len);

	if (s->mark_reg && nftnl_expr_get_u32(e, NFTNL_EXPR_BITWISE_SREG) == s->mark_reg &&
	    (!mask || len != 4 || !(*mask & VW_CT_MARK)))
		s->mark_reg = 0;
	if (s->status_reg && nftnl_expr_get_u32(e, NFTNL_EXPR_BITWISE_SREG) == s->status_reg &&
	    (!mask || len != 4 || *mask != IPS_DST_NAT))
		s->status_reg = 0;
}

static void scan_cmp(RuleScan *s, struct nftnl_expr *e)
{
	uint32_t len = 0;
	const uint32_t *v = nftnl_expr_get(e, NFTNL_EXPR_CMP_DATA, &len);

	uint32_t reg = nftnl_expr_get_u32(e, NFTNL_EXPR_CMP_SREG), op = nftnl_expr_get_u32(e, NFTNL_EXPR_CMP_OP);

	/* "ct mark and M == M", or a mark compared whole that has the bit. */
	if (s->mark_reg && reg == s->mark_reg && v && len == 4 && op == NFT_CMP_EQ && (*v & VW_CT_MARK))
		s->mark_matched = true;
	/* "ct status dnat": the DNAT bit compared unequal to zero. */
	else if (s->status_reg && reg == s->status_reg && v && len == 4 && op == NFT_CMP_NEQ && *v == 0)
		s->dnat = true;
	else
		s->conditions++;
}

static void scan_match(RuleScan *s, struct nftnl_expr *e)
{
	const char *name = nftnl_expr_get_str(e, NFTNL_EXPR_MT_NAME);
	uint32_t len = 0;
	const struct xt_connmark_mtinfo1 *cm = nftnl_expr_get(e, NFTNL_EXPR_MT_INFO, &len);

	if (g_strcmp0(name, "comment") == 0)
		return;
	if (g_strcmp0(name, "connmark") == 0 && nftnl_expr_get_u32(e, NFTNL_EXPR_MT_REV) == 1 && cm &&
	    len >= sizeof(*cm) && !cm->invert && (cm->mask & VW_CT_MARK) && (cm->mark & VW_CT_MARK))
		s->connmark = true;
	else
		s->conditions++;
}

static void scan_immediate(RuleScan *s, struct nftnl_expr *e)
{
	if (nftnl_expr_get_u32(e, NFTNL_EXPR_IMM_DREG) != NFT_REG_VERDICT)
		return;
	s->verdict = (int)nftnl_expr_get_u32(e, NFTNL_EXPR_IMM_VERDICT);
	if (nftnl_expr_is_set(e, NFTNL_EXPR_IMM_CHAIN))
		s->sum->jump = g_strdup(nftnl_expr_get_str(e, NFTNL_EXPR_IMM_CHAIN));
}

static int scan_cb(struct nftnl_expr *e, void *data)
{
	RuleScan *s = data;
	const char *kind = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);

	if (g_strcmp0(kind, "ct") == 0)
		scan_ct(s, e);
	else if (g_strcmp0(kind, "bitwise") == 0)
		scan_bitwise(s, e);
	else if (g_strcmp0(kind, "meta") == 0 && nftnl_expr_get_u32(e, NFTNL_EXPR_META_KEY) == NFT_META_NFPROTO)
		; /* the family check nft adds to address matches: no condition of its own */
	else if (g_strcmp0(kind, "cmp") == 0)
		scan_cmp(s, e);
	else if (g_strcmp0(kind, "match") == 0)
		scan_match(s, e);
	else if (g_strcmp0(kind, "immediate") == 0)
		scan_immediate(s, e);
	else if (g_strcmp0(kind, "reject") == 0 ||
		 (g_strcmp0(kind, "target") == 0 &&
		  g_strcmp0(nftnl_expr_get_str(e, NFTNL_EXPR_TG_NAME), "REJECT") == 0))
		s->rejects = true;
	else if (g_strcmp0(kind, "counter") != 0 && g_strcmp0(kind, "log") != 0 && g_strcmp0(kind, "limit") != 0)
		s->conditions++;
	return 0;
}

static int rule_cb(const struct nlmsghdr *nlh, void *data)
{
	GHashTable *chains = data;
	g_autoptr(nftnl_rule) r = nftnl_rule_alloc();
	g_autofree char *key = NULL;
	RuleSum sum = { 0 };
	RuleScan s = { .sum = &sum, .verdict = 1 };
	Chain *ch;

	if (nftnl_rule_nlmsg_parse(nlh, r) < 0)
		return MNL_CB_OK;
	key = chain_key((int)nftnl_rule_get_u32(r, NFTNL_RULE_FAMILY), nftnl_rule_get_str(r, NFTNL_RULE_TABLE),
			nftnl_rule_get_str(r, NFTNL_RULE_CHAIN));
	/* A chain that is not a candidate: one they may jump to. */
	if (!(ch = g_hash_table_lookup(chains, key)))
		ch = chain_new(chains, (int)nftnl_rule_get_u32(r, NFTNL_RULE_FAMILY),
			       nftnl_rule_get_str(r, NFTNL_RULE_TABLE), nftnl_rule_get_str(r, NFTNL_RULE_CHAIN));
	nftnl_expr_foreach(r, scan_cb, &s);
	sum.accepts_mark = s.verdict == NF_ACCEPT && (s.connmark || s.mark_matched) && !s.conditions;
	sum.accepts_dnat = s.verdict == NF_ACCEPT && s.dnat && !s.connmark && !s.mark_matched && !s.conditions;
	sum.final = !s.conditions && !s.connmark && !s.mark_matched && !s.dnat && (s.rejects || s.verdict == NF_DROP);
	sum.accepts_all = !s.conditions && !s.connmark && !s.mark_matched && !s.dnat && s.verdict == NF_ACCEPT;
	g_array_append_val(ch->rules, sum);
	return MNL_CB_OK;
}

/* Whether @c, or a chain it jumps to (within @depth), accepts the mark
 * before anything of its own drops everything. */
static bool accepts_mark(GHashTable *chains, const Chain *c, guint depth)
{
	for (guint i = 0; i < c->rules->len; i++) {
		const RuleSum *s = &g_array_index(c->rules, RuleSum, i);
		g_autofree char *key = NULL;
		const Chain *to;

		if (s->accepts_mark)
			return true;
		if (s->final || s->accepts_all)
			return false;
		if (!s->jump || !depth)
			continue;
		key = chain_key(c->family, c->table, s->jump);
		if ((to = g_hash_table_lookup(chains, key)) && accepts_mark(chains, to, depth - 1))
			return true;
	}
	return false;
}

/* Whether traffic reaching the end of base chain @c is dropped; *@dnat:
 * DNATed connections are accepted before that. */
static bool drops(const Chain *c, bool *dnat)
{
	*dnat = false;
	for (guint i = 0; i < c->rules->len; i++) {
		const RuleSum *s = &g_array_index(c->rules, RuleSum, i);

		*dnat |= s->accepts_dnat;
		if (s->final)
			return true;
		if (s->accepts_all)
			return false;
	}
	return c->policy == NF_DROP;
}

/* The rule that lets virtwire's connections through @c: iptables' words
 * for iptables' own chains, nft's otherwise. */
static char *fix_for(const Chain *c, bool *iptables)
{
	*iptables = c->family != NFPROTO_INET && strcmp(c->table, "filter") == 0 &&
		    (strcmp(c->name, "INPUT") == 0 || strcmp(c->name, "FORWARD") == 0);
	if (*iptables)
		return g_strdup_printf("%s -I %s -m connmark --mark 0x%x/0x%x -j ACCEPT",
				       c->family == NFPROTO_IPV6 ? "ip6tables" : "iptables", c->name, VW_CT_MARK,
				       VW_CT_MARK);
	return g_strdup_printf("nft insert rule %s %s %s ct mark and 0x%x == 0x%x accept", family_word(c->family),
			       c->table, c->name, VW_CT_MARK, VW_CT_MARK);
}

/* One dump: every chain (@table NULL), or the rules of one table. */
static bool dump(const VwNftBackend *be, int family, const char *table, VwNftReplyFn cb, void *data, GError **error)
{
	char buf[512];
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, table ? NFT_MSG_GETRULE : NFT_MSG_GETCHAIN, (uint16_t)family,
						     NLM_F_DUMP, 0);
	int e;

	if (table) {
		g_autoptr(nftnl_rule) r = nftnl_rule_alloc();

		nftnl_rule_set_str(r, NFTNL_RULE_TABLE, table);
		nftnl_rule_nlmsg_build_payload(nlh, r);
	}
	if ((e = be->request(be->ctx, nlh, cb, data)))
		return vw_set_errno(error, e, NULL, "reading the host's nftables ruleset failed");
	return true;
}

/* The chains, then the rules of the candidates' tables. A change between
 * the dumps only blurs a warning: no retries. */
static bool read_ruleset(const VwNftBackend *be, Scan *sc, GError **error)
{
	GHashTableIter it;
	gpointer key, family;

	if (!dump(be, NFPROTO_UNSPEC, NULL, chain_cb, sc, error))
		return false;
	g_hash_table_iter_init(&it, sc->tables);
	while (g_hash_table_iter_next(&it, &key, &family))
		if (!dump(be, GPOINTER_TO_INT(family), strchr(key, ' ') + 1, rule_cb, sc->chains, error))
			return false;
	return true;
}

static int blocker_cmp(gconstpointer a, gconstpointer b)
{
	const VwBlocker *x = *(VwBlocker *const *)a, *y = *(VwBlocker *const *)b;
	int c = x->family - y->family;

	if (!c)
		c = strcmp(x->table, y->table);
	return c ? c : strcmp(x->chain, y->chain);
}

bool vw_nft_blockers(const VwNftBackend *be, GPtrArray *ret, bool *firewalld, GError **error)
{
	g_autoptr(GHashTable)
		chains = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)chain_free);
	g_autoptr(GHashTable) tables = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	Scan sc = { chains, tables, false };
	GHashTableIter it;
	gpointer value;

	*firewalld = false;
	if (!read_ruleset(be, &sc, error))
		return false;
	*firewalld = sc.firewalld;
	g_hash_table_iter_init(&it, chains);
	while (g_hash_table_iter_next(&it, NULL, &value)) {
		const Chain *c = value;
		VwBlocker *b;
		bool dnat;

		if (!c->base || !drops(c, &dnat) || accepts_mark(chains, c, 4))
			continue;
		b = g_new0(VwBlocker, 1);
		b->family = c->family;
		b->table = g_strdup(c->table);
		b->chain = g_strdup(c->name);
		b->hook = c->hook;
		b->prio = c->prio;
		b->policy_drop = c->policy == NF_DROP;
		b->accepts_dnat = dnat;
		b->rule = fix_for(c, &b->iptables);
		g_ptr_array_add(ret, b);
	}
	g_ptr_array_sort(ret, blocker_cmp);
	return true;
}
