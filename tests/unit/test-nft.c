/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The nftables executor against a kernel: plan → batch → kernel, drift,
 * generations, scopes, faults and the rules in other tables. Every scenario
 * is written once against a VwNftBackend and runs on the fake of
 * fake-nft.c by default; with --kernel it runs on the real kernel
 * (tests/netns/nft-scenarios.sh runs it so, as root, in a namespace of its
 * own). The assertions are the same: where the fake and the kernel differ,
 * the fake (or virtwire) is wrong.
 *
 * On the fake, every scenario ends by comparing what the fake holds with
 * what it answers when read back through its requests.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <glib.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <libnftnl/udata.h>

#include <virtwire/check.h>
#include <virtwire/exec.h>
#include <virtwire/plan.h>
#include <virtwire/xml.h>

#include "fake-nft.h"
#include "nft-private.h"

/* ---------------------------------------------------------------------- */
/* Networks */

#define NAT_OPEN(name, bridge, ips, body)                                                                     \
	"<network>\n  <name>" name "</name>\n  <forward mode='open'/>\n  <bridge name='" bridge "'/>\n" ips   \
	"  <metadata><vw:network xmlns:vw='urn:virtwire:1' mode='nat'>\n" body "  </vw:network></metadata>\n" \
	"</network>\n"
/* A NAT network of libvirt's own (forward mode='nat') with forwards. */
#define LIBVIRT_NAT(name, bridge, ips, body)                                                               \
	"<network>\n  <name>" name "</name>\n  <forward mode='nat'/>\n  <bridge name='" bridge "'/>\n" ips \
	"  <metadata><vw:network xmlns:vw='urn:virtwire:1'>\n" body "  </vw:network></metadata>\n"         \
	"</network>\n"

static const char web_xml[] = NAT_OPEN(
	"web", "vw-web",
	"  <ip address='192.168.150.1' prefix='24'>\n"
	"    <dhcp><host mac='52:54:00:aa:bb:10' ip='192.168.150.10'/></dhcp>\n"
	"  </ip>\n"
	"  <ip family='ipv6' address='2001:db8:150::1' prefix='64'/>\n",
	"    <vw:forward proto='tcp' host-port='2222' guest-mac='52:54:00:aa:bb:10' guest-port='22'/>\n"
	"    <vw:forward proto='tcp' host-port='8000-8001' guest-address='192.168.150.12' guest-port='9000-9001'/>\n"
	"    <vw:forward proto='tcp' host-port='8443' guest-address='192.168.150.10' guest-port='443'>\n"
	"      <vw:source address='198.51.100.0/24'/>\n"
	"    </vw:forward>\n"
	"    <vw:forward proto='udp' address='203.0.113.1' host-port='53' guest-address='192.168.150.11'/>\n"
	"    <vw:forward proto='tcp' host-port='2200' guest-address='2001:db8:150::10' guest-port='22'/>\n");

#define DB_XML(port)                                                             \
	NAT_OPEN("db", "vw-db", "  <ip address='192.168.151.1' prefix='24'/>\n", \
		 "    <vw:forward proto='tcp' host-port='" port                  \
		 "' guest-address='192.168.151.10' guest-port='22'/>\n")
static const char db_xml[] = DB_XML("3333");
/* db wanting a host port web holds. */
static const char db_clash_xml[] = DB_XML("2222");

#define PORT_UUID "9f12e818-ebd7-4bf4-8694-25b182683b1e"
#define PORT_MAC "52:54:00:aa:bb:20"
static const char public_xml[] = NAT_OPEN(
	"public", "vw-public",
	"  <ip address='192.168.152.1' prefix='24'>\n"
	"    <dhcp><host mac='" PORT_MAC "' ip='192.168.152.20'/></dhcp>\n"
	"  </ip>\n",
	"    <vw:domain-forwards allow='yes' host-ports='10000-10999'/>\n"
	"    <vw:forward proto='tcp' host-port='2022' guest-address='192.168.152.30' guest-port='22'/>\n");
static const char web1_xml[] = "<domain type='kvm'>\n  <name>web1</name>\n  <devices>\n"
			       "    <interface type='network'>\n      <mac address='" PORT_MAC "'/>\n"
			       "      <source network='public'/>\n    </interface>\n  </devices>\n  <metadata>\n"
			       "    <vw:domain xmlns:vw='urn:virtwire:1'>\n"
			       "      <vw:forward network='public' proto='tcp' host-port='10080' guest-port='80'/>\n"
			       "      <vw:forward network='public' proto='udp' host-port='10053' guest-port='53'/>\n"
			       "    </vw:domain>\n  </metadata>\n</domain>\n";

/* Thousands of elements: batches of many messages, dumps of many parts. */
static const char big_xml[] = NAT_OPEN(
	"big", "vw-big", "  <ip address='192.168.153.1' prefix='24'/>\n",
	"    <vw:forward proto='tcp' host-port='20000-22999' guest-address='192.168.153.10'/>\n"
	"    <vw:forward proto='udp' host-port='20000-22999' guest-address='192.168.153.11' "
	"guest-port='30000-32999'/>\n");

static const char lvnat_xml[] = LIBVIRT_NAT(
	"lvnat", "vwtlv0",
	"  <ip address='192.168.160.1' prefix='24'/>\n"
	"  <ip family='ipv6' address='2001:db8:160::1' prefix='64'/>\n",
	"    <vw:forward proto='tcp' host-port='2223' guest-address='192.168.160.10' guest-port='22'/>\n"
	"    <vw:forward proto='tcp' host-port='2223' guest-address='2001:db8:160::10' guest-port='22'/>\n");
static const char lvnat2_xml[] = LIBVIRT_NAT(
	"lvnat2", "vwtlv1", "  <ip address='192.168.161.1' prefix='24'/>\n",
	"    <vw:forward proto='tcp' host-port='2224' guest-address='192.168.161.10' guest-port='22'/>\n");

/* ---------------------------------------------------------------------- */
/* The environment: a backend, and the plans of one scenario */

static bool on_kernel;

typedef struct {
	VwNftBackend *be;
	FakeNft *fake;	  /* NULL on the kernel */
	GPtrArray *docs;  /* VwDoc* the plans were made from */
	GPtrArray *plans; /* VwPlan* */
} Env;

/* Removes every table (the kernel's namespace is the test's own). */
static void wipe(const VwNftBackend *be)
{
	g_autoptr(GPtrArray) tables = nft_view_tables(be);
	g_autoptr(NftOther) b = nft_other_new();

	if (!tables->len)
		return;
	for (guint i = 0; i < tables->len; i++) {
		g_auto(GStrv) fn = g_strsplit(tables->pdata[i], " ", 2);

		nft_other_table(b, false, atoi(fn[0]), fn[1]);
	}
	g_assert_cmpint(nft_other_commit(b, be), ==, 0);
}

static Env *env_new(void)
{
	Env *env = g_new0(Env, 1);

	env->docs = g_ptr_array_new_with_free_func((GDestroyNotify)vw_doc_free);
	env->plans = g_ptr_array_new_with_free_func((GDestroyNotify)vw_plan_free);
	if (on_kernel) {
		g_autoptr(GError) err = NULL;

		env->be = vw_nft_backend_netlink(&err);
		g_assert_no_error(err);
		wipe(env->be);
	} else {
		env->be = fake_nft_new(&env->fake);
	}
	return env;
}

static char *joined(GPtrArray *a)
{
	g_autoptr(GString) s = g_string_new(NULL);

	for (guint i = 0; a && i < a->len; i++)
		g_string_append_printf(s, "%s\n", (char *)a->pdata[i]);
	return a ? g_strdup(s->str) : g_strdup("(not there)");
}

