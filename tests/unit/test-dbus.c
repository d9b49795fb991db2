/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The D-Bus client of exec/hostfw (dbus.c): its messages against the bytes
 * GDBus and dbus-daemon put on the wire (captured with strace), messages
 * it must refuse, and whole exchanges with a fake bus on a socket of the
 * test's own: authentication, a signal before the reply, errors, a reply
 * of the wrong type, no bus, a bus that does not answer.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "dbus-private.h"

static GBytes *hex(const char *h)
{
	GByteArray *b = g_byte_array_new();

	for (; h[0] && h[1]; h += 2) {
		guint8 v = (guint8)(g_ascii_xdigit_value(h[0]) << 4 | g_ascii_xdigit_value(h[1]));

		g_byte_array_append(b, &v, 1);
	}
	return g_byte_array_free_to_bytes(b);
}

/* GDBus' Hello (serial 1) and NameHasOwner("org.fedoraproject.FirewallD1")
 * (serial 2, NO_AUTO_START), and dbus-daemon's answers: the reply to
 * Hello, the NameAcquired signal, the reply to NameHasOwner (false). */
#define HELLO                                                                                                          \
	"6c01000100000000010000006e00000001016f00150000002f6f72672f667265656465736b746f702f44427573000000020173001400" \
	"00006f72672e667265656465736b746f702e444275730000000006017300140000006f72672e667265656465736b746f702e44427573" \
	"00000000030173000500000048656c6c6f000000"
#define HAS_OWNER                                                                                                      \
	"6c01020121000000020000007d00000001016f00150000002f6f72672f667265656465736b746f702f44427573000000020173001400" \
	"00006f72672e667265656465736b746f702e444275730000000006017300140000006f72672e667265656465736b746f702e44427573" \
	"000000000801670001730000030173000c0000004e616d654861734f776e6572000000001c0000006f72672e6665646f726170726f6a" \
	"6563742e4669726577616c6c443100"
#define HELLO_REPLY                                                                                                    \
	"6c02010109000000010000003d00000006017300040000003a312e300000000005017500010000000801670001730000070173001400" \
	"00006f72672e667265656465736b746f702e4442757300000000040000003a312e3000"
#define NAME_ACQUIRED                                                                                                  \
	"6c04010109000000020000008d00000001016f00150000002f6f72672f667265656465736b746f702f44427573000000020173001400" \
	"00006f72672e667265656465736b746f702e4442757300000000030173000c0000004e616d6541637175697265640000000006017300" \
	"040000003a312e3000000000080167000173000007017300140000006f72672e667265656465736b746f702e44427573000000000400" \
	"00003a312e3000"
#define HAS_OWNER_REPLY                                                                                                \
	"6c02010104000000030000003d00000006017300040000003a312e300000000005017500020000000801670001620000070173001400" \
	"00006f72672e667265656465736b746f702e444275730000000000000000"

static void test_build(void)
{
	const char *const name[] = { "org.fedoraproject.FirewallD1", NULL };
	g_autoptr(GBytes) hello = hex(HELLO);
	g_autoptr(GBytes) has = hex(HAS_OWNER);
	g_autoptr(GByteArray) mine = NULL;

	if (G_BYTE_ORDER != G_LITTLE_ENDIAN) {
		g_test_skip("the captures are little-endian");
		return;
	}
	mine = vw_dbus_build_call(1, 0, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
				  "Hello", NULL);
	g_assert_cmpmem(mine->data, mine->len, g_bytes_get_data(hello, NULL), g_bytes_get_size(hello));
	g_byte_array_unref(mine);
	mine = vw_dbus_build_call(2, VW_DBUS_NO_AUTO_START, "org.freedesktop.DBus", "/org/freedesktop/DBus",
				  "org.freedesktop.DBus", "NameHasOwner", name);
	g_assert_cmpmem(mine->data, mine->len, g_bytes_get_data(has, NULL), g_bytes_get_size(has));
}

