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
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <virtwire/hooks.h>

/* libvirt's documents are small; a bound on what a hook reads keeps a
 * runaway writer from making it use unbounded memory. */
#define MAX_STDIN (VW_MAX_FILE_SIZE)

/* What the hook's own stdin is called in findings (VwLoc.file): the
 * network's or domain's name is not known before it is parsed. */
#define NET_XML "network XML"
#define DOM_XML "domain XML"

typedef struct {
	VwEngine *engine;
	const char *driver, *object, *op, *subop;
	const char *xml;
	gsize xml_len;
	/* Whom the call is about, once its XML is parsed. */
	char *network, *domain;
	bool skipped;  /* not virtwire's business */
	char *failure; /* what failed first; NULL: nothing */
} Hook;

static bool is_op(const Hook *h, const char *op)
{
	return strcmp(h->op, op) == 0;
}

/* "network 'lab'", "domain 'web1'", or the driver. */
static char *subject(const Hook *h)
{
	if (h->network)
		return g_strdup_printf("network '%s'", h->network);
	if (h->domain)
		return g_strdup_printf("domain '%s'", h->domain);
	return g_strdup_printf("%s hook", h->driver);
}

/* Where finding @x is, in what the operator can open: the line of `virsh
 * net-dumpxml NAME` (or `virsh dumpxml NAME`) of this call's network or
 * domain, or of another network's (its record is labelled so, see
 * vw_eng_parse_record); NULL when it has no line. *@ours: it is about this
 * call's XML. */
static char *where(const Hook *h, const VwDiag *x, bool *ours)
{
	const char *file = x->loc.file;

	*ours = !file || strcmp(file, NET_XML) == 0 || strcmp(file, DOM_XML) == 0;
	if (x->loc.line <= 0)
		return NULL;
	if (file && strcmp(file, NET_XML) == 0 && h->network)
		return g_strdup_printf("virsh net-dumpxml %s, line %d", h->network, x->loc.line);
	if (file && strcmp(file, DOM_XML) == 0 && h->domain)
		return g_strdup_printf("virsh dumpxml %s, line %d", h->domain, x->loc.line);
	if (file && g_str_has_prefix(file, "virsh "))
		return g_strdup_printf("%s, line %d", file, x->loc.line);
	return NULL;
}

/* Each finding, errors and warnings, into the log (and so on stderr, where
 * libvirt shows it): who, where, what, and how to fix it. */
static void report_diags(const Hook *h, const VwDiags *d)
{
	g_autofree char *who = subject(h);

	for (guint i = 0; d && i < d->items->len; i++) {
		const VwDiag *x = d->items->pdata[i];
		VwLogRecord r = { x->severity == VW_SEV_ERROR ? LOG_ERR : LOG_WARNING, .code = x->code,
				  .duration_ms = -1 };
		g_autofree char *at = NULL;
		g_autofree char *msg = NULL;
		g_autofree char *own = g_strdup_printf("%s: ", who);
		const char *text = x->message;
		bool ours;

		if (x->severity == VW_SEV_NOTE)
			continue;
		at = where(h, x, &ours);
		/* The subject is said once. */
		if (g_str_has_prefix(text, own))
			text += strlen(own);
		msg = g_strdup_printf("%s%s%s%s: %s%s%s%s", who, at ? " (" : "", at ? at : "", at ? ")" : "", text,
				      x->hint ? " (" : "", x->hint ? x->hint : "", x->hint ? ")" : "");
		r.message = msg;
		r.line = ours ? x->loc.line : 0;
		vw_log_record(&r);
	}
}

/* The one place a hook reports a failure: findings, then the error. Exit
 * status @status, 0 where libvirt goes on whatever the hook says: then it
 * is logged all the same, at error level. */
static int fail(Hook *h, const VwDiags *diags, const GError *err, int status)
{
	g_autofree char *who = subject(h);
	guint errors = diags ? vw_diags_count(diags, VW_SEV_ERROR) : 0;

	report_diags(h, diags);
	if (err && !g_error_matches(err, VW_ERROR, VW_ERROR_INVALID)) {
		g_autofree char *msg = g_strdup_printf("%s: %s", who, err->message);
		VwLogRecord r = { LOG_ERR, msg, .duration_ms = -1 };

		vw_log_record(&r);
		if (!h->failure)
			h->failure = g_strdup(err->message);
	}
	if (!h->failure)
		h->failure = g_strdup_printf("%u error%s in the XML", errors, errors == 1 ? "" : "s");
	return status;
}

/* The XML on stdin, read straight into one buffer that grows by doubling
 * (sized at once when stdin is a file), NUL-terminated. */
