#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# No stale traffic: a forward that is removed or re-pointed ends the
# connections it admitted (their conntrack entries go), a forward that is
# kept does not, and a network's teardown ends all of its own. Each has an
# established TCP connection (a line every 0.1 s, echoed back by the guest)
# and a UDP flow of 10 packets a second running through it, from wan, while
# virtwire applies the change; `conntrack -L` is the oracle for the table.
#
#   wan  203.0.113.2   2001:db8:ffff::2        (the clients)
#    │ veth
#   host wan0 203.0.113.1   2001:db8:ffff::1
#        vw-ct (bridge) 192.168.160.1/24 2001:db8:160::1/64
#         ├─ guest1 192.168.160.10 2001:db8:160::10   (every forward's first target)
#         └─ guest2 192.168.160.11                     (the re-pointed forwards' new one)
#
#   removed:    tcp 2001, udp 3001, tcp6 2011 → guest1; tcp 2004 → guest1 (which pushes)
#   re-pointed: tcp 2002, udp 3002 → guest1, then guest2
#   kept:       tcp 2003, udp 3003 → guest1 (until the teardown)
#   host: forwarding on; another firewall's table (NAT chains, a stateful rule)
. "$(dirname "$0")/lib.sh"
need_root
need_tools conntrack

topology() {
	topo_wan &&
		ip -n "$(ns wan)" route add 192.168.160.0/24 via 203.0.113.1 &&
		topo_bridge vw-ct 192.168.160.1/24 2001:db8:160::1/64 &&
		topo_guest guest1 vw-ct 52:54:00:c7:00:10 192.168.160.10/24 192.168.160.1 2001:db8:160::10/64 2001:db8:160::1 &&
		topo_guest guest2 vw-ct 52:54:00:c7:00:11 192.168.160.11/24 192.168.160.1 &&
		# Forwarding on before virtwire, as libvirt or Docker leave it:
		# teardown leaves it on, so packets of connections that teardown
		# did not end would still be forwarded (the checks would see them).
		nsx host sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 &&
		# Another firewall with NAT chains and a stateful rule, as Docker's
		# has: the kernel tracks connections in a namespace only while a
		# rule there uses conntrack, and translates them at a hook only
		# while some NAT chain is registered there. Without them, deleting
		# virtwire's table (the last network's teardown) would stop every
		# DNATed connection whatever virtwire does.
		nsx host nft add table inet vwt-other &&
		nsx host nft add chain inet vwt-other pre '{ type nat hook prerouting priority -100; }' &&
		nsx host nft add chain inet vwt-other post '{ type nat hook postrouting priority 100; }' &&
		nsx host nft add chain inet vwt-other fw '{ type filter hook forward priority 0; }' &&
		nsx host nft add rule inet vwt-other fw ct state established,related accept &&
		settle host wan guest1
}
setup "topology: wan, host, bridge vw-ct, guest1, guest2" topology

# The network, with the re-pointed forwards' target $1 and, unless $2 is
# "after", the forwards that the change removes.
write_net() {
	local removed=''
	[ "${2:-}" = after ] || removed='
      <vw:forward name="rm-tcp" proto="tcp" host-port="2001" guest-address="192.168.160.10"/>
      <vw:forward name="rm-udp" proto="udp" host-port="3001" guest-address="192.168.160.10"/>
      <vw:forward name="rm-tcp6" proto="tcp" host-port="2011" guest-address="2001:db8:160::10"/>
      <vw:forward name="rm-push" proto="tcp" host-port="2004" guest-address="192.168.160.10"/>'
	cat >"$VWT_TMP/ct.xml" <<XML
<network>
  <name>ct</name>
  <forward mode='open'/>
  <bridge name='vw-ct'/>
  <ip address='192.168.160.1' prefix='24'/>
  <ip family='ipv6' address='2001:db8:160::1' prefix='64'/>
  <metadata>
    <vw:network xmlns:vw="urn:virtwire:1" mode="nat">$removed
      <vw:forward name="mv-tcp" proto="tcp" host-port="2002" guest-address="$1"/>
      <vw:forward name="mv-udp" proto="udp" host-port="3002" guest-address="$1"/>
      <vw:forward name="keep-tcp" proto="tcp" host-port="2003" guest-address="192.168.160.10"/>
      <vw:forward name="keep-udp" proto="udp" host-port="3003" guest-address="192.168.160.10"/>
    </vw:network>
  </metadata>
</network>
XML
}

# Servers and clients: every line they log starts with the wall-clock time.
cat >"$VWT_TMP/flow.py" <<'PY'
import errno, select, socket, sys, time

def out(*a):
    print('%.3f' % time.time(), *a, flush=True)

def listener(kind, port):
    s = socket.socket(socket.AF_INET6, kind)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(('::', port))
    return s

