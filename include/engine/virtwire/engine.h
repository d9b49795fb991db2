/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Apply and teardown of whole networks: what the CLI and the hooks call.
 * Each runs under the state directory's lock, plans, changes the kernel in
 * one transaction (rolling back what it did itself on failure), and records
 * the result.
 */
#pragma once

#include <glib.h>

#include <virtwire/model.h>
#include <virtwire/exec.h>
#include <virtwire/state.h>

/* One network to apply, with the XML text to record for it. */
typedef struct {
	const VwNetwork *network;
	const char *xml;    /* the document text as given */
	const char *source; /* file name or "hook" */
} VwApplyItem;

typedef enum {
	VW_LINKS_APPLY,  /* make the links so (standalone, and bridged mode) */
	VW_LINKS_VERIFY, /* libvirt made them: a difference refuses the apply */
	VW_LINKS_SKIP,
} VwLinkMode;

typedef struct {
	const char *state_dir;
	GPtrArray *items;   /* VwApplyItem* */
	GPtrArray *domains; /* VwPlanDomain* (may be NULL) */
	guint lock_timeout_ms;
	VwLinkMode links;
	bool skip_firewall; /* links only (bridged mode's start hook) */
} VwApplyRequest;

/* What happened to one network. */
typedef struct {
	char *name;
	guint drift;      /* differences found (and repaired) */
	guint messages;   /* netlink messages sent */
	guint sysctls;    /* sysctls changed */
	guint links;      /* link changes (bridge, addresses, ports …) */
	GPtrArray *changes; /* char*: each difference found, "OBJECT: WHAT" */
} VwApplyReport;

void vw_apply_report_free(VwApplyReport *r);

/* Applies the networks: checks them against the ones already recorded
 * (findings into @diags), plans, sets sysctls, reconciles nftables, records
 * state. Returns false with @error (kernel, lock, state) or with errors in
 * @diags; the kernel is then as before. @reports receives VwApplyReport*. */
bool vw_engine_apply(const VwApplyRequest *req, GPtrArray *reports, VwDiags *diags, GError **error);

/* A domain's port being plugged into or unplugged from a recorded network
 * (the network hook's port-created / port-deleted, the domain hooks). */
typedef struct {
	const char *state_dir;
	const char *network;     /* the network's name */
	const char *port_uuid;
	const char *domain_uuid;
	const char *mac;         /* the port's MAC */
	bool add;
	guint lock_timeout_ms;
} VwPortRequest;

/* Adds or removes one port's domain forwards (exactly its elements, in one
 * transaction), and records the port with its network. A network virtwire
 * does not manage, or a domain without forwards there, is nothing to do. */
bool vw_engine_port(const VwPortRequest *req, GError **error);

typedef struct {
	const char *state_dir;
	char **names;
	/* VwNetwork*: used for a name whose state is missing or corrupt — the
	 * firewall objects it owns go, and the links the kernel shows virtwire
	 * created; nothing else. NULL: such a name is an error. */
	GPtrArray *from;
	guint lock_timeout_ms;
} VwTeardownRequest;

/* Tears the named networks down: exactly the objects they own (links
 * created by virtwire, not the ones it found), the table when no recorded
 * network needs it any more. An unknown name fails before anything changes
 * (VW_ERROR_NOT_FOUND). */
bool vw_engine_teardown(const VwTeardownRequest *req, GPtrArray *reports, GError **error);

typedef struct {
	const char *state_dir;
	char **names;       /* recorded networks to verify */
	bool all;           /* every recorded network */
	GPtrArray *networks; /* VwNetwork*: verify these (from --xml) instead */
} VwVerifyRequest;

typedef struct {
	char *name;
	GPtrArray *drift; /* VwDrift* */
	char *error;      /* set when the network could not be checked */
} VwVerifyResult;

void vw_verify_result_free(VwVerifyResult *r);

/* Compares the kernel with what apply would make of each network: links
 * (libvirt's bridge included), sysctls, and its part of the table. One
 * VwVerifyResult* per network into @results. False only when the kernel
 * cannot be reached at all. */
bool vw_engine_verify(const VwVerifyRequest *req, GPtrArray *results, GError **error);

/* The ports recorded in @st (a network's record, may be NULL) as planner
 * input: one VwPlanDomain per port into @doms, their domains' documents into
 * @docs (VwDoc*, which keeps them alive). Ports without a domain record are
 * left out. */
void vw_engine_recorded_ports(const char *state_dir, const VwState *st, const char *network, GPtrArray *docs,
			      GPtrArray *doms);

/* Sets the bridge port flags a network wants (hairpin, isolated) on a
 * guest's tap, as the domain hooks find it. Nothing for a network virtwire
 * does not manage. */
bool vw_engine_port_flags(const char *state_dir, const char *network, const char *tap, GError **error);

/* Re-asserts table inet virtwire for every recorded network (and its
 * ports' forwards), as the daemon hook does at libvirtd's start and reload.
 * Links are not touched. */
bool vw_engine_reassert(const char *state_dir, guint lock_timeout_ms, GError **error);
