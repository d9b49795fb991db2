/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Records and the state directory, without root where possible. A record is
 * input virtwire did not just write: every damaged form is refused as
 * VW_ERROR_STATE naming the file and the line. The state directory decides
 * what teardown deletes as root: any name fits in it under a file name of
 * bounded length, nothing planted in it (a symbolic link, a directory of
 * someone else's) makes virtwire read or write elsewhere, and a write that
 * fails leaves the previous record whole.
 */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include <virtwire/exec.h>
#include <virtwire/plan.h>
#include <virtwire/state.h>

#include "store-private.h"

#define WHERE "/run/virtwire/web.state"

/* ---------------------------------------------------------------------- */
/* Records as text */

static VwState *sample(const char *name)
{
	VwState *s = vw_state_new(name);

	s->id = vw_plan_network_id(name);
	s->applied = g_strdup("2026-11-22T04:47:38Z");
	s->source = g_strdup("/etc/virtwire/a file with 100% spaces.xml");
	s->bridge = g_strdup("vw-web");
	s->mode = g_strdup("nat");
	s->pending = true;
	vw_state_add_sysctl(s, "net/ipv4/ip_forward", "0", "1", false);
	vw_state_add_sysctl(s, "net/ipv4/conf/vw-web/route_localnet", "0", "1", true);
	vw_state_add_link(s, "bridge", "vw-web", true, NULL);
	vw_state_add_link(s, "addr", "vw-web 192.168.150.1/24", true, NULL);
	vw_state_add_link(s, "link-config", "vw-web", true, "up=0 mtu=1500");
	vw_state_add_link(s, "bridge", "vw-found", false, "");
	vw_state_add_link(s, "note", "ünïcödé\ttab", true, "a%b c");
	vw_state_add_port(s, "3068240c-3b1b-4df5-a592-1b6565c9244f", "8d3e1c5a-6f0b-4a52-9a0e-0c2f7f6b1d11",
			  "52:54:00:aa:bb:10");
	return s;
}

static void assert_same_state(const VwState *a, const VwState *b)
{
	g_autofree char *ta = vw_state_format(a);
	g_autofree char *tb = vw_state_format(b);

	g_assert_cmpstr(ta, ==, tb);
	g_assert_cmpstr(a->name, ==, b->name);
	g_assert_cmpstr(a->id, ==, b->id);
	g_assert_cmpstr(a->source, ==, b->source);
	g_assert_cmpint(a->pending, ==, b->pending);
	g_assert_cmpuint(a->links->len, ==, b->links->len);
	for (guint i = 0; i < a->links->len; i++) {
		const VwStateLink *x = a->links->pdata[i], *y = b->links->pdata[i];

		g_assert_cmpstr(x->kind, ==, y->kind);
		g_assert_cmpstr(x->object, ==, y->object);
		g_assert_cmpstr(x->extra, ==, y->extra);
		g_assert_cmpint(x->created, ==, y->created);
	}
}

static void test_record_round_trip(void)
{
	g_autoptr(VwState) s = sample("web");
	g_autofree char *text = vw_state_format(s);
	g_autoptr(VwState) back = NULL;
	g_autoptr(GError) err = NULL;

	g_assert_true(g_str_has_prefix(text, "virtwire-state 2\nnetwork web\n"));
	g_assert_true(g_str_has_suffix(text, "\nend\n"));
	g_assert_true(vw_state_parse(text, strlen(text), "web", WHERE, &back, &err));
	g_assert_no_error(err);
	g_assert_null(back->xml);
	assert_same_state(s, back);
	g_assert_true(back->pending);
	g_assert_cmpuint(back->sysctls->len, ==, 2);
	g_assert_true(((VwStateSysctl *)back->sysctls->pdata[1])->revert);
	g_assert_false(((VwStateSysctl *)back->sysctls->pdata[0])->revert);
	g_assert_nonnull(vw_state_find_port(back, "3068240c-3b1b-4df5-a592-1b6565c9244f"));
}

/* @text must be refused as VW_ERROR_STATE, naming WHERE, line @line (0: no
 * line) and saying @says. */
static void refused(const char *text, gsize len, int line, const char *says)
{
	g_autoptr(VwState) s = NULL;
	g_autoptr(GError) err = NULL;
	g_autofree char *at = line ? g_strdup_printf(WHERE ":%d:", line) : g_strdup(WHERE);

	if (vw_state_parse(text, len, "web", WHERE, &s, &err))
		g_error("accepted: %s", text);
	g_assert_null(s);
	g_assert_error(err, VW_ERROR, VW_ERROR_STATE);
	if (!g_str_has_prefix(err->message, at) || !strstr(err->message, says))
		g_error("'%s' does not start with '%s' and say '%s'", err->message, at, says);
}

static void refused_text(const char *text, int line, const char *says)
{
	refused(text, strlen(text), line, says);
}

#define HEAD "virtwire-state 2\nnetwork web\nid web\n"

static void test_record_refused(void)
{
	static const char nul[] = HEAD "bridge vw\0web\nend\n";

	refused_text("", 0, "empty");
	refused_text(HEAD, 3, "ends early");
	refused_text(HEAD "bridge vw-web\n", 4, "ends early");
	refused_text(HEAD "end\nbridge vw-web\n", 5, "text after 'end'");
	refused_text(HEAD "end\nend\n", 5, "text after 'end'");
	refused_text(HEAD "colour blue\nend\n", 4, "unknown line 'colour'");
	refused_text(HEAD "link bridge maybe vw-web\nend\n", 4, "created or found");
	refused_text(HEAD "sysctl net/ipv4/ip_forward 0 1 perhaps\nend\n", 4, "revert or keep");
	refused_text(HEAD "sysctl net/ipv4/ip_forward 0 1\nend\n", 4, "unknown line 'sysctl'");
	/* A singleton twice (the old parser kept the second and leaked the first). */
	refused_text(HEAD "bridge vw-a\nbridge vw-b\nend\n", 5, "'bridge' appears twice");
	refused_text(HEAD "id other\nend\n", 4, "'id' appears twice");
	refused_text(HEAD "status applied\nstatus pending\nend\n", 5, "'status' appears twice");
	refused_text(HEAD "network web\nend\n", 4, "'network' appears twice");
	refused_text(HEAD "bridge\nend\n", 4, "takes one value");
	refused_text(HEAD "port u1 d1 52:54:00:00:00:01\nport u1 d2 52:54:00:00:00:02\nend\n", 5, "appears twice");
	/* Escapes: invalid, an escaped NUL or newline, a raw NUL byte. */
	refused_text(HEAD "bridge vw%zz\nend\n", 4, "not validly escaped");
	refused_text(HEAD "bridge vw%2\nend\n", 4, "not validly escaped");
	refused_text(HEAD "bridge vw%00x\nend\n", 4, "not validly escaped");
	refused_text(HEAD "source a%0Ab\nend\n", 4, "not validly escaped");
	refused(nul, sizeof(nul) - 1, 0, "NUL byte");
	/* Another network's record, or none. */
	refused_text("virtwire-state 2\nnetwork other\nid web\nend\n", 2, "record of network 'other'");
	refused_text("virtwire-state 2\nid web\nend\n", 3, "no 'network' line");
	refused_text("virtwire-state 2\nnetwork web\nend\n", 3, "no 'id' line");
	refused_text("virtwire-stat 2\nnetwork web\nid web\nend\n", 1, "not a virtwire record");
	refused_text("garbage\n", 1, "not a virtwire record");
	refused_text("\nvirtwire-state 2\nnetwork web\nid web\nend\n", 2, "unknown line");
	/* Versions: a future one is named as such; version 1 has no status. */
	refused_text("virtwire-state 99\nnetwork web\nid web\nend\n", 1,
		     "format version 99, which this virtwire (format 3) does not know");
	refused_text("virtwire-state 4\nnetwork web\nid web\nend\n", 1, "format version 4");
	refused_text("virtwire-state 1\nnetwork web\nid web\nstatus applied\nend\n", 4, "not part of version 1");
	refused_text(HEAD "status maybe\nend\n", 4, "'applied' or 'pending'");
}

/* A port's elements (version 3): none ("-"), a list, or not known (no
 * field); the version written is the lowest that holds the record. */
static void test_record_elems(void)
{
	static const char *const lists[] = { "", "i/fwd4any/0600000008b00000", "b/spoof4/0a/",
					     "i/fwd4any/0600000008b00000,i/src4/c0a8/c0a9ff/1,b/s_x-1/ab//0" };
	g_autoptr(VwState) none = sample("web");
	g_autofree char *t2 = vw_state_format(none);

	g_assert_true(g_str_has_prefix(t2, "virtwire-state 2\n"));
	for (guint i = 0; i < G_N_ELEMENTS(lists); i++) {
		g_autoptr(VwState) s = sample("web");
		g_autoptr(VwState) back = NULL;
		g_autoptr(GError) err = NULL;
		g_autofree char *text = NULL;
		VwStatePort *p;

		vw_state_add_port(s, "u2", "d2", "52:54:00:aa:bb:11")->elems = g_strdup(lists[i]);
		text = vw_state_format(s);
		g_assert_true(g_str_has_prefix(text, "virtwire-state 3\n"));
		g_assert_nonnull(strstr(text, *lists[i] ? lists[i] : "52:54:00:aa:bb:11 -\n"));
		g_assert_true(vw_state_parse(text, strlen(text), "web", WHERE, &back, &err));
		g_assert_no_error(err);
		assert_same_state(s, back);
		p = vw_state_find_port(back, "u2");
		g_assert_cmpstr(p->elems, ==, lists[i]);
		g_assert_null(vw_state_find_port(back, "3068240c-3b1b-4df5-a592-1b6565c9244f")->elems);
	}
}

#define HEAD3 "virtwire-state 3\nnetwork web\nid web\n"
#define PORT3 HEAD3 "port u1 d1 52:54:00:00:00:01 "

static void test_record_elems_refused(void)
{
	g_autoptr(GString) many = g_string_new(PORT3);
	g_autoptr(VwState) s = NULL;
	g_autoptr(GError) err = NULL;
	static const char v2[] = HEAD "port u1 d1 52:54:00:00:00:01 i/fwd4any/06\nend\n";

	refused_text(PORT3 "i/fwd4any\nend\n", 4, "element 1 of port u1 ('i/fwd4any') is not TABLE/SET/KEY");
	refused_text(PORT3 "x/fwd4any/06\nend\n", 4, "element 1 of port u1");
	refused_text(PORT3 "i/fwd4any/066\nend\n", 4, "element 1 of port u1");
	refused_text(PORT3 "i/fwd4any/zz\nend\n", 4, "element 1 of port u1");
	refused_text(PORT3 "i/fwd4any/\nend\n", 4, "element 1 of port u1");
	refused_text(PORT3 "i/fwd%20any/06\nend\n", 4, "element 1 of port u1");
	refused_text(PORT3 "i/fwd4any/06,\nend\n", 4, "element 2 of port u1 ('')");
	refused_text(PORT3 "i/fwd4any/06/07/x\nend\n", 4, "element 1 of port u1");
	refused_text(PORT3 "i/fwd4any/06/07/4294967296\nend\n", 4, "element 1 of port u1");
	refused_text(PORT3 "i/fwd4any/06/07/1/2\nend\n", 4, "element 1 of port u1");
	refused_text(PORT3 "--\nend\n", 4, "element 1 of port u1 ('--')");
	for (guint i = 0; i < 65; i++)
		g_string_append(many, "ab");
	g_string_append(many, "\nend\n");
	g_string_insert(many, strlen(PORT3), "i/fwd4any/");
	refused(many->str, many->len, 4, "element 1 of port u1");
	g_string_assign(many, PORT3);
	for (guint i = 0; i <= VW_STATE_MAX_ELEMS; i++)
		g_string_append_printf(many, "%si/s/%04x", i ? "," : "", i);
	g_string_append(many, "\nend\n");
	refused(many->str, many->len, 4, "more than 4096 elements");
	/* Development builds wrote the field into version 2: not known. */
	g_assert_true(vw_state_parse(v2, strlen(v2), "web", WHERE, &s, &err));
	g_assert_no_error(err);
	g_assert_null(vw_state_find_port(s, "u1")->elems);
}

static void test_record_versions(void)
{
	static const char v1[] =
		"virtwire-state 1\nnetwork web\nid web\nbridge vw-web\nlink bridge created vw-web\nend\n";
	static const char v2[] = HEAD "status pending\nlink bridge created vw-web\nend\n";
	g_autoptr(VwState) a = NULL, b = NULL;
	g_autoptr(GError) err = NULL;

	g_assert_true(vw_state_parse(v1, strlen(v1), "web", WHERE, &a, &err));
	g_assert_no_error(err);
	g_assert_false(a->pending);
	g_assert_cmpstr(a->bridge, ==, "vw-web");
	g_assert_cmpuint(a->links->len, ==, 1);
	g_assert_true(vw_state_parse(v2, strlen(v2), "web", WHERE, &b, &err));
	g_assert_no_error(err);
	g_assert_true(b->pending);
}

/* A record of @lines lines (ending in a newline), made of link lines. */
static GString *record_of_lines(guint lines)
{
	GString *t = g_string_new(HEAD);

	for (guint i = 4; i < lines; i++)
		g_string_append_printf(t, "link addr created vw%u\n", i);
	g_string_append(t, "end\n");
	return t;
}

static void test_record_caps(void)
{
	g_autoptr(GString) most = record_of_lines(VW_STATE_MAX_LINES);
	g_autoptr(GString) more = record_of_lines(VW_STATE_MAX_LINES + 1);
	g_autoptr(VwState) s = NULL;
	g_autoptr(GError) err = NULL;
	g_autofree char *big = g_malloc(VW_STATE_MAX_SIZE + 2);

	g_assert_true(vw_state_parse(most->str, most->len, "web", WHERE, &s, &err));
	g_assert_no_error(err);
	g_assert_cmpuint(s->links->len, ==, VW_STATE_MAX_LINES - 4);
	refused(more->str, more->len, 0, "more than 65536 lines");
	/* Too large, whatever it holds. */
	memset(big, 'x', VW_STATE_MAX_SIZE + 1);
	memcpy(big, HEAD, strlen(HEAD));
	refused(big, VW_STATE_MAX_SIZE + 1, 0, "larger than");
}

/* ---------------------------------------------------------------------- */
/* The generation record */

#define DIGEST_A "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define DIGEST_B "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"

static void test_gen_round_trip(void)
{
	g_autoptr(VwGenRecord) r = vw_gen_record_new();
	g_autoptr(VwGenRecord) back = NULL;
	g_autofree char *text = NULL, *again = NULL;

	r->netns = g_strdup("4:4026531840");
	r->gen = G_MAXUINT32;
	g_hash_table_insert(r->nets, g_strdup("web"), g_strdup(DIGEST_A));
	g_hash_table_insert(r->nets, g_strdup("a name/with spaces%"), g_strdup(DIGEST_B));
	g_hash_table_insert(r->inputs, g_strdup("web"), g_strdup(DIGEST_B));
	text = vw_gen_record_format(r);
	g_assert_true(g_str_has_prefix(text, "virtwire-firewall-gen 2\n"));
	back = vw_gen_record_parse(text, strlen(text));
	g_assert_nonnull(back);
	g_assert_cmpstr(back->netns, ==, r->netns);
	g_assert_cmpuint(back->gen, ==, G_MAXUINT32);
	g_assert_cmpuint(g_hash_table_size(back->nets), ==, 2);
	g_assert_cmpstr(g_hash_table_lookup(back->nets, "a name/with spaces%"), ==, DIGEST_B);
	g_assert_cmpstr(g_hash_table_lookup(back->nets, "web"), ==, DIGEST_A);
	g_assert_cmpuint(g_hash_table_size(back->inputs), ==, 1);
	g_assert_cmpstr(g_hash_table_lookup(back->inputs, "web"), ==, DIGEST_B);
	again = vw_gen_record_format(back);
	g_assert_cmpstr(again, ==, text);
}

/* Version 1, written by an earlier virtwire, has no input digests. */
static void test_gen_version_1(void)
{
	static const char v1[] = "virtwire-firewall-gen 1\nnetns 1:2\ngen 7\nnet web " DIGEST_A "\n";
	g_autoptr(VwGenRecord) r = vw_gen_record_parse(v1, strlen(v1));

	g_assert_nonnull(r);
	g_assert_cmpuint(r->gen, ==, 7);
	g_assert_cmpstr(g_hash_table_lookup(r->nets, "web"), ==, DIGEST_A);
	g_assert_cmpuint(g_hash_table_size(r->inputs), ==, 0);
}

static void test_gen_refused(void)
{
	static const char *const bad[] = {
		"",
		"virtwire-firewall-gen 3\nnetns 1:2\ngen 1\n",
		"virtwire-firewall-gen 1\nnetns 1:2\ngen 1\nnet web " DIGEST_A " " DIGEST_B "\n",
		"virtwire-firewall-gen 2\nnetns 1:2\ngen 1\nnet web " DIGEST_A " 0123\n",
		"virtwire-firewall-gen 2\nnetns 1:2\ngen 1\nnet web " DIGEST_A " " DIGEST_B " " DIGEST_B "\n",
		"virtwire-firewall-gen 1\ngen 1\n",
		"virtwire-firewall-gen 1\nnetns 1:2\n",
		"virtwire-firewall-gen 1\nnetns 1:2\nnetns 1:3\ngen 1\n",
		"virtwire-firewall-gen 1\nnetns 1:2\ngen 1\ngen 2\n",
		"virtwire-firewall-gen 1\nnetns 1:2\ngen 4294967296\n",
		"virtwire-firewall-gen 1\nnetns 1:2\ngen -1\n",
		"virtwire-firewall-gen 1\nnetns 1:2\ngen 1\nnet web " DIGEST_A "\nnet web " DIGEST_B "\n",
		"virtwire-firewall-gen 1\nnetns 1:2\ngen 1\nnet web 0123\n",
		"virtwire-firewall-gen 1\nnetns 1:2\ngen 1\nnet web "
		"0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef\n",
		"virtwire-firewall-gen 1\nnetns 1:2\ngen 1\nnet w%00b " DIGEST_A "\n",
		"virtwire-firewall-gen 1\nnetns 1:2\ngen 1\nnet w%zz " DIGEST_A "\n",
		"virtwire-firewall-gen 1\nnetns 1:2\ngen 1\nnet  " DIGEST_A "\n",
		"virtwire-firewall-gen 1\nnetns 1:2\ngen 1\nnet web " DIGEST_A " extra\n",
		"virtwire-firewall-gen 1\nnetns 1:2\ngen 1\nwhat\n",
	};
	static const char nul[] = "virtwire-firewall-gen 1\nnetns 1:2\ngen 1\0\n";

	for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autoptr(VwGenRecord) r = vw_gen_record_parse(bad[i], strlen(bad[i]));

		if (r)
			g_error("accepted: %s", bad[i]);
	}
	g_assert_null(vw_gen_record_parse(nul, sizeof(nul) - 1));
}

