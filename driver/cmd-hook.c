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

/* libvirt always passes OBJECT OP SUBOP EXTRA ("-" for none). */
#define LIBVIRT_ARGS 4

static const GOptionEntry *hook_entry(const GOptionEntry *entries, const char *arg, const char **value)
{
	*value = NULL;
	for (const GOptionEntry *e = entries; e->long_name; e++) {
		size_t n = strlen(e->long_name);

		if (arg[0] == '-' && arg[1] == '-' && strncmp(arg + 2, e->long_name, n) == 0 &&
		    (arg[2 + n] == '\0' || arg[2 + n] == '=')) {
			*value = arg[2 + n] == '=' ? arg + 3 + n : NULL;
			return e;
		}
		if (e->short_name && arg[0] == '-' && arg[1] == e->short_name && arg[2] == '\0')
			return e;
	}
	return NULL;
}

/*
 * The options and the driver before libvirt's four arguments, @argv[1 ..
 * @n) of @argc: parsed by hand, against @entries, because libvirt's arguments must
 * reach the hook as they are — a network may be named "--x", and EXTRA is
 * "-". Returns -1 to go on, or the exit status (--help, --version, usage).
 */
static int hook_options(const GOptionEntry *entries, int n, int argc, char **argv, const char **driver)
{
	for (int i = 1; i < n; i++) {
		const char *arg = argv[i], *value;
		const GOptionEntry *e;

		if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0 || strcmp(arg, "--version") == 0) {
			g_autoptr(GOptionContext) ctx = vw_cli_context("hook", (GOptionEntry *)entries);
			g_autofree char *help = g_option_context_get_help(ctx, TRUE, NULL);

			g_print("%s", arg[2] == 'v' ? "virtwire " VW_VERSION "\n" : help);
			return VW_EXIT_OK;
		}
		if (strcmp(arg, "--") == 0 && i == n - 1)
			break;
		if (arg[0] != '-') {
			/* Short of libvirt's four, the caller says so. */
			if (*driver && n + LIBVIRT_ARGS <= argc)
				return vw_cli_usage_error("hook", "unexpected argument '%s' before libvirt's four",
							  arg);
			*driver = *driver ? *driver : arg;
			continue;
		}
		if (!(e = hook_entry(entries, arg, &value)))
			return vw_cli_usage_error("hook", "unknown option %s", arg);
		if (e->arg == G_OPTION_ARG_NONE) {
			if (value)
				return vw_cli_usage_error("hook", "%s takes no value", arg);
			*(gboolean *)e->arg_data = TRUE;
			continue;
		}
		if (!value && i + 1 >= n)
			return vw_cli_usage_error("hook", "%s needs a value", arg);
		value = value ? value : argv[++i];
		g_free(*(char **)e->arg_data);
		*(char **)e->arg_data = g_strdup(value);
	}
	if (!*driver || n + LIBVIRT_ARGS > argc)
		return vw_cli_usage_error("hook", "expected DRIVER OBJECT OP SUBOP EXTRA, as libvirt passes them "
						  "(DRIVER: network, qemu, lxc or daemon)");
	return -1;
}

int vw_cmd_hook(int argc, char **argv, const VwEngineConfig *base)
{
	VwEngineConfig cfg = *base;
	g_autofree char *state_dir = NULL;
	g_autofree char *schema_dir = NULL;
	gboolean verbose = FALSE;
	/* Only string and boolean options: hook_options parses them. */
	const GOptionEntry entries[] = { { "state-dir", 0, 0, G_OPTION_ARG_FILENAME, &state_dir,
					   "where applied networks are recorded (default " VW_STATE_DIR_DEFAULT ")",
					   "DIR" },
					 { "schema-dir", 0, 0, G_OPTION_ARG_FILENAME, &schema_dir,
					   "libvirt's RelaxNG schemas (default " VW_SCHEMA_DIR_DEFAULT ")", "DIR" },
					 { "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose,
					   "show the log's records (the call, every change) on stderr", NULL },
					 { NULL } };
	/* The last four arguments are libvirt's, whatever they look like. */
	int n = argc > LIBVIRT_ARGS ? argc - LIBVIRT_ARGS : argc;
	const char *driver = NULL;
	int rc = hook_options(entries, n, argc, argv, &driver);

	if (rc >= 0)
		return rc;
	if (state_dir)
		cfg.state_dir = state_dir;
	if (schema_dir)
		cfg.schema_dir = schema_dir;
	return vw_hook_main(driver, LIBVIRT_ARGS, argv + n, &cfg, verbose);
}

/* The virtwire running, for the hook entries: its installed path when it
 * is installed; a build tree's binary only with a warning. */
