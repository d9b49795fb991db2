/* SPDX-License-Identifier: GPL-2.0-or-later */
/* virtwire apply and virtwire teardown. */
#include <stdio.h>
#include <syslog.h>

#include "cli.h"

/* The command's records go to the journal (syslog without one), and with
 * -v on stderr too: what changed, and the command's outcome. */
static void log_start(const char *cmd, bool verbose)
{
	vw_log_open(VW_LOG_SYSTEM | (verbose ? VW_LOG_STDERR : 0));
	vw_log_set_operation(cmd);
}

/* The summary of command @cmd on @names (NULL-terminated), @err when it
 * failed. */
static void log_end(const char *cmd, const char *const *names, const GError *err, gint64 started)
{
	g_autofree char *list = g_strjoinv("', '", (char **)names);

	if (err)
		vw_log_call("failed", started, "%s of '%s' failed: %s", cmd, list, err->message);
	else
		vw_log_call("ok", started, "%s of '%s': done", cmd, list);
	vw_log_close();
}

/* apply's findings (port-in-use, host firewalls that will drop, …) into
 * the log as well as on stderr: as the hooks', at warning or error level,
 * "FILE:LINE: message (hint)". */
static void log_findings(const VwDiags *d)
{
	for (guint i = 0; i < d->items->len; i++) {
		const VwDiag *x = d->items->pdata[i];
		g_autofree char *msg = NULL;
		g_autofree char *at = NULL;
		VwLogRecord r = { x->severity == VW_SEV_ERROR ? LOG_ERR : LOG_WARNING, .code = x->code,
				  .line = x->loc.line, .duration_ms = -1 };

		if (x->severity == VW_SEV_NOTE)
			continue;
		at = !x->loc.file  ? g_strdup("")
		     : x->loc.line ? g_strdup_printf("%s:%d: ", x->loc.file, x->loc.line)
				   : g_strdup_printf("%s: ", x->loc.file);
		msg = g_strdup_printf("%s%s%s%s%s", at, x->message, x->hint ? " (" : "", x->hint ? x->hint : "",
				      x->hint ? ")" : "");
		r.message = msg;
		vw_log_record(&r);
	}
}

/* The networks of @docs as apply items, with their text as read. */
static bool apply_items(GPtrArray *docs, GPtrArray *items, GPtrArray *texts)
{
	for (guint i = 0; i < docs->len; i++) {
		const VwDoc *doc = docs->pdata[i];
		VwApplyItem *it;
		char *text = NULL;

		if (!doc->network)
			continue;
		if (!g_file_get_contents(doc->file, &text, NULL, NULL)) {
			fprintf(stderr, "virtwire apply: %s could not be read again\n", doc->file);
			return false;
		}
		g_ptr_array_add(texts, text);
		it = g_new0(VwApplyItem, 1);
		it->network = doc->network;
		it->xml = text;
		it->xml_handed = true; /* once apply runs: see vw_cmd_apply */
		it->source = doc->file;
		g_ptr_array_add(items, it);
	}
	if (!items->len)
		fprintf(stderr, "virtwire apply: none of the files is a network (or hookData) document\n");
	return items->len > 0;
}

/* The names of the networks of @items, NULL-terminated in @names. */
static const char *const *apply_names(GPtrArray *items, GPtrArray *names)
{
	for (guint i = 0; i < items->len; i++)
		g_ptr_array_add(names, (gpointer)((VwApplyItem *)items->pdata[i])->network->name);
	g_ptr_array_add(names, NULL);
	return (const char *const *)names->pdata;
}

static void print_reports(GPtrArray *reports, bool verbose)
{
	for (guint i = 0; i < reports->len; i++) {
		const VwApplyReport *r = reports->pdata[i];

		if (r->messages == 0 && r->sysctls == 0 && r->links == 0)
			printf("network '%s': up to date\n", r->name);
		else
			printf("network '%s': applied (%u link change%s, %u sysctl%s set, %u firewall difference%s "
			       "repaired in one transaction of %u message%s)\n",
			       r->name, r->links, r->links == 1 ? "" : "s", r->sysctls, r->sysctls == 1 ? "" : "s",
			       r->drift, r->drift == 1 ? "" : "s", r->messages, r->messages == 1 ? "" : "s");
		/* One transaction serves all networks given: list it once. */
		for (guint j = 0; verbose && i == 0 && r->changes && j < r->changes->len; j++)
			printf("  %s\n", (char *)r->changes->pdata[j]);
	}
}

