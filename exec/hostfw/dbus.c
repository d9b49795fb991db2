/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A minimal D-Bus client, enough for firewalld's API (firewalld.c): the
 * system bus over its unix socket, SASL EXTERNAL, method calls whose
 * arguments are strings and whose replies are of signature b, s or as.
 * Written for virtwire rather than taken from GIO: GIO's static archive
 * brings libmount, libblkid, libselinux and PCRE2 as shared libraries into
 * the start-up of every hook call (half a millisecond of a typical hook's
 * five here), for a few calls that only hosts running firewalld make.
 *
 * The wire format is the D-Bus specification's: a 16-byte fixed header
 * (byte order, type, flags, version, body length, serial), an array of
 * header fields (code, variant), padding to 8, the body; every value
 * aligned to its size from the message's start. virtwire sends in its own
 * byte order and reads either.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "dbus-private.h"

#define FIELD_PATH 1
#define FIELD_INTERFACE 2
#define FIELD_MEMBER 3
#define FIELD_ERROR_NAME 4
#define FIELD_REPLY_SERIAL 5
#define FIELD_DESTINATION 6
#define FIELD_SIGNATURE 8

#define BUS_NAME "org.freedesktop.DBus"
#define BUS_PATH "/org/freedesktop/DBus"

struct VwDbus {
	int fd;
	guint32 serial;
	int timeout_ms;
	gint64 deadline; /* of the exchange under way (monotonic µs) */
};

/* ---------------------------------------------------------------------- */
/* Writing */

static void put_pad(GByteArray *b, guint align)
{
	static const guint8 zero[8];

	g_byte_array_append(b, zero, (align - b->len % align) % align);
}

static void put_u8(GByteArray *b, guint8 v)
{
	g_byte_array_append(b, &v, 1);
}

static void put_u32(GByteArray *b, guint32 v)
{
	put_pad(b, 4);
	g_byte_array_append(b, (const guint8 *)&v, 4);
}

/* A string or object path (@sig false: 32-bit length), or a signature
 * (8-bit length), each with its NUL. */
static void put_str(GByteArray *b, const char *s, bool sig)
{
	size_t n = strlen(s);

	if (sig)
		put_u8(b, (guint8)n);
	else
		put_u32(b, (guint32)n);
	g_byte_array_append(b, (const guint8 *)s, (guint)n + 1);
}

/* A header field: (code, variant of type @type holding @value). */
static void put_field(GByteArray *b, guint8 code, char type, const char *value)
{
	const char sig[2] = { type, 0 };

	put_pad(b, 8);
	put_u8(b, code);
	put_str(b, sig, true);
	put_str(b, value, type == 'g');
}

static void patch_u32(GByteArray *b, guint at, guint32 v)
{
	memcpy(b->data + at, &v, 4);
}

GByteArray *vw_dbus_build_call(guint32 serial, guint8 flags, const char *dest, const char *path, const char *iface,
			       const char *member, const char *const *args)
{
	GByteArray *b = g_byte_array_new();
	guint nargs = args ? g_strv_length((char **)args) : 0;
	guint body;

	put_u8(b, G_BYTE_ORDER == G_LITTLE_ENDIAN ? 'l' : 'B');
	put_u8(b, VW_DBUS_METHOD_CALL);
	put_u8(b, flags);
	put_u8(b, 1);
	put_u32(b, 0); /* body length, below */
	put_u32(b, serial);
	put_u32(b, 0); /* header fields' length, below */
	put_field(b, FIELD_PATH, 'o', path);
	put_field(b, FIELD_INTERFACE, 's', iface);
	put_field(b, FIELD_DESTINATION, 's', dest);
	if (nargs) {
		g_autofree char *sig = g_strnfill(nargs, 's');

		put_field(b, FIELD_SIGNATURE, 'g', sig);
	}
	put_field(b, FIELD_MEMBER, 's', member);
	patch_u32(b, 12, b->len - 16);
	put_pad(b, 8);
	body = b->len;
	for (guint i = 0; i < nargs; i++)
		put_str(b, args[i], false);
	patch_u32(b, 4, b->len - body);
	return b;
}

/* ---------------------------------------------------------------------- */
/* Reading */

typedef struct {
	const guint8 *p;
	gsize len, pos;
	bool swap;
} Rd;

static bool get_align(Rd *r, gsize align)
{
	gsize at = (r->pos + align - 1) / align * align;

	if (at > r->len)
		return false;
	r->pos = at;
	return true;
}

