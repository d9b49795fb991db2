#!/bin/sh
# meson install script (option install_hooks): runs the installed virtwire's
# install-hooks into $DESTDIR's libvirt hook folder.
set -eu
binary=$1
hooks_dir=${DESTDIR:-}$2
"${DESTDIR:-}$binary" install-hooks --hooks-dir "$hooks_dir" --binary "$binary"
