/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Apply, as a sequence of named steps with one way back:
 *
 *   lock → previous records → check against the recorded networks → plan
 *   → intent recorded → links → sysctls → result recorded → firewall
 *   → stale links
 *
 * The record of what is about to be applied is on disk before the kernel
 * changes, so no network is ever applied but unrecorded; the firewall's one
 * transaction comes last, so a failure anywhere before it (a record that
 * cannot be written included) undoes this apply's links and sysctls and
 * puts the previous records back.
 */
#include <string.h>

#include "engine-private.h"

typedef struct {
	const VwApplyItem *item;
	char *id;
	VwState *prev; /* the record before this apply, or NULL */
	VwState *st;   /* the new record */
	VwApplyReport *rep;
	GPtrArray *undo;    /* VwStateLink* this apply created (owned by st) */
	char *input_before; /* the input digest recorded before this apply */
	char *xml;	    /* the text given; NULL once let go (step_record) */
	bool xml_owned;	    /* the request handed it over (VwApplyItem.xml_handed) */
	bool prev_on_disk;  /* prev was read from the state directory */
	bool written;	    /* a record of this apply is on disk */
} Net;

typedef struct {
	VwEngine *e;
	const VwApplyRequest *req;
	VwDiags *diags;
	GPtrArray *reports;
	guint errors;
	char *now;
	GPtrArray *nets;       /* Net* */
	GPtrArray *others;     /* VwRecorded*: the other recorded networks */
	GPtrArray *port_docs;  /* VwDoc*: the domains of recorded ports */
	GPtrArray *doms;       /* VwPlanDomain* (those of the request are not owned) */
	GPtrArray *owned_doms; /* VwPlanDomain* of recorded ports */
	VwPlan *plan;
	GPtrArray *sysctl_undo; /* VwStateSysctl* set by this apply */
	guint sysctls_changed;
	VwNftResult *res;
	guint connections; /* ended: their forward went away */
	bool unread;	   /* the generation record showed the firewall as planned */
} Apply;

static void net_free(Net *n)
{
	/* The record's XML is the request's text (net_new), not a copy. */
	if (n->st && n->st->xml == n->xml)
		n->st->xml = NULL;
	if (n->xml_owned)
		g_free(n->xml);
	g_free(n->id);
	g_free(n->input_before);
	vw_state_free(n->prev);
	vw_state_free(n->st);
	g_ptr_array_unref(n->undo);
	g_free(n);
}

static char *now_iso(void)
{
	g_autoptr(GDateTime) t = g_date_time_new_now_utc();

	return g_date_time_format(t, "%Y-%m-%dT%H:%M:%SZ");
}

static bool invalid(Apply *a, GError **error)
{
	guint n = vw_diags_count(a->diags, VW_SEV_ERROR) - a->errors;

	g_set_error(error, VW_ERROR, VW_ERROR_INVALID, "%u error%s in the input", n, n == 1 ? "" : "s");
	return false;
}

/* ---------------------------------------------------------------------- */
/* Previous records */

/* The way out of a network the kernel has but the records do not. */
static bool unrecorded(const char *name, const char *dir, const char *why, GError **error)
{
	g_set_error(error, VW_ERROR, VW_ERROR_STATE,
		    "network '%s' %s; virtwire will not guess what it created: tear it down with 'virtwire teardown "
		    "--state-dir %s --from FILE %s' (FILE: its XML), or take it over as it is with 'virtwire apply "
		    "--adopt'",
		    name, why, dir, name);
	return false;
}

/* A record written before an apply that did not finish: what the kernel
 * shows as virtwire's (its marked bridge) is virtwire's too. */
static void complete_pending(Apply *a, Net *n)
{
	g_autofree char *note = NULL;
	g_autoptr(VwState) k = vw_eng_links_from_kernel(a->e, n->item->network, n->id, &note);

	for (guint i = 0; i < k->links->len; i++) {
		const VwStateLink *l = k->links->pdata[i];
		bool have = false;

		for (guint j = 0; j < n->prev->links->len && !have; j++) {
			const VwStateLink *p = n->prev->links->pdata[j];

			have = strcmp(p->kind, l->kind) == 0 && strcmp(p->object, l->object) == 0 &&
			       g_strcmp0(p->extra, l->extra) == 0;
		}
		if (!have)
			vw_state_add_link(n->prev, l->kind, l->object, true, l->extra);
	}
}

