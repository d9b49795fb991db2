/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Loading a document: reading, well-formedness, root detection, dispatch. */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

#include <virtwire/xml.h>

#include "xml-private.h"

typedef struct {
	const VwParseCtx *ctx;
	bool fatal_seen;
} XmlErrorCtx;

/* Collects libxml2's well-formedness errors as findings with line numbers.
 * After the first fatal error libxml2 only reports the wreckage it leaves
 * ("attributes construct error" after a missing quote): one is enough. */
static void on_xml_error(void *data, xmlError *err)
{
	XmlErrorCtx *x = data;
	g_autofree char *msg = g_strstrip(g_strdup(err->message ? err->message : "malformed XML"));
	VwLoc loc = { x->ctx->file, err->line };

	if (err->level < XML_ERR_ERROR || x->fatal_seen)
		return;
	if (err->level == XML_ERR_FATAL)
		x->fatal_seen = true;
	vw_error(x->ctx->diags, loc, "malformed-xml",
		 g_str_has_prefix(msg, "Namespace prefix vw ")
			 ? "declare virtwire's namespace: <vw:network xmlns:vw=\"" VW_NS_URI "\" …>"
			 : NULL,
		 "%s", msg);
}

static VwLoadStatus load_tree(const VwParseCtx *ctx, xmlDoc *doc, VwSchemas *schemas, VwDoc **ret)
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

VwLoadStatus vw_doc_load_memory(const char *name, const char *buf, size_t len, VwSchemas *schemas,
				VwDiags *diags, VwDoc **ret)
{
	VwParseCtx ctx = { g_intern_string(name), diags };
	XmlErrorCtx xctx = { &ctx, false };
	g_autoptr(xmlDoc) doc = NULL;
	xmlParserCtxtPtr pctx;
	guint before = diags->items->len;

	*ret = NULL;
	if (len > VW_MAX_FILE_SIZE) {
		vw_error(diags, vw_loc(ctx.file, 0), "file-too-large", NULL,
			 "the document is larger than %u MiB", VW_MAX_FILE_SIZE >> 20);
		return VW_LOAD_MALFORMED;
	}
	if (len > INT_MAX)
		return VW_LOAD_MALFORMED;
	pctx = xmlNewParserCtxt();
	if (!pctx)
		g_error("out of memory");
	/* libxml2 2.9 routes parser errors through this thread-local handler. */
	xmlSetStructuredErrorFunc(&xctx, (xmlStructuredErrorFunc)on_xml_error);
	/* No network, no entity expansion, no DTD loading: hook input and CI
	 * files must not make virtwire fetch or expand anything. BIG_LINES keeps
	 * line numbers right past 65535. */
	doc = xmlCtxtReadMemory(pctx, buf, (int)len, name, NULL,
				XML_PARSE_NONET | XML_PARSE_BIG_LINES | XML_PARSE_NOWARNING);
	xmlFreeParserCtxt(pctx);
	xmlSetStructuredErrorFunc(NULL, NULL);
	if (!doc) {
		if (diags->items->len == before)
			vw_error(diags, vw_loc(ctx.file, 0), "malformed-xml", NULL, "not well-formed XML");
		return VW_LOAD_MALFORMED;
	}
	return load_tree(&ctx, doc, schemas, ret);
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
