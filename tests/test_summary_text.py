"""A Summary as text: str(), Summary.format() and IPython's terminal show a bounded
table, largest rows first, with a line for the rest; print_ keeps pympler's table."""

import io

from heapscope import _core, summary


def make(rows, kind="summary", label=None):
    return _core.Summary.from_rows(rows, kind=kind, label=label)


ROWS = [[f"type{i}", i + 1, (i + 1) * 1000] for i in range(40)]


def test_str_is_a_bounded_table_largest_first():
    text = str(make(ROWS, label="demo"))
    lines = text.splitlines()
    assert lines[0].startswith('summary "demo" taken ')
    assert lines[0].endswith(": 820 objects, 800.8 KiB in 40 types")
    assert lines[1].split() == ["types", "|", "#", "objects", "|", "total", "size"]
    assert lines[3].split() == ["type39", "|", "40", "|", "39.1", "KiB"]
    assert len(lines) == 3 + 15 + 1
    assert lines[-1] == "... 25 more types: 325 objects, 317.4 KiB (format(limit=N) shows more)"


def test_format_takes_a_limit():
    assert len(make(ROWS).format(limit=3).splitlines()) == 3 + 3 + 1
    assert "more types" not in make(ROWS).format(limit=40)


def test_a_diff_shows_signs_and_the_largest_change_either_way_first():
    before = make([["shrunk", 500, 4_000_000], ["grown", 10, 1000]])
    after = make([["shrunk", 1, 100_000], ["grown", 1010, 1_001_000]])
    lines = str(before.diff(after)).splitlines()
    assert lines[0].startswith("diff taken ") and lines[0].endswith(": +501 objects, -2.8 MiB in 2 types")
    assert lines[3].split() == ["shrunk", "|", "-499", "|", "-3.7", "MiB"]
    assert lines[4].split() == ["grown", "|", "+1,000", "|", "+976.6", "KiB"]


def test_empty_summaries_say_so():
    assert str(make([])).endswith("(no objects)")
    same = make([["a", 1, 10]])
    assert str(same.diff(same)).endswith("(nothing changed)")


def test_ipython_shows_the_text():
    class Printer:
        def __init__(self):
            self.out = []

        def text(self, value):
            self.out.append(value)

    printer = Printer()
    summary_ = make(ROWS)
    summary_._repr_pretty_(printer, False)
    assert printer.out == [str(summary_)]


def test_print_keeps_pympler_table():
    out = io.StringIO()
    summary.print_(make(ROWS[:2]), file=out)
    assert out.getvalue().splitlines()[0].split() == ["types", "|", "#", "objects", "|", "total", "size"]
    assert "1.95 KB" in out.getvalue()


def test_repr_stays_one_line():
    assert "\n" not in repr(make(ROWS))
