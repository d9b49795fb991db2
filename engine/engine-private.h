/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What the engine's files share. */
#pragma once

#include <virtwire/engine.h>

struct VwEngine {
	VwEngineConfig cfg; /* its strings are the engine's own copies */
	char *state_dir, *schema_dir;
	VwStore *store;		  /* opened on first use */
	guint locks;		  /* vw_eng_lock calls not yet matched by vw_eng_unlock */
	VwLinkBackend *own_links; /* the netlink ones, when the config has none */
	VwNftBackend *own_nft;
	VwCtBackend *own_ct;
	char *config_file;
	int hostfw_mode;    /* 0: not read yet; 1: integrate with host firewalls; 2: leave them alone */
	GPtrArray *learned; /* VwLearned*: the state directory's, read on first use */
};

/* Warnings into @diags for the forwards of @nets (VwNetwork*) and @doms
 * (VwPlanDomain*) whose host ports a host process listens on. */
/* A warning (port-in-use) for each forward of @doms (VwPlanDomain*), and of
 * @nets when @of_nets, whose host port a host process listens on. */
void vw_eng_warn_listeners(VwEngine *e, GPtrArray *nets, GPtrArray *doms, bool of_nets, VwDiags *diags);

/* The state directory (created with @create); NULL with @error. */
VwStore *vw_eng_store(VwEngine *e, bool create, GError **error);
/* Takes the state directory's lock (creating the directory). Calls nest:
 * a step that locks inside a call that holds the lock already keeps it, and
 * the lock is let go by the unlock that matches the first lock. */
bool vw_eng_lock(VwEngine *e, GError **error);
void vw_eng_unlock(VwEngine *e);
const VwLinkBackend *vw_eng_links(VwEngine *e, GError **error);
const VwNftBackend *vw_eng_nft(VwEngine *e, GError **error);
void vw_eng_stage(VwEngine *e, const char *name);

/* conntrack.c: the connections of the forwards a committed reconcile took
 * away (@res->released; @res may be NULL) are ended, *@ended says how many.
 * False when conntrack refused: the caller warns, the firewall is changed
 * all the same. */
bool vw_eng_end_connections(VwEngine *e, VwNftResult *res, guint *ended, GError **error);
/* The connections ended of the forwards of network @id (its own and its
 * ports'), for its report. */
guint vw_eng_connections_of(const VwNftResult *res, const char *id);
/* Says in @rep what ending them did, when the reconcile took forwards
 * away: @ended of them; the warning @err (may be NULL) when it failed. */
void vw_eng_report_connections(VwApplyReport *rep, const VwNftResult *res, guint ended, const GError *err);

/* A recorded network: its record and its XML parsed. */
typedef struct {
	VwState *st;
	VwDoc *doc;
} VwRecorded;

void vw_recorded_free(VwRecorded *r);

/* The network of a record, parsed from the XML it holds; NULL (with
 * VW_ERROR_STATE) when that does not parse. */
VwDoc *vw_eng_parse_record(VwEngine *e, const VwState *st, GError **error);
/* Where a document's bytes hold an element: [start, end). */
typedef struct {
	gsize start, end;
} VwByteSpan;

/* The network's own forwards in @xml (@len bytes): every <P:forward>
 * element directly inside <P:network>, P the one prefix bound to
 * virtwire's namespace, as VwByteSpan in document order. Comments, CDATA
 * sections and processing instructions are stepped over whole; NULL when
 * anything is not known for certain (a DOCTYPE, the namespace as a default
 * one or under two prefixes, a forward elsewhere or declaring a namespace,
 * a second <P:network>, unbalanced tags). */
GArray *vw_eng_forward_spans(const char *xml, gsize len);

/* edit.c: what an edit of a network's XML changed, when that is only whole
 * forwards of the network's own: the bytes [lo, old_end) of the old XML
 * became [lo, new_end) of the new, everything before and after the same,
 * and each side of the region is whitespace and the forwards listed
 * (VwByteSpan, document order; at least one on one side). */
