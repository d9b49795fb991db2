/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Diagnostics: findings about user input (a file and line, a severity, a
 * stable code, a message and an optional hint), gathered by library code and
 * printed once by the CLI. Library code never prints and never exits.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>

typedef enum {
	VW_SEV_ERROR,
	VW_SEV_WARNING,
	VW_SEV_NOTE,
} VwSeverity;

/* Where a model object came from. @file is interned (g_intern_string), so a
 * location is a plain value that can be copied freely. */
typedef struct {
	const char *file;
	int line;
} VwLoc;

static inline VwLoc vw_loc(const char *file, int line)
{
	VwLoc l = { file, line };

	return l;
}

typedef struct {
	VwLoc loc;
	VwSeverity severity;
	char *code;    /* stable, machine-readable: "forward-collision" */
	char *message; /* one line, no trailing period */
	char *hint;    /* how to fix it, or NULL */
} VwDiag;

typedef struct {
	GPtrArray *items; /* of VwDiag* */
	/* Stop collecting past this many findings (a broken file of 100,000
	 * forwards must not print 100,000 lines); 0 = unlimited. */
	guint limit;
	guint dropped;
} VwDiags;

VwDiags *vw_diags_new(void);
void vw_diags_free(VwDiags *d);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VwDiags, vw_diags_free)

/* Adds a finding. @hint may be NULL. */
void vw_diags_add(VwDiags *d, VwLoc loc, VwSeverity sev, const char *code, const char *hint,
		  const char *fmt, ...) G_GNUC_PRINTF(6, 7);

#define vw_error(d, loc, code, hint, ...) vw_diags_add((d), (loc), VW_SEV_ERROR, (code), (hint), __VA_ARGS__)
#define vw_warning(d, loc, code, hint, ...) \
	vw_diags_add((d), (loc), VW_SEV_WARNING, (code), (hint), __VA_ARGS__)

guint vw_diags_count(const VwDiags *d, VwSeverity sev);
bool vw_diags_has_errors(const VwDiags *d);

/* Sorts findings by file, line, then order of discovery (stable). */
void vw_diags_sort(VwDiags *d);

/* GCC-style text: "file:line: error: message [code]" and an indented
 * "  hint: ..." line. Returns a newly allocated string. */
char *vw_diags_format_text(const VwDiags *d);
/* A JSON document: {"findings":[{file,line,severity,code,message,hint}],
 * "errors":N,"warnings":N}. */
char *vw_diags_format_json(const VwDiags *d);

const char *vw_severity_to_string(VwSeverity sev);

/* JSON string escaping, shared by every JSON writer of virtwire. */
void vw_json_append_string(GString *out, const char *s);
