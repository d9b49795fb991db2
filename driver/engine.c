/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <string.h>
#include <time.h>

#include <virtwire/check.h>
#include <virtwire/engine.h>
#include <virtwire/plan.h>
#include <virtwire/state.h>
#include <virtwire/xml.h>

#include "plan-private.h"

void vw_apply_report_free(VwApplyReport *r)
{
	if (!r)
		return;
	g_free(r->name);
	if (r->changes)
		g_ptr_array_unref(r->changes);
	g_free(r);
}

static char *now_iso(void)
{
	g_autoptr(GDateTime) t = g_date_time_new_now_utc();

	return g_date_time_format(t, "%Y-%m-%dT%H:%M:%SZ");
}

/* The recorded networks other than @skip, parsed from their XML copies. A
 * record that cannot be read is reported as a warning and left out. */
static void load_others(const char *dir, GHashTable *skip, GPtrArray *docs, GPtrArray *states, VwDiags *diags)
{
	g_autoptr(GPtrArray) names = vw_state_list(dir);

	for (guint i = 0; i < names->len; i++) {
		const char *name = names->pdata[i];
		g_autoptr(GError) err = NULL;
		VwState *st = NULL;
		VwDoc *doc = NULL;
		g_autofree char *path = NULL;

		if (g_hash_table_contains(skip, name))
			continue;
		if (!vw_state_load(dir, name, &st, &err)) {
			vw_warning(diags, vw_loc(NULL, 0), "state-unreadable", NULL,
				   "the record of network '%s' is unreadable, so it was not checked against: %s", name,
				   err->message);
			continue;
		}
		path = vw_state_xml_path(dir, name);
		if (vw_doc_load_memory(path, st->xml, strlen(st->xml), NULL, diags, &doc) != VW_LOAD_OK ||
		    !doc->network) {
			vw_doc_free(doc);
			vw_state_free(st);
			continue;
		}
		g_ptr_array_add(docs, doc);
		g_ptr_array_add(states, st);
	}
}

/* Sysctls the plan needs: set, remembering the old values in @st. */
static bool apply_sysctls(const VwPlan *plan, const char *owner, VwState *st, GPtrArray *undo, guint *changed,
			  GError **error)
{
	for (guint i = 0; i < plan->sysctls->len; i++) {
		const VwSysctl *s = plan->sysctls->pdata[i];
		g_autofree char *old = NULL;

		if (g_strcmp0(s->owner, owner) != 0)
			continue;
		if (!vw_sysctl_read(s->path, &old, error))
			return false;
		if (strcmp(old, s->value) != 0) {
			if (!vw_sysctl_write(s->path, s->value, error))
				return false;
			g_ptr_array_add(undo, vw_state_add_sysctl(st, s->path, old, s->value, s->revert));
			(*changed)++;
		} else if (s->revert) {
			/* Already so: still ours to restore only if we set it
			 * before (the previous record says). */
			vw_state_add_sysctl(st, s->path, old, s->value, false);
		}
	}
	return true;
}

static bool any_uses_table(GPtrArray *docs)
{
	for (guint i = 0; i < docs->len; i++)
		if (vw_plan_network_uses_table(((VwDoc *)docs->pdata[i])->network))
			return true;
	return false;
}

/*
 * Reconciles the table for @scope. A plan without a table (the networks
 * need none) still removes what the scope had; and the table itself goes
 * when no network left needs it, or is never created for nothing.
 */
static bool reconcile_scope(const VwPlan *plan, GPtrArray *scope, bool others_need, VwNftResult **res,
			    GError **error)
{
	if (plan->sets->len)
		return vw_nft_reconcile(plan, scope, 0, res, error);
	if (!others_need)
		return vw_nft_reconcile(NULL, NULL, VW_NFT_DELETE_TABLE, res, error);
	{
		g_autoptr(VwPlan) skeleton = vw_plan_skeleton();

		return vw_nft_reconcile(skeleton, scope, 0, res, error);
	}
}

static void undo_sysctls(GPtrArray *undo)
{
	for (guint i = undo->len; i-- > 0;) {
		const VwStateSysctl *s = undo->pdata[i];

		vw_sysctl_write(s->path, s->old_value, NULL);
	}
}

/* Restores a sysctl virtwire set, unless someone changed it since. */
static bool restore_sysctl(const VwStateSysctl *s)
{
	g_autofree char *cur = NULL;

	if (!s->revert || !vw_sysctl_read(s->path, &cur, NULL) || strcmp(cur, s->new_value) != 0)
		return false;
	return vw_sysctl_write(s->path, s->old_value, NULL);
}

