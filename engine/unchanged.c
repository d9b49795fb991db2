/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A call that finds nothing to change — a repeated `started` hook, the
 * daemon hook's re-assert, `virtwire restore` — without parsing, checking
 * or planning anything.
 *
 * A plan is a function of its input: the network's XML, its ports'
 * domains, what watch learned, the host firewall setting and the build of
 * virtwire that plans. After an apply that checked or made the links, the
 * generation record (firewall.gen) keeps, next to the digest of the plan
 * committed at generation G, the digest of that input together with the
 * links and sysctls the record names as the kernel had them. When the
 * ruleset is still at G and the same digest comes out of the input given
 * now, the kernel still holds that very plan and the links have not moved:
 * nothing is left to do. Anything else — a byte of the XML, a domain,
 * another commit, a bridge gone or changed — takes the full path.
 *
 * The network's XML, most of the input (1 MB at 10,000 forwards), is not
 * hashed: the bytes given are compared with the record's copy (NAME.xml),
 * and the digest holds that file's identity, which every write of the
 * record changes (a new file renamed into place). Comparing is some ten
 * times cheaper than SHA-256 and as exact.
 *
 * The record is input: a forged digest can at most make virtwire leave the
 * kernel as it is (this path sends nothing and writes nothing); and the
 * ruleset's generation, which it must match, is the kernel's.
 */
#include <string.h>
#include <sys/stat.h>

#include "engine-private.h"

/* One tagged, length-prefixed field: no two inputs feed the same bytes. */
static void feed(GChecksum *ck, const char *tag, const char *data, gsize len)
{
	guint64 n = len;

	g_checksum_update(ck, (const guchar *)tag, (gssize)strlen(tag) + 1);
	g_checksum_update(ck, (const guchar *)&n, sizeof(n));
	g_checksum_update(ck, (const guchar *)data, (gssize)len);
}

static void feed_str(GChecksum *ck, const char *tag, const char *s)
{
	feed(ck, tag, s ? s : "", s ? strlen(s) : 0);
}

/* The build that plans: an upgrade changes the version, a rebuild the
 * executable file. */
static void feed_program(GChecksum *ck)
{
	struct stat st = { 0 };
	g_autofree char *id = NULL;

	stat("/proc/self/exe", &st);
	id = g_strdup_printf("%s %lu:%lu %lld.%09ld %lld", VW_VERSION, (unsigned long)st.st_dev,
			     (unsigned long)st.st_ino, (long long)st.st_mtim.tv_sec, (long)st.st_mtim.tv_nsec,
			     (long long)st.st_size);
	feed_str(ck, "program", id);
}

/* A VXLAN device's identity and the entries virtwire configured in its
 * forwarding database (not those it learns from traffic). */
static void feed_vxlan(GString *s, const VwLinkBackend *be, const char *dev, const VwLinkInfo *li)
{
	g_autoptr(GArray) fdb = g_array_new(FALSE, TRUE, sizeof(VwFdbEntry));
	char a[VW_ADDR_STRLEN], m[VW_MAC_STRLEN];

	g_string_append_printf(s, " vxlan %u %u %d %d %s", li->vni, li->vxlan_port, li->vxlan_link, li->vxlan_learning,
			       vw_addr_is_set(&li->vxlan_local) ? vw_addr_to_string(&li->vxlan_local, a) : "-");
	if (!be->fdb_list || be->fdb_list(be->ctx, dev, fdb) != 0) {
		g_string_append(s, " fdb unknown");
		return;
	}
	for (guint i = 0; i < fdb->len; i++) {
		const VwFdbEntry *f = &g_array_index(fdb, VwFdbEntry, i);

		if (f->permanent)
			g_string_append_printf(s, " fdb %s %s", vw_mac_to_string(&f->mac, m),
					       vw_addr_to_string(&f->dst, a));
	}
}

/* Link @dev as the kernel has it now: what verify and apply look at
 * (presence, kind, MAC, MTU, up, master, alias, STP and its addresses;
 * with @routes its routes), not its counters. */
