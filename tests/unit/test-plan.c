/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The planner and the nftables message builder, without root: plans built
 * from in-memory XML are checked element by element; sets are described by
 * their field types, and what follows from those (attributes, nft's user
 * data, element text, conflict wording) is checked against what nft itself
 * stores and prints; every set and element is built into a netlink message,
 * parsed back with libnftnl and compared. (Rules: test-nft-payload holds
 * their bytecode against what nft makes of their text.)
 */
#include <string.h>

#include <glib.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <libnftnl/udata.h>

#include <virtwire/check.h>
#include <virtwire/plan.h>
#include <virtwire/xml.h>

#include "nft-private.h"
#include "plan-private.h"

#define NAT_NET(meta)                                                                                         \
	"<network>\n"                                                                                         \
	"  <name>web</name>\n"                                                                                \
	"  <forward mode='open'/>\n"                                                                          \
	"  <bridge name='vw-web'/>\n"                                                                         \
	"  <ip address='192.168.150.1' prefix='24'>\n"                                                        \
	"    <dhcp><host mac='52:54:00:aa:bb:10' ip='192.168.150.10'/></dhcp>\n"                              \
	"  </ip>\n"                                                                                           \
	"  <ip family='ipv6' address='2001:db8:150::1' prefix='64'/>\n"                                       \
	"  <metadata><vw:network xmlns:vw='urn:virtwire:1' mode='nat'>\n" meta "  </vw:network></metadata>\n" \
	"</network>\n"

typedef struct {
	GPtrArray *docs;
	GPtrArray *networks;
	VwDiags *diags;
	VwPlan *plan;
} Fixture;

static void fixture_clear(Fixture *f)
{
	vw_plan_free(f->plan);
	g_ptr_array_unref(f->networks);
	g_ptr_array_unref(f->docs);
	vw_diags_free(f->diags);
}

/* Parses @xmls (NULL-terminated) and plans them; the input must check
 * clean. */
static void plan_of(Fixture *f, const char *const *xmls)
{
	f->docs = g_ptr_array_new_with_free_func((GDestroyNotify)vw_doc_free);
	f->networks = g_ptr_array_new();
	f->diags = vw_diags_new();
	for (guint i = 0; xmls[i]; i++) {
		VwDoc *doc = NULL;
		g_autofree char *name = g_strdup_printf("n%u.xml", i);

		g_assert_cmpint(vw_doc_load_memory(name, xmls[i], strlen(xmls[i]), NULL, f->diags, &doc), ==,
				VW_LOAD_OK);
		g_ptr_array_add(f->docs, doc);
		g_ptr_array_add(f->networks, doc->network);
	}
	vw_check_docs(f->docs, f->diags);
	if (vw_diags_has_errors(f->diags)) {
		g_autofree char *t = vw_diags_format_text(f->diags);

		g_error("input does not check clean:\n%s", t);
	}
	f->plan = vw_plan_build(f->networks, NULL, f->diags);
}

static const VwElem *find_elem(const VwPlan *p, const char *set, const char *text)
{
	const VwSet *s = vw_plan_find_set(p, set);

	g_assert_nonnull(s);
	for (guint i = 0; i < s->elems->len; i++) {
		const VwElem *e = s->elems->pdata[i];

		if (g_strcmp0(vw_elem_text(s, e), text) == 0)
			return e;
	}
	return NULL;
}

static guint count_elems(const VwPlan *p, const char *set)
{
	return vw_plan_find_set(p, set)->elems->len;
}

static void test_forward_elements(void)
{
	const char *xml[] = {
		NAT_NET("    <vw:forward proto='tcp' host-port='2222' guest-mac='52:54:00:aa:bb:10' guest-port='22'/>\n"
			"    <vw:forward proto='udp' address='203.0.113.1' host-port='53' "
			"guest-address='192.168.150.11'/>\n"
			"    <vw:forward proto='tcp' host-port='8000-8002' guest-address='192.168.150.12' "
			"guest-port='9000-9002'/>\n"
			"    <vw:forward proto='tcp' host-port='7000-7001' guest-address='192.168.150.12'/>\n"
			"    <vw:forward proto='tcp' host-port='8443' guest-address='192.168.150.10' "
			"guest-port='443'>\n"
			"      <vw:source address='198.51.100.0/24'/>\n"
			"    </vw:forward>\n"
			"    <vw:forward proto='sctp' host-port='3868' guest-address='2001:db8:150::10'/>\n"),
		NULL
	};
	Fixture f = { 0 };
	const VwElem *e;
	static const uint8_t key[] = { 6, 0, 0, 0, 0x08, 0xae, 0, 0 };	  /* tcp . 2222 */
	static const uint8_t data[] = { 192, 168, 150, 10, 0, 22, 0, 0 }; /* 192.168.150.10 . 22 */
	static const uint8_t allow_key[] = { 6, 0, 0, 0, 0x20, 0xfb, 0, 0, 198, 51, 100, 0 };
	static const uint8_t allow_end[] = { 6, 0, 0, 0, 0x20, 0xfb, 0, 0, 198, 51, 100, 255 };

	plan_of(&f, xml);
	g_assert_nonnull(f.plan);

	e = find_elem(f.plan, "fwd4any", "tcp . 2222 : 192.168.150.10 . 22");
	g_assert_nonnull(e);
	g_assert_cmpmem(e->key, e->key_len, key, sizeof(key));
	g_assert_cmpmem(e->data, e->data_len, data, sizeof(data));
	g_assert_cmpstr(e->owner, ==, "web");

	g_assert_nonnull(find_elem(f.plan, "fwd4", "udp . 203.0.113.1 . 53 : 192.168.150.11 . 53"));
	/* A shifted range maps port by port; a plain range keeps the ports. */
	g_assert_nonnull(find_elem(f.plan, "fwd4any", "tcp . 8001 : 192.168.150.12 . 9001"));
	g_assert_nonnull(find_elem(f.plan, "fwd4any", "tcp . 8002 : 192.168.150.12 . 9002"));
	g_assert_nonnull(find_elem(f.plan, "fwd4any", "tcp . 7001 : 192.168.150.12 . 7001"));
	g_assert_cmpuint(count_elems(f.plan, "fwd4any"), ==, 1 + 3 + 2 + 1);
	g_assert_nonnull(find_elem(f.plan, "fwd6any", "sctp . 3868 : 2001:db8:150::10 . 3868"));

	/* The allow-list: the restricted key, and a concatenated interval
	 * from the first to the last address of the source prefix. */
	g_assert_nonnull(find_elem(f.plan, "fwd4anysrc", "tcp . 8443"));
	e = find_elem(f.plan, "fwd4anyallow", "tcp . 8443 . 198.51.100.0/24");
	g_assert_nonnull(e);
	g_assert_cmpmem(e->key, e->key_len, allow_key, sizeof(allow_key));
	g_assert_cmpmem(e->key_end, e->key_end_len, allow_end, sizeof(allow_end));

	/* Dispatch: the bridge in every role set of a nat network. */
	g_assert_nonnull(find_elem(f.plan, "bridges", "\"vw-web\""));
	g_assert_nonnull(find_elem(f.plan, "intra", "\"vw-web\" . \"vw-web\""));
	g_assert_nonnull(find_elem(f.plan, "egress", "\"vw-web\" : jump nw-web-out"));
	g_assert_nonnull(find_elem(f.plan, "ingress", "\"vw-web\" : drop"));
	g_assert_nonnull(find_elem(f.plan, "gw4", "192.168.150.1"));
	g_assert_nonnull(find_elem(f.plan, "gw6", "2001:db8:150::1"));
	g_assert_nonnull(vw_plan_find_chain(f.plan, "nw-web-out"));
	g_assert_nonnull(vw_plan_find_chain(f.plan, "nw-web-snat"));
	g_assert_null(vw_plan_find_chain(f.plan, "nw-web-in"));
	fixture_clear(&f);
}

