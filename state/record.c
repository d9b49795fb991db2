/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A network's record as text (docs/state.md), line-oriented:
 *
 *   virtwire-state 2
 *   network NAME
 *   id ID
 *   status applied|pending
 *   applied 2026-11-22T04:00:00Z
 *   source FILE
 *   bridge BR
 *   mode MODE
 *   sysctl PATH OLD NEW revert|keep
 *   link KIND created|found OBJECT [EXTRA]
 *   port UUID DOMAIN-UUID MAC [ELEMENTS]
 *   end
 *
 * Every value is percent-escaped (spaces, '%' and anything unprintable),
 * so a line splits on spaces. "end" marks a complete record. Version 1 is
 * the same without the status line, version 2 without a port's ELEMENTS
 * (what its last change committed, "-" for none); a record is written in
 * the lowest version that holds it, so one without ELEMENTS stays readable
 * by a virtwire that knows version 2 only.
 */
#include <string.h>

#include <virtwire/state.h>

#define STATE_MAGIC "virtwire-state"

static char *esc(const char *s)
{
	/* Keep printable ASCII readable; escape space, '%' and the rest. */
	return g_uri_escape_string(s ? s : "", "/:@=+,.-_~[]!$&'()*;", TRUE);
}

static void field(GString *out, const char *key, const char *value)
{
	g_autofree char *e = NULL;

	if (!value)
		return;
	e = esc(value);
	g_string_append_printf(out, "%s %s\n", key, e);
}

/* The lowest version that holds @s: 3 only when a port's elements are
 * known. */
static int version_of(const VwState *s)
{
	for (guint i = 0; i < s->ports->len; i++)
		if (((const VwStatePort *)s->ports->pdata[i])->elems)
			return 3;
	return 2;
}

char *vw_state_format(const VwState *s)
{
	GString *out = g_string_new(NULL);

	g_string_append_printf(out, STATE_MAGIC " %d\n", version_of(s));
	field(out, "network", s->name);
	field(out, "id", s->id);
	field(out, "status", s->pending ? "pending" : "applied");
	field(out, "applied", s->applied);
	field(out, "source", s->source);
	field(out, "bridge", s->bridge);
	field(out, "mode", s->mode);
	for (guint i = 0; i < s->sysctls->len; i++) {
		const VwStateSysctl *x = s->sysctls->pdata[i];
		g_autofree char *p = esc(x->path), *o = esc(x->old_value), *n = esc(x->new_value);

		g_string_append_printf(out, "sysctl %s %s %s %s\n", p, o, n, x->revert ? "revert" : "keep");
	}
	for (guint i = 0; i < s->links->len; i++) {
		const VwStateLink *l = s->links->pdata[i];
		g_autofree char *k = esc(l->kind), *o = esc(l->object), *x = l->extra ? esc(l->extra) : NULL;

		g_string_append_printf(out, "link %s %s %s%s%s\n", k, l->created ? "created" : "found", o, x ? " " : "",
				       x ? x : "");
	}
	for (guint i = 0; i < s->ports->len; i++) {
		const VwStatePort *p = s->ports->pdata[i];
		g_autofree char *u = esc(p->uuid), *d = esc(p->domain_uuid), *m = esc(p->mac);
		g_autofree char *x = p->elems ? esc(*p->elems ? p->elems : "-") : NULL;

		g_string_append_printf(out, "port %s %s %s%s%s\n", u, d, m, x ? " " : "", x ? x : "");
	}
	g_string_append(out, "end\n");
	return g_string_free(out, FALSE);
}

typedef struct {
	const char *where;
	const char *name;
	VwState *st;
	int version;
	int line;
	guint seen; /* singleton keys seen, a bit each */
	bool ended;
} Parse;

