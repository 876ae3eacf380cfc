"""heapscope.classtracker_stats: console output, sorting, the JSON stats file (round
trip, refusal of anything else), and the HTML report."""
import gc
import io
import json
import os
import pickle
import re

import pytest

from heapscope.classtracker import ClassTracker
from heapscope.classtracker_stats import ConsoleStats, HtmlStats, Stats


class Item:
    def __init__(self, n):
        self.data = ["x" * (10 + k) for k in range(n)]


class Other:
    def __init__(self):
        self.blob = bytes(2000)


class Node:
    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value


@pytest.fixture
def tracker():
    t = ClassTracker()
    t.track_class(Item, resolution_level=1)
    t.track_class(Other)
    t.track_class(Node, name="nodes")
    items = [Item(i % 5) for i in range(20)]
    others = [Other() for _ in range(3)]
    nodes = [Node(i) for i in range(4)]
    t.create_snapshot("start")
    del items[:8], others[0], nodes[:2]
    gc.collect()
    t.create_snapshot("after <del>")
    t._keep = (items, others, nodes)
    yield t
    t.close()


def fingerprint(stats):
    """Everything the statistics say, as plain data."""
    objects = []
    for name, records in sorted(stats.index.items()):
        for t in records:
            sizes = [(ts, s.size, s.flat, [(r.name, r.size) for r in s.refs]) for ts, s in t.snapshots]
            objects.append((name, t.id, t.birth, t.death, t.repr, t.trace, t.get_max_size(), sizes))
    snapshots = []
    for s in stats.snapshots:
        classes = stats.annotate_snapshot(s)
        figures = sorted((k, v["active"], v["sum"], v["avg"], v["pct"], v["merged"].size) for k, v in classes.items())
        system = (s.system_total.available, s.system_total.rss, s.system_total.vsz)
        snapshots.append((s.timestamp, s.desc, s.tracked_total, s.asizeof_total, s.overhead, system, figures))
    return objects, snapshots, stats.tracked_classes, stats.history


# -- console ---------------------------------------------------------------------------------


def test_print_summary_lists_classes_per_snapshot(tracker):
    out = io.StringIO()
    ConsoleStats(tracker=tracker, stream=out).print_summary()
    text = out.getvalue()
    assert text.startswith("---- SUMMARY ")
    assert text.count("test_classtracker_stats.Item") == 2
    assert "start (" in text and "after <del> (" in text
    rows = re.findall(r"^  (\S+)\s+(\d+)\s", text, re.M)
    assert rows == [("nodes", "4"), ("test_classtracker_stats.Item", "20"), ("test_classtracker_stats.Other", "3"),
                    ("nodes", "2"), ("test_classtracker_stats.Item", "12"), ("test_classtracker_stats.Other", "2")]


def test_annotated_figures_add_up(tracker):
    stats = tracker.stats
    snap = tracker.snapshots[1]
    classes = stats.annotate_snapshot(snap)
    assert stats.annotate_snapshot(snap) is classes  # computed once
    total = sum(v["sum"] for v in classes.values())
    assert total == snap.tracked_total
    item = classes["test_classtracker_stats.Item"]
    assert item["avg"] == pytest.approx(item["sum"] / item["active"])
    assert item["pct"] == pytest.approx(item["sum"] * 100.0 / snap.total)
    assert item["merged"].size == item["sum"] and item["merged"].refs


def test_print_stats_prints_objects_in_sorted_order(tracker):
    out = io.StringIO()
    stats = ConsoleStats(tracker=tracker, stream=out)
    stats.print_stats()  # as in pympler, the default limit prints one object
    assert len(re.findall(r"^\S", out.getvalue(), re.M)) == 1
    out.seek(0)
    out.truncate()
    stats.sort_stats("size").print_stats(limit=5)
    heads = re.findall(r"^(\S+)\s", out.getvalue(), re.M)
    assert len(heads) == 5
    sizes = [t.get_max_size() for t in stats.sorted]
    assert sizes == sorted(sizes, reverse=True)
    out.seek(0)
    out.truncate()
    stats.print_stats(clsname="Other", limit=0.5)
    text = out.getvalue()
    assert "Other" in text and "Item" not in text
    assert "finalize" in text  # the dead one shows its death
    out.seek(0)
    out.truncate()
    stats.sort_stats("classname", "birth").print_stats(clsname="Item", limit=1)
    assert "[1]" in out.getvalue()  # referents, with resolution_level=1


