#!/usr/bin/env python3
"""Benchmark heapscope.asizeof against pympler, objsize and guppy3.

For each workload (see ``_workloads.py``) this builds the object graph once and
times, in this order, on the same heap:

1. ``heapscope.asizeof.asizeof(obj)``, best of 5, on the untouched heap;
2. ``pympler.asizeof.asizeof(obj)``, once (it is slow);
3. heapscope again, best of 5: pympler materialises the ``__dict__`` of
   plain instances on Python 3.11+, so this is the figure pympler's result
   must equal;
4. ``objsize.get_deep_size(obj)``, best of 2;
5. ``guppy.hpy().iso(obj).domisize``, best of 2.

After each peer, heapscope sizes the heap once more (untimed) and the ``same``
column says whether the peer's byte count equals it.

Every tool's time is divided by the same object count: the number of distinct
objects heapscope visits (``Asizer().sized`` after ``asizeof(obj)``).

The peak extra resident memory of one heapscope walk is measured in a fresh
subprocess per workload (this script run with ``--memory WORKLOAD``).

Usage::

    python benches/bench_asizeof.py              # full size, a few minutes
    python benches/bench_asizeof.py --quick      # 10x smaller, well under a minute
    python benches/bench_asizeof.py --only heapscope,pympler --json out.json
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import _measure  # noqa: E402
import _workloads  # noqa: E402
from _measure import fmt_float, fmt_int, fmt_mib, fmt_ms, render_table, time_best  # noqa: E402

TOOLS = ("heapscope", "pympler", "objsize", "guppy3")
DEFAULT_WORKLOADS = tuple(_workloads.WORKLOADS)
QUICK_SCALE = 0.1
MEMORY_TARGET = 32  # bytes per visited object
REPEATS = {"heapscope": 5, "pympler": 1, "objsize": 2, "guppy3": 2}


# --------------------------------------------------------------------------
# tools
# --------------------------------------------------------------------------


class Tool:
    def __init__(self, name, fn=None, version=None, error=None, asizer=None):
        self.name = name
        self.fn = fn
        self.version = version
        self.error = error
        self.asizer = asizer  # an Asizer class with .asizeof() and .sized

    @property
    def ok(self):
        return self.fn is not None


def _load(name):
    try:
        if name == "heapscope":
            import heapscope
            import heapscope.asizeof as hs
            return Tool(name, hs.asizeof, getattr(heapscope, "__version__", "?"),
                        asizer=getattr(hs, "Asizer", None))
        if name == "pympler":
            import pympler
            import pympler.asizeof as pa
            return Tool(name, pa.asizeof, getattr(pympler, "__version__", "?"),
                        asizer=pa.Asizer)
        if name == "objsize":
            import objsize
            return Tool(name, objsize.get_deep_size, _dist_version("objsize"))
        if name == "guppy3":
            import guppy
            h = guppy.hpy()

            def guppy_domisize(obj, _h=h):
                return _h.iso(obj).domisize

            return Tool(name, guppy_domisize, _dist_version("guppy3"))
    except Exception as e:  # ImportError, or a half-built extension
        return Tool(name, error=f"{type(e).__name__}: {e}")
    raise ValueError(name)


def _dist_version(dist):
    try:
        from importlib.metadata import version
        return version(dist)
    except Exception:
        return "?"


def count_visited(asizer_cls, obj):
    """Distinct objects an ``Asizer`` visits when sizing ``obj``."""
    a = asizer_cls()
    a.asizeof(obj)
    n = a.sized
    if callable(n):
        n = n()
    if not isinstance(n, int):
        n = len(n)
    return n


# --------------------------------------------------------------------------
# one workload, in this process
# --------------------------------------------------------------------------


def run_workload(name, scale, tools, selected, args):
    """Time every selected tool on workload ``name``; returns a result dict."""
    hs = tools["heapscope"]
    res = {
        "workload": name,
        "description": _workloads.describe(name, scale),
        "n": _workloads.size_for(name, scale),
        "tools": {},
    }
    t0 = time.perf_counter()
    obj = _workloads.build(name, scale)
    res["build_s"] = time.perf_counter() - t0
    gc.collect()

    def run(tool, key=None, repeat=None):
        tm = time_best(tool.fn, obj, repeat=repeat or REPEATS[tool.name],
                       disable_gc=args.disable_gc)
        entry = {"status": "ok", "bytes": tm.result, **tm.as_dict()}
        res["tools"][key or tool.name] = entry
        return entry

    def check(entry):
        """Compare a peer's bytes with heapscope on the heap as it is now."""
        if hs.ok:
            entry["heapscope_bytes_now"] = hs.fn(obj)
            entry["same"] = entry["bytes"] == entry["heapscope_bytes_now"]

    # 1. heapscope on the untouched heap, before anything can mutate it.
    if "heapscope" in selected:
        if hs.ok:
            run(hs, repeat=args.repeat)
        else:
            res["tools"]["heapscope"] = {"status": "not installed", "error": hs.error}

    # Object count (the per-object denominator), still on the untouched heap.
    objects, source = None, None
    if hs.ok and hs.asizer is not None:
        try:
            objects, source = count_visited(hs.asizer, obj), "heapscope Asizer.sized"
        except Exception as e:
            res["count_error"] = f"{type(e).__name__}: {e}"

    # 2. pympler, then 3. heapscope again on the heap pympler left behind.
    if "pympler" in selected:
        tool = tools["pympler"]
        if tool.ok:
            entry = run(tool)
            if hs.ok:
                after = run(hs, key="heapscope_after_pympler", repeat=args.repeat)
                entry["heapscope_bytes_now"] = after["bytes"]
                entry["same"] = entry["bytes"] == after["bytes"]
                if hs.asizer is not None:
                    try:
                        res["objects_after_pympler"] = count_visited(hs.asizer, obj)
                    except Exception:
                        pass
        else:
            res["tools"]["pympler"] = {"status": "not installed", "error": tool.error}

    # 4. objsize and 5. guppy3.
    for key in ("objsize", "guppy3"):
        if key not in selected:
            continue
        tool = tools[key]
        if tool.ok:
            try:
                check(run(tool))
            except Exception as e:
                res["tools"][key] = {"status": "failed", "error": f"{type(e).__name__}: {e}"}
        else:
            res["tools"][key] = {"status": "not installed", "error": tool.error}

    # Fallback denominator without heapscope: pympler's own Asizer count.
    if objects is None and tools["pympler"].ok:
        objects, source = count_visited(tools["pympler"].asizer, obj), "pympler Asizer.sized"

    res["objects"] = objects
    res["objects_source"] = source
    obj = None  # drop the workload (the closures above hold the name, not the heap)
    gc.collect()

    base = res["tools"].get("heapscope", {}).get("best_ns")
    for entry in res["tools"].values():
        if entry.get("status") != "ok":
            continue
        entry["ns_per_object"] = entry["best_ns"] / objects if objects else None
        entry["ratio_vs_heapscope"] = entry["best_ns"] / base if base else None
    return res