static void test_subnet_interval(void)
{
	const char *xml[] = { NAT_NET(""), NULL };
	Fixture f = { 0 };
	const VwSet *s;
	static const uint8_t end[] = { 192, 168, 151, 0 };
	bool found_end = false;

	plan_of(&f, xml);
	s = vw_plan_find_set(f.plan, "snat4");
	g_assert_cmpuint(s->elems->len, ==, 2);
	for (guint i = 0; i < s->elems->len; i++) {
		const VwElem *e = s->elems->pdata[i];

		/* The interval's end: one past the broadcast address, flagged,
		 * with no text (nft folds it into the start). */
		if (e->flags & NFT_SET_ELEM_INTERVAL_END) {
			found_end = true;
			g_assert_cmpmem(e->key, e->key_len, end, sizeof(end));
			g_assert_null(e->text);
		}
	}
	g_assert_true(found_end);
	fixture_clear(&f);
}

static void test_modes(void)
{
	const char *route[] = { "<network><name>rt</name><forward mode='open'/><bridge name='vw-rt'/>"
				"<ip address='10.1.0.1' prefix='24'/>"
				"<metadata><vw:network xmlns:vw='urn:virtwire:1' mode='route'/></metadata></network>",
				NULL };
	const char *internal[] = { "<network><name>in</name><forward mode='open'/><bridge name='vw-in'/>"
				   "<ip address='10.2.0.1' prefix='24'/><metadata><vw:network "
				   "xmlns:vw='urn:virtwire:1' mode='internal'/></metadata>"
				   "</network>",
				   NULL };
	const char *bridged[] = { "<network><name>lan</name><forward mode='bridge'/><bridge name='vw-lan'/>"
				  "<metadata><vw:network xmlns:vw='urn:virtwire:1' mode='bridged' uplink='eth0'/>"
				  "</metadata></network>",
				  NULL };
	Fixture f = { 0 };

	plan_of(&f, route);
	g_assert_nonnull(find_elem(f.plan, "ingress", "\"vw-rt\" : jump nw-rt-in"));
	g_assert_nonnull(vw_plan_find_chain(f.plan, "nw-rt-in"));
	/* Routed: no NAT chain (and no hairpin without forwards). */
	g_assert_null(vw_plan_find_chain(f.plan, "nw-rt-snat"));
	fixture_clear(&f);

	memset(&f, 0, sizeof(f));
	plan_of(&f, internal);
	g_assert_nonnull(find_elem(f.plan, "closed", "\"vw-in\""));
	g_assert_nonnull(find_elem(f.plan, "egress", "\"vw-in\" : jump guest-reject"));
	g_assert_cmpuint(count_elems(f.plan, "served"), ==, 0);
	fixture_clear(&f);

	/* Bridged: only its bridge's pair in intra (with br_netfilter, its
	 * frames are marked for the host's firewalls), and its bridge into
	 * its uplink's firewalld zone. Not a guest bridge of virtwire's. */
	memset(&f, 0, sizeof(f));
	plan_of(&f, bridged);
	g_assert_nonnull(find_elem(f.plan, "intra", "\"vw-lan\" . \"vw-lan\""));
	g_assert_cmpuint(count_elems(f.plan, "intra"), ==, 1);
	g_assert_cmpuint(count_elems(f.plan, "bridges") + count_elems(f.plan, "served") +
				 count_elems(f.plan, "egress") + count_elems(f.plan, "ingress") +
				 count_elems(f.plan, "closed"),
			 ==, 0);
	g_assert_null(vw_plan_find_chain(f.plan, "nw-lan-out"));
	g_assert_cmpuint(f.plan->zones->len, ==, 1);
	g_assert_cmpstr(((VwZoneBind *)f.plan->zones->pdata[0])->uplink, ==, "eth0");
	fixture_clear(&f);
}

#define OTHER_NET(meta)                                                              \
	"<network><name>other</name><forward mode='open'/><bridge name='vw-other'/>" \
	"<ip address='10.9.0.1' prefix='24'/>"                                       \
	"<metadata><vw:network xmlns:vw='urn:virtwire:1' mode='nat'>" meta "</vw:network></metadata></network>"

static char *digest_of(const char *const *xmls, const char *id)
{
	Fixture f = { 0 };
	char *d;

	plan_of(&f, xmls);
	d = vw_plan_digest(f.plan, id);
	fixture_clear(&f);
	return d;
}

/* A network's digest depends on its own part of the plan only: the same
 * planned alone or beside others, and it changes with its own forwards. */
static void test_digest(void)
{
	const char *web_fwd = "<vw:forward name='r' proto='tcp' host-port='7000-7002' guest-address='192.168.150.10'>"
			      "<vw:source address='203.0.113.0/28'/></vw:forward>";
	const char *other_fwd = "<vw:forward name='o' proto='udp' host-port='6000-6005' guest-address='10.9.0.5'>"
				"<vw:source address='198.51.100.0/24'/></vw:forward>";
	const char *other_fwd2 = "<vw:forward name='p' proto='tcp' host-port='6100' guest-address='10.9.0.6'/>";
	g_autofree char *web_meta = g_strdup(web_fwd);
	g_autofree char *web_xml = g_strdup_printf(NAT_NET("%s"), web_meta);
	g_autofree char *web2_xml = g_strdup_printf(NAT_NET("%s<vw:forward name='s' proto='tcp' host-port='2222' "
							    "guest-address='192.168.150.10' guest-port='22'/>"),
						    web_meta);
	g_autofree char *other_xml = g_strdup_printf(OTHER_NET("%s"), other_fwd);
	g_autofree char *other2_xml = g_strdup_printf(OTHER_NET("%s%s"), other_fwd, other_fwd2);
	const char *web_alone[] = { web_xml, NULL };
	const char *other_alone[] = { other_xml, NULL };
	const char *both[] = { web_xml, other_xml, NULL };
	const char *both_other2[] = { web_xml, other2_xml, NULL };
	const char *both_web2[] = { web2_xml, other_xml, NULL };
	g_autofree char *w = digest_of(web_alone, "web");
	g_autofree char *o = digest_of(other_alone, "other");
	g_autofree char *wb = digest_of(both, "web");
	g_autofree char *ob = digest_of(both, "other");
	g_autofree char *wb2 = digest_of(both_other2, "web");
	g_autofree char *ob2 = digest_of(both_other2, "other");
	g_autofree char *w2 = digest_of(both_web2, "web");

	g_assert_cmpstr(w, ==, wb);
	g_assert_cmpstr(o, ==, ob);
	/* Another network's change leaves this one's digest. */
	g_assert_cmpstr(wb, ==, wb2);
	g_assert_cmpstr(ob, !=, ob2);
	/* A forward more changes it. */
	g_assert_cmpstr(w, !=, w2);
	g_assert_cmpstr(w, !=, o);
}

