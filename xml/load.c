/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Loading a document: reading, well-formedness, root detection, dispatch. */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/encoding.h>
#include <libxml/parser.h>
#include <libxml/SAX2.h>

#include <virtwire/xml.h>

#include "xml-private.h"

/*
 * What a parse may cost is bounded here, inside libxml2's parser: a
 * document that declares a DOCTYPE is refused as soon as the parser sees it,
 * before it reads a single entity declaration (libvirt never writes one, and
 * entities let a small file expand without bound: xmlNodeGetContent and
 * RelaxNG expand internal entities even without XML_PARSE_NOENT); the tree
 * stops growing at VW_MAX_NODES; and the parser stops at the first
 * well-formedness error instead of reading on with its tree switched off.
 * Before it, the size, the encoding and the attributes of each element
 * (scan.c) are looked at.
 */
#define UTF8_HINT "virtwire reads UTF-8, as libvirt writes it: convert the file (iconv -t UTF-8)"

typedef struct {
	const VwParseCtx *ctx;
	xmlParserCtxtPtr pctx;
	bool fatal_seen;
	bool refused;		 /* stopped by virtwire: the document is not used */
	gsize nodes, max_nodes;	 /* see VW_MAX_NODES */
	VwXmlForwards *forwards; /* takes the vw:forward elements (forward.c) */
	/* libxml2's own tree builders, called after counting. */
	startElementNsSAX2Func start_element;
	endElementNsSAX2Func end_element;
	commentSAXFunc comment;
	processingInstructionSAXFunc pi;
	charactersSAXFunc text[3]; /* TEXT_* */
} LoadCtx;

/* The callbacks that receive text, all of one type. */
enum { TEXT_CHARACTERS, TEXT_WHITESPACE, TEXT_CDATA };

/* Collects libxml2's well-formedness errors as findings with line numbers.
 * After the first fatal error libxml2 only reports the wreckage it leaves
 * ("attributes construct error" after a missing quote): one is enough, and
 * the parser stops there, as it does when it runs out of memory (it would
 * otherwise read on to the end with its tree switched off). */
static void on_xml_error(void *data, xmlError *err)
{
	LoadCtx *x = data;
	g_autofree char *msg = g_strstrip(g_strdup(err->message ? err->message : "malformed XML"));
	VwLoc loc = { x->ctx->file, err->line };
	const char *hint = NULL;

	if (err->level < XML_ERR_ERROR || x->fatal_seen || x->refused)
		return;
	if (err->level == XML_ERR_FATAL) {
		x->fatal_seen = true;
		x->pctx->instate = XML_PARSER_EOF;
		x->pctx->disableSAX = 1;
	}
	if (g_str_has_prefix(msg, "Namespace prefix vw "))
		hint = "declare virtwire's namespace: <vw:network xmlns:vw=\"" VW_NS_URI "\" …>";
	else if (err->code == XML_ERR_INVALID_CHAR && g_str_has_prefix(msg, "Input is not proper UTF-8"))
		hint = UTF8_HINT;
	vw_error(x->ctx->diags, loc, "malformed-xml", hint, "%s", msg);
}

static LoadCtx *load_ctx(void *data)
{
	return ((xmlParserCtxtPtr)data)->_private;
}

G_STATIC_ASSERT(VW_MAX_FILE_SIZE <= INT_MAX);

/* Stops the parser from one of its callbacks, with a finding. */
static void refuse(LoadCtx *l, const char *code, const char *hint, const char *msg)
{
	VwLoc loc = { l->ctx->file, xmlSAX2GetLineNumber(l->pctx) };

	vw_error(l->ctx->diags, loc, code, hint, "%s", msg);
	l->refused = true;
	xmlStopParser(l->pctx);
}

/* Called for every <!DOCTYPE …>, with or without an internal subset, before
 * the parser reads the subset; the parser checks for a stop right after. */
