/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Links without root. Netlink messages: each filler builds its message into
 * a buffer, the parser reads it back, and the values must survive. The link
 * executor: a recording fake backend (an in-memory kernel) that fails
 * operation N; for every N of a realistic plan the fake must end exactly as
 * it started, and a complete apply followed by an undo must too.
 */
#include <errno.h>
#include <string.h>

#include <glib.h>
#include <linux/if_addr.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>

#include <virtwire/exec.h>
#include <virtwire/plan.h>
#include <virtwire/xml.h>

#include "fake-link.h"
#include "link-private.h"

/* ---------------------------------------------------------------------- */
/* Messages */

static void test_msg_bridge(void)
{
	g_autoptr(nl_msg) msg = nlmsg_alloc();
	VwLinkChange ch = { .set_mac = true,
			    .set_mtu = true,
			    .mtu = 9000,
			    .set_stp = true,
			    .stp = true,
			    .set_delay = true,
			    .forward_delay = 300,
			    .set_alias = true };
	VwLinkInfo li;

	g_assert_true(vw_mac_parse("52:54:00:12:34:56", &ch.mac));
	g_strlcpy(ch.alias, "virtwire:web", sizeof(ch.alias));
	g_assert_cmpint(vw_nlmsg_bridge_add(msg, "vw-web", &ch), ==, 0);
	g_assert_cmpint(nlmsg_hdr(msg)->nlmsg_type, ==, RTM_NEWLINK);
	g_assert_true(nlmsg_hdr(msg)->nlmsg_flags & NLM_F_CREATE);
	g_assert_cmpint(vw_nlmsg_link_parse(nlmsg_hdr(msg), &li), ==, 0);
	g_assert_cmpstr(li.name, ==, "vw-web");
	g_assert_cmpstr(li.kind, ==, "bridge");
	g_assert_true(li.has_mac && vw_mac_equal(&li.mac, &ch.mac));
	g_assert_cmpuint(li.mtu, ==, 9000);
	g_assert_true(li.stp);
	g_assert_cmpuint(li.forward_delay, ==, 300);
	g_assert_cmpstr(li.alias, ==, "virtwire:web");
}

static void test_msg_change(void)
{
	g_autoptr(nl_msg) msg = nlmsg_alloc();
	VwLinkChange ch = { .set_up = true, .up = true, .set_master = true, .master = 7 };
	VwLinkInfo li;

	g_assert_cmpint(vw_nlmsg_link_change(msg, 12, false, &ch), ==, 0);
	g_assert_cmpint(vw_nlmsg_link_parse(nlmsg_hdr(msg), &li), ==, 0);
	g_assert_cmpint(li.ifindex, ==, 12);
	g_assert_true(li.up);
	g_assert_cmpint(li.master, ==, 7);
	g_assert_cmpuint(((struct ifinfomsg *)nlmsg_data(nlmsg_hdr(msg)))->ifi_change, ==, IFF_UP);
}

static void test_msg_port_flags(void)
{
	g_autoptr(nl_msg) msg = nlmsg_alloc();
	VwLinkInfo li;

	/* Isolated has no libnl helper: it must be in the message all the same. */
	g_assert_cmpint(vw_nlmsg_port_flags(msg, 5, 1, 1), ==, 0);
	g_assert_cmpint(nlmsg_hdr(msg)->nlmsg_type, ==, RTM_SETLINK);
	g_assert_cmpint(((struct ifinfomsg *)nlmsg_data(nlmsg_hdr(msg)))->ifi_family, ==, AF_BRIDGE);
	g_assert_cmpint(vw_nlmsg_link_parse(nlmsg_hdr(msg), &li), ==, 0);
	g_assert_true(li.is_port);
	g_assert_true(li.hairpin);
	g_assert_true(li.isolated);
}

/* EVPN's VXLAN port: learning and neighbour suppression (libnl has no
 * helper for the latter), both read back. */
static void test_msg_port_evpn(void)
{
	for (int learning = 0; learning < 2; learning++) {
		g_autoptr(nl_msg) msg = NULL;
		VwLinkInfo li;

		g_assert_cmpint(vw_nlmsg_port_evpn(9, learning, !learning, &msg), ==, 0);
		g_assert_cmpint(nlmsg_hdr(msg)->nlmsg_type, ==, RTM_SETLINK);
		g_assert_cmpint(((struct ifinfomsg *)nlmsg_data(nlmsg_hdr(msg)))->ifi_family, ==, AF_BRIDGE);
		g_assert_cmpint(vw_nlmsg_link_parse(nlmsg_hdr(msg), &li), ==, 0);
		g_assert_cmpint(li.ifindex, ==, 9);
		g_assert_true(li.is_port);
		g_assert_cmpint(li.port_learning, ==, learning);
		g_assert_cmpint(li.neigh_suppress, ==, !learning);
	}
}