static void test_collision_between_plans(void)
{
	/* The checker catches this first; the planner must still refuse to
	 * plan one key twice (it guards what reaches the kernel). */
	g_autoptr(VwPlan) p = NULL;
	g_autoptr(VwDiags) d = vw_diags_new();
	g_autoptr(GPtrArray) docs = g_ptr_array_new_with_free_func((GDestroyNotify)vw_doc_free);
	g_autoptr(GPtrArray) nets = g_ptr_array_new();
	const char *a = NAT_NET("<vw:forward proto='tcp' host-port='22' guest-address='192.168.150.10'/>");
	g_autofree char *b = g_strdup(a);
	VwDoc *doc = NULL;

	memcpy(strstr(b, "<name>web"), "<name>wex", 9);
	memcpy(strstr(b, "vw-web"), "vw-wex", 6);
	g_assert_cmpint(vw_doc_load_memory("a.xml", a, strlen(a), NULL, d, &doc), ==, VW_LOAD_OK);
	g_ptr_array_add(docs, doc);
	g_ptr_array_add(nets, doc->network);
	g_assert_cmpint(vw_doc_load_memory("b.xml", b, strlen(b), NULL, d, &doc), ==, VW_LOAD_OK);
	g_ptr_array_add(docs, doc);
	g_ptr_array_add(nets, doc->network);
	p = vw_plan_build(nets, NULL, d);
	g_assert_null(p);
	g_assert_cmpuint(vw_diags_count(d, VW_SEV_ERROR), >=, 1);
	g_assert_cmpstr(((VwDiag *)d->items->pdata[0])->code, ==, "forward-collision");
}

#define SPAN_NET(name, mode, vni, net)                                                                          \
	"<network><name>" name "</name><forward mode='open'/><bridge name='vw-" name "'/>"                      \
	"<ip address='10." net ".0.1' prefix='24'/><metadata><vw:network xmlns:vw='urn:virtwire:1' mode='" mode \
	"'><vw:span vni='" vni "' underlay='ul0'><vw:peer address='192.0.2.11'/>"                               \
	"<vw:peer address='192.0.2.12'/></vw:span></vw:network></metadata></network>"

static const VwLinkOp *find_op(const VwPlan *p, VwLinkOpKind kind, const char *owner, guint nth)
{
	for (guint i = 0; i < p->links->len; i++) {
		const VwLinkOp *o = p->links->pdata[i];

		if (o->kind == kind && g_strcmp0(o->owner, owner) == 0 && nth-- == 0)
			return o;
	}
	return NULL;
}

/* control="evpn": the device with learning off, its port with neighbour
 * suppression, no forwarding entry of virtwire's, and the VTEPs the engine
 * read from the kernel (VwSpan.vteps) admitted as a static span's peers. */
static void test_span_evpn(void)
{
	const char *xml = "<network><name>seg</name><forward mode='open'/><bridge name='vw-seg'/>"
			  "<ip address='10.77.0.1' prefix='24'/><metadata><vw:network xmlns:vw='urn:virtwire:1' "
			  "mode='internal'><vw:span vni='4242' underlay='ul0' control='evpn'/></vw:network>"
			  "</metadata></network>";
	g_autoptr(VwDiags) d = vw_diags_new();
	g_autoptr(GPtrArray) nets = g_ptr_array_new();
	g_autoptr(VwPlan) p = NULL;
	VwDoc *doc = NULL;
	VwSpan *s;
	VwAddr a;
	const VwLinkOp *o;

	g_assert_cmpint(vw_doc_load_memory("a.xml", xml, strlen(xml), NULL, d, &doc), ==, VW_LOAD_OK);
	vw_check_network(doc->network, d);
	g_assert_false(vw_diags_has_errors(d));
	s = doc->network->vw->span;
	s->vteps = g_array_new(FALSE, TRUE, sizeof(VwAddr));
	for (guint i = 0; i < 2; i++) {
		g_assert_true(vw_addr_parse(i ? "192.0.2.13" : "192.0.2.12", &a));
		g_array_append_val(s->vteps, a);
	}
	g_ptr_array_add(nets, doc->network);
	p = vw_plan_build(nets, NULL, d);
	g_assert_nonnull(p);
	o = find_op(p, VW_LOP_VXLAN, "seg", 0);
	g_assert_nonnull(o);
	g_assert_false(o->learning);
	g_assert_true(o->evpn);
	g_assert_nonnull(strstr(o->text, "learning off and neighbour suppression on"));
	g_assert_null(find_op(p, VW_LOP_FDB, "seg", 0));
	g_assert_cmpstr(find_elem(p, "span4", "192.0.2.12 . 4789 . 0x1092")->owner, ==, "seg");
	g_assert_nonnull(find_elem(p, "span4", "192.0.2.13 . 4789 . 0x1092"));
	g_assert_cmpuint(count_elems(p, "span4"), ==, 2);
	g_assert_nonnull(find_elem(p, "span-vni", "4789 . 0x1092"));
	vw_doc_free(doc);
}

/* Two spanning networks over the same hosts: a VXLAN device and a peer
 * entry each, their own elements in the admission sets, the VXLAN port in
 * span-ports; one VNI twice is refused by the planner too. */
static void test_span(void)
{
	const char *xml[] = { SPAN_NET("seg", "internal", "4242", "77"), SPAN_NET("ho", "host-only", "4243", "78"),
			      NULL };
	g_autoptr(VwDiags) d = vw_diags_new();
	g_autoptr(GPtrArray) docs = g_ptr_array_new_with_free_func((GDestroyNotify)vw_doc_free);
	g_autoptr(GPtrArray) nets = g_ptr_array_new();
	g_autoptr(VwPlan) twice = NULL;
	const VwLinkOp *o;
	Fixture f;
	VwDoc *doc = NULL;

	plan_of(&f, xml);
	g_assert_nonnull(f.plan);
	o = find_op(f.plan, VW_LOP_VXLAN, "seg", 0);
	g_assert_nonnull(o);
	g_assert_cmpstr(o->dev, ==, "vw4242");
	g_assert_cmpstr(o->master, ==, "vw-seg");
	g_assert_cmpstr(o->uplink, ==, "ul0");
	g_assert_cmpuint(o->vni, ==, 4242);
	g_assert_cmpuint(o->port, ==, 4789);
	g_assert_true(o->learning);
	g_assert_cmpuint(o->mtu, ==, 0);
	o = find_op(f.plan, VW_LOP_FDB, "seg", 1);
	g_assert_nonnull(o);
	g_assert_cmpstr(o->text, ==, "fdb vw4242: 00:00:00:00:00:00 dst 192.0.2.12 (unless it is ul0's own address)");
	g_assert_null(find_op(f.plan, VW_LOP_FDB, "seg", 2));
	g_assert_cmpstr(find_elem(f.plan, "span4", "192.0.2.12 . 4789 . 0x1092")->owner, ==, "seg");
	g_assert_cmpstr(find_elem(f.plan, "span4", "192.0.2.12 . 4789 . 0x1093")->owner, ==, "ho");
	g_assert_cmpuint(count_elems(f.plan, "span4"), ==, 4);
	g_assert_cmpuint(count_elems(f.plan, "span6"), ==, 0);
	g_assert_nonnull(find_elem(f.plan, "span-vni", "4789 . 0x1093"));
	g_assert_cmpuint(vw_table_find_set(&f.plan->tables[VW_TABLE_BRIDGE], "span-ports")->elems->len, ==, 2);
	fixture_clear(&f);

	for (guint i = 0; i < 2; i++) {
		g_autofree char *x = g_strdup(xml[0]);

		if (i) {
			memcpy(strstr(x, "<name>seg"), "<name>sex", 9);
			memcpy(strstr(x, "vw-seg"), "vw-sex", 6);
			memcpy(strstr(x, "10.77."), "10.79.", 6);
		}
		g_assert_cmpint(vw_doc_load_memory("a.xml", x, strlen(x), NULL, d, &doc), ==, VW_LOAD_OK);
		g_ptr_array_add(docs, doc);
		g_ptr_array_add(nets, doc->network);
	}
	twice = vw_plan_build(nets, NULL, d);
	g_assert_null(twice);
	g_assert_cmpstr(((VwDiag *)d->items->pdata[0])->code, ==, "span-vni-collision");
	g_assert_cmpstr(((VwDiag *)d->items->pdata[0])->message, ==,
			"network 'sex': VNI 4242 on UDP port 4789 is another network's too");
}

