#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# What virtwire's libvirt hooks add to `virsh net-start` and `virsh
# net-destroy`: both timed (the virsh process, start to exit) against a real
# libvirtd in a sandbox (tests/libvirt/sandbox.sh: netns vwt-bvsh-PID, its
# own /etc/libvirt, /run/libvirt ... in a private mount namespace; nothing of
# the machine's own libvirt is touched), with virtwire's hooks installed
# (`virtwire install-hooks --hooks-dir SANDBOX --state-dir ...`) and without.
# Target: the hooks add under 10% to either.
#
# Networks (defined once, started and destroyed in turn):
#   vw-nat    forward mode='open', virtwire mode nat, 3 forwards, DHCP: a
#             typical virtwire network (without the hooks libvirt starts it
#             as an open network, with no firewall at all)
#   lv-nat    libvirt's own <forward mode='nat'/>, DHCP, no virtwire
#             metadata (like 'default'): the hooks run but have nothing to do
#   lv-natfw  libvirt's NAT with 3 virtwire forwards (coexistence: virtwire
#             adds the forwards and one accept in libvirt's FORWARD chain)
#
# One libvirtd; the hooks are installed or removed between rounds and
# libvirtd is sent SIGHUP (it looks for hooks at start and at SIGHUP). ROUNDS
# rounds (default 6), each measuring both settings, in alternating order, so
# a slow spell of the machine (a shared 2-core VM) hits both alike. After
# each switch an untimed cycle per network warms up and checks that the
# switch took: with the hooks, virtwire's state record of vw-nat appears at
# net-start and goes at net-destroy; without them, nothing of virtwire does.
# CYCLES (default 30) timed start+destroy cycles per network and setting.
#
#   sudo bench/virsh.sh       (CYCLES=30 ROUNDS=6 NETWORKS="vw-nat lv-nat lv-natfw"
#                              MAX_SECONDS=270; VW_BIN=...)
. "$(dirname "$0")/lib.sh"

need_root
need_tools virsh ip nsenter unshare nft python3
need_virtwire
[ -x /usr/sbin/libvirtd ] || die "/usr/sbin/libvirtd is missing (libvirt-daemon)"
bench_start

T=$BENCH_TMP
CYCLES=${CYCLES:-30}
ROUNDS=${ROUNDS:-6}
NETWORKS=${NETWORKS:-"vw-nat lv-nat lv-natfw"}
MAX_SECONDS=${MAX_SECONDS:-270}
SETTINGS=${SETTINGS:-"nohooks nullhooks hooks"}
NSET=$(wc -w <<<"$SETTINGS")
PER_ROUND=$(((CYCLES + ROUNDS - 1) / ROUNDS))
record settings "CYCLES=$CYCLES ROUNDS=$ROUNDS ($PER_ROUND cycles per round and setting) NETWORKS=$NETWORKS SETTINGS=$SETTINGS MAX_SECONDS=$MAX_SECONDS"
record libvirt "$(/usr/sbin/libvirtd --version)"

# virtwire's state on a tmpfs, as /run/virtwire is on a normal host.
if [ -z "${STATE_BASE:-}" ]; then
	if [ "$(stat -f -c %T /dev/shm 2>/dev/null)" = tmpfs ]; then STATE_BASE=/dev/shm; else STATE_BASE=$T; fi
fi
STATE=$(mktemp -d "$STATE_BASE/vwt-bench-virsh-$$.XXXXXX") || die "cannot create a state directory"
vwt_cleanup_add 'rm -rf "$STATE"'
rmdir "$STATE" # virtwire makes it (0700)

# The sandbox library chains our EXIT trap: its stop runs first, then ours.
VW_SB_QUIET=${VW_SB_QUIET:-1}
# shellcheck source=tests/libvirt/sandbox.sh
. "$VW_SRC/tests/libvirt/sandbox.sh"
vw_sandbox_start "bvsh-$$" || die "the sandboxed libvirtd does not start"
URI="qemu:///system?socket=$VW_SB_SOCK"
record sandbox "netns $VW_SB_NS, libvirtd pid $VW_SB_PID, state $STATE"

