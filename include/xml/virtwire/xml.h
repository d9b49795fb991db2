/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libvirt XML in, model out. The only interface to libxml2: no libxml2 type
 * crosses this header.
 */
#pragma once

#include <stddef.h>

#include <virtwire/model.h>

#define VW_SCHEMA_DIR_DEFAULT "/usr/share/libvirt/schemas"

/*
 * What one document may hold (docs/metadata.md, "Limits"), besides its size
 * (VW_MAX_FILE_SIZE) and the counts of model.h. Each bounds what libxml2
 * builds or how long it works, whatever the input:
 */
/* Elements, attributes, namespace declarations, pieces of text, comments,
 * processing instructions and CDATA sections together: the tree libxml2
 * builds (some 250 bytes each at most). 262,144 forwards of 7 attributes,
 * one to a line, need 2.4M. */
#define VW_MAX_NODES (4u << 20)
/* Attributes (and xmlns declarations) of one element: libxml2 checks them
 * for duplicates in time quadratic in their number. */
#define VW_MAX_ATTRIBUTES 256
/* Element children of one element outside <metadata>, and elements outside
 * <metadata> in all, that libvirt's schema is checked on: libxml2's RelaxNG
 * takes time superlinear in a run of siblings. Only a <dhcp> holds many
 * (65,536 hosts and 256 ranges at most), and libvirt allows <dhcp> in one
 * IPv4 and one IPv6 <ip>. */
#define VW_MAX_SCHEMA_SIBLINGS 4096u
#define VW_MAX_SCHEMA_DHCP (VW_MAX_DHCP_HOSTS + VW_MAX_DHCP_RANGES + 64u)
#define VW_MAX_SCHEMA_ELEMENTS (2u * VW_MAX_SCHEMA_DHCP + 16u * VW_MAX_SCHEMA_SIBLINGS)

/* libvirt's RelaxNG schemas, each parsed on first use. */
typedef struct VwSchemas VwSchemas;

/* @dir: the folder holding network.rng, domain.rng and networkport.rng.
 * Never fails: a missing schema is reported once, as a warning, when it is
 * first needed, and validation against it is skipped. */
VwSchemas *vw_schemas_new(const char *dir);
void vw_schemas_free(VwSchemas *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VwSchemas, vw_schemas_free)

typedef enum {
	VW_LOAD_OK,	    /* parsed; findings (if any) are in the diagnostics */
	VW_LOAD_UNREADABLE, /* the file could not be read */
	VW_LOAD_MALFORMED,  /* not well-formed XML, or not a libvirt document */
} VwLoadStatus;

/* Parses one document from a file or from memory (@name is what diagnostics
 * call it, e.g. "<stdin>"). With @schemas, also validates it against
 * libvirt's schema. Findings go to @diags; the document is returned in @ret
 * only with VW_LOAD_OK. */
VwLoadStatus vw_doc_load_file(const char *path, VwSchemas *schemas, VwDiags *diags, VwDoc **ret);
VwLoadStatus vw_doc_load_memory(const char *name, const char *buf, size_t len, VwSchemas *schemas, VwDiags *diags,
				VwDoc **ret);
/* The same for a document as libvirt hands it to a hook: the lines of
 * findings and of the model's objects are those of what the operator sees
 * with `virsh net-dumpxml` (counted from the <network> inside <hookData>)
 * or `virsh dumpxml` (a <domain>, as it is); 0 for what lies outside. */
VwLoadStatus vw_doc_load_libvirt(const char *name, const char *buf, size_t len, VwSchemas *schemas, VwDiags *diags,
				 VwDoc **ret);

/* The libvirt schema file name for a document kind ("network.rng" ...). */
const char *vw_schema_file_for(VwDocKind kind);
