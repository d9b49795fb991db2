/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * An edited network: its XML against the record's, as bytes. When all that
 * changed is whole <vw:forward> elements of the network's own (added,
 * removed or rewritten) and the whitespace between them, the rest of the
 * document means what it meant: only those forwards need parsing, checking
 * and planning. Anything else — one byte outside them, a comment, a
 * forward's neighbour half changed — is the full path's.
 *
 * Why the region's bounds are sound: the bytes before it are the same in
 * both, and the scan (vw_eng_forward_spans) of a construct that starts there
 * ends at the first terminator after it; had that terminator fallen into
 * the region, the region would hold it — no whitespace, no forward — and be
 * refused. So both scans stand in content at the region's start, at the
 * same depth; the region is whole forwards (depth-neutral) and whitespace on
 * each side, and the bytes after it are the same again.
 */
#include <string.h>

#include "engine-private.h"

static bool blank(const char *s, gsize from, gsize to)
{
	for (gsize i = from; i < to; i++)
		if (!strchr(" \t\r\n", s[i]))
			return false;
	return true;
}

/* Widens [*lo, *hi) so that no span of @spans straddles a bound; whether it
 * moved. */
static bool widen(const GArray *spans, gsize *lo, gsize *hi)
{
	bool moved = false;

	for (guint i = 0; i < spans->len; i++) {
		const VwByteSpan *sp = &g_array_index(spans, VwByteSpan, i);

		if (sp->start < *lo && *lo < sp->end) {
			*lo = sp->start;
			moved = true;
		}
		if (sp->start < *hi && *hi < sp->end) {
			*hi = sp->end;
			moved = true;
		}
	}
	return moved;
}

/* The spans of @spans within [lo, hi) into @out (counted); false when the
 * rest of that region is not whitespace. */
static bool whole(const char *s, const GArray *spans, gsize lo, gsize hi, GArray *out)
{
	gsize at = lo;

	for (guint i = 0; i < spans->len; i++) {
		const VwByteSpan *sp = &g_array_index(spans, VwByteSpan, i);

		if (sp->end <= lo || sp->start >= hi)
			continue;
		if (sp->start < lo || sp->end > hi || !blank(s, at, sp->start))
			return false;
		g_array_append_val(out, *sp);
		at = sp->end;
	}
	return blank(s, at, hi);
}

/* Forwards the same on both sides at the region's ends (an insertion that
 * the common prefix and suffix place ambiguously) are left out of it;
 * whether any forward is left. */
static bool trim(const char *old, const char *new, VwEditRegion *r)
{
	while (r->old_fwds->len && r->new_fwds->len) {
		const VwByteSpan *o = &g_array_index(r->old_fwds, VwByteSpan, r->old_fwds->len - 1);
		const VwByteSpan *n = &g_array_index(r->new_fwds, VwByteSpan, r->new_fwds->len - 1);

		if (r->old_end - o->start != r->new_end - n->start ||
		    memcmp(old + o->start, new + n->start, r->old_end - o->start) != 0)
			break;
		r->old_end = o->start;
		r->new_end = n->start;
		g_array_set_size(r->old_fwds, r->old_fwds->len - 1);
		g_array_set_size(r->new_fwds, r->new_fwds->len - 1);
	}
	while (r->old_fwds->len && r->new_fwds->len) {
		const VwByteSpan *o = &g_array_index(r->old_fwds, VwByteSpan, 0);
		const VwByteSpan *n = &g_array_index(r->new_fwds, VwByteSpan, 0);

		if (o->end != n->end || memcmp(old + r->lo, new + r->lo, o->end - r->lo) != 0)
			break;
		r->lo = o->end;
		g_array_remove_index(r->old_fwds, 0);
		g_array_remove_index(r->new_fwds, 0);
	}
	return r->old_fwds->len || r->new_fwds->len;
}

