"""Counts the calls from Python into ``heapscope._core`` that one call of a heapscope
function makes: every ``c_call`` event ``sys.setprofile`` reports whose target is a
function of ``heapscope._core`` or a method of one of its objects.

Not counted: creating a ``_core`` object (``_core.Sizer()`` is a call of a type, which
the profiler does not report) and reading a property of one (a descriptor, not a call).
Calls that Rust makes into Python do not count either, but what that Python code calls
back in ``_core`` does.

    python benches/crossings.py                      # all three workloads
    python benches/crossings.py snapshot -n 610      # ClassTracker.create_snapshot()
    python benches/crossings.py asizeof why -v       # per-function counts too

From Python, ``count_crossings(fn, *args, **kwargs)`` returns ``(total, Counter)`` for
any callable.
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
from typing import Any, Callable, Counter, Tuple

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))

import heapscope  # noqa: E402
from heapscope import _core  # noqa: E402

_CORE = _core.__name__


def _core_name(func: Any) -> "str | None":
    """``name`` of a ``_core`` function, ``Class.name`` of a ``_core`` method, else None."""
    owner = getattr(func, "__self__", None)
    name = getattr(func, "__name__", "?")
    if owner is _core:
        return name
    if owner is not None:
        cls = owner if isinstance(owner, type) else type(owner)
        if getattr(cls, "__module__", None) == _CORE:
            return f"{cls.__name__}.{name}"
        return None
    objclass = getattr(func, "__objclass__", None)  # an unbound method descriptor
    if objclass is not None and getattr(objclass, "__module__", None) == _CORE:
        return f"{objclass.__name__}.{name}"
    if getattr(func, "__module__", None) == _CORE:  # a static method
        return name
    # A static method of a _core class (PyO3 gives it neither __self__ nor __module__).
    cls_name, _, method = getattr(func, "__qualname__", "").rpartition(".")
    cls = getattr(_core, cls_name, None) if cls_name else None
    if isinstance(cls, type) and getattr(cls, method, None) is func:
        return f"{cls_name}.{method}"
    return None


def count_crossings(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Tuple[int, Counter[str]]:
    """Calls ``fn(*args, **kwargs)`` once; returns the number of calls into ``_core`` it
    made and their count per function."""
    counts: Counter[str] = collections.Counter()

    def profile(frame: Any, event: str, arg: Any) -> None:
        if event == "c_call":
            name = _core_name(arg)
            if name is not None:
                counts[name] += 1

    previous = sys.getprofile()
    sys.setprofile(profile)
    try:
        fn(*args, **kwargs)
    finally:
        sys.setprofile(previous)
    return sum(counts.values()), counts


# -- workloads ---------------------------------------------------------------------------


class Document:
    def __init__(self, n: int) -> None:
        self.n = n
        self.text = "x" * (n % 50)
        self.tags = [n, str(n)]


def snapshot(n: int) -> Tuple[int, Counter[str]]:
    from heapscope.classtracker import ClassTracker

    with ClassTracker() as tracker:
        tracker.track_class(Document)
        docs = [Document(i) for i in range(n)]
        result = count_crossings(tracker.create_snapshot, "counted")
        del docs
    return result


def asizeof(n: int) -> Tuple[int, Counter[str]]:
    from heapscope.asizeof import asizeof as size

    data = [Document(i) for i in range(n)]
    return count_crossings(size, data)


def why(n: int) -> Tuple[int, Counter[str]]:
    data = {"docs": [Document(i) for i in range(n)]}
    target = data["docs"][n // 2]
    return count_crossings(heapscope.why, target)


WORKLOADS = {
    "snapshot": ("ClassTracker.create_snapshot() of {n:,} tracked objects", snapshot),
    "asizeof": ("asizeof() of a list of {n:,} objects", asizeof),
    "why": ("heapscope.why() of one of {n:,} objects", why),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("workloads", nargs="*", metavar="workload", help=f"{', '.join(WORKLOADS)} (default: all)")
    parser.add_argument("-n", type=int, default=10_000, help="objects per workload (default 10,000)")
    parser.add_argument("-v", "--verbose", action="store_true", help="counts per _core function")
    args = parser.parse_args()
    unknown = [key for key in args.workloads if key not in WORKLOADS]
    if unknown:
        parser.error(f"unknown workload {unknown[0]!r} (choose from {', '.join(WORKLOADS)})")
    for key in args.workloads or list(WORKLOADS):
        title, run = WORKLOADS[key]
        total, counts = run(args.n)
        print(f"{title.format(n=args.n)}: {total} calls into _core")
        if args.verbose:
            for name, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
                print(f"    {count:6d}  {name}")


if __name__ == "__main__":
    main()