static int str_cmp(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The lists as text, in order or (@sorted) as sets; takes both. */
static void assert_lists(GPtrArray *got, GPtrArray *want, bool sorted)
{
	g_autoptr(GPtrArray) got_ = got;
	g_autoptr(GPtrArray) want_ = want;
	g_autofree char *g = NULL, *w = NULL;

	if (sorted && got)
		g_ptr_array_sort(got, str_cmp);
	if (sorted && want)
		g_ptr_array_sort(want, str_cmp);
	g = joined(got);
	w = joined(want);
	g_assert_cmpstr(g, ==, w);
}

/* What the fake holds is what it answers when read back. */
static void assert_fake_answers(Env *env)
{
	g_autoptr(GPtrArray) tables = fake_nft_tables(env->fake);

	assert_lists(nft_view_tables(env->be), g_ptr_array_ref(tables), true);
	for (guint i = 0; i < tables->len; i++) {
		g_auto(GStrv) fn = g_strsplit(tables->pdata[i], " ", 2);
		int fam = atoi(fn[0]);
		g_autoptr(GPtrArray) chains = fake_nft_chains(env->fake, fam, fn[1]);
		g_autoptr(GPtrArray) sets = fake_nft_sets(env->fake, fam, fn[1]);

		assert_lists(nft_view_chains(env->be, fam, fn[1]), g_ptr_array_ref(chains), false);
		assert_lists(nft_view_sets(env->be, fam, fn[1]), g_ptr_array_ref(sets), false);
		for (guint j = 0; j < chains->len; j++) {
			g_auto(GStrv) name = g_strsplit(chains->pdata[j], " ", 2);

			assert_lists(nft_view_rules(env->be, fam, fn[1], name[0]),
				     fake_nft_rules(env->fake, fam, fn[1], name[0]), false);
		}
		for (guint j = 0; j < sets->len; j++) {
			g_auto(GStrv) name = g_strsplit(sets->pdata[j], " ", 2);

			assert_lists(nft_view_elems(env->be, fam, fn[1], name[0]),
				     fake_nft_elems(env->fake, fam, fn[1], name[0]), false);
		}
	}
}

static void env_free(Env *env)
{
	if (env->fake)
		assert_fake_answers(env);
	else
		wipe(env->be);
	vw_nft_backend_free(env->be);
	g_ptr_array_unref(env->plans);
	g_ptr_array_unref(env->docs);
	g_free(env);
}

static VwDoc *load(Env *env, const char *xml, GPtrArray *docs, VwDiags *diags)
{
	VwDoc *doc = NULL;

	g_assert_cmpint(vw_doc_load_memory("t.xml", xml, strlen(xml), NULL, diags, &doc), ==, VW_LOAD_OK);
	g_ptr_array_add(env->docs, doc);
	g_ptr_array_add(docs, doc);
	return doc;
}

/* Plans the networks @xmls (NULL-terminated) and, with @domain, its
 * forwards on port @port of network "public". */
static const VwPlan *plan_of(Env *env, const char *const *xmls, const char *domain, const char *port)
{
	g_autoptr(VwDiags) diags = vw_diags_new();
	g_autoptr(GPtrArray) docs = g_ptr_array_new();
	g_autoptr(GPtrArray) nets = g_ptr_array_new();
	g_autoptr(GPtrArray) doms = g_ptr_array_new_with_free_func(g_free);
	VwPlan *plan;

	for (guint i = 0; xmls[i]; i++)
		g_ptr_array_add(nets, load(env, xmls[i], docs, diags)->network);
	if (domain) {
		VwPlanDomain *pd = g_new0(VwPlanDomain, 1);

		pd->domain = load(env, domain, docs, diags)->domain;
		pd->network = "public";
		pd->port_uuid = port;
		pd->has_mac = vw_mac_parse(PORT_MAC, &pd->mac);
		g_ptr_array_add(doms, pd);
	}
	vw_check_docs(docs, diags);
	if (vw_diags_has_errors(diags)) {
		g_autofree char *t = vw_diags_format_text(diags);

		g_error("the input does not check clean:\n%s", t);
	}
	plan = vw_plan_build(nets, doms, diags);
	g_assert_nonnull(plan);
	g_ptr_array_add(env->plans, plan);
	return plan;
}

#define PLAN(env, domain, ...) plan_of((env), (const char *const[]){ __VA_ARGS__, NULL }, (domain), PORT_UUID)

static char *owner_words(const char *tag, void *data)
{
	const char *colon = strchr(tag, ':');

	if (colon)
		return g_strdup_printf("port %s of network '%.*s'", colon + 1, (int)(colon - tag), tag);
	return g_strdup_printf("network '%s'", tag);
}

/* Reconciles @plan for the owner tags in @scope (comma-separated). */
static VwNftResult *reconcile(Env *env, const VwPlan *plan, const char *scope, VwNftFlags flags, guint fault,
			      GError **error)
{
	g_auto(GStrv) tags = g_strsplit(scope, ",", -1);
	g_autoptr(GPtrArray) sc = g_ptr_array_new_with_free_func(g_free);
	VwFaults faults = { .nft = fault };
	VwNftRequest rq = { sc, flags, owner_words, NULL, &faults };
	VwNftResult *res = NULL;

	for (guint i = 0; tags[i]; i++)
		if (*tags[i])
			g_ptr_array_add(sc, g_strdup(tags[i]));
	if (!vw_nft_reconcile(env->be, plan, &rq, &res, error))
		return NULL;
	return res;
}

static VwNftResult *apply(Env *env, const VwPlan *plan, const char *scope)
{
	g_autoptr(GError) err = NULL;
	VwNftResult *res = reconcile(env, plan, scope, 0, 0, &err);

	g_assert_no_error(err);
	return res;
}

static uint32_t gen(Env *env)
{
	uint32_t g;

	g_assert_true(vw_nft_generation(env->be, &g, NULL));
	return g;
}

static char *drift_text(const VwNftResult *res)
{
	GString *s = g_string_new(NULL);

	for (guint i = 0; i < res->drift->len; i++) {
		const VwDrift *d = res->drift->pdata[i];

		g_string_append_printf(s, "%s: %s\n", d->object, d->what);
	}
	return g_string_free(s, FALSE);
}

/* @res reports a difference about @object whose text starts with @what. */
static void assert_drift(const VwNftResult *res, const char *object, const char *what)
{
	g_autofree char *all = drift_text(res);
	g_autofree char *line = g_strdup_printf("%s: %s", object, what);

	if (!strstr(all, line))
		g_error("expected a difference \"%s\" among:\n%s", line, all);
}

static void assert_nothing_to_do(const VwNftResult *res)
{
	g_autofree char *all = drift_text(res);

	g_assert_cmpstr(all, ==, "");
	g_assert_cmpuint(res->messages, ==, 0);
	g_assert_true(res->have_gen);
	g_assert_cmpuint(res->gen_after, ==, res->gen_before);
}

/* ---------------------------------------------------------------------- */
/* Views, from the fake's memory or read back from the kernel */

static GPtrArray *v_chains(Env *env, int family, const char *table)
{
	return env->fake ? fake_nft_chains(env->fake, family, table) : nft_view_chains(env->be, family, table);
}

static GPtrArray *v_rules(Env *env, int family, const char *table, const char *chain)
{
	return env->fake ? fake_nft_rules(env->fake, family, table, chain)
			 : nft_view_rules(env->be, family, table, chain);
}

static GPtrArray *v_table_sets(Env *env, const VwTable *t)
{
	return env->fake ? fake_nft_sets(env->fake, t->family, t->name) : nft_view_sets(env->be, t->family, t->name);
}

static GPtrArray *v_table_elems(Env *env, const VwTable *t, const char *set)
{
	return env->fake ? fake_nft_elems(env->fake, t->family, t->name, set)
			 : nft_view_elems(env->be, t->family, t->name, set);
}

/* Table inet virtwire's. */
static GPtrArray *v_elems(Env *env, const char *set)
{
	return v_table_elems(env, vw_plan_table(VW_TABLE_INET), set);
}

static bool has_str(GPtrArray *a, const char *s)
{
	for (guint i = 0; a && i < a->len; i++)
		if (strcmp(a->pdata[i], s) == 0)
			return true;
	return false;
}

/* Whether @a (taken) holds @s. */
static bool holds(GPtrArray *a, const char *s)
{
	g_autoptr(GPtrArray) owned = a;

	return has_str(a, s);
}

static guint count_tables(Env *env)
{
	g_autoptr(GPtrArray) t = env->fake ? fake_nft_tables(env->fake) : nft_view_tables(env->be);

	return t->len;
}

/* Rule @i of a chain, as the views print it. */
static char *rule_at(Env *env, int family, const char *table, const char *chain, guint i)
{
	g_autoptr(GPtrArray) rules = v_rules(env, family, table, chain);

	g_assert_nonnull(rules);
	g_assert_cmpuint(i, <, rules->len);
	return g_strdup(rules->pdata[i]);
}

static GPtrArray *strv(void)
{
	return g_ptr_array_new_with_free_func(g_free);
}

/* A plan's element as the views print it. */
static void elem_text_of(const VwSet *s, const VwElem *e, NftElemText *t)
{
	memset(t, 0, sizeof(*t));
	memcpy(t->key, e->key, e->key_len);
	t->key_len = e->key_len;
	memcpy(t->key_end, e->key_end, e->key_end_len);
	t->key_end_len = e->key_end_len;
	memcpy(t->data, e->data, e->data_len);
	t->data_len = e->data_len;
	t->flags = e->flags;
	t->has_verdict = e->has_verdict;
	t->verdict = e->verdict;
	t->chain = e->chain;
	if (!(e->flags & NFT_SET_ELEM_INTERVAL_END)) {
		t->comment = e->owner;
		t->has_counter = s->counter;
	}
}

static char *plan_elem_text(const VwSet *s, const VwElem *e)
{
	NftElemText t;

	elem_text_of(s, e, &t);
	return nft_elem_text(&t);
}

static GPtrArray *plan_elems(const VwSet *s, const char *owner)
{
	GPtrArray *out = strv();

	for (guint i = 0; i < s->elems->len; i++) {
		const VwElem *e = s->elems->pdata[i];

		if (!owner || g_strcmp0(e->owner, owner) == 0)
			g_ptr_array_add(out, plan_elem_text(s, e));
	}
	return out;
}

static char *plan_rule_text(const VwTable *t, const char *chain, const VwRule *r)
{
	g_autoptr(nftnl_rule) nr = vw_nft_build_rule(t->family, t->name, chain, r);
	g_autofree char *canon = vw_nft_rule_canon(nr);

	return r->comment ? g_strdup_printf("%scomment \"%s\"", canon, r->comment) : g_steal_pointer(&canon);
}

static GPtrArray *plan_rules(const VwTable *t, const VwChain *c)
{
	GPtrArray *out = strv();

	for (guint i = 0; i < c->rules->len; i++)
		g_ptr_array_add(out, plan_rule_text(t, c->name, c->rules->pdata[i]));
	return out;
}

static char *plan_chain_text(const VwChain *c)
{
	if (c->type == VW_CHAIN_REGULAR)
		return g_strdup(c->name);
	return g_strdup_printf("%s type %s hook %u prio %d policy %u", c->name,
			       c->type == VW_CHAIN_NAT ? "nat" : "filter", c->hook, c->prio, NF_ACCEPT);
}

/* The kernel holds exactly table @t of a plan: its chains with their
 * rules, in order (the chains in the order made when @in_order), and its
 * sets with their elements. */
static void assert_one_table_is(Env *env, const VwTable *t, bool in_order)
{
	g_autoptr(GPtrArray) want_chains = strv();
	g_autoptr(GPtrArray) sets = v_table_sets(env, t);

	g_assert_nonnull(sets);
	for (guint i = 0; i < t->chains->len; i++) {
		const VwChain *c = t->chains->pdata[i];

		g_ptr_array_add(want_chains, plan_chain_text(c));
		assert_lists(v_rules(env, t->family, t->name, c->name), plan_rules(t, c), false);
	}
	assert_lists(v_chains(env, t->family, t->name), g_ptr_array_ref(want_chains), !in_order);
	g_assert_cmpuint(sets->len, ==, t->sets->len);
	for (guint i = 0; i < t->sets->len; i++) {
		const VwSet *s = t->sets->pdata[i];

		assert_lists(v_table_elems(env, t, s->name), plan_elems(s, NULL), true);
	}
}

/* virtwire's tables hold exactly @plan. */
static void assert_table_is(Env *env, const VwPlan *plan, bool in_order)
{
	for (int i = 0; i < VW_TABLES; i++)
		assert_one_table_is(env, &plan->tables[i], in_order);
}

static guint plan_count(const VwPlan *plan, const char *owner)
{
	guint n = 0;

	for (int t = 0; t < VW_TABLES; t++)
		for (guint i = 0; i < plan->tables[t].sets->len; i++) {
			const VwSet *s = plan->tables[t].sets->pdata[i];

			for (guint j = 0; j < s->elems->len; j++)
				if (!owner || g_strcmp0(((VwElem *)s->elems->pdata[j])->owner, owner) == 0)
					n++;
		}
	return n;
}

static const VwElem *plan_elem(const VwPlan *plan, const char *set, const char *text)
{
	const VwSet *s = vw_plan_find_set(plan, set);

	for (guint i = 0; s && i < s->elems->len; i++) {
		const VwElem *e = s->elems->pdata[i];

		if (g_strcmp0(vw_elem_text(s, e), text) == 0)
			return e;
	}
	g_error("the plan has no element %s in %s", text, set);
}

static int commit(Env *env, NftOther *b)
{
	return nft_other_commit(b, env->be);
}

/* Someone else removes (or adds) one element of table inet virtwire. */
static void other_elem(Env *env, bool add, const char *set, const NftElemText *t)
{
	g_autoptr(NftOther) b = nft_other_new();

	nft_other_elem(b, add, set, t);
	g_assert_cmpint(commit(env, b), ==, 0);
}

/* ---------------------------------------------------------------------- */
/* Scenarios */

/* Into an empty ruleset, in one batch; then again: nothing to send. */
static void test_apply_fresh(void)
{
	Env *env = env_new();
	const VwPlan *plan = PLAN(env, NULL, web_xml, db_xml);
	uint32_t g0 = gen(env);
	g_autoptr(VwNftResult) res = apply(env, plan, "web:*,db:*");
	g_autoptr(VwNftResult) again = NULL;
	g_autoptr(VwNftResult) dry = NULL;
	g_autoptr(GError) err = NULL;

	g_assert_cmpuint(res->messages, >, 0);
	assert_drift(res, "table inet virtwire", "is missing");
	assert_drift(res, "table bridge virtwire", "is missing");
	g_assert_cmpuint(res->drift->len, ==, 2);
	g_assert_cmpuint(res->elements_added, ==, plan_count(plan, NULL));
	g_assert_true(res->have_gen);
	g_assert_cmpuint(res->gen_before, ==, g0);
	g_assert_cmpuint(res->gen_after, ==, g0 + 1);
	g_assert_cmpuint(gen(env), ==, g0 + 1);
	assert_table_is(env, plan, true);

	again = apply(env, plan, "web:*,db:*");
	assert_nothing_to_do(again);
	g_assert_cmpuint(again->gen_before, ==, g0 + 1);
	dry = reconcile(env, plan, "web:*,db:*", VW_NFT_DRY_RUN, 0, &err);
	g_assert_no_error(err);
	assert_nothing_to_do(dry);
	g_assert_cmpuint(gen(env), ==, g0 + 1);
	env_free(env);
}

/* The element of @set whose plan text is @text, or (@end) the end of the
 * interval that element starts. */
static void elem_at(const VwPlan *plan, const char *set, const char *text, bool end, NftElemText *t)
{
	const VwSet *s = vw_plan_find_set(plan, set);

	for (guint i = 0; i < s->elems->len; i++) {
		if (g_strcmp0(vw_elem_text(s, s->elems->pdata[i]), text) == 0) {
			g_assert_true(!end || i + 1 < s->elems->len);
			elem_text_of(s, s->elems->pdata[end ? i + 1 : i], t);
			return;
		}
	}
	g_error("the plan has no element %s in %s", text, set);
}

/* Elements of every kind of set: an interval's end, a verdict, a
 * concatenated interval, a skeleton element (no owner). */
static void drift_kinds(Env *env, const VwPlan *plan)
{
	static const struct {
		const char *set, *text;
		bool end;
		const char *object, *what;
	} cases[] = {
		{ "snat4", "192.168.150.0/24 : jump nw-web-snat", true, "map snat4",
		  "element (interval end) is missing" },
		{ "snat6", "2001:db8:150::/64 : jump nw-web-snat", false, "map snat6",
		  "element 2001:db8:150::/64 : jump nw-web-snat is missing" },
		{ "fwd4anyallow", "tcp . 8443 . 198.51.100.0/24", false, "set fwd4anyallow",
		  "element tcp . 8443 . 198.51.100.0/24 is missing" },
		{ "host-services", "udp . 67", false, "set host-services", "element udp . 67 is missing" },
	};
	NftElemText t, drop;
	VwNftResult *res;

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		elem_at(plan, cases[i].set, cases[i].text, cases[i].end, &t);
		other_elem(env, false, cases[i].set, &t);
		res = apply(env, plan, "web:*");
		assert_drift(res, cases[i].object, cases[i].what);
		g_assert_cmpuint(res->drift->len, ==, 1);
		vw_nft_result_free(res);
		assert_table_is(env, plan, false);
	}
	/* A jump turned into a drop. */
	elem_at(plan, "egress", "\"vw-web\" : jump nw-web-out", false, &t);
	drop = t;
	drop.verdict = NF_DROP;
	drop.chain = NULL;
	{
		g_autoptr(NftOther) b = nft_other_new();

		nft_other_elem(b, false, "egress", &t);
		nft_other_elem(b, true, "egress", &drop);
		g_assert_cmpint(commit(env, b), ==, 0);
	}
	res = apply(env, plan, "web:*");
	assert_drift(res, "map egress", "element \"vw-web\" : jump nw-web-out differs");
	vw_nft_result_free(res);
	assert_table_is(env, plan, false);
}

