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

char *vw_diags_format_json(const VwDiags *d)
{
	g_autoptr(VwJson) j = vw_json_document("check");

	vw_json_begin_array(j, "findings");
	for (guint i = 0; i < d->items->len; i++) {
		const VwDiag *x = d->items->pdata[i];

		vw_json_begin_object(j, NULL);
		vw_json_string(j, "file", x->loc.file);
		if (x->loc.line > 0)
			vw_json_int(j, "line", x->loc.line);
		else
			vw_json_null(j, "line");
		vw_json_string(j, "severity", vw_severity_to_string(x->severity));
		vw_json_string(j, "code", x->code);
		vw_json_string(j, "message", x->message);
		vw_json_string(j, "hint", x->hint);
		vw_json_end_object(j);
	}
	vw_json_end_array(j);
	vw_json_uint(j, "errors", vw_diags_count(d, VW_SEV_ERROR));
	vw_json_uint(j, "warnings", vw_diags_count(d, VW_SEV_WARNING));
	vw_json_uint(j, "not_shown", d->dropped);
	return vw_json_finish(g_steal_pointer(&j));
}