@pytest.mark.isolated  # capturing stacks creates frame objects that outlive the test
def test_creation_stacks_are_printed_saved_and_reported(tmp_path):
    tracker = ClassTracker()
    tracker.track_class(Item, trace=True)

    def factory():
        return Item(2)

    item = factory()
    tracker.create_snapshot()
    out = io.StringIO()
    ConsoleStats(tracker=tracker, stream=out).print_stats()
    assert " in factory\n" in out.getvalue() and "    return Item(2)\n" in out.getvalue()
    path = tmp_path / "s.json"
    tracker.stats.dump_stats(path)
    assert Stats(filename=path).index["test_classtracker_stats.Item"][0].trace == tracker.tracked_objects[0].trace
    HtmlStats(tracker=tracker).create_html(tmp_path / "r.html")
    html = (tmp_path / "r.html").read_text()
    assert "created at" in html and "in factory" in html
    assert item


def test_sort_keys(tracker):
    stats = tracker.stats
    births = [t.birth for t in stats.sort_stats("birth").sorted]
    assert births == sorted(births)
    deaths = [t.death for t in stats.sort_stats("death").sorted]
    dead = [d for d in deaths if d is not None]
    assert deaths[:len(dead)] == sorted(dead) and all(d is None for d in deaths[len(dead):])
    names = [t.name for t in stats.sort_stats("name", "size").sorted]
    assert names == sorted(names)
    forward = [t.id for t in stats.sort_stats("repr").sorted]
    assert [t.id for t in stats.reverse_order().sorted] == forward[::-1]
    tsizes = [t.tsize for t in stats.sort_stats("tsize").sorted]
    assert tsizes == sorted(tsizes, reverse=True)
    with pytest.raises(ValueError, match="Invalid sort criteria"):
        stats.sort_stats("bogus")


# -- the stats file --------------------------------------------------------------------------


def test_dump_and_load_round_trip(tracker, tmp_path):
    path = tmp_path / "stats.json"
    tracker.stats.dump_stats(str(path))
    loaded = ConsoleStats(filename=str(path))
    assert fingerprint(loaded) == fingerprint(tracker.stats)
    # The file is the versioned JSON format.
    doc = json.loads(path.read_text())
    assert doc["format"] == "heapscope.classtracker.stats" and doc["version"] == 1
    # Writing what was read gives the same file.
    again = tmp_path / "again.json"
    loaded.dump_stats(again)
    assert again.read_bytes() == path.read_bytes()


def test_dump_and_load_with_file_objects(tracker):
    buffer = io.BytesIO()
    tracker.stats.dump_stats(buffer, close=False)
    buffer.seek(0)
    stats = Stats()
    stats.load_stats(buffer)
    assert fingerprint(stats) == fingerprint(tracker.stats)
    text = io.StringIO()
    tracker.stats.dump_stats(text, close=False)
    text.seek(0)
    assert fingerprint(Stats()) != fingerprint(tracker.stats)
    stats.load_stats(text)
    assert fingerprint(stats) == fingerprint(tracker.stats)


def test_loaded_stats_print_and_render(tracker, tmp_path):
    path = tmp_path / "s.json"
    tracker.stats.dump_stats(path)
    out = io.StringIO()
    loaded = ConsoleStats(filename=path, stream=out)
    loaded.print_summary()
    loaded.sort_stats("size").print_stats(limit=3)
    assert "test_classtracker_stats.Item" in out.getvalue()
    live_html, file_html = tmp_path / "live.html", tmp_path / "file.html"
    HtmlStats(tracker=tracker).create_html(live_html, layout="single")
    HtmlStats(filename=path).create_html(file_html, layout="single")
    assert live_html.read_text() == file_html.read_text()


