/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The state directory. NAME.state is line-oriented text:
 *
 *   virtwire-state 1
 *   network NAME
 *   id ID
 *   applied 2026-11-22T04:00:00Z
 *   source FILE
 *   bridge BR
 *   mode MODE
 *   sysctl PATH OLD NEW revert|keep
 *   link KIND created|found OBJECT [EXTRA]   (OBJECT and EXTRA escaped)
 *   port UUID DOMAIN-UUID MAC
 *   end
 *
 * Every value is percent-escaped (spaces and '%' at least), so a line splits
 * on spaces. "end" marks a complete file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <virtwire/exec.h>

const char *vw_state_dir(const char *opt)
{
	const char *env = g_getenv("VIRTWIRE_STATE_DIR");

	if (opt && *opt)
		return opt;
	if (env && *env)
		return env;
	return VW_STATE_DIR_DEFAULT;
}

static char *esc(const char *s)
{
	/* Keep printable ASCII readable; escape space, '%' and the rest. */
	return g_uri_escape_string(s ? s : "", "/:@=+,.-_~[]!$&'()*;", TRUE);
}

static char *file_for(const char *dir, const char *name, const char *suffix)
{
	g_autofree char *e = g_uri_escape_string(name, "-_.", TRUE);

	return g_strdup_printf("%s/%s%s", dir, e, suffix);
}

char *vw_state_xml_path(const char *dir, const char *name)
{
	return file_for(dir, name, ".xml");
}

static bool ensure_dir(const char *dir, GError **error)
{
	if (g_mkdir_with_parents(dir, 0700) < 0) {
		g_set_error(error, VW_ERROR, VW_ERROR_FAILED, "cannot create the state directory %s: %s", dir,
			    g_strerror(errno));
		return false;
	}
	return true;
}

int vw_state_lock(const char *dir, guint timeout_ms, GError **error)
{
	g_autofree char *path = g_build_filename(dir, "lock", NULL);
	int fd;

	if (!ensure_dir(dir, error))
		return -1;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		g_set_error(error, VW_ERROR, VW_ERROR_FAILED, "cannot open the lock %s: %s", path, g_strerror(errno));
		return -1;
	}
	for (guint waited = 0;; waited += 10) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return fd;
		if (errno != EWOULDBLOCK && errno != EINTR) {
			g_set_error(error, VW_ERROR, VW_ERROR_FAILED, "cannot lock %s: %s", path, g_strerror(errno));
			break;
		}
		if (waited >= timeout_ms) {
			g_set_error(error, VW_ERROR, VW_ERROR_BUSY,
				    "another virtwire has held the lock %s for %u s; try again when it is done", path,
				    timeout_ms / 1000);
			break;
		}
		g_usleep(10000);
	}
	close(fd);
	return -1;
}

void vw_state_unlock(int fd)
{
	if (fd >= 0)
		close(fd); /* releases the flock */
}

/* Writes @data to @path atomically: a reader sees the old file or the new
 * one, never half of either. */
