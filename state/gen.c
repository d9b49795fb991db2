/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The firewall's generation record (firewall.gen), as text:
 *
 *   virtwire-firewall-gen 2
 *   netns DEV:INODE
 *   gen N
 *   net ID DIGEST [INPUT]
 *   …
 *
 * Version 1 (no INPUT) is read as well.
 */
#include <string.h>

#include <virtwire/state.h>

#define GEN_MAGIC "virtwire-firewall-gen 2"
#define GEN_MAGIC_1 "virtwire-firewall-gen 1"
/* More networks than this in one namespace is not a record of virtwire's. */
#define GEN_MAX_NETS 65536

VwGenRecord *vw_gen_record_new(void)
{
	VwGenRecord *r = g_new0(VwGenRecord, 1);

	r->nets = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	r->inputs = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	return r;
}

void vw_gen_record_free(VwGenRecord *r)
{
	if (!r)
		return;
	g_free(r->netns);
	g_hash_table_unref(r->nets);
	g_hash_table_unref(r->inputs);
	g_free(r);
}

static int str_cmp(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char *vw_gen_record_format(const VwGenRecord *r)
{
	GString *out = g_string_new(GEN_MAGIC "\n");
	g_autoptr(GPtrArray) ids = g_ptr_array_new();
	GHashTableIter it;
	gpointer k;

	g_string_append_printf(out, "netns %s\ngen %u\n", r->netns ? r->netns : "-", r->gen);
	g_hash_table_iter_init(&it, r->nets);
	while (g_hash_table_iter_next(&it, &k, NULL))
		g_ptr_array_add(ids, k);
	g_ptr_array_sort(ids, str_cmp);
	for (guint i = 0; i < ids->len; i++) {
		g_autofree char *e = g_uri_escape_string(ids->pdata[i], "-_.", TRUE);
		const char *input = g_hash_table_lookup(r->inputs, ids->pdata[i]);

		g_string_append_printf(out, "net %s %s%s%s\n", e,
				       (const char *)g_hash_table_lookup(r->nets, ids->pdata[i]), input ? " " : "",
				       input ? input : "");
	}
	return g_string_free(out, FALSE);
}

/* A digest as vw_plan_digest writes it: 64 lowercase hex digits. */
static bool is_digest(const char *s)
{
	size_t n = 0;

	for (; s[n]; n++)
		if (!g_ascii_isxdigit(s[n]) || g_ascii_isupper(s[n]))
			return false;
	return n == 64;
}

static bool parse_line(VwGenRecord *r, const char *line, bool v1, bool *have_gen)
{
	g_auto(GStrv) f = g_strsplit(line, " ", 5);
	guint n = g_strv_length(f);
	guint64 gen;

	if (n == 2 && strcmp(f[0], "netns") == 0 && !r->netns) {
		r->netns = g_strdup(f[1]);
		return true;
	}
	if (n == 2 && strcmp(f[0], "gen") == 0 && !*have_gen &&
	    g_ascii_string_to_unsigned(f[1], 10, 0, G_MAXUINT32, &gen, NULL)) {
		r->gen = (guint32)gen;
		*have_gen = true;
		return true;
	}
	if ((n == 3 || (n == 4 && !v1 && is_digest(f[3]))) && strcmp(f[0], "net") == 0 && is_digest(f[2])) {
		char *id = g_uri_unescape_string(f[1], "\n");

		if (!id || !*id || g_hash_table_contains(r->nets, id) || g_hash_table_size(r->nets) >= GEN_MAX_NETS) {
			g_free(id);
			return false;
		}
		if (n == 4)
			g_hash_table_insert(r->inputs, g_strdup(id), g_strdup(f[3]));
		g_hash_table_insert(r->nets, id, g_strdup(f[2]));
		return true;
	}
	return false;
}

VwGenRecord *vw_gen_record_parse(const char *text, gsize len)
{
	g_autoptr(VwGenRecord) r = vw_gen_record_new();
	g_autofree char *copy = NULL;
	g_auto(GStrv) lines = NULL;
	bool have_gen = false, v1;

	if (len > (16u << 20) || memchr(text, '\0', len))
		return NULL;
	copy = g_strndup(text, len);
	lines = g_strsplit(copy, "\n", -1);
	if (!lines[0] || (strcmp(lines[0], GEN_MAGIC) != 0 && strcmp(lines[0], GEN_MAGIC_1) != 0))
		return NULL;
	v1 = strcmp(lines[0], GEN_MAGIC_1) == 0;
	for (guint i = 1; lines[i]; i++)
		if (lines[i][0] && !parse_line(r, lines[i], v1, &have_gen))
			return NULL;
	if (!have_gen || !r->netns)
		return NULL;
	return g_steal_pointer(&r);
}
