/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The hooks' log, read back through the log's sink (exec/log/log.c), over
 * fakes of the kernel: a call's summary (operation, network, result,
 * duration), the changes it made, failures libvirt ignores (exit 0, error
 * level), warnings, and findings with the line of `virsh net-dumpxml`
 * (counted from the <network> inside <hookData>), never a path.
 */
#include <glib/gstdio.h>
#include <string.h>
#include <syslog.h>

#include <virtwire/hooks.h>

#include "fake-link.h"
#include "fake-nft.h"

/* libvirt's hookData: the <network> on line 2, its forward on line 10 of
 * it as `virsh net-dumpxml lab` prints it (line 11 of stdin). */
#define HOOKDATA(guest) HOOKDATA_WITH(guest, "")
/* The same with @more forwards after the first. */
#define HOOKDATA_WITH(guest, more)                                                          \
	"<hookData>\n"                                                                      \
	"  <network>\n"                                                                     \
	"    <name>lab</name>\n"                                                            \
	"    <uuid>6a593e31-7089-4312-98cd-76ad63722fe2</uuid>\n"                           \
	"    <forward mode='open'/>\n"                                                      \
	"    <bridge name='vw-lab' stp='off' delay='0'/>\n"                                 \
	"    <mac address='52:54:00:b2:b7:87'/>\n"                                          \
	"    <ip address='192.168.153.1' prefix='24'/>\n"                                   \
	"    <metadata>\n"                                                                  \
	"      <vw:network xmlns:vw='urn:virtwire:1' mode='nat'>\n"                         \
	"        <vw:forward name='ssh' proto='tcp' host-port='2222' guest-address='" guest \
	"' guest-port='22'/>\n" more "      </vw:network>\n"                                \
	"    </metadata>\n"                                                                 \
	"  </network>\n"                                                                    \
	"</hookData>"

static const char LAB[] = HOOKDATA("192.168.153.10");
/* The guest outside the network's subnet: an error at 'start'. */
static const char LAB_BAD[] = HOOKDATA("10.9.9.9");

typedef struct {
	int priority;
	char *message, *operation, *network, *domain, *object, *code, *result;
	int line;
	gint64 duration_ms;
} Rec;

static void rec_free(Rec *r)
{
	g_free(r->message);
	g_free(r->operation);
	g_free(r->network);
	g_free(r->domain);
	g_free(r->object);
	g_free(r->code);
	g_free(r->result);
	g_free(r);
}

static void capture(const VwLogRecord *r, const char *operation, void *data)
{
	Rec *c = g_new0(Rec, 1);

	c->priority = r->priority;
	c->message = g_strdup(r->message);
	c->operation = g_strdup(operation);
	c->network = g_strdup(r->network);
	c->domain = g_strdup(r->domain);
	c->object = g_strdup(r->object);
	c->code = g_strdup(r->code);
	c->result = g_strdup(r->result);
	c->line = r->line;
	c->duration_ms = r->duration_ms;
	g_ptr_array_add(data, c);
}

typedef struct {
	char *dir;
	FakeLinks links;
	VwLinkBackend lbe;
	VwNftBackend *nft;
	FakeNft *fake;
	VwFaults faults;
	GArray *listeners; /* VwListener: what the host listens on */
	GPtrArray *recs;   /* Rec* */
	GString *stages;   /* the engine's stages of the last call, "NAME " each */
} Fx;

static Fx *fx_current;

static bool fake_listeners(GArray *ret, GError **error)
{
	g_array_append_vals(ret, fx_current->listeners->data, fx_current->listeners->len);
	return true;
}

static void fx_init(Fx *f)
{
	memset(f, 0, sizeof(*f));
	f->dir = g_dir_make_tmp("vw-hook-XXXXXX", NULL);
	fake_links_init(&f->links);
	g_hash_table_insert(f->links.sysctls, g_strdup("net/ipv4/ip_forward"), g_strdup("1"));
	f->lbe = fake_links_backend(&f->links);
	f->nft = fake_nft_new(&f->fake);
	f->listeners = g_array_new(FALSE, TRUE, sizeof(VwListener));
	f->recs = g_ptr_array_new_with_free_func((GDestroyNotify)rec_free);
	f->stages = g_string_new(NULL);
	fx_current = f;
	vw_log_set_sink(capture, f->recs);
}

static void fx_clear(Fx *f)
{
	g_autoptr(GDir) d = g_dir_open(f->dir, 0, NULL);
	const char *n;

	vw_log_set_sink(NULL, NULL);
	while (d && (n = g_dir_read_name(d))) {
		g_autofree char *p = g_build_filename(f->dir, n, NULL);

		g_unlink(p);
	}
	g_rmdir(f->dir);
	g_free(f->dir);
	vw_nft_backend_free(f->nft);
	fake_links_clear(&f->links);
	g_array_unref(f->listeners);
	g_ptr_array_unref(f->recs);
	g_string_free(f->stages, TRUE);
}

