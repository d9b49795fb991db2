/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Reconciling virtwire's tables (inet, then bridge) with a plan: read each
 * of the kernel's tables, list every difference within the scope, and turn
 * the differences into one batch for both. Order inside the batch, table by
 * table: table, sets, chains; stale elements out; chains' rules replaced;
 * stale chains out; new elements in. The kernel checks the whole batch
 * before it commits any of it.
 */
#include <stdlib.h>
#include <string.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include "nft-private.h"

void vw_nft_result_free(VwNftResult *r)
{
	if (!r)
		return;
	g_ptr_array_unref(r->drift);
	if (r->released)
		g_ptr_array_unref(r->released);
	g_free(r);
}

#define drift(r, ...) vw_drift_add((r)->drift, VW_DRIFT_FIREWALL, __VA_ARGS__)

/* The network a per-network chain "nw-ID-KIND" belongs to, if it is in
 * scope. */
bool vw_nft_chain_in_scope(const char *name, GPtrArray *scope)
{
	static const char *const kinds[] = { "out", "in", "snat", "guest" };

	if (!g_str_has_prefix(name, "nw-"))
		return false;
	for (guint i = 0; scope && i < scope->len; i++) {
		g_autofree char *id = g_strdup(scope->pdata[i]);
		char *colon = strchr(id, ':');

		if (colon && strcmp(colon, ":*") != 0)
			continue; /* a port owns no chains */
		if (colon)
			*colon = '\0';
		for (size_t k = 0; k < G_N_ELEMENTS(kinds); k++) {
			g_autofree char *full = g_strdup_printf("nw-%s-%s", id, kinds[k]);

			if (strcmp(name, full) == 0)
				return true;
		}
	}
	return false;
}

static VwKElem kkey_of(const VwElem *e)
{
	VwKElem k = { 0 };

	memcpy(k.key, e->key, e->key_len);
	k.key_len = e->key_len;
	memcpy(k.key_end, e->key_end, e->key_end_len);
	k.key_end_len = e->key_end_len;
	k.flags = e->flags;
	return k;
}

bool vw_nft_elem_same(const VwElem *d, const VwKElem *k)
{
	/* An interval's end has no data and keeps no comment: its key says
	 * all (its owner is only inferred, see infer_end_owners). */
	if (d->flags & NFT_SET_ELEM_INTERVAL_END)
		return true;
	if (g_strcmp0(d->owner, k->owner) != 0)
		return false;
	if (d->has_verdict != k->has_verdict)
		return false;
	if (d->has_verdict)
		return d->verdict == k->verdict && g_strcmp0(d->chain, k->chain) == 0;
	return d->data_len == k->data_len && memcmp(d->data, k->data, d->data_len) == 0;
}

/* A kernel element as a plan element (for deleting it). */
VwElem *vw_nft_elem_from_kernel(const VwKElem *k, const char *text)
{
	VwElem *e = vw_elem_new(NULL);

	memcpy(e->key, k->key, k->key_len);
	e->key_len = k->key_len;
	memcpy(e->key_end, k->key_end, k->key_end_len);
	e->key_end_len = k->key_end_len;
	e->flags = k->flags;
	e->text = g_strdup(text);
	return e;
}

static char *hex(const uint8_t *b, uint32_t n)
{
	GString *s = g_string_new("0x");

	for (uint32_t i = 0; i < n; i++)
		g_string_append_printf(s, "%02x", b[i]);
	return g_string_free(s, FALSE);
}

/* An owner tag in words, as the caller knows it. */
static char *owner_words(const VwNftRequest *req, const char *tag)
{
	char *w = tag && req->owner_words ? req->owner_words(tag, req->data) : NULL;

	return w ? w : g_strdup_printf("'%s'", tag ? tag : "(unknown)");
}

typedef struct {
	const VwTable *t; /* the table being diffed */
	VwBatch *batch;
	VwNftResult *res;
	GPtrArray *scope;
	GPtrArray *del_elems; /* per set: (set name, GPtrArray VwElem*) */
	GPtrArray *add_elems;
	GPtrArray *lone_starts; /* per set: starts added to delete lone ends */
	GPtrArray *chain_rules; /* VwChain* whose rules are (re)added */
	GPtrArray *flush;	/* char* chains flushed first */
	GPtrArray *del_chains;	/* char* */
	const VwNftRequest *req;
} Diff;

