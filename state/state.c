/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A network's record: what virtwire applied for it. */
#include <string.h>

#include <virtwire/state.h>

static void sysctl_free(VwStateSysctl *s)
{
	if (!s)
		return;
	g_free(s->path);
	g_free(s->old_value);
	g_free(s->new_value);
	g_free(s);
}

static void port_free(VwStatePort *p)
{
	if (!p)
		return;
	g_free(p->uuid);
	g_free(p->domain_uuid);
	g_free(p->mac);
	g_free(p->elems);
	g_free(p);
}

static void link_free(VwStateLink *l)
{
	if (!l)
		return;
	g_free(l->kind);
	g_free(l->object);
	g_free(l->extra);
	g_free(l);
}

VwState *vw_state_new(const char *name)
{
	VwState *s = g_new0(VwState, 1);

	s->name = g_strdup(name);
	s->sysctls = g_ptr_array_new_with_free_func((GDestroyNotify)sysctl_free);
	s->links = g_ptr_array_new_with_free_func((GDestroyNotify)link_free);
	s->ports = g_ptr_array_new_with_free_func((GDestroyNotify)port_free);
	return s;
}

void vw_state_free(VwState *s)
{
	if (!s)
		return;
	g_free(s->name);
	g_free(s->id);
	g_free(s->applied);
	g_free(s->source);
	g_free(s->bridge);
	g_free(s->mode);
	g_ptr_array_unref(s->sysctls);
	g_ptr_array_unref(s->links);
	g_ptr_array_unref(s->ports);
	g_free(s->xml);
	g_free(s);
}

VwStateSysctl *vw_state_add_sysctl(VwState *s, const char *path, const char *old_value, const char *new_value,
				   bool revert)
{
	VwStateSysctl *x = g_new0(VwStateSysctl, 1);

	x->path = g_strdup(path);
	x->old_value = g_strdup(old_value);
	x->new_value = g_strdup(new_value);
	x->revert = revert;
	g_ptr_array_add(s->sysctls, x);
	return x;
}

VwStateLink *vw_state_add_link(VwState *s, const char *kind, const char *object, bool created, const char *extra)
{
	VwStateLink *l = g_new0(VwStateLink, 1);

	l->kind = g_strdup(kind);
	l->object = g_strdup(object);
	l->created = created;
	l->extra = g_strdup(extra);
	g_ptr_array_add(s->links, l);
	return l;
}

VwStatePort *vw_state_add_port(VwState *s, const char *uuid, const char *domain_uuid, const char *mac)
{
	VwStatePort *p = vw_state_find_port(s, uuid);

	if (!p) {
		p = g_new0(VwStatePort, 1);
		g_ptr_array_add(s->ports, p);
	}
	g_free(p->uuid);
	g_free(p->domain_uuid);
	g_free(p->mac);
	p->uuid = g_strdup(uuid);
	p->domain_uuid = g_strdup(domain_uuid);
	p->mac = g_strdup(mac);
	return p;
}

VwStatePort *vw_state_find_port(const VwState *s, const char *uuid)
{
	for (guint i = 0; i < s->ports->len; i++)
		if (g_strcmp0(((VwStatePort *)s->ports->pdata[i])->uuid, uuid) == 0)
			return s->ports->pdata[i];
	return NULL;
}

void vw_state_remove_port(VwState *s, const char *uuid)
{
	VwStatePort *p = vw_state_find_port(s, uuid);

	if (p)
		g_ptr_array_remove(s->ports, p);
}

VwState *vw_state_copy(const VwState *s)
{
	VwState *c = vw_state_new(s->name);

	c->id = g_strdup(s->id);
	c->applied = g_strdup(s->applied);
	c->source = g_strdup(s->source);
	c->bridge = g_strdup(s->bridge);
	c->mode = g_strdup(s->mode);
	c->pending = s->pending;
	c->xml = g_strdup(s->xml);
	for (guint i = 0; i < s->sysctls->len; i++) {
		const VwStateSysctl *x = s->sysctls->pdata[i];

		vw_state_add_sysctl(c, x->path, x->old_value, x->new_value, x->revert);
	}
	for (guint i = 0; i < s->links->len; i++) {
		const VwStateLink *l = s->links->pdata[i];

		vw_state_add_link(c, l->kind, l->object, l->created, l->extra);
	}
	for (guint i = 0; i < s->ports->len; i++) {
		const VwStatePort *p = s->ports->pdata[i];

		vw_state_add_port(c, p->uuid, p->domain_uuid, p->mac)->elems = g_strdup(p->elems);
	}
	return c;
}
