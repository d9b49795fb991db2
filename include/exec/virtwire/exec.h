/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The executor: the only code that talks to the kernel.
 *
 * nftables: the kernel's table inet virtwire is read back and compared with
 * the plan, within a scope (the owners — networks, ports — being changed);
 * the differences become one netlink batch, which the kernel applies whole or
 * not at all. No difference, no batch: re-applying changes nothing.
 */
#pragma once

#include <glib.h>

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include <virtwire/model.h>
#include <virtwire/plan.h>
#include <virtwire/state.h>

/* ====================================================================== */
/* Links, addresses, routes, bridge ports, sysctls
 *
 * The executor reaches them only through a VwLinkBackend, a small table of
 * functions: the netlink one for real, a recording fake in the unit tests
 * (which can fail operation N, to test rollback without root). */

/* The alias virtwire gives the bridges it creates: the kernel remembers
 * who made them, so a teardown without state still knows. */
#define VW_LINK_ALIAS_PREFIX "virtwire:"

typedef struct {
	char name[IFNAMSIZ];
	int ifindex;
	char kind[16]; /* "bridge", "veth", "" … */
	bool has_mac;
	VwMac mac;
	unsigned mtu;
	bool up;    /* IFF_UP */
	int master; /* ifindex of the bridge it is enslaved to, or 0 */
	char alias[256];
	/* bridges */
	bool stp;
	unsigned forward_delay; /* centiseconds, as the kernel keeps it */
	/* bridge ports */
	bool is_port;
	bool hairpin;
	bool isolated;
	bool port_learning;  /* IFLA_BRPORT_LEARNING (read where the kernel says) */
	bool neigh_suppress; /* IFLA_BRPORT_NEIGH_SUPPRESS */
	/* VXLAN devices (kind "vxlan") */
	guint32 vni;
	VwAddr vxlan_local; /* family 0: none */
	uint16_t vxlan_port;
	int vxlan_link; /* ifindex of the underlay, or 0 */
	bool vxlan_learning;
	/* Traffic through the link as the host's interface (IFLA_STATS64); on a
	 * bridge: what the host received from or sent to its ports, not what
	 * the bridge switched between them. */
	bool has_stats;
	guint64 rx_packets, rx_bytes, tx_packets, tx_bytes;
} VwLinkInfo;

/* A VXLAN device to create (a VwLinkInfo's vxlan fields do the reading). */
typedef struct {
	guint32 vni;
	VwAddr local;
	uint16_t port;
	int link; /* ifindex of the underlay */
	bool learning;
	unsigned mtu;
} VwVxlanConf;

/* One entry of a VXLAN device's forwarding database: frames to @mac go to
 * the VXLAN endpoint @dst (all zeros: every broadcast, unknown unicast and
 * multicast frame, to each such entry's endpoint). */
typedef struct {
	VwMac mac;
	VwAddr dst;
	bool permanent; /* configured (NUD_PERMANENT), not learned */
} VwFdbEntry;

typedef struct {
	VwPrefix prefix; /* address and prefix length */
	uint32_t flags;	 /* IFA_F_* */
	uint8_t scope;
	uint8_t proto;			   /* IFA_PROTO: who added it (VW_ADDR_PROTO: virtwire) */
	uint32_t valid_lft, preferred_lft; /* seconds; 0xffffffff forever */
} VwAddrInfo;

/* The address protocol (IFA_PROTO, Linux >= 6.1) virtwire gives the
 * addresses it adds to a bridge: `ip addr` shows "proto 118". Teardown
 * removes an address from a bridge it did not create only when it carries
 * this marker. */
#define VW_ADDR_PROTO 118

typedef struct {
	VwPrefix dst;
	VwAddr gateway; /* family 0: none */
	VwAddr prefsrc; /* family 0: none */
	uint32_t metric;
	uint32_t table;
	uint8_t protocol, scope, type;
} VwRouteInfo;

/* What to change on a link: only the fields marked set. */
typedef struct {
	bool set_mac;
	VwMac mac;
	bool set_mtu;
	unsigned mtu;
	bool set_up;
	bool up;
	bool set_master;
	int master; /* ifindex; 0 releases */
	bool set_stp;
	bool stp;
	bool set_delay;
	unsigned forward_delay; /* centiseconds */
	bool set_alias;
	char alias[256];
} VwLinkChange;