/* A re-apply that finds nothing to change: every file is a network applied
 * from that file with exactly these bytes, nothing of it has moved since
 * (vw_engine_unchanged_file). Nothing is parsed, planned or sent. Its
 * names into @names; false: take the full path. */
static bool all_unchanged(VwEngine *engine, char **files, GPtrArray *names)
{
	for (guint i = 0; files[i]; i++) {
		g_autofree char *text = NULL;
		gsize len = 0;
		char *name;

		if (!g_file_get_contents(files[i], &text, &len, NULL) ||
		    !(name = vw_engine_unchanged_file(engine, files[i], text, len)))
			return false;
		g_ptr_array_add(names, name);
	}
	return names->len > 0;
}

/* An edit of one file's network that changed only forwards of its own
 * (vw_engine_edit): its report into @reports; false: take the full path. */
static bool edited(VwEngine *engine, const char *file, bool schema, GPtrArray *reports)
{
	g_autofree char *text = NULL;
	VwEditRequest rq = { NULL, file, file, false, schema };
	VwApplyReport *rep;

	if (!g_file_get_contents(file, &text, &rq.len, NULL))
		return false;
	rq.xml = text;
	if (!(rep = vw_engine_edit(engine, &rq)))
		return false;
	g_ptr_array_add(reports, rep);
	return true;
}

int vw_cmd_apply(int argc, char **argv, const VwEngineConfig *base)
{
	VwCliOptions o = { 0 };
	g_auto(GStrv) files = NULL;
	gboolean verbose = FALSE, adopt = FALSE;
	GOptionEntry entries[] = { VW_CLI_SCHEMA_ENTRIES(o),
				   VW_CLI_STATE_ENTRY(o),
				   { "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose,
				     "list every difference repaired, and show the log's records on stderr", NULL },
				   { "adopt", 0, 0, G_OPTION_ARG_NONE, &adopt,
				     "take over a network whose record is missing or damaged, as the kernel shows it",
				     NULL },
				   { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &files, NULL, NULL },
				   { NULL } };
	g_autoptr(VwDiags) diags = vw_diags_new();
	g_autoptr(GPtrArray) docs = g_ptr_array_new_with_free_func((GDestroyNotify)vw_doc_free);
	g_autoptr(GPtrArray) domains = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) texts = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) reports = g_ptr_array_new_with_free_func((GDestroyNotify)vw_apply_report_free);
	g_autoptr(VwEngine) engine = NULL;
	g_autoptr(GError) err = NULL;
	VwApplyRequest req = { .items = items, .domains = domains, .links = VW_LINKS_APPLY, .checked = true };
	g_autoptr(GPtrArray) names = g_ptr_array_new();
	gint64 started;
	bool readable, ok;

	if (!vw_cli_parse(entries, &argc, &argv))
		return VW_EXIT_USAGE;
	if (!files || !files[0])
		return vw_cli_usage_error("apply", "no FILE given");
	engine = vw_cli_engine(base, &o);
	if (!adopt) {
		g_autoptr(GPtrArray) same = g_ptr_array_new_with_free_func(g_free);

		started = g_get_monotonic_time();
		if (all_unchanged(engine, files, same)) {
			vw_cli_options_clear(&o);
			log_start("apply", verbose);
			for (guint i = 0; i < same->len; i++)
				printf("network '%s': up to date\n", (char *)same->pdata[i]);
			g_ptr_array_add(same, NULL);
			log_end("apply", (const char *const *)same->pdata, NULL, started);
			return VW_EXIT_OK;
		}
		/* Open before: an edit logs what it changed. */
		log_start("apply", verbose);
		if (!files[1] && edited(engine, files[0], !o.no_schema, reports)) {
			const char *name[] = { ((VwApplyReport *)reports->pdata[0])->name, NULL };

			vw_cli_options_clear(&o);
			log_end("apply", name, NULL, started);
			print_reports(reports, verbose);
			return VW_EXIT_OK;
		}
	}
	readable = vw_engine_load(engine, files, !o.no_schema, docs, diags);
	vw_cli_options_clear(&o);
	if (!readable || vw_diags_has_errors(diags)) {
		vw_cli_print_diags(stderr, diags, false);
		return readable ? VW_EXIT_FINDINGS : VW_EXIT_USAGE;
	}
	vw_engine_collect(docs, NULL, domains);
	if (!apply_items(docs, items, texts))
		return VW_EXIT_USAGE;
	req.adopt = adopt;
	started = g_get_monotonic_time();
	log_start("apply", verbose);
	/* The texts are the engine's now: it lets go of each once recorded. */
	g_ptr_array_set_free_func(texts, NULL);
	ok = vw_engine_apply(engine, &req, reports, diags, &err);
	log_findings(diags);
	log_end("apply", apply_names(items, names), err, started);
	if (!ok)
		return vw_cli_fail("apply", diags, err);
	vw_cli_print_diags(stderr, diags, false);
	print_reports(reports, verbose);
	return VW_EXIT_OK;
}