# The networks. Addresses in 198.18.0.0/15 (RFC 2544 benchmarking range).
netxml() {
	local name=$1 k=$2 fwd=$3 meta=""
	local net="198.18.$k"
	if [ "$name" = vw-nat ] || [ "$name" = lv-natfw ]; then
		meta="<metadata><vw:network xmlns:vw='urn:virtwire:1'$([ "$fwd" = open ] && echo " mode='nat'")>"
		meta="$meta<vw:forward name='ssh' proto='tcp' host-port='$((2200 + k))' guest-address='$net.10' guest-port='22'/>"
		meta="$meta<vw:forward name='web' proto='tcp' host-port='$((8000 + k))' guest-address='$net.10' guest-port='80'/>"
		meta="$meta<vw:forward name='dns' proto='udp' host-port='$((5300 + k))' guest-address='$net.11' guest-port='53'/>"
		meta="$meta</vw:network></metadata>"
	fi
	cat <<EOF
<network>
  <name>$name</name>
  <forward mode='$fwd'/>
  <bridge name='vwb-$name' stp='on' delay='0'/>
  <ip address='$net.1' prefix='24'>
    <dhcp>
      <range start='$net.100' end='$net.200'/>
    </dhcp>
  </ip>
  $meta
</network>
EOF
}
k=0
for n in $NETWORKS; do
	case $n in
	vw-nat) fwd=open ;;
	lv-nat | lv-natfw) fwd=nat ;;
	*) die "unknown network $n (vw-nat, lv-nat, lv-natfw)" ;;
	esac
	netxml "$n" "$k" "$fwd" >"$T/$n.xml"
	virsh -q -c "$URI" net-define "$T/$n.xml" >/dev/null || die "net-define $n failed"
	k=$((k + 1))
done

# A hook that does nothing: libvirt's own cost of calling a hook (fork,
# exec, stdin, wait, its log lines), as virtwire's entry is called: a /bin/sh
# script that execs the program (here cat, reading the XML).
NULL_ENTRY=50-vwt-null
printf '#!/bin/sh\nexec cat >/dev/null\n' >"$T/$NULL_ENTRY"
chmod 755 "$T/$NULL_ENTRY"

# use SETTING: the hooks of that setting, and nothing else, in the
# sandbox's hook folders; then SIGHUP (libvirtd rescans them).
use() {
	local d
	"$VW_BIN" uninstall-hooks --hooks-dir "$VW_SB_HOOKS" >/dev/null || return
	for d in network qemu lxc daemon; do rm -f "$VW_SB_HOOKS/$d.d/$NULL_ENTRY"; done
	case $1 in
	hooks) "$VW_BIN" install-hooks --hooks-dir "$VW_SB_HOOKS" --state-dir "$STATE" >/dev/null || return ;;
	nullhooks) for d in network qemu lxc daemon; do cp -p "$T/$NULL_ENTRY" "$VW_SB_HOOKS/$d.d/" || return; done ;;
	esac
	vw_sandbox_reload
}

# in_effect SETTING: one untimed cycle of every network (a warm-up), and
# libvirtd's log must show the network hooks of SETTING called and no
# other (it rescans them in its SIGHUP handler thread: a few tries, bounded,
# until the switch shows). No virtwire record may be left after a destroy.
in_effect() {
	local want lines got net
	case $1 in
	hooks) want=50-virtwire ;;
	nullhooks) want=$NULL_ENTRY ;;
	*) want=none ;;
	esac
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		sleep 0.3
		lines=$(wc -l <"$VW_SB_LOG")
		for net in $NETWORKS; do
			virsh -q -c "$URI" net-start "$net" >/dev/null 2>"$T/err" || { cat "$T/err" >&2; return 1; }
			virsh -q -c "$URI" net-destroy "$net" >/dev/null 2>"$T/err" || { cat "$T/err" >&2; return 1; }
			[ -e "$STATE/$net.state" ] && { echo "virtwire's record of $net left after net-destroy" >&2; return 1; }
		done
		got=$(tail -n +$((lines + 1)) "$VW_SB_LOG" | sed -n 's|.*Calling hook /etc/libvirt/hooks/network\.d/\([^ ]*\) .*|\1|p' |
			sort -u | tr '\n' ' ')
		[ "${got% }" = "${want/none/}" ] && return 0
	done
	echo "libvirtd calls network hooks '$got', expected only $want (10 tries)" >&2
	return 1
}

