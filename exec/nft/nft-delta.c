/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A port's change as a delta: while the ruleset is at the generation
 * virtwire's own last commit left, the kernel holds what the records say,
 * so a port coming or going changes only its own elements. Those are known
 * without reading the table: the ones the record says its last change
 * committed, and the ones its plan wants now. Each is asked for by its key
 * (NFT_MSG_GETSETELEM, as `nft get element` does) and the differences go
 * in one batch tied to that generation.
 *
 * Whatever the delta cannot decide alone — a key another owner holds (the
 * full path words the conflict), an element not where the record says, a
 * commit by someone else — it leaves to the full reconcile, having sent
 * nothing.
 */
#include <string.h>

#include <linux/netfilter/nf_tables.h>

#include "nft-private.h"

/* A port's elements in a record stay short; a port with more (a forward of
 * a wide port range) is left to the full path. */
#define ELEMS_TEXT_MAX 16384

static void hex_put(GString *s, const uint8_t *b, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		g_string_append_printf(s, "%02x", b[i]);
}

/* Whether the delta can hold set @s's elements: those of a plain interval
 * set come with end elements of no owner, and neighbours merge. */
static bool delta_set(const VwSet *s)
{
	return !(s->flags & NFT_SET_INTERVAL) || s->concat_n > 0;
}

/* Element @e of set @s (table @t) onto @out; false when a delta cannot hold
 * it, or the text is long enough already. */
static bool elem_put(GString *out, int t, const VwSet *s, const VwElem *e)
{
	if (!delta_set(s) || out->len > ELEMS_TEXT_MAX)
		return false;
	g_string_append_printf(out, "%s%c/%s/", out->len ? "," : "", t == VW_TABLE_INET ? 'i' : 'b', s->name);
	hex_put(out, e->key, e->key_len);
	if (e->key_end_len || e->flags) {
		g_string_append_c(out, '/');
		hex_put(out, e->key_end, e->key_end_len);
	}
	if (e->flags)
		g_string_append_printf(out, "/%u", e->flags);
	return true;
}

static void string_free(GString *s)
{
	if (s)
		g_string_free(s, TRUE);
}

GHashTable *vw_nft_owners_elems(const VwPlan *plan, GPtrArray *owners)
{
	/* Owner → its text so far; NULL once it cannot be had. */
	g_autoptr(GHashTable)
		text = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, (GDestroyNotify)string_free);
	GHashTable *out = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
	GHashTableIter it;
	gpointer owner, str;

	for (guint i = 0; i < owners->len; i++)
		g_hash_table_insert(text, owners->pdata[i], g_string_new(NULL));
	for (int t = 0; t < VW_TABLES; t++) {
		for (guint i = 0; i < plan->tables[t].sets->len; i++) {
			const VwSet *s = plan->tables[t].sets->pdata[i];

			for (guint j = 0; j < s->elems->len; j++) {
				const VwElem *e = s->elems->pdata[j];
				GString *o;

				/* Owners are interned: one pointer compared. */
				if (!e->owner || !g_hash_table_lookup_extended(text, e->owner, NULL, (gpointer *)&o) ||
				    !o)
					continue;
				if (!elem_put(o, t, s, e))
					g_hash_table_insert(text, e->owner, NULL);
			}
		}
	}
	g_hash_table_iter_init(&it, text);
	while (g_hash_table_iter_next(&it, &owner, &str))
		g_hash_table_insert(out, owner, str ? g_string_free(g_steal_pointer(&str), FALSE) : NULL);
	g_hash_table_steal_all(text);
	return out;
}

/* Whether set @s holds forwards' keys or their counters: all that an edit
 * of a network's forwards changes. */
static bool forward_set(const VwSet *s)
{
	return s->kind == VW_SET_FORWARDS || s->kind == VW_SET_COUNTERS;
}

static bool same_key(const VwElem *a, const VwElem *b);

/* Whether @plan (may be NULL) has @owner's element of @e's key in its set
 * named as @like, of table @t. */
static bool plan_has(const VwPlan *plan, int t, const VwSet *like, const VwElem *e, const char *owner)
{
	const VwSet *s = plan ? vw_table_find_set(&plan->tables[t], like->name) : NULL;

	for (guint i = 0; s && i < s->elems->len; i++) {
		const VwElem *x = s->elems->pdata[i];

		if (g_strcmp0(x->owner, owner) == 0 && same_key(x, e))
			return true;
	}
	return false;
}

