/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Guests' ports: a domain's forwards come and go with its port on a
 * recorded network, exactly its elements, in one transaction; the record
 * first, the kernel after, the record back if the kernel refuses.
 */
#include <string.h>

#include "engine-private.h"

typedef struct {
	VwEngine *e;
	const VwPortRequest *req;
	VwState *st;  /* the record, changed */
	VwState *was; /* as it was */
	VwDoc *netdoc;
	char *owner;	  /* the port's owner tag */
	GPtrArray *docs;  /* VwDoc*: the port's domain, parsed */
	GPtrArray *doms;  /* VwPlanDomain*: the port's domain as planner input */
	VwNftResult *res; /* what the firewall change did */
} Port;

/* The network's record; false without an error for a network virtwire
 * does not manage, or a port change that changes nothing. */
static bool port_record(Port *p, GError **error)
{
	g_autoptr(GError) err = NULL;

	if (!vw_store_load(p->e->store, p->req->network, &p->st, &err)) {
		if (!g_error_matches(err, VW_ERROR, VW_ERROR_NOT_FOUND))
			g_propagate_error(error, g_steal_pointer(&err));
		return false;
	}
	p->was = vw_state_copy(p->st);
	p->owner = vw_plan_port_owner(p->st->id, p->req->port_uuid);
	if (p->req->add) {
		g_autofree char *xml = NULL;
		bool known = vw_state_find_port(p->st, p->req->port_uuid) != NULL;
		VwStatePort *sp;

		/* No record of the domain: it has no forwards (its prepare
		 * hook records the ones that have). */
		if (!vw_store_load_domain(p->e->store, p->req->domain_uuid, &xml, NULL))
			return false;
		sp = vw_state_add_port(p->st, p->req->port_uuid, p->req->domain_uuid, p->req->mac);
		/* A new port has nothing in the kernel yet. */
		if (!known)
			sp->elems = g_strdup("");
		return true;
	}
	if (!vw_state_find_port(p->st, p->req->port_uuid))
		return false;
	vw_state_remove_port(p->st, p->req->port_uuid);
	return true;
}

/* The plan of @net with the port's domain (when it comes), or NULL with
 * the planner's findings as the error. */
static VwPlan *port_plan(Port *p, VwNetwork *net, GError **error)
{
	g_autoptr(GPtrArray) nets = g_ptr_array_new();
	g_autoptr(VwDiags) diags = vw_diags_new();
	VwPlan *plan;

	g_ptr_array_add(nets, net);
	if (p->req->add && !p->doms->len) {
		VwState one = *p->st;
		g_autoptr(GPtrArray) only = g_ptr_array_new();

		g_ptr_array_add(only, vw_state_find_port(p->st, p->req->port_uuid));
		one.ports = only;
		vw_eng_recorded_ports(p->e, &one, p->docs, p->doms);
	}
	if (!(plan = vw_plan_build(nets, p->req->add ? p->doms : NULL, diags))) {
		g_autofree char *t = vw_diags_format_text(diags);

		g_set_error(error, VW_ERROR, VW_ERROR_INVALID, "%s", g_strchomp(t));
		return NULL;
	}
	if (p->req->add && p->req->diags)
		vw_eng_warn_listeners(p->e, nets, p->doms, false, p->req->diags);
	vw_eng_plan_hostfw(p->e, plan);
	return plan;
}

/* The port's elements as @plan has them, into its record (a port that
 * goes takes its own with it). */
static void note_elems(Port *p, const VwPlan *plan)
{
	VwStatePort *sp = vw_state_find_port(p->st, p->req->port_uuid);

	if (sp) {
		g_free(sp->elems);
		sp->elems = plan ? vw_nft_port_elems(plan, p->owner) : NULL;
	}
}

/* What the firewall change did, after it: repairs logged, the network's
 * generation record, the connections of forwards taken away ended. */
static void port_done(Port *p, const char *digest)
{
	g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) digests = g_ptr_array_new();
	guint ended;

	for (guint i = 0; i < p->res->drift->len; i++) {
		const VwDrift *d = p->res->drift->pdata[i];

		vw_log_change(p->st->name, d->object, "repaired: %s", d->what);
	}
	/* The network's part changed with its port: what the kernel holds of
	 * it stays known only when it was known before (@digest). */
	g_ptr_array_add(ids, g_strdup(p->st->id));
	g_ptr_array_add(digests, (gpointer)digest);
	if (p->res->messages || !digest)
		vw_store_gen_update(p->e->store, p->res, ids, digest ? digests : NULL);
	/* The port's forwards are gone (a guest stopped): so are their
	 * connections. Best effort, as a hook has no one to warn. */
	vw_eng_end_connections(p->e, p->res, &ended, NULL);
}

