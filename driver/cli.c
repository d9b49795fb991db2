/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The command table, and what every command shares: options, the engine,
 * and the one place failures are printed. */
#include <locale.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

#ifndef VW_VERSION
#define VW_VERSION "0"
#endif

typedef struct {
	const char *name;
	VwCommandFn fn;
	const char *summary;
} Command;

static const Command commands[] = {
	{ "check", vw_cmd_check, "validate libvirt network, domain, networkport and hookData XML" },
	{ "plan", vw_cmd_plan, "print the nftables ruleset and operations apply would carry out" },
	{ "apply", vw_cmd_apply, "realise networks in the kernel, in one transaction" },
	{ "teardown", vw_cmd_teardown, "remove what virtwire applied for networks" },
	{ "verify", vw_cmd_verify, "compare the kernel with the networks' XML, report drift" },
	{ "status", vw_cmd_status, "the networks virtwire manages, with traffic per forward" },
	{ "hook", vw_cmd_hook, "libvirt's hook entry (libvirt runs it, with the XML on stdin)" },
	{ "install-hooks", vw_cmd_install_hooks, "install virtwire into libvirt's hook folders" },
	{ "uninstall-hooks", vw_cmd_uninstall_hooks, "remove virtwire from libvirt's hook folders" },
};

static void usage(FILE *out)
{
	fprintf(out, "usage: virtwire COMMAND [OPTIONS] [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < G_N_ELEMENTS(commands); i++)
		fprintf(out, "  %-16s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\n'virtwire COMMAND --help' describes a command.\n");
}

int vw_cli_main(int argc, char **argv, const VwEngineConfig *base)
{
	static const VwEngineConfig none;

	setlocale(LC_ALL, "");
	if (!base)
		base = &none;
	if (argc < 2) {
		usage(stderr);
		return VW_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return VW_EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
		printf("virtwire %s\n", VW_VERSION);
		return VW_EXIT_OK;
	}
	for (size_t i = 0; i < G_N_ELEMENTS(commands); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].fn(argc - 1, argv + 1, base);
	fprintf(stderr, "virtwire: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return VW_EXIT_USAGE;
}

VwEngine *vw_cli_engine(const VwEngineConfig *base, const VwCliOptions *o)
{
	VwEngineConfig cfg = *base;

	if (o && o->state_dir)
		cfg.state_dir = o->state_dir;
	if (o && o->schema_dir)
		cfg.schema_dir = o->schema_dir;
	return vw_engine_new(&cfg);
}

void vw_cli_options_clear(VwCliOptions *o)
{
	g_clear_pointer(&o->schema_dir, g_free);
	g_clear_pointer(&o->state_dir, g_free);
}

bool vw_cli_parse(GOptionContext *ctx, int *argc, char ***argv)
{
	g_autoptr(GError) err = NULL;

	if (!g_option_context_parse(ctx, argc, argv, &err)) {
		g_autofree char *help = g_option_context_get_help(ctx, TRUE, NULL);

		fprintf(stderr, "virtwire: %s\n%s", err->message, help);
		return false;
	}
	return true;
}

bool vw_cli_parse_format(const char *cmd, const char *format, bool *json)
{
	*json = format && strcmp(format, "json") == 0;
	if (format && !*json && strcmp(format, "text") != 0) {
		fprintf(stderr, "virtwire %s: --format must be 'text' or 'json', not '%s'\n", cmd, format);
		return false;
	}
	return true;
}

void vw_cli_print_diags(FILE *out, const VwDiags *d, bool json)
{
	g_autofree char *s = json ? vw_diags_format_json(d) : vw_diags_format_text(d);

	fputs(s, out);
}

static const char *hint_for(const char *cmd, const GError *err)
{
	if (err->domain != VW_ERROR)
		return NULL;
	switch ((VwErrorCode)err->code) {
	case VW_ERROR_PERMISSION:
		return "virtwire changes the kernel's network configuration and keeps its records as root: run it as "
		       "root";
	case VW_ERROR_NOT_FOUND:
		return strcmp(cmd, "teardown") == 0 ? "'virtwire status' lists the networks virtwire manages; nothing "
						      "was changed"
						    : NULL;
	case VW_ERROR_BUSY:
		return "a libvirt hook or another virtwire command is running; nothing was changed";
	case VW_ERROR_FAILED:
	case VW_ERROR_INVALID:
	case VW_ERROR_CONFLICT:
	case VW_ERROR_INCOMPATIBLE:
	case VW_ERROR_STATE:
		break;
	}
	return NULL;
}

int vw_cli_fail(const char *cmd, const VwDiags *diags, const GError *err)
{
	const char *hint;

	if (diags)
		vw_cli_print_diags(stderr, diags, false);
	if (!err)
		return VW_EXIT_USAGE;
	if (g_error_matches(err, VW_ERROR, VW_ERROR_INVALID))
		return VW_EXIT_FINDINGS; /* the findings say it all */
	fprintf(stderr, "virtwire %s: %s\n", cmd, err->message);
	hint = hint_for(cmd, err);
	if (hint)
		fprintf(stderr, "  hint: %s\n", hint);
	return g_error_matches(err, VW_ERROR, VW_ERROR_NOT_FOUND) ? VW_EXIT_FINDINGS : VW_EXIT_USAGE;
}
