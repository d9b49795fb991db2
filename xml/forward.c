/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vw:forward elements straight from the parser. A network may hold 262,144
 * forwards; as libxml2 nodes (an element, an attribute and a text node per
 * attribute) they took ten times the memory of the forwards themselves, and
 * building and freeing them most of a load's time. So the forwards of the
 * vw:network or vw:domain that metadata.c reads — <network>, <domain> or
 * <hookData><network>, its first <metadata>, its first element in
 * virtwire's namespace of the document's kind — are taken from libxml2's
 * SAX callbacks (load.c) and never reach the tree builder: each one's
 * attributes, text and children are held while it is open and turned into a
 * VwForward when it ends, with the same findings, in the same order, as a
 * reading of the tree gave. metadata.c takes them in where they stood
 * among the other children. The RelaxNG check never looked inside
 * <metadata> (schema.c), and the node count (load.c) still counts them.
 *
 * Lines are the parser's own (it knows them past 65535 too), held as the
 * document's until metadata.c takes a forward, when ctx->line_base is known.
 */
#include <string.h>

#include <libxml/SAX2.h>
#include <libxml/parserInternals.h>

#include "xml-private.h"

static const char *const net_forward_attrs[] = { "name",       "proto",		"address",   "host-port",
						 "guest-port", "guest-address", "guest-mac", NULL };
static const char *const dom_forward_attrs[] = { "network", "mac",	 "name",       "proto",
						 "address", "host-port", "guest-port", NULL };
static const char *const source_attrs[] = { "address", NULL };

/* Where an element the tree builder made stands, as far as forwards go. */
typedef enum {
	AT_OTHER,
	AT_HOOKDATA,
	AT_NETWORK, /* the document's <network>, or the one inside <hookData> */
	AT_DOMAIN,
	AT_NET_METADATA, /* their first <metadata> */
	AT_DOM_METADATA,
	AT_NET_TOP, /* the <vw:network> or <vw:domain> metadata.c reads */
	AT_DOM_TOP,
} At;

/* A forward's parent is at depth 5 at most (hookData/network/metadata/vw:network). */
#define AT_DEPTH 8
/* What is kept of a forward: it, its children and theirs (sources' children). */
#define KEPT_DEPTH 3
#define NONE G_MAXUINT

typedef enum { NODE_NONE, NODE_ELEMENT, NODE_TEXT, NODE_CDATA, NODE_OTHER } NodeKind;

/* A node of the open forward; strings are offsets into buf. */
typedef struct {
	NodeKind kind;
	guint depth;  /* 0: the forward, 1: its children, 2: theirs */
	guint parent; /* index of the parent element, NONE for the forward */
	int line;     /* the document's */
	guint name, href;
	guint attr0, n_attrs; /* into attrs */
	guint text;	      /* text and CDATA */
} Node;

typedef struct {
	guint name, prefix, value; /* prefix NONE: no namespace */
	int known;		   /* KNOWN_* of an un-namespaced name, or -1 */
} Attr;

/* The attribute names of forwards and sources, told apart once. */
enum {
	KNOWN_NAME,
	KNOWN_PROTO,
	KNOWN_ADDRESS,
	KNOWN_HOST_PORT,
	KNOWN_GUEST_PORT,
	KNOWN_GUEST_ADDRESS,
	KNOWN_GUEST_MAC,
	KNOWN_NETWORK,
	KNOWN_MAC,
	KNOWN__COUNT
};
static const char *const known_names[KNOWN__COUNT] = { "name",	    "proto",	  "address",
						       "host-port", "guest-port", "guest-address",
						       "guest-mac", "network",	  "mac" };
/* Which of them each element allows (net_forward_attrs, dom_forward_attrs, source_attrs). */
#define KNOWN_BIT(k) (1u << (k))
#define KNOWN_NET_FORWARD                                                                                         \
	(KNOWN_BIT(KNOWN_NAME) | KNOWN_BIT(KNOWN_PROTO) | KNOWN_BIT(KNOWN_ADDRESS) | KNOWN_BIT(KNOWN_HOST_PORT) | \
	 KNOWN_BIT(KNOWN_GUEST_PORT) | KNOWN_BIT(KNOWN_GUEST_ADDRESS) | KNOWN_BIT(KNOWN_GUEST_MAC))
