/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Semantic rules over the model: what libvirt's schemas cannot say. Pure
 * functions of the model; every finding carries the file and line of the
 * object it is about.
 */
#pragma once

#include <virtwire/model.h>

/* Rules about one network alone: modes, addresses, DHCP, forwards. */
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
