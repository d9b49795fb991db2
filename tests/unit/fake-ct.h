/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A conntrack table in memory behind a VwCtBackend, for the unit tests: it
 * answers a dump with the messages the kernel sends (each entry's tuples,
 * status, zone, id and more), and carries out deletions as ctnetlink does —
 * by the original tuple (found in either direction) and zone, refused with
 * ENOENT when the id given is not the entry's. Its messages are written and
 * read here with libmnl, not with virtwire's own code, so a test against it
 * checks both sides. A deletion without a tuple (a flush, in the kernel) is
 * counted and refused.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include <virtwire/exec.h>

typedef struct FakeCt FakeCt;

/* An entry, addresses as text: original direction SRC:SPORT → DST:DPORT,
 * reply RSRC:RSPORT → RDST:RDPORT. */
typedef struct {
	uint8_t proto;
	const char *src, *dst;
	uint16_t sport, dport;
	const char *rsrc, *rdst;
	uint16_t rsport, rdport;
	uint32_t status; /* IPS_* */
	uint16_t zone;
} FakeCtEntry;

/* An empty table behind a new backend, which owns it (freed with
 * vw_ct_backend_free); *@fake is for the test hooks below. */
VwCtBackend *fake_ct_new(FakeCt **fake);

/* Adds an entry; its id. */
uint32_t fake_ct_add(FakeCt *f, const FakeCtEntry *e);
bool fake_ct_has(FakeCt *f, uint32_t id);
guint fake_ct_count(FakeCt *f);
/* Requests received: dumps, deletions (done or not), deletions without a
 * tuple. */
guint fake_ct_dumps(FakeCt *f);
guint fake_ct_deletes(FakeCt *f);
guint fake_ct_flushes(FakeCt *f);
/* The next dump (@dump) or deletion fails with -@err. */
void fake_ct_fail_next(FakeCt *f, bool dump, int err);
/* Entry @id goes right after the next dump: its connection closed
 * meanwhile. */
void fake_ct_vanish_after_dump(FakeCt *f, uint32_t id);