static bool get_u8(Rd *r, guint8 *v)
{
	if (r->pos >= r->len)
		return false;
	*v = r->p[r->pos++];
	return true;
}

static bool get_u32(Rd *r, guint32 *v)
{
	if (!get_align(r, 4) || r->len - r->pos < 4)
		return false;
	memcpy(v, r->p + r->pos, 4);
	if (r->swap)
		*v = GUINT32_SWAP_LE_BE(*v);
	r->pos += 4;
	return true;
}

/* A string, object path or (@sig) signature: NUL-terminated, none inside,
 * UTF-8. Points into the message. */
static bool get_str(Rd *r, const char **s, bool sig)
{
	guint8 n8;
	guint32 n;

	if (sig ? !get_u8(r, &n8) : !get_u32(r, &n))
		return false;
	if (sig)
		n = n8;
	if (r->len - r->pos < (gsize)n + 1 || r->p[r->pos + n] || memchr(r->p + r->pos, 0, n) ||
	    !g_utf8_validate((const char *)r->p + r->pos, n, NULL))
		return false;
	*s = (const char *)r->p + r->pos;
	r->pos += n + 1;
	return true;
}

gsize vw_dbus_message_size(const guint8 *head)
{
	Rd r = { head, 16, 4, head[0] != (G_BYTE_ORDER == G_LITTLE_ENDIAN ? 'l' : 'B') };
	guint32 body, fields;
	gsize size;

	if ((head[0] != 'l' && head[0] != 'B') || head[3] != 1 || !get_u32(&r, &body) ||
	    (r.pos = 12, !get_u32(&r, &fields)))
		return 0;
	size = (16 + (gsize)fields + 7) / 8 * 8 + body;
	return size <= VW_DBUS_MAX_MESSAGE ? size : 0;
}

/* One header field into @m; those virtwire does not read are passed over
 * (their values are of the basic types the specification gives them). */
static bool get_field(Rd *r, VwDbusMsg *m)
{
	const char *sig, *s;
	guint8 code;
	guint32 u;

	if (!get_align(r, 8) || !get_u8(r, &code) || !get_str(r, &sig, true) || strlen(sig) != 1)
		return false;
	switch (sig[0]) {
	case 'u':
		if (!get_u32(r, &u))
			return false;
		if (code == FIELD_REPLY_SERIAL)
			m->reply_serial = u;
		return true;
	case 's':
	case 'o':
	case 'g':
		if (!get_str(r, &s, sig[0] == 'g'))
			return false;
		/* A field given twice: the last counts. */
		if (code == FIELD_ERROR_NAME || code == FIELD_SIGNATURE) {
			char **to = code == FIELD_ERROR_NAME ? &m->error_name : &m->signature;

			g_free(*to);
			*to = g_strdup(s);
		}
		return true;
	default:
		return false;
	}
}

/* An array of strings: its byte length, then the strings. */
static GVariant *get_strv(Rd *r)
{
	GVariantBuilder b;
	const char *s;
	guint32 n;
	gsize end;

	if (!get_u32(r, &n) || n > r->len - r->pos)
		return NULL;
	g_variant_builder_init(&b, G_VARIANT_TYPE("as"));
	for (end = r->pos + n; r->pos < end && get_str(r, &s, false);)
		g_variant_builder_add(&b, "s", s);
	if (r->pos != end) {
		g_variant_builder_clear(&b);
		return NULL;
	}
	return g_variant_new("(as)", &b);
}

/* The body of signature @sig as a tuple, when it is one virtwire reads
 * (*@ret stays NULL for another). False: it is not what it says. */
static bool get_body(Rd *r, const char *sig, GVariant **ret)
{
	const char *s;
	guint32 v;

	*ret = NULL;
	if (strcmp(sig, "b") == 0) {
		if (!get_u32(r, &v) || v > 1)
			return false;
		*ret = g_variant_new("(b)", v == 1);
	} else if (strcmp(sig, "s") == 0) {
		if (!get_str(r, &s, false))
			return false;
		*ret = g_variant_new("(s)", s);
	} else if (strcmp(sig, "as") == 0) {
		if (!(*ret = get_strv(r)))
			return false;
	} else if (strcmp(sig, "") == 0) {
		*ret = g_variant_new("()");
	} else {
		return true;
	}
	g_variant_ref_sink(*ret);
	return true;
}