/* An element removed, changed, added or left by someone else. */
static void test_drift_element(void)
{
	Env *env = env_new();
	const VwPlan *plan = PLAN(env, NULL, web_xml);
	const VwSet *fwd = vw_plan_find_set(plan, "fwd4any");
	const char *text = "tcp . 2222 : 192.168.150.10 . 22";
	g_autofree char *want = plan_elem_text(fwd, plan_elem(plan, "fwd4any", text));
	NftElemText t, other;
	g_autoptr(GError) err = NULL;
	VwNftResult *res = apply(env, plan, "web:*");

	vw_nft_result_free(res);
	elem_text_of(fwd, plan_elem(plan, "fwd4any", text), &t);

	/* Removed: reported, a dry run sends nothing, an apply puts it back. */
	other_elem(env, false, "fwd4any", &t);
	res = reconcile(env, plan, "web:*", VW_NFT_DRY_RUN, 0, &err);
	g_assert_no_error(err);
	assert_drift(res, "map fwd4any", "element tcp . 2222 : 192.168.150.10 . 22 is missing");
	g_assert_cmpuint(res->drift->len, ==, 1);
	g_assert_cmpuint(res->messages, ==, 1);
	g_assert_false(holds(v_elems(env, "fwd4any"), want));
	vw_nft_result_free(res);
	res = apply(env, plan, "web:*");
	assert_drift(res, "map fwd4any", "element tcp . 2222 : 192.168.150.10 . 22 is missing");
	g_assert_cmpuint(res->elements_added, ==, 1);
	g_assert_cmpuint(res->elements_deleted, ==, 0);
	vw_nft_result_free(res);
	assert_table_is(env, plan, false);

	/* Changed: the same key towards another port. */
	other = t;
	other.data[5] = 23;
	{
		g_autoptr(NftOther) b = nft_other_new();

		nft_other_elem(b, false, "fwd4any", &t);
		nft_other_elem(b, true, "fwd4any", &other);
		g_assert_cmpint(commit(env, b), ==, 0);
	}
	res = apply(env, plan, "web:*");
	assert_drift(res, "map fwd4any", "element tcp . 2222 : 192.168.150.10 . 22 differs");
	g_assert_cmpuint(res->elements_deleted, ==, 1);
	g_assert_cmpuint(res->elements_added, ==, 1);
	vw_nft_result_free(res);
	assert_table_is(env, plan, false);

	/* Added, with the network's name: not in its plan, so it goes. */
	other.key[5] = 0x5c; /* tcp . 2140 */
	other_elem(env, true, "fwd4any", &other);
	res = apply(env, plan, "web:*");
	assert_drift(res, "map fwd4any", "unexpected element 0x06000000085c0000 (of 'web')");
	g_assert_cmpuint(res->elements_deleted, ==, 1);
	vw_nft_result_free(res);
	assert_table_is(env, plan, false);

	/* Of an owner outside the scope: left as it is. */
	other.comment = (char *)"elsewhere";
	other_elem(env, true, "fwd4any", &other);
	res = apply(env, plan, "web:*");
	assert_nothing_to_do(res);
	vw_nft_result_free(res);
	{
		g_autofree char *theirs = nft_elem_text(&other);

		g_assert_true(holds(v_elems(env, "fwd4any"), theirs));
	}
	other_elem(env, false, "fwd4any", &other);
	drift_kinds(env, plan);
	env_free(env);
}

static struct nftnl_rule *accept_rule(int family, const char *table, const char *chain, const char *comment)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nftnl_expr *e = nftnl_expr_alloc("immediate");

	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, table);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, (uint32_t)family);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, NF_ACCEPT);
	nftnl_rule_add_expr(r, e);
	if (comment) {
		struct nftnl_udata_buf *ud = nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN);

		nftnl_udata_put_strz(ud, NFTNL_UDATA_RULE_COMMENT, comment);
		nftnl_rule_set_data(r, NFTNL_RULE_USERDATA, nftnl_udata_buf_data(ud), nftnl_udata_buf_len(ud));
		nftnl_udata_buf_free(ud);
	}
	return r;
}

static guint64 handle_at(Env *env, int family, const char *table, const char *chain, guint i)
{
	g_autoptr(GArray) h = nft_view_handles(env->be, family, table, chain);

	g_assert_nonnull(h);
	g_assert_cmpuint(i, <, h->len);
	return g_array_index(h, guint64, i);
}

/* Someone else deletes rule @i of a chain (and inserts @add at its head or
 * appends it). */
static void other_rules(Env *env, int family, const char *table, const char *chain, int del, struct nftnl_rule *add,
			bool append)
{
	g_autoptr(NftOther) b = nft_other_new();

	if (del >= 0)
		nft_other_del_rule(b, family, table, chain, handle_at(env, family, table, chain, (guint)del));
	if (add)
		nft_other_rule(b, add, append);
	g_assert_cmpint(commit(env, b), ==, 0);
}

/* A chain's rule removed, changed, or one too many. */
static void test_drift_rule(void)
{
	Env *env = env_new();
	const VwPlan *plan = PLAN(env, NULL, web_xml);
	const VwChain *fw = vw_plan_find_chain(plan, "forward");
	const VwChain *out = vw_plan_find_chain(plan, "nw-web-out");
	g_autofree char *why = NULL;
	VwNftResult *res = apply(env, plan, "web:*");

	vw_nft_result_free(res);
	g_assert_cmpuint(fw->rules->len, >=, 3);

	other_rules(env, NFPROTO_INET, VW_NFT_TABLE, "forward", 1, NULL, false);
	res = apply(env, plan, "web:*");
	why = g_strdup_printf("rule 2 differs from: %s", ((VwRule *)fw->rules->pdata[1])->text);
	assert_drift(res, "chain forward", why);
	vw_nft_result_free(res);
	assert_table_is(env, plan, false);

	g_clear_pointer(&why, g_free);
	other_rules(env, NFPROTO_INET, VW_NFT_TABLE, "forward", 0,
		    accept_rule(NFPROTO_INET, VW_NFT_TABLE, "forward", NULL), false);
	res = apply(env, plan, "web:*");
	why = g_strdup_printf("rule 1 differs from: %s", ((VwRule *)fw->rules->pdata[0])->text);
	assert_drift(res, "chain forward", why);
	vw_nft_result_free(res);
	assert_table_is(env, plan, false);

	g_clear_pointer(&why, g_free);
	other_rules(env, NFPROTO_INET, VW_NFT_TABLE, "forward", -1,
		    accept_rule(NFPROTO_INET, VW_NFT_TABLE, "forward", NULL), true);
	res = apply(env, plan, "web:*");
	why = g_strdup_printf("1 unexpected rule after the %u expected", fw->rules->len);
	assert_drift(res, "chain forward", why);
	vw_nft_result_free(res);
	assert_table_is(env, plan, false);

	/* A network's own chain, emptied. */
	g_clear_pointer(&why, g_free);
	for (guint i = 0; i < out->rules->len; i++)
		other_rules(env, NFPROTO_INET, VW_NFT_TABLE, "nw-web-out", 0, NULL, false);
	res = apply(env, plan, "web:*");
	why = g_strdup_printf("rule 1 is missing: %s", ((VwRule *)out->rules->pdata[0])->text);
	assert_drift(res, "chain nw-web-out", why);
	vw_nft_result_free(res);
	assert_table_is(env, plan, false);
	res = apply(env, plan, "web:*");
	assert_nothing_to_do(res);
	vw_nft_result_free(res);
	env_free(env);
}

/* An element another network holds: refused before anything is sent. */
static void test_conflict(void)
{
	Env *env = env_new();
	const VwPlan *web = PLAN(env, NULL, web_xml);
	const VwPlan *db = PLAN(env, NULL, db_clash_xml);
	g_autoptr(GError) err = NULL;
	g_autoptr(GPtrArray) before = NULL;
	uint32_t g1;
	guint batches;
	VwNftResult *res = apply(env, web, "web:*");

	vw_nft_result_free(res);
	g1 = gen(env);
	before = v_elems(env, "fwd4any");
	batches = env->fake ? fake_nft_batches(env->fake) : 0;
	res = reconcile(env, db, "db:*", 0, 0, &err);
	g_assert_null(res);
	g_assert_error(err, VW_ERROR, VW_ERROR_CONFLICT);
	g_assert_cmpstr(err->message, ==, "the forward tcp . 2222 of network 'db' is already taken by network 'web'");
	g_assert_cmpuint(gen(env), ==, g1);
	if (env->fake)
		g_assert_cmpuint(fake_nft_batches(env->fake), ==, batches);
	assert_lists(v_elems(env, "fwd4any"), g_ptr_array_ref(before), true);
	g_assert_false(holds(v_chains(env, NFPROTO_INET, VW_NFT_TABLE), "nw-db-out"));
	env_free(env);
}

