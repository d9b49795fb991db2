# SPDX-License-Identifier: GPL-2.0-or-later
"""Hand-made Ethernet frames, for the spoof filter's tests (tests/netns/spoof.sh).

A guest that spoofs writes frames its own stack would never write: another
MAC, another address, an ARP reply or a neighbour advertisement for the
gateway. This sends them from a raw socket and captures what arrives
elsewhere, so a test can see which frames got through the bridge.

  send IFACE KIND ARGS...
      udp4 SRCMAC SRCIP DSTIP DPORT TEXT   an IPv4 UDP datagram, to the broadcast MAC
      arp SRCMAC SHA SPA                   a gratuitous ARP reply: SPA is at SHA
      na6 SRCMAC SRCIP TARGET              an unsolicited neighbour advertisement to
                                           ff02::1: TARGET is at SRCMAC (override)

  capture IFACE SECONDS [UNTIL]
      Prints "ready", then one line per frame that arrives (not the ones
      IFACE sends) until SECONDS have passed, or until a line holding the
      text UNTIL was printed (the sender's last frame: what it sent before
      has arrived, or never will):
        udp4 SRCMAC SRCIP DSTIP DPORT TEXT
        arp SRCMAC SHA SPA
        na6 SRCMAC SRCIP TARGET
      and nothing for other frames.

Run inside the namespace that has IFACE (root: raw sockets).
"""
import ipaddress
import select
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
ETH_P_IP, ETH_P_ARP, ETH_P_IPV6 = 0x0800, 0x0806, 0x86DD
PACKET_OUTGOING = 4
BROADCAST = b"\xff" * 6


def mac_bytes(text):
    return bytes(int(x, 16) for x in text.split(":"))


def mac_text(b):
    return ":".join("%02x" % x for x in b)


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ether(dst, src, kind, payload):
    return dst + src + struct.pack("!H", kind) + payload


def udp4(srcmac, srcip, dstip, dport, text):
    body = text.encode()
    udp = struct.pack("!HHHH", 40000, int(dport), 8 + len(body), 0) + body
    src, dst = socket.inet_aton(srcip), socket.inet_aton(dstip)
    head = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0x4000, 64, 17, 0, src, dst)
    head = head[:10] + struct.pack("!H", checksum(head)) + head[12:]
    return ether(BROADCAST, mac_bytes(srcmac), ETH_P_IP, head + udp)


def arp(srcmac, sha, spa):
    spa_b = socket.inet_aton(spa)
    body = struct.pack("!HHBBH6s4s6s4s", 1, ETH_P_IP, 6, 4, 2, mac_bytes(sha), spa_b, BROADCAST, spa_b)
    return ether(BROADCAST, mac_bytes(srcmac), ETH_P_ARP, body)


def na6(srcmac, srcip, target):
    src = ipaddress.IPv6Address(srcip).packed
    dst = ipaddress.IPv6Address("ff02::1").packed
    tgt = ipaddress.IPv6Address(target).packed
    # Override flag; the target link-layer address option.
    icmp = struct.pack("!BBHI", 136, 0, 0, 0x20000000) + tgt + struct.pack("!BB", 2, 1) + mac_bytes(srcmac)
    pseudo = src + dst + struct.pack("!I3xB", len(icmp), 58)
    icmp = icmp[:2] + struct.pack("!H", checksum(pseudo + icmp)) + icmp[4:]
    head = struct.pack("!IHBB", 0x60000000, len(icmp), 58, 255) + src + dst
    return ether(b"\x33\x33\x00\x00\x00\x01", mac_bytes(srcmac), ETH_P_IPV6, head + icmp)


MAKERS = {"udp4": udp4, "arp": arp, "na6": na6}


def send(iface, kind, args):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    s.send(MAKERS[kind](*args))


def describe(frame):
    """One line for the frames the tests look for, or None."""
    if len(frame) < 14:
        return None
    src, kind, body = mac_text(frame[6:12]), struct.unpack("!H", frame[12:14])[0], frame[14:]
    if kind == ETH_P_IP and len(body) >= 28 and body[9] == 17:
        ihl = (body[0] & 15) * 4
        dport = struct.unpack("!H", body[ihl + 2 : ihl + 4])[0]
        text = body[ihl + 8 :].decode(errors="replace").strip()
        return "udp4 %s %s %s %d %s" % (
            src, socket.inet_ntoa(body[12:16]), socket.inet_ntoa(body[16:20]), dport, text)
    if kind == ETH_P_ARP and len(body) >= 28:
        return "arp %s %s %s" % (src, mac_text(body[8:14]), socket.inet_ntoa(body[14:18]))
    if kind == ETH_P_IPV6 and len(body) >= 64 and body[6] == 58 and body[40] == 136:
        return "na6 %s %s %s" % (
            src, ipaddress.IPv6Address(body[8:24]), ipaddress.IPv6Address(body[48:64]))
    return None


def capture(iface, seconds, until=None):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((iface, 0))
    print("ready", flush=True)
    end = time.monotonic() + float(seconds)
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return
        if not select.select([s], [], [], left)[0]:
            continue
        frame, addr = s.recvfrom(65535)
        line = describe(frame) if addr[2] != PACKET_OUTGOING else None
        if line:
            print(line, flush=True)
            if until and until in line:
                return


def main():
    if len(sys.argv) >= 4 and sys.argv[1] == "send" and sys.argv[3] in MAKERS:
        send(sys.argv[2], sys.argv[3], sys.argv[4:])
    elif len(sys.argv) in (4, 5) and sys.argv[1] == "capture":
        capture(*sys.argv[2:])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
