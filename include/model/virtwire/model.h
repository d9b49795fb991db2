/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The model: the bottom layer, which every other layer uses.
 *
 *  - values: IP addresses, prefixes, MACs, interface names;
 *  - diagnostics: findings about user input (VwDiags), printed once by the
 *    CLI or the hooks;
 *  - errors: the one GError domain of virtwire (VW_ERROR) and its codes;
 *  - libvirt's network, domain and networkport XML (and virtwire's
 *    <metadata>) as plain C structs, produced by xml/, consumed by the
 *    checker, the planner and the engine;
 *  - lookups on the model computed in one place: a forward's target, its
 *    families, its host-to-guest port mapping, a domain forward resolved to
 *    its interface.
 *
 * Nothing here depends on libxml2, netlink or files.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

/* ====================================================================== */
/* Values */

/* An IPv4 or IPv6 address in network byte order. family == 0: unset. */
typedef struct {
	int family; /* AF_INET, AF_INET6 or 0 */
	uint8_t b[16];
} VwAddr;

/* An address with a prefix length: a subnet, or an interface address. */
typedef struct {
	VwAddr addr;
	unsigned prefix;
} VwPrefix;

typedef struct {
	uint8_t b[6];
} VwMac;

#define VW_ADDR_STRLEN 46 /* INET6_ADDRSTRLEN */
#define VW_MAC_STRLEN 18

static inline bool vw_addr_is_set(const VwAddr *a)
{
	return a->family != 0;
}

static inline unsigned vw_addr_bits(int family)
{
	return family == AF_INET6 ? 128 : 32;
}

static inline unsigned vw_addr_len(int family)
{
	return family == AF_INET6 ? 16 : 4;
}

/* Parses a literal IPv4 or IPv6 address (no prefix, no brackets, no zone). */
bool vw_addr_parse(const char *s, VwAddr *ret);
/* Parses "ADDR" (full-length prefix) or "ADDR/LEN". */
bool vw_prefix_parse(const char *s, VwPrefix *ret);
/* Converts a dotted netmask to a prefix length; false unless contiguous. */
bool vw_netmask_to_prefix(const VwAddr *mask, unsigned *ret);

const char *vw_addr_to_string(const VwAddr *a, char buf[VW_ADDR_STRLEN]);
/* Returns a newly allocated "ADDR/LEN". */
char *vw_prefix_to_string(const VwPrefix *p);

bool vw_addr_equal(const VwAddr *a, const VwAddr *b);
/* Orders by family, then bytes. */
int vw_addr_cmp(const VwAddr *a, const VwAddr *b);
/* The address with all host bits cleared (network) or set (broadcast). */
VwAddr vw_addr_network(const VwAddr *a, unsigned prefix);
VwAddr vw_addr_broadcast(const VwAddr *a, unsigned prefix);
bool vw_prefix_contains(const VwPrefix *p, const VwAddr *a);
bool vw_prefix_overlaps(const VwPrefix *a, const VwPrefix *b);
/* True for 127.0.0.0/8 and ::1. */
bool vw_addr_is_loopback(const VwAddr *a);
/* A 32-bit hash of the address, for hash tables. */
guint vw_addr_hash(const VwAddr *a);

bool vw_mac_parse(const char *s, VwMac *ret);
const char *vw_mac_to_string(const VwMac *m, char buf[VW_MAC_STRLEN]);
static inline bool vw_mac_equal(const VwMac *a, const VwMac *b)
{
	return memcmp(a->b, b->b, 6) == 0;
}
/* True when the group (multicast) bit is set: not usable for a NIC. */
static inline bool vw_mac_is_multicast(const VwMac *m)
{
	return (m->b[0] & 1) != 0;
}

/* Linux interface names: 1..15 bytes, no '/', no whitespace, no ':', not "."
 * or "..". With @allow_template, one "%d" is allowed (libvirt fills it). */
bool vw_ifname_valid(const char *name, bool allow_template);

/* ====================================================================== */
/* Errors */