char *vw_nft_edit_recorded(const VwPlan *old, const VwPlan *new, const VwPlan *kept, bool unshared, const char *owner)
{
	g_autoptr(GString) out = g_string_new(NULL);

	for (int t = 0; t < VW_TABLES; t++) {
		for (guint i = 0; i < old->tables[t].sets->len; i++) {
			const VwSet *s = old->tables[t].sets->pdata[i];

			for (guint j = 0; forward_set(s) && j < s->elems->len; j++) {
				const VwElem *e = s->elems->pdata[j];

				if (g_strcmp0(e->owner, owner) != 0)
					continue;
				/* A target's counter is shared by its forwards. */
				if (s->kind == VW_SET_COUNTERS && !plan_has(new, t, s, e, owner)) {
					if (plan_has(kept, t, s, e, owner))
						continue;
					if (!unshared)
						return NULL;
				}
				if (!elem_put(out, t, s, e))
					return NULL;
			}
		}
	}
	return g_string_free(g_steal_pointer(&out), FALSE);
}

char *vw_nft_port_elems(const VwPlan *plan, const char *owner)
{
	g_autoptr(GPtrArray) one = g_ptr_array_new();
	g_autoptr(GHashTable) all = NULL;

	g_ptr_array_add(one, (gpointer)g_intern_string(owner));
	all = vw_nft_owners_elems(plan, one);
	return g_strdup(g_hash_table_lookup(all, one->pdata[0]));
}

