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
	*ret = r;
	return true;
}