static void test_element_cap(void)
{
	/* 16 forwards of 65,535 ports each: more entries than a network may
	 * ask for. */
	GString *meta = g_string_new(NULL);
	g_autofree char *xml = NULL;
	const char *xmls[2] = { NULL, NULL };
	g_autoptr(VwDiags) d = vw_diags_new();
	g_autoptr(GPtrArray) nets = g_ptr_array_new();
	g_autoptr(VwDoc) doc = NULL;
	g_autoptr(VwPlan) p = NULL;

	for (int i = 0; i < 17; i++)
		g_string_append_printf(meta,
				       "<vw:forward proto='%s' address='203.0.113.%d' host-port='1-65535' "
				       "guest-address='192.168.150.10'/>\n",
				       i % 2 ? "udp" : "tcp", i + 1);
	xml = g_strdup_printf(NAT_NET("%s"), meta->str);
	g_string_free(meta, TRUE);
	xmls[0] = xml;
	g_assert_cmpint(vw_doc_load_memory("big.xml", xml, strlen(xml), NULL, d, &doc), ==, VW_LOAD_OK);
	g_ptr_array_add(nets, doc->network);
	p = vw_plan_build(nets, NULL, d);
	g_assert_null(p);
	g_assert_cmpuint(vw_diags_count(d, VW_SEV_ERROR), ==, 1);
	g_assert_cmpstr(((VwDiag *)d->items->pdata[0])->code, ==, "too-many");
	(void)xmls;
}

/* ---------------------------------------------------------------------- */
/* The spoof filter (table bridge virtwire) */

#define DOMAIN(name, mac, tap, extra, meta)                                                       \
	"<domain type='kvm'><name>" name "</name><memory>65536</memory><os><type>hvm</type></os>" \
	"<devices><interface type='network'><mac address='" mac "'/><source network='web'/>"      \
	"<target dev='" tap "'/>" extra "</interface></devices>" meta "</domain>"

/* Plans network @net with domains @doms (NULL-terminated), each a port of
 * its own ("p1", "p2" …). */
static VwPlan *spoof_plan(const char *net, const char *const *doms, GPtrArray *keep)
{
	g_autoptr(VwDiags) d = vw_diags_new();
	g_autoptr(GPtrArray) nets = g_ptr_array_new();
	g_autoptr(GPtrArray) pds = g_ptr_array_new_with_free_func(g_free);
	VwDoc *doc = NULL;
	VwPlan *p;

	g_assert_cmpint(vw_doc_load_memory("net.xml", net, strlen(net), NULL, d, &doc), ==, VW_LOAD_OK);
	g_ptr_array_add(keep, doc);
	g_ptr_array_add(nets, doc->network);
	for (guint i = 0; doms && doms[i]; i++) {
		VwPlanDomain *pd = g_new0(VwPlanDomain, 1);
		const VwInterface *iface;

		g_assert_cmpint(vw_doc_load_memory("dom.xml", doms[i], strlen(doms[i]), NULL, d, &doc), ==, VW_LOAD_OK);
		g_ptr_array_add(keep, doc);
		iface = doc->domain->interfaces->pdata[0];
		pd->domain = doc->domain;
		pd->network = "web";
		pd->port_uuid = g_intern_string(i ? "p2" : "p1");
		pd->has_mac = true;
		pd->mac = iface->mac;
		g_ptr_array_add(pds, pd);
	}
	p = vw_plan_build(nets, pds, d);
	g_assert_nonnull(p);
	return p;
}

/* Element @text of set @set of table bridge virtwire, and its owner (NULL:
 * no such element). */
static const char *bridge_elem_owner(const VwPlan *p, const char *set, const char *text)
{
	const VwSet *s = vw_table_find_set(&p->tables[VW_TABLE_BRIDGE], set);

	g_assert_nonnull(s);
	for (guint i = 0; i < s->elems->len; i++) {
		const VwElem *e = s->elems->pdata[i];

		if (g_strcmp0(vw_elem_text(s, e), text) == 0)
			return e->owner ? e->owner : "(skeleton)";
	}
	return NULL;
}

static char *chain_text(const VwPlan *p, const char *name)
{
	const VwChain *c = vw_table_find_chain(&p->tables[VW_TABLE_BRIDGE], name);
	GString *t = g_string_new(NULL);

	for (guint i = 0; c && i < c->rules->len; i++)
		g_string_append_printf(t, "%s\n", ((const VwRule *)c->rules->pdata[i])->text);
	return g_string_free(t, !c);
}

/* A network's part: its chain (a rule per subnet), its reservations, the
 * host's addresses; nothing when it turns the filter off. */
static void test_spoof_network(void)
{
	g_autoptr(GPtrArray) keep = g_ptr_array_new_with_free_func((GDestroyNotify)vw_doc_free);
	g_autoptr(VwPlan) on = spoof_plan(NAT_NET(""), NULL, keep);
	g_autoptr(VwPlan) off = spoof_plan(NAT_NET("<vw:spoof-filter enabled='no'/>"), NULL, keep);
	g_autofree char *chain = chain_text(on, "nw-web-guest");

	g_assert_cmpstr(chain, ==,
			"jump guest\nip saddr 192.168.150.0/24 accept\narp saddr ip 192.168.150.0/24 accept\n"
			"ip6 saddr 2001:db8:150::/64 accept\nip6 saddr fe80::/64 accept\njump spoofed\n");
	g_assert_cmpstr(bridge_elem_owner(on, "own4", "52:54:00:aa:bb:10 . 192.168.150.10"), ==, "web");
	g_assert_cmpstr(bridge_elem_owner(on, "bound4", "52:54:00:aa:bb:10 . 192.168.150.0/24"), ==, "web");
	for (const char *const *a = (const char *const[]){ "192.168.150.0", "192.168.150.1", "192.168.150.10",
							   "192.168.150.255", NULL };
	     *a; a++)
		g_assert_cmpstr(bridge_elem_owner(on, "taken4", *a), ==, "web");
	g_assert_cmpstr(bridge_elem_owner(on, "taken6", "2001:db8:150::1"), ==, "web");
	g_assert_cmpstr(bridge_elem_owner(on, "nd-taken", "0x20010db8015000000000000000000001"), ==, "web");
	/* Off: the table is there (it comes with table inet virtwire), empty
	 * of the network. */
	g_assert_true(vw_plan_has_tables(off));
	g_assert_null(vw_table_find_chain(&off->tables[VW_TABLE_BRIDGE], "nw-web-guest"));
	g_assert_null(bridge_elem_owner(off, "own4", "52:54:00:aa:bb:10 . 192.168.150.10"));
	g_assert_null(bridge_elem_owner(off, "taken4", "192.168.150.1"));
}

