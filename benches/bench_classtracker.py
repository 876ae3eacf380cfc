"""ClassTracker benchmark: heapscope against pympler, in the same run.

The workload is what a ClassTracker is for: a tracked class, 100,000 instances created
and kept alive, then one snapshot. For each tool, on a fresh class and a fresh tracker:

1. ``create``: the 100,000 instances are created with the class tracked (the tracker's
   constructor hook, its records and weak references are on this clock, and so is the
   cost of creating the instances themselves, shown separately as ``untracked``);
2. ``snapshot``: one ``create_snapshot()`` sizes all of them.

heapscope runs first, on a clean heap, best of ``--repeat``; pympler runs once (it
takes seconds). Each run's objects are released before the next.

``same`` checks the numbers on one shared program: ``--check`` instances (default
5,000) tracked by both trackers at once, pympler's snapshot taken first (it creates the
instances' ``__dict__`` objects, which heapscope never does, so both then size the same
heap), and every per-object size and the tracked total compared (pympler also sizes
``None`` in place of dead objects; there are none here).

    python benches/bench_classtracker.py            # full size: about 20 s on 2 cores
    python benches/bench_classtracker.py --quick    # 10x smaller
    python benches/bench_classtracker.py --json benches/results/classtracker.json
    python benches/bench_classtracker.py --markdown # the README table
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _measure import time_best  # noqa: E402


def make_class():
    """A fresh class per run, so no run inherits another tracker's constructor."""

    class Plain:
        def __init__(self, i):
            self.id = i
            self.name = f"item-{i}"
            self.score = i * 0.5

    return Plain


def load(name):
    try:
        if name == "heapscope":
            from heapscope.classtracker import ClassTracker
        else:
            from pympler.classtracker import ClassTracker
    except ImportError as error:
        return None, str(error)
    return ClassTracker, None


def version_of(name):
    try:
        if name == "heapscope":
            import heapscope

            return heapscope.__version__
        from importlib.metadata import version

        return version(name)
    except Exception:
        return "?"


def untracked(n):
    cls = make_class()
    timing = time_best(lambda: [cls(i) for i in range(n)], repeat=3)
    timing.result = None
    return timing.best_ns


def one_run(tracker_cls, n):
    """``(create_ns, snapshot_ns, tracked_total)`` of one tracked run."""
    cls = make_class()
    tracker = tracker_cls()
    tracker.track_class(cls)
    gc.collect()
    t0 = time.perf_counter_ns()
    objs = [cls(i) for i in range(n)]
    t1 = time.perf_counter_ns()
    tracker.create_snapshot()
    t2 = time.perf_counter_ns()
    total = tracker.snapshots[-1].tracked_total
    tracker.detach_all()
    tracker.close()
    del objs, tracker
    gc.collect()
    return t1 - t0, t2 - t1, total


def check_same(trackers, n):
    """Whether both trackers report the same sizes on one program (see the docs)."""
    (_, ours_cls), (_, theirs_cls) = trackers
    cls = make_class()
    ours, theirs = ours_cls(), theirs_cls()
    theirs.track_class(cls)
    ours.track_class(cls)
    objs = [cls(i) for i in range(n)]
    theirs.create_snapshot()
    ours.create_snapshot()
    name = f"{cls.__module__}.{cls.__name__}"
    pym = {t.id: t.snapshots[-1][1].size for t in theirs.index[name]}
    hs = {t.id: t.snapshots[-1][1].size for t in ours.index[name]}
    same = pym == hs and theirs.snapshots[-1].tracked_total == ours.snapshots[-1].tracked_total
    detail = {
        "objects": len(hs),
        "pympler_total": theirs.snapshots[-1].tracked_total,
        "heapscope_total": ours.snapshots[-1].tracked_total,
        "differing_objects": sum(1 for k in hs if pym.get(k) != hs[k]),
    }
    ours.close()
    theirs.close()
    del objs
    gc.collect()
    return same, detail


