/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The test build of the CLI: the same commands as the production binary,
 * with the test switches it never has, from its environment:
 *
 *   VIRTWIRE_FAULT=link:N   the Nth link change fails with a kernel error
 *   VIRTWIRE_FAULT=nft:N    the batch carries, after its Nth message, one
 *                           the kernel refuses
 *   VIRTWIRE_FAULT=store:N  the Nth record written fails as on a full disk
 *   VIRTWIRE_DEBUG=timing   the time each stage of an apply took, on stderr
 *   VIRTWIRE_PAUSE=STAGE:FILE  at stage STAGE (vw_eng_stage), creates FILE
 *                           and waits until it is removed (20 s at most):
 *                           a test does something in between
 *   VIRTWIRE_CONFIG=FILE    virtwire.conf in place of /etc/virtwire/virtwire.conf
 *
 * Several faults: comma-separated. Never installed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

typedef struct {
	gint64 last;	  /* the previous stage's time, with timing */
	bool timing;	  /* VIRTWIRE_DEBUG=timing */
	char *pause_at;	  /* VIRTWIRE_PAUSE's stage, or NULL */
	char *pause_file; /* … and its file */
} Debug;

static void pause_here(const Debug *d)
{
	FILE *f = fopen(d->pause_file, "w");

	if (!f) {
		fprintf(stderr, "virtwire-test: VIRTWIRE_PAUSE: cannot create %s\n", d->pause_file);
		return;
	}
	fclose(f);
	for (int i = 0; i < 2000 && g_file_test(d->pause_file, G_FILE_TEST_EXISTS); i++)
		g_usleep(10000);
}

static void stage(const char *name, void *data)
{
	Debug *d = data;
	gint64 now = g_get_monotonic_time();

	if (d->timing && d->last)
		fprintf(stderr, "virtwire: %-24s %6.2f ms\n", name, (double)(now - d->last) / 1000.0);
	if (d->pause_at && strcmp(name, d->pause_at) == 0)
		pause_here(d);
	d->last = g_get_monotonic_time();
}

static bool parse_faults(const char *spec, VwFaults *f)
{
	g_auto(GStrv) parts = g_strsplit(spec, ",", -1);

	for (char **p = parts; *p; p++) {
		guint64 n;
		const char *colon = strchr(*p, ':');

		if (!colon || !g_ascii_string_to_unsigned(colon + 1, 10, 1, G_MAXUINT, &n, NULL))
			return false;
		if (g_str_has_prefix(*p, "link:"))
			f->link = (guint)n;
		else if (g_str_has_prefix(*p, "nft:"))
			f->nft = (guint)n;
		else if (g_str_has_prefix(*p, "store:"))
			f->store = (guint)n;
		else
			return false;
	}
	return true;
}

int main(int argc, char **argv)
{
	static VwFaults faults;
	static Debug debug;
	VwEngineConfig cfg = { 0 };
	const char *spec = getenv("VIRTWIRE_FAULT");
	const char *pause = getenv("VIRTWIRE_PAUSE");

	if (spec && *spec) {
		if (!parse_faults(spec, &faults)) {
			fprintf(stderr, "virtwire-test: VIRTWIRE_FAULT=%s: expected link:N, nft:N or store:N\n", spec);
			return 2;
		}
		cfg.faults = &faults;
	}
	/* virtwire's configuration file in place of /etc/virtwire/virtwire.conf. */
	cfg.config_file = getenv("VIRTWIRE_CONFIG");
	debug.timing = g_strcmp0(getenv("VIRTWIRE_DEBUG"), "timing") == 0;
	if (pause && *pause) {
		const char *colon = strchr(pause, ':');

		if (!colon || colon == pause || !colon[1]) {
			fprintf(stderr, "virtwire-test: VIRTWIRE_PAUSE=%s: expected STAGE:FILE\n", pause);
			return 2;
		}
		debug.pause_at = g_strndup(pause, (gsize)(colon - pause));
		debug.pause_file = g_strdup(colon + 1);
	}
	if (debug.timing || debug.pause_at) {
		cfg.stage = stage;
		cfg.stage_data = &debug;
	}
	return vw_cli_main(argc, argv, &cfg);
}
