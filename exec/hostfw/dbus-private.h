/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The D-Bus client of exec/hostfw (dbus.c): what firewalld.c uses, and the
 * message codec, exported for the tests. */
#pragma once

#include <virtwire/exec.h>

/* The system bus' socket (D-Bus' default address, as libvirtd's hooks have
 * no DBUS_SYSTEM_BUS_ADDRESS). */
#define VW_DBUS_SYSTEM_SOCKET "/var/run/dbus/system_bus_socket"

/* Message types and the one flag virtwire sets (the D-Bus specification). */
#define VW_DBUS_METHOD_CALL 1
#define VW_DBUS_METHOD_RETURN 2
#define VW_DBUS_ERROR 3
#define VW_DBUS_SIGNAL 4
#define VW_DBUS_NO_AUTO_START 0x2

/* Messages larger than this are refused (firewalld's replies are small). */
#define VW_DBUS_MAX_MESSAGE (1u << 20)

typedef struct VwDbus VwDbus;

/* Connects to the bus at socket @path, authenticates (EXTERNAL: the
 * process' uid) and says Hello, each step within @timeout_ms. *@ret is
 * NULL, and the call succeeds, when nothing listens there (no socket, or
 * it refuses): no bus. */
bool vw_dbus_open(const char *path, int timeout_ms, VwDbus **ret, GError **error);
void vw_dbus_close(VwDbus *bus);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VwDbus, vw_dbus_close)

/* Calls @iface.@member of @dest at object @path with the strings @args
 * (NULL-terminated, may be NULL), never activating @dest, and waits (the
 * bus' timeout) for its reply, which must have signature @reply ("", "b",
 * "s" or "as"; NULL: any). The reply's body as a tuple ("()", "(b)",
 * "(s)", "(as)"; "()" for another with @reply NULL); NULL with @error: a
 * D-Bus error (its text), a reply of another signature, or the bus gone. */
GVariant *vw_dbus_call(VwDbus *bus, const char *dest, const char *path, const char *iface, const char *member,
		       const char *const *args, const char *reply, GError **error);

/* The bytes of a method call with @serial and @flags, in this machine's
 * byte order: header fields path, interface, destination, signature (with
 * arguments) and member, as GDBus orders them. */
GByteArray *vw_dbus_build_call(guint32 serial, guint8 flags, const char *dest, const char *path, const char *iface,
			       const char *member, const char *const *args);

/* One received message, as far as a client needs it. */
typedef struct {
	guint8 type;
	guint32 serial, reply_serial;
	char *error_name; /* errors: the D-Bus error's name */
	char *signature;  /* of the body ("" when none) */
	GVariant *body;	  /* a tuple of the body's values; NULL when its signature is not one virtwire reads */
} VwDbusMsg;

void vw_dbus_msg_clear(VwDbusMsg *m);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(VwDbusMsg, vw_dbus_msg_clear)

/* The size of the message whose first 16 bytes are @head (0: not a D-Bus
 * message, or larger than VW_DBUS_MAX_MESSAGE). */
gsize vw_dbus_message_size(const guint8 *head);
/* Parses the whole message @data (of vw_dbus_message_size() bytes), of
 * either byte order. */
bool vw_dbus_parse(const guint8 *data, gsize len, VwDbusMsg *ret, GError **error);
