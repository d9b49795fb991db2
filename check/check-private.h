/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What the checker's files share: the rules of one concern each call these. */
#pragma once

#include <string.h>

#include <virtwire/check.h>

#define E(d, loc, code, hint, ...) vw_error((d), (loc), (code), (hint), __VA_ARGS__)
#define W(d, loc, code, hint, ...) vw_warning((d), (loc), (code), (hint), __VA_ARGS__)

/* "IPv4" or "IPv6". */
const char *vw_chk_fam_name(int family);
/* The subnet an <ip> with a prefix spans. */
VwPrefix vw_chk_ip_subnet(const VwIp *ip);
/* True when @a is the network or broadcast address of a subnet in which those
 * are not usable by hosts (IPv4 shorter than /31). */
bool vw_chk_is_subnet_edge(const VwAddr *a, unsigned prefix);
/* Modes in which outside traffic reaches guests through port forwards. */
bool vw_chk_mode_forwards_ports(VwMode m);
/* The network of @networks (VwNetwork*, may be NULL) named @name, or NULL. */
const VwNetwork *vw_chk_find_network(GPtrArray *networks, const char *name);
/* Where @iface's MAC must be its own: "MAC on network 'N'" or "MAC on bridge
 * 'B'", or NULL when the interface is on neither (no MAC, hostdev, user …). */
char *vw_chk_mac_place(const VwInterface *iface);
/* Whether @a and @b are the two halves of one virtio failover pair. */
bool vw_chk_teaming_pair(const VwInterface *a, const VwInterface *b);

/* check-network.c: whether vw_check_network_name() takes @name (no finding). */
bool vw_chk_name_ok(const char *name);

/* check-modes.c: virtwire's mode against libvirt's forward mode, and the
 * settings each mode takes. */
void vw_chk_modes(const VwNetwork *net, VwDiags *d);

/* check-forward.c: a network's forwards. */
void vw_chk_forwards(const VwNetwork *net, VwDiags *d);
/* Checks that apply to network and domain forwards alike: ports, listen
 * address, sources. @what names the forward in messages. */
void vw_chk_forward_common(const VwNetwork *net, const VwForward *f, const char *what, VwDiags *d);
/* Sources against the families (VW_FAM_*) a forward reaches its guest in. */
void vw_chk_source_families(const VwForward *f, unsigned fams, const char *what, VwDiags *d);
/* A forward by MAC (@mac, text) with no reservation on @net: an error,
 * unless the network learns its guests' addresses (then a warning: the
 * forward waits for virtwire watch). @domain: the domain's name for a
 * domain's forward, else NULL. */
void vw_chk_unreserved(const VwNetwork *net, VwLoc loc, const char *what, const char *mac, const char *domain,
		       VwDiags *d);

/* check-span.c: a spanning network's <vw:span>, and VNIs across networks. */
void vw_chk_span(const VwNetwork *net, VwDiags *d);
void vw_chk_span_together(GPtrArray *networks, VwDiags *d);
