/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The engine against fakes at both kernel seams and a state directory of
 * its own: the order of apply (the record before the kernel), its one way
 * back, records that are missing, damaged or pending, teardown, ports.
 * No root: the fakes are the kernel.
 */
#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>

#include <virtwire/engine.h>

#include "engine-private.h"
#include "fake-ct.h"
#include "fake-link.h"
#include "fake-nft.h"

#define NET_XML(name, br, sub, port)                                                                            \
	"<network><name>" name "</name><forward mode='open'/><bridge name='" br "' stp='off'/>"                 \
	"<ip address='" sub ".1' prefix='24'><dhcp><host mac='52:54:00:00:00:10' ip='" sub ".10'/></dhcp></ip>" \
	"<metadata><vw:network xmlns:vw='urn:virtwire:1' mode='nat'>"                                           \
	"<vw:forward proto='tcp' host-port='" port "' guest-mac='52:54:00:00:00:10' guest-port='22'/>"          \
	"<vw:domain-forwards allow='yes' host-ports='8000-8999'/>"                                              \
	"</vw:network></metadata></network>"

static const char WEB[] = NET_XML("web", "vw-web", "192.168.150", "2222");
static const char WEB2[] = NET_XML("web", "vw-web", "192.168.152", "2222");
static const char DB[] = NET_XML("db", "vw-db", "192.168.151", "2223");
/* db forwarding the port web forwards */
static const char DB_SAME[] = NET_XML("db", "vw-db", "192.168.151", "2222");

typedef struct {
	char *dir;
	FakeLinks links;
	VwLinkBackend lbe;
	VwNftBackend *nft;
	FakeNft *fake;
	VwCtBackend *ct;
	FakeCt *ctf;
	VwFaults faults;
	VwEngine *engine;
	GPtrArray *docs;
	GPtrArray *reports; /* VwApplyReport* of the last apply or teardown */
	VwDiags *diags;	    /* of the last apply */
	GString *stages;    /* the engine's stages, "NAME " each */
} Fx;

/* The host's listening sockets as the engine's listeners seam sees them:
 * one process listening on tcp *:8080. */
static bool fake_listeners(GArray *ret, GError **error)
{
	VwListener l = { .proto = VW_PROTO_TCP, .port = 8080, .uid = 0, .inode = 4242 };

	l.addr.family = AF_INET;
	g_array_append_val(ret, l);
	return true;
}

static void fx_stage(const char *name, void *data)
{
	Fx *f = data;

	g_string_append_printf(f->stages, "%s ", name);
}

static void fx_engine(Fx *f)
{
	VwEngineConfig cfg = {
		.state_dir = f->dir,
		.links = &f->lbe,
		.nft = f->nft,
		.conntrack = f->ct,
		.faults = &f->faults,
		.lock_timeout_ms = 1000,
		.listeners = fake_listeners,
		.stage = fx_stage,
		.stage_data = f,
	};

	g_clear_pointer(&f->engine, vw_engine_free);
	f->engine = vw_engine_new(&cfg);
}

static void fx_init(Fx *f)
{
	g_autofree char *tmp = g_dir_make_tmp("vw-engine-XXXXXX", NULL);

	memset(f, 0, sizeof(*f));
	f->dir = g_build_filename(tmp, "state", NULL);
	fake_links_init(&f->links);
	g_hash_table_insert(f->links.sysctls, g_strdup("net/ipv4/ip_forward"), g_strdup("0"));
	g_hash_table_insert(f->links.sysctls, g_strdup("net/ipv6/conf/all/forwarding"), g_strdup("0"));
	f->lbe = fake_links_backend(&f->links);
	f->nft = fake_nft_new(&f->fake);
	f->ct = fake_ct_new(&f->ctf);
	f->docs = g_ptr_array_new_with_free_func((GDestroyNotify)vw_doc_free);
	f->stages = g_string_new(NULL);
	fx_engine(f);
}

static void rm_rf(const char *path)
{
	g_autoptr(GDir) d = g_dir_open(path, 0, NULL);
	const char *n;

	while (d && (n = g_dir_read_name(d))) {
		g_autofree char *p = g_build_filename(path, n, NULL);

		if (g_file_test(p, G_FILE_TEST_IS_DIR) && !g_file_test(p, G_FILE_TEST_IS_SYMLINK))
			rm_rf(p);
		else
			g_unlink(p);
	}
	g_rmdir(path);
}

static void fx_clear(Fx *f)
{
	g_autofree char *up = g_path_get_dirname(f->dir);

	vw_engine_free(f->engine);
	vw_nft_backend_free(f->nft);
	vw_ct_backend_free(f->ct);
	g_clear_pointer(&f->reports, g_ptr_array_unref);
	g_clear_pointer(&f->diags, vw_diags_free);
	fake_links_clear(&f->links);
	g_ptr_array_unref(f->docs);
	g_string_free(f->stages, TRUE);
	rm_rf(up);
	g_free(f->dir);
}

static const VwNetwork *fx_net(Fx *f, const char *xml)
{
	g_autoptr(VwDiags) d = vw_diags_new();
	VwDoc *doc = NULL;

	g_assert_cmpint(vw_doc_load_memory("t.xml", xml, strlen(xml), NULL, d, &doc), ==, VW_LOAD_OK);
	g_ptr_array_add(f->docs, doc);
	return doc->network;
}

/* Applies the networks of @xmls (NULL-terminated) standalone. */
static bool fx_apply(Fx *f, const char *const *xmls, bool adopt, GError **error)
{
	g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func(g_free);
	VwApplyRequest req = { .items = items, .links = VW_LINKS_APPLY, .adopt = adopt };

	for (guint i = 0; xmls[i]; i++) {
		VwApplyItem *it = g_new0(VwApplyItem, 1);

		it->network = fx_net(f, xmls[i]);
		it->xml = xmls[i];
		it->source = "test";
		g_ptr_array_add(items, it);
	}
	g_clear_pointer(&f->reports, g_ptr_array_unref);
	g_clear_pointer(&f->diags, vw_diags_free);
	f->reports = g_ptr_array_new_with_free_func((GDestroyNotify)vw_apply_report_free);
	f->diags = vw_diags_new();
	return vw_engine_apply(f->engine, &req, f->reports, f->diags, error);
}

static bool fx_teardown(Fx *f, const char *name, const char *from, GError **error)
{
	g_autoptr(GPtrArray) nets = g_ptr_array_new();
	char *names[] = { (char *)name, NULL };
	VwTeardownRequest req = { names, from ? nets : NULL };

	if (from)
		g_ptr_array_add(nets, (gpointer)fx_net(f, from));
	g_clear_pointer(&f->reports, g_ptr_array_unref);
	f->reports = g_ptr_array_new_with_free_func((GDestroyNotify)vw_apply_report_free);
	return vw_engine_teardown(f->engine, &req, f->reports, error);
}

static char *read_file(Fx *f, const char *name)
{
	g_autofree char *p = g_build_filename(f->dir, name, NULL);
	char *text = NULL;

	if (!g_file_get_contents(p, &text, NULL, NULL))
		return NULL;
	return text;
}

static void write_file(Fx *f, const char *name, const char *text)
{
	g_autofree char *p = g_build_filename(f->dir, name, NULL);

	g_assert_true(g_file_set_contents(p, text, -1, NULL));
}

