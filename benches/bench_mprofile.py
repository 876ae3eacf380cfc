#!/usr/bin/env python3
"""Benchmark the overhead of heapscope's MProfiler against pympler's, in one run.

The profiled program is small: ``--calls`` calls of a function that builds a few
lists and dicts and keeps some of them, with a helper called from it, so that every
profiled event (``call``/``return`` by default, all events with ``--all-events``)
measures the heap. The heap is first grown with ``--objects`` extra objects (a
modest application's worth), since every event costs one pass over it.

For each tool the script prints the wall time of the profiled run, the time per
profiled event, and the slowdown over the program run without a profiler. ``same``
says whether both profilers saw the same code points with the same call counts.

Usage::

    python benches/bench_mprofile.py                  # about half a minute
    python benches/bench_mprofile.py --calls 20 --objects 20000   # quick
    python benches/bench_mprofile.py --json out.json
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import sys
import time

_kept = []


def _helper(i):
    return {"key": i, "values": list(range(i % 50))}


def work(i):
    rows = [_helper(i + j) for j in range(20)]
    if i % 4 == 0:
        _kept.append(rows)
    return len(rows)


def program(calls):
    for i in range(calls):
        work(i)


def _timed(fn):
    _kept.clear()
    gc.collect()
    start = time.perf_counter_ns()
    fn()
    return time.perf_counter_ns() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=40, help="calls of work() (default 40)")
    parser.add_argument("--objects", type=int, default=100_000, help="extra live objects (default 100,000)")
    parser.add_argument("--all-events", action="store_true", help="profile every event, not only call/return")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    args = parser.parse_args(argv)

    from heapscope.mprofile import MProfiler as HeapscopeProfiler

    try:
        from pympler.mprofile import MProfiler as PymplerProfiler
    except ImportError:
        PymplerProfiler = None

    ballast = [[i] for i in range(args.objects)]  # noqa: F841 - kept alive on purpose
    events = None if args.all_events else ("call", "return")
    # pympler executes the command in its own module: give it the program there
    if PymplerProfiler is not None:
        sys.modules["pympler.mprofile"].program = program

    baseline = min(_timed(lambda: program(args.calls)) for _ in range(3))
    results = {}
    profilers = {"heapscope": HeapscopeProfiler}
    if PymplerProfiler is not None:
        profilers["pympler"] = PymplerProfiler
    for name, cls in profilers.items():
        profiler = cls(events=events)
        namespace_cmd = "program(%d)" % args.calls
        elapsed = _timed(lambda profiler=profiler, namespace_cmd=namespace_cmd: profiler.run(namespace_cmd))
        profiled_events = sum(v[0] for v in profiler.memories.values())
        results[name] = {
            "seconds": elapsed / 1e9,
            "events": profiled_events,
            "us_per_event": elapsed / 1e3 / max(profiled_events, 1),
            "slowdown": elapsed / baseline,
            "calls": {repr(k): v[0] for k, v in profiler.memories.items()
                      if k[1] in ("work", "_helper", "program")},
        }
    same = None
    if "pympler" in results:
        same = results["heapscope"]["calls"] == results["pympler"]["calls"]

    gc_objects = len(gc.get_objects())
    print(f"Python {platform.python_version()}, {gc_objects:,} gc objects, "
          f"{args.calls} calls of work(), events={'all' if events is None else ','.join(events)}")
    print(f"without profiler: {baseline / 1e6:.2f} ms")
    print(f"{'tool':<10} {'time':>10} {'events':>8} {'per event':>12} {'slowdown':>10}")
    for name, r in results.items():
        print(f"{name:<10} {r['seconds']:>9.3f}s {r['events']:>8} {r['us_per_event']:>10.0f}us "
              f"{r['slowdown']:>9.0f}x")
    if "pympler" in results:
        ratio = results["pympler"]["seconds"] / results["heapscope"]["seconds"]
        print(f"pympler / heapscope: {ratio:.1f}x   same code points and calls: {'yes' if same else 'no'}")
    else:
        print("pympler not installed: heapscope only")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"python": platform.python_version(), "gc_objects": gc_objects,
                       "calls": args.calls, "baseline_ns": baseline, "same": same,
                       "results": {k: {kk: vv for kk, vv in v.items() if kk != "calls"}
                                   for k, v in results.items()}}, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