#define KNOWN_DOM_FORWARD                                                                                   \
	(KNOWN_BIT(KNOWN_NETWORK) | KNOWN_BIT(KNOWN_MAC) | KNOWN_BIT(KNOWN_NAME) | KNOWN_BIT(KNOWN_PROTO) | \
	 KNOWN_BIT(KNOWN_ADDRESS) | KNOWN_BIT(KNOWN_HOST_PORT) | KNOWN_BIT(KNOWN_GUEST_PORT))
#define KNOWN_SOURCE KNOWN_BIT(KNOWN_ADDRESS)

/* A forward read, waiting for metadata.c. */
typedef struct {
	VwForward *f; /* NULL once taken, or for the one past the cap */
	bool over;    /* the forward past VW_MAX_FORWARDS */
	int line;     /* the document's */
	guint before; /* element children of the parent before it */
	/* Its findings in s->ctx.diags: items and those dropped. */
	guint diag_begin, diag_end;
	guint dropped_begin, dropped_end;
} Read;

typedef struct {
	const xmlNode *parent;
	bool domain;
	GArray *read;	/* Read */
	guint children; /* element children of the parent made so far */
	bool full;	/* the one past VW_MAX_FORWARDS read: skip the rest */
} Group;

struct VwXmlForwards {
	VwParseCtx ctx; /* findings into diags, lines the document's */
	xmlParserCtxtPtr pctx;
	At at[AT_DEPTH];
	guint depth; /* open elements the tree builder made */
	At next;     /* of the element vw_xml_forwards_start() let through */
	bool seen_metadata, seen_top;
	Group *group; /* of the open vw:network or vw:domain */
	GPtrArray *groups;
	/* The last child of the group's parent was a forward, which is not
	 * there: the text after it must not be joined to the text before. */
	bool after_forward;
	int forward_line; /* of that forward */
	xmlNode *ws;	  /* the text node text_after_forward made last */
	/* The open forward: its elements open (0: none), whether it is read. */
	guint open;
	bool skip;
	GArray *nodes, *attrs;
	GString *buf;
	guint open_node[KEPT_DEPTH]; /* the open element at each depth */
	guint last[KEPT_DEPTH];	     /* its last child: a node index, or NONE */
	NodeKind last_kind[KEPT_DEPTH];
	int last_line[KEPT_DEPTH];
};

static void group_free(gpointer p)
{
	Group *g = p;

	for (guint i = 0; i < g->read->len; i++)
		vw_forward_free(g_array_index(g->read, Read, i).f);
	g_array_unref(g->read);
	g_free(g);
}

VwXmlForwards *vw_xml_forwards_new(const VwParseCtx *ctx, xmlParserCtxtPtr pctx)
{
	VwXmlForwards *s = g_new0(VwXmlForwards, 1);

	s->ctx.file = ctx->file;
	s->ctx.lines = ctx->lines;
	s->ctx.diags = vw_diags_new();
	/* What does not fit here would not fit into the caller's either. */
	s->ctx.diags->limit = ctx->diags->limit;
	s->pctx = pctx;
	s->groups = g_ptr_array_new_with_free_func(group_free);
	s->nodes = g_array_new(FALSE, FALSE, sizeof(Node));
	s->attrs = g_array_new(FALSE, FALSE, sizeof(Attr));
	s->buf = g_string_sized_new(256);
	return s;
}

void vw_xml_forwards_free(VwXmlForwards *s)
{
	if (!s)
		return;
	vw_diags_free(s->ctx.diags);
	g_ptr_array_unref(s->groups);
	g_array_unref(s->nodes);
	g_array_unref(s->attrs);
	g_string_free(s->buf, TRUE);
	g_free(s);
}

