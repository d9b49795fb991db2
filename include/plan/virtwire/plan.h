/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The plan: what virtwire wants in the kernel, as data. The planner builds it
 * from the model without touching the system; `virtwire plan` prints it; the
 * executor sends it; `verify` compares the kernel with it.
 *
 * The nftables part is the whole desired content of virtwire's two tables
 * for the networks planned: table inet virtwire (forwards, NAT, isolation)
 * and table bridge virtwire (the spoof filter, on the bridges' ports): sets
 * with their elements, chains with their rules. Every rule is a list of
 * expressions (VwExpr) mirroring nftables' own expressions one to one,
 * together with the text nft prints for it, so the printed plan and
 * `nft list table …` are the same text. Both come from one description of
 * the rule (plan/rule-*.c); a set's attributes and its elements' text come
 * from the datatypes of its fields.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include <virtwire/model.h>

#define VW_NFT_TABLE "virtwire"
/* The conntrack mark bit set on every connection virtwire admits. */
#define VW_CT_MARK 0x10000000u
/* The largest key or data of a set element (two IPv6 concatenations). */
#define VW_NFT_DATA_MAX 64
/* Expanded elements (a shifted or plain port range counts one per port)
 * per network: a hard cap, so a typo cannot ask the kernel for millions. */
#define VW_MAX_ELEMENTS_PER_NETWORK (1u << 20)

/* One nftables expression. Field use depends on the kind; unused fields are
 * zero. Register numbers are nftables' (NFT_REG_1 = 1, NFT_REG32_01 = 9 …). */
typedef enum {
	VW_X_META,	/* key → dreg */
	VW_X_PAYLOAD,	/* base, offset, len → dreg */
	VW_X_CMP,	/* sreg, op, data */
	VW_X_BITWISE,	/* sreg, dreg, len, mask, xor */
	VW_X_LOOKUP,	/* sreg, set, [dreg], flags (1 = invert) */
	VW_X_VERDICT,	/* verdict, [chain] */
	VW_X_IMMEDIATE, /* dreg, data */
	VW_X_CT_LOAD,	/* key → dreg */
	VW_X_CT_SET,	/* key ← sreg */
	VW_X_NAT,	/* type, family, addr reg, proto reg */
	VW_X_MASQ,
	VW_X_REJECT,	/* type, code */
	VW_X_FIB,	/* flags, result → dreg */
	VW_X_BYTEORDER, /* sreg, dreg, op, len, size */
	VW_X_COUNTER,
	VW_X_MATCH, /* an xtables match, as iptables-nft writes it: name, rev (key), info (blob) */
} VwExprKind;

typedef struct {
	VwExprKind kind;
	uint32_t key; /* meta/ct key, payload base, nat type, fib result, byteorder op */
	uint32_t sreg, dreg;
	uint32_t op; /* cmp op, lookup flags, nat family, fib flags, byteorder size */
	uint32_t offset, len;
	int32_t verdict;
	uint32_t reg2; /* nat proto_min register */
	uint8_t data[16], mask[16], xor_[16];
	char *name;   /* lookup set, verdict chain, match name */
	GBytes *info; /* match info */
} VwExpr;

typedef struct {
	GArray *exprs; /* VwExpr */
	char *text;    /* as nft lists it (iptables-nft rules: as iptables-save writes it) */
	char *comment; /* the rule's comment (user data), or NULL */
	bool compat;   /* iptables-nft's rule attributes (NFTA_RULE_COMPAT, zero) */
} VwRule;

typedef enum {
	VW_CHAIN_REGULAR,
	VW_CHAIN_FILTER,
	VW_CHAIN_NAT,
} VwChainType;

typedef struct {
	char *name;
	VwChainType type;
	uint32_t hook; /* NF_INET_* for base chains (NF_BR_*, the same numbers, in the bridge table) */
	int32_t prio;
	const char *prio_text; /* "filter - 10", "dstnat", "-100" */
	char *owner;	       /* network name for per-network chains; NULL: shared */
	GPtrArray *rules;      /* VwRule* */
} VwChain;

/* A set element. Its key, key end and data are bytes of the element's own
 * allocation, sized to what they hold: a network of 100,000 forwards has
 * 200,000 of these. vw_elem_new makes one with room for the largest of
 * each, to fill in; the copy a set keeps (vw_set_add) and vw_elem_copy have
 * only the bytes used. */
typedef struct {
	uint8_t *key;
	uint8_t *key_end; /* concatenated intervals */
	uint8_t *data;
	uint32_t key_len, key_end_len, data_len;
	int32_t verdict; /* verdict maps */
	uint32_t flags;	 /* NFT_SET_ELEM_INTERVAL_END for interval ends */
	bool has_verdict;
	bool in_block;	 /* a set's (vw_set_add): in one of its blocks, not an allocation of its own */
	char *chain;	 /* jump target of a verdict */
	char *owner;	 /* stored as the element's comment; interned (vw_elem_new): never freed */
	char *text;	 /* "tcp . 2222 : 192.168.100.10 . 22"; NULL for interval ends */
	char *key_text;	 /* its key alone: "tcp . 2222"; an interval end: its interval's */
	uint8_t bytes[]; /* key, key end, data */
} VwElem;

/* The datatypes of set keys and data, as nft names them (its datatype.h). */
typedef enum {
	VW_NFT_NONE,	     /* ends a shorter field list */
	VW_NFT_IFNAME,	     /* "ifname" */
	VW_NFT_IPV4_ADDR,    /* "ipv4_addr" */
	VW_NFT_IPV6_ADDR,    /* "ipv6_addr" */
	VW_NFT_INET_PROTO,   /* "inet_proto" */
	VW_NFT_INET_SERVICE, /* "inet_service" */
	VW_NFT_VERDICT,	     /* "verdict" */
	VW_NFT_ETHER_ADDR,   /* "ether_addr" (typeof: "ether saddr") */
	/* An NDP message's target address: 128 bits at offset 64 of the ICMPv6
	 * header, which nft 1.0 names only as a raw payload ("typeof
	 * @th,64,128", an integer). */
	VW_NFT_ND_TARGET,
	/* The fields of the VXLAN admission sets, known to nft by their
	 * expressions ("typeof ip saddr . udp dport . @th,96,24"): an IPv4 or
	 * IPv6 source address, a UDP destination port, and the VNI (24 bits at
	 * offset 96 of the UDP header: the VXLAN header's, an integer). */
	VW_NFT_IPV4_SADDR,
	VW_NFT_IPV6_SADDR,
	VW_NFT_UDP_DPORT,
	VW_NFT_VXLAN_VNI,
} VwNftType;

/* Fields of a concatenated key (nft allows more; virtwire uses four). */
#define VW_SET_KEY_FIELDS 4
#define VW_SET_DATA_FIELDS 2

/* What a set's elements stand for: how a conflict over one is worded. */
typedef enum {
	VW_SET_INTERFACES, /* interfaces by role (closed, served, localnet, egress …) */
	VW_SET_BRIDGES,	   /* every bridge of virtwire's networks */
	VW_SET_GATEWAYS,   /* the host's addresses on guest networks */
	VW_SET_SUBNETS,	   /* guest subnets (source NAT dispatch) */
	VW_SET_SERVICES,   /* what guests may ask the host for */
	VW_SET_FORWARDS,   /* port forwards: keys, allow-lists */
	VW_SET_COUNTERS,   /* per-target counters, shared by forwards to one target */
	/* The spoof filter's guests: ports, MACs and their addresses. Taps and
	 * MACs are reused, so a port takes over what another port holds (the
	 * newest plug is the live one); a network's are its own. */
	VW_SET_GUESTS,
	VW_SET_SPAN, /* a spanning network's VNI and its peers on the underlay */
} VwSetKind;

/* A set or map. Everything from key_type to per_line follows from the field
 * types (key, data) and the interval flag: see vw_plan_add_set. */
typedef struct {
	char *name;
	VwSetKind kind;
	VwNftType key[VW_SET_KEY_FIELDS];   /* the key's fields, VW_NFT_NONE after the last */
	VwNftType data[VW_SET_DATA_FIELDS]; /* a map's data fields; VW_NFT_NONE: a set */
	bool is_map;
	bool is_typeof; /* listed as "typeof EXPR . EXPR" (a raw payload field) */
	uint32_t flags; /* NFT_SET_* */
	uint32_t key_type, key_len;
	uint32_t data_type, data_len;
	uint8_t concat[8]; /* field lengths of a concatenated interval key */
	uint32_t concat_n;
	GBytes *udata;	  /* what nft stores, so nft lists the set as we print it */
	char *type_text;  /* "inet_proto . ipv4_addr . inet_service : ipv4_addr . inet_service"; with
			      is_typeof, the expressions ("ether saddr . @th,64,128") */
	int per_line;	  /* elements per printed line, as nft wraps them */
	bool counter;	  /* every element counts its packets and bytes */
	GPtrArray *elems; /* VwElem* */
	/* Key bytes (+flags) → VwElem*, for duplicate detection; NULL once the
	 * plan is made (vw_plan_build), until asked for again (vw_set_find):
	 * 6 MB at 100,000 forwards that the firewall's batch does not need. */
	GHashTable *index;
	GPtrArray *blocks; /* the memory of the elements, a block at a time */
	gsize block_used;  /* bytes of the last block taken */
} VwSet;

/* A sysctl the network needs: written at apply, never reverted for
 * forwarding (libvirt does not either). */
typedef struct {
	char *path; /* "net/ipv4/ip_forward" under /proc/sys */
	char *value;
	char *owner;
	bool revert; /* restore the old value at teardown */
} VwSysctl;

/* A link operation: "make it so", with its inverse decided at execution
 * (an object found there is recorded as found and never removed). */
typedef enum {
	VW_LOP_BRIDGE,	    /* the bridge exists, configured, up */
	VW_LOP_SYSCTL,	    /* a sysctl of the bridge */
	VW_LOP_ADDR,	    /* an address on the bridge */
	VW_LOP_ENSLAVE,	    /* bridged: the uplink is a port of the bridge */
	VW_LOP_MOVE_ADDRS,  /* bridged: the uplink's addresses move to the bridge */
	VW_LOP_MOVE_ROUTES, /* bridged: the uplink's routes move to the bridge */
	VW_LOP_PORT_FLAGS,  /* every port of the bridge (the uplink aside) */
	VW_LOP_VXLAN,	    /* spanning: the VXLAN device, a port of the bridge, up */
	VW_LOP_FDB,	    /* spanning: a peer in the VXLAN device's forwarding database */
} VwLinkOpKind;

typedef struct {
	VwLinkOpKind kind;
	char *dev;    /* the bridge */
	char *uplink; /* bridged mode: the uplink */
	char *owner;  /* the network's id */
	/* VW_LOP_BRIDGE */
	bool has_mac;
	VwMac mac;
	bool mac_of_uplink; /* take the uplink's MAC and MTU */
	unsigned mtu;	    /* 0: leave */
	bool stp;
	unsigned delay; /* seconds */
	/* VW_LOP_SYSCTL */
	char *path, *value;
	/* VW_LOP_ADDR */
	VwPrefix addr;
	/* VW_LOP_PORT_FLAGS: -1 leave, 0 off, 1 on */
	int hairpin, isolated;
	/* VW_LOP_VXLAN (dev: the VXLAN device, uplink: the underlay, mtu: the
	 * XML's or 0 for the underlay's less the header) and VW_LOP_FDB (dev:
	 * the VXLAN device, uplink: the underlay) */
	char *master; /* the bridge */
	guint32 vni;
	uint16_t port;
	int family; /* the underlay's */
	bool learning;
	/* control="evpn": IPv4 only, the bridge port with learning off and
	 * neighbour suppression on; the forwarding database is zebra's */
	bool evpn;
	VwAddr peer; /* VW_LOP_FDB: all-zeros MAC to this address */
	char *text;  /* the printed line */
} VwLinkOp;

/* A chain of another table where virtwire may keep a rule. */
typedef struct {
	int family;	   /* NFPROTO_IPV4, NFPROTO_IPV6 */
	const char *table; /* "filter", "libvirt_network" */
	const char *chain; /* "FORWARD", "forward" */
	const char *label; /* for messages: "iptables FORWARD" */
	bool iptables;	   /* iptables-nft's table: its encoding, iptables-save's words */
	bool host;	   /* a host firewall's extension point (Docker's, ufw's), not libvirt's */
} VwForeignPlace;

/* Every place of another firewall where virtwire keeps its accepts (@n of
 * them): libvirt's, and the host firewalls' extension points. The executor
 * looks in each, the planner fills each. */
const VwForeignPlace *vw_plan_foreign_places(size_t *n);

/* How virtwire's rules in other tables begin their comment; the network's
 * id follows. The executor finds its rules there by it. */
#define VW_COEXIST_COMMENT_PREFIX "virtwire: network "
/* How the comment of every rule of virtwire's in another table begins: one
 * that does not name a network is one of the shared host firewall rules. */
#define VW_FOREIGN_COMMENT_MARK "virtwire:"

/* A rule virtwire keeps at the top of a chain of another table: where,
 * and what. */
typedef struct {
	int family;	   /* NFPROTO_IPV4, NFPROTO_IPV6 */
	const char *table; /* "filter", "libvirt_network" */
	const char *chain; /* "FORWARD", "forward" */
	const char *label; /* for messages: "iptables FORWARD" */
	VwRule *rule;
} VwForeignRule;

void vw_foreign_rule_free(VwForeignRule *f);

/* An accept virtwire keeps in libvirt's own firewall so that forwards reach
 * a libvirt-managed NAT network (see docs/libvirt.md): one rule for each
 * place libvirt may keep its rejects (iptables-nft's FORWARD, libvirt's
 * nftables backend), of each family the network has; the executor puts it
 * in those of the places that exist. */
typedef struct {
	char *id; /* the network's id */
	char *bridge;
	bool v4, v6;	  /* the families the network has subnets in */
	char *text;	  /* the printed line */
	GPtrArray *rules; /* VwForeignRule*: one per place, of the network's families */
} VwCoexist;

/* The zone virtwire binds its networks' bridges to (data/firewalld/zones/). */
#define VW_FIREWALLD_ZONE "virtwire"

/* A bridge virtwire puts in a zone of firewalld, where firewalld runs and
 * the bridge is in none (docs/real-host.md): the bridge of a network whose
 * firewall virtwire owns goes to zone VW_FIREWALLD_ZONE; a bridged
 * network's to the zone of its uplink (firewalld's default zone when the
 * uplink is in none), whose forwarding within the zone lets through the
 * frames br_netfilter hands to firewalld's forward chain. */
typedef struct {
	char *id; /* the network's id */
	char *bridge;
	char *uplink; /* bridged mode: the zone is the uplink's; NULL: zone virtwire */
} VwZoneBind;

/* Whether virtwire puts @net's bridge in a firewalld zone; *@uplink gets
 * bridged mode's uplink (the zone is its), or NULL (zone virtwire). */
bool vw_plan_firewalld_zone(const VwNetwork *net, const char **uplink);

/* virtwire's own tables, in the order they are made and printed. */
typedef enum {
	VW_TABLE_INET,	 /* table inet virtwire: forwards, NAT, isolation, DHCP and DNS to the host */
	VW_TABLE_BRIDGE, /* table bridge virtwire: the spoof filter; every set with counters counts dropped frames */
	VW_TABLES,
} VwTableId;

/* One of virtwire's tables. Both exist, or neither (see vw_plan_has_tables). */
typedef struct {
	int family;	   /* NFPROTO_INET, NFPROTO_BRIDGE */
	const char *name;  /* VW_NFT_TABLE */
	const char *label; /* "table inet virtwire" */
	GPtrArray *sets;   /* VwSet*, in creation order */
	GPtrArray *chains; /* VwChain*, in creation order */
} VwTable;

/* The family, name and label of table @id (no sets or chains): where the
 * executor looks when it has no plan. */
const VwTable *vw_plan_table(VwTableId id);

typedef struct {
	GPtrArray *links;	   /* VwLinkOp*, in execution order */
	VwTable tables[VW_TABLES]; /* empty unless a network planned needs them */
	GPtrArray *sysctls;	   /* VwSysctl* */
	GPtrArray *networks;	   /* char*: names of the networks planned */
	GPtrArray *coexist;	   /* VwCoexist* */
	/* VwForeignRule*: the accepts for virtwire's connections in the host
	 * firewalls' extension points (Docker's DOCKER-USER, ufw's before
	 * chains), shared by every network, in the order they are kept at the
	 * top of each place. Planned with the skeleton. */
	GPtrArray *host;
	GPtrArray *zones; /* VwZoneBind*: the planned networks' bridges in firewalld */
	/* [host-firewall] integrate=no: @host and @zones were taken out, and
	 * the plan says so. */
	bool host_alone;
} VwPlan;

VwPlan *vw_plan_new(void);
void vw_plan_free(VwPlan *p);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VwPlan, vw_plan_free)

