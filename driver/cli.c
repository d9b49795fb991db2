/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The command table, and what every command shares: options, the engine,
 * and the one place failures are printed. */
#include <locale.h>
#include <stdarg.h>
#include <stdlib.h>
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
	const char *params;	 /* its arguments after [OPTION…] (NULL: it takes none) */
	const char *description; /* what --help prints after the options */
} Command;

static const Command commands[] = {
	{ "check", vw_cmd_check, "validate libvirt network, domain, networkport and hookData XML", "FILE...",
	  "Checks any mix of network, domain, networkport and hookData files, each on its own\n"
	  "and all together (forward collisions, overlapping subnets, domain forward policies).\n"
	  "Exit status: 0 clean (warnings allowed unless --strict), 1 errors, 2 usage or\n"
	  "unreadable/malformed file." },
	{ "plan", vw_cmd_plan, "print the nftables ruleset and operations apply would carry out", "FILE...",
	  "Prints the nftables tables exactly as 'nft list table inet virtwire' and 'nft list table\n"
	  "bridge virtwire' will show them after 'virtwire apply' of the same files, then the other\n"
	  "operations. --nft prints the tables alone (loadable by 'nft -f'); --format json prints all\n"
	  "of it as fields (docs/json.md). Input errors stop it with the diagnostics of 'virtwire\n"
	  "check' (on stderr).\n"
	  "Exit status: 0 planned, 1 errors in the input, 2 usage or unreadable/malformed file." },
	{ "apply", vw_cmd_apply, "realise networks in the kernel, in one transaction", "FILE...",
	  "Checks the files as 'virtwire check' does, then makes the kernel match them in one\n"
	  "transaction. Applying the same files again changes nothing; a network already applied\n"
	  "is replaced atomically. A network the kernel has but whose record is missing or damaged\n"
	  "is refused unless --adopt is given. Needs root.\n"
	  "Exit status: 0 applied, 1 errors in the input, 2 usage or the change failed (nothing\n"
	  "was changed)." },
	{ "teardown", vw_cmd_teardown, "remove what virtwire applied for networks", "NAME...",
	  "Removes exactly the named networks' objects: their firewall elements and chains in one\n"
	  "transaction, then the links virtwire created (never the ones it found, and only where the\n"
	  "kernel shows virtwire's marker), then the sysctls it changed. Other networks stay\n"
	  "untouched; the table goes with the last network. Without a usable record, --from FILE\n"
	  "derives what to remove from the XML, and removes only what the kernel shows to be\n"
	  "virtwire's. A network that libvirt runs with <forward mode='open'/> has no firewall but\n"
	  "virtwire's: its teardown is refused unless --force is given. Needs root.\n"
	  "Exit status: 0 torn down, 1 an unknown network or refused, 2 usage or the change failed." },
	{ "verify", vw_cmd_verify, "compare the kernel with the networks' XML, report drift",
	  "NAME... | --all | --xml FILE...",
	  "Reads the kernel back (links, addresses, bridge ports, sysctls, virtwire's tables) and\n"
	  "compares it with what 'virtwire apply' would make of the network, the parts libvirt\n"
	  "created included. One line per difference. Exit status: 0 the kernel matches, 1 drift,\n"
	  "2 usage or could not check." },
	{ "status", vw_cmd_status, "the networks virtwire manages, with traffic per forward", "[NAME...]",
	  "Every network virtwire has applied (or the NAMEs given): its mode, bridge and addresses as the\n"
	  "kernel has them,\n"
	  "and its forwards with the packets and bytes of the connections forwarded through them.\n"
	  "--format json prints it as fields, --format openmetrics as metrics for Prometheus\n"
	  "(docs/json.md); --output FILE replaces FILE whole, atomically, instead of printing.\n"
	  "Reads only: it never creates the state directory. Exit status: 0, 1 an unknown NAME, or\n"
	  "2 usage, could not read the kernel or write FILE." },
	{ "restore", vw_cmd_restore, "put back what others flushed of the recorded networks' firewall", NULL,
	  "Re-asserts every recorded network: table inet virtwire, virtwire's rules in libvirt's\n"
	  "tables and its host firewall integrations, in one transaction, as applied (links are left\n"
	  "alone). Run it after another firewall flushed or reloaded the ruleset (the systemd units\n"
	  "virtwire-restore@nftables, @firewalld and @docker do). When nothing is missing, nothing is\n"
	  "sent; when the ruleset has not changed since virtwire made it so, nothing is even read.\n"
	  "Needs root. Exit status: 0 restored (or nothing missing), 2 usage or the change failed." },
	{ "watch", vw_cmd_watch, "restore the recorded networks whenever others change the ruleset", NULL,
	  "Listens to the kernel's nftables, link and neighbour notifications until SIGTERM: when\n"
	  "anybody else flushes the ruleset, deletes table inet virtwire or changes another\n"
	  "firewall's chains, it restores (once per burst of events, within a second); a port\n"
	  "plugged into a recorded network's bridge gets the network's port flags; a forward by\n"
	  "guest-mac without a DHCP reservation follows the address the guest uses (networks with\n"
	  "<vw:learn-addresses enabled='yes'/>). One line per action on stderr. Needs root.\n"
	  "Exit status: 0 stopped by a signal, 2 usage or the kernel's events could not be read." },
	{ "hook", vw_cmd_hook, "libvirt's hook entry (libvirt runs it, with the XML on stdin)",
	  "DRIVER OBJECT OP SUBOP EXTRA",
	  "libvirt's hook protocol: DRIVER is network, qemu, lxc or daemon; the last four arguments\n"
	  "are always libvirt's (OBJECT OP SUBOP EXTRA, '-' for none), whatever they look like, and\n"
	  "the XML comes on stdin. Options go before them. 'virtwire install-hooks' writes the entries\n"
	  "libvirt runs. Exit status: non-zero only where libvirt is to stop the operation (a\n"
	  "network's start or started, a domain's prepare, start or started); 2 on usage errors." },
	{ "install-hooks", vw_cmd_install_hooks, "install virtwire into libvirt's hook folders", NULL,
	  "Puts one entry, " VW_HOOK_ENTRY ", into network.d/, qemu.d/, lxc.d/ and daemon.d/ of libvirt's\n"
	  "hook folder. The main hook scripts and other hooks are left as they are. libvirtd\n"
	  "picks new hooks up when it starts or reloads (SIGHUP). Without --binary the entries run\n"
	  "this virtwire, as /proc/self/exe names it (with a warning when that is a build tree).\n"
	  "Exit status: 0 installed, 2 usage or could not write them." },
	{ "uninstall-hooks", vw_cmd_uninstall_hooks, "remove virtwire from libvirt's hook folders", NULL,
	  "Removes exactly the entries 'virtwire install-hooks' wrote. Networks that libvirt runs with\n"
	  "<forward mode='open'/> have no firewall but virtwire's, and without the hooks they start\n"
	  "without one: while such networks are recorded, it refuses unless --force is given, and\n"
	  "names them. Exit status: 0 removed (or none there), 1 refused, 2 usage or a missing or\n"
	  "unwritable hook folder." },
};