/* The whole "kernel" and the records, as one text. */
static char *world(Fx *f)
{
	g_autofree char *links = fake_links_snapshot(&f->links);
	g_autoptr(GPtrArray) sets = fake_nft_sets(f->fake, NFPROTO_INET, "virtwire");
	g_autoptr(GPtrArray) chains = fake_nft_chains(f->fake, NFPROTO_INET, "virtwire");
	g_autofree char *web = read_file(f, "web.state");
	g_autofree char *db = read_file(f, "db.state");
	GString *out = g_string_new(links);

	for (guint i = 0; sets && i < sets->len; i++) {
		g_auto(GStrv) w = g_strsplit(sets->pdata[i], " ", 2);
		g_autoptr(GPtrArray) elems = fake_nft_elems(f->fake, NFPROTO_INET, "virtwire", w[0]);

		g_string_append_printf(out, "set %s\n", (char *)sets->pdata[i]);
		for (guint j = 0; elems && j < elems->len; j++)
			g_string_append_printf(out, "  %s\n", (char *)elems->pdata[j]);
	}
	for (guint i = 0; chains && i < chains->len; i++)
		g_string_append_printf(out, "chain %s\n", (char *)chains->pdata[i]);
	g_string_append_printf(out, "record web:\n%s\nrecord db:\n%s\n", web ? web : "-", db ? db : "-");
	return g_string_free(out, FALSE);
}

/* A record's "applied" time changes with every write: leave it out. */
static char *timeless(char *text)
{
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
	GString *out = g_string_new(NULL);

	for (char **l = lines; *l; l++)
		if (!g_str_has_prefix(*l, "applied "))
			g_string_append_printf(out, "%s\n", *l);
	g_free(text);
	return g_string_free(out, FALSE);
}

static void test_apply_and_reapply(void)
{
	const char *xmls[] = { WEB, NULL };
	g_autoptr(GError) err = NULL;
	g_autofree char *rec = NULL, *once = NULL, *twice = NULL;
	Fx f;
	guint batches;

	fx_init(&f);
	g_assert_true(fx_apply(&f, xmls, false, &err));
	g_assert_no_error(err);
	rec = read_file(&f, "web.state");
	g_assert_nonnull(strstr(rec, "virtwire-state 2\n"));
	g_assert_nonnull(strstr(rec, "status applied\n"));
	g_assert_nonnull(strstr(rec, "link bridge created vw-web\n"));
	once = timeless(world(&f));
	g_assert_nonnull(strstr(once, "alias=virtwire:web"));
	g_assert_nonnull(strstr(once, "comment \"web\""));
	/* Again: nothing changes, nothing is sent. */
	batches = fake_nft_batches(f.fake);
	g_assert_true(fx_apply(&f, xmls, false, &err));
	g_assert_cmpuint(fake_nft_batches(f.fake), ==, batches);
	twice = timeless(world(&f));
	g_assert_cmpstr(twice, ==, once);
	fx_clear(&f);
}

/* A fault at every record write and at the batch: the apply fails, and the
 * kernel and the records are exactly as before it. Run over a first apply
 * (nothing before) and over a change of XML (a network applied before). */
static void faults_leave_nothing(const char *const *before, const char *const *xmls)
{
	guint n;

	for (n = 1;; n++) {
		g_autoptr(GError) err = NULL;
		g_autofree char *was = NULL, *is = NULL;
		Fx f;
		bool ok;

		fx_init(&f);
		if (before)
			g_assert_true(fx_apply(&f, before, false, NULL));
		was = world(&f);
		f.faults.store = n;
		fx_engine(&f);
		ok = fx_apply(&f, xmls, false, &err);
		is = world(&f);
		fx_clear(&f);
		if (ok) {
			g_assert_no_error(err);
			break; /* fewer writes than n: every one was tried */
		}
		g_assert_error(err, VW_ERROR, VW_ERROR_FAILED);
		g_assert_nonnull(strstr(err->message, g_strerror(ENOSPC)));
		g_assert_cmpstr(is, ==, was);
	}
	g_assert_cmpuint(n, >=, 3); /* intent, XML, record */
	for (n = 1; n < 6; n++) {
		g_autoptr(GError) err = NULL;
		g_autofree char *was = NULL, *is = NULL;
		Fx f;

		fx_init(&f);
		if (before)
			g_assert_true(fx_apply(&f, before, false, NULL));
		was = world(&f);
		f.faults.nft = n;
		fx_engine(&f);
		g_assert_false(fx_apply(&f, xmls, false, &err));
		is = world(&f);
		g_assert_cmpstr(is, ==, was);
		fx_clear(&f);
	}
}

static void test_faults_leave_nothing(void)
{
	const char *web[] = { WEB, NULL };
	const char *web2[] = { WEB2, NULL };

	faults_leave_nothing(NULL, web);
	faults_leave_nothing(web, web2);
}

/* The kernel shows a network as virtwire's but its record is gone or
 * damaged: apply refuses and says the way out; --adopt takes it over; the
 * bridge is never left behind as "found". */
static void test_unusable_records(void)
{
	static const char *const damage[] = { NULL, "garbage\n", "virtwire-state 2\nnetwork web\n",
					      "virtwire-state 99\nnetwork web\nid web\nend\n" };
	const char *xmls[] = { WEB, NULL };

	for (size_t i = 0; i < G_N_ELEMENTS(damage); i++) {
		g_autoptr(GError) err = NULL;
		g_autofree char *was = NULL, *is = NULL, *rec = NULL;
		g_autofree char *path = NULL;
		Fx f;

		fx_init(&f);
		g_assert_true(fx_apply(&f, xmls, false, NULL));
		path = g_build_filename(f.dir, "web.state", NULL);
		if (damage[i])
			write_file(&f, "web.state", damage[i]);
		else
			g_assert_cmpint(g_unlink(path), ==, 0);
		was = world(&f);
		g_assert_false(fx_apply(&f, xmls, false, &err));
		g_assert_error(err, VW_ERROR, VW_ERROR_STATE);
		g_assert_nonnull(strstr(err->message, "teardown"));
		g_assert_nonnull(strstr(err->message, "--adopt"));
		is = world(&f);
		g_assert_cmpstr(is, ==, was);
		/* Without --from, teardown cannot either; with it, it can. */
		g_clear_error(&err);
		g_assert_false(fx_teardown(&f, "web", NULL, &err));
		g_clear_error(&err);
		if (i % 2) {
			g_assert_true(fx_teardown(&f, "web", WEB, &err));
		} else {
			g_assert_true(fx_apply(&f, xmls, true, &err));
			rec = read_file(&f, "web.state");
			g_assert_nonnull(strstr(rec, "link bridge created vw-web\n"));
			g_assert_true(fx_teardown(&f, "web", NULL, &err));
		}
		g_assert_no_error(err);
		g_free(is);
		is = fake_links_snapshot(&f.links);
		g_assert_null(strstr(is, "vw-web"));
		g_assert_null(fake_nft_sets(f.fake, NFPROTO_INET, "virtwire"));
		fx_clear(&f);
	}
}

/* An apply that stopped after its intent (a crash): the record says
 * pending; the bridge the kernel shows with virtwire's marker is
 * virtwire's, for the next apply and for teardown. */
static void test_pending_record(void)
{
	const char *xmls[] = { WEB, NULL };
	g_autoptr(GError) err = NULL;
	g_autofree char *rec = NULL;
	FLink *br;
	Fx f;

	fx_init(&f);
	g_mkdir_with_parents(f.dir, 0700);
	write_file(&f, "web.xml", WEB);
	write_file(&f, "web.state", "virtwire-state 2\nnetwork web\nid web\nstatus pending\nend\n");
	br = fake_links_add(&f.links, "vw-web", "bridge");
	g_strlcpy(br->info.alias, VW_LINK_ALIAS_PREFIX "web", sizeof(br->info.alias));
	g_assert_true(fx_teardown(&f, "web", NULL, &err));
	g_assert_no_error(err);
	rec = fake_links_snapshot(&f.links);
	g_assert_null(strstr(rec, "vw-web"));

	/* And an apply over a pending record completes it. */
	write_file(&f, "web.xml", WEB);
	write_file(&f, "web.state", "virtwire-state 2\nnetwork web\nid web\nstatus pending\nend\n");
	br = fake_links_add(&f.links, "vw-web", "bridge");
	g_strlcpy(br->info.alias, VW_LINK_ALIAS_PREFIX "web", sizeof(br->info.alias));
	if (!fx_apply(&f, xmls, false, &err))
		g_error("%s", err->message);
	g_free(rec);
	rec = read_file(&f, "web.state");
	g_assert_nonnull(strstr(rec, "status applied\n"));
	g_assert_nonnull(strstr(rec, "link bridge created vw-web\n"));
	fx_clear(&f);
}

