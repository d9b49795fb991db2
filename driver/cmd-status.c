/* SPDX-License-Identifier: GPL-2.0-or-later */
/* virtwire status: the networks virtwire manages, read from the kernel. */
#include <stdio.h>
#include <string.h>

#include <virtwire/check.h>
#include <virtwire/engine.h>
#include <virtwire/exec.h>
#include <virtwire/plan.h>
#include <virtwire/state.h>
#include <virtwire/xml.h>

#include "cli.h"

typedef struct {
	guint64 packets, bytes;
} Traffic;

/* Sums the counters of one forward's targets (every port of its range, in
 * every family it forwards). */
static Traffic forward_traffic(const VwNetwork *net, const VwForward *f, GPtrArray *counters)
{
	Traffic t = { 0, 0 };

	for (int fam = AF_INET; fam; fam = fam == AF_INET ? AF_INET6 : 0) {
		VwAddr target;

		if (vw_addr_is_set(&f->listen) && f->listen.family != fam)
			continue;
		if (!vw_forward_target(net, f, fam, &target))
			continue;
		for (unsigned i = 0; i < vw_port_range_len(f->host); i++) {
			uint16_t gp = f->has_guest_port ? (uint16_t)(f->guest.lo + (vw_port_range_len(f->guest) > 1 ? i : 0))
							: (uint16_t)(f->host.lo + i);

			for (guint c = 0; c < counters->len; c++) {
				const VwCounter *k = counters->pdata[c];

				if (k->proto == f->proto && k->port == gp && vw_addr_equal(&k->addr, &target)) {
					t.packets += k->packets;
					t.bytes += k->bytes;
				}
			}
		}
	}
	return t;
}

static char *ports_text(VwPortRange r)
{
	return r.lo == r.hi ? g_strdup_printf("%u", r.lo) : g_strdup_printf("%u-%u", r.lo, r.hi);
}

static char *target_text(const VwNetwork *net, const VwForward *f)
{
	char a[VW_ADDR_STRLEN], m[VW_MAC_STRLEN];
	VwPortRange g = f->has_guest_port ? f->guest : f->host;
	g_autofree char *ports = ports_text(g);

	if (vw_addr_is_set(&f->guest_addr))
		return g_strdup_printf("%s port %s", vw_addr_to_string(&f->guest_addr, a), ports);
	{
		VwAddr t;

		if (vw_forward_target(net, f, AF_INET, &t))
			return g_strdup_printf("%s (%s) port %s", vw_addr_to_string(&t, a),
					       vw_mac_to_string(&f->guest_mac, m), ports);
	}
	return g_strdup_printf("%s port %s", vw_mac_to_string(&f->guest_mac, m), ports);
}

/* One forward (of the network, or of @domain's port) with its traffic. */
static void print_forward(GString *json, guint *n, const VwNetwork *net, const VwForward *f, const char *domain,
			  GPtrArray *counters)
{
	Traffic t = forward_traffic(net, f, counters);
	g_autofree char *what = vw_forward_describe(f);
	g_autofree char *hp = ports_text(f->host);
	g_autofree char *target = target_text(net, f);
	char l[VW_ADDR_STRLEN];

	if (json) {
		g_string_append(json, (*n)++ ? ",{\"name\":" : "{\"name\":");
		if (f->name)
			vw_json_append_string(json, f->name);
		else
			g_string_append(json, "null");
		g_string_append(json, ",\"domain\":");
		if (domain)
			vw_json_append_string(json, domain);
		else
			g_string_append(json, "null");
		g_string_append(json, ",\"proto\":");
		vw_json_append_string(json, vw_proto_to_string(f->proto));
		g_string_append(json, ",\"listen\":");
		if (vw_addr_is_set(&f->listen))
			vw_json_append_string(json, vw_addr_to_string(&f->listen, l));
		else
			g_string_append(json, "null");
		g_string_append(json, ",\"host_ports\":");
		vw_json_append_string(json, hp);
		g_string_append(json, ",\"target\":");
		vw_json_append_string(json, target);
		g_string_append_printf(json, ",\"packets\":%" G_GUINT64_FORMAT ",\"bytes\":%" G_GUINT64_FORMAT "}",
				       t.packets, t.bytes);
		return;
	}
	if (domain)
		printf("  domain forward %s of '%s':", what, domain);
	else
		printf("  forward %-12s", what);
	printf(" %s %s%s%s -> %s: %" G_GUINT64_FORMAT " packets, %" G_GUINT64_FORMAT " bytes\n",
	       vw_proto_to_string(f->proto), vw_addr_is_set(&f->listen) ? vw_addr_to_string(&f->listen, l) : "",
	       vw_addr_is_set(&f->listen) ? ":" : "port ", hp, target, t.packets, t.bytes);
}

