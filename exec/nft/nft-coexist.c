/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * virtwire's rules in other firewalls' chains (see plan/plan-coexist.c for
 * what and why): libvirt's, and the host firewalls' extension points. The
 * plan holds the rules of each place, in order: each network's accepts in
 * libvirt's firewall, and the host firewall rules all networks share. Here
 * each place that exists gets exactly the planned rules of the owners in
 * scope (the shared ones always are), in the planned order, above every
 * other rule. libvirt deletes and re-inserts only its own rules (inside its
 * own chains), Docker never flushes DOCKER-USER, ufw re-creates its chains
 * only when it reloads: the rules stay first until then, and the next
 * reconcile puts back what is gone. virtwire finds its rules by their
 * comment and changes nothing else.
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
	char *id;    /* a virtwire rule's network id ("": a shared one), else NULL */
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
	if (comment && g_str_has_prefix(comment, VW_FOREIGN_COMMENT_MARK))
		return g_strdup("");
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

/* Whether virtwire's rule of owner @id is the business of a reconcile of
 * @scope: for re-asserting it (@for_removal false) or taking it out. The
 * shared rules ("") always are. */
static bool id_in_scope(const char *id, GPtrArray *scope, bool for_removal)
{
	if (!scope || !*id)
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

/* A rule wanted in a place: its owner and the rule. */
typedef struct {
	const char *id;
	const VwForeignRule *f;
	char *canon;
} Want;

static void want_free(Want *w)
{
	g_free(w->canon);
	g_free(w);
}

static bool at_place(const VwForeignRule *f, const VwForeignPlace *p)
{
	return f->family == p->family && strcmp(f->table, p->table) == 0 && strcmp(f->chain, p->chain) == 0;
}

static void want_add(GPtrArray *wants, const char *id, const VwForeignRule *f)
{
	Want *w = g_new0(Want, 1);
	g_autoptr(nftnl_rule) built = vw_nft_build_foreign_rule(f);

	w->id = id;
	w->f = f;
	w->canon = vw_nft_rule_canon(built);
	g_ptr_array_add(wants, w);
}

/* The planned rules of @p for the owners in @scope, in order. */
static GPtrArray *wanted(const VwPlan *plan, const VwForeignPlace *p, GPtrArray *scope)
{
	GPtrArray *wants = g_ptr_array_new_with_free_func((GDestroyNotify)want_free);

	for (guint i = 0; plan && i < plan->coexist->len; i++) {
		const VwCoexist *c = plan->coexist->pdata[i];

		if (!id_in_scope(c->id, scope, false))
			continue;
		for (guint j = 0; j < c->rules->len; j++)
			if (at_place(c->rules->pdata[j], p))
				want_add(wants, c->id, c->rules->pdata[j]);
	}
	for (guint i = 0; plan && i < plan->host->len; i++)
		if (at_place(plan->host->pdata[i], p))
			want_add(wants, "", plan->host->pdata[i]);
	return wants;
}

/* "virtwire's accept for network ID", or the shared rule with its text. */
static char *owner_words(const char *id, const char *text)
{
	return *id ? g_strdup_printf("virtwire's accept for network %s", id)
		   : g_strdup_printf("virtwire's rule \"%s\"", text);
}

static bool same(const Found *f, const Want *w)
{
	return strcmp(f->id, w->id) == 0 && strcmp(f->canon, w->canon) == 0;
}

typedef struct {
	const VwForeignPlace *place;
	GPtrArray *scope;
	VwBatch *batch;
	GPtrArray *drift;
} PlaceDiff;

/* The first want of @wants not yet @used (NULL: none is) that @f is, or
 * -1; with @by_id, the first of its owner. */
static int match_want(const Found *f, GPtrArray *wants, const bool *used, bool by_id)
{
	for (guint i = 0; i < wants->len; i++) {
		const Want *w = wants->pdata[i];

		if (!(used && used[i]) && (by_id ? strcmp(f->id, w->id) == 0 : same(f, w)))
			return (int)i;
	}
	return -1;
}

/* Why found rule @f, matched to want @w (or -1), is not as planned (NULL:
 * it is), given the want it must be (@next) and its chain position. */
static const char *mismatch(const Found *f, int w, guint next, guint at, guint top, GPtrArray *wants)
{
	/* Wants skipped on the way are missing, and said so. */
	if (w >= (int)next && at < top)
		return NULL;
	if (w >= 0 && at >= top)
		return "below other rules";
	if (w >= 0)
		return "out of order";
	/* Its owner wants another rule here, or this one once only. */
	if (!*f->id || match_want(f, wants, NULL, true) >= 0)
		return "not the expected rule";
	return "not in its plan";
}

/* Compares the found rules of interest (@mine, at chain positions @pos)
 * with the wanted ones: each must be one of them, in order, above every
 * other rule (the first @top). Every difference goes to the drift list;
 * true when there is none. */
static bool compare(PlaceDiff *pd, GPtrArray *mine, GArray *pos, guint top, GPtrArray *wants)
{
	g_autofree bool *used = g_new0(bool, wants->len + 1);
	const char *label = pd->place->label;
	guint next = 0, diffs = 0;

	for (guint j = 0; j < mine->len; j++) {
		const Found *f = mine->pdata[j];
		int w = match_want(f, wants, used, false);
		const char *what;

		if (w < 0)
			w = match_want(f, wants, used, true);
		what = mismatch(f, w >= 0 && same(f, wants->pdata[w]) ? w : -1, next, g_array_index(pos, guint, j), top,
				wants);
		if (w >= 0) {
			used[w] = true;
			next = (guint)w + 1;
		}
		if (what) {
			g_autofree char *who = owner_words(f->id,
							   w >= 0 ? ((Want *)wants->pdata[w])->f->rule->text : "");

			vw_drift_add(pd->drift, VW_DRIFT_FIREWALL, label, "%s is %s", who, what);
			diffs++;
		}
	}
	for (guint i = 0; i < wants->len; i++) {
		const Want *w = wants->pdata[i];
		g_autofree char *who = owner_words(w->id, w->f->rule->text);

		if (used[i])
			continue;
		vw_drift_add(pd->drift, VW_DRIFT_FIREWALL, label, "%s is missing", who);
		diffs++;
	}
	return diffs == 0;
}

/* The place's rules of owners in scope made the planned ones: when they
 * are not exactly those, in order, at the top, they are taken out and the
 * planned ones inserted (last first: each goes to the head). */
static void diff_place(PlaceDiff *pd, const VwPlan *plan, GPtrArray *rules)
{
	const VwForeignPlace *p = pd->place;
	g_autoptr(GPtrArray) wants = wanted(plan, p, pd->scope);
	g_autoptr(GPtrArray) mine = g_ptr_array_new();
	g_autoptr(GArray) pos = g_array_new(FALSE, FALSE, sizeof(guint));
	guint top = 0;

	while (top < rules->len && ((Found *)rules->pdata[top])->id)
		top++;
	for (guint i = 0; i < rules->len; i++) {
		Found *f = rules->pdata[i];

		if (f->id && id_in_scope(f->id, pd->scope, false)) {
			g_ptr_array_add(mine, f);
			g_array_append_val(pos, i);
		}
	}
	if (compare(pd, mine, pos, top, wants))
		return;
	for (guint j = 0; j < mine->len; j++) {
		const Found *f = mine->pdata[j];
		bool rewanted = false;

		for (guint i = 0; i < wants->len && !rewanted; i++)
			rewanted = strcmp(((Want *)wants->pdata[i])->id, f->id) == 0;
		if (rewanted || id_in_scope(f->id, pd->scope, true))
			vw_batch_del_foreign_rule(pd->batch, p->family, p->table, p->chain, f->handle, p->label);
	}
	for (guint i = wants->len; i-- > 0;) {
		g_autoptr(nftnl_rule) r = vw_nft_build_foreign_rule(((Want *)wants->pdata[i])->f);

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
		ReadCtx rc = { rules, &places[pi] };
		PlaceDiff pd = { &places[pi], scope, b, drift };
		bool exists;

		if (!vw_nft_dump_rules(be, places[pi].family, places[pi].table, places[pi].chain, read_cb, &rc, &exists,
				       error))
			return false;
		if (!exists)
			continue; /* that firewall (or that backend of libvirt's) is not in use */
		diff_place(&pd, plan, rules);
	}
	return true;
}