def test_pymplers_layout_writes_a_page_per_class(tracker, tmp_path):
    HtmlStats(tracker=tracker).create_html(tmp_path / "report.html", title="Run <1>")
    report = (tmp_path / "report.html").read_text()
    pages = {p.name: p.read_text() for p in (tmp_path / "report_files").iterdir()}
    assert sorted(pages) == ["nodes.html", "test_classtracker_stats.Item.html", "test_classtracker_stats.Other.html"]
    for name, page in pages.items():
        assert '<a href="report_files/%s">' % name in report  # relative links, as pympler's
        assert page.startswith("<!DOCTYPE html>") and '<a href="../report.html">Run &lt;1&gt;</a>' in page
        assert page.count("<section") == 1 and "<svg" in page
    assert "<tr><td>0x" in pages["nodes.html"] and "Item" not in pages["nodes.html"]
    # The report itself still holds every section.
    assert report.count("<section") == 3


def test_single_layout_writes_one_file(tracker, tmp_path):
    HtmlStats(tracker=tracker).create_html(tmp_path / "one.html", layout="single")
    assert [p.name for p in tmp_path.iterdir()] == ["one.html"]
    assert "one_files" not in (tmp_path / "one.html").read_text()
    with pytest.raises(ValueError, match='layout must be "pympler" or "single"'):
        HtmlStats(tracker=tracker).create_html(tmp_path / "x.html", layout="pages")


def test_empty_stats():
    stats = ConsoleStats(stream=io.StringIO())
    stats.print_summary()
    stats.print_stats()
    assert stats.index == {} and stats.snapshots == [] and stats.tracked_classes == []


def write(tmp_path, data):
    path = tmp_path / "bad.json"
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    return path


def good_document(tracker):
    return json.loads(tracker.stats._core.to_json())


@pytest.mark.parametrize("content,reason", [
    (b"", "empty"),
    (b"[1, 2, 3]", "not a JSON object"),
    (b'{"format": "heapscope.classtracker.stats", "version": 1, "names": [', "invalid JSON"),
    (b'{"format": "something else", "version": 1}', "format"),
    (b'{"format": "heapscope.classtracker.stats"}', "version"),
    (b'{"format": "heapscope.classtracker.stats", "version": 7, "names": []}', "newer heapscope"),
    (b'{"format": "heapscope.classtracker.stats", "version": 1}', "unexpected content"),
    (b"\xff\xfe\x00garbage", "not a JSON object"),
])
def test_corrupt_files_raise_value_error_with_reason(tmp_path, content, reason):
    with pytest.raises(ValueError, match=reason):
        ConsoleStats(filename=write(tmp_path, content))


def test_broken_references_are_refused(tracker, tmp_path):
    cases = []
    doc = good_document(tracker)
    doc["objects"][0]["name"] = 99
    cases.append((doc, "name 99"))
    doc = good_document(tracker)
    doc["snapshots"][0]["sizes"][0][0] = 10**6
    cases.append((doc, "object 1000000"))
    doc = good_document(tracker)
    doc["snapshots"][1]["trees"][0]["nodes"][1][0] = 5
    cases.append((doc, "bad parent"))
    doc = good_document(tracker)
    doc["snapshots"].reverse()
    cases.append((doc, "older"))
    doc = good_document(tracker)
    doc["objects"][0]["birth"] = "yesterday"
    cases.append((doc, "unexpected content"))
    for doc, reason in cases:
        with pytest.raises(ValueError, match=reason):
            Stats().load_stats(io.BytesIO(json.dumps(doc).encode()))


def test_pympler_pickles_are_refused_without_unpickling(tmp_path):
    pytest.importorskip("pympler")
    from pympler.classtracker import ClassTracker as PymplerTracker

    pt = PymplerTracker()
    pt.track_object(Item(2))
    pt.create_snapshot()
    path = tmp_path / "pympler.dat"
    pt.stats.dump_stats(str(path))
    with pytest.raises(ValueError, match="pickle"):
        Stats(filename=str(path))

    class Boom:
        def __reduce__(self):
            return (os.system, ("echo unpickled > " + str(tmp_path / "ran"),))

    path.write_bytes(pickle.dumps(Boom()))
    with pytest.raises(ValueError, match="pickle"):
        Stats(filename=str(path))
    assert not (tmp_path / "ran").exists()


def test_missing_file_raises_os_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        Stats(filename=str(tmp_path / "nope.json"))


