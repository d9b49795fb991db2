/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Conntrack over ctnetlink without root: the requests built into a buffer
 * and read back field by field (with libmnl, not virtwire's reader), an
 * entry the kernel sent read by virtwire's, which entries a forward that
 * went away DNATed, and their deletion against the fake table of
 * fake-ct.c — exactly those, each by its tuple and id, never a flush.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>

#include "ct-private.h"
#include "fake-ct.h"

#define DNAT (IPS_CONFIRMED | IPS_SEEN_REPLY | IPS_ASSURED | IPS_DST_NAT | IPS_DST_NAT_DONE | IPS_SRC_NAT_DONE)

static VwAddr addr(const char *s)
{
	VwAddr a;

	g_assert_true(vw_addr_parse(s, &a));
	return a;
}

/* ---------------------------------------------------------------------- */
/* Messages */

static void test_dump_request(void)
{
	char buf[VW_CT_MSG_MAX];

	for (int fam = AF_INET; fam; fam = fam == AF_INET ? AF_INET6 : 0) {
		struct nlmsghdr *nlh = vw_ct_build_dump(buf, sizeof(buf), fam, 42);
		const struct nfgenmsg *nfg = mnl_nlmsg_get_payload(nlh);

		g_assert_cmpuint(nlh->nlmsg_type, ==, (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET);
		g_assert_cmpuint(nlh->nlmsg_flags, ==, NLM_F_REQUEST | NLM_F_DUMP);
		g_assert_cmpuint(nlh->nlmsg_seq, ==, 42);
		g_assert_cmpuint(nfg->nfgen_family, ==, fam == AF_INET6 ? NFPROTO_IPV6 : NFPROTO_IPV4);
		/* No attributes: the whole table of the family. */
		g_assert_cmpuint(nlh->nlmsg_len, ==, MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(*nfg)));
	}
}

typedef struct {
	const struct nlattr *tb[CTA_MAX + 1];
} Tb;

static int tb_cb(const struct nlattr *a, void *data)
{
	Tb *t = data;

	if (mnl_attr_get_type(a) <= CTA_MAX)
		t->tb[mnl_attr_get_type(a)] = a;
	return MNL_CB_OK;
}

static Tb nested(const struct nlattr *a)
{
	Tb t = { 0 };

	g_assert_nonnull(a);
	g_assert_cmpint(mnl_attr_parse_nested(a, tb_cb, &t), >=, 0);
	return t;
}

static const VwCtEntry entry6 = {
	.family = AF_INET6,
	.proto = 6,
	.src = { AF_INET6, { 0x20, 0x01, 0x0d, 0xb8, 0xff, 0xff, [15] = 2 } },
	.dst = { AF_INET6, { 0x20, 0x01, 0x0d, 0xb8, 0xff, 0xff, [15] = 1 } },
	.sport = 40000,
	.dport = 2223,
	.status = IPS_DST_NAT,
	.zone = 7,
	.has_id = true,
	.id = 0xdeadbeef,
};

/* A deletion names the original tuple, the zone and the id: read back with
 * libmnl, attribute by attribute. */
static void test_delete_request(void)
{
	char buf[VW_CT_MSG_MAX];
	struct nlmsghdr *nlh = vw_ct_build_delete(buf, sizeof(buf), &entry6, 9);
	const struct nfgenmsg *nfg = mnl_nlmsg_get_payload(nlh);
	Tb at = { 0 }, tuple, ip, l4;

	g_assert_cmpuint(nlh->nlmsg_type, ==, (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_DELETE);
	g_assert_cmpuint(nlh->nlmsg_flags, ==, NLM_F_REQUEST | NLM_F_ACK);
	g_assert_cmpuint(nfg->nfgen_family, ==, NFPROTO_IPV6);
	g_assert_cmpint(mnl_attr_parse(nlh, sizeof(*nfg), tb_cb, &at), >=, 0);
	g_assert_null(at.tb[CTA_TUPLE_REPLY]);
	tuple = nested(at.tb[CTA_TUPLE_ORIG]);
	ip = nested(tuple.tb[CTA_TUPLE_IP]);
	l4 = nested(tuple.tb[CTA_TUPLE_PROTO]);
	g_assert_cmpmem(mnl_attr_get_payload(ip.tb[CTA_IP_V6_SRC]), mnl_attr_get_payload_len(ip.tb[CTA_IP_V6_SRC]),
			entry6.src.b, 16);
	g_assert_cmpmem(mnl_attr_get_payload(ip.tb[CTA_IP_V6_DST]), mnl_attr_get_payload_len(ip.tb[CTA_IP_V6_DST]),
			entry6.dst.b, 16);
	g_assert_cmpuint(mnl_attr_get_u8(l4.tb[CTA_PROTO_NUM]), ==, 6);
	g_assert_cmpuint(ntohs(mnl_attr_get_u16(l4.tb[CTA_PROTO_SRC_PORT])), ==, 40000);
	g_assert_cmpuint(ntohs(mnl_attr_get_u16(l4.tb[CTA_PROTO_DST_PORT])), ==, 2223);
	g_assert_cmpuint(ntohs(mnl_attr_get_u16(at.tb[CTA_ZONE])), ==, 7);
	g_assert_cmpuint(ntohl(mnl_attr_get_u32(at.tb[CTA_ID])), ==, 0xdeadbeef);
}

/* What is built reads back the same; an entry without addresses of its
 * family gives no request at all (a deletion without a tuple would flush
 * the table). */
static void test_delete_round_trip(void)
{
	char buf[VW_CT_MSG_MAX];
	VwCtEntry back, v4 = { .family = AF_INET, .proto = 17, .sport = 5000, .dport = 53 }, bad = v4;

	g_assert_true(vw_ct_parse(vw_ct_build_delete(buf, sizeof(buf), &entry6, 1), &back));
	g_assert_true(back.family == AF_INET6 && back.proto == 6 && back.sport == 40000 && back.dport == 2223);
	g_assert_true(vw_addr_equal(&back.src, &entry6.src) && vw_addr_equal(&back.dst, &entry6.dst));
	g_assert_true(back.zone == 7 && back.has_id && back.id == 0xdeadbeef && !back.has_reply);

	v4.src = addr("203.0.113.2");
	v4.dst = addr("203.0.113.1");
	g_assert_true(vw_ct_parse(vw_ct_build_delete(buf, sizeof(buf), &v4, 2), &back));
	g_assert_true(back.family == AF_INET && back.zone == 0 && !back.has_id);
	g_assert_true(vw_addr_equal(&back.dst, &v4.dst) && back.dport == 53);

	g_assert_null(vw_ct_build_delete(buf, sizeof(buf), &bad, 3));
	bad.src = addr("2001:db8::1");
	bad.dst = addr("2001:db8::2");
	g_assert_null(vw_ct_build_delete(buf, sizeof(buf), &bad, 4));
}

/* An entry as Linux 6.18 sends it in a dump (tools: a DNAT rule, a TCP
 * connection 203.0.113.2:40000 → 203.0.113.1:2222 DNATed to
 * 192.168.150.10:22, one message of a raw ctnetlink dump). */
static const char kernel_msg[] =
	"d40000000001220007000000e667000002000000340001801400018008000100cb00710208000200cb0071011c000280050001"
	"0006000000060002009c4000000600030008ae0000340002801400018008000100c0a8960a08000200cb0071021c0002800500"
	"0100060000000600020000160000060003009c40000008000300000001ae080008000000000008000c002f73840b08000b0000"
	"000001080007000006977f300004802c0001800500010003000000050002000a000000050003000a0000000600040023000000"
	"0600050023000000";

static void test_parse_kernel(void)
{
	gsize n = strlen(kernel_msg) / 2;
	g_autofree uint8_t *msg = g_malloc(n);
	VwCtEntry e;

	for (gsize i = 0; i < n; i++)
		sscanf(kernel_msg + 2 * i, "%2hhx", &msg[i]);
	g_assert_true(vw_ct_parse((const struct nlmsghdr *)msg, &e));
	g_assert_true(e.family == AF_INET && e.proto == 6);
	g_assert_true(vw_addr_equal(&e.src, &(VwAddr){ AF_INET, { 203, 0, 113, 2 } }) && e.sport == 40000);
	g_assert_true(vw_addr_equal(&e.dst, &(VwAddr){ AF_INET, { 203, 0, 113, 1 } }) && e.dport == 2222);
	g_assert_true(e.has_reply);
	g_assert_true(vw_addr_equal(&e.reply_src, &(VwAddr){ AF_INET, { 192, 168, 150, 10 } }) && e.reply_sport == 22);
	g_assert_true(vw_addr_equal(&e.reply_dst, &e.src) && e.reply_dport == 40000);
	g_assert_true(e.status & IPS_DST_NAT);
	g_assert_true(e.has_id && e.id == 0x2f73840b && e.zone == 0);
	/* Cut short, it is not an entry. */
	((struct nlmsghdr *)msg)->nlmsg_len = 40;
	g_assert_false(vw_ct_parse((const struct nlmsghdr *)msg, &e));
}

/* ---------------------------------------------------------------------- */
/* Which entries a forward DNATed */

static VwReleased fwd(VwListen listen, const char *address, uint16_t port, const char *target, uint16_t tport)
{
	VwReleased r = { .proto = 6, .listen = listen, .port = port, .target_port = tport };

	r.target = addr(target);
	r.family = r.target.family;
	if (address)
		r.address = addr(address);
	return r;
}

static VwCtEntry conn(const char *dst, uint16_t dport, const char *rsrc, uint16_t rsport, uint32_t status)
{
	VwCtEntry e = { .proto = 6, .sport = 40000, .dport = dport, .reply_sport = rsport, .status = status };

	e.src = addr(strchr(dst, ':') ? "2001:db8:ffff::2" : "203.0.113.2");
	e.family = e.src.family;
	e.dst = addr(dst);
	e.reply_src = addr(rsrc);
	e.reply_dst = e.src;
	e.reply_dport = 40000;
	e.has_reply = true;
	return e;
}

static void test_matches(void)
{
	VwReleased any = fwd(VW_LISTEN_ANY, NULL, 2222, "192.168.150.10", 22);
	VwReleased one = fwd(VW_LISTEN_ADDRESS, "203.0.113.1", 8080, "192.168.150.10", 80);
	VwReleased lo = fwd(VW_LISTEN_LOOPBACK, NULL, 2222, "192.168.150.10", 22);
	VwReleased v6 = fwd(VW_LISTEN_ANY, NULL, 2223, "2001:db8:150::10", 22);
	VwCtEntry e = conn("203.0.113.1", 2222, "192.168.150.10", 22, DNAT);

	g_assert_true(vw_ct_matches(&e, &any));
	g_assert_false(vw_ct_matches(&e, &lo));
	e.status &= ~IPS_DST_NAT; /* the host's own connection to that port */
	g_assert_false(vw_ct_matches(&e, &any));
	e = conn("203.0.113.1", 2222, "192.168.150.11", 22, DNAT); /* the new target's */
	g_assert_false(vw_ct_matches(&e, &any));
	e = conn("203.0.113.1", 2222, "192.168.150.10", 2222, DNAT); /* another guest port */
	g_assert_false(vw_ct_matches(&e, &any));
	e = conn("203.0.113.1", 2224, "192.168.150.10", 22, DNAT); /* another host port */
	g_assert_false(vw_ct_matches(&e, &any));
	e = conn("203.0.113.1", 2222, "192.168.150.10", 22, DNAT);
	e.proto = 17;
	g_assert_false(vw_ct_matches(&e, &any));
	e = conn("127.0.0.1", 2222, "192.168.150.10", 22, DNAT);
	g_assert_true(vw_ct_matches(&e, &lo));
	g_assert_false(vw_ct_matches(&e, &any));
	e = conn("203.0.113.1", 8080, "192.168.150.10", 80, DNAT);
	g_assert_true(vw_ct_matches(&e, &one));
	e = conn("203.0.113.3", 8080, "192.168.150.10", 80, DNAT); /* another listen address */
	g_assert_false(vw_ct_matches(&e, &one));
	e = conn("2001:db8:ffff::1", 2223, "2001:db8:150::10", 22, DNAT);
	g_assert_true(vw_ct_matches(&e, &v6));
	e.has_reply = false;
	g_assert_false(vw_ct_matches(&e, &v6));
}

/* ---------------------------------------------------------------------- */
/* Ending connections against the fake table */

typedef struct {
	VwCtBackend *be;
	FakeCt *fake;
	GPtrArray *released;
} Fx;

static void fx_init(Fx *f)
{
	f->be = fake_ct_new(&f->fake);
	f->released = g_ptr_array_new_with_free_func(g_free);
}

static void fx_clear(Fx *f)
{
	vw_ct_backend_free(f->be);
	g_ptr_array_unref(f->released);
}

static VwReleased *fx_release(Fx *f, VwReleased r)
{
	VwReleased *p = g_memdup2(&r, sizeof(r));

	g_ptr_array_add(f->released, p);
	return p;
}

static uint32_t fx_conn(Fx *f, const char *dst, uint16_t dport, const char *target, uint16_t tport, uint16_t cport,
			uint32_t status)
{
	bool v6 = strchr(dst, ':') != NULL;
	const char *client = v6 ? "2001:db8:ffff::2" : "203.0.113.2";
	FakeCtEntry e = { 6, client, dst, cport, dport, target, client, tport, cport, status, 0 };

	return fake_ct_add(f->fake, &e);
}

static void test_end(void)
{
	Fx f;
	VwReleased *any, *v6;
	uint32_t gone[4], kept[5];
	guint ended = 0;
	g_autoptr(GError) err = NULL;

	fx_init(&f);
	any = fx_release(&f, fwd(VW_LISTEN_ANY, NULL, 2222, "192.168.150.10", 22));
	v6 = fx_release(&f, fwd(VW_LISTEN_ANY, NULL, 2223, "2001:db8:150::10", 22));
	fx_release(&f, fwd(VW_LISTEN_ADDRESS, "203.0.113.1", 8080, "192.168.150.10", 80));
	gone[0] = fx_conn(&f, "203.0.113.1", 2222, "192.168.150.10", 22, 40000, DNAT);
	gone[1] = fx_conn(&f, "203.0.113.3", 2222, "192.168.150.10", 22, 40001, DNAT);
	gone[2] = fx_conn(&f, "2001:db8:ffff::1", 2223, "2001:db8:150::10", 22, 40002, DNAT);
	gone[3] = fx_conn(&f, "203.0.113.1", 8080, "192.168.150.10", 80, 40003, DNAT);
	/* A re-pointed forward's new connections, another forward's, the
	 * host's own on that port, another listen address, a UDP flow. */
	kept[0] = fx_conn(&f, "203.0.113.1", 2222, "192.168.150.11", 22, 40004, DNAT);
	kept[1] = fx_conn(&f, "203.0.113.1", 3333, "192.168.150.10", 22, 40005, DNAT);
	kept[2] = fx_conn(&f, "203.0.113.1", 2222, "203.0.113.1", 2222, 40006, IPS_CONFIRMED);
	kept[3] = fx_conn(&f, "203.0.113.3", 8080, "192.168.150.10", 80, 40007, DNAT);
	kept[4] = fake_ct_add(f.fake, &(FakeCtEntry){ 17, "203.0.113.2", "203.0.113.1", 5000, 2222, "192.168.150.10",
						      "203.0.113.2", 22, 5000, DNAT, 0 });
	g_assert_true(vw_ct_end(f.be, f.released, &ended, &err));
	g_assert_no_error(err);
	g_assert_cmpuint(ended, ==, 4);
	for (guint i = 0; i < G_N_ELEMENTS(gone); i++)
		g_assert_false(fake_ct_has(f.fake, gone[i]));
	for (guint i = 0; i < G_N_ELEMENTS(kept); i++)
		g_assert_true(fake_ct_has(f.fake, kept[i]));
	g_assert_cmpuint(any->connections, ==, 2);
	g_assert_cmpuint(v6->connections, ==, 1);
	/* One dump per family, one deletion per entry, no flush. */
	g_assert_cmpuint(fake_ct_dumps(f.fake), ==, 2);
	g_assert_cmpuint(fake_ct_deletes(f.fake), ==, 4);
	g_assert_cmpuint(fake_ct_flushes(f.fake), ==, 0);
	fx_clear(&f);
}

/* Only the families of the forwards are read; nothing released, nothing
 * read at all. */
static void test_end_families(void)
{
	Fx f;
	guint ended = 1;

	fx_init(&f);
	fx_conn(&f, "203.0.113.1", 2222, "192.168.150.10", 22, 40000, DNAT);
	g_assert_true(vw_ct_end(f.be, f.released, &ended, NULL));
	g_assert_cmpuint(ended, ==, 0);
	g_assert_cmpuint(fake_ct_dumps(f.fake), ==, 0);
	fx_release(&f, fwd(VW_LISTEN_ANY, NULL, 2223, "2001:db8:150::10", 22));
	g_assert_true(vw_ct_end(f.be, f.released, &ended, NULL));
	g_assert_cmpuint(fake_ct_dumps(f.fake), ==, 1);
	g_assert_cmpuint(fake_ct_count(f.fake), ==, 1);
	fx_clear(&f);
}

/* An entry gone between the dump and its deletion (its connection closed)
 * is no failure and not counted; the deletion names its id, so an entry
 * that took the same tuple since is not touched. */
static void test_end_races(void)
{
	Fx f;
	uint32_t a, b;
	guint ended = 0;
	g_autoptr(GError) err = NULL;

	fx_init(&f);
	fx_release(&f, fwd(VW_LISTEN_ANY, NULL, 2222, "192.168.150.10", 22));
	a = fx_conn(&f, "203.0.113.1", 2222, "192.168.150.10", 22, 40000, DNAT);
	b = fx_conn(&f, "203.0.113.1", 2222, "192.168.150.10", 22, 40001, DNAT);
	fake_ct_vanish_after_dump(f.fake, a);
	g_assert_true(vw_ct_end(f.be, f.released, &ended, &err));
	g_assert_no_error(err);
	g_assert_cmpuint(ended, ==, 1);
	g_assert_false(fake_ct_has(f.fake, b));
	g_assert_cmpuint(fake_ct_deletes(f.fake), ==, 2);

	/* The same connection again, as a new entry: the old id misses it. */
	a = fx_conn(&f, "203.0.113.1", 2222, "192.168.150.10", 22, 40000, DNAT);
	{
		VwCtEntry stale = conn("203.0.113.1", 2222, "192.168.150.10", 22, DNAT);
		char buf[VW_CT_MSG_MAX];

		stale.has_id = true;
		stale.id = a - 1;
		g_assert_cmpint(f.be->request(f.be->ctx, vw_ct_build_delete(buf, sizeof(buf), &stale, 1), NULL, NULL),
				==, -ENOENT);
		g_assert_true(fake_ct_has(f.fake, a));
	}
	fx_clear(&f);
}

static void test_end_fails(void)
{
	Fx f;
	guint ended = 0;
	g_autoptr(GError) err = NULL;

	fx_init(&f);
	fx_release(&f, fwd(VW_LISTEN_ANY, NULL, 2222, "192.168.150.10", 22));
	fx_conn(&f, "203.0.113.1", 2222, "192.168.150.10", 22, 40000, DNAT);
	fx_conn(&f, "203.0.113.1", 2222, "192.168.150.10", 22, 40001, DNAT);
	fake_ct_fail_next(f.fake, true, EPERM);
	g_assert_false(vw_ct_end(f.be, f.released, &ended, &err));
	g_assert_error(err, VW_ERROR, VW_ERROR_PERMISSION);
	g_assert_nonnull(strstr(err->message, "conntrack"));
	g_assert_cmpuint(fake_ct_count(f.fake), ==, 2);
	g_clear_error(&err);

	/* A deletion refused: the others are still deleted, and counted. */
	fake_ct_fail_next(f.fake, false, EPERM);
	g_assert_false(vw_ct_end(f.be, f.released, &ended, &err));
	g_assert_nonnull(err);
	g_assert_cmpuint(ended, ==, 1);
	g_assert_cmpuint(fake_ct_count(f.fake), ==, 1);
	fx_clear(&f);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/ct/dump-request", test_dump_request);
	g_test_add_func("/ct/delete-request", test_delete_request);
	g_test_add_func("/ct/delete-round-trip", test_delete_round_trip);
	g_test_add_func("/ct/parse-kernel", test_parse_kernel);
	g_test_add_func("/ct/matches", test_matches);
	g_test_add_func("/ct/end", test_end);
	g_test_add_func("/ct/end-families", test_end_families);
	g_test_add_func("/ct/end-races", test_end_races);
	g_test_add_func("/ct/end-fails", test_end_fails);
	return g_test_run();
}