/* The elements of one set to add (or delete): the plan's own, or ones
 * made here (from the kernel's), which it owns. */
typedef struct {
	const VwSet *set;
	GPtrArray *elems; /* VwElem* */
	GPtrArray *owned; /* VwElem* made here */
} SetElems;

static void set_elems_free(SetElems *se)
{
	g_ptr_array_unref(se->elems);
	g_ptr_array_unref(se->owned);
	g_free(se);
}

static SetElems *elems_for(GPtrArray *list, const VwSet *set)
{
	SetElems *se;

	for (guint i = 0; i < list->len; i++) {
		se = list->pdata[i];
		if (se->set == set)
			return se;
	}
	se = g_new0(SetElems, 1);
	se->set = set;
	se->elems = g_ptr_array_new();
	se->owned = g_ptr_array_new_with_free_func((GDestroyNotify)vw_elem_free);
	g_ptr_array_add(list, se);
	return se;
}

/* An element of the plan's, as it is. */
static void add_planned(GPtrArray *list, const VwSet *set, const VwElem *e)
{
	g_ptr_array_add(elems_for(list, set)->elems, (gpointer)e);
}

/* An element made here, which the list frees. */
static void add_made(GPtrArray *list, const VwSet *set, VwElem *e)
{
	SetElems *se = elems_for(list, set);

	g_ptr_array_add(se->owned, e);
	g_ptr_array_add(se->elems, e);
}

/* An element in a drift line. */
static const char *elem_words(const VwSet *s, const VwElem *e)
{
	const char *t = vw_elem_text(s, e);

	return t ? t : "(interval end)";
}

static int kelem_key_cmp(gconstpointer pa, gconstpointer pb)
{
	const VwKElem *a = *(VwKElem *const *)pa, *b = *(VwKElem *const *)pb;
	int c = memcmp(a->key, b->key, MIN(a->key_len, b->key_len));

	if (c)
		return c;
	/* At one key, an interval's end sorts before the next one's start. */
	return (int)(b->flags & NFT_SET_ELEM_INTERVAL_END) - (int)(a->flags & NFT_SET_ELEM_INTERVAL_END);
}

/* The end elements of a (non-concatenated) interval set carry no comment:
 * each belongs to the start element right below it. An end without one
 * (someone deleted its start alone) is lone. */
static void infer_end_owners(VwKSet *ks)
{
	g_autoptr(GPtrArray) sorted = g_ptr_array_new();
	const VwKElem *prev = NULL;
	GHashTableIter it;
	gpointer kv;

	if (!(ks->flags & NFT_SET_INTERVAL) || (ks->flags & NFT_SET_CONCAT))
		return;
	g_hash_table_iter_init(&it, ks->elems);
	while (g_hash_table_iter_next(&it, &kv, NULL))
		g_ptr_array_add(sorted, kv);
	g_ptr_array_sort(sorted, kelem_key_cmp);
	for (guint i = 0; i < sorted->len; i++) {
		VwKElem *k = sorted->pdata[i];
		bool after_start = prev && !(prev->flags & NFT_SET_ELEM_INTERVAL_END);

		if (k->flags & NFT_SET_ELEM_INTERVAL_END) {
			k->lone_end = !after_start;
			if (!k->owner && after_start)
				k->owner = g_strdup(prev->owner);
		}
		prev = k;
	}
}

/* A start right below lone end @k, to add and delete in the batch that
 * deletes @k: the kernel deletes an interval's end only with its start.
 * NULL when the end is at the lowest key. */
static VwElem *start_below(const VwSet *s, const VwKElem *k)
{
	VwElem *e;
	int i = (int)k->key_len - 1;

	while (i >= 0 && k->key[i] == 0)
		i--;
	if (i < 0)
		return NULL;
	e = vw_elem_new(NULL);
	memcpy(e->key, k->key, k->key_len);
	e->key_len = k->key_len;
	/* The key minus one, big-endian. */
	e->key[i]--;
	memset(e->key + i + 1, 0xff, k->key_len - (uint32_t)i - 1);
	e->has_verdict = s->is_map && s->data_type == NFT_DATA_VERDICT;
	e->verdict = NF_ACCEPT;
	e->data_len = s->is_map && !e->has_verdict ? s->data_len : 0;
	e->text = g_strdup("(a start, for a lone interval end)");
	return e;
}

