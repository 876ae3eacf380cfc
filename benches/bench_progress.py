"""Cost of the progress machinery on calls too short to show progress.

Times, best of ``--repeat`` runs, ``asizeof`` and ``Asizer().asizeof`` of a list of
1,000,000 small tuples with ``progress=False`` and with a progress display passed to
the core (its scope open, its first report two seconds away: the clock is read at
each 65,536-step poll and no report is made), then the heap passes on that heap
(``summarize_heap``, ``muppy.get_objects``, ``retained_top``) the same two ways, their
display a terminal line that the core would write itself.
Compare the figures with a build from before the progress reports for the cost of
the polls themselves.

    python benches/bench_progress.py
    python benches/bench_progress.py --repeat 15

Build heapscope in release mode first (see benches/README.md).
"""

from __future__ import annotations

import argparse
import functools
import gc
import time

import heapscope
from heapscope import _progress, asizeof, muppy, summary


def best_ms(fn, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times) * 1000


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    data = [(i, i + 0.5) for i in range(1_000_000)]
    gc.collect()
    real_make = _progress.make

    def scope_open(label, progress=True, unit="objects"):
        # The plain display with its default delay: passed to the core, never called,
        # its line (for heap passes) never written.
        shown = _progress._Plain(label, unit)
        shown.line = f"heapscope: {label}"
        return shown

    rows = []
    calls = [
        ("asizeof", lambda **kw: asizeof.asizeof(data, **kw)),
        ("Asizer().asizeof", lambda **kw: asizeof.Asizer().asizeof(data, **kw)),
        ("summarize_heap", lambda **kw: summary.summarize_heap(collect=False, **kw)),
        ("muppy.get_objects", lambda **kw: muppy.get_objects(**kw)),
        ("retained_top", lambda **kw: heapscope.retained_top(5, deep=False, **kw)),
    ]
    for name, call in calls:
        off = best_ms(functools.partial(call, progress=False), args.repeat)
        _progress.make = scope_open
        try:
            on = best_ms(call, args.repeat)
        finally:
            _progress.make = real_make
        rows.append((name, off, on))
    print(f"{'call':<20} {'progress=False':>15} {'display passed':>15} {'change':>8}")
    for name, off, on in rows:
        print(f"{name:<20} {off:>12.1f} ms {on:>12.1f} ms {100 * (on / off - 1):>+7.1f}%")


if __name__ == "__main__":
    main()