/* Carries over what an earlier apply recorded: a sysctl still needed keeps
 * the value from before virtwire (for teardown); one no longer needed is
 * restored now. */
static void merge_earlier_sysctls(const VwState *prev, VwState *st, guint *changed)
{
	for (guint i = 0; prev && i < prev->sysctls->len; i++) {
		const VwStateSysctl *p = prev->sysctls->pdata[i];
		bool still = false;

		for (guint j = 0; j < st->sysctls->len; j++) {
			VwStateSysctl *s = st->sysctls->pdata[j];

			if (strcmp(s->path, p->path) == 0) {
				g_free(s->old_value);
				s->old_value = g_strdup(p->old_value);
				s->revert = p->revert;
				still = true;
			}
		}
		if (!still && restore_sysctl(p))
			(*changed)++;
	}
}

bool vw_engine_apply(const VwApplyRequest *req, GPtrArray *reports, VwDiags *diags, GError **error)
{
	const char *dir = req->state_dir;
	g_autoptr(GHashTable) given = g_hash_table_new(g_str_hash, g_str_equal);
	g_autoptr(GPtrArray) other_docs = g_ptr_array_new_with_free_func((GDestroyNotify)vw_doc_free);
	g_autoptr(GPtrArray) other_states = g_ptr_array_new_with_free_func((GDestroyNotify)vw_state_free);
	g_autoptr(GPtrArray) all = g_ptr_array_new();
	g_autoptr(GPtrArray) nets = g_ptr_array_new();
	g_autoptr(GPtrArray) doms = g_ptr_array_new();
	g_autoptr(GPtrArray) scope = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) states = g_ptr_array_new_with_free_func((GDestroyNotify)vw_state_free);
	g_autoptr(GPtrArray) undo = g_ptr_array_new();
	g_autoptr(VwPlan) plan = NULL;
	g_autoptr(VwNftResult) res = NULL;
	g_autoptr(GError) err = NULL;
	g_autofree char *now = now_iso();
	guint errors = vw_diags_count(diags, VW_SEV_ERROR);
	int lock;
	bool ok = false;

	lock = vw_state_lock(dir, req->lock_timeout_ms, error);
	if (lock < 0)
		return false;

	for (guint i = 0; i < req->items->len; i++) {
		const VwApplyItem *it = req->items->pdata[i];

		g_hash_table_add(given, it->network->name);
		g_ptr_array_add(nets, (gpointer)it->network);
	}
	/* Networks applied earlier are checked against: a forward or a
	 * subnet of theirs must not be claimed again. They come first, so a
	 * conflict is reported on the network being applied. */
	load_others(dir, given, other_docs, other_states, diags);
	for (guint i = 0; i < other_docs->len; i++)
		g_ptr_array_add(all, ((VwDoc *)other_docs->pdata[i])->network);
	for (guint i = 0; i < nets->len; i++)
		g_ptr_array_add(all, nets->pdata[i]);
	if (other_docs->len) {
		g_autoptr(VwDiags) together = vw_diags_new();

		vw_check_together(all, NULL, together);
		for (guint i = 0; i < together->items->len; i++) {
			VwDiag *d = together->items->pdata[i];

			vw_diags_add(diags, d->loc, d->severity, d->code, d->hint, "%s", d->message);
		}
	}
	if (vw_diags_count(diags, VW_SEV_ERROR) > errors)
		goto out;

	for (guint i = 0; req->domains && i < req->domains->len; i++)
		g_ptr_array_add(doms, req->domains->pdata[i]);
	plan = vw_plan_build(nets, doms, diags);
	if (!plan)
		goto out;

	for (guint i = 0; i < req->items->len; i++) {
		const VwApplyItem *it = req->items->pdata[i];
		const VwNetwork *n = it->network;
		g_autofree char *id = vw_plan_network_id(n->name);
		g_autoptr(VwState) prev = NULL;
		VwState *st = vw_state_new(n->name);
		VwApplyReport *rep = g_new0(VwApplyReport, 1);

		rep->name = g_strdup(n->name);
		g_ptr_array_add(reports, rep);
		g_ptr_array_add(states, st);
		st->id = g_strdup(id);
		st->applied = g_strdup(now);
		st->source = g_strdup(it->source);
		st->bridge = g_strdup(n->bridge);
		st->mode = g_strdup(vw_mode_to_string(vw_network_effective_mode(n)));
		st->xml = g_strdup(it->xml);
		g_ptr_array_add(scope, g_strdup_printf("%s:*", id));
		vw_state_load(dir, n->name, &prev, NULL);
		if (!apply_sysctls(plan, id, st, undo, &rep->sysctls, error))
			goto rollback;
		merge_earlier_sysctls(prev, st, &rep->sysctls);
	}

	if (!reconcile_scope(plan, scope, any_uses_table(other_docs), &res, &err)) {
		if (!g_error_matches(err, VW_ERROR, VW_ERROR_INCOMPATIBLE)) {
			g_propagate_error(error, g_steal_pointer(&err));
			goto rollback;
		}
		/* A table of another layout: rebuild it, with every recorded
		 * network, in one batch. */
		g_clear_error(&err);
		g_clear_pointer(&plan, vw_plan_free);
		plan = vw_plan_build(all, doms, diags);
		if (!plan)
			goto rollback;
		for (guint i = 0; i < other_states->len; i++)
			g_ptr_array_add(scope, g_strdup_printf("%s:*", ((VwState *)other_states->pdata[i])->id));
		if (!vw_nft_reconcile(plan, scope, VW_NFT_REBUILD, &res, error))
			goto rollback;
	}
	for (guint i = 0; i < reports->len; i++) {
		VwApplyReport *rep = reports->pdata[i];

		rep->drift = res->drift->len;
		rep->messages = res->messages;
		rep->changes = g_ptr_array_new_with_free_func(g_free);
		for (guint j = 0; j < res->drift->len; j++) {
			const VwDrift *d = res->drift->pdata[j];

			g_ptr_array_add(rep->changes, g_strdup_printf("%s: %s", d->object, d->what));
		}
	}
	for (guint i = 0; i < states->len; i++) {
		if (!vw_state_save(dir, states->pdata[i], error)) {
			/* The kernel has the network; the record failed. Say
			 * so rather than undo a working network. */
			g_prefix_error(error, "network applied, but its state could not be recorded: ");
			goto out;
		}
	}
	ok = true;
	goto out;
