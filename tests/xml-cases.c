/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * XML-driven golden cases. Every folder tests/xml/<case>/ holds input XML
 * files and the expected output of the virtwire commands run on them:
 *
 *   *.xml       the inputs, given to the command in name order
 *   args        optional: extra options for 'check', one per line
 *   check.out   expected stdout of 'virtwire check', then "[exit N]"
 *   plan.out    optional: expected stdout of 'virtwire plan', then "[exit N]"
 *   check-schema-N.out, plan-schema-N.out
 *               the expectation with libvirt N's schemas, where it differs
 *               between libvirt versions (e.g. <title> in a network: valid
 *               from libvirt 10); check.out and plan.out hold for the others
 *
 * A case runs once for each libvirt whose schemas VW_XML_SCHEMAS names
 * ("9=DIR;11=DIR": the machine's libvirt and the tree of tools/libvirt-tree),
 * with --schema-dir DIR, so that every case is shown to hold for each
 * version; a version whose folder is missing is skipped, and said so. A case
 * whose args choose the schemas itself (--schema-dir, --no-schema) runs once.
 * VIRTWIRE_REGENERATE=1 rewrites the expectation each run compared with:
 * review the diff.
 *
 *   libvirt     optional: libvirt's own verdict on the inputs (virsh define,
 *               net-define), "accepts" or "refuses", or one line per version
 *               ("9 refuses", "11 accepts"); tests/libvirt/agree.sh checks it
 *               against a real libvirtd of each version
 *   why-refused where libvirt accepts what virtwire refuses: the page and
 *               heading of docs/ that say why ("docs/libvirt.md: Heading")
 *
 * virtwire check must not refuse what libvirt accepts: a case whose libvirt
 * accepts its inputs fails when check exits non-zero with that version's
 * schemas, unless why-refused names a heading that docs/ has.
 */
#include <stdbool.h>
#include <string.h>

#include <glib.h>
#include <glib/gstdio.h>

static const char *virtwire_bin;
static const char *cases_dir;

typedef struct {
	char *dir;
	char *command;
	char *expect;	  /* file name of the expectation */
	char *schema_dir; /* --schema-dir for this run, or NULL: the case's own */
	char *version;	  /* the libvirt version of those schemas, or NULL */
} Case;

/* The libvirt versions whose schemas the cases run with. */
typedef struct {
	char *version;
	char *dir;
} Schemas;

static int cmp_names(gconstpointer a, gconstpointer b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static GPtrArray *case_inputs(const char *dir)
{
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	GPtrArray *files = g_ptr_array_new_with_free_func(g_free);
	const char *name;

	while (d && (name = g_dir_read_name(d)))
		if (g_str_has_suffix(name, ".xml"))
			g_ptr_array_add(files, g_strdup(name));
	return files;
}

static char *run_case(const Case *c, int *exit_status)
{
	g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) files = case_inputs(c->dir);
	g_autofree char *args_path = g_build_filename(c->dir, "args", NULL);
	g_autofree char *args = NULL;
	g_autofree char *out = NULL;
	g_autoptr(GError) err = NULL;
	int status = 0;

	g_ptr_array_sort(files, cmp_names);
	g_ptr_array_add(argv, g_strdup(virtwire_bin));
	g_ptr_array_add(argv, g_strdup(c->command));
	if (c->schema_dir)
		g_ptr_array_add(argv, g_strdup_printf("--schema-dir=%s", c->schema_dir));
	if (g_file_get_contents(args_path, &args, NULL, NULL)) {
		g_auto(GStrv) lines = g_strsplit(args, "\n", -1);

		for (char **l = lines; *l; l++)
			if (**l && **l != '#')
				g_ptr_array_add(argv, g_strdup(*l));
	}
	for (guint i = 0; i < files->len; i++)
		g_ptr_array_add(argv, g_strdup(files->pdata[i]));
	g_ptr_array_add(argv, NULL);
	if (!g_spawn_sync(c->dir, (char **)argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, NULL, &status, &err))
		g_error("cannot run %s: %s", virtwire_bin, err->message);
	*exit_status = g_spawn_check_wait_status(status, NULL) ? 0 : WEXITSTATUS(status);
	return g_steal_pointer(&out);
}

/* The first line of file @name of case @dir that is not a comment, or of
 * those lines the one that starts with "@version ", without it; NULL when
 * there is none. */
