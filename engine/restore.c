/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Restore: what the records say virtwire keeps in the kernel, put back after
 * someone else flushed or reloaded the ruleset (nftables.service, firewalld,
 * Docker), by `virtwire restore`, the daemon hook and virtwire watch. Links
 * are left alone: nobody's firewall reload removes a bridge.
 *
 * Nothing missing, nothing sent: every step compares first, and the
 * firewall step trusts the generation record (state/gen.c) when the ruleset
 * has not moved since virtwire made it so, without reading it back. When
 * no input moved either, nothing is even parsed (engine/unchanged.c).
 */
#include <string.h>

#include "engine-private.h"

VwRestoreReport *vw_restore_report_new(void)
{
	VwRestoreReport *r = g_new0(VwRestoreReport, 1);

	r->changes = g_ptr_array_new_with_free_func(g_free);
	r->diags = vw_diags_new();
	return r;
}

void vw_restore_report_free(VwRestoreReport *r)
{
	if (!r)
		return;
	g_ptr_array_unref(r->changes);
	vw_diags_free(r->diags);
	g_free(r);
}

/* Adds one apply's reports: one transaction for every network, so its
 * messages count once. */
static void fold_reports(VwRestoreReport *rep, GPtrArray *reports)
{
	rep->unread = reports->len > 0;
	for (guint i = 0; i < reports->len; i++) {
		const VwApplyReport *r = reports->pdata[i];

		rep->drift += r->drift;
		rep->messages = MAX(rep->messages, r->messages);
		rep->unread = rep->unread && r->unread;
		for (guint j = 0; j < r->changes->len; j++)
			g_ptr_array_add(rep->changes,
					g_strdup_printf("network '%s': %s", r->name, (char *)r->changes->pdata[j]));
	}
}

/* Table inet virtwire and virtwire's rules in other tables: every recorded
 * network applied again with its links left alone, in one transaction. */
static bool restore_firewall(VwEngine *e, GPtrArray *recorded, VwRestoreReport *rep, GError **error)
{
	g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) reports = g_ptr_array_new_with_free_func((GDestroyNotify)vw_apply_report_free);
	g_autoptr(VwDiags) diags = vw_diags_new();
	VwApplyRequest req = { .items = items, .links = VW_LINKS_SKIP, .checked = false };

	for (guint i = 0; i < recorded->len; i++) {
		const VwRecorded *r = recorded->pdata[i];
		VwApplyItem *it = g_new0(VwApplyItem, 1);

		it->network = r->doc->network;
		it->xml = r->st->xml;
		it->source = r->st->source;
		g_ptr_array_add(items, it);
	}
	if (!items->len)
		return true;
	if (!vw_engine_apply(e, &req, reports, diags, error)) {
		if (vw_diags_has_errors(diags)) {
			g_autofree char *t = vw_diags_format_text(diags);

			g_prefix_error(error, "%s: ", g_strchomp(t));
		}
		return false;
	}
	fold_reports(rep, reports);
	return true;
}

typedef bool (*RestoreFn)(VwEngine *e, GPtrArray *recorded, VwRestoreReport *rep, GError **error);

/*
 * What restore puts back, in order. Each step re-asserts one part of what
 * the records say virtwire keeps in the kernel, and sends nothing when that
 * part is all there. The table and virtwire's rules in libvirt's tables are
 * one step: apply's firewall stage, one transaction. Integrations with host
 * firewalls that live outside that transaction add their step here, after
 * it; apply's firewall stage already keeps the rules in Docker's and ufw's
 * chains (in its transaction) and binds the bridges to firewalld's zone
 * (after it).
 */
static const struct {
	const char *what;
	RestoreFn fn;
} steps[] = {
	{ "virtwire's tables, its rules in libvirt's and the host firewalls' chains, and firewalld's zone",
	  restore_firewall },
};

static bool restore_locked(VwEngine *e, VwRestoreReport *rep, GError **error)
{
	g_autoptr(GPtrArray) recorded = NULL;

	/* Nothing moved since virtwire's own last commit: nothing to parse,
	 * plan or send (engine/unchanged.c). */
	if (vw_eng_restore_unchanged(e, rep))
		return true;
	/* A record that cannot be used is left out (and said): the others
	 * are restored all the same. */
	recorded = vw_eng_load_recorded(e, NULL, rep->diags);
	rep->networks = recorded->len;
	vw_eng_stage(e, "restore-read");
	for (size_t i = 0; i < G_N_ELEMENTS(steps); i++) {
		if (!steps[i].fn(e, recorded, rep, error)) {
			g_prefix_error(error, "re-asserting %s for the recorded networks failed: ", steps[i].what);
			return false;
		}
	}
	return true;
}

bool vw_engine_restore(VwEngine *e, VwRestoreReport *rep, GError **error)
{
	g_autoptr(VwRestoreReport) own = NULL;
	g_autoptr(GError) err = NULL;
	bool ok;

	if (!rep)
		rep = own = vw_restore_report_new();
	if (!vw_eng_store(e, false, &err)) {
		if (g_error_matches(err, VW_ERROR, VW_ERROR_NOT_FOUND))
			return true; /* nothing was ever applied */
		/* A directory that is not safe to use says so. */
		g_propagate_error(error, g_steal_pointer(&err));
		return false;
	}
	/* The records are read and re-asserted under one hold of the lock: a
	 * teardown in between would otherwise be undone by a re-assert of
	 * records it had removed. */
	if (!vw_eng_lock(e, error))
		return false;
	ok = restore_locked(e, rep, error);
	vw_eng_unlock(e);
	return ok;
}

/* ---------------------------------------------------------------------- */
/* Re-assert */

bool vw_engine_reassert(VwEngine *e, GError **error)
{
	return vw_engine_restore(e, NULL, error);
}