typedef struct {
	void *ctx;
	/* 0 or -errno (-ENODEV: no such link). */
	int (*link_get)(void *ctx, const char *name, VwLinkInfo *ret);
	/* Every link of the namespace (VwLinkInfo). */
	int (*link_list)(void *ctx, GArray *ret);
	int (*bridge_add)(void *ctx, const char *name, const VwLinkChange *conf);
	int (*link_del)(void *ctx, const char *name);
	int (*link_change)(void *ctx, const char *name, const VwLinkChange *ch);
	/* -1: leave as it is. */
	int (*port_flags)(void *ctx, const char *port, int hairpin, int isolated);
	/* A bridge port's learning and neighbour suppression (EVPN's VXLAN
	 * port); NULL in a backend that cannot. */
	int (*port_evpn)(void *ctx, const char *port, bool learning, bool neigh_suppress);
	int (*addr_list)(void *ctx, const char *dev, GArray *ret); /* VwAddrInfo */
	int (*addr_add)(void *ctx, const char *dev, const VwAddrInfo *a);
	int (*addr_del)(void *ctx, const char *dev, const VwAddrInfo *a);
	/* Routes of the main table through @dev, except those the kernel makes
	 * itself for addresses (VwRouteInfo). */
	int (*route_list)(void *ctx, const char *dev, GArray *ret);
	int (*route_add)(void *ctx, const char *dev, const VwRouteInfo *r);
	int (*route_del)(void *ctx, const char *dev, const VwRouteInfo *r);
	int (*sysctl_get)(void *ctx, const char *path, char **ret);
	int (*sysctl_set)(void *ctx, const char *path, const char *value);
	/* A VXLAN device, created down and without alias. */
	int (*vxlan_add)(void *ctx, const char *name, const VwVxlanConf *conf);
	/* The forwarding database of VXLAN device @dev (VwFdbEntry, those with
	 * an endpoint); one entry added (appended: several may share the
	 * all-zeros MAC) or deleted. */
	int (*fdb_list)(void *ctx, const char *dev, GArray *ret);
	int (*fdb_add)(void *ctx, const char *dev, const VwFdbEntry *f);
	int (*fdb_del)(void *ctx, const char *dev, const VwFdbEntry *f);
	/* The kernel's explanation of the last failure (extended ack), or NULL. */
	const char *(*last_error)(void *ctx);
	void (*free)(void *ctx);
} VwLinkBackend;

/* The real backend: rtnetlink in the current network namespace. */
VwLinkBackend *vw_link_backend_netlink(GError **error);
void vw_link_backend_free(VwLinkBackend *be);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VwLinkBackend, vw_link_backend_free)

/* Text forms, for state files and messages: "192.168.1.0/24 via 192.168.1.1
 * metric 100 proto 4 scope 0 table 254 type 1". */
char *vw_route_to_string(const VwRouteInfo *r);
bool vw_route_from_string(const char *s, VwRouteInfo *ret);
char *vw_addrinfo_to_string(const VwAddrInfo *a);
bool vw_addrinfo_from_string(const char *s, VwAddrInfo *ret);

/* ====================================================================== */
/* Test switches */

/* Faults a test build injects (tests/virtwire-test, the unit tests); the
 * production CLI and hooks never set any. Zero: no fault. */
typedef struct {
	guint link;  /* the Nth link change fails with a real kernel error */
	guint nft;   /* the batch carries, after its Nth message, one the kernel refuses */
	guint store; /* the Nth record written fails as on a full disk (ENOSPC) */
} VwFaults;

/* ====================================================================== */
/* Link operations */

/*
 * Carries out @owner's link operations of @plan through @be. Each
 * operation looks at the kernel first: what is right already is recorded in
 * @st->links as found, what it changes as created, with what undoes it
 * (earlier applies' creations, per @prev, stay created). The records of
 * this run's changes are also added to @undo. On failure, this run's
 * changes are undone (newest first) and false is returned.
 */
bool vw_link_apply(const VwLinkBackend *be, const VwPlan *plan, const char *owner, const VwState *prev, VwState *st,
		   GPtrArray *undo, const VwFaults *faults, GError **error);
/* Links virtwire makes even where libvirt made the network's bridge (the
 * VXLAN device of a spanning network and its peers' entries). */
bool vw_link_is_virtwires(const VwLinkOp *op);
/* vw_link_apply for those of @owner's operations alone. */
bool vw_link_apply_own(const VwLinkBackend *be, const VwPlan *plan, const char *owner, const VwState *prev, VwState *st,
		       GPtrArray *undo, const VwFaults *faults, GError **error);
/* Sets @owner's VXLAN devices of @plan up (vw_link_apply leaves a new one
 * down): called once the firewall that keeps the host's own frames off the
 * overlay is in place. */
bool vw_link_raise_spans(const VwLinkBackend *be, const VwPlan *plan, const char *owner, GError **error);

/*
 * Undoes the created ones of @links (VwStateLink*) of network @id, newest
 * first. With @recorded (the records come from the state directory, not
 * from this process's own apply), each only where the kernel proves it
 * virtwire's: a link is deleted only when it is of the kind recorded and
 * carries virtwire's marker for @id (VW_LINK_ALIAS_PREFIX ID); an address
 * goes only from such a link or when it carries VW_ADDR_PROTO; settings are
 * restored only on bridges and bridge ports; a sysctl is written only when
 * it is one of those virtwire sets (vw_sysctl_is_virtwires). Anything else
 * is left as it is and named in @notes (char*, may be NULL); what was
 * undone is named in @done ("KIND OBJECT", may be NULL). Best effort: every
 * record is tried; the first failure is reported.
 */
bool vw_link_undo(const VwLinkBackend *be, const char *id, GPtrArray *links, bool recorded, GPtrArray *notes,
		  GPtrArray *done, GError **error);

