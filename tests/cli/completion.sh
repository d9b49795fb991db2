#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# completion/virtwire, driven as bash drives it: COMP_WORDS and COMP_CWORD
# set, the function 'complete -p virtwire' names called, COMPREPLY read.
# Commands, each command's options (all of those --help lists), --format's
# values, network names from a state directory of the test's (--state-dir
# on the line; a hashed file name resolved through its record), XML files.
# Without bash-completion's library loaded: the completion's own fallbacks.
. "$(dirname "$0")/../lib/common.sh"

PATH=$VWT_TMP/bin:$PATH
mkdir -p "$VWT_TMP/bin" && ln -s "$(readlink -f "$VW_BIN")" "$VWT_TMP/bin/virtwire"
# shellcheck source=../../completion/virtwire
. "$VW_SRC/completion/virtwire"
FN=$(complete -p virtwire | sed -n 's/.*-F \([^ ]*\) virtwire$/\1/p')
check "'complete -p virtwire' names the function" test -n "$FN"

# complete WORDS...: the completions of the last word (may be ''), sorted,
# one a line.
complete_words() {
	COMP_WORDS=("$@")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMP_LINE="$*"
	COMPREPLY=()
	"$FN" virtwire "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
	printf '%s\n' "${COMPREPLY[@]}" | sort
}
# offers DESC WANT WORDS...: the completions are exactly WANT (space-separated).
offers() {
	local desc=$1 want got
	want=$(tr ' ' '\n' <<<"$2" | sed '/^$/d' | sort)
	shift 2
	got=$(complete_words "$@")
	if [ "$got" = "$want" ]; then
		ok "$desc"
	else
		not_ok "$desc"
		diag "wanted: $(echo $want)"
		diag "got:    $(echo $got)"
	fi
}

mapfile -t COMMANDS < <("$VW_BIN" help | sed -n '/^Commands:/,/^$/s/^  \([a-z-]*\) .*/\1/p')
offers "every command (and help, --help, --version)" "help --help --version ${COMMANDS[*]}" virtwire ''
offers "commands by prefix" "install-hooks" virtwire ins
offers "help COMMAND" "uninstall-hooks" virtwire help unin
for cmd in "${COMMANDS[@]}"; do
	offers "$cmd: every option its --help lists" \
		"$("$VW_BIN" "$cmd" --help | sed -n 's/^  \(-[a-zA-Z], \)\{0,1\}\(--[a-z-]*\).*/\2/p' | tr '\n' ' ')" \
		virtwire "$cmd" -
done
offers "check --format: the values --help names" "text json" virtwire check --format ''
offers "hook: the drivers" "network qemu lxc daemon" virtwire hook ''

# Network names: NAME.state's "network" line (a long or odd name's file is
# a hash).
S=$VWT_TMP/state
mkdir -m 700 "$S"
for n in lab web; do printf 'virtwire-state 2\nnetwork %s\nend\n' "$n" >"$S/$n.state"; done
printf 'virtwire-state 2\nnetwork odd%%2bone\nend\n' >"$S/=0123abcd.state"
offers "teardown: the networks of --state-dir DIR" "lab odd+one web" virtwire teardown --state-dir "$S" ''
offers "verify: by prefix, --state-dir=DIR" "web" virtwire verify "--state-dir=$S" w
offers "teardown: none from a state directory that is not there" "" virtwire teardown --state-dir "$VWT_TMP/none" ''

# Files: *.xml and folders.
mkdir -p "$VWT_TMP/files/nets" && touch "$VWT_TMP/files/web.xml" "$VWT_TMP/files/notes.txt"
cd "$VWT_TMP/files" || bail "cd"
offers "check: XML files and folders, not other files" "nets web.xml" virtwire check ''
offers "apply --state-dir: folders" "nets" virtwire apply --state-dir ''
offers "verify --xml: XML files" "nets web.xml" virtwire verify --xml ''
done_testing