static void feed_link(GChecksum *ck, const VwLinkBackend *be, const char *dev, bool routes)
{
	g_autoptr(GString) s = g_string_new(dev);
	g_autoptr(GArray) addrs = g_array_new(FALSE, TRUE, sizeof(VwAddrInfo));
	g_autoptr(GArray) rts = g_array_new(FALSE, TRUE, sizeof(VwRouteInfo));
	char mac[VW_MAC_STRLEN], gw[VW_ADDR_STRLEN];
	VwLinkInfo li = { 0 };
	int e = be->link_get(be->ctx, dev, &li);

	if (e == 0)
		g_string_append_printf(s, " %d %s %s %u %d %d %s %d %u", li.ifindex, li.kind,
				       li.has_mac ? vw_mac_to_string(&li.mac, mac) : "-", li.mtu, li.up, li.master,
				       li.alias, li.stp, li.forward_delay);
	else
		g_string_append_printf(s, " error %d", e);
	if (e == 0 && be->addr_list(be->ctx, dev, addrs) == 0) {
		for (guint i = 0; i < addrs->len; i++) {
			const VwAddrInfo *a = &g_array_index(addrs, VwAddrInfo, i);
			g_autofree char *p = vw_prefix_to_string(&a->prefix);

			g_string_append_printf(s, " addr %s %u %u", p, a->proto, a->scope);
		}
	}
	if (e == 0 && strcmp(li.kind, "vxlan") == 0)
		feed_vxlan(s, be, dev, &li);
	if (e == 0 && routes && be->route_list(be->ctx, dev, rts) == 0) {
		for (guint i = 0; i < rts->len; i++) {
			const VwRouteInfo *r = &g_array_index(rts, VwRouteInfo, i);
			g_autofree char *p = vw_prefix_to_string(&r->dst);

			g_string_append_printf(s, " route %s %s %u %u", p,
					       r->gateway.family ? vw_addr_to_string(&r->gateway, gw) : "-", r->metric,
					       r->table);
		}
	}
	feed_str(ck, "link", s->str);
}

/* The ports of bridge @dev and their flags (hairpin, isolated): an apply
 * gives every port the network's flags, so a port plugged since, or one
 * whose flags someone changed, is something to do. */
static void feed_bridge_ports(GChecksum *ck, const VwLinkBackend *be, const char *dev)
{
	g_autoptr(GArray) all = g_array_new(FALSE, TRUE, sizeof(VwLinkInfo));
	g_autoptr(GString) s = g_string_new(dev);
	VwLinkInfo br = { 0 };

	if (be->link_get(be->ctx, dev, &br) != 0 || !be->link_list || be->link_list(be->ctx, all) != 0) {
		feed_str(ck, "ports", "unknown");
		return;
	}
	for (guint i = 0; i < all->len; i++) {
		const VwLinkInfo *li = &g_array_index(all, VwLinkInfo, i);

		if (li->master == br.ifindex)
			g_string_append_printf(s, " %s %d %d", li->name, li->hairpin, li->isolated);
	}
	feed_str(ck, "ports", s->str);
}

/* The links the record names: its bridge, and the devices of its link
 * records (their objects' words that are not prefixes). */
static GPtrArray *devices_of(const VwState *st)
{
	GPtrArray *devs = g_ptr_array_new_with_free_func(g_free);

	if (st->bridge)
		g_ptr_array_add(devs, g_strdup(st->bridge));
	for (guint i = 0; i < st->links->len; i++) {
		const VwStateLink *l = st->links->pdata[i];
		g_auto(GStrv) words = NULL;

		if (strcmp(l->kind, "sysctl") == 0 || strcmp(l->kind, "port-flags") == 0)
			continue;
		words = g_strsplit(l->object, " ", -1);
		for (guint j = 0; words[j]; j++)
			if (words[j][0] && !strchr(words[j], '/') &&
			    !g_ptr_array_find_with_equal_func(devs, words[j], g_str_equal, NULL))
				g_ptr_array_add(devs, g_strdup(words[j]));
	}
	return devs;
}

/* The sysctls the record names, as the kernel has them now; one that is not
 * virtwire's (a forged record) as "?", which no apply records. */
