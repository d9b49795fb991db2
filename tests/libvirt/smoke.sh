#!/bin/bash
# tests/libvirt/smoke.sh [NAME] - prove tests/libvirt/sandbox.sh end to end.
#
# Starts a sandboxed libvirtd with logging network/lxc/daemon hooks, runs a
# NAT network with an LXC guest (ping gateway and a TEST-NET "wan"),
# restarts and reloads libvirtd under the running guest, starts an "open"
# network (+ a TCG qemu guest if qemu is installed), tears everything down
# and asserts that nothing is left and the host's libvirt dirs are untouched.
#
# Exit: 0 pass, 1 fail, 77 skip (not root / libvirt missing).
# Env: VW_SMOKE_ARTIFACTS=DIR  save firewall dumps, hook log, timings there.
#      VW_SMOKE_QEMU=0         skip the qemu guest.
#      VW_SB_LIBVIRT=11-nftables|11-iptables  libvirt 11 from tools/libvirt-tree
#                              (sandbox.sh); the firewall checks follow the
#                              backend libvirt writes with.
set -euo pipefail

NAME=${1:-smoke}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ART=${VW_SMOKE_ARTIFACTS:-}

skip() { echo "SKIP: $*"; exit 77; }
[[ $EUID == 0 ]] || skip "needs root"
for c in virsh ip nsenter unshare ping nft iptables-save; do
    command -v "$c" >/dev/null || skip "$c missing"
done

# shellcheck source=tests/libvirt/sandbox.sh
source "$HERE/sandbox.sh"
why=$(vw_sandbox_available) || skip "$why"
_vw_sb_pick_libvirt

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok - $*"; }
declare -A T=()

# Fingerprint of everything of the host's libvirt we must not touch. The root
# netns firewall is compared too, but only warned about: other programs on
# the machine may legitimately change it meanwhile.
host_libvirt_state() {
    local d
    echo "== /etc/libvirt"
    find /etc/libvirt -printf '%M %u %g %s %T@ %p\n' | sort
    find /etc/libvirt -type f -exec sha256sum {} + | sort
    for d in /run/libvirt /var/lib/libvirt /var/log/libvirt /var/cache/libvirt; do
        echo "== $d"
        if [[ -e $d ]]; then ls -la --time-style=full-iso "$d"; else echo absent; fi
    done
}
host_fw_state() { { nft list ruleset; iptables-save | grep -v '^#' || true; } 2>&1 | sha256sum; }

HOST_BEFORE=$(host_libvirt_state)
HOST_FW_BEFORE=$(host_fw_state)

HOOKLOG=""
# Runs before libvirtd starts: hooks are only picked up at start/SIGHUP.
install_hooks() {
    HOOKLOG=$VW_SB_DIR/hook.log
    local h=$VW_SB_DIR/log-hook
    # argv + stdin, one append per call (hooks of different objects run in parallel).
    cat >"$h" <<EOF
#!/bin/sh
in=\$(cat)
printf 'HOOK %s: %s\n%s\n' "\$(basename "\$(dirname "\$0")")" "\$*" "\$in" >>"$HOOKLOG"
EOF
    vw_hook_install network "$h"
    vw_hook_install lxc "$h"
    vw_hook_install daemon "$h"
}
hook_seen() { grep -qxF "HOOK $1: $2" "$HOOKLOG"; }
hook_count() { grep -cxF "HOOK $1: $2" "$HOOKLOG" || true; }

vw_time_ms 'T[sandbox_start_total]' vw_sandbox_start "$NAME" install_hooks
T[libvirtd_answer]=$VW_SB_START_MS
SB_DIR=$VW_SB_DIR
SB_NS=$VW_SB_NS
SB_NETNS=$(readlink "/proc/$VW_SB_HOLDER_PID/ns/net")
SB_MNTNS=$(readlink "/proc/$VW_SB_HOLDER_PID/ns/mnt")
SB_CG=$VW_SB_CGNAME
[[ "$(readlink "/proc/$VW_SB_PID/ns/net")" == "$SB_NETNS" ]] || fail "libvirtd not in the sandbox netns"
[[ "$(readlink "/proc/$VW_SB_PID/ns/mnt")" == "$SB_MNTNS" ]] || fail "libvirtd not in the sandbox mount ns"
[[ "$SB_MNTNS" != "$(readlink /proc/self/ns/mnt)" ]] || fail "sandbox shares the host mount ns"
vw_sb_exec grep -q " /etc/libvirt " /proc/self/mounts || fail "/etc/libvirt not overmounted"
ok "libvirtd $VW_SB_PID up in $SB_NS (answers after ${T[libvirtd_answer]} ms)"
# The daemon that answers is the libvirt asked for.
WANT=$(vw_sandbox_libvirt_version)
GOT=$(vw_virsh version --daemon | sed -n 's/^Running against daemon: *//p')
[[ -n "$GOT" && "$WANT" == "$GOT"* ]] || fail "libvirtd is $GOT, not $WANT ($VW_SB_LIBVIRT)"
if [[ -n "$VW_SB_ROOT" ]]; then
    [[ "$(vw_sb_exec cat /.virtwire-tree)" == "$(cat "$VW_SB_ROOT/.virtwire-tree")" ]] ||
        fail "the sandbox's root is not the tree $VW_SB_ROOT"
    [[ "$(vw_sb_exec sed -n 's/^firewall_backend *= *//p' /etc/libvirt/network.conf)" == "\"$VW_SB_FW\"" ]] ||
        fail "network.conf does not choose $VW_SB_FW"
