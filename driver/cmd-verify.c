/* SPDX-License-Identifier: GPL-2.0-or-later */
/* virtwire verify: the kernel read back and compared with the XML. */
#include <stdio.h>

#include "cli.h"

static void print_json(GPtrArray *results)
{
	g_autoptr(VwJson) j = vw_json_document("verify");
	g_autofree char *out = NULL;
	guint total = 0, broken = 0;

	vw_json_begin_array(j, "networks");
	for (guint i = 0; i < results->len; i++) {
		const VwVerifyResult *r = results->pdata[i];

		vw_json_begin_object(j, NULL);
		vw_json_string(j, "name", r->name);
		vw_json_bool(j, "matches", !r->error && !r->drift->len);
		vw_json_string(j, "error", r->error ? r->error->message : NULL);
		vw_json_begin_array(j, "drift");
		for (guint k = 0; k < r->drift->len; k++) {
			const VwDrift *d = r->drift->pdata[k];

			vw_json_begin_object(j, NULL);
			vw_json_string(j, "object", d->object);
			vw_json_string(j, "what", d->what);
			vw_json_end_object(j);
		}
		vw_json_end_array(j);
		vw_json_end_object(j);
		total += r->drift->len;
		broken += r->error != NULL;
	}
	vw_json_end_array(j);
	vw_json_uint(j, "drift", total);
	vw_json_uint(j, "unchecked", broken);
	out = vw_json_finish(g_steal_pointer(&j));
	fputs(out, stdout);
}

static void print_text(GPtrArray *results, const char *dir)
{
	for (guint i = 0; i < results->len; i++) {
		const VwVerifyResult *r = results->pdata[i];

		for (guint j = 0; j < r->drift->len; j++) {
			const VwDrift *d = r->drift->pdata[j];

			printf("drift: %s: %s\n", d->object, d->what);
		}
		if (r->error)
			printf("network '%s': could not check: %s\n", r->name, r->error->message);
		else if (r->drift->len)
			printf("network '%s': %u difference%s from its XML\n", r->name, r->drift->len,
			       r->drift->len == 1 ? "" : "s");
		else
			printf("network '%s': the kernel matches its XML\n", r->name);
	}
	if (!results->len)
		printf("no network to verify (none is recorded in %s)\n", dir);
}

/* The networks of --xml FILE...; false when one does not load. */
static bool load_xml(VwEngine *engine, char **xml, GPtrArray *docs, GPtrArray *nets)
{
	g_autoptr(VwDiags) d = vw_diags_new();

	if (!vw_engine_load(engine, xml, false, docs, d) || vw_diags_has_errors(d)) {
		vw_cli_print_diags(stderr, d, false);
		return false;
	}
	vw_engine_collect(docs, nets, NULL);
	return true;
}

int vw_cmd_verify(int argc, char **argv, const VwEngineConfig *base)
{
	VwCliOptions o = { 0 };
	g_autofree char *format = NULL;
	g_auto(GStrv) names = NULL;
	g_auto(GStrv) xml = NULL;
	gboolean all = FALSE;
	GOptionEntry entries[] = { VW_CLI_STATE_ENTRY(o),
				   { "format", 0, 0, G_OPTION_ARG_STRING, &format, "text (default) or json", "FORMAT" },
				   { "all", 0, 0, G_OPTION_ARG_NONE, &all, "every network virtwire has applied", NULL },
				   { "xml", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &xml,
				     "a network's XML (repeatable), applied or not", "FILE" },
				   { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_STRING_ARRAY, &names, NULL, NULL },
				   { NULL } };
	g_autoptr(GPtrArray) results = g_ptr_array_new_with_free_func((GDestroyNotify)vw_verify_result_free);
	g_autoptr(GPtrArray) docs = g_ptr_array_new_with_free_func((GDestroyNotify)vw_doc_free);
	g_autoptr(GPtrArray) nets = g_ptr_array_new();
	g_autoptr(VwEngine) engine = NULL;
	g_autoptr(GError) err = NULL;
	VwVerifyRequest req = { 0 };
	guint total = 0, broken = 0;
	bool json;

	if (!vw_cli_parse(entries, &argc, &argv) || !vw_cli_parse_format("verify", format, &json))
		return VW_EXIT_USAGE;
	if ((names && names[0]) + (all ? 1 : 0) + (xml && xml[0]) != 1)
		return vw_cli_usage_error("verify", "give network NAMEs, --all, or --xml FILE... (one of them)");
	engine = vw_cli_engine(base, &o);
	vw_cli_options_clear(&o);
	if (xml && !load_xml(engine, xml, docs, nets))
		return VW_EXIT_USAGE;
	req = (VwVerifyRequest){ names, all, xml ? nets : NULL };
	if (!vw_engine_verify(engine, &req, results, &err))
		return vw_cli_fail("verify", NULL, err);
	if (json)
		print_json(results);
	else
		print_text(results, vw_engine_state_dir(engine));
	for (guint i = 0; i < results->len; i++) {
		const VwVerifyResult *r = results->pdata[i];

		total += r->drift->len;
		broken += r->error != NULL;
	}
	if (broken)
		return VW_EXIT_USAGE;
	return total ? VW_EXIT_FINDINGS : VW_EXIT_OK;
}