/* A set of another type: refused; rebuilt in one batch when asked. */
static void test_incompatible(void)
{
	Env *env = env_new();
	const VwPlan *plan = PLAN(env, NULL, web_xml);
	g_autoptr(NftOther) b = nft_other_new();
	g_autoptr(GError) err = NULL;
	VwNftResult *res;
	uint32_t g1;

	nft_other_table(b, true, NFPROTO_INET, VW_NFT_TABLE);
	nft_other_set(b, "bridges", 0, 7 /* ipv4_addr */, 4);
	g_assert_cmpint(commit(env, b), ==, 0);
	g1 = gen(env);
	res = reconcile(env, plan, "web:*", 0, 0, &err);
	g_assert_null(res);
	g_assert_error(err, VW_ERROR, VW_ERROR_INCOMPATIBLE);
	g_assert_cmpstr(err->message, ==, "set bridges in table inet virtwire has another type than this virtwire's");
	g_assert_cmpuint(gen(env), ==, g1);

	res = reconcile(env, plan, "web:*", VW_NFT_REBUILD, 0, NULL);
	g_assert_nonnull(res);
	assert_drift(res, "table inet virtwire", "is rebuilt");
	g_assert_cmpuint(res->gen_before, ==, g1);
	g_assert_cmpuint(res->gen_after, ==, g1 + 1);
	g_assert_cmpuint(gen(env), ==, g1 + 1);
	vw_nft_result_free(res);
	assert_table_is(env, plan, true);

	/* A base chain at another priority. */
	{
		g_autoptr(NftOther) c = nft_other_new();

		nft_other_chain(c, false, NFPROTO_INET, VW_NFT_TABLE, "output", NULL, 0, 0);
		nft_other_chain(c, true, NFPROTO_INET, VW_NFT_TABLE, "output", "filter", NF_INET_LOCAL_OUT, 10);
		g_assert_cmpint(commit(env, c), ==, 0);
	}
	g_clear_error(&err);
	g1 = gen(env);
	g_assert_null(reconcile(env, plan, "web:*", 0, 0, &err));
	g_assert_error(err, VW_ERROR, VW_ERROR_INCOMPATIBLE);
	g_assert_cmpstr(err->message, ==,
			"chain output in table inet virtwire has another hook or priority than this virtwire's");
	g_assert_cmpuint(gen(env), ==, g1);
	res = reconcile(env, plan, "web:*", VW_NFT_REBUILD, 0, NULL);
	g_assert_nonnull(res);
	vw_nft_result_free(res);
	assert_table_is(env, plan, true);
	env_free(env);
}

/* Someone else's chain in a table of theirs. */
static void other_base_chain(Env *env, int family, const char *table, const char *chain)
{
	g_autoptr(NftOther) b = nft_other_new();

	nft_other_table(b, true, family, table);
	nft_other_chain(b, true, family, table, chain, "filter", NF_INET_FORWARD, 0);
	g_assert_cmpint(commit(env, b), ==, 0);
}

/* The last network goes: the whole table, nothing else. */
static void test_delete_table(void)
{
	Env *env = env_new();
	const VwPlan *plan = PLAN(env, NULL, web_xml, db_xml);
	g_autoptr(GPtrArray) theirs = NULL;
	VwNftResult *res;
	uint32_t g1;

	other_base_chain(env, NFPROTO_IPV4, "filter", "FORWARD");
	theirs = v_chains(env, NFPROTO_IPV4, "filter");
	res = apply(env, plan, "web:*,db:*");
	vw_nft_result_free(res);
	g1 = gen(env);
	res = reconcile(env, NULL, "web:*,db:*", VW_NFT_DELETE_TABLE, 0, NULL);
	g_assert_nonnull(res);
	assert_drift(res, "table inet virtwire", "is present");
	assert_drift(res, "table bridge virtwire", "is present");
	g_assert_cmpuint(res->messages, ==, 2);
	g_assert_cmpuint(res->gen_after, ==, g1 + 1);
	vw_nft_result_free(res);
	g_assert_null(v_chains(env, NFPROTO_INET, VW_NFT_TABLE));
	g_assert_null(v_chains(env, NFPROTO_BRIDGE, VW_NFT_TABLE));
	assert_lists(v_chains(env, NFPROTO_IPV4, "filter"), g_ptr_array_ref(theirs), false);

	res = reconcile(env, NULL, "web:*,db:*", VW_NFT_DELETE_TABLE, 0, NULL);
	g_assert_nonnull(res);
	assert_nothing_to_do(res);
	vw_nft_result_free(res);
	env_free(env);
}

/* A network leaves; the other's part stays as it is. */
static void test_network_leaves(void)
{
	Env *env = env_new();
	const VwPlan *both = PLAN(env, NULL, web_xml, db_xml);
	const VwPlan *db = PLAN(env, NULL, db_xml);
	VwNftResult *res = apply(env, both, "web:*,db:*");
	NftElemText start;

	vw_nft_result_free(res);
	/* Someone deleted the start of web's interval alone: its end stays in
	 * the kernel, lone, and goes only with a start. */
	elem_at(both, "snat4", "192.168.150.0/24 : jump nw-web-snat", false, &start);
	other_elem(env, false, "snat4", &start);
	res = apply(env, db, "web:*");
	assert_drift(res, "map snat4", "unexpected element 0xc0a89700 (an interval end without its start)");
	assert_drift(res, "chain nw-web-out", "is not in the network's plan (left over)");
	assert_drift(res, "chain nw-web-snat", "is not in the network's plan (left over)");
	/* Less the start, plus the start added to delete the lone end. */
	g_assert_cmpuint(res->elements_deleted, ==, plan_count(both, "web"));
	g_assert_cmpuint(res->elements_added, ==, 0);
	vw_nft_result_free(res);
	assert_table_is(env, db, false);
	res = apply(env, db, "web:*,db:*");
	assert_nothing_to_do(res);
	vw_nft_result_free(res);
	env_free(env);
}

/* The same forwards on another port of the same domain: taken. */
static void port_conflict(Env *env, const VwPlan *with_port)
{
	static const char other[] = "0c5b1e4e-7c1f-4f43-9f6e-2a1d3c4b5a69";
	const VwPlan *twice = plan_of(env, (const char *const[]){ public_xml, NULL }, web1_xml, other);
	g_autofree char *tag = g_strdup_printf("public:%s", other);
	g_autoptr(GError) err = NULL;
	uint32_t g1;
	VwNftResult *res = apply(env, with_port, "public:" PORT_UUID);

	vw_nft_result_free(res);
	g1 = gen(env);
	g_assert_null(reconcile(env, twice, tag, 0, 0, &err));
	g_assert_error(err, VW_ERROR, VW_ERROR_CONFLICT);
	g_assert_cmpstr(err->message, ==,
			"the forward tcp . 10080 of port 0c5b1e4e-7c1f-4f43-9f6e-2a1d3c4b5a69 of network 'public' is "
			"already taken by port " PORT_UUID " of network 'public'");
	g_assert_cmpuint(gen(env), ==, g1);
}

/* A port's reconcile touches its own elements and nothing else. */
static void test_port_scope(void)
{
	Env *env = env_new();
	const VwPlan *net = PLAN(env, NULL, public_xml);
	const VwPlan *with_port = PLAN(env, web1_xml, public_xml);
	const char *port = "public:" PORT_UUID;
	const VwElem *gw = plan_elem(net, "gw4", "192.168.152.1");
	g_autofree char *gw_text = plan_elem_text(vw_plan_find_set(net, "gw4"), gw);
	guint n = plan_count(with_port, port);
	NftElemText t;
	VwNftResult *res = apply(env, net, "public:*");

	vw_nft_result_free(res);
	g_assert_cmpuint(n, >=, 4);
	/* The network's own element goes missing: not the port's business. */
	elem_text_of(vw_plan_find_set(net, "gw4"), gw, &t);
	other_elem(env, false, "gw4", &t);

	res = apply(env, with_port, port);
	g_assert_cmpuint(res->elements_added, ==, n);
	g_assert_cmpuint(res->elements_deleted, ==, 0);
	g_assert_cmpuint(res->drift->len, ==, n);
	for (guint i = 0; i < res->drift->len; i++)
		g_assert_true(g_str_has_suffix(((VwDrift *)res->drift->pdata[i])->what, "is missing"));
	vw_nft_result_free(res);
	g_assert_false(holds(v_elems(env, "gw4"), gw_text));
	for (int ti = 0; ti < VW_TABLES; ti++)
		for (guint i = 0; i < with_port->tables[ti].sets->len; i++) {
			const VwSet *s = with_port->tables[ti].sets->pdata[i];
			g_autoptr(GPtrArray) mine = plan_elems(s, port);
			g_autoptr(GPtrArray) got = v_table_elems(env, &with_port->tables[ti], s->name);

			for (guint j = 0; j < mine->len; j++)
				g_assert_true(has_str(got, mine->pdata[j]));
		}
	res = apply(env, with_port, port);
	assert_nothing_to_do(res);
	vw_nft_result_free(res);

	/* The port goes: its elements, and only they. */
	res = apply(env, net, port);
	g_assert_cmpuint(res->elements_deleted, ==, n);
	g_assert_cmpuint(res->elements_added, ==, 0);
	vw_nft_result_free(res);
	g_assert_false(holds(v_elems(env, "gw4"), gw_text));
	res = apply(env, net, "public:*");
	assert_drift(res, "set gw4", "element 192.168.152.1 is missing");
	vw_nft_result_free(res);
	assert_table_is(env, net, false);
	port_conflict(env, with_port);
	env_free(env);
}

#define OTHER_PORT "5c3a0e41-1c7b-4a7e-9d2b-8f0c2a9e7b01"
/* A guest on network "public" whose tap libvirt has named. */
#define TAP_DOMAIN(tap, extra)                                                                      \
	"<domain type='kvm'>\n  <name>tapped</name>\n  <devices>\n    <interface type='network'>\n" \
	"      <mac address='" PORT_MAC "'/>\n      <source network='public'/>\n"                   \
	"      <target dev='" tap "'/>\n" extra "    </interface>\n  </devices>\n</domain>\n"

/* Taps are reused: a port takes over what another port held in the spoof
 * filter; what a network holds, it cannot. */
