/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target: the firewall's generation record (firewall.gen), a
 * cache virtwire reads back and believes: arbitrary bytes through
 * vw_gen_record_parse. A record that parses must format to text that parses
 * again to the same record.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <virtwire/state.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autoptr(VwGenRecord) r = vw_gen_record_parse((const char *)data, size);
	g_autoptr(VwGenRecord) again = NULL;
	g_autofree char *text = NULL, *text2 = NULL;

	if (!r)
		return 0;
	if (!r->netns)
		abort();
	text = vw_gen_record_format(r);
	again = vw_gen_record_parse(text, strlen(text));
	if (!again)
		abort(); /* virtwire cannot read what it wrote */
	text2 = vw_gen_record_format(again);
	if (strcmp(text, text2) != 0 || again->gen != r->gen ||
	    g_hash_table_size(again->nets) != g_hash_table_size(r->nets))
		abort(); /* the record changed on the way */
	return 0;
}