void vw_eng_edit_clear(VwEditRegion *r)
{
	g_clear_pointer(&r->old_fwds, g_array_unref);
	g_clear_pointer(&r->new_fwds, g_array_unref);
	g_clear_pointer(&r->old_all, g_array_unref);
	g_clear_pointer(&r->new_all, g_array_unref);
}

bool vw_eng_edit_region(const char *old, gsize old_len, const char *new, gsize new_len, VwEditRegion *ret)
{
	g_autoptr(GArray) os = NULL;
	g_autoptr(GArray) ns = NULL;
	gsize pre = 0, suf = 0, lo, ohi, nhi, most = MIN(old_len, new_len);
	VwEditRegion r = { 0 };

	while (pre < most && old[pre] == new[pre])
		pre++;
	while (suf < most - pre && old[old_len - 1 - suf] == new[new_len - 1 - suf])
		suf++;
	if (pre == most && old_len == new_len)
		return false; /* the same bytes: nothing edited */
	if (!(os = vw_eng_forward_spans(old, old_len)) || !(ns = vw_eng_forward_spans(new, new_len)))
		return false;
	lo = pre;
	ohi = old_len - suf;
	nhi = new_len - suf;
	/* Each widening shrinks the common suffix on both sides alike. */
	for (bool moved = true; moved;) {
		gsize o = ohi, n = nhi;

		moved = widen(os, &lo, &o) | widen(ns, &lo, &n);
		suf = MIN(old_len - o, new_len - n);
		ohi = old_len - suf;
		nhi = new_len - suf;
	}
	r.lo = lo;
	r.old_end = ohi;
	r.new_end = nhi;
	r.old_fwds = g_array_new(FALSE, FALSE, sizeof(VwByteSpan));
	r.new_fwds = g_array_new(FALSE, FALSE, sizeof(VwByteSpan));
	/* Nothing but whitespace changed is no forward changed either. */
	if (!whole(old, os, lo, ohi, r.old_fwds) || !whole(new, ns, lo, nhi, r.new_fwds) || !trim(old, new, &r)) {
		vw_eng_edit_clear(&r);
		return false;
	}
	r.old_all = g_steal_pointer(&os);
	r.new_all = g_steal_pointer(&ns);
	*ret = r;
	return true;
}

/* ---------------------------------------------------------------------- */
/* The edit path: only the forwards that changed, as a delta
 *
 * Taken only while the old XML is provably what the kernel holds: the
 * record is not pending, the ruleset is at the generation virtwire's own
 * last commit left for the network, and nothing its plan is made from has
 * moved since (vw_eng_record_current: links, sysctls, ports, domains, what
 * watch learned, the build); and every other recorded network is in the
 * kernel as its record says. Then the full path's plan of the new XML
 * differs from the old one's only in the elements of the forwards the edit
 * took out and put in, and those are planned from the XML with every other
 * forward cut out (lines kept). What the full path decides from all the
 * forwards together is decided in the kernel or left to it:
 *
 *  - a host port held by any forward (the network's own, another network's,
 *    a domain's) is a key found by a GET, or on the other kind of listen
 *    address a GET or one dump of the one-address set (nft-delta.c);
 *  - a forward's name= anywhere else in the document, the counters of
 *    targets that forwards share, the element cap: by bytes and by the
 *    forwards next to the edit, or the full path;
 *  - any finding about the new forwards (errors, and warnings too, which
 *    the full path would print beside those about every other forward):
 *    the full path, which words it.
 *
 * Whatever is not certain falls back to the full path with nothing
 * changed; so does a kernel that refuses the batch (the record goes back).
 */

typedef struct {
	VwEngine *e;
	const VwEditRequest *req;
	VwState *st; /* the record */
	VwEditRegion r;
	guint32 gen;
	const VwNftBackend *nft;
	VwDoc *old_doc, *new_doc, *kept_doc;
	VwPlan *old_plan, *new_plan, *kept_plan;
} Edit;

/* The forwards next to the edit on each side, which an edit that takes a
 * target's last-but-one forward away finds its counter still wanted by. */
#define EDIT_NEIGHBOURS 3