static void test_port_takeover(void)
{
	Env *env = env_new();
	const char *const pub[] = { public_xml, NULL };
	const VwPlan *a = plan_of(env, pub, TAP_DOMAIN("vnet5", ""), PORT_UUID);
	const VwPlan *b = plan_of(env, pub, TAP_DOMAIN("vnet5", ""), OTHER_PORT);
	const VwPlan *c = plan_of(env, pub, TAP_DOMAIN("vnet6", "<ip address='192.168.150.10' prefix='24'/>"),
				  OTHER_PORT);
	const VwPlan *web = PLAN(env, NULL, web_xml);
	const VwTable *br = &b->tables[VW_TABLE_BRIDGE];
	g_autoptr(GError) err = NULL;
	VwNftResult *res = apply(env, a, "public:*");

	vw_nft_result_free(res);
	g_assert_cmpuint(plan_count(b, "public:" OTHER_PORT), >=, 5);
	res = apply(env, b, "public:" OTHER_PORT);
	g_assert_cmpuint(res->elements_added, ==, plan_count(b, "public:" OTHER_PORT));
	vw_nft_result_free(res);
	for (guint i = 0; i < br->sets->len; i++) {
		const VwSet *s = br->sets->pdata[i];
		g_autoptr(GPtrArray) mine = plan_elems(s, "public:" OTHER_PORT);
		g_autoptr(GPtrArray) got = v_table_elems(env, br, s->name);

		for (guint j = 0; j < mine->len; j++)
			g_assert_true(has_str(got, mine->pdata[j]));
	}
	res = apply(env, web, "web:*");
	vw_nft_result_free(res);
	res = reconcile(env, c, "public:" OTHER_PORT, 0, 0, &err);
	g_assert_null(res);
	g_assert_error(err, VW_ERROR, VW_ERROR_CONFLICT);
	g_assert_nonnull(strstr(err->message, "guest port or address 192.168.150.10 of "));
	g_assert_nonnull(strstr(err->message, "already belongs to network 'web'"));
	env_free(env);
}

/* A batch refused at any of its messages changes nothing. */
static void test_fault(void)
{
	Env *env = env_new();
	const VwPlan *plan = PLAN(env, NULL, web_xml);
	const char *refused = "the kernel refused to add rule to chain vw-fault-injected (test fault point) (nothing "
			      "was changed): No such file or directory";
	g_autoptr(GError) err = NULL;
	VwNftResult *res = reconcile(env, plan, "web:*", VW_NFT_DRY_RUN, 0, &err);
	guint msgs = res->messages;
	uint32_t g0 = gen(env);
	NftElemText t;

	vw_nft_result_free(res);
	for (guint n = 1; n <= msgs + 1; n++) {
		g_clear_error(&err);
		g_assert_null(reconcile(env, plan, "web:*", 0, n, &err));
		g_assert_error(err, VW_ERROR, VW_ERROR_FAILED);
		if (!g_str_has_prefix(err->message, refused))
			g_error("fault %u: %s", n, err->message);
		g_assert_cmpuint(gen(env), ==, g0);
		g_assert_cmpuint(count_tables(env), ==, 0);
	}

	/* On a table that is there: the repair is refused whole, too. */
	res = apply(env, plan, "web:*");
	vw_nft_result_free(res);
	elem_text_of(vw_plan_find_set(plan, "fwd4any"),
		     plan_elem(plan, "fwd4any", "tcp . 8000 : 192.168.150.12 . 9000"), &t);
	other_elem(env, false, "fwd4any", &t);
	g0 = gen(env);
	g_clear_error(&err);
	g_assert_null(reconcile(env, plan, "web:*", 0, 1, &err));
	g_assert_true(g_str_has_prefix(err->message, refused));
	g_assert_cmpuint(gen(env), ==, g0);
	res = reconcile(env, plan, "web:*", VW_NFT_DRY_RUN, 0, NULL);
	g_assert_cmpuint(res->drift->len, ==, 1);
	vw_nft_result_free(res);

	/* The fake can refuse any batch, naming its first message. */
	if (env->fake) {
		fake_nft_fail_next_commit(env->fake, EPERM);
		g_clear_error(&err);
		g_assert_null(reconcile(env, plan, "web:*", 0, 0, &err));
		g_assert_error(err, VW_ERROR, VW_ERROR_PERMISSION);
		g_assert_cmpstr(err->message, ==,
				"the kernel refused to add element tcp . 8000 : 192.168.150.12 . 9000 to fwd4any "
				"(nothing was changed): Operation not permitted (refused by the test "
				"(fake_nft_fail_next_commit))");
		g_assert_cmpuint(gen(env), ==, g0);
	}
	res = apply(env, plan, "web:*");
	vw_nft_result_free(res);
	assert_table_is(env, plan, false);
	env_free(env);
}

/* The generation moves with every batch that commits something, whoever
 * sends it, and with nothing else. */
static void test_generation(void)
{
	Env *env = env_new();
	const VwPlan *plan = PLAN(env, NULL, web_xml);
	uint32_t g0 = gen(env);
	VwNftResult *res;

	{
		g_autoptr(NftOther) b = nft_other_new();

		nft_other_table(b, true, NFPROTO_IPV4, "other");
		g_assert_cmpint(commit(env, b), ==, 0);
		g_assert_cmpuint(gen(env), ==, g0 + 1);
	}
	{
		g_autoptr(NftOther) b = nft_other_new();

		nft_other_rule(b, accept_rule(NFPROTO_IPV4, "other", "missing", NULL), true);
		g_assert_cmpint(commit(env, b), ==, -ENOENT);
		g_assert_cmpuint(gen(env), ==, g0 + 1);
	}
	{
		/* A table that is there already: nothing to commit. */
		g_autoptr(NftOther) b = nft_other_new();

		nft_other_table(b, true, NFPROTO_IPV4, "other");
		g_assert_cmpint(commit(env, b), ==, 0);
		g_assert_cmpuint(gen(env), ==, g0 + 1);
	}
	res = apply(env, plan, "web:*");
	g_assert_cmpuint(res->gen_before, ==, g0 + 1);
	g_assert_cmpuint(res->gen_after, ==, g0 + 2);
	vw_nft_result_free(res);
	res = apply(env, plan, "web:*");
	assert_nothing_to_do(res);
	g_assert_cmpuint(res->gen_before, ==, g0 + 2);
	vw_nft_result_free(res);
	{
		g_autoptr(NftOther) b = nft_other_new();

		nft_other_chain(b, true, NFPROTO_IPV4, "other", "c", NULL, 0, 0);
		g_assert_cmpint(commit(env, b), ==, 0);
	}
	res = apply(env, plan, "web:*");
	assert_nothing_to_do(res);
	g_assert_cmpuint(res->gen_before, ==, g0 + 3);
	vw_nft_result_free(res);
	env_free(env);
}

/* A dump a commit interrupted is read again, wherever it happens. */
static void test_dump_interrupted(void)
{
	Env *env = env_new();
	const VwPlan *plan = PLAN(env, NULL, web_xml, lvnat_xml);
	NftElemText t;
	guint d0, dumps;
	VwNftResult *res;

	if (!env->fake) {
		g_test_skip("fake only: the kernel interrupts a dump only when a commit lands during it");
		env_free(env);
		return;
	}
	other_base_chain(env, NFPROTO_IPV4, "filter", "FORWARD");
	res = apply(env, plan, "web:*,lvnat:*");
	vw_nft_result_free(res);
	elem_text_of(vw_plan_find_set(plan, "fwd4any"), plan_elem(plan, "fwd4any", "tcp . 2222 : 192.168.150.10 . 22"),
		     &t);
	other_elem(env, false, "fwd4any", &t);

	d0 = fake_nft_dumps(env->fake);
	res = reconcile(env, plan, "web:*,lvnat:*", VW_NFT_DRY_RUN, 0, NULL);
	dumps = fake_nft_dumps(env->fake) - d0;
	vw_nft_result_free(res);
	g_assert_cmpuint(dumps, >, 5);
	for (guint n = 1; n <= dumps; n++) {
		guint before = fake_nft_dumps(env->fake);

		fake_nft_interrupt_dump(env->fake, n);
		res = reconcile(env, plan, "web:*,lvnat:*", VW_NFT_DRY_RUN, 0, NULL);
		g_assert_nonnull(res);
		/* The same one difference, once: nothing of the interrupted
		 * dump was kept. */
		g_assert_cmpuint(res->drift->len, ==, 1);
		assert_drift(res, "map fwd4any", "element tcp . 2222 : 192.168.150.10 . 22 is missing");
		g_assert_cmpuint(fake_nft_dumps(env->fake) - before, >, dumps);
		vw_nft_result_free(res);
	}
	env_free(env);
}

/* A backend in front of another that commits someone else's batch just
 * before the first batch it is given: a change between virtwire's reading
 * of the ruleset and its commit. */
typedef struct {
	const VwNftBackend *inner;
	NftOther *first; /* committed before the next batch, once */
	bool churn;	 /* before every batch, a table comes or goes */
	guint batches;
} Race;

static int race_request(void *ctx, const struct nlmsghdr *req, VwNftReplyFn cb, void *data)
{
	Race *r = ctx;

	return r->inner->request(r->inner->ctx, req, cb, data);
}

static int race_commit(void *ctx, const struct iovec *iov, size_t n, uint32_t *seq, char **ext)
{
	Race *r = ctx;
	g_autoptr(NftOther) first = g_steal_pointer(&r->first);

	if (first)
		g_assert_cmpint(nft_other_commit(first, r->inner), ==, 0);
	if (r->churn) {
		first = nft_other_new();
		nft_other_table(first, r->batches % 2 == 0, NFPROTO_IPV4, "churn");
		g_assert_cmpint(nft_other_commit(first, r->inner), ==, 0);
	}
	r->batches++;
	return r->inner->commit(r->inner->ctx, iov, n, seq, ext);
}

/* Someone else changes the ruleset after virtwire read it and before its
 * batch lands: the batch, made for what was read, must not land on what is
 * there now; virtwire reads again and makes it right. */
static void test_race(void)
{
	Env *env = env_new();
	const VwPlan *plan = PLAN(env, NULL, web_xml);
	const VwSet *fwd = vw_plan_find_set(plan, "fwd4any");
	Race race = { env->be, NULL, false, 0 };
	g_autoptr(GError) err = NULL;
	VwNftBackend racing = { &race, race_request, race_commit, NULL };
	VwNftBackend *own = env->be;
	NftElemText mine, theirs;
	VwNftResult *res = apply(env, plan, "web:*");

	vw_nft_result_free(res);
	elem_text_of(fwd, plan_elem(plan, "fwd4any", "tcp . 8000 : 192.168.150.12 . 9000"), &mine);
	elem_text_of(fwd, plan_elem(plan, "fwd4any", "tcp . 2222 : 192.168.150.10 . 22"), &theirs);
	other_elem(env, false, "fwd4any", &mine);

	/* An element goes while virtwire puts back another. */
	race.first = nft_other_new();
	nft_other_elem(race.first, false, "fwd4any", &theirs);
	env->be = &racing;
	res = apply(env, plan, "web:*");
	assert_drift(res, "map fwd4any", "element tcp . 8000 : 192.168.150.12 . 9000 is missing");
	assert_drift(res, "map fwd4any", "element tcp . 2222 : 192.168.150.10 . 22 is missing");
	g_assert_cmpuint(res->gen_after, ==, res->gen_before + 1);
	g_assert_cmpuint(race.batches, ==, 2);
	vw_nft_result_free(res);
	env->be = own;
	assert_table_is(env, plan, false);

	/* The whole table goes while virtwire repairs an element. */
	other_elem(env, false, "fwd4any", &mine);
	race.first = nft_other_new();
	nft_other_table(race.first, false, NFPROTO_INET, VW_NFT_TABLE);
	env->be = &racing;
	res = apply(env, plan, "web:*");
	assert_drift(res, "table inet virtwire", "is missing");
	vw_nft_result_free(res);
	env->be = own;
	assert_table_is(env, plan, true);

	/* Someone commits before every batch: virtwire gives up, and its
	 * batches changed nothing. */
	other_elem(env, false, "fwd4any", &mine);
	race.churn = true;
	race.batches = 0;
	env->be = &racing;
	g_assert_null(reconcile(env, plan, "web:*", 0, 0, &err));
	env->be = own;
	g_assert_error(err, VW_ERROR, VW_ERROR_FAILED);
	g_assert_cmpstr(err->message, ==,
			"the ruleset kept changing between virtwire's reading and its batch (nothing was changed)");
	g_assert_cmpuint(race.batches, ==, 10);
	{
		g_autofree char *text = nft_elem_text(&mine);

		g_assert_false(holds(v_elems(env, "fwd4any"), text));
	}
	env_free(env);
}

