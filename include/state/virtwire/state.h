/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What virtwire applied, per network, under the state directory (default
 * /run/virtwire): NAME.xml is the network XML as applied, NAME.state a
 * versioned text record of what was done (docs/state.md describes the
 * format). Files are written atomically (temporary file, fsync, rename) with
 * mode 0600; a lock file serialises virtwire processes.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>

#define VW_STATE_DIR_DEFAULT "/run/virtwire"
#define VW_STATE_VERSION 1

/* A sysctl virtwire wrote: the value before and the value set. */
typedef struct {
	char *path;
	char *old_value;
	char *new_value;
	bool revert; /* restore old_value at teardown */
} VwStateSysctl;

/* A link object: created by virtwire (removed at teardown) or found
 * (never removed). */
typedef struct {
	char *kind;   /* "bridge", "addr", "port", "route", … */
	char *object; /* "vwbr0", "vwbr0 192.168.1.1/24", … */
	bool created;
	char *extra;  /* kind-specific: the uplink's original state … */
} VwStateLink;

/* A domain's port on the network whose forwards virtwire holds. */
typedef struct {
	char *uuid;        /* the networkport's uuid (the forwards' owner tag) */
	char *domain_uuid; /* its domain, recorded in domains/UUID.xml */
	char *mac;
} VwStatePort;

typedef struct {
	char *name;     /* the libvirt network's name */
	char *id;       /* its name in nftables objects */
	char *applied;  /* ISO 8601 time of the last apply */
	char *source;   /* where the XML came from */
	char *bridge;
	char *mode;
	GPtrArray *sysctls; /* VwStateSysctl* */
	GPtrArray *links;   /* VwStateLink*, in the order applied */
	GPtrArray *ports;   /* VwStatePort*: domain ports with forwards */
	char *xml;          /* the network XML as applied (NAME.xml) */
} VwState;

VwState *vw_state_new(const char *name);
void vw_state_free(VwState *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VwState, vw_state_free)

/* The state directory: @opt, else $VIRTWIRE_STATE_DIR, else the default. */
const char *vw_state_dir(const char *opt);

/* Takes the directory's lock (creating the directory, mode 0700), waiting
 * up to @timeout_ms for another virtwire to finish. Returns the lock's fd. */
int vw_state_lock(const char *dir, guint timeout_ms, GError **error);
void vw_state_unlock(int fd);

/* Loads NAME's record. VW_ERROR_NOT_FOUND when there is none; a corrupt or
 * unknown-version file is VW_ERROR_FAILED naming the file and line. */
bool vw_state_load(const char *dir, const char *name, VwState **ret, GError **error);
bool vw_state_save(const char *dir, const VwState *s, GError **error);
bool vw_state_remove(const char *dir, const char *name, GError **error);
/* The names of every recorded network, sorted. */
GPtrArray *vw_state_list(const char *dir);
/* The path of NAME's XML copy (for diagnostics). */
char *vw_state_xml_path(const char *dir, const char *name);

VwStateSysctl *vw_state_add_sysctl(VwState *s, const char *path, const char *old_value, const char *new_value,
				   bool revert);
VwStateLink *vw_state_add_link(VwState *s, const char *kind, const char *object, bool created, const char *extra);
VwStatePort *vw_state_add_port(VwState *s, const char *uuid, const char *domain_uuid, const char *mac);
VwStatePort *vw_state_find_port(const VwState *s, const char *uuid);
void vw_state_remove_port(VwState *s, const char *uuid);

/* Domains with forwards, recorded by the qemu/lxc hooks (domains/UUID.xml):
 * their XML is what a port's forwards are planned from. */
bool vw_state_save_domain(const char *dir, const char *uuid, const char *xml, GError **error);
/* NULL (and VW_ERROR_NOT_FOUND) when there is no record. */
char *vw_state_load_domain(const char *dir, const char *uuid, GError **error);
bool vw_state_remove_domain(const char *dir, const char *uuid, GError **error);
/* The uuids of every recorded domain. */
GPtrArray *vw_state_list_domains(const char *dir);

/*
 * The firewall's generation record (DIR/firewall.gen): the kernel counts
 * every batch committed to a network namespace's ruleset, by anyone. When
 * virtwire's own reconcile was the only commit since the record was last
 * right, the networks it reconciled are known to match their plans at the
 * new generation; while the generation stays, they still do, and a repeat
 * apply (a hook at every libvirt start) need not read the table back.
 * vw_state_gen_current: network @id matched a plan of @digest at @gen.
 * (vw_state_gen_update, in exec.h, keeps it.)
 */
bool vw_state_gen_current(const char *dir, guint32 gen, const char *id, const char *digest);
