#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# md2man.sh GO-MD2MAN PAGE SECTION VERSION SOURCE OUTPUT [WHATIS]
#
# A man page from the markdown that is also the documentation: the title
# line is added here, so the source stays plain markdown (docs/metadata.md
# renders on its own), and go-md2man's tables are made to wrap
# (tables.awk). With WHATIS, the source's first heading becomes
# NAME ("PAGE - WHATIS") and DESCRIPTION; without it, the source has them.
set -eu
md2man=$1 page=$2 section=$3 version=$4 source=$5 output=$6
whatis=${7:-}
upper=$(printf '%s' "$page" | tr '[:lower:]' '[:upper:]')
{
	printf '%% %s %s "virtwire %s" "virtwire"\n\n' "$upper" "$section" "$version"
	if [ -n "$whatis" ]; then
		printf '# NAME\n\n%s - %s\n\n# DESCRIPTION\n\n' "$page" "$whatis"
		# The first heading is the page's title: NAME and DESCRIPTION
		# stand for it.
		sed '1{/^# /d}' "$source"
	else
		cat "$source"
	fi
} | "$md2man" | awk -f "$(dirname "$0")/tables.awk" >"$output.tmp"
mv "$output.tmp" "$output"