static char *case_line(const char *dir, const char *name, const char *version)
{
	g_autofree char *path = g_build_filename(dir, name, NULL);
	g_autofree char *text = NULL;
	g_auto(GStrv) lines = NULL;

	if (!g_file_get_contents(path, &text, NULL, NULL))
		return NULL;
	lines = g_strsplit(text, "\n", -1);
	for (char **l = lines; *l; l++) {
		const char *sp = strchr(*l, ' ');

		if (!**l || **l == '#')
			continue;
		if (!version || !sp)
			return g_strstrip(g_strdup(*l));
		if ((size_t)(sp - *l) == strlen(version) && strncmp(*l, version, sp - *l) == 0)
			return g_strstrip(g_strdup(sp + 1));
	}
	return NULL;
}

/* Whether why-refused of case @dir names a page and heading docs/ has. */
static bool refusal_documented(const char *dir, char **why)
{
	g_autofree char *line = case_line(dir, "why-refused", NULL);
	g_autofree char *rel = NULL;
	g_autofree char *page = NULL;
	g_autofree char *text = NULL;
	const char *colon = line ? strstr(line, ": ") : NULL;

	if (!colon) {
		*why = g_strdup("no why-refused (\"docs/PAGE.md: Heading\") in the case");
		return false;
	}
	rel = g_strndup(line, colon - line);
	page = g_build_filename(cases_dir, "..", "..", rel, NULL);
	if (!g_file_get_contents(page, &text, NULL, NULL) || !strstr(text, colon + 2)) {
		*why = g_strdup_printf("why-refused names '%s', which docs/ does not have", line);
		return false;
	}
	return true;
}

/* Item 7 of the golden cases: where libvirt accepts the inputs, check must
 * too, or docs/ must say why not. */
static void check_agreement(const Case *c, int rc)
{
	g_autofree char *verdict = case_line(c->dir, "libvirt", c->version);
	g_autofree char *why = NULL;

	if (!verdict || rc == 0)
		return;
	if (strcmp(verdict, "accepts") != 0 && strcmp(verdict, "refuses") != 0) {
		g_test_message("%s/libvirt: '%s' is neither 'accepts' nor 'refuses'", c->dir, verdict);
		g_test_fail();
		return;
	}
	if (strcmp(verdict, "accepts") == 0 && !refusal_documented(c->dir, &why)) {
		g_test_message("libvirt %s accepts the inputs of %s, virtwire check refuses them (exit %d): %s",
			       c->version ? c->version : "", c->dir, rc, why);
		g_test_fail();
	}
}

/* A unified diff of two texts, for a readable failure. */
static char *diff_text(const char *expected, const char *actual)
{
	g_autofree char *dir = g_dir_make_tmp("vw-xml-case-XXXXXX", NULL);
	g_autofree char *a = g_build_filename(dir, "expected", NULL);
	g_autofree char *b = g_build_filename(dir, "actual", NULL);
	const char *argv[] = { "diff", "-u", a, b, NULL };
	char *out = NULL;

	g_file_set_contents(a, expected, -1, NULL);
	g_file_set_contents(b, actual, -1, NULL);
	if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, NULL, NULL, NULL))
		out = g_strdup("(diff failed)");
	g_unlink(a);
	g_unlink(b);
	g_rmdir(dir);
	return out;
}

static void test_case(gconstpointer data)
{
	const Case *c = data;
	g_autofree char *expect_path = g_build_filename(c->dir, c->expect, NULL);
	g_autofree char *expected = NULL;
	g_autofree char *out = NULL;
	g_autofree char *actual = NULL;
	int rc;

	if (c->schema_dir && !g_file_test(c->schema_dir, G_FILE_TEST_IS_DIR)) {
		g_autofree char *why = g_strdup_printf("no schemas in %s (sudo tools/libvirt-tree makes libvirt 11's)",
						       c->schema_dir);

		g_test_skip(why);
		return;
	}
	out = run_case(c, &rc);
	actual = g_strdup_printf("%s[exit %d]\n", out, rc);
	if (strcmp(c->command, "check") == 0)
		check_agreement(c, rc);
	if (g_getenv("VIRTWIRE_REGENERATE")) {
		g_assert_true(g_file_set_contents(expect_path, actual, -1, NULL));
		return;
	}
	if (!g_file_get_contents(expect_path, &expected, NULL, NULL)) {
		g_test_message("%s is missing (VIRTWIRE_REGENERATE=1 creates it)", expect_path);
		g_test_fail();
		return;
	}
	if (strcmp(actual, expected) != 0) {
		g_test_message("%s differs:\n%s", expect_path, diff_text(expected, actual));
		g_test_fail();
	}
}

static void case_free(gpointer data)
{
	Case *c = data;

	g_free(c->dir);
	g_free(c->command);
	g_free(c->expect);
	g_free(c->schema_dir);
	g_free(c->version);
	g_free(c);
}

static bool case_has(const char *dir, const char *file)
{
	g_autofree char *path = g_build_filename(dir, file, NULL);

	return g_file_test(path, G_FILE_TEST_EXISTS);
}

