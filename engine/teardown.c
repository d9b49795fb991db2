/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Teardown, as named steps: lock → what each name owns (its record, or the
 * kernel's markers with --from) → the firewall in one transaction → links
 * and sysctls, each only where the kernel proves it virtwire's → records.
 */
#include <string.h>

#include "engine-private.h"

typedef struct {
	char *name;
	char *id;
	VwState *st;  /* the record, or what the kernel shows (--from) */
	bool derived; /* no usable record: torn down from the XML */
	VwApplyReport *rep;
} Going;

typedef struct {
	VwEngine *e;
	const VwTeardownRequest *req;
	GPtrArray *reports;
	GPtrArray *going; /* Going* */
	GPtrArray *scope; /* char* */
	VwNftResult *res;
	GError *ct_error; /* ending the connections of its forwards failed */
} Teardown;

static void going_free(Going *g)
{
	g_free(g->name);
	g_free(g->id);
	vw_state_free(g->st);
	g_free(g);
}

static const VwNetwork *from_xml(const VwTeardownRequest *req, const char *name)
{
	for (guint i = 0; req->from && i < req->from->len; i++)
		if (g_strcmp0(((VwNetwork *)req->from->pdata[i])->name, name) == 0)
			return req->from->pdata[i];
	return NULL;
}

static Going *going_new(Teardown *t, const char *name)
{
	Going *g = g_new0(Going, 1);

	g->name = g_strdup(name);
	g->rep = g_new0(VwApplyReport, 1);
	g->rep->name = g_strdup(name);
	g->rep->changes = g_ptr_array_new_with_free_func(g_free);
	g_ptr_array_add(t->going, g);
	return g;
}

/* A record written before an apply that did not finish: the bridge the
 * kernel shows as virtwire's is virtwire's too. */
static void complete_pending(Teardown *t, Going *g)
{
	g_autoptr(GError) err = NULL;
	g_autoptr(VwDoc) doc = vw_eng_parse_record(t->e, g->st, &err);
	g_autofree char *note = NULL;
	g_autoptr(VwState) k = NULL;

	if (!doc)
		return;
	k = vw_eng_links_from_kernel(t->e, doc->network, g->id, &note);
	for (guint i = 0; i < k->links->len; i++) {
		const VwStateLink *l = k->links->pdata[i];

		if (strcmp(l->kind, "bridge") == 0)
			vw_state_add_link(g->st, l->kind, l->object, true, l->extra);
	}
}

/* Every name must be known before anything changes. */
static bool step_resolve(Teardown *t, GError **error)
{
	for (char **n = t->req->names; n && *n; n++) {
		g_autoptr(GError) err = NULL;
		const VwNetwork *from = from_xml(t->req, *n);
		Going *g = going_new(t, *n);
		g_autofree char *note = NULL;

		if (vw_store_load(t->e->store, *n, &g->st, &err)) {
			g->id = g_strdup(g->st->id);
			if (g->st->pending)
				complete_pending(t, g);
		} else if (!from) {
			if (g_error_matches(err, VW_ERROR, VW_ERROR_STATE))
				g_set_error(
					error, VW_ERROR, VW_ERROR_STATE,
					"%s; nothing was changed: give the network's XML with --from FILE to tear it "
					"down without its record",
					err->message);
			else
				g_propagate_error(error, g_steal_pointer(&err));
			return false;
		} else {
			/* No usable record: derived from the XML; only what the
			 * kernel shows to be virtwire's goes. */
			g->derived = true;
			g->id = vw_plan_network_id(from->name);
			g->st = vw_eng_links_from_kernel(t->e, from, g->id, &note);
			g_ptr_array_add(g->rep->changes,
					g_strdup("no usable record: torn down from the XML given with --from"));
			if (note)
				g_ptr_array_add(g->rep->changes, g_steal_pointer(&note));
		}
		g_ptr_array_add(t->scope, vw_eng_scope_of(g->id));
	}
	return true;
}

/* The table stays while a remaining network needs it. */
static bool step_firewall(Teardown *t, GError **error)
{
	g_autoptr(GHashTable) going = g_hash_table_new(g_str_hash, g_str_equal);
	g_autoptr(GPtrArray) others = NULL;
	g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(VwPlan) plan = NULL;
	const VwNftBackend *nft = vw_eng_nft(t->e, error);
	VwNftRequest rq = { t->scope, VW_NFT_DELETE_TABLE | VW_NFT_RELEASED, NULL, NULL, t->e->cfg.faults };
	guint ended;

	if (!nft)
		return false;
	for (guint i = 0; i < t->going->len; i++) {
		const Going *g = t->going->pdata[i];

		g_hash_table_add(going, g->name);
		g_ptr_array_add(ids, g_strdup(g->id));
	}
	others = vw_eng_load_recorded(t->e, going, NULL);
	for (guint i = 0; i < others->len; i++) {
		if (vw_plan_network_uses_table(((VwRecorded *)others->pdata[i])->doc->network)) {
			plan = vw_plan_skeleton();
			rq.flags = VW_NFT_RELEASED;
			break;
		}
	}
	if (!plan)
		plan = vw_plan_new();
	vw_eng_plan_hostfw(t->e, plan);
	if (!vw_nft_reconcile(nft, plan, &rq, &t->res, error))
		return false;
	vw_store_gen_update(t->e->store, t->res, ids, NULL);
	/* The networks' forwards are gone: so are their connections. */
	vw_eng_end_connections(t->e, t->res, &ended, &t->ct_error);
	return true;
}

/* Links after the firewall (no rule refers to a bridge that is gone):
 * what virtwire created goes, where the kernel proves it; then the sysctls
 * it changed, unless someone changed them again since. Forwarding stays on
 * (libvirt leaves it too). */
static void links_and_sysctls(Teardown *t, Going *g, const VwLinkBackend *be)
{
	g_autoptr(GError) err = NULL;
	g_autoptr(GPtrArray) undone = g_ptr_array_new_with_free_func(g_free);

	g->rep->messages = t->res->messages;
	g->rep->drift = t->res->drift->len;
	vw_eng_report_connections(g->rep, t->res, vw_eng_connections_of(t->res, g->id), t->ct_error);
	vw_eng_hostfw_teardown(t->e, g->st, g->rep->changes);
	if (!vw_link_undo(be, g->id, g->st->links, true, g->rep->changes, undone, &err))
		g_ptr_array_add(g->rep->changes, g_strdup_printf("warning: %s", err->message));
	for (guint j = 0; j < undone->len; j++)
		vw_log_change(g->name, undone->pdata[j], "undone (virtwire made it)");
	for (guint j = 0; j < g->st->sysctls->len; j++) {
		const VwStateSysctl *s = g->st->sysctls->pdata[j];
		g_autofree char *cur = NULL;

		if (!s->revert)
			continue;
		if (!vw_sysctl_is_virtwires(s->path)) {
			g_ptr_array_add(g->rep->changes,
					g_strdup_printf("sysctl %s is not one virtwire sets: left as it is", s->path));
			continue;
		}
		if (be->sysctl_get(be->ctx, s->path, &cur) == 0 && strcmp(cur, s->new_value) == 0 &&
		    be->sysctl_set(be->ctx, s->path, s->old_value) == 0) {
			g_autofree char *obj = g_strdup_printf("sysctl %s", s->path);

			g->rep->sysctls++;
			vw_log_change(g->name, obj, "%s → %s (as it was)", s->new_value, s->old_value);
		}
	}
	if (g->derived)
		g_ptr_array_add(g->rep->changes,
				g_strdup("sysctls virtwire may have changed are left as they are (their old values "
					 "were in the record)"));
}

static bool step_links(Teardown *t, GError **error)
{
	const VwLinkBackend *be = vw_eng_links(t->e, error);

	if (!be)
		return false;
	for (guint i = 0; i < t->going->len; i++) {
		Going *g = t->going->pdata[i];

		links_and_sysctls(t, g, be);
		if (!vw_store_remove(t->e->store, g->name, error))
			return false;
	}
	return true;
}

bool vw_engine_teardown(VwEngine *e, const VwTeardownRequest *req, GPtrArray *reports, GError **error)
{
	Teardown t = {
		.e = e,
		.req = req,
		.reports = reports,
		.going = g_ptr_array_new_with_free_func((GDestroyNotify)going_free),
		.scope = g_ptr_array_new_with_free_func(g_free),
	};
	bool locked = false, ok;
	g_autoptr(GError) none = NULL;

	/* No state directory and no XML to go by: every name is unknown, said
	 * without making the directory (the lock would). */
	if ((!req->from || !req->from->len) && req->names && req->names[0] && !vw_eng_store(e, false, &none)) {
		if (g_error_matches(none, VW_ERROR, VW_ERROR_NOT_FOUND))
			g_set_error(error, VW_ERROR, VW_ERROR_NOT_FOUND, "network '%s' has no record: %s",
				    req->names[0], none->message);
		else
			g_propagate_error(error, g_steal_pointer(&none));
		g_ptr_array_unref(t.going);
		g_ptr_array_unref(t.scope);
		return false;
	}
	ok = (locked = vw_eng_lock(e, error)) && step_resolve(&t, error) && step_firewall(&t, error) &&
	     step_links(&t, error);
	for (guint i = 0; i < t.going->len; i++) {
		Going *g = t.going->pdata[i];

		if (ok) {
			for (guint j = 0; i == 0 && t.res && j < t.res->drift->len; j++) {
				const VwDrift *d = t.res->drift->pdata[j];

				/* One transaction for all of them. */
				vw_log_change(t.going->len == 1 ? g->name : NULL, d->object, "removed: %s", d->what);
			}
			vw_eng_log_changes(g->rep->name, g->rep->changes);
			g_ptr_array_add(reports, g_steal_pointer(&g->rep));
		} else
			vw_apply_report_free(g->rep);
	}
	if (locked)
		vw_eng_unlock(e);
	g_ptr_array_unref(t.going);
	g_ptr_array_unref(t.scope);
	vw_nft_result_free(t.res);
	g_clear_error(&t.ct_error);
	return ok;
}
