/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * firewalld's functions of exec.h in the executable of the default build:
 * each call goes to the module virtwire-firewalld.so, loaded by the first
 * connection to firewalld (a host whose system bus is there). Without the
 * module firewalld cannot be reached: an error that names the module.
 */
#include "module.h"

static const VwFirewalldModule *fwd(GError **error)
{
	return vw_module_load(VW_FIREWALLD_MODULE_FILE, VW_FIREWALLD_MODULE_SYMBOL, error);
}

bool vw_firewalld_open(VwFirewalld **ret, GError **error)
{
	const VwFirewalldModule *m = fwd(error);

	*ret = NULL;
	return m && m->firewalld_open(ret, error);
}

/* A VwFirewalld exists only where the module was loaded. */
void vw_firewalld_close(VwFirewalld *fw)
{
	if (fw)
		fwd(NULL)->firewalld_close(fw);
}

bool vw_firewalld_has_zone(VwFirewalld *fw, const char *zone, bool *ret, GError **error)
{
	return fwd(NULL)->firewalld_has_zone(fw, zone, ret, error);
}

bool vw_firewalld_default_zone(VwFirewalld *fw, char **ret, GError **error)
{
	return fwd(NULL)->firewalld_default_zone(fw, ret, error);
}

bool vw_firewalld_zone_of(VwFirewalld *fw, const char *iface, char **ret, GError **error)
{
	return fwd(NULL)->firewalld_zone_of(fw, iface, ret, error);
}

bool vw_firewalld_bind(VwFirewalld *fw, const char *zone, const char *iface, VwFirewalldBind *ret, GError **error)
{
	return fwd(NULL)->firewalld_bind(fw, zone, iface, ret, error);
}

bool vw_firewalld_unbind(VwFirewalld *fw, const char *zone, const char *iface, bool *removed, GError **error)
{
	return fwd(NULL)->firewalld_unbind(fw, zone, iface, removed, error);
}
