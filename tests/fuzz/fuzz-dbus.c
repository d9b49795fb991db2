/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target: a message from the system bus (exec/hostfw/dbus.c),
 * which virtwire reads from whoever answers on the bus' socket: arbitrary
 * bytes through vw_dbus_message_size and vw_dbus_parse. A message parses
 * only at the size its header gives, and what parses is whole: a
 * signature, and a body (when there is one) that is a tuple.
 */
#include <stdint.h>
#include <stdlib.h>

#include "dbus-private.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_auto(VwDbusMsg) m = { 0 };
	gsize want = size >= 16 ? vw_dbus_message_size(data) : 0;

	if (!vw_dbus_parse(data, size, &m, NULL))
		return 0;
	if (want != size || !m.signature)
		abort();
	if (m.body && !g_variant_is_of_type(m.body, G_VARIANT_TYPE_TUPLE))
		abort();
	return 0;
}
