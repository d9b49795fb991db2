/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Installing the hook entries. libvirt (>= 6.5) runs every executable of
 * /etc/libvirt/hooks/DRIVER.d/ after the main DRIVER script, in name order:
 * virtwire puts one small script there per driver, and nothing else — the
 * main scripts and other hooks stay as they are.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <virtwire/hooks.h>

#define MARKER "# Installed by virtwire install-hooks; 'virtwire uninstall-hooks' removes it."

static const char *const drivers[] = { "network", "qemu", "lxc", "daemon" };

static char *shell_quote(const char *s)
{
	return g_shell_quote(s);
}

bool vw_hooks_install(const char *hooks_dir, const char *binary, const char *state_dir, GError **error)
{
	g_autofree char *bin = shell_quote(binary);
	g_autofree char *sd = state_dir ? shell_quote(state_dir) : NULL;

	for (size_t i = 0; i < G_N_ELEMENTS(drivers); i++) {
		g_autofree char *dir = g_strdup_printf("%s/%s.d", hooks_dir, drivers[i]);
		g_autofree char *path = g_build_filename(dir, VW_HOOK_ENTRY, NULL);
		g_autofree char *tmp = g_strdup_printf("%s.tmp", path);
		g_autofree char *text = NULL;
		g_autoptr(GError) err = NULL;

		if (g_mkdir_with_parents(dir, 0755) < 0) {
			g_set_error(error, VW_ERROR, VW_ERROR_FAILED, "cannot create %s: %s", dir, g_strerror(errno));
			return false;
		}
		/* libvirt passes OBJECT OP SUBOP EXTRA and the XML on stdin;
		 * the script hands both over as they are. */
		text = g_strdup_printf("#!/bin/sh\n%s\nexec %s hook %s%s%s \"$@\"\n", MARKER, bin, drivers[i],
				       sd ? " --state-dir " : "", sd ? sd : "");
		if (!g_file_set_contents(tmp, text, -1, &err) || chmod(tmp, 0755) < 0 || rename(tmp, path) < 0) {
			g_set_error(error, VW_ERROR, VW_ERROR_FAILED, "cannot write %s: %s", path,
				    err ? err->message : g_strerror(errno));
			unlink(tmp);
			return false;
		}
	}
	return true;
}

/* The text of virtwire's entry for @driver, or NULL (none, or another's). */
static char *entry_text(const char *hooks_dir, const char *driver)
{
	g_autofree char *path = g_strdup_printf("%s/%s.d/%s", hooks_dir, driver, VW_HOOK_ENTRY);
	g_autofree char *text = NULL;

	/* Only what virtwire wrote: a file of someone else's by that name
	 * stays. */
	if (!g_file_get_contents(path, &text, NULL, NULL) || !strstr(text, MARKER))
		return NULL;
	return g_steal_pointer(&text);
}

/* The value of --state-dir on the exec line of @text, or NULL. */
static char *entry_state_dir(const char *text)
{
	const char *line = strstr(text, "\nexec ");
	g_autofree char *exec = line ? g_strndup(line + 1, strcspn(line + 1, "\n")) : NULL;
	g_auto(GStrv) args = NULL;

	if (!exec || !g_shell_parse_argv(exec, NULL, &args, NULL))
		return NULL;
	for (char **a = args; *a && a[1]; a++)
		if (strcmp(*a, "--state-dir") == 0)
			return g_strdup(a[1]);
	return NULL;
}

bool vw_hooks_find(const char *hooks_dir, guint *installed, char **state_dir, GError **error)
{
	*installed = 0;
	if (!g_file_test(hooks_dir, G_FILE_TEST_IS_DIR)) {
		g_set_error(error, VW_ERROR, VW_ERROR_NOT_FOUND, "%s is not a directory (libvirt's hook folder?)",
			    hooks_dir);
		return false;
	}
	for (size_t i = 0; i < G_N_ELEMENTS(drivers); i++) {
		g_autofree char *text = entry_text(hooks_dir, drivers[i]);

		if (!text)
			continue;
		if (state_dir && !*state_dir)
			*state_dir = entry_state_dir(text);
		(*installed)++;
	}
	return true;
}

bool vw_hooks_uninstall(const char *hooks_dir, guint *removed, GError **error)
{
	guint installed;

	*removed = 0;
	if (!vw_hooks_find(hooks_dir, &installed, NULL, error))
		return false;
	for (size_t i = 0; i < G_N_ELEMENTS(drivers); i++) {
		g_autofree char *path = g_strdup_printf("%s/%s.d/%s", hooks_dir, drivers[i], VW_HOOK_ENTRY);
		g_autofree char *text = entry_text(hooks_dir, drivers[i]);

		if (!text)
			continue;
		if (unlink(path) < 0) {
			g_set_error(error, VW_ERROR, VW_ERROR_FAILED, "cannot remove %s: %s", path, g_strerror(errno));
			return false;
		}
		(*removed)++;
	}
	return true;
}