static bool previous_of(Apply *a, Net *n, GError **error)
{
	const VwNetwork *net = n->item->network;
	const char *dir = vw_engine_state_dir(a->e);
	g_autoptr(GError) err = NULL;
	g_autofree char *what = NULL;
	g_autofree char *note = NULL;

	if (vw_store_load(a->e->store, net->name, &n->prev, &err)) {
		n->prev_on_disk = true;
		if (n->prev->pending)
			complete_pending(a, n);
		return true;
	}
	if (g_error_matches(err, VW_ERROR, VW_ERROR_NOT_FOUND)) {
		if (!vw_eng_in_kernel(a->e, n->id, net->bridge, &what, error))
			return false;
		if (!what)
			return true; /* a new network */
	} else if (!g_error_matches(err, VW_ERROR, VW_ERROR_STATE)) {
		g_propagate_error(error, g_steal_pointer(&err));
		return false;
	}
	if (!a->req->adopt) {
		g_autofree char *why = what ? g_strdup_printf("has no record in %s, but %s", dir, what)
					    : g_strdup_printf("has an unusable record (%s)", err->message);

		return unrecorded(net->name, dir, why, error);
	}
	/* Adopted: what the kernel shows as virtwire's is taken over. */
	n->prev = vw_eng_links_from_kernel(a->e, net, n->id, &note);
	return true;
}

static Net *net_new(Apply *a, const VwApplyItem *it)
{
	Net *n = g_new0(Net, 1);
	const VwNetwork *net = it->network;

	n->item = it;
	n->id = vw_plan_network_id(net->name);
	n->undo = g_ptr_array_new();
	n->st = vw_state_new(net->name);
	n->st->id = g_strdup(n->id);
	n->st->applied = g_strdup(a->now);
	n->st->source = g_strdup(it->source);
	n->st->bridge = g_strdup(net->bridge);
	n->st->mode = g_strdup(vw_mode_to_string(vw_network_effective_mode(net)));
	/* Borrowed (net_free gives it back): 100,000 forwards are 11 MB of
	 * XML, which the record writes as it is. */
	n->xml = (char *)it->xml;
	n->xml_owned = it->xml_handed;
	n->st->xml = n->xml;
	n->rep = g_new0(VwApplyReport, 1);
	n->rep->name = g_strdup(net->name);
	n->rep->changes = g_ptr_array_new_with_free_func(g_free);
	g_ptr_array_add(a->reports, n->rep);
	return n;
}

static bool step_previous(Apply *a, GError **error)
{
	for (guint i = 0; i < a->req->items->len; i++) {
		Net *n = net_new(a, a->req->items->pdata[i]);

		g_ptr_array_add(a->nets, n);
		if (!previous_of(a, n, error))
			return false;
		if (a->req->links == VW_LINKS_SKIP)
			n->input_before = vw_store_gen_input(a->e->store, n->id);
		/* The ports libvirt plugged keep their domain forwards. */
		for (guint j = 0; n->prev && j < n->prev->ports->len; j++) {
			const VwStatePort *p = n->prev->ports->pdata[j];

			vw_state_add_port(n->st, p->uuid, p->domain_uuid, p->mac);
		}
		/* Links left alone (a re-assert) stay recorded as they were:
		 * teardown still removes what an earlier apply created. */
		for (guint j = 0; n->prev && a->req->links == VW_LINKS_SKIP && j < n->prev->links->len; j++) {
			const VwStateLink *l = n->prev->links->pdata[j];

			vw_state_add_link(n->st, l->kind, l->object, l->created, l->extra);
		}
	}
	return true;
}

/* ---------------------------------------------------------------------- */
/* Check and plan */

/* Each network's own rules; only errors count here (whoever read the
 * input has shown its warnings). */
static void check_items(Apply *a)
{
	g_autoptr(VwDiags) own = vw_diags_new();

	for (guint i = 0; i < a->req->items->len; i++) {
		const VwNetwork *net = ((VwApplyItem *)a->req->items->pdata[i])->network;

		if (!net->name)
			vw_error(own, net->loc, "missing-name", "libvirt's networks have <name>NAME</name>",
				 "the network has no name");
		vw_check_network(net, own);
	}
	for (guint i = 0; i < own->items->len; i++) {
		const VwDiag *d = own->items->pdata[i];

		if (d->severity == VW_SEV_ERROR)
			vw_diags_add(a->diags, d->loc, d->severity, d->code, d->hint, "%s", d->message);
	}
}