/* ---------------------------------------------------------------------- */
/* The state directory */

typedef struct {
	char *tmp; /* g_dir_make_tmp: holds the state directory and "outside" */
	char *dir; /* the state directory */
	char *outside;
} Dir;

static void dir_setup(Dir *d, gconstpointer data)
{
	g_autoptr(GError) err = NULL;

	d->tmp = g_dir_make_tmp("vw-test-state-XXXXXX", &err);
	g_assert_no_error(err);
	d->dir = g_build_filename(d->tmp, "state", NULL);
	d->outside = g_build_filename(d->tmp, "outside", NULL);
	g_assert_true(g_file_set_contents(d->outside, "not virtwire's\n", -1, NULL));
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path);
}

/* Removes @path and everything below it, never following a link. */
static void rm_rf(const char *path)
{
	nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void dir_teardown(Dir *d, gconstpointer data)
{
	g_chmod(d->dir, 0700);
	rm_rf(d->tmp);
	g_free(d->tmp);
	g_free(d->dir);
	g_free(d->outside);
}

static VwStore *open_store(const Dir *d)
{
	g_autoptr(GError) err = NULL;
	VwStore *s = NULL;

	g_assert_true(vw_store_open(d->dir, true, &s, &err));
	g_assert_no_error(err);
	return s;
}

static VwState *record(const char *name, const char *xml)
{
	VwState *s = sample(name);

	s->pending = false;
	s->xml = g_strdup(xml);
	return s;
}

static void assert_outside_untouched(const Dir *d)
{
	g_autofree char *text = NULL;

	g_assert_true(g_file_get_contents(d->outside, &text, NULL, NULL));
	g_assert_cmpstr(text, ==, "not virtwire's\n");
}

static char *in_dir(const Dir *d, const char *name, const char *suffix)
{
	g_autofree char *base = vw_store_file_base(name);
	g_autofree char *f = g_strconcat(base, suffix, NULL);

	return g_build_filename(d->dir, f, NULL);
}

static void assert_no_records(VwStore *s)
{
	g_autoptr(GPtrArray) list = vw_store_list(s);

	g_assert_cmpuint(list->len, ==, 0);
}

static void test_store_open(Dir *d, gconstpointer data)
{
	g_autoptr(VwStore) none = NULL;
	g_autoptr(VwStore) s = NULL;
	g_autoptr(GError) err = NULL;
	struct stat st;

	g_assert_false(vw_store_open(d->dir, false, &none, &err));
	g_assert_error(err, VW_ERROR, VW_ERROR_NOT_FOUND);
	g_assert_null(none);
	s = open_store(d);
	g_assert_cmpint(stat(d->dir, &st), ==, 0);
	g_assert_cmpuint(st.st_mode & 07777, ==, 0700);
	g_assert_cmpuint(st.st_uid, ==, geteuid());
	g_assert_cmpstr(vw_store_dir(s), ==, d->dir);
	assert_no_records(s);
}

/* A directory group or others may write to, another user's, or a link, is
 * not used. */
static void test_store_unsafe_dir(Dir *d, gconstpointer data)
{
	static const guint modes[] = { 0777, 0770, 0702, 01777 };
	g_autofree char *link = g_build_filename(d->tmp, "link", NULL);

	g_assert_cmpint(g_mkdir(d->dir, 0700), ==, 0);
	for (guint i = 0; i < G_N_ELEMENTS(modes); i++) {
		g_autoptr(VwStore) s = NULL;
		g_autoptr(GError) err = NULL;

		g_assert_cmpint(chmod(d->dir, modes[i]), ==, 0);
		g_assert_false(vw_store_open(d->dir, true, &s, &err));
		g_assert_error(err, VW_ERROR, VW_ERROR_STATE);
		g_assert_nonnull(strstr(err->message, "writable by others"));
	}
	g_assert_cmpint(chmod(d->dir, 0700), ==, 0);
	g_assert_cmpint(symlink(d->dir, link), ==, 0);
	{
		g_autoptr(VwStore) s = NULL;
		g_autoptr(GError) err = NULL;

		g_assert_false(vw_store_open(link, true, &s, &err));
		g_assert_error(err, VW_ERROR, VW_ERROR_STATE);
	}
	if (geteuid() != 0) {
		g_test_skip("another user's directory: needs root (chown)");
		return;
	}
	g_assert_cmpint(chown(d->dir, 65534, 65534), ==, 0);
	{
		g_autoptr(VwStore) s = NULL;
		g_autoptr(GError) err = NULL;

		g_assert_false(vw_store_open(d->dir, true, &s, &err));
		g_assert_error(err, VW_ERROR, VW_ERROR_STATE);
		g_assert_nonnull(strstr(err->message, "belongs to user 65534"));
	}
	g_assert_cmpint(chown(d->dir, 0, 0), ==, 0);
	/* A domains/ folder of someone else's too. */
	{
		g_autoptr(VwStore) s = open_store(d);
		g_autofree char *dom = g_build_filename(d->dir, "domains", NULL);
		g_autoptr(GError) err = NULL;

		g_assert_cmpint(g_mkdir(dom, 0700), ==, 0);
		g_assert_cmpint(chown(dom, 65534, 65534), ==, 0);
		g_assert_false(vw_store_save_domain(s, "8d3e1c5a-6f0b-4a52-9a0e-0c2f7f6b1d11", "<domain/>", &err));
		g_assert_error(err, VW_ERROR, VW_ERROR_STATE);
	}
}

static void test_store_names(Dir *d, gconstpointer data)
{
	g_autoptr(VwStore) s = open_store(d);
	g_autofree char *long_name = g_strnfill(300, 'n');
	g_autofree char *long_plain = g_strnfill(101, 'p');
	const char *const names[] = {
		"web", long_name, long_plain, "a/b",  "../../etc/passwd", "with space", "100%", "ünïcödé",
		".",   "..",	  ".hidden",  "=abc", "tab\there",	  "-dash",
	};

	for (guint i = 0; i < G_N_ELEMENTS(names); i++) {
		g_autoptr(VwState) st = record(names[i], "<network/>");
		g_autofree char *base = vw_store_file_base(names[i]);
		g_autoptr(GError) err = NULL;

		/* Bounded, and a name in the directory itself. */
		g_assert_cmpuint(strlen(base), <=, 100);
		g_assert_null(strchr(base, '/'));
		g_assert_cmpstr(base, !=, ".");
		g_assert_cmpstr(base, !=, "..");
		g_assert_true(base[0] != '.');
		g_assert_true(vw_store_save(s, st, &err));
		g_assert_no_error(err);
	}
	{
		g_autoptr(GPtrArray) list = vw_store_list(s);

		g_assert_cmpuint(list->len, ==, G_N_ELEMENTS(names));
		for (guint i = 0; i < G_N_ELEMENTS(names); i++)
			g_assert_true(g_ptr_array_find_with_equal_func(list, names[i], g_str_equal, NULL));
	}
	for (guint i = 0; i < G_N_ELEMENTS(names); i++) {
		g_autoptr(VwState) st = record(names[i], "<network/>");
		g_autoptr(VwState) back = NULL;
		g_autoptr(GError) err = NULL;
		g_autofree char *path = in_dir(d, names[i], ".state");
		g_autofree char *xml = vw_store_xml_path(s, names[i]);
		struct stat sb;

		g_assert_true(vw_store_load(s, names[i], &back, &err));
		g_assert_no_error(err);
		assert_same_state(st, back);
		g_assert_cmpstr(back->xml, ==, "<network/>");
		g_assert_cmpint(lstat(path, &sb), ==, 0);
		g_assert_true(S_ISREG(sb.st_mode));
		g_assert_cmpuint(sb.st_mode & 07777, ==, 0600);
		g_assert_true(g_str_has_prefix(xml, d->dir));
		g_assert_true(vw_store_remove(s, names[i], &err));
		g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS));
		g_assert_false(g_file_test(xml, G_FILE_TEST_EXISTS));
	}
	assert_no_records(s);
	/* The hashed names are of one length whatever the name's. */
	{
		g_autofree char *a = vw_store_file_base(long_name), *b = vw_store_file_base("a/b");

		g_assert_cmpuint(strlen(a), ==, strlen(b));
		g_assert_cmpuint(strlen(a), ==, 65);
	}
}

