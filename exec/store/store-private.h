/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The state directory's internals, exported for tests. */
#pragma once

#include <virtwire/exec.h>

/* The base of NAME's files: the name itself when it is short and plain
 * (letters, digits, '_', '-', '.'), else '=' and its SHA-256, so that no
 * name is too long, or strange, for a file name. */
char *vw_store_file_base(const char *name);
