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
 * nftables are the unit tests' fakes of the kernel (tests/unit/fake-link,
 * fake-nft), fresh for every input, so nothing reaches the real kernel
 * whatever the input.
 */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <virtwire/hooks.h>

#include "fake-link.h"
#include "fake-nft.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const drivers[] = { "network", "qemu", "lxc", "daemon" };
static const char *const ops[] = {
	"start",   "started", "stopped",   "port-created", "port-deleted", "updated",  "prepare", "release",
	"migrate", "restore", "reconnect", "attach",	   "reload",	   "shutdown", "plugged", "-",
};
static const char *const subops[] = { "begin", "end", "-" };

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
	VwEngineConfig cfg = { .lock_timeout_ms = 1 };
	FakeLinks links;
	VwLinkBackend lbe;
	VwNftBackend *nft;
	FakeNft *fake;
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
	fake_links_init(&links);
	lbe = fake_links_backend(&links);
	nft = fake_nft_new(&fake);
	cfg.state_dir = dir;
	cfg.links = &lbe;
	cfg.nft = nft;
	vw_hook_run(drivers[data[0] & 3], argc, argv, (const char *)p, (gsize)(end - p), &cfg);
	vw_nft_backend_free(nft);
	fake_links_clear(&links);
	rm_rf(dir);
	return 0;
}
