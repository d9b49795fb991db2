/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <virtwire/model.h>

bool vw_addr_parse(const char *s, VwAddr *ret)
{
	VwAddr a = { 0 };

	if (!s || !*s)
		return false;
	if (strchr(s, ':')) {
		if (inet_pton(AF_INET6, s, a.b) != 1)
			return false;
		a.family = AF_INET6;
	} else {
		/* inet_pton(AF_INET) is strict: four decimal octets, no leading
		 * zeros tricks, which is what libvirt accepts too. */
		if (inet_pton(AF_INET, s, a.b) != 1)
			return false;
		a.family = AF_INET;
	}
	*ret = a;
	return true;
}

static bool parse_uint(const char *s, unsigned max, unsigned *ret)
{
	char *end;
	unsigned long v;

	if (!s || !g_ascii_isdigit(*s))
		return false;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > max)
		return false;
	*ret = (unsigned)v;
	return true;
}

bool vw_prefix_parse(const char *s, VwPrefix *ret)
{
	g_autofree char *copy = NULL;
	char *slash;
	VwPrefix p = { 0 };

	if (!s)
		return false;
	copy = g_strdup(s);
	slash = strchr(copy, '/');
	if (slash)
		*slash = '\0';
	if (!vw_addr_parse(copy, &p.addr))
		return false;
	if (slash) {
		if (!parse_uint(slash + 1, vw_addr_bits(p.addr.family), &p.prefix))
			return false;
	} else {
		p.prefix = vw_addr_bits(p.addr.family);
	}
	*ret = p;
	return true;
}

bool vw_netmask_to_prefix(const VwAddr *mask, unsigned *ret)
{
	unsigned n = 0, len = vw_addr_len(mask->family);
	bool zero = false;

	for (unsigned i = 0; i < len * 8; i++) {
		bool bit = mask->b[i / 8] & (0x80 >> (i % 8));

		if (bit && zero)
			return false;
		if (bit)
			n++;
		else
			zero = true;
	}
	*ret = n;
	return true;
}

const char *vw_addr_to_string(const VwAddr *a, char buf[VW_ADDR_STRLEN])
{
	if (!a->family || !inet_ntop(a->family, a->b, buf, VW_ADDR_STRLEN))
		g_strlcpy(buf, "(none)", VW_ADDR_STRLEN);
	return buf;
}

char *vw_prefix_to_string(const VwPrefix *p)
{
	char buf[VW_ADDR_STRLEN];

	return g_strdup_printf("%s/%u", vw_addr_to_string(&p->addr, buf), p->prefix);
}

bool vw_addr_equal(const VwAddr *a, const VwAddr *b)
{
	return a->family == b->family && memcmp(a->b, b->b, vw_addr_len(a->family)) == 0;
}

int vw_addr_cmp(const VwAddr *a, const VwAddr *b)
{
	if (a->family != b->family)
		return (a->family > b->family) - (a->family < b->family);
	return memcmp(a->b, b->b, vw_addr_len(a->family));
}

static VwAddr mask_bits(const VwAddr *a, unsigned prefix, bool set)
{
	VwAddr r = *a;
	unsigned len = vw_addr_len(a->family);
	unsigned i = prefix / 8;

	if (prefix >= len * 8)
		return r;
	if (prefix % 8) {
		uint8_t host = (uint8_t)(0xff >> (prefix % 8));

		r.b[i] = set ? (uint8_t)(r.b[i] | host) : (uint8_t)(r.b[i] & ~host);
		i++;
	}
	memset(r.b + i, set ? 0xff : 0, len - i);
	return r;
}

VwAddr vw_addr_network(const VwAddr *a, unsigned prefix)
{
	return mask_bits(a, prefix, false);
}

VwAddr vw_addr_broadcast(const VwAddr *a, unsigned prefix)
{
	return mask_bits(a, prefix, true);
}

bool vw_prefix_contains(const VwPrefix *p, const VwAddr *a)
{
	unsigned len = vw_addr_len(a->family);
	unsigned full = MIN(p->prefix / 8, len);
	uint8_t mask;

	if (p->addr.family != a->family || memcmp(p->addr.b, a->b, full) != 0)
		return false;
	if (full == len || p->prefix % 8 == 0)
		return true;
	mask = (uint8_t)(0xff << (8 - p->prefix % 8));
	return ((p->addr.b[full] ^ a->b[full]) & mask) == 0;
}

bool vw_prefix_overlaps(const VwPrefix *a, const VwPrefix *b)
{
	const VwPrefix *wide = a->prefix <= b->prefix ? a : b;
	const VwPrefix *narrow = wide == a ? b : a;

	return vw_prefix_contains(wide, &narrow->addr);
}

bool vw_addr_is_loopback(const VwAddr *a)
{
	static const uint8_t v6lo[16] = { [15] = 1 };

	if (a->family == AF_INET)
		return a->b[0] == 127;
	if (a->family == AF_INET6)
		return memcmp(a->b, v6lo, 16) == 0;
	return false;
}

guint vw_addr_hash(const VwAddr *a)
{
	guint h = (guint)a->family;

	for (unsigned i = 0; i < vw_addr_len(a->family); i++)
		h = h * 31 + a->b[i];
	return h;
}

bool vw_mac_parse(const char *s, VwMac *ret)
{
	VwMac m;
	unsigned v[6];
	char tail;

	if (!s || strlen(s) != 17)
		return false;
	for (int i = 0; i < 17; i++) {
		if (i % 3 == 2 ? s[i] != ':' : !g_ascii_isxdigit(s[i]))
			return false;
	}
	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &tail) != 6)
		return false;
	for (int i = 0; i < 6; i++)
		m.b[i] = (uint8_t)v[i];
	*ret = m;
	return true;
}

const char *vw_mac_to_string(const VwMac *m, char buf[VW_MAC_STRLEN])
{
	g_snprintf(buf, VW_MAC_STRLEN, "%02x:%02x:%02x:%02x:%02x:%02x", m->b[0], m->b[1], m->b[2], m->b[3], m->b[4],
		   m->b[5]);
	return buf;
}

bool vw_ifname_valid(const char *name, bool allow_template)
{
	size_t len;
	const char *pct;

	if (!name)
		return false;
	len = strlen(name);
	if (len == 0 || len > 15 || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return false;
	for (const char *p = name; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (c <= ' ' || c >= 0x7f || c == '/' || c == ':' || c == '"' || c == '\'' || c == '\\')
			return false;
	}
	pct = strchr(name, '%');
	if (pct) {
		/* libvirt expands one "%d" to the first free number. */
		if (!allow_template || pct[1] != 'd' || strchr(pct + 1, '%'))
			return false;
	}
	return true;
}