static void edit_clear(Edit *x)
{
	vw_state_free(x->st);
	vw_eng_edit_clear(&x->r);
	vw_doc_free(x->old_doc);
	vw_doc_free(x->new_doc);
	vw_doc_free(x->kept_doc);
	vw_plan_free(x->old_plan);
	vw_plan_free(x->new_plan);
	vw_plan_free(x->kept_plan);
}

/* Whether @xml (the record's) and the new XML are the same up to the end of
 * the first </name>: a network's name, which a document gives early. Only
 * a choice of record; the edit region proves that nothing but forwards
 * differs. */
static bool same_name(const char *xml, const VwEditRequest *q)
{
	const char *end = memmem(q->xml, q->len, "</name>", 7);
	gsize n = end ? (gsize)(end - q->xml) + 7 : 0;

	return n && strlen(xml) >= n && memcmp(xml, q->xml, n) == 0;
}

/* The record the edit is of: the one named, or the one of the network the
 * new XML names (another file of it is an edit of it too: the full path
 * would replace its record all the same). */
static bool edit_record(Edit *x)
{
	g_autoptr(GPtrArray) names = NULL;

	if (x->req->name)
		return vw_store_load(x->e->store, x->req->name, &x->st, NULL);
	names = vw_store_list(x->e->store);
	for (guint i = 0; i < names->len; i++) {
		g_autoptr(VwState) st = NULL;

		if (!vw_store_load(x->e->store, names->pdata[i], &st, NULL) || !st->xml || !same_name(st->xml, x->req))
			continue;
		if (x->st)
			return false;
		x->st = g_steal_pointer(&st);
	}
	return x->st != NULL;
}

/* The old XML is what the kernel holds (see above). */
static bool edit_current(Edit *x)
{
	guint32 have;

	return x->st->xml && x->st->id && !x->st->pending && (x->nft = vw_eng_nft(x->e, NULL)) &&
	       vw_nft_generation(x->nft, &have, NULL) && vw_store_gen_of(x->e->store, x->st->id, &x->gen) &&
	       have == x->gen && vw_eng_record_current(x->e, x->st, x->gen, false);
}

/* Every other recorded network is in the kernel as its record says (its
 * input digest recorded at the same generation): the keys found there are
 * then all the forwards the full path checks the edit against (a pending
 * or damaged record, one the generation record does not hold: the full
 * path's). */
static bool others_current(Edit *x)
{
	g_autoptr(GPtrArray) names = vw_store_list(x->e->store);

	for (guint i = 0; i < names->len; i++) {
		g_autoptr(VwState) st = NULL;

		if (strcmp(names->pdata[i], x->st->name) != 0 &&
		    (!vw_store_load(x->e->store, names->pdata[i], &st, NULL) ||
		     !vw_eng_record_current(x->e, st, x->gen, true)))
			return false;
	}
	return true;
}

/* At most the elements forward @sp plans: per family, per port a key, its
 * counter, a loopback twin and a key with an allow-list, and an entry per
 * source (each a '<'). A dash by a digit or a blank (a port range, or a
 * name), or a character reference, counts as the widest range. */
static guint64 forward_bound(const char *s, const VwByteSpan *sp)
{
	guint64 parts = 0;
	bool range = false;

	for (gsize i = sp->start; i < sp->end; i++) {
		if (s[i] == '<')
			parts++;
		else if (s[i] == '&' || (s[i] == '-' && (g_ascii_isdigit(s[i - 1]) || g_ascii_isspace(s[i - 1]) ||
							 g_ascii_isdigit(s[i + 1]) || g_ascii_isspace(s[i + 1]))))
			range = true;
	}
	return 2 * (4 * (range ? 65536 : 1) + parts);
}

/* The new XML within the limits the full path enforces on the whole: its
 * size, its forwards, their elements; and a forward left as it was, so the
 * network has forwards before and after (its rules depend on that). */