static void test_msg_addr(void)
{
	g_autoptr(nl_msg) msg = nlmsg_alloc();
	VwAddrInfo a = { .flags = IFA_F_NODAD, .valid_lft = 600, .preferred_lft = 300 }, b;
	int idx;

	g_assert_true(vw_prefix_parse("2001:db8:150::1/64", &a.prefix));
	g_assert_cmpint(vw_nlmsg_addr(msg, true, 9, &a), ==, 0);
	g_assert_cmpint(vw_nlmsg_addr_parse(nlmsg_hdr(msg), &idx, &b), ==, 0);
	g_assert_cmpint(idx, ==, 9);
	g_assert_true(vw_addr_equal(&a.prefix.addr, &b.prefix.addr));
	g_assert_cmpuint(b.prefix.prefix, ==, 64);
	g_assert_cmpuint(b.flags, ==, IFA_F_NODAD);
	g_assert_cmpuint(b.valid_lft, ==, 600);
	g_assert_cmpuint(b.preferred_lft, ==, 300);
}

static void test_msg_route(void)
{
	g_autoptr(nl_msg) msg = nlmsg_alloc();
	VwRouteInfo r = { .metric = 100,
			  .table = RT_TABLE_MAIN,
			  .protocol = RTPROT_STATIC,
			  .scope = RT_SCOPE_UNIVERSE,
			  .type = RTN_UNICAST },
		    b;
	g_autofree char *text = NULL;
	int oif;

	g_assert_true(vw_prefix_parse("0.0.0.0/0", &r.dst));
	g_assert_true(vw_addr_parse("198.51.100.1", &r.gateway));
	g_assert_cmpint(vw_nlmsg_route(msg, true, 3, &r), ==, 0);
	g_assert_cmpint(vw_nlmsg_route_parse(nlmsg_hdr(msg), &oif, &b), ==, 0);
	g_assert_cmpint(oif, ==, 3);
	text = vw_route_to_string(&b);
	g_assert_cmpstr(text, ==, "0.0.0.0/0 via 198.51.100.1 metric 100 proto 4 scope 0 table 254 type 1");
	g_assert_true(vw_route_from_string(text, &r));
	g_assert_true(vw_addr_equal(&r.gateway, &b.gateway));
	g_assert_cmpuint(r.metric, ==, 100);
}

/* A VXLAN device as a spanning network creates it, for each variant of its
 * attributes: what the kernel would read back is what was asked. */
static void test_msg_vxlan(void)
{
	for (guint v = 0; v < 4; v++) {
		g_autoptr(nl_msg) msg = NULL;
		VwVxlanConf c = { .vni = 16777215 - v,
				  .port = v & 1 ? 4789 : 8472,
				  .learning = v & 1,
				  .mtu = v & 2 ? 1450 : 0,
				  .link = v & 2 ? 3 : 0 };
		VwLinkInfo li = { 0 };

		if (v)
			g_assert_true(vw_addr_parse(v == 3 ? "2001:db8::1" : "192.0.2.1", &c.local));
		g_assert_cmpint(vw_nlmsg_vxlan_add("vw16777215", &c, &msg), ==, 0);
		g_assert_cmpint(nlmsg_hdr(msg)->nlmsg_type, ==, RTM_NEWLINK);
		g_assert_cmphex(nlmsg_hdr(msg)->nlmsg_flags & (NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK), ==,
				NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK);
		g_assert_cmpint(vw_nlmsg_link_parse(nlmsg_hdr(msg), &li), ==, 0);
		g_assert_cmpstr(li.name, ==, "vw16777215");
		g_assert_cmpstr(li.kind, ==, "vxlan");
		g_assert_cmpuint(li.vni, ==, c.vni);
		g_assert_cmpuint(li.vxlan_port, ==, c.port);
		g_assert_cmpint(li.vxlan_learning, ==, c.learning);
		g_assert_cmpint(li.vxlan_link, ==, c.link);
		g_assert_cmpuint(li.mtu, ==, c.mtu);
		g_assert_true(vw_addr_is_set(&li.vxlan_local) == (v != 0));
		if (v)
			g_assert_true(vw_addr_equal(&li.vxlan_local, &c.local));
	}
}

