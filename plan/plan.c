/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The plan object: sets, elements, chains, rules, and its text form. */
#include <string.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include "plan-private.h"

void vw_expr_clear(VwExpr *x)
{
	g_free(x->name);
	x->name = NULL;
	g_clear_pointer(&x->info, g_bytes_unref);
}

void vw_rule_free(VwRule *r)
{
	if (!r)
		return;
	for (guint i = 0; i < r->exprs->len; i++)
		vw_expr_clear(&g_array_index(r->exprs, VwExpr, i));
	g_array_unref(r->exprs);
	g_free(r->text);
	g_free(r->comment);
	g_free(r);
}

static void chain_free(VwChain *c)
{
	if (!c)
		return;
	g_free(c->name);
	g_free(c->owner);
	g_ptr_array_unref(c->rules);
	g_free(c);
}

static void set_free(VwSet *s)
{
	if (!s)
		return;
	g_free(s->name);
	g_free(s->type_text);
	if (s->udata)
		g_bytes_unref(s->udata);
	if (s->index)
		g_hash_table_unref(s->index);
	g_ptr_array_unref(s->elems);
	g_ptr_array_unref(s->blocks);
	g_free(s);
}

static void sysctl_free(VwSysctl *s)
{
	if (!s)
		return;
	g_free(s->path);
	g_free(s->value);
	g_free(s->owner);
	g_free(s);
}

static void link_op_free(VwLinkOp *o)
{
	if (!o)
		return;
	g_free(o->dev);
	g_free(o->uplink);
	g_free(o->owner);
	g_free(o->path);
	g_free(o->value);
	g_free(o->master);
	g_free(o->text);
	g_free(o);
}

void vw_foreign_rule_free(VwForeignRule *f)
{
	vw_rule_free(f->rule);
	g_free(f);
}

static void coexist_free(VwCoexist *c)
{
	if (c->rules)
		g_ptr_array_unref(c->rules);
	g_free(c->id);
	g_free(c->bridge);
	g_free(c->text);
	g_free(c);
}

/* virtwire's tables: family, name, label. */
static const VwTable table_names[VW_TABLES] = {
	[VW_TABLE_INET] = { NFPROTO_INET, VW_NFT_TABLE, "table inet " VW_NFT_TABLE, NULL, NULL },
	[VW_TABLE_BRIDGE] = { NFPROTO_BRIDGE, VW_NFT_TABLE, "table bridge " VW_NFT_TABLE, NULL, NULL },
};

const VwTable *vw_plan_table(VwTableId id)
{
	return &table_names[id];
}

static void zone_bind_free(VwZoneBind *z)
{
	g_free(z->id);
	g_free(z->bridge);
	g_free(z->uplink);
	g_free(z);
}

VwPlan *vw_plan_new(void)
{
	VwPlan *p = g_new0(VwPlan, 1);

	p->links = g_ptr_array_new_with_free_func((GDestroyNotify)link_op_free);
	for (int i = 0; i < VW_TABLES; i++) {
		VwTable *t = &p->tables[i];

		*t = table_names[i];
		t->sets = g_ptr_array_new_with_free_func((GDestroyNotify)set_free);
		t->chains = g_ptr_array_new_with_free_func((GDestroyNotify)chain_free);
	}
	p->sysctls = g_ptr_array_new_with_free_func((GDestroyNotify)sysctl_free);
	p->networks = g_ptr_array_new_with_free_func(g_free);
	p->coexist = g_ptr_array_new_with_free_func((GDestroyNotify)coexist_free);
	p->host = g_ptr_array_new_with_free_func((GDestroyNotify)vw_foreign_rule_free);
	p->zones = g_ptr_array_new_with_free_func((GDestroyNotify)zone_bind_free);
	return p;
}

