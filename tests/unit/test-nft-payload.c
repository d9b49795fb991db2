/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The text virtwire prints for a rule parses, in nft, to exactly the
 * bytecode virtwire sends for it. tests/nft/rules.payload pairs every rule's
 * text (with its family, table and chain) with the bytecode nft and the
 * kernel make of it, as nftables' own tests/py payload files do;
 * tools/regen-nft-payload writes it (root, in a namespace of its own) and
 * tests/netns/payload.sh proves it still matches nft. Here, without root:
 * every rule planned for the golden cases (tests/xml/<case>/ with a plan
 * expectation) and for the examples (all together) — virtwire's table and its accepts
 * in libvirt's firewall — must be in the file, with the bytecode and
 * comment virtwire builds.
 *
 * With --emit DIR it writes, for tools/regen-nft-payload, each input's
 * table as `virtwire plan` prints it (NN.nft) and its rules (NN.rules:
 * family, table, chain, syntax and text, tab-separated).
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_comment.h>
#include <linux/netfilter/xt_conntrack.h>
#include <libnftnl/udata.h>

#include <virtwire/engine.h>

#include "nft-private.h"

#define GOLDEN VW_SOURCE_ROOT "/tests/nft/rules.payload"
#define REGEN "run tools/regen-nft-payload (as root) and review the diff"

/* One input: the files `virtwire plan` is given together. */
typedef struct {
	char *name;
	GPtrArray *files; /* char*, NULL-terminated */
} Input;

static void input_free(Input *in)
{
	g_free(in->name);
	g_ptr_array_unref(in->files);
	g_free(in);
}

