/* SPDX-License-Identifier: GPL-2.0-or-later */
/* virtwire check: libvirt's schemas plus virtwire's semantic rules. */
#include <stdio.h>
#include <string.h>

#include <virtwire/check.h>
#include <virtwire/xml.h>

#include "cli.h"

int vw_cmd_check(int argc, char **argv)
{
	VwLoadOptions lo = { 0 };
	g_autofree char *format = NULL;
	gboolean strict = FALSE;
	g_auto(GStrv) files = NULL;
	GOptionEntry entries[] = {
		VW_LOAD_OPTION_ENTRIES(lo),
		{ "format", 0, 0, G_OPTION_ARG_STRING, &format, "text (default) or json", "FORMAT" },
		{ "strict", 0, 0, G_OPTION_ARG_NONE, &strict, "fail on warnings too", NULL },
		{ G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &files, NULL, "FILE..." },
		{ NULL }
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new("FILE... - validate libvirt XML");
	g_autoptr(VwDiags) diags = vw_diags_new();
	g_autoptr(GPtrArray) docs = g_ptr_array_new_with_free_func((GDestroyNotify)vw_doc_free);
	bool json;
	int rc;
	guint errors, warnings;

	g_option_context_add_main_entries(ctx, entries, NULL);
	g_option_context_set_description(
		ctx, "Checks any mix of network, domain, networkport and hookData files, each on its own\n"
		     "and all together (forward collisions, overlapping subnets, domain forward policies).\n"
		     "Exit status: 0 clean (warnings allowed unless --strict), 1 errors, 2 usage or\n"
		     "unreadable/malformed file.");
	if (!vw_cli_parse(ctx, &argc, &argv))
		return VW_EXIT_USAGE;
	if (format && strcmp(format, "text") != 0 && strcmp(format, "json") != 0) {
		fprintf(stderr, "virtwire check: --format must be 'text' or 'json', not '%s'\n", format);
		return VW_EXIT_USAGE;
	}
	json = format && strcmp(format, "json") == 0;
	if (!files || !files[0]) {
		fprintf(stderr, "virtwire check: no FILE given\nusage: virtwire check [--schema-dir DIR] "
				"[--format text|json] [--strict] FILE...\n");
		return VW_EXIT_USAGE;
	}
	rc = vw_cli_load(files, &lo, diags, docs);
	g_free(lo.schema_dir);
	vw_cli_print_diags(stdout, diags, json);
	errors = vw_diags_count(diags, VW_SEV_ERROR);
	warnings = vw_diags_count(diags, VW_SEV_WARNING);
	if (!json)
		printf("%u file%s checked: %u error%s, %u warning%s\n", g_strv_length(files),
		       g_strv_length(files) == 1 ? "" : "s", errors, errors == 1 ? "" : "s", warnings,
		       warnings == 1 ? "" : "s");
	if (rc != VW_EXIT_OK)
		return rc;
	if (vw_diags_has_errors(diags) || (strict && warnings))
		return VW_EXIT_FINDINGS;
	return VW_EXIT_OK;
}
