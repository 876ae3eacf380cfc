#!/usr/bin/env python3
"""Data libraries: heapscope's figures against each library's own and pympler's, and
the time sizing takes.

Part 1 prints, for numpy, pandas, PyArrow and Polars objects, the library's own figure
(``nbytes``, ``memory_usage(deep=True)``, ``get_total_buffer_size()``,
``estimated_size()``), ``heapscope.asizeof.asizeof`` and ``pympler.asizeof.asizeof``.

Part 2 times:

- a 1M-row, 20-column DataFrame (10 int64, 5 float64, 5 columns of short strings, as
  pandas' own string dtype and as ``object``): ``heapscope.asizeof`` against
  ``df.memory_usage(deep=True)`` and pympler;
- a list of 100,000 small numpy arrays against a list of 100,000 small dicts (per
  object visited, heapscope and pympler).

Usage::

    python benches/bench_datascience.py            # full size, about a minute
    python benches/bench_datascience.py --quick    # 10x smaller
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from _measure import fmt_float, fmt_int, fmt_ms, render_table, time_best  # noqa: E402

import heapscope  # noqa: E402
from heapscope import asizeof as hs  # noqa: E402

try:
    from pympler import asizeof as pympler_asizeof
except ImportError:  # pragma: no cover - optional peer
    pympler_asizeof = None


def optional(name):
    try:
        return __import__(name)
    except ImportError:
        print(f"({name} is not installed: its rows are left out)")
        return None


def figures(rows: int):
    """(library, object, library's figure, object) for each case."""
    np = optional("numpy")
    pd = optional("pandas")
    pa = optional("pyarrow")
    pl = optional("polars")
    cases = []
    texts = [f"text {i}" for i in range(rows)]
    if np is not None:
        array = np.arange(rows, dtype=np.float64)
        cases.append(("numpy", "float64 array", array.nbytes, array))
        cases.append(("numpy", "array + 3 views of it", array.nbytes, [array, array[::2], array[1:], array.T]))
        objects = np.array(texts, dtype=object)
        cases.append(("numpy", "object array of str", objects.nbytes + sum(sys.getsizeof(t) for t in texts), objects))
        path = os.path.join(tempfile.mkdtemp(), "mapped.bin")
        mapped = np.memmap(path, dtype="u1", mode="w+", shape=(rows * 8,))
        cases.append(("numpy", "memmap (file-backed)", 0, mapped))
    if pd is not None:
        for label, series in [
            ("Series int64", pd.Series(np.arange(rows))),
            ("Series object str", pd.Series(texts, dtype=object)),
            ("Series string", pd.Series(texts, dtype="string")),
            ("Series categorical", pd.Series(["red", "green", "blue"] * (rows // 3), dtype="category")),
            ("Series datetime64", pd.Series(pd.date_range("2020", periods=rows, freq="min"))),
            ("Series Int64 (nullable)", pd.Series(pd.array(range(rows), dtype="Int64"))),
            ("DataFrame (int, float, str)", pd.DataFrame({"a": np.arange(rows), "b": np.ones(rows), "c": texts})),
            ("MultiIndex 2 levels", pd.MultiIndex.from_product([range(rows // 100), range(100)])),
        ]:
            usage = series.memory_usage(deep=True)
            cases.append(("pandas", label, int(usage.sum()) if hasattr(usage, "sum") else int(usage), series))
    if pa is not None:
        array = pa.array(range(rows))
        table = pa.table({"a": range(rows), "b": texts})
        cases.append(("pyarrow", "Int64Array", array.get_total_buffer_size(), array))
        cases.append(("pyarrow", "array + 2 slices", array.get_total_buffer_size(),
                      [array, array.slice(0, 10), array.slice(rows // 2)]))
        cases.append(("pyarrow", "Table (int, str)", table.get_total_buffer_size(), table))
    if pl is not None:
        frame = pl.DataFrame({"a": range(rows), "b": texts})
        cases.append(("polars", "DataFrame (int, str)", frame.estimated_size(), frame))
        cases.append(("polars", "Series int64", frame["a"].estimated_size(), frame["a"]))
    return cases


def part_figures(rows: int) -> None:
    print(f"\n## Figures ({rows:,} rows; bytes; heapscope with align=1, like the libraries)\n")
    table = []
    for lib, label, theirs, obj in figures(rows):
        sizer = hs.Asizer(align=1)
        ours = sizer.asizeof(obj)
        extra = f" + {sizer.mapped:,} mapped" if sizer.mapped else ""
        theirs_text = fmt_int(theirs) if theirs else "(file pages)"
        peer = fmt_int(pympler_asizeof.asizeof(obj, align=1)) if pympler_asizeof else "-"
        ratio = fmt_float(ours / theirs, 3) if theirs else "-"
        table.append([lib, label, theirs_text, fmt_int(ours) + extra, ratio, peer])
    print(render_table(["library", "object", "library's figure", "heapscope", "ratio", "pympler"], table,
                       align="llrrrr"))


def part_speed(rows: int) -> None:
    np = optional("numpy")
    pd = optional("pandas")
    print(f"\n## Speed (best of 3, {platform.python_implementation()} {platform.python_version()})\n")
    table = []
    if np is not None and pd is not None:
        strings = [f"s{i % 5000}-{i}" for i in range(rows)]
        columns = {f"i{k}": np.arange(rows) + k for k in range(10)}
        columns.update({f"f{k}": np.linspace(0, k + 1, rows) for k in range(5)})
        columns.update({f"s{k}": np.array(strings, dtype=object) for k in range(5)})
        # pandas 3 stores text as Arrow strings; `object` keeps the Python strings
        as_text = pd.DataFrame(columns)
        as_objects = as_text.astype({f"s{k}": object for k in range(5)})
        for label, frame in [("str columns", as_text), ("object columns", as_objects)]:
            usage = time_best(lambda df=frame: int(df.memory_usage(deep=True).sum()), repeat=3)
            ours = time_best(hs.asizeof, frame, repeat=3)
            row = [f"DataFrame {rows:,} x 20, {label}", fmt_ms(ours.best_ns), fmt_ms(usage.best_ns),
                   fmt_float(usage.best_ns / ours.best_ns, 2)]
            if pympler_asizeof is not None:
                peer = time_best(pympler_asizeof.asizeof, frame, repeat=1)
                row += [fmt_ms(peer.best_ns), fmt_float(peer.best_ns / ours.best_ns, 1)]
            table.append(row)
            print(f"{label}: heapscope {ours.result:,} bytes, memory_usage(deep=True) {usage.result:,} bytes")
    print(render_table(["object", "heapscope ms", "memory_usage(deep) ms", "its time / ours", "pympler ms",
                        "pympler / ours"], table, align="lrrrrr"))
    if np is None:
        return
    count = rows // 10
    arrays = [np.arange(8) + i for i in range(count)]
    dicts = [{"a": i, "b": 2.0, "c": "x"} for i in range(count)]
    table = []
    for label, obj in [(f"list of {count:,} small arrays", arrays), (f"list of {count:,} small dicts", dicts)]:
        sizer = hs.Asizer()
        sizer.asizeof(obj)
        visited = sizer.sized
        ours = time_best(hs.asizeof, obj, repeat=3)
        row = [label, fmt_int(visited), fmt_float(ours.best_ns / visited, 1)]
        if pympler_asizeof is not None:
            peer = time_best(pympler_asizeof.asizeof, obj, repeat=1)
            row += [fmt_float(peer.best_ns / visited, 1), fmt_float(peer.best_ns / ours.best_ns, 1)]
        table.append(row)
    print()
    print(render_table(["object", "objects", "heapscope ns/object", "pympler ns/object", "ratio"], table,
                       align="lrrrr"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="10x smaller")
    args = parser.parse_args()
    rows = 100_000 if args.quick else 1_000_000
    print(f"heapscope {heapscope.__version__}, Python {platform.python_version()}")
    part_figures(rows // 10)
    part_speed(rows)


if __name__ == "__main__":
    main()