/* Read-only: every difference between the kernel and @owner's link
 * operations and sysctls in @plan, as VwDrift* into @out. False only when
 * the kernel could not be read. */
bool vw_verify_links(const VwLinkBackend *be, const VwPlan *plan, const char *owner, GPtrArray *out, GError **error);
/* The same for what libvirt made alone: not the links vw_link_is_virtwires. */
bool vw_verify_libvirt_links(const VwLinkBackend *be, const VwPlan *plan, const char *owner, GPtrArray *out,
			     GError **error);

/* True for the sysctls virtwire ever writes (paths under /proc/sys, as
 * "net/ipv4/ip_forward"): forwarding, and a bridge's disable_ipv6,
 * accept_ra, autoconf and route_localnet. Nothing else is ever written,
 * whatever a record says. */
bool vw_sysctl_is_virtwires(const char *path);

/* ====================================================================== */
/* Differences */

/* What a difference is about. */
typedef enum {
	VW_DRIFT_FIREWALL, /* table inet virtwire, or virtwire's rules in libvirt's tables */
	VW_DRIFT_LINK,	   /* a bridge, its MAC, MTU, STP, addresses; bridged mode's uplink */
	VW_DRIFT_SYSCTL,   /* a sysctl virtwire sets */
	VW_DRIFT_PORT,	   /* a bridge port's flags (set as guests plug in) */
	VW_DRIFT_HOST,	   /* a host firewall will drop what virtwire admits */
} VwDriftKind;

/* One difference between the kernel and the plan. */
typedef struct {
	VwDriftKind kind;
	char *object; /* "map fwd4", "chain forward", "table" */
	char *what;   /* "element tcp . 2222 … is missing" */
} VwDrift;

void vw_drift_free(VwDrift *d);
/* Appends a VwDrift of @kind to @drift. */
void vw_drift_add(GPtrArray *drift, VwDriftKind kind, const char *object, const char *fmt, ...) G_GNUC_PRINTF(4, 5);

/* ====================================================================== */
/* nftables */

struct nlmsghdr;
struct iovec;

/* Receives one reply message; returns as libmnl's callbacks do (MNL_CB_OK
 * to go on, MNL_CB_STOP to stop, MNL_CB_ERROR on failure). */
typedef int (*VwNftReplyFn)(const struct nlmsghdr *nlh, void *data);

/*
 * The kernel's nftables as the executor reaches it, through a small table
 * of functions like VwLinkBackend: the netlink one for real, and in the unit
 * tests a fake that keeps rulesets in memory and answers the same messages.
 * Everything above it — reading the table, diffing it against the plan,
 * building the batch, generations, the rules in libvirt's tables — is the
 * same code for both.
 */
typedef struct {
	void *ctx;
	/* Sends one request (a get, or a dump) and hands every reply message to
	 * @cb. 0; -ENOENT when what was asked for is not there; -EINTR when a
	 * dump was interrupted by a change (read it again); another -errno. */
	int (*request)(void *ctx, const struct nlmsghdr *req, VwNftReplyFn cb, void *data);
	/* Commits a batch (@iov: its messages, batch begin and end included):
	 * all of it or none. 0, or the -errno of the first message refused,
	 * with its sequence number in *@seq and the kernel's explanation (its
	 * extended ack, newly allocated) in *@ext, or NULL. */
	int (*commit)(void *ctx, const struct iovec *iov, size_t n, uint32_t *seq, char **ext);
	void (*free)(void *ctx);
} VwNftBackend;

/* The real backend: nfnetlink in the current network namespace. */
VwNftBackend *vw_nft_backend_netlink(GError **error);
void vw_nft_backend_free(VwNftBackend *be);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VwNftBackend, vw_nft_backend_free)

typedef enum {
	VW_NFT_DRY_RUN = 1 << 0,      /* compare only: send nothing */
	VW_NFT_DELETE_TABLE = 1 << 1, /* remove the whole table (the last network went) */
	VW_NFT_REBUILD = 1 << 2,      /* delete and re-create the table in the same batch */
	VW_NFT_RELEASED = 1 << 3,     /* say which forwards the batch took away (VwNftResult.released) */
} VwNftFlags;

/* What to reconcile, and how. */
typedef struct {
	/* Owner tags (see vw_plan_port_owner; "NAME:*" matches every port of
	 * NAME) whose chains and elements are made to match the plan. */
	GPtrArray *scope;
	VwNftFlags flags;
	/* Words for an owner tag in a conflict's message ("network 'web'");
	 * NULL, or NULL returned: the tag itself. */
	char *(*owner_words)(const char *tag, void *data);
	void *data;
	const VwFaults *faults; /* may be NULL */
} VwNftRequest;

/* Where a forward listens: on one of the host's addresses, on any (but
 * loopback), or on loopback (127.0.0.0/8, with <vw:localhost>). Each is a
 * map of its own (plan-nft.c: fwd4, fwd4any, fwd4lo, fwd6, fwd6any). */
typedef enum {
	VW_LISTEN_ADDRESS,
	VW_LISTEN_ANY,
	VW_LISTEN_LOOPBACK,
} VwListen;

