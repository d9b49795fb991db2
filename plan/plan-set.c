/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Sets and maps described by the datatypes of their fields. From the field
 * list follow, as nft derives them: the key's and data's type ids and
 * lengths, the flags, the field lengths of a concatenated interval key, the
 * user data nft stores (so that nft lists the set as virtwire prints it),
 * the type line, how many elements nft prints per line, and every element's
 * text, made from its bytes.
 */
#include <string.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include "plan-private.h"

/* An element of @owner with room for @key, @key_end and @data bytes, its
 * pointers set (each past the one before). */
static VwElem *elem_alloc(const char *owner, uint32_t key, uint32_t key_end, uint32_t data)
{
	VwElem *e = g_malloc0(sizeof(VwElem) + key + key_end + data);

	e->key = e->bytes;
	e->key_end = e->key + key;
	e->data = e->key_end + key_end;
	/* A network has as many elements as forwards: one copy of its name. */
	e->owner = (char *)g_intern_string(owner);
	return e;
}

VwElem *vw_elem_new(const char *owner)
{
	return elem_alloc(owner, VW_NFT_DATA_MAX, VW_NFT_DATA_MAX, VW_NFT_DATA_MAX);
}

/* @e's values, bytes and flags into @c (made by elem_alloc for them). */
static VwElem *elem_fill(VwElem *c, const VwElem *e)
{
	memcpy(c->key, e->key, e->key_len);
	c->key_len = e->key_len;
	memcpy(c->key_end, e->key_end, e->key_end_len);
	c->key_end_len = e->key_end_len;
	memcpy(c->data, e->data, e->data_len);
	c->data_len = e->data_len;
	c->verdict = e->verdict;
	c->flags = e->flags;
	c->has_verdict = e->has_verdict;
	return c;
}

VwElem *vw_elem_copy(const VwElem *e)
{
	VwElem *c = elem_fill(elem_alloc(e->owner, e->key_len, e->key_end_len, e->data_len), e);

	c->chain = g_strdup(e->chain);
	c->text = g_strdup(e->text);
	c->key_text = g_strdup(e->key_text);
	return c;
}

/* Elements a set keeps are laid one after the other in blocks of this size
 * (100,000 forwards: 200,000 elements, without an allocation's overhead and
 * rounding each). */
#define ELEM_BLOCK 65536

/* @e as @s keeps it: its copy sized to its bytes, in @s's last block, which
 * takes its strings; @e is freed (the next element made reuses its room). */
static VwElem *elem_shrink(VwSet *s, VwElem *e)
{
	gsize size = (sizeof(VwElem) + e->key_len + e->key_end_len + e->data_len + 7) & ~(gsize)7;
	VwElem *c;

	if (!s->blocks->len || s->block_used + size > ELEM_BLOCK) {
		g_ptr_array_add(s->blocks, g_malloc(ELEM_BLOCK));
		s->block_used = 0;
	}
	c = (VwElem *)((uint8_t *)s->blocks->pdata[s->blocks->len - 1] + s->block_used);
	s->block_used += size;
	memset(c, 0, sizeof(*c));
	c->key = c->bytes;
	c->key_end = c->key + e->key_len;
	c->data = c->key_end + e->key_end_len;
	c->owner = e->owner;
	c->in_block = true;
	elem_fill(c, e);
	c->chain = g_steal_pointer(&e->chain);
	c->text = g_steal_pointer(&e->text);
	c->key_text = g_steal_pointer(&e->key_text);
	g_free(e);
	return c;
}

void vw_elem_free(VwElem *e)
{
	if (!e)
		return;
	g_free(e->chain);
	g_free(e->text);
	g_free(e->key_text);
	if (!e->in_block)
		g_free(e);
}

/* nft's enum proto_desc_id, and fields of its header templates. */
#define PROTO_DESC_UDP 6
#define PROTO_DESC_IP 12
#define PROTO_DESC_IP6 13
#define PROTO_DESC_ETHER 17
#define ETHHDR_SADDR 2
#define IPHDR_SADDR 11
#define IP6HDR_SADDR 8
#define UDPHDR_DPORT 2