static bool write_atomic(const char *path, const char *data, gsize len, GError **error)
{
	g_autofree char *tmp = g_strdup_printf("%s.tmp.%d", path, (int)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	gsize done = 0;

	if (fd < 0)
		goto fail;
	while (done < len) {
		ssize_t n = write(fd, data + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail_close;
		done += (gsize)n;
	}
	if (fsync(fd) < 0)
		goto fail_close;
	close(fd);
	if (rename(tmp, path) < 0)
		goto fail;
	return true;
fail_close:
	close(fd);
fail:
	g_set_error(error, VW_ERROR, VW_ERROR_FAILED, "cannot write %s: %s", path, g_strerror(errno));
	unlink(tmp);
	return false;
}

static void fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

/* The record as it would be written, but for its time, is already there:
 * a hook re-applying an unchanged network spares the disk three fsyncs
 * (and "applied" keeps saying when the record last changed). */
static bool unchanged(const char *path, const char *data, const char *xml_path, const char *xml)
{
	g_autofree char *old = NULL, *old_xml = NULL;
	g_auto(GStrv) a = NULL, b = NULL;
	guint n;

	if (!g_file_get_contents(path, &old, NULL, NULL) || (xml && !g_file_get_contents(xml_path, &old_xml, NULL, NULL)))
		return false;
	if (xml && strcmp(xml, old_xml) != 0)
		return false;
	a = g_strsplit(old, "\n", -1);
	b = g_strsplit(data, "\n", -1);
	n = g_strv_length(a);
	if (n != g_strv_length(b))
		return false;
	for (guint i = 0; i < n; i++)
		if (strcmp(a[i], b[i]) != 0 && !(g_str_has_prefix(a[i], "applied ") && g_str_has_prefix(b[i], "applied ")))
			return false;
	return true;
}

bool vw_state_save(const char *dir, const VwState *s, GError **error)
{
	g_autofree char *path = file_for(dir, s->name, ".state");
	g_autofree char *xml_path = file_for(dir, s->name, ".xml");
	GString *out = g_string_new(NULL);
	g_autofree char *data = NULL;
	gsize len;

	if (!ensure_dir(dir, error))
		return false;
	g_string_append_printf(out, "virtwire-state %d\n", VW_STATE_VERSION);
#define FIELD(key, value)                                                           \
	do {                                                                        \
		if (value) {                                                        \
			g_autofree char *e_ = esc(value);                           \
			g_string_append_printf(out, "%s %s\n", key, e_);            \
		}                                                                   \
	} while (0)
	FIELD("network", s->name);
	FIELD("id", s->id);
	FIELD("applied", s->applied);
	FIELD("source", s->source);
	FIELD("bridge", s->bridge);
	FIELD("mode", s->mode);
#undef FIELD
	for (guint i = 0; i < s->sysctls->len; i++) {
		const VwStateSysctl *x = s->sysctls->pdata[i];
		g_autofree char *p = esc(x->path), *o = esc(x->old_value), *n = esc(x->new_value);

		g_string_append_printf(out, "sysctl %s %s %s %s\n", p, o, n, x->revert ? "revert" : "keep");
	}
	for (guint i = 0; i < s->links->len; i++) {
		const VwStateLink *l = s->links->pdata[i];
		g_autofree char *k = esc(l->kind), *o = esc(l->object), *x = l->extra ? esc(l->extra) : NULL;

		g_string_append_printf(out, "link %s %s %s%s%s\n", k, l->created ? "created" : "found", o, x ? " " : "",
				       x ? x : "");
	}
	for (guint i = 0; i < s->ports->len; i++) {
		const VwStatePort *p = s->ports->pdata[i];
		g_autofree char *u = esc(p->uuid), *d = esc(p->domain_uuid), *m = esc(p->mac);

		g_string_append_printf(out, "port %s %s %s\n", u, d, m);
	}
	g_string_append(out, "end\n");
	len = out->len;
	data = g_string_free(out, FALSE);
	if (unchanged(path, data, xml_path, s->xml))
		return true;
	/* The XML first: a state file always has its XML beside it. */
	if (s->xml && !write_atomic(xml_path, s->xml, strlen(s->xml), error))
		return false;
	if (!write_atomic(path, data, len, error))
		return false;
	fsync_dir(dir);
	return true;
}

static char *unesc(const char *s)
{
	char *r = g_uri_unescape_string(s, NULL);

	return r ? r : g_strdup(s);
}

static bool corrupt(GError **error, const char *path, int line, const char *why)
{
	g_set_error(error, VW_ERROR, VW_ERROR_FAILED, "%s:%d: corrupt state file: %s", path, line, why);
	return false;
}

bool vw_state_load(const char *dir, const char *name, VwState **ret, GError **error)
{
	g_autofree char *path = file_for(dir, name, ".state");
	g_autofree char *xml_path = file_for(dir, name, ".xml");
	g_autofree char *data = NULL;
	g_autoptr(GError) err = NULL;
	g_autoptr(VwState) s = vw_state_new(name);
	g_auto(GStrv) lines = NULL;
	bool ended = false;
	int lineno = 0;

	if (!g_file_get_contents(path, &data, NULL, &err)) {
		if (g_error_matches(err, G_FILE_ERROR, G_FILE_ERROR_NOENT))
			g_set_error(error, VW_ERROR, VW_ERROR_NOT_FOUND, "network '%s' has no state in %s", name, dir);
		else
			g_set_error(error, VW_ERROR, VW_ERROR_FAILED, "cannot read %s: %s", path, err->message);
		return false;
	}
	lines = g_strsplit(data, "\n", -1);
	for (char **l = lines; *l; l++) {
		g_auto(GStrv) f = NULL;
		guint n;

		lineno++;
		if (!**l)
			continue;
		if (ended)
			return corrupt(error, path, lineno, "text after 'end'");
		f = g_strsplit(*l, " ", -1);
		n = g_strv_length(f);
		if (lineno == 1) {
			if (n != 2 || strcmp(f[0], "virtwire-state") != 0)
				return corrupt(error, path, lineno, "not a virtwire state file");
			if (strcmp(f[1], "1") != 0) {
				g_set_error(error, VW_ERROR, VW_ERROR_FAILED,
					    "%s: state format version %s is not this virtwire's (%d)", path, f[1],
					    VW_STATE_VERSION);
				return false;
			}
			continue;
		}
		if (strcmp(f[0], "end") == 0 && n == 1) {
			ended = true;
		} else if (n == 2 && (strcmp(f[0], "network") == 0 || strcmp(f[0], "id") == 0 ||
				      strcmp(f[0], "applied") == 0 || strcmp(f[0], "source") == 0 ||
				      strcmp(f[0], "bridge") == 0 || strcmp(f[0], "mode") == 0)) {
			char *v = unesc(f[1]);

			switch (f[0][0]) {
			case 'n':
				if (strcmp(v, name) != 0) {
					g_free(v);
					return corrupt(error, path, lineno, "the network's name does not match the file");
				}
				g_free(v);
				break;
			case 'i':
				s->id = v;
				break;
			case 'a':
				s->applied = v;
				break;
			case 's':
				s->source = v;
				break;
			case 'b':
				s->bridge = v;
				break;
			case 'm':
				s->mode = v;
				break;
			default:
				g_free(v);
			}
		} else if (strcmp(f[0], "sysctl") == 0 && n == 5) {
			g_autofree char *p = unesc(f[1]), *o = unesc(f[2]), *v = unesc(f[3]);

			if (strcmp(f[4], "revert") != 0 && strcmp(f[4], "keep") != 0)
				return corrupt(error, path, lineno, "sysctl line must end in revert or keep");
			vw_state_add_sysctl(s, p, o, v, strcmp(f[4], "revert") == 0);
		} else if (strcmp(f[0], "port") == 0 && n == 4) {
			g_autofree char *u = unesc(f[1]), *d = unesc(f[2]), *m = unesc(f[3]);

			vw_state_add_port(s, u, d, m);
		} else if (strcmp(f[0], "link") == 0 && (n == 4 || n == 5)) {
			g_autofree char *k = unesc(f[1]), *o = unesc(f[3]), *x = n == 5 ? unesc(f[4]) : NULL;

			if (strcmp(f[2], "created") != 0 && strcmp(f[2], "found") != 0)
				return corrupt(error, path, lineno, "link line must say created or found");
			vw_state_add_link(s, k, o, strcmp(f[2], "created") == 0, x);
		} else {
			g_autofree char *why = g_strdup_printf("unknown line '%.40s'", *l);

			return corrupt(error, path, lineno, why);
		}
	}
	if (!ended)
		return corrupt(error, path, lineno, "it ends early (no 'end' line)");
	if (!s->id)
		return corrupt(error, path, lineno, "no 'id' line");
	if (!g_file_get_contents(xml_path, &s->xml, NULL, NULL)) {
		g_set_error(error, VW_ERROR, VW_ERROR_FAILED, "%s is missing beside %s", xml_path, path);
		return false;
	}
	*ret = g_steal_pointer(&s);
	return true;
}

bool vw_state_remove(const char *dir, const char *name, GError **error)
{
	g_autofree char *path = file_for(dir, name, ".state");
	g_autofree char *xml_path = file_for(dir, name, ".xml");

	/* The record first: an XML without a record is ignored, a record
	 * without its XML would be corrupt. */
	if (unlink(path) < 0 && errno != ENOENT) {
		g_set_error(error, VW_ERROR, VW_ERROR_FAILED, "cannot remove %s: %s", path, g_strerror(errno));
		return false;
	}
	if (unlink(xml_path) < 0 && errno != ENOENT) {
		g_set_error(error, VW_ERROR, VW_ERROR_FAILED, "cannot remove %s: %s", xml_path, g_strerror(errno));
		return false;
	}
	fsync_dir(dir);
	return true;
}

static int name_cmp(gconstpointer a, gconstpointer b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

GPtrArray *vw_state_list(const char *dir)
{
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	const char *f;

	while (d && (f = g_dir_read_name(d))) {
		if (g_str_has_suffix(f, ".state")) {
			g_autofree char *base = g_strndup(f, strlen(f) - strlen(".state"));

			g_ptr_array_add(names, unesc(base));
		}
	}
	g_ptr_array_sort(names, name_cmp);
	return names;
}

static char *domain_file(const char *dir, const char *uuid)
{
	g_autofree char *e = g_uri_escape_string(uuid, "-", TRUE);

	return g_strdup_printf("%s/domains/%s.xml", dir, e);
}

bool vw_state_save_domain(const char *dir, const char *uuid, const char *xml, GError **error)
{
	g_autofree char *sub = g_build_filename(dir, "domains", NULL);
	g_autofree char *path = domain_file(dir, uuid);

	if (!ensure_dir(sub, error))
		return false;
	if (!write_atomic(path, xml, strlen(xml), error))
		return false;
	fsync_dir(sub);
	return true;
}

char *vw_state_load_domain(const char *dir, const char *uuid, GError **error)
{
	g_autofree char *path = domain_file(dir, uuid);
	char *xml = NULL;
	g_autoptr(GError) err = NULL;

	if (!g_file_get_contents(path, &xml, NULL, &err)) {
		g_set_error(error, VW_ERROR,
			    g_error_matches(err, G_FILE_ERROR, G_FILE_ERROR_NOENT) ? VW_ERROR_NOT_FOUND : VW_ERROR_FAILED,
			    "domain %s has no record in %s: %s", uuid, dir, err->message);
		return NULL;
	}
	return xml;
}

bool vw_state_remove_domain(const char *dir, const char *uuid, GError **error)
{
	g_autofree char *path = domain_file(dir, uuid);

	if (unlink(path) < 0 && errno != ENOENT) {
		g_set_error(error, VW_ERROR, VW_ERROR_FAILED, "cannot remove %s: %s", path, g_strerror(errno));
		return false;
	}
	return true;
}

GPtrArray *vw_state_list_domains(const char *dir)
{
	GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
	g_autofree char *sub = g_build_filename(dir, "domains", NULL);
	g_autoptr(GDir) d = g_dir_open(sub, 0, NULL);
	const char *f;

	while (d && (f = g_dir_read_name(d))) {
		if (g_str_has_suffix(f, ".xml")) {
			g_autofree char *base = g_strndup(f, strlen(f) - 4);

			g_ptr_array_add(out, unesc(base));
		}
	}
	return out;
}

/* ---------------------------------------------------------------------- */
/* The firewall's generation record (firewall.gen) */

#define GEN_FILE "firewall.gen"
#define GEN_MAGIC "virtwire-firewall-gen 1"

typedef struct {
	char *netns;
	guint32 gen;
	GHashTable *nets; /* id → digest */
} GenRecord;

static void gen_record_free(GenRecord *r)
{
	if (!r)
		return;
	g_free(r->netns);
	g_hash_table_unref(r->nets);
	g_free(r);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(GenRecord, gen_record_free)

/* The network namespace this process is in: a generation belongs to one. */
static char *netns_id(void)
{
	struct stat st;

	if (stat("/proc/self/ns/net", &st) != 0)
		return NULL;
	return g_strdup_printf("%lu:%lu", (unsigned long)st.st_dev, (unsigned long)st.st_ino);
}

/* The record, if it is there, readable, and of this network namespace. */
static GenRecord *gen_load(const char *dir, const char *netns)
{
	g_autofree char *path = g_build_filename(dir, GEN_FILE, NULL);
	g_autofree char *data = NULL;
	g_auto(GStrv) lines = NULL;
	g_autoptr(GenRecord) r = g_new0(GenRecord, 1);
	bool have_gen = false;
	guint64 gen;

	r->nets = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	if (!netns || !g_file_get_contents(path, &data, NULL, NULL))
		return NULL;
	lines = g_strsplit(data, "\n", -1);
	if (!lines[0] || strcmp(lines[0], GEN_MAGIC) != 0)
		return NULL;
	for (guint i = 1; lines[i]; i++) {
		g_auto(GStrv) f = g_strsplit(lines[i], " ", 3);
		guint n = g_strv_length(f);

		if (n == 2 && strcmp(f[0], "netns") == 0)
			r->netns = g_strdup(f[1]);
		else if (n == 2 && strcmp(f[0], "gen") == 0 &&
			 g_ascii_string_to_unsigned(f[1], 10, 0, G_MAXUINT32, &gen, NULL)) {
			r->gen = (guint32)gen;
			have_gen = true;
		}
		else if (n == 3 && strcmp(f[0], "net") == 0)
			g_hash_table_replace(r->nets, unesc(f[1]), g_strdup(f[2]));
	}
	if (!have_gen || g_strcmp0(r->netns, netns) != 0)
		return NULL;
	return g_steal_pointer(&r);
}

bool vw_state_gen_current(const char *dir, guint32 gen, const char *id, const char *digest)
{
	g_autofree char *netns = netns_id();
	g_autoptr(GenRecord) r = gen_load(dir, netns);

	return r && r->gen == gen && g_strcmp0(g_hash_table_lookup(r->nets, id), digest) == 0;
}

void vw_state_gen_update(const char *dir, const VwNftResult *res, GPtrArray *ids, GPtrArray *digests)
{
	g_autofree char *netns = netns_id();
	g_autofree char *path = g_build_filename(dir, GEN_FILE, NULL);
	g_autoptr(GenRecord) r = gen_load(dir, netns);
	guint32 expected;
	GString *out;
	GHashTableIter it;
	gpointer k, v;

	if (!res->have_gen || !netns) {
		unlink(path);
		return;
	}
	/* What the record said holds on only if the ruleset was as recorded
	 * when the reconcile read it, and nobody else committed since. */
	expected = res->gen_before + (res->gen_after != res->gen_before ? 1 : 0);
	if (!r || r->gen != res->gen_before || res->gen_after != expected) {
		gen_record_free(g_steal_pointer(&r));
		r = g_new0(GenRecord, 1);
		r->nets = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	}
	if (res->gen_after == expected) {
		for (guint i = 0; i < ids->len; i++) {
			if (digests)
				g_hash_table_replace(r->nets, g_strdup(ids->pdata[i]), g_strdup(digests->pdata[i]));
			else
				g_hash_table_remove(r->nets, ids->pdata[i]);
		}
	}
	if (g_hash_table_size(r->nets) == 0) {
		unlink(path);
		return;
	}
	out = g_string_new(GEN_MAGIC "\n");
	g_string_append_printf(out, "netns %s\ngen %u\n", netns, res->gen_after);
	g_hash_table_iter_init(&it, r->nets);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		g_autofree char *e = esc(k);

		g_string_append_printf(out, "net %s %s\n", e, (const char *)v);
	}
	/* A cache: when it cannot be written, the next apply reads the
	 * kernel in full, as without it. */
	if (!write_atomic(path, out->str, out->len, NULL))
		unlink(path);
	g_string_free(out, TRUE);
}
