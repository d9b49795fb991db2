/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target: the addresses virtwire watch learned (the state
 * directory's "learned"), which every plan made from the records believes:
 * arbitrary bytes through vw_learned_parse. What parses must format to text
 * that parses again to the same entries.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <virtwire/state.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autoptr(GPtrArray) entries = NULL;
	g_autoptr(GPtrArray) again = NULL;
	g_autofree char *text = NULL, *text2 = NULL;

	if (!vw_learned_parse((const char *)data, size, &entries, NULL))
		return 0;
	for (guint i = 0; i < entries->len; i++) {
		const VwLearned *l = entries->pdata[i];

		if (!l->id || !*l->id || (l->addr.family != AF_INET && l->addr.family != AF_INET6))
			abort();
	}
	text = vw_learned_format(entries);
	if (!vw_learned_parse(text, strlen(text), &again, NULL))
		abort(); /* virtwire cannot read what it wrote */
	text2 = vw_learned_format(again);
	if (strcmp(text, text2) != 0 || again->len != entries->len)
		abort(); /* the entries changed on the way */
	return 0;
}