/* A forward a committed batch took away: its DNAT element is gone, or
 * points elsewhere now. The connections it DNATed (to @target) are stale. */
typedef struct {
	int family;    /* AF_INET, AF_INET6 */
	uint8_t proto; /* VW_PROTO_* */
	VwListen listen;
	VwAddr address; /* VW_LISTEN_ADDRESS: the listen address */
	uint16_t port;	/* the host port */
	VwAddr target;	/* the guest it DNATed to, and its port */
	uint16_t target_port;
	char *owner;	   /* the element's owner tag, or NULL */
	guint connections; /* how many of its connections vw_ct_end ended */
} VwReleased;

void vw_released_free(VwReleased *r);
/* "tcp 203.0.113.1:8080 → 192.168.150.10:80", "udp *:53 → …", "tcp 127.0.0.0/8:2222 → …" */
char *vw_released_describe(const VwReleased *r);

/* What a reconcile did. */
typedef struct {
	GPtrArray *drift; /* VwDrift*: every difference found */
	guint messages;	  /* netlink messages sent (0: nothing changed) */
	guint elements_added, elements_deleted;
	/* The ruleset's generation when the reconcile read the kernel and
	 * when it was done (equal when nothing was sent). */
	bool have_gen;
	uint32_t gen_before, gen_after;
	/* With VW_NFT_RELEASED: the forwards (VwReleased*) the committed batch
	 * took away — deleted, or re-pointed to another target. NULL or empty
	 * when nothing was committed. */
	GPtrArray *released;
} VwNftResult;

void vw_nft_result_free(VwNftResult *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VwNftResult, vw_nft_result_free)

/*
 * Makes table inet virtwire match @plan for the owners in @req->scope:
 * their chains and elements are added, replaced or deleted; the shared
 * skeleton is repaired; virtwire's rules in libvirt's tables (plan->coexist)
 * too; everything else is left alone. A desired element whose key another
 * owner holds in the kernel fails with VW_ERROR_CONFLICT before anything is
 * sent, worded with vw_plan_conflict_message. A skeleton of another layout
 * fails with VW_ERROR_INCOMPATIBLE (the caller may retry with
 * VW_NFT_REBUILD and a plan of every network). @plan may be NULL with
 * VW_NFT_DELETE_TABLE.
 *
 * The batch is tied to the ruleset's generation virtwire read (the kernel
 * refuses it whole if anyone committed in between): then the table is read
 * and diffed again, a few times, before giving up with nothing changed.
 */
bool vw_nft_reconcile(const VwNftBackend *be, const VwPlan *plan, const VwNftRequest *req, VwNftResult **ret,
		      GError **error);

/* A port's change as a delta (nft-delta.c). */
typedef struct {
	const char *owner;    /* the port's owner tag (vw_plan_port_owner) */
	uint32_t gen;	      /* the generation virtwire's last commit left, as recorded */
	const char *recorded; /* the port's elements that commit left (vw_nft_port_elems); NULL or "": none */
	const VwFaults *faults;
	/* An edited network's own forwards (engine/edit.c): @owner is the
	 * network's id, @plan holds its new and changed forwards, @recorded
	 * (vw_nft_edit_recorded) those they replace. Only forward and counter
	 * sets count; besides another owner's key, undecided are: a key wanted
	 * anew that the network holds already (two forwards of one network), a
	 * host port held on the other kind of listen address (one address or
	 * every address, as check-together.c claims them), a counter another
	 * owner holds. */
	bool edit;
} VwNftDelta;

/* The elements of @owner in @plan as a short text for its record (which
 * vw_nft_delta reads back); NULL when they are too many, or of a kind a
 * delta leaves to the full reconcile. */
char *vw_nft_port_elems(const VwPlan *plan, const char *owner);
/* The same for each owner of @owners (interned tags, g_intern_string, as
 * the plan's elements carry them) in one pass over @plan: a table from each
 * of them to its text (g_free), NULL where vw_nft_port_elems gives NULL. */
GHashTable *vw_nft_owners_elems(const VwPlan *plan, GPtrArray *owners);
/* For an edited network (VwNftDelta.edit): the forward and counter elements
 * of @owner in @old (the plan of the forwards an edit replaces) as the text
 * vw_nft_delta reads, but a counter that @new (the forwards that replace
 * them) or @kept (forwards the edit keeps; may be NULL) still wants stays out
 * of it (it stays in the kernel). A counter no forward known here wants goes
 * only when @unshared (the caller knows no other forward counts on it);
 * else NULL: whether another forward of the network shares it is not known
 * without all of them. */
char *vw_nft_edit_recorded(const VwPlan *old, const VwPlan *new, const VwPlan *kept, bool unshared, const char *owner);

/*
 * Makes port @req->owner's elements in the kernel those of @plan (none:
 * a plan without them, the port goes), knowing the kernel holds what the
 * record says: the ruleset still at @req->gen, the port's elements there
 * those of @req->recorded. Each of them is asked for by its key, nothing
 * else is read; the differences are one batch tied to @req->gen. The result
 * is as vw_nft_reconcile's (released forwards included). *@undecided, with
 * nothing sent and no error, when the full reconcile must decide: another
 * owner holds a key (a conflict, which it words), the generation moved, the
 * kernel refused the batch, or an element is of a kind a delta leaves alone.
 */
