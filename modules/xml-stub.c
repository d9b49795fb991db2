/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xml.h in the executable of the default build: each call goes to the module
 * virtwire-xml.so, loaded by the first call that parses XML. A module that
 * cannot be loaded is a finding of the document being read, so the call
 * fails where unreadable input would, saying why.
 */
#include "module.h"

/* What vw_schemas_new returns when there is no module: every load fails
 * before it would be used. */
static char no_module;

static const VwXmlModule *xml(GError **error)
{
	return vw_module_load(VW_XML_MODULE_FILE, VW_XML_MODULE_SYMBOL, error);
}

static VwLoadStatus unloadable(const char *name, VwDiags *diags, GError *err)
{
	vw_error(diags, vw_loc(g_intern_string(name), 0), "module-unloadable", NULL, "%s", err->message);
	return VW_LOAD_UNREADABLE;
}

VwSchemas *vw_schemas_new(const char *dir)
{
	const VwXmlModule *m = xml(NULL);

	return m ? m->schemas_new(dir) : (VwSchemas *)&no_module;
}

void vw_schemas_free(VwSchemas *s)
{
	if (s && s != (VwSchemas *)&no_module)
		xml(NULL)->schemas_free(s);
}

VwLoadStatus vw_doc_load_file(const char *path, VwSchemas *schemas, VwDiags *diags, VwDoc **ret)
{
	g_autoptr(GError) err = NULL;
	const VwXmlModule *m = xml(&err);

	return m ? m->load_file(path, schemas, diags, ret) : unloadable(path, diags, err);
}

VwLoadStatus vw_doc_load_memory(const char *name, const char *buf, size_t len, VwSchemas *schemas, VwDiags *diags,
				VwDoc **ret)
{
	g_autoptr(GError) err = NULL;
	const VwXmlModule *m = xml(&err);

	return m ? m->load_memory(name, buf, len, schemas, diags, ret) : unloadable(name, diags, err);
}

VwLoadStatus vw_doc_load_libvirt(const char *name, const char *buf, size_t len, VwSchemas *schemas, VwDiags *diags,
				 VwDoc **ret)
{
	g_autoptr(GError) err = NULL;
	const VwXmlModule *m = xml(&err);

	return m ? m->load_libvirt(name, buf, len, schemas, diags, ret) : unloadable(name, diags, err);
}

const char *vw_schema_file_for(VwDocKind kind)
{
	const VwXmlModule *m = xml(NULL);

	return m ? m->schema_file_for(kind) : "";
}