static void on_doctype(void *data, const xmlChar *name G_GNUC_UNUSED, const xmlChar *external_id G_GNUC_UNUSED,
		       const xmlChar *system_id G_GNUC_UNUSED)
{
	refuse(load_ctx(data), "doctype",
	       "a DOCTYPE can declare entities that make a small file expand without bound; virtwire reads none",
	       "libvirt documents have no DOCTYPE; remove it");
}

static void count_nodes(LoadCtx *l, gsize n)
{
	g_autofree char *msg = NULL;

	l->nodes += n;
	if (l->nodes <= l->max_nodes || l->refused)
		return;
	msg = g_strdup_printf("the document has more than %" G_GSIZE_FORMAT " elements, attributes and pieces of text",
			      l->max_nodes);
	refuse(l, "too-many", "libvirt documents are far smaller; split the forwards over several networks", msg);
}

static void on_start_element(void *data, const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri,
			     int nb_namespaces, const xmlChar **namespaces, int nb_attributes, int nb_defaulted,
			     const xmlChar **attributes)
{
	LoadCtx *l = load_ctx(data);

	if (!vw_xml_forwards_start(l->forwards, localname, prefix, uri, nb_attributes, attributes)) {
		l->start_element(data, localname, prefix, uri, nb_namespaces, namespaces, nb_attributes, nb_defaulted,
				 attributes);
		vw_xml_forwards_started(l->forwards);
	}
	count_nodes(l, 1 + (gsize)nb_namespaces + (gsize)nb_attributes);
}

static void on_end_element(void *data, const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri)
{
	LoadCtx *l = load_ctx(data);

	if (!vw_xml_forwards_end(l->forwards))
		l->end_element(data, localname, prefix, uri);
}

static void on_comment(void *data, const xmlChar *value)
{
	LoadCtx *l = load_ctx(data);

	if (!vw_xml_forwards_other(l->forwards))
		l->comment(data, value);
	count_nodes(l, 1);
}

static void on_pi(void *data, const xmlChar *target, const xmlChar *value)
{
	LoadCtx *l = load_ctx(data);

	if (!vw_xml_forwards_other(l->forwards))
		l->pi(data, target, value);
	count_nodes(l, 1);
}

/* Text comes in pieces (of at most 300 bytes in libxml2 2.9), each counted:
 * more than the text nodes, never fewer. A CDATA section is one piece. */
static void text_piece(void *data, const xmlChar *value, int len, int kind)
{
	LoadCtx *l = load_ctx(data);

	if (!vw_xml_forwards_text(l->forwards, value, len, kind == TEXT_CDATA))
		l->text[kind](data, value, len);
	count_nodes(l, 1);
}

static void on_characters(void *data, const xmlChar *value, int len)
{
	text_piece(data, value, len, TEXT_CHARACTERS);
}

static void on_whitespace(void *data, const xmlChar *value, int len)
{
	text_piece(data, value, len, TEXT_WHITESPACE);
}

static void on_cdata(void *data, const xmlChar *value, int len)
{
	text_piece(data, value, len, TEXT_CDATA);
}

/* Puts virtwire's guards in front of libxml2's tree builder. */
static void guard_parser(xmlParserCtxtPtr pctx, LoadCtx *l)
{
	xmlSAXHandler *sax = pctx->sax;

	pctx->_private = l;
	l->pctx = pctx;
	l->start_element = sax->startElementNs;
	l->end_element = sax->endElementNs;
	l->comment = sax->comment;
	l->pi = sax->processingInstruction;
	l->text[TEXT_CHARACTERS] = sax->characters;
	l->text[TEXT_WHITESPACE] = sax->ignorableWhitespace;
	l->text[TEXT_CDATA] = sax->cdataBlock;
	sax->internalSubset = on_doctype;
	sax->startElementNs = on_start_element;
	sax->endElementNs = on_end_element;
	sax->comment = on_comment;
	sax->processingInstruction = on_pi;
	sax->cdataBlock = on_cdata;
	sax->characters = on_characters;
	sax->ignorableWhitespace = on_whitespace;
}