static int str_cmp(gconstpointer a, gconstpointer b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The names in @dir (ending in @suffix, if given), sorted. */
static GPtrArray *names_in(const char *dir, const char *suffix)
{
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	const char *n;

	g_assert_nonnull(d);
	while ((n = g_dir_read_name(d)))
		if (!suffix || g_str_has_suffix(n, suffix))
			g_ptr_array_add(names, g_strdup(n));
	g_ptr_array_sort(names, str_cmp);
	return names;
}

static Input *input_of(const char *name, const char *dir)
{
	g_autoptr(GPtrArray) xmls = names_in(dir, ".xml");
	Input *in = g_new0(Input, 1);

	in->name = g_strdup(name);
	in->files = g_ptr_array_new_with_free_func(g_free);
	for (guint i = 0; i < xmls->len; i++)
		g_ptr_array_add(in->files, g_build_filename(dir, xmls->pdata[i], NULL));
	g_ptr_array_add(in->files, NULL);
	return in;
}

/* The golden cases whose plan is expected to succeed, then the examples
 * (all together, as the README plans them). */
static GPtrArray *inputs(void)
{
	GPtrArray *all = g_ptr_array_new_with_free_func((GDestroyNotify)input_free);
	g_autoptr(GPtrArray) cases = names_in(VW_SOURCE_ROOT "/tests/xml", NULL);

	for (guint i = 0; i < cases->len; i++) {
		g_autofree char *dir = g_build_filename(VW_SOURCE_ROOT "/tests/xml", cases->pdata[i], NULL);
		g_autofree char *expect = g_build_filename(dir, "plan.out", NULL);
		g_autofree char *text = NULL;

		if (!g_file_get_contents(expect, &text, NULL, NULL) || !g_str_has_suffix(text, "[exit 0]\n"))
			continue;
		g_ptr_array_add(all, input_of(cases->pdata[i], dir));
	}
	g_ptr_array_add(all, input_of("examples", VW_SOURCE_ROOT "/examples"));
	return all;
}

/* A plan and the documents it was made from. */
typedef struct {
	GPtrArray *docs;
	VwPlan *plan;
} Planned;

static void planned_clear(Planned *pl)
{
	vw_plan_free(pl->plan);
	g_ptr_array_unref(pl->docs);
}

static Planned plan_input(const Input *in)
{
	VwEngineConfig cfg = { 0 };
	g_autoptr(VwEngine) e = vw_engine_new(&cfg);
	g_autoptr(VwDiags) diags = vw_diags_new();
	g_autoptr(GError) err = NULL;
	Planned pl = { g_ptr_array_new_with_free_func((GDestroyNotify)vw_doc_free), NULL };

	vw_engine_load(e, (char **)in->files->pdata, false, pl.docs, diags);
	pl.plan = vw_engine_plan(e, pl.docs, diags, &err);
	if (!pl.plan) {
		g_autofree char *t = vw_diags_format_text(diags);

		g_error("%s: no plan: %s\n%s", in->name, err ? err->message : "", t);
	}
	return pl;
}

/* A planned rule where it goes, built as the executor builds it. */
typedef struct {
	const char *family, *table, *chain;
	bool iptables;
	const VwRule *rule;
	struct nftnl_rule *built;
} Rule;

static void rule_free(Rule *r)
{
	nftnl_rule_free(r->built);
	g_free(r);
}

static const char *family_name(int family)
{
	switch (family) {
	case NFPROTO_INET:
		return "inet";
	case NFPROTO_BRIDGE:
		return "bridge";
	case NFPROTO_IPV4:
		return "ip";
	case NFPROTO_IPV6:
		return "ip6";
	}
	g_assert_not_reached();
}

/* The rules of table @t into @all. */
static void table_rules(const VwTable *t, GPtrArray *all)
{
	for (guint i = 0; i < t->chains->len; i++) {
		const VwChain *c = t->chains->pdata[i];

		for (guint j = 0; j < c->rules->len; j++) {
			Rule *r = g_new0(Rule, 1);

			*r = (Rule){ family_name(t->family), t->name, c->name, false, c->rules->pdata[j], NULL };
			r->built = vw_nft_build_rule(t->family, t->name, c->name, r->rule);
			g_ptr_array_add(all, r);
		}
	}
}

/* Every rule of @p: its tables', then its accepts in libvirt's firewall. */
static GPtrArray *rules_of(const VwPlan *p)
{
	GPtrArray *all = g_ptr_array_new_with_free_func((GDestroyNotify)rule_free);

	for (int i = 0; i < VW_TABLES; i++)
		table_rules(&p->tables[i], all);
	for (guint i = 0; i < p->coexist->len; i++) {
		const VwCoexist *x = p->coexist->pdata[i];

		for (guint j = 0; j < x->rules->len; j++) {
			const VwForeignRule *f = x->rules->pdata[j];
			Rule *r = g_new0(Rule, 1);

			*r = (Rule){ family_name(f->family), f->table, f->chain, f->rule->compat, f->rule, NULL };
			r->built = vw_nft_build_foreign_rule(f);
			g_ptr_array_add(all, r);
		}
	}
	return all;
}

/* ---------------------------------------------------------------------- */
/* The golden file */

typedef struct {
	GString *canon; /* as vw_nft_rule_canon writes it */
	char *userdata; /* as nft shows it, or NULL */
} Payload;

static void payload_free(Payload *p)
{
	g_string_free(p->canon, TRUE);
	g_free(p->userdata);
	g_free(p);
}

static char *key_of(const char *family, const char *table, const char *chain, const char *text)
{
	return g_strdup_printf("%s %s %s\n%s", family, table, chain, text);
}

/* "# TEXT", "FAMILY TABLE CHAIN", then "  [ expression ]" lines and maybe
 * "  userdata = { … }"; entries apart by blank lines. */
static GHashTable *golden_read(void)
{
	GHashTable *g = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)payload_free);
	g_autofree char *all = NULL;
	g_auto(GStrv) lines = NULL;
	g_autoptr(GError) err = NULL;

	if (!g_file_get_contents(GOLDEN, &all, NULL, &err))
		g_error("%s: %s: %s", GOLDEN, err->message, REGEN);
	lines = g_strsplit(all, "\n", -1);
	for (char **l = lines; *l; l++) {
		Payload *p;

		if (!g_str_has_prefix(*l, "# ") || !l[1] || !l[1][0] || l[1][0] == ' ' || l[1][0] == '#')
			continue;
		p = g_new0(Payload, 1);
		p->canon = g_string_new(NULL);
		g_hash_table_replace(g, g_strdup_printf("%s\n%s", l[1], *l + 2), p);
		for (l += 2; *l && g_str_has_prefix(*l, "  "); l++) {
			if (g_str_has_prefix(*l, "  userdata = "))
				p->userdata = g_strdup(*l + strlen("  userdata = "));
			else if (g_str_has_prefix(*l, "  [ counter "))
				g_string_append(p->canon, "[ counter ] ");
			else
				g_string_append_printf(p->canon, "%s ", *l + 2);
		}
		if (!*l)
			break;
	}
	return g;
}

/* A rule's user data as nft shows it: printable bytes, else \xNN. */
static char *userdata_text(struct nftnl_rule *r)
{
	GString *s;
	uint32_t len;
	const uint8_t *d;

	if (!nftnl_rule_is_set(r, NFTNL_RULE_USERDATA))
		return NULL;
	d = nftnl_rule_get_data(r, NFTNL_RULE_USERDATA, &len);
	s = g_string_new("{ ");
	for (uint32_t i = 0; i < len; i++)
		if (isprint(d[i]))
			g_string_append_c(s, (char)d[i]);
		else
			g_string_append_printf(s, "\\x%02x", d[i]);
	g_string_append(s, " }");
	return g_string_free(s, FALSE);
}