/* ---------------------------------------------------------------------- */
/* The rules in other tables */

/* libvirt's forward paths as its two firewall backends write them: ip and
 * ip6 filter FORWARD (iptables-nft) jumping to LIBVIRT_FWI, and ip
 * libvirt_network forward jumping to guest_cross. */
static void libvirt_tables(Env *env)
{
	static const struct {
		int family;
		const char *table, *chain, *jump;
	} paths[] = {
		{ NFPROTO_IPV4, "filter", "FORWARD", "LIBVIRT_FWI" },
		{ NFPROTO_IPV6, "filter", "FORWARD", "LIBVIRT_FWI" },
		{ NFPROTO_IPV4, "libvirt_network", "forward", "guest_cross" },
	};
	g_autoptr(NftOther) b = nft_other_new();

	for (size_t i = 0; i < G_N_ELEMENTS(paths); i++) {
		struct nftnl_rule *r = accept_rule(paths[i].family, paths[i].table, paths[i].chain, NULL);
		struct nftnl_rule *jump = nftnl_rule_alloc();
		struct nftnl_expr *e = nftnl_expr_alloc("immediate");

		nft_other_table(b, true, paths[i].family, paths[i].table);
		nft_other_chain(b, true, paths[i].family, paths[i].table, paths[i].chain, "filter", NF_INET_FORWARD, 0);
		nft_other_chain(b, true, paths[i].family, paths[i].table, paths[i].jump, NULL, 0, 0);
		nftnl_rule_set_str(jump, NFTNL_RULE_TABLE, paths[i].table);
		nftnl_rule_set_str(jump, NFTNL_RULE_CHAIN, paths[i].chain);
		nftnl_rule_set_u32(jump, NFTNL_RULE_FAMILY, (uint32_t)paths[i].family);
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, (uint32_t)NFT_JUMP);
		nftnl_expr_set_str(e, NFTNL_EXPR_IMM_CHAIN, paths[i].jump);
		nftnl_rule_add_expr(jump, e);
		nft_other_rule(b, jump, true);
		nft_other_rule(b, r, true);
	}
	g_assert_cmpint(commit(env, b), ==, 0);
}

/* Chain @chain starts with virtwire's rules for @ids (in that order), each
 * once, and goes on with @theirs exactly. */
static void assert_on_top(Env *env, int family, const char *table, const char *chain, const char *const *ids,
			  GPtrArray *theirs)
{
	g_autoptr(GPtrArray) rules = v_rules(env, family, table, chain);
	g_autoptr(GPtrArray) rest = strv();
	guint n = g_strv_length((char **)ids);

	g_assert_nonnull(rules);
	g_assert_cmpuint(rules->len, ==, n + theirs->len);
	for (guint i = 0; i < rules->len; i++) {
		if (i < n) {
			g_autofree char *tag = g_strdup_printf("comment \"virtwire: network %s\"", ids[i]);

			if (!g_str_has_suffix(rules->pdata[i], tag))
				g_error("%s: rule %u is not virtwire's for %s: %s", chain, i + 1, ids[i],
					(char *)rules->pdata[i]);
		} else {
			g_ptr_array_add(rest, g_strdup(rules->pdata[i]));
		}
	}
	assert_lists(g_steal_pointer(&rest), g_ptr_array_ref(theirs), false);
}

#define IDS(...) ((const char *const[]){ __VA_ARGS__, NULL })

/* A copy of a chain's rule @i, to put back elsewhere. */
static struct nftnl_rule *rule_copy(Env *env, int family, const char *table, const char *chain, guint i)
{
	struct nftnl_rule *r = nft_view_rule(env->be, family, table, chain, i);

	g_assert_nonnull(r);
	nftnl_rule_unset(r, NFTNL_RULE_HANDLE);
	nftnl_rule_unset(r, NFTNL_RULE_POSITION);
	return r;
}

static void test_coexist(void)
{
	Env *env = env_new();
	const VwPlan *plan = PLAN(env, NULL, lvnat_xml);
	const VwPlan *both = PLAN(env, NULL, lvnat_xml, lvnat2_xml);
	const VwPlan *second = PLAN(env, NULL, lvnat2_xml);
	g_autoptr(GPtrArray) v4 = NULL, v6 = NULL, lv = NULL;
	g_autofree char *first = NULL;
	VwNftResult *res;

	libvirt_tables(env);
	v4 = v_rules(env, NFPROTO_IPV4, "filter", "FORWARD");
	v6 = v_rules(env, NFPROTO_IPV6, "filter", "FORWARD");
	lv = v_rules(env, NFPROTO_IPV4, "libvirt_network", "forward");

	res = apply(env, plan, "lvnat:*");
	assert_drift(res, "iptables FORWARD", "virtwire's accept for network lvnat is missing");
	assert_drift(res, "ip6tables FORWARD", "virtwire's accept for network lvnat is missing");
	assert_drift(res, "chain forward of ip libvirt_network", "virtwire's accept for network lvnat is missing");
	vw_nft_result_free(res);
	assert_on_top(env, NFPROTO_IPV4, "filter", "FORWARD", IDS("lvnat"), v4);
	assert_on_top(env, NFPROTO_IPV6, "filter", "FORWARD", IDS("lvnat"), v6);
	assert_on_top(env, NFPROTO_IPV4, "libvirt_network", "forward", IDS("lvnat"), lv);
	/* libvirt's nftables backend is not there for IPv6: nothing made. */
	g_assert_null(v_chains(env, NFPROTO_IPV6, "libvirt_network"));
	first = rule_at(env, NFPROTO_IPV4, "libvirt_network", "forward", 0);
	res = apply(env, plan, "lvnat:*");
	assert_nothing_to_do(res);
	vw_nft_result_free(res);
	/* A port's reconcile finds the network's rules in place: it adds no
	 * second one. */
	res = apply(env, plan, "lvnat:" PORT_UUID);
	assert_nothing_to_do(res);
	vw_nft_result_free(res);
	assert_on_top(env, NFPROTO_IPV4, "filter", "FORWARD", IDS("lvnat"), v4);

	/* Moved below libvirt's rules (as a rebuild that inserts at the top). */
	other_rules(env, NFPROTO_IPV4, "filter", "FORWARD", 0, rule_copy(env, NFPROTO_IPV4, "filter", "FORWARD", 0),
		    true);
	res = apply(env, plan, "lvnat:*");
	assert_drift(res, "iptables FORWARD", "virtwire's accept for network lvnat is below other rules");
	g_assert_cmpuint(res->drift->len, ==, 1);
	vw_nft_result_free(res);
	assert_on_top(env, NFPROTO_IPV4, "filter", "FORWARD", IDS("lvnat"), v4);

	/* Altered: another rule under virtwire's comment. */
	other_rules(env, NFPROTO_IPV4, "libvirt_network", "forward", 0,
		    accept_rule(NFPROTO_IPV4, "libvirt_network", "forward", "virtwire: network lvnat"), false);
	res = apply(env, plan, "lvnat:*");
	assert_drift(res, "chain forward of ip libvirt_network",
		     "virtwire's accept for network lvnat is not the expected rule");
	vw_nft_result_free(res);
	assert_on_top(env, NFPROTO_IPV4, "libvirt_network", "forward", IDS("lvnat"), lv);
	{
		g_autofree char *now = rule_at(env, NFPROTO_IPV4, "libvirt_network", "forward", 0);

		g_assert_cmpstr(now, ==, first);
	}

	/* Twice: one goes. */
	other_rules(env, NFPROTO_IPV6, "filter", "FORWARD", -1, rule_copy(env, NFPROTO_IPV6, "filter", "FORWARD", 0),
		    false);
	res = apply(env, plan, "lvnat:*");
	assert_drift(res, "ip6tables FORWARD", "virtwire's accept for network lvnat is not the expected rule");
	vw_nft_result_free(res);
	assert_on_top(env, NFPROTO_IPV6, "filter", "FORWARD", IDS("lvnat"), v6);

	/* Removed: put back on top. */
	other_rules(env, NFPROTO_IPV4, "filter", "FORWARD", 0, NULL, false);
	res = apply(env, plan, "lvnat:*");
	assert_drift(res, "iptables FORWARD", "virtwire's accept for network lvnat is missing");
	vw_nft_result_free(res);
	assert_on_top(env, NFPROTO_IPV4, "filter", "FORWARD", IDS("lvnat"), v4);

	/* A second network's goes on top too; the first leaves. */
	res = apply(env, both, "lvnat2:*");
	vw_nft_result_free(res);
	assert_on_top(env, NFPROTO_IPV4, "filter", "FORWARD", IDS("lvnat2", "lvnat"), v4);
	assert_on_top(env, NFPROTO_IPV4, "libvirt_network", "forward", IDS("lvnat2", "lvnat"), lv);
	res = apply(env, second, "lvnat:*");
	assert_drift(res, "iptables FORWARD", "virtwire's accept for network lvnat is not in its plan");
	assert_drift(res, "ip6tables FORWARD", "virtwire's accept for network lvnat is not in its plan");
	vw_nft_result_free(res);
	assert_on_top(env, NFPROTO_IPV4, "filter", "FORWARD", IDS("lvnat2"), v4);
	assert_on_top(env, NFPROTO_IPV6, "filter", "FORWARD", (const char *const[]){ NULL }, v6);
	assert_on_top(env, NFPROTO_IPV4, "libvirt_network", "forward", IDS("lvnat2"), lv);

	/* The last one goes with the table: libvirt's rules as they were. */
	res = reconcile(env, NULL, "lvnat2:*", VW_NFT_DELETE_TABLE, 0, NULL);
	g_assert_nonnull(res);
	vw_nft_result_free(res);
	assert_lists(v_rules(env, NFPROTO_IPV4, "filter", "FORWARD"), g_ptr_array_ref(v4), false);
	assert_lists(v_rules(env, NFPROTO_IPV6, "filter", "FORWARD"), g_ptr_array_ref(v6), false);
	assert_lists(v_rules(env, NFPROTO_IPV4, "libvirt_network", "forward"), g_ptr_array_ref(lv), false);
	env_free(env);
}

/* Docker's shape: FORWARD jumping to DOCKER-USER, which holds Docker's
 * RETURN. */
