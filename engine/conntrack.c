/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * No stale traffic: a forward's DNAT holds for a connection's whole life,
 * so when a reconcile takes a forward away (removed, re-pointed, its port
 * or network gone), the connections it admitted are ended, after the
 * batch committed. Ending them is best effort: the firewall change stands
 * whatever conntrack says.
 */
#include <string.h>

#include "engine-private.h"

static const VwCtBackend *eng_ct(VwEngine *e, GError **error)
{
	if (e->cfg.conntrack)
		return e->cfg.conntrack;
	/* A fake nftables kernel (a test's) has no conntrack table, and the
	 * real one is not its. */
	if (e->cfg.nft)
		return NULL;
	if (!e->own_ct)
		e->own_ct = vw_ct_backend_netlink(error);
	return e->own_ct;
}

bool vw_eng_end_connections(VwEngine *e, VwNftResult *res, guint *ended, GError **error)
{
	g_autoptr(GError) err = NULL;
	const VwCtBackend *ct;

	*ended = 0;
	if (!res || !res->released || !res->released->len)
		return true;
	ct = eng_ct(e, &err);
	if (!ct && err) {
		g_propagate_prefixed_error(error, g_steal_pointer(&err), "connections of forwards that went away: ");
		return false;
	}
	if (ct && !vw_ct_end(ct, res->released, ended, &err)) {
		g_propagate_prefixed_error(error, g_steal_pointer(&err),
					   "connections of forwards that went away may go on (%u ended): ", *ended);
		return false;
	}
	return true;
}

guint vw_eng_connections_of(const VwNftResult *res, const char *id)
{
	size_t n = strlen(id);
	guint sum = 0;

	for (guint i = 0; res && res->released && i < res->released->len; i++) {
		const VwReleased *r = res->released->pdata[i];

		if (r->owner && strncmp(r->owner, id, n) == 0 && (r->owner[n] == '\0' || r->owner[n] == ':'))
			sum += r->connections;
	}
	return sum;
}

void vw_eng_report_connections(VwApplyReport *rep, const VwNftResult *res, guint ended, const GError *err)
{
	if (!res || !res->released || !res->released->len)
		return;
	rep->connections = ended;
	if (ended)
		g_ptr_array_add(rep->changes,
				g_strdup_printf("conntrack: %u connection%s ended (their forward was removed or "
						"re-pointed)",
						ended, ended == 1 ? "" : "s"));
	else
		g_ptr_array_add(rep->changes,
				g_strdup("conntrack: no connection of the forwards removed or re-pointed was open"));
	if (err)
		g_ptr_array_add(rep->changes, g_strdup_printf("warning: %s", err->message));
}
