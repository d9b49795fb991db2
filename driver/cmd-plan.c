/* SPDX-License-Identifier: GPL-2.0-or-later */
/* virtwire plan: what apply would do, as text or JSON; no root needed. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

int vw_cmd_plan(int argc, char **argv, const VwEngineConfig *base)
{
	VwCliOptions o = { 0 };
	g_auto(GStrv) files = NULL;
	g_autofree char *format = NULL;
	gboolean nft_only = FALSE;
	GOptionEntry entries[] = {
		VW_CLI_SCHEMA_ENTRIES(o),
		{ "format", 0, 0, G_OPTION_ARG_STRING, &format, "text (default) or json", "FORMAT" },
		{ "nft", 0, 0, G_OPTION_ARG_NONE, &nft_only,
		  "print only virtwire's tables, as nft -f loads them (nothing else on standard output)", NULL },
		{ G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &files, NULL, NULL },
		{ NULL }
	};
	g_autoptr(VwDiags) diags = vw_diags_new();
	g_autoptr(GPtrArray) docs = g_ptr_array_new_with_free_func((GDestroyNotify)vw_doc_free);
	g_autoptr(VwEngine) engine = NULL;
	g_autoptr(VwPlan) plan = NULL;
	g_autoptr(GError) err = NULL;
	g_autofree char *text = NULL;
	bool readable, json;

	if (!vw_cli_parse(entries, &argc, &argv) || !vw_cli_parse_format("plan", format, &json))
		return VW_EXIT_USAGE;
	if (json && nft_only)
		return vw_cli_usage_error("plan", "--nft and --format json are two different outputs; give one");
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
	text = nft_only ? vw_plan_format_table(plan) : json ? vw_plan_format_json(plan) : vw_plan_format(plan);
	fputs(text, stdout);
	return VW_EXIT_OK;
}
