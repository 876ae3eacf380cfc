"""heapscope.Timeline, its JSON file, its charts and ``run --timeline`` / ``plot``."""

import json
import os
import subprocess
import sys
import textwrap
import time

import pytest
from catalog import chromium_binary, run_isolated

import heapscope
from heapscope.timeline import MAX_FILE_BYTES, Timeline, TimelineError, load_timeline, loads_timeline

pytestmark = pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="a timeline reads Linux's /proc")

# Three phases, each allocating about 30 MB of one type in 10,000 objects without
# references, then running bytecodes for a while. The heap stays small, so that its
# summaries are quick even in a debug build, and the summaries may take half the run:
# scheduled ones land inside every phase. Every byte is written: bytes(3000) comes
# from calloc(), whose fresh pages need not be resident.
THREE_PHASES = textwrap.dedent("""
    import time
    from heapscope.timeline import mark

    def busy(seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            sum(range(1000))

    mark("bytes")
    blobs = [i.to_bytes(3, "little") * 1000 for i in range(10_000)]
    busy(2.0)
    mark("bytearrays")
    buffers = [bytearray(3000) for _ in range(10_000)]
    busy(2.0)
    mark("texts")
    texts = [("%05d" % i) * 600 for i in range(10_000)]
    busy(2.0)
""")


def heapscope_cli(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "heapscope", *args], capture_output=True, text=True, cwd=cwd, timeout=180
    )


@pytest.fixture(scope="module")
def three_phases(tmp_path_factory):
    """``run --timeline`` of the three-phase script: (result, timeline, folder)."""
    folder = tmp_path_factory.mktemp("timeline")
    script = folder / "phases.py"
    script.write_text(THREE_PHASES)
    result = heapscope_cli(
        "run", "--timeline", "--interval", "0.02", "--summary-share", "0.5",
        "-o", "phases.json", "--plot", "phases.html", str(script),
        cwd=folder,
    )
    assert result.returncode == 0, result.stderr
    return result, load_timeline(folder / "phases.json"), folder


def test_three_phases_show_three_steps(three_phases):
    _, timeline, _ = three_phases
    phases = timeline.phases()
    assert [name for name, _, _ in phases] == ["bytes", "bytearrays", "texts"]

    def rss_at_end(start, end):
        inside = [b for t, b in zip(timeline.times, timeline.rss) if start <= t <= end]
        assert len(inside) > 10, "too few samples in a phase"
        return inside[-1]

    before = [b for t, b in zip(timeline.times, timeline.rss) if t < phases[0][1]]
    levels = [before[-1] if before else timeline.rss[0]] + [rss_at_end(start, end) for _, start, end in phases]
    steps = [later - earlier for earlier, later in zip(levels, levels[1:])]
    # Each phase adds 30 MB; freed pages that the allocator reuses may hide some of it.
    assert all(step > 15 << 20 for step in steps), steps


def test_the_right_type_grows_in_each_phase(three_phases):
    _, timeline, _ = three_phases
    expected = {"bytes": "bytes", "bytearrays": "bytearray", "texts": "str"}
    for name, start, end in timeline.phases():
        before = [s for s in timeline.summaries if s.at <= start]
        inside = [s for s in timeline.summaries if start < s.at <= end]
        assert before and inside, f"no summary before or inside phase {name!r}"
        growth = {
            type_name: inside[-1].size_of(type_name) - before[-1].size_of(type_name)
            for type_name, _, _ in inside[-1].types
        }
        grown = max(growth, key=growth.get)
        assert grown == expected[name], (name, sorted(growth.items(), key=lambda kv: -kv[1])[:3])


def test_summaries_record_the_running_function(three_phases):
    _, timeline, _ = three_phases
    functions = [s.function for s in timeline.summaries]
    assert functions[0] == "start" and functions[-1] == "end"
    assert any(f.startswith("busy (phases.py:") for f in functions), functions