def loadavg():
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="10x smaller (10,000 instances)")
    p.add_argument("--instances", type=int, default=None, help="instances per run (default 100,000)")
    p.add_argument("--repeat", type=int, default=3, help="heapscope runs, best taken (default 3)")
    p.add_argument("--check", type=int, default=5000, help="instances of the same-numbers check (0: skip)")
    p.add_argument("--only", default="heapscope,pympler", help="tools to run, comma separated")
    p.add_argument("--json", metavar="PATH", help="write the figures to PATH")
    p.add_argument("--markdown", action="store_true", help="also print the README table")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    n = args.instances or (10_000 if args.quick else 100_000)
    tools = [t.strip() for t in args.only.split(",") if t.strip()]
    load_at_start = loadavg()
    print(f"ClassTracker benchmark: {n:,} tracked instances + one snapshot; Python {platform.python_version()}, "
          f"load average {load_at_start if load_at_start is not None else '?'}")
    results = {"meta": {"instances": n, "python": platform.python_version(), "loadavg": load_at_start,
                        "gc_enabled": gc.isenabled()}, "tools": {}}
    base = untracked(n)
    results["meta"]["untracked_ns"] = base
    print(f"untracked: creating the instances alone takes {base / 1e6:.1f} ms")
    loaded = []
    for name in tools:
        tracker_cls, error = load(name)
        if tracker_cls is None:
            print(f"{name}: not installed ({error})")
            results["tools"][name] = {"status": "not installed"}
            continue
        loaded.append((name, tracker_cls))
        repeat = args.repeat if name == "heapscope" else 1
        runs = [one_run(tracker_cls, n) for _ in range(repeat)]
        create, snapshot, total = min(runs, key=lambda r: r[0] + r[1])
        results["tools"][name] = {
            "status": "ok",
            "version": version_of(name),
            "create_ns": create,
            "snapshot_ns": snapshot,
            "total_ns": create + snapshot,
            "tracking_overhead_ns": max(create - base, 0),
            "tracked_total": total,
            "runs": [list(r) for r in runs],
        }
    ours = results["tools"].get("heapscope", {})
    header = f"{'tool':<10} {'create ms':>10} {'snapshot ms':>12} {'total ms':>10} {'overhead us/inst':>17} {'vs heapscope':>13}"
    print(header)
    print("-" * len(header))
    for name, entry in results["tools"].items():
        if entry.get("status") != "ok":
            continue
        ratio = entry["total_ns"] / ours["total_ns"] if ours.get("status") == "ok" else float("nan")
        entry["vs_heapscope"] = ratio
        print(f"{name:<10} {entry['create_ns'] / 1e6:10.1f} {entry['snapshot_ns'] / 1e6:12.1f} "
              f"{entry['total_ns'] / 1e6:10.1f} {entry['tracking_overhead_ns'] / n / 1e3:17.2f} {ratio:12.1f}x")
    if args.check and len(loaded) == 2 and loaded[0][0] == "heapscope":
        same, detail = check_same(loaded, args.check)
        results["same"] = {"same": same, **detail}
        print(f"same numbers as pympler on {args.check:,} shared instances: {'yes' if same else 'no'} ({detail})")
    pym = results["tools"].get("pympler", {})
    if ours.get("status") == "ok" and pym.get("status") == "ok":
        print(f"heapscope vs pympler: {pym['total_ns'] / ours['total_ns']:.1f}x faster in all "
              f"(snapshot {pym['snapshot_ns'] / ours['snapshot_ns']:.1f}x, tracking overhead "
              f"{pym['tracking_overhead_ns'] / max(ours['tracking_overhead_ns'], 1):.1f}x)")
    if args.markdown and ours.get("status") == "ok" and pym.get("status") == "ok":
        print()
        print(markdown(results))
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    return 0


def markdown(results):
    n = results["meta"]["instances"]
    ours, pym = results["tools"]["heapscope"], results["tools"]["pympler"]
    same = results.get("same", {}).get("same")
    rows = [
        f"| {n:,} tracked instances + 1 snapshot | heapscope | pympler | pympler / heapscope |",
        "| --- | ---: | ---: | ---: |",
        f"| create the instances, tracked | {ours['create_ns'] / 1e6:,.0f} ms | {pym['create_ns'] / 1e6:,.0f} ms "
        f"| {pym['create_ns'] / ours['create_ns']:.1f}x |",
        f"| of which tracking overhead | {ours['tracking_overhead_ns'] / n / 1e3:.2f} µs/instance "
        f"| {pym['tracking_overhead_ns'] / n / 1e3:.2f} µs/instance "
        f"| {pym['tracking_overhead_ns'] / max(ours['tracking_overhead_ns'], 1):.1f}x |",
        f"| one snapshot | {ours['snapshot_ns'] / 1e6:,.0f} ms | {pym['snapshot_ns'] / 1e6:,.0f} ms "
        f"| {pym['snapshot_ns'] / ours['snapshot_ns']:.1f}x |",
        f"| **total** | **{ours['total_ns'] / 1e6:,.0f} ms** | **{pym['total_ns'] / 1e6:,.0f} ms** "
        f"| **{pym['total_ns'] / ours['total_ns']:.1f}x** |",
    ]
    if same is not None:
        rows.append(f"\nSame sizes as pympler (checked on {results['same']['objects']:,} shared instances): "
                    f"{'yes' if same else 'no'}.")
    return "\n".join(rows)


if __name__ == "__main__":
    sys.exit(main())