/* ---------------------------------------------------------------------- */

static guint check_rule(GHashTable *golden, const Rule *r, GHashTable *seen)
{
	g_autofree char *key = key_of(r->family, r->table, r->chain, r->rule->text);
	g_autofree char *canon = vw_nft_rule_canon(r->built);
	g_autofree char *ud = userdata_text(r->built);
	const Payload *want = g_hash_table_lookup(golden, key);

	if (!want) {
		g_test_message("not in %s: %s %s %s: %s", GOLDEN, r->family, r->table, r->chain, r->rule->text);
		return 1;
	}
	g_hash_table_add(seen, g_steal_pointer(&key));
	if (strcmp(want->canon->str, canon) != 0 || g_strcmp0(want->userdata, ud) != 0) {
		g_test_message("%s %s %s: %s\n  nft makes:       %s %s\n  virtwire sends:  %s %s", r->family, r->table,
			       r->chain, r->rule->text, want->canon->str, want->userdata ? want->userdata : "", canon,
			       ud ? ud : "");
		return 1;
	}
	return 0;
}

/* Every rule virtwire plans for the inputs has its text in the golden file,
 * with the bytecode (and comment) virtwire builds for it. */
static void test_rules(void)
{
	g_autoptr(GHashTable) golden = golden_read();
	g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	g_autoptr(GPtrArray) in = inputs();
	guint bad = 0, iptables = 0, foreign = 0;

	for (guint i = 0; i < in->len; i++) {
		Planned pl = plan_input(in->pdata[i]);
		g_autoptr(GPtrArray) rules = rules_of(pl.plan);

		for (guint j = 0; j < rules->len; j++) {
			const Rule *r = rules->pdata[j];

			bad += check_rule(golden, r, seen);
			iptables += r->iptables;
			foreign += strcmp(r->table, VW_NFT_TABLE) != 0;
		}
		planned_clear(&pl);
	}
	if (bad)
		g_error("%u rule(s) differ from %s or are missing there (see above): %s", bad, GOLDEN, REGEN);
	/* Not vacuous: the skeleton and networks of every mode, and both
	 * kinds of accepts in libvirt's firewall, were held against it. */
	g_assert_cmpuint(g_hash_table_size(seen), >=, 50);
	g_assert_cmpuint(iptables, >, 0);
	g_assert_cmpuint(foreign, >, iptables);
}

/* The rule the executor sends, parsed back from its netlink message. */
static struct nftnl_rule *sent(const VwForeignRule *f)
{
	char buf[8192];
	g_autoptr(nftnl_rule) built = vw_nft_build_foreign_rule(f);
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_NEWRULE, (uint16_t)f->family, 0, 1);
	struct nftnl_rule *back = nftnl_rule_alloc();

	nftnl_rule_nlmsg_build_payload(nlh, built);
	g_assert_cmpint(nftnl_rule_nlmsg_parse(nlh, back), ==, 0);
	return back;
}

typedef struct {
	guint n;
	const char *comment;
} XtSeen;

/* libnftnl prints a match without its info: check the info itself, as
 * iptables-nft writes it for "-m conntrack --ctstate DNAT -m comment
 * --comment …". */
static int xt_info_cb(struct nftnl_expr *e, void *data)
{
	XtSeen *seen = data;
	const char *name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);
	uint32_t len = 0;
	const void *info;

	if (strcmp(name, "match") != 0)
		return 0;
	info = nftnl_expr_get(e, NFTNL_EXPR_MT_INFO, &len);
	name = nftnl_expr_get_str(e, NFTNL_EXPR_MT_NAME);
	if (strcmp(name, "conntrack") == 0) {
		struct xt_conntrack_mtinfo3 want = { 0 };

		want.match_flags = XT_CONNTRACK_STATE;
		want.state_mask = XT_CONNTRACK_STATE_DNAT;
		g_assert_cmpuint(nftnl_expr_get_u32(e, NFTNL_EXPR_MT_REV), ==, 3);
		g_assert_cmpuint(len, ==, XT_ALIGN(sizeof(want)));
		g_assert_cmpmem(info, sizeof(want), &want, sizeof(want));
	} else if (strcmp(name, "comment") == 0) {
		struct xt_comment_info want = { 0 };

		g_strlcpy(want.comment, seen->comment, sizeof(want.comment));
		g_assert_cmpuint(nftnl_expr_get_u32(e, NFTNL_EXPR_MT_REV), ==, 0);
		g_assert_cmpmem(info, len, &want, sizeof(want));
	} else {
		g_error("unexpected match %s", name);
	}
	seen->n++;
	return 0;
}

