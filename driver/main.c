/* SPDX-License-Identifier: GPL-2.0-or-later */
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

void vw_cli_print_diags(FILE *out, VwDiags *d, bool json)
{
	g_autofree char *s = json ? vw_diags_format_json(d) : vw_diags_format_text(d);

	fputs(s, out);
}

int main(int argc, char **argv)
{
	setlocale(LC_ALL, "");
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
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "virtwire: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return VW_EXIT_USAGE;
}
