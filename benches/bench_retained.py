#!/usr/bin/env python3
"""Benchmark heapscope's retained sizes: the whole dominator tree of the heap.

Grows the heap as ``bench_summary.py`` does (``--objects``, 1,000,000 by default),
then times, on that one heap, without ``gc.collect()`` in the timed region:

* ``summarize_heap(collect=False)``: the complete census, summarized by type;
* the whole retained-size computation (``_core.retained_stats``: the heap graph, its
  roots, the dominator tree and every object's retained size), split into the graph's
  build and the roots plus dominators;
* ``retained_size(x)`` for one object (it runs no collection: garbage is left out of
  the tree instead), and guppy3's ``hpy().iso(x).domisize`` for the same object when
  guppy3 is installed;
* the views over the same tree, each with its ``gc.collect()``: ``retained_top(20)``
  (with and without deep sizes), ``dominator_tree()`` and ``leak_suspects()``.

Prints per-object nanoseconds, the ratio to ``summarize_heap``, the bytes per object
of the graph's and the dominator tree's arrays, and the peak extra resident memory per
object (VmHWM over the RSS before the call, Linux).

Usage::

    python benches/bench_retained.py                   # about a minute on 2 cores
    python benches/bench_retained.py --objects 200000  # quick
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from _measure import peak_rss_bytes, proc_status, reset_peak_rss, time_best  # noqa: E402
from bench_summary import grow_heap  # noqa: E402

import heapscope  # noqa: E402
from heapscope import _core, summary  # noqa: E402


def rss():
    return proc_status().get("VmRSS")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    kept = grow_heap(args.objects)
    gc.collect()
    heap_summary = summary.summarize_heap(collect=False)
    objects = sum(row[1] for row in heap_summary)
    del heap_summary
    print(f"heap: {objects:,} objects in the complete census ({sys.version.split()[0]})")

    summarize = time_best(lambda: summary.summarize_heap(collect=False), repeat=args.repeat, disable_gc=True)
    stats = time_best(lambda: _core.retained_stats([]), repeat=args.repeat, disable_gc=True)
    figures = stats.result
    nodes = figures["nodes"]
    t_sum, t_ret = summarize.best_ns, stats.best_ns

    gc.collect()
    before = rss()
    peaked = reset_peak_rss()
    _core.retained_stats([])
    peak = peak_rss_bytes()
    extra = (peak - before) / nodes if peaked and peak and before else None

    target = kept[0]
    one = time_best(lambda: heapscope.retained_size(target, progress=False), repeat=args.repeat, disable_gc=True)
    print(f"graph: {nodes:,} nodes, {figures['edges']:,} edges, {figures['roots']:,} roots")
    rows = [
        ("summarize_heap(collect=False)", t_sum, None),
        ("retained sizes, all objects", t_ret, t_ret / t_sum),
        ("  of which the graph", figures["build_seconds"] * 1e9, None),
        ("  of which roots + dominators", figures["dominator_seconds"] * 1e9, None),
        ("retained_size(one object)", one.best_ns, one.best_ns / t_sum),
    ]
    for name, call in [
        ("retained_top(20)", lambda: heapscope.retained_top(20)),
        ("retained_top(20, deep=False)", lambda: heapscope.retained_top(20, deep=False)),
        ("dominator_tree()", heapscope.dominator_tree),
        ("leak_suspects()", heapscope.leak_suspects),
    ]:
        timed = time_best(call, repeat=1)
        del timed.result
        rows.append((name, timed.best_ns, timed.best_ns / t_sum))
    try:
        import guppy

        hp = guppy.hpy()
        t0 = time.perf_counter_ns()
        domisize = hp.iso(target).domisize
        rows.append(("guppy3 iso(x).domisize", time.perf_counter_ns() - t0, None))
        print(f"retained_size(x) = {heapscope.retained_size(target):,}; guppy3 domisize = {domisize:,}")
    except ImportError:
        print("guppy3 is not installed: no domisize figure")
    print(f"{'':34}{'ms':>10}{'ns/object':>11}{'x summarize':>13}")
    for name, ns, ratio in rows:
        shown = f"{ratio:13.2f}" if ratio is not None else f"{'':13}"
        print(f"{name:34}{ns / 1e6:10.1f}{ns / nodes:11.1f}{shown}")
    print(f"arrays kept: graph {figures['graph_bytes'] / nodes:.1f} B/object, "
          f"dominator tree {figures['dominator_bytes'] / nodes:.1f} B/object")
    if extra is not None:
        print(f"peak extra resident memory: {extra:.1f} B/object")
    del kept


if __name__ == "__main__":
    main()