/* nft's datatypes (its datatype.h): name, TYPE_* id, size, byte order. */
static const VwNftTypeInfo type_infos[] = {
	[VW_NFT_NONE] = { NULL, 0, 0, 0 },
	[VW_NFT_IFNAME] = { "ifname", 41, 16, 1 },
	[VW_NFT_IPV4_ADDR] = { "ipv4_addr", 7, 4, 2 },
	[VW_NFT_IPV6_ADDR] = { "ipv6_addr", 8, 16, 2 },
	[VW_NFT_INET_PROTO] = { "inet_proto", 12, 1, 1 },
	[VW_NFT_INET_SERVICE] = { "inet_service", 13, 2, 2 },
	[VW_NFT_VERDICT] = { "verdict", NFT_DATA_VERDICT, 16, 0 },
	[VW_NFT_ETHER_ADDR] = { "ether_addr", 9, 6, 2, "ether saddr", 0, 0, 0, PROTO_DESC_ETHER, ETHHDR_SADDR },
	/* nft's integer, from the transport header (base 3), bits 64-191. */
	[VW_NFT_ND_TARGET] = { "integer", 4, 16, 2, "@th,64,128", 3, 64, 128 },
	[VW_NFT_IPV4_SADDR] = { "ipv4_addr", 7, 4, 2, "ip saddr", 0, 0, 0, PROTO_DESC_IP, IPHDR_SADDR },
	[VW_NFT_IPV6_SADDR] = { "ipv6_addr", 8, 16, 2, "ip6 saddr", 0, 0, 0, PROTO_DESC_IP6, IP6HDR_SADDR },
	[VW_NFT_UDP_DPORT] = { "inet_service", 13, 2, 2, "udp dport", 0, 0, 0, PROTO_DESC_UDP, UDPHDR_DPORT },
	/* An integer from the transport header, bits 96-119. */
	[VW_NFT_VXLAN_VNI] = { "integer", 4, 3, 2, "@th,96,24", 3, 96, 24 },
};

/* nft's concatenated type ids: six bits per field. */
#define TYPE_BITS 6
/* nft's user data attributes of a set (libnftnl's udata.h). */
enum {
	UD_KEYBYTEORDER = 0,
	UD_DATABYTEORDER = 1,
	UD_KEY_TYPEOF = 3,
	UD_DATA_TYPEOF = 4,
	UD_DATA_INTERVAL = 6,
};
#define EXPR_PAYLOAD 7 /* nft's enum expr_types */
#define EXPR_CONCAT 13
/* The attributes of a typeof expression (nft's udata of a set key), and
 * those of a payload expression in it (nft's payload_expr_build_udata), in
 * nft's order. */
enum { TYPEOF_EXPR, TYPEOF_DATA };
enum { PAYLOAD_DESC, PAYLOAD_TYPE, PAYLOAD_BASE, PAYLOAD_OFFSET, PAYLOAD_LEN };

const VwNftTypeInfo *vw_nft_type_info(VwNftType t)
{
	return &type_infos[t];
}

static guint nfields(const VwNftType *f, guint max)
{
	guint n = 0;

	while (n < max && f[n] != VW_NFT_NONE)
		n++;
	return n;
}

static uint32_t padded(uint32_t n)
{
	return (n + 3) & ~3u;
}

static uint32_t fields_type(const VwNftType *f, guint n)
{
	uint32_t id = 0;

	if (n == 1)
		return type_infos[f[0]].id;
	for (guint i = 0; i < n; i++)
		id = (id << TYPE_BITS) | type_infos[f[i]].id;
	return id;
}

static uint32_t fields_len(const VwNftType *f, guint n)
{
	uint32_t len = 0;

	for (guint i = 0; i < n; i++)
		len += padded(type_infos[f[i]].size);
	return len;
}

static void ud_put(GByteArray *ud, uint8_t type, const void *data, uint8_t len)
{
	uint8_t h[2] = { type, len };

	g_byte_array_append(ud, h, 2);
	g_byte_array_append(ud, data, len);
}

static void ud_u32(GByteArray *ud, uint8_t type, uint32_t v)
{
	ud_put(ud, type, &v, 4);
}

/* A "typeof" of a concatenation whose fields nft takes from the types. */
static void ud_typeof_concat(GByteArray *ud, uint8_t type)
{
	g_autoptr(GByteArray) nest = g_byte_array_new();
	uint32_t concat = EXPR_CONCAT;

	ud_put(nest, TYPEOF_EXPR, &concat, 4);
	ud_put(nest, TYPEOF_DATA, NULL, 0);
	ud_put(ud, type, nest->data, (uint8_t)nest->len);
}