fi
ok "libvirt $GOT ($VW_SB_LIBVIRT), firewall backend $VW_SB_FW"
hook_seen daemon.d "- start - start" || fail "daemon start hook not seen"

# --- NAT network + LXC guest ------------------------------------------------
cat >"$VW_SB_DIR/vwnat.xml" <<'EOF'
<network>
  <name>vwnat</name>
  <forward mode='nat'/>
  <bridge name='vwtbr0'/>
  <ip address='192.168.150.1' netmask='255.255.255.0'>
    <dhcp><range start='192.168.150.100' end='192.168.150.199'/></dhcp>
  </ip>
</network>
EOF
vw_virsh net-define "$VW_SB_DIR/vwnat.xml" >/dev/null
vw_time_ms 'T[net_start_nat]' vw_virsh net-start vwnat >/dev/null
vw_sb_exec ip link show vwtbr0 >/dev/null || fail "vwtbr0 missing in the sandbox"
! ip link show vwtbr0 >/dev/null 2>&1 || fail "vwtbr0 appeared in the host netns"
ok "nat network started in ${T[net_start_nat]} ms"

vw_lxc_guest g1 vwnat 52:54:00:00:96:02 192.168.150.2/24 192.168.150.1
T[lxc_start]=$VW_LXC_START_MS T[lxc_ready_stp]=$VW_LXC_READY_MS
G1_INIT=$(vw_virsh_lxc domid g1)
vw_lxc_exec g1 ping -c1 -W2 192.168.150.1 >/dev/null || fail "g1 cannot ping its gateway"
ok "lxc guest g1 started in ${T[lxc_start]} ms, forwarding after ${T[lxc_ready_stp]} ms, pings 192.168.150.1"

hook_seen network.d "vwnat start begin -" || fail "no network start hook"
hook_seen network.d "vwnat started begin -" || fail "no network started hook"
hook_seen network.d "vwnat port-created begin -" || fail "no port-created hook"
grep -q "<mac address='52:54:00:00:96:02'/>" "$HOOKLOG" || fail "port-created stdin lacks the guest MAC"
ok "network hook saw start, started, port-created (with stdin)"

FW_NFT_NAT=$(vw_sb_exec nft list ruleset 2>&1)
FW_IPT_NAT=$(vw_sb_exec iptables-save)
# libvirt_fw_ok: libvirt's rules for vwtbr0 in the backend it writes with.
libvirt_fw_ok() {
    local ipt nft
    ipt=$(vw_sb_exec iptables-save) || return 1
    nft=$(vw_sb_exec nft list ruleset) || return 1
    case $VW_SB_FW in
    iptables)
        grep -q -- '-A LIBVIRT_FWI -o vwtbr0 -j REJECT' <<<"$ipt" &&
            grep -q -- '-A LIBVIRT_PRT -s 192.168.150.0/24 ! -d 192.168.150.0/24 .*MASQUERADE' <<<"$ipt" &&
            ! grep -q 'table ip libvirt_network' <<<"$nft"
        ;;
    nftables)
        # Nothing through iptables-nft: no LIBVIRT_* chain anywhere.
        sed -n '/^table ip libvirt_network/,/^}/p' <<<"$nft" | grep -q 'oif "vwtbr0" .*reject' &&
            sed -n '/^table ip libvirt_network/,/^}/p' <<<"$nft" |
            grep -q 'ip saddr 192.168.150.0/24 ip daddr != 192.168.150.0/24 .*masquerade' &&
            ! grep -q LIBVIRT_ <<<"$ipt$nft"
        ;;
    esac
}
libvirt_fw_ok || { echo "$FW_NFT_NAT"; fail "libvirt's $VW_SB_FW rules for vwtbr0 missing (or in both backends)"; }
ok "libvirt's firewall ($VW_SB_FW) is in the sandbox netns ($(grep -c . <<<"$FW_NFT_NAT") lines of nft list ruleset)"
if [[ -s "$VW_SB_DIR/tc-csum.log" ]]; then
    echo "# test-environment workaround: this kernel lacks act_csum; the tc wrapper let these calls pass:"
    sed 's/^/#   /' "$VW_SB_DIR/tc-csum.log"
