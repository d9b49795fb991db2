/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Validation against libvirt's own RelaxNG schemas, in place (their relative
 * includes resolve against the schema folder). */
#include <string.h>

#include <libxml/relaxng.h>

#include <virtwire/xml.h>

#include "xml-private.h"

const char *vw_schema_file_for(VwDocKind kind)
{
	switch (kind) {
	case VW_DOC_NETWORK:
	case VW_DOC_HOOKDATA:
		return "network.rng";
	case VW_DOC_DOMAIN:
		return "domain.rng";
	case VW_DOC_NETWORKPORT:
		return "networkport.rng";
	}
	return NULL;
}

enum { SCHEMA_NETWORK, SCHEMA_DOMAIN, SCHEMA_NETWORKPORT, SCHEMA__COUNT };

struct VwSchemas {
	char *dir;
	xmlRelaxNGPtr rng[SCHEMA__COUNT];
	bool tried[SCHEMA__COUNT];
	bool dir_missing_reported;
};

VwSchemas *vw_schemas_new(const char *dir)
{
	VwSchemas *s = g_new0(VwSchemas, 1);

	s->dir = g_strdup(dir ? dir : VW_SCHEMA_DIR_DEFAULT);
	return s;
}

void vw_schemas_free(VwSchemas *s)
{
	if (!s)
		return;
	for (int i = 0; i < SCHEMA__COUNT; i++)
		if (s->rng[i])
			xmlRelaxNGFree(s->rng[i]);
	g_free(s->dir);
	g_free(s);
}

static int schema_index(VwDocKind kind)
{
	switch (kind) {
	case VW_DOC_NETWORK:
	case VW_DOC_HOOKDATA:
		return SCHEMA_NETWORK;
	case VW_DOC_DOMAIN:
		return SCHEMA_DOMAIN;
	case VW_DOC_NETWORKPORT:
		return SCHEMA_NETWORKPORT;
	}
	return SCHEMA_NETWORK;
}

typedef struct {
	GString *first_error;
} SchemaLoadErr;

static void on_schema_load_error(void *data, xmlError *err)
{
	SchemaLoadErr *e = data;

	if (!e->first_error && err->message) {
		g_autofree char *msg = g_strstrip(g_strdup(err->message));

		e->first_error = g_string_new(msg);
	}
}

static xmlRelaxNGPtr load_schema(VwSchemas *s, VwDocKind kind, VwDiags *diags)
{
	int i = schema_index(kind);
	g_autofree char *path = NULL;
	xmlRelaxNGParserCtxtPtr pctx;
	SchemaLoadErr err = { 0 };

	if (s->tried[i])
		return s->rng[i];
	s->tried[i] = true;
	path = g_build_filename(s->dir, vw_schema_file_for(kind), NULL);
	/* No folder at all: say so once, not once per schema. */
	if (!g_file_test(s->dir, G_FILE_TEST_IS_DIR)) {
		if (!s->dir_missing_reported)
			vw_warning(diags, vw_loc(NULL, 0), "schema-missing",
				   "install libvirt's schemas (Debian: libvirt0) or pass --schema-dir DIR",
				   "libvirt's schema folder %s not found: no document was validated against libvirt's "
				   "schemas",
				   s->dir);
		s->dir_missing_reported = true;
		return NULL;
	}
	if (!g_file_test(path, G_FILE_TEST_IS_REGULAR)) {
		vw_warning(diags, vw_loc(NULL, 0), "schema-missing",
			   "install libvirt's schemas (Debian: libvirt0) or pass --schema-dir DIR",
			   "libvirt schema %s not found: %s documents were not validated against it", path,
			   vw_schema_file_for(kind));
		return NULL;
	}
	pctx = xmlRelaxNGNewParserCtxt(path);
	xmlRelaxNGSetParserStructuredErrors(pctx, (xmlStructuredErrorFunc)on_schema_load_error, &err);
	s->rng[i] = xmlRelaxNGParse(pctx);
	xmlRelaxNGFreeParserCtxt(pctx);
	if (!s->rng[i])
		vw_warning(diags, vw_loc(NULL, 0), "schema-unusable", "pass --schema-dir with libvirt's schemas",
			   "libvirt schema %s could not be loaded (%s): documents were not validated against it", path,
			   err.first_error ? err.first_error->str : "unknown error");
	if (err.first_error)
		g_string_free(err.first_error, TRUE);
	return s->rng[i];
}

