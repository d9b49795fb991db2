/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The virtwire command line: one function per command. */
#pragma once

#include <glib.h>

#include <virtwire/diag.h>

/* Exit codes shared by the commands. */
enum {
	VW_EXIT_OK = 0,
	VW_EXIT_FINDINGS = 1, /* errors in the input, or drift */
	VW_EXIT_USAGE = 2,    /* bad usage, unreadable or malformed input, could not check */
};

typedef int (*VwCommandFn)(int argc, char **argv);

int vw_cmd_check(int argc, char **argv);

/* Parses options with GOption; prints the error and the usage line on
 * failure. Returns false when the command must exit with VW_EXIT_USAGE. */
bool vw_cli_parse(GOptionContext *ctx, int *argc, char ***argv);

/* Prints findings (text or JSON) to @out. */
void vw_cli_print_diags(FILE *out, VwDiags *d, bool json);
