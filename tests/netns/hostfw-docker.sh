#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# virtwire beside a real dockerd (Debian's docker.io): Docker's FORWARD
# policy DROP, DOCKER-USER, its isolation chains and its bridge docker0, in
# the test's host namespace. dockerd runs in that network namespace, in a
# private mount namespace (its own /run, data-root, exec-root and pidfile
# under the test's directory) and a cgroup namespace rooted in a cgroup of
# the test's own: the machine's docker and network are never touched. Its
# container is a real one (an image imported from busybox-static: no
# registry), and the probes run in its network namespace.
#
#   wan 203.0.113.2 ── host wan0 203.0.113.1
#                      vw-web 192.168.180.1/24 (nat) ── guest1 .10
#                      vw-rt  192.168.181.1/24 (route) ── guest2 .10
#                      docker0 172.17.0.1/16 ── container c1 172.17.0.2
#   lan 198.51.100.1 ── host eth1 → vw-lan (bridged) ── guest4 198.51.100.50
# Docker is started before virtwire, restarted, and started after it. Docker
# turns br_netfilter on (bridge-nf-call-iptables=1): the bridged guest's
# frames pass Docker's FORWARD too.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/hostfw-lib.sh"
need_root
need_tools iptables dockerd docker busybox nsenter unshare

topology() {
	topo_wan &&
		ip -n "$(ns wan)" route add 192.168.181.0/24 via 203.0.113.1 &&
		guests_on vw-web vw-rt &&
		lan_segment
}
setup "topology: wan, host, bridges vw-web and vw-rt, guests, the LAN on eth1" topology
lan_xml
NETS=("$VWT_TMP/web.xml" "$VWT_TMP/rt.xml" "$VWT_TMP/lan.xml")

net_xml web vw-web 192.168.180 nat "$SSH_FWD"'
      <vw:forward name="mine" proto="tcp" host-port="2224" guest-address="192.168.180.10" guest-port="22">
        <vw:source address="203.0.113.2/32"/>
      </vw:forward>
      <vw:forward name="theirs" proto="tcp" host-port="2225" guest-address="192.168.180.10" guest-port="22">
        <vw:source address="198.51.100.0/24"/>
      </vw:forward>
' >"$VWT_TMP/web.xml"
net_xml rt vw-rt 192.168.181 route >"$VWT_TMP/rt.xml"

# --- dockerd in the sandbox -------------------------------------------------
D=$VWT_TMP/docker
CG=vwt-$VWT_ID
CGS="cpu cpuacct cpuset memory devices freezer blkio pids systemd"
DOCKER=(docker -H "unix://$D/docker.sock")
mkdir -p "$D" && echo '{}' >"$D/daemon.json"