static void feed_sysctls(GChecksum *ck, const VwLinkBackend *be, const VwState *st)
{
	for (guint i = 0; i < st->sysctls->len + st->links->len; i++) {
		const char *path;
		g_autofree char *v = NULL;
		g_autofree char *line = NULL;

		if (i < st->sysctls->len) {
			path = ((const VwStateSysctl *)st->sysctls->pdata[i])->path;
		} else {
			const VwStateLink *l = st->links->pdata[i - st->sysctls->len];

			if (strcmp(l->kind, "sysctl") != 0)
				continue;
			path = l->object;
		}
		/* A record is input: only the sysctls virtwire sets are read
		 * (anything else counts as changed). */
		if (!vw_sysctl_is_virtwires(path) || be->sysctl_get(be->ctx, path, &v) != 0)
			g_clear_pointer(&v, g_free);
		line = g_strdup_printf("%s=%s", path, v ? v : "?");
		feed_str(ck, "sysctl", line);
	}
}

/* The ports the record holds, with their domains' XML as recorded. */
static void feed_ports(GChecksum *ck, VwEngine *e, const VwState *st)
{
	for (guint i = 0; i < st->ports->len; i++) {
		const VwStatePort *p = st->ports->pdata[i];
		g_autofree char *line = g_strdup_printf("%s %s %s", p->uuid, p->domain_uuid, p->mac);
		g_autofree char *dom = NULL;

		feed_str(ck, "port", line);
		if (!vw_store_load_domain(e->store, p->domain_uuid, &dom, NULL))
			g_clear_pointer(&dom, g_free);
		feed_str(ck, dom ? "domain" : "no domain", dom);
	}
}

/* @xml (@len bytes) is the text of @st's record: NULL says it is (the
 * record's own); compared in memory when the record was loaded with its XML,
 * else with the file, block by block. */
static bool is_record_xml(VwEngine *e, const VwState *st, const char *xml, gsize len)
{
	if (!xml)
		return true;
	if (st->xml)
		return strlen(st->xml) == len && memcmp(st->xml, xml, len) == 0;
	return vw_store_xml_holds(e->store, st->name, xml, len);
}

char *vw_eng_input_digest(VwEngine *e, const VwState *st, const char *xml, gsize len, char **unchecked)
{
	g_autoptr(GChecksum) ck = g_checksum_new(G_CHECKSUM_SHA256);
	g_autoptr(GChecksum) other = NULL;
	g_autoptr(GPtrArray) devs = NULL;
	g_autofree char *learned = NULL;
	g_autofree char *file = NULL;
	const VwLinkBackend *be;
	bool bridged;

	if (!st->id || !e->store || !vw_eng_hostfw_integrate(e, NULL) || !(be = vw_eng_links(e, NULL)))
		return NULL;
	feed_str(ck, "virtwire-input", "1");
	feed_program(ck);
	feed_str(ck, "host-firewalls", e->hostfw_mode == 1 ? "integrate" : "alone");
	/* The XML is the record's copy (the caller compares): that file,
	 * as it was written. */
	if (!is_record_xml(e, st, xml, len) || !(file = vw_store_xml_identity(e->store, st->name)))
		return NULL;
	feed_str(ck, "network-file", file);
	feed_str(ck, "id", st->id);
	feed_str(ck, "bridge", st->bridge);
	feed_str(ck, "mode", st->mode);
	feed_ports(ck, e, st);
	learned = vw_eng_learned_of(e, st->id);
	feed_str(ck, "learned", learned);
	feed_sysctls(ck, be, st);
	devs = devices_of(st);
	bridged = g_strcmp0(st->mode, vw_mode_to_string(VW_MODE_BRIDGED)) == 0;
	for (guint i = 0; i < devs->len; i++)
		feed_link(ck, be, devs->pdata[i], bridged);
	if (st->bridge)
		feed_bridge_ports(ck, be, st->bridge);
	/* Whether an apply checked the links against the XML (or made them)
	 * is part of what the digest says. */
	if (unchecked) {
		other = g_checksum_copy(ck);
		feed_str(other, "links", "unchecked");
		*unchecked = g_strdup(g_checksum_get_string(other));
	}
	feed_str(ck, "links", "checked");
	return g_strdup(g_checksum_get_string(ck));
}