void vw_plan_free(VwPlan *p)
{
	if (!p)
		return;
	g_ptr_array_unref(p->links);
	for (int i = 0; i < VW_TABLES; i++) {
		g_ptr_array_unref(p->tables[i].sets);
		g_ptr_array_unref(p->tables[i].chains);
	}
	g_ptr_array_unref(p->sysctls);
	g_ptr_array_unref(p->networks);
	g_ptr_array_unref(p->coexist);
	g_ptr_array_unref(p->host);
	g_ptr_array_unref(p->zones);
	g_free(p);
}

VwSet *vw_table_find_set(const VwTable *t, const char *name)
{
	for (guint i = 0; i < t->sets->len; i++)
		if (strcmp(((VwSet *)t->sets->pdata[i])->name, name) == 0)
			return t->sets->pdata[i];
	return NULL;
}

VwChain *vw_table_find_chain(const VwTable *t, const char *name)
{
	for (guint i = 0; i < t->chains->len; i++)
		if (strcmp(((VwChain *)t->chains->pdata[i])->name, name) == 0)
			return t->chains->pdata[i];
	return NULL;
}

VwSet *vw_plan_find_set(const VwPlan *p, const char *name)
{
	return vw_table_find_set(&p->tables[VW_TABLE_INET], name);
}

VwChain *vw_plan_find_chain(const VwPlan *p, const char *name)
{
	return vw_table_find_chain(&p->tables[VW_TABLE_INET], name);
}

bool vw_plan_has_tables(const VwPlan *p)
{
	return p->tables[VW_TABLE_INET].sets->len > 0;
}

VwChain *vw_plan_add_chain(VwTable *t, const char *name, const char *owner)
{
	VwChain *c = g_new0(VwChain, 1);

	c->name = g_strdup(name);
	c->owner = g_strdup(owner);
	c->type = VW_CHAIN_REGULAR;
	c->rules = g_ptr_array_new_with_free_func((GDestroyNotify)vw_rule_free);
	g_ptr_array_add(t->chains, c);
	return c;
}

VwChain *vw_plan_add_base_chain(VwTable *t, const char *name, VwChainType type, uint32_t hook, int32_t prio,
				const char *prio_text)
{
	VwChain *c = vw_plan_add_chain(t, name, NULL);

	c->type = type;
	c->hook = hook;
	c->prio = prio;
	c->prio_text = prio_text;
	return c;
}

/* ---------------------------------------------------------------------- */
/* Text */

const char *vw_plan_hook_name(uint32_t hook)
{
	switch (hook) {
	case NF_INET_PRE_ROUTING:
		return "prerouting";
	case NF_INET_LOCAL_IN:
		return "input";
	case NF_INET_FORWARD:
		return "forward";
	case NF_INET_LOCAL_OUT:
		return "output";
	case NF_INET_POST_ROUTING:
		return "postrouting";
	}
	return "?";
}

static int elem_cmp(gconstpointer pa, gconstpointer pb)
{
	const VwElem *a = *(VwElem *const *)pa, *b = *(VwElem *const *)pb;
	int c = memcmp(a->key, b->key, MIN(a->key_len, b->key_len));

	if (c)
		return c;
	return (a->key_len > b->key_len) - (a->key_len < b->key_len);
}

static void format_elements(GString *out, const VwSet *s)
{
	g_autoptr(GPtrArray) shown = g_ptr_array_new();
	int count = 0;

	for (guint i = 0; i < s->elems->len; i++) {
		const VwElem *e = s->elems->pdata[i];

		/* nft folds an interval's end element into its start. */
		if (vw_elem_text(s, e))
			g_ptr_array_add(shown, (gpointer)e);
	}
	if (!shown->len)
		return;
	g_ptr_array_sort(shown, elem_cmp);
	g_string_append(out, "\t\telements = { ");
	for (guint i = 0; i < shown->len; i++) {
		const VwElem *e = shown->pdata[i];
		size_t key_len = strlen(e->key_text);

		if (i) {
			/* nft's line breaking: a few short elements per line. */
			if (++count < s->per_line) {
				g_string_append(out, ", ");
			} else {
				count = 0;
				g_string_append(out, ",\n\t\t\t     ");
			}
		}
		/* KEY [counter …] [comment "OWNER"] [: DATA], as nft lists it;
		 * a fresh counter is zero. */
		g_string_append_len(out, e->text, (gssize)key_len);
		if (s->counter)
			g_string_append(out, " counter packets 0 bytes 0");
		if (e->owner)
			g_string_append_printf(out, " comment \"%s\"", e->owner);
		g_string_append(out, e->text + key_len);
	}
	g_string_append(out, " }\n");
}

