/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The connections of forwards that went away: found in a dump of the
 * conntrack table, deleted one by one. */
#include <errno.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter/nf_conntrack_common.h>

#include "ct-private.h"

static uint32_t next_seq(void)
{
	static uint32_t seq;

	if (!seq)
		seq = (uint32_t)time(NULL);
	return ++seq;
}

bool vw_ct_matches(const VwCtEntry *e, const VwReleased *r)
{
	/* A connection the forward DNATed: it came in on the forward's port
	 * and its replies come from the target the forward chose. */
	if (!(e->status & IPS_DST_NAT) || !e->has_reply || e->family != r->family || e->proto != r->proto ||
	    e->dport != r->port || e->reply_sport != r->target_port || !vw_addr_equal(&e->reply_src, &r->target))
		return false;
	switch (r->listen) {
	case VW_LISTEN_ADDRESS:
		return vw_addr_equal(&e->dst, &r->address);
	case VW_LISTEN_ANY:
		/* Loopback destinations are the loopback map's (plan-nft.c). */
		return !vw_addr_is_loopback(&e->dst);
	case VW_LISTEN_LOOPBACK:
		return vw_addr_is_loopback(&e->dst);
	}
	return false;
}

/* Entries are looked for among the forwards of their family, protocol and
 * destination port only. */
static gpointer port_key(int family, uint8_t proto, uint16_t port)
{
	return GUINT_TO_POINTER((guint)(family == AF_INET6) << 24 | (guint)proto << 16 | port);
}

typedef struct {
	VwCtEntry e;
	VwReleased *by; /* the forward that DNATed it */
} Found;

typedef struct {
	GHashTable *by_port; /* port_key → GPtrArray of VwReleased* */
	GArray *found;	     /* Found */
} Dump;

static int dump_cb(const struct nlmsghdr *nlh, void *data)
{
	Dump *d = data;
	GPtrArray *cands;
	Found f;

	if (!vw_ct_parse(nlh, &f.e))
		return MNL_CB_OK;
	cands = g_hash_table_lookup(d->by_port, port_key(f.e.family, f.e.proto, f.e.dport));
	for (guint i = 0; cands && i < cands->len; i++) {
		if (vw_ct_matches(&f.e, cands->pdata[i])) {
			f.by = cands->pdata[i];
			g_array_append_val(d->found, f);
			break;
		}
	}
	return MNL_CB_OK;
}

static int ack_cb(const struct nlmsghdr *nlh, void *data)
{
	return MNL_CB_OK;
}

/* The entries of @family that the forwards in @d->by_port DNATed, into
 * @d->found. */
static bool dump_family(const VwCtBackend *be, int family, Dump *d, GError **error)
{
	char buf[VW_CT_MSG_MAX];
	struct nlmsghdr *nlh = vw_ct_build_dump(buf, sizeof(buf), family, next_seq());
	int e = be->request(be->ctx, nlh, dump_cb, d);

	if (e)
		return vw_set_errno(error, e, NULL, "reading the IPv%c conntrack table failed",
				    family == AF_INET6 ? '6' : '4');
	return true;
}

/* Deletes the entries found, each by its tuple and id; one that is gone
 * already (its connection closed meanwhile) is no failure. */
static bool delete_found(const VwCtBackend *be, GArray *found, guint *ended, GError **error)
{
	int first = 0;

	for (guint i = 0; i < found->len; i++) {
		Found *f = &g_array_index(found, Found, i);
		char buf[VW_CT_MSG_MAX];
		struct nlmsghdr *nlh = vw_ct_build_delete(buf, sizeof(buf), &f->e, next_seq());
		int e = nlh ? be->request(be->ctx, nlh, ack_cb, NULL) : -EINVAL;

		if (e == 0) {
			(*ended)++;
			f->by->connections++;
		} else if (e != -ENOENT && !first)
			first = e;
	}
	if (first)
		return vw_set_errno(error, first, NULL, "deleting a connection's conntrack entry failed");
	return true;
}

bool vw_ct_end(const VwCtBackend *be, GPtrArray *released, guint *ended, GError **error)
{
	g_autoptr(GHashTable)
		by_port = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, (GDestroyNotify)g_ptr_array_unref);
	g_autoptr(GArray) found = g_array_new(FALSE, FALSE, sizeof(Found));
	Dump d = { by_port, found };
	bool families[2] = { false, false };

	*ended = 0;
	for (guint i = 0; released && i < released->len; i++) {
		VwReleased *r = released->pdata[i];
		gpointer key = port_key(r->family, r->proto, r->port);
		GPtrArray *list = g_hash_table_lookup(by_port, key);

		r->connections = 0;
		if (!list) {
			list = g_ptr_array_new();
			g_hash_table_insert(by_port, key, list);
		}
		g_ptr_array_add(list, r);
		families[r->family == AF_INET6] = true;
	}
	for (int v6 = 0; v6 < 2; v6++)
		if (families[v6] && !dump_family(be, v6 ? AF_INET6 : AF_INET, &d, error))
			return false;
	return delete_found(be, found, ended, error);
}
