# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
#
# tools/debian-tree.sh - Debian 12 trees for CI, cached under
# /var/cache/virtwire-ci (sourced by tools/package-test).
#
#   vw_tree_make ROOT KEY [SRC:DST]... -- SCRIPT
#       debootstrap bookworm (minbase) into ROOT, apt-get update and the sh
#       SCRIPT in it (vw_tree_run, each SRC bound at DST) that installs
#       what the tree needs, unless ROOT's stamp already holds KEY (a hash
#       of everything that makes the tree: the caller's). SCRIPT's output
#       lines "stamp: TEXT" go into the stamp (its lines after the key).
#       Built beside
#       ROOT and renamed into place: a failed or interrupted build leaves no
#       half tree. The downloaded packages stay in VW_TREE_DEBS (default
#       /var/cache/virtwire-ci/debs) for the next build.
#   vw_tree_run ROOT SCRATCH overlay|bind [SRC:DST]... -- CMD...
#       CMD as root of the tree ROOT, in a private mount namespace that
#       pivot_roots into it: "overlay" over an upper layer in SCRATCH (the
#       tree stays as it is), "bind" on ROOT itself (CMD changes the tree).
#       proc and /dev are mounted for it, each SRC is bound at DST in the
#       tree, the environment is emptied but for PATH, HOME, LC_ALL and
#       DEBIAN_FRONTEND. Never a plain chroot: the machine's root is out
#       of reach, and every mount dies with the namespace.
#
# In every tree, a policy-rc.d that exits 101: no service ever starts there.

: "${VW_TREE_DEBS:=/var/cache/virtwire-ci/debs}"
: "${VW_DEBIAN_MIRROR:=http://deb.debian.org/debian}"
VW_TREE_SUITE=bookworm

vw_tree_run() {
	local root=$1 scratch=$2 mode=$3
	shift 3
	mkdir -p "$scratch/mnt" || return
	unshare -m --propagation private /bin/bash -euc '
		root=$1 scratch=$2 mode=$3
		shift 3
		new=$scratch/mnt
		if [[ $mode == overlay ]]; then
			mkdir -p "$scratch/upper" "$scratch/work"
			mount -n -t overlay overlay \
				-o "lowerdir=$root,upperdir=$scratch/upper,workdir=$scratch/work" "$new"
		else
			mount -n --bind "$root" "$new"
		fi
		mount -n -t proc proc "$new/proc"
		mount -n --rbind /dev "$new/dev"
		while [[ $1 != -- ]]; do
			mkdir -p "$new/${1#*:}"
			mount -n --bind "${1%%:*}" "$new/${1#*:}"
			shift
		done
		shift
		cd "$new"
		# The old root stacked under the new one, then detached.
		pivot_root . .
		umount -n -l .
		cd /
		exec /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C \
			DEBIAN_FRONTEND=noninteractive "$@"
	' vw-tree "$root" "$scratch" "$mode" "$@"
}

# The stamp's first line: "key KEY".
vw_tree_current() {
	[[ "$(head -n 1 "$1/.virtwire-tree" 2>/dev/null)" == "key $2" ]]
}

vw_tree_make() {
	local root=$1 key=$2 new t0 binds=()
	shift 2
	while [[ $1 != -- ]]; do binds+=("$1"); shift; done
	local script=$2
	vw_tree_current "$root" "$key" && return 0
	command -v debootstrap >/dev/null || { echo "debian-tree: debootstrap is missing (tools/bootstrap)" >&2; return 1; }
	mkdir -p "$(dirname "$root")" "$VW_TREE_DEBS" || return
	chmod 0755 "$(dirname "$root")"
	new=$root.new.$$
	t0=$(date +%s)
	(
		set -euo pipefail
		trap 'rm -rf --one-file-system "$new" "$new.scratch"; rm -f "$new.log"' EXIT
		echo "debian-tree: debootstrap $VW_TREE_SUITE into $new" >&2
		debootstrap --variant=minbase --cache-dir="$VW_TREE_DEBS" "$VW_TREE_SUITE" "$new" "$VW_DEBIAN_MIRROR" \
			>"$new.log" 2>&1 || { tail -n 30 "$new.log" >&2; exit 1; }
		printf '#!/bin/sh\n# A tree of virtwire'"'"'s CI: no service ever starts here.\nexit 101\n' \
			>"$new/usr/sbin/policy-rc.d"
		chmod 0755 "$new/usr/sbin/policy-rc.d"
		printf 'deb %s %s main\ndeb %s %s-updates main\n' "$VW_DEBIAN_MIRROR" "$VW_TREE_SUITE" \
			"$VW_DEBIAN_MIRROR" "$VW_TREE_SUITE" >"$new/etc/apt/sources.list"
		cp /etc/resolv.conf "$new/etc/resolv.conf" 2>/dev/null || true
		echo "debian-tree: apt-get into $new" >&2
		vw_tree_run "$new" "$new.scratch" bind "$VW_TREE_DEBS:/var/cache/apt/archives" "${binds[@]}" -- \
			sh -euc "apt-get update -q; $script" >"$new.log" 2>&1 ||
			{ tail -n 30 "$new.log" >&2; exit 1; }
		{
			printf 'key %s\n' "$key"
			sed -n 's/^stamp: //p' "$new.log"
			printf 'built %s in %ss\n' "$(date -u +%FT%TZ)" $(($(date +%s) - t0))
		} >"$new/.virtwire-tree"
		rm -rf --one-file-system "$root" "$new.scratch"
		rm -f "$new.log"
		mv "$new" "$root"
		trap - EXIT
		echo "debian-tree: $root made in $(($(date +%s) - t0)) s" >&2
	)
}