static bool edit_bounded(const Edit *x)
{
	guint64 elems = 0;

	if (x->req->len > VW_MAX_FILE_SIZE || x->r.new_all->len > VW_MAX_FORWARDS ||
	    x->r.new_all->len == x->r.new_fwds->len || x->r.old_all->len == x->r.old_fwds->len)
		return false;
	for (guint i = 0; i < x->r.new_all->len && elems <= VW_MAX_ELEMENTS_PER_NETWORK; i++)
		elems += forward_bound(x->req->xml, &g_array_index(x->r.new_all, VwByteSpan, i));
	return elems <= VW_MAX_ELEMENTS_PER_NETWORK;
}

/* The new XML with only the forwards @keep, parsed as the full path parses
 * it (findings into @d); NULL when it does not parse as the same network. */
static VwDoc *parse_new(Edit *x, const GArray *keep, VwDiags *d)
{
	const VwEditRequest *q = x->req;
	g_autoptr(GString) part = vw_eng_cut_forwards(q->xml, q->len, x->r.new_all, keep);
	g_autoptr(VwSchemas) schemas = q->schema ? vw_schemas_new(x->e->cfg.schema_dir) : NULL;
	VwDoc *doc = NULL;
	VwLoadStatus ok = q->libvirt ? vw_doc_load_libvirt(q->label, part->str, part->len, schemas, d, &doc)
				     : vw_doc_load_memory(q->label, part->str, part->len, schemas, d, &doc);

	if (ok != VW_LOAD_OK || !doc->network || g_strcmp0(doc->network->name, x->st->name) != 0) {
		vw_doc_free(doc);
		return NULL;
	}
	vw_eng_add_learned(x->e, doc->network);
	return doc;
}

/* @net planned alone (the host firewall setting applied); NULL on any
 * finding. */
static VwPlan *plan_alone(VwEngine *e, VwNetwork *net, VwDiags *d)
{
	g_autoptr(GPtrArray) nets = g_ptr_array_new();
	VwPlan *plan;

	g_ptr_array_add(nets, net);
	if (!vw_eng_hostfw_integrate(e, NULL) || !(plan = vw_plan_build(nets, NULL, d)))
		return NULL;
	vw_eng_plan_hostfw(e, plan);
	if (d->items->len)
		g_clear_pointer(&plan, vw_plan_free);
	return plan;
}

/* A name of a new forward is the only one: not in the rest of the document
 * (as bytes; a character reference there could spell it otherwise). */
static bool names_unique(const Edit *x)
{
	GPtrArray *fwds = vw_network_forwards(x->new_doc->network);
	const char *s = x->req->xml;
	gsize lo = x->r.lo, hi = x->r.new_end, len = x->req->len;

	for (guint i = 0; i < fwds->len; i++) {
		const char *name = ((const VwForward *)fwds->pdata[i])->name;
		gsize n = name ? strlen(name) : 0;

		if (!name)
			continue;
		if (!n || memchr(s, '&', lo) || memchr(s + hi, '&', len - hi) || memmem(s, lo, name, n) ||
		    memmem(s + hi, len - hi, name, n))
			return false;
	}
	return true;
}

/* The new forwards parsed, checked and planned, with no finding at all;
 * the ones they replace planned from the record. */
static bool edit_plan(Edit *x)
{
	g_autoptr(VwDiags) d = vw_diags_new();
	g_autoptr(VwDiags) old = vw_diags_new();
	g_autoptr(GPtrArray) docs = g_ptr_array_new();
	g_autoptr(GPtrArray) nets = g_ptr_array_new();

	if (!(x->new_doc = parse_new(x, x->r.new_fwds, d)) || d->items->len || !names_unique(x))
		return false;
	g_ptr_array_add(docs, x->new_doc);
	vw_check_docs(docs, d);
	if (d->items->len || !(x->new_plan = plan_alone(x->e, x->new_doc->network, d)))
		return false;
	g_ptr_array_add(nets, x->new_doc->network);
	vw_eng_warn_listeners(x->e, nets, NULL, true, d);
	if (d->items->len)
		return false;
	x->old_doc = vw_eng_parse_record_part(x->e, x->st, x->r.old_all, x->r.old_fwds);
	return x->old_doc && (x->old_plan = plan_alone(x->e, x->old_doc->network, old));
}