# -- HTML ------------------------------------------------------------------------------------


def test_html_report_is_self_contained_and_names_every_class(tracker, tmp_path):
    path = tmp_path / "report.html"
    HtmlStats(tracker=tracker).create_html(str(path), title="Memory <report>", layout="single")
    html = path.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert "<title>Memory &lt;report&gt;</title>" in html
    for name in ("test_classtracker_stats.Item", "test_classtracker_stats.Other", "nodes"):
        assert name in html
    assert "after &lt;del&gt;" in html and "after <del>" not in html
    # One memory chart and one instances chart per class, plus two overview charts.
    assert html.count("<svg") == 2 + 2 * 3
    assert "<script" not in html and 'src="http' not in html and "<link" not in html
    assert "Referents at snapshot" in html  # merged trees of the detailed class
    assert not os.path.exists(str(path)[:-5] + "_files")


def test_html_lifetime_table_is_bounded(tracker, tmp_path):
    path = tmp_path / "r.html"
    HtmlStats(tracker=tracker).create_html(path, max_instances=3)
    html = path.read_text()
    assert "17 more instances not shown" in html
    with pytest.raises(ValueError):
        HtmlStats(tracker=tracker).create_html(path, max_instances=-1)


def test_html_lifetime_table_shows_50_rows_by_default(tmp_path):
    # Formerly 1000 rows per class: a report of many instances was mostly one table.
    tracker = ClassTracker()
    try:
        tracker.track_class(Node, name="nodes")
        nodes = [Node(i) for i in range(60)]
        tracker.create_snapshot()
        path = tmp_path / "r.html"
        HtmlStats(tracker=tracker).create_html(path)
        html = path.read_text()
        assert html.count("<tr><td>0x") == 50
        assert "10 more instances not shown" in html
        HtmlStats(tracker=tracker).create_html(path, max_instances=None)  # every instance
        html = path.read_text()
        assert html.count("<tr><td>0x") == 60 and "more instances" not in html
        assert nodes
    finally:
        tracker.close()


def test_html_of_an_empty_tracker(tmp_path):
    path = tmp_path / "empty.html"
    HtmlStats(tracker=ClassTracker()).create_html(path)
    html = path.read_text()
    assert "No snapshot was taken" in html and "no data" in html


def test_the_statistics_module_does_not_import_the_tracker():
    import subprocess
    import sys

    program = (
        "import sys, heapscope.classtracker_stats as s\n"
        "assert 'heapscope.classtracker' not in sys.modules, 'imported the tracker'\n"
        "import heapscope.classtracker as c\n"
        "assert c.Snapshot is s.Snapshot and c.TrackedObject is s.TrackedObject\n"
        "assert c.ProcessMemory is s.ProcessMemory and c.ClassTracker().stats.__class__ is s.ConsoleStats\n"
    )
    subprocess.run([sys.executable, "-c", program], check=True)


# -- deep size trees ---------------------------------------------------------------------------

def deep_stats_file(names, sizes):
    """A stats file with one object whose size tree is a chain: node i is the only child
    of node i - 1."""
    import json
    head = {"format": "heapscope.classtracker.stats", "version": 1, "writer": "test", "names": ["Deep"],
            "objects": [{"id": 1, "name": 0, "level": len(names), "birth": 0.0, "death": None,
                         "basicsize": 16, "repr": "<Deep>", "watch": "weakref", "trace": None}],
            "snapshots": [{"timestamp": 1.0, "description": "deep", "tracked_total": sizes[0],
                           "asizeof_total": 0, "overhead": 0,
                           "process": {"available": False, "rss": 0, "vms": 0, "data": 0, "code": 0,
                                       "shared": 0, "stack": 0, "peak_rss": 0, "pagefaults": 0},
                           "sizes": [[0, sizes[0], 16]], "trees": [{"object": 0, "nodes": []}]}]}
    text = json.dumps(head)
    cut = text.index('"nodes": []') + len('"nodes": [')
    nodes = ",".join(json.dumps([None if i == 0 else i - 1, name, size, 16])
                     for i, (name, size) in enumerate(zip(names, sizes)))
    return (text[:cut] + nodes + text[cut:]).encode()