/* The kernel's elements of @s that are not in the plan (@wanted), within
 * the scope: deleted. */
static void diff_unexpected(Diff *df, const VwSet *s, VwKSet *ks, GHashTable *wanted, const char *object)
{
	GHashTableIter it;
	gpointer kv;

	g_hash_table_iter_init(&it, ks->elems);
	while (g_hash_table_iter_next(&it, &kv, NULL)) {
		const VwKElem *k = kv;
		g_autofree char *h = NULL;
		VwElem *start = NULL;

		if (g_hash_table_contains(wanted, k) || !vw_nft_owner_in_scope(k->owner, df->scope))
			continue;
		h = hex(k->key, k->key_len);
		if (k->lone_end && !(start = start_below(s, k))) {
			drift(df->res, object,
			      "unexpected element %s: an interval end without its start, which the "
			      "kernel does not delete",
			      h);
			continue;
		}
		drift(df->res, object, "unexpected element %s%s%s%s%s", h, k->owner ? " (of '" : "",
		      k->owner ? k->owner : "", k->owner ? "')" : "",
		      start ? " (an interval end without its start)" : "");
		if (start) {
			add_made(df->lone_starts, s, vw_elem_copy(start));
			add_made(df->del_elems, s, start);
		}
		add_made(df->del_elems, s, vw_nft_elem_from_kernel(k, NULL));
	}
}

/* A set or chain in words: "map fwd4"; in the bridge table "set ports of
 * table bridge virtwire". */
static char *object_words(const Diff *df, const char *kind, const char *name)
{
	if (df->t->family == NFPROTO_INET)
		return g_strdup_printf("%s %s", kind, name);
	return g_strdup_printf("%s %s of %s", kind, name, df->t->label);
}

/* Whether the kernel's element @k, which another owner holds, is a port's
 * that a port of the plan takes over: the spoof filter's taps and MACs are
 * reused, and the newest plug is the live one. */
bool vw_nft_taken_over(const VwSet *s, const VwElem *d, const VwKElem *k)
{
	return s->kind == VW_SET_GUESTS && d->owner && strchr(d->owner, ':') && k->owner && strchr(k->owner, ':');
}

/* Desired elements vs the kernel's, for one set. */
static bool diff_elems(Diff *df, const VwSet *s, VwKSet *ks, GError **error)
{
	g_autoptr(GHashTable) wanted = g_hash_table_new(vw_kelem_hash, vw_kelem_equal);
	g_autoptr(GArray) keys = g_array_sized_new(FALSE, FALSE, sizeof(VwKElem), s->elems->len);
	g_autofree char *object = object_words(df, s->is_map ? "map" : "set", s->name);

	g_array_set_size(keys, s->elems->len);
	if (ks)
		infer_end_owners(ks);
	for (guint i = 0; i < s->elems->len; i++) {
		const VwElem *d = s->elems->pdata[i];
		VwKElem *key = &g_array_index(keys, VwKElem, i);
		const VwKElem *k;

		*key = kkey_of(d);
		g_hash_table_add(wanted, key);
		/* Only the scope changes: a port's reconcile leaves its
		 * network's own elements be. */
		if (!vw_nft_owner_in_scope(d->owner, df->scope))
			continue;
		k = ks ? g_hash_table_lookup(ks->elems, key) : NULL;
		/* A counter of another owner's forward to the same target is
		 * shared, not a conflict. */
		if (k && s->kind == VW_SET_COUNTERS && !vw_nft_owner_in_scope(k->owner, df->scope) &&
		    g_strcmp0(k->owner, d->owner) != 0)
			continue;
		if (k && !vw_nft_owner_in_scope(k->owner, df->scope) && g_strcmp0(k->owner, d->owner) != 0 &&
		    !vw_nft_taken_over(s, d, k)) {
			g_autofree char *mine = owner_words(df->req, d->owner);
			g_autofree char *theirs = owner_words(df->req, k->owner);
			g_autofree char *msg = vw_plan_conflict_message(s, d, mine, theirs);

			g_set_error(error, VW_ERROR, VW_ERROR_CONFLICT, "%s", msg);
			return false;
		}
		if (k && vw_nft_elem_same(d, k))
			continue;
		if (k) {
			drift(df->res, object, "element %s differs", elem_words(s, d));
			add_made(df->del_elems, s, vw_nft_elem_from_kernel(k, vw_elem_text(s, d)));
		} else if (ks) {
			drift(df->res, object, "element %s is missing", elem_words(s, d));
		}
		add_planned(df->add_elems, s, d);
	}
	if (ks)
		diff_unexpected(df, s, ks, wanted, object);
	return true;
}

