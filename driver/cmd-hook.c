/* SPDX-License-Identifier: GPL-2.0-or-later */
/* virtwire hook, install-hooks, uninstall-hooks. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <virtwire/hooks.h>

#include "cli.h"

int vw_cmd_hook(int argc, char **argv, const VwEngineConfig *base)
{
	const char *state_dir = NULL, *schema_dir = NULL, *driver;
	VwEngineConfig cfg;
	int i = 1;

	/* Parsed by hand: libvirt's arguments may be "-", and must reach
	 * the hook as they are. */
	while (i + 1 < argc && g_str_has_prefix(argv[i], "--")) {
		if (strcmp(argv[i], "--state-dir") == 0)
			state_dir = argv[i + 1];
		else if (strcmp(argv[i], "--schema-dir") == 0)
			schema_dir = argv[i + 1];
		else
			break;
		i += 2;
	}
	if (i >= argc) {
		fprintf(stderr, "usage: virtwire hook network|qemu|lxc|daemon [--state-dir DIR] OBJECT OP SUBOP EXTRA\n"
				"(libvirt runs it, with the XML on stdin; 'virtwire install-hooks' sets that up)\n");
		return VW_EXIT_USAGE;
	}
	driver = argv[i++];
	while (i + 1 < argc && g_str_has_prefix(argv[i], "--")) {
		if (strcmp(argv[i], "--state-dir") == 0)
			state_dir = argv[i + 1];
		else if (strcmp(argv[i], "--schema-dir") == 0)
			schema_dir = argv[i + 1];
		else
			break;
		i += 2;
	}
	cfg = *base;
	if (state_dir)
		cfg.state_dir = state_dir;
	if (schema_dir)
		cfg.schema_dir = schema_dir;
	return vw_hook_main(driver, argc - i, argv + i, &cfg);
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
	GOptionEntry entries[] = { { "hooks-dir", 0, 0, G_OPTION_ARG_FILENAME, &hooks_dir,
				     "libvirt's hook folder (default " VW_HOOKS_DIR_DEFAULT ")", "DIR" },
				   { "binary", 0, 0, G_OPTION_ARG_FILENAME, &binary,
				     "the virtwire the hooks run (default: this one)", "PATH" },
				   { "state-dir", 0, 0, G_OPTION_ARG_FILENAME, &state_dir,
				     "the state directory the hooks use", "DIR" },
				   { NULL } };
	g_autoptr(GOptionContext) ctx = g_option_context_new("- install virtwire's libvirt hooks");
	g_autoptr(GError) err = NULL;
	const char *dir;

	g_option_context_add_main_entries(ctx, entries, NULL);
	g_option_context_set_description(
		ctx, "Puts one entry, " VW_HOOK_ENTRY ", into network.d/, qemu.d/, lxc.d/ and daemon.d/ of libvirt's\n"
		     "hook folder. The main hook scripts and other hooks are left as they are. libvirtd\n"
		     "picks new hooks up when it starts or reloads (SIGHUP).");
	if (!vw_cli_parse(ctx, &argc, &argv))
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
	GOptionEntry entries[] = { { "hooks-dir", 0, 0, G_OPTION_ARG_FILENAME, &hooks_dir,
				     "libvirt's hook folder (default " VW_HOOKS_DIR_DEFAULT ")", "DIR" },
				   { NULL } };
	g_autoptr(GOptionContext) ctx = g_option_context_new("- remove virtwire's libvirt hooks");
	g_autoptr(GError) err = NULL;
	const char *dir;

	g_option_context_add_main_entries(ctx, entries, NULL);
	if (!vw_cli_parse(ctx, &argc, &argv))
		return VW_EXIT_USAGE;
	dir = hooks_dir ? hooks_dir : VW_HOOKS_DIR_DEFAULT;
	if (!vw_hooks_uninstall(dir, &err)) {
		fprintf(stderr, "virtwire uninstall-hooks: %s\n", err->message);
		return VW_EXIT_USAGE;
	}
	printf("removed virtwire's entries from %s/{network,qemu,lxc,daemon}.d/\n", dir);
	return VW_EXIT_OK;
}
