/* SPDX-License-Identifier: GPL-2.0-or-later */
/* virtwire verify and virtwire status: the kernel read back. */
#include <stdio.h>
#include <string.h>

#include <virtwire/check.h>
#include <virtwire/engine.h>
#include <virtwire/state.h>
#include <virtwire/xml.h>

#include "cli.h"

static bool parse_format(const char *cmd, const char *format, bool *json)
{
	*json = format && strcmp(format, "json") == 0;
	if (format && !*json && strcmp(format, "text") != 0) {
		fprintf(stderr, "virtwire %s: --format must be 'text' or 'json', not '%s'\n", cmd, format);
		return false;
	}
	return true;
}

int vw_cmd_verify(int argc, char **argv)
{
	g_autofree char *state_dir = NULL;
	g_autofree char *format = NULL;
	g_auto(GStrv) names = NULL;
	g_auto(GStrv) xml = NULL;
	gboolean all = FALSE;
	GOptionEntry entries[] = {
		{ "state-dir", 0, 0, G_OPTION_ARG_FILENAME, &state_dir,
		  "where applied networks are recorded (default $VIRTWIRE_STATE_DIR or /run/virtwire)", "DIR" },
		{ "format", 0, 0, G_OPTION_ARG_STRING, &format, "text (default) or json", "FORMAT" },
		{ "all", 0, 0, G_OPTION_ARG_NONE, &all, "every network virtwire has applied", NULL },
		{ "xml", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &xml, "a network's XML (repeatable), applied or not",
		  "FILE" },
		{ G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_STRING_ARRAY, &names, NULL, "NAME..." },
		{ NULL }
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new("(NAME... | --all | --xml FILE...) - compare the kernel with the XML");
	g_autoptr(GPtrArray) results = g_ptr_array_new_with_free_func((GDestroyNotify)vw_verify_result_free);
	g_autoptr(GPtrArray) docs = g_ptr_array_new_with_free_func((GDestroyNotify)vw_doc_free);
	g_autoptr(GPtrArray) nets = NULL;
	g_autoptr(GError) err = NULL;
	VwVerifyRequest req = { 0 };
	guint total = 0, broken = 0;
	bool json;
	int given;

	g_option_context_add_main_entries(ctx, entries, NULL);
	g_option_context_set_description(
		ctx, "Reads the kernel back (links, addresses, bridge ports, sysctls, table inet virtwire) and\n"
		     "compares it with what 'virtwire apply' would make of the network, the parts libvirt\n"
		     "created included. One line per difference. Exit status: 0 the kernel matches, 1 drift,\n"
		     "2 could not check.");
	if (!vw_cli_parse(ctx, &argc, &argv) || !parse_format("verify", format, &json))
		return VW_EXIT_USAGE;
	given = (names && names[0]) + (all ? 1 : 0) + (xml && xml[0]);
	if (given != 1) {
		fprintf(stderr, "virtwire verify: give network NAMEs, --all, or --xml FILE... (one of them)\n");
		return VW_EXIT_USAGE;
	}
	if (xml) {
		g_autoptr(VwDiags) d = vw_diags_new();
		VwLoadOptions lo = { .no_schema = TRUE };

		if (vw_cli_load(xml, &lo, d, docs) != VW_EXIT_OK || vw_diags_has_errors(d)) {
			vw_cli_print_diags(stderr, d, false);
			return VW_EXIT_USAGE;
		}
		nets = g_ptr_array_new();
		vw_cli_collect(docs, nets, NULL);
	}
	req.state_dir = vw_state_dir(state_dir);
	req.names = names;
	req.all = all;
	req.networks = nets;
	if (!vw_engine_verify(&req, results, &err)) {
		fprintf(stderr, "virtwire verify: %s\n", err->message);
		return VW_EXIT_USAGE;
	}
	if (json) {
		GString *out = g_string_new("{\"networks\":[");

		for (guint i = 0; i < results->len; i++) {
			const VwVerifyResult *r = results->pdata[i];

			g_string_append(out, i ? ",\n  {\"name\":" : "\n  {\"name\":");
			vw_json_append_string(out, r->name);
			g_string_append_printf(out, ",\"matches\":%s,\"error\":", !r->error && !r->drift->len ? "true" : "false");
			if (r->error)
				vw_json_append_string(out, r->error);
			else
				g_string_append(out, "null");
			g_string_append(out, ",\"drift\":[");
			for (guint j = 0; j < r->drift->len; j++) {
				const VwDrift *d = r->drift->pdata[j];

				g_string_append(out, j ? ",{\"object\":" : "{\"object\":");
				vw_json_append_string(out, d->object);
				g_string_append(out, ",\"what\":");
				vw_json_append_string(out, d->what);
				g_string_append_c(out, '}');
			}
			g_string_append(out, "]}");
			total += r->drift->len;
			broken += r->error != NULL;
		}
		g_string_append_printf(out, "\n],\"drift\":%u,\"unchecked\":%u}\n", total, broken);
		fputs(out->str, stdout);
		g_string_free(out, TRUE);
	} else {
		for (guint i = 0; i < results->len; i++) {
			const VwVerifyResult *r = results->pdata[i];

			for (guint j = 0; j < r->drift->len; j++) {
				const VwDrift *d = r->drift->pdata[j];

				printf("drift: %s: %s\n", d->object, d->what);
			}
			if (r->error)
				printf("network '%s': could not check: %s\n", r->name, r->error);
			else if (r->drift->len)
				printf("network '%s': %u difference%s from its XML\n", r->name, r->drift->len,
				       r->drift->len == 1 ? "" : "s");
			else
				printf("network '%s': the kernel matches its XML\n", r->name);
			total += r->drift->len;
			broken += r->error != NULL;
		}
		if (!results->len)
			printf("no network to verify (none is recorded in %s)\n", req.state_dir);
	}
	if (broken)
		return VW_EXIT_USAGE;
	return total ? VW_EXIT_FINDINGS : VW_EXIT_OK;
}