bool vw_nft_delta(const VwNftBackend *be, const VwPlan *plan, const VwNftDelta *req, VwNftResult **ret, bool *undecided,
		  GError **error);

/* The generation of the network namespace's ruleset: it changes with every
 * batch anyone commits. */
bool vw_nft_generation(const VwNftBackend *be, uint32_t *gen, GError **error);

/* Whether table inet virtwire exists, and (when @ids is not NULL) the ids
 * of the networks that own anything in it (elements' owners, chains
 * nw-ID-*), as char* into @ids. */
bool vw_nft_table_owners(const VwNftBackend *be, bool *exists, GPtrArray *ids, GError **error);

/* A counted forward target (sets fwd4count, fwd6count). */
typedef struct {
	int family;
	uint8_t proto;
	VwAddr addr;
	uint16_t port;
	char *owner;
	guint64 packets, bytes;
} VwCounter;

void vw_counter_free(VwCounter *c);
/* Every counted target in the kernel (VwCounter*); an empty list when the
 * table is not there. */
bool vw_nft_counters(const VwNftBackend *be, GPtrArray *ret, GError **error);

/* The frames table bridge virtwire dropped as spoofed, per network id
 * (char* → guint64*, into @ret, which frees both): the sum of the counters
 * of the network's elements and its ports'. Nothing when the table is not
 * there. */
bool vw_nft_spoofed(const VwNftBackend *be, GHashTable *ret, GError **error);

/* ====================================================================== */
/* Conntrack: the connections of forwards that went away
 *
 * A forward's DNAT happens once, at a connection's first packet; conntrack
 * then carries the connection to the guest it chose for as long as packets
 * flow. So when a forward is removed or re-pointed, its established
 * connections are ended by deleting their conntrack entries (ctnetlink):
 * the next packet of each is seen afresh — by the forward's new target
 * (which resets a TCP connection it does not know) or by the host itself.
 *
 * The executor reaches conntrack through a VwCtBackend, like nftables
 * through a VwNftBackend: one function that sends a request (a dump, or a
 * deletion) and hands every reply message to a callback. The real one is a
 * netfilter netlink socket of the current network namespace; the unit
 * tests' fake (tests/unit/fake-ct.c) keeps a conntrack table in memory. */

typedef struct {
	void *ctx;
	/* As VwNftBackend's request: 0; -ENOENT when the entry asked for is
	 * not there (any more); another -errno. */
	int (*request)(void *ctx, const struct nlmsghdr *req, VwNftReplyFn cb, void *data);
	void (*free)(void *ctx);
} VwCtBackend;

/* The real backend: ctnetlink in the current network namespace. */
VwCtBackend *vw_ct_backend_netlink(GError **error);
void vw_ct_backend_free(VwCtBackend *be);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VwCtBackend, vw_ct_backend_free)

/*
 * Ends the connections the forwards in @released (VwReleased*) admitted:
 * the conntrack entries DNATed by one of them — original direction to its
 * protocol and host port (and its listen address: one address, any but
 * loopback, or loopback), reply direction from its target address and
 * port — are deleted, each by its tuple and id, so exactly those go and a
 * connection that took an entry's place meanwhile stays. Every other entry
 * is left alone. One dump per address family among @released. *@ended gets
 * how many were deleted (those already gone do not count), and each
 * forward's own count is in its @connections. False when
 * conntrack could not be read or an entry not deleted; *@ended still
 * counts the ones that were.
 */
bool vw_ct_end(const VwCtBackend *be, GPtrArray *released, guint *ended, GError **error);
/* Host firewalls */

/* A base chain of another table that will drop what virtwire admits: it
 * drops what reaches its end and accepts nothing carrying VW_CT_MARK
 * before that (itself, or in a chain it jumps to). */
typedef struct {
	int family;	   /* NFPROTO_IPV4, NFPROTO_IPV6, NFPROTO_INET */
	char *table;	   /* "filter", "firewalld" */
	char *chain;	   /* "FORWARD", "filter_INPUT" */
	uint32_t hook;	   /* NF_INET_FORWARD or NF_INET_LOCAL_IN */
	int32_t prio;	   /* below virtwire's filter - 10, it runs before the mark is set */
	bool policy_drop;  /* its policy drops (else: its last rule drops or rejects all) */
	bool accepts_dnat; /* it accepts DNATed connections first: port forwards pass */
	bool iptables;	   /* iptables' own chain: @rule is an iptables command */
	char *rule;	   /* the command that lets virtwire's connections through */
} VwBlocker;

void vw_blocker_free(VwBlocker *b);

/* Every base chain of the forward and input hooks of another table that
 * will drop what virtwire admits, as VwBlocker* into @ret (sorted), and
 * whether firewalld's rules are in the ruleset (*@firewalld: it runs).
 * Reads every chain and the rules of the tables with such a base chain;
 * changes nothing. */
