#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The default build's modules (modules/module.h): libxml2 is loaded only by
# a call that parses XML, never by `--version` (LD_DEBUG=files lists every
# object the dynamic loader opens); a module that is missing or of another
# build makes the call fail and says which file and what to do; the
# executable has no run path (the loader would search it for every
# library). Skips for a build without modules (static_deps).
. "$(dirname "$0")/../lib/common.sh"

BUILD=$(dirname "$VW_BIN")
[ -e "$BUILD/virtwire-xml.so" ] || vwt_skip "this build has no modules (static_deps)"
need_tools readelf cc

NET=$VW_SRC/examples/nat-a.xml

# fails_saying DESC ERE COMMAND...: the command fails and says ERE.
fails_saying() {
	local desc=$1 ere=$2 rc=0
	shift 2
	_vwt_run "$@" || rc=$?
	if [ "$rc" != 0 ] && grep -Eq -- "$ere" "$VWT_TMP/check.out"; then
		ok "$desc"
	else
		not_ok "$desc"
		diag "expected a failure (status $rc) saying /$ere/:"
		_vwt_show
	fi
}

lacks "--version loads no libxml2, no libsystemd" 'libxml2|libsystemd|virtwire-(xml|firewalld)' loads "$VW_BIN" --version
lacks "--version loads no libnl-route-3 (the link messages are filled with libnl-3)" 'libnl-route' loads "$VW_BIN" --version
says "check loads the xml module" 'file=.*virtwire-xml\.so' loads "$VW_BIN" check "$NET"
says "and libxml2 behind it" 'file=libxml2' loads "$VW_BIN" check "$NET"
lacks "check loads no libsystemd (firewalld's module)" 'libsystemd|virtwire-firewalld' loads "$VW_BIN" check "$NET"
lacks "the executable has no run path" 'RPATH|RUNPATH' readelf -d "$VW_BIN"
lacks "nor a libxml2 or libsystemd of its own" 'libxml2|libsystemd' readelf -d "$VW_BIN"

# A copy without its modules.
mkdir "$VWT_TMP/alone"
cp "$VW_BIN" "$VWT_TMP/alone/virtwire"
check "without modules: --version still works" "$VWT_TMP/alone/virtwire" --version
fails_saying "without modules: check fails and names the module and the fix" \
	"cannot load virtwire's module virtwire-xml\.so: .*reinstall virtwire" "$VWT_TMP/alone/virtwire" check "$NET"

# A module of another build beside it: refused, not called.
mkdir "$VWT_TMP/other"
cp "$VW_BIN" "$VWT_TMP/other/virtwire"
cat >"$VWT_TMP/other.c" <<'C'
struct header { unsigned abi; const char *version; unsigned sizes[6]; };
const struct header vw_xml_module = { 1, "0.0.0-other", { 1, 2, 3, 4, 5, 6 } };
C
setup "a module of another build" cc -shared -fPIC -o "$VWT_TMP/other/virtwire-xml.so" "$VWT_TMP/other.c"
fails_saying "a module of another build is refused" \
	"virtwire-xml\.so: it is of another build of virtwire \(0\.0\.0-other\)" "$VWT_TMP/other/virtwire" check "$NET"

done_testing
