/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target: a libvirt hook call, argv and stdin, through
 * vw_hook_run, as libvirt (or anyone who can run the hook) could make it.
 *
 * The input: DRIVER OP SUBOP ARGC selector bytes, then raw tokens, then the
 * XML. DRIVER picks network, qemu, lxc or daemon; OP and SUBOP pick from
 * libvirt's words, or (from 0xe0 up) take the next raw token, which ends at
 * a newline (at most 64 bytes); ARGC below 0xf0 passes all four arguments
 * (OBJECT OP SUBOP EXTRA), from 0xf0 up fewer (ARGC & 3: a call libvirt
 * never makes).
 *
 * Each call gets a fresh state directory and a kernel of its own: links and
 * nftables are fakes of an empty kernel that accept every change (the link
 * fake remembers nothing; the nftables one answers every request with
 * ENOENT and accepts every commit, until tests/unit/fake-nft serves here),
 * so nothing reaches the real kernel whatever the input.
 */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <virtwire/hooks.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const drivers[] = { "network", "qemu", "lxc", "daemon" };
static const char *const ops[] = {
	"start",   "started", "stopped",   "port-created", "port-deleted", "updated", "prepare", "release",
	"migrate", "restore", "reconnect", "attach",       "reload",       "shutdown", "plugged", "-",
};
static const char *const subops[] = { "begin", "end", "-" };

/* ---------------------------------------------------------------------- */
/* An empty kernel that accepts every change */

static int l_get(void *ctx, const char *name, VwLinkInfo *ret)
{
	return -ENODEV;
}

static int l_list(void *ctx, GArray *ret)
{
	return 0;
}

static int l_add(void *ctx, const char *name, const VwLinkChange *conf)
{
	return 0;
}

static int l_del(void *ctx, const char *name)
{
	return -ENODEV;
}

static int l_change(void *ctx, const char *name, const VwLinkChange *ch)
{
	return 0;
}

static int l_flags(void *ctx, const char *port, int hairpin, int isolated)
{
	return 0;
}

static int l_list_dev(void *ctx, const char *dev, GArray *ret)
{
	return 0;
}

static int l_addr(void *ctx, const char *dev, const VwAddrInfo *a)
{
	return 0;
}

static int l_route(void *ctx, const char *dev, const VwRouteInfo *r)
{
	return 0;
}

static int l_sysctl_get(void *ctx, const char *path, char **ret)
{
	*ret = g_strdup("0");
	return 0;
}

static int l_sysctl_set(void *ctx, const char *path, const char *value)
{
	return 0;
}

static const VwLinkBackend links = {
	.link_get = l_get,
	.link_list = l_list,
	.bridge_add = l_add,
	.link_del = l_del,
	.link_change = l_change,
	.port_flags = l_flags,
	.addr_list = l_list_dev,
	.addr_add = l_addr,
	.addr_del = l_addr,
	.route_list = l_list_dev,
	.route_add = l_route,
	.route_del = l_route,
	.sysctl_get = l_sysctl_get,
	.sysctl_set = l_sysctl_set,
};

static int n_request(void *ctx, const struct nlmsghdr *req, VwNftReplyFn cb, void *data)
{
	return -ENOENT;
}

static int n_commit(void *ctx, const struct iovec *iov, size_t n, uint32_t *seq, char **ext)
{
	return 0;
}

static const VwNftBackend nft = { .request = n_request, .commit = n_commit };

/* ---------------------------------------------------------------------- */

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path);
}

/* Removes @path and everything below it, never following a link. */
static void rm_rf(const char *path)
{
	nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* A word: from @dict by @sel, or (from 0xe0 up) the next raw token. */
static char *word(uint8_t sel, const char *const *dict, size_t n, const uint8_t **p, const uint8_t *end)
{
	const uint8_t *start = *p, *nl;
	size_t len;

	if (sel < 0xe0)
		return g_strdup(dict[sel % n]);
	len = MIN((size_t)(end - start), 64);
	nl = memchr(start, '\n', len);
	if (nl)
		len = (size_t)(nl - start);
	*p = start + len + (nl ? 1 : 0);
	return g_strndup((const char *)start, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data + 4, *end = data + size;
	g_autofree char *op = NULL, *subop = NULL, *dir = NULL;
	char *argv[5];
	VwEngineConfig cfg = { .links = &links, .nft = &nft, .lock_timeout_ms = 1 };
	int argc;

	/* libvirt's documents are small; the hook's own cap is tested elsewhere. */
	if (size < 4 || size > 1 << 20)
		return 0;
	op = word(data[1], ops, G_N_ELEMENTS(ops), &p, end);
	subop = word(data[2], subops, G_N_ELEMENTS(subops), &p, end);
	argc = data[3] < 0xf0 ? 4 : data[3] & 3;
	argv[0] = (char *)"fuzz";
	argv[1] = op;
	argv[2] = subop;
	argv[3] = (char *)"-";
	argv[4] = NULL;
	dir = g_dir_make_tmp("vw-fuzz-hook-XXXXXX", NULL);
	if (!dir)
		abort();
	cfg.state_dir = dir;
	vw_hook_run(drivers[data[0] & 3], argc, argv, (const char *)p, (gsize)(end - p), &cfg);
	rm_rf(dir);
	return 0;
}
