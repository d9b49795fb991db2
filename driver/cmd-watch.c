/* SPDX-License-Identifier: GPL-2.0-or-later */
/* virtwire watch: restores the recorded networks as others change the
 * ruleset, and follows guests' ports and addresses (docs/restore-watch.md).
 * Runs until SIGTERM or SIGINT; what it does goes to stderr, one line each
 * (the journal, under systemd). */
#include <glib-unix.h>
#include <signal.h>
#include <stdio.h>

#include "cli.h"

static void log_line(const char *line, void *data)
{
	fprintf(stderr, "virtwire watch: %s\n", line);
	fflush(stderr);
}

static gboolean on_signal(gpointer data)
{
	vw_watch_stop(data);
	return G_SOURCE_CONTINUE;
}

int vw_cmd_watch(int argc, char **argv, const VwEngineConfig *base)
{
	VwCliOptions o = { 0 };
	gint quiet = 0, max = 0;
	gboolean verbose = FALSE;
	GOptionEntry entries[] = {
		VW_CLI_STATE_ENTRY(o),
		{ "quiet-ms", 0, 0, G_OPTION_ARG_INT, &quiet,
		  "a burst of events is over after this long without one (default 50)", "MS" },
		{ "max-ms", 0, 0, G_OPTION_ARG_INT, &max,
		  "a restore waits no longer than this after the first event of a burst (default 300)", "MS" },
		{ "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose,
		  "a line also for each restore that found nothing missing", NULL },
		{ NULL }
	};
	g_autoptr(VwEngine) engine = NULL;
	g_autoptr(VwWatch) w = NULL;
	g_autoptr(GError) err = NULL;
	VwWatchOptions opt = { .log = log_line };
	guint sig[2];
	guint64 events, restores;
	bool ok;

	if (!vw_cli_parse(entries, &argc, &argv))
		return VW_EXIT_USAGE;
	if (quiet < 0 || max < 0 || quiet > 10000 || max > 60000)
		return vw_cli_usage_error("watch", "--quiet-ms takes 0-10000, --max-ms 0-60000");
	opt.quiet_ms = (guint)quiet;
	opt.max_ms = (guint)max;
	opt.verbose = verbose;
	engine = vw_cli_engine(base, &o);
	vw_cli_options_clear(&o);
	if (!(w = vw_watch_new(engine, &opt, &err)))
		return vw_cli_fail("watch", NULL, err);
	sig[0] = g_unix_signal_add(SIGTERM, on_signal, w);
	sig[1] = g_unix_signal_add(SIGINT, on_signal, w);
	ok = vw_watch_run(w, &err);
	g_source_remove(sig[0]);
	g_source_remove(sig[1]);
	vw_watch_stats(w, &events, &restores);
	fprintf(stderr,
		"virtwire watch: stopped after %" G_GUINT64_FORMAT " events and %" G_GUINT64_FORMAT " restores\n",
		events, restores);
	return ok ? VW_EXIT_OK : vw_cli_fail("watch", NULL, err);
}