fi

# --- wan: NAT to a TEST-NET "outside" ---------------------------------------
WAN=${NAME:0:9}-w
vw_wan_add "$WAN" 203.0.113.2/24 2001:db8:113::2/64
vw_lxc_exec g1 ping -c1 -W2 203.0.113.2 >/dev/null || fail "g1 cannot reach the wan (NAT)"
ip netns exec "vwt-$WAN" ping -6 -c1 -W2 2001:db8:113::1 >/dev/null || fail "wan cannot ping the sandbox over IPv6"
ok "g1 reaches 203.0.113.2 through libvirt's NAT; wan IPv6 works"

# --- restart and reload under a running guest -------------------------------
PC_BEFORE=$(hook_count network.d "vwnat port-created begin -")
OLD_PID=$VW_SB_PID
vw_time_ms 'T[libvirtd_restart_total]' vw_sandbox_restart
T[libvirtd_restart_answer]=$VW_SB_START_MS
[[ "$VW_SB_PID" != "$OLD_PID" ]] || fail "libvirtd PID unchanged after restart"
[[ "$(vw_virsh_lxc domid g1)" == "$G1_INIT" ]] || fail "g1 did not survive the libvirtd restart"
vw_lxc_exec g1 ping -c1 -W2 192.168.150.1 >/dev/null || fail "g1 lost its network over the restart"
(($(hook_count network.d "vwnat port-created begin -") > PC_BEFORE)) ||
    fail "no port-created replay at libvirtd start"
hook_seen lxc.d "g1 reconnect begin -" || fail "no lxc reconnect hook"
libvirt_fw_ok || fail "libvirt's $VW_SB_FW rules gone after restart"
ok "restart: g1 kept running (init pid $G1_INIT), port-created replayed, lxc reconnect ran"

vw_sandbox_reload
vw_wait_reload() { hook_seen daemon.d "- reload begin SIGHUP"; }
_vw_wait 10 vw_wait_reload || fail "no daemon reload hook after SIGHUP"
vw_virsh -q net-list >/dev/null || fail "libvirtd does not answer after SIGHUP"
ok "reload: daemon hook saw SIGHUP, libvirtd answers"

# --- open network (no libvirt firewall) -------------------------------------
cat >"$VW_SB_DIR/vwopen.xml" <<'EOF'
<network>
  <name>vwopen</name>
  <forward mode='open'/>
  <bridge name='vwtbr1' stp='off'/>
  <ip address='192.168.151.1' netmask='255.255.255.0'>
    <dhcp><range start='192.168.151.100' end='192.168.151.199'/></dhcp>
  </ip>
</network>
EOF
vw_virsh net-define "$VW_SB_DIR/vwopen.xml" >/dev/null
vw_time_ms 'T[net_start_open]' vw_virsh net-start vwopen >/dev/null
hook_seen network.d "vwopen started begin -" || fail "no started hook for vwopen"
FW_NFT_OPEN=$(vw_sb_exec nft list ruleset 2>&1)
FW_IPT_OPEN=$(vw_sb_exec iptables-save)
! grep -q vwtbr1 <<<"$FW_NFT_OPEN$FW_IPT_OPEN" || fail "libvirt wrote firewall rules for an open network"
vw_lxc_guest g2 vwopen 52:54:00:00:97:02 192.168.151.2/24 192.168.151.1
T[lxc_start_nostp]=$VW_LXC_START_MS T[lxc_ready_nostp]=$VW_LXC_READY_MS
vw_lxc_exec g2 ping -c1 -W2 192.168.151.1 >/dev/null || fail "g2 cannot ping its gateway"
ok "open network started in ${T[net_start_open]} ms, no firewall rules; g2 ready in ${T[lxc_ready_nostp]} ms"

# --- optional qemu TCG guest -------------------------------------------------
if [[ "${VW_SMOKE_QEMU:-1}" != 0 && -x "$VW_SB_ROOT/usr/bin/qemu-system-x86_64" ]]; then
    vw_qemu_guest q1 vwopen 52:54:00:00:97:10
    T[qemu_start]=$VW_QEMU_START_MS
    q1_lease() { vw_virsh net-dhcp-leases vwopen | grep -qi '52:54:00:00:97:10'; }
    vw_time_ms 'T[qemu_ipxe_lease]' _vw_wait 60 q1_lease || fail "q1 (iPXE) got no DHCP lease"
    ok "qemu guest q1 started in ${T[qemu_start]} ms, iPXE lease after ${T[qemu_ipxe_lease]} ms more"
    vw_time_ms 'T[qemu_destroy]' vw_virsh destroy q1 >/dev/null
