/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * control="evpn": the remote VTEPs of a spanning network are FRR's, not
 * the XML's. zebra installs one all-zeros entry per remote VTEP in the
 * VXLAN device's forwarding database (from the other hosts' BGP EVPN
 * type-3 routes); every plan made of the network (apply, restore, verify,
 * the hooks) reads them there, so the underlay admits VXLAN from exactly
 * the hosts zebra floods to. virtwire watch re-applies the firewall when
 * zebra's entries come or go (engine/watch.c); docs/spanning.md#evpn says
 * what happens while watch does not run.
 */
#include "engine-private.h"

static gboolean has_addr(GArray *a, const VwAddr *x)
{
	for (guint i = 0; i < a->len; i++)
		if (vw_addr_equal(&g_array_index(a, VwAddr, i), x))
			return TRUE;
	return FALSE;
}

GArray *vw_eng_evpn_vteps(const VwLinkBackend *be, const char *dev)
{
	g_autoptr(GArray) fdb = g_array_new(FALSE, TRUE, sizeof(VwFdbEntry));
	GArray *vteps = g_array_new(FALSE, TRUE, sizeof(VwAddr));
	static const VwMac zero = { { 0 } };
	VwLinkInfo li;

	/* Only a VXLAN device's entries: another device of that name
	 * (refused by apply) floods to nobody of the network's. */
	if (be->link_get(be->ctx, dev, &li) != 0 || g_strcmp0(li.kind, "vxlan") != 0 || !be->fdb_list ||
	    be->fdb_list(be->ctx, dev, fdb) != 0)
		return vteps;
	for (guint i = 0; i < fdb->len; i++) {
		const VwFdbEntry *f = &g_array_index(fdb, VwFdbEntry, i);

		if (vw_mac_equal(&f->mac, &zero) && vw_addr_is_set(&f->dst) && !has_addr(vteps, &f->dst))
			g_array_append_val(vteps, f->dst);
	}
	return vteps;
}

void vw_eng_add_evpn_vteps(VwEngine *e, VwNetwork *net)
{
	VwSpan *s = net->vw ? net->vw->span : NULL;
	g_autofree char *dev = NULL;
	const VwLinkBackend *be;

	if (!s || s->control != VW_SPAN_EVPN || !s->vni || !(be = vw_eng_links(e, NULL)))
		return;
	dev = vw_span_device(s);
	if (s->vteps)
		g_array_unref(s->vteps);
	s->vteps = vw_eng_evpn_vteps(be, dev);
}
