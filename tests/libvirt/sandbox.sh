# shellcheck shell=bash
# tests/libvirt/sandbox.sh - run a real, throw-away libvirtd for tests.
#
# Source this file from a bash test script (root required), then:
#
#   vw_sandbox_start NAME [PRESTART_CMD...]
#       Creates netns vwt-NAME, a private tree under /tmp/vwt-NAME.XXXXXX and
#       starts libvirtd in that netns and in a private mount namespace where
#       the tree is mounted over /etc/libvirt, /run/libvirt, /var/lib/libvirt,
#       /var/log/libvirt and /var/cache/libvirt. PRESTART_CMD (optional) runs
#       after the tree exists and before libvirtd starts: the place to install
#       hooks, because libvirtd only looks for hook scripts at start/SIGHUP.
#       Installs an EXIT trap that calls vw_sandbox_stop (an existing EXIT
#       trap is kept and run afterwards).
#   vw_sandbox_stop        destroy guests+networks, kill everything the sandbox
#                          started (by PID), delete netns, cgroups, temp dir.
#                          Idempotent.
#   vw_sandbox_restart     stop libvirtd (SIGTERM, by PID) and start it again;
#                          running guests, dnsmasq and networks survive.
#   vw_sandbox_reload      SIGHUP to libvirtd (rescans hooks, rebuilds its
#                          firewall rules).
#   vw_sandbox_reap_stale  tear down sandboxes whose test process was killed
#                          with SIGKILL (so its EXIT trap never ran).
#   vw_virsh ARGS...       virsh on qemu:///system of the sandbox.
#   vw_virsh_lxc ARGS...   virsh on lxc:///system of the sandbox.
#   vw_sb_exec CMD...      run CMD in the sandbox netns + mount namespace.
#   vw_hook_install DRIVER FILE   install FILE as DRIVER.d/NAME hook (executable).
#   vw_lxc_guest NAME NET MAC IP/PFX GW    define + start an LXC guest.
#   vw_lxc_exec NAME CMD...                run CMD inside that guest.
#   vw_qemu_guest NAME NET MAC             define + start a diskless TCG guest.
#   vw_wan_add NAME WAN4/PFX WAN6/PFX [SB4/PFX [SB6/PFX]]
#                          "outside" netns vwt-NAME, veth-linked to the sandbox.
#   vw_ns_add NAME         an empty extra netns vwt-NAME (lo up), deleted with
#                          the sandbox, its processes killed (like a wan's).
#   vw_cleanup_add CMD...  run CMD (eval'd) at exit, before the sandbox stops.
#   vw_time_ms VAR CMD...  run CMD, store its wall time in ms in VAR.
#   vw_sb_log_tail [N]     last N lines of libvirtd's log (for failures).
#
# Variables set by vw_sandbox_start (exported):
#   VW_SB_DIR   sandbox root (temp dir)     VW_SB_NS    netns name (vwt-NAME)
#   VW_SB_HOOKS hooks dir (= /etc/libvirt/hooks inside the sandbox)
#   VW_SB_SOCK  libvirtd socket             VW_SB_PID   libvirtd PID
#   VW_SB_LOG   libvirtd log file           VW_SB_HOLDER_PID  namespace holder
#   VW_SB_START_MS  libvirtd start-to-answer time of the last (re)start
#
# Isolation design (why it looks like this):
# - A "holder" process (sleep) owns the netns + private mount namespace and
#   all mounts; libvirtd is started by nsenter into it. So a libvirtd restart
#   keeps the exact same mounts, and everything vanishes when the holder and
#   the processes in the namespace die: the host mount table never sees them.
# - /run, /var/lib, /var/log, /var/cache are overmounted (tmpfs / overlayfs
#   with the upper layer in the temp dir) before the bind mounts, because
#   /run/libvirt, /var/lib/libvirt ... do not exist on the host and creating
#   mount points there would modify the host. The tmpfs /run also hides the
#   host's D-Bus, so libvirt cannot reach a host firewalld/machined.
# - The sandbox gets its own cgroup (vwt-<tempdir name>) in every cgroup-v1
#   hierarchy, below the caller's cgroup, and a cgroup namespace rooted
#   there. libvirt puts guests under /machine of what it sees as the root
#   (qemu-<id>-<name>.libvirt-qemu: ids restart at 1 in every libvirtd, so
#   parallel sandboxes would collide without this), and every process the
#   sandbox spawned (dnsmasq, libvirt_lxc, container init, qemu) can be
#   found in that subtree and killed by PID.
# - Recorded PIDs are only signalled while they still live in the sandbox
#   netns (PID reuse). Every wait is bounded in iterations and in time.
#
# Knobs (environment, before sourcing or before vw_sandbox_start):
#   VW_SB_KEEP=1        keep the temp dir after stop (logs, XML) for debugging
#   VW_SB_QUIET=1       no progress messages on stderr
#   VW_SB_CACHE=DIR     shared qemu capabilities cache (default /tmp/vwt-cache,
#                       empty: none; without it libvirtd needs ~8 s to start)
#   VW_SB_START_TIMEOUT seconds for libvirtd to answer (default 30)
#   VW_LXC_INIT=sleep   plain /bin/sleep init for vw_lxc_guest (slow destroy)
#   VW_LXC_NOWAIT=1     vw_*_guest do not wait for the bridge port to forward
#   VW_GUEST_METADATA=XML  vw_*_guest put XML (e.g. a <vw:domain …>) into the
#                       domain's <metadata>; empty (default): no <metadata>
#   VW_SB_LIBVIRT=WHICH which libvirt runs in the sandbox: "machine" (default:
#                       the machine's own, Debian 12's 9.0), "11-nftables" or
#                       "11-iptables" (libvirt 11 from tools/libvirt-tree, with
#                       network.conf's firewall_backend set to that backend)
#   VW_SB_ROOT=DIR      (set by VW_SB_LIBVIRT=11-*) a Debian tree to run
#                       libvirtd and everything vw_sb_exec runs in; see "A
#                       libvirt of another version" below
#   VW_SB_BINDS="DIR…"  folders of the machine seen at the same path in that
#                       tree (default: the source folder; /tmp always is)
#   VW_SB_FIREWALL_BACKEND=nftables|iptables  network.conf's firewall_backend
#                       (libvirt >= 10); empty: libvirt's own choice
#
# Set for tests: VW_SB_FW, the firewall libvirt writes with: "iptables"
# (libvirt 9, or firewall_backend=iptables) or "nftables".
#
# A libvirt of another version (VW_SB_ROOT): the holder makes an overlay of
# the tree (its upper layer in the sandbox, so the tree stays as
# tools/libvirt-tree made it), mounts proc, this netns's sysfs with the
# cgroups, /dev, a tmpfs /run, /tmp and VW_SB_BINDS in it, binds the
# sandbox's libvirt folders over the tree's, and pivot_roots into it:
# libvirtd, its dnsmasq, iptables, nft and tc, its guests and virtwire's hooks
# (the binary bind-mounted from the build) all see the tree. Everything
# enters it with "nsenter -r" (the holder's root): "nsenter -m" alone lands on
# the machine's root, and a plain chroot breaks "ip netns exec".
# Test-environment workaround: libvirt's nftables backend adds "tc filter …
# action csum" for DHCP checksums and fails a network's start when the kernel
# lacks act_csum (this machine's does); libvirtd's PATH starts with a "tc"
# wrapper that runs the real tc and, only when that fails on a csum action,
# logs the call to $VW_SB_DIR/tc-csum.log and succeeds. Nothing else changes.
#
# Traps: vw_sandbox_start sets EXIT (chaining an existing EXIT trap) and makes
# HUP/INT/TERM exit through it. bash runs traps only after the current
# foreground command ends: wait for long things with "cmd & wait $!".