typedef struct {
	const VwParseCtx *ctx;
	GHashTable *seen; /* "line\tmessage": libxml2 repeats itself */
	int count;
	/* Messages that libxml2 gave without a node or line ("Extra element
	 * bridge in interleave"): they take the line of the next located
	 * error, which is about the same element. */
	GPtrArray *pending;
} ValidationCtx;

static void report(ValidationCtx *v, VwLoc loc, const char *msg)
{
	char *key = g_strdup_printf("%d\t%s", loc.line, msg);
	const char *hint = NULL;

	if (!g_hash_table_add(v->seen, key))
		return;
	v->count++;
	if (strstr(msg, "Did not expect element") || strstr(msg, "extra content"))
		hint = "libvirt's schema does not allow this element here (it may be newer than the installed libvirt)";
	else if (strstr(msg, "Extra element"))
		/* What libxml2 says when anything in the element does not match. */
		hint = "libvirt's schema refuses this element, one of its attributes, or something inside it";
	vw_error(v->ctx->diags, loc, "schema", hint, "libvirt schema: %s", msg);
}

static void flush_pending(ValidationCtx *v, VwLoc loc)
{
	for (guint i = 0; i < v->pending->len; i++)
		report(v, loc, v->pending->pdata[i]);
	g_ptr_array_set_size(v->pending, 0);
}

static void on_validation_error(void *data, xmlError *err)
{
	ValidationCtx *v = data;
	const xmlNode *node = err->node;
	VwLoc loc = { v->ctx->file, vw_xml_rel_line(v->ctx, err->line) };
	g_autofree char *msg = g_strstrip(g_strdup(err->message ? err->message : "invalid"));
	bool consequence;

	if (node && node->type == XML_ELEMENT_NODE) {
		const char *extra = strstr(msg, "has extra content: ");

		loc.line = vw_xml_line(v->ctx, node);
		/* libxml2 blames the parent for an unexpected child: point at
		 * the child itself. */
		if (extra) {
			extra += strlen("has extra content: ");
			for (const xmlNode *c = node->children; c; c = c->next) {
				if (c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, extra) == 0) {
					loc.line = vw_xml_line(v->ctx, c);
					break;
				}
			}
		}
	}
	/* One bad attribute deep in the tree makes libxml2 fail every element
	 * up to the root, each with "Extra element X in interleave" and
	 * "Element Y failed to validate content": after the first finding,
	 * those only repeat it. */
	consequence = g_str_has_prefix(msg, "Extra element ") || strstr(msg, "failed to validate content") ||
		      strstr(msg, "Invalid sequence in interleave");
	if (loc.line <= 0) {
		if (!(consequence && v->count > 0))
			g_ptr_array_add(v->pending, g_steal_pointer(&msg));
		return;
	}
	flush_pending(v, loc);
	if (consequence && v->count > 0)
		return;
	report(v, loc, msg);
}

/*
 * libvirt's schema takes anything inside a <metadata> child (customElement:
 * any name, attributes, text and elements, recursively), so validating that
 * content proves nothing — and libxml2's RelaxNG engine takes time
 * quadratic in the number of sibling elements it matches against such an
 * open pattern (a network with 10,000 <vw:forward> took 0.7 s, 100,000 took
 * 80 s). The content of the children of <metadata> is set aside while the
 * schema runs and put back after; virtwire's own metadata is checked by
 * virtwire's rules.
 */
typedef struct {
	xmlNode *node, *children, *last;
} Hidden;

static void hide_metadata_content(xmlNode *root, GArray *hidden)
{
	for (xmlNode *m = root->children; m; m = m->next) {
		if (m->type != XML_ELEMENT_NODE || !xmlStrEqual(m->name, (const xmlChar *)"metadata") || m->ns)
			continue;
		for (xmlNode *c = m->children; c; c = c->next) {
			Hidden h = { c, c->children, c->last };

			if (c->type != XML_ELEMENT_NODE || !c->children)
				continue;
			g_array_append_val(hidden, h);
			c->children = c->last = NULL;
		}
	}
}