static void fx_stage(const char *name, void *data)
{
	g_string_append_printf(((Fx *)data)->stages, "%s ", name);
}

/* One hook call, as libvirt makes it; its records into f->recs (from
 * empty). */
static int fx_hook(Fx *f, const char *driver, const char *op, const char *sub, const char *xml)
{
	VwEngineConfig cfg = { .state_dir = f->dir,
			       .links = &f->lbe,
			       .nft = f->nft,
			       .faults = &f->faults,
			       .listeners = fake_listeners,
			       .lock_timeout_ms = 1000,
			       .stage = fx_stage,
			       .stage_data = f };
	char *argv[] = { (char *)"lab", (char *)op, (char *)sub, (char *)"-", NULL };

	g_ptr_array_set_size(f->recs, 0);
	g_string_truncate(f->stages, 0);
	return vw_hook_run(driver, 4, argv, xml, strlen(xml), &cfg);
}

/* The call's summary: the one record with a result. */
static const Rec *summary(Fx *f)
{
	const Rec *found = NULL;

	for (guint i = 0; i < f->recs->len; i++) {
		const Rec *r = f->recs->pdata[i];

		if (r->result) {
			g_assert_null(found);
			found = r;
		}
	}
	g_assert_nonnull(found);
	return found;
}

static guint count_changes(Fx *f, const char *object)
{
	guint n = 0;

	for (guint i = 0; i < f->recs->len; i++) {
		const Rec *r = f->recs->pdata[i];

		if (r->priority == LOG_NOTICE && g_strcmp0(r->object, object) == 0 && g_strcmp0(r->network, "lab") == 0)
			n++;
	}
	return n;
}

static const Rec *with_code(Fx *f, const char *code)
{
	for (guint i = 0; i < f->recs->len; i++) {
		const Rec *r = f->recs->pdata[i];

		if (g_strcmp0(r->code, code) == 0)
			return r;
	}
	return NULL;
}

/* libvirt's bridge and its address, as they are when 'started' runs. */
static void fx_bridge(Fx *f)
{
	FLink *br = fake_links_add(&f->links, "vw-lab", "bridge");
	VwAddrInfo a = { .scope = 0, .valid_lft = 0xffffffff, .preferred_lft = 0xffffffff };

	br->info.up = true;
	g_assert_true(vw_mac_parse("52:54:00:b2:b7:87", &br->info.mac));
	br->info.has_mac = true;
	g_assert_true(vw_prefix_parse("192.168.153.1/24", &a.prefix));
	g_array_append_val(br->addrs, a);
}

static void test_started_and_stopped(void)
{
	Fx f;
	const Rec *s;

	fx_init(&f);
	fx_bridge(&f);
	g_assert_cmpint(fx_hook(&f, "network", "started", "begin", LAB), ==, 0);
	s = summary(&f);
	g_assert_cmpint(s->priority, ==, LOG_INFO);
	g_assert_cmpstr(s->operation, ==, "network started");
	g_assert_cmpstr(s->network, ==, "lab");
	g_assert_null(s->domain);
	g_assert_cmpstr(s->result, ==, "ok");
	g_assert_cmpint(s->duration_ms, >=, 0);
	g_assert_nonnull(strstr(s->message, "network 'lab'"));
	/* The changes: the table made, among them. */
	g_assert_cmpuint(count_changes(&f, "table inet virtwire"), ==, 1);

	/* Again: nothing changes, nothing is logged as a change. */
	g_assert_cmpint(fx_hook(&f, "network", "started", "begin", LAB), ==, 0);
	g_assert_cmpstr(summary(&f)->result, ==, "ok");
	g_assert_cmpuint(count_changes(&f, "table inet virtwire"), ==, 0);

	/* stopped: the table goes, one change. */
	g_assert_cmpint(fx_hook(&f, "network", "stopped", "end", LAB), ==, 0);
	g_assert_cmpstr(summary(&f)->operation, ==, "network stopped");
	g_assert_cmpstr(summary(&f)->result, ==, "ok");
	g_assert_cmpuint(count_changes(&f, "table inet virtwire"), ==, 1);
	fx_clear(&f);
}

/* A repeated 'started' that finds nothing to change plans nothing, reads
 * no table and sends nothing; libvirt's bridge changed since takes the
 * full path, which refuses it as before. */
