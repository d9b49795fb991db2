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
 *   VIRTWIRE_CONFIG=FILE    virtwire.conf in place of /etc/virtwire/virtwire.conf
 *
 * Several faults: comma-separated. Never installed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void stage(const char *name, void *data)
{
	gint64 *last = data;
	gint64 now = g_get_monotonic_time();

	if (*last)
		fprintf(stderr, "virtwire: %-24s %6.2f ms\n", name, (double)(now - *last) / 1000.0);
	*last = now;
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
	static gint64 last;
	VwEngineConfig cfg = { 0 };
	const char *spec = getenv("VIRTWIRE_FAULT");

	if (spec && *spec) {
		if (!parse_faults(spec, &faults)) {
			fprintf(stderr, "virtwire-test: VIRTWIRE_FAULT=%s: expected link:N, nft:N or store:N\n", spec);
			return 2;
		}
		cfg.faults = &faults;
	}
	/* virtwire's configuration file in place of /etc/virtwire/virtwire.conf. */
	cfg.config_file = getenv("VIRTWIRE_CONFIG");
	if (g_strcmp0(getenv("VIRTWIRE_DEBUG"), "timing") == 0) {
		cfg.stage = stage;
		cfg.stage_data = &last;
	}
	return vw_cli_main(argc, argv, &cfg);
}