/* Each network's own rules, before anything else looks at it. */
static bool step_check_items(Apply *a, GError **error)
{
	if (a->req->checked)
		return true;
	check_items(a);
	return vw_diags_count(a->diags, VW_SEV_ERROR) == a->errors || invalid(a, error);
}

static bool step_check(Apply *a, GError **error)
{
	g_autoptr(GHashTable) given = g_hash_table_new(g_str_hash, g_str_equal);
	g_autoptr(GPtrArray) all = g_ptr_array_new();

	for (guint i = 0; i < a->nets->len; i++)
		g_hash_table_add(given, ((Net *)a->nets->pdata[i])->item->network->name);
	/* Networks applied earlier are checked against: a forward or a
	 * subnet of theirs must not be claimed again. They come first, so a
	 * conflict is reported on the network being applied. */
	a->others = vw_eng_load_recorded(a->e, given, a->diags);
	if (!a->others->len)
		return true;
	for (guint i = 0; i < a->others->len; i++)
		g_ptr_array_add(all, ((VwRecorded *)a->others->pdata[i])->doc->network);
	for (guint i = 0; i < a->nets->len; i++)
		g_ptr_array_add(all, (gpointer)((Net *)a->nets->pdata[i])->item->network);
	vw_check_together(all, NULL, a->diags);
	return vw_diags_count(a->diags, VW_SEV_ERROR) == a->errors || invalid(a, error);
}

static bool step_plan(Apply *a, GError **error)
{
	g_autoptr(GPtrArray) nets = g_ptr_array_new();

	for (guint i = 0; a->req->domains && i < a->req->domains->len; i++)
		g_ptr_array_add(a->doms, a->req->domains->pdata[i]);
	for (guint i = 0; i < a->nets->len; i++) {
		const Net *n = a->nets->pdata[i];

		/* Planned as restore and the hooks plan it: with what watch
		 * learned (the networks' one addition from outside the XML). */
		vw_eng_add_learned(a->e, (VwNetwork *)n->item->network);
		g_ptr_array_add(nets, (gpointer)n->item->network);
		vw_eng_recorded_ports(a->e, n->st, a->port_docs, a->owned_doms);
	}
	for (guint i = 0; i < a->owned_doms->len; i++)
		g_ptr_array_add(a->doms, a->owned_doms->pdata[i]);
	if (!vw_eng_hostfw_integrate(a->e, error))
		return false;
	a->plan = vw_plan_build(nets, a->doms, a->diags);
	vw_eng_plan_hostfw(a->e, a->plan);
	if (a->plan)
		vw_eng_warn_listeners(a->e, nets, a->doms, true, a->diags);
	vw_eng_stage(a->e, "plan");
	return a->plan || invalid(a, error);
}

/* ---------------------------------------------------------------------- */
/* Records */

/* The record says what is about to be applied before anything changes: a
 * network that is new, or whose XML changed, or whose last apply did not
 * finish, is recorded as pending (with the links of the apply before). */
static bool step_intent(Apply *a, GError **error)
{
	for (guint i = 0; i < a->nets->len; i++) {
		Net *n = a->nets->pdata[i];
		g_autoptr(VwState) intent = NULL;
		bool saved;

		if (n->prev && !n->prev->pending && g_strcmp0(n->prev->xml, n->xml) == 0 && !a->req->adopt)
			continue;
		intent = n->prev ? vw_state_copy(n->prev) : vw_state_new(n->st->name);
		intent->pending = true;
		g_free(intent->id);
		intent->id = g_strdup(n->id);
		g_free(intent->xml);
		intent->xml = n->xml; /* borrowed, as in net_new */
		g_free(intent->bridge);
		intent->bridge = g_strdup(n->st->bridge);
		g_free(intent->applied);
		intent->applied = g_strdup(a->now);
		saved = vw_store_save(a->e->store, intent, error);
		intent->xml = NULL;
		if (!saved)
			return false;
		n->written = true;
	}
	return true;
}

static bool step_record(Apply *a, GError **error)
{
	for (guint i = 0; i < a->nets->len; i++) {
		Net *n = a->nets->pdata[i];

		/* The firewall step commits the plan whole: the ports' elements
		 * in the kernel are the plan's from then on. */
		if (!a->req->skip_firewall)
			vw_eng_note_port_elems(a->plan, n->st);
		if (!vw_store_save(a->e->store, n->st, error))
			return false;
		n->written = true;
	}
	/* A text handed over is not needed again before step_inputs, which
	 * reads the record's: the firewall's batch is built without it. */
	for (guint i = 0; i < a->nets->len; i++) {
		Net *n = a->nets->pdata[i];

		if (!n->xml_owned)
			continue;
		n->st->xml = NULL;
		g_clear_pointer(&n->xml, g_free);
	}
	vw_eng_stage(a->e, "record");
	return true;
}

