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
	char kind[16];     /* "bridge", "veth", "" … */
	bool has_mac;
	VwMac mac;
	unsigned mtu;
	bool up;           /* IFF_UP */
	int master;        /* ifindex of the bridge it is enslaved to, or 0 */
	char alias[256];
	/* bridges */
	bool stp;
	unsigned forward_delay; /* centiseconds, as the kernel keeps it */
	/* bridge ports */
	bool is_port;
	bool hairpin;
	bool isolated;
} VwLinkInfo;

typedef struct {
	VwPrefix prefix;   /* address and prefix length */
	uint32_t flags;    /* IFA_F_* */
	uint8_t scope;
	uint32_t valid_lft, preferred_lft; /* seconds; 0xffffffff forever */
} VwAddrInfo;

typedef struct {
	VwPrefix dst;
	VwAddr gateway;    /* family 0: none */
	VwAddr prefsrc;    /* family 0: none */
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
	int master;        /* ifindex; 0 releases */
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
/* nftables */

/* One difference between the kernel and the plan. */
typedef struct {
	char *object;   /* "map fwd4", "chain forward", "table" */
	char *what;     /* "element tcp . 2222 … is missing" */
} VwDrift;

void vw_drift_free(VwDrift *d);
/* Appends a VwDrift to @drift. */
void vw_drift_add(GPtrArray *drift, const char *object, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

typedef enum {
	VW_NFT_DRY_RUN = 1 << 0,      /* compare only: send nothing */
	VW_NFT_DELETE_TABLE = 1 << 1, /* remove the whole table (the last network went) */
	VW_NFT_REBUILD = 1 << 2,      /* delete and re-create the table in the same batch */
} VwNftFlags;

/* What a reconcile did. */
typedef struct {
	GPtrArray *drift;   /* VwDrift*: every difference found */
	guint messages;     /* netlink messages sent (0: nothing changed) */
	guint elements_added, elements_deleted;
	/* The ruleset's generation when the reconcile read the kernel and
	 * when it was done (equal when nothing was sent). */
	bool have_gen;
	uint32_t gen_before, gen_after;
} VwNftResult;

void vw_nft_result_free(VwNftResult *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VwNftResult, vw_nft_result_free)

/*
 * Makes table inet virtwire match @plan for the owners in @scope (owner
 * tags, see vw_plan_port_owner; "NAME:*" matches every port of NAME): their
 * chains and elements are added, replaced or deleted; the shared skeleton is
 * repaired; everything else is left alone. A desired element whose key
 * another owner holds in the kernel fails with VW_ERROR_CONFLICT before
 * anything is sent. A skeleton of another layout fails with
 * VW_ERROR_INCOMPATIBLE (the caller may retry with VW_NFT_REBUILD and a plan
 * of every network).
 */
bool vw_nft_reconcile(const VwPlan *plan, GPtrArray *scope, VwNftFlags flags, VwNftResult **ret, GError **error);

bool vw_nft_table_exists(bool *ret, GError **error);

/* After a reconcile (@res) of the networks @ids: their @digests
 * (vw_plan_digest) are recorded at its new generation (NULL: forgotten); the
 * other networks' stay only if the record was right before it and nobody
 * else committed meanwhile. See vw_state_gen_current. */
void vw_state_gen_update(const char *dir, const VwNftResult *res, GPtrArray *ids, GPtrArray *digests);

/* The generation of the network namespace's ruleset: it changes with every
 * batch anyone commits (see vw_state_gen_current). */
bool vw_nft_generation(uint32_t *gen, GError **error);

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
bool vw_nft_counters(GPtrArray *ret, GError **error);

/*
 * Carries out @owner's link operations of @plan through @be. Each
 * operation looks at the kernel first: what is right already is recorded in
 * @st->links as found, what it changes as created, with what undoes it
 * (earlier applies' creations, per @prev, stay created). The records of
 * this run's changes are also added to @undo. On failure, this run's
 * changes are undone (newest first) and false is returned.
 * VIRTWIRE_FAULT=link:N makes the Nth change fail with a kernel error.
 */
bool vw_link_apply(const VwLinkBackend *be, const VwPlan *plan, const char *owner, const VwState *prev,
		   VwState *st, GPtrArray *undo, GError **error);
/* Undoes the created ones of @links (VwStateLink*), newest first. Best
 * effort: every record is tried, the first failure is reported. */
bool vw_link_undo(const VwLinkBackend *be, GPtrArray *links, GError **error);

/* Read-only: every difference between the kernel and @owner's link
 * operations and sysctls in @plan, as VwDrift* into @out. False only when
 * the kernel could not be read. */
bool vw_verify_links(const VwLinkBackend *be, const VwPlan *plan, const char *owner, GPtrArray *out,
		     GError **error);

/* Sysctls: read and write /proc/sys (the root of /proc/sys can be moved for
 * tests with VIRTWIRE_SYSCTL_ROOT). */
bool vw_sysctl_read(const char *path, char **ret, GError **error);
bool vw_sysctl_write(const char *path, const char *value, GError **error);