/* The payload expression a "typeof" set names for field type @t (@attr:
 * its attribute number in the nest around it). */
static void ud_typeof_payload(GByteArray *ud, uint8_t attr, VwNftType t)
{
	const VwNftTypeInfo *ti = &type_infos[t];
	g_autoptr(GByteArray) data = g_byte_array_new();
	g_autoptr(GByteArray) nest = g_byte_array_new();

	g_assert(ti->typeof_text);
	if (ti->raw_len) {
		ud_u32(data, PAYLOAD_DESC, 0);
		ud_u32(data, PAYLOAD_TYPE, 0);
		ud_u32(data, PAYLOAD_BASE, ti->raw_base);
		ud_u32(data, PAYLOAD_OFFSET, ti->raw_offset);
		ud_u32(data, PAYLOAD_LEN, ti->raw_len);
	} else {
		ud_u32(data, PAYLOAD_DESC, ti->proto_desc);
		ud_u32(data, PAYLOAD_TYPE, ti->proto_field);
	}
	ud_u32(nest, TYPEOF_EXPR, EXPR_PAYLOAD);
	ud_put(nest, TYPEOF_DATA, data->data, (uint8_t)data->len);
	ud_put(ud, attr, nest->data, (uint8_t)nest->len);
}

/* A key nft knows only by its expressions ("typeof ether saddr .
 * @th,64,128"): each field's, in a concatenation when there are several. */
static void ud_typeof_key(GByteArray *ud, const VwSet *s, guint nkey)
{
	g_autoptr(GByteArray) fields = g_byte_array_new();
	g_autoptr(GByteArray) nest = g_byte_array_new();
	uint32_t concat = EXPR_CONCAT;

	if (nkey == 1) {
		ud_typeof_payload(ud, UD_KEY_TYPEOF, s->key[0]);
		return;
	}
	for (guint i = 0; i < nkey; i++)
		ud_typeof_payload(fields, (uint8_t)i, s->key[i]);
	ud_put(nest, TYPEOF_EXPR, &concat, 4);
	ud_put(nest, TYPEOF_DATA, fields->data, (uint8_t)fields->len);
	ud_put(ud, UD_KEY_TYPEOF, nest->data, (uint8_t)nest->len);
}

/* What nft stores with a set of these fields: the byte order of key and
 * data (none for a concatenation), the concatenations (or, for a "typeof"
 * key, its expressions), and for a map that its data are no intervals. */
static GBytes *set_udata(const VwSet *s, guint nkey, guint ndata)
{
	g_autoptr(GByteArray) ud = g_byte_array_new();

	ud_u32(ud, UD_KEYBYTEORDER, nkey > 1 ? 0 : type_infos[s->key[0]].byteorder);
	if (ndata)
		ud_u32(ud, UD_DATABYTEORDER, ndata > 1 ? 0 : type_infos[s->data[0]].byteorder);
	if (s->is_typeof)
		ud_typeof_key(ud, s, nkey);
	else if (nkey > 1)
		ud_typeof_concat(ud, UD_KEY_TYPEOF);
	if (ndata > 1)
		ud_typeof_concat(ud, UD_DATA_TYPEOF);
	if (ndata)
		ud_u32(ud, UD_DATA_INTERVAL, 0);
	return g_bytes_new(ud->data, ud->len);
}

static char *set_type_text(const VwSet *s, guint nkey, guint ndata)
{
	GString *t = g_string_new(NULL);

	for (guint i = 0; i < nkey + ndata; i++) {
		const VwNftTypeInfo *ti = &type_infos[i < nkey ? s->key[i] : s->data[i - nkey]];

		if (i)
			g_string_append(t, i == nkey ? " : " : " . ");
		g_string_append(t, s->is_typeof ? ti->typeof_text : ti->name);
	}
	return g_string_free(t, FALSE);
}

/* nft's line breaking of elements (calculate_delim in its expression.c):
 * five integers, two IPv4 addresses, else one per line. */
