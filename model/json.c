/* SPDX-License-Identifier: GPL-2.0-or-later */
/* JSON output: the documents of check, plan, status, verify and restore
 * (docs/json.md). virtwire only ever writes JSON, a few small documents per
 * call, so this is a writer of a few dozen lines rather than a library:
 * json-glib links GIO, whose start-up every hook call would pay. */
#include <string.h>

#include <virtwire/model.h>

/* Nesting deeper than this is a bug of the caller; the writers nest 5. */
#define VW_JSON_DEPTH 16

struct VwJson {
	GString *out;
	guint depth;
	bool first[VW_JSON_DEPTH]; /* nothing written yet at that depth */
	char close[VW_JSON_DEPTH]; /* what ends the value open at that depth */
};

void vw_json_append_string(GString *out, const char *s)
{
	g_autofree char *valid = s && !g_utf8_validate(s, -1, NULL) ? g_utf8_make_valid(s, -1) : NULL;

	g_string_append_c(out, '"');
	for (const unsigned char *p = (const unsigned char *)(valid ? valid : s); p && *p; p++) {
		switch (*p) {
		case '"':
			g_string_append(out, "\\\"");
			break;
		case '\\':
			g_string_append(out, "\\\\");
			break;
		case '\n':
			g_string_append(out, "\\n");
			break;
		case '\t':
			g_string_append(out, "\\t");
			break;
		case '\r':
			g_string_append(out, "\\r");
			break;
		default:
			if (*p < 0x20)
				g_string_append_printf(out, "\\u%04x", *p);
			else
				g_string_append_c(out, (char)*p);
		}
	}
	g_string_append_c(out, '"');
}

VwJson *vw_json_new(void)
{
	VwJson *j = g_new0(VwJson, 1);

	j->out = g_string_new(NULL);
	j->first[0] = true;
	return j;
}

void vw_json_free(VwJson *j)
{
	if (!j)
		return;
	g_string_free(j->out, TRUE);
	g_free(j);
}

/* The separator before a value, and its key inside an object. */
static void member(VwJson *j, const char *key)
{
	if (!j->first[j->depth])
		g_string_append_c(j->out, ',');
	j->first[j->depth] = false;
	if (key) {
		vw_json_append_string(j->out, key);
		g_string_append_c(j->out, ':');
	}
}

static void open_value(VwJson *j, const char *key, char c)
{
	g_assert(j->depth + 1 < VW_JSON_DEPTH);
	member(j, key);
	g_string_append_c(j->out, c);
	j->first[++j->depth] = true;
	j->close[j->depth] = c == '{' ? '}' : ']';
}

static void close_value(VwJson *j, char c)
{
	g_assert(j->depth > 0 && j->close[j->depth] == c);
	g_string_append_c(j->out, j->close[j->depth--]);
}

void vw_json_begin_object(VwJson *j, const char *key)
{
	open_value(j, key, '{');
}

void vw_json_begin_array(VwJson *j, const char *key)
{
	open_value(j, key, '[');
}

void vw_json_end_object(VwJson *j)
{
	close_value(j, '}');
}

void vw_json_end_array(VwJson *j)
{
	close_value(j, ']');
}

void vw_json_string(VwJson *j, const char *key, const char *value)
{
	member(j, key);
	if (value)
		vw_json_append_string(j->out, value);
	else
		g_string_append(j->out, "null");
}

void vw_json_uint(VwJson *j, const char *key, guint64 value)
{
	member(j, key);
	g_string_append_printf(j->out, "%" G_GUINT64_FORMAT, value);
}

void vw_json_int(VwJson *j, const char *key, gint64 value)
{
	member(j, key);
	g_string_append_printf(j->out, "%" G_GINT64_FORMAT, value);
}

void vw_json_bool(VwJson *j, const char *key, bool value)
{
	member(j, key);
	g_string_append(j->out, value ? "true" : "false");
}

void vw_json_null(VwJson *j, const char *key)
{
	member(j, key);
	g_string_append(j->out, "null");
}

VwJson *vw_json_document(const char *kind)
{
	VwJson *j = vw_json_new();

	vw_json_begin_object(j, NULL);
	vw_json_uint(j, "format_version", VW_JSON_FORMAT_VERSION);
	vw_json_string(j, "kind", kind);
	return j;
}

char *vw_json_finish(VwJson *j)
{
	char *s;

	while (j->depth > 0)
		close_value(j, j->close[j->depth]);
	g_string_append_c(j->out, '\n');
	s = g_string_free(j->out, FALSE);
	g_free(j);
	return s;
}