/* A name for what the kernel holds of the network after a port's change
 * from a known state: not any plan's digest (a later apply compares its
 * plan's, finds it different and reconciles), but recorded, so the next
 * port's change knows the kernel is still as the records say. */
static char *delta_digest(const Port *p)
{
	const VwStatePort *sp = vw_state_find_port(p->st, p->req->port_uuid);
	g_autofree char *s = g_strdup_printf("virtwire-port-delta %s %s %s %u", p->st->id, p->owner,
					     sp && sp->elems ? sp->elems : "-", p->res->gen_after);

	return g_compute_checksum_for_string(G_CHECKSUM_SHA256, s, -1);
}

/* The full path: the network's record parsed whole and planned with the
 * port, the table read, the port's scope reconciled. Record first, kernel
 * after. */
static bool port_full(Port *p, GError **error)
{
	g_autoptr(GPtrArray) scope = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) states = g_ptr_array_new();
	g_autoptr(VwPlan) plan = NULL;
	VwOwnerWords words = { p->e, states };
	VwNftRequest rq = { scope, VW_NFT_RELEASED, vw_eng_owner_words, &words, p->e->cfg.faults };
	const VwNftBackend *nft;
	g_autofree char *digest = NULL;
	guint32 gen;

	if (!(p->netdoc = vw_eng_parse_record(p->e, p->st, error)) || !(plan = port_plan(p, p->netdoc->network, error)))
		return false;
	note_elems(p, plan);
	if (!vw_store_save(p->e->store, p->st, error))
		return false;
	if (!vw_plan_has_tables(plan))
		return true;
	g_ptr_array_add(states, p->st);
	g_ptr_array_add(scope, g_strdup(p->owner));
	if (!(nft = vw_eng_nft(p->e, error)) || !vw_nft_reconcile(nft, plan, &rq, &p->res, error))
		return false;
	/* Read at the generation virtwire's last commit left, the network
	 * was as recorded, and its port is as planned now: a later port's
	 * delta can rely on that (not when someone else had committed). */
	if (vw_store_gen_of(p->e->store, p->st->id, &gen) && p->res->have_gen && gen == p->res->gen_before)
		digest = delta_digest(p);
	port_done(p, digest);
	return true;
}

/* The plan a delta needs: the port's domain on the network without its own
 * forwards (the port coming), or the table's bare layout (going); NULL
 * when it cannot be had without parsing the whole network. */
static VwPlan *delta_plan(Port *p)
{
	g_autoptr(VwDoc) base = NULL;

	if (!p->req->add)
		return vw_plan_skeleton();
	if (!(base = vw_eng_parse_record_base(p->e, p->st)))
		return NULL;
	return port_plan(p, base->network, NULL);
}

/* The delta path (nft-delta.c): while the ruleset is at the generation the
 * network was recorded at and the port's elements there are known, only
 * they are asked for and changed. *@done false, nothing changed: take the
 * full path. */
static bool port_delta(Port *p, bool *done, GError **error)
{
	const VwStatePort *was = vw_state_find_port(p->was, p->req->port_uuid);
	g_autoptr(VwPlan) plan = NULL;
	g_autofree char *digest = NULL;
	VwNftDelta rq = { p->owner, 0, was ? was->elems : "", p->e->cfg.faults };
	const VwNftBackend *nft;
	bool undecided;

	*done = false;
	/* An apply under way or interrupted: the kernel may be of either. */
	if (p->st->pending || (was && !was->elems) || !vw_store_gen_of(p->e->store, p->st->id, &rq.gen) ||
	    !(plan = delta_plan(p)) || !vw_plan_has_tables(plan) || !(nft = vw_eng_nft(p->e, NULL)))
		return true;
	note_elems(p, p->req->add ? plan : NULL);
	if (p->req->add && !vw_state_find_port(p->st, p->req->port_uuid)->elems)
		return true;
	if (!vw_store_save(p->e->store, p->st, error))
		return false;
	if (!vw_nft_delta(nft, plan, &rq, &p->res, &undecided, error))
		return undecided;
	vw_eng_stage(p->e, "delta");
	digest = delta_digest(p);
	port_done(p, digest);
	*done = true;
	return true;
}

