/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The forwards a batch takes away: the elements of the forward maps that
 * the kernel held before the batch and does not hold after it with the same
 * target — deleted (a forward removed, a port's forwards, a network gone),
 * or replaced with other data (a forward re-pointed). An element deleted
 * and added again with the same target (a forward moving to another owner)
 * keeps its connections.
 *
 * It mirrors what the diff decides (nft-reconcile.c), from the kernel's
 * table as read for the batch and the plan, so it needs nothing of the
 * batch itself.
 */
#include <string.h>

#include "nft-private.h"

/* An owner is in scope when listed, or when "NET:*" is listed and the owner
 * is NET or one of NET's ports. Skeleton elements (no owner) always are. */
bool vw_nft_owner_in_scope(const char *owner, GPtrArray *scope)
{
	if (!owner)
		return true;
	for (guint i = 0; scope && i < scope->len; i++) {
		const char *s = scope->pdata[i];
		size_t n = strlen(s);

		if (n >= 2 && strcmp(s + n - 2, ":*") == 0) {
			if (strncmp(owner, s, n - 2) == 0 && (owner[n - 2] == '\0' || owner[n - 2] == ':'))
				return true;
		} else if (strcmp(owner, s) == 0) {
			return true;
		}
	}
	return false;
}

/* The maps a forward's DNAT looks up (plan-nft.c): key protocol [. listen
 * address] . host port, data target . port. */
static const struct {
	const char *name;
	int family;
	VwListen listen;
} fwd_maps[] = {
	{ "fwd4", AF_INET, VW_LISTEN_ADDRESS },	   { "fwd4any", AF_INET, VW_LISTEN_ANY },
	{ "fwd4lo", AF_INET, VW_LISTEN_LOOPBACK }, { "fwd6", AF_INET6, VW_LISTEN_ADDRESS },
	{ "fwd6any", AF_INET6, VW_LISTEN_ANY },
};

void vw_released_free(VwReleased *r)
{
	if (!r)
		return;
	g_free(r->owner);
	g_free(r);
}

char *vw_released_describe(const VwReleased *r)
{
	char a[VW_ADDR_STRLEN], t[VW_ADDR_STRLEN];
	bool v6 = r->family == AF_INET6;
	const char *listen = r->listen == VW_LISTEN_ADDRESS    ? vw_addr_to_string(&r->address, a)
			     : r->listen == VW_LISTEN_LOOPBACK ? "127.0.0.0/8"
							       : "*";

	vw_addr_to_string(&r->target, t);
	return g_strdup_printf("%s %s%s%s:%u → %s%s%s:%u", vw_proto_to_string((VwProto)r->proto),
			       v6 && r->listen == VW_LISTEN_ADDRESS ? "[" : "", listen,
			       v6 && r->listen == VW_LISTEN_ADDRESS ? "]" : "", r->port, v6 ? "[" : "", t,
			       v6 ? "]" : "", r->target_port);
}

static uint16_t get_port(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}

/* A kernel element of a forward map as a forward; NULL when it is not of
 * the map's layout. */
static VwReleased *released_of(const VwKElem *k, int family, VwListen listen)
{
	unsigned alen = vw_addr_len(family);
	bool has_addr = listen == VW_LISTEN_ADDRESS;
	VwReleased *r;

	/* Protocol and port take 4 bytes each in a concatenation. */
	if (k->key_len != 8 + (has_addr ? alen : 0) || k->data_len != alen + 4)
		return NULL;
	r = g_new0(VwReleased, 1);
	r->family = family;
	r->proto = k->key[0];
	r->listen = listen;
	if (has_addr) {
		r->address.family = family;
		memcpy(r->address.b, k->key + 4, alen);
	}
	r->port = get_port(k->key + 4 + (has_addr ? alen : 0));
	r->target.family = family;
	memcpy(r->target.b, k->data, alen);
	r->target_port = get_port(k->data + alen);
	r->owner = g_strdup(k->owner);
	return r;
}

/* The plan's element of @s with @k's key, if any. */
static const VwElem *planned(const VwSet *s, const VwKElem *k)
{
	/* The kernel's bytes, read in place: the index compares keys only. */
	VwElem probe = { .key = (uint8_t *)k->key,
			 .key_len = k->key_len,
			 .key_end = (uint8_t *)k->key_end,
			 .key_end_len = k->key_end_len,
			 .flags = k->flags };

	if (!s)
		return NULL;
	return vw_set_find(s, &probe);
}

/* Whether the batch takes kernel element @k of @s away. */
static bool takes_away(const VwSet *s, const VwKElem *k, const VwNftRequest *req)
{
	bool rebuild = (req->flags & VW_NFT_REBUILD) != 0;
	const VwElem *d;

	if (req->flags & VW_NFT_DELETE_TABLE)
		return true;
	/* Out of scope, it stays (a rebuild re-creates everything). */
	if (!rebuild && !vw_nft_owner_in_scope(k->owner, req->scope))
		return false;
	d = planned(s, k);
	if (!d)
		return true;
	/* The plan's element with that key is another owner's, not being
	 * changed now: the kernel's stays as it is. */
	if (!rebuild && !vw_nft_owner_in_scope(d->owner, req->scope))
		return false;
	return d->data_len != k->data_len || memcmp(d->data, k->data, k->data_len) != 0;
}

typedef struct {
	const VwSet *set; /* the plan's map, or NULL */
	const VwNftRequest *req;
	int family;
	VwListen listen;
	GPtrArray *out;
} Walk;

static void released_cb(gpointer key, gpointer value, gpointer data)
{
	Walk *w = data;
	VwReleased *r;

	if (takes_away(w->set, key, w->req) && (r = released_of(key, w->family, w->listen)))
		g_ptr_array_add(w->out, r);
}

void vw_nft_released(const VwPlan *plan, const VwKTable *kt, const VwNftRequest *req, GPtrArray *out)
{
	for (size_t i = 0; kt->exists && i < G_N_ELEMENTS(fwd_maps); i++) {
		const VwKSet *ks = g_hash_table_lookup(kt->sets, fwd_maps[i].name);
		Walk w = { plan ? vw_plan_find_set(plan, fwd_maps[i].name) : NULL, req, fwd_maps[i].family,
			   fwd_maps[i].listen, out };

		if (ks)
			g_hash_table_foreach(ks->elems, released_cb, &w);
	}
}

VwReleased *vw_nft_released_elem(const char *set, const VwKElem *k)
{
	for (size_t i = 0; set && i < G_N_ELEMENTS(fwd_maps); i++)
		if (strcmp(fwd_maps[i].name, set) == 0)
			return released_of(k, fwd_maps[i].family, fwd_maps[i].listen);
	return NULL;
}