static void docker_tables(Env *env)
{
	g_autoptr(NftOther) b = nft_other_new();
	struct nftnl_rule *ret = nftnl_rule_alloc();
	struct nftnl_expr *e = nftnl_expr_alloc("immediate");

	nft_other_table(b, true, NFPROTO_IPV4, "filter");
	nft_other_chain(b, true, NFPROTO_IPV4, "filter", "FORWARD", "filter", NF_INET_FORWARD, 0);
	nft_other_chain(b, true, NFPROTO_IPV4, "filter", "DOCKER-USER", NULL, 0, 0);
	nftnl_rule_set_str(ret, NFTNL_RULE_TABLE, "filter");
	nftnl_rule_set_str(ret, NFTNL_RULE_CHAIN, "DOCKER-USER");
	nftnl_rule_set_u32(ret, NFTNL_RULE_FAMILY, NFPROTO_IPV4);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, (uint32_t)NFT_RETURN);
	nftnl_rule_add_expr(ret, e);
	nft_other_rule(b, ret, true);
	g_assert_cmpint(commit(env, b), ==, 0);
}

/* DOCKER-USER holds virtwire's three rules, in order, then @theirs. */
static void assert_docker_user(Env *env, GPtrArray *theirs)
{
	static const char *const want[] = { "Docker networks keep their own rules",
					    "Docker networks keep their own rules",
					    "accept the connections virtwire admits" };
	g_autoptr(GPtrArray) rules = v_rules(env, NFPROTO_IPV4, "filter", "DOCKER-USER");

	g_assert_cmpuint(rules->len, ==, G_N_ELEMENTS(want) + theirs->len);
	for (guint i = 0; i < rules->len; i++) {
		g_autofree char *tag = i < G_N_ELEMENTS(want) ? g_strdup_printf("comment \"virtwire: %s\"", want[i])
							      : NULL;

		if (tag && !g_str_has_suffix(rules->pdata[i], tag))
			g_error("DOCKER-USER: rule %u is not virtwire's \"%s\": %s", i + 1, want[i],
				(char *)rules->pdata[i]);
		if (!tag)
			g_assert_cmpstr(rules->pdata[i], ==, theirs->pdata[i - G_N_ELEMENTS(want)]);
	}
}

/* A difference about DOCKER-USER that contains @what. */
static void assert_docker_drift(const VwNftResult *res, const char *what)
{
	g_autofree char *all = drift_text(res);
	g_auto(GStrv) lines = g_strsplit(all, "\n", -1);

	for (char **l = lines; *l; l++)
		if (g_str_has_prefix(*l, "Docker's DOCKER-USER (iptables): virtwire's rule ") && strstr(*l, what))
			return;
	g_error("expected a difference about DOCKER-USER with \"%s\" among:\n%s", what, all);
}

/* The host firewall rules: shared by every network, kept on top of
 * DOCKER-USER in their order, repaired, gone with the table. */
static void test_host_rules(void)
{
	Env *env = env_new();
	const VwPlan *plan = PLAN(env, NULL, web_xml);
	g_autoptr(GPtrArray) docker = NULL;
	VwNftResult *res;

	docker_tables(env);
	docker = v_rules(env, NFPROTO_IPV4, "filter", "DOCKER-USER");
	g_assert_cmpuint(plan->host->len, ==, 14); /* DOCKER-USER: 3 + 3, ufw: 3 + 3 + 1 + 1 */
	res = apply(env, plan, "web:*");
	assert_docker_drift(res, "-j ACCEPT\" is missing");
	vw_nft_result_free(res);
	assert_docker_user(env, docker);
	/* ufw's chains are not there: nothing made. */
	g_assert_null(v_rules(env, NFPROTO_IPV4, "filter", "ufw-before-forward"));
	res = apply(env, plan, "web:*");
	assert_nothing_to_do(res);
	vw_nft_result_free(res);

	/* Docker's RETURN inserted above them (someone's -I); one of them gone. */
	other_rules(env, NFPROTO_IPV4, "filter", "DOCKER-USER", 2,
		    rule_copy(env, NFPROTO_IPV4, "filter", "DOCKER-USER", 3), false);
	res = apply(env, plan, "web:*");
	assert_docker_drift(res, "is below other rules");
	assert_docker_drift(res, "-j ACCEPT\" is missing");
	vw_nft_result_free(res);
	{
		g_autoptr(GPtrArray) twice = strv();

		g_ptr_array_add(twice, g_strdup(docker->pdata[0]));
		g_ptr_array_add(twice, g_strdup(docker->pdata[0]));
		assert_docker_user(env, twice);
		other_rules(env, NFPROTO_IPV4, "filter", "DOCKER-USER", 3, NULL, false);
	}
	assert_docker_user(env, docker);

	/* Another network's apply and teardown leave them; the last takes them. */
	res = reconcile(env, NULL, "web:*", VW_NFT_DELETE_TABLE, 0, NULL);
	g_assert_nonnull(res);
	vw_nft_result_free(res);
	assert_lists(v_rules(env, NFPROTO_IPV4, "filter", "DOCKER-USER"), g_ptr_array_ref(docker), false);
	env_free(env);
}

/* Thousands of elements, in and out. */
static void test_scale(void)
{
	Env *env = env_new();
	const VwPlan *plan = PLAN(env, NULL, big_xml);
	guint n = plan_count(plan, "big");
	NftElemText t;
	VwNftResult *res = apply(env, plan, "big:*");

	g_assert_cmpuint(n, >, 12000);
	g_assert_cmpuint(res->elements_added, ==, plan_count(plan, NULL));
	g_assert_cmpuint(res->messages, >, 48);
	vw_nft_result_free(res);
	assert_table_is(env, plan, true);
	res = apply(env, plan, "big:*");
	assert_nothing_to_do(res);
	vw_nft_result_free(res);

	elem_at(plan, "fwd4any", "udp . 21500 : 192.168.153.11 . 31500", false, &t);
	other_elem(env, false, "fwd4any", &t);
	res = apply(env, plan, "big:*");
	assert_drift(res, "map fwd4any", "element udp . 21500 : 192.168.153.11 . 31500 is missing");
	g_assert_cmpuint(res->drift->len, ==, 1);
	vw_nft_result_free(res);

	/* It goes; the skeleton stays (as for another network). */
	g_ptr_array_add(env->plans, vw_plan_skeleton());
	res = apply(env, g_ptr_array_index(env->plans, env->plans->len - 1), "big:*");
	g_assert_cmpuint(res->elements_deleted, ==, n);
	vw_nft_result_free(res);
	assert_table_is(env, g_ptr_array_index(env->plans, env->plans->len - 1), false);
	env_free(env);
}

/* ---------------------------------------------------------------------- */
/* What virtwire relies on, the same on the fake and the kernel */

/* An interval's end goes only with a start right below it (there, or added
 * or deleted in the same batch); an end without its start stays. */
static void interval_ends(Env *env, const VwPlan *plan)
{
	static const struct {
		const char *ops; /* +/- start (s) or end (e), in one batch */
		int err;
		guint left; /* elements of the set after it */
	} steps[] = {
		{ "-s-e", 0, 0 }, { "+s+e", 0, 2 },	{ "-e-s", 0, 0 },   { "+s+e", 0, 2 },
		{ "-s", 0, 1 },	  { "-e", -ENOENT, 1 }, { "+s-s-e", 0, 0 }, { "+s+e", 0, 2 },
		{ "-s", 0, 1 },	  { "+s-e", 0, 1 },	{ "+e", 0, 2 },
	};
	NftElemText pair[2];

	elem_at(plan, "snat6", "2001:db8:150::/64 : jump nw-web-snat", false, &pair[0]);
	elem_at(plan, "snat6", "2001:db8:150::/64 : jump nw-web-snat", true, &pair[1]);
	for (size_t i = 0; i < G_N_ELEMENTS(steps); i++) {
		g_autoptr(NftOther) b = nft_other_new();
		g_autoptr(GPtrArray) left = NULL;

		for (const char *o = steps[i].ops; *o; o += 2)
			nft_other_elem(b, o[0] == '+', "snat6", &pair[o[1] == 'e']);
		g_assert_cmpint(commit(env, b), ==, steps[i].err);
		left = v_elems(env, "snat6");
		g_assert_cmpuint(left->len, ==, steps[i].left);
	}
}

static void test_kernel_semantics(void)
{
	Env *env = env_new();
	const VwPlan *plan = PLAN(env, NULL, web_xml);
	const VwSet *fwd = vw_plan_find_set(plan, "fwd4any");
	NftElemText t, same, moved, absent;
	VwNftResult *res = apply(env, plan, "web:*");
	uint32_t g1 = gen(env);
	int e;

	vw_nft_result_free(res);
	elem_text_of(fwd, plan_elem(plan, "fwd4any", "tcp . 2222 : 192.168.150.10 . 22"), &t);

	/* The same element again, with another comment: accepted, and kept as
	 * it was (nothing committed). */
	same = t;
	same.comment = (char *)"someone";
	other_elem(env, true, "fwd4any", &same);
	g_assert_cmpuint(gen(env), ==, g1);
	{
		g_autofree char *text = nft_elem_text(&t);

		g_assert_true(holds(v_elems(env, "fwd4any"), text));
	}

	/* The same key with other data: refused. */
	moved = t;
	moved.data[5] = 23;
	{
		g_autoptr(NftOther) b = nft_other_new();

		nft_other_elem(b, true, "fwd4any", &moved);
		e = commit(env, b);
		/* EEXIST since Linux 5.x (EBUSY before): the fake says EEXIST. */
		if (env->fake)
			g_assert_cmpint(e, ==, -EEXIST);
		else
			g_assert_true(e == -EEXIST || e == -EBUSY);
	}
	/* An element that is not there cannot go. */
	absent = t;
	absent.key[5] = 0x5d;
	{
		g_autoptr(NftOther) b = nft_other_new();

		nft_other_elem(b, false, "fwd4any", &absent);
		g_assert_cmpint(commit(env, b), ==, -ENOENT);
	}
	/* A batch is refused whole: its good first message too. */
	{
		g_autoptr(NftOther) b = nft_other_new();
		g_autofree char *text = nft_elem_text(&absent);

		nft_other_elem(b, true, "fwd4any", &absent);
		nft_other_elem(b, false, "fwd4any", &absent);
		nft_other_elem(b, false, "fwd4any", &absent);
		g_assert_cmpint(commit(env, b), ==, -ENOENT);
		g_assert_false(holds(v_elems(env, "fwd4any"), text));
	}
	/* A chain still jumped to (by the egress map) cannot go. */
	{
		g_autoptr(NftOther) b = nft_other_new();

		nft_other_chain(b, false, NFPROTO_INET, VW_NFT_TABLE, "nw-web-out", NULL, 0, 0);
		g_assert_cmpint(commit(env, b), ==, -EBUSY);
	}
	g_assert_cmpuint(gen(env), ==, g1);

	/* Rules: appended at the end, inserted at the head. */
	{
		g_autoptr(NftOther) b = nft_other_new();
		static const char *const order[] = { "b", "a", "c" };

		nft_other_table(b, true, NFPROTO_IPV4, "t");
		nft_other_chain(b, true, NFPROTO_IPV4, "t", "c", NULL, 0, 0);
		nft_other_rule(b, accept_rule(NFPROTO_IPV4, "t", "c", "a"), true);
		nft_other_rule(b, accept_rule(NFPROTO_IPV4, "t", "c", "b"), false);
		nft_other_rule(b, accept_rule(NFPROTO_IPV4, "t", "c", "c"), true);
		g_assert_cmpint(commit(env, b), ==, 0);
		g_assert_cmpuint(gen(env), ==, g1 + 1);
		for (guint i = 0; i < 3; i++) {
			g_autoptr(GPtrArray) rules = v_rules(env, NFPROTO_IPV4, "t", "c");
			g_autofree char *tag = g_strdup_printf("comment \"%s\"", order[i]);

			g_assert_true(g_str_has_suffix(rules->pdata[i], tag));
		}
	}
	/* A table's deletion takes what is in it. */
	{
		g_autoptr(NftOther) b = nft_other_new();

		nft_other_table(b, false, NFPROTO_IPV4, "t");
		g_assert_cmpint(commit(env, b), ==, 0);
		g_assert_null(v_chains(env, NFPROTO_IPV4, "t"));
	}
	interval_ends(env, plan);
	env_free(env);
}