# cycle SETTING NET [timed]: net-start, net-destroy; with "timed" both are
# appended to the times file.
cycle() {
	local setting=$1 net=$2 timed=${3:-} t0 t1 t2
	t0=${EPOCHREALTIME/./}
	virsh -q -c "$URI" net-start "$net" >/dev/null 2>"$T/err" || { cat "$T/err" >&2; return 1; }
	t1=${EPOCHREALTIME/./}
	virsh -q -c "$URI" net-destroy "$net" >/dev/null 2>"$T/err" || { cat "$T/err" >&2; return 1; }
	t2=${EPOCHREALTIME/./}
	if [ -n "$timed" ]; then
		printf '%s\t%s\tstart\t%s\n%s\t%s\tdestroy\t%s\n' "$setting" "$net" $((t1 - t0)) "$setting" "$net" $((t2 - t1)) \
			>>"$T/times"
	fi
}

: >"$T/times"
T_END=$(($(date +%s) + MAX_SECONDS))
done_rounds=0
for r in $(seq 1 "$ROUNDS"); do
	if [ "$(date +%s)" -ge "$T_END" ]; then
		echo "# stopped after $done_rounds of $ROUNDS rounds (MAX_SECONDS)" >&2
		break
	fi
	# The settings in turn, starting one further each round.
	order=$(echo "$SETTINGS $SETTINGS" | tr -s ' ' | cut -d' ' -f$(((r - 1) % NSET + 1))-$(((r - 1) % NSET + NSET)))
	for setting in $order; do
		use "$setting" || die "switching to $setting failed"
		in_effect "$setting" || die "switching to $setting did not take"
		for _ in $(seq 1 "$PER_ROUND"); do
			for net in $NETWORKS; do
				cycle "$setting" "$net" timed || die "$setting $net: a cycle failed"
			done
		done
	done
	done_rounds=$r
	echo "# round $r of $ROUNDS done" >&2
done
use none || true
cp "$T/times" "$BENCH_OUT/${BENCH_TAG:+$BENCH_TAG-}virsh-times.tsv"

python3 - "$T/times" <<'PY' | while IFS=$'\t' read -r key value; do record "$key" "$value"; done
import statistics, sys
t = {}
for line in open(sys.argv[1]):
    setting, net, op, us = line.split("\t")
    t.setdefault((op, net), {}).setdefault(setting, []).append(int(us) / 1e3)
def q(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(p * (len(v) - 1) + 0.5))]
for (op, net), s in sorted(t.items(), key=lambda kv: (kv[0][0] != "start", kv[0][1])):
    parts, med = [], {}
    for setting in ("nohooks", "nullhooks", "hooks"):
        v = s.get(setting)
        if v:
            med[setting] = statistics.median(v)
            parts.append("%s %.0f ms (IQR %.0f-%.0f, %d)" % (setting, med[setting], q(v, .25), q(v, .75), len(v)))
    base = med.get("nohooks")
    for setting, what in (("hooks", "virtwire's hooks add"), ("nullhooks", "a do-nothing hook adds")):
        if base and setting in med:
            parts.append("%s %+.0f ms = %+.1f%%" % (what, med[setting] - base, 100 * (med[setting] - base) / base))
    print("virsh-%s-%s\t%s" % (op, net, "; ".join(parts)))
PY
