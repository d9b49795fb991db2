/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Sysctls through /proc/sys (per network namespace, like everything else). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <virtwire/exec.h>

static char *sysctl_path(const char *path)
{
	const char *root = g_getenv("VIRTWIRE_SYSCTL_ROOT");

	return g_build_filename(root ? root : "/proc/sys", path, NULL);
}

bool vw_sysctl_read(const char *path, char **ret, GError **error)
{
	g_autofree char *full = sysctl_path(path);
	g_autofree char *buf = NULL;
	g_autoptr(GError) err = NULL;

	if (!g_file_get_contents(full, &buf, NULL, &err)) {
		g_set_error(error, VW_ERROR, VW_ERROR_NOT_FOUND, "cannot read sysctl %s: %s", path, err->message);
		return false;
	}
	*ret = g_strdup(g_strstrip(buf));
	return true;
}

bool vw_sysctl_write(const char *path, const char *value, GError **error)
{
	g_autofree char *full = sysctl_path(path);
	int fd = open(full, O_WRONLY | O_CLOEXEC);
	size_t len = strlen(value);
	ssize_t n;

	if (fd < 0) {
		g_set_error(error, VW_ERROR, VW_ERROR_FAILED, "cannot set sysctl %s: %s", path, g_strerror(errno));
		return false;
	}
	n = write(fd, value, len);
	if (n < 0 || (size_t)n != len) {
		int e = n < 0 ? errno : EIO;

		close(fd);
		g_set_error(error, VW_ERROR, VW_ERROR_FAILED, "cannot set sysctl %s to %s: %s", path, value,
			    g_strerror(e));
		return false;
	}
	close(fd);
	return true;
}
