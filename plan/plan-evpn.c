/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Spanning networks with control="evpn" (docs/spanning.md#evpn): FRR's
 * zebra finds the VXLAN device on the bridge and installs the other hosts
 * (an all-zeros entry per remote VTEP, from BGP EVPN type-3 routes) and
 * their guests' MACs (type-2 routes) in its forwarding database. virtwire
 * makes the device with learning off, the bridge port with learning off and
 * neighbour suppression on, and writes no forwarding entry: they are all
 * zebra's. The underlay admits VXLAN from the remote VTEPs the kernel has
 * when the plan is made (VwSpan.vteps, filled by the engine): the same
 * elements a static network's peers have.
 */
#include "plan-private.h"

void vw_plan_evpn_link(VwLinkOp *o, const VwNetwork *net, const VwSpan *s, unsigned over)
{
	g_autofree char *mtu = NULL;

	o->learning = false;
	o->evpn = true;
	o->mtu = net->mtu;
	o->isolated = net->port_isolated == VW_TRI_YES ? 1 : -1;
	if (net->mtu)
		mtu = g_strdup_printf("MTU %u (%s needs an MTU of %u or more)", net->mtu, s->underlay, net->mtu + over);
	else
		mtu = g_strdup_printf("MTU of %s less %u (%s's too)", s->underlay, over, net->bridge);
	o->text = g_strdup_printf(
		"vxlan %s: create if missing, VNI %u, UDP port %u, local IPv4 address of %s, learning "
		"off, %s, port of %s%s with learning off and neighbour suppression on, up; "
		"peers and remote MACs: FRR's zebra (BGP EVPN)",
		o->dev, s->vni, s->port, s->underlay, mtu, net->bridge, o->isolated > 0 ? " (isolated)" : "");
}

void vw_plan_evpn_elements(VwTable *t, const char *id, const VwSpan *s, VwPlanPeerFn add)
{
	if (s->control != VW_SPAN_EVPN || !s->vteps)
		return;
	for (guint i = 0; i < s->vteps->len; i++)
		add(t, id, s, &g_array_index(s->vteps, VwAddr, i));
}
