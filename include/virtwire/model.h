/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The model: libvirt's network, domain and networkport XML (and virtwire's
 * <metadata>) as plain C structs. Produced by xml/, consumed by the checker,
 * the planner and the hooks. Nothing here depends on libxml2.
 *
 * Every object records where it came from (VwLoc) for diagnostics. Optional
 * values carry a "has_" flag or a tristate, so "unset" is never confused with
 * zero or "no".
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include <virtwire/addr.h>
#include <virtwire/diag.h>

#define VW_NS_URI "urn:virtwire:1"
#define VW_NS_PREFIX "urn:virtwire:"

/* Hard caps on user-controlled counts. */
#define VW_MAX_FORWARDS 262144    /* per network (and per domain) */
#define VW_MAX_SOURCES 64         /* per forward */
#define VW_MAX_IPS 64             /* <ip> per network */
#define VW_MAX_DHCP_RANGES 256    /* per <ip> */
#define VW_MAX_DHCP_HOSTS 65536   /* per <ip> */
#define VW_MAX_INTERFACES 1024    /* per domain */
#define VW_MAX_UPLINKS 8          /* vw:nat uplink devices */
#define VW_MAX_FILE_SIZE (256u << 20)

typedef enum {
	VW_TRI_UNSET = 0,
	VW_TRI_NO,
	VW_TRI_YES,
} VwTristate;

/* libvirt's <forward mode>. NONE is the isolated network (no <forward>). */
typedef enum {
	VW_FWD_NONE,
	VW_FWD_NAT,
	VW_FWD_ROUTE,
	VW_FWD_OPEN,
	VW_FWD_BRIDGE,
	VW_FWD_PRIVATE,
	VW_FWD_VEPA,
	VW_FWD_PASSTHROUGH,
	VW_FWD_HOSTDEV,
	VW_FWD__COUNT
} VwForwardMode;

/* virtwire's mode (vw:network mode=...). */
typedef enum {
	VW_MODE_UNSET,
	VW_MODE_NAT,
	VW_MODE_ROUTE,
	VW_MODE_HOST_ONLY,
	VW_MODE_INTERNAL,
	VW_MODE_BRIDGED,
	VW_MODE__COUNT
} VwMode;

typedef enum {
	VW_PROTO_TCP = 6,
	VW_PROTO_UDP = 17,
	VW_PROTO_SCTP = 132,
} VwProto;

const char *vw_forward_mode_to_string(VwForwardMode m);
bool vw_forward_mode_from_string(const char *s, VwForwardMode *ret);
const char *vw_mode_to_string(VwMode m);
bool vw_mode_from_string(const char *s, VwMode *ret);
const char *vw_proto_to_string(VwProto p);
bool vw_proto_from_string(const char *s, VwProto *ret);

/* An inclusive port range; lo == hi for a single port. */
typedef struct {
	uint16_t lo, hi;
} VwPortRange;

static inline unsigned vw_port_range_len(VwPortRange r)
{
	return (unsigned)r.hi - r.lo + 1;
}

/* <dhcp><range start end/> */
typedef struct {
	VwAddr start, end;
	VwLoc loc;
} VwDhcpRange;

/* <dhcp><host mac ip name/> */
typedef struct {
	bool has_mac;
	VwMac mac;
	VwAddr ip; /* family 0 when absent */
	char *name;
	VwLoc loc;
} VwDhcpHost;

/* <ip address netmask|prefix family> */
typedef struct {
	VwAddr address;
	unsigned prefix;
	bool has_prefix; /* from prefix= or netmask= */
	GPtrArray *ranges; /* VwDhcpRange* */
	GPtrArray *hosts;  /* VwDhcpHost* */
	bool has_dhcp;
	VwLoc loc;
} VwIp;

/* <vw:source address/>: one entry of a forward's allow-list. */
typedef struct {
	VwPrefix prefix;
	VwLoc loc;
} VwSource;

/* One port forward, of a network (vw:network/vw:forward) or of a domain
 * (vw:domain/vw:forward). */
typedef struct {
	char *name;  /* optional */
	VwProto proto;
	bool has_proto;
	VwAddr listen; /* address=; family 0: every local address of the host */
	VwPortRange host;
	bool has_host_port;
	VwPortRange guest; /* guest-port=; equals host when absent */
	bool has_guest_port;
	VwAddr guest_addr; /* guest-address= */
	bool has_guest_mac;
	VwMac guest_mac;   /* guest-mac= */
	GPtrArray *sources; /* VwSource* (allow-list); empty: anyone */
	/* Domain forwards only. */
	char *network;    /* network= */
	bool has_mac;     /* mac= picks the interface when there are several */
	VwMac mac;
	VwLoc loc;
} VwForward;

/* vw:network */
typedef struct {
	VwMode mode;
	char *uplink; /* bridged: the device whose LAN the bridge joins */
	/* vw:nat */
	bool has_nat;
	GPtrArray *nat_uplinks; /* char*: egress devices; empty = any */
	VwAddr nat_address;     /* SNAT address; family 0 = masquerade */
	VwLoc nat_loc;
	GPtrArray *forwards; /* VwForward* */
	VwTristate hairpin;
	VwLoc hairpin_loc;
	VwTristate localhost;
	VwLoc localhost_loc;
	/* vw:domain-forwards */
	VwTristate domain_forwards;
	bool has_domain_ports;
	VwPortRange domain_ports;
	VwLoc domain_forwards_loc;
	VwLoc loc;
} VwNetMeta;

