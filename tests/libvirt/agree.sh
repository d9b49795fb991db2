#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# tests/libvirt/agree.sh - the verdicts that the golden cases of tests/xml/
# record for libvirt (a case's file "libvirt": "accepts", "refuses", or one
# line per version, "9 refuses") are libvirt's own: every XML file of such a
# case goes to the sandboxed libvirtd with `virsh net-define --validate` or
# `virsh define --validate` (and is undefined again); the case's verdict is
# "accepts" when libvirt takes every file, and must be the one recorded for
# this libvirt's major version. The unit test xml-cases then holds virtwire
# check to it: what libvirt accepts, virtwire must accept, or docs/ must say
# why (why-refused). One TAP line per case.
#
# Domains of type 'kvm' are defined as type 'qemu' on a machine without
# /dev/kvm: the verdict is libvirt's on the XML, not on this machine's
# hardware. Files that are not a <network> or a <domain> (hookData,
# networkport: libvirt defines neither) are left out; a case with no other
# file is not counted. Exit: 0 pass, 1 fail, 77 skip. TAP on stdout.
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/libvirt/lib.sh
source "$HERE/lib.sh"
vwt_require

T0=$(_vw_now_ms)
vwt_sandbox "agr$$"
VERSION=$(vw_sandbox_libvirt_version)
MAJOR=${VERSION%%.*}
setup "the libvirt version is known" test -n "$MAJOR"
KVM=1
[[ -e /dev/kvm ]] || KVM=0

# verdict_for CASE: the recorded verdict for this major version, or nothing.
verdict_for() {
	local line v
	while read -r line; do
		[[ -z "$line" || "$line" == '#'* ]] && continue
		if [[ "$line" != *' '* ]]; then
			echo "$line"
			return
		fi
		v=${line%% *}
		[[ "$v" == "$MAJOR" ]] && { echo "${line#* }"; return; }
	done <"$1/libvirt"
}

xml_name() { sed -n 's:.*<name>\(.*\)</name>.*:\1:p' "$1" | head -1; }

# define_one FILE: libvirt's verdict on one file ("accepts"/"refuses", its
# words on stdout); "skip" for what libvirt cannot define.
define_one() {
	local f=$1 x=$VWT_TMP/define.xml name out rc=0 virsh=vw_virsh
	case $(grep -m1 -oE '^<(network|domain)[ >]' "$f") in
	'<network'*)
		name=$(xml_name "$f")
		out=$(vw_virsh net-define --validate "$f" 2>&1) || rc=$?
		[[ $rc == 0 ]] && vw_virsh net-undefine "$name" >/dev/null 2>&1
		;;
	'<domain'*)
		cp "$f" "$x"
		((KVM)) || sed -i "s/<domain type=\(['\"]\)kvm\1/<domain type='qemu'/" "$x"
		grep -q "<domain type=['\"]lxc['\"]" "$x" && virsh=vw_virsh_lxc
		name=$(xml_name "$x")
		out=$($virsh define --validate "$x" 2>&1) || rc=$?
		[[ $rc == 0 ]] && $virsh undefine "$name" >/dev/null 2>&1
		;;
	*)
		echo skip
		return
		;;
	esac
	if [[ $rc == 0 ]]; then echo accepts; else echo "refuses: $(tr '\n' ' ' <<<"$out")"; fi
}

mapfile -t CASES < <(find "$VW_SRC/tests/xml" -mindepth 2 -maxdepth 2 -name libvirt -printf '%h\n' | sort)
setup "tests/xml has cases with libvirt's verdict (found ${#CASES[@]})" test "${#CASES[@]}" -ge 20
counted=0
for c in "${CASES[@]}"; do
	name=${c##*/}
	want=$(verdict_for "$c")
	[[ -n "$want" ]] || continue
	got=accepts
	words=()
	files=0
	for f in "$c"/*.xml; do
		v=$(define_one "$f")
		[[ "$v" == skip ]] && continue
		files=$((files + 1))
		if [[ "$v" != accepts ]]; then
			got=refuses
			words+=("${f##*/}: ${v#refuses: }")
		fi
	done
	((files)) || continue
	counted=$((counted + 1))
	if [[ "$got" == "$want" ]]; then
		ok "$name: libvirt $MAJOR $got its $files file(s), as the case records"
	else
		not_ok "$name: libvirt $MAJOR $got its $files file(s), the case records '$want'"
		for w in "${words[@]}"; do diag "$w"; done
	fi
done
check "every case with a verdict for libvirt $MAJOR was defined ($counted)" test "$counted" -ge 20

diag "agree.sh: libvirt $VERSION, took $(($(_vw_now_ms) - T0)) ms"
done_testing