# Guard against double sourcing.
if [[ -n "${_VW_SB_LIB_LOADED:-}" ]]; then return 0; fi
_VW_SB_LIB_LOADED=1

VW_SB_LIB="$(readlink -f "${BASH_SOURCE[0]}")"
export VW_SB_LIB

: "${VW_SB_LIBVIRTD:=/usr/sbin/libvirtd}"
: "${VW_SB_START_TIMEOUT:=30}"   # seconds for libvirtd to answer
: "${VW_SB_KEEP:=0}"             # 1: keep the temp dir after stop (debugging)
: "${VW_SB_QUIET:=0}"
# libvirtd probes every qemu binary at start (~2 s per binary and accel);
# sharing the capabilities cache between sandboxes skips that. libvirt
# re-probes by itself when qemu/libvirt/kernel changed. Empty: no sharing.
: "${VW_SB_CACHE=/tmp/vwt-cache}"
: "${VW_SB_LIBVIRT:=machine}"
: "${VW_SB_ROOT:=}"
: "${VW_SB_FIREWALL_BACKEND:=}"
: "${VW_SB_BINDS:=$(dirname "$(dirname "$(dirname "$VW_SB_LIB")")")}"

# Controllers the LXC driver wants (LIBVIRT.md); only mounted if the kernel has them.
_VW_CG_WANTED="cpu cpuacct cpuset memory devices freezer blkio pids"

_vw_log() { [[ "$VW_SB_QUIET" == 1 ]] || echo "vw-sandbox: $*" >&2; }
_vw_die() { echo "vw-sandbox: ERROR: $*" >&2; return 1; }

_vw_now_ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }

vw_time_ms() {
    local __var=$1 __t0 __rc=0
    shift
    __t0=$(_vw_now_ms)
    "$@" || __rc=$?
    printf -v "$__var" '%s' $(($(_vw_now_ms) - __t0))
    return $__rc
}

# Field N (N >= 3) of /proc/PID/stat; the command name in field 2 may
# contain spaces, so split after its closing parenthesis.
_vw_pid_stat() {
    local st n=$(($2 - 2))
    st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    st=${st##*) }
    # shellcheck disable=SC2086
    set -- $st
    [[ -n "${!n:-}" ]] && echo "${!n}"
}

# True if PID exists and is not a zombie (kill -0 succeeds on zombies, which
# would make wait loops spin until their timeout).
_vw_pid_alive() {
    local st
    [[ -n "${1:-}" ]] || return 1
    st=$(_vw_pid_stat "$1" 3) || return 1
    [[ "$st" != Z && "$st" != X ]]
}
_vw_pid_gone() { ! _vw_pid_alive "$1"; }

# True if PID is alive and in the sandbox netns: guards every kill of a
# recorded PID against PID reuse (our children are disowned, so bash reaps
# them and their PIDs can be recycled).
_vw_sb_pid_ours() {
    _vw_pid_alive "${1:-}" && [[ -n "${VW_SB_NETNS_ID:-}" ]] &&
        [[ "$(readlink "/proc/$1/ns/net" 2>/dev/null)" == "$VW_SB_NETNS_ID" ]]
}

# Start time of a process (clock ticks since boot), to tell a PID from a reused one.
_vw_pid_start() { _vw_pid_stat "$1" 22; }

# _vw_wait SECONDS CMD... : poll CMD every 50 ms, bounded in count and in
# wall time (CMD itself may be slow, e.g. a virsh call).
_vw_wait() {
    local secs=$1 i max end
    shift
    max=$((secs * 20))
    end=$(($(_vw_now_ms) + secs * 1000))
    for ((i = 0; i < max; i++)); do
        "$@" && return 0
        (($(_vw_now_ms) < end)) || break
        sleep 0.05
    done
    return 1
}

# Script for "bash -c" that runs a function of this library in a fresh bash
# (after exec, ip netns exec, unshare, nsenter our functions do not exist).
# The sandbox's identity is embedded rather than taken from the environment.
_vw_lib_bash() {
    printf 'set -euo pipefail; VW_SB_DIR=%q; VW_SB_CGNAME=%q; VW_SB_ROOT=%q; VW_SB_BINDS=%q; source %q; "$@"\n' \
        "$VW_SB_DIR" "$VW_SB_CGNAME" "$VW_SB_ROOT" "$VW_SB_BINDS" "$VW_SB_LIB"
}

# ---------------------------------------------------------------- cgroups --

# Write the sandbox's cgroup spec: one line per v1 hierarchy to use,
# "MOUNT_OPTS DIR_NAME PARENT_PATH". Existing hierarchies are reused with the
# exact controller set they were created with (mounting a different
# combination fails with EBUSY); the sandbox cgroup goes below the caller's
# own cgroup, so resource limits imposed on the caller still apply.
_vw_cg_write_spec() {
    local id ctrls path opts dir c covered=" "
    while IFS=: read -r id ctrls path; do
        [[ "$id" == 0 || -z "$ctrls" ]] && continue
        dir=${ctrls#name=}
        opts=$ctrls
        [[ "$ctrls" == name=* ]] && opts="none,$ctrls"
        [[ "$path" == / ]] && path=""
        printf '%s %s %s\n' "$opts" "$dir" "$path"
        covered+="${ctrls//,/ } "
    done </proc/self/cgroup
    # Wanted controllers that are enabled but bound to no hierarchy yet:
    # try a new single-controller hierarchy (fails harmlessly on cgroup2-only hosts).
    for c in $_VW_CG_WANTED; do
        [[ "$covered" == *" $c "* ]] && continue
        if awk -v c="$c" '$1 == c && $2 == 0 && $4 == 1 { f = 1 } END { exit !f }' /proc/cgroups; then
            printf '%s %s %s\n' "$c" "$c" ""
        fi
    done
    [[ "$covered" == *" name=systemd "* ]] || printf '%s %s %s\n' "none,name=systemd" systemd ""
}

# All mount/umount calls use -n: without it util-linux creates /run/mount
# (utab) on the host for mounts done before /run is overmounted.

# Mount the hierarchies of $VW_SB_DIR/cg.spec (or cg.ok) under ROOT.
# Must run in a private mount namespace. Prints the lines that mounted.
_vw_cg_mount_all() {
    local root=$1 spec=$2 opts dir path
    while read -r opts dir path; do
        mkdir -p "$root/$dir"
        if mount -n -t cgroup -o "$opts" cgroup "$root/$dir" 2>/dev/null; then
            printf '%s %s %s\n' "$opts" "$dir" "$path"
        else
            echo "vw-sandbox: cgroup hierarchy '$opts' not mountable, skipped" >&2
        fi
    done <"$spec"
}

# Runs in a private throw-away mount namespace in the host cgroup namespace.
# OP: create  - create the sandbox cgroups, join them, exec "$@"
#     join    - join the sandbox cgroups, exec "$@"
#     procs   - print every PID in the sandbox cgroups
#     destroy - remove the sandbox cgroup subtrees (fails if busy)
_vw_cg_op() {
    local op=$1 opts dir path cg p rc=0
    shift
    local base="$VW_SB_DIR/cg"
    if [[ "$op" == create ]]; then
        _vw_cg_mount_all "$base" "$VW_SB_DIR/cg.spec" >"$VW_SB_DIR/cg.ok"
    else
        _vw_cg_mount_all "$base" "$VW_SB_DIR/cg.ok" >/dev/null
    fi
    while read -r opts dir path; do
        cg="$base/$dir$path/$VW_SB_CGNAME"
        case $op in
        create | join)
            if [[ $op == create ]]; then
                mkdir -p "$cg"
                # cpuset children start empty and refuse tasks until filled.
                for p in cpuset.cpus cpuset.mems; do
                    if [[ -e "$cg/$p" && -z "$(cat "$cg/$p")" ]]; then
                        cat "$base/$dir$path/$p" >"$cg/$p"
                    fi
                done
            fi
            echo $$ >"$cg/cgroup.procs"
            ;;
        procs)
            [[ -d "$cg" ]] && find "$cg" -name cgroup.procs -exec cat {} + 2>/dev/null
            ;;
        destroy)
            if [[ -d "$cg" ]]; then
                find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null || true
                [[ -d "$cg" ]] && rc=1
            fi
            ;;
        esac
    done <"$VW_SB_DIR/cg.ok"
    # The mounts die with this namespace, but unmount explicitly before exec
    # so the command does not inherit them.
    while read -r opts dir path; do umount -n -l "$base/$dir" 2>/dev/null || true; done <"$VW_SB_DIR/cg.ok"
    case $op in
    create | join) exec "$@" ;;
    procs) return 0 ;;
    destroy) return $rc ;;
    esac
}