/* One entry of a VXLAN device's forwarding database, added and deleted. */
static void test_msg_fdb(void)
{
	const char *dsts[] = { "198.51.100.2", "2001:db8::2" };

	for (guint i = 0; i < G_N_ELEMENTS(dsts); i++) {
		for (int add = 0; add < 2; add++) {
			g_autoptr(nl_msg) msg = NULL;
			VwFdbEntry f = { 0 }, back;
			int idx = 0;

			g_assert_true(vw_addr_parse(dsts[i], &f.dst));
			g_assert_true(vw_mac_parse(i ? "52:54:00:00:00:09" : "00:00:00:00:00:00", &f.mac));
			g_assert_cmpint(vw_nlmsg_fdb(add, 7, &f, &msg), ==, 0);
			g_assert_cmpint(nlmsg_hdr(msg)->nlmsg_type, ==, add ? RTM_NEWNEIGH : RTM_DELNEIGH);
			g_assert_true(!add || (nlmsg_hdr(msg)->nlmsg_flags & NLM_F_APPEND));
			/* The parser reads what the kernel reports (RTM_NEWNEIGH). */
			nlmsg_hdr(msg)->nlmsg_type = RTM_NEWNEIGH;
			g_assert_cmpint(vw_nlmsg_fdb_parse(nlmsg_hdr(msg), &idx, &back), ==, 0);
			g_assert_cmpint(idx, ==, 7);
			g_assert_true(vw_mac_equal(&back.mac, &f.mac));
			g_assert_true(vw_addr_equal(&back.dst, &f.dst));
			g_assert_true(back.permanent);
			g_assert_cmphex(((struct ndmsg *)nlmsg_data(nlmsg_hdr(msg)))->ndm_flags, ==, NTF_SELF);
		}
	}
}

/* A host with an uplink carrying addresses and routes, and a bridge
 * libvirt made (down, another MTU) with two guest ports. */
static void host_setup(FakeLinks *f)
{
	FLink *eth0 = fake_links_add(f, "eth0", "veth");
	FLink *virbr = fake_links_add(f, "vw-web", "bridge");
	FLink *p;
	VwAddrInfo a = { .valid_lft = 0xffffffffu, .preferred_lft = 0xffffffffu };
	VwRouteInfo r = { .table = RT_TABLE_MAIN, .protocol = RTPROT_STATIC, .type = RTN_UNICAST, .metric = 100 };

	eth0->info.up = true;
	vw_prefix_parse("198.51.100.5/24", &a.prefix);
	g_array_append_val(eth0->addrs, a);
	vw_prefix_parse("2001:db8:ffff::5/64", &a.prefix);
	g_array_append_val(eth0->addrs, a);
	vw_prefix_parse("0.0.0.0/0", &r.dst);
	vw_addr_parse("198.51.100.1", &r.gateway);
	g_array_append_val(eth0->routes, r);
	vw_prefix_parse("2001:db8::/32", &r.dst);
	vw_addr_parse("2001:db8:ffff::1", &r.gateway);
	g_array_append_val(eth0->routes, r);
	virbr->info.mtu = 1400;
	virbr->info.stp = true;
	for (int i = 0; i < 2; i++) {
		g_autofree char *n = g_strdup_printf("vnet%d", i);

		p = fake_links_add(f, n, "tun");
		p->info.master = virbr->info.ifindex;
	}
}

#define WEB_XML                                                                                              \
	"<network><name>web</name><forward mode='open'/><bridge name='vw-web' stp='off'/><mtu size='9000'/>" \
	"<ip address='192.168.150.1' prefix='24'/><ip family='ipv6' address='2001:db8:150::1' prefix='64'/>" \
	"<metadata><vw:network xmlns:vw='urn:virtwire:1' mode='nat'/></metadata></network>"
#define NEW_XML                                                                  \
	"<network><name>new</name><forward mode='open'/><bridge name='vw-new'/>" \
	"<ip address='192.168.151.1' prefix='24'/>"                              \
	"<metadata><vw:network xmlns:vw='urn:virtwire:1' mode='host-only'/></metadata></network>"
#define LAN_XML                                                                    \
	"<network><name>lan</name><forward mode='bridge'/><bridge name='vw-lan'/>" \
	"<metadata><vw:network xmlns:vw='urn:virtwire:1' mode='bridged' uplink='eth0'/></metadata></network>"