static guint put(VwXmlForwards *s, const char *p, size_t len)
{
	guint at = (guint)s->buf->len;

	g_string_set_size(s->buf, at + len + 1);
	memcpy(s->buf->str + at, p, len);
	s->buf->str[at + len] = '\0';
	return at;
}

static int known(const xmlChar *name)
{
	for (int k = 0; k < KNOWN__COUNT; k++)
		if (name[0] == (xmlChar)known_names[k][0] && strcmp((const char *)name, known_names[k]) == 0)
			return k;
	return -1;
}

static const char *str(const VwXmlForwards *s, guint off)
{
	return off == NONE ? NULL : s->buf->str + off;
}

static const Node *node_at(const VwXmlForwards *s, guint i)
{
	return &g_array_index(s->nodes, Node, i);
}

/* An attribute's value as the tree gives it: with replaceEntities off the
 * parser hands an '&' on as "&#38;", which the tree builder decodes. */
static guint put_value(VwXmlForwards *s, const xmlChar *v, const xmlChar *end)
{
	const char *p = (const char *)v, *e = (const char *)end;
	guint at;

	if (!memchr(p, '&', (size_t)(e - p)))
		return put(s, p, (size_t)(e - p));
	at = (guint)s->buf->len;
	while (p < e) {
		if (e - p >= 5 && memcmp(p, "&#38;", 5) == 0) {
			g_string_append_c(s->buf, '&');
			p += 5;
		} else {
			g_string_append_c(s->buf, *p++);
		}
	}
	g_string_append_c(s->buf, '\0');
	return at;
}

static int line_now(const VwXmlForwards *s)
{
	return xmlSAX2GetLineNumber(s->pctx);
}

/* A child of the open element at @depth; its kind and line as its last child. */
static void child_seen(VwXmlForwards *s, guint depth, NodeKind kind, guint index)
{
	if (depth >= KEPT_DEPTH)
		return;
	s->last_kind[depth] = kind;
	s->last[depth] = index;
	s->last_line[depth] = line_now(s);
}

/* An element inside the open forward (depth = s->open: 1 for its children). */
static void forward_element(VwXmlForwards *s, const char *name, const xmlChar *uri, int nb_attributes,
			    const xmlChar **attributes)
{
	guint depth = s->open;
	Node n;

	if (depth) {
		child_seen(s, depth - 1, NODE_ELEMENT, s->nodes->len);
		if (depth >= KEPT_DEPTH)
			return;
	}
	n = (Node){ NODE_ELEMENT, depth, depth ? s->open_node[depth - 1] : NONE, line_now(s) };
	n.name = put(s, name, strlen(name));
	n.href = uri ? put(s, (const char *)uri, strlen((const char *)uri)) : NONE;
	n.attr0 = s->attrs->len;
	n.n_attrs = (guint)nb_attributes;
	n.text = NONE;
	for (int i = 0; i < nb_attributes; i++) {
		const xmlChar **a = attributes + 5 * i;
		g_autofree char *qname = a[1] && !a[2] ? g_strconcat((const char *)a[1], ":", a[0], NULL) : NULL;
		/* An undeclared prefix stays in the name (the parser has
		 * reported it), as the tree builder does. */
		Attr at = { qname ? put(s, qname, strlen(qname))
				  : put(s, (const char *)a[0], strlen((const char *)a[0])),
			    a[1] && a[2] ? put(s, (const char *)a[1], strlen((const char *)a[1])) : NONE,
			    put_value(s, a[3], a[4]), a[1] ? -1 : known(a[0]) };

		g_array_append_val(s->attrs, at);
	}
	s->open_node[depth] = s->nodes->len;
	s->last[depth] = NONE;
	s->last_kind[depth] = NODE_NONE;
	g_array_append_val(s->nodes, n);
}

/* Text or CDATA of the open forward, as the tree builder makes it: pieces
 * in a row join into one node, which gets the line of the first. */
