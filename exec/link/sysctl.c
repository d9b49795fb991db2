/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Sysctls through /proc/sys (per network namespace, like everything else),
 * and the few of them virtwire ever writes. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <virtwire/exec.h>

#include "link-private.h"

/* A path under /proc/sys, relative, with no way out of it. */
static bool path_safe(const char *path)
{
	if (!path || !*path || path[0] == '/' || strlen(path) > 256)
		return false;
	for (const char *c = path; *c; c++)
		if (!(g_ascii_isalnum(*c) || strchr("/._-", *c)))
			return false;
	return !strstr(path, "..") && !strstr(path, "//");
}

int vw_proc_sysctl_get(const char *path, char **ret)
{
	g_autofree char *full = NULL;
	char data[256];
	ssize_t n;
	int fd;

	if (!path_safe(path))
		return -EINVAL;
	full = g_build_filename("/proc/sys", path, NULL);
	fd = open(full, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	n = read(fd, data, sizeof(data) - 1);
	close(fd);
	if (n < 0)
		return -errno;
	data[n] = '\0';
	*ret = g_strdup(g_strstrip(data));
	return 0;
}

int vw_proc_sysctl_set(const char *path, const char *value)
{
	g_autofree char *full = NULL;
	size_t len = strlen(value);
	ssize_t n;
	int fd, e;

	if (!path_safe(path))
		return -EINVAL;
	full = g_build_filename("/proc/sys", path, NULL);
	fd = open(full, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	n = write(fd, value, len);
	e = n < 0 ? -errno : (size_t)n != len ? -EIO : 0;
	close(fd);
	return e;
}

bool vw_sysctl_is_virtwires(const char *path)
{
	static const char *const global[] = { "net/ipv4/ip_forward", "net/ipv6/conf/all/forwarding" };
	static const char *const per_dev[] = { "disable_ipv6", "accept_ra", "autoconf" };
	g_auto(GStrv) f = NULL;

	if (!path_safe(path))
		return false;
	for (size_t i = 0; i < G_N_ELEMENTS(global); i++)
		if (strcmp(path, global[i]) == 0)
			return true;
	f = g_strsplit(path, "/", -1);
	if (g_strv_length(f) != 5 || strcmp(f[0], "net") != 0 || strcmp(f[2], "conf") != 0 ||
	    !vw_ifname_valid(f[3], false) || strcmp(f[3], "all") == 0 || strcmp(f[3], "default") == 0)
		return false;
	if (strcmp(f[1], "ipv4") == 0)
		return strcmp(f[4], "route_localnet") == 0;
	if (strcmp(f[1], "ipv6") != 0)
		return false;
	for (size_t i = 0; i < G_N_ELEMENTS(per_dev); i++)
		if (strcmp(f[4], per_dev[i]) == 0)
			return true;
	return false;
}
