"""Who keeps this alive? ``heapscope.why`` against objgraph's ``find_backref_chain``.

Builds a heap of about 1,000,000 gc-tracked objects held by a module (records: a dict
per record with a list and an instance, in a dict of lists), picks an object deep inside
and asks both tools for the shortest chain of references from a module to it, in the
same process. "same" says whether both chains have the same length (both are shortest
chains; they may pass through different objects of equal distance).

    python benches/bench_why.py            # about 1,000,000 objects
    python benches/bench_why.py --quick    # 10x smaller
    python benches/bench_why.py --json out.json

Build heapscope in release mode first (see benches/README.md).
"""

from __future__ import annotations

import argparse
import gc
import inspect
import json
import os
import sys
import time
import types


class Session:
    __slots__ = ("token", "items")

    def __init__(self, token, items):
        self.token = token
        self.items = items


class User:
    def __init__(self, i):
        self.name = f"user{i}"
        self.tags = [f"t{i % 7}", f"t{i % 11}"]
        self.sessions = [Session(i, [i, i + 1]) for _ in range(2)]


def build_heap(records: int, shared: int = 0):
    """A module ``benchapp`` holding ``records`` users in buckets of 100 (about ten
    gc-tracked objects per record)."""
    app = types.ModuleType("benchapp")
    sys.modules["benchapp"] = app
    buckets = {}
    for i in range(records):
        buckets.setdefault(f"bucket{i // 100}", []).append({"id": i, "user": User(i), "meta": {"n": [i]}})
    app.registry = {"users": buckets}
    if shared:
        # One object referred to by `shared` records' "meta" dicts: every referrer is a
        # dead end but one, so a referrer search must look at many objects.
        common = Session(-1, [])
        step = max(1, records // shared)
        for i in range(0, records, step):
            buckets[f"bucket{i // 100}"][i % 100]["meta"]["common"] = common
        app.common_holder = [[[common]]]
        return app, lambda: app.common_holder[0][0][0]
    target_bucket = f"bucket{(records * 3 // 4) // 100}"
    # A function, so that no frame of the benchmark holds the target in a local.
    return app, lambda: app.registry["users"][target_bucket][37]["user"].sessions[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="10x smaller heap")
    parser.add_argument("--records", type=int, default=None)
    parser.add_argument("--shared", type=int, default=0, metavar="N",
                        help="ask about an object N records refer to (objgraph looks at each)")
    parser.add_argument("--json", metavar="PATH")
    parser.add_argument("--no-objgraph", action="store_true", help="time heapscope only")
    args = parser.parse_args()
    records = args.records or (10_000 if args.quick else 100_000)

    import heapscope

    app, target_of = build_heap(records, args.shared)
    gc.collect()
    tracked = len(gc.get_objects())
    print(f"python {sys.version.split()[0]}, {tracked:,} gc-tracked objects, load {os.getloadavg()[0]:.2f}")

    start = time.perf_counter()
    answer = heapscope.why(target_of())
    hs_time = time.perf_counter() - start
    hs_len = len(answer[0]) if answer else None
    print(f"heapscope.why               {hs_time:8.3f} s  chain of {hs_len}: {answer}")

    og_time = og_len = None
    if not args.no_objgraph:
        try:
            import objgraph
        except ImportError:
            print("objgraph                    not installed")
        else:
            start = time.perf_counter()
            chain = objgraph.find_backref_chain(target_of(), inspect.ismodule)
            og_time = time.perf_counter() - start
            og_len = len(chain) - 1 if chain and inspect.ismodule(chain[0]) else None
            print(f"objgraph.find_backref_chain {og_time:8.3f} s  chain of {og_len}")
    same = og_len is not None and og_len == hs_len
    if og_time:
        print(f"heapscope is {og_time / hs_time:.1f}x faster; same length: {same}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {
                    "python": sys.version.split()[0],
                    "objects": tracked,
                    "heapscope_s": hs_time,
                    "objgraph_s": og_time,
                    "heapscope_chain": hs_len,
                    "objgraph_chain": og_len,
                    "same": same,
                },
                f,
                indent=2,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