def _expected_line(text, size, total, depth):
    # The console format, written out: the name indented two spaces a level, on one line,
    # cut to 50 characters with "...".
    text = text.replace("\n", "|")
    if len(text) > 50:
        text = text[:47] + "..."
    units = [(1 << 60, "EB"), (1 << 50, "PB"), (1 << 40, "TB"), (1 << 30, "GB"), (1 << 20, "MB"), (1 << 10, "KB")]
    pp = f"{size:4d}     B"
    for factor, unit in units:
        if size > factor:
            pp = f"{size / factor:7.2f} {unit}"
            break
    return f"{text:<50} {pp:<14} {int(size * 100.0 / total):3d}% [{depth}]"


def test_print_stats_of_a_deep_tree_indents_and_cuts_every_level():
    depth = 40
    names = ["<Deep>"] + [f"level {i}" for i in range(1, depth)]
    names[3] = "two\nlines"
    names[5] = "a name much longer than the fifty characters of the column"
    sizes = [1000 * (depth - i) for i in range(depth)]
    out = io.StringIO()
    ConsoleStats(filename=io.BytesIO(deep_stats_file(names, sizes)), stream=out).print_stats()
    lines = out.getvalue().splitlines()
    tree = lines[lines.index(next(line for line in lines if line.startswith("  00:00:01.00"))) + 1:]
    expected = [_expected_line("    " + "  " * (i - 1) + names[i], sizes[i], sizes[0], i) for i in range(1, depth)]
    assert tree == expected
    # Spelled out at the levels where the cut changes what is shown.
    assert tree[2].startswith("        two|lines ")
    assert tree[4].startswith("            a name much longer than the fifty c... ")
    assert tree[20].startswith(" " * 44 + "lev... ")
    assert tree[30].startswith(" " * 47 + "... ")


def test_print_stats_of_a_very_deep_tree_takes_linear_time():
    # Formerly every line built its whole indent, two characters a level: quadratic in
    # the depth (a million levels took 83 s, 600,000 over 20 s). Now about 3 s. The test
    # compares the processor time of two depths eight times apart, which a loaded
    # machine or a debug interpreter slows alike: linear time takes about 8 times as
    # long, the quadratic one about 50 times.
    import inspect

    from catalog import run_isolated

    program = inspect.getsource(deep_stats_file) + r'''
import io, json, time
from heapscope.classtracker_stats import ConsoleStats

class Sink:
    lines = 0
    def write(self, text):
        self.lines += text.count("\n")

def print_stats_of(depth):
    data = deep_stats_file([f"n{i}" for i in range(depth)], [16 * (depth - i) for i in range(depth)])
    sink = Sink()
    began = time.process_time()
    ConsoleStats(filename=io.BytesIO(data), stream=sink).print_stats()
    return time.process_time() - began, sink.lines

small, _ = print_stats_of(75_000)
large, lines = print_stats_of(600_000)
print(json.dumps({"small": small, "large": large, "lines": lines}))
'''
    out = run_isolated(program, timeout=600)
    result = json.loads(out.strip().splitlines()[-1])
    assert result["large"] < 20 * max(result["small"], 0.01), result
    # The object's line, its sizes at birth and at the snapshot, then every node above
    # 0.1% of the total.
    assert result["lines"] == 3 + 599_399


# -- text at the prompt ------------------------------------------------------------------------


def test_durations_read_in_milliseconds_seconds_then_hours(tracker):
    from heapscope.classtracker_stats import _duration

    # A short run: snapshots 12.3 ms and 1.5 s after the start, not "00:00:00.01".
    doc = good_document(tracker)
    doc["snapshots"][0]["timestamp"], doc["snapshots"][1]["timestamp"] = 0.0123, 1.5
    for obj in doc["objects"]:
        obj["birth"] = 0.0
        if obj["death"] is not None:
            obj["death"] = 1.0
    text = str(Stats(filename=io.BytesIO(json.dumps(doc).encode())))
    assert "#0 start, at 12.3 ms:" in text and "#1 after <del>, at 1.50 s:" in text

    assert _duration(None) == ""
    assert _duration(0.0) == "0.0 ms"
    assert _duration(0.0123) == "12.3 ms"
    assert _duration(0.9994) == "999.4 ms"
    assert _duration(0.99996) == "1.00 s"  # rounded up: not "1000.0 ms"
    assert _duration(1.234) == "1.23 s"
    assert _duration(59.996) == "0:01:00"
    assert _duration(3725.4) == "1:02:05"
    assert _duration(-1.0) == "0.0 ms"


