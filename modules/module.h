/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * virtwire's loadable modules (docs/architecture.md, "Modules"): the
 * libraries that only some calls need are loaded by those calls alone.
 * libxml2 (with ICU and libstdc++ behind it) is needed by a call that parses
 * XML, libsystemd (with libgcrypt, zstd, lz4 …) by one that talks to
 * firewalld over D-Bus; `virtwire --version` and a repeated hook that finds
 * nothing to change need neither. In the default build the xml layer is the
 * module virtwire-xml.so and firewalld's client virtwire-firewalld.so; the
 * executable holds stubs with the same interface (xml.h, exec.h) that load
 * the module on first use. A build with
 * static_deps links everything in and has no modules.
 *
 * Each module exports one table of functions and nothing else. The table
 * names the interface's version and a fingerprint of the model's layout:
 * a module of another build is refused, never called.
 */
#pragma once

#include <virtwire/exec.h>
#include <virtwire/xml.h>

#define VW_MODULE_ABI 1

/* What the executable and a module must agree on: the interface's
 * version, virtwire's, and the sizes of the structures that cross between
 * them (a change to one of them changes its size, as a rule). */
#define VW_MODULE_SIZES                                                                                                \
	{                                                                                                              \
		sizeof(VwDoc), sizeof(VwNetwork), sizeof(VwDomain), sizeof(VwForward), sizeof(VwDiags), sizeof(VwDiag) \
	}

typedef struct {
	guint abi;
	const char *version;
	guint32 sizes[6];
} VwModuleHeader;

/* virtwire-xml.so: xml.h. */
typedef struct {
	VwModuleHeader header;
	VwSchemas *(*schemas_new)(const char *dir);
	void (*schemas_free)(VwSchemas *s);
	VwLoadStatus (*load_file)(const char *path, VwSchemas *schemas, VwDiags *diags, VwDoc **ret);
	VwLoadStatus (*load_memory)(const char *name, const char *buf, size_t len, VwSchemas *schemas, VwDiags *diags,
				    VwDoc **ret);
	VwLoadStatus (*load_libvirt)(const char *name, const char *buf, size_t len, VwSchemas *schemas, VwDiags *diags,
				     VwDoc **ret);
	const char *(*schema_file_for)(VwDocKind kind);
} VwXmlModule;

#define VW_XML_MODULE_FILE "virtwire-xml.so"
#define VW_XML_MODULE_SYMBOL "vw_xml_module"

/* virtwire-firewalld.so: firewalld of exec.h. */
typedef struct {
	VwModuleHeader header;
	bool (*firewalld_open)(VwFirewalld **ret, GError **error);
	void (*firewalld_close)(VwFirewalld *fw);
	bool (*firewalld_has_zone)(VwFirewalld *fw, const char *zone, bool *ret, GError **error);
	bool (*firewalld_default_zone)(VwFirewalld *fw, char **ret, GError **error);
	bool (*firewalld_zone_of)(VwFirewalld *fw, const char *iface, char **ret, GError **error);
	bool (*firewalld_bind)(VwFirewalld *fw, const char *zone, const char *iface, VwFirewalldBind *ret,
			       GError **error);
	bool (*firewalld_unbind)(VwFirewalld *fw, const char *zone, const char *iface, bool *removed, GError **error);
} VwFirewalldModule;

#define VW_FIREWALLD_MODULE_FILE "virtwire-firewalld.so"
#define VW_FIREWALLD_MODULE_SYMBOL "vw_firewalld_module"

/* Loads module @file (found by the executable's run path: the build folder,
 * or LIBDIR/virtwire once installed) once per process and returns its table
 * @symbol; NULL with @error (VW_ERROR_FAILED, naming the file and what is wrong)
 * when it cannot be loaded or is not of this build. */
const void *vw_module_load(const char *file, const char *symbol, GError **error);