/* The forwards next to the edit, planned (for the counters they share). */
static bool plan_neighbours(Edit *x)
{
	g_autoptr(GArray) keep = g_array_new(FALSE, FALSE, sizeof(VwByteSpan));
	g_autoptr(VwDiags) d = vw_diags_new();
	const GArray *all = x->r.new_all;
	guint before = 0, after;

	while (before < all->len && g_array_index(all, VwByteSpan, before).end <= x->r.lo)
		before++;
	after = before + x->r.new_fwds->len;
	for (guint i = before > EDIT_NEIGHBOURS ? before - EDIT_NEIGHBOURS : 0; i < before; i++)
		g_array_append_val(keep, g_array_index(all, VwByteSpan, i));
	for (guint i = after; i < all->len && i < after + EDIT_NEIGHBOURS; i++)
		g_array_append_val(keep, g_array_index(all, VwByteSpan, i));
	return (x->kept_doc = parse_new(x, keep, d)) && (x->kept_plan = plan_alone(x->e, x->kept_doc->network, d));
}

/* Whether no forward the edit keeps can share a target's counter with those
 * it takes away: each of these has an IPv4 guest-address (which has one
 * text: inet_pton takes no other), and no forward kept holds that text, a
 * guest-mac (a reservation's or a learned address) or a character reference
 * (which could spell it otherwise); nor has the network ports (a domain's
 * forward may count on it). */
static bool targets_unshared(const Edit *x)
{
	GPtrArray *gone = vw_network_forwards(x->old_doc->network);
	g_autoptr(GPtrArray) texts = g_ptr_array_new_with_free_func(g_free);
	const char *s = x->req->xml;

	if (x->st->ports->len)
		return false;
	for (guint i = 0; i < gone->len; i++) {
		const VwForward *f = gone->pdata[i];
		char a[VW_ADDR_STRLEN];

		if (f->guest_addr.family != AF_INET)
			return false;
		g_ptr_array_add(texts, g_strdup(vw_addr_to_string(&f->guest_addr, a)));
	}
	for (guint i = 0; i < x->r.new_all->len; i++) {
		const VwByteSpan *sp = &g_array_index(x->r.new_all, VwByteSpan, i);
		gsize n = sp->end - sp->start;

		if (sp->start >= x->r.lo && sp->end <= x->r.new_end)
			continue;
		if (memchr(s + sp->start, '&', n) || memmem(s + sp->start, n, "guest-mac", 9))
			return false;
		for (guint j = 0; j < texts->len; j++)
			if (memmem(s + sp->start, n, texts->pdata[j], strlen(texts->pdata[j])))
				return false;
	}
	return true;
}

/* A name for what the kernel holds of the network after an edit: not any
 * plan's digest (a later full apply finds it different and reconciles),
 * but recorded, so the next call knows the kernel is as the record says. */
static char *edit_digest(const Edit *x, const VwNftResult *res)
{
	g_autofree char *s = g_strdup_printf("virtwire-edit %s %u %zu", x->st->id, res->gen_after, x->req->len);

	return g_compute_checksum_for_string(G_CHECKSUM_SHA256, s, -1);
}

/* After the commit: the generation record and the input digest of the new
 * XML (the next call with it is "unchanged"), the connections of forwards
 * taken away ended, the report. */
