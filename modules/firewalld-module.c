/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The module virtwire-firewalld.so: firewalld over D-Bus, and libsystemd's
 * sd-bus behind it. */
#include "module.h"

extern const VwFirewalldModule vw_firewalld_module;

const VwFirewalldModule vw_firewalld_module = {
	.header = { VW_MODULE_ABI, VW_VERSION, VW_MODULE_SIZES },
	.firewalld_open = vw_firewalld_open,
	.firewalld_close = vw_firewalld_close,
	.firewalld_has_zone = vw_firewalld_has_zone,
	.firewalld_default_zone = vw_firewalld_default_zone,
	.firewalld_zone_of = vw_firewalld_zone_of,
	.firewalld_bind = vw_firewalld_bind,
	.firewalld_unbind = vw_firewalld_unbind,
};