void vw_dbus_msg_clear(VwDbusMsg *m)
{
	g_clear_pointer(&m->error_name, g_free);
	g_clear_pointer(&m->signature, g_free);
	g_clear_pointer(&m->body, g_variant_unref);
}

bool vw_dbus_parse(const guint8 *data, gsize len, VwDbusMsg *ret, GError **error)
{
	Rd r = { data, len, 16, false };
	guint32 fields;
	gsize end;
	Rd body;

	memset(ret, 0, sizeof(*ret));
	if (len < 16 || vw_dbus_message_size(data) != len)
		goto bad;
	r.swap = data[0] != (G_BYTE_ORDER == G_LITTLE_ENDIAN ? 'l' : 'B');
	ret->type = data[1];
	r.pos = 8;
	if (!get_u32(&r, &ret->serial) || !get_u32(&r, &fields) || fields > len - 16)
		goto bad;
	for (end = 16 + fields; r.pos < end;)
		if (!get_field(&r, ret))
			goto bad;
	if (r.pos != end || !get_align(&r, 8))
		goto bad;
	if (!ret->signature)
		ret->signature = g_strdup("");
	body = (Rd){ data + r.pos, len - r.pos, 0, r.swap };
	if (get_body(&body, ret->signature, &ret->body))
		return true;
bad:
	vw_dbus_msg_clear(ret);
	g_set_error(error, VW_ERROR, VW_ERROR_FAILED, "a malformed D-Bus message");
	return false;
}

/* ---------------------------------------------------------------------- */
/* The connection */

static int remaining_ms(const VwDbus *bus)
{
	gint64 left = bus->deadline - g_get_monotonic_time();

	return left > 0 ? (int)((left + 999) / 1000) : 0;
}

/* Waits until @fd is ready for @events, within the exchange's deadline. */
static bool wait_for(VwDbus *bus, short events, GError **error)
{
	struct pollfd p = { bus->fd, events, 0 };
	int n;

	do
		n = poll(&p, 1, remaining_ms(bus));
	while (n < 0 && errno == EINTR);
	if (n > 0)
		return true;
	if (n == 0)
		g_set_error(error, VW_ERROR, VW_ERROR_FAILED, "the system bus did not answer within %d ms",
			    bus->timeout_ms);
	else
		vw_set_errno(error, -errno, NULL, "waiting for the system bus failed");
	return false;
}