bool vw_nft_blockers(const VwNftBackend *be, GPtrArray *ret, bool *firewalld, GError **error);

/* firewalld, over its D-Bus API on the system bus. */
typedef struct VwFirewalld VwFirewalld;

/* Connects to firewalld; *@ret is NULL (and the call succeeds) when there
 * is no system bus (its socket absent: not even tried) or firewalld is not
 * running: never activated. */
bool vw_firewalld_open(VwFirewalld **ret, GError **error);
void vw_firewalld_close(VwFirewalld *fw);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VwFirewalld, vw_firewalld_close)
/* Whether firewalld's runtime configuration has zone @zone. */
bool vw_firewalld_has_zone(VwFirewalld *fw, const char *zone, bool *ret, GError **error);
/* firewalld's default zone: where the traffic of an interface in no zone goes. */
bool vw_firewalld_default_zone(VwFirewalld *fw, char **ret, GError **error);
/* The zone interface @iface is bound to ("" when none: the default zone
 * applies). */
bool vw_firewalld_zone_of(VwFirewalld *fw, const char *iface, char **ret, GError **error);

typedef enum {
	VW_FIREWALLD_BOUND,	/* bound now */
	VW_FIREWALLD_ALREADY,	/* it was */
	VW_FIREWALLD_ELSEWHERE, /* it is in another zone: left there */
} VwFirewalldBind;

/* Binds @iface to @zone at runtime, unless it is bound to a zone already. */
bool vw_firewalld_bind(VwFirewalld *fw, const char *zone, const char *iface, VwFirewalldBind *ret, GError **error);
/* Unbinds @iface if it is bound to @zone (*@removed says whether it was). */
bool vw_firewalld_unbind(VwFirewalld *fw, const char *zone, const char *iface, bool *removed, GError **error);

/* virtwire's configuration file, for the settings of the host. */
#define VW_CONFIG_FILE_DEFAULT "/etc/virtwire/virtwire.conf"

/* [host-firewall] integrate=yes|no of the file at @path (a missing file, or
 * no such key: yes). VW_ERROR_INVALID when the file or the value is not
 * understood. */
bool vw_config_host_firewall(const char *path, bool *integrate, GError **error);

/* ====================================================================== */
/* The host's listening sockets */

/* A TCP socket in LISTEN, or a UDP socket bound and not connected. */
typedef struct {
	VwProto proto;
	VwAddr addr; /* bound to; all zeros: every address of its family */
	uint16_t port;
	bool v6only; /* an IPv6 wildcard socket that does not take IPv4 */
	uint32_t uid;
	uint64_t inode; /* `ss -e` shows it, with the process (-p) */
} VwListener;

/* Appends the listening sockets of the current network namespace, read
 * over sock_diag netlink, to @ret (VwListener). */
bool vw_listeners(GArray *ret, GError **error);

/* ====================================================================== */
/* The state directory */

/*
 * Where virtwire records what it applied (default /run/virtwire; see
 * docs/state.md). It is root's alone: created 0700 and owned by the user
 * virtwire runs as; an existing one owned by anybody else, or writable by
 * group or others, is refused (VW_ERROR_STATE). Every file is opened
 * relative to the directory, never through a symbolic link, new ones
 * exclusively, and written atomically (temporary file, fsync, rename). A
 * record's file name does not depend on the length of the network's name.
 */
typedef struct VwStore VwStore;

/* Opens the directory @dir; @create makes it (0700) when it is missing.
 * Without @create, a missing directory is VW_ERROR_NOT_FOUND. */
bool vw_store_open(const char *dir, bool create, VwStore **ret, GError **error);
void vw_store_close(VwStore *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VwStore, vw_store_close)
const char *vw_store_dir(const VwStore *s);
void vw_store_set_faults(VwStore *s, const VwFaults *faults);

/* Takes the directory's lock, waiting up to @timeout_ms for another
 * virtwire (VW_ERROR_BUSY after that). Held until vw_store_unlock or
 * vw_store_close. */
bool vw_store_lock(VwStore *s, guint timeout_ms, GError **error);
void vw_store_unlock(VwStore *s);

/* NAME's record, with its XML. VW_ERROR_NOT_FOUND when there is none;
 * VW_ERROR_STATE when it is damaged, truncated, of another version, or its
 * XML is missing (the message names the file). */
bool vw_store_load(VwStore *s, const char *name, VwState **ret, GError **error);
/* The same without reading the XML (->xml NULL): the calls that only
 * compare a text with it (vw_store_xml_holds), which at 10,000 forwards is
 * a megabyte not read into memory. */
bool vw_store_load_record(VwStore *s, const char *name, VwState **ret, GError **error);
/* NAME's XML copy is exactly @xml (@len bytes), compared block by block. */
bool vw_store_xml_holds(VwStore *s, const char *name, const char *xml, gsize len);
/* Writes @st (and its XML) durably: when it returns true, the record is on
 * disk; when false, the previous record (if any) is still there, whole. */