/* ---------------------------------------------------------------------- */
/* Links */

static bool verify_links(Apply *a, Net *n, const VwLinkBackend *be, GError **error)
{
	g_autoptr(GPtrArray) drift = g_ptr_array_new_with_free_func((GDestroyNotify)vw_drift_free);
	const VwNetwork *net = n->item->network;

	/* libvirt made them: what differs from the XML is for the user to
	 * see, not for virtwire to change. Sysctls are virtwire's to set
	 * (next step), and ports' flags come with the guests. A spanning
	 * network's VXLAN device is virtwire's even then: made here. */
	if (!vw_verify_libvirt_links(be, a->plan, n->id, drift, error))
		return false;
	for (guint j = 0; j < drift->len; j++) {
		const VwDrift *d = drift->pdata[j];

		if (d->kind == VW_DRIFT_LINK)
			vw_error(a->diags, net->loc, "libvirt-mismatch",
				 "libvirt's bridge does not match the network's XML: redefine the network, or let "
				 "'virtwire verify' show every difference",
				 "network '%s': %s: %s", net->name, d->object, d->what);
	}
	if (vw_diags_count(a->diags, VW_SEV_ERROR) != a->errors)
		return invalid(a, error);
	if (!vw_link_apply_own(be, a->plan, n->id, n->prev, n->st, n->undo, a->e->cfg.faults, error))
		return false;
	n->rep->links = n->undo->len;
	return true;
}

static bool step_links(Apply *a, GError **error)
{
	const VwLinkBackend *be;

	if (a->req->links == VW_LINKS_SKIP)
		return true;
	be = vw_eng_links(a->e, error);
	if (!be)
		return false;
	for (guint i = 0; i < a->nets->len; i++) {
		Net *n = a->nets->pdata[i];

		if (a->req->links == VW_LINKS_VERIFY) {
			if (!verify_links(a, n, be, error))
				return false;
			continue;
		}
		if (!vw_link_apply(be, a->plan, n->id, n->prev, n->st, n->undo, a->e->cfg.faults, error))
			return false;
		n->rep->links = n->undo->len;
	}
	vw_eng_stage(a->e, "links");
	return true;
}

/* Records of @prev that virtwire created and @st no longer has. */
static void collect_stale_links(const VwState *prev, const VwState *st, GPtrArray *stale)
{
	for (guint i = 0; prev && i < prev->links->len; i++) {
		const VwStateLink *p = prev->links->pdata[i];
		bool kept = false;

		if (!p->created)
			continue;
		for (guint j = 0; j < st->links->len && !kept; j++) {
			const VwStateLink *l = st->links->pdata[j];

			kept = strcmp(l->kind, p->kind) == 0 && strcmp(l->object, p->object) == 0 &&
			       g_strcmp0(l->extra, p->extra) == 0;
		}
		/* A config change undone would put the old drift back. */
		if (!kept && strcmp(p->kind, "link-config") != 0 && strcmp(p->kind, "port-flags") != 0)
			g_ptr_array_add(stale, (gpointer)p);
	}
}

/* What an earlier apply created and the network no longer has (an address
 * taken out of the XML …) goes now. */
static void step_stale_links(Apply *a)
{
	const VwLinkBackend *be;

	if (a->req->links == VW_LINKS_SKIP || !(be = vw_eng_links(a->e, NULL)))
		return;
	for (guint i = 0; i < a->nets->len; i++) {
		Net *n = a->nets->pdata[i];
		g_autoptr(GPtrArray) stale = g_ptr_array_new();
		g_autoptr(GPtrArray) notes = g_ptr_array_new_with_free_func(g_free);
		g_autoptr(GError) err = NULL;

		collect_stale_links(n->prev, n->st, stale);
		if (stale->len && !vw_link_undo(be, n->id, stale, true, notes, NULL, &err))
			vw_warning(a->diags, vw_loc(NULL, 0), "stale-link", NULL, "%s", err->message);
		for (guint j = 0; j < notes->len; j++)
			vw_warning(a->diags, vw_loc(NULL, 0), "stale-link", NULL, "%s", (char *)notes->pdata[j]);
	}
}

/* ---------------------------------------------------------------------- */
/* Sysctls */