bool vw_engine_port(VwEngine *e, const VwPortRequest *req, GError **error)
{
	Port p = { e, req, .docs = g_ptr_array_new_with_free_func((GDestroyNotify)vw_doc_free),
		   .doms = g_ptr_array_new_with_free_func(g_free) };
	g_autoptr(GError) err = NULL;
	bool ok = false, done = false;

	if (!req->network || !req->port_uuid || !req->domain_uuid || !req->mac)
		return true; /* not a port of anything virtwire could manage */
	vw_eng_stage(e, "start");
	if (!vw_eng_lock(e, error))
		return false;
	if (!port_record(&p, &err)) {
		ok = err == NULL;
	} else {
		ok = port_delta(&p, &done, &err) && (done || port_full(&p, &err));
		if (!ok)
			vw_store_save(e->store, p.was, NULL);
	}
	if (err)
		g_propagate_error(error, g_steal_pointer(&err));
	vw_eng_unlock(e);
	vw_state_free(p.st);
	vw_state_free(p.was);
	vw_doc_free(p.netdoc);
	g_free(p.owner);
	g_ptr_array_unref(p.doms);
	g_ptr_array_unref(p.docs);
	vw_nft_result_free(p.res);
	return ok;
}

/* ---------------------------------------------------------------------- */
/* A port's hookData, read as the record's plus one port */

/* The start tag of the <network> at @off in @s (@n bytes), without the
 * connections='N' libvirt puts there while guests are plugged. *@end: past
 * the tag. */
static GString *network_tag(const char *s, gsize n, gsize off, gsize *end)
{
	const char *e = memchr(s + off, '>', n - off);
	GString *t;
	char *c;

	if (!e || memchr(s + off, '"', (gsize)(e - s) - off))
		return NULL;
	*end = (gsize)(e - s) + 1;
	t = g_string_new_len(s + off, (gssize)(*end - off));
	if ((c = strstr(t->str, " connections='"))) {
		gsize at = (gsize)(c - t->str), len = strlen(" connections='");

		while (g_ascii_isdigit(t->str[at + len]))
			len++;
		if (t->str[at + len] == '\'')
			g_string_erase(t, (gssize)at, (gssize)len + 1);
	}
	return t;
}

/* The part of @x (@xn bytes) that is not @r (@rn bytes, the record's
 * hookData): the record's network (its tag's connections aside), then
 * something, then the record's end from its last </hookData>. */
static bool inserted(const char *r, gsize rn, const char *x, gsize xn, const char **ins, gsize *insn)
{
	const char *at = memmem(r, rn, "<network", 8), *close = NULL;
	gsize off, rend, xend, tail, body;
	g_autoptr(GString) rt = NULL;
	g_autoptr(GString) xt = NULL;

	if (!g_str_has_prefix(r, "<hookData>") || !at || xn < (gsize)(at - r) + 8 ||
	    memcmp(r, x, (gsize)(at - r) + 8) != 0)
		return false;
	off = (gsize)(at - r);
	if (!(rt = network_tag(r, rn, off, &rend)) || !(xt = network_tag(x, xn, off, &xend)) || !g_string_equal(rt, xt))
		return false;
	for (const char *p = r + rend; (p = memmem(p, rn - (gsize)(p - r), "</hookData>", 11)); p++)
		close = p;
	if (!close)
		return false;
	body = (gsize)(close - r) - rend;
	tail = rn - (gsize)(close - r);
	if (xn < xend + body + tail || memcmp(r + rend, x + xend, body) != 0 || memcmp(close, x + xn - tail, tail) != 0)
		return false;
	*ins = x + xend + body;
	*insn = xn - tail - xend - body;
	return true;
}

bool vw_engine_port_hookdata(VwEngine *e, const char *name, const char *xml, gsize len, bool add, VwDiags *diags,
			     bool *handled, GError **error)
{
	g_autoptr(VwState) st = NULL;
	g_autoptr(VwDoc) doc = NULL;
	g_autoptr(VwDiags) d = vw_diags_new();
	g_autofree char *part = NULL;
	char mac[VW_MAC_STRLEN];
	const char *ins;
	gsize n;
	const VwNetPort *p;
	VwPortRequest req;

	*handled = false;
	if (!name || !vw_eng_store(e, false, NULL) || !vw_store_load(e->store, name, &st, NULL) || !st->xml ||
	    !inserted(st->xml, strlen(st->xml), xml, len, &ins, &n))
		return true;
	part = g_strchomp(g_strchug(g_strndup(ins, n)));
	/* Exactly one <networkport> element, which alone is parsed. */
	if (!g_str_has_prefix(part, "<networkport") || !g_str_has_suffix(part, "</networkport>") ||
	    vw_doc_load_libvirt("network XML", part, strlen(part), NULL, d, &doc) != VW_LOAD_OK || !(p = doc->port) ||
	    !p->uuid || !p->owner_uuid || !p->has_mac)
		return true;
	*handled = true;
	req = (VwPortRequest){ name, p->uuid, p->owner_uuid, vw_mac_to_string(&p->mac, mac), add, diags };
	return vw_engine_port(e, &req, error);
}

