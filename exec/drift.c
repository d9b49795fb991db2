/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Differences between the kernel and a plan, as the executor reports them. */
#include <virtwire/exec.h>

void vw_drift_add(GPtrArray *out, VwDriftKind kind, const char *object, const char *fmt, ...)
{
	VwDrift *d = g_new0(VwDrift, 1);
	va_list ap;

	d->kind = kind;
	d->object = g_strdup(object);
	va_start(ap, fmt);
	d->what = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_ptr_array_add(out, d);
}

void vw_drift_free(VwDrift *d)
{
	if (!d)
		return;
	g_free(d->object);
	g_free(d->what);
	g_free(d);
}
