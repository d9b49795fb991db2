/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target: a network's record (NAME.state), which virtwire reads
 * back as input it did not just write. The input is TEXT, or TEXT \0 NAME,
 * or TEXT \0 NAME \0 WHERE (split at the last NULs, so TEXT may hold NULs
 * too): the network's name and the file's name in messages are arbitrary.
 *
 * Besides crashes, leaks and undefined behaviour: a record that parses must
 * format to text that parses again to the same record.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <virtwire/state.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The last NUL of data[0..end), or NULL. */
static const uint8_t *last_nul(const uint8_t *data, size_t end)
{
	while (end-- > 0)
		if (data[end] == '\0')
			return data + end;
	return NULL;
}

static void assert_stable(const VwState *s, const char *name, const char *where)
{
	g_autofree char *text = vw_state_format(s);
	g_autoptr(VwState) again = NULL;
	g_autoptr(VwState) copy = vw_state_copy(s);
	g_autofree char *copied = vw_state_format(copy);
	g_autofree char *text2 = NULL;

	if (strcmp(text, copied) != 0)
		abort(); /* a copy that is not the same record */
	if (!vw_state_parse(text, strlen(text), name, where, &again, NULL))
		abort(); /* virtwire cannot read what it wrote */
	text2 = vw_state_format(again);
	if (strcmp(text, text2) != 0)
		abort(); /* the record changed on the way */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *second = last_nul(data, size);
	const uint8_t *first = second ? last_nul(data, (size_t)(second - data)) : NULL;
	g_autofree char *name = NULL, *where = NULL;
	g_autoptr(VwState) s = NULL;
	g_autoptr(GError) err = NULL;
	size_t len = size;

	if (size > VW_STATE_MAX_SIZE + 16)
		return 0;
	if (first) {
		len = (size_t)(first - data);
		name = g_strndup((const char *)first + 1, (gsize)(second - first - 1));
		where = g_strndup((const char *)second + 1, (gsize)(data + size - second - 1));
	} else if (second) {
		len = (size_t)(second - data);
		name = g_strndup((const char *)second + 1, (gsize)(data + size - second - 1));
		where = g_strdup("fuzz.state");
	} else {
		name = g_strdup("web");
		where = g_strdup("fuzz.state");
	}
	if (vw_state_parse((const char *)data, len, name, where, &s, &err)) {
		if (err)
			abort();
		assert_stable(s, name, where);
		for (guint i = 0; i < s->ports->len; i++)
			if (!vw_state_find_port(s, ((VwStatePort *)s->ports->pdata[i])->uuid))
				abort();
	} else if (!err || err->domain != VW_ERROR || err->code != VW_ERROR_STATE || s) {
		abort(); /* refused without saying so, or not as VW_ERROR_STATE */
	}
	return 0;
}