/* The text of element @e of set @s as nft lists it, and of its key alone
 * (NULL for an interval's end): made on first use, then kept. */
const char *vw_elem_text(const VwSet *s, const VwElem *e);
const char *vw_elem_key_text(const VwSet *s, const VwElem *e);

/* The element of @s with @probe's key, key end and flags, or NULL. */
const VwElem *vw_set_find(const VwSet *s, const VwElem *probe);

/* A set element of @owner (may be NULL), empty, with room for the largest
 * key, key end and data; and its destructor. */
VwElem *vw_elem_new(const char *owner);
/* A copy of @e (its strings too) whose bytes take only their lengths. */
VwElem *vw_elem_copy(const VwElem *e);
void vw_elem_free(VwElem *e);

/* A set or chain of table inet virtwire, by name (NULL if none). */
VwSet *vw_plan_find_set(const VwPlan *p, const char *name);
VwChain *vw_plan_find_chain(const VwPlan *p, const char *name);
/* The same in any of the tables. */
VwSet *vw_table_find_set(const VwTable *t, const char *name);
VwChain *vw_table_find_chain(const VwTable *t, const char *name);

/* True when the plan has virtwire's tables (some network planned needs
 * them), false for a plan of links alone. */
bool vw_plan_has_tables(const VwPlan *p);