typedef struct {
	gsize lo, old_end, new_end;
	GArray *old_fwds, *new_fwds;
	GArray *old_all, *new_all; /* every forward of each (vw_eng_forward_spans) */
} VwEditRegion;

/* The region of @old (@old_len bytes, the record's XML) that became @new;
 * false when the two are the same, or differ in anything but whole
 * forwards of the network's own (vw_eng_forward_spans) and whitespace
 * between them. */
bool vw_eng_edit_region(const char *old, gsize old_len, const char *new, gsize new_len, VwEditRegion *ret);
void vw_eng_edit_clear(VwEditRegion *r);

/* @xml (@len bytes) with the forwards of @spans (vw_eng_forward_spans)
 * cut out but those of @keep (a subset, document order; may be NULL),
 * their newlines kept: lines stay where they were, and findings about what
 * is left carry the lines the whole document gives them. */
GString *vw_eng_cut_forwards(const char *xml, gsize len, const GArray *spans, const GArray *keep);
/* Network @st's record parsed with only the forwards @keep of @spans (its
 * XML's, vw_eng_forward_spans); NULL when it does not parse. */
VwDoc *vw_eng_parse_record_part(VwEngine *e, const VwState *st, const GArray *spans, const GArray *keep);

/* The same network without its forwards (of the network's own: a port's
 * plan needs none of them), parsed from the record's XML with them cut
 * out; NULL when they cannot be cut out for certain (parse it whole). */
VwDoc *vw_eng_parse_record_base(VwEngine *e, const VwState *st);

/* The elements of @st's ports as @plan has them, into its record (one pass
 * over the plan), for a record of what the kernel holds once @plan is
 * committed: a port's next change can then be a delta (port.c). */
void vw_eng_note_port_elems(const VwPlan *plan, VwState *st);

/* Every recorded network but those named in @skip (may be NULL), as
 * VwRecorded*. A record that cannot be read or parsed is reported in
 * @diags (as a warning) and left out. */
GPtrArray *vw_eng_load_recorded(VwEngine *e, GHashTable *skip, VwDiags *diags);

/* The recorded ports of @st as planner input: their domains' XML parsed
 * into @docs (which keeps them alive), one VwPlanDomain each into @doms
 * (free with g_free). A port whose domain record is gone is left out. */
void vw_eng_recorded_ports(VwEngine *e, const VwState *st, GPtrArray *docs, GPtrArray *doms);

/* Owner tags in words, for conflicts: @data is a VwOwnerWords. */
typedef struct {
	VwEngine *engine;
	GPtrArray *states; /* const VwState*: networks not recorded yet (may be NULL) */
} VwOwnerWords;

char *vw_eng_owner_words(const char *tag, void *data);

/* The host's firewalls (hostfw.c). Whether virtwire integrates with them,
 * from the configuration file (read once; e->hostfw_mode). */
bool vw_eng_hostfw_integrate(VwEngine *e, GError **error);
/* Takes the host firewall rules out of @plan when virtwire leaves the
 * host's firewalls alone. */
void vw_eng_plan_hostfw(VwEngine *e, VwPlan *plan);
/* After the firewall of @nets (VwNetwork*) was applied: their bridges in
 * their firewalld zones (out of zone virtwire, when leaving firewalls
 * alone), and a warning into @diags for each host firewall chain that will
 * still drop their traffic. */
void vw_eng_hostfw_apply(VwEngine *e, GPtrArray *nets, VwDiags *diags);
/* The same findings for @net, as VW_DRIFT_HOST differences into @drift. */
void vw_eng_hostfw_verify(VwEngine *e, const VwNetwork *net, GPtrArray *drift);
/* The bridge of recorded network @st out of the firewalld zone virtwire
 * puts it in (zone virtwire; bridged mode: its uplink's or the default
 * zone); what was done or failed into @notes (char*). */
void vw_eng_hostfw_teardown(VwEngine *e, const VwState *st, GPtrArray *notes);

/* A report's notes (char*: what was done or left alone, or "warning: …") into the log,
 * as network @name's. */