_vw_cg_call() {
    [[ -s "${VW_SB_DIR:-}/cg.spec" ]] || return 0
    unshare -m --propagation private /bin/bash -c "$(_vw_lib_bash)" vw-cg _vw_cg_op "$@"
}

# ----------------------------------------------------------------- holder --

# Stage 1 (new netns + private mount ns, host cgroup ns): join the sandbox
# cgroups, then create the cgroup namespace rooted there.
_vw_holder_stage1() {
    _vw_cg_op create unshare -C /bin/bash -c "$(_vw_lib_bash)" vw-holder _vw_holder_stage2
}

# Bind SRC over TARGET; TARGET's parent must already be writable privately.
_vw_bind() {
    mkdir -p "$2"
    mount -n --bind "$1" "$2"
}

# Make DIR privately writable: overlayfs with the upper layer in the sandbox,
# falling back to an empty tmpfs.
_vw_overlay() {
    local dir=$1 key
    key=${dir//\//_}
    mkdir -p "$VW_SB_DIR/ovl/$key/upper" "$VW_SB_DIR/ovl/$key/work"
    mount -n -t overlay overlay \
        -o "lowerdir=$dir,upperdir=$VW_SB_DIR/ovl/$key/upper,workdir=$VW_SB_DIR/ovl/$key/work" "$dir" ||
        mount -n -t tmpfs -o mode=755 tmpfs "$dir"
}

# Stage 2 (inside the cgroup ns): all the mounts, then sleep forever.
_vw_holder_stage2() {
    local opts dir path c d=$VW_SB_DIR
    # cgroup v1 as the LXC driver expects it; mounted inside the cgroupns so
    # that the sandbox cgroup appears as the root.
    mount -n -t tmpfs -o mode=755 tmpfs /sys/fs/cgroup
    _vw_cg_mount_all /sys/fs/cgroup "$d/cg.ok" >/dev/null
    while read -r opts dir path; do
        if [[ "$dir" == *,* ]]; then
            for c in ${dir//,/ }; do ln -s "$dir" "/sys/fs/cgroup/$c"; done
        fi
    done <"$d/cg.ok"

    if [[ -n "$VW_SB_ROOT" ]]; then
        _vw_holder_tree
        : >"$d/holder.ready"
        exec sleep infinity
    fi

    mount -n -t tmpfs -o mode=755,nosuid,nodev tmpfs /run
    mkdir -m 1777 /run/lock
    ln -s /dev/shm /run/shm
    _vw_overlay /var/lib
    _vw_overlay /var/log
    _vw_overlay /var/cache
    [[ -d /etc/libvirt ]] || _vw_overlay /etc

    _vw_bind "$d/etc/libvirt" /etc/libvirt
    _vw_bind "$d/run/libvirt" /run/libvirt
    _vw_bind "$d/var/lib/libvirt" /var/lib/libvirt
    _vw_bind "$d/var/log/libvirt" /var/log/libvirt
    _vw_bind "$d/var/cache/libvirt" /var/cache/libvirt

    : >"$d/holder.ready"
    exec sleep infinity
}

# Stage 2 with VW_SB_ROOT: the same place made in an overlay of the tree,
# which then becomes the root of this mount namespace.
_vw_holder_tree() {
    local d=$VW_SB_DIR r=$VW_SB_DIR/root p
    mkdir -p "$r" "$d/root.upper" "$d/root.work"
    mount -n -t overlay overlay -o "lowerdir=$VW_SB_ROOT,upperdir=$d/root.upper,workdir=$d/root.work" "$r"
    # /sys is this netns's sysfs (ip netns exec mounted it), the cgroups on it.
    mount -n --rbind /sys "$r/sys"
    mount -n -t proc proc "$r/proc"
    mount -n --rbind /dev "$r/dev"
    mount -n -t tmpfs -o mode=755,nosuid,nodev tmpfs "$r/run"
    mkdir -m 1777 "$r/run/lock"
    mount -n --bind /tmp "$r/tmp"
    for p in $VW_SB_BINDS; do [[ "$p" == /tmp/* ]] || _vw_bind "$p" "$r$p"; done
    for p in etc/libvirt run/libvirt var/lib/libvirt var/log/libvirt var/cache/libvirt; do
        _vw_bind "$d/$p" "$r/$p"
    done
    mkdir -p "$r/.oldroot"
    cd "$r" || return
    pivot_root . .oldroot
    cd /
    umount -n -l /.oldroot
    rmdir /.oldroot
}

# ----------------------------------------------------------------- config --

_vw_sb_write_config() {
    local e=$VW_SB_DIR/etc/libvirt
    cat >"$e/libvirtd.conf" <<'EOF'
# vw sandbox: the socket lives in the 0700 temp dir, so no auth is needed.
auth_unix_ro = "none"
auth_unix_rw = "none"
unix_sock_group = "root"
unix_sock_ro_perms = "0700"
unix_sock_rw_perms = "0700"
log_filters = "1:util.hook 1:network 1:util.firewall 1:util.command 3:*"
log_outputs = "1:file:/var/log/libvirt/libvirtd.log"
EOF
    cat >"$e/qemu.conf" <<'EOF'
user = "root"
group = "root"
# No virtlogd in the sandbox.
stdio_handler = "file"
# Never load AppArmor/SELinux profiles into the host kernel.
security_driver = "none"
# No trusted.libvirt.* xattrs on files.
remember_owner = 0
EOF
    cat >"$e/lxc.conf" <<'EOF'
security_driver = "none"
EOF
    # Present so libvirt does not look elsewhere; defaults are what we test,
    # but for the firewall backend (libvirt >= 10) when one is asked for.
    : >"$e/network.conf"
    if [[ -n "$VW_SB_FIREWALL_BACKEND" ]]; then
        printf 'firewall_backend = "%s"\n' "$VW_SB_FIREWALL_BACKEND" >"$e/network.conf"
    fi
}

# VW_SB_LIBVIRT to VW_SB_ROOT and VW_SB_FIREWALL_BACKEND; VW_SB_FW for tests.
_vw_sb_pick_libvirt() {
    case $VW_SB_LIBVIRT in
    machine) ;;
    11-nftables | 11-iptables)
        VW_SB_ROOT=$("$(dirname "$(dirname "$(dirname "$VW_SB_LIB")")")/tools/libvirt-tree" --path)
        VW_SB_FIREWALL_BACKEND=${VW_SB_LIBVIRT#11-}
        ;;
    *) _vw_die "VW_SB_LIBVIRT: machine, 11-nftables or 11-iptables, not '$VW_SB_LIBVIRT'" || return ;;
    esac
    VW_SB_FW=${VW_SB_FIREWALL_BACKEND:-iptables}
    export VW_SB_ROOT VW_SB_FIREWALL_BACKEND VW_SB_FW
}

# vw_sandbox_available: whether the libvirt VW_SB_LIBVIRT names is there;
# prints why not. Sets what _vw_sb_pick_libvirt sets.
vw_sandbox_available() {
    _vw_sb_pick_libvirt || return
    if [[ -n "$VW_SB_ROOT" && ! -s "$VW_SB_ROOT/.virtwire-tree" ]]; then
        echo "no libvirt tree in $VW_SB_ROOT (sudo tools/libvirt-tree makes it)"
        return 1
    fi
    [[ -x "$VW_SB_ROOT$VW_SB_LIBVIRTD" ]] || { echo "$VW_SB_ROOT$VW_SB_LIBVIRTD is missing (libvirt-daemon)"; return 1; }
    [[ -x "$VW_SB_ROOT/usr/lib/libvirt/libvirt_lxc" ]] ||
        { echo "libvirt's LXC driver is missing (libvirt-daemon-driver-lxc)"; return 1; }
}

# The version of the libvirt the sandbox runs (its libvirt-daemon package).
vw_sandbox_libvirt_version() {
    if [[ -n "$VW_SB_ROOT" ]]; then
        sed -n 's/^libvirt //p' "$VW_SB_ROOT/.virtwire-tree"
    else
        dpkg-query -W -f='${Version}' libvirt-daemon 2>/dev/null
    fi
}

# libvirtd's PATH; in a tree, the tc wrapper first (see the header).
_vw_sb_path() {
    local path=/usr/sbin:/usr/bin:/sbin:/bin
    [[ -n "$VW_SB_ROOT" ]] || { echo "$path"; return; }
    mkdir -p "$VW_SB_DIR/bin" || return
    cat >"$VW_SB_DIR/bin/tc" <<WRAPPER || return
#!/bin/sh
# Test-environment workaround (tests/libvirt/sandbox.sh): the real tc, and
# only when it fails on a csum action (a kernel without act_csum), a log
# line instead of a failed network start.
/usr/sbin/tc "\$@" && exit 0
rc=\$?
case " \$* " in
*" csum "*) echo "tc \$* (exit \$rc)" >>$(printf %q "$VW_SB_DIR/tc-csum.log"); exit 0 ;;
esac
exit \$rc
WRAPPER
    chmod 0755 "$VW_SB_DIR/bin/tc" || return
    echo "$VW_SB_DIR/bin:$path"
}

# ------------------------------------------------------------------ start --

_vw_sb_ensure_ids() {
    # Debian builds libvirt with libvirt-qemu:kvm as the default qemu user/group
    # and the qemu driver resolves them at start, even with user = "root".
    # (A parallel first run may win the race: re-check instead of failing.)
    getent passwd libvirt-qemu >/dev/null || useradd -r -M -s /usr/sbin/nologin libvirt-qemu ||
        getent passwd libvirt-qemu >/dev/null || return
    getent group kvm >/dev/null || groupadd -r kvm || getent group kvm >/dev/null
}

_vw_sb_uri() { printf '%s:///system?socket=%s' "$1" "$VW_SB_SOCK"; }

vw_virsh() { virsh -c "$(_vw_sb_uri qemu)" "$@"; }
vw_virsh_lxc() { virsh -c "$(_vw_sb_uri lxc)" "$@"; }

vw_sb_exec() {
    [[ -n "${VW_SB_HOLDER_PID:-}" ]] || _vw_die "sandbox not started" || return
    if [[ -z "$VW_SB_ROOT" ]]; then
        nsenter -t "$VW_SB_HOLDER_PID" -n -m --wd="$PWD" -- "$@"
        return
    fi
    # In the tree: its root, and this folder where the tree has it.
    local wd=/
    [[ -d "/proc/$VW_SB_HOLDER_PID/root$PWD" ]] && wd=$PWD
    nsenter -t "$VW_SB_HOLDER_PID" -n -m -r -W "$wd" -- "$@"
}

# One capabilities cache per libvirt: each would find the other's outdated.
_vw_caps_dir() { echo "$VW_SB_CACHE/qemu-capabilities${VW_SB_ROOT:+${VW_SB_ROOT//\//-}}"; }

_vw_caps_seed() {
    local src dst=$VW_SB_DIR/var/cache/libvirt/qemu/capabilities
    src=$(_vw_caps_dir)
    [[ -n "$VW_SB_CACHE" && -d "$src" ]] || return 0
    mkdir -p "$dst"
    cp -p "$src"/*.xml "$dst"/ 2>/dev/null || true
}

# Publish new/changed cache files; rename makes it safe with parallel sandboxes.
_vw_caps_save() {
    local src=$VW_SB_DIR/var/cache/libvirt/qemu/capabilities dst f
    dst=$(_vw_caps_dir)
    [[ -n "$VW_SB_CACHE" && -d "$src" ]] || return 0
    mkdir -p "$dst"
    chmod 0700 "$VW_SB_CACHE"
    for f in "$src"/*.xml; do
        [[ -e "$f" ]] || continue
        cmp -s "$f" "$dst/${f##*/}" && continue
        cp -p "$f" "$dst/.${f##*/}.$$" && mv -f "$dst/.${f##*/}.$$" "$dst/${f##*/}"
    done
}

_vw_sb_answers() { vw_virsh -q version >/dev/null 2>&1; }

# Start libvirtd in the holder's namespaces and the sandbox cgroup.
_vw_sb_libvirtd_up() {
    local t0 ok path root=()
    path=$(_vw_sb_path) || return
    [[ -n "$VW_SB_ROOT" ]] && root=(-r -W /)
    t0=$(_vw_now_ms)
    (
        exec </dev/null >>"$VW_SB_DIR/libvirtd.out" 2>&1
        exec unshare -m --propagation private /bin/bash -c "$(_vw_lib_bash)" vw-cg \
            _vw_cg_op join nsenter -t "$VW_SB_HOLDER_PID" -n -m -C "${root[@]}" -- \
            env -i PATH="$path" HOME=/root LC_ALL=C \
            "$VW_SB_LIBVIRTD" -p /run/libvirt/libvirtd.pid
    ) &
    # Every step above execs, so this is libvirtd's PID.
    VW_SB_PID=$!
    # Out of the job table: no "Killed" notices; bash still reaps it.
    disown "$VW_SB_PID"
    export VW_SB_PID
    _vw_sb_save_state
    ok=0
    local i max=$((VW_SB_START_TIMEOUT * 20)) end=$((t0 + VW_SB_START_TIMEOUT * 1000))
    for ((i = 0; i < max; i++)); do
        _vw_pid_alive "$VW_SB_PID" || break
        if _vw_sb_answers; then ok=1; break; fi
        (($(_vw_now_ms) < end)) || break
        sleep 0.05
    done
    VW_SB_START_MS=$(($(_vw_now_ms) - t0))
    export VW_SB_START_MS
    if [[ $ok != 1 ]]; then
        _vw_log "libvirtd did not answer within ${VW_SB_START_TIMEOUT}s; output:"
        tail -n 20 "$VW_SB_DIR/libvirtd.out" >&2 || true
        vw_sb_log_tail 30 >&2 || true
        return 1
    fi
    _vw_log "libvirtd pid $VW_SB_PID answers after ${VW_SB_START_MS} ms"
    _vw_caps_save || true
}

_vw_sb_libvirtd_down() {
    local pid=${VW_SB_PID:-}
    [[ -n "$pid" ]] || return 0
    if _vw_sb_pid_ours "$pid"; then
        kill -TERM "$pid" 2>/dev/null || true
        if ! _vw_wait 15 _vw_pid_gone "$pid"; then
            _vw_log "libvirtd $pid ignored SIGTERM, killing"
            kill -KILL "$pid" 2>/dev/null || true
            _vw_wait 5 _vw_pid_gone "$pid" || true
        fi
    fi
    VW_SB_PID=""
}

vw_sandbox_start() {
    # Explicit "|| return" throughout: set -e is off when the caller uses
    # "if vw_sandbox_start ..." or "... || ...".
    local name=${1:-}
    shift || true
    [[ "$name" =~ ^[A-Za-z0-9_-]{1,12}$ ]] ||
        _vw_die "sandbox name must match [A-Za-z0-9_-]{1,12}: '$name'" || return
    [[ $EUID == 0 ]] || _vw_die "must run as root" || return
    local why
    why=$(vw_sandbox_available) || _vw_die "$why" || return
    _vw_sb_pick_libvirt || return
    [[ "${VW_SB_STATE:-}" != running ]] || _vw_die "a sandbox is already running" || return
    local ns="vwt-$name"
    if ip netns list | awk '{print $1}' | grep -qxF "$ns"; then
        _vw_die "netns $ns already exists (another test running, or a leftover: check before deleting)"
        return
    fi

    _vw_sb_ensure_ids || return
    VW_SB_NAME=$name
    VW_SB_NS=""
    VW_SB_DIR=$(mktemp -d "/tmp/vwt-$name.XXXXXX") || return
    VW_SB_CGNAME=$(basename "$VW_SB_DIR")
    VW_SB_HOOKS=$VW_SB_DIR/etc/libvirt/hooks
    VW_SB_SOCK=$VW_SB_DIR/run/libvirt/libvirt-sock
    VW_SB_LOG=$VW_SB_DIR/var/log/libvirt/libvirtd.log
    VW_SB_WANS=""
    VW_SB_PID=""
    VW_SB_HOLDER_PID=""
    VW_SB_OWNER=$BASHPID
    # Not "$BASHPID" inside the $(...): there it is the command
    # substitution's own subshell, and the reaper would then find every live
    # owner's start time different and tear its sandbox down.
    VW_SB_OWNER_START=$(_vw_pid_start "$VW_SB_OWNER")
    VW_SB_NETNS_ID=""
    VW_SB_STATE=running
    export VW_SB_NAME VW_SB_DIR VW_SB_CGNAME VW_SB_HOOKS VW_SB_SOCK VW_SB_LOG VW_SB_STATE

    _vw_sb_install_trap

    mkdir -p "$VW_SB_DIR"/{etc/libvirt,run/libvirt,var/lib/libvirt,var/cache/libvirt,cg,xml} || return
    # Debian's packaging (libvirt-daemon-system) creates these; libvirtd does not.
    mkdir -p "$VW_SB_DIR"/var/log/libvirt/{qemu,lxc} "$VW_SB_DIR"/var/lib/libvirt/{qemu,lxc,dnsmasq} || return
    mkdir -p "$VW_SB_HOOKS"/{network.d,qemu.d,lxc.d,daemon.d} || return
    _vw_sb_write_config || return
    _vw_cg_write_spec >"$VW_SB_DIR/cg.spec" || return
    _vw_caps_seed || return

    # Only a netns we created ourselves is ever ours to delete: a parallel
    # test could have taken the name since the check above.
    ip netns add "$ns" || return
    VW_SB_NS=$ns
    export VW_SB_NS
    ip -n "$ns" link set lo up || return

    (
        exec </dev/null >>"$VW_SB_DIR/holder.out" 2>&1
        exec ip netns exec "$ns" unshare -m --propagation private \
            /bin/bash -c "$(_vw_lib_bash)" vw-holder _vw_holder_stage1
    ) &
    VW_SB_HOLDER_PID=$!
    disown "$VW_SB_HOLDER_PID"
    export VW_SB_HOLDER_PID
    if ! _vw_wait 10 test -e "$VW_SB_DIR/holder.ready"; then
        cat "$VW_SB_DIR/holder.out" >&2 || true
        _vw_die "namespace holder did not come up"
        return
    fi
    if [[ -s "$VW_SB_DIR/holder.out" ]]; then cat "$VW_SB_DIR/holder.out" >&2; fi
    VW_SB_NETNS_ID=$(readlink "/proc/$VW_SB_HOLDER_PID/ns/net") || return
    export VW_SB_NETNS_ID
    _vw_sb_save_state || return

    if (($#)); then "$@" || return; fi
    _vw_sb_libvirtd_up
}

# What vw_sandbox_reap_stale needs to tear the sandbox down without us.
_vw_sb_save_state() {
    local v
    for v in VW_SB_NAME VW_SB_NS VW_SB_DIR VW_SB_CGNAME VW_SB_HOOKS VW_SB_SOCK VW_SB_LOG \
        VW_SB_WANS VW_SB_OWNER VW_SB_OWNER_START VW_SB_NETNS_ID VW_SB_HOLDER_PID VW_SB_PID; do
        printf '%s=%q\n' "$v" "${!v:-}"
    done >"$VW_SB_DIR/state.new"
    mv -f "$VW_SB_DIR/state.new" "$VW_SB_DIR/state"
}

# Tear down sandboxes whose owning test process died without cleanup
# (SIGKILL, machine-level timeout). Sandboxes of live owners are left alone.
vw_sandbox_reap_stale() {
    local st
    for st in /tmp/vwt-*/state; do
        [[ -f "$st" ]] || continue
        # A subshell, so the state read does not replace the caller's sandbox.
        (_vw_sb_reap_one "$st") || true
    done
}

_vw_sb_reap_one() {
    # shellcheck disable=SC1090
    source "$1"
    if _vw_pid_alive "$VW_SB_OWNER" && [[ "$(_vw_pid_start "$VW_SB_OWNER")" == "$VW_SB_OWNER_START" ]]; then
        return 0
    fi
    _vw_log "reaping stale sandbox $VW_SB_DIR (owner $VW_SB_OWNER gone)"
    VW_SB_OWNER=$BASHPID
    VW_SB_STATE=running
    vw_sandbox_stop
}

vw_sandbox_restart() {
    [[ "${VW_SB_STATE:-}" == running ]] || _vw_die "sandbox not running" || return
    _vw_sb_libvirtd_down || return
    _vw_sb_libvirtd_up
}

vw_sandbox_reload() {
    [[ -n "${VW_SB_PID:-}" ]] || _vw_die "libvirtd not running" || return
    _vw_sb_pid_ours "$VW_SB_PID" || _vw_die "libvirtd $VW_SB_PID is gone" || return
    kill -HUP "$VW_SB_PID"
}

vw_sb_log_tail() { tail -n "${1:-40}" "${VW_SB_LOG:-/dev/null}" 2>/dev/null; }

# vw_hook_install DRIVER FILE: DRIVER is network, qemu, lxc or daemon. libvirtd
# looks for hooks only at start and SIGHUP: install before vw_sandbox_start
# returns (PRESTART_CMD) or follow with vw_sandbox_restart/reload.
vw_hook_install() {
    local driver=$1 src=$2 dst
    dst="$VW_SB_HOOKS/$driver.d/$(basename "$src")"
    install -m 0755 "$src" "$dst"
}

# ------------------------------------------------------------------- stop --

# PIDs that belong to the sandbox: its cgroup subtree plus anything in its
# network namespaces (e.g. left behind by vw_sb_exec ... &).
_vw_sb_pids() {
    local n
    {
        _vw_cg_call procs 2>/dev/null || true
        for n in "${VW_SB_NS:-}" ${VW_SB_WANS:-}; do
            if [[ -n "$n" ]]; then ip netns pids "$n" 2>/dev/null || true; fi
        done
    } | sort -un | while read -r p; do
        [[ "$p" == "${VW_SB_HOLDER_PID:-}" || "$p" == "$$" || "$p" == "$BASHPID" ]] && continue
        echo "$p"
    done
}

_vw_sb_destroy_objects() {
    local d n
    _vw_sb_pid_ours "${VW_SB_PID:-}" || return 0
    _vw_sb_answers || return 0
    for d in $(timeout 10 virsh -c "$(_vw_sb_uri lxc)" list --name 2>/dev/null); do
        timeout -k 2 20 virsh -c "$(_vw_sb_uri lxc)" destroy "$d" >/dev/null 2>&1 || true
    done
    for d in $(timeout 10 virsh -c "$(_vw_sb_uri qemu)" list --name 2>/dev/null); do
        timeout -k 2 20 virsh -c "$(_vw_sb_uri qemu)" destroy "$d" >/dev/null 2>&1 || true
    done
    for n in $(timeout 10 virsh -c "$(_vw_sb_uri qemu)" net-list --name 2>/dev/null); do
        timeout -k 2 20 virsh -c "$(_vw_sb_uri qemu)" net-destroy "$n" >/dev/null 2>&1 || true
    done
}

vw_sandbox_stop() {
    [[ "${VW_SB_STATE:-}" == running ]] || return 0
    # Subshells do not own the sandbox; never tear it down from one.
    [[ "${VW_SB_OWNER:-}" == "$BASHPID" ]] || return 0
    VW_SB_STATE=stopping
    local i pids n rc=0

    # Start may have failed before the holder was recorded.
    if [[ -z "${VW_SB_NETNS_ID:-}" && -n "${VW_SB_NS:-}" ]]; then
        VW_SB_NETNS_ID=$(ip netns exec "$VW_SB_NS" readlink /proc/self/ns/net 2>/dev/null) || true
    fi

    _vw_sb_destroy_objects || true
    _vw_sb_libvirtd_down || true

    for ((i = 0; i < 20; i++)); do
        pids=$(_vw_sb_pids || true)
        [[ -z "$pids" ]] && break
        # shellcheck disable=SC2086
        kill -KILL $pids 2>/dev/null || true
        sleep 0.1
    done
    [[ -z "$pids" ]] || { _vw_log "processes survived: $pids"; rc=1; }

    if _vw_sb_pid_ours "${VW_SB_HOLDER_PID:-}"; then
        kill -KILL "$VW_SB_HOLDER_PID" 2>/dev/null || true
        _vw_wait 5 _vw_pid_gone "$VW_SB_HOLDER_PID" || true
    fi

    # Cgroups are released asynchronously after their last task exits.
    if [[ -n "${VW_SB_DIR:-}" && -s "$VW_SB_DIR/cg.ok" ]]; then
        _vw_wait 5 _vw_cg_call destroy 2>/dev/null || { _vw_log "cgroup $VW_SB_CGNAME not removable"; rc=1; }
    fi

    for n in ${VW_SB_WANS:-} "${VW_SB_NS:-}"; do
        if [[ -n "$n" ]]; then ip netns del "$n" 2>/dev/null || true; fi
    done

    if [[ -n "${VW_SB_DIR:-}" && "$VW_SB_DIR" == /tmp/vwt-* ]]; then
        if [[ "$VW_SB_KEEP" == 1 ]]; then
            _vw_log "kept $VW_SB_DIR"
        else
            rm -rf --one-file-system "$VW_SB_DIR" || rc=1
        fi
    fi
    VW_SB_STATE=stopped
    VW_SB_PID="" VW_SB_HOLDER_PID="" VW_SB_WANS=""
    return $rc
}

# ------------------------------------------------------------------- trap --

VW_SB_CLEANUPS=()
vw_cleanup_add() { VW_SB_CLEANUPS+=("$*"); }

_vw_sb_exit_trap() {
    local rc=$? i
    set +e
    for ((i = ${#VW_SB_CLEANUPS[@]} - 1; i >= 0; i--)); do eval "${VW_SB_CLEANUPS[i]}"; done
    if [[ $rc != 0 && "${VW_SB_STATE:-}" == running ]]; then
        _vw_log "exit status $rc; libvirtd log tail:"
        vw_sb_log_tail 25 >&2
    fi
    vw_sandbox_stop
    [[ -n "${_VW_SB_PREV_EXIT_TRAP:-}" ]] && eval "$_VW_SB_PREV_EXIT_TRAP"
    exit $rc
}

_vw_sb_install_trap() {
    local prev
    prev=$(trap -p EXIT)
    if [[ -n "$prev" && "$prev" != *_vw_sb_exit_trap* ]]; then
        # trap -p prints: trap -- 'CMD' EXIT (CMD shell-quoted)
        eval "local -a words=($prev)"
        # shellcheck disable=SC2154
        _VW_SB_PREV_EXIT_TRAP=${words[2]}
    fi
    trap _vw_sb_exit_trap EXIT
    # Make signals go through the EXIT trap.
    trap 'exit 129' HUP
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

# ----------------------------------------------------------------- guests --

# A guest can be gone right after "virsh start" returned (its init exited,
# qemu died): check, and show the guest's log.
# _vw_check_running VIRSH_FN DOMAIN LOGFILE
_vw_check_running() {
    local st
    st=$("$1" domstate "$2" 2>/dev/null) || st=unknown
    [[ "$st" == running ]] && return 0
    _vw_log "$2 is '$st' right after start; $3:"
    tail -n 15 "$3" >&2 2>/dev/null || true
    return 1
}

# Wait until the bridge port of a guest NIC forwards. libvirt bridges have
# STP on by default, and the kernel then keeps a new port in listening and
# learning for 2 x 2 s (its minimum forward delay), so a guest cannot talk
# for ~4 s after "virsh start" returned. Not a bridge port: returns at once.
# _vw_wait_forwarding VIRSH_FN DOMAIN MAC
_vw_port_forwarding() { [[ "$(vw_sb_exec cat "/sys/class/net/$1/brport/state")" == 3 ]]; }
_vw_wait_forwarding() {
    local fn=$1 dom=$2 mac=$3 dev
    dev=$("$fn" domiflist "$dom" | awk -v m="${mac,,}" 'tolower($5) == m { print $1 }')
    [[ -n "$dev" && "$dev" != - ]] || return 0
    vw_sb_exec test -e "/sys/class/net/$dev/brport/state" || return 0
    _vw_wait 10 _vw_port_forwarding "$dev" ||
        _vw_die "bridge port $dev of $dom not forwarding after 10 s"
}

# The <metadata> element of a guest's XML from VW_GUEST_METADATA (or nothing).
_vw_guest_metadata() {
    [[ -n "${VW_GUEST_METADATA:-}" ]] || return 0
    printf '<metadata>%s</metadata>' "$VW_GUEST_METADATA"
}

# vw_lxc_guest NAME NETWORK MAC IP/PREFIX [GATEWAY|-]
# Defines and starts a container on the host filesystem (as seen in the
# sandbox) with one NIC on NETWORK; libvirt sets its IP and route itself.
# Init: by default /bin/sh trapping SIGTERM, because a plain /bin/sleep as
# PID 1 of its pid namespace ignores SIGTERM and "virsh destroy" then waits
# for libvirt's SIGKILL fallback (~1.8 s instead of ~0.2 s). VW_LXC_INIT=sleep
# gives the plain <init>/bin/sleep</init><initarg>infinity</initarg>.
# Sets VW_LXC_START_MS (virsh start) and VW_LXC_READY_MS (until the bridge
# port forwards; VW_LXC_NOWAIT=1 skips that wait).
vw_lxc_guest() {
    local name=$1 net=$2 mac=$3 ipp=$4 gw=${5:--} ip pfx route="" fam=ipv4 dst=0.0.0.0 init t0
    ip=${ipp%/*}
    pfx=${ipp#*/}
    [[ "$ip" == *:* ]] && { fam=ipv6; dst=::; }
    [[ "$gw" != - ]] && route="<route family='$fam' address='$dst' prefix='0' gateway='$gw'/>"
    if [[ "${VW_LXC_INIT:-}" == sleep ]]; then
        init="<init>/bin/sleep</init><initarg>infinity</initarg>"
    else
        init="<init>/bin/sh</init><initarg>-c</initarg><initarg>trap 'exit 0' TERM; sleep infinity &amp; wait</initarg>"
    fi
    cat >"$VW_SB_DIR/xml/$name.xml" <<EOF
<domain type='lxc'>
  <name>$name</name>
  $(_vw_guest_metadata)
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os>
    <type>exe</type>
    $init
  </os>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/lib/libvirt/libvirt_lxc</emulator>
    <interface type='network'>
      <source network='$net'/>
      <mac address='$mac'/>
      <ip family='$fam' address='$ip' prefix='$pfx'/>
      $route
    </interface>
    <console type='pty'/>
  </devices>
</domain>
EOF
    vw_virsh_lxc define "$VW_SB_DIR/xml/$name.xml" >/dev/null || return
    t0=$(_vw_now_ms)
    vw_virsh_lxc start "$name" >/dev/null || return
    VW_LXC_START_MS=$(($(_vw_now_ms) - t0))
    _vw_check_running vw_virsh_lxc "$name" "$VW_SB_DIR/var/log/libvirt/lxc/$name.log" || return
    if [[ "${VW_LXC_NOWAIT:-0}" != 1 ]]; then
        _vw_wait_forwarding vw_virsh_lxc "$name" "$mac" || return
    fi
    VW_LXC_READY_MS=$(($(_vw_now_ms) - t0))
    export VW_LXC_START_MS VW_LXC_READY_MS
}

# The container's init, as a host PID: the only child of its libvirt_lxc
# controller, whose PID is the domain's id.
_vw_lxc_init() {
    local ctl pid
    ctl=$(vw_virsh_lxc domid "$1" 2>/dev/null) || return 1
    [[ "$ctl" =~ ^[0-9]+$ ]] || return 1
    for pid in $(ps -o pid= --ppid "$ctl" 2>/dev/null); do
        echo "$pid"
        return 0
    done
    return 1
}

# vw_lxc_exec NAME CMD... : CMD runs in the guest's namespaces (mount, UTS,
# IPC, network, PID), with CMD's exit status. Not "virsh lxc-enter-namespace":
# libvirt 9.0 sometimes never learns a container's init PID (its init event
# from libvirt_lxc gets lost; seen for ~1 guest in 10), and then refuses with
# "Init pid is not yet available" for as long as the guest runs. nsenter goes
# by the init process itself. CMD dies with the guest (it is in the guest's
# PID namespace).
vw_lxc_exec() {
    local name=$1 cmd=$2 init
    shift 2
    # The guest shares our filesystem; resolve CMD here, as before.
    [[ "$cmd" == */* ]] || cmd=$(command -v "$cmd") || _vw_die "no such command: $cmd" || return
    init=$(_vw_lxc_init "$name") || _vw_die "guest $name: no init process found" || return
    nsenter -t "$init" -r -m -u -i -n -p -- "$cmd" "$@"
}

# vw_qemu_guest NAME NETWORK MAC : diskless TCG guest that network-boots
# (iPXE asks for DHCP on NETWORK). Sets VW_QEMU_START_MS; waits for the
# bridge port like vw_lxc_guest.
vw_qemu_guest() {
    local name=$1 net=$2 mac=$3
    cat >"$VW_SB_DIR/xml/$name.xml" <<EOF
<domain type='qemu'>
  <name>$name</name>
  $(_vw_guest_metadata)
  <memory unit='MiB'>96</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <boot dev='network'/>
  </os>
  <on_poweroff>destroy</on_poweroff>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <interface type='network'>
      <source network='$net'/>
      <mac address='$mac'/>
      <model type='virtio'/>
    </interface>
    <serial type='file'><source path='/var/log/libvirt/qemu/$name.serial'/></serial>
    <video><model type='none'/></video>
    <memballoon model='none'/>
  </devices>
</domain>
EOF
    vw_virsh define "$VW_SB_DIR/xml/$name.xml" >/dev/null || return
    vw_time_ms VW_QEMU_START_MS vw_virsh start "$name" >/dev/null || return
    export VW_QEMU_START_MS
    _vw_check_running vw_virsh "$name" "$VW_SB_DIR/var/log/libvirt/qemu/$name.log" || return
    if [[ "${VW_LXC_NOWAIT:-0}" != 1 ]]; then
        _vw_wait_forwarding vw_virsh "$name" "$mac" || return
    fi
}

# -------------------------------------------------------------------- wan --

_vw_ip4_int() {
    local a b c d
    IFS=. read -r a b c d <<<"$1"
    echo $(((a << 24) | (b << 16) | (c << 8) | d))
}
_vw_int_ip4() { echo "$(($1 >> 24 & 255)).$(($1 >> 16 & 255)).$(($1 >> 8 & 255)).$(($1 & 255))"; }

# The other usable address of the wan prefix: .1 of the subnet, or .2 if
# the wan side already is .1.
_vw_peer4() {
    local ip=${1%/*} pfx=${1#*/} a net
    a=$(_vw_ip4_int "$ip")
    net=$((a & ((0xffffffff << (32 - pfx)) & 0xffffffff)))
    if ((a == net + 1)); then a=$((net + 2)); else a=$((net + 1)); fi
    echo "$(_vw_int_ip4 "$a")/$pfx"
}

_vw_peer6() {
    local ip=${1%/*} pfx=${1#*/}
    case $ip in
    *::1) echo "${ip%::1}::2/$pfx" ;;
    *::*) echo "${ip%::*}::1/$pfx" ;;
    *) _vw_die "cannot derive the sandbox address for $1; pass it explicitly" ;;
    esac
}

_vw_testnet() {
    case $1 in
    203.0.113.* | 198.51.100.* | 2001:db8:* | 2001:DB8:*) return 0 ;;
    esac
    _vw_die "$1 is not a TEST-NET address (203.0.113.0/24, 198.51.100.0/24, 2001:db8::/32)"
}

# vw_wan_add NAME WAN4/PFX WAN6/PFX [SB4/PFX [SB6/PFX]]
# An "outside" network namespace vwt-NAME, joined by a veth to the sandbox
# netns (interface wan-NAME there). If the sandbox has no default route yet,
# it gets one via the wan, so NATed guests reach any address.
vw_wan_add() {
    local name=$1 w4=$2 w6=$3 s4=${4:-} s6=${5:-} ns="vwt-$1" dev
    [[ "$name" =~ ^[A-Za-z0-9_-]{1,11}$ ]] || _vw_die "wan name must match [A-Za-z0-9_-]{1,11}" || return
    [[ -n "$s4" ]] || s4=$(_vw_peer4 "$w4")
    [[ -n "$s6" ]] || s6=$(_vw_peer6 "$w6") || return
    local a
    for a in "$w4" "$w6" "$s4" "$s6"; do _vw_testnet "$a" || return; done
    dev="wan-$name"
    [[ -n "${VW_SB_NS:-}" ]] || _vw_die "sandbox not started" || return
    ip netns add "$ns" || return
    VW_SB_WANS="$VW_SB_WANS $ns"
    _vw_sb_save_state || return
    ip -n "$ns" link set lo up || return
    ip -n "$VW_SB_NS" link add "$dev" type veth peer name eth0 netns "$ns" || return
    ip -n "$ns" addr add "$w4" dev eth0 || return
    ip -n "$ns" addr add "$w6" dev eth0 nodad || return
    ip -n "$ns" link set eth0 up || return
    ip -n "$VW_SB_NS" addr add "$s4" dev "$dev" || return
    ip -n "$VW_SB_NS" addr add "$s6" dev "$dev" nodad || return
    ip -n "$VW_SB_NS" link set "$dev" up || return
    if [[ -z "$(ip -n "$VW_SB_NS" -4 route show default)" ]]; then
        ip -n "$VW_SB_NS" route add default via "${w4%/*}" dev "$dev" || return
    fi
    if [[ -z "$(ip -n "$VW_SB_NS" -6 route show default)" ]]; then
        ip -n "$VW_SB_NS" -6 route add default via "${w6%/*}" dev "$dev" || return
    fi
}

# vw_ns_add NAME: an extra, empty netns vwt-NAME (lo up) for the test to wire
# up as it likes (a LAN behind a bridged uplink, a second outside); like a
# wan it is deleted, and its processes killed, when the sandbox stops.
vw_ns_add() {
    local name=$1 ns="vwt-$1"
    [[ "$name" =~ ^[A-Za-z0-9_-]{1,11}$ ]] || _vw_die "netns name must match [A-Za-z0-9_-]{1,11}" || return
    [[ -n "${VW_SB_NS:-}" ]] || _vw_die "sandbox not started" || return
    ip netns add "$ns" || return
    VW_SB_WANS="$VW_SB_WANS $ns"
    _vw_sb_save_state || return
    ip -n "$ns" link set lo up
}
