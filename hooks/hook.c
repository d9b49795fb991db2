/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libvirt's hooks: `virtwire hook DRIVER OBJECT OP SUBOP EXTRA`, with the XML
 * on stdin, exactly as libvirt runs the executables of its hook folders.
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

#include <virtwire/check.h>
#include <virtwire/engine.h>
#include <virtwire/state.h>
#include <virtwire/xml.h>

#include <virtwire/hooks.h>

#define LOCK_TIMEOUT_MS 60000
#define MAX_STDIN (64u << 20)

typedef struct {
	const char *state_dir;
	const char *schema_dir;
	const char *object, *op, *subop;
	char *xml;
	gsize xml_len;
} Hook;

/* One line per finding: libvirt shows them as they are. */
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

static void print_error(const GError *err)
{
	fprintf(stderr, "virtwire: %s\n", err->message);
}

static bool read_stdin(Hook *h)
{
	GString *buf = g_string_new(NULL);
	char chunk[65536];
	size_t n;

	while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0) {
		g_string_append_len(buf, chunk, (gssize)n);
		if (buf->len > MAX_STDIN) {
			g_string_free(buf, TRUE);
			fprintf(stderr, "virtwire: the XML on stdin is larger than %u MiB\n", MAX_STDIN >> 20);
			return false;
		}
	}
	h->xml_len = buf->len;
	h->xml = g_string_free(buf, FALSE);
	return true;
}

/* ---------------------------------------------------------------------- */
/* network */

/* True when virtwire has a say in the network: its own metadata. */
static bool is_ours(const VwNetwork *n)
{
	return n && n->vw;
}

/* The networks recorded in the state directory other than @self, parsed
 * from their XML copies into @out (VwDoc*). Unreadable records are left out:
 * the apply at 'started' reports them. */
static void load_recorded(Hook *h, const char *self, GPtrArray *out)
{
	g_autoptr(GPtrArray) names = vw_state_list(h->state_dir);

	for (guint i = 0; i < names->len; i++) {
		g_autoptr(VwState) st = NULL;
		g_autoptr(VwDiags) d = vw_diags_new();
		g_autofree char *path = NULL;
		VwDoc *nd = NULL;

		if (g_strcmp0(names->pdata[i], self) == 0 || !vw_state_load(h->state_dir, names->pdata[i], &st, NULL))
			continue;
		path = vw_state_xml_path(h->state_dir, names->pdata[i]);
		if (vw_doc_load_memory(path, st->xml, strlen(st->xml), NULL, d, &nd) == VW_LOAD_OK && nd->network)
			g_ptr_array_add(out, nd);
		else
			vw_doc_free(nd);
	}
}

static int network_start(Hook *h, VwDoc *doc)
{
	g_autoptr(VwDiags) diags = vw_diags_new();
	g_autoptr(VwDiags) mine = vw_diags_new();
	g_autoptr(GPtrArray) docs = g_ptr_array_new();
	g_autoptr(GPtrArray) others = g_ptr_array_new_with_free_func((GDestroyNotify)vw_doc_free);
	g_autoptr(VwDoc) checked = NULL;
	g_autoptr(VwSchemas) schemas = vw_schemas_new(h->schema_dir);
	static const char self[] = "network XML";

	/* The full check, as `virtwire check`: libvirt's schema included. */
	if (vw_doc_load_memory(self, h->xml, h->xml_len, schemas, diags, &checked) != VW_LOAD_OK) {
		print_diags(diags);
		return 1;
	}
	/* Against the networks already applied too: a forward or subnet one
	 * of them holds is refused now, before libvirt builds anything. (When
	 * 'started' fails, libvirt 9.0 leaves its bridge, addresses and dnsmasq
	 * behind: its cleanup skips a network that is not active yet.) They
	 * come first, so a conflict is blamed on this network; findings about
	 * them alone are not this start's business. */
	load_recorded(h, doc->network->name, others);
	for (guint i = 0; i < others->len; i++)
		g_ptr_array_add(docs, others->pdata[i]);
	g_ptr_array_add(docs, checked);
	vw_check_docs(docs, diags);
	for (guint i = 0; i < diags->items->len; i++) {
		const VwDiag *x = diags->items->pdata[i];

		if (g_strcmp0(x->loc.file, self) == 0)
			vw_diags_add(mine, x->loc, x->severity, x->code, x->hint, "%s", x->message);
	}
	if (vw_diags_has_errors(mine)) {
		print_diags(mine);
		return 1;
	}
	/* Bridged mode: libvirt makes nothing for <forward mode='bridge'/>,
	 * virtwire builds the bridge over the uplink now. */
	if (vw_network_effective_mode(doc->network) == VW_MODE_BRIDGED) {
		g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func(g_free);
		g_autoptr(GPtrArray) reports = g_ptr_array_new_with_free_func((GDestroyNotify)vw_apply_report_free);
		g_autoptr(GError) err = NULL;
		VwApplyItem *it = g_new0(VwApplyItem, 1);
		VwApplyRequest req = { .state_dir = h->state_dir, .items = items, .lock_timeout_ms = LOCK_TIMEOUT_MS,
				       .links = VW_LINKS_APPLY, .skip_firewall = true };

		it->network = doc->network;
		it->xml = h->xml;
		it->source = "libvirt network hook";
		g_ptr_array_add(items, it);
		if (!vw_engine_apply(&req, reports, diags, &err)) {
			print_diags(diags);
			if (err)
				print_error(err);
			return 1;
		}
	}
	return 0;
}

