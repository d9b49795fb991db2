#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Compare two `nft list table` texts, set and map elements as sets.

The kernel lists the elements of hash sets in its own, varying order; virtwire
prints them in a stable order of its own. Everything else (objects, their
order, rules, formatting) must be identical. Exit 0 when equal; otherwise
print a unified diff of the normalised texts and exit 1.

Usage: nftnorm.py A B     (a file name, or '-' for stdin)
"""
import difflib
import re
import sys


def split_elements(body):
    """Split 'a, b : c,\n\t\t\t     d' at top-level commas."""
    out, depth, cur, quoted = [], 0, [], False
    for ch in body:
        if ch == '"':
            quoted = not quoted
        if not quoted:
            if ch in "{(":
                depth += 1
            elif ch in "})":
                depth -= 1
            elif ch == "," and depth == 0:
                out.append("".join(cur).strip())
                cur = []
                continue
        cur.append(ch)
    if "".join(cur).strip():
        out.append("".join(cur).strip())
    return out


def normalise(text):
    # Counters move with traffic; what matters is that they are there.
    text = re.sub(r"counter packets \d+ bytes \d+", "counter packets 0 bytes 0", text)
    lines = text.splitlines()
    result, i = [], 0
    while i < len(lines):
        line = lines[i]
        m = re.match(r"^(\s*)elements = \{ (.*)$", line)
        if not m:
            result.append(line.rstrip())
            i += 1
            continue
        indent, body = m.group(1), m.group(2)
        # The block runs until the line ending in " }".
        while not body.rstrip().endswith(" }") and i + 1 < len(lines):
            i += 1
            body += "\n" + lines[i]
        body = body.rstrip()[:-2]
        elems = sorted(re.sub(r"\s+", " ", e) for e in split_elements(body))
        result.append(indent + "elements = {")
        result.extend(indent + "  " + e for e in elems)
        result.append(indent + "}")
        i += 1
    return result


def read(name):
    return sys.stdin.read() if name == "-" else open(name).read()


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    a, b = normalise(read(sys.argv[1])), normalise(read(sys.argv[2]))
    if a == b:
        return 0
    sys.stdout.writelines(
        line + "\n" for line in difflib.unified_diff(a, b, sys.argv[1], sys.argv[2], lineterm="")
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
