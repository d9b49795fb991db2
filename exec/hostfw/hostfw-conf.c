/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * virtwire's configuration file (docs/real-host.md): settings of the host,
 * not of a network. A hook inherits libvirtd's bare environment, so the
 * file, at a fixed path, is the one place an operator says such a thing.
 */
#include <errno.h>

#include <virtwire/exec.h>

bool vw_config_host_firewall(const char *path, bool *integrate, GError **error)
{
	g_autoptr(GKeyFile) kf = g_key_file_new();
	g_autoptr(GError) err = NULL;
	g_autofree char *v = NULL;

	*integrate = true;
	if (!g_key_file_load_from_file(kf, path, G_KEY_FILE_NONE, &err)) {
		if (g_error_matches(err, G_FILE_ERROR, G_FILE_ERROR_NOENT))
			return true;
		g_set_error(error, VW_ERROR, VW_ERROR_INVALID, "%s: %s", path, err->message);
		return false;
	}
	v = g_key_file_get_string(kf, "host-firewall", "integrate", NULL);
	if (!v)
		return true;
	g_strstrip(v);
	if (g_strcmp0(v, "yes") == 0 || g_strcmp0(v, "true") == 0)
		return true;
	if (g_strcmp0(v, "no") == 0 || g_strcmp0(v, "false") == 0) {
		*integrate = false;
		return true;
	}
	g_set_error(error, VW_ERROR, VW_ERROR_INVALID,
		    "%s: [host-firewall] integrate=%s: give yes (virtwire adds its rules to the host's firewalls) or "
		    "no (it leaves them alone and warns)",
		    path, v);
	return false;
}
