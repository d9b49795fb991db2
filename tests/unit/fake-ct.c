/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A conntrack table in memory: see fake-ct.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>

#include "fake-ct.h"

typedef struct {
	uint8_t proto;
	VwAddr src, dst, rsrc, rdst;
	uint16_t sport, dport, rsport, rdport;
	uint32_t status, id;
	uint16_t zone;
} Entry;

struct FakeCt {
	GPtrArray *entries; /* Entry* */
	uint32_t next_id;
	guint dumps, deletes, flushes;
	int fail_dump, fail_delete;
	uint32_t vanish;
};

/* ---------------------------------------------------------------------- */
/* Dump replies, as the kernel writes them (ctnetlink_fill_info) */

static void put_tuple(struct nlmsghdr *nlh, uint16_t type, const Entry *e, bool reply)
{
	const VwAddr *s = reply ? &e->rsrc : &e->src, *d = reply ? &e->rdst : &e->dst;
	bool v6 = s->family == AF_INET6;
	struct nlattr *t = mnl_attr_nest_start(nlh, type);
	struct nlattr *n = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);

	mnl_attr_put(nlh, v6 ? CTA_IP_V6_SRC : CTA_IP_V4_SRC, v6 ? 16 : 4, s->b);
	mnl_attr_put(nlh, v6 ? CTA_IP_V6_DST : CTA_IP_V4_DST, v6 ? 16 : 4, d->b);
	mnl_attr_nest_end(nlh, n);
	n = mnl_attr_nest_start(nlh, CTA_TUPLE_PROTO);
	mnl_attr_put_u8(nlh, CTA_PROTO_NUM, e->proto);
	mnl_attr_put_u16(nlh, CTA_PROTO_SRC_PORT, htons(reply ? e->rsport : e->sport));
	mnl_attr_put_u16(nlh, CTA_PROTO_DST_PORT, htons(reply ? e->rdport : e->dport));
	mnl_attr_nest_end(nlh, n);
	if (e->zone)
		mnl_attr_put_u16(nlh, CTA_TUPLE_ZONE, htons(e->zone));
	mnl_attr_nest_end(nlh, t);
}

static struct nlmsghdr *entry_msg(char *buf, const Entry *e, uint32_t seq, uint32_t portid)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nfgenmsg *nfg;

	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_NEW;
	nlh->nlmsg_flags = NLM_F_MULTI;
	nlh->nlmsg_seq = seq;
	nlh->nlmsg_pid = portid;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = (uint8_t)e->src.family;
	put_tuple(nlh, CTA_TUPLE_ORIG, e, false);
	put_tuple(nlh, CTA_TUPLE_REPLY, e, true);
	mnl_attr_put_u32(nlh, CTA_STATUS, htonl(e->status));
	mnl_attr_put_u32(nlh, CTA_TIMEOUT, htonl(120));
	mnl_attr_put_u32(nlh, CTA_MARK, htonl(0x10000000));
	mnl_attr_put_u32(nlh, CTA_USE, htonl(1));
	mnl_attr_put_u32(nlh, CTA_ID, htonl(e->id));
	if (e->zone)
		mnl_attr_put_u16(nlh, CTA_ZONE, htons(e->zone));
	return nlh;
}