/*
 * One error channel: every failure that is not a finding about the input
 * travels as a GError of this domain, from the kernel boundary up to the
 * CLI or the hook, which prints it once. Findings about the input travel in
 * a VwDiags list instead; a call that fails because of them returns
 * VW_ERROR_INVALID with the findings in its VwDiags.
 */
#define VW_ERROR vw_error_quark()
GQuark vw_error_quark(void);

typedef enum {
	VW_ERROR_FAILED,       /* the kernel refused, or I/O failed */
	VW_ERROR_INVALID,      /* the input has errors: see the VwDiags given with the call */
	VW_ERROR_CONFLICT,     /* another network or port owns what this one needs */
	VW_ERROR_INCOMPATIBLE, /* the kernel's table is not of this virtwire's layout */
	VW_ERROR_NOT_FOUND,    /* no such network (or record) */
	VW_ERROR_BUSY,	       /* another virtwire holds the state directory's lock */
	VW_ERROR_STATE,	       /* a record is damaged, of another version, missing or unsafe */
	VW_ERROR_PERMISSION,   /* the kernel or a file refused: not root, or not allowed */
} VwErrorCode;

/* Sets @error from a negative errno @err: "WHAT: strerror (EXTACK)". EPERM
 * and EACCES become VW_ERROR_PERMISSION, everything else VW_ERROR_FAILED.
 * @kernel is the kernel's extended-ack text, or NULL. Returns false. */
bool vw_set_errno(GError **error, int err, const char *kernel, const char *fmt, ...) G_GNUC_PRINTF(4, 5);

/* ====================================================================== */
/* Diagnostics */

typedef enum {
	VW_SEV_ERROR,
	VW_SEV_WARNING,
	VW_SEV_NOTE,
} VwSeverity;

/* Where a model object came from. @file is interned (g_intern_string), so a
 * location is a plain value that can be copied freely. */
typedef struct {
	const char *file;
	int line;
} VwLoc;

static inline VwLoc vw_loc(const char *file, int line)
{
	VwLoc l = { file, line };

	return l;
}

typedef struct {
	VwLoc loc;
	VwSeverity severity;
	char *code;    /* stable, machine-readable: "forward-collision" */
	char *message; /* one line, no trailing period */
	char *hint;    /* how to fix it, or NULL */
} VwDiag;

typedef struct {
	GPtrArray *items; /* of VwDiag* */
	/* Stop collecting past this many findings (a broken file of 100,000
	 * forwards must not print 100,000 lines); 0 = unlimited. */
	guint limit;
	guint dropped;
} VwDiags;

VwDiags *vw_diags_new(void);
void vw_diags_free(VwDiags *d);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VwDiags, vw_diags_free)

/* Adds a finding. @hint may be NULL. */
void vw_diags_add(VwDiags *d, VwLoc loc, VwSeverity sev, const char *code, const char *hint, const char *fmt, ...)
	G_GNUC_PRINTF(6, 7);

#define vw_error(d, loc, code, hint, ...) vw_diags_add((d), (loc), VW_SEV_ERROR, (code), (hint), __VA_ARGS__)
#define vw_warning(d, loc, code, hint, ...) vw_diags_add((d), (loc), VW_SEV_WARNING, (code), (hint), __VA_ARGS__)

guint vw_diags_count(const VwDiags *d, VwSeverity sev);
bool vw_diags_has_errors(const VwDiags *d);

/* Sorts findings by file, line, then order of discovery (stable). */
void vw_diags_sort(VwDiags *d);

/* GCC-style text: "file:line: error: message [code]" and an indented
 * "  hint: ..." line. Returns a newly allocated string. */
char *vw_diags_format_text(const VwDiags *d);
/* A JSON document of kind "check" (docs/json.md): {"format_version":1,
 * "kind":"check","findings":[{file,line,severity,code,message,hint}],
 * "errors":N,"warnings":N,"not_shown":N}. */
char *vw_diags_format_json(const VwDiags *d);