def test_cli_prints_phases_and_overhead(three_phases):
    result, timeline, folder = three_phases
    out = result.stdout
    assert "phase 'bytes'" in out and "timeline overhead:" in out
    assert "timeline saved to phases.json" in out and (folder / "phases.html").is_file()
    overhead = timeline.overhead
    assert 0 < overhead["fraction"] < 0.6, overhead
    assert overhead["summaries"] == len(timeline.summaries)


def test_overhead_stays_near_its_share_on_a_long_run():
    # In a fresh interpreter, whose heap is small enough for summaries of a few
    # milliseconds: several are scheduled in a few seconds, and all of them, the first and
    # the last included, stay within about 5 % of the run.
    out = run_isolated("""
        import json, time
        from heapscope.timeline import Timeline
        timeline = Timeline(interval=0.01, min_gap=0.05)
        keep = [list(range(50)) for _ in range(2_000)]
        with timeline:
            end = time.monotonic() + 6
            while time.monotonic() < end:
                sum(range(1000))
        took = [s.took for s in timeline.summaries]
        print(json.dumps({"took": took, "duration": timeline.duration, "overhead": timeline.overhead}))
    """)
    result = json.loads(out.strip().splitlines()[-1])
    took, overhead = result["took"], result["overhead"]
    assert len(took) >= 3, result
    assert overhead["fraction"] < 0.065, result


def test_a_short_run_on_a_large_heap_keeps_the_overhead_near_its_share():
    # A few seconds on a heap whose summaries are far from free: the schedule leaves room
    # for the last summary, so the run's overhead stays near 5 % instead of the first, the
    # last and a few scheduled ones each adding theirs.
    out = run_isolated("""
        import json, time
        from heapscope.timeline import Timeline, mark
        with Timeline(interval=0.05) as timeline:
            rows = [(str(i), float(i)) for i in range(300_000)]
            mark("index")
            table = dict(rows)
            end = time.monotonic() + 3
            while time.monotonic() < end:
                sum(range(1000))
        took = [s.took for s in timeline.summaries]
        print(json.dumps({"took": took, "duration": timeline.duration, "overhead": timeline.overhead}))
    """)
    result = json.loads(out.strip().splitlines()[-1])
    took, duration, overhead = result["took"], result["duration"], result["overhead"]
    # The last summary is taken whatever it costs; the ones before it leave room for it.
    assert sum(took[:-1]) / duration < 0.06, result
    assert overhead["fraction"] < 0.065 + took[-1] / duration, result


def test_json_round_trips_exactly(three_phases, tmp_path):
    _, timeline, folder = three_phases
    again = tmp_path / "again.json"
    timeline.save(again)
    assert (folder / "phases.json").read_bytes() == again.read_bytes()
    assert load_timeline(again) == timeline


def test_a_live_timeline_round_trips(tmp_path):
    with Timeline(interval=0.01) as timeline:
        timeline.mark("one")
        data = [bytearray(100) for _ in range(1000)]
        time.sleep(0.1)
    del data
    path = tmp_path / "t.json"
    timeline.save(path)
    loaded = heapscope.load_timeline(path)
    assert loaded == timeline
    assert loaded.times == timeline.times and loaded.rss == timeline.rss
    assert loaded.summaries == timeline.summaries and loaded.marks == timeline.marks
    assert len(timeline.times) >= 5


