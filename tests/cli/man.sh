#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# virtwire(8) against the code: every command 'virtwire help' lists has its
# section in man/virtwire.8.md ("### CMD …"), and every option its --help
# lists (GOption prints every entry of the command's table) is described in
# that section as **--OPTION**; -h/--help and --version once for all. The
# check must be able to fail: it is run again on a copy of the page without
# one option, and on one without a command, and must fail both times. With
# go-md2man, the page built from it is checked too.
. "$(dirname "$0")/../lib/common.sh"

PAGE=$VW_SRC/man/virtwire.8.md
mapfile -t COMMANDS < <("$VW_BIN" help | sed -n '/^Commands:/,/^$/s/^  \([a-z-]*\) .*/\1/p')

# section FILE CMD: the lines of CMD's section.
section() {
	awk -v cmd="$2" '/^#/ { on = ($0 ~ "^### " cmd "( |$)") } on' "$1"
}

# missing FILE: prints each command or option FILE does not describe; fails
# when there is one.
missing() {
	local page=$1 cmd o n=0
	for o in --help --version; do
		grep -q -- "\*\*$o\*\*" "$page" || { echo "$o"; n=$((n + 1)); }
	done
	for cmd in "${COMMANDS[@]}"; do
		if [ -z "$(section "$page" "$cmd")" ]; then
			echo "command $cmd"
			n=$((n + 1))
			continue
		fi
		for o in $("$VW_BIN" "$cmd" --help | sed -n 's/^  \(-[a-zA-Z], \)\{0,1\}\(--[a-z-]*\).*/\2/p'); do
			case $o in --help | --version) continue ;; esac
			section "$page" "$cmd" | grep -q -- "\*\*$o\*\*" || { echo "$cmd $o"; n=$((n + 1)); }
		done
	done
	[ "$n" = 0 ]
}

check "'virtwire help' lists the commands" test "${#COMMANDS[@]}" -ge 11
check "man/virtwire.8.md describes every command and every option of each" missing "$PAGE"
# Without one option, or one command, the check fails.
sed '/^\*\*--adopt\*\*/d' "$PAGE" >"$VWT_TMP/no-option.md"
check_fails "... and fails on a page without apply's --adopt" missing "$VWT_TMP/no-option.md"
missing "$VWT_TMP/no-option.md" >"$VWT_TMP/missing"
check "... naming it" grep -qx "apply --adopt" "$VWT_TMP/missing"
sed 's/^### watch /### wutch /' "$PAGE" >"$VWT_TMP/no-command.md"
check_fails "... and fails on a page without the command watch" missing "$VWT_TMP/no-command.md"
says "virtwire(8) says the binary reads no environment" "reads no environment variable" cat "$PAGE"

BUILT=$(dirname "$VW_BIN")/man/virtwire.8
if [ -f "$BUILT" ]; then
	check "the built virtwire(8) has every command" \
		bash -c 'for c in "$@"; do grep -q "^\.SS $c\( \|$\)" "$0" || { echo "$c"; exit 1; }; done' "$BUILT" "${COMMANDS[@]}"
	says "the built virtwire-metadata(5) is docs/metadata.md's reference" 'urn:virtwire:1' \
		cat "$(dirname "$VW_BIN")/man/virtwire-metadata.5"
else
	skip "the built man pages" "go-md2man is not installed (meson -Dman=disabled)"
fi
done_testing