static int set_sysctl(const VwLinkBackend *be, const char *path, const char *value, GError **error)
{
	int e = be->sysctl_set(be->ctx, path, value);

	if (e)
		vw_set_errno(error, e, NULL, "cannot set sysctl %s to %s", path, value);
	return e;
}

/* Restores a sysctl virtwire set, unless someone changed it since (or it
 * is not one virtwire ever sets). */
static bool restore_sysctl(const VwLinkBackend *be, const VwStateSysctl *s)
{
	g_autofree char *cur = NULL;

	if (!s->revert || !vw_sysctl_is_virtwires(s->path) || be->sysctl_get(be->ctx, s->path, &cur) != 0 ||
	    strcmp(cur, s->new_value) != 0)
		return false;
	return be->sysctl_set(be->ctx, s->path, s->old_value) == 0;
}

/* The plan's sysctls of @n: set, remembering the old values. */
static bool net_sysctls(Apply *a, Net *n, const VwLinkBackend *be, GError **error)
{
	for (guint i = 0; i < a->plan->sysctls->len; i++) {
		const VwSysctl *s = a->plan->sysctls->pdata[i];
		g_autofree char *old = NULL;
		int e;

		if (g_strcmp0(s->owner, n->id) != 0)
			continue;
		if ((e = be->sysctl_get(be->ctx, s->path, &old)))
			return vw_set_errno(error, e, NULL, "cannot read sysctl %s", s->path);
		if (strcmp(old, s->value) != 0) {
			if (set_sysctl(be, s->path, s->value, error))
				return false;
			g_ptr_array_add(a->sysctl_undo, vw_state_add_sysctl(n->st, s->path, old, s->value, s->revert));
			n->rep->sysctls++;
		} else if (s->revert) {
			/* Already so: still ours to restore only if we set it
			 * before (the previous record says, below). */
			vw_state_add_sysctl(n->st, s->path, old, s->value, false);
		}
	}
	return true;
}

static bool plan_wants_sysctl(const VwPlan *plan, const char *id, const char *path)
{
	for (guint i = 0; i < plan->sysctls->len; i++) {
		const VwSysctl *s = plan->sysctls->pdata[i];

		if (g_strcmp0(s->owner, id) == 0 && strcmp(s->path, path) == 0)
			return true;
	}
	return false;
}

/* Carries over what an earlier apply recorded: a sysctl still needed keeps
 * the value from before virtwire (for teardown); one no longer needed is
 * restored now. */
static void merge_earlier_sysctls(Apply *a, Net *n, const VwLinkBackend *be)
{
	for (guint i = 0; n->prev && i < n->prev->sysctls->len; i++) {
		const VwStateSysctl *p = n->prev->sysctls->pdata[i];
		bool still = false;

		for (guint j = 0; j < n->st->sysctls->len; j++) {
			VwStateSysctl *s = n->st->sysctls->pdata[j];

			if (strcmp(s->path, p->path) == 0) {
				g_free(s->old_value);
				s->old_value = g_strdup(p->old_value);
				s->revert = p->revert;
				still = true;
			}
		}
		if (still)
			continue;
		if (plan_wants_sysctl(a->plan, n->id, p->path))
			vw_state_add_sysctl(n->st, p->path, p->old_value, p->new_value, p->revert);
		else if (restore_sysctl(be, p))
			n->rep->sysctls++;
	}
}

static bool step_sysctls(Apply *a, GError **error)
{
	bool needed = a->plan->sysctls->len > 0;
	const VwLinkBackend *be;

	for (guint i = 0; i < a->nets->len; i++) {
		const Net *n = a->nets->pdata[i];

		needed |= n->prev && n->prev->sysctls->len;
	}
	if (!needed)
		return true;
	if (!(be = vw_eng_links(a->e, error)))
		return false;
	for (guint i = 0; i < a->nets->len; i++) {
		Net *n = a->nets->pdata[i];

		if (!net_sysctls(a, n, be, error))
			return false;
		merge_earlier_sysctls(a, n, be);
	}
	return true;
}

/* ---------------------------------------------------------------------- */
/* The firewall */

static bool others_need_table(Apply *a)
{
	for (guint i = 0; i < a->others->len; i++)
		if (vw_plan_network_uses_table(((VwRecorded *)a->others->pdata[i])->doc->network))
			return true;
	return false;
}

/* True when every network applied is known to be in the kernel as the plan
 * has it: the ruleset's generation has not moved since virtwire's own
 * reconcile made it so. @ids and @digests get each one's, for the record. */
