/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The state directory (docs/state.md): NAME.state (the record, state/),
 * NAME.xml (the XML applied), domains/UUID.xml, firewall.gen, lock.
 *
 * It decides what teardown deletes as root, so it is trusted only as far as
 * it is safe: the directory must be the user's own and writable by nobody
 * else; every file is opened relative to it with O_NOFOLLOW, new files with
 * O_EXCL under a random name and renamed into place, so a planted link or
 * file cannot make virtwire write or read anywhere else.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <virtwire/exec.h>

#include "store-private.h"

struct VwStore {
	char *dir;
	int dirfd;
	int lockfd;
	VwFaults faults;
	guint writes;
};

/* ---------------------------------------------------------------------- */
/* The directory */

/* The directory (or a folder in it) is safe when it is a directory of the
 * user virtwire runs as that nobody else may write to. */
static bool dir_safe(int fd, const char *path, GError **error)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return vw_set_errno(error, -errno, NULL, "cannot examine the state directory %s", path);
	if (st.st_uid != geteuid()) {
		g_set_error(error, VW_ERROR, VW_ERROR_STATE,
			    "the state directory %s belongs to user %u, not to the user virtwire runs as (%u): it is "
			    "not used; give it to that user (chown) with mode 0700, or choose another with --state-dir",
			    path, (unsigned)st.st_uid, (unsigned)geteuid());
		return false;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		g_set_error(error, VW_ERROR, VW_ERROR_STATE,
			    "the state directory %s is writable by others (mode %04o): it is not used; make it 0700 "
			    "(chmod 700 %s)",
			    path, (unsigned)(st.st_mode & 07777), path);
		return false;
	}
	return true;
}

/* Opens @name in @parent (AT_FDCWD: a path) as a directory, not through a
 * symbolic link, creating it 0700 with @create. */
static int open_dir(int parent, const char *name, const char *path, bool create, GError **error)
{
	int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0 && errno == ENOENT && create) {
		if (parent == AT_FDCWD) {
			g_autofree char *up = g_path_get_dirname(path);

			if (g_mkdir_with_parents(up, 0755) < 0)
				return vw_set_errno(error, -errno, NULL, "cannot create %s", up), -1;
		}
		if (mkdirat(parent, name, 0700) < 0 && errno != EEXIST)
			return vw_set_errno(error, -errno, NULL, "cannot create the state directory %s", path), -1;
		fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd < 0) {
		if (errno == ENOENT)
			g_set_error(error, VW_ERROR, VW_ERROR_NOT_FOUND, "the state directory %s does not exist", path);
		else if (errno == ELOOP || errno == ENOTDIR)
			g_set_error(error, VW_ERROR, VW_ERROR_STATE,
				    "the state directory %s is a symbolic link or not a directory: it is not used",
				    path);
		else
			vw_set_errno(error, -errno, NULL, "cannot open the state directory %s", path);
		return -1;
	}
	if (!dir_safe(fd, path, error)) {
		close(fd);
		return -1;
	}
	return fd;
}

bool vw_store_open(const char *dir, bool create, VwStore **ret, GError **error)
{
	g_autofree char *path = g_canonicalize_filename(dir ? dir : VW_STATE_DIR_DEFAULT, NULL);
	VwStore *s;
	int fd = open_dir(AT_FDCWD, path, path, create, error);

	if (fd < 0)
		return false;
	s = g_new0(VwStore, 1);
	s->dir = g_steal_pointer(&path);
	s->dirfd = fd;
	s->lockfd = -1;
	*ret = s;
	return true;
}

void vw_store_close(VwStore *s)
{
	if (!s)
		return;
	vw_store_unlock(s);
	close(s->dirfd);
	g_free(s->dir);
	g_free(s);
}

const char *vw_store_dir(const VwStore *s)
{
	return s->dir;
}

void vw_store_set_faults(VwStore *s, const VwFaults *faults)
{
	if (faults)
		s->faults = *faults;
}