static bool send_all(VwDbus *bus, const void *data, gsize len, GError **error)
{
	const guint8 *p = data;

	while (len) {
		ssize_t n;

		if (!wait_for(bus, POLLOUT, error))
			return false;
		n = send(bus->fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return vw_set_errno(error, -errno, NULL, "writing to the system bus failed");
		p += n;
		len -= (gsize)n;
	}
	return true;
}

static bool recv_all(VwDbus *bus, void *data, gsize len, GError **error)
{
	guint8 *p = data;

	while (len) {
		ssize_t n;

		if (!wait_for(bus, POLLIN, error))
			return false;
		n = recv(bus->fd, p, len, MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0) {
			if (n == 0)
				g_set_error(error, VW_ERROR, VW_ERROR_FAILED, "the system bus closed the connection");
			else
				vw_set_errno(error, -errno, NULL, "reading from the system bus failed");
			return false;
		}
		p += n;
		len -= (gsize)n;
	}
	return true;
}

/* The next message from the bus. */
static bool recv_msg(VwDbus *bus, VwDbusMsg *m, GError **error)
{
	guint8 head[16];
	g_autofree guint8 *all = NULL;
	gsize size;

	if (!recv_all(bus, head, sizeof(head), error))
		return false;
	if (!(size = vw_dbus_message_size(head))) {
		g_set_error(error, VW_ERROR, VW_ERROR_FAILED, "the system bus sent a message virtwire cannot read");
		return false;
	}
	all = g_malloc(size);
	memcpy(all, head, sizeof(head));
	return recv_all(bus, all + sizeof(head), size - sizeof(head), error) && vw_dbus_parse(all, size, m, error);
}

/* The reply to call @serial: the messages before it (the bus' signals)
 * are passed over. */
static GVariant *await_reply(VwDbus *bus, guint32 serial, const char *member, const char *reply, GError **error)
{
	for (;;) {
		g_auto(VwDbusMsg) m = { 0 };
		const char *text;

		if (!recv_msg(bus, &m, error))
			return NULL;
		if ((m.type != VW_DBUS_METHOD_RETURN && m.type != VW_DBUS_ERROR) || m.reply_serial != serial)
			continue;
		if (m.type == VW_DBUS_ERROR) {
			/* Its text, as firewalld words it ("UNKNOWN_INTERFACE: …"). */
			if (!m.body || !g_variant_is_of_type(m.body, G_VARIANT_TYPE("(s)")))
				text = m.error_name ? m.error_name : "an error without a name";
			else
				g_variant_get(m.body, "(&s)", &text);
			g_set_error(error, VW_ERROR, VW_ERROR_FAILED, "%s", text);
			return NULL;
		}
		if (reply && (strcmp(m.signature, reply) != 0 || !m.body)) {
			g_set_error(error, VW_ERROR, VW_ERROR_FAILED, "%s answered with (%s), not (%s)", member,
				    m.signature, reply);
			return NULL;
		}
		return m.body ? g_steal_pointer(&m.body) : g_variant_ref_sink(g_variant_new("()"));
	}
}

GVariant *vw_dbus_call(VwDbus *bus, const char *dest, const char *path, const char *iface, const char *member,
		       const char *const *args, const char *reply, GError **error)
{
	guint32 serial = ++bus->serial;
	guint8 flags = strcmp(member, "Hello") == 0 ? 0 : VW_DBUS_NO_AUTO_START;
	g_autoptr(GByteArray) msg = vw_dbus_build_call(serial, flags, dest, path, iface, member, args);

	bus->deadline = g_get_monotonic_time() + (gint64)bus->timeout_ms * 1000;
	if (!send_all(bus, msg->data, msg->len, error))
		return NULL;
	return await_reply(bus, serial, member, reply, error);
}

void vw_dbus_close(VwDbus *bus)
{
	if (!bus)
		return;
	if (bus->fd >= 0)
		close(bus->fd);
	g_free(bus);
}

/* SASL EXTERNAL: the uid (in hex of its decimal digits), then BEGIN. */
static bool authenticate(VwDbus *bus, GError **error)
{
	g_autofree char *uid = g_strdup_printf("%u", (unsigned)getuid());
	GString *auth = g_string_new_len("\0AUTH EXTERNAL ", 15);
	g_autofree char *line = NULL;
	char reply[256];
	gsize n = 0;
	bool ok;

	for (const char *c = uid; *c; c++)
		g_string_append_printf(auth, "%02x", (unsigned)*c);
	g_string_append(auth, "\r\n");
	ok = send_all(bus, auth->str, auth->len, error);
	g_string_free(auth, TRUE);
	/* The line "OK <guid>": the bus sends nothing more before BEGIN. */
	while (ok && (n < 2 || memcmp(reply + n - 2, "\r\n", 2) != 0)) {
		if (n == sizeof(reply) - 1) {
			g_set_error(error, VW_ERROR, VW_ERROR_FAILED, "the system bus' answer is too long");
			return false;
		}
		ok = recv_all(bus, reply + n++, 1, error);
	}
	if (!ok)
		return false;
	reply[n] = '\0';
	if (strncmp(reply, "OK ", 3) != 0) {
		g_set_error(error, VW_ERROR, VW_ERROR_FAILED, "the system bus refused virtwire: %s", g_strchomp(reply));
		return false;
	}
	return send_all(bus, "BEGIN\r\n", 7, error);
}

bool vw_dbus_open(const char *path, int timeout_ms, VwDbus **ret, GError **error)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	g_autoptr(VwDbus) bus = g_new0(VwDbus, 1);
	g_autoptr(GVariant) hello = NULL;

	*ret = NULL;
	bus->timeout_ms = timeout_ms;
	if (strlen(path) >= sizeof(sa.sun_path))
		return g_set_error(error, VW_ERROR, VW_ERROR_INVALID, "%s: too long for a socket", path), false;
	strcpy(sa.sun_path, path);
	bus->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (bus->fd < 0)
		return vw_set_errno(error, -errno, NULL, "cannot make a socket for the system bus");
	if (connect(bus->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (errno == ENOENT || errno == ECONNREFUSED || errno == ENOTDIR)
			return true; /* no bus */
		return vw_set_errno(error, -errno, NULL, "cannot connect to the system bus at %s", path);
	}
	bus->deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
	if (!authenticate(bus, error) ||
	    !(hello = vw_dbus_call(bus, BUS_NAME, BUS_PATH, BUS_NAME, "Hello", NULL, "s", error)))
		return false;
	*ret = g_steal_pointer(&bus);
	return true;
}
