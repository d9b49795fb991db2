#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Counts results over meson test logs: every TAP line of every test.

Usage: test-summary.py LABEL=BUILD/meson-logs/testlog.json[#SUITE] ... [--extra LABEL PASSED FAILED]

Prints one line per log (with #SUITE: only that meson suite's tests of it)
and ends with the plain line
'N passed, N failed, N skipped'. Exit 1 when anything failed.
"""
import json
import re
import sys


def count(path, suite=None):
    passed = failed = skipped = 0
    failures = []
    for line in open(path):
        t = json.loads(line)
        # meson names a test "PROJECT:SUITE / NAME".
        if suite and not re.match(r"^[^:]*:" + re.escape(suite) + r" / ", t["name"]):
            continue
        oks = nots = skips = 0
        for l in t.get("stdout", "").splitlines():
            if re.match(r"^ok\b", l):
                if re.search(r"#\s*SKIP", l, re.I):
                    skips += 1
                else:
                    oks += 1
            elif re.match(r"^not ok\b", l):
                nots += 1
                failures.append(f"{t['name']}: {l}")
        result = t.get("result")
        if result == "SKIP" and oks + nots == 0:
            skips = max(skips, 1)
        elif result not in ("OK", "SKIP", "EXPECTEDFAIL") and nots == 0:
            # A crash, a timeout or a bad exit without a failing TAP line.
            nots = 1
            failures.append(f"{t['name']}: {result} (exit {t.get('returncode')})")
        passed += oks
        failed += nots
        skipped += skips
    return passed, failed, skipped, failures


def main(argv):
    total = [0, 0, 0]
    all_failures = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--extra":
            label, p, f = argv[i + 1], int(argv[i + 2]), int(argv[i + 3])
            print(f"{label}: {p} passed, {f} failed")
            total[0] += p
            total[1] += f
            if f:
                all_failures.append(f"{label}: failed")
            i += 4
            continue
        label, path = arg.split("=", 1)
        path, _, suite = path.partition("#")
        try:
            p, f, s, fails = count(path, suite or None)
        except FileNotFoundError:
            p, f, s, fails = 0, 1, 0, [f"{label}: no test log ({path})"]
        print(f"{label}: {p} passed, {f} failed, {s} skipped")
        total[0] += p
        total[1] += f
        total[2] += s
        all_failures += fails
        i += 1
    for f in all_failures:
        print(f"FAILED {f}")
    print(f"{total[0]} passed, {total[1]} failed, {total[2]} skipped")
    return 1 if total[1] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
