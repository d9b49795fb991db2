/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The engine: the only code that orders the stages. Documents are parsed
 * (xml), checked (check), planned (plan) and carried out (exec) under the
 * state directory's lock, with what was applied recorded (state) — the
 * record durable before the kernel changes. What the CLI and the hooks
 * call; they only print.
 *
 * Errors: every call that fails returns false with a GError of VW_ERROR.
 * Findings about the input go to the VwDiags given; a call that fails
 * because of them sets VW_ERROR_INVALID.
 */
#pragma once

#include <glib.h>

#include <virtwire/check.h>
#include <virtwire/exec.h>
#include <virtwire/model.h>
#include <virtwire/plan.h>
#include <virtwire/state.h>
#include <virtwire/xml.h>

#define VW_LOCK_TIMEOUT_MS_DEFAULT 60000

/* How an engine reaches the system. Zero is the production setting. */
typedef struct {
	const char *state_dir;	 /* NULL: VW_STATE_DIR_DEFAULT */
	const char *schema_dir;	 /* NULL: VW_SCHEMA_DIR_DEFAULT */
	const char *config_file; /* NULL: VW_CONFIG_FILE_DEFAULT (see docs/real-host.md) */
	guint lock_timeout_ms;	 /* 0: VW_LOCK_TIMEOUT_MS_DEFAULT */
	/* Tests: backends in place of the kernel's (the engine does not own
	 * them), and faults to inject. */
	const VwLinkBackend *links;
	const VwNftBackend *nft;
	/* The conntrack table whose entries of forwards that went away are
	 * deleted. NULL: the kernel's — unless @nft is given, whose fake
	 * kernel the real conntrack table does not belong to: then none. */
	const VwCtBackend *conntrack;
	/* The host's listening sockets, which forwards are checked against.
	 * NULL: the kernel's (vw_listeners) — unless @nft is given: then
	 * none. */
	bool (*listeners)(GArray *ret, GError **error);
	const VwFaults *faults;
	/* Benchmarks: called after each stage of an apply with its name. */
	void (*stage)(const char *name, void *data);
	void *stage_data;
} VwEngineConfig;

typedef struct VwEngine VwEngine;

/* Nothing is opened until a call needs it. */
VwEngine *vw_engine_new(const VwEngineConfig *cfg);
void vw_engine_free(VwEngine *e);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VwEngine, vw_engine_free)
const char *vw_engine_state_dir(const VwEngine *e);

/* ---------------------------------------------------------------------- */
/* Input */

/*
 * Parses @files (VwDoc* into @docs) and checks them, each alone and all
 * together (findings into @diags, sorted). With @schema, each is also
 * validated against libvirt's schemas. False when a file could not be read
 * or is not a libvirt document at all (then the findings say which).
 */
bool vw_engine_load(VwEngine *e, char **files, bool schema, GPtrArray *docs, VwDiags *diags);

/* The networks (VwNetwork*) and the domain forwards per interface
 * (VwPlanDomain*, newly allocated: free with g_free) of @docs. */
void vw_engine_collect(GPtrArray *docs, GPtrArray *networks, GPtrArray *domains);

/* The plan of @docs, as `virtwire plan` prints it (findings into @diags;
 * VW_ERROR_INVALID when they stop it). */
VwPlan *vw_engine_plan(VwEngine *e, GPtrArray *docs, VwDiags *diags, GError **error);

/* ---------------------------------------------------------------------- */
/* Apply and teardown */

/* The source of a network the network hook applied: its XML is libvirt's
 * hookData. */
#define VW_SOURCE_HOOK "libvirt network hook"

/* One network to apply, with the XML text to record for it. */
typedef struct {
	const VwNetwork *network;
	const char *xml;    /* the document text as given */
	const char *source; /* file name or VW_SOURCE_HOOK */
	/* @xml is the engine's (g_free): it lets go of the text once the record
	 * holds it, before the firewall's batch is built, and reads the
	 * record's copy back when it needs it again (100,000 forwards: 11 MB
	 * less at the peak). */
	bool xml_handed;
} VwApplyItem;

typedef enum {
	VW_LINKS_APPLY,	 /* make the links so (standalone, and bridged mode) */
	VW_LINKS_VERIFY, /* libvirt made them: a difference refuses the apply */
	VW_LINKS_SKIP,
} VwLinkMode;

