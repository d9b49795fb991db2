/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The command table, and what every command shares: options, the engine,
 * and the one place failures are printed. */
#include <locale.h>
#include <stdio.h>
#include <string.h>

#include <virtwire/hooks.h>

#include "cli.h"

#ifndef VW_VERSION
#define VW_VERSION "0"
#endif

typedef struct {
	const char *name;
	VwCommandFn fn;
	const char *summary;
	const char *params;	 /* its arguments and a summary, for --help */
	const char *description; /* what --help prints after the options */
} Command;

static const Command commands[] = {
	{ "check", vw_cmd_check, "validate libvirt network, domain, networkport and hookData XML",
	  "FILE... - validate libvirt XML",
	  "Checks any mix of network, domain, networkport and hookData files, each on its own\n"
	  "and all together (forward collisions, overlapping subnets, domain forward policies).\n"
	  "Exit status: 0 clean (warnings allowed unless --strict), 1 errors, 2 usage or\n"
	  "unreadable/malformed file." },
	{ "plan", vw_cmd_plan, "print the nftables ruleset and operations apply would carry out",
	  "FILE... - print what apply would do",
	  "Prints the nftables tables exactly as 'nft list table inet virtwire' and 'nft list table\n"
	  "bridge virtwire' will show them after 'virtwire apply' of the same files, then the other\n"
	  "operations. Input errors stop it with the diagnostics of 'virtwire check' (on stderr)." },
	{ "apply", vw_cmd_apply, "realise networks in the kernel, in one transaction", "FILE... - realise networks",
	  "Checks the files as 'virtwire check' does, then makes the kernel match them in one\n"
	  "transaction. Applying the same files again changes nothing; a network already applied\n"
	  "is replaced atomically. A network the kernel has but whose record is missing or damaged\n"
	  "is refused unless --adopt is given. Needs root." },
	{ "teardown", vw_cmd_teardown, "remove what virtwire applied for networks",
	  "NAME... - remove what virtwire applied",
	  "Removes exactly the named networks' objects: their firewall elements and chains in one\n"
	  "transaction, then the links virtwire created (never the ones it found, and only where the\n"
	  "kernel shows virtwire's marker), then the sysctls it changed. Other networks stay\n"
	  "untouched; the table goes with the last network. Without a usable record, --from FILE\n"
	  "derives what to remove from the XML, and removes only what the kernel shows to be\n"
	  "virtwire's. Needs root." },
	{ "verify", vw_cmd_verify, "compare the kernel with the networks' XML, report drift",
	  "(NAME... | --all | --xml FILE...) - compare the kernel with the XML",
	  "Reads the kernel back (links, addresses, bridge ports, sysctls, virtwire's tables) and\n"
	  "compares it with what 'virtwire apply' would make of the network, the parts libvirt\n"
	  "created included. One line per difference. Exit status: 0 the kernel matches, 1 drift,\n"
	  "2 could not check." },
	{ "status", vw_cmd_status, "the networks virtwire manages, with traffic per forward",
	  "- the networks virtwire manages",
	  "Every network virtwire has applied: its mode, bridge and addresses as the kernel has them,\n"
	  "and its forwards with the packets and bytes of the connections forwarded through them." },
	{ "restore", vw_cmd_restore, "put back what others flushed of the recorded networks' firewall",
	  "- restore the recorded networks' firewall",
	  "Re-asserts every recorded network: table inet virtwire, virtwire's rules in libvirt's\n"
	  "tables and its host firewall integrations, in one transaction, as applied (links are left\n"
	  "alone). Run it after another firewall flushed or reloaded the ruleset (the systemd units\n"
	  "virtwire-restore@nftables, @firewalld and @docker do). When nothing is missing, nothing is\n"
	  "sent; when the ruleset has not changed since virtwire made it so, nothing is even read.\n"
	  "Needs root." },
	{ "watch", vw_cmd_watch, "restore the recorded networks whenever others change the ruleset",
	  "- listen, and restore what others remove",
	  "Listens to the kernel's nftables, link and neighbour notifications until SIGTERM: when\n"
	  "anybody else flushes the ruleset, deletes table inet virtwire or changes another\n"
	  "firewall's chains, it restores (once per burst of events, within a second); a port\n"
	  "plugged into a recorded network's bridge gets the network's port flags; a forward by\n"
	  "guest-mac without a DHCP reservation follows the address the guest uses (networks with\n"
	  "<vw:learn-addresses enabled='yes'/>). One line per action on stderr. Needs root." },
	{ "hook", vw_cmd_hook, "libvirt's hook entry (libvirt runs it, with the XML on stdin)", NULL, NULL },
	{ "install-hooks", vw_cmd_install_hooks, "install virtwire into libvirt's hook folders",
	  "- install virtwire's libvirt hooks",
	  "Puts one entry, " VW_HOOK_ENTRY ", into network.d/, qemu.d/, lxc.d/ and daemon.d/ of libvirt's\n"
	  "hook folder. The main hook scripts and other hooks are left as they are. libvirtd\n"
	  "picks new hooks up when it starts or reloads (SIGHUP)." },
	{ "uninstall-hooks", vw_cmd_uninstall_hooks, "remove virtwire from libvirt's hook folders",
	  "- remove virtwire's libvirt hooks", NULL },
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

static const Command *command(const char *name)
{
	for (size_t i = 0; i < G_N_ELEMENTS(commands); i++)
		if (g_strcmp0(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

bool vw_cli_parse(GOptionEntry *entries, int *argc, char ***argv)
{
	const Command *c = command((*argv)[0]);
	g_autoptr(GOptionContext) ctx = g_option_context_new(c ? c->params : NULL);
	g_autoptr(GError) err = NULL;

	g_option_context_add_main_entries(ctx, entries, NULL);
	if (c && c->description)
		g_option_context_set_description(ctx, c->description);
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