/* A guest's port: its tap to the network's chain, its MAC, its counter, its
 * link-local address and <ip>; what the network owns stays the network's;
 * a domain that opts out is accepted where the network lets it. */
static void test_spoof_ports(void)
{
	const char *doms[] = {
		DOMAIN("vm", "52:54:00:aa:bb:10", "vnet7", "", ""),
		DOMAIN("ct", "52:54:00:aa:bb:11", "vnet8", "<ip address='192.168.150.20' prefix='24'/>", ""), NULL
	};
	const char *opt[] = { DOMAIN("vm", "52:54:00:aa:bb:10", "vnet7", "",
				     "<metadata><vw:domain xmlns:vw='urn:virtwire:1'>"
				     "<vw:spoof-filter enabled='no'/></vw:domain></metadata>"),
			      NULL };
	g_autoptr(GPtrArray) keep = g_ptr_array_new_with_free_func((GDestroyNotify)vw_doc_free);
	g_autoptr(VwPlan) p = spoof_plan(NAT_NET(""), doms, keep);
	g_autoptr(VwPlan) denied = spoof_plan(NAT_NET(""), opt, keep);
	g_autoptr(VwPlan) allowed = spoof_plan(NAT_NET("<vw:spoof-filter domain-opt-out='yes'/>"), opt, keep);

	g_assert_cmpstr(bridge_elem_owner(p, "ports", "\"vnet7\" : goto nw-web-guest"), ==, "web:p1");
	g_assert_cmpstr(bridge_elem_owner(p, "port-mac", "\"vnet7\" . 52:54:00:aa:bb:10"), ==, "web:p1");
	g_assert_cmpstr(bridge_elem_owner(p, "spoofed", "\"vnet7\""), ==, "web:p1");
	g_assert_cmpstr(bridge_elem_owner(p, "own6", "52:54:00:aa:bb:10 . fe80::5054:ff:feaa:bb10"), ==, "web:p1");
	g_assert_cmpstr(bridge_elem_owner(p, "taken6", "fe80::5054:ff:feaa:bb10"), ==, "web:p1");
	g_assert_cmpstr(bridge_elem_owner(p, "nd-own", "52:54:00:aa:bb:10 . 0xfe80000000000000505400fffeaabb10"), ==,
			"web:p1");
	/* The reservation is the network's, whose port it is. */
	g_assert_cmpstr(bridge_elem_owner(p, "own4", "52:54:00:aa:bb:10 . 192.168.150.10"), ==, "web");
	g_assert_cmpstr(bridge_elem_owner(p, "own4", "52:54:00:aa:bb:11 . 192.168.150.20"), ==, "web:p2");
	g_assert_cmpstr(bridge_elem_owner(p, "bound4", "52:54:00:aa:bb:11 . 192.168.150.0/24"), ==, "web:p2");
	g_assert_cmpstr(bridge_elem_owner(p, "taken4", "192.168.150.20"), ==, "web:p2");
	/* Opting out: only where the network lets domains (check refuses the
	 * rest; the planner keeps the filter on). */
	g_assert_cmpstr(bridge_elem_owner(denied, "ports", "\"vnet7\" : goto nw-web-guest"), ==, "web:p1");
	g_assert_cmpstr(bridge_elem_owner(allowed, "ports", "\"vnet7\" : accept"), ==, "web:p1");
	g_assert_null(bridge_elem_owner(allowed, "port-mac", "\"vnet7\" . 52:54:00:aa:bb:10"));
	g_assert_null(bridge_elem_owner(allowed, "own6", "52:54:00:aa:bb:10 . fe80::5054:ff:feaa:bb10"));
}

/* On by default in nat, route and host-only; in internal only when asked. */
static void test_spoof_modes(void)
{
	static const struct {
		const char *mode, *meta;
		bool on;
	} cases[] = {
		{ "nat", "", true },
		{ "route", "", true },
		{ "host-only", "", true },
		{ "internal", "", false },
		{ "internal", "<vw:spoof-filter enabled='yes'/>", true },
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *xml = g_strdup_printf(
			"<network><name>web</name><forward mode='open'/><bridge name='vw-web'/>"
			"<ip address='192.168.150.1' prefix='24'/><metadata>"
			"<vw:network xmlns:vw='urn:virtwire:1' mode='%s'>%s</vw:network></metadata></network>",
			cases[i].mode, cases[i].meta);
		g_autoptr(GPtrArray) keep = g_ptr_array_new_with_free_func((GDestroyNotify)vw_doc_free);
		g_autoptr(VwPlan) p = spoof_plan(xml, NULL, keep);
		bool on = vw_table_find_chain(&p->tables[VW_TABLE_BRIDGE], "nw-web-guest") != NULL;

		if (on != cases[i].on)
			g_error("mode %s %s: the spoof filter is %s", cases[i].mode, cases[i].meta, on ? "on" : "off");
	}
}

static void test_format_wrapping(void)
{
	/* nft's line breaking: two addresses per line, one string per line. */
	g_autoptr(VwPlan) p = vw_plan_skeleton();
	VwSet *gw4 = vw_plan_find_set(p, "gw4");
	VwSet *gw6 = vw_plan_find_set(p, "gw6");
	g_autofree char *text = NULL;

	for (int i = 3; i >= 1; i--) {
		VwElem *e = vw_elem_new("x");
		VwAddr a = { .family = AF_INET, .b = { 10, 0, 0, (uint8_t)i } };

		vw_key_put_addr(e->key, &e->key_len, &a);
		g_assert_true(vw_set_add(gw4, e));
	}
	for (int i = 2; i >= 1; i--) {
		VwElem *e = vw_elem_new("x");
		VwAddr a = { .family = AF_INET6, .b = { 0x20, 0x01, 0x0d, 0xb8, [15] = (uint8_t)i } };

		vw_key_put_addr(e->key, &e->key_len, &a);
		g_assert_true(vw_set_add(gw6, e));
	}
	text = vw_plan_format_table(p);
	g_assert_nonnull(strstr(text, "elements = { 10.0.0.1 comment \"x\", 10.0.0.2 comment \"x\",\n"
				      "\t\t\t     10.0.0.3 comment \"x\" }\n"));
	/* nft wraps two IPv4 addresses to a line, but one IPv6 address. */
	g_assert_nonnull(strstr(text, "elements = { 2001:db8::1 comment \"x\",\n"
				      "\t\t\t     2001:db8::2 comment \"x\" }\n"));
}

static int comment_cb(const struct nftnl_udata *attr, void *data)
{
	if (nftnl_udata_type(attr) == NFTNL_UDATA_SET_ELEM_COMMENT)
		*(const char **)data = nftnl_udata_get(attr);
	return 0;
}

