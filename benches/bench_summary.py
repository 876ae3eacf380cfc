#!/usr/bin/env python3
"""Benchmark heapscope's heap summaries against pympler and guppy3.

Grows the heap to at least ``--objects`` objects (1,000,000 by default, counted as
pympler's ``muppy.get_objects()`` counts them), then times, on that one heap:

* ``summary.summarize(muppy.get_objects())`` — heapscope (best of ``--repeat``) and
  pympler (once: it takes seconds);
* a ``SummaryTracker()`` + ``print_diff()`` cycle (two whole-heap summaries and a diff,
  printed to /dev/null) — heapscope (also with ``collect=False``) and pympler;
* heapscope's whole-heap fast path ``summary.summarize_heap()``, with and without its
  ``gc.collect()``, with its complete census and with pympler's (``census="pympler"``:
  the same objects as ``muppy.get_objects()``), to show what completeness costs;
* guppy3's ``hpy().heap()`` (the session made once, outside the timing; best of 3,
  and its first call separately). ``heap()`` alone returns a lazy set and computes no
  per-type figures; they come when the set is partitioned, so guppy3 is also timed
  with its type table (``str(heap().bytype)``) and as printed (``str(heap())``, what a
  user sees), against heapscope's ``summarize_heap()`` and ``print_(summarize_heap())``;
* ``gc.collect()`` alone: every tool above runs one (guppy3, pympler and heapscope's
  default all collect first), so it bounds how fast any of them can be. Less that
  collection, guppy3's ``heap()`` is compared with ``summarize_heap(collect=False)``:
  the two tools' own work.

Every figure is printed as time, objects per second and ns per object, with the ratio
of the peer's time to heapscope's. ``same`` says whether heapscope's summary with
pympler's census, taken right before pympler's, has the same rows as pympler's for every type with at least
1,000 objects (``yes``), or else by how many objects the rows differ at most (``±N``:
objects made or freed between the two passes, such as the tools' own temporaries).

Usage::

    python benches/bench_summary.py                   # about a minute on 2 cores
    python benches/bench_summary.py --objects 200000  # quick
    python benches/bench_summary.py --json out.json
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import io
import json
import os
import platform
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import _workloads  # noqa: E402
from _measure import render_table, time_best  # noqa: E402


def grow_heap(target):
    """Workload graphs (records, instances, strings) until pympler would count
    ``target`` objects; returns them (keep them alive) and the count."""
    kept = []
    names = ["records", "plain", "strings", "tree"]
    base = len(gc.get_objects()) * 3  # rough: interpreter objects, tracked and not
    scale = max(0.05, (target - base) / 3_000_000)
    for name in names:
        kept.append(_workloads.build(name, scale=scale))
    return kept


def count_objects():
    from heapscope import muppy

    objects = muppy.get_objects()
    n = len(objects)
    del objects
    return n


def rows_of(summary):
    return {row[0]: (row[1], row[2]) for row in summary}


def compare_rows(mine, theirs, minimum=1000):
    """How heapscope's rows differ from pympler's for every type with at least
    ``minimum`` objects: ``"yes"`` when identical, else the largest difference in
    objects (``"±N"``) and the types that differ."""
    mine, theirs = rows_of(mine), rows_of(theirs)
    big = {k for k, v in theirs.items() if v[0] >= minimum} | {k for k, v in mine.items() if v[0] >= minimum}
    differ = sorted(k for k in big if mine.get(k) != theirs.get(k))
    if not differ:
        return "yes", differ
    worst = max(abs(mine.get(k, (0, 0))[0] - theirs.get(k, (0, 0))[0]) for k in differ)
    return f"±{worst}", differ


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--objects", type=int, default=1_000_000, help="heap size to reach (default 1,000,000)")
    parser.add_argument("--repeat", type=int, default=5, help="heapscope repetitions (best taken)")
    parser.add_argument("--no-pympler", action="store_true", help="skip pympler (it takes seconds per summary)")
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args(argv)

    from heapscope import muppy as hmuppy
    from heapscope import summary as hsummary
    from heapscope import tracker as htracker

    kept = grow_heap(args.objects)
    n = count_objects()
    while n < args.objects:
        kept.append(_workloads.build("records", scale=(args.objects - n) / 1_000_000 + 0.01))
        n = count_objects()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"heap: {n:,} objects (muppy.get_objects()); Python {platform.python_version()}; load {load:.2f}")

    results = {}
    devnull = open(os.devnull, "w")

    def record(tool, what, timing, same=None):
        best = timing.best_ns if hasattr(timing, "best_ns") else timing
        results[(tool, what)] = {"ns": best, "same": same}

    def hs_tracker_cycle(collect=True):
        tr = htracker.SummaryTracker(collect=collect)
        tr.print_diff(file=devnull)

    # heapscope
    t = time_best(lambda: hsummary.summarize(hmuppy.get_objects()), repeat=args.repeat)
    record("heapscope", "summarize(get_objects())", t)
    del t
    record("heapscope", "tracker cycle", time_best(hs_tracker_cycle, repeat=args.repeat))
    record(
        "heapscope",
        "tracker cycle (collect=False)",
        time_best(lambda: hs_tracker_cycle(collect=False), repeat=args.repeat),
    )
    record("heapscope", "summarize_heap()", time_best(hsummary.summarize_heap, repeat=args.repeat))
    record(
        "heapscope",
        "summarize_heap(collect=False)",
        time_best(lambda: hsummary.summarize_heap(collect=False), repeat=args.repeat),
    )
    # pympler's census (tracked objects and their direct referents), for the cost of the
    # complete one.
    record(
        "heapscope",
        'summarize_heap(census="pympler")',
        time_best(lambda: hsummary.summarize_heap(census="pympler"), repeat=args.repeat),
    )
    record(
        "heapscope",
        'summarize_heap(collect=False, census="pympler")',
        time_best(lambda: hsummary.summarize_heap(collect=False, census="pympler"), repeat=args.repeat),
    )
    record(
        "heapscope",
        "print_(summarize_heap())",
        time_best(lambda: hsummary.print_(hsummary.summarize_heap(), file=devnull), repeat=args.repeat),
    )
    record("gc.collect()", "gc.collect()", time_best(gc.collect, repeat=args.repeat, collect=False))

    # pympler
    if not args.no_pympler:
        try:
            from pympler import muppy as pmuppy
            from pympler import summary as psummary
            from pympler import tracker as ptracker
        except ImportError:
            print("pympler: not installed")
        else:
            # heapscope's summary right before pympler's, kept in a Summary (one Python
            # object), so that neither sees the other's rows.
            reference = hsummary.summarize_heap(census="pympler")
            t = time_best(lambda: psummary.summarize(pmuppy.get_objects()))
            same, differ = compare_rows(reference, t.result)
            record("pympler", "summarize(get_objects())", t, same=same)
            if differ:
                print("rows with >= 1000 objects that differ from pympler's:", differ[:10])
            del t, reference

            def pm_tracker_cycle():
                tr = ptracker.SummaryTracker()
                with contextlib.redirect_stdout(io.StringIO()):
                    tr.print_diff()

            record("pympler", "tracker cycle", time_best(pm_tracker_cycle))

    # guppy3
    try:
        from guppy import hpy
    except ImportError:
        print("guppy3: not installed")
    else:
        session = hpy()
        gc.collect()
        t0 = time.perf_counter_ns()
        first = session.heap()
        first_ns = time.perf_counter_ns() - t0
        del first
        record("guppy3", "hpy().heap() first call", first_ns)
        record("guppy3", "hpy().heap()", time_best(session.heap, repeat=3))
        # heap() returns a lazy set: the per-type counts and sizes a summary shows are
        # computed when the set is partitioned, as printing it does.
        record("guppy3", "str(hpy().heap().bytype)", time_best(lambda: str(session.heap().bytype), repeat=3))
        record("guppy3", "str(hpy().heap())", time_best(lambda: str(session.heap()), repeat=3))

    # report
    def ns(tool, what):
        r = results.get((tool, what))
        return r and r["ns"]

    rows = []
    for (tool, what), r in results.items():
        per = r["ns"] / n
        rows.append(
            [
                tool,
                what,
                f"{r['ns'] / 1e6:,.1f}",
                f"{n / (r['ns'] / 1e9) / 1e6:,.2f}",
                f"{per:,.1f}",
                r["same"] or "",
            ]
        )
    print(render_table(["tool", "what", "ms", "M objects/s", "ns/object", "same"], rows))

    hs_list = ns("heapscope", "summarize(get_objects())")
    hs_cycle = ns("heapscope", "tracker cycle")
    hs_fast = ns("heapscope", "summarize_heap()")
    hs_fast_nc = ns("heapscope", "summarize_heap(collect=False)")
    ratios = {}
    for label, theirs, mine in [
        ("summarize(get_objects()) vs pympler", ns("pympler", "summarize(get_objects())"), hs_list),
        ("tracker cycle vs pympler", ns("pympler", "tracker cycle"), hs_cycle),
        ("summarize_heap() vs pympler summarize(get_objects())", ns("pympler", "summarize(get_objects())"), hs_fast),
        ("summarize_heap() vs guppy3 heap()", ns("guppy3", "hpy().heap()"), hs_fast),
        ("summarize_heap(collect=False) vs guppy3 heap()", ns("guppy3", "hpy().heap()"), hs_fast_nc),
        ("one tracker summary (cycle/2) vs guppy3 heap()", ns("guppy3", "hpy().heap()"), hs_cycle and hs_cycle / 2),
        (
            "one tracker summary, collect=False (cycle/2) vs guppy3 heap()",
            ns("guppy3", "hpy().heap()"),
            (ns("heapscope", "tracker cycle (collect=False)") or 0) / 2,
        ),
        (
            "summarize_heap(collect=False) vs guppy3 heap() less its gc.collect()",
            ns("guppy3", "hpy().heap()") and ns("gc.collect()", "gc.collect()")
            and ns("guppy3", "hpy().heap()") - ns("gc.collect()", "gc.collect()"),
            hs_fast_nc,
        ),
        ("summarize_heap() vs guppy3 first heap()", ns("guppy3", "hpy().heap() first call"), hs_fast),
        ("summarize_heap() vs guppy3 str(heap().bytype)", ns("guppy3", "str(hpy().heap().bytype)"), hs_fast),
        (
            "print_(summarize_heap()) vs guppy3 str(heap())",
            ns("guppy3", "str(hpy().heap())"),
            ns("heapscope", "print_(summarize_heap())"),
        ),
        ("one tracker summary (cycle/2) vs guppy3 str(heap().bytype)", ns("guppy3", "str(hpy().heap().bytype)"),
         hs_cycle and hs_cycle / 2),
    ]:
        if theirs and mine:
            ratios[label] = theirs / mine
            print(f"{label}: {theirs / mine:,.1f}x faster")
    referents_nc = ns("heapscope", 'summarize_heap(collect=False, census="pympler")')
    if referents_nc and hs_fast_nc:
        print(
            f"the complete census costs {100 * (hs_fast_nc / referents_nc - 1):+.0f}% against pympler's census "
            f"(collect=False: {hs_fast_nc / 1e6:.1f} ms against {referents_nc / 1e6:.1f} ms)"
        )
    collect = ns("gc.collect()", "gc.collect()")
    guppy = ns("guppy3", "hpy().heap()")
    if collect and guppy:
        print(
            f"gc.collect() alone takes {collect / 1e6:.1f} ms, {100 * collect / guppy:.0f}% of guppy3's heap() "
            f"and {100 * collect / hs_fast:.0f}% of summarize_heap()"
        )

    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {
                    "objects": n,
                    "python": platform.python_version(),
                    "load": load,
                    "results": [{"tool": t, "what": w, **r} for (t, w), r in results.items()],
                    "ratios": ratios,
                },
                f,
                indent=2,
            )
    del kept


if __name__ == "__main__":
    main()
