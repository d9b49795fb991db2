/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Semantic rules over the model: what libvirt's schemas cannot say. Pure
 * functions of the model; every finding carries the file and line of the
 * object it is about.
 */
#pragma once

#include <virtwire/model.h>

/* The longest network name virtwire takes, in bytes. libvirt keeps each
 * network in files named after it (NAME.xml in its config and status
 * folders, NAME.conf, NAME.hostsfile … for its dnsmasq), so on Linux
 * (NAME_MAX 255) it cannot define a network whose name is longer than 251
 * bytes: this refuses nothing libvirt runs, and bounds what a name costs in
 * records, rules and messages. */
#define VW_MAX_NETWORK_NAME 256

/* A network name libvirt and virtwire can both hold: not empty, at most
 * VW_MAX_NETWORK_NAME bytes, UTF-8, and neither '/' (libvirt refuses it)
 * nor a control character (a newline would forge lines in a record or a
 * message). Otherwise false, with one "network-name" finding at @loc, the
 * same wherever the name is checked (check, apply, the network hook). */
bool vw_check_network_name(const char *name, VwLoc loc, VwDiags *diags);

/* Rules about one network alone: its name, modes, addresses, DHCP,
 * forwards. A network whose name is refused gets no other finding. */
void vw_check_network(const VwNetwork *net, VwDiags *diags);

/* Rules about one domain alone, and its forwards against @networks (the
 * networks known to the caller, VwNetwork*; a network missing there gives a
 * warning that the forward could not be checked). */
void vw_check_domain(const VwDomain *dom, GPtrArray *networks, VwDiags *diags);

/* Rules across several networks and domains given together: overlapping
 * subnets, duplicate names and bridges, forward collisions, duplicate MACs.
 * O(n log n) in the number of forwards. */
void vw_check_together(GPtrArray *networks, GPtrArray *domains, VwDiags *diags);

/* Everything above for a set of parsed documents (VwDoc*): the networks of
 * network and hookData documents, the domains, and the networkports (which
 * are checked against the network in the same hookData). */
void vw_check_docs(GPtrArray *docs, VwDiags *diags);