/* A record without its XML, and the XML compared with a text in place:
 * the same bytes only, whatever their length (a text longer than one block
 * differing in its last byte), never through a link. */
static void test_store_xml_holds(Dir *d, gconstpointer data)
{
	g_autoptr(VwStore) s = open_store(d);
	g_autoptr(GString) big = g_string_new("<network>");
	g_autoptr(VwState) st = NULL;
	g_autoptr(VwState) back = NULL;
	g_autoptr(GError) err = NULL;
	g_autofree char *xml = NULL;
	g_autofree char *other = NULL;

	while (big->len < 200000)
		g_string_append(big, "<!-- a comment long enough to fill blocks of 64 KiB -->");
	g_string_append(big, "</network>");
	st = record("web", big->str);
	g_assert_true(vw_store_save(s, st, &err));
	g_assert_no_error(err);
	g_assert_true(vw_store_load_record(s, "web", &back, &err));
	g_assert_no_error(err);
	g_assert_null(back->xml);
	g_clear_pointer(&st->xml, g_free);
	assert_same_state(st, back);
	g_assert_true(vw_store_xml_holds(s, "web", big->str, big->len));
	big->str[big->len - 2] = 'X';
	g_assert_false(vw_store_xml_holds(s, "web", big->str, big->len));
	big->str[big->len - 2] = 'k';
	g_assert_false(vw_store_xml_holds(s, "web", big->str, big->len - 1));
	g_assert_false(vw_store_xml_holds(s, "web", "<network/>", 10));
	g_assert_false(vw_store_xml_holds(s, "db", big->str, big->len));
	/* The XML file replaced by a link to a copy of it outside. */
	xml = vw_store_xml_path(s, "web");
	other = g_build_filename(d->tmp, "copy.xml", NULL);
	g_assert_true(g_file_set_contents(other, big->str, (gssize)big->len, NULL));
	g_assert_cmpint(unlink(xml), ==, 0);
	g_assert_cmpint(symlink(other, xml), ==, 0);
	g_assert_false(vw_store_xml_holds(s, "web", big->str, big->len));
	/* No record: not found, as vw_store_load says. */
	g_clear_pointer(&back, vw_state_free);
	g_assert_false(vw_store_load_record(s, "db", &back, &err));
	g_assert_error(err, VW_ERROR, VW_ERROR_NOT_FOUND);
}

