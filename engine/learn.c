/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Learned addresses: a forward by guest-mac without a DHCP reservation, in a
 * network with <vw:learn-addresses enabled='yes'/>, targets the address the
 * guest is seen using on the bridge. virtwire watch records what it sees in
 * the state directory; every plan made there (apply, restore, the hooks,
 * verify) adds it to the network, so all of them forward to the same guest.
 */
#include <string.h>

#include "engine-private.h"

static GPtrArray *learned(VwEngine *e)
{
	g_autoptr(GError) err = NULL;

	if (!e->learned && e->store && !vw_store_load_learned(e->store, &e->learned, &err))
		/* A damaged file is as good as none: watch writes it anew. */
		e->learned = g_ptr_array_new_with_free_func((GDestroyNotify)vw_learned_free);
	return e->learned;
}

void vw_eng_forget_learned(VwEngine *e)
{
	g_clear_pointer(&e->learned, g_ptr_array_unref);
}

/* An address a guest of @net may use: inside one of its subnets, and not
 * the host's own address there. */
static bool guest_address(const VwNetwork *net, const VwAddr *a)
{
	const VwIp *ip = vw_network_find_ip(net, a);

	return ip && !vw_addr_equal(&ip->address, a);
}

void vw_eng_add_learned(VwEngine *e, VwNetwork *net)
{
	GPtrArray *all;
	g_autofree char *id = NULL;

	vw_eng_add_evpn_vteps(e, net);
	if (!net->name || !vw_network_learns(net) || !(all = learned(e)))
		return;
	id = vw_plan_network_id(net->name);
	for (guint i = 0; i < all->len; i++) {
		const VwLearned *l = all->pdata[i];

		if (strcmp(l->id, id) == 0 && guest_address(net, &l->addr))
			vw_network_learn(net, &l->mac, &l->addr);
	}
}

/* The ids of the recorded networks. */
static GHashTable *recorded_ids(VwEngine *e)
{
	GHashTable *ids = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	g_autoptr(GPtrArray) names = vw_store_list(e->store);

	for (guint i = 0; i < names->len; i++)
		g_hash_table_add(ids, vw_plan_network_id(names->pdata[i]));
	return ids;
}

/* @entries with @id's entry for @mac in @addr's family set to @addr, and
 * without entries of networks that have no record. */
static bool learn_into(GPtrArray *entries, GHashTable *ids, const char *id, const VwMac *mac, const VwAddr *addr)
{
	bool found = false, changed = false;

	for (guint i = entries->len; i-- > 0;) {
		VwLearned *l = entries->pdata[i];

		if (!g_hash_table_contains(ids, l->id)) {
			g_ptr_array_remove_index(entries, i);
			changed = true;
		} else if (strcmp(l->id, id) == 0 && vw_mac_equal(&l->mac, mac) && l->addr.family == addr->family) {
			found = true;
			changed |= !vw_addr_equal(&l->addr, addr);
			l->addr = *addr;
		}
	}
	if (!found)
		g_ptr_array_add(entries, vw_learned_new(id, mac, addr));
	return changed || !found;
}

bool vw_eng_learn(VwEngine *e, const char *name, const VwMac *mac, const VwAddr *addr, bool *changed, GError **error)
{
	g_autoptr(GPtrArray) entries = NULL;
	g_autoptr(GHashTable) ids = NULL;
	g_autofree char *id = vw_plan_network_id(name);
	g_autoptr(GError) err = NULL;
	bool ok = true;

	*changed = false;
	if (!vw_eng_lock(e, error))
		return false;
	if (!vw_store_load_learned(e->store, &entries, &err))
		entries = g_ptr_array_new_with_free_func((GDestroyNotify)vw_learned_free);
	ids = recorded_ids(e);
	if (g_hash_table_contains(ids, id) && learn_into(entries, ids, id, mac, addr)) {
		ok = vw_store_save_learned(e->store, entries, error);
		*changed = ok;
	}
	vw_eng_forget_learned(e);
	vw_eng_unlock(e);
	return ok;
}

char *vw_eng_learned_of(VwEngine *e, const char *id)
{
	GPtrArray *all = learned(e);
	g_autoptr(GPtrArray) own = g_ptr_array_new();

	for (guint i = 0; all && i < all->len; i++)
		if (strcmp(((const VwLearned *)all->pdata[i])->id, id) == 0)
			g_ptr_array_add(own, all->pdata[i]);
	return vw_learned_format(own);
}
