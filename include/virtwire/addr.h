/* SPDX-License-Identifier: GPL-2.0-or-later */
/* IP addresses, prefixes and MAC addresses as plain values. */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

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
