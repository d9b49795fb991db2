/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The virtwire command line: one function per command, thin callers of
 * the engine that parse options and print. */
#pragma once

#include <glib.h>
#include <stdio.h>

#include <virtwire/engine.h>

/* Exit codes shared by the commands (virtwire(8), EXIT STATUS). */
enum {
	VW_EXIT_OK = 0,
	VW_EXIT_FINDINGS = 1, /* errors in the input, drift, an unknown network, a refusal (--force) */
	VW_EXIT_USAGE = 2,    /* bad usage, unreadable or malformed input, could not check or change */
};

/*
 * The whole CLI. @base is how the engine reaches the system: NULL in the
 * production binary; the test build's binary passes its faults and
 * backends. Commands add their own options (--state-dir …) to it.
 */
int vw_cli_main(int argc, char **argv, const VwEngineConfig *base);

typedef int (*VwCommandFn)(int argc, char **argv, const VwEngineConfig *base);

int vw_cmd_check(int argc, char **argv, const VwEngineConfig *base);
int vw_cmd_plan(int argc, char **argv, const VwEngineConfig *base);
int vw_cmd_apply(int argc, char **argv, const VwEngineConfig *base);
int vw_cmd_teardown(int argc, char **argv, const VwEngineConfig *base);
int vw_cmd_verify(int argc, char **argv, const VwEngineConfig *base);
int vw_cmd_status(int argc, char **argv, const VwEngineConfig *base);
int vw_cmd_restore(int argc, char **argv, const VwEngineConfig *base);
int vw_cmd_watch(int argc, char **argv, const VwEngineConfig *base);
int vw_cmd_hook(int argc, char **argv, const VwEngineConfig *base);
int vw_cmd_install_hooks(int argc, char **argv, const VwEngineConfig *base);
int vw_cmd_uninstall_hooks(int argc, char **argv, const VwEngineConfig *base);

/* Options every command that reads input or state shares. */
typedef struct {
	char *schema_dir;
	gboolean no_schema;
	char *state_dir;
} VwCliOptions;

#define VW_CLI_SCHEMA_ENTRIES(o)                                                                                   \
	{ "schema-dir",                                                                                            \
	  0,                                                                                                       \
	  0,                                                                                                       \
	  G_OPTION_ARG_FILENAME,                                                                                   \
	  &(o).schema_dir,                                                                                         \
	  "libvirt's RelaxNG schemas (default " VW_SCHEMA_DIR_DEFAULT ")",                                         \
	  "DIR" },                                                                                                 \
	{                                                                                                          \
		"no-schema", 0, 0, G_OPTION_ARG_NONE, &(o).no_schema, "skip validation against libvirt's schemas", \
			NULL                                                                                       \
	}
#define VW_CLI_STATE_ENTRY(o)                                                                           \
	{                                                                                               \
		"state-dir", 0, 0, G_OPTION_ARG_FILENAME, &(o).state_dir,                               \
			"where applied networks are recorded (default " VW_STATE_DIR_DEFAULT ")", "DIR" \
	}

/* An engine for a command: @base with the command's options. */
VwEngine *vw_cli_engine(const VwEngineConfig *base, const VwCliOptions *o);
void vw_cli_options_clear(VwCliOptions *o);

/* The GOption context of command @cmd with @entries: its usage line
 * ("virtwire CMD [OPTION…] PARAMS"), summary and description from the
 * command table, and --version. */
GOptionContext *vw_cli_context(const char *cmd, GOptionEntry *entries);
/* Parses the options of command (*@argv)[0] with GOption (--help and
 * --version print and exit 0); a command that takes no arguments refuses
 * any. On failure prints one line naming the problem and the usage, and
 * returns false: the command exits with VW_EXIT_USAGE. */
bool vw_cli_parse(GOptionEntry *entries, int *argc, char ***argv);
/* Prints "virtwire CMD: MESSAGE" and the command's usage line on stderr;
 * returns VW_EXIT_USAGE. */
int vw_cli_usage_error(const char *cmd, const char *format, ...) G_GNUC_PRINTF(2, 3);
/* --format text|json. */
bool vw_cli_parse_format(const char *cmd, const char *format, bool *json);

/*
 * The safety rail of teardown and uninstall-hooks: @open holds the networks
 * libvirt runs with <forward mode='open'/> (vw_engine_open_networks), which
 * have no firewall but virtwire's; @only, when given, the names @cmd acts
 * on. When any is concerned, names them on stderr: a refusal without
 * @force (returns false), a warning with it.
 */
bool vw_cli_refuse_open(const char *cmd, GPtrArray *open, char **only, gboolean force);

/* Prints findings (text or JSON) to @out. */
void vw_cli_print_diags(FILE *out, const VwDiags *d, bool json);
/*
 * The one place a failure is reported: the findings, then "virtwire CMD:
 * MESSAGE" and a hint for the error's code. Returns the exit status:
 * VW_EXIT_FINDINGS for errors in the input (VW_ERROR_INVALID) and an
 * unknown network (VW_ERROR_NOT_FOUND), VW_EXIT_USAGE for the rest.
 */
int vw_cli_fail(const char *cmd, const VwDiags *diags, const GError *err);