static void format_set(GString *out, const VwSet *s)
{
	g_string_append_printf(out, "\t%s %s {\n\t\t%s %s\n", s->is_map ? "map" : "set", s->name,
			       s->is_typeof ? "typeof" : "type", s->type_text);
	if (s->flags & NFT_SET_INTERVAL)
		g_string_append(out, "\t\tflags interval\n");
	if (s->counter)
		g_string_append(out, "\t\tcounter\n");
	format_elements(out, s);
	g_string_append(out, "\t}\n");
}

static void format_chain(GString *out, const VwChain *c)
{
	g_string_append_printf(out, "\tchain %s {\n", c->name);
	if (c->type != VW_CHAIN_REGULAR)
		g_string_append_printf(out, "\t\ttype %s hook %s priority %s; policy accept;\n",
				       c->type == VW_CHAIN_NAT ? "nat" : "filter", vw_plan_hook_name(c->hook),
				       c->prio_text);
	for (guint j = 0; j < c->rules->len; j++)
		g_string_append_printf(out, "\t\t%s\n", ((VwRule *)c->rules->pdata[j])->text);
	g_string_append(out, "\t}\n");
}

/* One table as `nft list table` prints it: sets, then chains, a blank line
 * between two of them. */
static void format_one_table(GString *out, const VwTable *t)
{
	g_string_append_printf(out, "%s {\n", t->label);
	for (guint i = 0; i < t->sets->len; i++) {
		if (i)
			g_string_append_c(out, '\n');
		format_set(out, t->sets->pdata[i]);
	}
	for (guint i = 0; i < t->chains->len; i++) {
		if (i || t->sets->len)
			g_string_append_c(out, '\n');
		format_chain(out, t->chains->pdata[i]);
	}
	g_string_append(out, "}\n");
}

char *vw_plan_format_table(const VwPlan *p)
{
	GString *out = g_string_new(NULL);

	if (!vw_plan_has_tables(p))
		return g_string_free(out, FALSE);
	for (int i = 0; i < VW_TABLES; i++)
		format_one_table(out, &p->tables[i]);
	return g_string_free(out, FALSE);
}

/* What virtwire changes in the host's other firewalls, one "host-firewall"
 * line each: the rules it keeps at the top of their chains (in that order)
 * and its bridges in firewalld's zones. All of it only where that firewall
 * is found at apply time: the plan does not look. */
static void format_host(GString *out, const VwPlan *p)
{
	if (p->host_alone && vw_plan_has_tables(p))
		g_string_append(out,
				"host-firewall none: [host-firewall] integrate=no leaves the host's other firewalls "
				"alone (apply and verify warn about what will drop virtwire's traffic)\n");
	if (!p->host->len && !p->zones->len)
		return;
	g_string_append(out, "host-firewall changes to the host's other firewalls, each made only where that firewall "
			     "is found ([host-firewall] integrate=yes):\n");
	for (guint i = 0; i < p->host->len; i++) {
		const VwForeignRule *f = p->host->pdata[i];

		g_string_append_printf(out, "host-firewall %s, at its top: %s\n", f->label, f->rule->text);
	}
	for (guint i = 0; i < p->zones->len; i++) {
		const VwZoneBind *z = p->zones->pdata[i];

		if (z->uplink)
			g_string_append_printf(out,
					       "host-firewall firewalld: bridge %s into the zone of its uplink %s (the "
					       "default zone if %s is in none), unless %s is in a zone\n",
					       z->bridge, z->uplink, z->uplink, z->bridge);
		else
			g_string_append_printf(out,
					       "host-firewall firewalld: bridge %s into zone " VW_FIREWALLD_ZONE
					       ", unless it is in a zone\n",
					       z->bridge);
	}
}