def tcp_serve(name, port):
    s = listener(socket.SOCK_STREAM, port)
    s.listen(16)
    out('ready')
    conns = []
    while True:
        for c in select.select([s] + conns, [], [], 1)[0]:
            if c is s:
                conns.append(s.accept()[0])
                continue
            try:
                data = c.recv(4096)
                if data:
                    c.sendall(name.encode() + b' ' + data)
                    continue
            except OSError:
                pass
            conns.remove(c)
            c.close()

# Pushes a line every 0.1 s to each client in turn, reading nothing: the
# guest speaks first.
def tcp_push(name, port):
    s = listener(socket.SOCK_STREAM, port)
    s.listen(16)
    out('ready')
    while True:
        c = s.accept()[0]
        for i in range(600):
            try:
                c.sendall(b'%s %d\n' % (name.encode(), i))
            except (ConnectionResetError, BrokenPipeError):
                out('reset')
                break
            time.sleep(0.1)
        c.close()

def udp_serve(name, port):
    s = listener(socket.SOCK_DGRAM, port)
    out('ready')
    while True:
        data, peer = s.recvfrom(4096)
        out('got', data.decode(errors='replace'), 'from', peer[0])

# A line every INTERVAL s, COUNT at most; each answer, or how it ended.
# With INTERVAL 0 it sends nothing: it only reads what the server pushes.
def tcp_client(addr, port, count, interval):
    s = socket.create_connection((addr, port), timeout=2)
    s.settimeout(1)
    out('connected')
    for i in range(count):
        try:
            if interval:
                s.sendall(b'%d\n' % i)
            data = s.recv(4096)
        except ConnectionResetError:
            out('reset')
            return
        except socket.timeout:
            out('timeout')
            continue
        except OSError as e:
            out('error', errno.errorcode.get(e.errno, e.errno))
            return
        if not data:
            out('closed')
            return
        out('reply', data.split()[0].decode())
        time.sleep(interval)
    out('done')

def udp_client(addr, port, count, interval):
    s = socket.socket(socket.AF_INET6 if ':' in addr else socket.AF_INET, socket.SOCK_DGRAM)
    for i in range(count):
        try:
            s.sendto(b'%d' % i, (addr, port))
        except OSError:
            pass
        time.sleep(interval)
    out('done')

mode, a = sys.argv[1], sys.argv[2:]
if mode in ('tcp-serve', 'tcp-push', 'udp-serve'):
    {'tcp-serve': tcp_serve, 'tcp-push': tcp_push, 'udp-serve': udp_serve}[mode](a[0], int(a[1]))
else:
    (tcp_client if mode == 'tcp-client' else udp_client)(a[0], int(a[1]), int(a[2]), float(a[3]))
PY

# flow ROLE NAME ARGS...: flow.py in ROLE, bounded in time, logging to
# $VWT_TMP/NAME.log.
flow() {
	local role=$1 name=$2
	shift 2
	nsx "$role" timeout 60 python3 "$VWT_TMP/flow.py" "$@" </dev/null >"$VWT_TMP/$name.log" 2>&1 &
	VWT_PIDS+=($!)
}

# wait_for NAME ERE [COUNT]: until NAME's log has COUNT (1) lines matching
# ERE, 5 s at most.
wait_for() {
	local _
	for _ in $(seq 1 100); do
		[ "$(grep -Ec -- "$2" "$VWT_TMP/$1.log")" -ge "${3:-1}" ] && return 0
		sleep 0.05
	done
	echo "$1.log:"
	cat "$VWT_TMP/$1.log"
	return 1
}

# since T NAME ERE: how many of NAME's log lines after time T match ERE.
since() {
	awk -v t="$1" '$1 > t' "$VWT_TMP/$2.log" | grep -Ec -- "$3"
}

# stopped SERVER CLIENT: the UDP flow of CLIENT reached SERVER in the second
# before the change (t0) and not after it (t1), while CLIENT kept sending.
stopped() {
	local n
	n=$(awk -v t="$t0" '$1 > t - 1 && $1 <= t' "$VWT_TMP/$1.log" | grep -c ' got ')
	[ "$n" -ge 5 ] || { echo "only $n packets reached $1 in the second before the change"; return 1; }
	n=$(since "$t1" "$1" ' got ')
	[ "$n" = 0 ] || { echo "$n packets reached $1 after the change"; tail -5 "$VWT_TMP/$1.log"; return 1; }
	[ "$(since "$t0" "$2" " done")" = 0 ] || { echo "$2 had stopped sending: no proof"; return 1; }
}

now() {
	date +%s.%N
}

