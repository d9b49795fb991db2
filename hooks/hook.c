/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libvirt's hooks: `virtwire hook DRIVER OBJECT OP SUBOP EXTRA`, with the XML
 * on stdin, exactly as libvirt runs the executables of its hook folders —
 * mapped onto the engine, nothing else.
 *
 * libvirt waits for the hook, and shows its stderr to the user when it fails
 * ("Hook script execution failed: …"): so stderr carries one clear line per
 * problem, and the exit status is non-zero only where failing is meant to
 * stop the operation (network start/started, domain prepare/start/started).
 * A hook never calls back into libvirt (that deadlocks it).
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <virtwire/hooks.h>

/* libvirt's documents are small; a bound on what a hook reads keeps a
 * runaway writer from making it use unbounded memory. */
#define MAX_STDIN (VW_MAX_FILE_SIZE)

typedef struct {
	VwEngine *engine;
	const char *object, *op, *subop;
	const char *xml;
	gsize xml_len;
} Hook;

static bool is_op(const Hook *h, const char *op)
{
	return strcmp(h->op, op) == 0;
}

/* One line per finding (errors only): libvirt shows them as they are. */
static void print_diags(const VwDiags *d)
{
	for (guint i = 0; i < d->items->len; i++) {
		const VwDiag *x = d->items->pdata[i];

		if (x->severity != VW_SEV_ERROR)
			continue;
		if (x->loc.line > 0)
			fprintf(stderr, "virtwire: line %d: %s", x->loc.line, x->message);
		else
			fprintf(stderr, "virtwire: %s", x->message);
		if (x->hint)
			fprintf(stderr, " (%s)", x->hint);
		fputc('\n', stderr);
	}
}

/* The one place a hook reports a failure: findings, then the error. */
static int fail(const VwDiags *diags, const GError *err, int status)
{
	if (diags)
		print_diags(diags);
	if (err && !g_error_matches(err, VW_ERROR, VW_ERROR_INVALID))
		fprintf(stderr, "virtwire: %s\n", err->message);
	return status;
}

static bool read_stdin(char **ret, gsize *len)
{
	GString *buf = g_string_new(NULL);
	char chunk[65536];
	size_t n;

	while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0) {
		if (buf->len + n > MAX_STDIN) {
			g_string_free(buf, TRUE);
			fprintf(stderr, "virtwire: the XML on stdin is larger than %u MiB\n", MAX_STDIN >> 20);
			return false;
		}
		g_string_append_len(buf, chunk, (gssize)n);
	}
	*len = buf->len;
	*ret = g_string_free(buf, FALSE);
	return true;
}

/* ---------------------------------------------------------------------- */
/* network */

static int apply_network(Hook *h, const VwNetwork *net, VwLinkMode links, bool skip_firewall)
{
	g_autoptr(VwDiags) diags = vw_diags_new();
	g_autoptr(GPtrArray) items = g_ptr_array_new();
	g_autoptr(GPtrArray) reports = g_ptr_array_new_with_free_func((GDestroyNotify)vw_apply_report_free);
	g_autoptr(GError) err = NULL;
	VwApplyItem it = { net, h->xml, "libvirt network hook" };
	VwApplyRequest req = { .items = items, .links = links, .skip_firewall = skip_firewall };

	g_ptr_array_add(items, &it);
	if (!vw_engine_apply(h->engine, &req, reports, diags, &err))
		return fail(diags, err, 1);
	return 0;
}

static int network_start(Hook *h, const VwNetwork *net)
{
	g_autoptr(VwDiags) diags = vw_diags_new();

	/* Refused now, before libvirt builds anything: when 'started' fails,
	 * libvirt 9.0 leaves its bridge, addresses and dnsmasq behind. */
	if (!vw_engine_check_start(h->engine, h->xml, h->xml_len, diags))
		return fail(diags, NULL, 1);
	/* Bridged mode: libvirt makes nothing for <forward mode='bridge'/>,
	 * virtwire builds the bridge over the uplink now. */
	if (vw_network_effective_mode(net) == VW_MODE_BRIDGED)
		return apply_network(h, net, VW_LINKS_APPLY, true);
	return 0;
}

