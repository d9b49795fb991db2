/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * virtwire's accepts in libvirt's own firewall (see plan/plan-coexist.c for
 * what and why): the plan holds a rule for each place of each network's
 * families; here each place that exists gets exactly the planned rules of
 * the networks in scope, above every other rule. libvirt deletes and
 * re-inserts only its own rules (inside its own chains), and adds its jumps
 * only when they are missing, so the rules stay first. virtwire finds its
 * rules by their comment and changes nothing else.
 */
#include <string.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/xt_comment.h>
#include <libnftnl/udata.h>

#include "nft-private.h"

/* One rule found in a place: its handle, position and owner. */
typedef struct {
	guint64 handle;
	char *id;    /* the network id of a virtwire rule, else NULL */
	char *canon; /* its expressions */
} Found;

static void found_free(Found *f)
{
	g_free(f->id);
	g_free(f->canon);
	g_free(f);
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
	if (comment && g_str_has_prefix(comment, VW_COEXIST_COMMENT_PREFIX))
		return g_strdup(comment + strlen(VW_COEXIST_COMMENT_PREFIX));
	return NULL;
}

typedef struct {
	GPtrArray *rules; /* Found*, in chain order */
	const VwForeignPlace *place;
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
	f->canon = vw_nft_rule_canon(r);
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

/* The planned rule of network @id in @p, or NULL. */
static const VwForeignRule *wanted(const VwPlan *plan, const char *id, const VwForeignPlace *p)
{
	for (guint i = 0; plan && i < plan->coexist->len; i++) {
		const VwCoexist *c = plan->coexist->pdata[i];

		if (strcmp(c->id, id) != 0)
			continue;
		for (guint j = 0; j < c->rules->len; j++) {
			const VwForeignRule *f = c->rules->pdata[j];

			if (f->family == p->family && strcmp(f->table, p->table) == 0 &&
			    strcmp(f->chain, p->chain) == 0)
				return f;
		}
	}
	return NULL;
}

typedef struct {
	const VwForeignPlace *place;
	GPtrArray *scope;
	VwBatch *batch;
	GPtrArray *drift;
	GHashTable *done;     /* ids whose rule is in place */
	GHashTable *replaced; /* ids whose rule is taken out to be put back */
} PlaceDiff;

/* virtwire's rules found in the place: kept when first and as planned,
 * else taken out. */
static void diff_found(PlaceDiff *pd, const VwPlan *plan, GPtrArray *rules)
{
	const VwForeignPlace *p = pd->place;
	guint top = 0;

	/* virtwire's rules must all come before the first other one. */
	while (top < rules->len && ((Found *)rules->pdata[top])->id)
		top++;
	for (guint i = 0; i < rules->len; i++) {
		const Found *f = rules->pdata[i];
		const VwForeignRule *want;
		g_autoptr(nftnl_rule) built = NULL;
		g_autofree char *wc = NULL;

		if (!f->id || !id_in_scope(f->id, pd->scope, false))
			continue;
		want = wanted(plan, f->id, p);
		if (want) {
			built = vw_nft_build_foreign_rule(want);
			wc = vw_nft_rule_canon(built);
		}
		if (want && i < top && strcmp(wc, f->canon) == 0 && !g_hash_table_contains(pd->done, f->id)) {
			g_hash_table_add(pd->done, f->id);
			continue;
		}
		/* A port's reconcile finds its network's rule in place (and does
		 * not add it twice), but takes none out. */
		if (!id_in_scope(f->id, pd->scope, true))
			continue;
		if (!want) {
			vw_drift_add(pd->drift, VW_DRIFT_FIREWALL, p->label,
				     "virtwire's accept for network %s is not in its plan", f->id);
			vw_batch_del_foreign_rule(pd->batch, p->family, p->table, p->chain, f->handle, p->label);
			continue;
		}
		vw_drift_add(pd->drift, VW_DRIFT_FIREWALL, p->label, "virtwire's accept for network %s is %s", f->id,
			     i >= top ? "below other rules" : "not the expected rule");
		g_hash_table_add(pd->replaced, f->id);
		vw_batch_del_foreign_rule(pd->batch, p->family, p->table, p->chain, f->handle, p->label);
	}
}

/* The planned rules not in place (any more), inserted at the top. */
static void insert_missing(PlaceDiff *pd, const VwPlan *plan)
{
	const VwForeignPlace *p = pd->place;

	for (guint i = 0; plan && i < plan->coexist->len; i++) {
		const VwCoexist *c = plan->coexist->pdata[i];
		const VwForeignRule *want = wanted(plan, c->id, p);
		g_autoptr(nftnl_rule) r = NULL;

		if (!want || g_hash_table_contains(pd->done, c->id) || !id_in_scope(c->id, pd->scope, false))
			continue;
		if (!g_hash_table_contains(pd->replaced, c->id))
			vw_drift_add(pd->drift, VW_DRIFT_FIREWALL, p->label,
				     "virtwire's accept for network %s is missing", c->id);
		r = vw_nft_build_foreign_rule(want);
		vw_batch_insert_foreign_rule(pd->batch, r, p->label);
	}
}

bool vw_coexist_diff(const VwNftBackend *be, const VwPlan *plan, GPtrArray *scope, VwBatch *b, GPtrArray *drift,
		     GError **error)
{
	size_t n;
	const VwForeignPlace *places = vw_plan_foreign_places(&n);

	for (size_t pi = 0; pi < n; pi++) {
		g_autoptr(GPtrArray) rules = g_ptr_array_new_with_free_func((GDestroyNotify)found_free);
		g_autoptr(GHashTable) done = g_hash_table_new(g_str_hash, g_str_equal);
		g_autoptr(GHashTable) replaced = g_hash_table_new(g_str_hash, g_str_equal);
		ReadCtx rc = { rules, &places[pi] };
		PlaceDiff pd = { &places[pi], scope, b, drift, done, replaced };
		bool exists;

		if (!vw_nft_dump_rules(be, places[pi].family, places[pi].table, places[pi].chain, read_cb, &rc, &exists,
				       error))
			return false;
		if (!exists)
			continue; /* that backend of libvirt's is not in use */
		diff_found(&pd, plan, rules);
		insert_missing(&pd, plan);
	}
	return true;
}