static bool hex_get(const char *h, uint8_t *out, uint32_t *len)
{
	size_t n = strlen(h);

	if (n % 2 || n / 2 > VW_NFT_DATA_MAX)
		return false;
	for (size_t i = 0; i < n / 2; i++) {
		int hi = g_ascii_xdigit_value(h[2 * i]), lo = g_ascii_xdigit_value(h[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	*len = (uint32_t)(n / 2);
	return true;
}

/* One element of the port's, by key: the plan's (@want) and/or the one the
 * record names (@recorded, made here). */
typedef struct {
	VwTableId table;
	const VwSet *set;
	const VwElem *want;
	VwElem *recorded;
} Key;

static void key_free(Key *k)
{
	vw_elem_free(k->recorded);
	g_free(k);
}

static bool same_key(const VwElem *a, const VwElem *b)
{
	return a->key_len == b->key_len && memcmp(a->key, b->key, a->key_len) == 0 &&
	       a->key_end_len == b->key_end_len && memcmp(a->key_end, b->key_end, a->key_end_len) == 0 &&
	       a->flags == b->flags;
}

static Key *key_find(GPtrArray *keys, VwTableId t, const VwSet *s, const VwElem *e)
{
	for (guint i = 0; i < keys->len; i++) {
		Key *k = keys->pdata[i];
		const VwElem *have = k->want ? k->want : k->recorded;

		if (k->table == t && k->set == s && same_key(have, e))
			return k;
	}
	return NULL;
}

/* A recorded element's key ("i/SET/KEY[/END[/FLAGS]]"); false when it is
 * not one of @plan's sets' (the full path decides). */
static bool parse_key(const VwPlan *plan, char **f, guint n, VwTableId *t, const VwSet **s, VwElem *e)
{
	guint64 flags = 0;

	if (n < 3 || strlen(f[0]) != 1 || (f[0][0] != 'i' && f[0][0] != 'b'))
		return false;
	*t = f[0][0] == 'i' ? VW_TABLE_INET : VW_TABLE_BRIDGE;
	if (!(*s = vw_table_find_set(&plan->tables[*t], f[1])) || !delta_set(*s) ||
	    !hex_get(f[2], e->key, &e->key_len) || (n >= 4 && !hex_get(f[3], e->key_end, &e->key_end_len)) ||
	    (n == 5 && !g_ascii_string_to_unsigned(f[4], 10, 0, G_MAXUINT32, &flags, NULL)))
		return false;
	e->flags = (uint32_t)flags;
	return true;
}

/* One recorded element into @keys. */
static bool parse_recorded(const VwPlan *plan, const char *text, GPtrArray *keys)
{
	g_auto(GStrv) f = g_strsplit(text, "/", 6);
	VwElem *e = vw_elem_new(NULL);
	VwTableId t;
	const VwSet *s;
	Key *k;

	if (g_strv_length(f) > 5 || !parse_key(plan, f, g_strv_length(f), &t, &s, e)) {
		vw_elem_free(e);
		return false;
	}
	if ((k = key_find(keys, t, s, e))) {
		if (k->recorded)
			vw_elem_free(e);
		else
			k->recorded = e;
		return true;
	}
	k = g_new0(Key, 1);
	k->table = t;
	k->set = s;
	k->recorded = e;
	g_ptr_array_add(keys, k);
	return true;
}

/* The port's keys: the plan's elements of @owner, then those the record
 * names. */
static bool collect_keys(const VwPlan *plan, const VwNftDelta *req, GPtrArray *keys)
{
	g_auto(GStrv) old = req->recorded && *req->recorded ? g_strsplit(req->recorded, ",", -1) : NULL;

	for (int t = 0; t < VW_TABLES; t++) {
		for (guint i = 0; i < plan->tables[t].sets->len; i++) {
			const VwSet *s = plan->tables[t].sets->pdata[i];

			for (guint j = 0; j < s->elems->len; j++) {
				const VwElem *e = s->elems->pdata[j];
				Key *k;

				if (g_strcmp0(e->owner, req->owner) != 0 || (req->edit && !forward_set(s)))
					continue;
				if (!delta_set(s))
					return false;
				k = g_new0(Key, 1);
				k->table = (VwTableId)t;
				k->set = s;
				k->want = e;
				g_ptr_array_add(keys, k);
			}
		}
	}
	for (guint i = 0; old && old[i]; i++)
		if (!parse_recorded(plan, old[i], keys))
			return false;
	return true;
}

/* What one table's batch holds: per set, the elements out and in. */
typedef struct {
	GPtrArray *del[VW_TABLES]; /* SetElems-like: (set, GPtrArray VwElem*) pairs, see list_for */
	GPtrArray *add[VW_TABLES];
	GPtrArray *owned; /* VwElem* made here */
} Changes;

typedef struct {
	const VwSet *set;
	GPtrArray *elems; /* VwElem*, not owned */
} SetList;

static void set_list_free(SetList *l)
{
	g_ptr_array_unref(l->elems);
	g_free(l);
}

static GPtrArray *list_for(GPtrArray *lists, const VwSet *s)
{
	SetList *l;

	for (guint i = 0; i < lists->len; i++)
		if (((SetList *)lists->pdata[i])->set == s)
			return ((SetList *)lists->pdata[i])->elems;
	l = g_new0(SetList, 1);
	l->set = s;
	l->elems = g_ptr_array_new();
	g_ptr_array_add(lists, l);
	return l->elems;
}

/* Deletes kernel element @kk (of the port's), noting the forward it was. */
static void take_out(Changes *c, const Key *k, const VwKElem *kk, VwNftResult *res)
{
	VwElem *gone = vw_nft_elem_from_kernel(kk, NULL);
	VwReleased *r = vw_nft_released_elem(k->table == VW_TABLE_INET ? k->set->name : NULL, kk);

	g_ptr_array_add(c->owned, gone);
	g_ptr_array_add(list_for(c->del[k->table], k->set), gone);
	if (r && (!k->want || k->want->data_len != kk->data_len || memcmp(k->want->data, kk->data, kk->data_len) != 0))
		g_ptr_array_add(res->released, r);
	else
		vw_released_free(r);
}

/* One key against the kernel: what changes, or false (*@undecided) when the
 * full path must decide. */
static bool decide(const VwNftBackend *be, const VwNftDelta *req, const Key *k, Changes *c, VwNftResult *res,
		   bool *undecided, GError **error)
{
	g_autoptr(VwKElem) kk = NULL;
	const VwTable *t = vw_plan_table(k->table);
	const VwElem *probe = k->want ? k->want : k->recorded;
	bool mine;

	if (!vw_nft_get_elem(be, t, k->set, probe, &kk, error))
		return false;
	if (kk &&
	    (kk->key_len != probe->key_len || memcmp(kk->key, probe->key, probe->key_len) != 0 ||
	     kk->key_end_len != probe->key_end_len || memcmp(kk->key_end, probe->key_end, probe->key_end_len) != 0)) {
		/* Another interval holds the key. */
		*undecided = true;
		return false;
	}
	mine = kk && g_strcmp0(kk->owner, req->owner) == 0;
	/* An edited network: a key new to it that it holds already is another
	 * of its forwards' (a collision, which the full path words); a counter
	 * another owner holds is left to the full path, which decides whose it
	 * is. */
	if (req->edit && k->want && kk && (k->set->kind == VW_SET_COUNTERS ? !mine : mine && !k->recorded)) {
		*undecided = true;
		return false;
	}
	if (!k->want) {
		if (mine)
			take_out(c, k, kk, res);
		return true; /* another's, or gone: not the port's to delete */
	}
	if (kk && !mine) {
		if (k->set->kind == VW_SET_COUNTERS)
			return true; /* shared with another owner's forward */
		if (!vw_nft_taken_over(k->set, k->want, kk)) {
			*undecided = true;
			return false;
		}
	}
	if (kk && mine && vw_nft_elem_same(k->want, kk))
		return true;
	if (kk) {
		if (mine)
			vw_drift_add(res->drift, VW_DRIFT_FIREWALL, k->set->name, "element %s differs",
				     vw_elem_text(k->set, k->want));
		take_out(c, k, kk, res);
	}
	g_ptr_array_add(list_for(c->add[k->table], k->set), (gpointer)k->want);
	return true;
}

/* ---------------------------------------------------------------------- */
/* An edited network's host ports on the other kind of listen address
 *
 * check-together.c refuses a forward on one address and a forward on every
 * address of the same protocol, family and host port; in the kernel they
 * are keys of two sets (fwd4: proto . address . port, fwd4any: proto .
 * port), so a GET of the forward's own key does not see the other. A
 * forward on one address asks for proto . port in the other set; one on
 * every address reads the set of one-address forwards (only that set). */

/* The set of the other kind of listen address for forward map @s, *@any
 * whether @s is the every-address one; NULL for other sets. */
static const VwSet *other_listen(const VwPlan *plan, const VwSet *s, bool *any)
{
	static const char *const pairs[][2] = { { "fwd4", "fwd4any" }, { "fwd6", "fwd6any" } };

	for (guint i = 0; i < G_N_ELEMENTS(pairs); i++) {
		for (int a = 0; a < 2; a++) {
			if (strcmp(s->name, pairs[i][a]) == 0) {
				*any = a == 1;
				return vw_table_find_set(&plan->tables[VW_TABLE_INET], pairs[i][!a]);
			}
		}
	}
	return NULL;
}

/* Whether keys @a and @b have the same protocol (first field) and port
 * (last field); fields are 4 bytes in a concatenation. */
static bool same_port(const uint8_t *a, uint32_t alen, const uint8_t *b, uint32_t blen)
{
	return alen >= 8 && blen >= 8 && memcmp(a, b, 4) == 0 && memcmp(a + alen - 4, b + blen - 4, 4) == 0;
}

/* Whether kernel element @kk of set @s is one the edit takes away. */
static bool going(GPtrArray *keys, const VwSet *s, const VwKElem *kk)
{
	for (guint i = 0; i < keys->len; i++) {
		const Key *k = keys->pdata[i];

		if (k->set == s && k->recorded && !k->want && k->recorded->key_len == kk->key_len &&
		    memcmp(k->recorded->key, kk->key, kk->key_len) == 0)
			return true;
	}
	return false;
}

/* A wanted key @k of a one-address map against the every-address set @o. */
static bool claim_one(const VwNftBackend *be, GPtrArray *keys, const Key *k, const VwSet *o, bool *taken,
		      GError **error)
{
	VwElem *probe;
	g_autoptr(VwKElem) kk = NULL;
	bool ok;

	if (k->want->key_len < 8)
		return *taken = true;
	probe = vw_elem_new(NULL);
	memcpy(probe->key, k->want->key, 4);
	memcpy(probe->key + 4, k->want->key + k->want->key_len - 4, 4);
	probe->key_len = 8;
	ok = vw_nft_get_elem(be, vw_plan_table(VW_TABLE_INET), o, probe, &kk, error);
	vw_elem_free(probe);
	*taken = ok && kk && !going(keys, o, kk);
	return ok;
}

/* Whether no host port the edit wants is held on the other kind of listen
 * address (*@free); false when the kernel did not answer. */
static bool claims_free(const VwNftBackend *be, const VwPlan *plan, GPtrArray *keys, bool *free, GError **error)
{
	g_autoptr(GHashTable)
		dumps = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, (GDestroyNotify)g_ptr_array_unref);

	*free = true;
	for (guint i = 0; *free && i < keys->len; i++) {
		const Key *k = keys->pdata[i];
		const VwSet *o;
		GPtrArray *d;
		bool any, taken = false;

		if (!k->want || k->table != VW_TABLE_INET || !(o = other_listen(plan, k->set, &any)))
			continue;
		if (!any) {
			if (!claim_one(be, keys, k, o, &taken, error))
				return false;
			*free = !taken;
			continue;
		}
		if (!(d = g_hash_table_lookup(dumps, o))) {
			d = g_ptr_array_new_with_free_func((GDestroyNotify)vw_kelem_free);
			g_hash_table_insert(dumps, (gpointer)o, d);
			if (!vw_nft_dump_set(be, vw_plan_table(VW_TABLE_INET), o, d, error))
				return false;
		}
		for (guint j = 0; *free && j < d->len; j++) {
			const VwKElem *kk = d->pdata[j];

			*free = !same_port(kk->key, kk->key_len, k->want->key, k->want->key_len) || going(keys, o, kk);
		}
	}
	return true;
}

static void emit(Changes *c, VwBatch *b, VwNftResult *res)
{
	for (int t = 0; t < VW_TABLES; t++) {
		for (guint i = 0; i < c->del[t]->len; i++) {
			SetList *l = c->del[t]->pdata[i];

			res->elements_deleted += l->elems->len;
			vw_batch_elems(b, vw_plan_table(t), false, l->set, l->elems);
		}
	}
	for (int t = 0; t < VW_TABLES; t++) {
		for (guint i = 0; i < c->add[t]->len; i++) {
			SetList *l = c->add[t]->pdata[i];

			res->elements_added += l->elems->len;
			vw_batch_elems(b, vw_plan_table(t), true, l->set, l->elems);
		}
	}
}

static void changes_clear(Changes *c)
{
	for (int t = 0; t < VW_TABLES; t++) {
		g_ptr_array_unref(c->del[t]);
		g_ptr_array_unref(c->add[t]);
	}
	g_ptr_array_unref(c->owned);
}

/* The keys' changes into one batch for generation req->gen, sent. */
static bool delta_send(const VwNftBackend *be, const VwNftDelta *req, GPtrArray *keys, VwNftResult *res,
		       bool *undecided, GError **error)
{
	g_autoptr(VwBatch) b = vw_batch_new(req->gen);
	Changes c = { .owned = g_ptr_array_new_with_free_func((GDestroyNotify)vw_elem_free) };
	bool ok = true, stale = false;

	for (int t = 0; t < VW_TABLES; t++) {
		c.del[t] = g_ptr_array_new_with_free_func((GDestroyNotify)set_list_free);
		c.add[t] = g_ptr_array_new_with_free_func((GDestroyNotify)set_list_free);
	}
	if (req->faults && req->faults->nft)
		vw_batch_set_fault(b, req->faults->nft);
	for (guint i = 0; ok && i < keys->len; i++)
		ok = decide(be, req, keys->pdata[i], &c, res, undecided, error);
	if (ok)
		emit(&c, b, res);
	res->messages = ok ? vw_batch_count(b) : 0;
	/* Refused (someone committed since, or the kernel is otherwise not
	 * as recorded): nothing changed, the full path decides. */
	if (ok && res->messages && !vw_batch_send(be, b, &stale, error))
		*undecided = !(ok = false);
	changes_clear(&c);
	return ok;
}

bool vw_nft_delta(const VwNftBackend *be, const VwPlan *plan, const VwNftDelta *req, VwNftResult **ret, bool *undecided,
		  GError **error)
{
	g_autoptr(GPtrArray) keys = g_ptr_array_new_with_free_func((GDestroyNotify)key_free);
	g_autoptr(VwNftResult) res = g_new0(VwNftResult, 1);
	g_autoptr(GError) err = NULL;
	uint32_t gen;

	*undecided = false;
	res->drift = g_ptr_array_new_with_free_func((GDestroyNotify)vw_drift_free);
	res->released = g_ptr_array_new_with_free_func((GDestroyNotify)vw_released_free);
	/* Only the kernel as virtwire left it is the record's. */
	if (!collect_keys(plan, req, keys) || !vw_nft_generation(be, &gen, NULL) || gen != req->gen) {
		*undecided = true;
		return false;
	}
	res->have_gen = true;
	res->gen_before = gen;
	if (req->edit) {
		bool free;

		if (!claims_free(be, plan, keys, &free, &err) || !free) {
			*undecided = true;
			return false;
		}
	}
	/* A kernel that cannot answer a key (or refuses) leaves it to the
	 * full path too, which says what went wrong. */
	if (!delta_send(be, req, keys, res, undecided, &err)) {
		*undecided = true;
		return false;
	}
	res->gen_after = gen;
	if (res->messages && !(res->have_gen = vw_nft_generation(be, &res->gen_after, NULL)))
		res->gen_after = gen;
	*ret = g_steal_pointer(&res);
	return true;
}