static VwPlan *plan_for(const char *const *xmls, GPtrArray *docs)
{
	g_autoptr(VwDiags) d = vw_diags_new();
	g_autoptr(GPtrArray) nets = g_ptr_array_new();

	for (guint i = 0; xmls[i]; i++) {
		VwDoc *doc = NULL;

		g_assert_cmpint(vw_doc_load_memory("t.xml", xmls[i], strlen(xmls[i]), NULL, d, &doc), ==, VW_LOAD_OK);
		g_ptr_array_add(docs, doc);
		g_ptr_array_add(nets, doc->network);
	}
	return vw_plan_build(nets, NULL, d);
}

/* Applies every network of @plan; false at the first failure (which has
 * undone that network's own changes), after undoing the earlier ones. */
static bool apply_all(const VwLinkBackend *be, const VwPlan *plan, GPtrArray *states)
{
	g_autoptr(GPtrArray) undo = g_ptr_array_new();

	for (guint i = 0; i < plan->networks->len; i++) {
		g_autofree char *id = vw_plan_network_id(plan->networks->pdata[i]);
		VwState *st = vw_state_new(id);
		g_autoptr(GError) err = NULL;

		g_ptr_array_add(states, st);
		if (!vw_link_apply(be, plan, id, NULL, st, undo, NULL, &err)) {
			g_assert_nonnull(err);
			g_assert_true(vw_link_undo(be, id, undo, false, NULL, NULL, NULL));
			return false;
		}
	}
	return true;
}

static void test_rollback_every_step(void)
{
	const char *xmls[] = { WEB_XML, NEW_XML, LAN_XML, NULL };
	g_autoptr(GPtrArray) docs = g_ptr_array_new_with_free_func((GDestroyNotify)vw_doc_free);
	g_autoptr(VwPlan) plan = plan_for(xmls, docs);
	FakeLinks f;
	VwLinkBackend be;
	g_autofree char *start = NULL, *done = NULL, *undone = NULL;
	int total;

	g_assert_nonnull(plan);
	/* A complete run, to count the changes it makes. */
	fake_links_init(&f);
	host_setup(&f);
	be = fake_links_backend(&f);
	start = fake_links_snapshot(&f);
	{
		g_autoptr(GPtrArray) states = g_ptr_array_new_with_free_func((GDestroyNotify)vw_state_free);
		g_autoptr(GPtrArray) all = g_ptr_array_new();

		g_assert_true(apply_all(&be, plan, states));
		total = f.mutations;
		done = fake_links_snapshot(&f);
		/* What it made: the new bridges, the uplink's move, the fixes. */
		g_assert_nonnull(strstr(done, "link vw-new bridge"));
		g_assert_nonnull(strstr(done, "link vw-lan bridge mac=02:00:00:00:00:01 mtu=1500 up=1"));
		g_assert_nonnull(strstr(done, "addr vw-lan 198.51.100.5/24"));
		g_assert_nonnull(strstr(done, "route vw-lan 0.0.0.0/0 via 198.51.100.1"));
		g_assert_null(strstr(done, "addr eth0 198.51.100.5/24"));
		g_assert_nonnull(strstr(done, "link vw-web bridge mac=02:00:00:00:00:02 mtu=9000 up=1"));
		g_assert_nonnull(strstr(
			done,
			"link vnet0 tun mac=02:00:00:00:00:03 mtu=1500 up=0 master=2 stp=0 delay=0 alias= hairpin=1"));
		/* Teardown: every network's records undone, newest first. */
		for (guint i = states->len; i-- > 0;) {
			VwState *st = states->pdata[i];

			for (guint j = 0; j < st->links->len; j++)
				g_ptr_array_add(all, st->links->pdata[j]);
		}
		{
			/* vw_link_undo goes newest first over one list: give
			 * it the records in apply order. */
			g_autoptr(GPtrArray) ordered = g_ptr_array_new();

			for (guint i = 0; i < states->len; i++) {
				VwState *st = states->pdata[i];

				for (guint j = 0; j < st->links->len; j++)
					g_ptr_array_add(ordered, st->links->pdata[j]);
			}
			g_assert_true(vw_link_undo(&be, "net", ordered, false, NULL, NULL, NULL));
		}
		undone = fake_links_snapshot(&f);
		g_assert_cmpstr(undone, ==, start);
	}
	fake_links_clear(&f);
	g_assert_cmpint(total, >, 15);

	/* Now fail the Nth change, for every N: nothing may remain. */
	for (int n = 1; n <= total; n++) {
		g_autoptr(GPtrArray) states = g_ptr_array_new_with_free_func((GDestroyNotify)vw_state_free);
		g_autofree char *before = NULL, *after = NULL;

		fake_links_init(&f);
		host_setup(&f);
		be = fake_links_backend(&f);
		before = fake_links_snapshot(&f);
		f.fail_at = n;
		g_assert_false(apply_all(&be, plan, states));
		after = fake_links_snapshot(&f);
		if (strcmp(before, after) != 0)
			g_error("after a failure at change %d of %d the fake kernel differs:\nbefore:\n%s\nafter:\n%s",
				n, total, before, after);
		fake_links_clear(&f);
	}
}