static bool read_stdin(char **ret, gsize *len)
{
	g_autofree char *buf = NULL;
	struct stat st;
	gsize cap = 65536, done = 0;

	if (fstat(STDIN_FILENO, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0)
		cap = MIN((gsize)st.st_size + 2, (gsize)MAX_STDIN + 2);
	buf = g_malloc(cap);
	for (;;) {
		ssize_t n;

		if (cap - done < 2)
			buf = g_realloc(buf, cap *= 2);
		n = read(STDIN_FILENO, buf + done, cap - done - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		done += (gsize)n;
		if (done > MAX_STDIN) {
			g_autofree char *msg = g_strdup_printf("the XML on stdin is larger than %u MiB",
							       MAX_STDIN >> 20);
			VwLogRecord r = { LOG_ERR, msg, .duration_ms = -1 };

			vw_log_record(&r);
			return false;
		}
	}
	buf[done] = '\0';
	*len = done;
	*ret = g_steal_pointer(&buf);
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
	VwApplyItem it = { net, h->xml, VW_SOURCE_HOOK };
	VwApplyRequest req = { .items = items, .links = links, .skip_firewall = skip_firewall };

	g_ptr_array_add(items, &it);
	if (!vw_engine_apply(h->engine, &req, reports, diags, &err))
		return fail(h, diags, err, 1);
	/* Warnings (a forward taking a port a host process listens on, a host
	 * firewall that will drop the network's traffic …). */
	report_diags(h, diags);
	return 0;
}

static int network_start(Hook *h, const VwNetwork *net)
{
	g_autoptr(VwDiags) diags = vw_diags_new();

	/* Refused now, before libvirt builds anything: when 'started' fails,
	 * libvirt 9.0 leaves its bridge, addresses and dnsmasq behind. */
	if (!vw_engine_check_start(h->engine, h->xml, h->xml_len, diags))
		return fail(h, diags, NULL, 1);
	report_diags(h, diags);
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
	if (!vw_engine_teardown(h->engine, &req, reports, &err)) {
		if (g_error_matches(err, VW_ERROR, VW_ERROR_NOT_FOUND))
			h->skipped = true;
		else
			fail(h, NULL, err, 0);
	}
	return 0; /* libvirt ignores it */
}

static int network_port(Hook *h, const VwDoc *doc, bool add)
{
	g_autoptr(VwDiags) diags = vw_diags_new();
	g_autoptr(GError) err = NULL;
	char mac[VW_MAC_STRLEN];
	const VwNetPort *p = doc->port;
	VwPortRequest req;

	if (!p || !p->uuid || !p->owner_uuid || !p->has_mac) {
		h->skipped = true;
		return 0;
	}
	req = (VwPortRequest){ doc->network->name, p->uuid, p->owner_uuid, vw_mac_to_string(&p->mac, mac), add, diags };
	/* A failed port-created fails the domain's start; a failed
	 * port-deleted is ignored by libvirt. */
	if (!vw_engine_port(h->engine, &req, &err))
		return fail(h, diags, err, add ? 1 : 0);
	report_diags(h, diags);
	return 0;
}

/* port-created, port-deleted of a recorded network without parsing it
 * (vw_engine_port_hookdata); false: parse it. */
static bool network_port_known(Hook *h, int *rc)
{
	g_autoptr(VwDiags) diags = vw_diags_new();
	g_autoptr(GError) err = NULL;
	bool add = is_op(h, "port-created"), handled;
	bool ok = vw_engine_port_hookdata(h->engine, h->object, h->xml, h->xml_len, add, diags, &handled, &err);

	if (!handled)
		return false;
	h->network = g_strdup(h->object);
	vw_log_set_subject(h->network, NULL);
	*rc = ok ? 0 : fail(h, diags, err, add ? 1 : 0);
	if (ok)
		report_diags(h, diags);
	return true;
}

/* `started` of a recorded network whose XML changed only in forwards of
 * its own (vw_engine_edit); false: the full path. */
static bool edited(Hook *h)
{
	VwEditRequest rq = { h->object, VW_SOURCE_HOOK, NET_XML, true, false, h->xml, h->xml_len };
	VwApplyReport *rep = vw_engine_edit(h->engine, &rq);

	if (!rep)
		return false;
	vw_apply_report_free(rep);
	h->network = g_strdup(h->object);
	vw_log_set_subject(h->network, NULL);
	return true;
}

static int hook_network(Hook *h)
{
	g_autoptr(VwDiags) diags = vw_diags_new();
	g_autoptr(VwDoc) doc = NULL;
	bool bridged;
	int rc;

	/* A repeat that finds nothing to change needs no parse (libvirt names
	 * the network in the arguments). */
	if (is_op(h, "started") && vw_engine_unchanged(h->engine, h->object, h->xml, h->xml_len)) {
		h->network = g_strdup(h->object);
		vw_log_set_subject(h->network, NULL);
		return 0;
	}
	/* An edit of a running network's own forwards: only they are read. */
	if (is_op(h, "started") && edited(h))
		return 0;
	/* A port of a recorded network: the network's XML is the record's,
	 * only the port needs reading. */
	if ((is_op(h, "port-created") || is_op(h, "port-deleted")) && network_port_known(h, &rc))
		return rc;
	if (vw_doc_load_libvirt(NET_XML, h->xml, h->xml_len, NULL, diags, &doc) != VW_LOAD_OK || !doc->network)
		/* Only where failing stops something. */
		return fail(h, diags, NULL, is_op(h, "start") || is_op(h, "started") ? 1 : 0);
	h->network = g_strdup(doc->network->name ? doc->network->name : h->object);
	vw_log_set_subject(h->network, NULL);
	if (is_op(h, "stopped"))
		return network_stopped(h, doc->network);
	/* Only networks with virtwire's metadata are virtwire's business (and
	 * libvirt never sends one without a name: the engine needs it). */
	if (!doc->network->vw || !doc->network->name) {
		h->skipped = true;
		return 0;
	}
	bridged = vw_network_effective_mode(doc->network) == VW_MODE_BRIDGED;
	if (is_op(h, "start"))
		return network_start(h, doc->network);
	/* libvirt made the bridge and its addresses: virtwire checks them
	 * against the XML; bridged mode's links are virtwire's own. */
	if (is_op(h, "started") || is_op(h, "updated"))
		return apply_network(h, doc->network, bridged ? VW_LINKS_APPLY : VW_LINKS_VERIFY, false);
	if (is_op(h, "port-created") || is_op(h, "port-deleted"))
		return network_port(h, doc, is_op(h, "port-created"));
	h->skipped = true;
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
		g_autoptr(VwDiags) diags = vw_diags_new();
		VwPortRequest req = { iface->source_network, iface->portid, dom->uuid, NULL, true, diags };

		if (!iface->source_network || !iface->portid || !iface->has_mac)
			continue;
		req.mac = vw_mac_to_string(&iface->mac, mac);
		if (!vw_engine_port(h->engine, &req, &err))
			rc = fail(h, diags, err, 1);
		else
			report_diags(h, diags);
		g_clear_error(&err);
		if (iface->target_dev &&
		    !vw_engine_port_flags(h->engine, iface->source_network, iface->target_dev, &err))
			rc = fail(h, NULL, err, 1);
	}
	return rc;
}

/* prepare, start, started, reconnect: the domain's forwards checked and
 * recorded, its ports' forwards in. */
static int domain_up(Hook *h, const VwDomain *dom, bool fatal)
{
	g_autoptr(VwDiags) diags = vw_diags_new();
	g_autoptr(GError) err = NULL;
	int rc;

	if (is_op(h, "prepare")) {
		if (!vw_engine_prepare_domain(h->engine, dom, h->xml, diags, &err))
			return fail(h, diags, err, 1);
		report_diags(h, diags);
		return 0;
	}
	/* The XML now names the taps: recorded again, for the ports' spoof
	 * filter (prepare checked it already). */
	if (!is_op(h, "started") && !vw_engine_prepare_domain(h->engine, dom, h->xml, diags, &err)) {
		if (fatal)
			return fail(h, diags, err, 1);
		fail(h, diags, err, 0);
	}
	rc = domain_ports(h, dom);
	/* A failed reconnect would make libvirt kill a running guest: say what
	 * went wrong (verify shows it too) and let it run. */
	return fatal ? rc : 0;
}

static int hook_domain(Hook *h)
{
	g_autoptr(VwDiags) diags = vw_diags_new();
	g_autoptr(VwDoc) doc = NULL;
	g_autoptr(GError) err = NULL;
	bool fatal = is_op(h, "prepare") || is_op(h, "start") || is_op(h, "started");

	/* Filters: what they print replaces the domain's XML. Print nothing. */
	if (is_op(h, "migrate") || is_op(h, "restore")) {
		h->skipped = true;
		return 0;
	}
	if (vw_doc_load_libvirt(DOM_XML, h->xml, h->xml_len, NULL, diags, &doc) != VW_LOAD_OK || !doc->domain)
		return fail(h, diags, NULL, fatal ? 1 : 0);
	h->domain = g_strdup(doc->domain->name ? doc->domain->name : h->object);
	vw_log_set_subject(NULL, h->domain);
	if (is_op(h, "release")) {
		/* The ports go at release (or port-deleted), not at stopped. */
		if (doc->domain->uuid && !vw_engine_release_domain(h->engine, doc->domain->uuid, &err))
			fail(h, NULL, err, 0);
		return 0;
	}
	if (!is_op(h, "prepare") && !is_op(h, "start") && !is_op(h, "started") && !is_op(h, "reconnect")) {
		h->skipped = true;
		return 0;
	}
	return domain_up(h, doc->domain, fatal);
}

/* ---------------------------------------------------------------------- */
/* daemon */

static int hook_daemon(Hook *h)
{
	g_autoptr(GError) err = NULL;

	/* At start and at SIGHUP, before libvirt rebuilds its own rules:
	 * virtwire's table is its own, so it is asserted now. */
	if (!is_op(h, "start") && !is_op(h, "reload")) {
		h->skipped = true;
		return 0;
	}
	if (!vw_engine_reassert(h->engine, &err))
		fail(h, NULL, err, 0);
	return 0;
}

/* The call's summary: operation, result, duration; at error level when
 * something failed, libvirt going on or not. */
static void log_summary(const Hook *h, int rc, gint64 started)
{
	g_autofree char *who = subject(h);

	if (h->failure)
		vw_log_call("failed", started, "%s: %s %s failed%s: %s", who, h->driver, h->op,
			    rc ? "" : " (libvirt goes on)", h->failure);
	else if (h->skipped)
		vw_log_call("skipped", started, "%s: %s %s: nothing for virtwire to do", who, h->driver, h->op);
	else
		vw_log_call("ok", started, "%s: %s %s: done", who, h->driver, h->op);
}

static int dispatch(Hook *h)
{
	if (strcmp(h->driver, "network") == 0)
		return hook_network(h);
	if (strcmp(h->driver, "daemon") == 0)
		return hook_daemon(h);
	return hook_domain(h);
}

/* One call on @text, @len bytes and a NUL after them (the engine records
 * the XML as a string). */
static int hook_run(const char *driver, int argc, char **argv, const char *text, gsize len, const VwEngineConfig *cfg)
{
	g_autoptr(VwEngine) engine = NULL;
	g_autofree char *operation = NULL;
	gint64 started = g_get_monotonic_time();
	Hook h = { 0 };
	int rc;

	if (argc < 4) {
		fprintf(stderr, "virtwire hook: expected OBJECT OP SUBOP EXTRA, as libvirt passes them\n");
		return 2;
	}
	if (strcmp(driver, "network") != 0 && strcmp(driver, "qemu") != 0 && strcmp(driver, "lxc") != 0 &&
	    strcmp(driver, "daemon") != 0) {
		fprintf(stderr, "virtwire hook: unknown driver '%s' (network, qemu, lxc, daemon)\n", driver);
		return 2;
	}
	h.driver = driver;
	h.object = argv[0];
	h.op = argv[1];
	h.subop = argv[2];
	operation = g_strdup_printf("%s %s", driver, h.op);
	vw_log_set_operation(operation);
	vw_log_set_subject(NULL, NULL);
	h.xml = text;
	h.xml_len = len;
	engine = h.engine = vw_engine_new(cfg);
	rc = dispatch(&h);
	log_summary(&h, rc, started);
	g_free(h.failure);
	g_free(h.network);
	g_free(h.domain);
	return rc;
}

int vw_hook_run(const char *driver, int argc, char **argv, const char *xml, gsize len, const VwEngineConfig *cfg)
{
	g_autofree char *text = g_malloc(len + 1);

	memcpy(text, xml, len);
	text[len] = '\0';
	return hook_run(driver, argc, argv, text, len, cfg);
}

int vw_hook_main(const char *driver, int argc, char **argv, const VwEngineConfig *cfg, bool verbose)
{
	g_autofree char *xml = NULL;
	gsize len = 0;
	int rc;

	/* The journal (or syslog) gets every call; stderr, which libvirt
	 * shows, the warnings and failures (-v: everything). */
	vw_log_open(VW_LOG_SYSTEM | VW_LOG_PROBLEMS | (verbose ? VW_LOG_STDERR : 0));
	if (!read_stdin(&xml, &len)) {
		vw_log_close();
		return 1;
	}
	rc = hook_run(driver, argc, argv, xml, len, cfg);
	vw_log_close();
	return rc;
}