static void test_teardown_one_of_two(void)
{
	const char *xmls[] = { WEB, DB, NULL };
	g_autoptr(GError) err = NULL;
	g_autoptr(GPtrArray) chains = NULL;
	g_autofree char *links = NULL, *rec = NULL;
	Fx f;

	fx_init(&f);
	g_assert_true(fx_apply(&f, xmls, false, &err));
	g_assert_true(fx_teardown(&f, "web", NULL, &err));
	g_assert_no_error(err);
	links = fake_links_snapshot(&f.links);
	g_assert_null(strstr(links, "vw-web"));
	g_assert_nonnull(strstr(links, "vw-db"));
	chains = fake_nft_chains(f.fake, NFPROTO_INET, "virtwire");
	g_assert_nonnull(chains);
	for (guint i = 0; i < chains->len; i++)
		g_assert_null(strstr(chains->pdata[i], "nw-web-"));
	rec = read_file(&f, "web.state");
	g_assert_null(rec);
	/* An unknown name changes nothing and says so. */
	g_assert_false(fx_teardown(&f, "web", NULL, &err));
	g_assert_error(err, VW_ERROR, VW_ERROR_NOT_FOUND);
	g_clear_error(&err);
	g_assert_true(fx_teardown(&f, "db", NULL, &err));
	g_assert_null(fake_nft_sets(f.fake, NFPROTO_INET, "virtwire"));
	fx_clear(&f);
}

/* A key another owner holds in the kernel: refused before anything is
 * sent, in words the records give. */
static void test_conflict_words(void)
{
	const char *web[] = { WEB, NULL };
	const char *db[] = { DB_SAME, NULL };
	g_autoptr(GError) err = NULL;
	g_autofree char *was = NULL, *is = NULL;
	Fx f;

	fx_init(&f);
	g_assert_true(fx_apply(&f, web, false, NULL));
	/* Forget db's own check against web: the records no longer show web,
	 * but the kernel still holds its forward. */
	{
		g_autofree char *p = g_build_filename(f.dir, "web.state", NULL);
		g_autofree char *x = g_build_filename(f.dir, "web.xml", NULL);
		g_autofree char *rec = read_file(&f, "web.state");
		g_autofree char *moved = g_build_filename(f.dir, "..", "web.state", NULL);

		g_assert_true(g_file_set_contents(moved, rec, -1, NULL));
		g_unlink(p);
		g_unlink(x);
	}
	was = world(&f);
	{
		/* DB forwards the same host port. */
		g_autofree char *dbx = g_strdup(db[0]);
		const char *xmls[] = { dbx, NULL };

		g_assert_false(fx_apply(&f, xmls, false, &err));
	}
	g_assert_error(err, VW_ERROR, VW_ERROR_CONFLICT);
	g_assert_nonnull(strstr(err->message, "network 'db'"));
	g_assert_nonnull(strstr(err->message, "tcp . 2222"));
	is = world(&f);
	g_assert_cmpstr(is, ==, was);
	fx_clear(&f);
}

/* A domain's port: its forwards come with it, exactly its elements, and
 * go with it. */
/* A DNATed connection from 203.0.113.2 to host port @port, and the
 * guest's @target:@tport behind it. */
static uint32_t fx_ct_conn(Fx *f, uint16_t port, const char *target, uint16_t tport)
{
	static uint16_t cport = 40000;
	FakeCtEntry e = { 6,	  "203.0.113.2", "203.0.113.1", cport, port,
			  target, "203.0.113.2", tport,		cport, IPS_CONFIRMED | IPS_DST_NAT,
			  0 };

	cport++;
	return fake_ct_add(f->ctf, &e);
}

static const VwApplyReport *fx_report(Fx *f, const char *name)
{
	for (guint i = 0; f->reports && i < f->reports->len; i++)
		if (strcmp(((VwApplyReport *)f->reports->pdata[i])->name, name) == 0)
			return f->reports->pdata[i];
	g_assert_not_reached();
}

static bool has_change(const VwApplyReport *r, const char *line)
{
	for (guint i = 0; i < r->changes->len; i++)
		if (strcmp(r->changes->pdata[i], line) == 0)
			return true;
	return false;
}

/* A forward re-pointed (web's guest moves to another subnet) ends the
 * connections it DNATed, and says so; a network's teardown ends those of
 * its forwards; the other network's connections go on. A conntrack that
 * refuses is a warning: the apply or teardown stands. */
static void test_connections(void)
{
	static const char web_moved[] = NET_XML("web", "vw-web", "192.168.160", "2222");
	static const char db_moved[] = NET_XML("db", "vw-db", "192.168.151", "2224");
	const char *web_db[] = { WEB, DB, NULL }, *web2[] = { web_moved, NULL }, *db2[] = { db_moved, NULL };
	uint32_t old[2], db, fresh;
	const VwApplyReport *r;
	g_autoptr(GPtrArray) elems = NULL;
	Fx f;

	fx_init(&f);
	g_assert_true(fx_apply(&f, web_db, false, NULL));
	g_assert_cmpuint(fx_report(&f, "web")->connections, ==, 0);
	old[0] = fx_ct_conn(&f, 2222, "192.168.150.10", 22);
	old[1] = fx_ct_conn(&f, 2222, "192.168.150.10", 22);
	db = fx_ct_conn(&f, 2223, "192.168.151.10", 22);
	g_assert_true(fx_apply(&f, web2, false, NULL));
	r = fx_report(&f, "web");
	g_assert_cmpuint(r->connections, ==, 2);
	g_assert_true(has_change(r, "conntrack: 2 connections ended (their forward was removed or re-pointed)"));
	g_assert_false(fake_ct_has(f.ctf, old[0]) || fake_ct_has(f.ctf, old[1]));
	g_assert_true(fake_ct_has(f.ctf, db));

	/* db's forward moves to another port, and conntrack refuses: a
	 * warning, the firewall is changed all the same. */
	fake_ct_fail_next(f.ctf, true, EPERM);
	g_assert_true(fx_apply(&f, db2, false, NULL));
	g_assert_cmpuint(vw_diags_count(f.diags, VW_SEV_WARNING), ==, 1);
	g_assert_cmpstr(((VwDiag *)f.diags->items->pdata[0])->code, ==, "conntrack");
	g_assert_true(fake_ct_has(f.ctf, db));
	elems = fake_nft_elems(f.fake, NFPROTO_INET, "virtwire", "fwd4any");
	g_assert_true(g_str_has_prefix(elems->pdata[0], "0600000008b00000") ||
		      g_str_has_prefix(elems->pdata[1], "0600000008b00000"));

	fresh = fx_ct_conn(&f, 2222, "192.168.160.10", 22);
	g_assert_true(fx_teardown(&f, "web", NULL, NULL));
	r = fx_report(&f, "web");
	g_assert_cmpuint(r->connections, ==, 1);
	g_assert_true(has_change(r, "conntrack: 1 connection ended (their forward was removed or re-pointed)"));
	g_assert_false(fake_ct_has(f.ctf, fresh));
	fresh = fx_ct_conn(&f, 2224, "192.168.151.10", 22);
	fake_ct_fail_next(f.ctf, false, EPERM);
	g_assert_true(fx_teardown(&f, "db", NULL, NULL));
	r = fx_report(&f, "db");
	g_assert_true(g_str_has_prefix(r->changes->pdata[r->changes->len - 1], "warning: connections of forwards"));
	g_assert_true(fake_ct_has(f.ctf, fresh));
	g_assert_cmpuint(fake_ct_flushes(f.ctf), ==, 0);
	fx_clear(&f);
}