static bool firewall_current(Apply *a, const VwNftBackend *nft, GPtrArray *ids, GPtrArray *digests)
{
	uint32_t gen;
	bool current = vw_nft_generation(nft, &gen, NULL);

	for (guint i = 0; i < a->nets->len; i++) {
		const Net *n = a->nets->pdata[i];
		char *digest = vw_plan_digest(a->plan, n->id);

		current = current && vw_store_gen_current(a->e->store, gen, n->id, digest);
		g_ptr_array_add(ids, g_strdup(n->id));
		g_ptr_array_add(digests, digest);
	}
	return current;
}

static bool reconcile(Apply *a, const VwNftBackend *nft, GPtrArray *scope, VwNftFlags flags, GError **error)
{
	g_autoptr(GPtrArray) states = g_ptr_array_new();
	VwOwnerWords words = { a->e, states };
	VwNftRequest rq = { scope, flags | VW_NFT_RELEASED, vw_eng_owner_words, &words, a->e->cfg.faults };
	g_autoptr(VwPlan) skeleton = NULL;
	const VwPlan *plan = a->plan;

	for (guint i = 0; i < a->nets->len; i++)
		g_ptr_array_add(states, ((Net *)a->nets->pdata[i])->st);
	/* A plan without a table (the networks need none) still removes what
	 * the scope had; the table itself goes when no network left needs it,
	 * and is never created for nothing. */
	if (!vw_plan_has_tables(plan) && !(flags & VW_NFT_REBUILD)) {
		if (others_need_table(a))
			plan = skeleton = vw_plan_skeleton();
		else
			rq.flags |= VW_NFT_DELETE_TABLE;
	}
	g_clear_pointer(&a->res, vw_nft_result_free);
	return vw_nft_reconcile(nft, plan, &rq, &a->res, error);
}

/* A table of another layout: rebuilt with every recorded network, in one
 * batch. */
static bool rebuild(Apply *a, const VwNftBackend *nft, GPtrArray *scope, GError **error)
{
	g_autoptr(GPtrArray) all = g_ptr_array_new();

	for (guint i = 0; i < a->others->len; i++) {
		const VwRecorded *r = a->others->pdata[i];

		g_ptr_array_add(all, r->doc->network);
		g_ptr_array_add(scope, vw_eng_scope_of(r->st->id));
	}
	for (guint i = 0; i < a->nets->len; i++)
		g_ptr_array_add(all, (gpointer)((Net *)a->nets->pdata[i])->item->network);
	vw_plan_free(a->plan);
	a->plan = vw_plan_build(all, a->doms, a->diags);
	if (!a->plan)
		return invalid(a, error);
	vw_eng_plan_hostfw(a->e, a->plan);
	return reconcile(a, nft, scope, VW_NFT_REBUILD, error);
}

/* The host's firewalls beside the table (engine/hostfw.c). */
static void hostfw(Apply *a)
{
	g_autoptr(GPtrArray) nets = g_ptr_array_new();

	for (guint i = 0; i < a->nets->len; i++)
		g_ptr_array_add(nets, (gpointer)((Net *)a->nets->pdata[i])->item->network);
	vw_eng_hostfw_apply(a->e, nets, a->diags);
}

static bool step_firewall(Apply *a, GError **error)
{
	g_autoptr(GPtrArray) scope = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) digests = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GError) err = NULL;
	const VwNftBackend *nft;

	if (a->req->skip_firewall)
		return true;
	if (!(nft = vw_eng_nft(a->e, error)))
		return false;
	for (guint i = 0; i < a->nets->len; i++)
		g_ptr_array_add(scope, vw_eng_scope_of(((Net *)a->nets->pdata[i])->id));
	if (vw_plan_has_tables(a->plan) && firewall_current(a, nft, ids, digests)) {
		/* Nothing can have changed since virtwire made it so. */
		a->unread = true;
		a->res = g_new0(VwNftResult, 1);
		a->res->drift = g_ptr_array_new_with_free_func((GDestroyNotify)vw_drift_free);
	} else if (reconcile(a, nft, scope, 0, &err)) {
		vw_store_gen_update(a->e->store, a->res, ids, vw_plan_has_tables(a->plan) ? digests : NULL);
	} else if (g_error_matches(err, VW_ERROR, VW_ERROR_INCOMPATIBLE)) {
		if (!rebuild(a, nft, scope, error))
			return false;
		vw_store_gen_update(a->e->store, a->res, ids, NULL);
	} else {
		g_propagate_error(error, g_steal_pointer(&err));
		return false;
	}
	hostfw(a);
	vw_eng_stage(a->e, "firewall");
	return true;
}

