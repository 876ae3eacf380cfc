#!/usr/bin/env python3
"""Benchmark line-by-line memory profiling: a loop-heavy function run undecorated, with
``@heapscope.profile`` and with memory_profiler's ``@profile``, in one run.

The function runs ``--n`` iterations of a few cheap lines (arithmetic, a list append
every tenth iteration), so that nearly all its time is line events: the worst case
for a line profiler. memory_profiler reads the resident memory through psutil at every
line and is slow, so it gets ``--mp-n`` iterations (fewer) and its time is scaled per
iteration. Prints the time per call and per iteration of each, and the ratio to the
undecorated function; ``--json PATH`` saves the figures.

Usage::

    python benches/bench_lines.py                # about half a minute
    python benches/bench_lines.py --n 20000      # quick
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time


def loop_heavy(n):
    total = 0
    kept = []
    for i in range(n):
        total += i * 3
        if i % 10 == 0:
            kept.append(i)
    return total, len(kept)


def per_iteration(func, n, repeat):
    """The best time per iteration over ``repeat`` calls of ``func(n)``."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        func(n)
        best = min(best, time.perf_counter() - start)
    return best / n


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--n", type=int, default=300_000, help="iterations per call")
    parser.add_argument("--mp-n", type=int, default=5_000, help="iterations per call under memory_profiler")
    parser.add_argument("--repeat", type=int, default=5, help="calls per tool (the best is kept)")
    parser.add_argument("--json", metavar="PATH", help="save the figures")
    args = parser.parse_args(argv)

    import heapscope
    from heapscope import lines

    lines.print_at_exit = False
    plain = per_iteration(loop_heavy, args.n, args.repeat)
    profiled = heapscope.profile(loop_heavy)
    ours = per_iteration(profiled, args.n, args.repeat)
    results = {
        "python": platform.python_version(),
        "tracer": "sys.monitoring" if sys.version_info >= (3, 12) else "a C trace function",
        "n": args.n,
        "undecorated_ns": plain * 1e9,
        "heapscope_ns": ours * 1e9,
        "heapscope_ratio": ours / plain,
    }
    try:
        import memory_profiler
    except ImportError:
        memory_profiler = None
    if memory_profiler is not None:
        with open(os.devnull, "w") as sink:
            theirs = per_iteration(memory_profiler.profile(loop_heavy, stream=sink), args.mp_n, max(1, args.repeat // 2))
        results.update(memory_profiler_ns=theirs * 1e9, memory_profiler_ratio=theirs / plain, mp_n=args.mp_n)

    print(f"Python {results['python']}, heapscope.profile through {results['tracer']}; {args.n} iterations per call")
    print(f"{'':18} {'per call':>12} {'per iteration':>14} {'vs undecorated':>15}")
    print(f"{'undecorated':18} {plain * args.n * 1e3:>9.1f} ms {plain * 1e9:>11.0f} ns {1:>14.1f}x")
    print(f"{'heapscope.profile':18} {ours * args.n * 1e3:>9.1f} ms {ours * 1e9:>11.0f} ns {ours / plain:>14.1f}x")
    if memory_profiler is not None:
        theirs = results["memory_profiler_ns"] / 1e9
        print(f"{'memory_profiler':18} {theirs * args.n * 1e3:>9.1f} ms {theirs * 1e9:>11.0f} ns {theirs / plain:>14.1f}x"
              f"  (measured on {args.mp_n} iterations, scaled)")
    else:
        print("memory_profiler: not installed (pip install memory_profiler)")
    if args.json:
        with open(args.json, "w") as file:
            json.dump(results, file, indent=2)


if __name__ == "__main__":
    main()
