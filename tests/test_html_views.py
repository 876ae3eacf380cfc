"""HTML views for Jupyter of heap summaries, their diffs and class-tracker statistics."""

import gc
import html.parser
import re

from heapscope import _html, summary
from heapscope.classtracker import ClassTracker
from heapscope.classtracker_stats import ConsoleStats, Stats


class _Checker(html.parser.HTMLParser):
    """Collects text and checks that tags are balanced."""

    VOID = {"br", "hr", "img", "meta", "input"}

    def __init__(self):
        super().__init__()
        self.stack, self.text = [], []

    def handle_starttag(self, tag, attrs):
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, (tag, self.stack)
        self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def text_of(fragment):
    checker = _Checker()
    checker.feed(fragment)
    checker.close()
    assert not checker.stack
    return "".join(checker.text)


def test_summary_html_lists_types_largest_first():
    rows = summary.Summary.from_rows([["int", 10, 280], ["<b>odd</b>", 1, 5000], ["str", 3, 150]], label="mine")
    fragment = rows._repr_html_()
    text = text_of(fragment)
    assert "<b>odd</b>" in text  # escaped in the markup, readable as text
    assert "<b>odd</b>" not in fragment.replace("<b>heap", "")
    assert text.index("<b>odd</b>") < text.index("int") < text.index("str")
    assert "3 types" in text and "'mine'" in text


def test_summary_diff_html_signs_and_order():
    before = summary.Summary.from_rows([["list", 5, 500], ["dict", 2, 400]])
    after = summary.Summary.from_rows([["list", 7, 700], ["dict", 1, 100], ["set", 1, 216]])
    diff = before.diff(after)
    assert diff.kind == "diff"
    text = text_of(diff._repr_html_())
    assert "summary diff" in text
    assert "-1" in text and "+2" in text and "+216 B" in text
    # |-300| before |+216| before |+200|
    assert text.index("dict") < text.index("set") < text.index("list")


def test_summary_html_cuts_long_summaries():
    rows = summary.Summary.from_rows([[f"type{i}", 1, 100 + i] for i in range(50)])
    text = text_of(_html.summary_html(rows, limit=10))
    assert "… 40 more types" in text
    assert "type49" in text and "type0" not in text.replace("type0 ", "")


def test_whole_heap_summary_renders():
    heap = summary.summarize_heap(collect=False)
    text = text_of(heap._repr_html_())
    assert "more types" in text and "heap summary" in text


class Tracked:
    def __init__(self):
        self.payload = list(range(50))


def test_classtracker_stats_html():
    tracker = ClassTracker()
    try:
        tracker.track_class(Tracked, name="tracked<T>")
        keep = [Tracked() for _ in range(5)]
        tracker.create_snapshot("first")
        del keep[:2]
        gc.collect()
        tracker.create_snapshot("second")
        stats = ConsoleStats(tracker=tracker)
        text = text_of(stats._repr_html_())
        assert "tracked<T>" in text
        assert text.index("first") < text.index("second")
        assert "5" in text and "3" in text
        # The one class holds everything tracked (of the process's size it is about 0.0%).
        assert "share of tracked" in text and text.count("100.0%") == 2
        # Times as the text view writes them ("first (12.3 ms)"), not "first (0.012s)".
        assert re.search(r"first \((\d+\.\d ms|\d+\.\d\d s|\d+:\d\d:\d\d)\)", text), text
        del keep
    finally:
        tracker.close()


def test_empty_stats_html():
    assert "no snapshots" in text_of(Stats()._repr_html_())


class Other:
    pass


def test_stats_html_shares_are_of_the_tracked_total():
    tracker = ClassTracker()
    try:
        tracker.track_class(Tracked, name="big")
        tracker.track_class(Other, name="small")
        keep = [Tracked() for _ in range(3)] + [Other()]
        tracker.create_snapshot("mixed")
        stats = ConsoleStats(tracker=tracker)
        snapshot = stats.snapshots[0]
        figures = stats.annotate_snapshot(snapshot)
        text = text_of(stats._repr_html_())
        for name in ("big", "small"):
            share = figures[name]["sum"] * 100.0 / snapshot.tracked_total
            assert f"{share:.1f}%" in text
        del keep
    finally:
        tracker.close()
    # Nothing tracked: a share of nothing, not a division by zero.
    assert _html._share_of_tracked(0, 0) == 0.0


def test_views_use_theme_colours_and_align_their_columns():
    before = summary.Summary.from_rows([["list", 5, 500], ["dict", 2, 400]])
    after = summary.Summary.from_rows([["list", 7, 700], ["dict", 1, 100]])
    fragment = before.diff(after)._repr_html_()
    for colour in ("#eee", "#4c78a8", "#b22", "#272", "#888"):
        # Each hard-coded colour is only the fallback of a theme variable.
        assert f"color:{colour}" not in fragment and f"background:{colour}" not in fragment
    assert "var(--jp-error-color1" in fragment and "var(--jp-success-color1" in fragment
    assert '<td style="padding:1px 8px;text-align:left">list</td>' in fragment
    assert f"<th {_html.NUMBER_CELL}>objects</th>" in fragment and "text-align:right" in _html.NUMBER_CELL


def test_timeline_in_a_notebook_uses_theme_colours_in_scoped_rules():
    import time
    import xml.etree.ElementTree as ET

    from heapscope import Timeline

    pending = Timeline(interval=0.01)
    assert pending._repr_html_().startswith("<pre>&lt;Timeline new")
    with pending as timeline:
        timeline.mark("grow")
        grown = [bytearray(100) for _ in range(1000)]
        time.sleep(0.1)
    del grown
    fragment = timeline._repr_html_()
    root = ET.fromstring(fragment)
    assert root.get("class") == "heapscope-timeline" and root.get("id") is None
    style = root.find("{http://www.w3.org/2000/svg}style").text
    # Every rule is scoped to the chart: a <style> in inline SVG applies to the whole page.
    assert all(rule.startswith(".heapscope-timeline ") for rule in style.split("}") if rule)
    assert "var(--jp-layout-color0, #fff)" in style and 'fill="#fff"' not in fragment
    assert timeline.to_svg().count('fill="#fff"') == 1  # the standalone chart is unchanged