static const Command *command(const char *name)
{
	for (size_t i = 0; i < G_N_ELEMENTS(commands); i++)
		if (g_strcmp0(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static const char usage_line[] = "virtwire COMMAND [OPTION...] [ARG...]";

static void help(void)
{
	GString *s = g_string_new(NULL);

	g_string_append_printf(s, "Usage:\n  %s\n  virtwire help [COMMAND]\n  virtwire --version\n\n", usage_line);
	g_string_append(s, "Realises libvirt networks: bridges, NAT, port forwards and isolation in nftables.\n\n"
			   "Commands:\n");
	for (size_t i = 0; i < G_N_ELEMENTS(commands); i++)
		g_string_append_printf(s, "  %-16s %s\n", commands[i].name, commands[i].summary);
	g_string_append(s, "\n'virtwire help COMMAND' (or 'virtwire COMMAND --help') describes a command.\n"
			   "Exit status: 0 success, 1 findings (errors in the input, drift, an unknown network,\n"
			   "a refusal), 2 usage errors and failures to read, check or change.\n");
	g_print("%s", s->str);
	g_string_free(s, TRUE);
}

/* Plain stdio: g_print would open iconv's module cache first, in the C
 * locale, for an ASCII line. */
static void print_version(void)
{
	fputs("virtwire " VW_VERSION "\n", stdout);
}

/* "virtwire CMD [OPTION...] PARAMS", or the top level's. */
static char *command_usage(const Command *c)
{
	if (!c)
		return g_strdup(usage_line);
	return g_strdup_printf("virtwire %s [OPTION...]%s%s", c->name, c->params ? " " : "",
			       c->params ? c->params : "");
}

/* One line naming the problem, then the usage: on stderr. */
static int usage_error(const Command *c, const char *message)
{
	g_autofree char *usage = command_usage(c);

	g_printerr("virtwire%s%s: %s\n", c ? " " : "", c ? c->name : "", message);
	g_printerr("usage: %s\n", usage);
	return VW_EXIT_USAGE;
}

int vw_cli_usage_error(const char *cmd, const char *format, ...)
{
	g_autofree char *message = NULL;
	va_list ap;

	va_start(ap, format);
	message = g_strdup_vprintf(format, ap);
	va_end(ap);
	return usage_error(command(cmd), message);
}

/* virtwire help [COMMAND]: COMMAND's --help, exactly. */
static int help_command(int argc, char **argv, const VwEngineConfig *base)
{
	const Command *c;
	char *args[3] = { NULL, "--help", NULL };

	if (argc < 3) {
		help();
		return VW_EXIT_OK;
	}
	if (argc > 3) {
		g_printerr("virtwire help: takes one COMMAND, not '%s'\nusage: virtwire help [COMMAND]\n", argv[3]);
		return VW_EXIT_USAGE;
	}
	c = command(argv[2]);
	if (!c) {
		g_autofree char *m = g_strdup_printf("unknown command '%s' ('virtwire help' lists them)", argv[2]);

		return usage_error(NULL, m);
	}
	args[0] = (char *)c->name;
	return c->fn(2, args, base);
}

int vw_cli_main(int argc, char **argv, const VwEngineConfig *base)
{
	static const VwEngineConfig none;
	const Command *c;
	g_autofree char *m = NULL;

	if (argc == 2 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0)) {
		print_version();
		return VW_EXIT_OK;
	}
	/* The terminal's character set, for GLib's conversion of what is
	 * printed; numbers, messages and order stay C's whatever the locale
	 * (what virtwire prints is read by scripts too), and a hook does not
	 * read locale files it has no use for. */
	setlocale(LC_CTYPE, "");
	if (!base)
		base = &none;
	if (argc < 2)
		return usage_error(NULL, "no command given ('virtwire help' lists them)");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0)
		return help_command(argc, argv, base);
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0)
		return usage_error(NULL, "--version takes no arguments");
	c = command(argv[1]);
	if (c)
		return c->fn(argc - 1, argv + 1, base);
	if (argv[1][0] == '-')
		m = g_strdup_printf("unknown option %s", argv[1]);
	else
		m = g_strdup_printf("unknown command '%s' ('virtwire help' lists them)", argv[1]);
	return usage_error(NULL, m);
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

static gboolean version_option(const char *name, const char *value, gpointer data, GError **error)
{
	print_version();
	exit(VW_EXIT_OK); /* as GOption's own --help does */
}

GOptionContext *vw_cli_context(const char *cmd, GOptionEntry *entries)
{
	static GOptionEntry common[] = { { "version", 0, G_OPTION_FLAG_NO_ARG, G_OPTION_ARG_CALLBACK, version_option,
					   "Print virtwire's version", NULL },
					 { NULL } };
	const Command *c = command(cmd);
	g_autofree char *prgname = g_strdup_printf("virtwire %s", cmd);
	GOptionContext *ctx = g_option_context_new(c ? c->params : NULL);

	/* The usage line GOption prints: "virtwire CMD [OPTION…] PARAMS". */
	g_set_prgname(prgname);
	g_option_context_add_main_entries(ctx, entries, NULL);
	g_option_context_add_main_entries(ctx, common, NULL);
	if (c) {
		g_option_context_set_summary(ctx, c->summary);
		g_option_context_set_description(ctx, c->description);
	}
	return ctx;
}

bool vw_cli_parse(GOptionEntry *entries, int *argc, char ***argv)
{
	const Command *c = command((*argv)[0]);
	g_autoptr(GOptionContext) ctx = vw_cli_context((*argv)[0], entries);
	g_autoptr(GError) err = NULL;

	if (!g_option_context_parse(ctx, argc, argv, &err)) {
		/* GOption's "Unknown option --x" as virtwire's own messages. */
		if (g_ascii_isupper(err->message[0]) && g_ascii_islower(err->message[1]))
			err->message[0] = g_ascii_tolower(err->message[0]);
		usage_error(c, err->message);
		return false;
	}
	/* A command without arguments takes none: an extra word is a
	 * mistake (a misspelt option, a network name status does not take). */
	if (c && !c->params && *argc > 1) {
		g_autofree char *m = g_strdup_printf("unexpected argument '%s'", (*argv)[1]);

		usage_error(c, m);
		return false;
	}
	return true;
}

bool vw_cli_parse_format(const char *cmd, const char *format, bool *json)
{
	*json = format && strcmp(format, "json") == 0;
	if (format && !*json && strcmp(format, "text") != 0) {
		vw_cli_usage_error(cmd, "--format must be 'text' or 'json', not '%s'", format);
		return false;
	}
	return true;
}

bool vw_cli_refuse_open(const char *cmd, GPtrArray *open, char **only, gboolean force)
{
	g_autoptr(GString) list = g_string_new(NULL);
	bool teardown = only != NULL;

	for (guint i = 0; i < open->len; i++) {
		const char *name = open->pdata[i];

		if (only && !g_strv_contains((const char *const *)only, name))
			continue;
		g_string_append_printf(list, "%s'%s'", list->len ? ", " : "", name);
	}
	if (!list->len)
		return true;
	fprintf(stderr,
		"virtwire %s: %s: libvirt runs network%s %s with <forward mode='open'/>, virtwire's firewall the only "
		"one: %s\n",
		cmd, force ? "warning" : "refused", strchr(list->str, ',') ? "s" : "", list->str,
		teardown ? "torn down by virtwire, it stays up without a firewall"
			 : "without the hooks, it starts without a firewall (it fails open)");
	if (!force)
		fprintf(stderr, "  hint: %s, or give --force\n",
			teardown ? "'virsh net-destroy NAME' stops the network, and its hook tears it down"
				 : "move such networks to libvirt's own forward modes (docs/libvirt.md) or stop them "
				   "(virsh net-destroy NAME)");
	return force;
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
