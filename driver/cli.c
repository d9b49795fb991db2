/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Loading and checking input files: shared by check, plan and apply. */
#include <stdio.h>

#include <virtwire/check.h>
#include <virtwire/xml.h>

#include "cli.h"

int vw_cli_load(char **files, const VwLoadOptions *opts, VwDiags *diags, GPtrArray *docs)
{
	g_autoptr(VwSchemas) schemas = opts->no_schema ? NULL : vw_schemas_new(opts->schema_dir);
	bool fatal = false;

	for (char **f = files; *f; f++) {
		VwDoc *doc = NULL;

		if (vw_doc_load_file(*f, schemas, diags, &doc) != VW_LOAD_OK)
			fatal = true;
		else
			g_ptr_array_add(docs, doc);
	}
	vw_check_docs(docs, diags);
	vw_diags_sort(diags);
	return fatal ? VW_EXIT_USAGE : VW_EXIT_OK;
}

void vw_cli_collect(GPtrArray *docs, GPtrArray *networks, GPtrArray *domains)
{
	for (guint i = 0; i < docs->len; i++) {
		VwDoc *doc = docs->pdata[i];

		if (doc->network)
			g_ptr_array_add(networks, doc->network);
		if (doc->domain && domains) {
			for (guint j = 0; j < doc->domain->interfaces->len; j++) {
				const VwInterface *iface = doc->domain->interfaces->pdata[j];
				VwPlanDomain *pd;

				if (!iface->source_network || !doc->domain->vw)
					continue;
				pd = g_new0(VwPlanDomain, 1);
				pd->domain = doc->domain;
				pd->network = iface->source_network;
				pd->port_uuid = iface->portid;
				pd->has_mac = iface->has_mac;
				pd->mac = iface->mac;
				g_ptr_array_add(domains, pd);
			}
		}
	}
}