/* Files in the directory that are not records of the names they seem to be. */
static void test_store_list_strangers(Dir *d, gconstpointer data)
{
	g_autoptr(VwStore) s = open_store(d);
	g_autoptr(VwState) st = record("web", "<network/>");
	g_autoptr(GPtrArray) list = NULL;
	g_autofree char *spaced = g_build_filename(d->dir, "a b.state", NULL);
	g_autofree char *hashed = g_build_filename(d->dir, "=0000.state", NULL);
	g_autofree char *bare = g_build_filename(d->dir, ".state", NULL);

	g_assert_true(vw_store_save(s, st, NULL));
	g_assert_true(g_file_set_contents(spaced, "virtwire-state 2\nnetwork a%20b\nid x\nend\n", -1, NULL));
	g_assert_true(g_file_set_contents(hashed, "virtwire-state 2\nnetwork web\nid web\nend\n", -1, NULL));
	g_assert_true(g_file_set_contents(bare, "", -1, NULL));
	list = vw_store_list(s);
	/* Each name listed is one load finds. */
	for (guint i = 0; i < list->len; i++) {
		g_autoptr(VwState) back = NULL;
		g_autoptr(GError) err = NULL;

		if (!vw_store_load(s, list->pdata[i], &back, &err) &&
		    g_error_matches(err, VW_ERROR, VW_ERROR_NOT_FOUND))
			g_error("listed, but not found: '%s'", (char *)list->pdata[i]);
	}
	g_assert_cmpuint(list->len, ==, 1);
	g_assert_cmpstr(list->pdata[0], ==, "web");
}