static void forward_text(VwXmlForwards *s, const xmlChar *value, int len, bool cdata)
{
	guint depth = s->open - 1;
	NodeKind kind = cdata ? NODE_CDATA : NODE_TEXT;
	Node n;

	/* Deeper than what is kept: open_node[] has no entry for it. */
	if (depth >= KEPT_DEPTH - 1)
		return;
	n = (Node){ kind, depth, s->open_node[depth], line_now(s), NONE, NONE, 0, 0, 0 };
	if (s->last_kind[depth] == kind) {
		/* Nothing was kept since that piece: it ends the buffer. */
		g_string_truncate(s->buf, s->buf->len - 1);
		put(s, (const char *)value, (size_t)len);
		return;
	}
	/* libxml2 gives a CDATA node no line: it borrows its previous
	 * sibling's, or its parent's. */
	if (cdata)
		n.line = s->last_kind[depth] == NODE_NONE ? node_at(s, s->open_node[depth])->line : s->last_line[depth];
	n.text = put(s, (const char *)value, (size_t)len);
	child_seen(s, depth, kind, s->nodes->len);
	s->last_line[depth] = n.line;
	g_array_append_val(s->nodes, n);
}

/* The value of the un-namespaced attribute known_names[@k], or NULL. */
static const char *attr(const VwXmlForwards *s, const Node *n, int k)
{
	for (guint i = 0; i < n->n_attrs; i++) {
		const Attr *a = &g_array_index(s->attrs, Attr, n->attr0 + i);

		if (a->known == k)
			return str(s, a->value);
	}
	return NULL;
}

/* Unknown attributes and text of element @i, as check_element() in
 * metadata.c; the attributes in @allowed_known need no look. */
static void check_node(VwXmlForwards *s, guint i, const char *const *allowed, const char *const *elsewhere,
		       unsigned allowed_known)
{
	const Node *n = node_at(s, i);
	VwLoc loc = vw_loc(s->ctx.file, n->line);

	for (guint k = 0; k < n->n_attrs; k++) {
		const Attr *a = &g_array_index(s->attrs, Attr, n->attr0 + k);

		if (a->known >= 0 && (allowed_known & KNOWN_BIT(a->known)))
			continue;
		vw_meta_check_attr(&s->ctx, loc, str(s, n->name), str(s, a->name), str(s, a->prefix), allowed,
				   elsewhere);
	}
	for (guint k = i + 1; k < s->nodes->len; k++) {
		const Node *c = node_at(s, k);

		if (c->parent == i && (c->kind == NODE_TEXT || c->kind == NODE_CDATA))
			vw_meta_check_text(&s->ctx, str(s, n->name), n->line, str(s, c->text),
					   vw_loc(s->ctx.file, c->line));
	}
}

static bool is_vw(const VwXmlForwards *s, const Node *n, const char *name)
{
	return n->href != NONE && g_str_has_prefix(str(s, n->href), VW_NS_PREFIX) && strcmp(str(s, n->name), name) == 0;
}

/* Child @c of element @i, not one of @valid. */
static void stray(VwXmlForwards *s, guint i, const Node *c, const char *const *valid)
{
	vw_meta_stray(&s->ctx, vw_loc(s->ctx.file, c->line), str(s, node_at(s, i)->name), str(s, c->name),
		      str(s, c->href), valid);
}