/* The table's owners and the forward counters, read back. */
static void test_owners_counters(void)
{
	Env *env = env_new();
	const VwPlan *plan = PLAN(env, NULL, web_xml, db_xml);
	const VwSet *count = vw_plan_find_set(plan, "fwd4count");
	g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) counters = g_ptr_array_new_with_free_func((GDestroyNotify)vw_counter_free);
	bool exists = true;
	VwNftResult *res;

	g_assert_true(vw_nft_table_owners(env->be, &exists, ids, NULL));
	g_assert_false(exists);
	g_assert_true(vw_nft_counters(env->be, counters, NULL));
	g_assert_cmpuint(counters->len, ==, 0);
	res = apply(env, plan, "web:*,db:*");
	vw_nft_result_free(res);
	g_assert_true(vw_nft_table_owners(env->be, &exists, ids, NULL));
	g_assert_true(exists);
	g_assert_cmpuint(ids->len, ==, 2);
	g_assert_cmpstr(ids->pdata[0], ==, "db");
	g_assert_cmpstr(ids->pdata[1], ==, "web");
	g_assert_true(vw_nft_counters(env->be, counters, NULL));
	g_assert_cmpuint(counters->len, ==, count->elems->len + vw_plan_find_set(plan, "fwd6count")->elems->len);
	for (guint i = 0; i < counters->len; i++) {
		const VwCounter *c = counters->pdata[i];

		g_assert_true(g_strcmp0(c->owner, "web") == 0 || g_strcmp0(c->owner, "db") == 0);
		g_assert_cmpuint(c->packets, ==, 0);
		g_assert_cmpuint(c->bytes, ==, 0);
	}
	env_free(env);
}

/* ---------------------------------------------------------------------- */
/* The forwards a batch takes away (VwNftResult.released) */

/* web with its forward on 2222 re-pointed, the UDP one on 203.0.113.1 and
 * the IPv6 one removed, the others as they were. */
static const char web_changed_xml[] = NAT_OPEN(
	"web", "vw-web",
	"  <ip address='192.168.150.1' prefix='24'>\n"
	"    <dhcp><host mac='52:54:00:aa:bb:10' ip='192.168.150.10'/></dhcp>\n"
	"  </ip>\n"
	"  <ip family='ipv6' address='2001:db8:150::1' prefix='64'/>\n",
	"    <vw:forward proto='tcp' host-port='2222' guest-address='192.168.150.13' guest-port='22'/>\n"
	"    <vw:forward proto='tcp' host-port='8000-8001' guest-address='192.168.150.12' guest-port='9000-9001'/>\n"
	"    <vw:forward proto='tcp' host-port='8443' guest-address='192.168.150.10' guest-port='443'>\n"
	"      <vw:source address='198.51.100.0/24'/>\n"
	"    </vw:forward>\n");
/* db's forward, owned by another network. */
static const char db2_xml[] = NAT_OPEN(
	"db2", "vw-db2", "  <ip address='192.168.151.1' prefix='24'/>\n",
	"    <vw:forward proto='tcp' host-port='3333' guest-address='192.168.151.10' guest-port='22'/>\n");
#define LO_XML(localhost)                                                        \
	NAT_OPEN("lo", "vw-lo", "  <ip address='192.168.154.1' prefix='24'/>\n", \
		 localhost "    <vw:forward proto='tcp' host-port='4444' guest-address='192.168.154.10'/>\n")
static const char lo_on_xml[] = LO_XML("    <vw:localhost enabled='yes'/>\n");
static const char lo_off_xml[] = LO_XML("");

/* What @res released, in words, sorted, one a line. */
static char *released_text(const VwNftResult *res)
{
	g_autoptr(GPtrArray) words = strv();

	for (guint i = 0; res->released && i < res->released->len; i++)
		g_ptr_array_add(words, vw_released_describe(res->released->pdata[i]));
	g_ptr_array_sort(words, str_cmp);
	return joined(words);
}

static void assert_released(Env *env, const VwPlan *plan, const char *scope, VwNftFlags flags, const char *want)
{
	g_autoptr(GError) err = NULL;
	g_autoptr(VwNftResult) res = reconcile(env, plan, scope, flags | VW_NFT_RELEASED, 0, &err);
	g_autofree char *got = NULL;

	g_assert_no_error(err);
	got = released_text(res);
	g_assert_cmpstr(got, ==, want);
}

/* A forward removed or re-pointed is released, with its listen address,
 * target and owner; the forwards that stay are not, nor is a forward that
 * only changes owner (same key, same target). */
static void test_released(void)
{
	Env *env = env_new();
	const VwPlan *both = PLAN(env, NULL, web_xml, db_xml);
	const VwPlan *changed = PLAN(env, NULL, web_changed_xml, db_xml);
	const VwPlan *moved = PLAN(env, NULL, web_changed_xml, db2_xml);
	VwNftResult *res = apply(env, both, "web:*,db:*");

	g_assert_nonnull(res->released);
	g_assert_cmpuint(res->released->len, ==, 0);
	vw_nft_result_free(res);
	assert_released(env, changed, "web:*", 0,
			"tcp *:2200 → [2001:db8:150::10]:22\n"
			"tcp *:2222 → 192.168.150.10:22\n"
			"udp 203.0.113.1:53 → 192.168.150.11:53\n");
	assert_released(env, changed, "web:*,db:*", 0, "");
	assert_released(env, moved, "db:*,db2:*", 0, "");
	g_assert_true(holds(v_elems(env, "fwd4any"), "060000000d050000 : c0a8970a00160000 comment \"db2\""));
	/* The network goes: every forward of its own; the other's stay. */
	res = reconcile(env, PLAN(env, NULL, db2_xml), "web:*", VW_NFT_RELEASED, 0, NULL);
	g_assert_cmpuint(res->released->len, ==, 4);
	for (guint i = 0; i < res->released->len; i++)
		g_assert_cmpstr(((VwReleased *)res->released->pdata[i])->owner, ==, "web");
	vw_nft_result_free(res);
	env_free(env);
}

/* The table deleted (the last network went): every forward it held. Not
 * asked for, nothing is said (and a deletion reads no elements). */
static void test_released_table(void)
{
	Env *env = env_new();
	const VwPlan *both = PLAN(env, NULL, web_xml, db_xml);
	VwNftResult *res = apply(env, both, "web:*,db:*");

	vw_nft_result_free(res);
	assert_released(env, both, "web:*,db:*", VW_NFT_DRY_RUN | VW_NFT_DELETE_TABLE, "");
	assert_released(env, NULL, "web:*,db:*", VW_NFT_DELETE_TABLE,
			"tcp *:2200 → [2001:db8:150::10]:22\n"
			"tcp *:2222 → 192.168.150.10:22\n"
			"tcp *:3333 → 192.168.151.10:22\n"
			"tcp *:8000 → 192.168.150.12:9000\n"
			"tcp *:8001 → 192.168.150.12:9001\n"
			"tcp *:8443 → 192.168.150.10:443\n"
			"udp 203.0.113.1:53 → 192.168.150.11:53\n");
	res = apply(env, both, "web:*,db:*");
	vw_nft_result_free(res);
	res = reconcile(env, NULL, "web:*,db:*", VW_NFT_DELETE_TABLE, 0, NULL);
	g_assert_cmpuint(res->messages, ==, 2); /* both tables */
	g_assert_cmpuint(res->released->len, ==, 0);
	vw_nft_result_free(res);
	env_free(env);
}

/* Loopback forwards off: their own map's elements go, as loopback ones;
 * the forward on every other address stays. A port's forwards go with it. */
static void test_released_lo_port(void)
{
	Env *env = env_new();
	VwNftResult *res = apply(env, PLAN(env, NULL, lo_on_xml), "lo:*");

	vw_nft_result_free(res);
	assert_released(env, PLAN(env, NULL, lo_off_xml), "lo:*", 0, "tcp 127.0.0.0/8:4444 → 192.168.154.10:4444\n");
	res = apply(env, PLAN(env, web1_xml, public_xml), "public:*");
	vw_nft_result_free(res);
	assert_released(env, PLAN(env, NULL, public_xml), "public:" PORT_UUID, 0,
			"tcp *:10080 → 192.168.152.20:80\n"
			"udp *:10053 → 192.168.152.20:53\n");
	env_free(env);
}

/* ---------------------------------------------------------------------- */

/* Never on the machine's own ruleset (--kernel wipes the namespace's): only
 * in a namespace the test suite made, one of /run/netns/vwt-*. */
static bool in_own_namespace(void)
{
	g_autoptr(GDir) dir = g_dir_open("/run/netns", 0, NULL);
	struct stat self, ns;
	const char *name;

	if (!dir || stat("/proc/self/ns/net", &self) != 0)
		return false;
	while ((name = g_dir_read_name(dir))) {
		g_autofree char *path = g_build_filename("/run/netns", name, NULL);

		if (g_str_has_prefix(name, "vwt-") && stat(path, &ns) == 0 && ns.st_dev == self.st_dev &&
		    ns.st_ino == self.st_ino)
			return true;
	}
	return false;
}

int main(int argc, char **argv)
{
	int n = 0;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--kernel") == 0)
			on_kernel = true;
		else
			argv[n++] = argv[i];
	}
	argc = n;
	argv[argc] = NULL;
	if (on_kernel && !in_own_namespace()) {
		printf("1..0 # SKIP --kernel runs only in a namespace /run/netns/vwt-* "
		       "(tests/netns/nft-scenarios.sh)\n");
		return 77;
	}
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/nft/apply-fresh", test_apply_fresh);
	g_test_add_func("/nft/drift-element", test_drift_element);
	g_test_add_func("/nft/drift-rule", test_drift_rule);
	g_test_add_func("/nft/conflict", test_conflict);
	g_test_add_func("/nft/incompatible", test_incompatible);
	g_test_add_func("/nft/delete-table", test_delete_table);
	g_test_add_func("/nft/network-leaves", test_network_leaves);
	g_test_add_func("/nft/port-scope", test_port_scope);
	g_test_add_func("/nft/port-takeover", test_port_takeover);
	g_test_add_func("/nft/fault", test_fault);
	g_test_add_func("/nft/generation", test_generation);
	g_test_add_func("/nft/dump-interrupted", test_dump_interrupted);
	g_test_add_func("/nft/race", test_race);
	g_test_add_func("/nft/coexist", test_coexist);
	g_test_add_func("/nft/host-rules", test_host_rules);
	g_test_add_func("/nft/kernel-semantics", test_kernel_semantics);
	g_test_add_func("/nft/owners-counters", test_owners_counters);
	g_test_add_func("/nft/scale", test_scale);
	g_test_add_func("/nft/released", test_released);
	g_test_add_func("/nft/released-table", test_released_table);
	g_test_add_func("/nft/released-lo-port", test_released_lo_port);
	return g_test_run();
}