static void restore_metadata_content(GArray *hidden)
{
	for (guint i = 0; i < hidden->len; i++) {
		Hidden *h = &g_array_index(hidden, Hidden, i);

		h->node->children = h->children;
		h->node->last = h->last;
	}
}

/* The node after @n in document order below @root, or NULL. */
static xmlNode *next_node(xmlNode *root, xmlNode *n)
{
	if (n->type == XML_ELEMENT_NODE && n->children)
		return n->children;
	while (n != root && !n->next)
		n = n->parent;
	return n == root ? NULL : n->next;
}

/* Whether libvirt's schema can be checked on @root in bounded time (see
 * VW_MAX_SCHEMA_SIBLINGS); says why not. Runs with <metadata>'s content
 * set aside. */
static bool schema_size_ok(const VwParseCtx *ctx, xmlNode *root)
{
	guint total = 0;

	for (xmlNode *n = root; n; n = next_node(root, n)) {
		guint kids = 0, max;

		if (n->type != XML_ELEMENT_NODE)
			continue;
		max = vw_xml_is(n, "dhcp") ? VW_MAX_SCHEMA_DHCP : VW_MAX_SCHEMA_SIBLINGS;
		for (const xmlNode *c = n->children; c; c = c->next)
			kids += c->type == XML_ELEMENT_NODE;
		total += kids;
		if (kids > max) {
			vw_error(ctx->diags, vw_xml_loc(ctx, n), "too-many", NULL,
				 "<%s> has more than %u child elements: too many for libvirt's schema to be checked on",
				 (const char *)n->name, max);
			return false;
		}
		if (total > VW_MAX_SCHEMA_ELEMENTS) {
			vw_error(
				ctx->diags, vw_xml_loc(ctx, root), "too-many", NULL,
				"<%s> holds more than %u elements outside <metadata>: too many for libvirt's schema to "
				"be checked on",
				(const char *)root->name, VW_MAX_SCHEMA_ELEMENTS);
			return false;
		}
	}
	return true;
}

void vw_schemas_validate(VwSchemas *s, const VwParseCtx *ctx, xmlDoc *doc, xmlNode *root, VwDocKind kind)
{
	xmlRelaxNGPtr rng = load_schema(s, kind, ctx->diags);
	xmlRelaxNGValidCtxtPtr vctx;
	g_autoptr(xmlDoc) copy = NULL;
	g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	g_autoptr(GPtrArray) pending = g_ptr_array_new_with_free_func(g_free);
	/* Lines of the copy's nodes are its own: they die with it. */
	g_autoptr(GHashTable) copy_lines = g_hash_table_new(NULL, NULL);
	VwParseCtx copy_ctx = { ctx->file, ctx->diags, copy_lines, ctx->line_base };
	ValidationCtx v = { ctx, seen, 0, pending };
	g_autoptr(GArray) hidden = NULL;
	int rc;

	if (!rng)
		return;
	if (root != xmlDocGetRootElement(doc)) {
		/* Inside <hookData>: validate a copy of the inner element alone.
		 * The copy keeps line numbers and reconciles namespaces. */
		copy = xmlNewDoc((const xmlChar *)"1.0");
		xmlDocSetRootElement(copy, xmlDocCopyNode(root, copy, 1));
		doc = copy;
		v.ctx = ctx = &copy_ctx;
	}
	hidden = g_array_new(FALSE, FALSE, sizeof(Hidden));
	hide_metadata_content(xmlDocGetRootElement(doc), hidden);
	if (!schema_size_ok(ctx, xmlDocGetRootElement(doc))) {
		restore_metadata_content(hidden);
		return;
	}
	vctx = xmlRelaxNGNewValidCtxt(rng);
	xmlRelaxNGSetValidStructuredErrors(vctx, (xmlStructuredErrorFunc)on_validation_error, &v);
	rc = xmlRelaxNGValidateDoc(vctx, doc);
	xmlRelaxNGFreeValidCtxt(vctx);
	restore_metadata_content(hidden);
	flush_pending(&v, vw_xml_loc(ctx, root));
	if (rc != 0 && v.count == 0)
		vw_error(ctx->diags, vw_xml_loc(ctx, root), "schema", NULL, "libvirt schema: <%s> does not validate",
			 (const char *)root->name);
}