/* A record whose id is not its network's would make teardown remove
 * another network's firewall objects. */
static void test_store_foreign_id(Dir *d, gconstpointer data)
{
	g_autoptr(VwStore) s = open_store(d);
	g_autoptr(VwState) st = record("web", "<network/>");
	g_autoptr(VwState) back = NULL;
	g_autoptr(GError) err = NULL;

	g_free(st->id);
	st->id = g_strdup("other");
	g_assert_true(vw_store_save(s, st, NULL));
	g_assert_false(vw_store_load(s, "web", &back, &err));
	g_assert_error(err, VW_ERROR, VW_ERROR_STATE);
	g_assert_nonnull(strstr(err->message, "other"));
}

/* Plants a symbolic link to the outside file as @file in the directory. */
static void plant(const Dir *d, const char *file)
{
	g_autofree char *p = g_build_filename(d->dir, file, NULL);

	g_unlink(p);
	g_assert_cmpint(symlink(d->outside, p), ==, 0);
}

static bool is_link(const Dir *d, const char *file)
{
	g_autofree char *p = g_build_filename(d->dir, file, NULL);

	return g_file_test(p, G_FILE_TEST_IS_SYMLINK);
}

static void test_store_symlinks(Dir *d, gconstpointer data)
{
	g_autoptr(VwStore) s = open_store(d);
	g_autoptr(VwState) st = record("web", "<network/>");
	g_autoptr(GError) err = NULL;
	g_autofree char *text = vw_state_format(st);

	/* The outside file even holds a valid record: it is not read. */
	g_assert_true(g_file_set_contents(d->outside, text, -1, NULL));
	plant(d, "web.state");
	{
		g_autoptr(VwState) back = NULL;

		g_assert_false(vw_store_load(s, "web", &back, &err));
		g_assert_error(err, VW_ERROR, VW_ERROR_STATE);
		g_assert_nonnull(strstr(err->message, "symbolic link"));
		g_clear_error(&err);
		assert_no_records(s);
	}
	g_assert_true(g_file_set_contents(d->outside, "not virtwire's\n", -1, NULL));
	/* Saving replaces the links, never writes through them. */
	plant(d, "web.xml");
	g_assert_true(vw_store_save(s, st, &err));
	g_assert_no_error(err);
	assert_outside_untouched(d);
	g_assert_false(is_link(d, "web.state"));
	g_assert_false(is_link(d, "web.xml"));
	/* A link as the XML of a saved record: the load fails. */
	plant(d, "web.xml");
	{
		g_autoptr(VwState) back = NULL;

		g_assert_false(vw_store_load(s, "web", &back, &err));
		g_assert_error(err, VW_ERROR, VW_ERROR_STATE);
		g_clear_error(&err);
	}
	/* Removing removes the links themselves. */
	plant(d, "web.state");
	g_assert_true(vw_store_remove(s, "web", &err));
	g_assert_false(is_link(d, "web.state"));
	g_assert_false(is_link(d, "web.xml"));
	assert_outside_untouched(d);
	/* The lock. */
	plant(d, "lock");
	g_assert_false(vw_store_lock(s, 0, &err));
	g_assert_error(err, VW_ERROR, VW_ERROR_STATE);
	g_clear_error(&err);
	assert_outside_untouched(d);
}