bool vw_store_lock(VwStore *s, guint timeout_ms, GError **error)
{
	struct stat st;

	if (s->lockfd >= 0)
		return true;
	s->lockfd = openat(s->dirfd, "lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (s->lockfd < 0 && errno == ELOOP) {
		g_set_error(error, VW_ERROR, VW_ERROR_STATE, "%s/lock is a symbolic link: it is not used; remove it",
			    s->dir);
		return false;
	}
	if (s->lockfd < 0)
		return vw_set_errno(error, -errno, NULL, "cannot open the lock %s/lock", s->dir);
	if (fstat(s->lockfd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
		vw_store_unlock(s);
		g_set_error(error, VW_ERROR, VW_ERROR_STATE, "%s/lock is not a file of virtwire's: remove it", s->dir);
		return false;
	}
	for (guint waited = 0;; waited += 10) {
		if (flock(s->lockfd, LOCK_EX | LOCK_NB) == 0)
			return true;
		if (errno != EWOULDBLOCK && errno != EINTR) {
			vw_set_errno(error, -errno, NULL, "cannot lock %s/lock", s->dir);
			break;
		}
		if (waited >= timeout_ms) {
			g_set_error(error, VW_ERROR, VW_ERROR_BUSY,
				    "another virtwire has held the lock %s/lock for %u s; try again when it is done",
				    s->dir, timeout_ms / 1000);
			break;
		}
		g_usleep(10000);
	}
	vw_store_unlock(s);
	return false;
}

void vw_store_unlock(VwStore *s)
{
	if (s->lockfd >= 0)
		close(s->lockfd); /* releases the flock */
	s->lockfd = -1;
}

/* ---------------------------------------------------------------------- */
/* Files */

/* Reads @name in @dirfd: a regular file, not through a link, at most @max
 * bytes. -ENOENT when it is not there. */
static int read_file(int dirfd, const char *name, gsize max, char **ret, gsize *len)
{
	g_autofree char *buf = NULL;
	struct stat st;
	gsize done = 0;
	int e = 0, fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		e = -errno;
	else if (!S_ISREG(st.st_mode))
		e = -EINVAL;
	else if ((gsize)st.st_size > max)
		e = -EFBIG;
	if (e) {
		close(fd);
		return e;
	}
	buf = g_malloc((gsize)st.st_size + 1);
	while (done < (gsize)st.st_size) {
		ssize_t n = read(fd, buf + done, (gsize)st.st_size - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		done += (gsize)n;
	}
	close(fd);
	buf[done] = '\0';
	*len = done;
	*ret = g_steal_pointer(&buf);
	return 0;
}

/* Writes @data durably to a new file of @dirfd beside @name, under a
 * random name (O_EXCL: never an existing file or link), into *@tmp; nothing
 * is left behind on failure. @counted: a record's write, which the faults
 * of a test may make fail. */
static int stage_file(VwStore *s, int dirfd, const char *name, const char *data, gsize len, bool counted, char **tmp)
{
	gsize done = 0;
	int fd = -1, e = 0;

	if (counted && s->faults.store && ++s->writes == s->faults.store)
		return -ENOSPC;
	for (int attempt = 0; fd < 0 && attempt < 16; attempt++) {
		g_free(*tmp);
		*tmp = g_strdup_printf(".%s.%08x.tmp", name, g_random_int());
		fd = openat(dirfd, *tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0 && errno != EEXIST)
			e = -errno;
	}
	if (fd < 0)
		e = e ? e : -EEXIST;
	while (!e && done < len) {
		ssize_t n = write(fd, data + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			e = n < 0 ? -errno : -EIO;
		else
			done += (gsize)n;
	}
	if (!e && fsync(fd) < 0)
		e = -errno;
	if (fd >= 0)
		close(fd);
	if (e) {
		if (fd >= 0)
			unlinkat(dirfd, *tmp, 0);
		g_clear_pointer(tmp, g_free);
	}
	return e;
}

/* Puts a staged file in place of @name (a link there is replaced, never
 * followed) and makes that durable. */
static int commit_file(int dirfd, char **tmp, const char *name)
{
	if (renameat(dirfd, *tmp, dirfd, name) < 0)
		return -errno;
	g_clear_pointer(tmp, g_free);
	fsync(dirfd);
	return 0;
}

/* A staged file that will not be committed. */
static void drop_file(int dirfd, char **tmp)
{
	if (*tmp)
		unlinkat(dirfd, *tmp, 0);
	g_clear_pointer(tmp, g_free);
}

/* Writes @data as @name in @dirfd atomically and durably. */
static int write_file(VwStore *s, int dirfd, const char *name, const char *data, gsize len, bool counted)
{
	g_autofree char *tmp = NULL;
	int e = stage_file(s, dirfd, name, data, len, counted, &tmp);

	if (!e)
		e = commit_file(dirfd, &tmp, name);
	drop_file(dirfd, &tmp);
	return e;
}

static int remove_file(int dirfd, const char *name)
{
	if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Records */

char *vw_store_file_base(const char *name)
{
	bool plain = *name && strlen(name) <= 100 && name[0] != '.' && name[0] != '=';
	g_autofree char *sum = NULL;

	for (const char *c = name; plain && *c; c++)
		plain = g_ascii_isalnum(*c) || *c == '_' || *c == '-' || *c == '.';
	if (plain)
		return g_strdup(name);
	/* Any other name, of any length, has a file name of fixed length
	 * (the network's name is inside the record). */
	sum = g_compute_checksum_for_string(G_CHECKSUM_SHA256, name, -1);
	return g_strdup_printf("=%s", sum);
}

static char *file_name(const char *name, const char *suffix)
{
	g_autofree char *base = vw_store_file_base(name);

	return g_strconcat(base, suffix, NULL);
}

char *vw_store_xml_path(const VwStore *s, const char *name)
{
	g_autofree char *f = file_name(name, ".xml");

	return g_build_filename(s->dir, f, NULL);
}

char *vw_store_xml_identity(VwStore *s, const char *name)
{
	g_autofree char *f = file_name(name, ".xml");
	struct stat st;

	if (fstatat(s->dirfd, f, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
		return NULL;
	return g_strdup_printf("%lu:%lu %lld.%09ld %lld", (unsigned long)st.st_dev, (unsigned long)st.st_ino,
			       (long long)st.st_mtim.tv_sec, (long)st.st_mtim.tv_nsec, (long long)st.st_size);
}

static char *record_path(const VwStore *s, const char *name)
{
	g_autofree char *f = file_name(name, ".state");

	return g_build_filename(s->dir, f, NULL);
}

/* A record names the network's firewall objects by its id: one that names
 * another network's would make teardown remove those. */
static bool own_id(const VwState *st, const char *path, GError **error)
{
	g_autofree char *id = vw_plan_network_id(st->name);

	if (strcmp(st->id, id) == 0)
		return true;
	g_set_error(error, VW_ERROR, VW_ERROR_STATE,
		    "%s: damaged record of network '%s': its id '%.64s' is not the network's ('%s')", path, st->name,
		    st->id, id);
	return false;
}

/* NAME's record; with @with_xml, its XML as well. */
static bool load(VwStore *s, const char *name, bool with_xml, VwState **ret, GError **error)
{
	g_autofree char *f = file_name(name, ".state");
	g_autofree char *xf = file_name(name, ".xml");
	g_autofree char *path = record_path(s, name);
	g_autofree char *data = NULL;
	g_autoptr(VwState) st = NULL;
	gsize len = 0, xlen = 0;
	int e = read_file(s->dirfd, f, VW_STATE_MAX_SIZE, &data, &len);

	if (e == -ENOENT) {
		g_set_error(error, VW_ERROR, VW_ERROR_NOT_FOUND, "network '%s' has no record in %s", name, s->dir);
		return false;
	}
	if (e) {
		g_set_error(error, VW_ERROR, VW_ERROR_STATE, "%s: cannot read the record of network '%s': %s", path,
			    name,
			    e == -ELOOP	   ? "it is a symbolic link"
			    : e == -EINVAL ? "not a regular file"
					   : g_strerror(-e));
		return false;
	}
	if (!vw_state_parse(data, len, name, path, &st, error))
		return false;
	if (!own_id(st, path, error))
		return false;
	e = with_xml ? read_file(s->dirfd, xf, VW_MAX_FILE_SIZE, &st->xml, &xlen) : 0;
	if (e) {
		g_autofree char *xp = vw_store_xml_path(s, name);

		g_set_error(error, VW_ERROR, VW_ERROR_STATE, "%s: the XML of network '%s' that goes with %s: %s", xp,
			    name, path, e == -ENOENT ? "it is missing" : g_strerror(-e));
		return false;
	}
	*ret = g_steal_pointer(&st);
	return true;
}

bool vw_store_load(VwStore *s, const char *name, VwState **ret, GError **error)
{
	return load(s, name, true, ret, error);
}

bool vw_store_load_record(VwStore *s, const char *name, VwState **ret, GError **error)
{
	return load(s, name, false, ret, error);
}

/* The file @name already holds exactly @data (a hook re-applying an
 * unchanged network spares the disk its fsyncs). */
static bool holds(VwStore *s, const char *name, const char *data, gsize len)
{
	char buf[65536];
	struct stat st;
	gsize done = 0;
	bool sized = false;
	int fd = openat(s->dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		return false;
	/* Block by block: a network's XML can be 11 MB, which is not read
	 * into memory beside the text it is compared with. */
	sized = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (gsize)st.st_size == len;
	if (sized) {
		while (done < len) {
			ssize_t n = read(fd, buf, MIN(sizeof(buf), len - done));

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0 || memcmp(buf, data + done, (gsize)n) != 0)
				break;
			done += (gsize)n;
		}
	}
	close(fd);
	return sized && done == len;
}

bool vw_store_xml_holds(VwStore *s, const char *name, const char *xml, gsize len)
{
	g_autofree char *xf = file_name(name, ".xml");

	return holds(s, xf, xml, len);
}

/* A record unchanged but for its "applied" time. */
static bool same_record(VwStore *s, const char *name, const VwState *st)
{
	g_autofree char *old = NULL;
	g_autoptr(VwState) was = NULL;
	g_autofree char *a = NULL, *b = NULL;
	gsize olen = 0;

	if (read_file(s->dirfd, name, VW_STATE_MAX_SIZE, &old, &olen) != 0 ||
	    !vw_state_parse(old, olen, st->name, name, &was, NULL))
		return false;
	g_free(was->applied);
	was->applied = g_strdup(st->applied);
	a = vw_state_format(was);
	b = vw_state_format(st);
	return strcmp(a, b) == 0;
}

bool vw_store_save(VwStore *s, const VwState *st, GError **error)
{
	g_autofree char *f = file_name(st->name, ".state");
	g_autofree char *xf = file_name(st->name, ".xml");
	g_autofree char *data = vw_state_format(st);
	g_autofree char *xtmp = NULL, *tmp = NULL;
	int e = 0;

	/* Both files are written out before either takes its old one's place:
	 * a write that fails (a full disk) leaves the previous record whole,
	 * its XML included. The XML is put in place first: a record always
	 * has its XML beside it. */
	if (st->xml && !holds(s, xf, st->xml, strlen(st->xml)))
		e = stage_file(s, s->dirfd, xf, st->xml, strlen(st->xml), true, &xtmp);
	if (!e && !same_record(s, f, st))
		e = stage_file(s, s->dirfd, f, data, strlen(data), true, &tmp);
	if (!e && xtmp)
		e = commit_file(s->dirfd, &xtmp, xf);
	if (!e && tmp)
		e = commit_file(s->dirfd, &tmp, f);
	drop_file(s->dirfd, &xtmp);
	drop_file(s->dirfd, &tmp);
	if (e) {
		g_autofree char *path = record_path(s, st->name);

		return vw_set_errno(error, e, NULL, "cannot write the record of network '%s' (%s)", st->name, path);
	}
	return true;
}

bool vw_store_remove(VwStore *s, const char *name, GError **error)
{
	g_autofree char *f = file_name(name, ".state");
	g_autofree char *xf = file_name(name, ".xml");
	int e;

	/* The record first: an XML without a record is ignored, a record
	 * without its XML would be damaged. */
	if ((e = remove_file(s->dirfd, f)) || (e = remove_file(s->dirfd, xf))) {
		g_autofree char *path = record_path(s, name);

		return vw_set_errno(error, e, NULL, "cannot remove the record %s", path);
	}
	fsync(s->dirfd);
	return true;
}

/* The network a record file is of: its base name, or for a hashed one
 * the name inside it (NULL when unreadable). */
static char *record_name(VwStore *s, const char *file)
{
	g_autofree char *base = g_strndup(file, strlen(file) - strlen(".state"));
	g_autofree char *data = NULL;
	g_auto(GStrv) lines = NULL;
	gsize len;

	if (base[0] != '=') {
		g_autofree char *want = vw_store_file_base(base);

		/* Only a name whose record this file is (load finds it). */
		return strcmp(want, base) == 0 ? g_steal_pointer(&base) : NULL;
	}
	if (read_file(s->dirfd, file, VW_STATE_MAX_SIZE, &data, &len) != 0)
		return NULL;
	lines = g_strsplit(data, "\n", 3);
	if (lines[0] && lines[1] && g_str_has_prefix(lines[1], "network ")) {
		g_autofree char *name = g_uri_unescape_string(lines[1] + strlen("network "), "\n");
		g_autofree char *want = name ? vw_store_file_base(name) : NULL;

		/* Only the name that leads back to this file. */
		if (want && strcmp(want, base) == 0)
			return g_steal_pointer(&name);
	}
	return NULL;
}

static int str_cmp(gconstpointer a, gconstpointer b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The entries of @dirfd ending in @suffix (regular files only). */
static GPtrArray *list_files(int dirfd, const char *suffix)
{
	GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *e;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return out;
	}
	while ((e = readdir(d))) {
		struct stat st;

		if (e->d_name[0] == '.' || !g_str_has_suffix(e->d_name, suffix) || strlen(e->d_name) == strlen(suffix))
			continue;
		if (fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
			g_ptr_array_add(out, g_strdup(e->d_name));
	}
	closedir(d);
	return out;
}

GPtrArray *vw_store_list(VwStore *s)
{
	g_autoptr(GPtrArray) files = list_files(s->dirfd, ".state");
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);

	for (guint i = 0; i < files->len; i++) {
		char *n = record_name(s, files->pdata[i]);

		if (n)
			g_ptr_array_add(names, n);
	}
	g_ptr_array_sort(names, str_cmp);
	return names;
}

/* ---------------------------------------------------------------------- */
/* Domains */

static bool uuid_safe(const char *uuid)
{
	size_t n = uuid ? strlen(uuid) : 0;

	if (n == 0 || n > 64)
		return false;
	for (const char *c = uuid; *c; c++)
		if (!g_ascii_isxdigit(*c) && *c != '-')
			return false;
	return true;
}

static int domains_dir(VwStore *s, bool create, GError **error)
{
	g_autofree char *path = g_build_filename(s->dir, "domains", NULL);

	return open_dir(s->dirfd, "domains", path, create, error);
}

static bool bad_uuid(const char *uuid, GError **error)
{
	g_set_error(error, VW_ERROR, VW_ERROR_INVALID, "'%.64s' is not a domain uuid", uuid ? uuid : "");
	return false;
}

bool vw_store_save_domain(VwStore *s, const char *uuid, const char *xml, GError **error)
{
	g_autofree char *f = g_strconcat(uuid, ".xml", NULL);
	int fd, e;

	if (!uuid_safe(uuid))
		return bad_uuid(uuid, error);
	fd = domains_dir(s, true, error);
	if (fd < 0)
		return false;
	e = write_file(s, fd, f, xml, strlen(xml), true);
	close(fd);
	if (e)
		return vw_set_errno(error, e, NULL, "cannot record domain %s in %s/domains", uuid, s->dir);
	return true;
}

/* The domains folder, to read from: -ENOENT (no error set) when there is
 * none, -1 with @error when it cannot be used. */
static int domains_dir_existing(VwStore *s, GError **error)
{
	g_autoptr(GError) err = NULL;
	int fd = domains_dir(s, false, &err);

	if (fd >= 0)
		return fd;
	if (g_error_matches(err, VW_ERROR, VW_ERROR_NOT_FOUND))
		return -ENOENT;
	g_propagate_error(error, g_steal_pointer(&err));
	return -1;
}

bool vw_store_load_domain(VwStore *s, const char *uuid, char **ret, GError **error)
{
	g_autofree char *f = g_strconcat(uuid, ".xml", NULL);
	gsize len;
	int fd, e;

	if (!uuid_safe(uuid))
		return bad_uuid(uuid, error);
	fd = domains_dir_existing(s, error);
	if (fd == -ENOENT)
		g_set_error(error, VW_ERROR, VW_ERROR_NOT_FOUND, "domain %s has no record in %s", uuid, s->dir);
	if (fd < 0)
		return false;
	e = read_file(fd, f, VW_MAX_FILE_SIZE, ret, &len);
	close(fd);
	if (e) {
		g_set_error(error, VW_ERROR, e == -ENOENT ? VW_ERROR_NOT_FOUND : VW_ERROR_STATE,
			    "domain %s has no usable record in %s/domains: %s", uuid, s->dir, g_strerror(-e));
		return false;
	}
	return true;
}

bool vw_store_remove_domain(VwStore *s, const char *uuid, GError **error)
{
	g_autofree char *f = g_strconcat(uuid, ".xml", NULL);
	int fd, e;

	if (!uuid_safe(uuid))
		return bad_uuid(uuid, error);
	fd = domains_dir_existing(s, error);
	if (fd < 0)
		return fd == -ENOENT;
	e = remove_file(fd, f);
	close(fd);
	if (e)
		return vw_set_errno(error, e, NULL, "cannot remove the record of domain %s", uuid);
	return true;
}

GPtrArray *vw_store_list_domains(VwStore *s)
{
	GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) files = NULL;
	int fd = domains_dir(s, false, NULL);

	if (fd < 0)
		return out;
	files = list_files(fd, ".xml");
	close(fd);
	for (guint i = 0; i < files->len; i++) {
		char *f = files->pdata[i];

		f[strlen(f) - 4] = '\0';
		if (uuid_safe(f))
			g_ptr_array_add(out, g_strdup(f));
	}
	return out;
}

/* ---------------------------------------------------------------------- */
/* The firewall's generation record */

#define GEN_FILE "firewall.gen"

/* The network namespace this process is in: a generation belongs to one. */
static char *netns_id(void)
{
	struct stat st;

	if (stat("/proc/self/ns/net", &st) != 0)
		return NULL;
	return g_strdup_printf("%lu:%lu", (unsigned long)st.st_dev, (unsigned long)st.st_ino);
}

/* The record, if it is there, whole, and of this network namespace. */
static VwGenRecord *gen_load(VwStore *s, const char *netns)
{
	g_autofree char *data = NULL;
	g_autoptr(VwGenRecord) r = NULL;
	gsize len;

	if (!netns || read_file(s->dirfd, GEN_FILE, 16u << 20, &data, &len) != 0)
		return NULL;
	r = vw_gen_record_parse(data, len);
	if (!r || g_strcmp0(r->netns, netns) != 0)
		return NULL;
	return g_steal_pointer(&r);
}

bool vw_store_gen_current(VwStore *s, guint32 gen, const char *id, const char *digest)
{
	g_autofree char *netns = netns_id();
	g_autoptr(VwGenRecord) r = gen_load(s, netns);

	return r && r->gen == gen && g_strcmp0(g_hash_table_lookup(r->nets, id), digest) == 0;
}

void vw_store_gen_update(VwStore *s, const VwNftResult *res, GPtrArray *ids, GPtrArray *digests)
{
	g_autofree char *netns = netns_id();
	g_autoptr(VwGenRecord) r = gen_load(s, netns);
	g_autofree char *text = NULL;
	guint32 expected;

	if (!res->have_gen || !netns) {
		remove_file(s->dirfd, GEN_FILE);
		return;
	}
	/* What the record said holds on only if the ruleset was as recorded
	 * when the reconcile read it, and nobody else committed since. */
	expected = res->gen_before + (res->gen_after != res->gen_before ? 1 : 0);
	if (!r || r->gen != res->gen_before || res->gen_after != expected) {
		g_clear_pointer(&r, vw_gen_record_free);
		r = vw_gen_record_new();
	}
	for (guint i = 0; res->gen_after == expected && i < ids->len; i++) {
		/* The caller records what the plan was made from anew. */
		g_hash_table_remove(r->inputs, ids->pdata[i]);
		if (digests)
			g_hash_table_replace(r->nets, g_strdup(ids->pdata[i]), g_strdup(digests->pdata[i]));
		else
			g_hash_table_remove(r->nets, ids->pdata[i]);
	}
	if (g_hash_table_size(r->nets) == 0) {
		remove_file(s->dirfd, GEN_FILE);
		return;
	}
	g_free(r->netns);
	r->netns = g_strdup(netns);
	r->gen = res->gen_after;
	text = vw_gen_record_format(r);
	/* A cache: when it cannot be written, the next apply reads the
	 * kernel in full, as without it. */
	if (write_file(s, s->dirfd, GEN_FILE, text, strlen(text), false) != 0)
		remove_file(s->dirfd, GEN_FILE);
}

bool vw_store_gen_of(VwStore *s, const char *id, guint32 *gen)
{
	g_autofree char *netns = netns_id();
	g_autoptr(VwGenRecord) r = gen_load(s, netns);

	if (!r || !g_hash_table_contains(r->nets, id))
		return false;
	*gen = r->gen;
	return true;
}

bool vw_store_gen_unchanged(VwStore *s, guint32 gen, const char *id, const char *input)
{
	g_autofree char *netns = netns_id();
	g_autoptr(VwGenRecord) r = gen_load(s, netns);

	return r && r->gen == gen && g_hash_table_contains(r->nets, id) &&
	       g_strcmp0(g_hash_table_lookup(r->inputs, id), input) == 0;
}

char *vw_store_gen_input(VwStore *s, const char *id)
{
	g_autofree char *netns = netns_id();
	g_autoptr(VwGenRecord) r = gen_load(s, netns);

	return r ? g_strdup(g_hash_table_lookup(r->inputs, id)) : NULL;
}

void vw_store_gen_set_inputs(VwStore *s, guint32 gen, GPtrArray *ids, GPtrArray *inputs)
{
	g_autofree char *netns = netns_id();
	g_autoptr(VwGenRecord) r = gen_load(s, netns);
	g_autofree char *text = NULL;
	bool changed = false;

	if (!r || r->gen != gen)
		return;
	for (guint i = 0; i < ids->len; i++) {
		const char *have = g_hash_table_lookup(r->inputs, ids->pdata[i]);
		const char *want = g_hash_table_contains(r->nets, ids->pdata[i]) ? inputs->pdata[i] : NULL;

		if (g_strcmp0(have, want) == 0)
			continue;
		changed = true;
		if (want)
			g_hash_table_replace(r->inputs, g_strdup(ids->pdata[i]), g_strdup(want));
		else
			g_hash_table_remove(r->inputs, ids->pdata[i]);
	}
	if (!changed)
		return;
	text = vw_gen_record_format(r);
	if (write_file(s, s->dirfd, GEN_FILE, text, strlen(text), false) != 0)
		remove_file(s->dirfd, GEN_FILE);
}

/* ---------------------------------------------------------------------- */
/* Learned addresses */

#define LEARNED_FILE "learned"

bool vw_store_load_learned(VwStore *s, GPtrArray **ret, GError **error)
{
	g_autofree char *data = NULL;
	g_autoptr(GError) err = NULL;
	gsize len;
	int e = read_file(s->dirfd, LEARNED_FILE, VW_LEARNED_MAX_SIZE, &data, &len);

	if (e == -ENOENT) {
		*ret = g_ptr_array_new_with_free_func((GDestroyNotify)vw_learned_free);
		return true;
	}
	if (e)
		return vw_set_errno(error, e, NULL, "cannot read %s/" LEARNED_FILE, s->dir);
	if (!vw_learned_parse(data, len, ret, &err)) {
		g_set_error(error, VW_ERROR, VW_ERROR_STATE, "%s/" LEARNED_FILE ": %s", s->dir, err->message);
		return false;
	}
	return true;
}

bool vw_store_save_learned(VwStore *s, GPtrArray *entries, GError **error)
{
	g_autofree char *text = vw_learned_format(entries);
	int e = entries->len ? write_file(s, s->dirfd, LEARNED_FILE, text, strlen(text), false)
			     : remove_file(s->dirfd, LEARNED_FILE);

	if (e)
		return vw_set_errno(error, e, NULL, "cannot write %s/" LEARNED_FILE, s->dir);
	return true;
}

guint64 vw_store_stamp(VwStore *s)
{
	struct stat st;

	if (fstat(s->dirfd, &st) < 0)
		return 0;
	return (guint64)st.st_mtim.tv_sec * G_GUINT64_CONSTANT(1000000000) + (guint64)st.st_mtim.tv_nsec;
}