static void test_port(void)
{
	static const char dom[] =
		"<domain type='kvm'><name>vm1</name><uuid>8d3e1c5a-6f0b-4a52-9a0e-0c2f7f6b1d11</uuid>"
		"<devices><interface type='network'><mac address='52:54:00:00:00:10'/><source network='web'/>"
		"</interface></devices><metadata><vw:domain xmlns:vw='urn:virtwire:1'>"
		"<vw:forward network='web' proto='tcp' host-port='8080' guest-port='80'/></vw:domain></metadata>"
		"</domain>";
	const char *xmls[] = { WEB, NULL };
	g_autoptr(VwDiags) warned = vw_diags_new();
	VwPortRequest add = { "web",
			      "3068240c-3b1b-4df5-a592-1b6565c9244f",
			      "8d3e1c5a-6f0b-4a52-9a0e-0c2f7f6b1d11",
			      "52:54:00:00:00:10",
			      true,
			      warned };
	VwPortRequest del = add;
	g_autoptr(GError) err = NULL;
	g_autoptr(VwDiags) diags = vw_diags_new();
	g_autofree char *text = NULL;
	g_autoptr(GPtrArray) elems = NULL;
	g_autofree char *owner = g_strdup_printf("web:%s", add.port_uuid);
	g_autofree char *rec = NULL;
	guint with_port = 0, dumps, gets;
	uint32_t conn;
	Fx f;
	VwDoc *doc = NULL;

	fx_init(&f);
	g_assert_true(fx_apply(&f, xmls, false, NULL));
	g_assert_cmpint(vw_doc_load_memory("dom.xml", dom, strlen(dom), NULL, diags, &doc), ==, VW_LOAD_OK);
	g_ptr_array_add(f.docs, doc);
	g_assert_true(vw_engine_prepare_domain(f.engine, doc->domain, dom, diags, &err));
	g_assert_no_error(err);
	dumps = fake_nft_dumps(f.fake);
	gets = fake_nft_gets(f.fake);
	g_string_truncate(f.stages, 0);
	g_assert_true(vw_engine_port(f.engine, &add, &err));
	g_assert_no_error(err);
	/* A delta: the port's keys asked for one by one, the table not read. */
	g_assert_cmpuint(fake_nft_dumps(f.fake), ==, dumps);
	g_assert_cmpuint(fake_nft_gets(f.fake), >, gets);
	g_assert_nonnull(strstr(f.stages->str, "delta"));
	/* The domain's forward takes tcp 8080, where a host process listens:
	 * one warning, for the domain's forward only (the network's own were
	 * warned about at its apply). */
	text = vw_diags_format_text(warned);
	g_assert_cmpuint(vw_diags_count(warned, VW_SEV_WARNING), ==, 1);
	g_assert_nonnull(strstr(text, "[port-in-use]"));
	g_assert_nonnull(strstr(text, "8080"));
	rec = read_file(&f, "web.state");
	g_assert_nonnull(strstr(rec, add.port_uuid));
	elems = fake_nft_elems(f.fake, NFPROTO_INET, "virtwire", "fwd4any");
	for (guint i = 0; i < elems->len; i++)
		with_port += strstr(elems->pdata[i], owner) != NULL;
	g_assert_cmpuint(with_port, ==, 1);
	/* Again: idempotent (libvirt repeats port-created). */
	g_assert_true(vw_engine_port(f.engine, &add, &err));
	/* The network applied again with its port: the record keeps the
	 * port's elements as the plan has them (the next change is a delta). */
	g_assert_true(fx_apply(&f, xmls, false, NULL));
	g_clear_pointer(&rec, g_free);
	rec = read_file(&f, "web.state");
	g_assert_true(g_str_has_prefix(rec, "virtwire-state 3\n"));
	g_assert_nonnull(strstr(rec, " 52:54:00:00:00:10 i/fwd4any/06000000"));
	/* A connection through the domain's forward ends with its port. */
	conn = fx_ct_conn(&f, 8080, "192.168.150.10", 80);
	del.add = false;
	dumps = fake_nft_dumps(f.fake);
	g_string_truncate(f.stages, 0);
	g_assert_true(vw_engine_port(f.engine, &del, &err));
	g_assert_cmpuint(fake_nft_dumps(f.fake), ==, dumps);
	g_assert_nonnull(strstr(f.stages->str, "delta"));
	g_assert_false(fake_ct_has(f.ctf, conn));
	g_clear_pointer(&elems, g_ptr_array_unref);
	elems = fake_nft_elems(f.fake, NFPROTO_INET, "virtwire", "fwd4any");
	for (guint i = 0; i < elems->len; i++)
		g_assert_null(strstr(elems->pdata[i], owner));
	g_assert_true(vw_engine_release_domain(f.engine, add.domain_uuid, &err));
	g_assert_no_error(err);
	fx_clear(&f);
}

static bool fx_restore(Fx *f, VwRestoreReport **rep, GError **error)
{
	g_clear_pointer(rep, vw_restore_report_free);
	*rep = vw_restore_report_new();
	return vw_engine_restore(f->engine, *rep, error);
}

/* Restore: nothing missing, nothing sent (not even read while the
 * generation stays); the table deleted by someone else comes back whole;
 * the records keep what apply created, so teardown still removes it. */
static void test_restore(void)
{
	const char *xmls[] = { WEB, DB, NULL };
	g_autoptr(VwRestoreReport) rep = NULL;
	g_autoptr(GError) err = NULL;
	g_autoptr(NftOther) flush = nft_other_new();
	g_autofree char *applied = NULL, *restored = NULL, *rec = NULL, *links = NULL;
	guint batches;
	Fx f;

	fx_init(&f);
	g_assert_true(fx_apply(&f, xmls, false, &err));
	applied = timeless(world(&f));
	batches = fake_nft_batches(f.fake);
	g_assert_true(fx_restore(&f, &rep, &err));
	g_assert_no_error(err);
	g_assert_cmpuint(rep->networks, ==, 2);
	g_assert_true(rep->unread);
	g_assert_cmpuint(rep->messages, ==, 0);
	g_assert_cmpuint(fake_nft_batches(f.fake), ==, batches);
	/* nftables.service's restart: the table goes. */
	nft_other_table(flush, false, NFPROTO_INET, "virtwire");
	g_assert_cmpint(nft_other_commit(flush, f.nft), ==, 0);
	g_assert_null(fake_nft_sets(f.fake, NFPROTO_INET, "virtwire"));
	g_assert_true(fx_restore(&f, &rep, &err));
	g_assert_false(rep->unread);
	g_assert_cmpuint(rep->messages, >, 0);
	g_assert_cmpuint(rep->changes->len, ==, 2);
	g_assert_nonnull(strstr(rep->changes->pdata[0], "table inet virtwire: is missing"));
	restored = timeless(world(&f));
	g_assert_cmpstr(restored, ==, applied);
	batches = fake_nft_batches(f.fake);
	g_assert_true(fx_restore(&f, &rep, &err));
	g_assert_true(rep->unread);
	g_assert_cmpuint(fake_nft_batches(f.fake), ==, batches);
	rec = read_file(&f, "web.state");
	g_assert_nonnull(strstr(rec, "link bridge created vw-web\n"));
	g_assert_true(fx_teardown(&f, "web", NULL, &err));
	g_assert_no_error(err);
	links = fake_links_snapshot(&f.links);
	g_assert_null(strstr(links, "vw-web"));
	fx_clear(&f);
}

