"""heapscope.tracker against pympler.tracker (the oracle), and its steady state."""

import gc
import io
import os
import subprocess
import sys
import textwrap

import pytest
from pympler import tracker as ptrack

from heapscope import _core
from heapscope import summary as hsum
from heapscope import tracker as htrack


class Allocated:
    def __init__(self, i):
        self.i = i


class AllocatedToo:
    pass


def rows_by_type(rows):
    return {row[0]: row for row in rows}


NAME = f"{__name__}.Allocated"


def test_diff_shows_exactly_the_allocated_objects():
    mine = htrack.SummaryTracker()
    theirs = ptrack.SummaryTracker()
    kept = [Allocated(i) for i in range(10_000)]
    their_row = rows_by_type(theirs.diff())[NAME]
    my_row = rows_by_type(mine.diff())[NAME]
    assert my_row == their_row == [NAME, 10_000, sum(sys.getsizeof(o) for o in kept)]
    del kept
    assert rows_by_type(mine.diff())[NAME][1] == -10_000


def test_print_diff_matches_pympler_line(capsys):
    mine = htrack.SummaryTracker()
    kept = [AllocatedToo() for _ in range(2_500)]  # noqa: F841
    out = io.StringIO()
    mine.print_diff(file=out)
    lines = out.getvalue().splitlines()
    assert lines[0].split() == ["types", "|", "#", "objects", "|", "total", "size"]
    (line,) = [l for l in lines if l.strip().startswith(f"{__name__}.AllocatedToo ")]  # noqa: E741
    assert line.split("|")[1].strip() == "2500"
    assert capsys.readouterr().out == ""
    # The same rows render as pympler renders them.
    rows = [[f"{__name__}.AllocatedToo", 2500, 2500 * sys.getsizeof(AllocatedToo())], ["list", 1, 20_056]]
    from pympler import summary as psum

    assert list(hsum.format_(rows)) == list(psum.format_(rows))
    mine.print_diff()
    assert capsys.readouterr().out.splitlines()[0].split() == lines[0].split()


def test_diff_twice_shows_no_row_of_ten_or_more():
    tr = htrack.SummaryTracker()
    tr.diff()
    tr.diff()
    rows = tr.diff()
    assert not [row for row in rows if abs(row[1]) >= 10], rows
    assert not [row for row in tr.diff() if abs(row[1]) >= 10]


def test_stored_summaries_stay_out_of_diffs():
    tr = htrack.SummaryTracker()
    tr.diff()
    for key in range(20):
        tr.store_summary(key)
    rows = tr.diff()
    assert not [row for row in rows if abs(row[1]) >= 10], rows
    assert isinstance(tr.summaries[3], _core.Summary)
    assert "heapscope._core.Summary" not in rows_by_type(rows)


def test_without_ignore_self_the_summaries_show():
    tr = htrack.SummaryTracker(ignore_self=False)
    tr.diff()
    for key in range(12):
        tr.store_summary(key)
    assert rows_by_type(tr.diff())["heapscope._core.Summary"][1] == 12


def test_without_collect():
    tr = htrack.SummaryTracker(collect=False)
    kept = [Allocated(i) for i in range(500)]  # noqa: F841
    assert rows_by_type(tr.diff())[NAME][1] == 500


def test_diff_between_given_summaries():
    tr = htrack.SummaryTracker()
    first = tr.create_summary()
    kept = [Allocated(i) for i in range(300)]  # noqa: F841
    second = tr.create_summary()
    assert rows_by_type(tr.diff(first, second))[NAME][1] == 300
    assert rows_by_type(tr.diff(first))[NAME][1] == 300
    # Rows in pympler's list form work too.
    assert rows_by_type(tr.diff(first.rows(), list(second)))[NAME][1] == 300
    with pytest.raises(ValueError):
        tr.diff(summary2=second)
    lines = list(tr.format_diff(first, second))
    assert any(l.strip().startswith(NAME) for l in lines)  # noqa: E741


def test_object_tracker():
    ot = htrack.ObjectTracker()
    kept = [AllocatedToo() for _ in range(150)]
    diff = ot.get_diff()
    added = {id(o) for o in diff["+"]}
    assert all(id(o) in added for o in kept)
    out = io.StringIO()
    more = [AllocatedToo() for _ in range(7)]  # noqa: F841
    ot.print_diff(file=out)
    text = out.getvalue()
    assert text.startswith("Added objects:\n") and "Removed objects:" in text
    (line,) = [l for l in text.splitlines() if f"{__name__}.AllocatedToo " in l]  # noqa: E741
    assert line.split("|")[1].strip() == "7"
    lines = ot.format_diff()
    assert lines[0] == "Added objects:" and "Removed objects:" in lines


STEADY_STATE = textwrap.dedent(
    """
    import gc, os, sys
    from heapscope import muppy, summary, tracker

    def rss():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    data = [{"k": [i, str(i)]} for i in range(20000)]
    tr = tracker.SummaryTracker()
    def cycle():
        objects = muppy.get_objects()
        summary.summarize(objects)
        del objects
        tr.diff()
    for _ in range(10):
        cycle()
    gc.collect()
    before, objects_before = rss(), len(gc.get_objects())
    for _ in range(100):
        cycle()
    gc.collect()
    print(rss() - before, len(gc.get_objects()) - objects_before)
    """
)


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs /proc")
def test_memory_stays_flat_over_100_cycles():
    out = subprocess.run([sys.executable, "-c", STEADY_STATE], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    growth, new_objects = map(int, out.stdout.split())
    assert new_objects <= 5, new_objects
    assert growth < 4 * 1024 * 1024, growth


@pytest.mark.parametrize("in_place", [True, False])
def test_tracked_count_is_the_length_of_gc_get_objects(in_place):
    previous = _core._use_layout("gc_lists", in_place)
    gc.disable()
    try:
        counted = _core.tracked_count()
        listed = len(gc.get_objects())
    finally:
        gc.enable()
        _core._use_layout("gc_lists", previous)
    assert counted == listed > 1000
