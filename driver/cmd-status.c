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

static void ports_json(VwJson *j, const char *key, VwPortRange r)
{
	vw_json_begin_object(j, key);
	vw_json_uint(j, "first", r.lo);
	vw_json_uint(j, "last", r.hi);
	vw_json_end_object(j);
}

static void addr_json(VwJson *j, const char *key, const VwAddr *a)
{
	char buf[VW_ADDR_STRLEN];

	vw_json_string(j, key, vw_addr_is_set(a) ? vw_addr_to_string(a, buf) : NULL);
}

/* The guest a forward reaches: its address (given, or the reservation or
 * learned address of its MAC; null while unknown), its MAC, its ports. */
static void target_json(VwJson *j, const VwStatusForward *sf)
{
	const VwForward *f = sf->forward;
	char m[VW_MAC_STRLEN];

	vw_json_begin_object(j, "target");
	if (vw_addr_is_set(&f->guest_addr))
		addr_json(j, "address", &f->guest_addr);
	else if (sf->has_target)
		addr_json(j, "address", &sf->target);
	else
		vw_json_null(j, "address");
	vw_json_string(j, "mac", f->has_guest_mac ? vw_mac_to_string(&f->guest_mac, m) : NULL);
	ports_json(j, "ports", f->has_guest_port ? f->guest : f->host);
	vw_json_end_object(j);
}