/* The networks of the --from files. */
static bool load_from(char **from, GPtrArray *docs, GPtrArray *nets)
{
	for (char **f = from; f && *f; f++) {
		g_autoptr(VwDiags) d = vw_diags_new();
		VwDoc *doc = NULL;

		if (vw_doc_load_file(*f, NULL, d, &doc) != VW_LOAD_OK || !doc->network) {
			vw_cli_print_diags(stderr, d, false);
			fprintf(stderr, "virtwire teardown: --from %s is not a usable network XML\n", *f);
			vw_doc_free(doc);
			return false;
		}
		g_ptr_array_add(docs, doc);
		g_ptr_array_add(nets, doc->network);
	}
	return true;
}

int vw_cmd_teardown(int argc, char **argv, const VwEngineConfig *base)
{
	VwCliOptions o = { 0 };
	g_auto(GStrv) names = NULL;
	g_auto(GStrv) from = NULL;
	gboolean force = FALSE, verbose = FALSE;
	GOptionEntry entries[] = {
		VW_CLI_STATE_ENTRY(o),
		{ "from", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &from,
		  "the network's XML, for a network whose record is missing or damaged (repeatable)", "FILE" },
		{ "force", 0, 0, G_OPTION_ARG_NONE, &force,
		  "tear down also a network libvirt runs in mode 'open' (it is left without a firewall)", NULL },
		{ "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, "show the log's records (every change) on stderr",
		  NULL },
		{ G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_STRING_ARRAY, &names, NULL, NULL },
		{ NULL }
	};
	g_autoptr(GPtrArray) open = NULL;
	g_autoptr(GPtrArray) reports = g_ptr_array_new_with_free_func((GDestroyNotify)vw_apply_report_free);
	g_autoptr(GPtrArray) docs = g_ptr_array_new_with_free_func((GDestroyNotify)vw_doc_free);
	g_autoptr(GPtrArray) nets = g_ptr_array_new();
	g_autoptr(VwEngine) engine = NULL;
	g_autoptr(GError) err = NULL;
	VwTeardownRequest req = { 0 };
	gint64 started;
	bool ok;

	if (!vw_cli_parse(entries, &argc, &argv))
		return VW_EXIT_USAGE;
	if (!names || !names[0])
		return vw_cli_usage_error("teardown", "no NAME given");
	if (!load_from(from, docs, nets))
		return VW_EXIT_USAGE;
	engine = vw_cli_engine(base, &o);
	vw_cli_options_clear(&o);
	open = vw_engine_open_networks(engine);
	if (!vw_cli_refuse_open("teardown", open, names, force))
		return VW_EXIT_FINDINGS;
	req.names = names;
	req.from = nets;
	started = g_get_monotonic_time();
	log_start("teardown", verbose);
	ok = vw_engine_teardown(engine, &req, reports, &err);
	log_end("teardown", (const char *const *)names, err, started);
	if (!ok)
		return vw_cli_fail("teardown", NULL, err);
	for (guint i = 0; i < reports->len; i++) {
		const VwApplyReport *r = reports->pdata[i];

		printf("network '%s': torn down\n", r->name);
		for (guint j = 0; r->changes && j < r->changes->len; j++)
			printf("  %s\n", (char *)r->changes->pdata[j]);
	}
	return VW_EXIT_OK;
}
