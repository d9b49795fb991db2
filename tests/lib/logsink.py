# SPDX-License-Identifier: GPL-2.0-or-later
"""A stand-in for journald or syslogd, for the tests of virtwire's log.

    logsink.py journal SOCKET OUT
        Binds a unix datagram socket at SOCKET (journald's is
        /run/systemd/journal/socket) and decodes each datagram of the
        journal's native protocol: fields "KEY=VALUE\\n", or, for a value
        that holds a newline, "KEY\\n" + its length (64-bit little endian) +
        the value + "\\n". A datagram too large for the socket comes as a
        memfd passed with SCM_RIGHTS (sd-journal does that): read too.
    logsink.py syslog SOCKET OUT
        The same at /dev/log: each datagram "<PRI>TIMESTAMP TAG[PID]: MESSAGE"
        becomes PRIORITY (PRI & 7), SYSLOG_FACILITY, SYSLOG_IDENTIFIER and
        MESSAGE.

Each record is one JSON object on a line of OUT, written as it comes. Prints
"ready" once it listens. Runs until killed (the test ends it by its PID), or
for an hour at most.

    logsink.py find OUT KEY=VALUE... [.FIELD]
        Prints the record of OUT (all of it, as JSON, or its FIELD) that has
        every KEY=VALUE given (the last one, when several do); exit status
        1 when none has.
"""
import array
import json
import os
import re
import socket
import struct
import sys
import time


def native(data):
    fields = {}
    i = 0
    while i < len(data):
        nl = data.find(b"\n", i)
        if nl < 0:
            raise ValueError("a field without its end")
        line = data[i:nl]
        eq = line.find(b"=")
        if eq >= 0:
            key, value = line[:eq], line[eq + 1:]
            i = nl + 1
        else:
            key = line
            (size,) = struct.unpack_from("<Q", data, nl + 1)
            start = nl + 1 + 8
            value = data[start:start + size]
            if data[start + size:start + size + 1] != b"\n":
                raise ValueError("binary field %r: no newline after %d bytes" % (key, size))
            i = start + size + 1
        fields[key.decode()] = value.decode(errors="replace")
    return fields


SYSLOG = re.compile(rb"^<(\d+)>(?:\w{3} [ \d]\d \d\d:\d\d:\d\d )?([^\[:]+)(?:\[(\d+)\])?: ?(.*)$", re.S)


def syslog(data):
    m = SYSLOG.match(data)
    if not m:
        return {"MESSAGE": data.decode(errors="replace"), "UNPARSED": "1"}
    pri = int(m.group(1))
    return {
        "PRIORITY": str(pri & 7),
        "SYSLOG_FACILITY": str(pri >> 3),
        "SYSLOG_IDENTIFIER": m.group(2).decode(),
        "MESSAGE": m.group(4).decode(errors="replace"),
    }


def receive(sock):
    fds = array.array("i")
    data, anc, _, _ = sock.recvmsg(1 << 20, socket.CMSG_LEN(4 * fds.itemsize))
    for level, kind, payload in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(payload[: len(payload) - (len(payload) % fds.itemsize)])
    for fd in fds:
        with os.fdopen(fd, "rb") as f:
            data = f.read()
    return data


def find(out, args):
    want = [a.split("=", 1) for a in args if not a.startswith(".")]
    field = next((a[1:] for a in args if a.startswith(".")), None)
    found = None
    with open(out) as f:
        for line in f:
            rec = json.loads(line)
            if all(rec.get(k) == v for k, v in want):
                found = rec
    if found is None:
        return 1
    print(json.dumps(found, sort_keys=True) if field is None else found.get(field, ""))
    return 0


def main(argv):
    if len(argv) >= 2 and argv[0] == "find":
        sys.exit(find(argv[1], argv[2:]))
    if len(argv) != 3 or argv[0] not in ("journal", "syslog"):
        raise SystemExit(__doc__)
    kind, path, out = argv
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    os.chmod(path, 0o666)
    sock.settimeout(1.0)
    print("ready", flush=True)
    end = time.monotonic() + 3600
    with open(out, "a") as f:
        while time.monotonic() < end:
            try:
                data = receive(sock)
            except socket.timeout:
                continue
            try:
                rec = native(data) if kind == "journal" else syslog(data)
            except ValueError as err:
                rec = {"MALFORMED": str(err)}
            f.write(json.dumps(rec, sort_keys=True) + "\n")
            f.flush()


if __name__ == "__main__":
    main(sys.argv[1:])
