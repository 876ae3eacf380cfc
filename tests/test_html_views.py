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