int vw_cmd_status(int argc, char **argv)
{
	g_autofree char *state_dir = NULL;
	g_autofree char *format = NULL;
	GOptionEntry entries[] = {
		{ "state-dir", 0, 0, G_OPTION_ARG_FILENAME, &state_dir,
		  "where applied networks are recorded (default $VIRTWIRE_STATE_DIR or /run/virtwire)", "DIR" },
		{ "format", 0, 0, G_OPTION_ARG_STRING, &format, "text (default) or json", "FORMAT" },
		{ NULL }
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new("- the networks virtwire manages");
	g_autoptr(GPtrArray) names = NULL;
	g_autoptr(GPtrArray) counters = g_ptr_array_new_with_free_func((GDestroyNotify)vw_counter_free);
	g_autoptr(GError) err = NULL;
	g_autoptr(VwLinkBackend) be = NULL;
	g_autoptr(VwDiags) diags = vw_diags_new();
	GString *json = NULL;
	const char *dir;
	bool as_json;

	g_option_context_add_main_entries(ctx, entries, NULL);
	g_option_context_set_description(
		ctx, "Every network virtwire has applied: its mode, bridge and addresses as the kernel has them,\n"
		     "and its forwards with the packets and bytes of the connections forwarded through them.");
	if (!vw_cli_parse(ctx, &argc, &argv))
		return VW_EXIT_USAGE;
	as_json = format && strcmp(format, "json") == 0;
	if (format && !as_json && strcmp(format, "text") != 0) {
		fprintf(stderr, "virtwire status: --format must be 'text' or 'json', not '%s'\n", format);
		return VW_EXIT_USAGE;
	}
	dir = vw_state_dir(state_dir);
	names = vw_state_list(dir);
	be = vw_link_backend_netlink(&err);
	if (!be || !vw_nft_counters(counters, &err)) {
		fprintf(stderr, "virtwire status: %s\n", err->message);
		return VW_EXIT_USAGE;
	}
	if (as_json)
		json = g_string_new("{\"networks\":[");
	else if (!names->len)
		printf("no network is managed by virtwire (none is recorded in %s)\n", dir);

	for (guint i = 0; i < names->len; i++) {
		g_autoptr(VwState) st = NULL;
		g_autoptr(GError) e = NULL;
		g_autoptr(VwDoc) doc = NULL;
		g_autofree char *xml_path = vw_state_xml_path(dir, names->pdata[i]);
		g_autoptr(GArray) addrs = g_array_new(FALSE, TRUE, sizeof(VwAddrInfo));
		VwLinkInfo li = { 0 };
		bool have_bridge;
		GPtrArray *fwds;
		guint nfwd = 0;

		if (!vw_state_load(dir, names->pdata[i], &st, &e)) {
			if (!as_json)
				printf("%s: %s\n", (char *)names->pdata[i], e->message);
			continue;
		}
		if (vw_doc_load_memory(xml_path, st->xml, strlen(st->xml), NULL, diags, &doc) != VW_LOAD_OK ||
		    !doc->network)
			continue;
		have_bridge = st->bridge && be->link_get(be->ctx, st->bridge, &li) == 0;
		if (have_bridge)
			be->addr_list(be->ctx, st->bridge, addrs);
		fwds = vw_network_forwards(doc->network);

		if (as_json) {
			g_string_append(json, i ? ",\n  {\"name\":" : "\n  {\"name\":");
			vw_json_append_string(json, st->name);
			g_string_append(json, ",\"mode\":");
			vw_json_append_string(json, st->mode ? st->mode : "");
			g_string_append(json, ",\"bridge\":");
			vw_json_append_string(json, st->bridge ? st->bridge : "");
			g_string_append_printf(json, ",\"bridge_present\":%s,\"up\":%s,\"applied\":",
					       have_bridge ? "true" : "false", li.up ? "true" : "false");
			vw_json_append_string(json, st->applied ? st->applied : "");
			g_string_append(json, ",\"addresses\":[");
			for (guint j = 0; j < addrs->len; j++) {
				g_autofree char *a = vw_prefix_to_string(&g_array_index(addrs, VwAddrInfo, j).prefix);

				if (j)
					g_string_append_c(json, ',');
				vw_json_append_string(json, a);
			}
			g_string_append(json, "],\"forwards\":[");
		} else {
			printf("network '%s': %s, bridge %s %s, applied %s\n", st->name, st->mode ? st->mode : "?",
			       st->bridge ? st->bridge : "(none)",
			       !have_bridge ? "(missing)" : li.up ? "(up)" : "(down)", st->applied ? st->applied : "?");
			if (addrs->len) {
				printf("  addresses:");
				for (guint j = 0; j < addrs->len; j++) {
					g_autofree char *a =
						vw_prefix_to_string(&g_array_index(addrs, VwAddrInfo, j).prefix);

					printf(" %s", a);
				}
				printf("\n");
			}
		}
		for (guint j = 0; j < fwds->len; j++)
			print_forward(json, &nfwd, doc->network, fwds->pdata[j], NULL, counters);
		/* The forwards of domains' ports, from their domains' XML. */
		{
			g_autoptr(GPtrArray) port_docs = g_ptr_array_new_with_free_func((GDestroyNotify)vw_doc_free);
			g_autoptr(GPtrArray) port_doms = g_ptr_array_new_with_free_func(g_free);

			vw_engine_recorded_ports(dir, st, st->name, port_docs, port_doms);
			for (guint j = 0; j < port_doms->len; j++) {
				const VwPlanDomain *pd = port_doms->pdata[j];

				for (guint k = 0; pd->domain->vw && k < pd->domain->vw->forwards->len; k++) {
					g_autoptr(VwForward) f = vw_domain_forward_resolve(
						pd->domain, pd->domain->vw->forwards->pdata[k], st->name,
						pd->has_mac ? &pd->mac : NULL);

					if (f)
						print_forward(json, &nfwd, doc->network, f, pd->domain->name, counters);
				}
			}
		}
		if (as_json)
			g_string_append(json, "]}");
	}
	if (as_json) {
		g_string_append(json, "\n]}\n");
		fputs(json->str, stdout);
		g_string_free(json, TRUE);
	}
	return VW_EXIT_OK;
}