static bool set_compatible(const VwSet *s, const VwKSet *ks)
{
	return ks->flags == s->flags && ks->key_type == s->key_type && ks->key_len == s->key_len &&
	       ks->data_type == s->data_type && ks->data_len == s->data_len;
}

static bool chain_compatible(const VwChain *c, const VwKChain *kc)
{
	if ((c->type != VW_CHAIN_REGULAR) != kc->base)
		return false;
	if (!kc->base)
		return true;
	return kc->hook == c->hook && kc->prio == c->prio &&
	       g_strcmp0(kc->type, c->type == VW_CHAIN_NAT ? "nat" : "filter") == 0;
}

/* Compares rule by rule; describes the first difference in @why. */
static bool rules_equal(const VwTable *t, const VwChain *c, const VwKChain *kc, char **why)
{
	for (guint i = 0; i < c->rules->len; i++) {
		const VwRule *rule = c->rules->pdata[i];
		g_autoptr(nftnl_rule) r = vw_nft_build_rule(t->family, t->name, c->name, rule);
		g_autofree char *canon = vw_nft_rule_canon(r);

		if (i >= kc->rules->len) {
			*why = g_strdup_printf("rule %u is missing: %s", i + 1, rule->text);
			return false;
		}
		if (strcmp(canon, kc->rules->pdata[i]) != 0) {
			*why = g_strdup_printf("rule %u differs from: %s", i + 1, rule->text);
			return false;
		}
	}
	if (kc->rules->len > c->rules->len) {
		*why = g_strdup_printf("%u unexpected rule%s after the %u expected", kc->rules->len - c->rules->len,
				       kc->rules->len - c->rules->len == 1 ? "" : "s", c->rules->len);
		return false;
	}
	return true;
}

/* Everything of the table, as for an empty kernel. */
static void add_all(Diff *df, const VwTable *t)
{
	vw_batch_add_table(df->batch, t);
	for (guint i = 0; i < t->sets->len; i++)
		vw_batch_add_set(df->batch, t, t->sets->pdata[i]);
	for (guint i = 0; i < t->chains->len; i++) {
		vw_batch_add_chain(df->batch, t, t->chains->pdata[i]);
		g_ptr_array_add(df->chain_rules, t->chains->pdata[i]);
	}
	/* Every element of each set: the set's own array, not a copy of it. */
	for (guint i = 0; i < t->sets->len; i++) {
		const VwSet *s = t->sets->pdata[i];
		SetElems *se;

		if (!s->elems->len)
			continue;
		se = g_new0(SetElems, 1);
		se->set = s;
		se->elems = g_ptr_array_ref(s->elems);
		se->owned = g_ptr_array_new();
		g_ptr_array_add(df->add_elems, se);
	}
}

static bool diff_sets(Diff *df, const VwTable *t, VwKTable *kt, GError **error)
{
	for (guint i = 0; i < t->sets->len; i++) {
		const VwSet *s = t->sets->pdata[i];
		VwKSet *ks = g_hash_table_lookup(kt->sets, s->name);

		if (!ks) {
			g_autofree char *obj = object_words(df, s->is_map ? "map" : "set", s->name);

			drift(df->res, obj, "is missing");
			vw_batch_add_set(df->batch, t, s);
		} else if (!set_compatible(s, ks)) {
			g_set_error(error, VW_ERROR, VW_ERROR_INCOMPATIBLE,
				    "%s %s in %s has another type than this virtwire's", s->is_map ? "map" : "set",
				    s->name, t->label);
			return false;
		}
		if (!diff_elems(df, s, ks, error))
			return false;
	}
	return true;
}