void vw_eng_log_changes(const char *name, GPtrArray *changes);

/* "ID:*": every owner tag of network @id. */
char *vw_eng_scope_of(const char *id);

/* The kernel shows network @id as virtwire's: its bridge @bridge (may be
 * NULL) carries virtwire's marker for it, or table inet virtwire holds
 * something of it. What it found goes to @what (for messages). */
bool vw_eng_in_kernel(VwEngine *e, const char *id, const char *bridge, char **what, GError **error);

/* The records of what virtwire created for network @net (id @id) as the
 * kernel shows it, for a network without a usable record: a bridge with
 * its marker, and bridged mode's uplink moved onto it. @note gets what is
 * left alone, or NULL. */
VwState *vw_eng_links_from_kernel(VwEngine *e, const VwNetwork *net, const char *id, char **note);

/* learn.c: what virtwire watch learned, added to @net when it learns its
 * guests' addresses: the entries of its id whose address lies in one of its
 * subnets (and is not the host's own there). Read from the state directory
 * once per engine (vw_eng_forget_learned: again). */
void vw_eng_add_learned(VwEngine *e, VwNetwork *net);
/* control="evpn" (evpn.c): the remote VTEPs zebra put in VXLAN device
 * @dev's forwarding database (VwAddr, each once); @net's span given those
 * of its device (VwSpan.vteps), which its plan admits on the underlay. */
GArray *vw_eng_evpn_vteps(const VwLinkBackend *be, const char *dev);
void vw_eng_add_evpn_vteps(VwEngine *e, VwNetwork *net);
void vw_eng_forget_learned(VwEngine *e);
/* The entries of network @id, as text: what its plan takes from them. */
char *vw_eng_learned_of(VwEngine *e, const char *id);
/* Records, under the lock, that on network @name the guest with @mac uses
 * @addr; *@changed tells whether that is news. Entries of networks without a
 * record go at the same time. */
bool vw_eng_learn(VwEngine *e, const char *name, const VwMac *mac, const VwAddr *addr, bool *changed, GError **error);

/* port.c: the bridge port flags @net wants on its guests' ports (hairpin,
 * isolated; -1: left as they are); false when it wants none. */
bool vw_eng_wants_port_flags(const VwNetwork *net, int *hairpin, int *isolated);
/* Sets them on port @tap, unless it has them (*@changed, may be NULL, says
 * whether it did). A port that is gone is nothing to do. */
bool vw_eng_port_flags(VwEngine *e, const VwNetwork *net, const char *tap, bool *changed, GError **error);

/* unchanged.c: the input digest of network @st (its record, as saved) to be
 * applied from @xml (@len bytes, which must be the record's copy, else
 * NULL; @xml NULL: the record's own copy, @st may be loaded without it):
 * everything its plan is made from — the XML (as the identity of
 * the record's file of it), its ports' domains, what watch learned, the host firewall setting,
 * virtwire's build — and the links and sysctls the record names as the
 * kernel has them now, as an apply that checked (or made) the links
 * records it; @unchecked (may be NULL) gets the one an apply that left
 * them alone records. NULL when it cannot be told (then nothing is
 * skipped). */
char *vw_eng_input_digest(VwEngine *e, const VwState *st, const char *xml, gsize len, char **unchecked);
/* Network @st's record holds in the kernel at generation @gen, and
 * nothing its plan is made from has changed since: not pending, its input
 * digest (as an apply that checked the links records it; @any: or one that
 * left them alone) the one recorded at @gen. */
bool vw_eng_record_current(VwEngine *e, const VwState *st, guint32 gen, bool any);
/* Restore's short way: every recorded network unchanged (see
 * vw_engine_unchanged); then @rep says so and nothing else is done. */
bool vw_eng_restore_unchanged(VwEngine *e, VwRestoreReport *rep);

/* span.c: the VXLAN device of spanning network @net read back (NULL when
 * @net does not span). */
VwStatusSpan *vw_eng_status_span(const VwLinkBackend *be, const VwNetwork *net);
