/* SPDX-License-Identifier: GPL-2.0-or-later */
/* virtwire restore: the recorded networks put back after another firewall
 * flushed or reloaded the ruleset. */
#include <stdio.h>

#include "cli.h"

static void print_json(const VwRestoreReport *rep)
{
	g_autoptr(VwJson) j = vw_json_document("restore");
	g_autofree char *out = NULL;

	vw_json_uint(j, "networks", rep->networks);
	vw_json_uint(j, "drift", rep->drift);
	vw_json_uint(j, "messages", rep->messages);
	vw_json_bool(j, "unread", rep->unread);
	vw_json_begin_array(j, "changes");
	for (guint i = 0; i < rep->changes->len; i++)
		vw_json_string(j, NULL, rep->changes->pdata[i]);
	vw_json_end_array(j);
	out = vw_json_finish(g_steal_pointer(&j));
	fputs(out, stdout);
}

static void print_text(const VwRestoreReport *rep, const char *dir)
{
	if (!rep->networks) {
		printf("no network is recorded in %s: nothing to restore\n", dir);
		return;
	}
	for (guint i = 0; i < rep->changes->len; i++)
		printf("restored: %s\n", (char *)rep->changes->pdata[i]);
	if (rep->unread)
		printf("%u network%s: nothing was missing (the ruleset has not changed since virtwire made it so; "
		       "nothing was read or sent)\n",
		       rep->networks, rep->networks == 1 ? "" : "s");
	else if (!rep->messages)
		printf("%u network%s: nothing was missing (nothing was sent)\n", rep->networks,
		       rep->networks == 1 ? "" : "s");
	else
		printf("%u network%s: %u difference%s repaired in one transaction of %u messages\n", rep->networks,
		       rep->networks == 1 ? "" : "s", rep->drift, rep->drift == 1 ? "" : "s", rep->messages);
}

int vw_cmd_restore(int argc, char **argv, const VwEngineConfig *base)
{
	VwCliOptions o = { 0 };
	g_autofree char *format = NULL;
	gboolean verbose = FALSE;
	GOptionEntry entries[] = { VW_CLI_STATE_ENTRY(o),
				   { "format", 0, 0, G_OPTION_ARG_STRING, &format, "text (default) or json", "FORMAT" },
				   { "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose,
				     "show the log's records (every change) on stderr", NULL },
				   { NULL } };
	g_autoptr(VwEngine) engine = NULL;
	g_autoptr(VwRestoreReport) rep = vw_restore_report_new();
	g_autoptr(GError) err = NULL;
	gint64 started = g_get_monotonic_time();
	bool json, ok;

	if (!vw_cli_parse(entries, &argc, &argv) || !vw_cli_parse_format("restore", format, &json))
		return VW_EXIT_USAGE;
	engine = vw_cli_engine(base, &o);
	vw_cli_options_clear(&o);
	/* Into the journal as what it is: a change of the host's firewall. */
	vw_log_open(VW_LOG_SYSTEM | (verbose ? VW_LOG_STDERR : 0));
	vw_log_set_operation("restore");
	ok = vw_engine_restore(engine, rep, &err);
	if (!ok)
		vw_log_call("failed", started, "restore failed: %s", err->message);
	else if (rep->messages)
		vw_log_call("ok", started, "restore: %u network%s, %u difference%s repaired", rep->networks,
			    rep->networks == 1 ? "" : "s", rep->drift, rep->drift == 1 ? "" : "s");
	else
		vw_log_call("ok", started, "restore: %u network%s, nothing was missing", rep->networks,
			    rep->networks == 1 ? "" : "s");
	vw_log_close();
	if (!ok)
		return vw_cli_fail("restore", rep->diags, err);
	vw_cli_print_diags(stderr, rep->diags, false);
	if (json)
		print_json(rep);
	else
		print_text(rep, vw_engine_state_dir(engine));
	return VW_EXIT_OK;
}