static VwLoadStatus load_tree(VwParseCtx *ctx, xmlDoc *doc, VwSchemas *schemas, bool relative, VwDoc **ret)
{
	xmlNode *root = xmlDocGetRootElement(doc);
	g_autoptr(VwDoc) out = g_new0(VwDoc, 1);

	out->file = ctx->file;
	if (!root) {
		vw_error(ctx->diags, vw_loc(ctx->file, 0), "malformed-xml", NULL, "the document is empty");
		return VW_LOAD_MALFORMED;
	}
	if (vw_xml_is(root, "network")) {
		out->kind = VW_DOC_NETWORK;
		if (schemas)
			vw_schemas_validate(schemas, ctx, doc, root, VW_DOC_NETWORK);
		out->network = vw_xml_parse_network(ctx, root);
	} else if (vw_xml_is(root, "domain")) {
		out->kind = VW_DOC_DOMAIN;
		if (schemas)
			vw_schemas_validate(schemas, ctx, doc, root, VW_DOC_DOMAIN);
		out->domain = vw_xml_parse_domain(ctx, root);
	} else if (vw_xml_is(root, "networkport")) {
		out->kind = VW_DOC_NETWORKPORT;
		if (schemas)
			vw_schemas_validate(schemas, ctx, doc, root, VW_DOC_NETWORKPORT);
		out->port = vw_xml_parse_netport(ctx, root);
	} else if (vw_xml_is(root, "hookData")) {
		xmlNode *net = vw_xml_child(root, "network");
		xmlNode *port = vw_xml_child(root, "networkport");

		out->kind = VW_DOC_HOOKDATA;
		if (!net) {
			vw_error(ctx->diags, vw_xml_loc(ctx, root), "malformed-hookdata",
				 "libvirt's network hook passes <hookData><network>…</network></hookData>",
				 "<hookData> has no <network> element");
			return VW_LOAD_MALFORMED;
		}
		if (vw_xml_next(net->next, "network") || (port && vw_xml_next(port->next, "networkport"))) {
			vw_error(ctx->diags, vw_xml_loc(ctx, root), "malformed-hookdata", NULL,
				 "<hookData> holds more than one <network> or <networkport>");
			return VW_LOAD_MALFORMED;
		}
		/* What the operator sees of it: `virsh net-dumpxml` prints the
		 * <network> alone. */
		if (relative)
			ctx->line_base = MAX(vw_xml_line(ctx, net) - 1, 0);
		if (schemas) {
			vw_schemas_validate(schemas, ctx, doc, net, VW_DOC_NETWORK);
			if (port)
				vw_schemas_validate(schemas, ctx, doc, port, VW_DOC_NETWORKPORT);
		}
		out->network = vw_xml_parse_network(ctx, net);
		if (port)
			out->port = vw_xml_parse_netport(ctx, port);
	} else {
		vw_error(ctx->diags, vw_xml_loc(ctx, root), "unknown-document",
			 "virtwire reads libvirt <network>, <domain>, <networkport> and <hookData> XML",
			 "<%s> is not a libvirt network, domain, networkport or hookData document",
			 (const char *)root->name);
		return VW_LOAD_MALFORMED;
	}
	*ret = g_steal_pointer(&out);
	return VW_LOAD_OK;
}

/* Size and attributes, before libxml2 sees the document. */
static bool precheck(const VwParseCtx *ctx, const char *buf, size_t len)
{
	VwXmlScanFail fail;

	if (len > VW_MAX_FILE_SIZE) {
		vw_error(ctx->diags, vw_loc(ctx->file, 0), "file-too-large", NULL, "the document is larger than %u MiB",
			 VW_MAX_FILE_SIZE >> 20);
		return false;
	}
	/* What the parser would switch to by the first bytes (a BOM, or
	 * "<?xml" in UTF-16 or EBCDIC); an encoding= it is told to ignore. */
	if (len >= 4) {
		xmlCharEncoding enc = xmlDetectCharEncoding((const unsigned char *)buf, 4);

		if (enc != XML_CHAR_ENCODING_NONE && enc != XML_CHAR_ENCODING_UTF8) {
			vw_error(ctx->diags, vw_loc(ctx->file, 1), "malformed-xml", UTF8_HINT,
				 "the document is in %s, not in UTF-8", xmlGetCharEncodingName(enc));
			return false;
		}
	}
	if (!vw_xml_scan_attributes(buf, len, VW_MAX_ATTRIBUTES, &fail)) {
		vw_error(ctx->diags, vw_loc(ctx->file, fail.line), "too-many",
			 "libvirt's elements have a few attributes each", "<%.*s> has more than %u attributes",
			 (int)MIN(fail.name_len, 40), fail.name, VW_MAX_ATTRIBUTES);
		return false;
	}
	return true;
}