/* libvirt <network> */
typedef struct {
	char *name;
	char *uuid;
	int connections;
	VwForwardMode forward;
	char *forward_dev;
	GPtrArray *forward_ifaces; /* char*: <forward><interface dev/> */
	/* <forward><nat> */
	VwAddr nat_start, nat_end; /* <address start end/> */
	VwPortRange nat_ports;     /* <port start end/>; 0-0 when absent */
	VwTristate nat_ipv6;
	char *bridge;   /* <bridge name>; NULL when libvirt picks one */
	VwTristate stp;
	bool has_delay;
	unsigned delay;
	char *mac_table_manager;
	char *zone;
	bool has_mac;
	VwMac mac;
	unsigned mtu; /* 0 = unset */
	VwTristate port_isolated;
	char *domain_name; /* <domain name> */
	GPtrArray *ips; /* VwIp* */
	VwNetMeta *vw;  /* NULL without vw:network */
	VwLoc loc;
	VwLoc forward_loc;
	VwLoc bridge_loc;
} VwNetwork;

/* <interface> of a domain */
typedef struct {
	char *type; /* network, bridge, ... */
	bool has_mac;
	VwMac mac;
	char *source_network;
	char *source_bridge;
	char *portid;
	char *target_dev;
	GPtrArray *ips;    /* VwPrefix* (LXC <ip>) */
	GPtrArray *routes; /* VwPrefix* destination; gateway in route_gws */
	GPtrArray *route_gws; /* VwAddr* */
	VwLoc loc;
} VwInterface;

/* vw:domain */
typedef struct {
	GPtrArray *forwards; /* VwForward* */
	VwLoc loc;
} VwDomMeta;

/* libvirt <domain> */
typedef struct {
	char *name;
	char *uuid;
	char *type; /* qemu, kvm, lxc ... */
	GPtrArray *interfaces; /* VwInterface* */
	VwDomMeta *vw;
	VwLoc loc;
} VwDomain;

/* libvirt <networkport> */
typedef struct {
	char *uuid;
	char *owner_name;
	char *owner_uuid;
	bool has_mac;
	VwMac mac;
	VwLoc mac_loc;
	char *plug_type;
	char *plug_bridge;
	VwTristate isolated;
	VwLoc loc;
} VwNetPort;

typedef enum {
	VW_DOC_NETWORK,
	VW_DOC_DOMAIN,
	VW_DOC_NETWORKPORT,
	VW_DOC_HOOKDATA, /* <hookData>: network and an optional networkport */
} VwDocKind;

/* One parsed file (or hook stdin). */
typedef struct {
	VwDocKind kind;
	const char *file; /* interned */
	VwNetwork *network; /* NETWORK, HOOKDATA */
	VwNetPort *port;    /* NETWORKPORT, HOOKDATA (may be NULL) */
	VwDomain *domain;   /* DOMAIN */
} VwDoc;

void vw_forward_free(VwForward *f);
void vw_ip_free(VwIp *ip);
void vw_net_meta_free(VwNetMeta *m);
void vw_network_free(VwNetwork *n);
void vw_interface_free(VwInterface *i);
void vw_domain_free(VwDomain *d);
void vw_netport_free(VwNetPort *p);
void vw_doc_free(VwDoc *doc);

VwForward *vw_forward_new(void);
VwIp *vw_ip_new(void);
VwNetwork *vw_network_new(void);
VwDomain *vw_domain_new(void);
VwInterface *vw_interface_new(void);
VwNetPort *vw_netport_new(void);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(VwNetwork, vw_network_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VwDomain, vw_domain_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VwNetPort, vw_netport_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VwDoc, vw_doc_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VwForward, vw_forward_free)

/* The effective virtwire mode of a network: vw mode when given, else what
 * libvirt's forward mode means (nat, route, isolated = host-only,
 * bridge = bridged when an uplink is given). */
VwMode vw_network_effective_mode(const VwNetwork *n);
/* True when virtwire writes the network's firewall (libvirt <forward
 * mode='open'/> with a vw mode), false when libvirt does (nat, route,
 * isolated) or nobody does (bridge). */
bool vw_network_virtwire_owns_firewall(const VwNetwork *n);
/* Hairpin and localhost with their defaults applied. */
bool vw_network_hairpin(const VwNetwork *n);
bool vw_network_localhost(const VwNetwork *n);
/* The forwards of the network's metadata (an empty array when none). */
GPtrArray *vw_network_forwards(const VwNetwork *n);
/* The reservation for @mac in @family, or NULL. */
const VwDhcpHost *vw_network_find_reservation(const VwNetwork *n, const VwMac *mac, int family);
/* The <ip> whose subnet contains @a, or NULL. */
const VwIp *vw_network_find_ip(const VwNetwork *n, const VwAddr *a);

/* A forward's display name: its name, or "PROTO/PORT" when unnamed.
 * Returns a newly allocated string. */
char *vw_forward_describe(const VwForward *f);

/* Domain @dom's forward @f as a forward of network @network to the MAC of
 * the domain's interface on it (the one of @port_mac when given, and of
 * f's mac= when set); NULL when the domain has no such interface. */
VwForward *vw_domain_forward_resolve(const VwDomain *dom, const VwForward *f, const char *network,
				     const VwMac *port_mac);