static bool diff_table(Diff *df, const VwTable *t, VwKTable *kt, GError **error)
{
	GHashTableIter it;
	gpointer name, value;

	if (!diff_sets(df, t, kt, error))
		return false;
	for (guint i = 0; i < t->chains->len; i++) {
		const VwChain *c = t->chains->pdata[i];
		VwKChain *kc = g_hash_table_lookup(kt->chains, c->name);
		g_autofree char *object = object_words(df, "chain", c->name);
		char *why = NULL;

		if (!kc) {
			drift(df->res, object, "is missing");
			vw_batch_add_chain(df->batch, t, c);
			g_ptr_array_add(df->chain_rules, (gpointer)c);
			continue;
		}
		if (!chain_compatible(c, kc)) {
			g_set_error(error, VW_ERROR, VW_ERROR_INCOMPATIBLE,
				    "chain %s in %s has another hook or priority than this virtwire's", c->name,
				    t->label);
			return false;
		}
		if (!rules_equal(df->t, c, kc, &why)) {
			drift(df->res, object, "%s", why);
			g_clear_pointer(&why, g_free);
			if (kc->rules->len)
				g_ptr_array_add(df->flush, g_strdup(c->name));
			g_ptr_array_add(df->chain_rules, (gpointer)c);
		}
	}
	g_hash_table_iter_init(&it, kt->chains);
	while (g_hash_table_iter_next(&it, &name, &value)) {
		g_autofree char *object = object_words(df, "chain", name);

		if (vw_table_find_chain(t, name) || !vw_nft_chain_in_scope(name, df->scope))
			continue;
		drift(df->res, object, "is not in the network's plan (left over)");
		if (((VwKChain *)value)->rules->len)
			g_ptr_array_add(df->flush, g_strdup(name));
		g_ptr_array_add(df->del_chains, g_strdup(name));
	}
	return true;
}

static void emit(Diff *df)
{
	for (guint i = 0; i < df->lone_starts->len; i++) {
		SetElems *se = df->lone_starts->pdata[i];

		vw_batch_elems(df->batch, df->t, true, se->set, se->elems);
	}
	for (guint i = 0; i < df->del_elems->len; i++) {
		SetElems *se = df->del_elems->pdata[i];

		df->res->elements_deleted += se->elems->len;
		vw_batch_elems(df->batch, df->t, false, se->set, se->elems);
	}
	for (guint i = 0; i < df->flush->len; i++)
		vw_batch_flush_chain(df->batch, df->t, df->flush->pdata[i]);
	for (guint i = 0; i < df->chain_rules->len; i++) {
		const VwChain *c = df->chain_rules->pdata[i];

		for (guint j = 0; j < c->rules->len; j++)
			vw_batch_add_rule(df->batch, df->t, c->name, c->rules->pdata[j]);
	}
	for (guint i = 0; i < df->del_chains->len; i++)
		vw_batch_del_chain(df->batch, df->t, df->del_chains->pdata[i]);
	for (guint i = 0; i < df->add_elems->len; i++) {
		SetElems *se = df->add_elems->pdata[i];

		df->res->elements_added += se->elems->len;
		vw_batch_elems(df->batch, df->t, true, se->set, se->elems);
	}
}

/* The batch for the differences between @kt and table @t of the plan. */
static bool diff(Diff *df, const VwTable *t, VwKTable *kt, VwNftFlags flags, GError **error)
{
	if (flags & VW_NFT_DELETE_TABLE) {
		if (kt->exists) {
			drift(df->res, t->label, "is present");
			vw_batch_del_table(df->batch, t);
		}
	} else if (!kt->exists) {
		drift(df->res, t->label, "is missing");
		add_all(df, t);
	} else if (flags & VW_NFT_REBUILD) {
		drift(df->res, t->label, "is rebuilt");
		vw_batch_del_table(df->batch, t);
		add_all(df, t);
	} else if (!diff_table(df, t, kt, error)) {
		return false;
	}
	emit(df);
	return true;
}

/* Reads table @t and adds its differences from the plan to @batch; the
 * table as read into *@read, when given. */