/* One element of set @s, alone in a message, parsed back. */
static void elem_roundtrip(const VwTable *t, const VwSet *s, const VwElem *want)
{
	char buf[65536];
	g_autoptr(nftnl_set) one = vw_nft_build_set(t, s);
	g_autoptr(nftnl_set) back = nftnl_set_alloc();
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_NEWSETELEM, (uint16_t)t->family, 0, 2);
	struct nftnl_set_elems_iter *it;
	struct nftnl_set_elem *e;
	uint32_t len;
	const void *k, *ud;
	const char *owner = NULL;

	nftnl_set_elem_add(one, vw_nft_build_elem(want));
	nftnl_set_elems_nlmsg_build_payload(nlh, one);
	if (nftnl_set_elems_nlmsg_parse(nlh, back) != 0)
		g_error("set %s: element %s does not parse back", s->name, want->text);
	it = nftnl_set_elems_iter_create(back);
	e = nftnl_set_elems_iter_next(it);
	g_assert_nonnull(e);
	k = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &len);
	g_assert_cmpmem(k, len, want->key, want->key_len);
	if (want->key_end_len) {
		k = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY_END, &len);
		g_assert_cmpmem(k, len, want->key_end, want->key_end_len);
	}
	if (want->data_len) {
		k = nftnl_set_elem_get(e, NFTNL_SET_ELEM_DATA, &len);
		g_assert_cmpmem(k, len, want->data, want->data_len);
	}
	if (want->has_verdict) {
		g_assert_cmpint((int32_t)nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_VERDICT), ==, want->verdict);
		g_assert_cmpstr(nftnl_set_elem_get_str(e, NFTNL_SET_ELEM_CHAIN), ==, want->chain);
	}
	if (want->flags)
		g_assert_cmpuint(nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_FLAGS), ==, want->flags);
	ud = nftnl_set_elem_get(e, NFTNL_SET_ELEM_USERDATA, &len);
	if (ud)
		nftnl_udata_parse(ud, len, comment_cb, &owner);
	/* Interval ends carry no comment (the kernel refuses one). */
	if (want->owner && !(want->flags & NFT_SET_ELEM_INTERVAL_END))
		g_assert_cmpstr(owner, ==, want->owner);
	else
		g_assert_null(owner);
	g_assert_null(nftnl_set_elems_iter_next(it));
	nftnl_set_elems_iter_destroy(it);
}

/* Set @s of table @t built, parsed back; then each of its elements. */
static void set_roundtrip(const VwTable *t, const VwSet *s)
{
	char buf[65536];
	g_autoptr(nftnl_set) built = vw_nft_build_set(t, s);
	g_autoptr(nftnl_set) parsed = nftnl_set_alloc();
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_NEWSET, (uint16_t)t->family, 0, 1);

	nftnl_set_nlmsg_build_payload(nlh, built);
	g_assert_cmpint(nftnl_set_nlmsg_parse(nlh, parsed), ==, 0);
	g_assert_cmpstr(nftnl_set_get_str(parsed, NFTNL_SET_NAME), ==, s->name);
	g_assert_cmpuint(nftnl_set_get_u32(parsed, NFTNL_SET_FAMILY), ==, (uint32_t)t->family);
	g_assert_cmpuint(nftnl_set_get_u32(parsed, NFTNL_SET_FLAGS), ==, s->flags);
	g_assert_cmpuint(nftnl_set_get_u32(parsed, NFTNL_SET_KEY_TYPE), ==, s->key_type);
	g_assert_cmpuint(nftnl_set_get_u32(parsed, NFTNL_SET_KEY_LEN), ==, s->key_len);
	if (s->is_map)
		g_assert_cmpuint(nftnl_set_get_u32(parsed, NFTNL_SET_DATA_LEN), ==, s->data_len);
	/* Elements: each in a message of its own (libnftnl 1.2.4's builder
	 * numbers a message's elements 1, 2, 3 … and its parser takes only 1,
	 * which is what the kernel always sends). */
	for (guint j = 0; j < s->elems->len; j++)
		elem_roundtrip(t, s, s->elems->pdata[j]);
}

/* Sets and elements likewise: attributes, keys, data, verdicts, owners. */
static void test_sets_roundtrip(void)
{
	const char *xml[] = { NAT_NET("    <vw:forward proto='tcp' host-port='2222' guest-address='192.168.150.10'>\n"
				      "      <vw:source address='198.51.100.0/24'/>\n"
				      "    </vw:forward>\n"),
			      NULL };
	Fixture f = { 0 };

	plan_of(&f, xml);
	for (int n = 0; n < VW_TABLES; n++)
		for (guint i = 0; i < f.plan->tables[n].sets->len; i++)
			set_roundtrip(&f.plan->tables[n], f.plan->tables[n].sets->pdata[i]);
	fixture_clear(&f);
}

/* What nft stores with each kind of set (key byte order, data byte order,
 * concatenations, data intervals), as it wrote it for the sets of the
 * skeleton: virtwire derives it from the field types. */
static const uint8_t UD_IFNAME_SET[] = { 0x00, 0x04, 0x01, 0, 0, 0 };
static const uint8_t UD_ADDR_SET[] = { 0x00, 0x04, 0x02, 0, 0, 0 };
static const uint8_t UD_IFNAME_VMAP[] = { 0x00, 0x04, 0x01, 0, 0, 0, 0x01, 0x04, 0, 0, 0, 0, 0x06, 0x04, 0, 0, 0, 0 };
static const uint8_t UD_ADDR_VMAP[] = { 0x00, 0x04, 0x02, 0, 0, 0, 0x01, 0x04, 0, 0, 0, 0, 0x06, 0x04, 0, 0, 0, 0 };
static const uint8_t UD_CONCAT_SET[] = { 0x00, 0x04, 0, 0, 0, 0, 0x03, 0x08, 0x00, 0x04, 0x0d, 0, 0, 0, 0x01, 0x00 };
static const uint8_t UD_CONCAT_MAP[] = { 0x00, 0x04, 0,	   0,	 0,    0,    0x01, 0x04, 0,    0,    0,	   0,	 0x03,
					 0x08, 0x00, 0x04, 0x0d, 0,    0,    0,	   0x01, 0x00, 0x04, 0x08, 0x00, 0x04,
					 0x0d, 0,    0,	   0,	 0x01, 0x00, 0x06, 0x04, 0,    0,    0,	   0 };

/* nft's type ids: ipv4_addr 7, ipv6_addr 8, inet_proto 12, inet_service
 * 13, ifname 41; a concatenation takes six bits per field. */
#define CONCAT2(a, b) (((a) << 6) | (b))
#define CONCAT3(a, b, c) ((CONCAT2(a, b) << 6) | (c))
#define CONCAT4(a, b, c, d) ((CONCAT3(a, b, c) << 6) | (d))

typedef struct {
	const char *name;
	VwSetKind kind;
	const char *type;
	uint32_t flags, key_type, key_len, data_type, data_len;
	const uint8_t *udata;
	size_t udata_len;
	int per_line;
	const uint8_t *concat;
} SetWant;

#define UD(x) x, sizeof(x)