static void forward_json(VwJson *j, const VwStatusForward *sf)
{
	const VwForward *f = sf->forward;

	vw_json_begin_object(j, NULL);
	vw_json_string(j, "name", f->name);
	vw_json_string(j, "domain", sf->domain);
	vw_json_string(j, "proto", vw_proto_to_string(f->proto));
	addr_json(j, "listen", &f->listen);
	ports_json(j, "host_ports", f->host);
	target_json(j, sf);
	vw_json_uint(j, "packets", sf->packets);
	vw_json_uint(j, "bytes", sf->bytes);
	vw_json_end_object(j);
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

/* "ADDR/LEN" as {"address","prefix_length"}. */
static void cidr_json(VwJson *j, const char *cidr)
{
	const char *slash = strrchr(cidr, '/');
	g_autofree char *addr = g_strndup(cidr, slash ? (gsize)(slash - cidr) : strlen(cidr));

	vw_json_begin_object(j, NULL);
	vw_json_string(j, "address", addr);
	if (slash)
		vw_json_uint(j, "prefix_length", g_ascii_strtoull(slash + 1, NULL, 10));
	else
		vw_json_null(j, "prefix_length");
	vw_json_end_object(j);
}

static void traffic_json(VwJson *j, const VwStatusNetwork *n)
{
	if (!n->has_traffic) {
		vw_json_null(j, "bridge_traffic");
		return;
	}
	vw_json_begin_object(j, "bridge_traffic");
	vw_json_uint(j, "rx_packets", n->rx_packets);
	vw_json_uint(j, "rx_bytes", n->rx_bytes);
	vw_json_uint(j, "tx_packets", n->tx_packets);
	vw_json_uint(j, "tx_bytes", n->tx_bytes);
	vw_json_end_object(j);
}

/* "span": the VXLAN device of a spanning network, or null. */
static void span_json(VwJson *j, const VwStatusSpan *s)
{
	char a[VW_ADDR_STRLEN];

	if (!s) {
		vw_json_null(j, "span");
		return;
	}
	vw_json_begin_object(j, "span");
	vw_json_string(j, "device", s->device);
	vw_json_uint(j, "vni", s->vni);
	vw_json_uint(j, "port", s->port);
	vw_json_string(j, "underlay", s->underlay);
	vw_json_bool(j, "present", s->present);
	vw_json_bool(j, "up", s->up);
	vw_json_string(j, "local", vw_addr_is_set(&s->local) ? vw_addr_to_string(&s->local, a) : NULL);
	vw_json_string(j, "control", s->evpn ? "evpn" : "static");
	vw_json_begin_array(j, "peers");
	for (guint i = 0; i < s->peers->len; i++)
		vw_json_string(j, NULL, s->peers->pdata[i]);
	vw_json_end_array(j);
	vw_json_begin_array(j, "remote_macs");
	for (guint i = 0; i < s->remote->len; i++) {
		g_auto(GStrv) f = g_strsplit(s->remote->pdata[i], " ", 2);

		vw_json_begin_object(j, NULL);
		vw_json_string(j, "mac", f[0]);
		vw_json_string(j, "peer", f[1]);
		vw_json_end_object(j);
	}
	vw_json_end_array(j);
	vw_json_end_object(j);
}

static void span_text(const VwStatusSpan *s)
{
	char a[VW_ADDR_STRLEN];

	printf("  span: VXLAN %s %s, VNI %u, UDP port %u, over %s", s->device,
	       !s->present ? "(missing)"
	       : s->up	   ? "(up)"
			   : "(down)",
	       s->vni, s->port, s->underlay);
	if (vw_addr_is_set(&s->local))
		printf(" from %s", vw_addr_to_string(&s->local, a));
	printf("\n  %s:", s->evpn ? "EVPN neighbours" : "peers");
	for (guint i = 0; i < s->peers->len; i++)
		printf(" %s", (char *)s->peers->pdata[i]);
	printf("%s\n", s->peers->len ? "" : " none");
	for (guint i = 0; i < s->remote->len; i++)
		printf("  remote MAC %s\n", (char *)s->remote->pdata[i]);
}

static void network_json(VwJson *j, const VwStatusNetwork *n)
{
	vw_json_begin_object(j, NULL);
	vw_json_string(j, "name", n->name);
	if (n->error) {
		vw_json_string(j, "error", n->error->message);
		vw_json_end_object(j);
		return;
	}
	vw_json_null(j, "error");
	vw_json_string(j, "mode", n->mode);
	vw_json_string(j, "bridge", n->bridge);
	vw_json_bool(j, "bridge_present", n->bridge_present);
	vw_json_bool(j, "up", n->up);
	vw_json_string(j, "applied", n->applied);
	vw_json_begin_array(j, "addresses");
	for (guint k = 0; k < n->addresses->len; k++)
		cidr_json(j, n->addresses->pdata[k]);
	vw_json_end_array(j);
	traffic_json(j, n);
	vw_json_begin_array(j, "forwards");
	for (guint k = 0; k < n->forwards->len; k++)
		forward_json(j, n->forwards->pdata[k]);
	vw_json_end_array(j);
	vw_json_bool(j, "spoof_filter", n->spoof_filter);
	vw_json_uint(j, "spoofed", n->spoofed);
	span_json(j, n->span);
	vw_json_end_object(j);
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
	if (n->has_traffic)
		printf("  bridge traffic: received %" G_GUINT64_FORMAT " packets (%" G_GUINT64_FORMAT
		       " bytes), sent %" G_GUINT64_FORMAT " packets (%" G_GUINT64_FORMAT " bytes)\n",
		       n->rx_packets, n->rx_bytes, n->tx_packets, n->tx_bytes);
	if (n->spoof_filter)
		printf("  spoof filter: on, %" G_GUINT64_FORMAT " spoofed frame%s dropped\n", n->spoofed,
		       n->spoofed == 1 ? "" : "s");
	else
		printf("  spoof filter: off\n");
	if (n->span)
		span_text(n->span);
	for (guint j = 0; j < n->forwards->len; j++)
		forward_text(n->forwards->pdata[j]);
}

/* A label value as OpenMetrics escapes it: \\, \" and \n. */
static void om_label(GString *out, const char *key, const char *value, bool first)
{
	g_string_append_printf(out, "%s%s=\"", first ? "" : ",", key);
	for (const char *p = value ? value : ""; *p; p++) {
		if (*p == '\\' || *p == '"')
			g_string_append_c(out, '\\');
		if (*p == '\n')
			g_string_append(out, "\\n");
		else
			g_string_append_c(out, *p);
	}
	g_string_append_c(out, '"');
}

static void om_family(GString *out, const char *name, const char *type, const char *unit, const char *help)
{
	g_string_append_printf(out, "# TYPE %s %s\n", name, type);
	if (unit)
		g_string_append_printf(out, "# UNIT %s %s\n", name, unit);
	g_string_append_printf(out, "# HELP %s %s\n", name, help);
}

static void om_forward_labels(GString *out, const VwStatusNetwork *n, const VwStatusForward *sf)
{
	const VwForward *f = sf->forward;
	g_autofree char *what = vw_forward_describe(f);
	g_autofree char *hp = ports_text(f->host);

	g_string_append_c(out, '{');
	om_label(out, "network", n->name, true);
	om_label(out, "forward", f->name ? f->name : what, false);
	om_label(out, "domain", sf->domain, false);
	om_label(out, "proto", vw_proto_to_string(f->proto), false);
	om_label(out, "host_ports", hp, false);
	g_string_append_c(out, '}');
}

typedef enum { OM_UP, OM_RX_PACKETS, OM_RX_BYTES, OM_TX_PACKETS, OM_TX_BYTES, OM_SPOOFED } OmNetValue;

static void om_networks(GString *out, GPtrArray *networks, const char *name, OmNetValue v)
{
	for (guint i = 0; i < networks->len; i++) {
		const VwStatusNetwork *n = networks->pdata[i];
		guint64 x = 0;

		if (n->error || (v != OM_UP && v != OM_SPOOFED && !n->has_traffic) ||
		    (v == OM_SPOOFED && !n->spoof_filter))
			continue;
		x = v == OM_UP		 ? n->up
		    : v == OM_RX_PACKETS ? n->rx_packets
		    : v == OM_RX_BYTES	 ? n->rx_bytes
		    : v == OM_TX_PACKETS ? n->tx_packets
		    : v == OM_TX_BYTES	 ? n->tx_bytes
					 : n->spoofed;
		g_string_append_printf(out, "%s{", name);
		om_label(out, "network", n->name, true);
		if (v == OM_UP) {
			om_label(out, "mode", n->mode, false);
			om_label(out, "bridge", n->bridge, false);
		}
		g_string_append_printf(out, "} %" G_GUINT64_FORMAT "\n", x);
	}
}

/* OpenMetrics text (node_exporter's textfile collector reads it): one
 * family per figure, each network's and each forward's samples, "# EOF". */
static char *format_openmetrics(GPtrArray *networks)
{
	GString *out = g_string_new(NULL);
	static const struct {
		const char *family, *sample, *unit, *help;
		OmNetValue v;
	} nets[] = {
		{ "virtwire_network_up", "virtwire_network_up", NULL, "1 when the network's bridge exists and is up",
		  OM_UP },
		{ "virtwire_network_receive_packets", "virtwire_network_receive_packets_total", NULL,
		  "packets the host received on the network's bridge", OM_RX_PACKETS },
		{ "virtwire_network_receive_bytes", "virtwire_network_receive_bytes_total", "bytes",
		  "bytes the host received on the network's bridge", OM_RX_BYTES },
		{ "virtwire_network_transmit_packets", "virtwire_network_transmit_packets_total", NULL,
		  "packets the host sent on the network's bridge", OM_TX_PACKETS },
		{ "virtwire_network_transmit_bytes", "virtwire_network_transmit_bytes_total", "bytes",
		  "bytes the host sent on the network's bridge", OM_TX_BYTES },
		{ "virtwire_spoofed_frames", "virtwire_spoofed_frames_total", NULL,
		  "frames the spoof filter dropped (networks with the filter on)", OM_SPOOFED },
	};

	for (size_t i = 0; i < G_N_ELEMENTS(nets); i++) {
		om_family(out, nets[i].family, i ? "counter" : "gauge", nets[i].unit, nets[i].help);
		om_networks(out, networks, nets[i].sample, nets[i].v);
	}
	for (int bytes = 0; bytes < 2; bytes++) {
		om_family(out, bytes ? "virtwire_forward_bytes" : "virtwire_forward_packets", "counter",
			  bytes ? "bytes" : NULL,
			  bytes ? "bytes of the connections a port forward admitted, both directions"
				: "packets of the connections a port forward admitted, both directions");
		for (guint i = 0; i < networks->len; i++) {
			const VwStatusNetwork *n = networks->pdata[i];

			for (guint k = 0; !n->error && k < n->forwards->len; k++) {
				const VwStatusForward *sf = n->forwards->pdata[k];

				g_string_append(out, bytes ? "virtwire_forward_bytes_total"
							   : "virtwire_forward_packets_total");
				om_forward_labels(out, n, sf);
				g_string_append_printf(out, " %" G_GUINT64_FORMAT "\n",
						       bytes ? sf->bytes : sf->packets);
			}
		}
	}
	g_string_append(out, "# EOF\n");
	return g_string_free(out, FALSE);
}

static char *format_json(GPtrArray *networks)
{
	g_autoptr(VwJson) j = vw_json_document("status");

	vw_json_begin_array(j, "networks");
	for (guint i = 0; i < networks->len; i++)
		network_json(j, networks->pdata[i]);
	vw_json_end_array(j);
	return vw_json_finish(g_steal_pointer(&j));
}

static void print_text(GPtrArray *networks, const char *dir)
{
	if (!networks->len)
		printf("no network is managed by virtwire (none is recorded in %s)\n", dir);
	for (guint i = 0; i < networks->len; i++) {
		const VwStatusNetwork *n = networks->pdata[i];

		if (n->error)
			printf("%s: %s\n", n->name, n->error->message);
		else
			network_text(n);
	}
}

/* Keeps the networks @names names, in that order; an unknown name is an
 * error (VW_ERROR_NOT_FOUND). */
static bool only_named(GPtrArray *networks, char **names, const char *dir, GError **error)
{
	g_autoptr(GPtrArray) kept = g_ptr_array_new_with_free_func((GDestroyNotify)vw_status_network_free);

	for (char **n = names; *n; n++) {
		guint i;

		for (i = 0; i < networks->len; i++)
			if (networks->pdata[i] && strcmp(((VwStatusNetwork *)networks->pdata[i])->name, *n) == 0)
				break;
		if (i == networks->len) {
			g_set_error(error, VW_ERROR, VW_ERROR_NOT_FOUND, "network '%s' has no record in %s", *n, dir);
			return false;
		}
		g_ptr_array_add(kept, g_steal_pointer(&networks->pdata[i]));
	}
	/* The rest go; the named ones come back, in the order asked. */
	g_ptr_array_set_size(networks, 0);
	g_ptr_array_extend_and_steal(networks, g_steal_pointer(&kept));
	return true;
}

/* --output FILE: written whole or not at all (a file beside it renamed
 * over it), readable by all, so that a collector never reads half. */
static bool write_output(const char *path, const char *text)
{
	g_autoptr(GError) err = NULL;

	if (g_file_set_contents_full(path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0644, &err))
		return true;
	fprintf(stderr, "virtwire status: cannot write %s: %s\n", path, err->message);
	return false;
}

int vw_cmd_status(int argc, char **argv, const VwEngineConfig *base)
{
	VwCliOptions o = { 0 };
	g_autofree char *format = NULL, *output = NULL;
	g_auto(GStrv) names = NULL;
	GOptionEntry entries[] = { VW_CLI_STATE_ENTRY(o),
				   { "format", 0, 0, G_OPTION_ARG_STRING, &format,
				     "text (default), json or openmetrics", "FORMAT" },
				   { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output,
				     "write to FILE (replaced whole, atomically) instead of standard output", "FILE" },
				   { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_STRING_ARRAY, &names, NULL, NULL },
				   { NULL } };
	g_autoptr(GPtrArray) networks = g_ptr_array_new_with_free_func((GDestroyNotify)vw_status_network_free);
	g_autoptr(VwEngine) engine = NULL;
	g_autoptr(GError) err = NULL;
	g_autofree char *text = NULL;

	if (!vw_cli_parse(entries, &argc, &argv))
		return VW_EXIT_USAGE;
	if (format && strcmp(format, "text") != 0 && strcmp(format, "json") != 0 &&
	    strcmp(format, "openmetrics") != 0) {
		return vw_cli_usage_error("status", "--format must be 'text', 'json' or 'openmetrics', not '%s'",
					  format);
	}
	if (output && (!format || strcmp(format, "text") == 0)) {
		return vw_cli_usage_error("status", "--output is for --format json or openmetrics");
	}
	engine = vw_cli_engine(base, &o);
	vw_cli_options_clear(&o);
	if (!vw_engine_status(engine, networks, &err))
		return vw_cli_fail("status", NULL, err);
	if (names && !only_named(networks, names, vw_engine_state_dir(engine), &err))
		return vw_cli_fail("status", NULL, err);
	if (!format || strcmp(format, "text") == 0) {
		print_text(networks, vw_engine_state_dir(engine));
		return VW_EXIT_OK;
	}
	text = strcmp(format, "json") == 0 ? format_json(networks) : format_openmetrics(networks);
	if (output)
		return write_output(output, text) ? VW_EXIT_OK : VW_EXIT_USAGE;
	fputs(text, stdout);
	return VW_EXIT_OK;
}