static void test_reapply_keeps_ownership(void)
{
	const char *xmls[] = { NEW_XML, NULL };
	g_autoptr(GPtrArray) docs = g_ptr_array_new_with_free_func((GDestroyNotify)vw_doc_free);
	g_autoptr(VwPlan) plan = plan_for(xmls, docs);
	g_autoptr(VwState) first = vw_state_new("new");
	g_autoptr(VwState) second = vw_state_new("new");
	g_autoptr(GPtrArray) undo = g_ptr_array_new();
	g_autofree char *start = NULL;
	FakeLinks f;
	VwLinkBackend be;

	fake_links_init(&f);
	host_setup(&f);
	be = fake_links_backend(&f);
	start = fake_links_snapshot(&f);
	g_assert_true(vw_link_apply(&be, plan, "new", NULL, first, undo, NULL, NULL));
	f.mutations = 0;
	g_ptr_array_set_size(undo, 0);
	/* The second apply finds everything, changes nothing, and still knows
	 * the bridge and its address are virtwire's. */
	g_assert_true(vw_link_apply(&be, plan, "new", first, second, undo, NULL, NULL));
	g_assert_cmpint(f.mutations, ==, 0);
	g_assert_cmpuint(undo->len, ==, 0);
	for (guint i = 0; i < second->links->len; i++) {
		const VwStateLink *l = second->links->pdata[i];

		if (strcmp(l->kind, "bridge") == 0 || strcmp(l->kind, "addr") == 0)
			g_assert_true(l->created);
	}
	{
		g_autoptr(GPtrArray) done = g_ptr_array_new_with_free_func(g_free);
		g_autofree char *end = NULL;
		bool bridge = false;

		g_assert_true(vw_link_undo(&be, "new", second->links, true, NULL, done, NULL));
		end = fake_links_snapshot(&f);
		g_assert_cmpstr(end, ==, start);
		/* What was undone is named, the bridge among it. */
		for (guint i = 0; i < done->len; i++)
			bridge |= strcmp(done->pdata[i], "bridge vw-new") == 0;
		g_assert_true(bridge);
	}
	fake_links_clear(&f);
}

/* A record is a file: teardown undoes only what the kernel proves to be
 * virtwire's for the network, and says what it leaves. */