typedef struct {
	GPtrArray *items;   /* VwApplyItem* */
	GPtrArray *domains; /* VwPlanDomain* (may be NULL) */
	VwLinkMode links;
	bool skip_firewall; /* links only (bridged mode's start hook) */
	/* The items come from vw_engine_load, which checked them: they are not
	 * checked again (otherwise each network's own rules run first). */
	bool checked;
	/* A network whose record is missing or damaged although the kernel
	 * shows it as virtwire's is refused (VW_ERROR_STATE); with @adopt, what
	 * the kernel shows as virtwire's for it is taken over as created. */
	bool adopt;
} VwApplyRequest;

/* What happened to one network. */
typedef struct {
	char *name;
	guint drift;	    /* differences found (and repaired) */
	guint messages;	    /* netlink messages sent */
	guint sysctls;	    /* sysctls changed */
	guint links;	    /* link changes (bridge, addresses, ports …) */
	guint connections;  /* connections ended: their forward was removed or re-pointed */
	GPtrArray *changes; /* char*: each difference found, "OBJECT: WHAT" */
	/* The firewall's generation had not moved since virtwire made it as
	 * planned: table inet virtwire was not read back at all. */
	bool unread;
} VwApplyReport;

void vw_apply_report_free(VwApplyReport *r);

/*
 * Applies the networks: checks them against the ones already recorded
 * (findings into @diags), plans, records the intent, makes the links,
 * sets sysctls, records the result, and reconciles nftables in one
 * transaction. On any failure what this call did is undone and the
 * records are as before. @reports receives VwApplyReport*.
 */
bool vw_engine_apply(VwEngine *e, const VwApplyRequest *req, GPtrArray *reports, VwDiags *diags, GError **error);

/*
 * True when applying network @name from @xml (@len bytes, as given) again
 * would change nothing: its record holds exactly that XML, the ruleset is
 * still at the generation virtwire's own last commit left, and the digest
 * of everything its plan is made from — with the links and sysctls its
 * record names as the kernel has them now — is the one recorded then. Then
 * the caller need not parse, check or plan anything. False whenever that
 * cannot be shown (any error included): take the full path.
 */
bool vw_engine_unchanged(VwEngine *e, const char *name, const char *xml, gsize len);

/* The same for a re-apply of a file: the recorded network that was applied
 * from @source (the file name as given) with exactly @xml, if nothing of it
 * is to do; its name, or NULL (take the full path). */
char *vw_engine_unchanged_file(VwEngine *e, const char *source, const char *xml, gsize len);

/* An edited network, given whole: by `virtwire apply FILE` or the network
 * hook's `started`. */
typedef struct {
	const char *name;   /* the network (the hook's argument); NULL: the one the XML names */
	const char *source; /* the file name as given, or VW_SOURCE_HOOK: the record's from now on */
	const char *label;  /* what findings call the XML, as the full path does */
	bool libvirt;	    /* as libvirt hands it to a hook (vw_doc_load_libvirt) */
	bool schema;	    /* validated against libvirt's schema, as the full path does */
	const char *xml;
	gsize len;
} VwEditRequest;

/*
 * A running network whose XML changed only in whole forwards of its own
 * (added, removed, rewritten): only they are parsed, checked and planned,
 * and only their elements are asked for and changed in one batch tied to
 * the ruleset's generation, the table not read back (engine/edit.c says
 * when that is certain). The report of what it did; NULL, with nothing
 * changed, when it is not certain or not allowed (any finding about the
 * new forwards included): take the full path, which says why.
 */
VwApplyReport *vw_engine_edit(VwEngine *e, const VwEditRequest *req);

typedef struct {
	char **names;
	/* VwNetwork*: used for a name whose record is missing or damaged —
	 * the firewall objects it owns go, and the links the kernel shows
	 * virtwire created; nothing else. NULL: such a name is an error. */
	GPtrArray *from;
} VwTeardownRequest;

/* Tears the named networks down: exactly the objects they own, where the
 * kernel proves them virtwire's (see vw_link_undo); the table when no
 * recorded network needs it any more. An unknown name fails before
 * anything changes (VW_ERROR_NOT_FOUND), a damaged record without --from
 * too (VW_ERROR_STATE). */
bool vw_engine_teardown(VwEngine *e, const VwTeardownRequest *req, GPtrArray *reports, GError **error);

