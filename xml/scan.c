/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A look at the bytes before libxml2 parses them. libxml2 2.9 checks the
 * attributes of one start tag for duplicates pair by pair, in time
 * quadratic in their number (80,000 attributes on one element, 790 KB,
 * took 9 s; nothing stops it from inside, as no callback runs before the
 * tag is complete). No libvirt element has more than a few dozen, so a tag
 * with more than VW_MAX_ATTRIBUTES is refused before parsing.
 *
 * The scan knows what the parser knows about where tags are: comments,
 * CDATA sections, processing instructions and quoted attribute values. It
 * sees the bytes the parser sees (the document is read as UTF-8, in which
 * no byte of a multibyte character is ASCII), so up to the first point
 * where the document is not well-formed (where the parser stops, see
 * load.c) it counts at least the attributes the parser collects.
 */
#include <string.h>

#include "xml-private.h"

static bool starts(const char *p, const char *end, const char *s)
{
	size_t n = strlen(s);

	return (size_t)(end - p) >= n && memcmp(p, s, n) == 0;
}

/* The last byte of @close after @p, or NULL. */
static const char *past(const char *p, const char *end, const char *close)
{
	const char *at = memmem(p, (size_t)(end - p), close, strlen(close));

	return at ? at + strlen(close) - 1 : NULL;
}

/* The '>' ending the start tag at @p (after the '<'), or NULL when there is
 * none or the tag has more than @max attributes (*@too_many). An attribute
 * is Name Eq AttValue: one '=' outside quotes each. */
static const char *start_tag(const char *p, const char *end, unsigned max, bool *too_many)
{
	unsigned attrs = 0;

	for (; p < end; p++) {
		if (*p == '"' || *p == '\'') {
			p = memchr(p + 1, *p, (size_t)(end - p - 1));
			if (!p)
				return NULL;
		} else if (*p == '>') {
			return p;
		} else if (*p == '=' && ++attrs > max) {
			*too_many = true;
			return NULL;
		}
	}
	return NULL;
}

bool vw_xml_scan_attributes(const char *buf, size_t len, unsigned max, VwXmlScanFail *fail)
{
	const char *p = buf, *end = buf + len;

	while (p < end && (p = memchr(p, '<', (size_t)(end - p)))) {
		const char *tag = p++;
		const char *stop;
		bool too_many = false;

		if (starts(p, end, "!--"))
			stop = past(p + 3, end, "-->");
		else if (starts(p, end, "![CDATA["))
			stop = past(p, end, "]]>");
		else if (starts(p, end, "?"))
			stop = past(p, end, "?>");
		else if (starts(p, end, "!"))
			/* A DOCTYPE, which the parser refuses before any element,
			 * or not XML, where it stops. */
			return true;
		else if (starts(p, end, "/"))
			stop = memchr(p, '>', (size_t)(end - p));
		else
			stop = start_tag(p, end, max, &too_many);
		if (too_many) {
			fail->name = p;
			fail->name_len = 0;
			while (p + fail->name_len < end && !strchr(" \t\r\n/>", p[fail->name_len]))
				fail->name_len++;
			fail->line = 1;
			for (const char *c = buf; (c = memchr(c, '\n', (size_t)(tag - c))); c++)
				fail->line++;
			return false;
		}
		/* Unterminated: the parser stops there too. */
		if (!stop)
			return true;
		p = stop + 1;
	}
	return true;
}
