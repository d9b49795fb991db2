/* SPDX-License-Identifier: GPL-2.0-or-later */
/* virtwire apply and virtwire teardown. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <virtwire/engine.h>
#include <virtwire/state.h>
#include <virtwire/xml.h>

#include "cli.h"

#define LOCK_TIMEOUT_MS 60000

static void print_error(const char *cmd, const GError *err)
{
	fprintf(stderr, "virtwire %s: %s\n", cmd, err->message);
	if (strstr(err->message, "Operation not permitted"))
		fprintf(stderr, "  hint: virtwire %s changes the kernel's network configuration: run it as root\n", cmd);
}

int vw_cmd_apply(int argc, char **argv)
{
	VwLoadOptions lo = { 0 };
	g_autofree char *state_dir = NULL;
	g_auto(GStrv) files = NULL;
	gboolean verbose = FALSE;
	GOptionEntry entries[] = {
		VW_LOAD_OPTION_ENTRIES(lo),
		{ "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, "list every difference repaired", NULL },
		{ "state-dir", 0, 0, G_OPTION_ARG_FILENAME, &state_dir,
		  "where applied networks are recorded (default $VIRTWIRE_STATE_DIR or /run/virtwire)", "DIR" },
		{ G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &files, NULL, "FILE..." },
		{ NULL }
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new("FILE... - realise networks");
	g_autoptr(VwDiags) diags = vw_diags_new();
	g_autoptr(GPtrArray) docs = g_ptr_array_new_with_free_func((GDestroyNotify)vw_doc_free);
	g_autoptr(GPtrArray) networks = g_ptr_array_new();
	g_autoptr(GPtrArray) domains = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) texts = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) reports = g_ptr_array_new_with_free_func((GDestroyNotify)vw_apply_report_free);
	g_autoptr(GError) err = NULL;
	VwApplyRequest req = { 0 };
	int rc;

	g_option_context_add_main_entries(ctx, entries, NULL);
	g_option_context_set_description(
		ctx, "Checks the files as 'virtwire check' does, then makes the kernel match them in one\n"
		     "transaction. Applying the same files again changes nothing; a network already applied\n"
		     "is replaced atomically. Needs root.");
	if (!vw_cli_parse(ctx, &argc, &argv))
		return VW_EXIT_USAGE;
	if (!files || !files[0]) {
		fprintf(stderr, "virtwire apply: no FILE given\nusage: virtwire apply [--state-dir DIR] FILE...\n");
		return VW_EXIT_USAGE;
	}
	rc = vw_cli_load(files, &lo, diags, docs);
	g_free(lo.schema_dir);
	if (rc != VW_EXIT_OK || vw_diags_has_errors(diags)) {
		vw_cli_print_diags(stderr, diags, false);
		return rc != VW_EXIT_OK ? rc : VW_EXIT_FINDINGS;
	}
	vw_cli_collect(docs, networks, domains);
	for (guint i = 0; i < docs->len; i++) {
		const VwDoc *doc = docs->pdata[i];
		VwApplyItem *it;
		char *text = NULL;

		if (!doc->network)
			continue;
		if (!g_file_get_contents(doc->file, &text, NULL, NULL)) {
			fprintf(stderr, "virtwire apply: %s could not be read again\n", doc->file);
			return VW_EXIT_USAGE;
		}
		g_ptr_array_add(texts, text);
		it = g_new0(VwApplyItem, 1);
		it->network = doc->network;
		it->xml = text;
		it->source = doc->file;
		g_ptr_array_add(items, it);
	}
	if (!items->len) {
		fprintf(stderr, "virtwire apply: none of the files is a network (or hookData) document\n");
		return VW_EXIT_USAGE;
	}
	req.state_dir = vw_state_dir(state_dir);
	req.items = items;
	req.domains = domains;
	req.lock_timeout_ms = LOCK_TIMEOUT_MS;
	if (!vw_engine_apply(&req, reports, diags, &err)) {
		vw_cli_print_diags(stderr, diags, false);
		if (err) {
			print_error("apply", err);
			return VW_EXIT_USAGE;
		}
		return VW_EXIT_FINDINGS;
	}
	vw_cli_print_diags(stderr, diags, false);
	for (guint i = 0; i < reports->len; i++) {
		const VwApplyReport *r = reports->pdata[i];

		if (r->messages == 0 && r->sysctls == 0 && r->links == 0)
			printf("network '%s': up to date\n", r->name);
		else
			printf("network '%s': applied (%u link change%s, %u sysctl%s set, %u firewall difference%s "
			       "repaired in one transaction of %u message%s)\n",
			       r->name, r->links, r->links == 1 ? "" : "s", r->sysctls, r->sysctls == 1 ? "" : "s",
			       r->drift, r->drift == 1 ? "" : "s", r->messages, r->messages == 1 ? "" : "s");
		for (guint j = 0; verbose && r->changes && j < r->changes->len; j++)
			printf("  %s\n", (char *)r->changes->pdata[j]);
		/* One transaction serves all networks given: list it once. */
		verbose = verbose && FALSE;
	}
	return VW_EXIT_OK;
}