static void test_store_symlink_gen(Dir *d, gconstpointer data)
{
	g_autoptr(VwStore) s = open_store(d);
	g_autoptr(GPtrArray) ids = g_ptr_array_new();
	g_autoptr(GPtrArray) digests = g_ptr_array_new();
	VwNftResult res = { .have_gen = true, .gen_before = 7, .gen_after = 8 };
	g_autofree char *netns = NULL;
	g_autofree char *text = NULL;
	struct stat st;

	g_assert_cmpint(stat("/proc/self/ns/net", &st), ==, 0);
	netns = g_strdup_printf("%lu:%lu", (unsigned long)st.st_dev, (unsigned long)st.st_ino);
	text = g_strdup_printf("virtwire-firewall-gen 1\nnetns %s\ngen 8\nnet web " DIGEST_A "\n", netns);
	/* A valid generation record outside, linked in: not believed. */
	g_assert_true(g_file_set_contents(d->outside, text, -1, NULL));
	plant(d, "firewall.gen");
	g_assert_false(vw_store_gen_current(s, 8, "web", DIGEST_A));
	/* Updated: the link is replaced, the outside file unchanged. */
	g_ptr_array_add(ids, "web");
	g_ptr_array_add(digests, DIGEST_B);
	vw_store_gen_update(s, &res, ids, digests);
	g_assert_false(is_link(d, "firewall.gen"));
	{
		g_autofree char *now = NULL;

		g_assert_true(g_file_get_contents(d->outside, &now, NULL, NULL));
		g_assert_cmpstr(now, ==, text);
	}
	g_assert_true(vw_store_gen_current(s, 8, "web", DIGEST_B));
	/* A link planted in its place is not followed either way. */
	plant(d, "firewall.gen");
	res.gen_before = 8;
	res.gen_after = 9;
	vw_store_gen_update(s, &res, ids, NULL);
	g_assert_false(is_link(d, "firewall.gen"));
}

