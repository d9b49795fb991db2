/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A fake kernel behind VwLinkBackend: links, addresses, routes, bridge
 * ports and sysctls in memory. It counts every change and can fail the
 * Nth (fail_at), to test rollback without root.
 */
#pragma once

#include <virtwire/exec.h>

typedef struct {
	VwLinkInfo info;
	GArray *addrs;	/* VwAddrInfo */
	GArray *routes; /* VwRouteInfo */
} FLink;

typedef struct {
	GPtrArray *links; /* FLink* */
	GHashTable *sysctls;
	int next_index;
	int mutations;
	int fail_at;
} FakeLinks;

void fake_links_init(FakeLinks *f);
void fake_links_clear(FakeLinks *f);
/* A link of @kind ("bridge", "veth" …), down, MTU 1500, a MAC of its own. */
FLink *fake_links_add(FakeLinks *f, const char *name, const char *kind);
VwLinkBackend fake_links_backend(FakeLinks *f);
/* Everything the fake holds, as sorted text lines. */
char *fake_links_snapshot(FakeLinks *f);
