"""The class-tracker HTML report (``HtmlStats.create_html``): shares of the tracked total,
durations that read well for short runs, and chart ticks on round values."""
import gc
import html as html_module
import io
import json
import math
import re

import pytest

from heapscope.classtracker import ClassTracker
from heapscope.classtracker_stats import HtmlStats, Stats


class Small:
    def __init__(self, n):
        self.text = "x" * (50 + 4000 * n)


class Blob:
    def __init__(self):
        self.blob = bytes(300_000)


class Pair:
    __slots__ = ("a", "b")

    def __init__(self, a, b):
        self.a, self.b = a, b


@pytest.fixture
def tracker():
    t = ClassTracker()
    t.track_class(Small)
    t.track_class(Blob)
    t.track_class(Pair, name="pairs")
    smalls = [Small(i) for i in range(12)]
    blobs = [Blob() for _ in range(4)]
    pairs = [Pair(i, "y" * (2000 * i + 100)) for i in range(6)]
    t.create_snapshot("first")
    blobs += [Blob() for _ in range(6)]
    del smalls[:5], pairs[:2]
    gc.collect()
    t.create_snapshot("second")
    t._keep = (smalls, blobs, pairs)
    yield t
    t.close()


def report(stats, tmp_path, **options):
    path = tmp_path / "report.html"
    stats.create_html(path, **options)
    return path.read_text(encoding="utf-8")


def class_tables(html):
    """``{class name: {snapshot label: (alive, total, average, share)}}`` from the
    per-snapshot table of each class's section."""
    out = {}
    for name, body in re.findall(r'<section id="class-\d+"><h3>(.*?)</h3>(.*?)</section>', html, re.S):
        header = "<th>share of tracked</th></tr>\n"
        assert header in body, body[:2000]
        table = body.split(header, 1)[1].split("</table>", 1)[0]
        rows = re.findall(r'<tr><td>(.*?)</td><td class="n">(\d+)</td><td class="n">(.*?)</td>'
                          r'<td class="n">(.*?)</td><td class="n">([\d.]+)%</td></tr>', table)
        assert rows, table
        out[html_module.unescape(name)] = {
            html_module.unescape(label): (int(alive), total, average, float(share))
            for label, alive, total, average, share in rows}
    return out


def test_shares_are_of_the_tracked_total_and_add_up(tracker, tmp_path):
    stats = HtmlStats(tracker=tracker)
    tables = class_tables(report(stats, tmp_path))
    assert set(tables) == {"test_classtracker_report.Small", "test_classtracker_report.Blob", "pairs"}
    text = str(stats)
    for snapshot in tracker.snapshots:
        figures = stats.annotate_snapshot(snapshot)
        label = [key for key in tables["pairs"] if key.startswith(snapshot.desc + " (")]
        assert len(label) == 1, (snapshot.desc, list(tables["pairs"]))
        shares = {name: rows[label[0]][3] for name, rows in tables.items()}
        # Every tracked object belongs to one class: the shares add up to 100 %.
        assert sum(shares.values()) == pytest.approx(100.0, abs=0.05 * len(shares))
        for name, share in shares.items():
            assert share == pytest.approx(figures[name]["sum"] * 100.0 / snapshot.tracked_total, abs=0.05)
            assert share > 0.0
        # Of the process's virtual size (pympler's pct, kept) the small classes read 0.0 %.
        if snapshot.system_total.available:
            assert figures["pairs"]["pct"] == pytest.approx(
                figures["pairs"]["sum"] * 100.0 / snapshot.system_total.vsz)
    # The text view of the latest snapshot agrees with the report row for row.
    latest = [key for key in tables["pairs"] if key.startswith("second (")][0]
    rows = {line.split()[0]: line.split()[-1] for line in text.split("#1", 1)[1].splitlines()[2:] if line.strip()}
    for name, table in tables.items():
        assert rows[name] == f"{table[latest][3]:.1f}%", (name, rows, table)


def test_shares_of_nothing_tracked_read_0_in_report_and_text(tmp_path):
    tracker = ClassTracker()
    try:
        tracker.track_class(Small)
        small = Small(1)
        del small
        gc.collect()
        tracker.create_snapshot("empty")
        html = report(HtmlStats(tracker=tracker), tmp_path)
        share = class_tables(html)["test_classtracker_report.Small"]
        assert [row[3] for row in share.values()] == [0.0]
        assert "nan" not in html.lower()
        assert str(tracker.stats).splitlines()[-1].split()[-1] == "0.0%"
    finally:
        tracker.close()


def short_run(tracker, snapshot_times, birth=0.0, death=1.0):
    """The tracker's statistics with its snapshots at ``snapshot_times`` seconds, every
    object born at ``birth`` and the dead ones dying at ``death``."""
    doc = json.loads(tracker.stats._core.to_json())
    for snapshot, when in zip(doc["snapshots"], snapshot_times):
        snapshot["timestamp"] = when
    for obj in doc["objects"]:
        obj["birth"] = birth
        if obj["death"] is not None:
            obj["death"] = death
    return HtmlStats(filename=io.BytesIO(json.dumps(doc).encode()))


def test_times_of_a_short_run_read_in_ms_and_s(tracker, tmp_path):
    html = report(short_run(tracker, [0.0123, 1.5], birth=0.004, death=0.99996), tmp_path)
    assert "00:00:0" not in html
    # The snapshot table, the class tables and the lifetime tables.
    assert "<td>12.3 ms</td><td>first</td>" in html and "<td>1.50 s</td><td>second</td>" in html
    assert "first (12.3 ms)" in html and "second (1.50 s)" in html
    assert "<td>4.0 ms</td><td>1.00 s</td>" in html  # born, died (rounded up to a second)
    assert '<td class="n">996.0 ms</td>' in html  # the lifetime of one that died
    assert '<td class="n">&ge; 1.50 s</td>' in html  # alive at the last snapshot
    # No bare seconds anywhere ("0.012s"), and sizes in binary units only.
    text = re.sub(r"<[^>]+>", " ", html)
    assert not re.search(r"\d\.\d+s\b", text), re.findall(r".{20}\d\.\d+s\b", text)[:3]
    assert not re.search(r"\d ?[KMG]B\b", text)