bool vw_store_save(VwStore *s, const VwState *st, GError **error);
bool vw_store_remove(VwStore *s, const char *name, GError **error);
/* The names of every network with a record (or a damaged record), sorted. */
GPtrArray *vw_store_list(VwStore *s);
/* The file that holds NAME's XML copy, for messages. */
char *vw_store_xml_path(const VwStore *s, const char *name);
/* That file's identity (device, inode, modification time, size): records
 * are written to a new file renamed into place, so any write changes it.
 * NULL when it is not there. */
char *vw_store_xml_identity(VwStore *s, const char *name);

/* Domains with forwards, recorded by the qemu/lxc hooks (domains/UUID.xml):
 * their XML is what a port's forwards are planned from. */
bool vw_store_save_domain(VwStore *s, const char *uuid, const char *xml, GError **error);
/* VW_ERROR_NOT_FOUND when there is no record. */
bool vw_store_load_domain(VwStore *s, const char *uuid, char **ret, GError **error);
bool vw_store_remove_domain(VwStore *s, const char *uuid, GError **error);
GPtrArray *vw_store_list_domains(VwStore *s);

/*
 * The firewall's generation record (firewall.gen): the kernel counts every
 * batch committed to a network namespace's ruleset, by anyone. When
 * virtwire's own reconcile was the only commit since the record was last
 * right, the networks it reconciled are known to match their plans at the
 * new generation; while the generation stays, they still do, and a repeat
 * apply need not read the table back.
 */
/* Network @id matched a plan of @digest at generation @gen. */
bool vw_store_gen_current(VwStore *s, guint32 gen, const char *id, const char *digest);
/* After a reconcile (@res) of the networks @ids: their @digests are
 * recorded at its new generation (NULL: forgotten); the other networks'
 * stay only if the record was right before it and nobody else committed
 * meanwhile. A cache: a failure to write it only costs a full read later. */
void vw_store_gen_update(VwStore *s, const VwNftResult *res, GPtrArray *ids, GPtrArray *digests);
/* The generation (into *@gen) at which network @id is recorded as matching
 * a plan of its records; false when it is not (any more). */
bool vw_store_gen_of(VwStore *s, const char *id, guint32 *gen);
/* Network @id matched its plan at generation @gen, and that plan was made
 * from what digests to @input (its input digest, engine/unchanged.c). */
bool vw_store_gen_unchanged(VwStore *s, guint32 gen, const char *id, const char *input);
/* The input digest recorded for network @id, at any generation; NULL when
 * there is none. */
char *vw_store_gen_input(VwStore *s, const char *id);
/* While the record is at generation @gen: the input digests @inputs (char*,
 * NULL: forgotten) of the networks @ids that it holds. Written only when
 * that changes it. */
void vw_store_gen_set_inputs(VwStore *s, guint32 gen, GPtrArray *ids, GPtrArray *inputs);

/* The addresses virtwire watch learned (VwLearned* into *@ret; none when
 * the file is not there). VW_ERROR_STATE when it is damaged. */
bool vw_store_load_learned(VwStore *s, GPtrArray **ret, GError **error);
/* Replaces them with @entries, atomically. */
bool vw_store_save_learned(VwStore *s, GPtrArray *entries, GError **error);
/* Changes whenever a file of the directory is written, renamed or removed
 * (its modification time): a long-running virtwire reads the records again
 * only when it moved. */
guint64 vw_store_stamp(VwStore *s);

/* ====================================================================== */
/* Kernel events (virtwire watch)
 *
 * What the kernel announces as the ruleset, links and neighbours change:
 * its notifications, read as they come; nothing is polled. */

typedef enum {
	VW_EVENT_NFT,  /* a batch was committed to the ruleset (by anyone) */
	VW_EVENT_LINK, /* a link appeared, changed or went */
	VW_EVENT_NEIGH, /* an IPv4 or IPv6 neighbour entry, or a VXLAN forwarding entry (fdb), appeared, changed or went */
	VW_EVENT_LOST, /* the kernel dropped notifications (a full buffer): anything may have changed */
} VwEventKind;

typedef struct {
	VwEventKind kind;
	/* VW_EVENT_NFT: the batch's new generation, who committed it, and
	 * what its messages touched */
	uint32_t gen, pid;
	char comm[16];	 /* the committing process's name */
	bool table;	 /* table inet virtwire */
	bool base_chain; /* a base chain of another table was created, changed or deleted */
	bool watched;	 /* one of the tables given to vw_events_open */
	/* VW_EVENT_LINK, VW_EVENT_NEIGH */
	int ifindex;
	bool deleted;
	/* VW_EVENT_LINK */
	char name[IFNAMSIZ];
	int master; /* the ifindex of its bridge; 0: none */
	/* VW_EVENT_NEIGH */
	VwAddr addr;
	bool has_mac;
	VwMac mac;
	uint16_t state; /* NUD_* */
	bool dump;	/* an answer to vw_events_dump_neighbours, not news */
	bool fdb;	/* an entry of a VXLAN device's forwarding database (AF_BRIDGE
			 * with an endpoint): addr is the remote VTEP, mac the MAC */
	/* VW_EVENT_LOST */
	bool rtnl; /* links' and neighbours' (else the ruleset's) */
} VwEvent;

