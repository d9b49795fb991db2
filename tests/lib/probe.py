# SPDX-License-Identifier: GPL-2.0-or-later
"""The two ends of a test connection, for tests/lib/common.sh.

  serve NAME PROTO PORT
      Listens on every address (PROTO: tcp4 tcp6 udp4 udp6 sctp4 sctp6) and
      answers each connection or datagram with one line "NAME PEER", PEER
      being the source address it saw. Prints "ready" once it listens and
      "hit PEER" for every connection it answered (in the test's log: what
      reached it).

  probe PROTO ADDR PORT TIMEOUT [BIND]
      Sends one line and prints what came back: the first line of the
      answer, or one word for why there was none:
        !refused    a reset or an ICMP port-unreachable: the packet reached
                    a host that has nothing listening there
        !rejected   an ICMP error saying unreachable or prohibited (what
                    `reject with icmpx admin-prohibited` sends)
        !no-route   ICMP (or the local table) says there is no route
        !denied     this host's own firewall refused to send it (EPERM)
        !timeout    nothing at all came back within TIMEOUT seconds
        !closed     connected, then closed without a word
        !silent     connected, and no answer within TIMEOUT seconds
        !error:NAME anything else (NAME: the errno's name)

Both run inside whatever namespace they are started in; the shell library
passes this file's text with `python3 -c`, so that it also runs inside
containers whose file system does not show the source tree.
"""
import errno
import socket
import sys

FAMILY = {"4": socket.AF_INET, "6": socket.AF_INET6}


def open_socket(proto):
    kind, fam = proto[:-1], FAMILY[proto[-1]]
    if kind == "udp":
        s = socket.socket(fam, socket.SOCK_DGRAM)
    elif kind == "tcp":
        s = socket.socket(fam, socket.SOCK_STREAM)
    elif kind == "sctp":
        s = socket.socket(fam, socket.SOCK_STREAM, socket.IPPROTO_SCTP)
    else:
        raise SystemExit("unknown protocol " + proto)
    if fam == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    return kind, s


def say(line):
    print(line, flush=True)


def serve(name, proto, port):
    kind, s = open_socket(proto)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("", int(port)))
    if kind == "udp":
        say("ready")
        while True:
            _, peer = s.recvfrom(4096)
            s.sendto(("%s %s\n" % (name, peer[0])).encode(), peer)
            say("hit " + peer[0])
    s.listen(64)
    say("ready")
    while True:
        c, peer = s.accept()
        c.settimeout(2)
        try:
            # Read the probe's line first: closing a socket with unread
            # data resets the connection, and the answer could be lost.
            c.recv(4096)
            c.sendall(("%s %s\n" % (name, peer[0])).encode())
            c.shutdown(socket.SHUT_WR)
            c.recv(4096)
        except OSError:
            pass
        c.close()
        say("hit " + peer[0])


def why(err):
    if isinstance(err, socket.timeout):
        return "!timeout"
    code = err.errno
    if code == errno.ECONNREFUSED:
        return "!refused"
    if code in (errno.EHOSTUNREACH, errno.EACCES):
        return "!rejected"
    if code == errno.ENETUNREACH:
        return "!no-route"
    if code == errno.EPERM:
        return "!denied"
    if code == errno.ETIMEDOUT:
        return "!timeout"
    return "!error:" + errno.errorcode.get(code, str(code))


def probe(proto, addr, port, timeout, bind=None):
    kind, s = open_socket(proto)
    s.settimeout(float(timeout))
    if bind:
        s.bind((bind, 0))
    try:
        s.connect((addr, int(port)))
        s.sendall(b"probe\n")
        if kind == "udp":
            got = s.recv(4096)
        else:
            s.shutdown(socket.SHUT_WR)
            got = b""
            while b"\n" not in got:
                more = s.recv(4096)
                if not more:
                    break
                got += more
    except OSError as err:
        # A stream that timed out after connecting got no answer; one that
        # never connected got no reply at all.
        if kind != "udp" and isinstance(err, socket.timeout) and is_connected(s):
            return "!silent"
        return why(err)
    if not got:
        return "!closed"
    return got.decode(errors="replace").splitlines()[0]


def is_connected(s):
    try:
        s.getpeername()
        return True
    except OSError:
        return False


def main(argv):
    if len(argv) == 4 and argv[0] == "serve":
        serve(*argv[1:])
    elif len(argv) in (5, 6) and argv[0] == "probe":
        say(probe(*argv[1:]))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