static void test_started_unchanged(void)
{
	Fx f;
	guint dumps, batches;

	fx_init(&f);
	fx_bridge(&f);
	g_assert_cmpint(fx_hook(&f, "network", "started", "begin", LAB), ==, 0);
	g_assert_nonnull(strstr(f.stages->str, "plan "));
	dumps = fake_nft_dumps(f.fake);
	batches = fake_nft_batches(f.fake);
	g_assert_cmpint(fx_hook(&f, "network", "started", "begin", LAB), ==, 0);
	g_assert_cmpstr(f.stages->str, ==, "unchanged ");
	g_assert_cmpstr(summary(&f)->result, ==, "ok");
	g_assert_cmpstr(summary(&f)->network, ==, "lab");
	g_assert_cmpuint(fake_nft_dumps(f.fake), ==, dumps);
	g_assert_cmpuint(fake_nft_batches(f.fake), ==, batches);
	/* libvirt's bridge lost its address: no longer as the XML says. */
	g_array_set_size(((FLink *)f.links.links->pdata[f.links.links->len - 1])->addrs, 0);
	g_assert_cmpint(fx_hook(&f, "network", "started", "begin", LAB), ==, 1);
	g_assert_nonnull(strstr(f.stages->str, "plan "));
	g_assert_nonnull(with_code(&f, "libvirt-mismatch"));
	fx_clear(&f);
}

/* 'started' with one forward more (an edited network): only that forward
 * is read, planned and sent (stage "edit"), no table read; a new forward
 * with a finding takes the full path, which names its line. */
static void test_started_edit(void)
{
	/* To ssh's target, whose counter it shares. */
	static const char plus[] = HOOKDATA_WITH(
		"192.168.153.10", "        <vw:forward proto='tcp' host-port='2223' guest-address='192.168.153.10' "
				  "guest-port='22'/>\n");
	static const char bad[] = HOOKDATA_WITH(
		"192.168.153.10", "        <vw:forward proto='tcp' host-port='2223' guest-address='10.9.9.9' "
				  "guest-port='23'/>\n");
	Fx f;
	guint dumps;

	fx_init(&f);
	fx_bridge(&f);
	g_assert_cmpint(fx_hook(&f, "network", "started", "begin", LAB), ==, 0);
	dumps = fake_nft_dumps(f.fake);
	g_assert_cmpint(fx_hook(&f, "network", "started", "begin", plus), ==, 0);
	g_assert_cmpstr(f.stages->str, ==, "start edit ");
	g_assert_cmpstr(summary(&f)->result, ==, "ok");
	g_assert_cmpstr(summary(&f)->network, ==, "lab");
	g_assert_cmpuint(fake_nft_dumps(f.fake), <=, dumps + 1);
	g_assert_cmpint(fx_hook(&f, "network", "started", "begin", plus), ==, 0);
	g_assert_cmpstr(f.stages->str, ==, "unchanged ");
	g_assert_cmpint(fx_hook(&f, "network", "started", "begin", LAB), ==, 0);
	g_assert_cmpstr(f.stages->str, ==, "start edit ");
	g_assert_cmpint(fx_hook(&f, "network", "started", "begin", bad), ==, 1);
	g_assert_null(strstr(f.stages->str, "edit"));
	g_assert_cmpint(with_code(&f, "guest-outside-subnet")->line, ==, 11);
	fx_clear(&f);
}

static void test_stopped_fails(void)
{
	Fx f;
	const Rec *s;
	bool error_line = false;

	fx_init(&f);
	fx_bridge(&f);
	g_assert_cmpint(fx_hook(&f, "network", "started", "begin", LAB), ==, 0);
	/* The kernel refuses the teardown's batch: libvirt ignores the exit
	 * status of 'stopped', the log does not. */
	f.faults.nft = 1;
	g_assert_cmpint(fx_hook(&f, "network", "stopped", "end", LAB), ==, 0);
	s = summary(&f);
	g_assert_cmpint(s->priority, ==, LOG_ERR);
	g_assert_cmpstr(s->result, ==, "failed");
	g_assert_cmpstr(s->network, ==, "lab");
	g_assert_nonnull(strstr(s->message, "libvirt goes on"));
	for (guint i = 0; i < f.recs->len; i++) {
		const Rec *r = f.recs->pdata[i];

		error_line |= !r->result && r->priority == LOG_ERR && g_str_has_prefix(r->message, "network 'lab': ");
	}
	g_assert_true(error_line);
	fx_clear(&f);
}

static void test_start_finding_line(void)
{
	Fx f;
	const Rec *r = NULL;

	fx_init(&f);
	g_assert_cmpint(fx_hook(&f, "network", "start", "begin", LAB_BAD), ==, 1);
	for (guint i = 0; i < f.recs->len && !r; i++)
		if (((Rec *)f.recs->pdata[i])->priority == LOG_ERR && ((Rec *)f.recs->pdata[i])->code)
			r = f.recs->pdata[i];
	g_assert_nonnull(r);
	/* Line 10 of `virsh net-dumpxml lab` (11 of the hook's stdin). */
	g_assert_cmpint(r->line, ==, 10);
	g_assert_nonnull(strstr(r->message, "network 'lab' (virsh net-dumpxml lab, line 10): "));
	g_assert_nonnull(strstr(r->message, "'ssh'"));
	g_assert_cmpstr(summary(&f)->result, ==, "failed");
	g_assert_cmpint(summary(&f)->priority, ==, LOG_ERR);
	fx_clear(&f);
}

