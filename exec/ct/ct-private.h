/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Conntrack over ctnetlink: messages built into a buffer and read back
 * without a socket (ct-msg.c), so they are tested without root; the socket
 * is ct-netlink.c's, the choice of entries ct.c's. */
#pragma once

#include <stddef.h>

#include <virtwire/exec.h>

/* A conntrack entry as a dump reports it: the tuples of both directions
 * (a DNATed connection's reply comes from its target), its status bits,
 * its zone and id. */
typedef struct {
	int family;    /* AF_INET, AF_INET6 */
	uint8_t proto; /* IPPROTO_* */
	VwAddr src, dst;
	uint16_t sport, dport;
	VwAddr reply_src, reply_dst;
	uint16_t reply_sport, reply_dport;
	bool has_reply;
	uint32_t status; /* IPS_* */
	uint16_t zone;
	bool has_id;
	uint32_t id;
} VwCtEntry;

/* The request for every conntrack entry of @family (AF_INET, AF_INET6),
 * built in @buf (@size bytes, at least VW_CT_MSG_MAX). */
struct nlmsghdr *vw_ct_build_dump(void *buf, size_t size, int family, uint32_t seq);

/* The request that deletes entry @e: its original tuple, its zone, and
 * (when known) its id, so that the kernel deletes only that entry — never
 * a request without a tuple, which would flush the table. NULL when @e
 * has no original tuple to name. */
struct nlmsghdr *vw_ct_build_delete(void *buf, size_t size, const VwCtEntry *e, uint32_t seq);

/* Room for any request above. */
#define VW_CT_MSG_MAX 512

/* Reads a ctnetlink entry message (a dump's reply, or a request built
 * above) into @ret. False when it is not one or lacks its original tuple. */
bool vw_ct_parse(const struct nlmsghdr *nlh, VwCtEntry *ret);

/* Whether forward @r DNATed entry @e: protocol, host port and listen
 * address of the original direction, target and port of the reply, and
 * the DNAT status bit. */
bool vw_ct_matches(const VwCtEntry *e, const VwReleased *r);
