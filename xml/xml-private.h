/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Helpers shared by the parsers in xml/; libxml2 types stay inside xml/. */
#pragma once

#include <libxml/parser.h>
#include <libxml/tree.h>

#include <virtwire/model.h>
#include <virtwire/xml.h>

G_DEFINE_AUTOPTR_CLEANUP_FUNC(xmlDoc, xmlFreeDoc)

typedef struct {
	const char *file; /* interned */
	VwDiags *diags;
	GHashTable *lines; /* xmlNode* → line, of elements past line 65535 */
	/* Lines are counted from the line after this one (vw_doc_load_libvirt:
	 * from the <network> inside <hookData>, as `virsh net-dumpxml` prints
	 * it); 0: the document's own. */
	int line_base;
	/* The vw:forward elements the parser read without building them
	 * (forward.c); NULL outside a load. */
	struct VwXmlForwards *forwards;
} VwParseCtx;

VwLoc vw_xml_loc(const VwParseCtx *ctx, const xmlNode *node);
/* xmlGetLineNo(), right past line 65535 too, counted from ctx->line_base;
 * 0 when unknown (or before the base). */
int vw_xml_line(const VwParseCtx *ctx, const xmlNode *node);
/* Line @line of the document, counted from ctx->line_base (0: before it, or unknown). */
int vw_xml_rel_line(const VwParseCtx *ctx, long line);

/* The value of an un-namespaced attribute, or NULL. Points into the tree. */
const char *vw_xml_prop(const xmlNode *node, const char *name);
/* Element children with this local name and no namespace, in order. */
xmlNode *vw_xml_child(const xmlNode *node, const char *name);
xmlNode *vw_xml_next(xmlNode *node, const char *name);
/* Text content of the first child element @name, or NULL; newly allocated. */
char *vw_xml_child_text(const xmlNode *node, const char *name);
bool vw_xml_is(const xmlNode *node, const char *name);
bool vw_xml_is_vw(const xmlNode *node);

/* Attribute readers: absent → false without a finding; malformed → false
 * with an error naming the element, the attribute and the bad value. */
bool vw_xml_prop_uint(const VwParseCtx *ctx, const xmlNode *node, const char *name, unsigned max, unsigned *ret);
bool vw_xml_prop_addr(const VwParseCtx *ctx, const xmlNode *node, const char *name, VwAddr *ret);
bool vw_xml_prop_mac(const VwParseCtx *ctx, const xmlNode *node, const char *name, VwMac *ret);
/* yes/no (and on/off for libvirt's stp) into a tristate. */
bool vw_xml_prop_tristate(const VwParseCtx *ctx, const xmlNode *node, const char *name, VwTristate *ret);

VwNetwork *vw_xml_parse_network(const VwParseCtx *ctx, xmlNode *root);
VwDomain *vw_xml_parse_domain(const VwParseCtx *ctx, xmlNode *root);
VwNetPort *vw_xml_parse_netport(const VwParseCtx *ctx, xmlNode *root);

/* <metadata> children in virtwire's namespace. */
VwNetMeta *vw_xml_parse_net_meta(const VwParseCtx *ctx, xmlNode *metadata);
VwDomMeta *vw_xml_parse_dom_meta(const VwParseCtx *ctx, xmlNode *metadata);

/* Inside a vw element: unknown attributes and stray text of @n are errors
 * (with a suggestion from @allowed), and so is a child element that is not
 * among @valid. */
void vw_xml_vw_element(const VwParseCtx *ctx, xmlNode *n, const char *const *allowed);
void vw_xml_vw_stray(const VwParseCtx *ctx, xmlNode *parent, xmlNode *c, const char *const *valid);
/* <vw:span> (xml/span.c). */
VwSpan *vw_xml_parse_span(const VwParseCtx *ctx, xmlNode *n);