static int network_apply(Hook *h, VwDoc *doc)
{
	g_autoptr(VwDiags) diags = vw_diags_new();
	g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) reports = g_ptr_array_new_with_free_func((GDestroyNotify)vw_apply_report_free);
	g_autoptr(GError) err = NULL;
	VwApplyItem *it = g_new0(VwApplyItem, 1);
	bool bridged = vw_network_effective_mode(doc->network) == VW_MODE_BRIDGED;
	VwApplyRequest req = { .state_dir = h->state_dir, .items = items, .lock_timeout_ms = LOCK_TIMEOUT_MS };

	/* libvirt made the bridge and its addresses: virtwire checks them
	 * against the XML; bridged mode's links are virtwire's own. */
	req.links = bridged ? VW_LINKS_APPLY : VW_LINKS_VERIFY;
	it->network = doc->network;
	it->xml = h->xml;
	it->source = "libvirt network hook";
	g_ptr_array_add(items, it);
	vw_check_network(doc->network, diags);
	if (vw_diags_has_errors(diags)) {
		print_diags(diags);
		return 1;
	}
	if (!vw_engine_apply(&req, reports, diags, &err)) {
		print_diags(diags);
		if (err)
			print_error(err);
		return 1;
	}
	return 0;
}

static int network_stopped(Hook *h, VwDoc *doc)
{
	g_autoptr(GPtrArray) reports = g_ptr_array_new_with_free_func((GDestroyNotify)vw_apply_report_free);
	g_autoptr(GPtrArray) from = g_ptr_array_new();
	g_autoptr(GError) err = NULL;
	char *names[] = { doc->network->name, NULL };
	VwTeardownRequest req = { .state_dir = h->state_dir, .names = names, .from = from,
				  .lock_timeout_ms = LOCK_TIMEOUT_MS };

	/* Also after a start that failed half way: what was recorded goes;
	 * without a record, what the kernel shows to be virtwire's. */
	g_ptr_array_add(from, doc->network);
	if (!vw_engine_teardown(&req, reports, &err) && !g_error_matches(err, VW_ERROR, VW_ERROR_NOT_FOUND))
		print_error(err);
	return 0; /* libvirt ignores it */
}

static int network_port(Hook *h, VwDoc *doc, bool add)
{
	g_autoptr(GError) err = NULL;
	char mac[VW_MAC_STRLEN];
	VwPortRequest req = { .state_dir = h->state_dir, .network = doc->network->name, .add = add,
			      .lock_timeout_ms = LOCK_TIMEOUT_MS };

	if (!doc->port || !doc->port->uuid || !doc->port->owner_uuid || !doc->port->has_mac)
		return 0;
	req.port_uuid = doc->port->uuid;
	req.domain_uuid = doc->port->owner_uuid;
	req.mac = vw_mac_to_string(&doc->port->mac, mac);
	if (!vw_engine_port(&req, &err)) {
		print_error(err);
		/* A failed port-created fails the domain's start; a failed
		 * port-deleted is ignored by libvirt. */
		return add ? 1 : 0;
	}
	return 0;
}

