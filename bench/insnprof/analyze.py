#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""
Turn two insnprof counts (the same rig boot with N1 and N2 iterations of one
benchmark) into instructions per iteration, by function: the difference
between the two runs is exactly (N2 - N1) iterations, the rest (boot,
set-up, warm-up) cancels out because icount makes both runs identical.

  analyze.py --iters N --log SERIAL_LOG --binary PROG COUNTS_1 COUNTS_2

--log is the serial log of the second run: its "@@BENCH@@-SYM" lines are
the text symbols of /proc/kallsyms, the kernel's and the modules'.
Prints a table of functions by instructions
per iteration, with the calls per iteration (executions of the function's
first instruction).
"""
import argparse
import bisect
import collections
import re
import subprocess
import sys


def load_counts(path):
    counts = {}
    with open(path) as f:
        for line in f:
            pc, n = line.split()
            counts[int(pc, 16)] = int(n)
    return counts


def load_symbols(system_map, log, binary):
    syms = []  # (start, name, where)
    if system_map:
        with open(system_map) as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 3 and parts[1] in "tTwW":
                    syms.append((int(parts[0], 16), parts[2], "vmlinux"))
    with open(log, errors="replace") as f:
        for line in f:
            m = re.match(r"@@BENCH@@-SYM ([0-9a-f]+) ([tTwW]) (\S+)(?:\s+\[(\S+)\])?",
                         line.strip())
            if m:
                syms.append((int(m.group(1), 16), m.group(3),
                             m.group(4) or "vmlinux"))
    if binary:
        out = subprocess.run(["nm", "-n", binary], capture_output=True,
                             text=True).stdout
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[1] in "tTwW":
                syms.append((int(parts[0], 16), parts[2], "user"))
    syms.sort()
    return syms


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--iters", type=int, required=True)
    ap.add_argument("--system-map", help="optional: the log has kallsyms")
    ap.add_argument("--log", required=True)
    ap.add_argument("--binary")
    ap.add_argument("--top", type=int, default=45)
    ap.add_argument("--title", default="")
    ap.add_argument("counts1")
    ap.add_argument("counts2")
    a = ap.parse_args()

    c1 = load_counts(a.counts1)
    c2 = load_counts(a.counts2)
    syms = load_symbols(a.system_map, a.log, a.binary)
    starts = [s[0] for s in syms]

    insns = collections.Counter()
    calls = collections.Counter()
    where = {}
    total = 0
    for pc in set(c1) | set(c2):
        d = c2.get(pc, 0) - c1.get(pc, 0)
        if d == 0:
            continue
        total += d
        if pc < 0x100000:
            key = ("(L2 guest code)", "guest")
        else:
            i = bisect.bisect_right(starts, pc) - 1
            if i < 0 or (pc >= 0xffff800000000000) != (syms[i][0] >= 0xffff800000000000):
                key = ("?%x" % pc, "?")
            else:
                key = (syms[i][1], syms[i][2])
                if pc == syms[i][0]:
                    calls[key] += d
        insns[key] += d
        where[key] = key[1]

    n = a.iters
    by_where = collections.Counter()
    for k, v in insns.items():
        by_where[where[k]] += v
    print(a.title)
    print("instructions per iteration: %.1f (over %d iterations)" % (total / n, n))
    print("by place: " + ", ".join("%s %.1f" % (w, v / n)
                                   for w, v in by_where.most_common()))
    print()
    print("%9s %6s %7s  %s" % ("insns/it", "share", "calls", "function [where]"))
    for k, v in insns.most_common(a.top):
        if v / n < 0.5:
            break
        print("%9.1f %5.1f%% %7.2f  %s [%s]" % (v / n, 100.0 * v / total,
                                              calls[k] / n, k[0], k[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