static void parse_hex(const char *h, VwDbusMsg *m)
{
	g_autoptr(GBytes) b = hex(h);
	g_autoptr(GError) err = NULL;
	gsize len;
	const guint8 *d = g_bytes_get_data(b, &len);

	g_assert_cmpuint(vw_dbus_message_size(d), ==, len);
	g_assert_true(vw_dbus_parse(d, len, m, &err));
	g_assert_no_error(err);
}

static void test_parse(void)
{
	g_auto(VwDbusMsg) m = { 0 };
	g_autofree char *text = NULL;
	gboolean b = TRUE;

	parse_hex(HELLO_REPLY, &m);
	g_assert_cmpuint(m.type, ==, VW_DBUS_METHOD_RETURN);
	g_assert_cmpuint(m.reply_serial, ==, 1);
	g_assert_cmpstr(m.signature, ==, "s");
	g_variant_get(m.body, "(s)", &text);
	g_assert_cmpstr(text, ==, ":1.0");
	vw_dbus_msg_clear(&m);
	parse_hex(NAME_ACQUIRED, &m);
	g_assert_cmpuint(m.type, ==, VW_DBUS_SIGNAL);
	g_assert_cmpuint(m.reply_serial, ==, 0);
	vw_dbus_msg_clear(&m);
	parse_hex(HAS_OWNER_REPLY, &m);
	g_assert_cmpuint(m.reply_serial, ==, 2);
	g_variant_get(m.body, "(b)", &b);
	g_assert_false(b);
}

/* ---------------------------------------------------------------------- */
/* Messages of the fake bus (little-endian, or 'B' when @big) */

/* Raw bytes (no byte order), after padding to @align. */
static void put(GByteArray *b, const void *v, guint n, guint align)
{
	static const guint8 zero[8];

	g_byte_array_append(b, zero, (align - b->len % align) % align);
	g_byte_array_append(b, v, n);
}

static void put_u32(GByteArray *b, guint32 v, bool big)
{
	guint32 w = big ? GUINT32_TO_BE(v) : GUINT32_TO_LE(v);

	put(b, &w, 4, 4);
}

static void put_s(GByteArray *b, const char *s, bool big)
{
	put_u32(b, (guint32)strlen(s), big);
	g_byte_array_append(b, (const guint8 *)s, (guint)strlen(s) + 1);
}

/* @v in the byte order of the message, at @at. */
static void patch_u32(GByteArray *b, guint at, guint32 v, bool big)
{
	guint32 w = big ? GUINT32_TO_BE(v) : GUINT32_TO_LE(v);

	memcpy(b->data + at, &w, 4);
}

/* A reply (type @type) to @serial: error name @error (may be NULL), body
 * of signature @sig made of @strs (strings; "b": the first, a number;
 * "as": all of them as one array). */
static GByteArray *fake_msg(guint8 type, guint32 serial, const char *error, const char *sig, const char *const *strs,
			    bool big)
{
	GByteArray *b = g_byte_array_new(), *body = g_byte_array_new();
	guint8 fixed[4] = { big ? 'B' : 'l', type, 1, 1 };
	guint8 field[4] = { 5, 1, 'u', 0 };

	if (strcmp(sig, "b") == 0) {
		put_u32(body, (guint32)g_ascii_strtoull(strs[0], NULL, 10), big);
	} else if (strcmp(sig, "as") == 0) {
		put_u32(body, 0, big);
		for (guint i = 0; strs[i]; i++)
			put_s(body, strs[i], big);
		patch_u32(body, 0, body->len - 4, big);
	} else {
		for (guint i = 0; strs && strs[i]; i++)
			put_s(body, strs[i], big);
	}
	g_byte_array_append(b, fixed, 4);
	put_u32(b, body->len, big);
	put_u32(b, 1000 + serial, big);
	put_u32(b, 0, big);
	put(b, field, 4, 8);
	put_u32(b, serial, big);
	if (error) {
		guint8 f[4] = { 4, 1, 's', 0 };

		put(b, f, 4, 8);
		put_s(b, error, big);
	}
	if (*sig) {
		guint8 f[4] = { 8, 1, 'g', 0 };
		guint8 n = (guint8)strlen(sig);

		put(b, f, 4, 8);
		g_byte_array_append(b, &n, 1);
		g_byte_array_append(b, (const guint8 *)sig, n + 1);
	}
	patch_u32(b, 12, b->len - 16, big);
	put(b, NULL, 0, 8);
	g_byte_array_append(b, body->data, body->len);
	g_byte_array_unref(body);
	return b;
}