static int hook_network(Hook *h)
{
	g_autoptr(VwDiags) diags = vw_diags_new();
	g_autoptr(VwDoc) doc = NULL;

	if (vw_doc_load_memory("network XML", h->xml, h->xml_len, NULL, diags, &doc) != VW_LOAD_OK ||
	    !doc->network) {
		print_diags(diags);
		/* Only where failing stops something. */
		return strcmp(h->op, "start") == 0 || strcmp(h->op, "started") == 0 ? 1 : 0;
	}
	if (strcmp(h->op, "stopped") == 0)
		return network_stopped(h, doc);
	if (!is_ours(doc->network))
		return 0;
	if (strcmp(h->op, "start") == 0)
		return network_start(h, doc);
	if (strcmp(h->op, "started") == 0)
		return network_apply(h, doc);
	if (strcmp(h->op, "updated") == 0)
		return network_apply(h, doc) ? 1 : 0;
	if (strcmp(h->op, "port-created") == 0)
		return network_port(h, doc, true);
	if (strcmp(h->op, "port-deleted") == 0)
		return network_port(h, doc, false);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* qemu, lxc */

/* The domain's forwards against the policies of the networks virtwire
 * manages (from the state directory). */
static bool check_domain(Hook *h, const VwDomain *dom, VwDiags *diags)
{
	g_autoptr(GPtrArray) docs = g_ptr_array_new_with_free_func((GDestroyNotify)vw_doc_free);
	g_autoptr(GPtrArray) nets = g_ptr_array_new();

	for (guint i = 0; i < dom->vw->forwards->len; i++) {
		const VwForward *f = dom->vw->forwards->pdata[i];
		g_autoptr(VwState) st = NULL;
		g_autofree char *path = NULL;
		VwDoc *nd = NULL;
		bool seen = false;

		for (guint j = 0; j < nets->len; j++)
			seen |= g_strcmp0(((VwNetwork *)nets->pdata[j])->name, f->network) == 0;
		if (!f->network || seen)
			continue;
		if (!vw_state_load(h->state_dir, f->network, &st, NULL)) {
			g_autofree char *what = vw_forward_describe(f);

			vw_error(diags, f->loc, "domain-forwards-denied",
				 "the network's owner allows domain forwards with <vw:domain-forwards allow='yes' …/> in "
				 "the network's virtwire metadata",
				 "domain '%s': forward %s: network '%s' is not managed by virtwire (or not running)",
				 dom->name, what, f->network);
			continue;
		}
		path = vw_state_xml_path(h->state_dir, f->network);
		if (vw_doc_load_memory(path, st->xml, strlen(st->xml), NULL, diags, &nd) == VW_LOAD_OK && nd->network) {
			g_ptr_array_add(docs, nd);
			g_ptr_array_add(nets, nd->network);
		} else {
			vw_doc_free(nd);
		}
	}
	vw_check_domain(dom, nets, diags);
	return !vw_diags_has_errors(diags);
}

/* Each interface on a network virtwire manages: its port's forwards in,
 * or out, and (when the tap exists) the port's flags. */
static int domain_ports(Hook *h, const VwDomain *dom, bool add)
{
	int rc = 0;

	for (guint i = 0; i < dom->interfaces->len; i++) {
		const VwInterface *iface = dom->interfaces->pdata[i];
		g_autoptr(GError) err = NULL;
		char mac[VW_MAC_STRLEN];
		VwPortRequest req = { .state_dir = h->state_dir, .network = iface->source_network, .add = add,
				      .domain_uuid = dom->uuid, .lock_timeout_ms = LOCK_TIMEOUT_MS };

		if (!iface->source_network || !iface->portid || !iface->has_mac || !dom->uuid)
			continue;
		req.port_uuid = iface->portid;
		req.mac = vw_mac_to_string(&iface->mac, mac);
		if (!vw_engine_port(&req, &err)) {
			print_error(err);
			rc = 1;
		}
		if (add && iface->target_dev && !vw_engine_port_flags(h->state_dir, iface->source_network,
								      iface->target_dev, &err)) {
			print_error(err);
			rc = 1;
		}
	}
	return rc;
}

/* Forget the domain's ports (their forwards go) and its record. */
static int domain_release(Hook *h, const VwDomain *dom)
{
	g_autoptr(GPtrArray) names = vw_state_list(h->state_dir);

	if (!dom->uuid)
		return 0;
	/* The XML at release has no portid any more: the records say which
	 * ports were the domain's. */
	for (guint i = 0; i < names->len; i++) {
		g_autoptr(VwState) st = NULL;

		if (!vw_state_load(h->state_dir, names->pdata[i], &st, NULL))
			continue;
		for (guint j = 0; j < st->ports->len; j++) {
			const VwStatePort *p = st->ports->pdata[j];
			g_autoptr(GError) err = NULL;
			VwPortRequest req = { .state_dir = h->state_dir, .network = st->name, .port_uuid = p->uuid,
					      .domain_uuid = p->domain_uuid, .mac = p->mac, .add = false,
					      .lock_timeout_ms = LOCK_TIMEOUT_MS };

			if (g_strcmp0(p->domain_uuid, dom->uuid) != 0)
				continue;
			if (!vw_engine_port(&req, &err))
				print_error(err);
		}
	}
	vw_state_remove_domain(h->state_dir, dom->uuid, NULL);
	return 0;
}

static int hook_domain(Hook *h)
{
	g_autoptr(VwDiags) diags = vw_diags_new();
	g_autoptr(VwDoc) doc = NULL;
	bool stopping = strcmp(h->op, "stopped") == 0 || strcmp(h->op, "release") == 0;
	bool fatal = strcmp(h->op, "prepare") == 0 || strcmp(h->op, "start") == 0 || strcmp(h->op, "started") == 0;

	/* Filters: what they print replaces the domain's XML. Print nothing. */
	if (strcmp(h->op, "migrate") == 0 || strcmp(h->op, "restore") == 0)
		return 0;
	if (vw_doc_load_memory("domain XML", h->xml, h->xml_len, NULL, diags, &doc) != VW_LOAD_OK || !doc->domain) {
		print_diags(diags);
		return fatal ? 1 : 0;
	}
	if (stopping) {
		if (strcmp(h->op, "release") == 0)
			return domain_release(h, doc->domain);
		/* stopped: the ports go at release (or port-deleted). */
		return 0;
	}
	if (strcmp(h->op, "prepare") == 0) {
		g_autoptr(GError) err = NULL;

		if (!doc->domain->vw || !doc->domain->vw->forwards->len)
			return 0;
		if (!check_domain(h, doc->domain, diags)) {
			print_diags(diags);
			return 1;
		}
		/* Recorded now: the network's port-created hook, which comes
		 * next, plans the port's forwards from it. */
		if (!doc->domain->uuid || !vw_state_save_domain(h->state_dir, doc->domain->uuid, h->xml, &err)) {
			if (err)
				print_error(err);
			return 1;
		}
		return 0;
	}
	if (strcmp(h->op, "start") == 0 || strcmp(h->op, "started") == 0 || strcmp(h->op, "reconnect") == 0) {
		int rc = domain_ports(h, doc->domain, true);

		/* A failed reconnect would make libvirt kill a running guest:
		 * say what went wrong (verify shows it too) and let it run. */
		return fatal ? rc : 0;
	}
	return 0;
}

/* ---------------------------------------------------------------------- */
/* daemon */

static int hook_daemon(Hook *h)
{
	g_autoptr(GError) err = NULL;

	/* At start and at SIGHUP, before libvirt rebuilds its own rules:
	 * virtwire's table is its own, so it is asserted now. */
	if (strcmp(h->op, "start") == 0 || strcmp(h->op, "reload") == 0) {
		if (!vw_engine_reassert(h->state_dir, LOCK_TIMEOUT_MS, &err))
			print_error(err);
	}
	return 0;
}

int vw_hook_main(const char *driver, int argc, char **argv, const char *state_dir, const char *schema_dir)
{
	Hook h = { .state_dir = state_dir, .schema_dir = schema_dir };
	int rc;

	if (argc < 4) {
		fprintf(stderr, "virtwire hook: expected OBJECT OP SUBOP EXTRA, as libvirt passes them\n");
		return 2;
	}
	h.object = argv[0];
	h.op = argv[1];
	h.subop = argv[2];
	if (!read_stdin(&h))
		return 1;
	if (strcmp(driver, "network") == 0)
		rc = hook_network(&h);
	else if (strcmp(driver, "qemu") == 0 || strcmp(driver, "lxc") == 0)
		rc = hook_domain(&h);
	else if (strcmp(driver, "daemon") == 0)
		rc = hook_daemon(&h);
	else {
		fprintf(stderr, "virtwire hook: unknown driver '%s' (network, qemu, lxc, daemon)\n", driver);
		rc = 2;
	}
	g_free(h.xml);
	return rc;
}