static guint fwd_elems(Fx *f)
{
	g_autoptr(GPtrArray) elems = fake_nft_elems(f->fake, NFPROTO_INET, "virtwire", "fwd4any");

	return elems ? elems->len : 0;
}

/* Whether network @name, applied again from @xml, has nothing to do; either
 * way nothing was sent, no table read, and only "unchanged" staged (no
 * parse, check or plan) when it has nothing to do. */
static bool fx_unchanged(Fx *f, const char *name, const char *xml)
{
	guint dumps = fake_nft_dumps(f->fake), batches = fake_nft_batches(f->fake);
	int mutations = f->links.mutations;
	bool same;

	g_string_truncate(f->stages, 0);
	same = vw_engine_unchanged(f->engine, name, xml, strlen(xml));
	g_assert_cmpuint(fake_nft_dumps(f->fake), ==, dumps);
	g_assert_cmpuint(fake_nft_batches(f->fake), ==, batches);
	g_assert_cmpint(f->links.mutations, ==, mutations);
	g_assert_cmpstr(f->stages->str, ==, same ? "unchanged " : "");
	return same;
}

/* A restore that took the short way: nothing planned, read or sent. */
static void assert_restore_unchanged(Fx *f, guint networks)
{
	g_autoptr(VwRestoreReport) rep = NULL;
	g_autoptr(GError) err = NULL;
	guint dumps = fake_nft_dumps(f->fake), batches = fake_nft_batches(f->fake);

	g_string_truncate(f->stages, 0);
	g_assert_true(fx_restore(f, &rep, &err));
	g_assert_no_error(err);
	g_assert_cmpstr(f->stages->str, ==, "unchanged ");
	g_assert_cmpuint(rep->networks, ==, networks);
	g_assert_true(rep->unread);
	g_assert_cmpuint(fake_nft_dumps(f->fake), ==, dumps);
	g_assert_cmpuint(fake_nft_batches(f->fake), ==, batches);
}

/* A restore that took the full path (planned); *@messages: what it sent. */
static void assert_restore_full(Fx *f, guint *messages)
{
	g_autoptr(VwRestoreReport) rep = NULL;
	g_autoptr(GError) err = NULL;

	g_string_truncate(f->stages, 0);
	g_assert_true(fx_restore(f, &rep, &err));
	g_assert_no_error(err);
	g_assert_nonnull(strstr(f->stages->str, "plan "));
	*messages = rep->messages;
}

/* Issue 14: a call that changes nothing skips parse, check, plan and the
 * kernel dump; whatever moved — another commit, the table, one byte of the
 * input — takes the full path, which repairs. */
static void test_unchanged(void)
{
	const char *xmls[] = { WEB, NULL };
	g_autofree char *byte = g_strdup(WEB);
	g_autoptr(NftOther) other = nft_other_new();
	g_autoptr(NftOther) flush = nft_other_new();
	g_autoptr(GError) err = NULL;
	guint messages;
	Fx f;

	fx_init(&f);
	/* Nothing recorded: nothing to skip. */
	g_assert_false(fx_unchanged(&f, "web", WEB));
	g_assert_true(fx_apply(&f, xmls, false, &err));
	g_assert_true(fx_unchanged(&f, "web", WEB));
	assert_restore_unchanged(&f, 1);
	/* One byte of the input; another network's XML; another name. */
	*strstr(byte, "2222") = '3';
	g_assert_false(fx_unchanged(&f, "web", byte));
	g_assert_false(fx_unchanged(&f, "web", WEB2));
	g_assert_false(fx_unchanged(&f, "db", WEB));
	/* Someone else commits: the full path, which finds nothing missing
	 * and keeps the digest; then the short way again. */
	nft_other_table(other, true, NFPROTO_INET, "other");
	g_assert_cmpint(nft_other_commit(other, f.nft), ==, 0);
	g_assert_false(fx_unchanged(&f, "web", WEB));
	assert_restore_full(&f, &messages);
	g_assert_cmpuint(messages, ==, 0);
	g_assert_true(fx_unchanged(&f, "web", WEB));
	/* The table flushed: the full path puts it back. */
	nft_other_table(flush, false, NFPROTO_INET, "virtwire");
	g_assert_cmpint(nft_other_commit(flush, f.nft), ==, 0);
	g_assert_null(fake_nft_sets(f.fake, NFPROTO_INET, "virtwire"));
	g_assert_false(fx_unchanged(&f, "web", WEB));
	assert_restore_full(&f, &messages);
	g_assert_cmpuint(messages, >, 0);
	g_assert_cmpuint(fwd_elems(&f), ==, 1);
	assert_restore_unchanged(&f, 1);
	g_assert_true(fx_unchanged(&f, "web", WEB));
	fx_clear(&f);
}

/* The links and sysctls the record names are the short way's guard: a
 * bridge deleted or a sysctl changed takes the full path, which repairs. */
static void test_unchanged_links(void)
{
	const char *xmls[] = { WEB, NULL };
	g_autoptr(GError) err = NULL;
	g_autofree char *links = NULL;
	Fx f;

	fx_init(&f);
	g_assert_true(fx_apply(&f, xmls, false, &err));
	g_assert_true(fx_unchanged(&f, "web", WEB));
	/* Down, then gone. */
	for (guint i = 0; i < f.links.links->len; i++)
		if (strcmp(((FLink *)f.links.links->pdata[i])->info.name, "vw-web") == 0)
			((FLink *)f.links.links->pdata[i])->info.up = false;
	g_assert_false(fx_unchanged(&f, "web", WEB));
	g_assert_true(fx_apply(&f, xmls, false, &err));
	g_assert_true(fx_unchanged(&f, "web", WEB));
	for (guint i = 0; i < f.links.links->len; i++)
		if (strcmp(((FLink *)f.links.links->pdata[i])->info.name, "vw-web") == 0)
			g_ptr_array_remove_index(f.links.links, i);
	g_assert_false(fx_unchanged(&f, "web", WEB));
	g_assert_true(fx_apply(&f, xmls, false, &err));
	g_assert_no_error(err);
	links = fake_links_snapshot(&f.links);
	g_assert_nonnull(strstr(links, "vw-web"));
	g_assert_true(fx_unchanged(&f, "web", WEB));
	g_hash_table_insert(f.links.sysctls, g_strdup("net/ipv4/ip_forward"), g_strdup("0"));
	g_assert_false(fx_unchanged(&f, "web", WEB));
	g_assert_true(fx_apply(&f, xmls, false, &err));
	g_assert_cmpstr(g_hash_table_lookup(f.links.sysctls, "net/ipv4/ip_forward"), ==, "1");
	g_assert_true(fx_unchanged(&f, "web", WEB));
	fx_clear(&f);
}