static void read_source(VwXmlForwards *s, VwForward *f, guint i)
{
	VwLoc loc = vw_loc(s->ctx.file, node_at(s, i)->line);
	const char *v;
	VwSource *src;

	check_node(s, i, source_attrs, NULL, KNOWN_SOURCE);
	for (guint k = i + 1; k < s->nodes->len; k++)
		if (node_at(s, k)->parent == i && node_at(s, k)->kind == NODE_ELEMENT)
			stray(s, i, node_at(s, k), (const char *const[]){ NULL });
	v = attr(s, node_at(s, i), KNOWN_ADDRESS);
	if (!v) {
		vw_error(s->ctx.diags, loc, "missing-attribute", "write <vw:source address='198.51.100.0/24'/>",
			 "<vw:source> has no address=");
		return;
	}
	if (f->sources->len >= VW_MAX_SOURCES) {
		vw_error(s->ctx.diags, loc, "too-many", "cover them with fewer, wider prefixes",
			 "more than %d <vw:source> in one forward", VW_MAX_SOURCES);
		return;
	}
	src = g_new0(VwSource, 1);
	src->loc = loc;
	if (!vw_prefix_parse(v, &src->prefix)) {
		vw_error(s->ctx.diags, src->loc, "invalid-source", "write an address or a CIDR prefix: 198.51.100.0/24",
			 "<vw:source>: address='%s' is not an address or CIDR prefix", v);
		g_free(src);
		return;
	}
	vw_forward_add_source(f, src);
}

/* A network forward's guest: guest-address= or guest-mac=, one of them. */
static void read_network_target(VwXmlForwards *s, VwForward *f, const Node *n)
{
	VwDiags *d = s->ctx.diags;
	const char *addr = attr(s, n, KNOWN_GUEST_ADDRESS);
	const char *mac = attr(s, n, KNOWN_GUEST_MAC);

	if (addr && !vw_addr_parse(addr, &f->guest_addr))
		vw_error(d, f->loc, "invalid-address", NULL,
			 "<vw:forward>: guest-address='%s' is not an IPv4 or IPv6 address", addr);
	if (mac) {
		f->has_guest_mac = vw_mac_parse(mac, &f->guest_mac);
		if (!f->has_guest_mac)
			vw_error(d, f->loc, "invalid-mac", NULL, "<vw:forward>: guest-mac='%s' is not a MAC address",
				 mac);
	}
	if (addr && mac)
		vw_error(d, f->loc, "forward-target",
			 "keep one: guest-address= or guest-mac= (resolved through <dhcp><host>)",
			 "<vw:forward> names both guest-address= and guest-mac=");
	else if (!addr && !mac)
		vw_error(d, f->loc, "forward-target",
			 "add guest-address='…' or guest-mac='…' (with a <dhcp><host> reservation)",
			 "<vw:forward> has no target");
}

/* A domain forward's network= and, among the domain's interfaces on it, mac=. */
static void read_domain_target(VwXmlForwards *s, VwForward *f, const Node *n)
{
	const char *v = attr(s, n, KNOWN_NETWORK);

	if (!v || !*v)
		vw_error(s->ctx.diags, f->loc, "missing-attribute", "add network='NAME' (the libvirt network)",
			 "<vw:forward> of a domain has no network=");
	f->network = g_strdup(v);
	v = attr(s, n, KNOWN_MAC);
	if (v) {
		f->has_mac = vw_mac_parse(v, &f->mac);
		if (!f->has_mac)
			vw_error(s->ctx.diags, f->loc, "invalid-mac", NULL,
				 "<vw:forward>: mac='%s' is not a MAC address", v);
	}
}

/* name=, proto=, address= and the ports. */
static void read_basics(VwXmlForwards *s, VwForward *f, const Node *n)
{
	VwDiags *d = s->ctx.diags;
	const char *v = attr(s, n, KNOWN_NAME);

	f->name = g_strdup(v);
	if (f->name && !*f->name)
		vw_error(d, f->loc, "invalid-value", NULL, "<vw:forward>: name= is empty");
	v = attr(s, n, KNOWN_PROTO);
	if (!v)
		vw_error(d, f->loc, "missing-attribute", "add proto='tcp' (or udp, sctp)",
			 "<vw:forward> has no proto=");
	else if (!vw_proto_from_string(v, &f->proto))
		vw_error(d, f->loc, "invalid-protocol", "virtwire forwards tcp, udp and sctp",
			 "<vw:forward>: proto='%s' is not tcp, udp or sctp", v);
	else
		f->has_proto = true;
	v = attr(s, n, KNOWN_ADDRESS);
	if (v && !vw_addr_parse(v, &f->listen))
		vw_error(d, f->loc, "invalid-address", "write one address of the host, or leave it out",
			 "<vw:forward>: address='%s' is not an IPv4 or IPv6 address", v);
	v = attr(s, n, KNOWN_HOST_PORT);
	if (!v)
		vw_error(d, f->loc, "missing-attribute", "add host-port='N' (or 'N-M')",
			 "<vw:forward> has no host-port=");
	else
		f->has_host_port = vw_meta_ports(&s->ctx, f->loc, "forward", "host-port", v, &f->host);
	f->has_guest_port = vw_meta_ports(&s->ctx, f->loc, "forward", "guest-port", attr(s, n, KNOWN_GUEST_PORT),
					  &f->guest);
}