bool vw_engine_port_flags(VwEngine *e, const char *network, const char *tap, GError **error)
{
	g_autoptr(VwState) st = NULL;
	g_autoptr(VwDoc) doc = NULL;
	g_autoptr(GError) lerr = NULL;

	if (!vw_eng_store(e, false, &lerr) || !vw_store_load(e->store, network, &st, &lerr) ||
	    !(doc = vw_eng_parse_record(e, st, &lerr))) {
		/* Not a network of virtwire's: nothing to do. */
		if (g_error_matches(lerr, VW_ERROR, VW_ERROR_NOT_FOUND))
			return true;
		g_propagate_error(error, g_steal_pointer(&lerr));
		return false;
	}
	return vw_eng_port_flags(e, doc->network, tap, NULL, error);
}

bool vw_eng_wants_port_flags(const VwNetwork *net, int *hairpin, int *isolated)
{
	VwMode mode = vw_network_effective_mode(net);

	*hairpin = (mode == VW_MODE_NAT || mode == VW_MODE_ROUTE) && vw_network_hairpin(net) ? 1 : -1;
	*isolated = net->port_isolated == VW_TRI_YES ? 1 : -1;
	return *hairpin >= 0 || *isolated >= 0;
}

bool vw_eng_port_flags(VwEngine *e, const VwNetwork *net, const char *tap, bool *changed, GError **error)
{
	const VwLinkBackend *be;
	VwLinkInfo li;
	int hairpin, isolated, err;

	if (changed)
		*changed = false;
	if (!vw_eng_wants_port_flags(net, &hairpin, &isolated))
		return true;
	if (!(be = vw_eng_links(e, error)))
		return false;
	if (be->link_get(be->ctx, tap, &li) != 0)
		return true; /* gone already */
	if ((hairpin < 0 || li.hairpin == (hairpin > 0)) && (isolated < 0 || li.isolated == (isolated > 0)))
		return true;
	err = be->port_flags(be->ctx, tap, hairpin, isolated);
	if (err)
		return vw_set_errno(error, err, be->last_error ? be->last_error(be->ctx) : NULL,
				    "cannot set the bridge port flags of %s", tap);
	if (changed)
		*changed = true;
	vw_log_change(net->name, tap, "bridge port flags set (hairpin %s, isolated %s)",
		      hairpin < 0 ? "as it was"
		      : hairpin	  ? "on"
				  : "off",
		      isolated < 0 ? "as it was"
		      : isolated   ? "on"
				   : "off");
	return true;
}

bool vw_engine_release_domain(VwEngine *e, const char *uuid, GError **error)
{
	g_autoptr(GPtrArray) names = NULL;
	bool ok = true;

	if (!vw_eng_store(e, false, NULL))
		return true;
	/* The XML at release has no portid any more: the records say which
	 * ports were the domain's. */
	names = vw_store_list(e->store);
	for (guint i = 0; i < names->len; i++) {
		g_autoptr(VwState) st = NULL;
		g_autoptr(GError) lerr = NULL;

		/* A damaged record names no port of the domain's that could be
		 * removed: its network's teardown goes by the kernel. */
		if (!vw_store_load(e->store, names->pdata[i], &st, &lerr))
			continue;
		for (guint j = 0; j < st->ports->len; j++) {
			const VwStatePort *p = st->ports->pdata[j];
			VwPortRequest req = { st->name, p->uuid, p->domain_uuid, p->mac, false };
			g_autoptr(GError) err = NULL;

			if (g_strcmp0(p->domain_uuid, uuid) != 0 || vw_engine_port(e, &req, &err))
				continue;
			if (ok)
				g_propagate_error(error, g_steal_pointer(&err));
			ok = false;
		}
	}
	return vw_store_remove_domain(e->store, uuid, ok ? error : NULL) && ok;
}