/* A domain's port record is input too: its forwards are planned from it. */
static void test_unchanged_ports(void)
{
#define DOM_XML(port)                                                                                         \
	"<domain type='kvm'><name>vm1</name><uuid>8d3e1c5a-6f0b-4a52-9a0e-0c2f7f6b1d11</uuid>"                \
	"<devices><interface type='network'><mac address='52:54:00:00:00:10'/><source network='web'/>"        \
	"</interface></devices><metadata><vw:domain xmlns:vw='urn:virtwire:1'>"                               \
	"<vw:forward network='web' proto='tcp' host-port='" port "' guest-port='80'/></vw:domain></metadata>" \
	"</domain>"
	static const char *const doms[] = { DOM_XML("8080"), DOM_XML("8081") };
	const char *xmls[] = { WEB, NULL };
	VwPortRequest add = { "web",
			      "3068240c-3b1b-4df5-a592-1b6565c9244f",
			      "8d3e1c5a-6f0b-4a52-9a0e-0c2f7f6b1d11",
			      "52:54:00:00:00:10",
			      true,
			      NULL };
	g_autoptr(VwDiags) diags = vw_diags_new();
	g_autoptr(GError) err = NULL;
	guint messages;
	Fx f;

	fx_init(&f);
	add.diags = diags;
	g_assert_true(fx_apply(&f, xmls, false, &err));
	for (guint i = 0; i < G_N_ELEMENTS(doms); i++) {
		VwDoc *doc = NULL;

		g_assert_cmpint(vw_doc_load_memory("dom.xml", doms[i], strlen(doms[i]), NULL, diags, &doc), ==,
				VW_LOAD_OK);
		g_ptr_array_add(f.docs, doc);
		g_assert_true(vw_engine_prepare_domain(f.engine, doc->domain, doms[i], diags, &err));
		g_assert_no_error(err);
		if (i == 0) {
			g_assert_true(vw_engine_port(f.engine, &add, &err));
			g_assert_no_error(err);
			/* The port's forwards were committed: the next apply
			 * records what the plan is made from again. */
			g_assert_false(fx_unchanged(&f, "web", WEB));
			g_assert_true(fx_apply(&f, xmls, false, &err));
			g_assert_true(fx_unchanged(&f, "web", WEB));
			g_assert_cmpuint(fwd_elems(&f), ==, 2);
		}
	}
	/* The domain's record changed (its forward moved to 8081). */
	g_assert_false(fx_unchanged(&f, "web", WEB));
	assert_restore_full(&f, &messages);
	g_assert_cmpuint(messages, >, 0);
	g_assert_cmpuint(fwd_elems(&f), ==, 2);
	fx_clear(&f);
#undef DOM_XML
}

/* A forward by guest-mac without a reservation, in a network that learns
 * its guests' addresses: nothing until an address is recorded, then the
 * plan of every caller (restore here) targets it; an address outside the
 * network's subnet is not taken. */
static void test_learned(void)
{
	static const char learn[] =
		"<network><name>web</name><forward mode='open'/><bridge name='vw-web' stp='off'/>"
		"<ip address='192.168.150.1' prefix='24'/>"
		"<metadata><vw:network xmlns:vw='urn:virtwire:1' mode='nat'><vw:learn-addresses enabled='yes'/>"
		"<vw:forward proto='tcp' host-port='2230' guest-mac='52:54:00:00:00:30' guest-port='22'/>"
		"</vw:network></metadata></network>";
	const char *xmls[] = { learn, NULL };
	g_autoptr(VwRestoreReport) rep = NULL;
	g_autoptr(GError) err = NULL;
	g_autoptr(GPtrArray) entries = NULL;
	Fx f;

	fx_init(&f);
	g_assert_true(fx_apply(&f, xmls, false, &err));
	g_assert_no_error(err);
	g_assert_cmpuint(fwd_elems(&f), ==, 0);
	write_file(&f, "learned", "virtwire-learned 1\naddr web 52:54:00:00:00:30 192.168.150.30\n");
	fx_engine(&f);
	g_assert_true(fx_restore(&f, &rep, &err));
	g_assert_no_error(err);
	g_assert_cmpuint(fwd_elems(&f), ==, 1);
	g_assert_cmpuint(rep->changes->len, >, 0);
	/* Applying the same XML plans the same: nothing to change. */
	g_assert_true(fx_apply(&f, xmls, false, &err));
	g_assert_true(fx_restore(&f, &rep, &err));
	g_assert_true(rep->unread);
	write_file(&f, "learned", "virtwire-learned 1\naddr web 52:54:00:00:00:30 10.0.0.30\n");
	fx_engine(&f);
	g_assert_true(fx_restore(&f, &rep, &err));
	g_assert_cmpuint(fwd_elems(&f), ==, 0);
	/* The file is checked as a record is. */
	{
		const char *bad = "virtwire-learned 1\naddr web 52:54:00:00:00:30\n";

		g_assert_false(vw_learned_parse(bad, strlen(bad), &entries, &err));
	}
	g_assert_error(err, VW_ERROR, VW_ERROR_STATE);
	fx_clear(&f);
}

/* ---------------------------------------------------------------------- */
/* An edited network's XML against the record's, as bytes */

#define EDIT_NET(BRIDGE, MID, TAIL)                                                                        \
	"<network>\n  <name>web</name>\n  <bridge name='" BRIDGE "'/>\n  <metadata>\n"                     \
	"    <vw:network xmlns:vw='urn:virtwire:1' mode='nat'>\n"                                          \
	"      <vw:nat uplink='wan0'/>\n"                                                                  \
	"      <vw:forward name='a' proto='tcp' host-port='2001' guest-address='192.168.150.10'/>\n" MID   \
	"      <vw:forward name='c' proto='tcp' host-port='2003' guest-address='192.168.150.10'>\n"        \
	"        <vw:source address='198.51.100.0/24'/>\n      </vw:forward>\n" TAIL "    </vw:network>\n" \
	"  </metadata>\n  <forward mode='open'/>\n</network>\n"
#define FWD_B "      <vw:forward name='b' proto='tcp' host-port='2002' guest-address='192.168.150.10'/>\n"
#define FWD_B2 "      <vw:forward name='b' proto='tcp' host-port='2012' guest-address='192.168.150.10'/>\n"
#define FWD_D "      <vw:forward name='d' proto='udp' host-port='2004' guest-address='192.168.150.11'/>\n"

/* The region of @old that became @new: @olds and @news forwards, each
 * starting with the text given (NULL: none). */
static void edit_is(const char *old, const char *new, guint olds, const char *ofirst, guint news, const char *nfirst)
{
	VwEditRegion r = { 0 };

	if (!vw_eng_edit_region(old, strlen(old), new, strlen(new), &r))
		g_error("no edit region found in:\n%s", new);
	g_assert_cmpuint(r.old_fwds->len, ==, olds);
	g_assert_cmpuint(r.new_fwds->len, ==, news);
	g_assert_cmpmem(old, r.lo, new, r.lo);
	g_assert_cmpmem(old + r.old_end, strlen(old) - r.old_end, new + r.new_end, strlen(new) - r.new_end);
	if (ofirst)
		g_assert_true(strncmp(old + g_array_index(r.old_fwds, VwByteSpan, 0).start, ofirst, strlen(ofirst)) ==
			      0);
	if (nfirst)
		g_assert_true(strncmp(new + g_array_index(r.new_fwds, VwByteSpan, 0).start, nfirst, strlen(nfirst)) ==
			      0);
	for (guint i = 0; i < r.new_fwds->len; i++) {
		const VwByteSpan *sp = &g_array_index(r.new_fwds, VwByteSpan, i);

		g_assert_true(g_str_has_prefix(new + sp->start, "<vw:forward"));
		g_assert_true(new[sp->end - 1] == '>');
	}
	vw_eng_edit_clear(&r);
}

/* @s with @from replaced by @to (the result freed with the test). */
static const char *replaced(const char *s, const char *from, const char *to)
{
	static GPtrArray *keep;
	g_auto(GStrv) parts = g_strsplit(s, from, -1);

	if (!keep)
		keep = g_ptr_array_new_with_free_func(g_free);
	g_assert_cmpuint(g_strv_length(parts), >, 1);
	g_ptr_array_add(keep, g_strjoinv(to, parts));
	return keep->pdata[keep->len - 1];
}