static int udata_comment_cb(const struct nftnl_udata *attr, void *data)
{
	if (nftnl_udata_type(attr) == NFTNL_UDATA_RULE_COMMENT)
		*(const char **)data = nftnl_udata_get(attr);
	return 0;
}

/* The accepts in libvirt's firewall for a network of both families: the
 * iptables-nft ones carry their xtables matches (with the info blobs
 * iptables writes) and iptables' rule attributes; the nftables ones a
 * comment of their own. Both name the network. */
static void test_coexist_rules(void)
{
	const char *path = VW_SOURCE_ROOT "/tests/xml/plan-libvirt-nat";
	g_autoptr(GPtrArray) in = g_ptr_array_new_with_free_func((GDestroyNotify)input_free);
	Planned pl;
	const VwCoexist *x;
	guint xt = 0, native = 0;

	g_ptr_array_add(in, input_of("plan-libvirt-nat", path));
	pl = plan_input(in->pdata[0]);
	g_assert_cmpuint(pl.plan->coexist->len, ==, 1);
	x = pl.plan->coexist->pdata[0];
	g_assert_cmpuint(x->rules->len, ==, 2); /* IPv4 only: iptables-nft's and libvirt's nftables place */
	for (guint i = 0; i < x->rules->len; i++) {
		const VwForeignRule *f = x->rules->pdata[i];
		g_autoptr(nftnl_rule) r = sent(f);
		g_autofree char *comment = g_strdup_printf(VW_COEXIST_COMMENT_PREFIX "%s", x->id);
		XtSeen seen = { 0, comment };
		const char *ud_comment = NULL;

		g_assert_cmpint(f->family, ==, NFPROTO_IPV4);
		nftnl_expr_foreach(r, xt_info_cb, &seen);
		if (nftnl_rule_is_set(r, NFTNL_RULE_USERDATA)) {
			uint32_t len;
			const void *ud = nftnl_rule_get_data(r, NFTNL_RULE_USERDATA, &len);

			nftnl_udata_parse(ud, len, udata_comment_cb, &ud_comment);
		}
		if (strcmp(f->table, "filter") == 0) {
			g_assert_cmpuint(seen.n, ==, 2);
			g_assert_true(nftnl_rule_is_set(r, NFTNL_RULE_COMPAT_PROTO));
			g_assert_cmpuint(nftnl_rule_get_u32(r, NFTNL_RULE_COMPAT_PROTO), ==, 0);
			g_assert_cmpuint(nftnl_rule_get_u32(r, NFTNL_RULE_COMPAT_FLAGS), ==, 0);
			g_assert_null(ud_comment);
			xt++;
		} else {
			g_assert_cmpuint(seen.n, ==, 0);
			g_assert_false(nftnl_rule_is_set(r, NFTNL_RULE_COMPAT_PROTO));
			g_assert_cmpstr(ud_comment, ==, comment);
			native++;
		}
	}
	g_assert_cmpuint(xt, ==, 1);
	g_assert_cmpuint(native, ==, 1);
	planned_clear(&pl);
}

/* ---------------------------------------------------------------------- */
/* --emit DIR */

static void emit_input(const Input *in, guint n, const char *dir)
{
	Planned pl = plan_input(in);
	g_autoptr(GPtrArray) rules = rules_of(pl.plan);
	g_autofree char *table = vw_plan_format_table(pl.plan);
	g_autofree char *base = g_strdup_printf("%s/%02u-%s", dir, n, in->name);
	g_autofree char *nft = g_strdup_printf("%s.nft", base);
	g_autofree char *list = g_strdup_printf("%s.rules", base);
	GString *out = g_string_new(NULL);
	g_autoptr(GError) err = NULL;

	for (guint i = 0; i < rules->len; i++) {
		const Rule *r = rules->pdata[i];

		g_string_append_printf(out, "%s\t%s\t%s\t%s\t%s\n", r->family, r->table, r->chain,
				       r->iptables ? "iptables" : "nft", r->rule->text);
	}
	if (!g_file_set_contents(nft, table, -1, &err) || !g_file_set_contents(list, out->str, (gssize)out->len, &err))
		g_error("%s", err->message);
	g_string_free(out, TRUE);
	planned_clear(&pl);
}

static int emit(const char *dir)
{
	g_autoptr(GPtrArray) in = inputs();

	for (guint i = 0; i < in->len; i++)
		emit_input(in->pdata[i], i, dir);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--emit") == 0)
		return emit(argv[2]);
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/nft-payload/rules", test_rules);
	g_test_add_func("/nft-payload/coexist-rules", test_coexist_rules);
	return g_test_run();
}
