/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The addresses virtwire watch saw guests use (the state directory's file
 * "learned"), as text:
 *
 *   virtwire-learned 1
 *   addr ID MAC ADDRESS
 *   …
 *
 * ID is the network's id (URI-escaped), one line per network, MAC and
 * address family. Every plan made from the records reads it, so that
 * restore, the hooks and watch forward to the same guest.
 */
#include <string.h>

#include <virtwire/state.h>

#define LEARNED_MAGIC "virtwire-learned 1"

void vw_learned_free(VwLearned *l)
{
	if (!l)
		return;
	g_free(l->id);
	g_free(l);
}

VwLearned *vw_learned_new(const char *id, const VwMac *mac, const VwAddr *addr)
{
	VwLearned *l = g_new0(VwLearned, 1);

	l->id = g_strdup(id);
	l->mac = *mac;
	l->addr = *addr;
	return l;
}

char *vw_learned_format(GPtrArray *entries)
{
	GString *out = g_string_new(LEARNED_MAGIC "\n");

	for (guint i = 0; i < entries->len; i++) {
		const VwLearned *l = entries->pdata[i];
		g_autofree char *id = g_uri_escape_string(l->id, "-_.", TRUE);
		char m[VW_MAC_STRLEN], a[VW_ADDR_STRLEN];

		g_string_append_printf(out, "addr %s %s %s\n", id, vw_mac_to_string(&l->mac, m),
				       vw_addr_to_string(&l->addr, a));
	}
	return g_string_free(out, FALSE);
}

/* "ID MAC family" of an entry: one line each. */
static char *entry_key(const VwLearned *l)
{
	char m[VW_MAC_STRLEN];

	return g_strdup_printf("%s %s %d", l->id, vw_mac_to_string(&l->mac, m), l->addr.family);
}

static VwLearned *parse_line(const char *line)
{
	g_auto(GStrv) f = g_strsplit(line, " ", 5);
	g_autofree char *id = NULL;
	VwMac mac;
	VwAddr addr;

	if (g_strv_length(f) != 4 || strcmp(f[0], "addr") != 0 || !vw_mac_parse(f[2], &mac) ||
	    !vw_addr_parse(f[3], &addr))
		return NULL;
	id = g_uri_unescape_string(f[1], "\n ");
	if (!id || !*id)
		return NULL;
	return vw_learned_new(id, &mac, &addr);
}

bool vw_learned_parse(const char *text, gsize len, GPtrArray **ret, GError **error)
{
	g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func((GDestroyNotify)vw_learned_free);
	g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	g_autofree char *copy = NULL;
	g_auto(GStrv) lines = NULL;

	if (len > VW_LEARNED_MAX_SIZE || memchr(text, '\0', len)) {
		g_set_error(error, VW_ERROR, VW_ERROR_STATE, "not a record of learned addresses");
		return false;
	}
	copy = g_strndup(text, len);
	lines = g_strsplit(copy, "\n", -1);
	if (!lines[0] || strcmp(lines[0], LEARNED_MAGIC) != 0) {
		g_set_error(error, VW_ERROR, VW_ERROR_STATE, "line 1: not '" LEARNED_MAGIC "'");
		return false;
	}
	for (guint i = 1; lines[i]; i++) {
		VwLearned *l;

		if (!lines[i][0])
			continue;
		l = parse_line(lines[i]);
		if (!l || out->len >= VW_LEARNED_MAX || !g_hash_table_add(seen, entry_key(l))) {
			vw_learned_free(l);
			g_set_error(error, VW_ERROR, VW_ERROR_STATE, "line %u: %s", i + 1,
				    out->len >= VW_LEARNED_MAX ? "too many entries"
							       : "not 'addr ID MAC ADDRESS', or a repeat");
			return false;
		}
		g_ptr_array_add(out, l);
	}
	*ret = g_steal_pointer(&out);
	return true;
}