char *vw_plan_format(const VwPlan *p)
{
	GString *out = g_string_new(NULL);
	g_autofree char *table = vw_plan_format_table(p);

	g_string_append(out, table);
	for (guint i = 0; i < p->links->len; i++)
		g_string_append_printf(out, "link %s\n", ((VwLinkOp *)p->links->pdata[i])->text);
	for (guint i = 0; i < p->sysctls->len; i++) {
		const VwSysctl *s = p->sysctls->pdata[i];
		g_autofree char *dotted = g_strdelimit(g_strdup(s->path), "/", '.');

		g_string_append_printf(out, "sysctl %s=%s%s\n", dotted, s->value,
				       s->revert ? " (restored at teardown)" : "");
	}
	for (guint i = 0; i < p->coexist->len; i++)
		g_string_append_printf(out, "coexist %s\n", ((VwCoexist *)p->coexist->pdata[i])->text);
	format_host(out, p);
	return g_string_free(out, FALSE);
}

char *vw_plan_network_id(const char *name)
{
	bool plain = g_ascii_isalpha(name[0]) && strlen(name) <= 48;

	for (const char *c = name; plain && *c; c++)
		plain = g_ascii_isalnum(*c) || *c == '_' || *c == '-' || *c == '.';
	if (plain)
		return g_strdup(name);
	{
		/* Anything else could not be listed back by nft as an
		 * identifier: name the objects after a hash instead. */
		g_autofree char *sum = g_compute_checksum_for_string(G_CHECKSUM_SHA256, name, -1);

		return g_strdup_printf("h%.12s", sum);
	}
}

char *vw_plan_port_owner(const char *network, const char *port_uuid)
{
	return g_strdup_printf("%s:%s", network, port_uuid);
}

static bool owned_by(const char *owner, const char *id)
{
	size_t n = strlen(id);

	return owner && strncmp(owner, id, n) == 0 && (owner[n] == '\0' || owner[n] == ':');
}

/* The digest's input, gathered in blocks: one checksum update per 64 KiB
 * rather than two per field (the same bytes, the same digest). */
typedef struct {
	GChecksum *sum;
	GByteArray *buf;
} Digest;

static void digest_flush(Digest *c)
{
	g_checksum_update(c->sum, c->buf->data, c->buf->len);
	g_byte_array_set_size(c->buf, 0);
}

static void digest_bytes(Digest *c, const void *data, gsize len)
{
	guint32 l = (guint32)len;

	g_byte_array_append(c->buf, (const guint8 *)&l, sizeof(l));
	g_byte_array_append(c->buf, data, (guint)len);
	if (c->buf->len >= 65536)
		digest_flush(c);
}

static void digest_str(Digest *c, const char *s)
{
	digest_bytes(c, s ? s : "", s ? strlen(s) : 0);
}

/* One element, compactly (most of a large plan's digest is its elements):
 * its owner when it differs from the one before, its key, key end and data
 * each with a length byte, its flags, verdict and chain when it has them. */
static void digest_elem(Digest *c, const VwElem *e, const char *owner, const char **last)
{
	bool new_owner = !*last || g_strcmp0(owner, *last) != 0;
	guint8 head[4] = { (guint8)e->key_len, (guint8)e->key_end_len, (guint8)e->data_len,
			   (guint8)((e->flags ? 1 : 0) | (e->has_verdict ? 2 : 0) | (new_owner ? 4 : 0)) };

	if (new_owner) {
		digest_str(c, owner);
		*last = owner;
	}
	g_byte_array_append(c->buf, head, sizeof(head));
	g_byte_array_append(c->buf, e->key, e->key_len);
	g_byte_array_append(c->buf, e->key_end, e->key_end_len);
	g_byte_array_append(c->buf, e->data, e->data_len);
	if (e->flags)
		g_byte_array_append(c->buf, (const guint8 *)&e->flags, sizeof(e->flags));
	if (e->has_verdict) {
		g_byte_array_append(c->buf, (const guint8 *)&e->verdict, sizeof(e->verdict));
		digest_str(c, e->chain);
	}
	if (c->buf->len >= 65536)
		digest_flush(c);
}