/* Helpers of the vw metadata readers (metadata.c), for forward.c too. */
/* "did you mean 'host-port'? valid: a, b, c" */
char *vw_meta_suggest(const char *bad, const char *const *valid, const char *what);
bool vw_meta_in_list(const char *s, const char *const *list);
/* An attribute @name (@prefix: its namespace prefix, NULL for none) of
 * <vw:@element> at @loc that is not in @allowed; @elsewhere: see check_element. */
void vw_meta_check_attr(const VwParseCtx *ctx, VwLoc loc, const char *element, const char *name, const char *prefix,
			const char *const *allowed, const char *const *elsewhere);
/* A text or CDATA child of <vw:@element> (at @element_line) that is not
 * blank; @loc: where libxml2 puts it. */
void vw_meta_check_text(const VwParseCtx *ctx, const char *element, int element_line, const char *content, VwLoc loc);
/* A child element @name (namespace @href, NULL for none) of <vw:@parent> that is not one of @valid. */
void vw_meta_stray(const VwParseCtx *ctx, VwLoc loc, const char *parent, const char *name, const char *href,
		   const char *const *valid);
/* "N" or "N-M", 1..65535, N <= M: the value @v of @attr of <vw:@element>; NULL: false without a finding. */
bool vw_meta_ports(const VwParseCtx *ctx, VwLoc loc, const char *element, const char *attr, const char *v,
		   VwPortRange *ret);

/*
 * vw:forward elements are read straight from libxml2's SAX callbacks into
 * VwForward, never built as nodes (forward.c). load.c calls the hooks
 * below from its callbacks: each returns true when it took the event (the
 * tree builder must not see it).
 */
typedef struct VwXmlForwards VwXmlForwards;
VwXmlForwards *vw_xml_forwards_new(const VwParseCtx *ctx, xmlParserCtxtPtr pctx);
void vw_xml_forwards_free(VwXmlForwards *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VwXmlForwards, vw_xml_forwards_free)
bool vw_xml_forwards_start(VwXmlForwards *s, const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri,
			   int nb_attributes, const xmlChar **attributes);
/* After the tree builder made an element (vw_xml_forwards_start() false). */
void vw_xml_forwards_started(VwXmlForwards *s);
bool vw_xml_forwards_end(VwXmlForwards *s);
bool vw_xml_forwards_text(VwXmlForwards *s, const xmlChar *value, int len, bool cdata);
/* A comment or processing instruction. */
bool vw_xml_forwards_other(VwXmlForwards *s);
/* Moves the forwards read out of @parent that stood before its element
 * child number @before (G_MAXUINT: all that are left) to @out, their
 * findings to ctx->diags, with lines counted from ctx->line_base. @cursor
 * (0 at first) keeps the place. False, with @over, at the forward past
 * VW_MAX_FORWARDS. */
bool vw_xml_forwards_take(const VwParseCtx *ctx, const xmlNode *parent, guint before, guint *cursor, GPtrArray *out,
			  VwLoc *over);

/* Validates @root (a network, domain or networkport element, possibly
 * inside a hookData wrapper) against the schema for @kind. */
struct VwSchemas;
void vw_schemas_validate(struct VwSchemas *s, const VwParseCtx *ctx, xmlDoc *doc, xmlNode *root, VwDocKind kind);

/* Where vw_xml_scan_attributes() found a start tag with too many attributes:
 * its line, and its name (pointing into the buffer, not terminated). */
typedef struct {
	int line;
	const char *name;
	size_t name_len;
} VwXmlScanFail;

/* False (with @fail) when a start tag in @buf has more than @max attributes;
 * see scan.c for why this is looked at before parsing. */
bool vw_xml_scan_attributes(const char *buf, size_t len, unsigned max, VwXmlScanFail *fail);

/* vw_doc_load_memory() with another cap than VW_MAX_NODES (for tests). */
VwLoadStatus vw_xml_load_capped(const char *name, const char *buf, size_t len, VwSchemas *schemas, gsize max_nodes,
				bool relative, VwDiags *diags, VwDoc **ret);
