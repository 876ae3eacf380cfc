"""Sums of sizes and counts never wrap and never panic: sizes of live objects saturate
at 2**64 - 1 (``asizeof``) or 2**63 - 1 (summary rows), totals of rows are exact Python
ints, figures read from a file that do not add up are refused with a ValueError, and an
``align`` that would round sizes past 64 bits is refused up front.

The tests run on the development build, where an overflowing Rust sum raises
``PanicException``; in a release build the same sums would have wrapped (a loaded
summary said ``total_count == -2``, ``asizeof(x, align=2**62)`` said 0).
"""

import io
import json
import sys

import pytest

from heapscope import asizeof, summary
from heapscope import _core
from heapscope.classtracker_stats import ConsoleStats

# The largest __sizeof__ sys.getsizeof accepts, less room for the object header.
HUGE = sys.maxsize - 64


class Huge:
    """An object that says it is almost 2**63 bytes."""

    def __sizeof__(self):
        return HUGE


@pytest.mark.parametrize("align", [2**62, 2**33, 2**63, 12, 3])
def test_absurd_alignments_are_refused(align):
    with pytest.raises(ValueError, match=r"power of 2 up to 2\*\*32"):
        asizeof.asizeof([1, 2], align=align)
    with pytest.raises(ValueError, match=r"power of 2 up to 2\*\*32"):
        asizeof.flatsize([1, 2], align=align)
    with pytest.raises(ValueError, match=r"power of 2 up to 2\*\*32"):
        asizeof.Asizer(align=align)


def test_the_core_checks_the_alignment_too():
    sizer = _core.Sizer()
    options = dict(code=False, ignored=True, limit=100, detail=0, stats=0, above=0, frames=False, infer=False, clip=80)
    with pytest.raises(ValueError, match=r"2\*\*32"):
        sizer.configure(align=2**62, **options)
    with pytest.raises(ValueError, match=r"2\*\*32"):
        _core.Sizer.size_once((1,), align=24, **{k: v for k, v in options.items() if k != "stats"})
    sizer.configure(align=2**32, **options)
    assert sizer.flatsize(1) == 2**32


def test_the_largest_alignment_rounds_every_size_up():
    assert asizeof.asizeof(1, align=2**32) == 2**32
    assert asizeof.asizeof([1, 2], align=2**32) == 3 * 2**32


def test_sizes_past_64_bits_saturate():
    objs = [Huge(), Huge(), Huge()]
    assert asizeof.asizeof(objs) == 2**64 - 1
    assert asizeof.asizeof(*objs) == 2**64 - 1
    sizer = asizeof.Asizer()
    sizer.asizeof(objs[0], objs[1])
    sizer.asizeof(objs[2])
    assert sizer.total == 2**64 - 1
    assert asizeof.asizesof(objs[0], objs[1])[0] > 2**62
    assert asizeof.asized(objs).size == 2**64 - 1


def test_summary_rows_of_huge_objects_saturate():
    rows = summary.summarize([Huge(), Huge(), Huge()])
    (row,) = [r for r in rows if r[0].endswith("Huge")]
    assert row[1] == 3
    assert row[2] == 2**63 - 1


def test_row_totals_are_exact():
    s = summary.Summary.from_rows([["a", 2**63 - 1, 2**63 - 1], ["b", 2**63 - 1, 1]])
    assert s.total_count == 2 * (2**63 - 1)
    assert s.total_size == 2**63
    assert "18446744073709551614 objects" in repr(s)


def test_rows_that_add_up_past_64_bits_are_refused():
    with pytest.raises(ValueError, match="'a'|\"a\""):
        summary.Summary.from_rows([["a", 2**63 - 1, 0], ["a", 1, 0]])
    low = summary.Summary.from_rows([["a", -2, 0]], kind="diff")
    with pytest.raises(ValueError, match="does not fit in 64 bits"):
        low.diff([["a", 2**63 - 1, 0]])
    gone = summary.Summary.from_rows([["a", -(2**63), 0]], kind="diff")
    with pytest.raises(ValueError, match="does not fit in 64 bits"):
        gone.diff([])


def test_a_summary_whose_totals_do_not_fit_is_not_saved(tmp_path):
    s = summary.Summary.from_rows([["a", 2**63 - 1, 1], ["b", 1, 1]])
    with pytest.raises(summary.SnapshotError, match='"objects"'):
        s.to_json()
    with pytest.raises(summary.SnapshotError, match='"objects"'):
        s.save(tmp_path / "s.json")
    assert not (tmp_path / "s.json").exists()


def test_a_file_whose_rows_wrap_is_refused():
    data = json.loads(summary.Summary.from_rows([["a", 1, 2], ["b", 1, 2]]).to_json())
    data["rows"][0]["count"] = data["rows"][1]["count"] = 2**63 - 1
    data["objects"] = -2  # what the rows add up to, wrapped
    with pytest.raises(summary.SnapshotError, match='"objects"'):
        summary.Summary.from_json(json.dumps(data))


def stats_with_sizes(sizes):
    objects = [{"id": i, "name": 0, "level": 0, "birth": 0.0, "death": None, "basicsize": 16, "repr": "",
                "watch": "weakref", "trace": None} for i in range(len(sizes))]
    snapshot = {"timestamp": 1.0, "description": "", "tracked_total": 0, "asizeof_total": 0, "overhead": 0,
                "process": {"available": False, "rss": 0, "vms": 0},
                "sizes": [[i, size, 0] for i, size in enumerate(sizes)]}
    return json.dumps({"format": "heapscope.classtracker.stats", "version": 1, "names": ["m.A"],
                       "objects": objects, "snapshots": [snapshot]}).encode()


def test_stats_whose_sizes_wrap_when_added_are_refused():
    stats = ConsoleStats()
    with pytest.raises(ValueError, match='"sizes"'):
        stats.load_stats(io.BytesIO(stats_with_sizes([2**64 - 1] * 20)))


def test_stats_with_the_largest_sizes_that_fit_print():
    stats = ConsoleStats()
    stats.load_stats(io.BytesIO(stats_with_sizes([2**63, 2**63 - 1])))
    out = io.StringIO()
    stats.stream = out
    stats.print_summary()
    assert "m.A" in out.getvalue()
