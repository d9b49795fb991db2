#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Generate benchmark inputs for virtwire: network XML with many port forwards.

One network with N forwards (the default), written as virtwire network XML,
or as the same forwards "the way other tools do it": an nftables ruleset with
one rule per forward (--format nft) or a shell script with one iptables
command per forward (--format iptables).

    gen-network.py -n 10000 > net.xml
    gen-network.py -n 10000 --format nft > rules.nft
    gen-network.py -n 1000 --format iptables > rules.sh
    gen-network.py --networks 100 --forwards 10 --out-dir DIR   # M networks side by side
    gen-network.py -n 3 --hookdata > hook.xml   # as a libvirt network hook reads it on stdin

Forwards (one network): tcp, one host port each from 1024 up. Past the 64,512
ports of one protocol, the next forwards use udp (--spread udp, default) or
further listen addresses on the host (--spread addr: 203.0.113.1, .3, .5 ...),
so that no two forwards collide. Targets are by guest-address, spread over the
network's /16 (198.18.0.0/16, the RFC 2544 benchmarking range: never routed,
never anyone's), guest port 80 + (i mod 1000).

--probe PORT=ADDR:GPORT makes the LAST forward in the file a tcp forward of
host port PORT to ADDR:GPORT (a real guest in the flatness benchmark); the
generated forwards skip that port, and the total stays N. In the nft and
iptables formats it is the last rule: the worst case for a rule list.
"""
import argparse
import ipaddress
import os
import sys
import uuid

FIRST_PORT = 1024
PORTS_PER_PROTO = 65536 - FIRST_PORT  # 64,512
SUBNET = ipaddress.ip_network("198.18.0.0/16")
GATEWAY = SUBNET.network_address + 1
# Listen addresses for --spread addr: the host's TEST-NET-3 addresses.
LISTEN = [ipaddress.ip_address("203.0.113.1") + 2 * k for k in range(64)]


def guest_of(i):
    # 198.18.0.2 .. 198.18.255.254: never the gateway (.0.1), the network
    # address or the broadcast address.
    return SUBNET.network_address + 2 + (i % (SUBNET.num_addresses - 3))


def forwards(n, spread, probe):
    """Yields (name, proto, listen or None, host_port, guest, guest_port)."""
    skip = probe[0] if probe else None
    count = n - 1 if probe else n
    slot = 0
    made = 0
    while made < count:
        group, off = divmod(slot, PORTS_PER_PROTO)
        slot += 1
        port = FIRST_PORT + off
        if spread == "udp":
            if group > 1:
                sys.exit("gen-network.py: more than %d forwards need --spread addr" % (2 * PORTS_PER_PROTO))
            proto, listen = ("tcp", "udp")[group], None
        else:
            if group >= len(LISTEN):
                sys.exit("gen-network.py: too many forwards")
            # One address: every address; several: one address each.
            proto, listen = "tcp", (LISTEN[group] if n > PORTS_PER_PROTO else None)
        if proto == "tcp" and port == skip and (listen is None or listen == LISTEN[0]):
            continue
        yield ("f%d" % made, proto, listen, port, guest_of(made), 80 + made % 1000)
        made += 1
    if probe:
        port, addr, gport = probe
        listen = LISTEN[0] if (spread == "addr" and n > PORTS_PER_PROTO) else None
        yield ("probe", "tcp", listen, port, ipaddress.ip_address(addr), gport)


def live_ids(name):
    """The uuid and bridge MAC libvirt would have put into the live XML
    (made up, but the same for the same name every time)."""
    u = uuid.uuid5(uuid.NAMESPACE_URL, "virtwire-bench:" + name)
    return str(u), "52:54:00:%02x:%02x:%02x" % tuple(u.bytes[:3])


def write_xml(out, name, bridge, subnet, fwds, nat_uplink=None, hookdata=False):
    gw = subnet.network_address + 1
    if hookdata:
        out.write("<hookData>\n")
    out.write("<network>\n  <name>%s</name>\n" % name)
    if hookdata:
        out.write("  <uuid>%s</uuid>\n" % live_ids(name)[0])
    out.write("  <forward mode='open'/>\n")
    out.write("  <bridge name='%s' stp='off' delay='0'/>\n" % bridge)
    if hookdata:
        out.write("  <mac address='%s'/>\n" % live_ids(name)[1])
    out.write("  <ip address='%s' prefix='%d'/>\n" % (gw, subnet.prefixlen))
    out.write("  <metadata>\n    <vw:network xmlns:vw=\"urn:virtwire:1\" mode=\"nat\">\n")
    if nat_uplink:
        out.write("      <vw:nat uplink=\"%s\"/>\n" % nat_uplink)
    buf = []
    for fname, proto, listen, port, guest, gport in fwds:
        addr = ' address="%s"' % listen if listen else ""
        buf.append('      <vw:forward name="%s" proto="%s"%s host-port="%d" guest-address="%s" guest-port="%d"/>\n'
                   % (fname, proto, addr, port, guest, gport))
        if len(buf) >= 4096:
            out.write("".join(buf))
            buf = []
    out.write("".join(buf))
    out.write("    </vw:network>\n  </metadata>\n</network>")
    # libvirt's hookData has no newline at the end.
    out.write("\n</hookData>" if hookdata else "\n")


def write_nft(out, fwds, table):
    # One rule per forward, as a hand-written or iptables-nft ruleset has it.
    out.write("table ip %s {\n\tchain prerouting {\n" % table)
    out.write("\t\ttype nat hook prerouting priority dstnat; policy accept;\n")
    for _, proto, listen, port, guest, gport in fwds:
        daddr = "ip daddr %s " % listen if listen else ""
        out.write("\t\t%s%s dport %d dnat to %s:%d\n" % (daddr, proto, port, guest, gport))
    out.write("\t}\n\tchain postrouting {\n")
    out.write("\t\ttype nat hook postrouting priority srcnat; policy accept;\n")
    out.write("\t\tip saddr %s ip daddr != %s masquerade\n\t}\n}\n" % (SUBNET, SUBNET))


def write_iptables(out, fwds):
    # One iptables command per forward: what a script or a tool calling
    # iptables in a loop does.
    out.write("set -e\n")
    for _, proto, listen, port, guest, gport in fwds:
        daddr = "-d %s " % listen if listen else ""
        out.write("iptables -w -t nat -A PREROUTING %s-p %s --dport %d -j DNAT --to-destination %s:%d\n"
                  % (daddr, proto, port, guest, gport))


def parse_probe(text):
    try:
        port, target = text.split("=", 1)
        addr, gport = target.rsplit(":", 1)
        ipaddress.ip_address(addr)
        return int(port), addr, int(gport)
    except ValueError:
        raise argparse.ArgumentTypeError("--probe wants PORT=ADDR:GPORT, e.g. 8080=198.18.0.10:80")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-n", "--count", type=int, default=1000, help="forwards in the network (default 1000)")
    ap.add_argument("--name", default="bench", help="network name (default bench)")
    ap.add_argument("--bridge", help="bridge name (default vwb-NAME, at most 15 characters)")
    ap.add_argument("--spread", choices=("udp", "addr"), default="udp",
                    help="past 64,512 forwards: udp too (default), or more listen addresses")
    ap.add_argument("--probe", type=parse_probe, help="last forward: tcp PORT=ADDR:GPORT")
    ap.add_argument("--nat-uplink", help="<vw:nat uplink=...> (egress device)")
    ap.add_argument("--format", choices=("xml", "nft", "iptables"), default="xml")
    ap.add_argument("--hookdata", action="store_true",
                    help="xml as a libvirt network hook reads it on stdin: <hookData><network>, with the "
                    "uuid and bridge MAC of a live network, no newline at the end")
    ap.add_argument("--print-mac", action="store_true",
                    help="print only the bridge MAC --hookdata puts into the XML (for the bridge fixture)")
    ap.add_argument("--table", default="natbench", help="nft table name for --format nft")
    ap.add_argument("--networks", type=int, metavar="M",
                    help="write M networks side by side instead (needs --out-dir)")
    ap.add_argument("--forwards", type=int, default=10, help="forwards per network with --networks (default 10)")
    ap.add_argument("--out-dir", help="directory for the --networks files (net-0001.xml ...)")
    ap.add_argument("-o", "--output", help="file to write (default: standard output)")
    a = ap.parse_args()

    if a.networks is not None:
        return many(a)
    if a.count < 1:
        ap.error("-n must be at least 1")
    bridge = a.bridge or ("vwb-" + a.name)[:15]
    if len(bridge) > 15:
        ap.error("bridge names have at most 15 characters")
    if a.print_mac:
        print(live_ids(a.name)[1])
        return 0
    out = open(a.output, "w") if a.output else sys.stdout
    fwds = forwards(a.count, a.spread, a.probe)
    if a.format == "xml":
        write_xml(out, a.name, bridge, SUBNET, fwds, a.nat_uplink, a.hookdata)
    elif a.format == "nft":
        write_nft(out, fwds, a.table)
    else:
        write_iptables(out, fwds)
    if out is not sys.stdout:
        out.close()
    return 0


def many(a):
    """M networks side by side: names bench-K, bridges vwb-K, subnets
    198.18.0.0/15 cut in /24s (up to 512 networks), host ports distinct
    across all networks (forwards of different networks must not collide)."""
    m, f = a.networks, a.forwards
    if not a.out_dir:
        sys.exit("gen-network.py: --networks needs --out-dir")
    if m < 1 or m > 512:
        sys.exit("gen-network.py: --networks takes 1..512 (one /24 of 198.18.0.0/15 each)")
    if m * f > 2 * PORTS_PER_PROTO:
        sys.exit("gen-network.py: %d forwards in all do not fit in tcp+udp ports" % (m * f))
    os.makedirs(a.out_dir, exist_ok=True)
    slot = 0
    for k in range(m):
        subnet = ipaddress.ip_network("198.18.0.0/15").network_address + 256 * k
        subnet = ipaddress.ip_network("%s/24" % subnet)
        fwds = []
        for j in range(f):
            group, off = divmod(slot, PORTS_PER_PROTO)
            slot += 1
            guest = subnet.network_address + 2 + j % 253
            fwds.append(("f%d" % j, ("tcp", "udp")[group], None, FIRST_PORT + off, guest, 80 + j % 1000))
        with open(os.path.join(a.out_dir, "net-%04d.xml" % k), "w") as out:
            write_xml(out, "%s-%d" % (a.name, k), "vwb-%d" % k, subnet, fwds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