/* A domain's forwards on one of the planned networks, as resolved by the
 * hooks (the interface's MAC, the port uuid that owns them). */
typedef struct {
	const VwDomain *domain;
	const char *network;
	const char *port_uuid; /* owner tag; may be NULL (then the domain name) */
	bool has_mac;	       /* only the interface with this MAC (the port's) */
	VwMac mac;
} VwPlanDomain;

/*
 * Plans the ruleset for @networks (VwNetwork*) and @domains (VwPlanDomain*,
 * may be NULL). Pure: no files, no sockets. Fails (with findings) when the
 * input needs more than the hard caps allow. The input is expected to have
 * passed vw_check_*: the planner skips what it cannot resolve.
 */
VwPlan *vw_plan_build(GPtrArray *networks, GPtrArray *domains, VwDiags *diags);

/* True when virtwire has anything of the network's in its tables (its
 * firewall, forwards into a libvirt network, its spoof filter). */
bool vw_plan_network_uses_table(const VwNetwork *net);

/* The shared skeleton of both tables alone (sets, maps and base chains, no
 * network). */
VwPlan *vw_plan_skeleton(void);

/* The plan as text: the tables exactly as `nft list table inet virtwire`
 * and `nft list table bridge virtwire` print them, one after the other, then
 * one line per other operation. */
