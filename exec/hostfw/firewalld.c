/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * firewalld over its D-Bus API (org.fedoraproject.FirewallD1 on the system
 * bus, through libsystemd's sd-bus): virtwire binds its bridges to zones at
 * runtime and unbinds them, as libvirt does with its own zone. Nothing is
 * asked of a firewalld that is not running: no bus, or nobody owning
 * firewalld's name, is "no firewalld", never an error, and never an
 * activation (every call goes without auto-start). Every step has a timeout
 * — the connection's authentication and Hello as each call — so a stuck bus
 * or firewalld costs a hook a few seconds, not its life.
 */
#include <errno.h>
#include <string.h>

#include <systemd/sd-bus.h>

#include <virtwire/exec.h>

#define FWD_NAME "org.fedoraproject.FirewallD1"
#define FWD_PATH "/org/fedoraproject/FirewallD1"
#define FWD_ZONE FWD_NAME ".zone"
#define CALL_TIMEOUT_USEC (5 * G_USEC_PER_SEC)

struct VwFirewalld {
	sd_bus *bus;
};

/* Closed without a flush: every call waited for its reply, and a flush
 * would wait, unbounded, for a bus that never answered. */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(sd_bus, sd_bus_close_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(sd_bus_message, sd_bus_message_unref)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(sd_bus_error, sd_bus_error_free)

void vw_firewalld_close(VwFirewalld *fw)
{
	if (!fw)
		return;
	sd_bus_close_unref(fw->bus);
	g_free(fw);
}

/* What went wrong, in words: the D-Bus error's text (firewalld's own, as
 * "UNKNOWN_INTERFACE: …"), its name, or errno's. */
static const char *why(const sd_bus_error *e, int r)
{
	if (e && sd_bus_error_is_set(e))
		return e->message && *e->message ? e->message : e->name;
	return g_strerror(-r);
}

/* Until the bus has authenticated us and answered Hello, at most
 * CALL_TIMEOUT_USEC: sd_bus_call would wait for that up to sd-bus' own
 * authentication timeout. */
static int wait_ready(sd_bus *bus)
{
	gint64 deadline = g_get_monotonic_time() + CALL_TIMEOUT_USEC;
	int r;

	while ((r = sd_bus_is_ready(bus)) == 0) {
		gint64 left = deadline - g_get_monotonic_time();

		r = sd_bus_process(bus, NULL);
		if (r < 0)
			return r;
		if (r > 0)
			continue;
		if (left <= 0)
			return -ETIMEDOUT;
		r = sd_bus_wait(bus, (uint64_t)left);
		if (r < 0)
			return r;
	}
	return r < 0 ? r : 0;
}

/* Calls @iface.@member of @dest at @path with the string arguments @args
 * (NULL-terminated, may be NULL), never activating @dest; the reply into
 * *@ret. On failure, @error says @what failed and why. */
static bool call_at(sd_bus *bus, const char *dest, const char *path, const char *iface, const char *member,
		    const char *const *args, sd_bus_message **ret, const char *what, GError **error)
{
	g_autoptr(sd_bus_message) m = NULL;
	g_auto(sd_bus_error) e = SD_BUS_ERROR_NULL;
	int r;

	r = sd_bus_message_new_method_call(bus, &m, dest, path, iface, member);
	if (r >= 0)
		r = sd_bus_message_set_auto_start(m, 0);
	for (const char *const *a = args; r >= 0 && a && *a; a++)
		r = sd_bus_message_append_basic(m, 's', *a);
	if (r >= 0)
		r = sd_bus_call(bus, m, CALL_TIMEOUT_USEC, &e, ret);
	if (r < 0) {
		g_set_error(error, VW_ERROR, VW_ERROR_FAILED, "firewalld: %s: %s", what, why(&e, r));
		return false;
	}
	return true;
}

/* The one value of type @type ('s', or 'b' into an int) of @reply into
 * @ret. */
static bool read_one(sd_bus_message *reply, char type, void *ret, const char *what, GError **error)
{
	int r = sd_bus_message_read_basic(reply, type, ret);

	if (r <= 0) {
		g_set_error(error, VW_ERROR, VW_ERROR_FAILED, "firewalld: %s: unexpected reply (%s)", what,
			    r < 0 ? g_strerror(-r) : "empty");
		return false;
	}
	return true;
}

/* Whether firewalld's name has an owner on @bus. */
static bool firewalld_runs(sd_bus *bus, bool *ret, GError **error)
{
	static const char *const name[] = { FWD_NAME, NULL };
	g_autoptr(sd_bus_message) reply = NULL;
	const char *what = "cannot ask the system bus whether firewalld runs";
	int has = 0;

	if (!call_at(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "NameHasOwner", name,
		     &reply, what, error) ||
	    !read_one(reply, 'b', &has, what, error))
		return false;
	*ret = has;
	return true;
}

bool vw_firewalld_open(VwFirewalld **ret, GError **error)
{
	g_autoptr(sd_bus) bus = NULL;
	bool has = false;
	int r;

	*ret = NULL;
	/* libvirt's hooks have no DBUS_SYSTEM_BUS_ADDRESS: D-Bus' default
	 * socket. Nothing listening there (a host without D-Bus, a bare
	 * namespace) is no firewalld. */
	r = sd_bus_open_system(&bus);
	if (r == -ENOENT || r == -ECONNREFUSED || r == -ENOTDIR)
		return true;
	if (r >= 0)
		r = sd_bus_set_method_call_timeout(bus, CALL_TIMEOUT_USEC);
	if (r >= 0)
		r = wait_ready(bus);
	if (r < 0) {
		g_set_error(error, VW_ERROR, VW_ERROR_FAILED, "firewalld: cannot reach the system bus: %s",
			    g_strerror(-r));
		return false;
	}
	if (!firewalld_runs(bus, &has, error))
		return false;
	if (!has)
		return true;
	*ret = g_new0(VwFirewalld, 1);
	(*ret)->bus = g_steal_pointer(&bus);
	return true;
}

/* firewalld's @iface.@member, whose reply is a string: copied into *@ret. */
static bool call_string(VwFirewalld *fw, const char *iface, const char *member, const char *const *args, char **ret,
			const char *what, GError **error)
{
	g_autoptr(sd_bus_message) reply = NULL;
	const char *s = NULL;

	*ret = NULL;
	if (!call_at(fw->bus, FWD_NAME, FWD_PATH, iface, member, args, &reply, what, error) ||
	    !read_one(reply, 's', &s, what, error))
		return false;
	*ret = g_strdup(s);
	return true;
}

bool vw_firewalld_default_zone(VwFirewalld *fw, char **ret, GError **error)
{
	return call_string(fw, FWD_NAME, "getDefaultZone", NULL, ret, "cannot ask for its default zone", error);
}

bool vw_firewalld_has_zone(VwFirewalld *fw, const char *zone, bool *ret, GError **error)
{
	g_autoptr(sd_bus_message) reply = NULL;
	g_auto(GStrv) names = NULL;
	const char *what = "cannot list its zones";
	int r;

	*ret = false;
	if (!call_at(fw->bus, FWD_NAME, FWD_PATH, FWD_ZONE, "getZones", NULL, &reply, what, error))
		return false;
	r = sd_bus_message_read_strv(reply, &names);
	if (r < 0) {
		g_set_error(error, VW_ERROR, VW_ERROR_FAILED, "firewalld: %s: unexpected reply (%s)", what,
			    g_strerror(-r));
		return false;
	}
	*ret = names && g_strv_contains((const char *const *)names, zone);
	return true;
}

bool vw_firewalld_zone_of(VwFirewalld *fw, const char *iface, char **ret, GError **error)
{
	g_autofree char *what = g_strdup_printf("cannot ask for the zone of %s", iface);
	const char *const args[] = { iface, NULL };

	return call_string(fw, FWD_ZONE, "getZoneOfInterface", args, ret, what, error);
}

/* addInterface or removeInterface of @iface in @zone (firewalld answers
 * with the zone). */
static bool zone_call(VwFirewalld *fw, const char *method, const char *zone, const char *iface, GError **error)
{
	g_autofree char *what = g_strdup_printf("%s %s (zone %s)", method, iface, zone);
	const char *const args[] = { zone, iface, NULL };
	g_autoptr(sd_bus_message) reply = NULL;

	return call_at(fw->bus, FWD_NAME, FWD_PATH, FWD_ZONE, method, args, &reply, what, error);
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