# --------------------------------------------------------------------------
# peak memory, in a subprocess
# --------------------------------------------------------------------------


def memory_child(name, scale, force_sampling):
    """Body of ``--memory WORKLOAD``: one heapscope walk on a fresh heap.

    Prints ``RESULT <json>`` as its last line.  When the peak cannot be reset
    with /proc/self/clear_refs, it asks the parent (which watches this
    process's RSS every millisecond) to sample around the walk instead.
    """
    out = {"workload": name}
    hs = _load("heapscope")
    if not hs.ok:
        out["error"] = f"heapscope not installed ({hs.error})"
        print("RESULT " + json.dumps(out), flush=True)
        return
    obj = _workloads.build(name, scale)
    gc.collect()
    _measure.trim_malloc()
    rss0 = _measure.rss_bytes()
    if not force_sampling and _measure.reset_peak_rss():
        t0 = time.perf_counter_ns()
        size = hs.fn(obj)
        t1 = time.perf_counter_ns()
        peak = _measure.peak_rss_bytes()
        out["method"] = "VmHWM after clear_refs"
    else:
        print("SAMPLE-READY", flush=True)
        sys.stdin.readline()
        t0 = time.perf_counter_ns()
        size = hs.fn(obj)
        t1 = time.perf_counter_ns()
        print("SAMPLE-DONE", flush=True)
        reply = sys.stdin.readline().split()
        peak = int(reply[1]) if len(reply) == 2 and reply[0] == "PEAK" else None
        out["method"] = "RSS sampled every 1 ms by the parent"
    rss1 = _measure.rss_bytes()
    out.update(bytes=size, walk_ns=t1 - t0, rss_before=rss0, peak_rss=peak,
               retained_bytes=None if rss1 is None or rss0 is None else rss1 - rss0)
    if peak is not None and rss0 is not None:
        out["peak_extra_bytes"] = max(0, peak - rss0)
    if hs.asizer is not None:
        out["objects"] = count_visited(hs.asizer, obj)
        if out.get("peak_extra_bytes") is not None and out["objects"]:
            out["bytes_per_object"] = out["peak_extra_bytes"] / out["objects"]
    print("RESULT " + json.dumps(out), flush=True)