/* The forward held in s->nodes, with its findings. */
static VwForward *read_forward(VwXmlForwards *s, bool domain)
{
	g_autoptr(VwForward) f = vw_forward_new();
	const Node *n = node_at(s, 0);

	f->loc = vw_loc(s->ctx.file, n->line);
	check_node(s, 0, domain ? dom_forward_attrs : net_forward_attrs,
		   domain ? (const char *const[]){ "guest-address", "guest-mac", NULL } : NULL,
		   domain ? KNOWN_DOM_FORWARD : KNOWN_NET_FORWARD);
	if (domain && (attr(s, n, KNOWN_GUEST_ADDRESS) || attr(s, n, KNOWN_GUEST_MAC)))
		vw_error(s->ctx.diags, f->loc, "domain-forward-target",
			 "a domain forward always targets the domain's own interface; drop the attribute",
			 "<vw:forward> of a domain cannot name guest-address= or guest-mac=");
	read_basics(s, f, n);
	if (domain)
		read_domain_target(s, f, n);
	else
		read_network_target(s, f, n);
	for (guint k = 1; k < s->nodes->len; k++) {
		const Node *c = node_at(s, k);

		if (c->parent != 0 || c->kind != NODE_ELEMENT)
			continue;
		if (is_vw(s, c, "source"))
			read_source(s, f, k);
		else
			stray(s, 0, c, (const char *const[]){ "source", NULL });
	}
	return g_steal_pointer(&f);
}

static int line_of_forward(const VwXmlForwards *s)
{
	return s->skip ? 0 : node_at(s, 0)->line;
}

static void forward_end(VwXmlForwards *s)
{
	Group *g = s->group;
	Read r = { .line = node_at(s, 0)->line,
		   .before = g->children,
		   .diag_begin = s->ctx.diags->items->len,
		   .dropped_begin = s->ctx.diags->dropped };

	if (g->read->len == VW_MAX_FORWARDS) {
		r.over = true;
		g->full = true;
	} else {
		r.f = read_forward(s, g->domain);
	}
	r.diag_end = s->ctx.diags->items->len;
	r.dropped_end = s->ctx.diags->dropped;
	g_array_append_val(g->read, r);
	g_array_set_size(s->nodes, 0);
	g_array_set_size(s->attrs, 0);
	g_string_truncate(s->buf, 0);
}

static At child_at(VwXmlForwards *s, const char *name, const xmlChar *uri)
{
	At parent = s->depth == 0 ? AT_OTHER : s->depth <= AT_DEPTH ? s->at[s->depth - 1] : AT_OTHER;

	if (s->depth == 0 && !uri) {
		if (strcmp(name, "network") == 0)
			return AT_NETWORK;
		if (strcmp(name, "domain") == 0)
			return AT_DOMAIN;
		if (strcmp(name, "hookData") == 0)
			return AT_HOOKDATA;
	}
	switch (parent) {
	case AT_HOOKDATA:
		return !uri && strcmp(name, "network") == 0 ? AT_NETWORK : AT_OTHER;
	case AT_NETWORK:
	case AT_DOMAIN:
		if (uri || strcmp(name, "metadata") != 0 || s->seen_metadata)
			return AT_OTHER;
		return parent == AT_NETWORK ? AT_NET_METADATA : AT_DOM_METADATA;
	case AT_NET_METADATA:
	case AT_DOM_METADATA:
		if (!uri || strcmp((const char *)uri, VW_NS_URI) != 0 || s->seen_top ||
		    strcmp(name, parent == AT_NET_METADATA ? "network" : "domain") != 0)
			return AT_OTHER;
		return parent == AT_NET_METADATA ? AT_NET_TOP : AT_DOM_TOP;
	case AT_OTHER:
	case AT_NET_TOP:
	case AT_DOM_TOP:
		break;
	}
	return AT_OTHER;
}