typedef void (*VwEventFn)(const VwEvent *ev, void *data);

/* A table of the ruleset: family (NFPROTO_*) and name. */
typedef struct {
	int family;
	const char *name;
} VwTableName;

typedef struct VwEvents VwEvents;

/* Listens to the kernel's nftables, link and neighbour notifications in the
 * current network namespace. A batch that touches one of the @n tables of
 * @watched says so (VwEvent.watched). */
bool vw_events_open(const VwTableName *watched, size_t n, VwEvents **ret, GError **error);
void vw_events_close(VwEvents *ev);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VwEvents, vw_events_close)
/* The descriptors to wait on: 0 the ruleset's, 1 links' and neighbours'. */
int vw_events_fd(const VwEvents *ev, guint i);
/* Reads what descriptor @i has queued, without waiting: each event to @cb
 * (a batch when its end has come). False only when the socket fails. */
bool vw_events_read(VwEvents *ev, guint i, VwEventFn cb, void *data, GError **error);
/* Asks for every neighbour entry: they come from vw_events_read as
 * VW_EVENT_NEIGH. */
bool vw_events_dump_neighbours(VwEvents *ev, GError **error);
/* Notification messages read so far. */
guint64 vw_events_count(const VwEvents *ev);

/* ====================================================================== */
/* The log (log/log.c, docs/logging.md)
 *
 * What the hooks, and the commands that change the host, did: each call
 * (its operation, result and duration), each change it made, each warning
 * and failure. To the journal with structured fields (SYSLOG_IDENTIFIER
 * virtwire, VIRTWIRE_*), to syslog where there is no journal, and on stderr
 * where the process asks. Process-wide, as syslog is: nothing is logged
 * until vw_log_open (the unit tests, and the read-only commands, log
 * nothing); a sink takes the records in the unit tests. */

/* One record. Unset fields (NULL, 0, negative) are left out; the network
 * and domain default to the context's (vw_log_set_subject). */
typedef struct {
	int priority;	     /* syslog(3)'s: LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO */
	const char *message; /* one line, complete in itself */
	const char *network; /* VIRTWIRE_NETWORK */
	const char *domain;  /* VIRTWIRE_DOMAIN */
	const char *object;  /* VIRTWIRE_OBJECT: what a change changed ("map fwd4any", "bridge vw-lab") */
	const char *code;    /* VIRTWIRE_CODE: a finding's code ("port-in-use") */
	int line;	     /* VIRTWIRE_LINE: a finding's line in `virsh net-dumpxml`/`dumpxml` */
	const char *result;  /* VIRTWIRE_RESULT: a call's outcome ("ok", "failed" …); set only on a call's summary */
	gint64 duration_ms;  /* VIRTWIRE_DURATION_MS: a call's duration (with @result) */
} VwLogRecord;

typedef enum {
	VW_LOG_SYSTEM = 1 << 0,	  /* the journal; syslog when its socket is not there */
	VW_LOG_STDERR = 1 << 1,	  /* every record on stderr too (the commands' -v) */
	VW_LOG_PROBLEMS = 1 << 2, /* warnings and failures on stderr too (the hooks: libvirt shows them) */
} VwLogFlags;

/* Records from now on go where @flags say. */
void vw_log_open(guint flags);
/* What records are about from now on: VIRTWIRE_OPERATION ("network
 * started", "qemu prepare", "apply" …). */
void vw_log_set_operation(const char *operation);
/* The network and the domain (NULL: none) records are about by default. */
void vw_log_set_subject(const char *network, const char *domain);
/* Nothing is logged any more. */
void vw_log_close(void);

/* The unit tests' seam: every record, as it would be sent, goes to @sink
 * (with the operation) instead of the journal, syslog and stderr; NULL: back
 * to them. */
typedef void (*VwLogSink)(const VwLogRecord *r, const char *operation, void *data);
void vw_log_set_sink(VwLogSink sink, void *data);

/* Whether anything is logged at all (vw_log_open was called). */
bool vw_log_enabled(void);
void vw_log_record(const VwLogRecord *r);
/* A call's summary: @result ("ok", "failed", "skipped"), its duration since
 * @started_us (g_get_monotonic_time()), at LOG_ERR when it failed and
 * LOG_INFO otherwise; the message is @fmt's, and " (N ms)". */
/* journald's socket for the native protocol. */
#define VW_JOURNAL_SOCKET "/run/systemd/journal/socket"
/* One record (its fields as KEY=VALUE) to the journal (log/journal.c);
 * false when it could not be sent (log.c then falls back to syslog). */
bool vw_journal_sendv(const struct iovec *iov, int n);
/* The datagram vw_journal_sendv sends for these fields. */
GByteArray *vw_journal_encode(const struct iovec *iov, int n);
void vw_log_call(const char *result, gint64 started_us, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
/* A change a call made, at LOG_NOTICE: "network 'NET': OBJECT: WHAT". */
void vw_log_change(const char *network, const char *object, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
