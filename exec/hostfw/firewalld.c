/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * firewalld over its D-Bus API (org.fedoraproject.FirewallD1 on the system
 * bus; dbus.c): virtwire binds its bridges to zones at runtime and unbinds
 * them, as libvirt does with its own zone. Nothing is asked of a firewalld
 * that is not running: no bus, or nobody owning firewalld's name, is "no
 * firewalld", never an error, and never an activation. Every call has a
 * timeout, so a stuck firewalld costs a hook a few seconds, not its life.
 */
#include <string.h>

#include "dbus-private.h"

#define FWD_NAME "org.fedoraproject.FirewallD1"
#define FWD_PATH "/org/fedoraproject/FirewallD1"
#define FWD_ZONE FWD_NAME ".zone"
#define CALL_TIMEOUT_MS 5000

struct VwFirewalld {
	VwDbus *bus;
};

void vw_firewalld_close(VwFirewalld *fw)
{
	if (!fw)
		return;
	vw_dbus_close(fw->bus);
	g_free(fw);
}

/* One call of firewalld's @iface.@member with the string arguments @args
 * (NULL-terminated, may be NULL), whose reply has signature @reply; on
 * failure, @error says @what failed and firewalld's words ("UNKNOWN_INTERFACE: …"). */
static GVariant *call(VwDbus *bus, const char *iface, const char *member, const char *const *args, const char *reply,
		      const char *what, GError **error)
{
	g_autoptr(GError) err = NULL;
	GVariant *r = vw_dbus_call(bus, FWD_NAME, FWD_PATH, iface, member, args, reply, &err);

	if (!r)
		g_set_error(error, VW_ERROR, VW_ERROR_FAILED, "firewalld: %s: %s", what, err->message);
	return r;
}

bool vw_firewalld_open(VwFirewalld **ret, GError **error)
{
	g_autoptr(GError) err = NULL;
	g_autoptr(VwDbus) bus = NULL;
	g_autoptr(GVariant) owned = NULL;
	const char *const name[] = { FWD_NAME, NULL };
	gboolean has = FALSE;

	*ret = NULL;
	/* No system bus at all (a host without D-Bus, a bare namespace). */
	if (!vw_dbus_open(VW_DBUS_SYSTEM_SOCKET, CALL_TIMEOUT_MS, &bus, &err)) {
		g_set_error(error, VW_ERROR, VW_ERROR_FAILED, "firewalld: cannot reach the system bus: %s",
			    err->message);
		return false;
	}
	if (!bus)
		return true;
	owned = vw_dbus_call(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
			     "NameHasOwner", name, "b", &err);
	if (!owned) {
		g_set_error(error, VW_ERROR, VW_ERROR_FAILED,
			    "firewalld: cannot ask the system bus whether firewalld runs: %s", err->message);
		return false;
	}
	g_variant_get(owned, "(b)", &has);
	if (!has)
		return true;
	*ret = g_new0(VwFirewalld, 1);
	(*ret)->bus = g_steal_pointer(&bus);
	return true;
}

bool vw_firewalld_default_zone(VwFirewalld *fw, char **ret, GError **error)
{
	g_autoptr(GVariant)
		zone = call(fw->bus, FWD_NAME, "getDefaultZone", NULL, "s", "cannot ask for its default zone", error);

	*ret = NULL;
	if (!zone)
		return false;
	g_variant_get(zone, "(s)", ret);
	return true;
}

bool vw_firewalld_has_zone(VwFirewalld *fw, const char *zone, bool *ret, GError **error)
{
	g_autoptr(GVariant) zones = call(fw->bus, FWD_ZONE, "getZones", NULL, "as", "cannot list its zones", error);
	g_autofree const char **names = NULL;

	*ret = false;
	if (!zones)
		return false;
	g_variant_get(zones, "(^a&s)", &names);
	*ret = g_strv_contains(names, zone);
	return true;
}

bool vw_firewalld_zone_of(VwFirewalld *fw, const char *iface, char **ret, GError **error)
{
	g_autofree char *what = g_strdup_printf("cannot ask for the zone of %s", iface);
	const char *const args[] = { iface, NULL };
	g_autoptr(GVariant) zone = call(fw->bus, FWD_ZONE, "getZoneOfInterface", args, "s", what, error);

	*ret = NULL;
	if (!zone)
		return false;
	g_variant_get(zone, "(s)", ret);
	return true;
}

/* addInterface or removeInterface of @iface in @zone (firewalld answers
 * with the zone). */
static bool zone_call(VwFirewalld *fw, const char *method, const char *zone, const char *iface, GError **error)
{
	g_autofree char *what = g_strdup_printf("%s %s (zone %s)", method, iface, zone);
	const char *const args[] = { zone, iface, NULL };
	g_autoptr(GVariant) r = call(fw->bus, FWD_ZONE, method, args, NULL, what, error);

	return r != NULL;
}

bool vw_firewalld_bind(VwFirewalld *fw, const char *zone, const char *iface, VwFirewalldBind *ret, GError **error)
{
	g_autofree char *now = NULL;

	*ret = VW_FIREWALLD_ALREADY;
	if (!vw_firewalld_zone_of(fw, iface, &now, error))
		return false;
	if (g_strcmp0(now, zone) == 0)
		return true;
	/* Someone put it in a zone of theirs: theirs to decide. */
	if (now && *now) {
		*ret = VW_FIREWALLD_ELSEWHERE;
		return true;
	}
	*ret = VW_FIREWALLD_BOUND;
	return zone_call(fw, "addInterface", zone, iface, error);
}

bool vw_firewalld_unbind(VwFirewalld *fw, const char *zone, const char *iface, bool *removed, GError **error)
{
	g_autofree char *now = NULL;

	*removed = false;
	if (!vw_firewalld_zone_of(fw, iface, &now, error))
		return false;
	if (g_strcmp0(now, zone) != 0)
		return true;
	*removed = true;
	return zone_call(fw, "removeInterface", zone, iface, error);
}