char *vw_plan_format(const VwPlan *p);
/* Only the nftables tables (or "" when the plan has no network that needs
 * them). */
char *vw_plan_format_table(const VwPlan *p);
/* The plan as a JSON document of kind "plan" (docs/json.md): the networks,
 * the tables as text (loadable by nft -f) and as sets, elements, chains and
 * rules, link operations, sysctls, rules in libvirt's and the host's
 * firewalls, firewalld zones. */
char *vw_plan_format_json(const VwPlan *p);

/* The nftables name fragment for a network: its name when it is a plain
 * identifier, else a short hash. */
char *vw_plan_network_id(const char *name);

/* A digest of network @id's part of the firewall in @plan: the shared
 * skeleton, its chains, its elements (its ports' included) and its accepts
 * in libvirt's firewall. The same whether @plan holds other networks too. */
char *vw_plan_digest(const VwPlan *p, const char *id);

/* The message for a conflict over element @e of set @s, which owner @mine
 * wants and @theirs holds (each in words: "network 'web'"): worded from the
 * set's kind and the element's key_text. */
char *vw_plan_conflict_message(const VwSet *s, const VwElem *e, const char *mine, const char *theirs);

/* Owner tags: the network's name, or "NETWORK:PORT-UUID" for a domain's port. */
char *vw_plan_port_owner(const char *network, const char *port_uuid);