bool vw_xml_forwards_start(VwXmlForwards *s, const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri,
			   int nb_attributes, const xmlChar **attributes)
{
	At parent = s->depth && s->depth <= AT_DEPTH ? s->at[s->depth - 1] : AT_OTHER;
	/* An undeclared prefix stays in the name, as the tree builder keeps it. */
	g_autofree char *qname = prefix && !uri ? g_strconcat((const char *)prefix, ":", localname, NULL) : NULL;
	const char *name = qname ? qname : (const char *)localname;

	if (s->open) {
		if (!s->skip)
			forward_element(s, name, uri, nb_attributes, attributes);
		s->open++;
		return true;
	}
	if ((parent == AT_NET_TOP || parent == AT_DOM_TOP) && uri &&
	    g_str_has_prefix((const char *)uri, VW_NS_PREFIX) && strcmp(name, "forward") == 0) {
		s->after_forward = false;
		s->skip = s->group->full;
		if (!s->skip)
			forward_element(s, name, uri, nb_attributes, attributes);
		s->open = 1;
		return true;
	}
	s->next = child_at(s, name, uri);
	return false;
}

void vw_xml_forwards_started(VwXmlForwards *s)
{
	At parent = s->depth && s->depth <= AT_DEPTH ? s->at[s->depth - 1] : AT_OTHER;

	if (parent == AT_NET_TOP || parent == AT_DOM_TOP)
		s->group->children++;
	s->after_forward = false;
	s->depth++;
	if (s->depth > AT_DEPTH)
		return;
	s->at[s->depth - 1] = s->next;
	switch (s->next) {
	case AT_NETWORK:
	case AT_DOMAIN:
		s->seen_metadata = false;
		break;
	case AT_NET_METADATA:
	case AT_DOM_METADATA:
		s->seen_metadata = true;
		s->seen_top = false;
		break;
	case AT_NET_TOP:
	case AT_DOM_TOP:
		s->seen_top = true;
		s->group = g_new0(Group, 1);
		s->group->parent = s->pctx->node;
		s->group->domain = s->next == AT_DOM_TOP;
		s->group->read = g_array_new(FALSE, FALSE, sizeof(Read));
		g_ptr_array_add(s->groups, s->group);
		break;
	case AT_OTHER:
	case AT_HOOKDATA:
		break;
	}
}

bool vw_xml_forwards_end(VwXmlForwards *s)
{
	if (s->open) {
		if (--s->open == 0) {
			s->forward_line = line_of_forward(s);
			if (!s->skip)
				forward_end(s);
			s->after_forward = true;
		}
		return true;
	}
	s->after_forward = false;
	if (s->depth)
		s->depth--;
	return false;
}

static bool blank(const xmlChar *p, int len)
{
	for (int i = 0; len < 0 ? p[i] != 0 : i < len; i++)
		if (!IS_BLANK_CH(p[i]))
			return false;
	return true;
}

/* Text node @t ends at @line: as xmlSAX2TextNode() numbers one. */
static void text_line(xmlNode *t, int line)
{
	t->line = (unsigned short)MIN(line, 65535);
	t->psvi = line >= 65535 ? (void *)(ptrdiff_t)line : NULL;
}

/* What the tree builder keeps about the text node it appends to. */
static void text_appendable(VwXmlForwards *s, int len)
{
	s->pctx->nodelen = len;
	s->pctx->nodemem = len + 1;
}