static VwApplyReport *edit_done(Edit *x, VwState *now, VwNftResult *res)
{
	g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) digests = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) inputs = g_ptr_array_new_with_free_func(g_free);
	VwApplyReport *rep = g_new0(VwApplyReport, 1);
	guint ended = 0;

	g_ptr_array_add(ids, g_strdup(x->st->id));
	if (res->messages) {
		g_ptr_array_add(digests, edit_digest(x, res));
		vw_store_gen_update(x->e->store, res, ids, res->have_gen ? digests : NULL);
	}
	g_ptr_array_add(inputs, vw_eng_input_digest(x->e, now, x->req->xml, x->req->len, NULL));
	if (res->have_gen)
		vw_store_gen_set_inputs(x->e->store, res->gen_after, ids, inputs);
	vw_eng_end_connections(x->e, res, &ended, NULL);
	vw_log_change(now->name, "forwards", "edited: %u element%s added, %u removed", res->elements_added,
		      res->elements_added == 1 ? "" : "s", res->elements_deleted);
	rep->name = g_strdup(now->name);
	rep->changes = g_ptr_array_new_with_free_func(g_free);
	rep->drift = res->elements_added + res->elements_deleted;
	rep->messages = res->messages;
	rep->unread = true;
	rep->connections = ended;
	return rep;
}

/* The record put back after the kernel refused is a new file: what it
 * digests to now, at the generation the kernel still holds (nothing was
 * committed), so the next call need not take the full path for that. */
static void input_again(const Edit *x)
{
	g_autoptr(GPtrArray) ids = g_ptr_array_new();
	g_autoptr(GPtrArray) inputs = g_ptr_array_new_with_free_func(g_free);

	g_ptr_array_add(ids, x->st->id);
	g_ptr_array_add(inputs, vw_eng_input_digest(x->e, x->st, x->st->xml, strlen(x->st->xml), NULL));
	vw_store_gen_set_inputs(x->e->store, x->gen, ids, inputs);
}

/* Record first (the new XML), kernel after, the record back if the kernel
 * refuses; NULL: nothing changed. */
static VwApplyReport *edit_commit(Edit *x, const char *recorded)
{
	g_autoptr(VwState) now = vw_state_copy(x->st);
	g_autoptr(VwNftResult) res = NULL;
	g_autoptr(GDateTime) t = g_date_time_new_now_utc();
	VwNftDelta rq = { x->st->id, x->gen, recorded, x->e->cfg.faults, .edit = true };
	bool undecided;

	/* The stages a test binary shows start here: "edit" names this path. */
	vw_eng_stage(x->e, "start");
	g_free(now->xml);
	now->xml = g_strndup(x->req->xml, x->req->len);
	g_free(now->source);
	now->source = g_strdup(x->req->source);
	g_free(now->applied);
	now->applied = g_date_time_format(t, "%Y-%m-%dT%H:%M:%SZ");
	if (!vw_store_save(x->e->store, now, NULL))
		return NULL;
	if (!vw_nft_delta(x->nft, x->new_plan, &rq, &res, &undecided, NULL)) {
		if (vw_store_save(x->e->store, x->st, NULL))
			input_again(x);
		return NULL;
	}
	vw_eng_stage(x->e, "edit");
	return edit_done(x, now, res);
}

/* The edit's delta, under the lock; NULL: the full path's. */
static VwApplyReport *edit_locked(Edit *x)
{
	g_autofree char *recorded = NULL;
	const VwEditRequest *q = x->req;

	if (!edit_record(x) || !edit_current(x) || !others_current(x) ||
	    !vw_eng_edit_region(x->st->xml, strlen(x->st->xml), q->xml, q->len, &x->r) || !edit_bounded(x) ||
	    !edit_plan(x))
		return NULL;
	recorded = vw_nft_edit_recorded(x->old_plan, x->new_plan, NULL, false, x->st->id);
	if (!recorded && plan_neighbours(x))
		recorded = vw_nft_edit_recorded(x->old_plan, x->new_plan, x->kept_plan, targets_unshared(x), x->st->id);
	return recorded ? edit_commit(x, recorded) : NULL;
}

VwApplyReport *vw_engine_edit(VwEngine *e, const VwEditRequest *req)
{
	Edit x = { e, req };
	VwApplyReport *rep;

	if (!req->source || !req->xml || !vw_eng_store(e, false, NULL) || !vw_eng_lock(e, NULL))
		return NULL;
	rep = edit_locked(&x);
	vw_eng_unlock(e);
	edit_clear(&x);
	return rep;
}