/* Network @st's record, applied from @xml (@len bytes; NULL: from its own
 * copy), still holds in the kernel at generation @gen: nothing of it to do.
 * @any: links that no apply checked since they last changed will do
 * (restore leaves links alone). */
static bool net_unchanged(VwEngine *e, const VwState *st, const char *xml, gsize len, guint32 gen, bool any)
{
	g_autofree char *digest = NULL;
	g_autofree char *unchecked = NULL;

	if (st->pending)
		return false;
	digest = vw_eng_input_digest(e, st, xml, len, any ? &unchecked : NULL);
	return digest && (vw_store_gen_unchanged(e->store, gen, st->id, digest) ||
			  (unchecked && vw_store_gen_unchanged(e->store, gen, st->id, unchecked)));
}

bool vw_eng_record_current(VwEngine *e, const VwState *st, guint32 gen, bool any)
{
	return st->xml && net_unchanged(e, st, st->xml, strlen(st->xml), gen, any);
}

/* The records of @names (NULL: every recorded network, at least one) all
 * unchanged, @xml given for the one name; under the lock. */
static bool all_unchanged(VwEngine *e, const char *name, const char *xml, gsize len, guint *count)
{
	g_autoptr(GPtrArray) names = NULL;
	const VwNftBackend *nft;
	uint32_t gen;

	if (!(nft = vw_eng_nft(e, NULL)) || !vw_nft_generation(nft, &gen, NULL))
		return false;
	names = name ? g_ptr_array_new() : vw_store_list(e->store);
	if (name)
		g_ptr_array_add(names, (gpointer)name);
	for (guint i = 0; i < names->len; i++) {
		g_autoptr(VwState) st = NULL;

		if (!vw_store_load_record(e->store, names->pdata[i], &st, NULL) ||
		    !net_unchanged(e, st, name ? xml : NULL, name ? len : 0, gen, !name))
			return false;
	}
	*count = names->len;
	return names->len > 0;
}

/* Whether @name's (or every recorded network's) calls have nothing to do. */
static bool unchanged(VwEngine *e, const char *name, const char *xml, gsize len, guint *count)
{
	bool same;

	if (!vw_eng_store(e, false, NULL) || !vw_eng_lock(e, NULL))
		return false;
	same = all_unchanged(e, name, xml, len, count);
	vw_eng_unlock(e);
	if (same)
		vw_eng_stage(e, "unchanged");
	return same;
}

bool vw_engine_unchanged(VwEngine *e, const char *name, const char *xml, gsize len)
{
	guint count = 0;

	return name && xml && unchanged(e, name, xml, len, &count);
}

/* The recorded network applied from @source whose XML is @xml (@len
 * bytes) byte for byte: its name, or NULL. Under the lock. */
static char *recorded_from(VwEngine *e, const char *source, const char *xml, gsize len)
{
	g_autoptr(GPtrArray) names = vw_store_list(e->store);

	for (guint i = 0; i < names->len; i++) {
		g_autoptr(VwState) st = NULL;

		if (vw_store_load_record(e->store, names->pdata[i], &st, NULL) && g_strcmp0(st->source, source) == 0 &&
		    vw_store_xml_holds(e->store, st->name, xml, len))
			return g_strdup(st->name);
	}
	return NULL;
}

char *vw_engine_unchanged_file(VwEngine *e, const char *source, const char *xml, gsize len)
{
	g_autofree char *name = NULL;
	guint count = 0;
	bool same;

	if (!source || !xml || !vw_eng_store(e, false, NULL) || !vw_eng_lock(e, NULL))
		return NULL;
	name = recorded_from(e, source, xml, len);
	same = name && all_unchanged(e, name, xml, len, &count);
	vw_eng_unlock(e);
	if (!same)
		return NULL;
	vw_eng_stage(e, "unchanged");
	return g_steal_pointer(&name);
}

bool vw_eng_restore_unchanged(VwEngine *e, VwRestoreReport *rep)
{
	guint count = 0;

	if (!unchanged(e, NULL, NULL, 0, &count))
		return false;
	rep->networks = count;
	rep->unread = true;
	return true;
}