static void test_undo_needs_proof(void)
{
	g_autoptr(VwState) forged = vw_state_new("net");
	g_autoptr(GPtrArray) notes = g_ptr_array_new_with_free_func(g_free);
	g_autofree char *before = NULL, *after = NULL;
	FLink *victim, *plain, *ours;
	VwAddrInfo a = { .valid_lft = 0xffffffffu, .preferred_lft = 0xffffffffu };
	FakeLinks f;
	VwLinkBackend be;

	fake_links_init(&f);
	victim = fake_links_add(&f, "victim0", "veth");
	victim->info.up = true;
	plain = fake_links_add(&f, "br-other", "bridge");
	ours = fake_links_add(&f, "vw-net", "bridge");
	g_strlcpy(ours->info.alias, VW_LINK_ALIAS_PREFIX "net", sizeof(ours->info.alias));
	g_assert_true(vw_prefix_parse("198.51.100.5/24", &a.prefix));
	g_array_append_val(victim->addrs, a);
	g_array_append_val(plain->addrs, a);
	g_hash_table_insert(f.sysctls, g_strdup("net/ipv4/conf/all/rp_filter"), g_strdup("1"));
	be = fake_links_backend(&f);
	before = fake_links_snapshot(&f);

	vw_state_add_link(forged, "bridge", "victim0", true, NULL);
	vw_state_add_link(forged, "bridge", "br-other", true, NULL);
	vw_state_add_link(forged, "addr", "victim0 198.51.100.5/24", true, NULL);
	vw_state_add_link(forged, "addr", "br-other 198.51.100.5/24", true, NULL);
	vw_state_add_link(forged, "link-config", "victim0", true, "up=0 mtu=68");
	vw_state_add_link(forged, "sysctl", "../../../tmp/x", true, "1");
	vw_state_add_link(forged, "sysctl", "net/ipv4/conf/all/rp_filter", true, "0");
	vw_state_add_link(forged, "port-flags", "victim0", true, "hairpin=1 isolated=1");
	vw_state_add_link(forged, "mystery", "victim0", true, NULL);
	g_assert_true(vw_link_undo(&be, "net", forged->links, true, notes, NULL, NULL));
	after = fake_links_snapshot(&f);
	g_assert_cmpstr(after, ==, before);
	g_assert_cmpuint(f.mutations, ==, 0);
	g_assert_cmpuint(notes->len, ==, forged->links->len);

	/* The network's own bridge, with its marker, goes; an address with
	 * virtwire's marker goes from a bridge that is not virtwire's. */
	a.proto = VW_ADDR_PROTO;
	g_assert_true(vw_prefix_parse("192.0.2.1/24", &a.prefix));
	g_array_append_val(plain->addrs, a);
	g_ptr_array_set_size(forged->links, 0);
	g_ptr_array_set_size(notes, 0);
	vw_state_add_link(forged, "addr", "br-other 192.0.2.1/24", true, NULL);
	vw_state_add_link(forged, "bridge", "vw-net", true, NULL);
	g_assert_true(vw_link_undo(&be, "net", forged->links, true, notes, NULL, NULL));
	g_assert_cmpuint(notes->len, ==, 0);
	g_free(after);
	after = fake_links_snapshot(&f);
	g_assert_null(strstr(after, "link vw-net "));
	g_assert_null(strstr(after, "192.0.2.1/24"));
	g_assert_nonnull(strstr(after, "addr br-other 198.51.100.5/24"));
	fake_links_clear(&f);
}

/* A bridge carrying virtwire's marker for the network is virtwire's, even
 * when no record says so (a record lost or written before the bridge). */
static void test_marker_means_created(void)
{
	const char *xmls[] = { NEW_XML, NULL };
	g_autoptr(GPtrArray) docs = g_ptr_array_new_with_free_func((GDestroyNotify)vw_doc_free);
	g_autoptr(VwPlan) plan = plan_for(xmls, docs);
	g_autoptr(VwState) st = vw_state_new("new");
	g_autoptr(GPtrArray) undo = g_ptr_array_new();
	FakeLinks f;
	VwLinkBackend be;
	FLink *br;
	bool found = false;

	fake_links_init(&f);
	br = fake_links_add(&f, "vw-new", "bridge");
	g_strlcpy(br->info.alias, VW_LINK_ALIAS_PREFIX "new", sizeof(br->info.alias));
	be = fake_links_backend(&f);
	g_assert_true(vw_link_apply(&be, plan, "new", NULL, st, undo, NULL, NULL));
	for (guint i = 0; i < st->links->len; i++) {
		const VwStateLink *l = st->links->pdata[i];

		if (strcmp(l->kind, "bridge") == 0) {
			g_assert_true(l->created);
			found = true;
		}
		/* The address virtwire adds carries its marker. */
		if (strcmp(l->kind, "addr") == 0)
			g_assert_true(l->created);
	}
	g_assert_true(found);
	{
		g_autofree char *snap = fake_links_snapshot(&f);

		g_assert_nonnull(strstr(snap, "addr vw-new 192.168.151.1/24 flags 0 scope 0 valid 4294967295 preferred "
					      "4294967295 proto 118"));
	}
	fake_links_clear(&f);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/link/msg/bridge", test_msg_bridge);
	g_test_add_func("/link/msg/change", test_msg_change);
	g_test_add_func("/link/msg/port-flags", test_msg_port_flags);
	g_test_add_func("/link/msg/port-evpn", test_msg_port_evpn);
	g_test_add_func("/link/msg/addr", test_msg_addr);
	g_test_add_func("/link/msg/route", test_msg_route);
	g_test_add_func("/link/msg/vxlan", test_msg_vxlan);
	g_test_add_func("/link/msg/fdb", test_msg_fdb);
	g_test_add_func("/link/exec/rollback-every-step", test_rollback_every_step);
	g_test_add_func("/link/exec/reapply-keeps-ownership", test_reapply_keeps_ownership);
	g_test_add_func("/link/exec/undo-needs-proof", test_undo_needs_proof);
	g_test_add_func("/link/exec/marker-means-created", test_marker_means_created);
	return g_test_run();
}