static bool damaged(const Parse *p, GError **error, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static bool damaged(const Parse *p, GError **error, const char *fmt, ...)
{
	g_autofree char *why = NULL;
	va_list ap;

	va_start(ap, fmt);
	why = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	if (p->line)
		g_set_error(error, VW_ERROR, VW_ERROR_STATE, "%s:%d: damaged record of network '%s': %s", p->where,
			    p->line, p->name, why);
	else /* about the whole file (empty, too large …) */
		g_set_error(error, VW_ERROR, VW_ERROR_STATE, "%s: damaged record of network '%s': %s", p->where,
			    p->name, why);
	return false;
}

/* Unescapes every field of @f in place; false when one is not a valid
 * escape, or holds a NUL or a newline. */
static bool unescape_all(char **f)
{
	for (char **x = f; *x; x++) {
		char *u = g_uri_unescape_string(*x, "\n");

		if (!u)
			return false;
		g_free(*x);
		*x = u;
	}
	return true;
}

static const char *const singletons[] = { "network", "id", "status", "applied", "source", "bridge", "mode" };

static bool parse_single(Parse *p, char **f, guint n, GError **error)
{
	VwState *s = p->st;
	guint k;

	for (k = 0; k < G_N_ELEMENTS(singletons); k++)
		if (strcmp(f[0], singletons[k]) == 0)
			break;
	if (n != 2)
		return damaged(p, error, "'%s' takes one value", f[0]);
	if (p->seen & (1u << k))
		return damaged(p, error, "'%s' appears twice", f[0]);
	p->seen |= 1u << k;
	switch (k) {
	case 0:
		if (strcmp(f[1], p->name) != 0)
			return damaged(p, error, "it is the record of network '%.64s'", f[1]);
		break;
	case 1:
		s->id = g_strdup(f[1]);
		break;
	case 2:
		if (strcmp(f[1], "pending") != 0 && strcmp(f[1], "applied") != 0)
			return damaged(p, error, "status must be 'applied' or 'pending'");
		if (p->version < 2)
			return damaged(p, error, "'status' is not part of version %d", p->version);
		s->pending = strcmp(f[1], "pending") == 0;
		break;
	case 3:
		s->applied = g_strdup(f[1]);
		break;
	case 4:
		s->source = g_strdup(f[1]);
		break;
	case 5:
		s->bridge = g_strdup(f[1]);
		break;
	default:
		s->mode = g_strdup(f[1]);
		break;
	}
	return true;
}

/* Whether @s is a set's name as the planner makes them. */
static bool set_name(const char *s)
{
	gsize n = strlen(s);

	if (!n || n > 64)
		return false;
	for (; *s; s++)
		if (!g_ascii_isalnum(*s) && *s != '-' && *s != '_')
			return false;
	return true;
}

/* Whether @s is hex of at most VW_STATE_ELEM_BYTES bytes (@empty: none is
 * fine). */
static bool hex_bytes(const char *s, bool empty)
{
	gsize n = strlen(s);

	if ((!n && !empty) || n % 2 || n / 2 > VW_STATE_ELEM_BYTES)
		return false;
	for (; *s; s++)
		if (!g_ascii_isxdigit(*s))
			return false;
	return true;
}

/* One element of a port's: TABLE/SET/KEY[/END[/FLAGS]], TABLE 'i' (inet)
 * or 'b' (bridge). */
static bool elem_valid(const char *item)
{
	g_auto(GStrv) f = g_strsplit(item, "/", 6);
	guint n = g_strv_length(f);
	guint64 flags;

	return n >= 3 && n <= 5 && (!strcmp(f[0], "i") || !strcmp(f[0], "b")) && set_name(f[1]) &&
	       hex_bytes(f[2], false) && (n < 4 || hex_bytes(f[3], true)) &&
	       (n < 5 || g_ascii_string_to_unsigned(f[4], 10, 0, G_MAXUINT32, &flags, NULL));
}

/* A port line: its elements (the fifth field, version 3) are a list as
 * elem_valid says, or "-" for none. Development builds wrote the field into
 * version 2 records: there it is dropped (not known: the port's next change
 * reads the table). */
static bool parse_port(Parse *p, char **f, guint n, GError **error)
{
	g_auto(GStrv) items = NULL;
	guint count;

	if (vw_state_find_port(p->st, f[1]))
		return damaged(p, error, "port %.64s appears twice", f[1]);
	if (n == 5 && p->version >= 3 && strcmp(f[4], "-") != 0) {
		items = g_strsplit(f[4], ",", VW_STATE_MAX_ELEMS + 1);
		if ((count = g_strv_length(items)) > VW_STATE_MAX_ELEMS)
			return damaged(p, error, "port %.64s has more than %u elements", f[1], VW_STATE_MAX_ELEMS);
		for (guint i = 0; i < count; i++)
			if (!elem_valid(items[i]))
				return damaged(p, error,
					       "element %u of port %.64s ('%.40s') is not TABLE/SET/KEY[/END[/FLAGS]]",
					       i + 1, f[1], items[i]);
	}
	vw_state_add_port(p->st, f[1], f[2], f[3])->elems = n < 5 || p->version < 3 ? NULL
										    : g_strdup(items ? f[4] : "");
	return true;
}

static bool parse_line(Parse *p, char **f, guint n, GError **error)
{
	if (strcmp(f[0], "end") == 0 && n == 1) {
		p->ended = true;
		return true;
	}
	for (guint k = 0; k < G_N_ELEMENTS(singletons); k++)
		if (strcmp(f[0], singletons[k]) == 0)
			return parse_single(p, f, n, error);
	if (strcmp(f[0], "sysctl") == 0 && n == 5) {
		if (strcmp(f[4], "revert") != 0 && strcmp(f[4], "keep") != 0)
			return damaged(p, error, "a sysctl line must end in revert or keep");
		vw_state_add_sysctl(p->st, f[1], f[2], f[3], strcmp(f[4], "revert") == 0);
		return true;
	}
	if (strcmp(f[0], "port") == 0 && (n == 4 || n == 5))
		return parse_port(p, f, n, error);
	if (strcmp(f[0], "link") == 0 && (n == 4 || n == 5)) {
		if (strcmp(f[2], "created") != 0 && strcmp(f[2], "found") != 0)
			return damaged(p, error, "a link line must say created or found");
		vw_state_add_link(p->st, f[1], f[3], strcmp(f[2], "created") == 0, n == 5 ? f[4] : NULL);
		return true;
	}
	return damaged(p, error, "unknown line '%.40s'", f[0]);
}

static bool parse_magic(Parse *p, const char *l, GError **error)
{
	g_auto(GStrv) f = g_strsplit(l, " ", -1);

	if (g_strv_length(f) != 2 || strcmp(f[0], STATE_MAGIC) != 0)
		return damaged(p, error, "not a virtwire record");
	if (strcmp(f[1], "1") == 0 || strcmp(f[1], "2") == 0 || strcmp(f[1], "3") == 0) {
		p->version = f[1][0] - '0';
		return true;
	}
	g_set_error(error, VW_ERROR, VW_ERROR_STATE,
		    "%s:%d: the record of network '%s' is of format version %.16s, which this virtwire (format %d) "
		    "does not know",
		    p->where, p->line, p->name, f[1], VW_STATE_VERSION);
	return false;
}

bool vw_state_parse(const char *text, gsize len, const char *name, const char *where, VwState **ret, GError **error)
{
	g_autoptr(VwState) s = vw_state_new(name);
	g_autofree char *copy = NULL;
	g_auto(GStrv) lines = NULL;
	Parse p = { where, name, s, 0, 0, 0, false };
	guint n;

	if (len > VW_STATE_MAX_SIZE)
		return damaged(&p, error, "it is larger than %u bytes", VW_STATE_MAX_SIZE);
	if (memchr(text, '\0', len))
		return damaged(&p, error, "it holds a NUL byte");
	copy = g_strndup(text, len);
	lines = g_strsplit(copy, "\n", VW_STATE_MAX_LINES + 2);
	n = g_strv_length(lines);
	if (n > VW_STATE_MAX_LINES && (n > VW_STATE_MAX_LINES + 1 || *lines[n - 1]))
		return damaged(&p, error, "it has more than %u lines", VW_STATE_MAX_LINES);
	for (char **l = lines; *l; l++) {
		g_auto(GStrv) f = NULL;

		/* The newline that ends the last line is not one more line. */
		if (!**l && !l[1])
			break;
		p.line++;
		if (!**l)
			continue;
		if (p.ended)
			return damaged(&p, error, "text after 'end'");
		if (p.line == 1) {
			if (!parse_magic(&p, *l, error))
				return false;
			continue;
		}
		f = g_strsplit(*l, " ", 6);
		if (!unescape_all(f))
			return damaged(&p, error, "a value is not validly escaped");
		if (!parse_line(&p, f, g_strv_length(f), error))
			return false;
	}
	if (!p.version)
		return damaged(&p, error, "it is empty");
	if (!p.ended)
		return damaged(&p, error, "it ends early (no 'end' line)");
	if (!(p.seen & 1u))
		return damaged(&p, error, "no 'network' line");
	if (!s->id)
		return damaged(&p, error, "no 'id' line");
	*ret = g_steal_pointer(&s);
	return true;
}
