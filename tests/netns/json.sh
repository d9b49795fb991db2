#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The machine interface (docs/json.md), read as a consumer reads it: every
# document parsed by a real parser (python's json, prometheus_client's
# OpenMetrics and Prometheus text parsers) and its fields asserted, not
# grepped; `plan --nft` loaded by nft -f; `status --output` written whole.
#
#   wan 203.0.113.2 ── host wan0 203.0.113.1
#                      vw-js 192.168.193.1/24 (made by virtwire)
#                        └─ g1 192.168.193.10, serves tcp 80 (forward web: host 8080)
. "$(dirname "$0")/lib.sh"
need_root
need_tools nft python3
# Debian's python3 with Debian's python3-prometheus-client (not whichever
# python3 comes first in PATH).
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
"$PY" -c 'import prometheus_client' 2>/dev/null || vwt_skip "python3-prometheus-client is not installed"

J=$(dirname "$0")/../lib/jsoncheck.py
jc() { "$PY" "$J" "$@"; }

cat >"$VWT_TMP/js.xml" <<'XML'
<network>
  <name>js</name>
  <forward mode='open'/>
  <bridge name='vw-js' stp='off'/>
  <ip address='192.168.193.1' prefix='24'/>
  <metadata>
    <vw:network xmlns:vw="urn:virtwire:1" mode="nat">
      <vw:forward name="web" proto="tcp" host-port="8080" guest-address="192.168.193.10" guest-port="80"/>
    </vw:network>
  </metadata>
</network>
XML
sed -e 's/<name>js</<name>ssh</; s/vw-js/vw-ssh/; s/192\.168\.193/192.168.194/g' \
	-e 's/name="web" proto="tcp" host-port="8080"/name="ssh" proto="tcp" host-port="22"/' \
	"$VWT_TMP/js.xml" >"$VWT_TMP/ssh.xml"

# --- check ------------------------------------------------------------------
"$VW_BIN" check --format json "$VWT_TMP/js.xml" >"$VWT_TMP/check.json"
check "check --format json: a clean file, 0 errors and 0 warnings as fields" jc check "$VWT_TMP/check.json" 0 0
"$VW_BIN" check --format json "$VWT_TMP/ssh.xml" >"$VWT_TMP/check2.json"
check "check --format json: forward of port 22 on every address, 1 warning with file, line, code" \
	eval "jc check '$VWT_TMP/check2.json' 0 1 && grep -q '\"code\":\"forward-takes-ssh\"' '$VWT_TMP/check2.json' && grep -q '\"line\":[0-9]' '$VWT_TMP/check2.json'"

# --- plan -------------------------------------------------------------------
setup "plan --nft" eval '"$VW_BIN" plan --nft "$VWT_TMP/js.xml" >"$VWT_TMP/plan.nft"'
setup "plan --format json" eval '"$VW_BIN" plan --format json "$VWT_TMP/js.xml" >"$VWT_TMP/plan.json"'
check "plan --format json: networks, tables, sets, chains, links and sysctls as fields; its nftables text is plan --nft's" \
	jc plan "$VWT_TMP/plan.json" "$VWT_TMP/plan.nft" js
lacks "plan --nft prints the tables only (no link, sysctl or host-firewall line)" '^(link|sysctl|host-firewall|coexist) ' \
	cat "$VWT_TMP/plan.nft"
check_fails "plan --nft --format json is refused (two outputs)" "$VW_BIN" plan --nft --format json "$VWT_TMP/js.xml"
setup "a namespace to load the plan into" ns_add load
check "nft -f loads plan --nft as it is" nsx load nft -f "$VWT_TMP/plan.nft"
setup "nft -j list ruleset" eval 'nsx load nft -j list ruleset >"$VWT_TMP/kernel.json"'
check "the loaded tables have exactly the sets and chains plan --format json lists" \
	jc plan-sets "$VWT_TMP/plan.json" "$VWT_TMP/kernel.json"

# --- status, verify, metrics of a running network ---------------------------
setup "topology: wan, host" topo_wan
setup "apply" vw host apply "$VWT_TMP/js.xml"
setup "guest g1 on vw-js" topo_guest g1 vw-js 52:54:00:19:30:10 192.168.193.10/24 192.168.193.1
setup "apply again (the new port's flags)" vw host apply "$VWT_TMP/js.xml"
serve g1 tcp4 80
reach "the forward answers (traffic for the counters)" wan tcp4 203.0.113.1 8080 '^g1 203\.0\.113\.2$'
setup "status --format json" eval 'vw host status --format json >"$VWT_TMP/status.json"'
check "status --format json: the forward's target address and ports, host ports, counters and the bridge's traffic as numbers" \
	jc status "$VWT_TMP/status.json" js web 192.168.193.10 80 8080
vw host verify --all --format json >"$VWT_TMP/verify.json"
check "verify --format json: the network matches, as a boolean" jc verify "$VWT_TMP/verify.json" js true
setup "status --format openmetrics" eval 'vw host status --format openmetrics >"$VWT_TMP/metrics.txt"'
check "status --format openmetrics: both parsers read it, with status' figures" \
	jc metrics "$VWT_TMP/metrics.txt" "$VWT_TMP/status.json"
check "the metrics end with # EOF" eval '[ "$(tail -1 "$VWT_TMP/metrics.txt")" = "# EOF" ]'

mkdir -p "$VWT_TMP/textfile"
echo stale >"$VWT_TMP/textfile/virtwire.prom"
check "status --output FILE replaces the file" vw host status --format openmetrics --output "$VWT_TMP/textfile/virtwire.prom"
check "the file written is the metrics, readable by all, with nothing else left in its folder" \
	eval 'jc metrics "$VWT_TMP/textfile/virtwire.prom" "$VWT_TMP/status.json" &&
		[ "$(stat -c %a "$VWT_TMP/textfile/virtwire.prom")" = 644 ] &&
		[ "$(ls -A "$VWT_TMP/textfile")" = virtwire.prom ]'
check_fails "status --output into a folder that does not exist fails" \
	vw host status --format openmetrics --output "$VWT_TMP/nowhere/virtwire.prom"
cp "$VWT_TMP/check.out" "$VWT_TMP/nowhere.out"
check "… naming the file" grep -q "$VWT_TMP/nowhere/virtwire.prom" "$VWT_TMP/nowhere.out"
check_fails "status --output with the text format is refused" vw host status --output "$VWT_TMP/textfile/x"
check_fails "status --format yaml is refused" vw host status --format yaml

# A record that cannot be read is listed with its error, not left out.
printf 'garbage\n' >"$VWT_TMP/state-host/bad.state"
setup "status --format json with a damaged record" eval 'vw host status --format json >"$VWT_TMP/status2.json"'
check "status --format json lists the damaged record with its error" jc status-error "$VWT_TMP/status2.json" bad
check "… and the good network as before" jc status "$VWT_TMP/status2.json" js web 192.168.193.10 80 8080
check "status js shows that network only" eval 'vw host status --format json js >"$VWT_TMP/status3.json" &&
	jc status "$VWT_TMP/status3.json" js web 192.168.193.10 80 8080 && ! grep -q "\"name\":\"bad\"" "$VWT_TMP/status3.json"'
check_fails "status of a name that has no record fails" vw host status nosuch
cp "$VWT_TMP/check.out" "$VWT_TMP/nosuch.out"
check "… naming it" grep -q "network 'nosuch' has no record" "$VWT_TMP/nosuch.out"
rm -f "$VWT_TMP/state-host/bad.state"
check "teardown" vw host teardown js
done_testing