static int dump(FakeCt *f, const struct nlmsghdr *req, VwNftReplyFn cb, void *data)
{
	const struct nfgenmsg *nfg = mnl_nlmsg_get_payload(req);

	f->dumps++;
	if (f->fail_dump) {
		int e = f->fail_dump;

		f->fail_dump = 0;
		return -e;
	}
	for (guint i = 0; i < f->entries->len; i++) {
		const Entry *e = f->entries->pdata[i];
		char buf[1024];

		if (nfg->nfgen_family != AF_UNSPEC && nfg->nfgen_family != e->src.family)
			continue;
		if (cb(entry_msg(buf, e, req->nlmsg_seq, 0), data) <= MNL_CB_STOP)
			break;
	}
	for (guint i = 0; f->vanish && i < f->entries->len; i++) {
		if (((Entry *)f->entries->pdata[i])->id == f->vanish) {
			g_ptr_array_remove_index(f->entries, i);
			break;
		}
	}
	f->vanish = 0;
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Deletions, as ctnetlink_del_conntrack carries them out */

typedef struct {
	const struct nlattr *tb[32];
} Tb;

static int tb_cb(const struct nlattr *a, void *data)
{
	Tb *t = data;

	if (mnl_attr_get_type(a) < G_N_ELEMENTS(t->tb))
		t->tb[mnl_attr_get_type(a)] = a;
	return MNL_CB_OK;
}

/* The tuple @a of family @fam into @ret (its addresses and ports). */
static bool read_tuple(const struct nlattr *a, int fam, Entry *ret)
{
	Tb t = { 0 }, ip = { 0 }, l4 = { 0 };
	bool v6 = fam == AF_INET6;
	unsigned len = v6 ? 16 : 4;

	if (!a || mnl_attr_parse_nested(a, tb_cb, &t) < 0 || !t.tb[CTA_TUPLE_IP] || !t.tb[CTA_TUPLE_PROTO] ||
	    mnl_attr_parse_nested(t.tb[CTA_TUPLE_IP], tb_cb, &ip) < 0 ||
	    mnl_attr_parse_nested(t.tb[CTA_TUPLE_PROTO], tb_cb, &l4) < 0)
		return false;
	if (!ip.tb[v6 ? CTA_IP_V6_SRC : CTA_IP_V4_SRC] || !ip.tb[v6 ? CTA_IP_V6_DST : CTA_IP_V4_DST] ||
	    !l4.tb[CTA_PROTO_NUM] || !l4.tb[CTA_PROTO_SRC_PORT] || !l4.tb[CTA_PROTO_DST_PORT])
		return false;
	ret->src.family = ret->dst.family = fam;
	memcpy(ret->src.b, mnl_attr_get_payload(ip.tb[v6 ? CTA_IP_V6_SRC : CTA_IP_V4_SRC]), len);
	memcpy(ret->dst.b, mnl_attr_get_payload(ip.tb[v6 ? CTA_IP_V6_DST : CTA_IP_V4_DST]), len);
	ret->proto = mnl_attr_get_u8(l4.tb[CTA_PROTO_NUM]);
	ret->sport = ntohs(mnl_attr_get_u16(l4.tb[CTA_PROTO_SRC_PORT]));
	ret->dport = ntohs(mnl_attr_get_u16(l4.tb[CTA_PROTO_DST_PORT]));
	return true;
}

/* The kernel finds a tuple in either direction of an entry. */
static bool holds(const Entry *e, const Entry *t)
{
	return e->proto == t->proto && ((vw_addr_equal(&e->src, &t->src) && vw_addr_equal(&e->dst, &t->dst) &&
					 e->sport == t->sport && e->dport == t->dport) ||
					(vw_addr_equal(&e->rsrc, &t->src) && vw_addr_equal(&e->rdst, &t->dst) &&
					 e->rsport == t->sport && e->rdport == t->dport));
}

static int delete (FakeCt *f, const struct nlmsghdr *req)
{
	const struct nfgenmsg *nfg = mnl_nlmsg_get_payload(req);
	Tb at = { 0 };
	Entry t = { 0 };
	uint16_t zone;

	f->deletes++;
	if (f->fail_delete) {
		int e = f->fail_delete;

		f->fail_delete = 0;
		return -e;
	}
	if (mnl_attr_parse(req, sizeof(*nfg), tb_cb, &at) < 0)
		return -EINVAL;
	if (!at.tb[CTA_TUPLE_ORIG] && !at.tb[CTA_TUPLE_REPLY]) {
		f->flushes++;
		return -EINVAL;
	}
	if (!read_tuple(at.tb[CTA_TUPLE_ORIG], nfg->nfgen_family, &t))
		return -EINVAL;
	zone = at.tb[CTA_ZONE] ? ntohs(mnl_attr_get_u16(at.tb[CTA_ZONE])) : 0;
	for (guint i = 0; i < f->entries->len; i++) {
		const Entry *e = f->entries->pdata[i];

		if (e->zone != zone || e->src.family != nfg->nfgen_family || !holds(e, &t))
			continue;
		if (at.tb[CTA_ID] && ntohl(mnl_attr_get_u32(at.tb[CTA_ID])) != e->id)
			return -ENOENT;
		g_ptr_array_remove_index(f->entries, i);
		return 0;
	}
	return -ENOENT;
}

static int fake_request(void *ctx, const struct nlmsghdr *req, VwNftReplyFn cb, void *data)
{
	FakeCt *f = ctx;
	uint16_t type = req->nlmsg_type;

	if (type >> 8 != NFNL_SUBSYS_CTNETLINK || mnl_nlmsg_get_payload_len(req) < sizeof(struct nfgenmsg))
		return -EOPNOTSUPP;
	if ((type & 0xff) == IPCTNL_MSG_CT_GET && (req->nlmsg_flags & NLM_F_DUMP))
		return dump(f, req, cb, data);
	if ((type & 0xff) == IPCTNL_MSG_CT_DELETE)
		return delete (f, req);
	return -EOPNOTSUPP;
}

static void fake_free(void *ctx)
{
	FakeCt *f = ctx;

	g_ptr_array_unref(f->entries);
	g_free(f);
}

VwCtBackend *fake_ct_new(FakeCt **fake)
{
	VwCtBackend *be = g_new0(VwCtBackend, 1);
	FakeCt *f = g_new0(FakeCt, 1);

	f->entries = g_ptr_array_new_with_free_func(g_free);
	f->next_id = 1000;
	be->ctx = f;
	be->request = fake_request;
	be->free = fake_free;
	*fake = f;
	return be;
}

/* ---------------------------------------------------------------------- */
/* Test hooks */

uint32_t fake_ct_add(FakeCt *f, const FakeCtEntry *s)
{
	Entry *e = g_new0(Entry, 1);

	g_assert_true(vw_addr_parse(s->src, &e->src) && vw_addr_parse(s->dst, &e->dst));
	g_assert_true(vw_addr_parse(s->rsrc, &e->rsrc) && vw_addr_parse(s->rdst, &e->rdst));
	e->proto = s->proto;
	e->sport = s->sport;
	e->dport = s->dport;
	e->rsport = s->rsport;
	e->rdport = s->rdport;
	e->status = s->status;
	e->zone = s->zone;
	e->id = f->next_id++;
	g_ptr_array_add(f->entries, e);
	return e->id;
}

bool fake_ct_has(FakeCt *f, uint32_t id)
{
	for (guint i = 0; i < f->entries->len; i++)
		if (((Entry *)f->entries->pdata[i])->id == id)
			return true;
	return false;
}

guint fake_ct_count(FakeCt *f)
{
	return f->entries->len;
}

guint fake_ct_dumps(FakeCt *f)
{
	return f->dumps;
}

guint fake_ct_deletes(FakeCt *f)
{
	return f->deletes;
}

guint fake_ct_flushes(FakeCt *f)
{
	return f->flushes;
}

void fake_ct_fail_next(FakeCt *f, bool dump_, int err)
{
	if (dump_)
		f->fail_dump = err;
	else
		f->fail_delete = err;
}

void fake_ct_vanish_after_dump(FakeCt *f, uint32_t id)
{
	f->vanish = id;
}
