/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <string.h>
#include <time.h>

#include <virtwire/check.h>
#include <virtwire/engine.h>
#include <virtwire/plan.h>
#include <virtwire/state.h>
#include <virtwire/xml.h>


/* VIRTWIRE_DEBUG=timing: the time each phase took, on stderr. */
static void phase(const char *what)
{
	static gint64 last;
	static int on = -1;
	gint64 now;

	if (on < 0)
		on = g_strcmp0(g_getenv("VIRTWIRE_DEBUG"), "timing") == 0;
	if (!on)
		return;
	now = g_get_monotonic_time();
	if (last)
		g_printerr("virtwire: %-24s %6.2f ms\n", what, (double)(now - last) / 1000.0);
	last = now;
}

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

/* The recorded ports of @st as planner input: their domains' XML parsed
 * into @docs (which keeps them alive), one VwPlanDomain each. A port whose
 * domain record is gone is left out. */
void vw_engine_recorded_ports(const char *dir, const VwState *st, const char *network, GPtrArray *docs,
			      GPtrArray *doms)
{
	for (guint i = 0; st && i < st->ports->len; i++) {
		const VwStatePort *p = st->ports->pdata[i];
		g_autofree char *xml = vw_state_load_domain(dir, p->domain_uuid, NULL);
		g_autoptr(VwDiags) d = vw_diags_new();
		VwDoc *doc = NULL;
		VwPlanDomain *pd;

		if (!xml || vw_doc_load_memory("domain", xml, strlen(xml), NULL, d, &doc) != VW_LOAD_OK || !doc->domain) {
			vw_doc_free(doc);
			continue;
		}
		g_ptr_array_add(docs, doc);
		pd = g_new0(VwPlanDomain, 1);
		pd->domain = doc->domain;
		pd->network = g_intern_string(network);
		pd->port_uuid = g_intern_string(p->uuid);
		pd->has_mac = vw_mac_parse(p->mac, &pd->mac);
		g_ptr_array_add(doms, pd);
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

/*
 * True when every network of @items is known to be in the kernel as @plan
 * has it: the ruleset's generation has not moved since virtwire's own
 * reconcile made them so (state.h, firewall.gen). @digests gets each one's
 * digest of @plan, and @ids their ids, for the record after a reconcile.
 */
static bool firewall_current(const char *dir, const VwPlan *plan, GPtrArray *items, GPtrArray *ids,
			     GPtrArray *digests)
{
	uint32_t gen;
	bool current = vw_nft_generation(&gen, NULL);

	for (guint i = 0; i < items->len; i++) {
		const VwNetwork *n = ((VwApplyItem *)items->pdata[i])->network;
		char *id = vw_plan_network_id(n->name);
		char *digest = vw_plan_digest(plan, id);

		current = current && vw_state_gen_current(dir, gen, id, digest);
		g_ptr_array_add(ids, id);
		g_ptr_array_add(digests, digest);
	}
	return current;
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

/* What an owner tag ("ID" or "ID:PORT-UUID") stands for, in words, from
 * @st (the record being changed) or the recorded ones; NULL if unknown. */
static char *owner_words(const char *dir, const VwState *st, const char *tag)
{
	g_autoptr(GPtrArray) names = vw_state_list(dir);
	g_auto(GStrv) f = g_strsplit(tag, ":", 2);

	for (guint i = 0; i <= names->len; i++) {
		g_autoptr(VwState) loaded = NULL;
		const VwState *x = st;
		const VwStatePort *p;

		if (i < names->len) {
			if (!vw_state_load(dir, names->pdata[i], &loaded, NULL))
				continue;
			x = loaded;
		}
		if (!x || g_strcmp0(x->id, f[0]) != 0)
			continue;
		if (!f[1])
			return g_strdup_printf("network '%s'", x->name);
		p = vw_state_find_port(x, f[1]);
		if (p) {
			g_autofree char *xml = vw_state_load_domain(dir, p->domain_uuid, NULL);
			g_autoptr(VwDiags) d = vw_diags_new();
			g_autoptr(VwDoc) doc = NULL;

			if (xml && vw_doc_load_memory("domain", xml, strlen(xml), NULL, d, &doc) == VW_LOAD_OK &&
			    doc->domain && doc->domain->name)
				return g_strdup_printf("domain '%s' (its port on network '%s')", doc->domain->name, x->name);
		}
	}
	return NULL;
}

/* A conflict's message names owners by their tags: say whose they are. */
static void name_owners(const char *dir, const VwState *st, GError *err)
{
	GString *out;
	const char *m;

	if (!err || !g_error_matches(err, VW_ERROR, VW_ERROR_CONFLICT))
		return;
	out = g_string_new(NULL);
	m = err->message;
	while (*m) {
		const char *q = strchr(m, '\'');
		const char *e = q ? strchr(q + 1, '\'') : NULL;
		g_autofree char *tag = NULL, *words = NULL;

		if (!e) {
			g_string_append(out, m);
			break;
		}
		tag = g_strndup(q + 1, (gsize)(e - q - 1));
		words = owner_words(dir, st, tag);
		g_string_append_len(out, m, q - m);
		if (words)
			g_string_append(out, words);
		else
			g_string_append_len(out, q, e - q + 1);
		m = e + 1;
	}
	g_free(err->message);
	err->message = g_string_free(out, FALSE);
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
	g_autoptr(GPtrArray) link_undo = g_ptr_array_new();
	g_autoptr(GPtrArray) stale = g_ptr_array_new();
	g_autoptr(GPtrArray) prevs = g_ptr_array_new_with_free_func((GDestroyNotify)vw_state_free);
	g_autoptr(GPtrArray) port_docs = g_ptr_array_new_with_free_func((GDestroyNotify)vw_doc_free);
	g_autoptr(GPtrArray) port_doms = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) digests = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(VwLinkBackend) be = NULL;
	g_autoptr(VwPlan) plan = NULL;
	g_autoptr(VwNftResult) res = NULL;
	g_autoptr(GError) err = NULL;
	g_autofree char *now = now_iso();
	guint errors = vw_diags_count(diags, VW_SEV_ERROR);
	int lock;
	bool ok = false;

	phase("start");
	lock = vw_state_lock(dir, req->lock_timeout_ms, error);
	if (lock < 0)
		return false;
	phase("lock");

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
	/* The ports libvirt plugged keep their domain forwards across a
	 * re-apply of their network. */
	for (guint i = 0; i < req->items->len; i++) {
		const VwNetwork *n = ((VwApplyItem *)req->items->pdata[i])->network;
		VwState *p = NULL;

		if (vw_state_load(dir, n->name, &p, NULL)) {
			vw_engine_recorded_ports(dir, p, n->name, port_docs, port_doms);
			g_ptr_array_add(prevs, p);
		}
	}
	for (guint i = 0; i < port_doms->len; i++)
		g_ptr_array_add(doms, port_doms->pdata[i]);
	phase("others and ports");
	plan = vw_plan_build(nets, doms, diags);
	if (!plan)
		goto out;
	phase("plan");
	be = vw_link_backend_netlink(error);
	if (!be)
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
		if (prev) {
			for (guint j = 0; j < prev->ports->len; j++) {
				const VwStatePort *pp = prev->ports->pdata[j];

				vw_state_add_port(st, pp->uuid, pp->domain_uuid, pp->mac);
			}
		}
		/* Links first (the bridge must exist for its sysctls), then
		 * sysctls, then the firewall in one transaction. */
		if (req->links == VW_LINKS_APPLY) {
			guint before = link_undo->len;

			if (!vw_link_apply(be, plan, id, prev, st, link_undo, error))
				goto rollback;
			rep->links = link_undo->len - before;
		} else if (req->links == VW_LINKS_VERIFY) {
			/* libvirt made them: what differs from the XML is for
			 * the user to see, not for virtwire to change. */
			g_autoptr(GPtrArray) drift = g_ptr_array_new_with_free_func((GDestroyNotify)vw_drift_free);

			if (!vw_verify_links(be, plan, id, drift, error))
				goto rollback;
			for (guint j = 0; j < drift->len; j++) {
				const VwDrift *d = drift->pdata[j];

				/* Sysctls are virtwire's to set (below), and the
				 * ports' flags come with the guests. */
				if (g_str_has_prefix(d->object, "net.") || strstr(d->what, "hairpin is") ||
				    strstr(d->what, "isolated is"))
					continue;
				vw_error(diags, n->loc, "libvirt-mismatch",
					 "libvirt's bridge does not match the network's XML: redefine the network, or let "
					 "'virtwire verify' show every difference",
					 "network '%s': %s: %s", n->name, d->object, d->what);
			}
			if (vw_diags_count(diags, VW_SEV_ERROR) > errors)
				goto rollback;
			for (guint j = 0; prev && j < prev->links->len; j++) {
				const VwStateLink *l = prev->links->pdata[j];

				vw_state_add_link(st, l->kind, l->object, l->created, l->extra);
			}
		} else if (prev) {
			for (guint j = 0; j < prev->links->len; j++) {
				const VwStateLink *l = prev->links->pdata[j];

				vw_state_add_link(st, l->kind, l->object, l->created, l->extra);
			}
		}
		if (!apply_sysctls(plan, id, st, undo, &rep->sysctls, error))
			goto rollback;
		merge_earlier_sysctls(prev, st, &rep->sysctls);
		if (req->links == VW_LINKS_APPLY)
			collect_stale_links(prev, st, stale);
		if (prev)
			g_ptr_array_add(prevs, g_steal_pointer(&prev));
	}

	phase("links and sysctls");
	if (req->skip_firewall || firewall_current(dir, plan, req->items, ids, digests)) {
		/* Nothing can have changed since virtwire made it so. */
		res = g_new0(VwNftResult, 1);
		res->drift = g_ptr_array_new_with_free_func((GDestroyNotify)vw_drift_free);
	} else if (reconcile_scope(plan, scope, any_uses_table(other_docs), &res, &err)) {
		vw_state_gen_update(dir, res, ids, digests);
	} else {
		if (!g_error_matches(err, VW_ERROR, VW_ERROR_INCOMPATIBLE)) {
			name_owners(dir, NULL, err);
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
		vw_state_gen_update(dir, res, ids, NULL);
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
	phase("firewall");
	/* What an earlier apply created and the network no longer has (an
	 * address taken out of the XML …) goes now. */
	if (stale->len) {
		g_autoptr(GError) err2 = NULL;

		if (!vw_link_undo(be, stale, &err2))
			vw_warning(diags, vw_loc(NULL, 0), "stale-link", NULL, "%s", err2->message);
	}
	for (guint i = 0; i < states->len; i++) {
		if (!vw_state_save(dir, states->pdata[i], error)) {
			/* The kernel has the network; the record failed. Say
			 * so rather than undo a working network. */
			g_prefix_error(error, "network applied, but its state could not be recorded: ");
			goto out;
		}
	}
	phase("state");
	ok = true;
	goto out;
rollback:
	undo_sysctls(undo);
	if (be)
		vw_link_undo(be, link_undo, NULL);
out:
	vw_state_unlock(lock);
	return ok;
}

/*
 * Without a usable record, what virtwire created is found in the kernel
 * itself: a bridge it made carries its alias. Returns the records to undo
 * (bridged mode: the uplink's addresses and routes back, the uplink out,
 * the bridge gone), and a note of what is left alone.
 */
static GPtrArray *links_from_kernel(const VwLinkBackend *be, const VwNetwork *net, const char *id, char **note)
{
	g_autoptr(VwState) st = vw_state_new(net->name);
	g_autofree char *alias = g_strdup_printf(VW_LINK_ALIAS_PREFIX "%s", id);
	GPtrArray *out = g_ptr_array_new_with_free_func((GDestroyNotify)vw_state_free);
	VwLinkInfo br;
	const char *uplink = net->vw && net->vw->mode == VW_MODE_BRIDGED ? net->vw->uplink : NULL;

	*note = NULL;
	if (!net->bridge || be->link_get(be->ctx, net->bridge, &br) != 0)
		return out;
	if (strcmp(br.alias, alias) != 0) {
		*note = g_strdup_printf("bridge %s was not created by virtwire: left as it is", net->bridge);
		return out;
	}
	vw_state_add_link(st, "bridge", net->bridge, true, NULL);
	if (uplink) {
		VwLinkInfo up;
		g_autofree char *pair = g_strdup_printf("%s %s", net->bridge, uplink);
		g_autofree char *port = g_strdup_printf("%s %s", uplink, net->bridge);
		g_autoptr(GArray) addrs = g_array_new(FALSE, TRUE, sizeof(VwAddrInfo));
		g_autoptr(GArray) routes = g_array_new(FALSE, TRUE, sizeof(VwRouteInfo));

		if (be->link_get(be->ctx, uplink, &up) == 0 && up.master == br.ifindex) {
			vw_state_add_link(st, "enslave", port, true, NULL);
			/* Every address on the bridge came from the uplink; the
			 * records in the order apply makes them, so that their
			 * reverse puts the uplink back. */
			be->addr_list(be->ctx, net->bridge, addrs);
			be->route_list(be->ctx, net->bridge, routes);
			for (int pass = 0; pass < 3; pass++) {
				for (guint i = 0; pass != 1 && i < addrs->len; i++) {
					const VwAddrInfo *a = &g_array_index(addrs, VwAddrInfo, i);
					g_autofree char *t = vw_addrinfo_to_string(a);

					if (!(a->prefix.addr.family == AF_INET6 && a->prefix.addr.b[0] == 0xfe))
						vw_state_add_link(st, pass ? "dropped-addr" : "copied-addr", pair, true, t);
				}
				for (guint i = 0; pass == 1 && i < routes->len; i++) {
					g_autofree char *t = vw_route_to_string(&g_array_index(routes, VwRouteInfo, i));

					vw_state_add_link(st, "moved-route", pair, true, t);
				}
			}
		}
	}
	g_ptr_array_add(out, g_steal_pointer(&st));
	return out;
}

bool vw_engine_teardown(const VwTeardownRequest *req, GPtrArray *reports, GError **error)
{
	const char *dir = req->state_dir;
	g_autoptr(GPtrArray) states = g_ptr_array_new_with_free_func((GDestroyNotify)vw_state_free);
	g_autoptr(GPtrArray) derived = g_ptr_array_new(); /* VwNetwork* torn down from --from */
	g_autoptr(GPtrArray) scope = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GHashTable) going = g_hash_table_new(g_str_hash, g_str_equal);
	g_autoptr(GPtrArray) other_docs = g_ptr_array_new_with_free_func((GDestroyNotify)vw_doc_free);
	g_autoptr(GPtrArray) other_states = g_ptr_array_new_with_free_func((GDestroyNotify)vw_state_free);
	g_autoptr(VwDiags) ignored = vw_diags_new();
	g_autoptr(VwNftResult) res = NULL;
	g_autoptr(VwPlan) nothing = vw_plan_new();
	g_autoptr(VwLinkBackend) be = NULL;
	int lock;
	bool ok = false;

	lock = vw_state_lock(dir, req->lock_timeout_ms, error);
	if (lock < 0)
		return false;
	/* Every name must be known before anything changes. */
	for (char **n = req->names; *n; n++) {
		VwState *st = NULL;
		g_autoptr(GError) err = NULL;
		const VwNetwork *from = NULL;

		for (guint i = 0; req->from && i < req->from->len; i++)
			if (g_strcmp0(((VwNetwork *)req->from->pdata[i])->name, *n) == 0)
				from = req->from->pdata[i];
		if (vw_state_load(dir, *n, &st, &err)) {
			g_ptr_array_add(states, st);
			g_hash_table_add(going, st->name);
			g_ptr_array_add(scope, g_strdup_printf("%s:*", st->id));
			continue;
		}
		if (!from) {
			g_propagate_error(error, g_steal_pointer(&err));
			goto out;
		}
		/* No usable record: derive from the XML, and remove only what
		 * the kernel shows to be virtwire's. */
		g_ptr_array_add(derived, (gpointer)from);
		g_hash_table_add(going, (gpointer)from->name);
		{
			g_autofree char *id = vw_plan_network_id(from->name);

			g_ptr_array_add(scope, g_strdup_printf("%s:*", id));
		}
	}
	be = vw_link_backend_netlink(error);
	if (!be)
		goto out;
	/* The table stays while a remaining network needs it. */
	load_others(dir, going, other_docs, other_states, ignored);
	if (!reconcile_scope(nothing, scope, any_uses_table(other_docs), &res, error))
		goto out;
	{
		g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func(g_free);

		for (guint i = 0; i < scope->len; i++)
			g_ptr_array_add(ids, g_strndup(scope->pdata[i], strlen(scope->pdata[i]) - 2)); /* "ID:*" */
		vw_state_gen_update(dir, res, ids, NULL);
	}

	for (guint i = 0; i < states->len; i++) {
		const VwState *st = states->pdata[i];
		VwApplyReport *rep = g_new0(VwApplyReport, 1);
		g_autoptr(GError) err = NULL;

		rep->name = g_strdup(st->name);
		rep->messages = res->messages;
		rep->drift = res->drift->len;
		rep->changes = g_ptr_array_new_with_free_func(g_free);
		g_ptr_array_add(reports, rep);
		/* Links after the firewall (no rule refers to a bridge that is
		 * gone); what virtwire created goes, what it found stays. */
		if (!vw_link_undo(be, st->links, &err))
			g_ptr_array_add(rep->changes, g_strdup_printf("warning: %s", err->message));
		/* Restore what virtwire changed, unless someone changed it
		 * again since. Forwarding stays on (libvirt leaves it too). */
		for (guint j = 0; j < st->sysctls->len; j++)
			if (restore_sysctl(st->sysctls->pdata[j]))
				rep->sysctls++;
		if (!vw_state_remove(dir, st->name, error))
			goto out;
	}
	for (guint i = 0; i < derived->len; i++) {
		const VwNetwork *n = derived->pdata[i];
		g_autofree char *id = vw_plan_network_id(n->name);
		g_autofree char *note = NULL;
		g_autoptr(GPtrArray) links = links_from_kernel(be, n, id, &note);
		VwApplyReport *rep = g_new0(VwApplyReport, 1);
		g_autoptr(GError) err = NULL;

		rep->name = g_strdup(n->name);
		rep->messages = res->messages;
		rep->drift = res->drift->len;
		rep->changes = g_ptr_array_new_with_free_func(g_free);
		g_ptr_array_add(reports, rep);
		g_ptr_array_add(rep->changes, g_strdup("no usable state: torn down from the XML given with --from"));
		if (note)
			g_ptr_array_add(rep->changes, g_strdup(note));
		for (guint j = 0; j < links->len; j++)
			if (!vw_link_undo(be, ((VwState *)links->pdata[j])->links, &err))
				g_ptr_array_add(rep->changes, g_strdup_printf("warning: %s", err->message));
		g_ptr_array_add(rep->changes,
				g_strdup("sysctls virtwire may have changed are left as they are (their old values "
					 "were in the state)"));
		if (!vw_state_remove(dir, n->name, error))
			goto out;
	}
	ok = true;
out:
	vw_state_unlock(lock);
	return ok;
}

bool vw_engine_port(const VwPortRequest *req, GError **error)
{
	const char *dir = req->state_dir;
	g_autoptr(VwState) st = NULL;
	g_autoptr(GError) err = NULL;
	g_autoptr(VwDiags) diags = vw_diags_new();
	g_autoptr(VwDoc) netdoc = NULL;
	g_autoptr(GPtrArray) docs = g_ptr_array_new_with_free_func((GDestroyNotify)vw_doc_free);
	g_autoptr(GPtrArray) doms = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) nets = g_ptr_array_new();
	g_autoptr(GPtrArray) scope = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(VwPlan) plan = NULL;
	g_autoptr(VwNftResult) res = NULL;
	g_autofree char *path = NULL;
	g_autofree char *dom_xml = NULL;
	int lock;
	bool ok = false;

	lock = vw_state_lock(dir, req->lock_timeout_ms, error);
	if (lock < 0)
		return false;
	if (!vw_state_load(dir, req->network, &st, &err)) {
		/* Not a network of virtwire's: nothing to do for its ports. */
		ok = g_error_matches(err, VW_ERROR, VW_ERROR_NOT_FOUND);
		if (!ok)
			g_propagate_error(error, g_steal_pointer(&err));
		goto out;
	}
	if (req->add) {
		dom_xml = vw_state_load_domain(dir, req->domain_uuid, NULL);
		if (!dom_xml) {
			/* No record: the domain has no forwards (its prepare
			 * hook records the ones that have). */
			ok = true;
			goto out;
		}
		vw_state_add_port(st, req->port_uuid, req->domain_uuid, req->mac);
	} else {
		if (!vw_state_find_port(st, req->port_uuid)) {
			ok = true;
			goto out;
		}
		vw_state_remove_port(st, req->port_uuid);
	}
	path = vw_state_xml_path(dir, st->name);
	if (vw_doc_load_memory(path, st->xml, strlen(st->xml), NULL, diags, &netdoc) != VW_LOAD_OK ||
	    !netdoc->network) {
		g_set_error(error, VW_ERROR, VW_ERROR_FAILED, "the record of network '%s' (%s) does not parse", req->network,
			    path);
		goto out;
	}
	g_ptr_array_add(nets, netdoc->network);
	/* The plan holds the network with this port only; the reconcile
	 * touches exactly this port's elements. */
	if (req->add) {
		VwState one = *st;
		g_autoptr(GPtrArray) only = g_ptr_array_new();

		g_ptr_array_add(only, vw_state_find_port(st, req->port_uuid));
		one.ports = only;
		vw_engine_recorded_ports(dir, &one, st->name, docs, doms);
	}
	plan = vw_plan_build(nets, doms, diags);
	if (!plan) {
		g_autofree char *t = vw_diags_format_text(diags);

		g_set_error(error, VW_ERROR, VW_ERROR_FAILED, "%s", g_strchomp(t));
		goto out;
	}
	{
		g_autofree char *id = vw_plan_network_id(st->name);

		g_ptr_array_add(scope, vw_plan_port_owner(id, req->port_uuid));
		if (plan->sets->len) {
			g_autoptr(GPtrArray) ids = g_ptr_array_new();

			if (!vw_nft_reconcile(plan, scope, 0, &res, &err)) {
				name_owners(dir, st, err);
				g_propagate_error(error, g_steal_pointer(&err));
				goto out;
			}
			/* The network's part changed with its port. */
			g_ptr_array_add(ids, id);
			vw_state_gen_update(dir, res, ids, NULL);
		}
	}
	if (!vw_state_save(dir, st, error))
		goto out;
	ok = true;
out:
	vw_state_unlock(lock);
	return ok;
}

bool vw_engine_port_flags(const char *dir, const char *network, const char *tap, GError **error)
{
	g_autoptr(VwState) st = NULL;
	g_autoptr(VwDoc) doc = NULL;
	g_autoptr(VwDiags) diags = vw_diags_new();
	g_autoptr(VwLinkBackend) be = NULL;
	g_autofree char *path = NULL;
	VwLinkInfo li;
	VwMode mode;
	int hairpin, isolated, e;

	if (!vw_state_load(dir, network, &st, NULL))
		return true;
	path = vw_state_xml_path(dir, network);
	if (vw_doc_load_memory(path, st->xml, strlen(st->xml), NULL, diags, &doc) != VW_LOAD_OK || !doc->network)
		return true;
	mode = vw_network_effective_mode(doc->network);
	hairpin = (mode == VW_MODE_NAT || mode == VW_MODE_ROUTE) && vw_network_hairpin(doc->network) ? 1 : -1;
	isolated = doc->network->port_isolated == VW_TRI_YES ? 1 : -1;
	if (hairpin < 0 && isolated < 0)
		return true;
	be = vw_link_backend_netlink(error);
	if (!be)
		return false;
	if (be->link_get(be->ctx, tap, &li) != 0)
		return true; /* gone already */
	if ((hairpin < 0 || li.hairpin == (hairpin > 0)) && (isolated < 0 || li.isolated == (isolated > 0)))
		return true;
	e = be->port_flags(be->ctx, tap, hairpin, isolated);
	if (e) {
		const char *k = be->last_error ? be->last_error(be->ctx) : NULL;

		g_set_error(error, VW_ERROR, VW_ERROR_FAILED, "cannot set the bridge port flags of %s: %s%s%s%s", tap,
			    g_strerror(-e), k ? " (" : "", k ? k : "", k ? ")" : "");
		return false;
	}
	return true;
}

bool vw_engine_reassert(const char *dir, guint lock_timeout_ms, GError **error)
{
	g_autoptr(GPtrArray) names = vw_state_list(dir);
	g_autoptr(GPtrArray) docs = g_ptr_array_new_with_free_func((GDestroyNotify)vw_doc_free);
	g_autoptr(GPtrArray) states = g_ptr_array_new_with_free_func((GDestroyNotify)vw_state_free);
	g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) reports = g_ptr_array_new_with_free_func((GDestroyNotify)vw_apply_report_free);
	g_autoptr(VwDiags) diags = vw_diags_new();
	VwApplyRequest req = { .state_dir = dir, .lock_timeout_ms = lock_timeout_ms, .links = VW_LINKS_SKIP };

	for (guint i = 0; i < names->len; i++) {
		VwState *st = NULL;
		VwDoc *doc = NULL;
		g_autofree char *path = vw_state_xml_path(dir, names->pdata[i]);
		VwApplyItem *it;

		if (!vw_state_load(dir, names->pdata[i], &st, NULL))
			continue;
		g_ptr_array_add(states, st);
		if (vw_doc_load_memory(path, st->xml, strlen(st->xml), NULL, diags, &doc) != VW_LOAD_OK ||
		    !doc->network) {
			vw_doc_free(doc);
			continue;
		}
		g_ptr_array_add(docs, doc);
		it = g_new0(VwApplyItem, 1);
		it->network = doc->network;
		it->xml = st->xml;
		it->source = st->source;
		g_ptr_array_add(items, it);
	}
	if (!items->len)
		return true;
	req.items = items;
	if (!vw_engine_apply(&req, reports, diags, error)) {
		if (error && !*error) {
			g_autofree char *t = vw_diags_format_text(diags);

			g_set_error(error, VW_ERROR, VW_ERROR_FAILED, "re-asserting the recorded networks failed: %s", t);
		}
		return false;
	}
	return true;
}
