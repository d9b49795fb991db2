/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Forwards into libvirt's own NAT networks. libvirt rejects new connections
 * towards such a network's bridge in its own table, and a reject there wins
 * over any accept elsewhere. So, for each of these networks with forwards,
 * virtwire keeps exactly one accept for connections DNATed to the bridge
 * where libvirt's rebuilds cannot get ahead of it — the only place virtwire
 * writes outside its own table:
 *
 *  - libvirt's iptables backend (libvirt 9, iptables-nft): at the top of the
 *    built-in FORWARD chain of `ip filter` (and `ip6 filter`), above
 *    libvirt's jumps, encoded exactly as iptables-nft encodes
 *      -o BR -m conntrack --ctstate DNAT -m comment --comment "virtwire: network ID" -j ACCEPT
 *    so iptables and libvirt keep reading the table;
 *  - libvirt's nftables backend (libvirt >= 10.4): at the top of the base
 *    chain `forward` of `ip libvirt_network` (and ip6), as
 *      oifname "BR" ct status dnat counter accept comment "virtwire: network ID"
 *
 * libvirt deletes and re-inserts only its own rules (inside its own
 * chains), and adds its jumps only when they are missing, so the rule stays
 * first. virtwire finds its rules by their comment and changes nothing else.
 */
#include <string.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_comment.h>
#include <linux/netfilter/xt_conntrack.h>
#include <libnftnl/udata.h>

#include "nft-private.h"

#define COMMENT_PREFIX "virtwire: network "

typedef struct {
	int family;          /* NFPROTO_IPV4, NFPROTO_IPV6 */
	const char *table;
	const char *chain;
	bool iptables;       /* xt encoding (iptables-nft) or native */
	const char *label;   /* for messages */
} Place;

static const Place places[] = {
	{ NFPROTO_IPV4, "filter", "FORWARD", true, "iptables FORWARD" },
	{ NFPROTO_IPV6, "filter", "FORWARD", true, "ip6tables FORWARD" },
	{ NFPROTO_IPV4, "libvirt_network", "forward", false, "chain forward of ip libvirt_network" },
	{ NFPROTO_IPV6, "libvirt_network", "forward", false, "chain forward of ip6 libvirt_network" },
};

/* One rule found in a place: its handle, position and owner. */
typedef struct {
	guint64 handle;
	char *id;     /* the network id of a virtwire rule, else NULL */
	char *canon;  /* its expressions */
} Found;

static void found_free(Found *f)
{
	g_free(f->id);
	g_free(f->canon);
	g_free(f);
}

static struct nftnl_expr *xt_match(const char *name, uint32_t rev, void *info, uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("match");

	nftnl_expr_set_str(e, NFTNL_EXPR_MT_NAME, name);
	nftnl_expr_set_u32(e, NFTNL_EXPR_MT_REV, rev);
	/* libnftnl keeps (and frees) the buffer: it must be the heap's. */
	nftnl_expr_set(e, NFTNL_EXPR_MT_INFO, info, len);
	return e;
}

static void add_cmp(struct nftnl_rule *r, uint32_t op, const void *data, uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("cmp");

	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
	nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
	nftnl_rule_add_expr(r, e);
}