/* Table @t's part of network @id: the shared skeleton, the network's chains
 * and elements. */
static void digest_table(Digest *c, const VwTable *t, const char *id)
{
	digest_str(c, t->label);
	for (guint i = 0; i < t->sets->len; i++) {
		const VwSet *s = t->sets->pdata[i];
		const char *owner = NULL, *last = NULL;

		digest_str(c, s->name);
		digest_bytes(c, &s->flags, sizeof(s->flags));
		digest_str(c, s->type_text);
		for (guint j = 0; j < s->elems->len; j++) {
			const VwElem *e = s->elems->pdata[j];

			/* An interval's end carries no owner: it is its start's. */
			if (!(e->flags & NFT_SET_ELEM_INTERVAL_END) || e->owner)
				owner = e->owner;
			if (owner && !owned_by(owner, id))
				continue;
			digest_elem(c, e, owner, &last);
		}
	}
	for (guint i = 0; i < t->chains->len; i++) {
		const VwChain *ch = t->chains->pdata[i];

		if (ch->owner && !owned_by(ch->owner, id))
			continue;
		digest_str(c, ch->name);
		digest_str(c, ch->prio_text);
		for (guint j = 0; j < ch->rules->len; j++)
			digest_str(c, ((VwRule *)ch->rules->pdata[j])->text);
	}
}

char *vw_plan_digest(const VwPlan *p, const char *id)
{
	g_autoptr(GChecksum) sum = g_checksum_new(G_CHECKSUM_SHA256);
	g_autoptr(GByteArray) buf = g_byte_array_sized_new(65536 + 256);
	Digest d = { sum, buf };

	for (int i = 0; i < VW_TABLES; i++)
		digest_table(&d, &p->tables[i], id);
	for (guint i = 0; i < p->coexist->len; i++) {
		const VwCoexist *x = p->coexist->pdata[i];

		if (strcmp(x->id, id) == 0)
			digest_str(&d, x->text);
	}
	/* The shared host firewall rules, in or out (integrate=yes|no). */
	for (guint i = 0; i < p->host->len; i++)
		digest_str(&d, ((VwForeignRule *)p->host->pdata[i])->rule->text);
	digest_flush(&d);
	return g_strdup(g_checksum_get_string(sum));
}

char *vw_plan_conflict_message(const VwSet *s, const VwElem *e, const char *mine, const char *theirs)
{
	const char *key = vw_elem_key_text(s, e) ? vw_elem_key_text(s, e) : "(unknown)";

	switch (s->kind) {
	case VW_SET_FORWARDS:
	case VW_SET_COUNTERS:
		return g_strdup_printf("the forward %s of %s is already taken by %s", key, mine, theirs);
	case VW_SET_BRIDGES:
		return g_strdup_printf("bridge %s of %s already belongs to %s", key, mine, theirs);
	case VW_SET_INTERFACES:
		return g_strdup_printf("interface %s of %s already belongs to %s", key, mine, theirs);
	case VW_SET_GATEWAYS:
		return g_strdup_printf("address %s of %s already belongs to %s", key, mine, theirs);
	case VW_SET_SUBNETS:
		return g_strdup_printf("subnet %s of %s overlaps %s", key, mine, theirs);
	case VW_SET_SERVICES:
		return g_strdup_printf("host service %s of %s already belongs to %s", key, mine, theirs);
	case VW_SET_GUESTS:
		return g_strdup_printf("guest port or address %s of %s already belongs to %s", key, mine, theirs);
	case VW_SET_SPAN:
		return g_strdup_printf("VXLAN port and VNI %s of %s already belong to %s", key, mine, theirs);
	}
	g_assert_not_reached();
}