def measure_memory(name, scale, force_sampling=False, timeout=900):
    """Run :func:`memory_child` in a new interpreter and return its result."""
    cmd = [sys.executable, os.path.abspath(__file__), "--memory", name, "--scale", repr(scale)]
    if force_sampling:
        cmd.append("--memory-sampling")
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, bufsize=1)
    sampler = None
    result = None
    deadline = time.monotonic() + timeout
    try:
        for line in proc.stdout:
            line = line.strip()
            if line == "SAMPLE-READY":
                sampler = _measure.RssSampler(proc.pid, interval=0.001).start()
                time.sleep(0.01)
                proc.stdin.write("GO\n")
                proc.stdin.flush()
            elif line == "SAMPLE-DONE":
                peak = sampler.stop() if sampler else None
                proc.stdin.write(f"PEAK {peak}\n" if peak else "PEAK ?\n")
                proc.stdin.flush()
                sampler = None
            elif line.startswith("RESULT "):
                result = json.loads(line[len("RESULT "):])
            if time.monotonic() > deadline:
                proc.kill()
                break
        err = proc.stderr.read()
        proc.wait(timeout=60)
    finally:
        if sampler:
            sampler.stop()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if result is None:
        tail = (err or "").strip().splitlines()[-3:]
        return {"workload": name, "error": f"child exited {proc.returncode}: " + " | ".join(tail)}
    return result


# --------------------------------------------------------------------------
# report
# --------------------------------------------------------------------------

ROW_ORDER = (
    ("heapscope", "heapscope"),
    ("pympler", "pympler"),
    ("heapscope_after_pympler", "heapscope (after pympler)"),
    ("objsize", "objsize"),
    ("guppy3", "guppy3"),
)


def _same_cell(entry):
    if "same" not in entry:
        return "-"
    if entry["same"]:
        return "yes"
    ref = entry["heapscope_bytes_now"]
    diff = entry["bytes"] - ref
    pct = f" {100.0 * diff / ref:+.1f}%" if ref else ""
    return f"no ({diff:+,}{pct})"


def print_workload(res, mem):
    objects = res["objects"]
    print()
    head = f"== {res['workload']}: {res['description']}"
    if objects is not None:
        head += f"; {objects:,} objects visited ({res['objects_source']})"
    print(head + f"; built in {res['build_s']:.2f} s ==")
    if res.get("objects_after_pympler") not in (None, objects):
        print(f"   (after pympler ran, heapscope visits {res['objects_after_pympler']:,} objects:"
              " pympler created instance __dict__s)")

    mem_cell = "-"
    if mem is not None:
        if mem.get("bytes_per_object") is not None:
            mem_cell = f"{mem['bytes_per_object']:.1f}"
        elif mem.get("error"):
            mem_cell = "n/a"

    rows = []
    for key, label in ROW_ORDER:
        e = res["tools"].get(key)
        if e is None:
            continue
        if e["status"] != "ok":
            rows.append([label, e["status"], "", "", "", "", "", ""])
            continue
        ratio = e.get("ratio_vs_heapscope")
        rows.append([
            label,
            fmt_int(e["bytes"]),
            fmt_int(objects),
            fmt_ms(e["best_ns"]),
            fmt_float(e.get("ns_per_object"), 1),
            "-" if ratio is None else f"{ratio:,.2f}x",
            "-" if key.startswith("heapscope") else _same_cell(e),
            mem_cell if key == "heapscope" else "",
        ])
    print(render_table(
        ["tool", "bytes", "objects", "total ms", "ns/object", "vs heapscope", "same",
         "peak B/obj"],
        rows, align="lrrrrrlr"))

    if mem is not None:
        if mem.get("error"):
            print(f"peak extra memory of a heapscope walk: n/a ({mem['error']})")
        elif mem.get("bytes_per_object") is not None:
            verdict = "ok" if mem["bytes_per_object"] < MEMORY_TARGET else "OVER TARGET"
            print(f"peak extra memory of a heapscope walk: {mem['bytes_per_object']:.1f} bytes/object "
                  f"({fmt_mib(mem['peak_extra_bytes'])} over {mem['objects']:,} objects, "
                  f"{mem['method']}; target < {MEMORY_TARGET}: {verdict})")
        else:
            print(f"peak extra memory of a heapscope walk: could not be measured ({mem.get('method')})")

    print(f"{res['workload']}: {summary_line(res)}")


def _times(r):
    if r < 10:
        return f"{r:.2f}x"
    if r < 100:
        return f"{r:.1f}x"
    return f"{r:,.0f}x"


def summary_line(res):
    tools = res["tools"]
    base = tools.get("heapscope", {})
    if base.get("status") != "ok":
        why = base.get("status", "not timed")
        return f"heapscope {why}: no speed comparison"
    parts = []
    for key, label in (("pympler", "pympler"), ("guppy3", "guppy3"), ("objsize", "objsize")):
        e = tools.get(key)
        if e is None:
            text = "not run"
        elif e["status"] != "ok":
            text = e["status"]
        else:
            r = e["ratio_vs_heapscope"]
            text = f"{_times(r)} faster" if r >= 1 else f"{_times(1 / r)} slower"
        parts.append(f"vs {label}: {text}")
    return "heapscope " + "; ".join(parts)