static int set_per_line(const VwSet *s, guint nkey)
{
	if (nkey > 1)
		return 1;
	switch (s->key[0]) {
	case VW_NFT_INET_PROTO:
	case VW_NFT_INET_SERVICE:
	case VW_NFT_ND_TARGET:
	case VW_NFT_UDP_DPORT:
	case VW_NFT_VXLAN_VNI:
		return 5;
	case VW_NFT_IPV4_ADDR:
	case VW_NFT_IPV4_SADDR:
		return 2;
	case VW_NFT_NONE:
	case VW_NFT_IFNAME:
	case VW_NFT_IPV6_ADDR:
	case VW_NFT_IPV6_SADDR:
	case VW_NFT_VERDICT:
	case VW_NFT_ETHER_ADDR:
		break;
	}
	return 1;
}

/* Elements are indexed by key and interval-end flag: an interval's end and
 * the next interval's start may share a key. */
static guint elem_hash(gconstpointer p)
{
	const VwElem *e = p;
	guint h = e->flags;

	for (uint32_t i = 0; i < e->key_len; i++)
		h = h * 31 + e->key[i];
	return h;
}

static gboolean elem_equal(gconstpointer a, gconstpointer b)
{
	const VwElem *x = a, *y = b;

	return x->flags == y->flags && x->key_len == y->key_len && memcmp(x->key, y->key, x->key_len) == 0 &&
	       x->key_end_len == y->key_end_len && memcmp(x->key_end, y->key_end, x->key_end_len) == 0;
}

VwSet *vw_plan_add_set(VwTable *t, const VwSetDesc *d)
{
	VwSet *s = g_new0(VwSet, 1);
	guint nkey = nfields(d->key, VW_SET_KEY_FIELDS), ndata = nfields(d->data, VW_SET_DATA_FIELDS);

	g_assert(nkey > 0);
	s->name = g_strdup(d->name);
	s->kind = d->kind;
	memcpy(s->key, d->key, sizeof(s->key));
	memcpy(s->data, d->data, sizeof(s->data));
	/* A raw payload has no type of its own to name: nft lists such a set
	 * by its key's expressions. */
	for (guint i = 0; i < nkey; i++)
		s->is_typeof |= type_infos[s->key[i]].raw_len > 0;
	s->key_type = fields_type(s->key, nkey);
	s->key_len = fields_len(s->key, nkey);
	if (d->interval)
		s->flags |= NFT_SET_INTERVAL;
	if (d->interval && nkey > 1) {
		/* A concatenation of ranges (nft's pipapo set): the kernel
		 * wants each field's length. */
		s->flags |= NFT_SET_CONCAT;
		for (guint i = 0; i < nkey; i++)
			s->concat[i] = (uint8_t)type_infos[s->key[i]].size;
		s->concat_n = nkey;
	}
	if (ndata) {
		s->is_map = true;
		s->flags |= NFT_SET_MAP;
		s->data_type = fields_type(s->data, ndata);
		s->data_len = fields_len(s->data, ndata);
	}
	s->udata = set_udata(s, nkey, ndata);
	s->type_text = set_type_text(s, nkey, ndata);
	s->per_line = set_per_line(s, nkey);
	s->counter = d->counter;
	s->elems = g_ptr_array_new_with_free_func((GDestroyNotify)vw_elem_free);
	s->blocks = g_ptr_array_new_with_free_func(g_free);
	g_ptr_array_add(t->sets, s);
	return s;
}

/* ---------------------------------------------------------------------- */
/* Values as nft prints them */

static void addr_of(VwAddr *a, VwNftType t, const uint8_t *b)
{
	memset(a, 0, sizeof(*a));
	a->family = t == VW_NFT_IPV6_ADDR || t == VW_NFT_IPV6_SADDR ? AF_INET6 : AF_INET;
	memcpy(a->b, b, vw_addr_len(a->family));
}

