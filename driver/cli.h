/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The virtwire command line: one function per command. */
#pragma once

#include <glib.h>

#include <stdio.h>

#include <virtwire/model.h>
#include <virtwire/plan.h>

/* Exit codes shared by the commands. */
enum {
	VW_EXIT_OK = 0,
	VW_EXIT_FINDINGS = 1, /* errors in the input, or drift */
	VW_EXIT_USAGE = 2,    /* bad usage, unreadable or malformed input, could not check */
};

typedef int (*VwCommandFn)(int argc, char **argv);

int vw_cmd_check(int argc, char **argv);
int vw_cmd_plan(int argc, char **argv);
int vw_cmd_apply(int argc, char **argv);
int vw_cmd_teardown(int argc, char **argv);
int vw_cmd_verify(int argc, char **argv);
int vw_cmd_status(int argc, char **argv);
int vw_cmd_hook(int argc, char **argv);
int vw_cmd_install_hooks(int argc, char **argv);
int vw_cmd_uninstall_hooks(int argc, char **argv);

typedef struct {
	char *schema_dir;
	gboolean no_schema;
} VwLoadOptions;

/* GOption entries for --schema-dir and --no-schema filling @o. */
#define VW_LOAD_OPTION_ENTRIES(o)                                                                            \
	{ "schema-dir", 0, 0, G_OPTION_ARG_FILENAME, &(o).schema_dir,                                         \
	  "libvirt's RelaxNG schemas (default /usr/share/libvirt/schemas)", "DIR" },                          \
	{ "no-schema", 0, 0, G_OPTION_ARG_NONE, &(o).no_schema, "skip validation against libvirt's schemas", NULL }

/* Parses and checks @files (documents go to @docs, findings to @diags,
 * sorted). Returns VW_EXIT_USAGE when a file is unreadable or malformed. */
int vw_cli_load(char **files, const VwLoadOptions *opts, VwDiags *diags, GPtrArray *docs);
/* The networks (VwNetwork*) and the domain forwards per interface
 * (VwPlanDomain*, newly allocated: free with g_free) of @docs. */
void vw_cli_collect(GPtrArray *docs, GPtrArray *networks, GPtrArray *domains);

/* Parses options with GOption; prints the error and the usage line on
 * failure. Returns false when the command must exit with VW_EXIT_USAGE. */
bool vw_cli_parse(GOptionContext *ctx, int *argc, char ***argv);

/* Prints findings (text or JSON) to @out. */
void vw_cli_print_diags(FILE *out, VwDiags *d, bool json);