static bool diff_one(const VwNftBackend *be, const VwTable *t, const VwNftRequest *req, VwBatch *batch,
		     VwNftResult *res, VwKTable **read, GError **error)
{
	g_autoptr(VwKTable) kt = NULL;
	g_autoptr(GPtrArray) del_elems = g_ptr_array_new_with_free_func((GDestroyNotify)set_elems_free);
	g_autoptr(GPtrArray) add_elems = g_ptr_array_new_with_free_func((GDestroyNotify)set_elems_free);
	g_autoptr(GPtrArray) lone_starts = g_ptr_array_new_with_free_func((GDestroyNotify)set_elems_free);
	g_autoptr(GPtrArray) chain_rules = g_ptr_array_new();
	g_autoptr(GPtrArray) flush = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) del_chains = g_ptr_array_new_with_free_func(g_free);
	Diff df = { t, batch, res, req->scope, del_elems, add_elems, lone_starts, chain_rules, flush, del_chains, req };

	/* What a table's deletion takes away is read only when asked for. */
	bool shallow = (req->flags & (VW_NFT_DELETE_TABLE | VW_NFT_RELEASED)) == VW_NFT_DELETE_TABLE;

	if (!vw_nft_read(be, t, shallow, &kt, error) || !diff(&df, t, kt, req->flags, error))
		return false;
	if (read)
		*read = g_steal_pointer(&kt);
	return true;
}

/* Readings of the kernel when the ruleset keeps changing between a reading
 * and its batch. */
#define RECONCILE_ATTEMPTS 10

/* One reading of the kernel and the batch made from it, for the generation
 * read first: *@stale when the kernel refused it because someone committed
 * since. */
static bool reconcile_once(const VwNftBackend *be, const VwPlan *plan, const VwNftRequest *req, VwNftResult **ret,
			   bool *stale, GError **error)
{
	g_autoptr(VwBatch) batch = NULL;
	g_autoptr(VwNftResult) res = g_new0(VwNftResult, 1);
	g_autoptr(VwPlan) none = plan ? NULL : vw_plan_new();
	g_autoptr(VwKTable) kt = NULL;

	res->drift = g_ptr_array_new_with_free_func((GDestroyNotify)vw_drift_free);
	res->have_gen = vw_nft_generation(be, &res->gen_before, NULL);
	batch = vw_batch_new(res->have_gen ? res->gen_before : 0);
	if (req->faults && req->faults->nft)
		vw_batch_set_fault(batch, req->faults->nft);
	res->released = g_ptr_array_new_with_free_func((GDestroyNotify)vw_released_free);
	for (int i = 0; i < VW_TABLES; i++)
		if (!diff_one(be, &(plan ? plan : none)->tables[i], req, batch, res, i == VW_TABLE_INET ? &kt : NULL,
			      error))
			return false;
	if (!vw_coexist_diff(be, plan, req->scope, batch, res->drift, error))
		return false;
	res->messages = vw_batch_count(batch);
	if (!(req->flags & VW_NFT_DRY_RUN) && res->messages > 0) {
		if (!vw_batch_send(be, batch, stale, error))
			return false;
		if (req->flags & VW_NFT_RELEASED)
			vw_nft_released(plan, kt, req, res->released);
		res->have_gen = res->have_gen && vw_nft_generation(be, &res->gen_after, NULL);
	} else {
		res->gen_after = res->gen_before;
	}
	*ret = g_steal_pointer(&res);
	return true;
}

bool vw_nft_reconcile(const VwNftBackend *be, const VwPlan *plan, const VwNftRequest *req, VwNftResult **ret,
		      GError **error)
{
	g_autoptr(VwNftResult) res = NULL;

	for (guint attempt = 1;; attempt++) {
		g_autoptr(GError) err = NULL;
		bool stale = false;

		if (reconcile_once(be, plan, req, &res, &stale, &err))
			break;
		if (!stale || attempt >= RECONCILE_ATTEMPTS) {
			g_propagate_error(error, g_steal_pointer(&err));
			return false;
		}
		/* A short pause lets a burst of changes pass. */
		g_usleep(1000);
	}
	if (ret)
		*ret = g_steal_pointer(&res);
	return true;
}