static void test_warning(void)
{
	VwListener l = { .proto = VW_PROTO_TCP, .port = 2222, .uid = 0, .inode = 7 };
	Fx f;
	const Rec *r;

	fx_init(&f);
	fx_bridge(&f);
	l.addr.family = AF_INET;
	g_array_append_val(f.listeners, l);
	g_assert_cmpint(fx_hook(&f, "network", "started", "begin", LAB), ==, 0);
	r = with_code(&f, "port-in-use");
	g_assert_nonnull(r);
	g_assert_cmpint(r->priority, ==, LOG_WARNING);
	g_assert_cmpint(r->line, ==, 10);
	g_assert_nonnull(strstr(r->message, "network 'lab' (virsh net-dumpxml lab, line 10): forward 'ssh'"));
	g_assert_cmpstr(summary(&f)->result, ==, "ok");
	fx_clear(&f);
}

/* A finding about a recorded network names it as the operator sees it,
 * never by virtwire's copy under the state directory. */
static void test_record_label(void)
{
	static const char OTHER[] =
		"<hookData>\n  <network>\n    <name>other</name>\n    <forward mode='open'/>\n"
		"    <bridge name='vw-other' stp='off' delay='0'/>\n    <ip address='192.168.154.1' prefix='24'/>\n    "
		"<metadata>\n"
		"      <vw:network xmlns:vw='urn:virtwire:1' mode='nat'>\n"
		"        <vw:forward proto='tcp' host-port='2222' guest-address='192.168.154.10' guest-port='22'/>\n"
		"      </vw:network>\n    </metadata>\n  </network>\n</hookData>";
	char *argv[] = { (char *)"other", (char *)"started", (char *)"begin", (char *)"-", NULL };
	Fx f;
	const Rec *r;

	fx_init(&f);
	{
		FLink *br = fake_links_add(&f.links, "vw-other", "bridge");
		VwAddrInfo a = { .valid_lft = 0xffffffff, .preferred_lft = 0xffffffff };
		VwEngineConfig cfg = { .state_dir = f.dir, .links = &f.lbe, .nft = f.nft, .lock_timeout_ms = 1000 };

		br->info.up = true;
		g_assert_true(vw_prefix_parse("192.168.154.1/24", &a.prefix));
		g_array_append_val(br->addrs, a);
		g_assert_cmpint(vw_hook_run("network", 4, argv, OTHER, strlen(OTHER), &cfg), ==, 0);
	}
	/* lab forwards the same port: refused at start, blaming line 8 of
	 * other's XML as `virsh net-dumpxml other` shows it. */
	g_assert_cmpint(fx_hook(&f, "network", "start", "begin", LAB), ==, 1);
	r = with_code(&f, "forward-collision");
	g_assert_nonnull(r);
	g_assert_nonnull(strstr(r->message, "virsh net-dumpxml other:8"));
	g_assert_null(strstr(r->message, f.dir));
	fx_clear(&f);
}

/* The journal's native protocol: KEY=VALUE lines, and a value with a
 * newline as KEY, its length (64 bits, little endian), itself. */
static void test_journal_encoding(void)
{
	static const char plain[] = "MESSAGE=network 'n': done";
	static const char lines[] = "MESSAGE=two\nlines";
	static const char expect[] = "MESSAGE=network 'n': done\nPRIORITY=6\n"
				     "MESSAGE\n\x09\0\0\0\0\0\0\0two\nlines\n";
	struct iovec iov[] = {
		{ (void *)plain, strlen(plain) },
		{ (void *)"PRIORITY=6", 10 },
		{ (void *)lines, strlen(lines) },
	};
	g_autoptr(GByteArray) b = vw_journal_encode(iov, G_N_ELEMENTS(iov));

	g_assert_cmpmem(b->data, b->len, expect, sizeof(expect) - 1);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/hook/log/journal-encoding", test_journal_encoding);
	g_test_add_func("/hook/log/started-stopped", test_started_and_stopped);
	g_test_add_func("/hook/log/stopped-fails", test_stopped_fails);
	g_test_add_func("/hook/started-unchanged", test_started_unchanged);
	g_test_add_func("/hook/started-edit", test_started_edit);
	g_test_add_func("/hook/log/start-finding-line", test_start_finding_line);
	g_test_add_func("/hook/log/warning", test_warning);
	g_test_add_func("/hook/log/record-label", test_record_label);
	return g_test_run();
}
