/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdarg.h>
#include <string.h>

#include <virtwire/model.h>

static void vw_diag_free(gpointer p)
{
	VwDiag *d = p;

	if (!d)
		return;
	g_free(d->code);
	g_free(d->message);
	g_free(d->hint);
	g_free(d);
}

VwDiags *vw_diags_new(void)
{
	VwDiags *d = g_new0(VwDiags, 1);

	d->items = g_ptr_array_new_with_free_func(vw_diag_free);
	d->limit = 1000;
	return d;
}

void vw_diags_free(VwDiags *d)
{
	if (!d)
		return;
	g_ptr_array_unref(d->items);
	g_free(d);
}

void vw_diags_add(VwDiags *d, VwLoc loc, VwSeverity sev, const char *code, const char *hint, const char *fmt, ...)
{
	va_list ap;
	VwDiag *x;

	if (d->limit && d->items->len >= d->limit) {
		d->dropped++;
		return;
	}
	x = g_new0(VwDiag, 1);
	x->loc = loc;
	x->severity = sev;
	x->code = g_strdup(code);
	x->hint = g_strdup(hint);
	va_start(ap, fmt);
	x->message = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_ptr_array_add(d->items, x);
}

guint vw_diags_count(const VwDiags *d, VwSeverity sev)
{
	guint n = 0;

	for (guint i = 0; i < d->items->len; i++)
		if (((VwDiag *)d->items->pdata[i])->severity == sev)
			n++;
	return n;
}

bool vw_diags_has_errors(const VwDiags *d)
{
	/* Dropped findings are counted as errors: the cap only trips on floods. */
	return vw_diags_count(d, VW_SEV_ERROR) > 0 || d->dropped > 0;
}

static int diag_cmp(gconstpointer pa, gconstpointer pb)
{
	const VwDiag *a = *(VwDiag *const *)pa, *b = *(VwDiag *const *)pb;
	int c = g_strcmp0(a->loc.file, b->loc.file);

	if (c)
		return c;
	return (a->loc.line > b->loc.line) - (a->loc.line < b->loc.line);
}

void vw_diags_sort(VwDiags *d)
{
	/* g_ptr_array_sort is a stable merge sort (g_qsort_with_data). */
	g_ptr_array_sort(d->items, diag_cmp);
}

const char *vw_severity_to_string(VwSeverity sev)
{
	switch (sev) {
	case VW_SEV_ERROR:
		return "error";
	case VW_SEV_WARNING:
		return "warning";
	case VW_SEV_NOTE:
		return "note";
	}
	return "error";
}

char *vw_diags_format_text(const VwDiags *d)
{
	GString *out = g_string_new(NULL);

	for (guint i = 0; i < d->items->len; i++) {
		const VwDiag *x = d->items->pdata[i];

		if (x->loc.file && x->loc.line > 0)
			g_string_append_printf(out, "%s:%d: ", x->loc.file, x->loc.line);
		else if (x->loc.file)
			g_string_append_printf(out, "%s: ", x->loc.file);
		g_string_append_printf(out, "%s: %s [%s]\n", vw_severity_to_string(x->severity), x->message, x->code);
		if (x->hint)
			g_string_append_printf(out, "  hint: %s\n", x->hint);
	}
	if (d->dropped)
		g_string_append_printf(out, "error: %u more findings not shown\n", d->dropped);
	return g_string_free(out, FALSE);
}

void vw_json_append_string(GString *out, const char *s)
{
	g_string_append_c(out, '"');
	for (const unsigned char *p = (const unsigned char *)s; p && *p; p++) {
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

char *vw_diags_format_json(const VwDiags *d)
{
	GString *out = g_string_new("{\"findings\":[");

	for (guint i = 0; i < d->items->len; i++) {
		const VwDiag *x = d->items->pdata[i];

		if (i)
			g_string_append_c(out, ',');
		g_string_append(out, "\n  {\"file\":");
		if (x->loc.file)
			vw_json_append_string(out, x->loc.file);
		else
			g_string_append(out, "null");
		g_string_append_printf(out, ",\"line\":%d,\"severity\":", x->loc.line);
		vw_json_append_string(out, vw_severity_to_string(x->severity));
		g_string_append(out, ",\"code\":");
		vw_json_append_string(out, x->code);
		g_string_append(out, ",\"message\":");
		vw_json_append_string(out, x->message);
		g_string_append(out, ",\"hint\":");
		if (x->hint)
			vw_json_append_string(out, x->hint);
		else
			g_string_append(out, "null");
		g_string_append_c(out, '}');
	}
	g_string_append_printf(out, "%s],\"errors\":%u,\"warnings\":%u,\"not_shown\":%u}\n", d->items->len ? "\n" : "",
			       vw_diags_count(d, VW_SEV_ERROR), vw_diags_count(d, VW_SEV_WARNING), d->dropped);
	return g_string_free(out, FALSE);
}