def _valid(tmp_path):
    with Timeline(interval=0.01) as timeline:
        time.sleep(0.05)
    return timeline.to_dict()


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: d.update(format="something-else"), "not a heapscope timeline"),
        (lambda d: d.update(version=2), "format version 2; this heapscope reads version 1"),
        (lambda d: d.update(version="1"), "format version '1'"),
        (lambda d: d["samples"]["t"].append(1.0), "differ in length"),
        (lambda d: d["samples"].update(rss=[-1] * len(d["samples"]["t"])), "not a byte or object count"),
        (lambda d: d.update(duration="long"), "duration is not a number of seconds"),
        (lambda d: d["summaries"].append({"t": 1, "function": "f", "took": 0, "types": [["x", 1]]}), "not [name, count, size]"),
        (lambda d: d.update(marks=[{"t": 0, "name": "x" * 5000}]), "at most 1000 characters"),
        (lambda d: d.update(marks={"t": 0}), "marks is not a list"),
        (lambda d: d["overhead"].update(extra=1), "unknown overhead figures"),
        (lambda d: d["summaries"].extend([{"t": 0, "function": "f", "took": 0, "types": []}] * 1001), "more than the 1000"),
    ],
    ids=["foreign", "newer", "version as text", "lengths", "negative size", "duration", "short row",
         "long name", "marks object", "extra overhead", "too many summaries"],
)
def test_crafted_files_are_rejected(tmp_path, change, message):
    data = _valid(tmp_path)
    change(data)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(TimelineError, match="timeline") as info:
        load_timeline(path)
    assert message in str(info.value)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    "text, message",
    [
        ('{"format": "heapscope-timeline", "version": 1', "not valid JSON, or cut short"),
        ("[" * 100_000 + "]" * 100_000, "heapscope timeline"),
        ('{"format": "heapscope-timeline", "version": 1, "interval": NaN}', "not valid JSON"),
        ("[]", "the file is not an object"),
        ("", "not valid JSON"),
    ],
    ids=["cut short", "deep nesting", "NaN", "a list", "empty"],
)
def test_malformed_text_is_rejected(text, message):
    with pytest.raises(TimelineError) as info:
        loads_timeline(text)
    assert message in str(info.value)


def test_a_huge_file_is_refused_unread(tmp_path):
    path = tmp_path / "huge.json"
    with open(path, "wb") as file:
        file.truncate(MAX_FILE_BYTES + 10)
    with pytest.raises(TimelineError, match="larger than the 64 MiB"):
        load_timeline(path)


def test_misuse_says_what_to_do():
    timeline = Timeline()
    with pytest.raises(RuntimeError, match="inside `with Timeline"):
        timeline.mark("early")
    with pytest.raises(RuntimeError, match="once stopped"):
        timeline.to_svg()
    with timeline:
        pass
    with pytest.raises(RuntimeError, match="create a new Timeline"):
        timeline.start()
    with pytest.raises(ValueError, match="interval must be between"):
        Timeline(interval=0)
    with pytest.raises(TypeError, match="number of seconds"):
        Timeline(interval="fast")
    for share in (0, -0.1, 0.6, float("nan")):
        with pytest.raises(ValueError, match="share must be above 0 and at most 0.5"):
            Timeline(share=share)
    with pytest.raises(TypeError, match="fraction of the run"):
        Timeline(share="5%")


def test_cli_refuses_a_bad_summary_share(tmp_path):
    script = tmp_path / "nothing.py"
    script.write_text("pass\n")
    result = heapscope_cli("run", "--timeline", "--summary-share", "2", str(script))
    assert result.returncode == 2 and "--summary-share: share must be above 0 and at most 0.5" in result.stderr
    result = heapscope_cli("run", "--summary-share", "0.1", str(script))
    assert result.returncode == 2 and "go with --timeline" in result.stderr


def test_the_report_is_bounded():
    with Timeline(interval=0.01, summaries=False) as timeline:
        for i in range(100):
            timeline.mark(f"step {i}")
        time.sleep(0.05)
    report = timeline.report()
    assert len(report.splitlines()) == 1 + 20 + 1 + 1
    assert "... and 80 more phases (see the chart)" in report
    assert timeline.summaries == [] and timeline.overhead["summaries"] == 0


def test_module_mark_is_quiet_without_a_timeline():
    heapscope.timeline.mark("nothing runs")  # no error, nothing recorded


def test_svg_is_well_formed_and_escapes_names(three_phases):
    import xml.etree.ElementTree as ET

    _, timeline, _ = three_phases
    timeline.marks.append((0.5, "<b>&'\""))
    try:
        root = ET.fromstring(timeline.to_svg())
    finally:
        timeline.marks.pop()
    assert root.tag.endswith("svg")
    texts = [el.text for el in root.iter() if el.tag.endswith("text")]
    assert "<b>&'\"" in texts and "resident memory (RSS)" in texts
    assert len([el for el in root.iter() if el.tag.endswith("polygon")]) == len(timeline.top_types(8))