/* A spanning network's VXLAN port goes up only now that the rules that
 * keep the host's own frames off the overlay are in the kernel: up before
 * them, the bridge's own ARP, ND and MLD would reach every peer. The
 * firewall is committed by now, so a device that will not go up is a
 * warning (verify names it), not a rollback. */
static void step_spans_up(Apply *a)
{
	g_autoptr(GError) err = NULL;
	const VwLinkBackend *be;

	if (a->req->links == VW_LINKS_SKIP || !(be = vw_eng_links(a->e, NULL)))
		return;
	for (guint i = 0; i < a->nets->len && !err; i++) {
		const Net *n = a->nets->pdata[i];

		vw_link_raise_spans(be, a->plan, n->id, &err);
	}
	if (err)
		vw_warning(a->diags, vw_loc(NULL, 0), "span-down",
			   "set it up by hand, or apply again; 'virtwire verify' shows it", "%s", err->message);
}

/* The connections of forwards the batch took away end; when they cannot,
 * a warning (the firewall is changed all the same). */
static void step_connections(Apply *a)
{
	g_autoptr(GError) err = NULL;

	if (!vw_eng_end_connections(a->e, a->res, &a->connections, &err))
		vw_warning(a->diags, vw_loc(NULL, 0), "conntrack",
			   "new connections follow the new forwards; established ones go on until they close", "%s",
			   err->message);
}

/* The digest of @n's input (engine/unchanged.c), from its text as given
 * or, once let go, from the record's copy. */
static char *input_digest(Apply *a, Net *n, char **unchecked)
{
	g_autoptr(VwState) rec = NULL;
	char *digest;

	if (n->xml)
		return vw_eng_input_digest(a->e, n->st, n->xml, strlen(n->xml), unchecked);
	/* Let go of at step_record: the record's copy, just written. */
	if (!vw_store_load(a->e->store, n->st->name, &rec, NULL) || !rec->xml)
		return NULL;
	n->st->xml = rec->xml;
	digest = vw_eng_input_digest(a->e, n->st, rec->xml, strlen(rec->xml), unchecked);
	n->st->xml = NULL;
	return digest;
}

/* What each network's plan was made from, next to the generation the
 * firewall is at now (engine/unchanged.c): the next call with the same
 * input can skip it all. Links left alone (a re-assert) were not checked:
 * then a digest an apply that checked them recorded stays if it still
 * holds, and otherwise the one that says they were not (which only another
 * re-assert accepts). */
static void step_inputs(Apply *a)
{
	g_autoptr(GPtrArray) ids = g_ptr_array_new();
	g_autoptr(GPtrArray) inputs = g_ptr_array_new_with_free_func(g_free);
	const VwNftBackend *nft;
	uint32_t gen;

	if (a->req->skip_firewall || !(nft = vw_eng_nft(a->e, NULL)) || !vw_nft_generation(nft, &gen, NULL))
		return;
	for (guint i = 0; i < a->nets->len; i++) {
		Net *n = a->nets->pdata[i];
		bool skip = a->req->links == VW_LINKS_SKIP;
		g_autofree char *unchecked = NULL;
		char *digest = input_digest(a, n, skip ? &unchecked : NULL);

		if (skip && g_strcmp0(digest, n->input_before) != 0) {
			g_free(digest);
			digest = g_steal_pointer(&unchecked);
		}
		g_ptr_array_add(ids, n->id);
		g_ptr_array_add(inputs, digest);
	}
	vw_store_gen_set_inputs(a->e->store, gen, ids, inputs);
}

/* ---------------------------------------------------------------------- */

/* Undoes what this apply did: its sysctls, its links, and its records
 * (the previous ones back, or none). */
static void rollback(Apply *a)
{
	const VwLinkBackend *be = a->e->own_links || a->e->cfg.links ? vw_eng_links(a->e, NULL) : NULL;

	for (guint i = a->sysctl_undo->len; be && i-- > 0;) {
		const VwStateSysctl *s = a->sysctl_undo->pdata[i];

		be->sysctl_set(be->ctx, s->path, s->old_value);
	}
	for (guint i = a->nets->len; i-- > 0;) {
		Net *n = a->nets->pdata[i];

		if (be && n->undo->len)
			vw_link_undo(be, n->id, n->undo, false, NULL, NULL, NULL);
		if (!n->written)
			continue;
		if (n->prev_on_disk)
			vw_store_save(a->e->store, n->prev, NULL);
		else
			vw_store_remove(a->e->store, n->st->name, NULL);
	}
}

