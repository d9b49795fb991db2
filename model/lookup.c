/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Lookups on the model that more than one layer needs, computed once. */
#include <virtwire/model.h>

bool vw_forward_target(const VwNetwork *net, const VwForward *fwd, int family, VwAddr *ret)
{
	const VwDhcpHost *h;
	const VwAddr *seen;

	if (vw_addr_is_set(&fwd->guest_addr)) {
		if (fwd->guest_addr.family != family)
			return false;
		*ret = fwd->guest_addr;
		return true;
	}
	if (!fwd->has_guest_mac)
		return false;
	h = vw_network_find_reservation(net, &fwd->guest_mac, family);
	if (h) {
		*ret = h->ip;
		return true;
	}
	/* No reservation: where the guest was seen, if anywhere. */
	seen = vw_network_find_learned(net, &fwd->guest_mac, family);
	if (!seen)
		return false;
	*ret = *seen;
	return true;
}

unsigned vw_forward_families(const VwNetwork *net, const VwForward *fwd)
{
	unsigned fams = 0;
	VwAddr a;

	if (vw_forward_target(net, fwd, AF_INET, &a))
		fams |= VW_FAM_V4;
	if (vw_forward_target(net, fwd, AF_INET6, &a))
		fams |= VW_FAM_V6;
	if (vw_addr_is_set(&fwd->listen))
		fams &= fwd->listen.family == AF_INET ? VW_FAM_V4 : VW_FAM_V6;
	return fams;
}

uint16_t vw_forward_guest_port(const VwForward *f, unsigned i)
{
	if (!f->has_guest_port)
		return (uint16_t)(f->host.lo + i);
	return (uint16_t)(f->guest.lo + (vw_port_range_len(f->guest) > 1 ? i : 0));
}