/* The recorded networks that libvirt runs with <forward mode='open'/> and a
 * virtwire mode (recorded by the network hook): their firewall is
 * virtwire's alone, and without virtwire they have none. Names (char*),
 * sorted; reads the records only (nothing is created, nothing locked). */
GPtrArray *vw_engine_open_networks(VwEngine *e);

/* Re-asserts table inet virtwire for every recorded network (and its
 * ports' forwards), as the daemon hook does at libvirtd's start and reload:
 * vw_engine_restore without a report. Links are not touched. */
bool vw_engine_reassert(VwEngine *e, GError **error);

/* ---------------------------------------------------------------------- */
/* Restore and watch (after another firewall flushed or reloaded) */

/* What a restore did. */
typedef struct {
	guint networks; /* recorded networks re-asserted */
	guint drift;	/* differences found (and repaired) */
	guint messages; /* netlink messages sent: 0 when nothing was missing */
	/* The ruleset had not moved since virtwire made it as planned: the
	 * kernel was not even read. */
	bool unread;
	GPtrArray *changes; /* char*: "network 'NAME': OBJECT: WHAT", each difference */
	VwDiags *diags;	    /* warnings: records that could not be used */
} VwRestoreReport;

VwRestoreReport *vw_restore_report_new(void);
void vw_restore_report_free(VwRestoreReport *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VwRestoreReport, vw_restore_report_free)

/*
 * Puts back what the records say virtwire keeps in the kernel besides its
 * links: table inet virtwire with every recorded network (its ports'
 * forwards and learned targets included), virtwire's rules in libvirt's
 * tables, and what host firewall integrations add (engine/restore.c lists
 * the steps). Changes nothing in the kernel when nothing is missing. @rep
 * may be NULL. Nothing recorded (no state directory): nothing to do.
 */
bool vw_engine_restore(VwEngine *e, VwRestoreReport *rep, GError **error);

typedef struct {
	/* A burst of events is over after quiet_ms without one (0: 50); what
	 * it calls for waits no longer than max_ms after its first (0: 300). */
	guint quiet_ms, max_ms;
	/* What watch does, one line each (a restore that changed something,
	 * a port's flags, a guest's address, a failure): NULL, nothing. */
	void (*log)(const char *line, void *data);
	void *log_data;
	bool verbose; /* also a line for each restore that found nothing missing */
} VwWatchOptions;

typedef struct VwWatch VwWatch;

/* Listens to the kernel's nftables, link and neighbour notifications of
 * the current network namespace (docs/restore-watch.md). */
VwWatch *vw_watch_new(VwEngine *e, const VwWatchOptions *opt, GError **error);
void vw_watch_free(VwWatch *w);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VwWatch, vw_watch_free)
/*
 * Restores, sets the recorded networks' port flags and reads the neighbour
 * table, then runs the default main context until vw_watch_stop: after
 * anybody else's change to the ruleset that touches what virtwire keeps
 * there, a restore; a port plugged into a recorded network's bridge gets
 * the network's flags; a guest's address follows into the forwards by its
 * MAC that have no reservation. False when the kernel's events cannot be
 * read any more.
 */
bool vw_watch_run(VwWatch *w, GError **error);
/* Makes vw_watch_run return (from a signal handler's source, say). */
void vw_watch_stop(VwWatch *w);
/* Notifications read, and restores made, so far. */
void vw_watch_stats(const VwWatch *w, guint64 *events, guint64 *restores);

/* ---------------------------------------------------------------------- */
/* Guests' ports (the hooks) */

/* A domain's port being plugged into or unplugged from a recorded network
 * (the network hook's port-created / port-deleted, the domain hooks). */
typedef struct {
	const char *network; /* the network's name */
	const char *port_uuid;
	const char *domain_uuid;
	const char *mac; /* the port's MAC */
	bool add;
	/* Warnings of an added port's forwards (a host process listening on a
	 * port they take: port-in-use); NULL: not wanted. */
	VwDiags *diags;
} VwPortRequest;

/* Adds or removes one port's domain forwards (exactly its elements, in one
 * transaction), and records the port with its network. A network virtwire
 * does not manage, or a domain without forwards there, is nothing to do. */
bool vw_engine_port(VwEngine *e, const VwPortRequest *req, GError **error);

/* The network hook's port-created (@add) or port-deleted of recorded
 * network @name, from its hookData (@xml, @len bytes) without parsing the
 * network: when the hookData is the record's with one <networkport> added
 * (and libvirt's connections='N' aside), only that is read, and the port
 * goes to vw_engine_port with @diags. *@handled false: it is not so, parse
 * it all. */