static void test_set_descriptions(void)
{
	static const uint8_t c4[] = { 1, 4, 2, 4, 0 }, c6any[] = { 1, 2, 16, 0 };
	const SetWant want[] = {
		{ "bridges", VW_SET_BRIDGES, "ifname", 0, 41, 16, 0, 0, UD(UD_IFNAME_SET), 1, NULL },
		{ "closed", VW_SET_INTERFACES, "ifname", 0, 41, 16, 0, 0, UD(UD_IFNAME_SET), 1, NULL },
		{ "intra", VW_SET_INTERFACES, "ifname . ifname", 0, CONCAT2(41, 41), 32, 0, 0, UD(UD_CONCAT_SET), 1,
		  NULL },
		{ "egress", VW_SET_INTERFACES, "ifname : verdict", NFT_SET_MAP, 41, 16, NFT_DATA_VERDICT, 16,
		  UD(UD_IFNAME_VMAP), 1, NULL },
		{ "snat4", VW_SET_SUBNETS, "ipv4_addr : verdict", NFT_SET_MAP | NFT_SET_INTERVAL, 7, 4,
		  NFT_DATA_VERDICT, 16, UD(UD_ADDR_VMAP), 2, NULL },
		{ "snat6", VW_SET_SUBNETS, "ipv6_addr : verdict", NFT_SET_MAP | NFT_SET_INTERVAL, 8, 16,
		  NFT_DATA_VERDICT, 16, UD(UD_ADDR_VMAP), 1, NULL },
		{ "gw4", VW_SET_GATEWAYS, "ipv4_addr", 0, 7, 4, 0, 0, UD(UD_ADDR_SET), 2, NULL },
		{ "gw6", VW_SET_GATEWAYS, "ipv6_addr", 0, 8, 16, 0, 0, UD(UD_ADDR_SET), 1, NULL },
		{ "host-services", VW_SET_SERVICES, "inet_proto . inet_service", 0, CONCAT2(12, 13), 8, 0, 0,
		  UD(UD_CONCAT_SET), 1, NULL },
		{ "fwd4", VW_SET_FORWARDS, "inet_proto . ipv4_addr . inet_service : ipv4_addr . inet_service",
		  NFT_SET_MAP, CONCAT3(12, 7, 13), 12, CONCAT2(7, 13), 8, UD(UD_CONCAT_MAP), 1, NULL },
		{ "fwd6any", VW_SET_FORWARDS, "inet_proto . inet_service : ipv6_addr . inet_service", NFT_SET_MAP,
		  CONCAT2(12, 13), 8, CONCAT2(8, 13), 20, UD(UD_CONCAT_MAP), 1, NULL },
		{ "fwd4allow", VW_SET_FORWARDS, "inet_proto . ipv4_addr . inet_service . ipv4_addr",
		  NFT_SET_INTERVAL | NFT_SET_CONCAT, CONCAT4(12, 7, 13, 7), 16, 0, 0, UD(UD_CONCAT_SET), 1, c4 },
		{ "fwd6anyallow", VW_SET_FORWARDS, "inet_proto . inet_service . ipv6_addr",
		  NFT_SET_INTERVAL | NFT_SET_CONCAT, CONCAT3(12, 13, 8), 24, 0, 0, UD(UD_CONCAT_SET), 1, c6any },
		{ "fwd6count", VW_SET_COUNTERS, "inet_proto . ipv6_addr . inet_service", 0, CONCAT3(12, 8, 13), 24, 0,
		  0, UD(UD_CONCAT_SET), 1, NULL },
	};
	g_autoptr(VwPlan) p = vw_plan_skeleton();

	for (size_t i = 0; i < G_N_ELEMENTS(want); i++) {
		const SetWant *w = &want[i];
		const VwSet *s = vw_plan_find_set(p, w->name);
		gsize n;
		const void *ud = g_bytes_get_data(s->udata, &n);

		g_test_message("set %s", w->name);
		g_assert_cmpint(s->kind, ==, w->kind);
		g_assert_cmpstr(s->type_text, ==, w->type);
		g_assert_cmpuint(s->flags, ==, w->flags);
		g_assert_cmpuint(s->key_type, ==, w->key_type);
		g_assert_cmpuint(s->key_len, ==, w->key_len);
		g_assert_cmpuint(s->is_map, ==, w->data_len != 0);
		g_assert_cmpuint(s->data_type, ==, w->data_type);
		g_assert_cmpuint(s->data_len, ==, w->data_len);
		g_assert_cmpmem(ud, n, w->udata, w->udata_len);
		g_assert_cmpint(s->per_line, ==, w->per_line);
		g_assert_cmpmem(s->concat, s->concat_n, w->concat, w->concat ? strlen((const char *)w->concat) : 0);
	}
	g_assert_true(vw_plan_find_set(p, "fwd4count")->counter);
	g_assert_false(vw_plan_find_set(p, "fwd4any")->counter);
}

/* The element a set added last (vw_set_add keeps a copy of the one given). */
static VwElem *last_elem(const VwSet *s)
{
	return s->elems->pdata[s->elems->len - 1];
}

static VwElem *elem_with_key(const VwAddr *a)
{
	VwElem *e = vw_elem_new("n");

	vw_key_put_addr(e->key, &e->key_len, a);
	e->has_verdict = true;
	e->verdict = NF_DROP;
	return e;
}

/* Element text from key bytes and field types: a single-field interval is
 * a value, a prefix or a range, and ends one past its last value; a
 * concatenated interval spells each field's range so. */
static void test_element_text(void)
{
	g_autoptr(VwPlan) p = vw_plan_skeleton();
	VwSet *snat4 = vw_plan_find_set(p, "snat4");
	VwSet *allow = vw_plan_find_set(p, "fwd4anyallow");
	VwSet *svc = vw_plan_find_set(p, "host-services");
	const VwAddr net = { AF_INET, { 10, 0, 0, 0 } }, bcast = { AF_INET, { 10, 0, 0, 255 } };
	const VwAddr lo = { AF_INET, { 10, 1, 0, 1 } }, hi = { AF_INET, { 10, 1, 0, 5 } };
	const VwAddr one = { AF_INET, { 10, 2, 0, 7 } };
	const VwAddr top = { AF_INET, { 255, 255, 255, 0 } }, all = { AF_INET, { 255, 255, 255, 255 } };
	const VwAddr src = { AF_INET, { 203, 0, 113, 0 } }, src_end = { AF_INET, { 203, 0, 113, 15 } };
	VwElem *e;
	guint before;

	g_assert_true(vw_set_add_range(snat4, elem_with_key(&net), bcast.b));
	e = snat4->elems->pdata[snat4->elems->len - 2];
	g_assert_cmpstr(e->text, ==, "10.0.0.0/24 : drop");
	g_assert_cmpstr(e->key_text, ==, "10.0.0.0/24");
	e = snat4->elems->pdata[snat4->elems->len - 1];
	g_assert_true(e->flags & NFT_SET_ELEM_INTERVAL_END);
	g_assert_null(e->text);
	g_assert_cmpstr(e->key_text, ==, "10.0.0.0/24"); /* for a conflict's words */
	g_assert_cmpmem(e->key, e->key_len, ((const uint8_t[]){ 10, 0, 1, 0 }), 4);
	g_assert_true(vw_set_add_range(snat4, elem_with_key(&lo), hi.b));
	g_assert_cmpstr(((VwElem *)snat4->elems->pdata[snat4->elems->len - 2])->text, ==, "10.1.0.1-10.1.0.5 : drop");
	g_assert_true(vw_set_add_range(snat4, elem_with_key(&one), one.b));
	g_assert_cmpstr(((VwElem *)snat4->elems->pdata[snat4->elems->len - 2])->text, ==, "10.2.0.7 : drop");
	/* Up to the last address: no end element. */
	before = snat4->elems->len;
	g_assert_true(vw_set_add_range(snat4, elem_with_key(&top), all.b));
	g_assert_cmpuint(snat4->elems->len, ==, before + 1);

	e = vw_elem_new("n");
	vw_key_put_proto(e->key, &e->key_len, VW_PROTO_TCP);
	vw_key_put_proto(e->key_end, &e->key_end_len, VW_PROTO_TCP);
	vw_key_put_port(e->key, &e->key_len, 7000);
	vw_key_put_port(e->key_end, &e->key_end_len, 7002);
	vw_key_put_addr(e->key, &e->key_len, &src);
	vw_key_put_addr(e->key_end, &e->key_end_len, &src_end);
	g_assert_true(vw_set_add(allow, e));
	e = last_elem(allow);
	g_assert_cmpstr(vw_elem_text(allow, e), ==, "tcp . 7000-7002 . 203.0.113.0/28");
	g_assert_cmpstr(vw_elem_key_text(allow, e), ==, vw_elem_text(allow, e));

	/* A protocol without a name prints as its number. */
	e = vw_elem_new(NULL);
	vw_key_put_proto(e->key, &e->key_len, 47);
	vw_key_put_port(e->key, &e->key_len, 0);
	g_assert_true(vw_set_add(svc, e));
	e = last_elem(svc);
	g_assert_cmpstr(vw_elem_text(svc, e), ==, "47 . 0");
}

