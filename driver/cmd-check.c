/* SPDX-License-Identifier: GPL-2.0-or-later */
/* virtwire check: libvirt's schemas plus virtwire's semantic rules. */
#include <stdio.h>

#include "cli.h"

int vw_cmd_check(int argc, char **argv, const VwEngineConfig *base)
{
	VwCliOptions o = { 0 };
	g_autofree char *format = NULL;
	gboolean strict = FALSE;
	g_auto(GStrv) files = NULL;
	GOptionEntry entries[] = { VW_CLI_SCHEMA_ENTRIES(o),
				   { "format", 0, 0, G_OPTION_ARG_STRING, &format, "text (default) or json", "FORMAT" },
				   { "strict", 0, 0, G_OPTION_ARG_NONE, &strict, "fail on warnings too", NULL },
				   { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &files, NULL, NULL },
				   { NULL } };
	g_autoptr(VwDiags) diags = vw_diags_new();
	g_autoptr(GPtrArray) docs = g_ptr_array_new_with_free_func((GDestroyNotify)vw_doc_free);
	g_autoptr(VwEngine) engine = NULL;
	bool json, readable;
	guint errors, warnings, n;

	if (!vw_cli_parse(entries, &argc, &argv) || !vw_cli_parse_format("check", format, &json))
		return VW_EXIT_USAGE;
	if (!files || !files[0])
		return vw_cli_usage_error("check", "no FILE given");
	engine = vw_cli_engine(base, &o);
	readable = vw_engine_load(engine, files, !o.no_schema, docs, diags);
	vw_cli_options_clear(&o);
	vw_cli_print_diags(stdout, diags, json);
	errors = vw_diags_count(diags, VW_SEV_ERROR);
	warnings = vw_diags_count(diags, VW_SEV_WARNING);
	n = g_strv_length(files);
	if (!json)
		printf("%u file%s checked: %u error%s, %u warning%s\n", n, n == 1 ? "" : "s", errors,
		       errors == 1 ? "" : "s", warnings, warnings == 1 ? "" : "s");
	if (!readable)
		return VW_EXIT_USAGE;
	if (errors || (strict && warnings))
		return VW_EXIT_FINDINGS;
	return VW_EXIT_OK;
}