def test_chart_paths(three_phases, tmp_path):
    _, timeline, folder = three_phases
    with pytest.raises(ValueError, match="write .svg"):
        timeline.plot(tmp_path / "chart.png")
    result = heapscope_cli("plot", str(folder / "phases.json"), "-o", str(tmp_path / "chart.svg"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "chart.svg").read_text().startswith("<svg")
    result = heapscope_cli("plot", str(folder / "phases.json"), "-o", str(tmp_path / "chart.png"))
    assert result.returncode == 2 and "write .svg or .html instead" in result.stderr
    (tmp_path / "bad.json").write_text('{"format": "heapscope-timeline", "version": 9}')
    result = heapscope_cli("plot", str(tmp_path / "bad.json"))
    assert result.returncode == 2 and "format version 9" in result.stderr
    result = heapscope_cli("run", "--plot", "x.svg", str(folder / "phases.py"))
    assert result.returncode == 2 and "go with --timeline" in result.stderr


def test_html_chart_renders_in_headless_chromium(three_phases, tmp_path):
    chromium = chromium_binary()
    if chromium is None:
        pytest.skip("no chromium binary found (apt-get install chromium) to render the HTML chart")
    _, _, folder = three_phases
    page = folder / "phases.html"
    html = page.read_text()
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "") and "https://" not in html
    # The page reports its script errors, and what hovering shows, into the DOM that
    # --dump-dom prints; the hover is a synthetic mousemove over the middle of the chart.
    probe = page.with_name("probe.html")
    probe.write_text(html.replace(
        "<script>",
        "<script>window.__errors=[];window.addEventListener('error',function(e){window.__errors.push(e.message)});"
        "</script><script>",
        1,
    ).replace(
        "</body>",
        "<script>setTimeout(function(){var s=document.getElementById('chart'),b=s.getBoundingClientRect();"
        "s.dispatchEvent(new MouseEvent('mousemove',{clientX:b.left+b.width*0.45,clientY:b.top+b.height/2,"
        "bubbles:true}));var o=document.createElement('pre');o.id='probe';o.textContent=JSON.stringify("
        "{errors:window.__errors,tip:document.getElementById('tip').textContent});document.body.appendChild(o)},50)"
        "</script></body>",
    ))
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
             "--user-data-dir=" + str(tmp_path / "profile")]
    dom = subprocess.run(
        [chromium, *flags, "--virtual-time-budget=2000", "--dump-dom", probe.as_uri()],
        capture_output=True, text=True, timeout=120,
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    report = json.loads(dom.stdout.split('<pre id="probe">', 1)[1].split("</pre>", 1)[0].replace("&amp;", "&"))
    assert report["errors"] == []
    assert "RSS" in report["tip"] and "phase:" in report["tip"]
    shot = tmp_path / "chart.png"
    subprocess.run(
        [chromium, *flags, "--window-size=1000,620", "--screenshot=" + str(shot), page.as_uri()],
        capture_output=True, text=True, timeout=120,
    )
    assert shot.is_file() and shot.stat().st_size > 10_000
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_snapshot_of_a_running_timeline():
    timeline = heapscope.Timeline(interval=0.01, summaries=False)
    with pytest.raises(RuntimeError, match="not started"):
        timeline.snapshot()
    timeline.start()
    try:
        time.sleep(0.1)
        first = timeline.snapshot()
        assert first is not timeline and len(first.rss) >= 2 and first.duration > 0
        assert "<svg" in first.to_svg() and first.to_dict()["samples"]["rss"] == first.rss
        time.sleep(0.1)
        assert len(timeline.snapshot().rss) > len(first.rss)  # the timeline goes on
        with pytest.raises(RuntimeError, match="once stopped"):
            timeline.to_svg()
    finally:
        timeline.stop()
    assert timeline.snapshot() is timeline
