/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Loading a module: by its full path, found from the executable's own
 * (/proc/self/exe) and nothing a caller could choose (no environment, no
 * run path): LIBDIR/virtwire once installed (VW_MODULE_REL, the way there
 * from BINDIR), else beside the executable (meson's build folder). A module
 * is loaded at most once per process and never unloaded (its libraries may
 * keep state: libxml2's, libsystemd's).
 */
#include <dlfcn.h>
#include <string.h>
#include <unistd.h>

#include "module.h"

typedef struct {
	const char *file;
	const void *table;
	char *failure;
} Loaded;

static Loaded loaded[2];

static Loaded *slot(const char *file)
{
	for (guint i = 0; i < G_N_ELEMENTS(loaded); i++) {
		if (!loaded[i].file || strcmp(loaded[i].file, file) == 0) {
			loaded[i].file = file;
			return &loaded[i];
		}
	}
	g_assert_not_reached();
}

static char *module_path(const char *file)
{
	g_autofree char *exe = g_file_read_link("/proc/self/exe", NULL);
	g_autofree char *dir = exe ? g_path_get_dirname(exe) : NULL;
	char *installed;

	if (!dir)
		return NULL;
	installed = g_build_filename(dir, VW_MODULE_REL, file, NULL);
	if (access(installed, F_OK) == 0)
		return installed;
	g_free(installed);
	return g_build_filename(dir, file, NULL);
}

static char *try_load(const char *file, const char *symbol, const void **ret)
{
	static const guint32 sizes[] = VW_MODULE_SIZES;
	g_autofree char *path = module_path(file);
	const VwModuleHeader *h;
	void *handle;

	if (!path)
		return g_strdup("the executable's own path is not known (/proc is not mounted?)");
	handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!handle)
		return g_strdup(dlerror());
	h = dlsym(handle, symbol);
	if (!h)
		return g_strdup_printf("it has no %s", symbol);
	if (h->abi != VW_MODULE_ABI || g_strcmp0(h->version, VW_VERSION) != 0 ||
	    memcmp(h->sizes, sizes, sizeof(sizes)) != 0)
		return g_strdup_printf("it is of another build of virtwire (%s), this is %s", h->version, VW_VERSION);
	*ret = h;
	return NULL;
}

const void *vw_module_load(const char *file, const char *symbol, GError **error)
{
	Loaded *l = slot(file);

	if (!l->table && !l->failure)
		l->failure = try_load(file, symbol, &l->table);
	if (l->table)
		return l->table;
	g_set_error(error, VW_ERROR, VW_ERROR_FAILED, "cannot load virtwire's module %s: %s (reinstall virtwire)", file,
		    l->failure);
	return NULL;
}