static int network_stopped(Hook *h, VwNetwork *net)
{
	g_autoptr(GPtrArray) reports = g_ptr_array_new_with_free_func((GDestroyNotify)vw_apply_report_free);
	g_autoptr(GPtrArray) from = g_ptr_array_new();
	g_autoptr(GError) err = NULL;
	char *names[] = { net->name, NULL };
	VwTeardownRequest req = { names, from };

	/* Also after a start that failed half way: what was recorded goes;
	 * without a record, what the kernel shows to be virtwire's. */
	g_ptr_array_add(from, net);
	if (!vw_engine_teardown(h->engine, &req, reports, &err) && !g_error_matches(err, VW_ERROR, VW_ERROR_NOT_FOUND))
		fail(NULL, err, 0);
	return 0; /* libvirt ignores it */
}

static int network_port(Hook *h, const VwDoc *doc, bool add)
{
	g_autoptr(GError) err = NULL;
	char mac[VW_MAC_STRLEN];
	const VwNetPort *p = doc->port;
	VwPortRequest req;

	if (!p || !p->uuid || !p->owner_uuid || !p->has_mac)
		return 0;
	req = (VwPortRequest){ doc->network->name, p->uuid, p->owner_uuid, vw_mac_to_string(&p->mac, mac), add };
	/* A failed port-created fails the domain's start; a failed
	 * port-deleted is ignored by libvirt. */
	if (!vw_engine_port(h->engine, &req, &err))
		return fail(NULL, err, add ? 1 : 0);
	return 0;
}

static int hook_network(Hook *h)
{
	g_autoptr(VwDiags) diags = vw_diags_new();
	g_autoptr(VwDoc) doc = NULL;
	bool bridged;

	if (vw_doc_load_memory("network XML", h->xml, h->xml_len, NULL, diags, &doc) != VW_LOAD_OK || !doc->network)
		/* Only where failing stops something. */
		return fail(diags, NULL, is_op(h, "start") || is_op(h, "started") ? 1 : 0);
	if (is_op(h, "stopped"))
		return network_stopped(h, doc->network);
	/* Only networks with virtwire's metadata are virtwire's business (and
	 * libvirt never sends one without a name: the engine needs it). */
	if (!doc->network->vw || !doc->network->name)
		return 0;
	bridged = vw_network_effective_mode(doc->network) == VW_MODE_BRIDGED;
	if (is_op(h, "start"))
		return network_start(h, doc->network);
	/* libvirt made the bridge and its addresses: virtwire checks them
	 * against the XML; bridged mode's links are virtwire's own. */
	if (is_op(h, "started") || is_op(h, "updated"))
		return apply_network(h, doc->network, bridged ? VW_LINKS_APPLY : VW_LINKS_VERIFY, false);
	if (is_op(h, "port-created") || is_op(h, "port-deleted"))
		return network_port(h, doc, is_op(h, "port-created"));
	return 0;
}

/* ---------------------------------------------------------------------- */
/* qemu, lxc */

/* Each interface on a network virtwire manages: its port's forwards in (or
 * out), and (when the tap exists) the port's flags. */
static int domain_ports(Hook *h, const VwDomain *dom)
{
	int rc = 0;

	for (guint i = 0; dom->uuid && i < dom->interfaces->len; i++) {
		const VwInterface *iface = dom->interfaces->pdata[i];
		g_autoptr(GError) err = NULL;
		char mac[VW_MAC_STRLEN];
		VwPortRequest req = { iface->source_network, iface->portid, dom->uuid, NULL, true };

		if (!iface->source_network || !iface->portid || !iface->has_mac)
			continue;
		req.mac = vw_mac_to_string(&iface->mac, mac);
		if (!vw_engine_port(h->engine, &req, &err))
			rc = fail(NULL, err, 1);
		g_clear_error(&err);
		if (iface->target_dev &&
		    !vw_engine_port_flags(h->engine, iface->source_network, iface->target_dev, &err))
			rc = fail(NULL, err, 1);
	}
	return rc;
}