/* The rule for network @id's bridge @br in @p. */
static struct nftnl_rule *build(const Place *p, const char *id, const char *br)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nftnl_expr *e;
	g_autofree char *comment = g_strdup_printf(COMMENT_PREFIX "%s", id);

	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, p->table);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, p->chain);
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, (uint32_t)p->family);

	e = nftnl_expr_alloc("meta");
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, NFT_META_OIFNAME);
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG_1);
	nftnl_rule_add_expr(r, e);
	if (p->iptables) {
		/* iptables compares the name with its NUL: "-o br", exactly. */
		add_cmp(r, NFT_CMP_EQ, br, (uint32_t)strlen(br) + 1);
	} else {
		char name[16] = { 0 };

		memcpy(name, br, MIN(strlen(br), 15));
		add_cmp(r, NFT_CMP_EQ, name, 16);
	}

	if (p->iptables) {
		struct xt_conntrack_mtinfo3 *ct = g_malloc0(XT_ALIGN(sizeof(*ct)));
		struct xt_comment_info *ci = g_malloc0(sizeof(*ci));

		ct->match_flags = XT_CONNTRACK_STATE;
		ct->state_mask = XT_CONNTRACK_STATE_DNAT;
		nftnl_rule_add_expr(r, xt_match("conntrack", 3, ct, XT_ALIGN(sizeof(*ct))));
		g_strlcpy(ci->comment, comment, sizeof(ci->comment));
		nftnl_rule_add_expr(r, xt_match("comment", 0, ci, sizeof(*ci)));
		nftnl_rule_set_u32(r, NFTNL_RULE_COMPAT_PROTO, 0);
		nftnl_rule_set_u32(r, NFTNL_RULE_COMPAT_FLAGS, 0);
	} else {
		uint32_t mask = 1u << 5 /* IPS_DST_NAT */, zero = 0;
		struct nftnl_udata_buf *ud = nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN);

		e = nftnl_expr_alloc("ct");
		nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, NFT_CT_STATUS);
		nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, NFT_REG_1);
		nftnl_rule_add_expr(r, e);
		e = nftnl_expr_alloc("bitwise");
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, 4);
		nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, &mask, 4);
		nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, &zero, 4);
		nftnl_rule_add_expr(r, e);
		add_cmp(r, NFT_CMP_NEQ, &zero, 4);
		nftnl_udata_put_strz(ud, NFTNL_UDATA_RULE_COMMENT, comment);
		nftnl_rule_set_data(r, NFTNL_RULE_USERDATA, nftnl_udata_buf_data(ud), nftnl_udata_buf_len(ud));
		nftnl_udata_buf_free(ud);
	}
	e = nftnl_expr_alloc("counter");
	nftnl_expr_set_u64(e, NFTNL_EXPR_CTR_PACKETS, 0);
	nftnl_expr_set_u64(e, NFTNL_EXPR_CTR_BYTES, 0);
	nftnl_rule_add_expr(r, e);
	e = nftnl_expr_alloc("immediate");
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, NF_ACCEPT);
	nftnl_rule_add_expr(r, e);
	return r;
}

/* ---------------------------------------------------------------------- */
/* Reading a place */

static int udata_comment_cb(const struct nftnl_udata *attr, void *data)
{
	if (nftnl_udata_type(attr) == NFTNL_UDATA_RULE_COMMENT)
		*(const char **)data = nftnl_udata_get(attr);
	return 0;
}

static int xt_comment_cb(struct nftnl_expr *e, void *data)
{
	uint32_t len;
	const struct xt_comment_info *ci;

	if (g_strcmp0(nftnl_expr_get_str(e, NFTNL_EXPR_NAME), "match") != 0 ||
	    g_strcmp0(nftnl_expr_get_str(e, NFTNL_EXPR_MT_NAME), "comment") != 0)
		return 0;
	ci = nftnl_expr_get(e, NFTNL_EXPR_MT_INFO, &len);
	if (ci && len >= sizeof(*ci))
		*(const char **)data = ci->comment;
	return 0;
}

/* Counters move with traffic: leave them out of the comparison. */
static int canon_cb(struct nftnl_expr *e, void *data)
{
	GString *out = data;
	const char *name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);
	char buf[512];

	if (g_strcmp0(name, "counter") == 0) {
		g_string_append(out, "[ counter ] ");
		return 0;
	}
	nftnl_expr_snprintf(buf, sizeof(buf), e, NFTNL_OUTPUT_DEFAULT, 0);
	g_string_append_printf(out, "[ %s %s] ", name, buf);
	return 0;
}

static char *canon(struct nftnl_rule *r)
{
	GString *out = g_string_new(NULL);

	nftnl_expr_foreach(r, canon_cb, out);
	return g_string_free(out, FALSE);
}

static char *rule_id(struct nftnl_rule *r)
{
	const char *comment = NULL;

	if (nftnl_rule_is_set(r, NFTNL_RULE_USERDATA)) {
		uint32_t len;
		const void *ud = nftnl_rule_get_data(r, NFTNL_RULE_USERDATA, &len);

		nftnl_udata_parse(ud, len, udata_comment_cb, &comment);
	}
	if (!comment)
		nftnl_expr_foreach(r, xt_comment_cb, &comment);
	if (comment && g_str_has_prefix(comment, COMMENT_PREFIX))
		return g_strdup(comment + strlen(COMMENT_PREFIX));
	return NULL;
}

typedef struct {
	GPtrArray *rules; /* Found*, in chain order */
	const Place *place;
} ReadCtx;

