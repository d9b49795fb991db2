/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Building blocks of the planner, shared by the files of plan/ and their tests. */
#pragma once

#include <virtwire/plan.h>

/* ---------------------------------------------------------------------- */
/* Rules: one description, two generators (rule-linearize.c, rule-print.c)
 *
 * As in nftables, a rule is a list of statements: matches, lookups and
 * actions, each naming what it reads with selectors. rule-linearize.c turns
 * the list into expressions as nft's netlink_linearize.c does (registers,
 * the dependencies nft adds), rule-print.c into the text nft lists for it
 * (or the words iptables-save writes, for iptables-nft's rules). Nothing
 * else writes a rule's bytecode or its text. */

/* What a statement reads: the left side of a match, a field of a key. */
typedef enum {
	VW_SEL_IIFNAME,
	VW_SEL_OIFNAME,
	VW_SEL_L4PROTO, /* meta l4proto */
	VW_SEL_SADDR,	/* ip saddr, ip6 saddr: of the statement's family */
	VW_SEL_DADDR,
	VW_SEL_SPORT, /* th sport: any transport header */
	VW_SEL_DPORT,
	VW_SEL_CT_STATE,
	VW_SEL_CT_STATUS,
	VW_SEL_CT_MARK,
	VW_SEL_FIB_DADDR_TYPE,
	/* The bridge family's (table bridge virtwire). */
	VW_SEL_ETHER_SADDR,
	VW_SEL_ETHER_TYPE,
	VW_SEL_ARP_SHA, /* arp saddr ether */
	VW_SEL_ARP_SPA, /* arp saddr ip */
	VW_SEL_ICMPV6_TYPE,
	VW_SEL_UDP_SPORT,
	VW_SEL_UDP_DPORT,
	VW_SEL_ND_TARGET, /* @th,64,128: an NDP message's target */
	VW_SEL_VXLAN_VNI, /* @th,96,24: a VXLAN packet's VNI (the UDP header's 8 bytes, then 4 of VXLAN's) */
} VwSel;

typedef enum {
	VW_ST_MATCH,	/* SEL [!=] VALUE */
	VW_ST_PREFIX,	/* ADDR [!=] PREFIX */
	VW_ST_FLAGS,	/* ct state / ct status: any of @bits */
	VW_ST_LOOKUP,	/* KEY [!=] @set */
	VW_ST_VMAP,	/* KEY vmap @map */
	VW_ST_DNAT_MAP, /* dnat FAMILY to KEY map @map */
	VW_ST_SNAT,	/* snat FAMILY to ADDR */
	VW_ST_MASQ,
	VW_ST_CT_MARK_OR, /* ct mark set ct mark | BITS */
	VW_ST_REJECT,	  /* reject with icmpx admin-prohibited */
	VW_ST_COUNTER,
	VW_ST_VERDICT,
	VW_ST_XT_CONNTRACK, /* iptables' -m conntrack --ctstate (XT_CONNTRACK_STATE_* in @bits) */
	VW_ST_XT_COMMENT,   /* iptables' -m comment --comment @str */
	VW_ST_XT_CONNMARK,  /* iptables' -m connmark --mark @bits/@bits */
	VW_ST_COMMENT,	    /* nft's rule comment @str */
	VW_ST_TCP_NOT_SYN,  /* tcp flags != syn / fin,syn,rst,ack: a segment that opens no connection */
	VW_ST_REJECT_TCP,   /* reject with tcp reset */
} VwStmtKind;

/* Selectors of one key: a concatenation of up to this many. */
#define VW_KEY_MAX 4

typedef struct {
	VwStmtKind kind;
	int family;	       /* AF_INET, AF_INET6: address selectors, NAT */
	VwSel key[VW_KEY_MAX]; /* MATCH, PREFIX, FLAGS: key[0] */
	unsigned nkey;
	bool neg;	   /* "!=" */
	const VwSet *set;  /* LOOKUP, VMAP, DNAT_MAP */
	uint8_t value[16]; /* MATCH: as the selector loads it */
	uint32_t value_len;
	VwPrefix prefix; /* PREFIX */
	uint32_t bits;	 /* FLAGS, CT_MARK_OR, XT_CONNTRACK */
	VwAddr addr;	 /* SNAT */
	int verdict;	 /* VERDICT */
	char *str;	 /* VERDICT: the chain; XT_COMMENT, COMMENT: the text */
} VwStmt;

