/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Links, addresses, routes and bridge ports: the kernel objects of a network
 * besides its firewall.
 *
 * The executor reaches the kernel only through a VwLinkBackend, a small
 * table of functions: the netlink one for real, a recording fake in the unit
 * tests (which can fail operation N, to test rollback without root).
 */
#pragma once

#include <glib.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include <virtwire/addr.h>

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
