#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Instructions the kernel executed per transaction, by function, from the
windows netatop_profile.so wrote and netatop-bench --profile's output.

  report.py SYSTEM_MAP BENCH_OUTPUT WINDOW_PREFIX TRANSACTIONS

For every workload: each configuration's instructions per transaction
and, for every configuration but the first, the functions whose count
differs from the first configuration's by at least one instruction per
transaction, largest first.

With NETATOP_PROFILE_BLOCKS=TEXT in the environment, also the blocks of
the functions whose names contain TEXT: offset in the function,
instructions, runs per transaction (to read beside objdump -d).
"""

import bisect
import collections
import os
import sys


def kernel_symbols(path):
    syms = []
    with open(path) as f:
        for line in f:
            addr, kind, name = line.split()[:3]
            if kind in "tTwW":
                syms.append((int(addr, 16), name))
    return syms


def main():
    system_map, output, prefix, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    base = kernel_symbols(system_map)
    module = collections.defaultdict(list)
    windows = []
    with open(output) as f:
        for line in f:
            w = line.split()
            if not w:
                continue
            if w[0] == "@@profile-symbol":
                module[w[1]].append((int(w[2], 16), w[1] + ":" + w[3]))
            elif w[0] == "@@profile-window":
                windows.append((w[1], " ".join(w[2:])))
    if not windows:
        sys.exit("report.py: no profile windows in " + output)

    # per[workload][config] = {function: instructions per transaction}
    per = collections.defaultdict(dict)
    runs_per = collections.defaultdict(dict)
    want = os.environ.get("NETATOP_PROFILE_BLOCKS")
    configs = []
    for k, (config, workload) in enumerate(windows, 1):
        if config not in configs:
            configs.append(config)
        syms = sorted(base + module[config])
        addrs = [a for a, _ in syms]
        funcs = collections.Counter()
        tbs = 0
        blocks = []
        with open(f"{prefix}.{k}") as f:
            for line in f:
                addr, insns, runs = line.split()
                a = int(addr, 16)
                i = bisect.bisect_right(addrs, a) - 1
                name = syms[i][1] if i >= 0 else "?"
                funcs[name] += int(insns) * int(runs)
                tbs += int(runs)
                if want and want in name:
                    blocks.append((name, a - syms[i][0], int(insns), int(runs) / n))
        per[workload][config] = {name: c / n for name, c in funcs.items()}
        runs_per[workload][config] = tbs / n
        if blocks:
            print(f"blocks, {config}, {workload}:")
            for name, off, insns, runs in sorted(blocks):
                print(f"  {name} +{off:#x}: {insns} insns x {runs:.2f}")

    print(f"kernel instructions and translation blocks run per transaction ({n} transactions per window)")
    for workload, by_config in per.items():
        print(f"\n{workload}")
        first = configs[0]
        ref = by_config.get(first, {})
        for config in configs:
            funcs = by_config.get(config)
            if funcs is None:
                continue
            total = sum(funcs.values())
            tbs = runs_per[workload][config]
            line = f"  {config:<12} {total:10.0f} insns {tbs:8.0f} blocks"
            if config != first:
                line += (f"   {total - sum(ref.values()):+8.0f} insns"
                         f" {tbs - runs_per[workload][first]:+6.0f} blocks against {first}")
            print(line)
        for config in configs[1:]:
            funcs = by_config.get(config)
            if funcs is None:
                continue
            names = set(funcs) | set(ref)
            diff = sorted(((funcs.get(x, 0) - ref.get(x, 0), x) for x in names),
                          key=lambda d: -abs(d[0]))
            shown = [(d, x) for d, x in diff if abs(d) >= 1][:25]
            print(f"  {config} against {first}, by function:")
            for d, x in shown:
                print(f"    {d:+8.1f}  {x}")


main()
