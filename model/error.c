/* SPDX-License-Identifier: GPL-2.0-or-later */
/* virtwire's one error domain. */
#include <errno.h>

#include <virtwire/model.h>

G_DEFINE_QUARK(virtwire - error - quark, vw_error)

bool vw_set_errno(GError **error, int err, const char *kernel, const char *fmt, ...)
{
	g_autofree char *what = NULL;
	va_list ap;
	int e = err < 0 ? -err : err;

	va_start(ap, fmt);
	what = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_set_error(error, VW_ERROR, e == EPERM || e == EACCES ? VW_ERROR_PERMISSION : VW_ERROR_FAILED, "%s: %s%s%s%s",
		    what, g_strerror(e), kernel ? " (" : "", kernel ? kernel : "", kernel ? ")" : "");
	return false;
}