/* What this apply changed, into the log: each network's links and
 * sysctls, and the firewall's differences (one transaction: under the
 * network's name when there is one network). */
static void log_changes(Apply *a)
{
	const char *only = a->nets->len == 1 ? ((Net *)a->nets->pdata[0])->st->name : NULL;

	if (!vw_log_enabled())
		return;
	for (guint i = 0; i < a->nets->len; i++) {
		const Net *n = a->nets->pdata[i];

		for (guint j = 0; j < n->undo->len; j++) {
			const VwStateLink *l = n->undo->pdata[j];
			g_autofree char *obj = g_strdup_printf("%s %s", l->kind, l->object);

			vw_log_change(n->st->name, obj, "%s", l->created ? "done" : "found, kept");
		}
		for (guint j = 0; j < a->sysctl_undo->len; j++) {
			const VwStateSysctl *x = a->sysctl_undo->pdata[j];
			g_autofree char *obj = g_strdup_printf("sysctl %s", x->path);

			if (g_ptr_array_find(n->st->sysctls, x, NULL))
				vw_log_change(n->st->name, obj, "%s → %s", x->old_value, x->new_value);
		}
	}
	for (guint j = 0; a->res && j < a->res->drift->len; j++) {
		const VwDrift *d = a->res->drift->pdata[j];

		vw_log_change(only, d->object, "repaired: %s", d->what);
	}
}

static void report(Apply *a)
{
	log_changes(a);
	for (guint i = 0; a->res && i < a->nets->len; i++) {
		VwApplyReport *rep = ((Net *)a->nets->pdata[i])->rep;

		rep->drift = a->res->drift->len;
		rep->messages = a->res->messages;
		rep->unread = a->unread;
		for (guint j = 0; j < a->res->drift->len; j++) {
			const VwDrift *d = a->res->drift->pdata[j];

			g_ptr_array_add(rep->changes, g_strdup_printf("%s: %s", d->object, d->what));
		}
		vw_eng_report_connections(rep, a->res, a->connections, NULL);
	}
}

static void apply_clear(Apply *a)
{
	/* Texts handed over with items no Net took (net_new) go here. */
	for (guint i = a->nets->len; i < a->req->items->len; i++) {
		const VwApplyItem *it = a->req->items->pdata[i];

		if (it->xml_handed)
			g_free((char *)it->xml);
	}
	g_free(a->now);
	g_ptr_array_unref(a->nets);
	if (a->others)
		g_ptr_array_unref(a->others);
	g_ptr_array_unref(a->port_docs);
	g_ptr_array_unref(a->doms);
	g_ptr_array_unref(a->owned_doms);
	vw_plan_free(a->plan);
	g_ptr_array_unref(a->sysctl_undo);
	vw_nft_result_free(a->res);
}

bool vw_engine_apply(VwEngine *e, const VwApplyRequest *req, GPtrArray *reports, VwDiags *diags, GError **error)
{
	Apply a = {
		.e = e,
		.req = req,
		.diags = diags,
		.reports = reports,
		.errors = vw_diags_count(diags, VW_SEV_ERROR),
		.now = now_iso(),
		.nets = g_ptr_array_new_with_free_func((GDestroyNotify)net_free),
		.port_docs = g_ptr_array_new_with_free_func((GDestroyNotify)vw_doc_free),
		.doms = g_ptr_array_new(),
		.owned_doms = g_ptr_array_new_with_free_func(g_free),
		.sysctl_undo = g_ptr_array_new(),
	};
	bool locked = false, ok;

	vw_eng_stage(e, "start");
	ok = step_check_items(&a, error) && (locked = vw_eng_lock(e, error)) && step_previous(&a, error) &&
	     step_check(&a, error) && step_plan(&a, error) && step_intent(&a, error) && step_links(&a, error) &&
	     step_sysctls(&a, error) && step_record(&a, error) && step_firewall(&a, error);
	if (ok) {
		step_spans_up(&a);
		step_stale_links(&a);
		step_connections(&a);
		step_inputs(&a);
		report(&a);
	} else if (locked) {
		rollback(&a);
	}
	if (locked)
		vw_eng_unlock(e);
	apply_clear(&a);
	return ok;
}