static void test_parse_own(void)
{
	const char *const text[] = { "UNKNOWN_INTERFACE: vw-x", NULL };
	const char *const zones[] = { "block", "virtwire", "public", NULL };
	const char *const two[] = { "2", NULL };
	g_autoptr(GByteArray)
		err = fake_msg(VW_DBUS_ERROR, 7, "org.fedoraproject.FirewallD1.Exception", "s", text, true);
	g_autoptr(GByteArray) as = fake_msg(VW_DBUS_METHOD_RETURN, 8, NULL, "as", zones, false);
	g_autoptr(GByteArray) bad = fake_msg(VW_DBUS_METHOD_RETURN, 9, NULL, "b", two, false);
	g_auto(VwDbusMsg) m = { 0 };
	g_autofree const char **names = NULL;
	g_autoptr(GError) e = NULL;
	const char *s;

	g_assert_true(vw_dbus_parse(err->data, err->len, &m, NULL));
	g_assert_cmpuint(m.type, ==, VW_DBUS_ERROR);
	g_assert_cmpuint(m.reply_serial, ==, 7);
	g_assert_cmpstr(m.error_name, ==, "org.fedoraproject.FirewallD1.Exception");
	g_variant_get(m.body, "(&s)", &s);
	g_assert_cmpstr(s, ==, text[0]);
	vw_dbus_msg_clear(&m);
	g_assert_true(vw_dbus_parse(as->data, as->len, &m, NULL));
	g_variant_get(m.body, "(^a&s)", &names);
	g_assert_cmpstrv(names, zones);
	vw_dbus_msg_clear(&m);
	/* A boolean of 2, a message cut short, a string without its NUL. */
	g_assert_false(vw_dbus_parse(bad->data, bad->len, &m, &e));
	g_clear_error(&e);
	g_assert_false(vw_dbus_parse(as->data, as->len - 1, &m, &e));
	g_clear_error(&e);
	as->data[as->len - 1] = 'x';
	g_assert_false(vw_dbus_parse(as->data, as->len, &m, &e));
}

/* ---------------------------------------------------------------------- */
/* Exchanges with a fake bus */

typedef struct {
	char *dir, *path;
	int listen_fd;
	bool silent; /* authenticate, then answer nothing */
	GThread *thread;
	GPtrArray *members; /* what it was called for */
} FakeBus;

static bool read_n(int fd, guint8 *p, gsize n)
{
	while (n) {
		ssize_t r = read(fd, p, n);

		if (r <= 0)
			return false;
		p += r;
		n -= (gsize)r;
	}
	return true;
}

/* The member of call @data (its serial in *@serial). */
static char *member_of(const guint8 *data, gsize len, guint32 *serial)
{
	const char *m = NULL;
	gsize pos = 16, end = 16 + *(const guint32 *)(data + 12);

	*serial = *(const guint32 *)(data + 8);
	while (pos < end) {
		guint8 code = data[(pos = (pos + 7) / 8 * 8)], type = data[pos + 2];
		guint32 n;

		pos += 4;
		if (type == 'g') {
			pos += data[pos] + 2U;
			continue;
		}
		pos = (pos + 3) / 4 * 4;
		n = *(const guint32 *)(data + pos);
		if (code == 3)
			m = (const char *)data + pos + 4;
		pos += 4 + n + 1;
	}
	g_assert(end <= len);
	return g_strdup(m);
}