static char *self_path(void)
{
	g_autofree char *p = g_file_read_link("/proc/self/exe", NULL);
	g_autofree char *dir = NULL;

	if (!p) {
		fprintf(stderr, "virtwire install-hooks: /proc/self/exe cannot be read: give --binary PATH\n");
		return NULL;
	}
	/* Replaced while running (an upgrade): the new file has the name. */
	if (g_str_has_suffix(p, " (deleted)"))
		p[strlen(p) - strlen(" (deleted)")] = '\0';
	/* A meson build tree has meson-private/ at its top. */
	for (dir = g_path_get_dirname(p); strcmp(dir, "/") != 0 && strcmp(dir, ".") != 0;) {
		g_autofree char *private = g_build_filename(dir, "meson-private", NULL);
		char *up;

		if (g_file_test(private, G_FILE_TEST_IS_DIR)) {
			fprintf(stderr,
				"virtwire install-hooks: warning: %s is in the build tree %s: the hooks will run it "
				"from "
				"there (give --binary with the installed virtwire, e.g. /usr/sbin/virtwire, "
				"otherwise)\n",
				p, dir);
			break;
		}
		up = g_path_get_dirname(dir);
		g_free(dir);
		dir = up;
	}
	return g_steal_pointer(&p);
}

int vw_cmd_install_hooks(int argc, char **argv, const VwEngineConfig *base)
{
	g_autofree char *hooks_dir = NULL;
	g_autofree char *binary = NULL;
	g_autofree char *state_dir = NULL;
	GOptionEntry entries[] = { HOOKS_DIR_ENTRY(hooks_dir),
				   { "binary", 0, 0, G_OPTION_ARG_FILENAME, &binary,
				     "the virtwire the hooks run (default: this one, as /proc/self/exe names it)",
				     "PATH" },
				   { "state-dir", 0, 0, G_OPTION_ARG_FILENAME, &state_dir,
				     "the state directory the hooks use (default " VW_STATE_DIR_DEFAULT ")", "DIR" },
				   { NULL } };
	g_autoptr(GError) err = NULL;
	const char *dir;

	if (!vw_cli_parse(entries, &argc, &argv))
		return VW_EXIT_USAGE;
	dir = hooks_dir ? hooks_dir : VW_HOOKS_DIR_DEFAULT;
	if (!binary && !(binary = self_path()))
		return VW_EXIT_USAGE;
	if (!g_path_is_absolute(binary))
		return vw_cli_usage_error("install-hooks", "--binary must be an absolute path, not '%s'", binary);
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
	VwCliOptions o = { 0 };
	gboolean force = FALSE;
	GOptionEntry entries[] = {
		HOOKS_DIR_ENTRY(hooks_dir),
		{ "state-dir", 0, 0, G_OPTION_ARG_FILENAME, &o.state_dir,
		  "the state directory the hooks use (default: the one the installed hooks name, "
		  "else " VW_STATE_DIR_DEFAULT ")",
		  "DIR" },
		{ "force", 0, 0, G_OPTION_ARG_NONE, &force,
		  "remove them even while networks libvirt runs in mode 'open' depend on them for their firewall",
		  NULL },
		{ NULL }
	};
	g_autoptr(GError) err = NULL;
	g_autoptr(VwEngine) engine = NULL;
	g_autoptr(GPtrArray) open = NULL;
	const char *dir;
	guint installed, removed;

	if (!vw_cli_parse(entries, &argc, &argv))
		return VW_EXIT_USAGE;
	dir = hooks_dir ? hooks_dir : VW_HOOKS_DIR_DEFAULT;
	if (!vw_hooks_find(dir, &installed, o.state_dir ? NULL : &o.state_dir, &err)) {
		vw_cli_options_clear(&o);
		fprintf(stderr, "virtwire uninstall-hooks: %s\n", err->message);
		return VW_EXIT_USAGE;
	}
	engine = vw_cli_engine(base, &o);
	vw_cli_options_clear(&o);
	/* The networks that fail open once the hooks are gone. */
	open = installed ? vw_engine_open_networks(engine) : g_ptr_array_new();
	if (!vw_cli_refuse_open("uninstall-hooks", open, NULL, force))
		return VW_EXIT_FINDINGS;
	if (!vw_hooks_uninstall(dir, &removed, &err)) {
		fprintf(stderr, "virtwire uninstall-hooks: %s\n", err->message);
		return VW_EXIT_USAGE;
	}
	if (removed)
		printf("removed virtwire's entries from %s/{network,qemu,lxc,daemon}.d/\n", dir);
	else
		printf("no entry of virtwire's in %s/{network,qemu,lxc,daemon}.d/: nothing removed\n", dir);
	return VW_EXIT_OK;
}
