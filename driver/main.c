/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The production binary: the CLI with nothing but its own options. */
#include "cli.h"

int main(int argc, char **argv)
{
	return vw_cli_main(argc, argv, NULL);
}