# The cgroup every process of Docker's lives in: below the machine's root,
# removed at exit (after everything in it is ended by PID).
cg_make() {
	local c
	for c in $CGS; do
		[ -d "/sys/fs/cgroup/$c" ] || continue
		mkdir -p "/sys/fs/cgroup/$c/$CG" || return 1
		if [ "$c" = cpuset ]; then
			cat /sys/fs/cgroup/cpuset/cpuset.cpus >"/sys/fs/cgroup/cpuset/$CG/cpuset.cpus" &&
				cat /sys/fs/cgroup/cpuset/cpuset.mems >"/sys/fs/cgroup/cpuset/$CG/cpuset.mems" || return 1
		fi
	done
}
cg_clean() {
	local c pid
	for pid in $(cat /sys/fs/cgroup/*/"$CG"/cgroup.procs /sys/fs/cgroup/*/"$CG"/*/cgroup.procs 2>/dev/null | sort -u); do
		kill -9 "$pid" 2>/dev/null
	done
	sleep 0.2
	for c in $CGS; do
		[ -d "/sys/fs/cgroup/$c/$CG" ] && find "/sys/fs/cgroup/$c/$CG" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	return 0
}
vwt_cleanup_add cg_clean

# dockerd_start: dockerd in the host namespace; waits (10 s at most) for it.
dockerd_start() {
	local i
	(
		for c in $CGS; do
			[ -d "/sys/fs/cgroup/$c/$CG" ] && echo $BASHPID >"/sys/fs/cgroup/$c/$CG/cgroup.procs"
		done
		exec ip netns exec "$(ns host)" unshare -C -m --propagation private bash -c '
			mount -t tmpfs tmpfs /run && mkdir -p /run/docker &&
			mount -t tmpfs -o mode=755 tmpfs /sys/fs/cgroup &&
			for c in '"$CGS"'; do
				mkdir /sys/fs/cgroup/$c
				if [ $c = systemd ]; then o=none,name=systemd; else o=$c; fi
				mount -t cgroup -o $o cgroup /sys/fs/cgroup/$c || exit 1
			done
			exec dockerd --config-file "$1/daemon.json" --data-root "$1/data" --exec-root "$1/exec" \
				--pidfile "$1/docker.pid" -H "unix://$1/docker.sock"' _ "$D"
	) >>"$D/log" 2>&1 &
	VWT_PIDS+=("$!")
	for i in $(seq 1 200); do
		"${DOCKER[@]}" info >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	tail -5 "$D/log"
	return 1
}
# dockerd_stop: SIGTERM by its pidfile, and waits (15 s at most).
dockerd_stop() {
	local pid i
	pid=$(cat "$D/docker.pid" 2>/dev/null) || return 0
	kill "$pid" 2>/dev/null
	for i in $(seq 1 300); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.05
	done
	return 1
}
vwt_cleanup_add dockerd_stop

# The container's network namespace is a role too: "ctr".
vwt_in() {
	local where=$1
	shift
	case $where in
	ctr) nsenter -t "$CPID" -n "$@" ;;
	vwt-*) ip netns exec "$where" "$@" ;;
	*) ip netns exec "$(ns "$where")" "$@" ;;
	esac
}
container_start() {
	"${DOCKER[@]}" start c1 >/dev/null 2>&1 || "${DOCKER[@]}" run -d --name c1 vwt-busybox sleep 3600 >/dev/null || return 1
	CPID=$("${DOCKER[@]}" inspect -f '{{.State.Pid}}' c1) && [ "$CPID" -gt 0 ] && serve ctr tcp4 80
}
image() {
	mkdir -p "$D/rootfs/bin" && cp "$(command -v busybox)" "$D/rootfs/bin/" &&
		ln -s busybox "$D/rootfs/bin/sleep" && ln -s busybox "$D/rootfs/bin/sh" &&
		tar -C "$D/rootfs" -c . | "${DOCKER[@]}" import - vwt-busybox
}

setup "a cgroup for Docker" cg_make
setup "dockerd starts (before virtwire)" dockerd_start
setup "an image from busybox-static" image
setup "container c1 on docker0" container_start
says "Docker's shape: FORWARD policy DROP" '^-P FORWARD DROP' nsx host iptables -S FORWARD
setup "Docker's shape: bridged frames pass the forward hook (br_netfilter)" brnf_on
ipt() {
	nsx host iptables-save | grep -v '^#' | sed 's/ \[[0-9]*:[0-9]*\]//'
}
ipt >"$VWT_TMP/ipt-before"

serve wan tcp4 80
serve guest1 tcp4 22
serve guest2 tcp4 22
serve host udp4 53
serve lan tcp4 80

# traffic WHEN: every mode through Docker's FORWARD, and Docker's network.
traffic() {
	reach "$1: nat guest egress" guest1 tcp4 203.0.113.2 80 '^wan 203\.0\.113\.1$'
	reach "$1: a forward" wan tcp4 203.0.113.1 2222 '^guest1 203\.0\.113\.2$'
	reach "$1: an allow-listed forward, from an allowed source" wan tcp4 203.0.113.1 2224 '^guest1 203\.0\.113\.2$'
	blocked "$1: … not from another" wan tcp4 203.0.113.1 2225 refused
	reach "$1: hairpin (guest1 to its own forward)" guest1 tcp4 203.0.113.1 2222 '^guest1 '
	reach "$1: DNS to the host" guest1 udp4 192.168.180.1 53 '^host 192\.168\.180\.10$'
	reach "$1: routed guest egress" guest2 tcp4 203.0.113.2 80 '^wan 192\.168\.181\.10$'
	reach "$1: routed inbound" wan tcp4 192.168.181.10 22 '^guest2 203\.0\.113\.2$'
	reach "$1: Docker's container reaches outside" ctr tcp4 203.0.113.2 80 '^wan 203\.0\.113\.1$'
	reach "$1: the host reaches the container" host tcp4 172.17.0.2 80 '^ctr 172\.17\.0\.1$'
	blocked "$1: a guest does not reach the container" guest1 tcp4 172.17.0.2 80 dropped host
	blocked "$1: the container does not reach a nat guest" ctr tcp4 192.168.180.10 22 dropped host
	lan_traffic "$1"
}
docker_user_first() {
	nsx host iptables -S DOCKER-USER | sed -n 2,4p | grep -c 'comment "virtwire: ' | grep -qx 3
}

check "apply with Docker running" vw host apply "${NETS[@]}"
setup "guest4 on vw-lan" lan_plug
check "virtwire's rules first in DOCKER-USER" docker_user_first
check "verify: nothing to report" vw host verify --all
traffic "Docker before virtwire"

setup "dockerd stops" dockerd_stop
setup "dockerd starts again" dockerd_start
setup "container c1 again" container_start
check "after dockerd's restart: virtwire's rules still first in DOCKER-USER" docker_user_first
traffic "after dockerd's restart"

check "teardown" vw host teardown web rt lan
check "iptables as Docker left it" eval 'ipt | diff -u "$VWT_TMP/ipt-before" -'

# Docker after virtwire: a clean ruleset, as after a reboot.
setup "dockerd stops" dockerd_stop
setup "Docker's tables gone" eval 'nsx host nft delete table ip filter && nsx host nft delete table ip nat'
check "apply without Docker" vw host apply "${NETS[@]}"
setup "guest4 on vw-lan again" lan_plug
lacks "nothing of virtwire's in iptables without Docker" virtwire nsx host iptables-save
# Docker sets its DROP policy only when it turns forwarding on itself.
setup "forwarding off, as at boot" nsx host sysctl -qw net.ipv4.ip_forward=0
setup "dockerd starts (after virtwire)" dockerd_start
setup "container c1 again" container_start
says "verify: virtwire's rules are missing from the DOCKER-USER Docker made" "DOCKER-USER.*is missing" \
	eval 'vw host verify --all; true'
check "re-assert (what virtwire restore does)" vw host apply "${NETS[@]}"
check "virtwire's rules first in DOCKER-USER" docker_user_first
traffic "Docker after virtwire"
check "teardown" vw host teardown web rt lan
lacks "nothing of virtwire's left in iptables" virtwire nsx host iptables-save
done_testing
