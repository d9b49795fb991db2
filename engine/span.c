/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A spanning network's VXLAN device and its forwarding database, read back
 * for `virtwire status`: the peers it floods to and the remote guests'
 * MACs it learned behind them. */
#include "engine-private.h"

void vw_status_span_free(VwStatusSpan *s)
{
	if (!s)
		return;
	g_free(s->device);
	g_free(s->underlay);
	g_ptr_array_unref(s->peers);
	g_ptr_array_unref(s->remote);
	g_free(s);
}

static void read_fdb(const VwLinkBackend *be, VwStatusSpan *s)
{
	g_autoptr(GArray) fdb = g_array_new(FALSE, TRUE, sizeof(VwFdbEntry));
	static const VwMac zero = { { 0 } };

	if (!be->fdb_list || be->fdb_list(be->ctx, s->device, fdb) != 0)
		return;
	for (guint i = 0; i < fdb->len; i++) {
		const VwFdbEntry *f = &g_array_index(fdb, VwFdbEntry, i);
		char a[VW_ADDR_STRLEN], m[VW_MAC_STRLEN];

		vw_addr_to_string(&f->dst, a);
		if (vw_mac_equal(&f->mac, &zero))
			g_ptr_array_add(s->peers, g_strdup(a));
		else
			g_ptr_array_add(s->remote, g_strdup_printf("%s %s", vw_mac_to_string(&f->mac, m), a));
	}
}

VwStatusSpan *vw_eng_status_span(const VwLinkBackend *be, const VwNetwork *net)
{
	const VwSpan *span = net && net->vw ? net->vw->span : NULL;
	VwStatusSpan *s;
	VwLinkInfo li;

	if (!span || !span->vni)
		return NULL;
	s = g_new0(VwStatusSpan, 1);
	s->device = vw_span_device(span);
	s->underlay = g_strdup(span->underlay);
	s->vni = span->vni;
	s->port = span->port;
	s->evpn = span->control == VW_SPAN_EVPN;
	s->peers = g_ptr_array_new_with_free_func(g_free);
	s->remote = g_ptr_array_new_with_free_func(g_free);
	if (be->link_get(be->ctx, s->device, &li) != 0 || g_strcmp0(li.kind, "vxlan") != 0)
		return s;
	s->present = true;
	s->up = li.up;
	s->local = li.vxlan_local;
	read_fdb(be, s);
	return s;
}
