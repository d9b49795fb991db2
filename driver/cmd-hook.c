/* SPDX-License-Identifier: GPL-2.0-or-later */
/* virtwire hook, install-hooks, uninstall-hooks. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <virtwire/hooks.h>

#include "cli.h"

#define HOOKS_DIR_ENTRY(var)                                                              \
	{                                                                                 \
		"hooks-dir", 0, 0, G_OPTION_ARG_FILENAME, &(var),                         \
			"libvirt's hook folder (default " VW_HOOKS_DIR_DEFAULT ")", "DIR" \
	}

/* --state-dir DIR, --schema-dir DIR and -v (--verbose: every log record on
 * stderr) from argv[@i]; the index after them. */
static int hook_options(int argc, char **argv, int i, VwEngineConfig *cfg, bool *verbose)
{
	while (i + 1 < argc && g_str_has_prefix(argv[i], "-")) {
		if (strcmp(argv[i], "-v") == 0 || strcmp(argv[i], "--verbose") == 0) {
			*verbose = true;
			i++;
			continue;
		}
		if (strcmp(argv[i], "--state-dir") == 0)
			cfg->state_dir = argv[i + 1];
		else if (strcmp(argv[i], "--schema-dir") == 0)
			cfg->schema_dir = argv[i + 1];
		else
			break;
		i += 2;
	}
	return i;
}

int vw_cmd_hook(int argc, char **argv, const VwEngineConfig *base)
{
	VwEngineConfig cfg = *base;
	const char *driver;
	bool verbose = false;
	int i = 1;

	/* Parsed by hand: libvirt's arguments may be "-", and must reach
	 * the hook as they are. The options go before or after the driver. */
	i = hook_options(argc, argv, i, &cfg, &verbose);
	if (i >= argc) {
		fprintf(stderr, "usage: virtwire hook network|qemu|lxc|daemon [-v] [--state-dir DIR] OBJECT OP SUBOP "
				"EXTRA\n"
				"(libvirt runs it, with the XML on stdin; 'virtwire install-hooks' sets that up)\n");
		return VW_EXIT_USAGE;
	}
	driver = argv[i++];
	i = hook_options(argc, argv, i, &cfg, &verbose);
	return vw_hook_main(driver, argc - i, argv + i, &cfg, verbose);
}

static char *self_path(void)
{
	g_autofree char *p = g_file_read_link("/proc/self/exe", NULL);

	return p ? g_steal_pointer(&p) : g_strdup("/usr/bin/virtwire");
}

int vw_cmd_install_hooks(int argc, char **argv, const VwEngineConfig *base)
{
	g_autofree char *hooks_dir = NULL;
	g_autofree char *binary = NULL;
	g_autofree char *state_dir = NULL;
	GOptionEntry entries[] = { HOOKS_DIR_ENTRY(hooks_dir),
				   { "binary", 0, 0, G_OPTION_ARG_FILENAME, &binary,
				     "the virtwire the hooks run (default: this one)", "PATH" },
				   { "state-dir", 0, 0, G_OPTION_ARG_FILENAME, &state_dir,
				     "the state directory the hooks use", "DIR" },
				   { NULL } };
	g_autoptr(GError) err = NULL;
	const char *dir;

	if (!vw_cli_parse(entries, &argc, &argv))
		return VW_EXIT_USAGE;
	dir = hooks_dir ? hooks_dir : VW_HOOKS_DIR_DEFAULT;
	if (!binary)
		binary = self_path();
	if (!vw_hooks_install(dir, binary, state_dir, &err)) {
		fprintf(stderr, "virtwire install-hooks: %s\n", err->message);
		return VW_EXIT_USAGE;
	}
	printf("installed %s/{network,qemu,lxc,daemon}.d/" VW_HOOK_ENTRY " (running %s)\n", dir, binary);
	printf("libvirtd runs them from its next start or reload (e.g. systemctl reload libvirtd)\n");
	return VW_EXIT_OK;
}

int vw_cmd_uninstall_hooks(int argc, char **argv, const VwEngineConfig *base)
{
	g_autofree char *hooks_dir = NULL;
	GOptionEntry entries[] = { HOOKS_DIR_ENTRY(hooks_dir), { NULL } };
	g_autoptr(GError) err = NULL;
	const char *dir;

	if (!vw_cli_parse(entries, &argc, &argv))
		return VW_EXIT_USAGE;
	dir = hooks_dir ? hooks_dir : VW_HOOKS_DIR_DEFAULT;
	if (!vw_hooks_uninstall(dir, &err)) {
		fprintf(stderr, "virtwire uninstall-hooks: %s\n", err->message);
		return VW_EXIT_USAGE;
	}
	printf("removed virtwire's entries from %s/{network,qemu,lxc,daemon}.d/\n", dir);
	return VW_EXIT_OK;
}
