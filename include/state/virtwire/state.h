/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Records: what virtwire applied for a network (its links, sysctls, ports
 * and the XML it applied), and the firewall's generation record, as values
 * and as the versioned text of docs/state.md. Pure: parsing and formatting
 * only; the state directory itself (files, locks) is the executor's.
 *
 * Records are input that virtwire did not just write (a damaged disk, an
 * older or newer virtwire, a careless edit): the parsers check every line,
 * refuse duplicates and unknown versions, and cap every count.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>

#include <virtwire/model.h>

#define VW_STATE_DIR_DEFAULT "/run/virtwire"
/* Written: 3 (a port's elements) when a port's elements are known, else 2
 * ("status" line). Read: 1, 2 and 3. */
#define VW_STATE_VERSION 3
/* Caps on what a record may hold. */
#define VW_STATE_MAX_LINES 65536
#define VW_STATE_MAX_SIZE (4u << 20)
/* A port's elements: at most this many, of keys this long. */
#define VW_STATE_MAX_ELEMS 4096
#define VW_STATE_ELEM_BYTES 64

/* A sysctl virtwire wrote: the value before and the value set. */
typedef struct {
	char *path;
	char *old_value;
	char *new_value;
	bool revert; /* restore old_value at teardown */
} VwStateSysctl;

/* A link object: created by virtwire (removed at teardown) or found
 * (never removed). */
typedef struct {
	char *kind;   /* "bridge", "addr", "port", "route", … */
	char *object; /* "vwbr0", "vwbr0 192.168.1.1/24", … */
	bool created;
	char *extra; /* kind-specific: the uplink's original state … */
} VwStateLink;

/* A domain's port on the network whose forwards virtwire holds. */
typedef struct {
	char *uuid;	   /* the networkport's uuid (the forwards' owner tag) */
	char *domain_uuid; /* its domain, recorded in domains/UUID.xml */
	char *mac;
	/* The port's elements in the kernel as its last change committed them
	 * (vw_nft_port_elems: "" none, else TABLE/SET/KEY[/END[/FLAGS]],
	 * comma-separated), so the next change can be a delta; NULL: not
	 * known (the next change reads the table). */
	char *elems;
} VwStatePort;

typedef struct {
	char *name;    /* the libvirt network's name */
	char *id;      /* its name in nftables objects */
	char *applied; /* ISO 8601 time of the last apply */
	char *source;  /* where the XML came from */
	char *bridge;
	char *mode;
	/* Written before the kernel changes: an apply under way, or one that
	 * was interrupted. The links recorded are those of the apply before;
	 * what the kernel shows as virtwire's for the network may be more. */
	bool pending;
	GPtrArray *sysctls; /* VwStateSysctl* */
	GPtrArray *links;   /* VwStateLink*, in the order applied */
	GPtrArray *ports;   /* VwStatePort*: domain ports with forwards */
	char *xml;	    /* the network XML as applied (NAME.xml) */
} VwState;

VwState *vw_state_new(const char *name);
void vw_state_free(VwState *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VwState, vw_state_free)
/* A deep copy. */
VwState *vw_state_copy(const VwState *s);

VwStateSysctl *vw_state_add_sysctl(VwState *s, const char *path, const char *old_value, const char *new_value,
				   bool revert);
VwStateLink *vw_state_add_link(VwState *s, const char *kind, const char *object, bool created, const char *extra);
VwStatePort *vw_state_add_port(VwState *s, const char *uuid, const char *domain_uuid, const char *mac);
VwStatePort *vw_state_find_port(const VwState *s, const char *uuid);
void vw_state_remove_port(VwState *s, const char *uuid);

/* The record as text (version 2, or 3 when a port's elements are known; the XML is
 * not part of it). */
char *vw_state_format(const VwState *s);
/*
 * Parses a record of network @name (@len bytes of @text); @where names it
 * in messages ("/run/virtwire/web.state"). Anything damaged — truncated, an
 * unknown or repeated line, another network's name, an unknown version —
 * fails with VW_ERROR_STATE, naming the line. The XML is not part of it
 * (st->xml is NULL).
 */
bool vw_state_parse(const char *text, gsize len, const char *name, const char *where, VwState **ret, GError **error);

/* The firewall's generation record: at generation @gen of the ruleset of
 * network namespace @netns, the networks' parts (id → digest) matched
 * their plans. */
typedef struct {
	char *netns;
	guint32 gen;
	GHashTable *nets; /* char* id → char* digest */
	/* char* id → the digest of everything its plan was made from and the
	 * links it was checked against (engine/unchanged.c), when known: what
	 * lets a call that changes nothing skip parsing and planning. Only
	 * for ids in @nets. */
	GHashTable *inputs;
} VwGenRecord;

VwGenRecord *vw_gen_record_new(void);
void vw_gen_record_free(VwGenRecord *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VwGenRecord, vw_gen_record_free)
char *vw_gen_record_format(const VwGenRecord *r);
/* NULL when @text is not a whole, valid generation record. */
VwGenRecord *vw_gen_record_parse(const char *text, gsize len);

/* An address virtwire watch saw a guest use on a network's bridge (the
 * state directory's file "learned", docs/restore-watch.md): the target of
 * the network's forwards by that MAC that have no DHCP reservation. */
typedef struct {
	char *id; /* the network's id (vw_plan_network_id) */
	VwMac mac;
	VwAddr addr;
} VwLearned;

/* Caps on what the file may hold. */
#define VW_LEARNED_MAX 65536
#define VW_LEARNED_MAX_SIZE (8u << 20)

VwLearned *vw_learned_new(const char *id, const VwMac *mac, const VwAddr *addr);
void vw_learned_free(VwLearned *l);
/* @entries (VwLearned*) as text. */
char *vw_learned_format(GPtrArray *entries);
/* The entries of the text (VwLearned* into *@ret); anything damaged — an
 * unknown line, a repeated network, MAC and family, too many — fails with
 * VW_ERROR_STATE, naming the line. */
bool vw_learned_parse(const char *text, gsize len, GPtrArray **ret, GError **error);