# ct_of PROTO PORT GUEST: the entries DNATed from host port PORT to GUEST,
# one "id=N" line each (the listing must work).
ct_of() {
	local fam=ipv4
	case $3 in *:*) fam=ipv6 ;; esac
	nsx host conntrack -L -f "$fam" -p "$1" --dport "$2" --reply-src "$3" -o id 2>/dev/null | grep -o 'id=[0-9]*' | sort
	return "${PIPESTATUS[0]}"
}

# ct_count PROTO/PORT... GUEST: how many entries those forwards DNATed to GUEST.
ct_count() {
	local guest=${*: -1} n=0 p
	for p in "${@:1:$#-1}"; do
		n=$((n + $(ct_of "${p%/*}" "${p#*/}" "$guest" | grep -c id=)))
	done
	echo "$n"
}

write_net 192.168.160.10
check "apply the network with six forwards" vw host apply "$VWT_TMP/ct.xml"

for port in 2001 2002 2003 2011; do
	flow guest1 "srv-g1-$port" tcp-serve guest1 "$port"
done
flow guest2 srv-g2-2002 tcp-serve guest2 2002
flow guest1 srv-g1-2004 tcp-push guest1 2004
for port in 3001 3002 3003; do
	flow guest1 "srv-g1-$port" udp-serve guest1 "$port"
done
flow guest2 srv-g2-3002 udp-serve guest2 3002
for s in srv-g1-2004 srv-g1-2001 srv-g1-2002 srv-g1-2003 srv-g1-2011 srv-g2-2002 srv-g1-3001 srv-g1-3002 srv-g1-3003 srv-g2-3002; do
	setup "server $s listens" wait_for "$s" '^[0-9.]+ ready$'
done

# 200 lines, 200 packets: 20 s at most, longer than the test needs.
flow wan tcp-2001 tcp-client 203.0.113.1 2001 200 0.1
flow wan tcp-2002 tcp-client 203.0.113.1 2002 200 0.1
flow wan tcp-2003 tcp-client 203.0.113.1 2003 200 0.1
flow wan tcp-2011 tcp-client 2001:db8:ffff::1 2011 200 0.1
flow wan tcp-2004 tcp-client 203.0.113.1 2004 200 0
flow wan udp-3001 udp-client 203.0.113.1 3001 200 0.1
flow wan udp-3002 udp-client 203.0.113.1 3002 200 0.1
flow wan udp-3003 udp-client 203.0.113.1 3003 200 0.1

for c in 2001 2002 2003 2011; do
	check "tcp $c: an established connection to guest1, answering" wait_for "tcp-$c" ' reply guest1$' 5
done
check "tcp 2004: an established connection, guest1 pushing to the client" wait_for tcp-2004 ' reply guest1$' 5
for p in 3001 3002 3003; do
	check "udp $p: the flow reaches guest1" wait_for "srv-g1-$p" ' got ' 5
done

# The table before: one DNATed entry to guest1 per forward.
before() {
	local p
	for p in tcp/2004 tcp/2001 udp/3001 tcp/2002 udp/3002 tcp/2003 udp/3003; do
		[ "$(ct_count "$p" 192.168.160.10)" = 1 ] || { echo "no single entry for $p"; return 1; }
	done
	[ "$(ct_count tcp/2011 2001:db8:160::10)" = 1 ] || { echo "no single entry for tcp6 2011"; return 1; }
}
check "conntrack before: one DNATed entry per forward's connection" before
kept_tcp=$(ct_of tcp 2003 192.168.160.10)
kept_udp=$(ct_of udp 3003 192.168.160.10)

# The change: 2001, 3001, 2011 removed; 2002, 3002 re-pointed to guest2.
write_net 192.168.160.11 after
t0=$(now)
says "apply -v of the change says six connections ended" '^  conntrack: 6 connections ended' \
	vw host apply -v "$VWT_TMP/ct.xml"
t1=$(now)
cp "$VWT_TMP/check.out" "$VWT_TMP/apply.out"
sleep 1.5

# The removed TCP forward: the next line reaches the host itself, which has
# no socket for it and resets the connection. The re-pointed one: the next
# line is DNATed to guest2, whose stack does not know the connection and
# resets it. Either way the client learns at once (lines go every 0.1 s).
ended_tcp() { # NAME
	local reset
	reset=$(awk '$2 == "reset" { print $1 }' "$VWT_TMP/$1.log")
	echo "change from $t0 to $t1:"
	tail -12 "$VWT_TMP/$1.log"
	nsx host conntrack -L -p tcp 2>/dev/null
	[ -n "$reset" ] || { echo "no reset"; return 1; }
	awk -v r="$reset" -v t="$t1" 'BEGIN { exit !(r - t < 1) }' || { echo "reset at $reset, apply done at $t1"; return 1; }
	[ "$(since "$t1" "$1" ' reply ')" = 0 ] || { echo "answers after the apply"; return 1; }
}
check "removed tcp forward: its connection is reset at once" ended_tcp tcp-2001
check "removed tcp forward (IPv6): its connection is reset at once" ended_tcp tcp-2011
check "re-pointed tcp forward: its connection is reset at once (by guest2)" ended_tcp tcp-2002
kept_going() { # NAME GUEST: answers from GUEST went on after the apply, nothing else
	cat "$VWT_TMP/$1.log"
	[ "$(since "$t1" "$1" " reply $2\$")" -ge 8 ] || { echo "too few answers after the apply"; return 1; }
	[ "$(since "$t0" "$1" ' (reset|timeout|error|closed)')" = 0 ]
}
check "kept tcp forward: its connection goes on, answered by guest1" kept_going tcp-2003 guest1