/* Conflicts are worded from the set's kind and the element's key. */
static void test_conflict_message(void)
{
	g_autoptr(VwPlan) p = vw_plan_skeleton();
	VwElem *e = vw_elem_new("a");
	const VwAddr target = { AF_INET, { 192, 168, 1, 10 } };
	const VwAddr net = { AF_INET, { 192, 168, 1, 0 } }, bcast = { AF_INET, { 192, 168, 1, 255 } };
	g_autofree char *fwd = NULL, *subnet = NULL, *br = NULL, *iface = NULL;
	VwSet *snat4 = vw_plan_find_set(p, "snat4");

	vw_key_put_proto(e->key, &e->key_len, VW_PROTO_TCP);
	vw_key_put_port(e->key, &e->key_len, 2222);
	vw_key_put_addr(e->data, &e->data_len, &target);
	vw_key_put_port(e->data, &e->data_len, 22);
	g_assert_true(vw_set_add(vw_plan_find_set(p, "fwd4any"), e));
	e = last_elem(vw_plan_find_set(p, "fwd4any"));
	fwd = vw_plan_conflict_message(vw_plan_find_set(p, "fwd4any"), e, "network 'a'", "network 'b'");
	g_assert_cmpstr(fwd, ==, "the forward tcp . 2222 of network 'a' is already taken by network 'b'");

	/* An interval's end speaks for its interval. */
	g_assert_true(vw_set_add_range(snat4, elem_with_key(&net), bcast.b));
	e = snat4->elems->pdata[snat4->elems->len - 1];
	subnet = vw_plan_conflict_message(snat4, e, "network 'a'", "network 'b'");
	g_assert_cmpstr(subnet, ==, "subnet 192.168.1.0/24 of network 'a' overlaps network 'b'");

	e = vw_elem_new("a");
	vw_key_ifname(e, "vw-a");
	g_assert_true(vw_set_add(vw_plan_find_set(p, "bridges"), e));
	e = last_elem(vw_plan_find_set(p, "bridges"));
	br = vw_plan_conflict_message(vw_plan_find_set(p, "bridges"), e, "network 'a'", "network 'b'");
	g_assert_cmpstr(br, ==, "bridge \"vw-a\" of network 'a' already belongs to network 'b'");
	e = vw_elem_new("a");
	vw_key_ifname(e, "vw-a");
	e->has_verdict = true;
	e->verdict = NF_DROP;
	g_assert_true(vw_set_add(vw_plan_find_set(p, "ingress"), e));
	e = last_elem(vw_plan_find_set(p, "ingress"));
	iface = vw_plan_conflict_message(vw_plan_find_set(p, "ingress"), e, "network 'a'", "network 'b'");
	g_assert_cmpstr(iface, ==, "interface \"vw-a\" of network 'a' already belongs to network 'b'");
}

static void test_network_id(void)
{
	g_autofree char *plain = vw_plan_network_id("web-1.prod");
	g_autofree char *odd = vw_plan_network_id("my net/\"x\"");
	g_autofree char *odd2 = vw_plan_network_id("my net/\"x\"");

	g_assert_cmpstr(plain, ==, "web-1.prod");
	/* Names nft could not list back become a stable hash. */
	g_assert_cmpuint(strlen(odd), ==, 13);
	g_assert_true(odd[0] == 'h');
	g_assert_cmpstr(odd, ==, odd2);
}

static void test_owner_scope(void)
{
	g_autoptr(GPtrArray) scope = g_ptr_array_new();

	g_ptr_array_add(scope, "web:*");
	g_ptr_array_add(scope, "db:3068240c");
	g_assert_true(vw_nft_owner_in_scope("web", scope));
	g_assert_true(vw_nft_owner_in_scope("web:anything", scope));
	g_assert_false(vw_nft_owner_in_scope("webx", scope));
	g_assert_false(vw_nft_owner_in_scope("webx:1", scope));
	g_assert_true(vw_nft_owner_in_scope("db:3068240c", scope));
	g_assert_false(vw_nft_owner_in_scope("db", scope));
	g_assert_false(vw_nft_owner_in_scope("db:other", scope));
	/* Skeleton elements have no owner and are always in scope. */
	g_assert_true(vw_nft_owner_in_scope(NULL, scope));
	g_assert_true(vw_nft_chain_in_scope("nw-web-out", scope));
	g_assert_true(vw_nft_chain_in_scope("nw-web-snat", scope));
	g_assert_false(vw_nft_chain_in_scope("nw-webx-out", scope));
	g_assert_false(vw_nft_chain_in_scope("nw-db-out", scope)); /* a port owns no chain */
	g_assert_false(vw_nft_chain_in_scope("forward", scope));
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/plan/forward-elements", test_forward_elements);
	g_test_add_func("/plan/subnet-interval", test_subnet_interval);
	g_test_add_func("/plan/modes", test_modes);
	g_test_add_func("/plan/collision", test_collision_between_plans);
	g_test_add_func("/plan/span", test_span);
	g_test_add_func("/plan/span-evpn", test_span_evpn);
	g_test_add_func("/plan/digest", test_digest);
	g_test_add_func("/plan/element-cap", test_element_cap);
	g_test_add_func("/plan/format-wrapping", test_format_wrapping);
	g_test_add_func("/plan/set-descriptions", test_set_descriptions);
	g_test_add_func("/plan/element-text", test_element_text);
	g_test_add_func("/plan/conflict-message", test_conflict_message);
	g_test_add_func("/plan/network-id", test_network_id);
	g_test_add_func("/plan/spoof-network", test_spoof_network);
	g_test_add_func("/plan/spoof-ports", test_spoof_ports);
	g_test_add_func("/plan/spoof-modes", test_spoof_modes);
	g_test_add_func("/nft/sets-roundtrip", test_sets_roundtrip);
	g_test_add_func("/nft/owner-scope", test_owner_scope);
	return g_test_run();
}