/* A rule under construction. */
typedef struct {
	GArray *stmts; /* VwStmt */
	bool iptables; /* iptables-nft's: its encoding, iptables-save's words */
	bool bridge;   /* of table bridge virtwire: nft's dependencies of the bridge family */
} VwRuleBuf;

VwRuleBuf vw_rb_new(void);
VwRuleBuf vw_rb_new_iptables(void);
VwRuleBuf vw_rb_new_bridge(void);
/* Generates the rule (expressions and text) and appends it to @chain; the
 * buffer is consumed. */
void vw_rb_commit(VwRuleBuf *rb, VwChain *chain);
/* The same, as a rule of its own. */
VwRule *vw_rb_finish(VwRuleBuf *rb);
/* The rule ending in @verdict (to chain @target), appended to @chain. */
void vw_rb_commit_verdict(VwRuleBuf *rb, VwChain *chain, int verdict, const char *target);

/* Matches. @neg turns "==" into "!=". */
void vw_rb_prefix(VwRuleBuf *rb, bool daddr, const VwPrefix *p, bool neg);
void vw_rb_ifname_in(VwRuleBuf *rb, bool oif, const VwSet *set);
/* "oifname "NAME"" (iptables-nft: "-o NAME", compared with its NUL). */
void vw_rb_ifname_eq(VwRuleBuf *rb, bool oif, const char *name);
/* "iifname . oifname @set" */
void vw_rb_ifpair_in(VwRuleBuf *rb, const VwSet *set);
void vw_rb_ifname_vmap(VwRuleBuf *rb, bool oif, const VwSet *map);
void vw_rb_ct_state_est_rel(VwRuleBuf *rb);
void vw_rb_ct_state_new(VwRuleBuf *rb);
/* A TCP segment that does not open a connection: SYN not set alone among
 * FIN, SYN, RST, ACK (nft adds "meta l4proto tcp" first). */
void vw_rb_tcp_not_syn(VwRuleBuf *rb);
void vw_rb_ct_status_dnat(VwRuleBuf *rb);
void vw_rb_fib_daddr_local(VwRuleBuf *rb);
/* "meta l4proto . th dport @set" */
void vw_rb_proto_port_in(VwRuleBuf *rb, const VwSet *set);
/* "ip saddr vmap @map" */
void vw_rb_saddr_vmap(VwRuleBuf *rb, int family, const VwSet *map);
/* "ip daddr @set" */
void vw_rb_daddr_in(VwRuleBuf *rb, int family, const VwSet *set);
/* "meta l4proto . ip daddr . th dport @set" (or saddr and sport). */
void vw_rb_addr_port_in(VwRuleBuf *rb, int family, bool dst, const VwSet *set);
/* Port forward lookups; @with_daddr: the key has the destination address. */
void vw_rb_fwd_keys_in(VwRuleBuf *rb, int family, bool with_daddr, const VwSet *set);
void vw_rb_fwd_allow_not_in(VwRuleBuf *rb, int family, bool with_daddr, const VwSet *set);
void vw_rb_dnat_map(VwRuleBuf *rb, int family, bool with_daddr, const VwSet *map);
/* "KEY [!=] @set" and "KEY vmap @map" for any key of selectors (@family
 * for address selectors). */
void vw_rb_key_in(VwRuleBuf *rb, int family, const VwSel *key, unsigned n, const VwSet *set, bool neg);
void vw_rb_key_vmap(VwRuleBuf *rb, int family, const VwSel *key, unsigned n, const VwSet *map);
/* "SEL VALUE": @value as the selector loads it (network order, or the
 * address for address selectors); "SEL PREFIX" for an address selector. */
void vw_rb_match(VwRuleBuf *rb, VwSel sel, int family, const void *value, uint32_t len);
void vw_rb_prefix_of(VwRuleBuf *rb, VwSel sel, const VwPrefix *p);