int vw_cmd_teardown(int argc, char **argv)
{
	g_autofree char *state_dir = NULL;
	g_auto(GStrv) names = NULL;
	g_auto(GStrv) from = NULL;
	GOptionEntry entries[] = {
		{ "state-dir", 0, 0, G_OPTION_ARG_FILENAME, &state_dir,
		  "where applied networks are recorded (default $VIRTWIRE_STATE_DIR or /run/virtwire)", "DIR" },
		{ "from", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &from,
		  "the network's XML, for a network whose state is missing or corrupt (repeatable)", "FILE" },
		{ G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_STRING_ARRAY, &names, NULL, "NAME..." },
		{ NULL }
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new("NAME... - remove what virtwire applied");
	g_autoptr(GPtrArray) reports = g_ptr_array_new_with_free_func((GDestroyNotify)vw_apply_report_free);
	g_autoptr(GPtrArray) docs = g_ptr_array_new_with_free_func((GDestroyNotify)vw_doc_free);
	g_autoptr(GPtrArray) nets = g_ptr_array_new();
	g_autoptr(GError) err = NULL;
	VwTeardownRequest req = { 0 };

	g_option_context_add_main_entries(ctx, entries, NULL);
	g_option_context_set_description(
		ctx, "Removes exactly the named networks' objects: their firewall elements and chains in one\n"
		     "transaction, then the links virtwire created (never the ones it found), then the sysctls\n"
		     "it changed. Other networks stay untouched; the table goes with the last network.\n"
		     "Without a usable state, --from FILE derives what to remove from the XML, and removes\n"
		     "only what the kernel shows to be virtwire's. Needs root.");
	if (!vw_cli_parse(ctx, &argc, &argv))
		return VW_EXIT_USAGE;
	if (!names || !names[0]) {
		fprintf(stderr, "virtwire teardown: no NAME given\nusage: virtwire teardown [--state-dir DIR] [--from FILE] "
				"NAME...\n");
		return VW_EXIT_USAGE;
	}
	for (char **f = from; f && *f; f++) {
		g_autoptr(VwDiags) d = vw_diags_new();
		VwDoc *doc = NULL;

		if (vw_doc_load_file(*f, NULL, d, &doc) != VW_LOAD_OK || !doc->network) {
			vw_cli_print_diags(stderr, d, false);
			fprintf(stderr, "virtwire teardown: --from %s is not a usable network XML\n", *f);
			vw_doc_free(doc);
			return VW_EXIT_USAGE;
		}
		g_ptr_array_add(docs, doc);
		g_ptr_array_add(nets, doc->network);
	}
	req.state_dir = vw_state_dir(state_dir);
	req.names = names;
	req.from = nets;
	req.lock_timeout_ms = LOCK_TIMEOUT_MS;
	if (!vw_engine_teardown(&req, reports, &err)) {
		print_error("teardown", err);
		if (g_error_matches(err, VW_ERROR, VW_ERROR_NOT_FOUND))
			fprintf(stderr, "  hint: 'virtwire status' lists the networks virtwire manages; nothing was "
					"changed\n");
		else if (strstr(err->message, "corrupt") || strstr(err->message, "missing beside"))
			fprintf(stderr, "  hint: give the network's XML with --from FILE to tear it down without the "
					"state; nothing was changed\n");
		return g_error_matches(err, VW_ERROR, VW_ERROR_NOT_FOUND) ? VW_EXIT_FINDINGS : VW_EXIT_USAGE;
	}
	for (guint i = 0; i < reports->len; i++) {
		const VwApplyReport *r = reports->pdata[i];

		printf("network '%s': torn down\n", r->name);
		for (guint j = 0; r->changes && j < r->changes->len; j++)
			printf("  %s\n", (char *)r->changes->pdata[j]);
	}
	return VW_EXIT_OK;
}