static int str_cmp(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The network id of an owner tag ("ID" or "ID:PORT"). */
static char *owner_id(const char *owner)
{
	const char *colon = strchr(owner, ':');

	return colon ? g_strndup(owner, (gsize)(colon - owner)) : g_strdup(owner);
}

static void add_owner_id(GHashTable *ids, const char *owner)
{
	if (owner)
		g_hash_table_add(ids, owner_id(owner));
}

/* The network ids that own anything in @kt into @found. */
static void table_owner_ids(const VwKTable *kt, GHashTable *found)
{
	GHashTableIter it, eit;
	gpointer k, v;

	g_hash_table_iter_init(&it, kt->sets);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		g_hash_table_iter_init(&eit, ((VwKSet *)v)->elems);
		while (g_hash_table_iter_next(&eit, &k, NULL))
			add_owner_id(found, ((VwKElem *)k)->owner);
	}
	for (guint i = 0; i < kt->chain_order->len; i++) {
		const char *name = kt->chain_order->pdata[i];
		const char *last = strrchr(name, '-');

		if (g_str_has_prefix(name, "nw-") && last && last > name + 3)
			g_hash_table_add(found, g_strndup(name + 3, (gsize)(last - name - 3)));
	}
}

bool vw_nft_table_owners(const VwNftBackend *be, bool *exists, GPtrArray *ids, GError **error)
{
	g_autoptr(GHashTable) found = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	GHashTableIter it;
	gpointer k;

	*exists = false;
	for (int i = 0; i < VW_TABLES; i++) {
		g_autoptr(VwKTable) kt = NULL;

		if (!vw_nft_read(be, vw_plan_table(i), ids == NULL, &kt, error))
			return false;
		*exists |= kt->exists;
		if (ids && kt->exists)
			table_owner_ids(kt, found);
	}
	if (!ids)
		return true;
	g_hash_table_iter_init(&it, found);
	while (g_hash_table_iter_next(&it, &k, NULL))
		g_ptr_array_add(ids, g_strdup(k));
	g_ptr_array_sort(ids, str_cmp);
	return true;
}

void vw_counter_free(VwCounter *c)
{
	if (!c)
		return;
	g_free(c->owner);
	g_free(c);
}

bool vw_nft_counters(const VwNftBackend *be, GPtrArray *ret, GError **error)
{
	g_autoptr(VwKTable) kt = NULL;

	if (!vw_nft_read(be, vw_plan_table(VW_TABLE_INET), false, &kt, error))
		return false;
	for (int fam = AF_INET; fam && kt->exists; fam = fam == AF_INET ? AF_INET6 : 0) {
		VwKSet *ks = g_hash_table_lookup(kt->sets, fam == AF_INET ? "fwd4count" : "fwd6count");
		unsigned alen = vw_addr_len(fam);
		GHashTableIter it;
		gpointer kv;

		if (!ks)
			continue;
		g_hash_table_iter_init(&it, ks->elems);
		while (g_hash_table_iter_next(&it, &kv, NULL)) {
			const VwKElem *k = kv;
			VwCounter *c;

			/* proto (4 bytes) . address . port (4 bytes) */
			if (k->key_len != 8 + alen)
				continue;
			c = g_new0(VwCounter, 1);
			c->family = fam;
			c->proto = k->key[0];
			c->addr.family = fam;
			memcpy(c->addr.b, k->key + 4, alen);
			c->port = (uint16_t)(k->key[4 + alen] << 8 | k->key[5 + alen]);
			c->owner = g_strdup(k->owner);
			c->packets = k->packets;
			c->bytes = k->bytes;
			g_ptr_array_add(ret, c);
		}
	}
	return true;
}

bool vw_nft_spoofed(const VwNftBackend *be, GHashTable *ret, GError **error)
{
	g_autoptr(VwKTable) kt = NULL;
	GHashTableIter it, eit;
	gpointer v, k;

	if (!vw_nft_read(be, vw_plan_table(VW_TABLE_BRIDGE), false, &kt, error))
		return false;
	/* Every set with counters there counts the frames it drops. */
	g_hash_table_iter_init(&it, kt->sets);
	while (kt->exists && g_hash_table_iter_next(&it, NULL, &v)) {
		g_hash_table_iter_init(&eit, ((VwKSet *)v)->elems);
		while (g_hash_table_iter_next(&eit, &k, NULL)) {
			const VwKElem *e = k;
			char *id;
			guint64 *n;

			if (!e->has_counter || !e->owner)
				continue;
			id = owner_id(e->owner);
			if (!(n = g_hash_table_lookup(ret, id)))
				g_hash_table_insert(ret, g_strdup(id), (n = g_new0(guint64, 1)));
			*n += e->packets;
			g_free(id);
		}
	}
	return true;
}