const char *vw_severity_to_string(VwSeverity sev);

/* JSON string escaping (invalid UTF-8 made valid), shared by every JSON
 * writer of virtwire. */
void vw_json_append_string(GString *out, const char *s);

/* The version of every JSON document virtwire prints (docs/json.md): it
 * grows when a field changes meaning or goes away; new fields do not
 * change it. */
#define VW_JSON_FORMAT_VERSION 1

/* A JSON writer: members and elements in the order written, commas placed
 * for the caller. @key is the member's name inside an object, NULL inside
 * an array or at the top. */
typedef struct VwJson VwJson;

VwJson *vw_json_new(void);
/* A document of virtwire's: an open object that begins with
 * "format_version" and "kind" (check, plan, status, verify, restore). */
VwJson *vw_json_document(const char *kind);
void vw_json_free(VwJson *j);
void vw_json_begin_object(VwJson *j, const char *key);
void vw_json_end_object(VwJson *j);
void vw_json_begin_array(VwJson *j, const char *key);
void vw_json_end_array(VwJson *j);
/* A string, or null for a NULL @value. */
void vw_json_string(VwJson *j, const char *key, const char *value);
void vw_json_uint(VwJson *j, const char *key, guint64 value);
void vw_json_int(VwJson *j, const char *key, gint64 value);
void vw_json_bool(VwJson *j, const char *key, bool value);
void vw_json_null(VwJson *j, const char *key);
/* Closes what is open, ends the document with a newline and returns it; frees @j. */
char *vw_json_finish(VwJson *j);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VwJson, vw_json_free)

/* ====================================================================== */
/* The model */

#define VW_NS_URI "urn:virtwire:1"
#define VW_NS_PREFIX "urn:virtwire:"

/* Hard caps on user-controlled counts. */
#define VW_MAX_FORWARDS 262144	     /* per network (and per domain) */
#define VW_MAX_SOURCES 64	     /* per forward */
#define VW_MAX_IPS 64		     /* <ip> per network */
#define VW_MAX_DHCP_RANGES 256	     /* per <ip> */
#define VW_MAX_DHCP_HOSTS 65536	     /* per <ip> */
#define VW_MAX_INTERFACES 1024	     /* per domain */
#define VW_MAX_UPLINKS 8	     /* vw:nat uplink devices */
#define VW_MAX_FILE_SIZE (64u << 20) /* bytes of one document; docs/metadata.md "Limits" */
#define VW_MAX_PEERS 4096	     /* vw:peer per vw:span */

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
/* True for the forward modes whose guests sit on a bridge of the host
 * (isolated, nat, route, open, bridge), false for macvtap and hostdev
 * (private, vepa, passthrough, hostdev): virtwire has no say in those. */
bool vw_forward_mode_has_bridge(VwForwardMode m);
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
	bool has_prefix;   /* from prefix= or netmask= */
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
	char *name; /* optional */
	VwProto proto;
	bool has_proto;
	VwAddr listen; /* address=; family 0: every local address of the host */
	VwPortRange host;
	bool has_host_port;
	VwPortRange guest; /* guest-port=; equals host when absent */
	bool has_guest_port;
	VwAddr guest_addr; /* guest-address= */
	bool has_guest_mac;
	VwMac guest_mac;    /* guest-mac= */
	GPtrArray *sources; /* VwSource* (allow-list); empty: anyone. Add with vw_forward_add_source */
	/* Domain forwards only. */
	char *network; /* network= */
	bool has_mac;  /* mac= picks the interface when there are several */
	VwMac mac;
	VwLoc loc;
} VwForward;

/* How a spanning network learns where the other hosts' guests are. */
typedef enum {
	VW_SPAN_STATIC, /* the listed peers: head-end replication, MACs learned from traffic */
	VW_SPAN_EVPN,	/* FRR's BGP EVPN: zebra installs the peers (docs/spanning.md#evpn) */
} VwSpanControl;