rollback:
	undo_sysctls(undo);
out:
	vw_state_unlock(lock);
	return ok;
}

bool vw_engine_teardown(const char *dir, char **names, guint lock_timeout_ms, GPtrArray *reports, GError **error)
{
	g_autoptr(GPtrArray) states = g_ptr_array_new_with_free_func((GDestroyNotify)vw_state_free);
	g_autoptr(GPtrArray) scope = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GHashTable) going = g_hash_table_new(g_str_hash, g_str_equal);
	g_autoptr(GPtrArray) other_docs = g_ptr_array_new_with_free_func((GDestroyNotify)vw_doc_free);
	g_autoptr(GPtrArray) other_states = g_ptr_array_new_with_free_func((GDestroyNotify)vw_state_free);
	g_autoptr(VwDiags) ignored = vw_diags_new();
	g_autoptr(VwNftResult) res = NULL;
	g_autoptr(VwPlan) nothing = vw_plan_new();
	int lock;
	bool ok = false;

	lock = vw_state_lock(dir, lock_timeout_ms, error);
	if (lock < 0)
		return false;
	/* Every name must be known before anything changes. */
	for (char **n = names; *n; n++) {
		VwState *st = NULL;

		if (!vw_state_load(dir, *n, &st, error))
			goto out;
		g_ptr_array_add(states, st);
		g_hash_table_add(going, st->name);
		g_ptr_array_add(scope, g_strdup_printf("%s:*", st->id));
	}
	/* The table stays while a remaining network needs it. */
	load_others(dir, going, other_docs, other_states, ignored);
	if (!reconcile_scope(nothing, scope, any_uses_table(other_docs), &res, error))
		goto out;

	for (guint i = 0; i < states->len; i++) {
		const VwState *st = states->pdata[i];
		VwApplyReport *rep = g_new0(VwApplyReport, 1);

		rep->name = g_strdup(st->name);
		rep->messages = res->messages;
		rep->drift = res->drift->len;
		g_ptr_array_add(reports, rep);
		/* Restore what virtwire changed, unless someone changed it
		 * again since. Forwarding stays on (libvirt leaves it too). */
		for (guint j = 0; j < st->sysctls->len; j++)
			if (restore_sysctl(st->sysctls->pdata[j]))
				rep->sysctls++;
		if (!vw_state_remove(dir, st->name, error))
			goto out;
	}
	ok = true;
out:
	vw_state_unlock(lock);
	return ok;
}
