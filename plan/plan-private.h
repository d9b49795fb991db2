/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Building blocks of the planner, shared by driver/plan*.c and their tests. */
#pragma once

#include <virtwire/plan.h>

/* A rule under construction: expressions and the text nft prints for them. */
typedef struct {
	VwRule *rule;
	GString *text;
	/* The protocol (NFPROTO_*) the rule already checked: nft adds that
	 * dependency once per rule, before the first IP header match. */
	int nfproto;
} VwRuleBuf;

VwRuleBuf vw_rb_new(void);
/* Appends the rule to @chain and resets nothing: the buffer is consumed. */
void vw_rb_commit(VwRuleBuf *rb, VwChain *chain);

/* Matches. @neg turns "==" into "!=". */
void vw_rb_prefix(VwRuleBuf *rb, bool daddr, const VwPrefix *p, bool neg);
void vw_rb_ifname_in(VwRuleBuf *rb, bool oif, const char *set);
void vw_rb_ifname_eq(VwRuleBuf *rb, bool oif, const char *name);
/* "iifname . oifname @set" */
void vw_rb_ifpair_in(VwRuleBuf *rb, const char *set);
void vw_rb_ifname_vmap(VwRuleBuf *rb, bool oif, const char *map);
void vw_rb_ct_state_est_rel(VwRuleBuf *rb);
void vw_rb_ct_status_dnat(VwRuleBuf *rb);
void vw_rb_fib_daddr_local(VwRuleBuf *rb);
/* "meta l4proto . th dport @set" */
void vw_rb_proto_port_in(VwRuleBuf *rb, const char *set);
/* "ip saddr vmap @map" */
void vw_rb_saddr_vmap(VwRuleBuf *rb, int family, const char *map);
/* "ip daddr @set" */
void vw_rb_daddr_in(VwRuleBuf *rb, int family, const char *set);

/* "meta l4proto . ip daddr . th dport @set" (or saddr and sport). */
void vw_rb_addr_port_in(VwRuleBuf *rb, int family, bool dst, const char *set);

/* Port forward lookups; @with_daddr: the key has the destination address. */
void vw_rb_fwd_keys_in(VwRuleBuf *rb, int family, bool with_daddr, const char *set);
void vw_rb_fwd_allow_not_in(VwRuleBuf *rb, int family, bool with_daddr, const char *set);
void vw_rb_dnat_map(VwRuleBuf *rb, int family, bool with_daddr, const char *map);

/* Statements and verdicts. */
void vw_rb_ct_mark_or(VwRuleBuf *rb, uint32_t bits);
void vw_rb_masquerade(VwRuleBuf *rb);
void vw_rb_snat_to(VwRuleBuf *rb, const VwAddr *a);
void vw_rb_reject_admin(VwRuleBuf *rb);
void vw_rb_verdict(VwRuleBuf *rb, int verdict, const char *chain);

/* Sets and elements. */
VwSet *vw_plan_add_set(VwPlan *p, const char *name, const char *type_text, uint32_t key_type, uint32_t key_len,
		       uint32_t flags, const uint8_t *udata, size_t udata_len, int per_line);
void vw_set_make_map(VwSet *s, uint32_t data_type, uint32_t data_len);
void vw_set_set_concat(VwSet *s, const uint8_t *lens, uint32_t n);
/* Adds an element; returns false (and adds nothing) when an element with the
 * same key is already there. The element is taken over. */
bool vw_set_add(VwSet *s, VwElem *e);

/* Key building: fields are padded to 4 bytes, as nftables registers are. */
void vw_key_ifname(VwElem *e, const char *name);
void vw_key_put(uint8_t *buf, uint32_t *len, const void *data, uint32_t n);
void vw_key_put_addr(uint8_t *buf, uint32_t *len, const VwAddr *a);
void vw_key_put_port(uint8_t *buf, uint32_t *len, uint16_t port);
void vw_key_put_proto(uint8_t *buf, uint32_t *len, uint8_t proto);

VwChain *vw_plan_add_chain(VwPlan *p, const char *name, const char *owner);
VwChain *vw_plan_add_base_chain(VwPlan *p, const char *name, VwChainType type, uint32_t hook, int32_t prio,
				const char *prio_text);

/* Appends the link operations of @net (plan-link.c). */
void vw_plan_links(VwPlan *p, const VwNetwork *net, const char *id);

void vw_expr_clear(VwExpr *x);
void vw_rule_free(VwRule *r);

/* The text of an address prefix as nft prints it: "ADDR" for a full-length
 * prefix, "NET/LEN" otherwise. */
char *vw_prefix_nft_text(const VwPrefix *p);