/* <vw:peer address/>: the tunnel endpoint of one host of a spanning network. */
typedef struct {
	VwAddr address;
	VwLoc loc;
} VwPeer;

/* <vw:span vni underlay [port] [control]>: the network spans hosts over
 * VXLAN (docs/spanning.md). */
typedef struct {
	guint32 vni; /* 0: missing or invalid (the parser said so) */
	char *underlay;
	uint16_t port; /* UDP port; VW_VXLAN_PORT when absent */
	VwSpanControl control;
	GPtrArray *peers; /* VwPeer* */
	/* control="evpn": the remote VTEPs zebra floods to, as the kernel has
	 * them when a plan is made (not from the XML; the engine fills it). */
	GArray *vteps; /* VwAddr, or NULL */
	VwLoc loc;
} VwSpan;

#define VW_VXLAN_PORT 4789
#define VW_VNI_MAX 16777215u

void vw_span_free(VwSpan *s);
const char *vw_span_control_to_string(VwSpanControl c);
/* The bytes VXLAN adds around a frame of the overlay on an underlay of
 * @family: outer Ethernet, IP, UDP and VXLAN headers (50 over IPv4, 70 over
 * IPv6). */
unsigned vw_span_overhead(int family);
/* The underlay's family: the peers' (AF_INET when there are none). */
int vw_span_family(const VwSpan *s);
/* The name of the VXLAN device of a span: "vw" and the VNI (at most 10
 * bytes). Newly allocated. */
char *vw_span_device(const VwSpan *s);

/* vw:network */
typedef struct {
	VwMode mode;
	char *uplink; /* bridged: the device whose LAN the bridge joins */
	/* vw:nat */
	bool has_nat;
	GPtrArray *nat_uplinks; /* char*: egress devices; empty = any */
	VwAddr nat_address;	/* SNAT address; family 0 = masquerade */
	VwLoc nat_loc;
	GPtrArray *forwards; /* VwForward* */
	VwTristate hairpin;
	VwLoc hairpin_loc;
	VwTristate localhost;
	VwLoc localhost_loc;
	/* vw:learn-addresses: forwards by guest-mac without a reservation
	 * follow the address the guest uses (virtwire watch learns it). */
	VwTristate learn;
	VwLoc learn_loc;
	/* vw:domain-forwards */
	VwTristate domain_forwards;
	bool has_domain_ports;
	VwPortRange domain_ports;
	VwLoc domain_forwards_loc;
	/* vw:spoof-filter */
	VwTristate spoof_filter;     /* enabled= */
	VwTristate spoof_domain_off; /* domain-opt-out=: domains may turn it off */
	VwLoc spoof_filter_loc;
	VwSpan *span; /* vw:span, or NULL: the network stays on this host */
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
	VwPortRange nat_ports;	   /* <port start end/>; 0-0 when absent */
	VwTristate nat_ipv6;
	char *bridge; /* <bridge name>; NULL when libvirt picks one */
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
	GPtrArray *ips;	   /* VwIp* */
	/* The DHCP reservations by MAC and family (vw_network_index), or NULL:
	 * then vw_network_find_reservation looks through every host. */
	GHashTable *reservations;
	/* Addresses guests were seen using on the bridge, by MAC and family
	 * (vw_network_learn): not from the XML, but what the engine adds from
	 * the state directory, where virtwire watch records them. NULL: none. */
	GHashTable *learned;
	VwNetMeta *vw; /* NULL without vw:network */
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
	GPtrArray *ips;	      /* VwPrefix* (LXC <ip>) */
	GPtrArray *routes;    /* VwPrefix* destination; gateway in route_gws */
	GPtrArray *route_gws; /* VwAddr* */
	VwLoc loc;

	/* Virtio failover (libvirt's <teaming>): a transient interface (a VF)
	 * backs the persistent one whose <alias> its persistent= names. */
	char *alias;		  /* <alias name>, or NULL */
	char *teaming;		  /* <teaming type>: persistent, transient, or NULL */
	char *teaming_persistent; /* <teaming persistent> */
} VwInterface;

