/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The module virtwire-xml.so: the xml layer and libxml2 behind it. */
#include "module.h"

extern const VwXmlModule vw_xml_module;

const VwXmlModule vw_xml_module = {
	.header = { VW_MODULE_ABI, VW_VERSION, VW_MODULE_SIZES },
	.schemas_new = vw_schemas_new,
	.schemas_free = vw_schemas_free,
	.load_file = vw_doc_load_file,
	.load_memory = vw_doc_load_memory,
	.load_libvirt = vw_doc_load_libvirt,
	.schema_file_for = vw_schema_file_for,
};