/* Text right after a forward: a node of its own, as when the forward was
 * there between it and the text before; a CDATA section takes the
 * forward's line, as libxml2 gave it the line of the node before. Blanks
 * between forwards and blanks after them are one node, the last blanks':
 * only forwards, which are not in the tree, stood by the others (100,000
 * forwards: 12 MB of nodes less). */
static bool text_after_forward(VwXmlForwards *s, const xmlChar *value, int len, bool cdata)
{
	xmlNode *parent = s->pctx->node;
	xmlNode *last = parent ? parent->last : NULL;
	xmlNode *t;

	if (!parent || (!cdata && (!last || last->type != XML_TEXT_NODE || last->name != xmlStringText)))
		return false;
	if (!cdata && last == s->ws && last->content && blank(last->content, -1) && blank(value, len)) {
		xmlNodeSetContentLen(last, value, len);
		text_line(last, line_now(s));
		text_appendable(s, len);
		return true;
	}
	t = cdata ? xmlNewCDataBlock(parent->doc, value, len) : xmlNewDocTextLen(parent->doc, value, len);
	if (!t)
		g_error("out of memory");
	if (cdata)
		g_hash_table_insert(s->ctx.lines, t, GINT_TO_POINTER(s->forward_line));
	else
		text_line(t, line_now(s));
	s->ws = cdata ? NULL : t;
	t->parent = parent;
	t->prev = last;
	if (last)
		last->next = t;
	else
		parent->children = t;
	parent->last = t;
	text_appendable(s, len);
	return true;
}

bool vw_xml_forwards_text(VwXmlForwards *s, const xmlChar *value, int len, bool cdata)
{
	if (s->open) {
		if (!s->skip)
			forward_text(s, value, len, cdata);
		return true;
	}
	if (!s->after_forward)
		return false;
	s->after_forward = false;
	return text_after_forward(s, value, len, cdata);
}

bool vw_xml_forwards_other(VwXmlForwards *s)
{
	if (s->open) {
		if (!s->skip)
			child_seen(s, s->open - 1, NODE_OTHER, NONE);
		return true;
	}
	s->after_forward = false;
	return false;
}

/* Findings of one forward, moved to the caller's list as if made there. */
static void move_diags(const VwParseCtx *ctx, const VwXmlForwards *s, const Read *r)
{
	VwDiags *from = s->ctx.diags, *to = ctx->diags;

	for (guint i = r->diag_begin; i < r->diag_end; i++) {
		VwDiag *d = from->items->pdata[i];

		if (to->limit && to->items->len >= to->limit) {
			to->dropped++;
			continue;
		}
		d->loc.line = vw_xml_rel_line(ctx, d->loc.line);
		from->items->pdata[i] = NULL;
		g_ptr_array_add(to->items, d);
	}
	to->dropped += r->dropped_end - r->dropped_begin;
}

bool vw_xml_forwards_take(const VwParseCtx *ctx, const xmlNode *parent, guint before, guint *cursor, GPtrArray *out,
			  VwLoc *over)
{
	VwXmlForwards *s = ctx->forwards;
	Group *g = NULL;

	for (guint i = 0; s && i < s->groups->len && !g; i++)
		if (((Group *)s->groups->pdata[i])->parent == parent)
			g = s->groups->pdata[i];
	for (; g && *cursor < g->read->len; (*cursor)++) {
		Read *r = &g_array_index(g->read, Read, *cursor);

		if (before != G_MAXUINT && r->before > before)
			break;
		move_diags(ctx, s, r);
		if (r->over) {
			*over = vw_loc(ctx->file, vw_xml_rel_line(ctx, r->line));
			(*cursor)++;
			return false;
		}
		r->f->loc.line = vw_xml_rel_line(ctx, r->f->loc.line);
		for (guint k = 0; k < r->f->sources->len; k++) {
			VwSource *src = r->f->sources->pdata[k];

			src->loc.line = vw_xml_rel_line(ctx, src->loc.line);
		}
		g_ptr_array_add(out, g_steal_pointer(&r->f));
	}
	return true;
}
