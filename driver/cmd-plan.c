/* SPDX-License-Identifier: GPL-2.0-or-later */
/* virtwire plan: what apply would do, as text; no root needed. */
#include <stdio.h>

#include "cli.h"

int vw_cmd_plan(int argc, char **argv, const VwEngineConfig *base)
{
	VwCliOptions o = { 0 };
	g_auto(GStrv) files = NULL;
	GOptionEntry entries[] = { VW_CLI_SCHEMA_ENTRIES(o),
				   { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &files, NULL, NULL },
				   { NULL } };
	g_autoptr(VwDiags) diags = vw_diags_new();
	g_autoptr(GPtrArray) docs = g_ptr_array_new_with_free_func((GDestroyNotify)vw_doc_free);
	g_autoptr(VwEngine) engine = NULL;
	g_autoptr(VwPlan) plan = NULL;
	g_autoptr(GError) err = NULL;
	g_autofree char *text = NULL;
	bool readable;

	if (!vw_cli_parse(entries, &argc, &argv))
		return VW_EXIT_USAGE;
	if (!files || !files[0])
		return vw_cli_usage_error("plan", "no FILE given");
	engine = vw_cli_engine(base, &o);
	readable = vw_engine_load(engine, files, !o.no_schema, docs, diags);
	vw_cli_options_clear(&o);
	if (!readable)
		return vw_cli_fail("plan", diags, NULL);
	plan = vw_engine_plan(engine, docs, diags, &err);
	if (!plan)
		return vw_cli_fail("plan", diags, err);
	/* Warnings are shown too, but only errors stop the plan. */
	vw_cli_print_diags(stderr, diags, false);
	text = vw_plan_format(plan);
	fputs(text, stdout);
	return VW_EXIT_OK;
}
