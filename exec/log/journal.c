/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One record to the journal over its native protocol: one datagram to
 * journald's socket, each field "KEY=VALUE\n", or "KEY\n", the value's length
 * as 64 bits little endian, the value and "\n" when the value holds a
 * newline. virtwire's records are a few hundred bytes, far below a
 * datagram's limit; one that cannot be sent goes to syslog (log.c). The
 * protocol is journald's documented, stable interface
 * (systemd.io/JOURNAL_NATIVE_PROTOCOL), what sd_journal_sendv speaks; it is
 * spoken here because libsystemd and what it links (libgcrypt, zstd, lz4,
 * liblzma, libcap) cost every hook call some 0.8 ms of loading to send one
 * datagram (bench/RESULTS.md, "Start-up").
 */
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <virtwire/exec.h>

/* A journald that does not take a record within this is not waited for
 * longer: a hook must not hang on its log. */
#define SEND_TIMEOUT_SEC 1

static void append_field(GByteArray *b, const struct iovec *f)
{
	const char *field = f->iov_base;
	const char *eq = memchr(field, '=', f->iov_len);
	size_t klen, vlen;
	guint64 le;

	if (!eq)
		return;
	klen = eq - field;
	vlen = f->iov_len - klen - 1;
	if (!memchr(eq + 1, '\n', vlen)) {
		g_byte_array_append(b, (const guint8 *)field, f->iov_len);
		g_byte_array_append(b, (const guint8 *)"\n", 1);
		return;
	}
	le = GUINT64_TO_LE((guint64)vlen);
	g_byte_array_append(b, (const guint8 *)field, klen);
	g_byte_array_append(b, (const guint8 *)"\n", 1);
	g_byte_array_append(b, (const guint8 *)&le, sizeof(le));
	g_byte_array_append(b, (const guint8 *)eq + 1, vlen);
	g_byte_array_append(b, (const guint8 *)"\n", 1);
}

GByteArray *vw_journal_encode(const struct iovec *iov, int n)
{
	GByteArray *b = g_byte_array_new();

	for (int i = 0; i < n; i++)
		append_field(b, &iov[i]);
	return b;
}

bool vw_journal_sendv(const struct iovec *iov, int n)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX, .sun_path = VW_JOURNAL_SOCKET };
	struct timeval timeout = { .tv_sec = SEND_TIMEOUT_SEC };
	g_autoptr(GByteArray) b = vw_journal_encode(iov, n);
	int sock;
	bool ok;

	sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sock < 0)
		return false;
	setsockopt(sock, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
	ok = sendto(sock, b->data, b->len, MSG_NOSIGNAL, (struct sockaddr *)&sa, sizeof(sa)) >= 0;
	close(sock);
	return ok;
}