static void test_store_symlink_domains(Dir *d, gconstpointer data)
{
	static const char uuid[] = "8d3e1c5a-6f0b-4a52-9a0e-0c2f7f6b1d11";
	g_autoptr(VwStore) s = open_store(d);
	g_autofree char *elsewhere = g_build_filename(d->tmp, "elsewhere", NULL);
	g_autofree char *domains = g_build_filename(d->dir, "domains", NULL);
	g_autofree char *planted = g_build_filename(elsewhere, "8d3e1c5a-6f0b-4a52-9a0e-0c2f7f6b1d11.xml", NULL);
	g_autoptr(GError) err = NULL;
	g_autofree char *xml = NULL;

	g_assert_cmpint(g_mkdir(elsewhere, 0700), ==, 0);
	g_assert_true(g_file_set_contents(planted, "<domain/>", -1, NULL));
	g_assert_cmpint(symlink(elsewhere, domains), ==, 0);
	g_assert_false(vw_store_save_domain(s, uuid, "<domain><name>x</name></domain>", &err));
	g_assert_error(err, VW_ERROR, VW_ERROR_STATE);
	g_clear_error(&err);
	g_assert_false(vw_store_load_domain(s, uuid, &xml, &err));
	g_assert_null(xml);
	g_assert_true(g_error_matches(err, VW_ERROR, VW_ERROR_STATE) ||
		      g_error_matches(err, VW_ERROR, VW_ERROR_NOT_FOUND));
	g_clear_error(&err);
	{
		g_autoptr(GPtrArray) doms = vw_store_list_domains(s);

		g_assert_cmpuint(doms->len, ==, 0);
	}
	{
		g_autofree char *still = NULL;

		g_assert_true(g_file_get_contents(planted, &still, NULL, NULL));
		g_assert_cmpstr(still, ==, "<domain/>");
	}
	/* A uuid that is a path is refused before any file is opened. */
	g_assert_false(vw_store_save_domain(s, "../outside", "<domain/>", &err));
	g_assert_error(err, VW_ERROR, VW_ERROR_INVALID);
	assert_outside_untouched(d);
}