/* Whether the case's args choose the schemas themselves. */
static bool case_picks_schemas(const char *dir)
{
	g_autofree char *path = g_build_filename(dir, "args", NULL);
	g_autofree char *args = NULL;

	return g_file_get_contents(path, &args, NULL, NULL) &&
	       (strstr(args, "--schema-dir") || strstr(args, "--no-schema"));
}

static void add_run(const char *name, const char *command, const char *expect, const Schemas *s)
{
	Case *c = g_new0(Case, 1);
	g_autofree char *path = NULL;

	c->dir = g_build_filename(cases_dir, name, NULL);
	c->command = g_strdup(command);
	c->expect = g_strdup(expect);
	c->schema_dir = s ? g_strdup(s->dir) : NULL;
	c->version = s ? g_strdup(s->version) : NULL;
	path = s ? g_strdup_printf("/xml/%s/%s/schema-%s", name, command, s->version)
		 : g_strdup_printf("/xml/%s/%s", name, command);
	g_test_add_data_func_full(path, c, test_case, case_free);
}

/* @command of case @name: once per libvirt version (or once, when the case
 * picks its schemas), each against its version's expectation. */
static void add_case(const char *name, const char *command, GPtrArray *schemas)
{
	g_autofree char *dir = g_build_filename(cases_dir, name, NULL);
	g_autofree char *plain = g_strdup_printf("%s.out", command);

	if (case_picks_schemas(dir) || schemas->len == 0) {
		add_run(name, command, plain, NULL);
		return;
	}
	for (guint i = 0; i < schemas->len; i++) {
		const Schemas *s = schemas->pdata[i];
		g_autofree char *versioned = g_strdup_printf("%s-schema-%s.out", command, s->version);

		add_run(name, command, case_has(dir, versioned) ? versioned : plain, s);
	}
}

/* Whether case @name has an expectation for @command, plain or versioned. */
static bool case_expects(const char *name, const char *command)
{
	g_autofree char *dir = g_build_filename(cases_dir, name, NULL);
	g_autofree char *plain = g_strdup_printf("%s.out", command);
	g_autofree char *prefix = g_strdup_printf("%s-schema-", command);
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	const char *f;

	if (case_has(dir, plain))
		return true;
	while (d && (f = g_dir_read_name(d)))
		if (g_str_has_prefix(f, prefix) && g_str_has_suffix(f, ".out"))
			return true;
	return false;
}

static void schemas_free(Schemas *s)
{
	g_free(s->version);
	g_free(s->dir);
	g_free(s);
}

/* VW_XML_SCHEMAS, "VERSION=DIR;VERSION=DIR", as Schemas. */
static GPtrArray *schemas_parse(const char *spec)
{
	GPtrArray *all = g_ptr_array_new_with_free_func((GDestroyNotify)schemas_free);
	g_auto(GStrv) items = g_strsplit(spec ? spec : "", ";", -1);

	for (char **i = items; *i; i++) {
		const char *eq = strchr(*i, '=');
		Schemas *s;

		if (!eq)
			continue;
		s = g_new0(Schemas, 1);
		s->version = g_strndup(*i, eq - *i);
		s->dir = g_strdup(eq + 1);
		g_ptr_array_add(all, s);
	}
	return all;
}

int main(int argc, char **argv)
{
	g_autoptr(GDir) d = NULL;
	g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) schemas = NULL;
	const char *name;

	g_test_init(&argc, &argv, NULL);
	/* One failed case must not hide the others. */
	g_test_set_nonfatal_assertions();
	cases_dir = g_getenv("VW_XML_CASES");
	virtwire_bin = g_getenv("VW_BIN");
	if (!cases_dir || !virtwire_bin)
		g_error("VW_XML_CASES and VW_BIN must be set (meson test sets them)");
	schemas = schemas_parse(g_getenv("VW_XML_SCHEMAS"));
	d = g_dir_open(cases_dir, 0, NULL);
	if (!d)
		g_error("cannot open %s", cases_dir);
	while ((name = g_dir_read_name(d))) {
		g_autofree char *path = g_build_filename(cases_dir, name, NULL);

		if (g_file_test(path, G_FILE_TEST_IS_DIR))
			g_ptr_array_add(names, g_strdup(name));
	}
	g_ptr_array_sort(names, cmp_names);
	for (guint i = 0; i < names->len; i++) {
		/* Every case has a check expectation (a missing one fails until
		 * regenerated); a plan expectation only where one exists. */
		add_case(names->pdata[i], "check", schemas);
		if (case_expects(names->pdata[i], "plan"))
			add_case(names->pdata[i], "plan", schemas);
	}
	return g_test_run();
}