static void edit_refused(const char *old, const char *new)
{
	VwEditRegion r = { 0 };

	if (vw_eng_edit_region(old, strlen(old), new, strlen(new), &r))
		g_error("an edit region found in:\n%s", new);
	g_assert_null(r.old_fwds);
}

static void test_edit_region(void)
{
	static const char base[] = EDIT_NET("vw-web", FWD_B, "");

	/* One forward added (between others, and last), removed, changed. */
	edit_is(base, EDIT_NET("vw-web", FWD_B FWD_D, ""), 0, NULL, 1, "<vw:forward name='d'");
	edit_is(base, EDIT_NET("vw-web", FWD_B, FWD_D), 0, NULL, 1, "<vw:forward name='d'");
	edit_is(base, EDIT_NET("vw-web", "", ""), 1, "<vw:forward name='b'", 0, NULL);
	edit_is(base, EDIT_NET("vw-web", FWD_B2, ""), 1, "<vw:forward name='b'", 1, "<vw:forward name='b'");
	/* A forward with a child, its source changed: the whole forward. */
	edit_is(base, replaced(base, "198.51.100.0/24", "198.51.100.0/25"), 1, "<vw:forward name='c'", 1,
		"<vw:forward name='c'");
	/* Two neighbours rewritten in one edit. */
	edit_is(EDIT_NET("vw-web", FWD_B FWD_D, ""), EDIT_NET("vw-web", FWD_B2 FWD_D, ""), 1, NULL, 1, NULL);
	edit_is(base, EDIT_NET("vw-web", FWD_D FWD_B2, ""), 1, NULL, 2, "<vw:forward name='d'");

	/* Not only forwards: the full path's. */
	edit_refused(base, base);
	edit_refused(base, EDIT_NET("vw-other", FWD_B, FWD_D));
	edit_refused(base, EDIT_NET("vw-web", FWD_B "  \n", ""));
	edit_refused(base, EDIT_NET("vw-web", FWD_B "      text\n", ""));
	edit_refused(base, EDIT_NET("vw-web", FWD_B "      <!-- " FWD_D " -->\n", ""));
	edit_refused(base, EDIT_NET("vw-web", FWD_B "      <vw:hairpin enabled='no'/>\n", ""));
	edit_refused(base, EDIT_NET("vw-web",
				    FWD_B "      <vw:forward xmlns:vw='urn:other' name='d' proto='udp' "
					  "host-port='2004' guest-address='192.168.150.11'/>\n",
				    ""));
	/* A forward not directly in the network, in a comment, or under a
	 * namespace the scan cannot tell. */
	edit_refused(base, replaced(base, "<vw:nat uplink='wan0'/>", "<vw:nat uplink='wan0'>" FWD_D "</vw:nat>"));
	edit_refused(EDIT_NET("vw-web", "<!-- x -->\n" FWD_B, ""), EDIT_NET("vw-web", "<!-- x\n" FWD_B, "-->"));
	edit_refused("<network xmlns='urn:virtwire:1'><forward/></network>",
		     "<network xmlns='urn:virtwire:1'><forward/><forward/></network>");
	edit_refused("<!DOCTYPE network><network><vw:network xmlns:vw='urn:virtwire:1'/></network>",
		     "<!DOCTYPE network><network><vw:network xmlns:vw='urn:virtwire:1'></vw:network></network>");
}

/* ---------------------------------------------------------------------- */
/* An edited network's forwards as a delta (engine/edit.c) */

#define ED_FWD(PORT, MORE)                                                                           \
	"      <vw:forward " MORE "proto='tcp' host-port='" PORT "' guest-address='192.168.160.10' " \
	"guest-port='80'/>\n"
#define ED_NET(STP, MID, TAIL)                                                                                       \
	"<network>\n  <name>ed</name>\n  <forward mode='open'/>\n  <bridge name='vw-ed' stp='" STP "'/>\n"           \
	"  <ip address='192.168.160.1' prefix='24'/>\n  <metadata>\n"                                                \
	"    <vw:network xmlns:vw='urn:virtwire:1' mode='nat'>\n" ED_FWD("3001", "name='a' ") MID ED_FWD("3003", "") \
		TAIL "    </vw:network>\n  </metadata>\n</network>\n"

/* The edit of network ed (applied from "test") to @xml: its report or
 * NULL; *@dumps: the dump requests it made. */
static VwApplyReport *fx_edit(Fx *f, const char *xml, guint *dumps)
{
	VwEditRequest rq = { NULL, "test", "t.xml", false, false, xml, strlen(xml) };
	guint before = fake_nft_dumps(f->fake);
	VwApplyReport *rep;

	g_string_truncate(f->stages, 0);
	rep = vw_engine_edit(f->engine, &rq);
	*dumps = fake_nft_dumps(f->fake) - before;
	return rep;
}

/* Network ed's record and its forwards' keys in the kernel, as one text. */
static char *ed_world(Fx *f)
{
	g_autofree char *st = timeless(read_file(f, "ed.state"));
	g_autofree char *xml = read_file(f, "ed.xml");
	g_autoptr(GPtrArray) any = fake_nft_elems(f->fake, NFPROTO_INET, "virtwire", "fwd4any");
	g_autoptr(GPtrArray) one = fake_nft_elems(f->fake, NFPROTO_INET, "virtwire", "fwd4");
	GString *out = g_string_new(NULL);

	g_string_append_printf(out, "%s\n%s\n", st, xml);
	for (guint i = 0; any && i < any->len; i++)
		g_string_append_printf(out, "any %s\n", (char *)any->pdata[i]);
	for (guint i = 0; one && i < one->len; i++)
		g_string_append_printf(out, "one %s\n", (char *)one->pdata[i]);
	return g_string_free(out, FALSE);
}

/* @xml is applied as an edit: exactly @elems elements changed, no more
 * than one set read (the one-address forwards'), then nothing to do; the
 * full path finds nothing to change after it. */
static void edit_applies(Fx *f, const char *xml, guint elems)
{
	VwApplyReport *rep;
	g_autofree char *rec = NULL;
	const char *xmls[] = { xml, NULL };
	VwApplyReport *full;
	guint dumps;

	rep = fx_edit(f, xml, &dumps);
	g_assert_nonnull(rep);
	g_assert_cmpstr(f->stages->str, ==, "start edit ");
	g_assert_cmpuint(dumps, <=, 1);
	g_assert_cmpuint(rep->drift, ==, elems);
	vw_apply_report_free(rep);
	rec = read_file(f, "ed.xml");
	g_assert_cmpstr(rec, ==, xml);
	g_assert_true(fx_unchanged(f, "ed", xml));
	/* What the full path plans from the whole XML is in the kernel. */
	g_assert_true(fx_apply(f, xmls, false, NULL));
	full = f->reports->pdata[0];
	g_assert_cmpuint(full->drift, ==, 0);
	g_assert_cmpuint(full->messages, ==, 0);
}

/* @xml is left to the full path, with nothing changed; @stages: what the
 * edit path showed ("start ": it asked the kernel, which decided). */
static void edit_refused_now(Fx *f, const char *xml, const char *stages)
{
	g_autofree char *before = ed_world(f);
	g_autofree char *after = NULL;
	guint dumps;

	g_assert_null(fx_edit(f, xml, &dumps));
	g_assert_cmpstr(f->stages->str, ==, stages);
	after = ed_world(f);
	g_assert_cmpstr(after, ==, before);
}

/* Another file of network ed (of @xmls, applied from "test"): an edit of
 * it, which it names from then on. */