/* No file of the directory's but its own: nothing left over by a write. */
static void assert_no_temporaries(const Dir *d)
{
	g_autoptr(GDir) dir = g_dir_open(d->dir, 0, NULL);
	const char *e;

	while ((e = g_dir_read_name(dir)))
		if (g_str_has_suffix(e, ".tmp"))
			g_error("left behind: %s", e);
}

/* The Nth write fails as on a full disk: the record before is whole, XML
 * included. Writes of a save: the XML (when it changed), then the record. */
static void test_store_faults(Dir *d, gconstpointer data)
{
	g_autoptr(VwState) a = record("web", "<network><name>web</name></network>");

	{
		g_autoptr(VwStore) s = open_store(d);

		g_assert_true(vw_store_save(s, a, NULL));
	}
	for (guint n = 1; n <= 2; n++) {
		g_autoptr(VwStore) s = open_store(d);
		g_autoptr(VwState) b = record("web", "<network><name>web</name><bridge name='vw-new'/></network>");
		g_autoptr(VwState) back = NULL;
		g_autoptr(GError) err = NULL;
		VwFaults faults = { .store = n };

		vw_state_add_link(b, "bridge", "vw-new", true, NULL);
		vw_store_set_faults(s, &faults);
		g_assert_false(vw_store_save(s, b, &err));
		g_assert_error(err, VW_ERROR, VW_ERROR_FAILED);
		g_assert_nonnull(strstr(err->message, g_strerror(ENOSPC)));
		g_clear_error(&err);
		g_assert_true(vw_store_load(s, "web", &back, &err));
		g_assert_no_error(err);
		assert_same_state(a, back);
		g_assert_cmpstr(back->xml, ==, a->xml);
		assert_no_temporaries(d);
		/* The next write goes through. */
		g_assert_true(vw_store_save(s, b, &err));
		g_assert_no_error(err);
		g_clear_pointer(&back, vw_state_free);
		g_assert_true(vw_store_load(s, "web", &back, NULL));
		assert_same_state(b, back);
		g_assert_cmpstr(back->xml, ==, b->xml);
		g_assert_true(vw_store_save(s, a, NULL));
	}
}

static void test_store_lock(Dir *d, gconstpointer data)
{
	g_autoptr(VwStore) a = open_store(d);
	g_autoptr(VwStore) b = open_store(d);
	g_autoptr(GError) err = NULL;
	g_autofree char *lock = g_build_filename(d->dir, "lock", NULL);
	struct stat st;

	g_assert_true(vw_store_lock(a, 0, &err));
	g_assert_false(vw_store_lock(b, 20, &err));
	g_assert_error(err, VW_ERROR, VW_ERROR_BUSY);
	g_clear_error(&err);
	vw_store_unlock(a);
	g_assert_true(vw_store_lock(b, 0, &err));
	g_assert_cmpint(lstat(lock, &st), ==, 0);
	g_assert_true(S_ISREG(st.st_mode));
	g_assert_cmpuint(st.st_mode & 07777, ==, 0600);
}

#define DIR_TEST(path, fn) g_test_add(path, Dir, NULL, dir_setup, fn, dir_teardown)

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/state/record/round-trip", test_record_round_trip);
	g_test_add_func("/state/record/refused", test_record_refused);
	g_test_add_func("/state/record/versions", test_record_versions);
	g_test_add_func("/state/record/elems", test_record_elems);
	g_test_add_func("/state/record/elems-refused", test_record_elems_refused);
	g_test_add_func("/state/record/caps", test_record_caps);
	g_test_add_func("/state/gen/round-trip", test_gen_round_trip);
	g_test_add_func("/state/gen/refused", test_gen_refused);
	g_test_add_func("/state/gen/version-1", test_gen_version_1);
	DIR_TEST("/state/store/open", test_store_open);
	DIR_TEST("/state/store/unsafe-dir", test_store_unsafe_dir);
	DIR_TEST("/state/store/names", test_store_names);
	DIR_TEST("/state/store/xml-holds", test_store_xml_holds);
	DIR_TEST("/state/store/list-strangers", test_store_list_strangers);
	DIR_TEST("/state/store/foreign-id", test_store_foreign_id);
	DIR_TEST("/state/store/symlinks", test_store_symlinks);
	DIR_TEST("/state/store/symlink-gen", test_store_symlink_gen);
	DIR_TEST("/state/store/symlink-domains", test_store_symlink_domains);
	DIR_TEST("/state/store/faults", test_store_faults);
	DIR_TEST("/state/store/lock", test_store_lock);
	return g_test_run();
}