/* Statements and verdicts. */
void vw_rb_ct_mark_or(VwRuleBuf *rb, uint32_t bits);
void vw_rb_masquerade(VwRuleBuf *rb);
void vw_rb_snat_to(VwRuleBuf *rb, const VwAddr *a);
void vw_rb_reject_admin(VwRuleBuf *rb);
void vw_rb_reject_tcp_reset(VwRuleBuf *rb);
void vw_rb_counter(VwRuleBuf *rb);
void vw_rb_verdict(VwRuleBuf *rb, int verdict, const char *chain);
/* The rule's comment: nft's, or iptables' comment match. */
void vw_rb_comment(VwRuleBuf *rb, const char *text);
/* iptables' "-m conntrack --ctstate" with XT_CONNTRACK_STATE_* @states. */
void vw_rb_xt_ctstate(VwRuleBuf *rb, uint32_t states);
/* iptables' "-m connmark --mark BITS/BITS": the connection carries @bits. */
void vw_rb_xt_connmark(VwRuleBuf *rb, uint32_t bits);
/* iptables' "-o PREFIX+" (or "-i"): the interface's name begins so. */
void vw_rb_ifname_prefix(VwRuleBuf *rb, bool oif, const char *prefix);

/* The generators (rule-linearize.c, rule-print.c). */
void vw_rule_linearize(const VwRuleBuf *rb, VwRule *out);
char *vw_rule_print(const VwRuleBuf *rb);
/* A verdict as nft prints it: "accept", "jump" (its chain follows) … */
const char *vw_verdict_name(int verdict);

/* What nft knows of a selector: its text, datatype, size and byte order,
 * and for a payload where it lies (for address selectors: IPv4's). */
typedef struct {
	const char *text; /* "th dport"; address selectors: "saddr" (after "ip"/"ip6") */
	VwNftType type;	  /* VW_NFT_NONE: a value of its own kind (ct state, fib type) */
	uint32_t len;	  /* bytes loaded (addresses: IPv4's) */
	bool host_order;
	bool address;  /* ip/ip6 by family, and nft adds "meta nfproto" first */
	uint32_t base; /* NFT_PAYLOAD_*_HEADER + 1, or 0: not a payload */
	uint32_t offset;
} VwSelInfo;

const VwSelInfo *vw_sel_info(VwSel sel);
uint32_t vw_sel_len(VwSel sel, int family);

/* ---------------------------------------------------------------------- */
/* Sets (plan-set.c) */

/* A set as the planner describes it: its fields' types say the rest. */
typedef struct {
	const char *name;
	VwSetKind kind;
	VwNftType key[VW_SET_KEY_FIELDS];
	VwNftType data[VW_SET_DATA_FIELDS];
	bool interval;
	bool counter;
} VwSetDesc;

/* What nft knows of a datatype. */
typedef struct {
	const char *name;  /* "ipv4_addr" */
	uint32_t id;	   /* nft's TYPE_* */
	uint32_t size;	   /* bytes of a value (a key field takes it rounded up to 4) */
	uint8_t byteorder; /* nft's BYTEORDER_*: 0 none, 1 host, 2 big endian */
	/* The expression a "typeof" set names for a field of this type (NULL:
	 * none), and for a raw payload where it reads (nft's proto base,
	 * offset and length in bits). */
	const char *typeof_text;
	uint32_t raw_base, raw_offset, raw_len;
	/* Of a protocol field: nft's proto_desc_id and the field's number in
	 * its header template. */
	uint32_t proto_desc, proto_field;
} VwNftTypeInfo;

const VwNftTypeInfo *vw_nft_type_info(VwNftType t);

VwSet *vw_plan_add_set(VwTable *t, const VwSetDesc *d);
/* Adds an element, its text made from its key (and key end) and data by
 * the set's field types; returns false (and adds nothing) when an element
 * with the same key is already there. The element is taken over: the set
 * keeps a copy sized to its bytes, and @e is freed either way. */
bool vw_set_add(VwSet *s, VwElem *e);
/* Lets go of the sets' indexes (vw_set_find makes one again when asked). */
void vw_plan_drop_indexes(VwPlan *p);
/* Adds the interval of a single-field interval set from @e's key to @last
 * (a value of the key's size): @e, then the element that ends it (one past
 * @last, flagged) unless it runs to the end of the key's range. */