def many_classes_tracker(count):
    """A tracker of ``count`` classes, the i-th with 3 instances of about 100 * i bytes."""
    tracker = ClassTracker()
    classes = [type(f"Many{i:02d}", (), {"__init__": lambda self, i=i: setattr(self, "s", "x" * (100 * i))})
               for i in range(count)]
    for cls in classes:
        tracker.track_class(cls)
    tracker._keep = [cls() for cls in classes for _ in range(3)]
    return tracker


def test_str_is_a_bounded_table_per_snapshot():
    tracker = many_classes_tracker(20)
    try:
        tracker.create_snapshot("loaded")
        stats = tracker.stats
        text = str(stats)
        lines = text.splitlines()
        assert lines[0] == "ConsoleStats: 1 snapshot, 20 tracked classes"
        # The snapshot's time since heapscope.classtracker was imported: "812.5 ms", "2.31 s" or "0:02:12".
        assert re.match(r"#0 loaded, at ([\d.]+ m?s|\d+:\d\d:\d\d): [\d.]+ KiB tracked$", lines[1]), lines[1]
        assert "share of tracked" in lines[2]
        rows = [line.split() for line in lines[3:] if "Many" in line]
        # The 15 largest, largest first, then a line for the other five.
        assert [row[0] for row in rows] == [f"test_classtracker_stats.Many{i:02d}" for i in range(19, 4, -1)]
        assert "  … 5 more classes" in lines
        assert all(row[1] == "3" for row in rows)
        assert all(row[3] in ("B", "KiB") for row in rows)
        # Shares of the tracked total, none 0 (of the process's virtual size they round to 0.0).
        shares = [float(row[-1].rstrip("%")) for row in rows]
        assert all(share > 0.5 for share in shares) and shares == sorted(shares, reverse=True)
        figures = stats.annotate_snapshot(tracker.snapshots[0])
        total = tracker.snapshots[0].tracked_total
        assert shares[0] == pytest.approx(figures[rows[0][0]]["sum"] * 100.0 / total, abs=0.05)
        assert stats.format(limit=20).count("Many") == 20
        with pytest.raises(ValueError):
            stats.format(limit=-1)
    finally:
        tracker.close()


def test_str_shows_the_latest_snapshots():
    tracker = many_classes_tracker(2)
    try:
        for k in range(8):
            tracker.create_snapshot(f"snap {k}")
        text = str(tracker.stats)
        assert "… 3 earlier snapshots" in text
        assert [line.split(",")[0] for line in text.splitlines() if line.startswith("#")] == [
            f"#{k} snap {k}" for k in range(3, 8)]
        assert tracker.stats.format(snapshots=8).count("\n#") == 8
    finally:
        tracker.close()


def test_repr_is_one_line_and_ipython_shows_the_table():
    from IPython.lib.pretty import pretty

    tracker = many_classes_tracker(20)
    try:
        tracker.create_snapshot()
        stats = tracker.stats
        assert repr(stats) == "<ConsoleStats: 1 snapshot, 20 tracked classes>"
        assert pretty(stats) == str(stats)
        assert len(pretty(stats).splitlines()) == 1 + 1 + 1 + 15 + 1 + 1
        assert pretty([stats, stats]).count("… 5 more classes") == 2
        assert str(Stats()) == "Stats: 0 snapshots, 0 tracked classes\n  no snapshot taken (create_snapshot() takes one)"
    finally:
        tracker.close()


def test_printed_summary_keeps_pympler_text(tracker):
    # str() is heapscope's own view; print_summary keeps pympler's columns and units.
    out = io.StringIO()
    ConsoleStats(tracker=tracker, stream=out).print_summary()
    text = out.getvalue()
    assert "share of tracked" not in text and "KiB" not in text
    assert re.search(r" active +[\d.]+ (B|KB|MB) +average +pct$", text, re.M)