# --------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------


def _csv(values):
    out = []
    for v in values or ():
        out.extend(x.strip() for x in v.split(",") if x.strip())
    return out


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true",
                   help=f"workloads {int(1 / QUICK_SCALE)}x smaller")
    p.add_argument("--scale", type=float, default=None,
                   help="size factor for every workload (overrides --quick)")
    p.add_argument("--only", action="append", metavar="TOOLS",
                   help=f"comma-separated tools to run, from: {', '.join(TOOLS)}")
    p.add_argument("--workloads", action="append", metavar="NAMES",
                   help="comma-separated workloads (default: "
                        f"{','.join(DEFAULT_WORKLOADS)}; also: "
                        f"{','.join(_workloads.EXTRA_WORKLOADS)})")
    p.add_argument("--json", metavar="PATH", help="write all results to PATH")
    p.add_argument("--repeat", type=int, default=REPEATS["heapscope"],
                   help="heapscope repetitions, best taken (default %(default)s)")
    p.add_argument("--no-memory", action="store_true",
                   help="skip the peak-memory subprocesses")
    p.add_argument("--disable-gc", action="store_true",
                   help="turn the cyclic GC off during each timed call")
    p.add_argument("--memory", metavar="WORKLOAD", help=argparse.SUPPRESS)
    p.add_argument("--memory-sampling", action="store_true",
                   help="measure peak memory by sampling RSS (the fallback) even "
                        "where /proc/self/clear_refs works")
    args = p.parse_args(argv)
    args.scale_value = args.scale if args.scale is not None else (QUICK_SCALE if args.quick else 1.0)
    args.tools = _csv(args.only) or list(TOOLS)
    for t in args.tools:
        if t not in TOOLS:
            p.error(f"unknown tool {t!r} (known: {', '.join(TOOLS)})")
    args.workload_names = _csv(args.workloads) or list(DEFAULT_WORKLOADS)
    for w in args.workload_names:
        if w not in _workloads.WORKLOADS and w not in _workloads.EXTRA_WORKLOADS:
            p.error(f"unknown workload {w!r}")
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.memory:
        memory_child(args.memory, args.scale_value, args.memory_sampling)
        return 0

    scale = args.scale_value
    # Load every tool (heapscope is needed for object counts and checks even
    # when it is not among those timed).
    tools = {name: _load(name) for name in TOOLS}
    started = time.perf_counter()

    print(f"heapscope asizeof benchmark: Python {platform.python_version()} "
          f"({platform.python_implementation()}) on {platform.system()} {platform.machine()}, "
          f"{os.cpu_count()} CPUs; scale {scale:g}; load average {_loadavg()}")
    for name in TOOLS:
        t = tools[name]
        mark = "" if name in args.tools else " (not timed)"
        if t.ok:
            print(f"  {name:<10} {t.version}{mark}")
        else:
            print(f"  {name:<10} not installed ({t.error}){mark}")

    meta = {
        "python": sys.version,
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "loadavg_at_start": _loadavg(),
        "scale": scale,
        "seed": _workloads.SEED,
        "tools_timed": args.tools,
        "versions": {n: (t.version if t.ok else None) for n, t in tools.items()},
        "errors": {n: t.error for n, t in tools.items() if not t.ok},
        "repeats": {**REPEATS, "heapscope": args.repeat},
        "disable_gc": args.disable_gc,
        "order": [k for k, _ in ROW_ORDER],
    }
    results = {"meta": meta, "workloads": {}}

    for name in args.workload_names:
        res = run_workload(name, scale, tools, set(args.tools), args)
        mem = None
        if "heapscope" in args.tools and not args.no_memory:
            if tools["heapscope"].ok:
                mem = measure_memory(name, scale, force_sampling=args.memory_sampling)
            else:
                mem = {"error": "heapscope not installed"}
        res["memory"] = mem
        results["workloads"][name] = res
        print_workload(res, mem)
        sys.stdout.flush()
        if args.json:
            _write_json(args.json, results)

    meta["elapsed_s"] = time.perf_counter() - started
    print()
    print("summary:")
    for name, res in results["workloads"].items():
        print(f"  {name:<8} {summary_line(res)}")
    print(f"total time {meta['elapsed_s']:.1f} s")
    if args.json:
        _write_json(args.json, results)
        print(f"results written to {args.json}")
    return 0


def _loadavg():
    """1-minute load average: other work on the machine skews every figure."""
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


def _write_json(path, results):
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(results, f, indent=2, default=str)
        f.write("\n")
    os.replace(tmp, path)


if __name__ == "__main__":
    sys.exit(main())