bool vw_set_add_range(VwSet *s, VwElem *e, const uint8_t *last);

/* The text of a key or data of @types in @buf (@end: the last values of a
 * concatenated interval, or NULL), as nft prints it. */
void vw_values_text(GString *out, const VwNftType *types, guint ntypes, const uint8_t *buf, const uint8_t *end);

/* Key building: fields are padded to 4 bytes, as nftables registers are. */
void vw_key_ifname(VwElem *e, const char *name);
void vw_key_put(uint8_t *buf, uint32_t *len, const void *data, uint32_t n);
void vw_key_put_addr(uint8_t *buf, uint32_t *len, const VwAddr *a);
void vw_key_put_port(uint8_t *buf, uint32_t *len, uint16_t port);
void vw_key_put_proto(uint8_t *buf, uint32_t *len, uint8_t proto);

VwChain *vw_plan_add_chain(VwTable *t, const char *name, const char *owner);
VwChain *vw_plan_add_base_chain(VwTable *t, const char *name, VwChainType type, uint32_t hook, int32_t prio,
				const char *prio_text);

/* The spoof filter (plan-spoof.c): table bridge virtwire's skeleton; a
 * network's part (its chain, its reservations, the host's addresses); a
 * guest's port (@pd's interface on @net, owned by @owner). */
void vw_plan_spoof_skeleton(VwPlan *p);
void vw_plan_spoof_network(VwPlan *p, const VwNetwork *net, const char *id);
void vw_plan_spoof_port(VwPlan *p, const VwNetwork *net, const char *id, const char *owner, const VwPlanDomain *pd);

/* Spanning networks (plan-span.c): the VXLAN admission sets and rules of
 * the skeleton; a network's VXLAN device and peers (link operations); its
 * VNI and peers in the admission sets. */
void vw_plan_span_skeleton(VwPlan *p);
/* Table bridge virtwire's part: the host's own frames never leave through
 * a VXLAN port. */
void vw_plan_span_bridge_skeleton(VwPlan *p);
void vw_plan_span_links(VwPlan *p, const VwNetwork *net, const char *id);
void vw_plan_span_elements(VwPlan *p, const VwNetwork *net, const char *id, VwDiags *diags);

/* control="evpn" (plan-evpn.c): the VXLAN operation @o of the span (@over:
 * the header's bytes), and the span's remote VTEPs (VwSpan.vteps) each
 * given to @add as a peer. */
typedef void (*VwPlanPeerFn)(VwTable *t, const char *id, const VwSpan *s, const VwAddr *addr);
void vw_plan_evpn_link(VwLinkOp *o, const VwNetwork *net, const VwSpan *s, unsigned over);
void vw_plan_evpn_elements(VwTable *t, const char *id, const VwSpan *s, VwPlanPeerFn add);

/* Appends the link operations of @net (plan-link.c). */
void vw_plan_links(VwPlan *p, const VwNetwork *net, const char *id);

/* Adds the accepts for network @id's bridge @br in libvirt's firewall, of
 * the families asked for (plan-coexist.c). */
void vw_plan_coexist(VwPlan *p, const char *id, const char *br, bool v4, bool v6);
/* Adds the accepts for virtwire's connections in the host firewalls'
 * extension points (plan->host; plan-coexist.c). */
void vw_plan_host_rules(VwPlan *p);
/* Adds network @id's bridge to the plan's firewalld zones, if virtwire puts
 * it in one (plan->zones; plan-coexist.c). */
void vw_plan_zone_bind(VwPlan *p, const VwNetwork *net, const char *id);

void vw_expr_clear(VwExpr *x);
void vw_rule_free(VwRule *r);

/* The text of an address prefix as nft prints it: "ADDR" for a full-length
 * prefix, "NET/LEN" otherwise. */
char *vw_prefix_nft_text(const VwPrefix *p);

/* A base chain's hook as nft names it ("forward"; "?" for none). */
const char *vw_plan_hook_name(uint32_t hook);