def test_times_over_a_minute_read_as_hours_minutes_seconds(tracker, tmp_path):
    html = report(short_run(tracker, [59.996, 3725.4], birth=50.0, death=80.0), tmp_path)
    assert "<td>0:01:00</td><td>first</td>" in html and "<td>1:02:05</td><td>second</td>" in html
    assert '<td class="n">30.00 s</td>' in html
    # The time axes of a run of an hour tick on round minutes.
    labels = axis_labels(html)[0][1]
    assert labels[0] == "0:00:00" and all(re.fullmatch(r"\d:\d\d:00", label) for label in labels), labels


def chart_texts(html):
    """For each chart, ``(title, [(x, y, anchor, text)])`` of its text elements."""
    out = []
    for svg in re.findall(r"<svg .*?</svg>", html, re.S):
        title = html_module.unescape(re.search(r'aria-label="(.*?)"', svg).group(1))
        texts = [(float(x), float(y), anchor, html_module.unescape(text))
                 for x, y, anchor, text in re.findall(
                     r'<text x="([\d.]+)" y="([\d.]+)" text-anchor="(\w+)">([^<]*)</text>', svg)]
        out.append((title, texts))
    return out


def axis_labels(html):
    """For each chart with data, ``(y labels, x labels)``: the y axis's labels are the
    texts ending left of the plot, the x axis's those on the line under it."""
    out = []
    for _, texts in chart_texts(html):
        if not texts:
            continue
        y_labels = [t for t in texts if t[2] == "end" and t[0] < 100]
        bottom = max(t[1] for t in texts if t[3] != "time since start")
        x_labels = [t for t in texts if t[1] == bottom]
        out.append(([t[3] for t in sorted(y_labels, key=lambda t: -t[1])],
                    [t[3] for t in sorted(x_labels, key=lambda t: t[0])]))
    return out


UNITS = {"B": 1, "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3, "ms": 0.001, "s": 1}


def check_round(labels, what):
    """``labels`` are round, evenly spaced ticks: ``N unit``, N a whole multiple of 1, 2
    or 5 times a power of ten, one unit for the axis, at most 8; returns the values."""
    assert 2 <= len(labels) <= 8, (what, labels)
    parts = [re.fullmatch(r"([\d.]+) ?(\D*)", label) for label in labels]
    assert all(parts), (what, labels)
    units = {part.group(2) for part in parts}
    assert len(units) == 1, (what, labels)
    values = [float(part.group(1)) for part in parts]
    step = values[1] - values[0]
    assert step > 0, (what, labels)
    mantissa = step / 10 ** math.floor(math.log10(step) + 1e-9)
    assert any(abs(mantissa - m) < 1e-6 for m in (1, 2, 5)), (what, labels)
    for k, value in enumerate(values):
        assert value == pytest.approx(values[0] + k * step, abs=step * 1e-6), (what, labels)
        assert abs(value / step - round(value / step)) < 1e-6, (what, labels)
    return values, units.pop()


def test_chart_ticks_fall_on_round_values(tracker, tmp_path):
    stats = HtmlStats(tracker=tracker)
    html = report(stats, tmp_path)
    charts = axis_labels(html)
    assert len(charts) == 2 + 2 * 3
    for y_labels, x_labels in charts:
        values, _ = check_round(y_labels, "y")
        assert values[0] == 0
        check_round(x_labels, "x")
    # The size axis of the tracked memory tops out at or just above its largest point.
    values, unit = check_round(charts[0][0], "tracked")
    largest = max(s.tracked_total for s in tracker.snapshots) / UNITS[unit]
    step = values[1] - values[0]
    assert values[-1] >= largest > values[-1] - step, (charts[0][0], largest)
    assert unit == "MiB"  # about 3 MiB of blobs


def test_ticks_of_a_short_run_are_in_milliseconds(tracker, tmp_path):
    charts = axis_labels(report(short_run(tracker, [0.0123, 0.0301], birth=0.002, death=0.02), tmp_path))
    for _, x_labels in charts:
        values, unit = check_round(x_labels, "x")
        assert unit == "ms" and values[0] <= 2.0 and values[-1] >= 30.1, x_labels


def test_lifetime_tables_stay_capped(tracker, tmp_path):
    html = report(HtmlStats(tracker=tracker), tmp_path, max_instances=4)
    # 12 Small, 10 Blob and 6 pairs tracked: at most 4 rows each, the rest counted.
    assert html.count("<tr><td>0x") == 4 * 3
    for rest in (8, 6, 2):
        assert f"{rest} more instances not shown" in html
    html = report(HtmlStats(tracker=tracker), tmp_path)
    assert html.count("<tr><td>0x") == 12 + 10 + 6 and "more instances" not in html


def test_stats_loaded_from_a_file_report_the_same(tracker, tmp_path):
    path = tmp_path / "stats.json"
    tracker.stats.dump_stats(path)
    assert class_tables(report(HtmlStats(filename=path), tmp_path)) == class_tables(
        report(HtmlStats(tracker=tracker), tmp_path))
    assert Stats(filename=path).format().splitlines()[1:] == tracker.stats.format().splitlines()[1:]