# The guest speaks first: its next packet on the connection has no entry
# any more. Were it let through as a new one (conntrack picks connections
# up mid-stream), masquerade would send it from the host port it came in
# on, the client would take it, and the connection would live on the other
# way round. virtwire refuses a guest's TCP connection that does not begin
# with a SYN with a reset: the guest's side ends, nothing more reaches the
# client.
guest_first() {
	local reset
	echo "change from $t0 to $t1:"
	tail -5 "$VWT_TMP/tcp-2004.log"
	cat "$VWT_TMP/srv-g1-2004.log"
	[ "$(since "$t1" tcp-2004 ' reply ')" = 0 ] || { echo "the client still gets the guest's lines"; return 1; }
	reset=$(awk '$2 == "reset" { print $1 }' "$VWT_TMP/srv-g1-2004.log")
	[ -n "$reset" ] || { echo "the guest's connection was not reset"; return 1; }
	awk -v r="$reset" -v t="$t1" 'BEGIN { exit !(r - t < 1) }' || { echo "reset at $reset, apply done at $t1"; return 1; }
}
check "removed forward, the guest pushing: nothing reaches the client, the guest's side is reset" guest_first

# UDP: the removed and re-pointed flows' packets stop reaching guest1; the
# re-pointed flow reaches guest2 instead; the kept one goes on.
check "removed udp forward: no packet reaches guest1 after the apply" stopped srv-g1-3001 udp-3001
check "re-pointed udp forward: no packet reaches guest1 after the apply" stopped srv-g1-3002 udp-3002
check "re-pointed udp forward: the flow reaches guest2 at once" \
	test "$(since "$t1" srv-g2-3002 ' got ')" -ge 10
check "kept udp forward: the flow still reaches guest1" test "$(since "$t1" srv-g1-3003 ' got ')" -ge 10

# The table after: nothing DNATed to guest1 by the forwards that went; the
# kept forwards' entries are the very same (same ids), untouched.
after() {
	[ "$(ct_count tcp/2001 udp/3001 tcp/2002 udp/3002 192.168.160.10)" = 0 ] || { echo "entries to guest1 are left"; return 1; }
	[ "$(ct_count tcp/2011 2001:db8:160::10)" = 0 ] || { echo "tcp6 2011's entry is left"; return 1; }
	[ "$(ct_count udp/3002 192.168.160.11)" = 1 ] || { echo "no entry of the flow to guest2"; return 1; }
	[ "$(ct_of tcp 2003 192.168.160.10)" = "$kept_tcp" ] || { echo "tcp 2003's entry changed"; return 1; }
	[ "$(ct_of udp 3003 192.168.160.10)" = "$kept_udp" ] || { echo "udp 3003's entry changed"; return 1; }
}
check "conntrack after: the old entries gone, the kept ones the same" after

# Stopping the network ends its remaining connections: tcp 2003 and udp 3003
# to guest1, udp 3002 to guest2 — and what is left of the reset connection
# to guest2 (conntrack keeps a reset TCP connection's entry for 10 s).
left=$(($(ct_count tcp/2003 udp/3003 192.168.160.10) + $(ct_count tcp/2002 udp/3002 192.168.160.11)))
t0=$(now)
says "teardown says it ended the network's $left connections (conntrack -L)" "^  conntrack: $left connections ended" \
	vw host teardown ct
t1=$(now)
sleep 1.5
check "teardown: the kept tcp forward's connection is reset at once" ended_tcp tcp-2003
check "teardown: no udp packet reaches guest1 after it" stopped srv-g1-3003 udp-3003
check "teardown: no udp packet reaches guest2 after it" stopped srv-g2-3002 udp-3002
lacks "conntrack after teardown: nothing DNATed to the guests" 'dport=(200[123]|300[123]|2011) .*src=(192\.168\.160\.1[01]|2001:db8:160::10) ' \
	nsx host conntrack -L -f ipv4
lacks "conntrack after teardown: nothing DNATed to guest1 (IPv6)" 'src=2001:db8:160::10 ' nsx host conntrack -L -f ipv6
done_testing