/* vw:domain */
typedef struct {
	GPtrArray *forwards;	 /* VwForward* */
	VwTristate spoof_filter; /* vw:spoof-filter enabled= */
	VwLoc spoof_filter_loc;
	VwLoc loc;
} VwDomMeta;

/* libvirt <domain> */
typedef struct {
	char *name;
	char *uuid;
	char *type;	       /* qemu, kvm, lxc ... */
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
	const char *file;   /* interned */
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
/* Adds @src (taken over) to the allow-list of @f. Forwards without one
 * share a single empty list: 100,000 of them are 4.8 MB less. */
void vw_forward_add_source(VwForward *f, VwSource *src);
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
/* Whether guests of the network may send only from their own MAC and
 * addresses (vw:spoof-filter): on by default in modes nat, route and
 * host-only, in mode internal only when enabled, never in bridged mode (the
 * LAN's addresses are not virtwire's to know). */
bool vw_network_spoof_filter(const VwNetwork *n);
/* Whether domain @d's interfaces on @n go unfiltered: the domain turns the
 * filter off and the network lets domains do so. */
bool vw_domain_spoof_filter_off(const VwDomain *d, const VwNetwork *n);
/* Whether forwards by guest-mac without a reservation follow the address
 * the guest is seen using (<vw:learn-addresses enabled='yes'/>; off by
 * default). */
bool vw_network_learns(const VwNetwork *n);
/* Records that the guest with @mac uses @addr (of its family) on the
 * network's bridge: a forward by that MAC without a reservation in that
 * family targets it. */
void vw_network_learn(VwNetwork *n, const VwMac *mac, const VwAddr *addr);
/* The address learned for @mac in @family, or NULL. */
const VwAddr *vw_network_find_learned(const VwNetwork *n, const VwMac *mac, int family);
/* The forwards of the network's metadata (an empty array when none). */
GPtrArray *vw_network_forwards(const VwNetwork *n);
/* The reservation for @mac in @family (the first one the XML gives), or
 * NULL. */
const VwDhcpHost *vw_network_find_reservation(const VwNetwork *n, const VwMac *mac, int family);
/* Indexes the network's reservations, so that a lookup costs the same with
 * 65,536 hosts as with one (the parser calls it once the <ip>s are read). */
void vw_network_index(VwNetwork *n);
/* The <ip> whose subnet contains @a, or NULL. */
const VwIp *vw_network_find_ip(const VwNetwork *n, const VwAddr *a);

/* A forward's display name: its name, or "PROTO/PORT" when unnamed.
 * Returns a newly allocated string. */
char *vw_forward_describe(const VwForward *f);

/* A deep copy of @f. */
VwForward *vw_forward_copy(const VwForward *f);

/* Domain @dom's forward @f as a forward of network @network to the MAC of
 * the domain's interface on it (the one of @port_mac when given, and of
 * f's mac= when set); NULL when the domain has no such interface. */
VwForward *vw_domain_forward_resolve(const VwDomain *dom, const VwForward *f, const char *network,
				     const VwMac *port_mac);

/* ====================================================================== */
/* Lookups */

/* A forward's target on a network, resolved for one address family: the
 * guest-address itself, or the reservation of guest-mac in that family, or
 * else the address learned for that MAC (vw_network_learn). Returns false
 * when there is none. */
bool vw_forward_target(const VwNetwork *net, const VwForward *fwd, int family, VwAddr *ret);
/* The families a forward applies to (a bit mask: 1 = IPv4, 2 = IPv6). */
unsigned vw_forward_families(const VwNetwork *net, const VwForward *fwd);
#define VW_FAM_V4 1u
#define VW_FAM_V6 2u
/* The guest port that host port number @i of the forward's range (0 for
 * its first) reaches: the same port, or the guest range shifted, or the
 * one guest port for every host port. */
uint16_t vw_forward_guest_port(const VwForward *f, unsigned i);