static void answer(FakeBus *fb, int fd, const char *member, guint32 serial)
{
	const char *const unique[] = { ":1.7", NULL };
	const char *const yes[] = { "1", NULL };
	const char *const zones[] = { "public", "virtwire", NULL };
	const char *const oops[] = { "UNKNOWN_INTERFACE: vw-x", NULL };
	g_autoptr(GByteArray) m = NULL;

	if (strcmp(member, "Hello") == 0) {
		/* A signal first, as dbus-daemon sends NameAcquired. */
		g_autoptr(GByteArray) sig = fake_msg(VW_DBUS_SIGNAL, 0, NULL, "s", unique, false);

		g_assert_cmpint(write(fd, sig->data, sig->len), ==, (gssize)sig->len);
		m = fake_msg(VW_DBUS_METHOD_RETURN, serial, NULL, "s", unique, false);
	} else if (strcmp(member, "NameHasOwner") == 0) {
		m = fake_msg(VW_DBUS_METHOD_RETURN, serial, NULL, "b", yes, true);
	} else if (strcmp(member, "getZones") == 0) {
		m = fake_msg(VW_DBUS_METHOD_RETURN, serial, NULL, "as", zones, false);
	} else if (strcmp(member, "getZoneOfInterface") == 0) {
		m = fake_msg(VW_DBUS_ERROR, serial, "org.fedoraproject.FirewallD1.Exception", "s", oops, false);
	} else {
		m = fake_msg(VW_DBUS_METHOD_RETURN, serial, NULL, "s", unique, false);
	}
	g_assert_cmpint(write(fd, m->data, m->len), ==, (gssize)m->len);
}

static gpointer fake_bus_run(gpointer data)
{
	FakeBus *fb = data;
	int fd = accept(fb->listen_fd, NULL, NULL);
	char line[256];
	gsize n = 0;
	guint8 head[16];

	g_assert_cmpint(fd, >=, 0);
	/* "\0AUTH EXTERNAL <hex uid>\r\n" */
	while (n < sizeof(line) - 1 && read_n(fd, (guint8 *)line + n, 1) &&
	       !(n > 1 && line[n] == '\n' && line[n - 1] == '\r'))
		n++;
	line[n] = '\0';
	g_assert_true(line[0] == '\0' && g_str_has_prefix(line + 1, "AUTH EXTERNAL "));
	g_assert_cmpint(write(fd, "OK 0123456789abcdef\r\n", 21), ==, 21);
	g_assert_true(read_n(fd, (guint8 *)line, 7) && memcmp(line, "BEGIN\r\n", 7) == 0);
	while (read_n(fd, head, 16)) {
		gsize size = vw_dbus_message_size(head);
		g_autofree guint8 *all = g_malloc(size);
		g_autofree char *member = NULL;
		guint32 serial;

		memcpy(all, head, 16);
		g_assert_true(read_n(fd, all + 16, size - 16));
		member = member_of(all, size, &serial);
		g_ptr_array_add(fb->members, g_strdup(member));
		if (!fb->silent || strcmp(member, "Hello") == 0)
			answer(fb, fd, member, serial);
	}
	close(fd);
	return NULL;
}

