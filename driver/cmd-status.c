/* SPDX-License-Identifier: GPL-2.0-or-later */
/* virtwire status: the networks virtwire manages, read from the kernel. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static char *ports_text(VwPortRange r)
{
	return r.lo == r.hi ? g_strdup_printf("%u", r.lo) : g_strdup_printf("%u-%u", r.lo, r.hi);
}

/* "ADDR port P", "ADDR (MAC) port P" for a reservation, "MAC port P". */
static char *target_text(const VwStatusForward *sf)
{
	const VwForward *f = sf->forward;
	char a[VW_ADDR_STRLEN], m[VW_MAC_STRLEN];
	g_autofree char *ports = ports_text(f->has_guest_port ? f->guest : f->host);

	if (vw_addr_is_set(&f->guest_addr))
		return g_strdup_printf("%s port %s", vw_addr_to_string(&f->guest_addr, a), ports);
	if (sf->has_target && sf->target.family == AF_INET)
		return g_strdup_printf("%s (%s) port %s", vw_addr_to_string(&sf->target, a),
				       vw_mac_to_string(&f->guest_mac, m), ports);
	return g_strdup_printf("%s port %s", vw_mac_to_string(&f->guest_mac, m), ports);
}

static void json_str_or_null(GString *json, const char *key, const char *value)
{
	g_string_append_printf(json, ",\"%s\":", key);
	if (value)
		vw_json_append_string(json, value);
	else
		g_string_append(json, "null");
}

static void forward_json(GString *json, const VwStatusForward *sf, bool first)
{
	const VwForward *f = sf->forward;
	g_autofree char *hp = ports_text(f->host);
	g_autofree char *target = target_text(sf);
	char l[VW_ADDR_STRLEN];

	g_string_append(json, first ? "{\"name\":" : ",{\"name\":");
	if (f->name)
		vw_json_append_string(json, f->name);
	else
		g_string_append(json, "null");
	json_str_or_null(json, "domain", sf->domain);
	json_str_or_null(json, "proto", vw_proto_to_string(f->proto));
	json_str_or_null(json, "listen", vw_addr_is_set(&f->listen) ? vw_addr_to_string(&f->listen, l) : NULL);
	json_str_or_null(json, "host_ports", hp);
	json_str_or_null(json, "target", target);
	g_string_append_printf(json, ",\"packets\":%" G_GUINT64_FORMAT ",\"bytes\":%" G_GUINT64_FORMAT "}", sf->packets,
			       sf->bytes);
}

static void forward_text(const VwStatusForward *sf)
{
	const VwForward *f = sf->forward;
	g_autofree char *what = vw_forward_describe(f);
	g_autofree char *hp = ports_text(f->host);
	g_autofree char *target = target_text(sf);
	char l[VW_ADDR_STRLEN];
	bool listen = vw_addr_is_set(&f->listen);

	if (sf->domain)
		printf("  domain forward %s of '%s':", what, sf->domain);
	else
		printf("  forward %-12s", what);
	printf(" %s %s%s%s -> %s: %" G_GUINT64_FORMAT " packets, %" G_GUINT64_FORMAT " bytes\n",
	       vw_proto_to_string(f->proto), listen ? vw_addr_to_string(&f->listen, l) : "", listen ? ":" : "port ", hp,
	       target, sf->packets, sf->bytes);
}

static void network_json(GString *json, const VwStatusNetwork *n, bool first)
{
	g_string_append(json, first ? "\n  {\"name\":" : ",\n  {\"name\":");
	vw_json_append_string(json, n->name);
	json_str_or_null(json, "mode", n->mode ? n->mode : "");
	json_str_or_null(json, "bridge", n->bridge ? n->bridge : "");
	g_string_append_printf(json, ",\"bridge_present\":%s,\"up\":%s", n->bridge_present ? "true" : "false",
			       n->up ? "true" : "false");
	json_str_or_null(json, "applied", n->applied ? n->applied : "");
	g_string_append(json, ",\"addresses\":[");
	for (guint j = 0; j < n->addresses->len; j++) {
		if (j)
			g_string_append_c(json, ',');
		vw_json_append_string(json, n->addresses->pdata[j]);
	}
	g_string_append(json, "],\"forwards\":[");
	for (guint j = 0; j < n->forwards->len; j++)
		forward_json(json, n->forwards->pdata[j], j == 0);
	g_string_append_printf(json, "],\"spoof_filter\":%s,\"spoofed\":%" G_GUINT64_FORMAT "}",
			       n->spoof_filter ? "true" : "false", n->spoofed);
}

static void network_text(const VwStatusNetwork *n)
{
	printf("network '%s': %s, bridge %s %s, applied %s\n", n->name, n->mode ? n->mode : "?",
	       n->bridge ? n->bridge : "(none)",
	       !n->bridge_present ? "(missing)"
	       : n->up		  ? "(up)"
				  : "(down)",
	       n->applied ? n->applied : "?");
	if (n->addresses->len) {
		printf("  addresses:");
		for (guint j = 0; j < n->addresses->len; j++)
			printf(" %s", (char *)n->addresses->pdata[j]);
		printf("\n");
	}
	if (n->spoof_filter)
		printf("  spoof filter: on, %" G_GUINT64_FORMAT " spoofed frame%s dropped\n", n->spoofed,
		       n->spoofed == 1 ? "" : "s");
	else
		printf("  spoof filter: off\n");
	for (guint j = 0; j < n->forwards->len; j++)
		forward_text(n->forwards->pdata[j]);
}

int vw_cmd_status(int argc, char **argv, const VwEngineConfig *base)
{
	VwCliOptions o = { 0 };
	g_autofree char *format = NULL;
	GOptionEntry entries[] = { VW_CLI_STATE_ENTRY(o),
				   { "format", 0, 0, G_OPTION_ARG_STRING, &format, "text (default) or json", "FORMAT" },
				   { NULL } };
	g_autoptr(GPtrArray) networks = g_ptr_array_new_with_free_func((GDestroyNotify)vw_status_network_free);
	g_autoptr(VwEngine) engine = NULL;
	g_autoptr(GError) err = NULL;
	GString *json = NULL;
	guint shown = 0;
	bool as_json;

	if (!vw_cli_parse(entries, &argc, &argv) || !vw_cli_parse_format("status", format, &as_json))
		return VW_EXIT_USAGE;
	engine = vw_cli_engine(base, &o);
	vw_cli_options_clear(&o);
	if (!vw_engine_status(engine, networks, &err))
		return vw_cli_fail("status", NULL, err);
	if (as_json)
		json = g_string_new("{\"networks\":[");
	else if (!networks->len)
		printf("no network is managed by virtwire (none is recorded in %s)\n", vw_engine_state_dir(engine));
	for (guint i = 0; i < networks->len; i++) {
		const VwStatusNetwork *n = networks->pdata[i];

		if (n->error) {
			if (!as_json)
				printf("%s: %s\n", n->name, n->error->message);
			continue;
		}
		if (as_json)
			network_json(json, n, shown++ == 0);
		else
			network_text(n);
	}
	if (as_json) {
		g_string_append(json, "\n]}\n");
		fputs(json->str, stdout);
		g_string_free(json, TRUE);
	}
	return VW_EXIT_OK;
}