static int read_cb(const struct nlmsghdr *nlh, void *data)
{
	ReadCtx *rc = data;
	g_autoptr(nftnl_rule) r = nftnl_rule_alloc();
	Found *f;

	if (nftnl_rule_nlmsg_parse(nlh, r) < 0)
		return MNL_CB_OK;
	if (g_strcmp0(nftnl_rule_get_str(r, NFTNL_RULE_TABLE), rc->place->table) != 0 ||
	    g_strcmp0(nftnl_rule_get_str(r, NFTNL_RULE_CHAIN), rc->place->chain) != 0)
		return MNL_CB_OK;
	f = g_new0(Found, 1);
	f->handle = nftnl_rule_get_u64(r, NFTNL_RULE_HANDLE);
	f->id = rule_id(r);
	f->canon = canon(r);
	g_ptr_array_add(rc->rules, f);
	return MNL_CB_OK;
}

/* ---------------------------------------------------------------------- */

static bool id_in_scope(const char *id, GPtrArray *scope, bool for_removal)
{
	if (!scope)
		return true;
	for (guint i = 0; i < scope->len; i++) {
		const char *s = scope->pdata[i];
		size_t n = strlen(id);

		if (strcmp(s, id) == 0 || (strncmp(s, id, n) == 0 && strcmp(s + n, ":*") == 0))
			return true;
		/* A port's reconcile re-asserts its network's rule (libvirt
		 * calls port-created after its rebuilds) but never removes it. */
		if (!for_removal && strncmp(s, id, n) == 0 && s[n] == ':')
			return true;
	}
	return false;
}

static const VwCoexist *wanted(const VwPlan *plan, const char *id, int family)
{
	for (guint i = 0; plan && i < plan->coexist->len; i++) {
		const VwCoexist *c = plan->coexist->pdata[i];

		if (strcmp(c->id, id) == 0 && (family == NFPROTO_IPV4 ? c->v4 : c->v6))
			return c;
	}
	return NULL;
}

bool vw_coexist_diff(const VwNftBackend *be, const VwPlan *plan, GPtrArray *scope, VwBatch *b, GPtrArray *drift,
		     GError **error)
{
	for (size_t pi = 0; pi < G_N_ELEMENTS(places); pi++) {
		const Place *p = &places[pi];
		g_autoptr(GPtrArray) rules = g_ptr_array_new_with_free_func((GDestroyNotify)found_free);
		ReadCtx rc = { rules, p };
		g_autoptr(GHashTable) done = g_hash_table_new(g_str_hash, g_str_equal);
		g_autoptr(GHashTable) replaced = g_hash_table_new(g_str_hash, g_str_equal);
		bool exists;
		guint top = 0;

		if (!vw_nft_dump_rules(be, p->family, p->table, p->chain, read_cb, &rc, &exists, error))
			return false;
		if (!exists)
			continue; /* that backend of libvirt's is not in use */
		/* virtwire's rules must all come before the first other one. */
		while (top < rules->len && ((Found *)rules->pdata[top])->id)
			top++;
		for (guint i = 0; i < rules->len; i++) {
			const Found *f = rules->pdata[i];
			const VwCoexist *c;
			g_autofree char *object = NULL;

			if (!f->id || !id_in_scope(f->id, scope, true))
				continue;
			object = g_strdup(p->label);
			c = wanted(plan, f->id, p->family);
			if (!c) {
				vw_drift_add(drift, VW_DRIFT_FIREWALL, object, "virtwire's accept for network %s is not in its plan", f->id);
				vw_batch_del_foreign_rule(b, p->family, p->table, p->chain, f->handle, object);
				continue;
			}
			{
				g_autoptr(nftnl_rule) want = build(p, c->id, c->bridge);
				g_autofree char *wc = canon(want);

				if (i < top && strcmp(wc, f->canon) == 0 && !g_hash_table_contains(done, f->id)) {
					g_hash_table_add(done, f->id);
					continue;
				}
				vw_drift_add(drift, VW_DRIFT_FIREWALL, object, "virtwire's accept for network %s is %s", f->id,
					     i >= top ? "below other rules" : "not the expected rule");
				g_hash_table_add(replaced, f->id);
				vw_batch_del_foreign_rule(b, p->family, p->table, p->chain, f->handle, object);
			}
		}
		for (guint i = 0; plan && i < plan->coexist->len; i++) {
			const VwCoexist *c = plan->coexist->pdata[i];
			g_autoptr(nftnl_rule) r = NULL;

			if (!(p->family == NFPROTO_IPV4 ? c->v4 : c->v6) || g_hash_table_contains(done, c->id) ||
			    !id_in_scope(c->id, scope, false))
				continue;
			if (!g_hash_table_contains(replaced, c->id))
				vw_drift_add(drift, VW_DRIFT_FIREWALL, p->label, "virtwire's accept for network %s is missing", c->id);
			r = build(p, c->id, c->bridge);
			vw_batch_insert_foreign_rule(b, r, p->label);
		}
	}
	return true;
}