bool vw_engine_port_hookdata(VwEngine *e, const char *name, const char *xml, gsize len, bool add, VwDiags *diags,
			     bool *handled, GError **error);

/* Sets the bridge port flags a network wants (hairpin, isolated) on a
 * guest's tap, as the domain hooks find it. Nothing for a network virtwire
 * does not manage. */
bool vw_engine_port_flags(VwEngine *e, const char *network, const char *tap, GError **error);

/* Checks a network about to start (the network hook's 'start'), given as
 * @xml (@len bytes), against libvirt's schema, virtwire's rules and the
 * networks already recorded: findings about it into @diags. */
bool vw_engine_check_start(VwEngine *e, const char *xml, gsize len, VwDiags *diags);

/* Checks a domain's forwards (and its spoof filter setting) against the
 * policies of the recorded networks it uses, and records the domain (@xml)
 * for its ports' forwards and spoof filter: a domain with forwards, or with
 * an interface on a network that filters spoofed traffic. */
bool vw_engine_prepare_domain(VwEngine *e, const VwDomain *dom, const char *xml, VwDiags *diags, GError **error);

/* Forgets a domain: its ports' forwards go, and its record. */
bool vw_engine_release_domain(VwEngine *e, const char *uuid, GError **error);

/* ---------------------------------------------------------------------- */
/* Reading the kernel back */

typedef struct {
	char **names;	     /* recorded networks to verify */
	bool all;	     /* every recorded network */
	GPtrArray *networks; /* VwNetwork*: verify these (from --xml) instead */
} VwVerifyRequest;

typedef struct {
	char *name;
	GPtrArray *drift; /* VwDrift* */
	GError *error;	  /* set when the network could not be checked */
} VwVerifyResult;

void vw_verify_result_free(VwVerifyResult *r);

/* Compares the kernel with what apply would make of each network: links
 * (libvirt's bridge included), sysctls, and its part of the table. One
 * VwVerifyResult* per network into @results. False only when the kernel
 * cannot be reached at all. */
bool vw_engine_verify(VwEngine *e, const VwVerifyRequest *req, GPtrArray *results, GError **error);

/* One forward of a network, as `virtwire status` shows it. */
typedef struct {
	VwForward *forward; /* a domain's resolved to its interface's MAC */
	char *domain;	    /* the domain's name; NULL for the network's own */
	bool has_target;
	VwAddr target; /* the guest's address (IPv4 first) */
	guint64 packets, bytes;
} VwStatusForward;

/* A spanning network's VXLAN device, as `virtwire status` shows it. */
typedef struct {
	char *device;	/* "vw4242" */
	char *underlay; /* the XML's */
	guint32 vni;
	uint16_t port;
	bool present, up;
	bool evpn;	   /* control="evpn": the peers are zebra's, the EVPN neighbours */
	VwAddr local;	   /* the tunnel's local end (family 0: unknown) */
	GPtrArray *peers;  /* char*: the peers in its forwarding database */
	GPtrArray *remote; /* char*: "MAC ADDR": guests' MACs learned behind a peer */
} VwStatusSpan;

void vw_status_span_free(VwStatusSpan *s);

typedef struct {
	char *name;
	GError *error; /* the record could not be read: nothing else is set */
	char *mode, *bridge, *applied;
	bool bridge_present, up;
	GPtrArray *addresses; /* char*: "ADDR/LEN" as the kernel has them */
	GPtrArray *forwards;  /* VwStatusForward* */
	bool spoof_filter;    /* the network's guests are held to their MACs and addresses */
	guint64 spoofed;      /* frames the spoof filter dropped */
	/* The bridge as the host's interface (see VwLinkInfo): what guests sent
	 * to the host (routed, NATed, DHCP, DNS) and what the host sent them. */
	bool has_traffic;
	guint64 rx_packets, rx_bytes, tx_packets, tx_bytes;
	VwStatusSpan *span; /* NULL: the network does not span hosts */
} VwStatusNetwork;

void vw_status_network_free(VwStatusNetwork *n);

/* Every recorded network, with its forwards' traffic (VwStatusNetwork*
 * into @networks). */
bool vw_engine_status(VwEngine *e, GPtrArray *networks, GError **error);