static void fake_bus_start(FakeBus *fb, bool silent)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	fb->dir = g_dir_make_tmp("vw-dbus-XXXXXX", NULL);
	fb->path = g_build_filename(fb->dir, "bus", NULL);
	fb->silent = silent;
	fb->members = g_ptr_array_new_with_free_func(g_free);
	g_strlcpy(sa.sun_path, fb->path, sizeof(sa.sun_path));
	fb->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	g_assert_cmpint(bind(fb->listen_fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
	g_assert_cmpint(listen(fb->listen_fd, 1), ==, 0);
	fb->thread = g_thread_new("fake-bus", fake_bus_run, fb);
}

static void fake_bus_stop(FakeBus *fb)
{
	if (fb->thread)
		g_thread_join(fb->thread);
	close(fb->listen_fd);
	g_unlink(fb->path);
	g_rmdir(fb->dir);
	g_free(fb->path);
	g_free(fb->dir);
	g_ptr_array_unref(fb->members);
}

static void test_exchange(void)
{
	const char *const args[] = { "vw-x", NULL };
	const char *const name[] = { "org.fedoraproject.FirewallD1", NULL };
	FakeBus fb = { 0 };
	g_autoptr(GError) err = NULL;
	g_autofree const char **zones = NULL;
	VwDbus *bus = NULL;
	GVariant *r;
	gboolean has = FALSE;

	fake_bus_start(&fb, false);
	g_assert_true(vw_dbus_open(fb.path, 2000, &bus, &err));
	g_assert_no_error(err);
	g_assert_nonnull(bus);
	/* A big-endian reply. */
	r = vw_dbus_call(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "NameHasOwner",
			 name, "b", &err);
	g_assert_no_error(err);
	g_variant_get(r, "(b)", &has);
	g_assert_true(has);
	g_variant_unref(r);
	r = vw_dbus_call(bus, "f", "/f", "f.zone", "getZones", NULL, "as", &err);
	g_assert_no_error(err);
	g_variant_get(r, "(^a&s)", &zones);
	g_assert_cmpstr(zones[1], ==, "virtwire");
	g_variant_unref(r);
	/* A D-Bus error: its text. */
	g_assert_null(vw_dbus_call(bus, "f", "/f", "f.zone", "getZoneOfInterface", args, "s", &err));
	g_assert_cmpstr(err->message, ==, "UNKNOWN_INTERFACE: vw-x");
	g_clear_error(&err);
	/* A reply of another type than asked for; any type. */
	g_assert_null(vw_dbus_call(bus, "f", "/f", "f.zone", "addInterface", args, "b", &err));
	g_assert_nonnull(strstr(err->message, "answered with (s), not (b)"));
	g_clear_error(&err);
	r = vw_dbus_call(bus, "f", "/f", "f.zone", "addInterface", args, NULL, &err);
	g_assert_no_error(err);
	g_variant_unref(r);
	vw_dbus_close(bus);
	g_thread_join(g_steal_pointer(&fb.thread));
	g_assert_cmpuint(fb.members->len, ==, 6);
	g_assert_cmpstr(fb.members->pdata[0], ==, "Hello");
	fake_bus_stop(&fb);
}

static void test_no_bus(void)
{
	g_autofree char *dir = g_dir_make_tmp("vw-dbus-XXXXXX", NULL);
	g_autofree char *path = g_build_filename(dir, "none", NULL);
	g_autoptr(GError) err = NULL;
	VwDbus *bus = (VwDbus *)1;

	g_assert_true(vw_dbus_open(path, 200, &bus, &err));
	g_assert_no_error(err);
	g_assert_null(bus);
	g_rmdir(dir);
}

static void test_silent_bus(void)
{
	FakeBus fb = { 0 };
	g_autoptr(GError) err = NULL;
	VwDbus *bus = NULL;
	gint64 t0;

	fake_bus_start(&fb, true);
	g_assert_true(vw_dbus_open(fb.path, 300, &bus, &err));
	t0 = g_get_monotonic_time();
	g_assert_null(vw_dbus_call(bus, "f", "/f", "f.zone", "getZones", NULL, "as", &err));
	g_assert_nonnull(strstr(err->message, "did not answer within 300 ms"));
	g_assert_cmpint(g_get_monotonic_time() - t0, <, 2 * G_USEC_PER_SEC);
	vw_dbus_close(bus);
	fake_bus_stop(&fb);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/dbus/build", test_build);
	g_test_add_func("/dbus/parse", test_parse);
	g_test_add_func("/dbus/parse-own", test_parse_own);
	g_test_add_func("/dbus/exchange", test_exchange);
	g_test_add_func("/dbus/no-bus", test_no_bus);
	g_test_add_func("/dbus/silent-bus", test_silent_bus);
	return g_test_run();
}