static int hook_domain(Hook *h)
{
	g_autoptr(VwDiags) diags = vw_diags_new();
	g_autoptr(VwDoc) doc = NULL;
	g_autoptr(GError) err = NULL;
	bool fatal = is_op(h, "prepare") || is_op(h, "start") || is_op(h, "started");
	int rc;

	/* Filters: what they print replaces the domain's XML. Print nothing. */
	if (is_op(h, "migrate") || is_op(h, "restore"))
		return 0;
	if (vw_doc_load_memory("domain XML", h->xml, h->xml_len, NULL, diags, &doc) != VW_LOAD_OK || !doc->domain)
		return fail(diags, NULL, fatal ? 1 : 0);
	if (is_op(h, "release")) {
		/* The ports go at release (or port-deleted), not at stopped. */
		if (doc->domain->uuid && !vw_engine_release_domain(h->engine, doc->domain->uuid, &err))
			fail(NULL, err, 0);
		return 0;
	}
	if (is_op(h, "prepare")) {
		if (!vw_engine_prepare_domain(h->engine, doc->domain, h->xml, diags, &err))
			return fail(diags, err, 1);
		return 0;
	}
	if (!is_op(h, "start") && !is_op(h, "started") && !is_op(h, "reconnect"))
		return 0;
	/* The XML now names the taps: recorded again, for the ports' spoof
	 * filter (prepare checked it already). */
	if (!is_op(h, "started") && !vw_engine_prepare_domain(h->engine, doc->domain, h->xml, diags, &err)) {
		if (fatal)
			return fail(diags, err, 1);
		fail(diags, err, 0);
	}
	rc = domain_ports(h, doc->domain);
	/* A failed reconnect would make libvirt kill a running guest: say what
	 * went wrong (verify shows it too) and let it run. */
	return fatal ? rc : 0;
}

/* ---------------------------------------------------------------------- */
/* daemon */

static int hook_daemon(Hook *h)
{
	g_autoptr(GError) err = NULL;

	/* At start and at SIGHUP, before libvirt rebuilds its own rules:
	 * virtwire's table is its own, so it is asserted now. */
	if ((is_op(h, "start") || is_op(h, "reload")) && !vw_engine_reassert(h->engine, &err))
		fail(NULL, err, 0);
	return 0;
}

int vw_hook_run(const char *driver, int argc, char **argv, const char *xml, gsize len, const VwEngineConfig *cfg)
{
	g_autoptr(VwEngine) engine = NULL;
	g_autofree char *text = NULL;
	Hook h = { 0 };

	if (argc < 4) {
		fprintf(stderr, "virtwire hook: expected OBJECT OP SUBOP EXTRA, as libvirt passes them\n");
		return 2;
	}
	if (strcmp(driver, "network") != 0 && strcmp(driver, "qemu") != 0 && strcmp(driver, "lxc") != 0 &&
	    strcmp(driver, "daemon") != 0) {
		fprintf(stderr, "virtwire hook: unknown driver '%s' (network, qemu, lxc, daemon)\n", driver);
		return 2;
	}
	h.object = argv[0];
	h.op = argv[1];
	h.subop = argv[2];
	/* The engine records the XML as a string: @len bytes, terminated. */
	text = g_malloc(len + 1);
	memcpy(text, xml, len);
	text[len] = '\0';
	h.xml = text;
	h.xml_len = len;
	engine = h.engine = vw_engine_new(cfg);
	if (strcmp(driver, "network") == 0)
		return hook_network(&h);
	if (strcmp(driver, "daemon") == 0)
		return hook_daemon(&h);
	return hook_domain(&h);
}

int vw_hook_main(const char *driver, int argc, char **argv, const VwEngineConfig *cfg)
{
	g_autofree char *xml = NULL;
	gsize len = 0;
	int rc;

	if (!read_stdin(&xml, &len))
		return 1;
	rc = vw_hook_run(driver, argc, argv, xml, len, cfg);
	return rc;
}
