/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A network that spans hosts over VXLAN (vw:span): what the checker, the
 * planner and the engine compute from it in the same way. */
#include <virtwire/model.h>

void vw_span_free(VwSpan *s)
{
	if (!s)
		return;
	g_free(s->underlay);
	if (s->peers)
		g_ptr_array_unref(s->peers);
	if (s->vteps)
		g_array_unref(s->vteps);
	g_free(s);
}

const char *vw_span_control_to_string(VwSpanControl c)
{
	switch (c) {
	case VW_SPAN_STATIC:
		return "static";
	case VW_SPAN_EVPN:
		return "evpn";
	}
	return "?";
}

unsigned vw_span_overhead(int family)
{
	/* Ethernet 14 + IPv4 20 (IPv6 40) + UDP 8 + VXLAN 8. */
	return family == AF_INET6 ? 70 : 50;
}

int vw_span_family(const VwSpan *s)
{
	for (guint i = 0; s->peers && i < s->peers->len; i++) {
		const VwPeer *p = s->peers->pdata[i];

		if (vw_addr_is_set(&p->address))
			return p->address.family;
	}
	return AF_INET;
}

char *vw_span_device(const VwSpan *s)
{
	return g_strdup_printf("vw%u", s->vni);
}