static void edit_moved(Fx *f, const char *const *xmls)
{
	static const char moved[] = ED_NET("off", ED_FWD("3002", ""), "");
	VwEditRequest rq = { NULL, "moved.xml", "moved.xml", false, false, moved, strlen(moved) };
	g_autofree char *rec = NULL;
	g_autofree char *st = NULL;

	vw_apply_report_free(vw_engine_edit(f->engine, &rq));
	rec = read_file(f, "ed.xml");
	g_assert_cmpstr(rec, ==, moved);
	st = read_file(f, "ed.state");
	g_assert_nonnull(strstr(st, "\nsource moved.xml\n"));
	g_assert_true(fx_apply(f, xmls, false, NULL));
}

/* Another network, in the kernel as recorded: no matter; pending (an apply
 * of it interrupted), its record may claim what the kernel does not show:
 * the full path's. */
static void edit_beside_pending(Fx *f, const char *const *xmls)
{
	const char *dbs[] = { DB, NULL };
	g_autofree char *db = NULL;

	g_assert_true(fx_apply(f, dbs, false, NULL));
	edit_applies(f, ED_NET("off", "", ED_FWD("3006", "")), 1);
	db = read_file(f, "db.state");
	write_file(f, "db.state", replaced(db, "\nstatus applied\n", "\nstatus pending\n"));
	edit_refused_now(f, xmls[0], "");
	write_file(f, "db.state", db);
	g_assert_true(fx_apply(f, xmls, false, NULL));
}

/* Issue 14: one forward added, changed, removed on a running network is a
 * delta (no table read); whatever the edit path cannot be sure of — a
 * finding, a host port held (by the network, on the other kind of listen
 * address), a name given twice, anything but forwards changed, someone
 * else's commit, a kernel that refuses — is the full path's. */
static void test_edit(void)
{
	static const char base[] = ED_NET("off", "", "");
	const char *xmls[] = { base, NULL };
	g_autoptr(NftOther) other = nft_other_new();
	g_autoptr(GError) err = NULL;
	Fx f;

	fx_init(&f);
	g_assert_true(fx_apply(&f, xmls, false, &err));
	g_assert_no_error(err);
	/* Added (its target's counter is shared), changed, removed. */
	edit_applies(&f, ED_NET("off", ED_FWD("3002", ""), ""), 1);
	edit_applies(&f, ED_NET("off", ED_FWD("3012", ""), ""), 2);
	edit_applies(&f, base, 1);
	edit_moved(&f, xmls);
	/* One on one address, next to those on every address. */
	edit_applies(&f, ED_NET("off", "", ED_FWD("3007", "address='203.0.113.1' ")), 1);
	edit_applies(&f, base, 1);

	/* A finding; a host port the network holds, on the same kind of listen
	 * address or on the other; a name it has; the bridge changed too. */
	edit_refused_now(&f,
			 ED_NET("off", "",
				"      <vw:forward proto='tcp' host-port='3005' guest-address="
				"'10.0.0.1' guest-port='80'/>\n"),
			 "");
	edit_refused_now(&f,
			 ED_NET("off", "",
				"      <vw:forward proto='tcp' host-port='3003' guest-address="
				"'192.168.160.11' guest-port='80'/>\n"),
			 "start ");
	edit_refused_now(&f, ED_NET("off", "", ED_FWD("3001", "address='203.0.113.1' ")), "start ");
	edit_refused_now(&f, ED_NET("off", "", ED_FWD("3006", "name='a' ")), "");
	edit_refused_now(&f, ED_NET("on", "", ED_FWD("3006", "")), "");
	/* Every address where one address holds the port. */
	edit_applies(&f, ED_NET("off", "", ED_FWD("3007", "address='203.0.113.1' ")), 1);
	edit_refused_now(&f, ED_NET("off", ED_FWD("3007", ""), ED_FWD("3007", "address='203.0.113.1' ")), "start ");
	edit_applies(&f, base, 1);
	/* The last forward to a target goes, with its counter: no forward kept
	 * names its address. */
	edit_applies(&f,
		     ED_NET("off", "",
			    "      <vw:forward proto='tcp' host-port='3008' guest-address="
			    "'192.168.160.12' guest-port='80'/>\n"),
		     2);
	edit_applies(&f, base, 2);
	/* Whether another forward counts on it is not known when one kept
	 * names the address (or a guest by MAC): the full path's. */
	edit_applies(&f,
		     ED_NET("off", "",
			    "      <vw:forward proto='tcp' host-port='3008' guest-address="
			    "'192.168.160.10' guest-port='81'/>\n"),
		     2);
	edit_refused_now(&f, base, "");
	g_assert_true(fx_apply(&f, xmls, false, NULL));
	edit_beside_pending(&f, xmls);
	/* The kernel refuses the batch: the record goes back. */
	f.faults.nft = 1;
	edit_refused_now(&f, ED_NET("off", "", ED_FWD("3006", "")), "start ");
	f.faults.nft = 0;
	/* Someone else's commit. */
	nft_other_table(other, true, NFPROTO_INET, "other");
	g_assert_cmpint(nft_other_commit(other, f.nft), ==, 0);
	edit_refused_now(&f, ED_NET("off", "", ED_FWD("3006", "")), "");
	fx_clear(&f);
}

/* The state directory's lock nests within one engine: held until the unlock
 * that matches the first lock, so a step that locks inside a call holding
 * it (the apply inside a restore) does not let it go early.
 * Another engine (another virtwire) is kept out until then. */
static bool other_can_lock(const char *dir)
{
	g_autoptr(VwStore) s = NULL;
	g_autoptr(GError) err = NULL;
	bool ok;

	g_assert_true(vw_store_open(dir, false, &s, NULL));
	ok = vw_store_lock(s, 0, &err);
	g_assert_true(ok || g_error_matches(err, VW_ERROR, VW_ERROR_BUSY));
	return ok;
}

static void test_lock_nests(void)
{
	Fx f;

	fx_init(&f);
	g_assert_true(vw_eng_lock(f.engine, NULL));
	g_assert_true(vw_eng_lock(f.engine, NULL));
	g_assert_false(other_can_lock(f.dir));
	vw_eng_unlock(f.engine);
	g_assert_false(other_can_lock(f.dir));
	vw_eng_unlock(f.engine);
	g_assert_true(other_can_lock(f.dir));
	/* An unlock too many changes nothing; the lock is taken again. */
	vw_eng_unlock(f.engine);
	g_assert_true(vw_eng_lock(f.engine, NULL));
	g_assert_false(other_can_lock(f.dir));
	vw_eng_unlock(f.engine);
	g_assert_true(other_can_lock(f.dir));
	fx_clear(&f);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/engine/apply-and-reapply", test_apply_and_reapply);
	g_test_add_func("/engine/faults-leave-nothing", test_faults_leave_nothing);
	g_test_add_func("/engine/unusable-records", test_unusable_records);
	g_test_add_func("/engine/pending-record", test_pending_record);
	g_test_add_func("/engine/teardown-one-of-two", test_teardown_one_of_two);
	g_test_add_func("/engine/conflict-words", test_conflict_words);
	g_test_add_func("/engine/port", test_port);
	g_test_add_func("/engine/connections", test_connections);
	g_test_add_func("/engine/restore", test_restore);
	g_test_add_func("/engine/lock-nests", test_lock_nests);
	g_test_add_func("/engine/learned", test_learned);
	g_test_add_func("/engine/unchanged", test_unchanged);
	g_test_add_func("/engine/unchanged-links", test_unchanged_links);
	g_test_add_func("/engine/unchanged-ports", test_unchanged_ports);
	g_test_add_func("/engine/edit-region", test_edit_region);
	g_test_add_func("/engine/edit", test_edit);
	return g_test_run();
}