/* Decimal, without printf: planning writes a few of these per forward. */
static void append_uint(GString *out, unsigned v)
{
	char buf[10];
	int i = sizeof(buf);

	do {
		buf[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	g_string_append_len(out, buf + i, (gssize)sizeof(buf) - i);
}

/* A big-endian integer as nft prints it: hexadecimal, no leading zeros. */
static void integer_text(GString *out, const uint8_t *b, uint32_t size)
{
	uint32_t i = 0;

	while (i + 1 < size && b[i] == 0)
		i++;
	g_string_append_printf(out, "0x%x", b[i]);
	for (i++; i < size; i++)
		g_string_append_printf(out, "%02x", b[i]);
}

static void value_text(GString *out, VwNftType t, const uint8_t *b)
{
	char buf[VW_ADDR_STRLEN];
	VwAddr a;
	const char *proto;

	switch (t) {
	case VW_NFT_IFNAME:
		g_string_append_c(out, '"');
		g_string_append_len(out, (const char *)b, (gssize)strnlen((const char *)b, 16));
		g_string_append_c(out, '"');
		break;
	case VW_NFT_IPV4_ADDR:
	case VW_NFT_IPV4_SADDR:
		for (int i = 0; i < 4; i++) {
			if (i)
				g_string_append_c(out, '.');
			append_uint(out, b[i]);
		}
		break;
	case VW_NFT_IPV6_ADDR:
	case VW_NFT_IPV6_SADDR:
		addr_of(&a, t, b);
		g_string_append(out, vw_addr_to_string(&a, buf));
		break;
	case VW_NFT_INET_PROTO:
		proto = vw_proto_to_string(b[0]);
		if (strcmp(proto, "?") == 0)
			append_uint(out, b[0]);
		else
			g_string_append(out, proto);
		break;
	case VW_NFT_INET_SERVICE:
	case VW_NFT_UDP_DPORT:
		append_uint(out, (unsigned)b[0] << 8 | b[1]);
		break;
	case VW_NFT_ETHER_ADDR:
		g_string_append_printf(out, "%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4], b[5]);
		break;
	case VW_NFT_ND_TARGET:
	case VW_NFT_VXLAN_VNI:
		integer_text(out, b, type_infos[t].size);
		break;
	case VW_NFT_NONE:
	case VW_NFT_VERDICT:
		g_assert_not_reached();
	}
}

/* The length of the prefix @lo..@hi spans, or -1 when it is none. */
static int prefix_len(const uint8_t *lo, const uint8_t *hi, uint32_t size)
{
	uint32_t bits = size * 8, len = 0;

	while (len < bits && ((lo[len / 8] ^ hi[len / 8]) & (0x80 >> (len % 8))) == 0)
		len++;
	for (uint32_t i = len; i < bits; i++) {
		uint8_t m = (uint8_t)(0x80 >> (i % 8));

		if ((lo[i / 8] & m) || !(hi[i / 8] & m))
			return -1;
	}
	return (int)len;
}

/* A range of one field: a value, an address prefix, or "LO-HI". */
static void range_text(GString *out, VwNftType t, const uint8_t *lo, const uint8_t *hi)
{
	int plen;

	if (memcmp(lo, hi, type_infos[t].size) == 0) {
		value_text(out, t, lo);
		return;
	}
	plen = t == VW_NFT_IPV4_ADDR || t == VW_NFT_IPV6_ADDR ? prefix_len(lo, hi, type_infos[t].size) : -1;
	value_text(out, t, lo);
	if (plen >= 0) {
		g_string_append_printf(out, "/%d", plen);
	} else {
		g_string_append_c(out, '-');
		value_text(out, t, hi);
	}
}

void vw_values_text(GString *out, const VwNftType *types, guint ntypes, const uint8_t *buf, const uint8_t *end)
{
	uint32_t off = 0;

	for (guint i = 0; i < ntypes; i++) {
		if (i)
			g_string_append(out, " . ");
		if (end)
			range_text(out, types[i], buf + off, end + off);
		else
			value_text(out, types[i], buf + off);
		off += padded(type_infos[types[i]].size);
	}
}

/* KEY [: DATA]; @last: the end of a single-field interval. */
static void elem_text(const VwSet *s, VwElem *e, const uint8_t *last)
{
	guint nkey = nfields(s->key, VW_SET_KEY_FIELDS);
	GString *t = g_string_sized_new(96);

	vw_values_text(t, s->key, nkey, e->key, last ? last : e->key_end_len ? e->key_end : NULL);
	e->key_text = g_strndup(t->str, t->len);
	if (s->is_map) {
		g_string_append(t, " : ");
		if (s->data[0] == VW_NFT_VERDICT) {
			g_string_append(t, vw_verdict_name(e->verdict));
			if (e->chain)
				g_string_append_printf(t, " %s", e->chain);
		} else {
			vw_values_text(t, s->data, nfields(s->data, VW_SET_DATA_FIELDS), e->data, NULL);
		}
	}
	e->text = g_string_free(t, FALSE);
}

/* The index of @s, made again from its elements if it was let go. */
static GHashTable *set_index(VwSet *s)
{
	if (!s->index) {
		s->index = g_hash_table_new(elem_hash, elem_equal);
		for (guint i = 0; i < s->elems->len; i++)
			g_hash_table_add(s->index, s->elems->pdata[i]);
	}
	return s->index;
}

const VwElem *vw_set_find(const VwSet *s, const VwElem *probe)
{
	/* A cache: the set is the same. */
	return g_hash_table_lookup(set_index((VwSet *)s), probe);
}

void vw_plan_drop_indexes(VwPlan *p)
{
	for (guint t = 0; t < VW_TABLES; t++)
		for (guint i = 0; i < p->tables[t].sets->len; i++)
			g_clear_pointer(&((VwSet *)p->tables[t].sets->pdata[i])->index, g_hash_table_unref);
}

static bool set_insert(VwSet *s, VwElem *e)
{
	if (g_hash_table_contains(set_index(s), e)) {
		vw_elem_free(e);
		return false;
	}
	e = elem_shrink(s, e);
	g_ptr_array_add(s->elems, e);
	g_hash_table_add(s->index, e);
	return true;
}

bool vw_set_add(VwSet *s, VwElem *e)
{
	g_assert(!(e->flags & NFT_SET_ELEM_INTERVAL_END));
	/* Its text is made when asked for: an apply of 10,000 forwards needs
	 * none of it. */
	g_clear_pointer(&e->text, g_free);
	g_clear_pointer(&e->key_text, g_free);
	return set_insert(s, e);
}

const char *vw_elem_text(const VwSet *s, const VwElem *e)
{
	if (!e->text && !(e->flags & NFT_SET_ELEM_INTERVAL_END))
		elem_text(s, (VwElem *)e, NULL); /* a cache: the element is the same */
	return e->text;
}

const char *vw_elem_key_text(const VwSet *s, const VwElem *e)
{
	if (!e->key_text && !(e->flags & NFT_SET_ELEM_INTERVAL_END))
		elem_text(s, (VwElem *)e, NULL);
	return e->key_text;
}

bool vw_set_add_range(VwSet *s, VwElem *e, const uint8_t *last)
{
	uint32_t size = type_infos[s->key[0]].size;
	VwElem *end;
	bool added;
	int i;

	g_assert((s->flags & NFT_SET_INTERVAL) && s->concat_n == 0 && e->key_len == padded(size));
	elem_text(s, e, last);
	end = vw_elem_new(e->owner);
	end->key_text = g_strdup(e->key_text);
	added = set_insert(s, e);
	/* The end element: one past the last value, flagged; none when the
	 * interval runs to the end of the range. */
	memcpy(end->key, last, size);
	end->key_len = padded(size);
	for (i = (int)size - 1; i >= 0; i--)
		if (++end->key[i] != 0)
			break;
	if (i < 0) {
		vw_elem_free(end);
		return added;
	}
	end->flags = NFT_SET_ELEM_INTERVAL_END;
	set_insert(s, end);
	return added;
}

/* ---------------------------------------------------------------------- */
/* Keys */

void vw_key_put(uint8_t *buf, uint32_t *len, const void *data, uint32_t n)
{
	uint32_t pn = padded(n);

	g_assert(*len + pn <= VW_NFT_DATA_MAX);
	memset(buf + *len, 0, pn);
	memcpy(buf + *len, data, n);
	*len += pn;
}

void vw_key_put_addr(uint8_t *buf, uint32_t *len, const VwAddr *a)
{
	vw_key_put(buf, len, a->b, vw_addr_len(a->family));
}

void vw_key_put_port(uint8_t *buf, uint32_t *len, uint16_t port)
{
	uint8_t be[2] = { (uint8_t)(port >> 8), (uint8_t)port };

	vw_key_put(buf, len, be, 2);
}

void vw_key_put_proto(uint8_t *buf, uint32_t *len, uint8_t proto)
{
	vw_key_put(buf, len, &proto, 1);
}

void vw_key_ifname(VwElem *e, const char *name)
{
	/* IFNAMSIZ bytes, zero padded: memcmp order is strcmp order. */
	memset(e->key, 0, 16);
	memcpy(e->key, name, MIN(strlen(name), 15));
	e->key_len = 16;
}
