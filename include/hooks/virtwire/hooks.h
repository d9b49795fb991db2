/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libvirt's hook protocol, mapped onto the engine, and the hook installer. */
#pragma once

#include <glib.h>
#include <stdbool.h>

#include <virtwire/engine.h>

#define VW_HOOKS_DIR_DEFAULT "/etc/libvirt/hooks"
#define VW_HOOK_ENTRY "50-virtwire"

/* Runs one hook call: @driver is network, qemu, lxc or daemon; @argv holds
 * libvirt's OBJECT OP SUBOP EXTRA; the XML is read from stdin. Returns the
 * exit status for libvirt. The call, its changes, warnings and failures go
 * to the journal (syslog without one); warnings and failures to stderr too,
 * with @verbose everything (docs/logging.md). */
int vw_hook_main(const char *driver, int argc, char **argv, const VwEngineConfig *cfg, bool verbose);
/* The same with the XML given (@len bytes of @xml) instead of stdin, its
 * records going where the process' log does (vw_log_open; nowhere when
 * it was not opened). */
int vw_hook_run(const char *driver, int argc, char **argv, const char *xml, gsize len, const VwEngineConfig *cfg);

/* Puts virtwire's entry into HOOKS_DIR/{network,qemu,lxc,daemon}.d/, never
 * touching other hooks or the main scripts; @binary is the virtwire to run,
 * @state_dir (may be NULL) the state directory the hooks use. */
bool vw_hooks_install(const char *hooks_dir, const char *binary, const char *state_dir, GError **error);
/* The entries vw_hooks_install made in @hooks_dir: how many are there, and
 * (when @state_dir is given and *@state_dir NULL) the state directory they
 * pass, NULL for the default. VW_ERROR_NOT_FOUND when @hooks_dir is not a
 * directory. */
bool vw_hooks_find(const char *hooks_dir, guint *installed, char **state_dir, GError **error);
/* Removes exactly the entries vw_hooks_install made (*@removed of them);
 * VW_ERROR_NOT_FOUND when @hooks_dir is not a directory. */
bool vw_hooks_uninstall(const char *hooks_dir, guint *removed, GError **error);