VwLoadStatus vw_doc_load_memory(const char *name, const char *buf, size_t len, VwSchemas *schemas, VwDiags *diags,
				VwDoc **ret)
{
	return vw_xml_load_capped(name, buf, len, schemas, VW_MAX_NODES, false, diags, ret);
}

VwLoadStatus vw_doc_load_libvirt(const char *name, const char *buf, size_t len, VwSchemas *schemas, VwDiags *diags,
				 VwDoc **ret)
{
	return vw_xml_load_capped(name, buf, len, schemas, VW_MAX_NODES, true, diags, ret);
}

VwLoadStatus vw_xml_load_capped(const char *name, const char *buf, size_t len, VwSchemas *schemas, gsize max_nodes,
				bool relative, VwDiags *diags, VwDoc **ret)
{
	g_autoptr(GHashTable) lines = g_hash_table_new(NULL, NULL);
	VwParseCtx ctx = { g_intern_string(name), diags, lines };
	LoadCtx lctx = { &ctx, .max_nodes = max_nodes };
	g_autoptr(xmlDoc) doc = NULL;
	g_autoptr(VwXmlForwards) forwards = NULL;
	xmlParserCtxtPtr pctx;
	guint before = diags->items->len;

	*ret = NULL;
	if (!precheck(&ctx, buf, len))
		return VW_LOAD_MALFORMED;
	pctx = xmlNewParserCtxt();
	if (!pctx)
		g_error("out of memory");
	forwards = vw_xml_forwards_new(&ctx, pctx);
	ctx.forwards = lctx.forwards = forwards;
	guard_parser(pctx, &lctx);
	/* libxml2 2.9 routes parser errors through this thread-local handler. */
	xmlSetStructuredErrorFunc(&lctx, (xmlStructuredErrorFunc)on_xml_error);
	/* No network, no DTD loading, no entity substitution; UTF-8 whatever
	 * the document declares (libvirt writes UTF-8, and scan.c reads the
	 * bytes as such). BIG_LINES keeps line numbers right past 65535. */
	doc = xmlCtxtReadMemory(pctx, buf, (int)len, name, NULL,
				XML_PARSE_NONET | XML_PARSE_BIG_LINES | XML_PARSE_NOWARNING | XML_PARSE_IGNORE_ENC);
	xmlFreeParserCtxt(pctx);
	xmlSetStructuredErrorFunc(NULL, NULL);
	if (!doc || lctx.refused || lctx.fatal_seen) {
		if (diags->items->len == before)
			vw_error(diags, vw_loc(ctx.file, 0), "malformed-xml", NULL, "not well-formed XML");
		return VW_LOAD_MALFORMED;
	}
	return load_tree(&ctx, doc, schemas, relative, ret);
}

VwLoadStatus vw_doc_load_file(const char *path, VwSchemas *schemas, VwDiags *diags, VwDoc **ret)
{
	g_autofree char *buf = NULL;
	g_autoptr(GError) err = NULL;
	gsize len = 0;

	*ret = NULL;
	if (!g_file_get_contents(path, &buf, &len, &err)) {
		vw_error(diags, vw_loc(g_intern_string(path), 0), "unreadable", NULL, "cannot read the file: %s",
			 err->message);
		return VW_LOAD_UNREADABLE;
	}
	return vw_doc_load_memory(path, buf, len, schemas, diags, ret);
}
