/* SPDX-License-Identifier: GPL-2.0-or-later */
/* `virtwire plan --format json`: the plan as fields (docs/json.md). */
#include <string.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include "plan-private.h"

static const char *const lop_names[] = {
	[VW_LOP_BRIDGE] = "bridge",
	[VW_LOP_SYSCTL] = "sysctl",
	[VW_LOP_ADDR] = "address",
	[VW_LOP_ENSLAVE] = "enslave",
	[VW_LOP_MOVE_ADDRS] = "move-addresses",
	[VW_LOP_MOVE_ROUTES] = "move-routes",
	[VW_LOP_PORT_FLAGS] = "port-flags",
};

static const char *family_name(int family)
{
	switch (family) {
	case NFPROTO_INET:
		return "inet";
	case NFPROTO_BRIDGE:
		return "bridge";
	case NFPROTO_IPV4:
		return "ip";
	case NFPROTO_IPV6:
		return "ip6";
	}
	return "?";
}

static void set_json(VwJson *j, const VwSet *s)
{
	vw_json_begin_object(j, NULL);
	vw_json_string(j, "name", s->name);
	vw_json_bool(j, "map", s->is_map);
	vw_json_string(j, "type", s->type_text);
	vw_json_bool(j, "interval", (s->flags & NFT_SET_INTERVAL) != 0);
	vw_json_bool(j, "counter", s->counter);
	vw_json_begin_array(j, "elements");
	for (guint i = 0; i < s->elems->len; i++) {
		const VwElem *e = s->elems->pdata[i];
		const char *text = vw_elem_text(s, e);

		if (!text)
			continue;
		vw_json_begin_object(j, NULL);
		vw_json_string(j, "element", text);
		vw_json_string(j, "network", e->owner);
		vw_json_end_object(j);
	}
	vw_json_end_array(j);
	vw_json_end_object(j);
}

static void chain_json(VwJson *j, const VwChain *c)
{
	bool base = c->type != VW_CHAIN_REGULAR;

	vw_json_begin_object(j, NULL);
	vw_json_string(j, "name", c->name);
	vw_json_string(j, "type", !base ? NULL : c->type == VW_CHAIN_NAT ? "nat" : "filter");
	vw_json_string(j, "hook", base ? vw_plan_hook_name(c->hook) : NULL);
	if (base)
		vw_json_int(j, "priority", c->prio);
	else
		vw_json_null(j, "priority");
	vw_json_string(j, "network", c->owner);
	vw_json_begin_array(j, "rules");
	for (guint i = 0; i < c->rules->len; i++)
		vw_json_string(j, NULL, ((VwRule *)c->rules->pdata[i])->text);
	vw_json_end_array(j);
	vw_json_end_object(j);
}

static void tables_json(VwJson *j, const VwPlan *p)
{
	vw_json_begin_array(j, "tables");
	for (int t = 0; vw_plan_has_tables(p) && t < VW_TABLES; t++) {
		const VwTable *tb = &p->tables[t];

		vw_json_begin_object(j, NULL);
		vw_json_string(j, "family", family_name(tb->family));
		vw_json_string(j, "name", tb->name);
		vw_json_begin_array(j, "sets");
		for (guint i = 0; i < tb->sets->len; i++)
			set_json(j, tb->sets->pdata[i]);
		vw_json_end_array(j);
		vw_json_begin_array(j, "chains");
		for (guint i = 0; i < tb->chains->len; i++)
			chain_json(j, tb->chains->pdata[i]);
		vw_json_end_array(j);
		vw_json_end_object(j);
	}
	vw_json_end_array(j);
}

static void links_json(VwJson *j, const VwPlan *p)
{
	vw_json_begin_array(j, "links");
	for (guint i = 0; i < p->links->len; i++) {
		const VwLinkOp *op = p->links->pdata[i];

		vw_json_begin_object(j, NULL);
		vw_json_string(j, "network", op->owner);
		vw_json_string(j, "op", lop_names[op->kind]);
		vw_json_string(j, "device", op->dev);
		vw_json_string(j, "uplink", op->uplink);
		vw_json_string(j, "text", op->text);
		vw_json_end_object(j);
	}
	vw_json_end_array(j);
	vw_json_begin_array(j, "sysctls");
	for (guint i = 0; i < p->sysctls->len; i++) {
		const VwSysctl *s = p->sysctls->pdata[i];
		g_autofree char *dotted = g_strdelimit(g_strdup(s->path), "/", '.');

		vw_json_begin_object(j, NULL);
		vw_json_string(j, "network", s->owner);
		vw_json_string(j, "key", dotted);
		vw_json_string(j, "value", s->value);
		vw_json_bool(j, "restored_at_teardown", s->revert);
		vw_json_end_object(j);
	}
	vw_json_end_array(j);
}

static void foreign_json(VwJson *j, const VwForeignRule *f)
{
	vw_json_begin_object(j, NULL);
	vw_json_string(j, "place", f->label);
	vw_json_string(j, "family", family_name(f->family));
	vw_json_string(j, "table", f->table);
	vw_json_string(j, "chain", f->chain);
	vw_json_string(j, "rule", f->rule->text);
	vw_json_end_object(j);
}

static void others_json(VwJson *j, const VwPlan *p)
{
	vw_json_begin_array(j, "libvirt_firewall");
	for (guint i = 0; i < p->coexist->len; i++) {
		const VwCoexist *c = p->coexist->pdata[i];

		vw_json_begin_object(j, NULL);
		vw_json_string(j, "network", c->id);
		vw_json_string(j, "bridge", c->bridge);
		vw_json_begin_array(j, "rules");
		for (guint k = 0; k < c->rules->len; k++)
			foreign_json(j, c->rules->pdata[k]);
		vw_json_end_array(j);
		vw_json_end_object(j);
	}
	vw_json_end_array(j);
	vw_json_begin_object(j, "host_firewall");
	vw_json_bool(j, "integrate", !p->host_alone);
	vw_json_begin_array(j, "rules");
	for (guint i = 0; i < p->host->len; i++)
		foreign_json(j, p->host->pdata[i]);
	vw_json_end_array(j);
	vw_json_begin_array(j, "firewalld_zones");
	for (guint i = 0; i < p->zones->len; i++) {
		const VwZoneBind *z = p->zones->pdata[i];

		vw_json_begin_object(j, NULL);
		vw_json_string(j, "network", z->id);
		vw_json_string(j, "bridge", z->bridge);
		vw_json_string(j, "zone", z->uplink ? NULL : VW_FIREWALLD_ZONE);
		vw_json_string(j, "zone_of_uplink", z->uplink);
		vw_json_end_object(j);
	}
	vw_json_end_array(j);
	vw_json_end_object(j);
}

char *vw_plan_format_json(const VwPlan *p)
{
	g_autoptr(VwJson) j = vw_json_document("plan");
	g_autofree char *nft = vw_plan_format_table(p);

	vw_json_begin_array(j, "networks");
	for (guint i = 0; i < p->networks->len; i++)
		vw_json_string(j, NULL, p->networks->pdata[i]);
	vw_json_end_array(j);
	vw_json_string(j, "nftables", nft);
	tables_json(j, p);
	links_json(j, p);
	others_json(j, p);
	return vw_json_finish(g_steal_pointer(&j));
}
