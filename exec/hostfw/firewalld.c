/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * firewalld over its D-Bus API (org.fedoraproject.FirewallD1 on the system
 * bus), with GDBus: virtwire binds its bridges to its zone at runtime and
 * unbinds them, as libvirt does with its own zone. Nothing is asked of a
 * firewalld that is not running: no bus, or nobody owning firewalld's name,
 * is "no firewalld", never an error, and never an activation. Every call
 * has a timeout, so a stuck firewalld costs a hook a few seconds, not its
 * life.
 */
#include <string.h>

#include <gio/gio.h>

#include <virtwire/exec.h>

#define FWD_NAME "org.fedoraproject.FirewallD1"
#define FWD_PATH "/org/fedoraproject/FirewallD1"
#define FWD_ZONE FWD_NAME ".zone"
#define CALL_TIMEOUT_MS 5000

struct VwFirewalld {
	GDBusConnection *bus;
};

void vw_firewalld_close(VwFirewalld *fw)
{
	if (!fw)
		return;
	g_clear_object(&fw->bus);
	g_free(fw);
}

/* One call to @dest; the reply's body, or NULL with @error. */
static GVariant *call(GDBusConnection *bus, const char *dest, const char *path, const char *iface, const char *method,
		      GVariant *args, const GVariantType *reply, GError **error)
{
	return g_dbus_connection_call_sync(bus, dest, path, iface, method, args, reply, G_DBUS_CALL_FLAGS_NO_AUTO_START,
					   CALL_TIMEOUT_MS, NULL, error);
}

/* firewalld's exception text ("UNKNOWN_INTERFACE: …") without GDBus' prefix. */
static void fail(GError **error, GError *err, const char *what)
{
	g_dbus_error_strip_remote_error(err);
	g_set_error(error, VW_ERROR, VW_ERROR_FAILED, "firewalld: %s: %s", what, err->message);
}

/* Whether the system bus' address is a socket that is not there: then no
 * connection is tried at all (nor GDBus set up for it). */
static bool bus_absent(void)
{
	static const char unix_path[] = "unix:path=";
	g_autofree char *addr = g_dbus_address_get_for_bus_sync(G_BUS_TYPE_SYSTEM, NULL, NULL);
	g_autofree char *path = NULL;

	if (!addr || !g_str_has_prefix(addr, unix_path))
		return false;
	path = g_strndup(addr + strlen(unix_path), strcspn(addr + strlen(unix_path), ",;"));
	return !g_file_test(path, G_FILE_TEST_EXISTS);
}

bool vw_firewalld_open(VwFirewalld **ret, GError **error)
{
	g_autoptr(GError) err = NULL;
	g_autoptr(GDBusConnection) bus = NULL;
	g_autoptr(GVariant) owned = NULL;
	gboolean has = FALSE;

	*ret = NULL;
	/* No system bus at all (a host without D-Bus, a bare namespace). */
	if (bus_absent())
		return true;
	bus = g_bus_get_sync(G_BUS_TYPE_SYSTEM, NULL, &err);
	if (!bus)
		return true;
	owned = call(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "NameHasOwner",
		     g_variant_new("(s)", FWD_NAME), G_VARIANT_TYPE("(b)"), &err);
	if (!owned) {
		fail(error, err, "cannot ask the system bus whether firewalld runs");
		return false;
	}
	g_variant_get(owned, "(b)", &has);
	if (!has)
		return true;
	*ret = g_new0(VwFirewalld, 1);
	(*ret)->bus = g_steal_pointer(&bus);
	return true;
}

bool vw_firewalld_has_zone(VwFirewalld *fw, const char *zone, bool *ret, GError **error)
{
	g_autoptr(GError) err = NULL;
	g_autoptr(GVariant)
		zones = call(fw->bus, FWD_NAME, FWD_PATH, FWD_ZONE, "getZones", NULL, G_VARIANT_TYPE("(as)"), &err);
	g_autofree const char **names = NULL;

	*ret = false;
	if (!zones) {
		fail(error, err, "cannot list its zones");
		return false;
	}
	g_variant_get(zones, "(^a&s)", &names);
	*ret = g_strv_contains(names, zone);
	return true;
}

bool vw_firewalld_default_zone(VwFirewalld *fw, char **ret, GError **error)
{
	g_autoptr(GError) err = NULL;
	g_autoptr(GVariant)
		zone = call(fw->bus, FWD_NAME, FWD_PATH, FWD_NAME, "getDefaultZone", NULL, G_VARIANT_TYPE("(s)"), &err);

	*ret = NULL;
	if (!zone) {
		fail(error, err, "cannot ask for its default zone");
		return false;
	}
	g_variant_get(zone, "(s)", ret);
	return true;
}

bool vw_firewalld_zone_of(VwFirewalld *fw, const char *iface, char **ret, GError **error)
{
	g_autoptr(GError) err = NULL;
	g_autoptr(GVariant) zone = call(fw->bus, FWD_NAME, FWD_PATH, FWD_ZONE, "getZoneOfInterface",
					g_variant_new("(s)", iface), G_VARIANT_TYPE("(s)"), &err);

	*ret = NULL;
	if (!zone) {
		g_autofree char *what = g_strdup_printf("cannot ask for the zone of %s", iface);

		fail(error, err, what);
		return false;
	}
	g_variant_get(zone, "(s)", ret);
	return true;
}

/* addInterface or removeInterface of @iface in @zone. */
static bool zone_call(VwFirewalld *fw, const char *method, const char *zone, const char *iface, GError **error)
{
	g_autoptr(GError) err = NULL;
	g_autoptr(GVariant)
		r = call(fw->bus, FWD_NAME, FWD_PATH, FWD_ZONE, method, g_variant_new("(ss)", zone, iface), NULL, &err);

	if (!r) {
		g_autofree char *what = g_strdup_printf("%s %s (zone %s)", method, iface, zone);

		fail(error, err, what);
		return false;
	}
	return true;
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
