/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target: arbitrary bytes as a libvirt document (network, domain,
 * networkport or hookData, with virtwire metadata), through the parser, the
 * semantic checks and the planner. Any crash, leak or undefined behaviour is
 * a bug; findings about the input are expected.
 */
#include <stddef.h>
#include <stdint.h>

#include <virtwire/check.h>
#include <virtwire/plan.h>
#include <virtwire/xml.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autoptr(VwDiags) diags = vw_diags_new();
	g_autoptr(GPtrArray) docs = g_ptr_array_new_with_free_func((GDestroyNotify)vw_doc_free);
	g_autoptr(GPtrArray) networks = g_ptr_array_new();
	g_autoptr(GPtrArray) domains = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(VwPlan) plan = NULL;
	VwDoc *doc = NULL;

	/* Large inputs only slow the fuzzer down; the caps are tested elsewhere. */
	if (size > 1 << 20)
		return 0;
	if (vw_doc_load_memory("fuzz.xml", (const char *)data, size, NULL, diags, &doc) != VW_LOAD_OK)
		return 0;
	g_ptr_array_add(docs, doc);
	vw_check_docs(docs, diags);
	g_free(vw_diags_format_text(diags));
	g_free(vw_diags_format_json(diags));
	if (vw_diags_has_errors(diags))
		return 0;
	if (doc->network)
		g_ptr_array_add(networks, doc->network);
	if (doc->domain) {
		for (guint i = 0; i < doc->domain->interfaces->len; i++) {
			const VwInterface *iface = doc->domain->interfaces->pdata[i];
			VwPlanDomain *pd = g_new0(VwPlanDomain, 1);

			pd->domain = doc->domain;
			pd->network = iface->source_network;
			g_ptr_array_add(domains, pd);
		}
	}
	plan = vw_plan_build(networks, domains, diags);
	if (plan)
		g_free(vw_plan_format(plan));
	return 0;
}