fi

# --- teardown ----------------------------------------------------------------
vw_time_ms 'T[lxc_destroy]' vw_virsh_lxc destroy g1 >/dev/null
vw_virsh_lxc destroy g2 >/dev/null
hook_seen network.d "vwnat port-deleted begin -" || fail "no port-deleted hook"
vw_time_ms 'T[net_destroy_nat]' vw_virsh net-destroy vwnat >/dev/null
vw_time_ms 'T[net_destroy_open]' vw_virsh net-destroy vwopen >/dev/null
hook_seen network.d "vwnat stopped end -" || fail "no stopped hook"

if [[ -n "$ART" ]]; then
    mkdir -p "$ART"
    printf '%s\n' "$FW_NFT_NAT" >"$ART/nft-nat.txt"
    printf '%s\n' "$FW_IPT_NAT" >"$ART/iptables-nat.txt"
    printf '%s\n' "$FW_NFT_OPEN" >"$ART/nft-nat+open.txt"
    printf '%s\n' "$FW_IPT_OPEN" >"$ART/iptables-nat+open.txt"
    cp "$HOOKLOG" "$ART/hook.log"
    cp "$VW_SB_LOG" "$ART/libvirtd.log"
fi

# Everything that should die with the sandbox.
SB_PIDS="$VW_SB_PID $VW_SB_HOLDER_PID $(_vw_sb_pids | tr '\n' ' ')"
WAN_NETNS=$(ip netns exec "vwt-$WAN" readlink /proc/self/ns/net)
# The clock of /proc/PID/stat's start time (clock ticks since boot), read
# before the stop: a process older than this was there while the sandbox ran.
STOP_TICKS=$(awk -v hz="$(getconf CLK_TCK)" '{ printf "%d", $1 * hz }' /proc/uptime)
vw_time_ms 'T[sandbox_stop]' vw_sandbox_stop || fail "vw_sandbox_stop reported a problem"
vw_sandbox_stop || fail "second vw_sandbox_stop failed"

# --- nothing left --------------------------------------------------------------
[[ ! -e "$SB_DIR" ]] || fail "$SB_DIR still exists"
# Only our own namespaces: parallel tests may have theirs.
! ip netns list | awk '{print $1}' | grep -qxF -e "$SB_NS" -e "vwt-$WAN" || fail "netns $SB_NS or vwt-$WAN left"
for p in $SB_PIDS; do
    ! _vw_pid_alive "$p" || fail "pid $p ($(tr '\0' ' ' <"/proc/$p/cmdline")) survived"
done
for p in /proc/[0-9]*; do
    ! grep -qF "$SB_DIR" "$p/mountinfo" 2>/dev/null || fail "process ${p#/proc/} still sees mounts of $SB_DIR"
    n=$(readlink "$p/ns/net" 2>/dev/null) || continue
    m=$(readlink "$p/ns/mnt" 2>/dev/null) || continue
    [[ "$n" != "$SB_NETNS" && "$n" != "$WAN_NETNS" && "$m" != "$SB_MNTNS" ]] && continue
    # The kernel reuses a freed namespace's inode number: a process that
    # started after the sandbox stopped is in another test's new namespace.
    started=$(sed 's/.*) //' "$p/stat" 2>/dev/null | cut -d' ' -f20) || continue
    [[ -n "$started" && "$started" -gt "$STOP_TICKS" ]] && continue
    fail "process ${p#/proc/} still in a sandbox namespace"
done
if [[ -d /sys/fs/cgroup/pids ]]; then
    [[ -z "$(find /sys/fs/cgroup/ -maxdepth 4 -name "$SB_CG" 2>/dev/null)" ]] || fail "cgroup $SB_CG left"
fi
ok "nothing left: netns, processes, mounts, cgroups, $SB_DIR"

[[ "$(host_libvirt_state)" == "$HOST_BEFORE" ]] || fail "host /etc/libvirt or /run/libvirt etc. changed"
ok "host /etc/libvirt, /run/libvirt, /var/{lib,log,cache}/libvirt unchanged"
[[ "$(host_fw_state)" == "$HOST_FW_BEFORE" ]] ||
    echo "WARNING: the host netns firewall changed during the test (not by libvirt in the sandbox?)" >&2

echo "timings (ms):"
for k in $(printf '%s\n' "${!T[@]}" | sort); do printf '  %-24s %6s\n' "$k" "${T[$k]}"; done |
    tee ${ART:+"$ART/timings.txt"}
echo "PASS"
