"""Progress displays of long calls (heapscope._progress).

Each test runs in a fresh interpreter whose ``sys.stderr`` is a ``StringIO`` (a terminal
when the test says so), printed back on stdout. ``HEAPSCOPE_PROGRESS_FORCE=plain``, the
private hook for these tests, forces the plain display with no delay; without it, the
display's delay is set to 0 through ``Display.delay``, so that short calls report too.
"""
from catalog import run_isolated

PRELUDE = """
import io, os, sys
from heapscope import _progress, asizeof
from heapscope.mprofile import MProfiler

class Terminal(io.StringIO):
    def isatty(self):
        return True

heap = [[i, "s%d" % i, (i, i + 1.5)] for i in range(400_000)]
expected = asizeof.asizeof(heap, progress=False)
captured = sys.stderr = {stream}

def done(label):
    out = captured.getvalue()
    captured.seek(0)
    captured.truncate()
    print("BEGIN", label)
    print(out.replace("\\r", "<CR>"))
    print("END", label)
"""


def _sections(out):
    """{label: what the child's stderr received during that part}."""
    found, label, lines = {}, None, []
    for line in out.splitlines():
        if line.startswith("BEGIN "):
            label, lines = line[6:], []
        elif line.startswith("END "):
            found[label] = "\n".join(lines)
            label = None
        elif label is not None:
            lines.append(line)
    return found


def _child(code, stream="io.StringIO()", force=True):
    prelude = PRELUDE.format(stream=stream)
    if force:
        prelude = "import os\nos.environ['HEAPSCOPE_PROGRESS_FORCE'] = 'plain'\n" + prelude
    return _sections(run_isolated(prelude + code, timeout=300))


def test_long_calls_report_counts_and_give_the_same_results():
    shown = _child("""
assert asizeof.asizeof(heap) == expected
done("asizeof")
assert asizeof.asizeof(heap, limit=50) == expected  # the ordered walk
done("ordered")
assert asizeof.Asizer().asizeof(heap) == expected
done("Asizer")
assert asizeof.asized(heap).size == expected
done("asized")
assert asizeof.asizesof(heap) == (expected,)
done("asizesof")
profiler = MProfiler(events=("c_call",)).run(lambda: [len(heap) for _ in range(5)])
assert sum(calls for calls, *_ in profiler.memories.values()) >= 5
done("MProfiler")
""")
    for label, name in [("asizeof", "asizeof"), ("ordered", "asizeof"), ("Asizer", "asizeof"),
                        ("asized", "asized"), ("asizesof", "asizesof")]:
        text = shown[label]
        assert text.startswith("<CR>heapscope: %s 65,536 objects, " % name), (label, text)
        assert text.rstrip().endswith(" s"), (label, text)
    assert shown["MProfiler"].startswith("<CR>heapscope: MProfiler.run 1 events, "), shown["MProfiler"]


def test_progress_false_shows_nothing():
    shown = _child("""
assert asizeof.asizeof(heap, progress=False) == expected
assert asizeof.asizeof(heap, limit=50, progress=False) == expected
assert asizeof.Asizer().asizeof(heap, progress=False) == expected
assert asizeof.asized(heap, progress=False).size == expected
assert asizeof.asizesof(heap, progress=False) == (expected,)
MProfiler(events=("c_call",)).run(lambda: [len(heap) for _ in range(5)], progress=False)
done("off")
""")
    assert shown["off"] == ""


def test_a_terminal_shows_progress_and_anything_else_nothing():
    # Not forced: the display is chosen as for a user, with no delay.
    code = """
_progress.Display.delay = 0.0
assert asizeof.asizeof(heap) == expected
MProfiler(events=("c_call",)).run(lambda: [len(heap) for _ in range(3)])
done("default")
sys.modules["tqdm.auto"] = None  # tqdm not installed: the plain line
assert asizeof.asizeof(heap) == expected
done("plain")
"""
    piped = _child(code, force=False)
    assert piped == {"default": "", "plain": ""}
    terminal = _child(code, stream="Terminal()", force=False)
    assert terminal["plain"].startswith("<CR>heapscope: asizeof 65,536 objects, "), terminal["plain"]
    try:
        import tqdm  # noqa: F401
    except ImportError:
        # Without tqdm the default display is the plain line, for both calls.
        assert terminal["default"].startswith("<CR>heapscope: asizeof 65,536 objects, "), terminal["default"]
        assert "<CR>heapscope: MProfiler.run " in terminal["default"], terminal["default"]
    else:
        assert "heapscope: asizeof" in terminal["default"], terminal["default"]
        assert "heapscope: MProfiler.run" in terminal["default"], terminal["default"]


def test_a_callback_raising_keyboard_interrupt_stops_the_call_cleanly():
    # The error leaves the call as a Ctrl-C would: the next calls give the same figure,
    # and MProfiler.run puts the previous profile hook back.
    out = run_isolated("""
import os, sys, io
os.environ['HEAPSCOPE_PROGRESS_FORCE'] = 'plain'
sys.stderr = io.StringIO()
from heapscope import _progress, asizeof
from heapscope.mprofile import MProfiler

def stop(self, done, total=None):
    raise KeyboardInterrupt

_progress._Plain.__call__ = stop
heap = [[i, "s%d" % i, (i, i + 1.5)] for i in range(400_000)]
expected = asizeof.asizeof(heap, progress=False)
for name, call in [("asizeof", lambda: asizeof.asizeof(heap)),
                   ("ordered", lambda: asizeof.asizeof(heap, limit=50)),
                   ("Asizer", lambda: asizeof.Asizer().asizeof(heap)),
                   ("asized", lambda: asizeof.asized(heap, detail=1))]:
    try:
        call()
    except KeyboardInterrupt:
        print("stopped", name)
    assert asizeof.asizeof(heap, progress=False) == expected, name
previous = lambda frame, event, arg: None
sys.setprofile(previous)
try:
    MProfiler(events=("c_call",)).run(lambda: [len(heap) for _ in range(5)])
except KeyboardInterrupt:
    print("stopped MProfiler", sys.getprofile() is previous)
sys.setprofile(None)
""", timeout=300)
    assert out.splitlines() == ["stopped asizeof", "stopped ordered", "stopped Asizer", "stopped asized",
                                "stopped MProfiler True"]


def test_reports_that_run_python_code_leave_the_walk_exact():
    # Each report runs for longer than the time between two, so the walk is woken at
    # every poll: the objects in flight are held, released at the next report, and the
    # display's own garbage is collected meanwhile; the figures stay exact.
    out = run_isolated("""
import gc, os, sys, io, time
os.environ['HEAPSCOPE_PROGRESS_FORCE'] = 'plain'
sys.stderr = io.StringIO()
from heapscope import _progress, asizeof

reports = []
def slow(self, done, total=None):
    reports.append(done)
    junk = [[i] for i in range(10_000)]
    del junk
    gc.collect()
    time.sleep(0.26 if len(reports) < 6 else 0)

_progress._Plain.__call__ = slow
heap = [[i, "s%d" % i, (i, i + 1.5)] for i in range(400_000)]
expected = asizeof.asizeof(heap, progress=False)
for call in [lambda: asizeof.asizeof(heap), lambda: asizeof.asizeof(heap, limit=50),
             lambda: asizeof.asized(heap).size]:
    reports.clear()
    assert call() == expected
    assert len(reports) >= 3 and reports == sorted(reports), reports
print("exact")
""", timeout=300)
    assert out.split() == ["exact"]


_HEAP_PASSES = """
import os, subprocess, sys
os.environ["HEAPSCOPE_PROGRESS_FORCE"] = "plain"
import heapscope
from heapscope import muppy, summary, tracker

heap = [[i, "s%d" % i, (i, i + 1.5)] for i in range(300_000)]

def part(label):
    print("<%s>" % label, file=sys.stderr, flush=True)

quiet_tracker = tracker.SummaryTracker(progress=False)
summary.summarize_heap(); part("summarize_heap")
muppy.get_objects(); part("get_objects")
reporting = tracker.SummaryTracker()
changes = reporting.diff(); part("SummaryTracker")
assert changes == [], changes  # the display is none of the heap's objects
expected = heapscope.retained_size(heap, progress=False); part("quiet")
assert heapscope.retained_size(heap) == expected; part("retained_size")
heapscope.retained_top(3, deep=False); part("retained_top")
heapscope.retained_by_type(3, deep=False); part("retained_by_type")
heapscope.dominator_tree(); part("dominator_tree")
heapscope.leak_suspects(); part("leak_suspects")
summary.summarize_heap(progress=False); muppy.get_objects(progress=False)
heapscope.leak_suspects(progress=False); quiet_tracker.diff(); part("quiet again")
"""


def _stderr_parts(code, env=None):
    """{label: what the child wrote to its file descriptor 2 before that label}."""
    import os
    import subprocess
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    env = dict(os.environ, **(env or {}))
    env["PYTHONPATH"] = here + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")[-3000:]
    parts, text = {}, proc.stderr.decode()
    while "<" in text:
        before, _, rest = text.partition("<")
        label, _, text = rest.partition(">\n")
        parts[label] = before
    return parts


def test_heap_passes_write_their_line_themselves():
    # The walks over the collector's lists cannot run Python code: the line on
    # descriptor 2 is written from Rust, the count ends with the unit and the time, and
    # a newline ends it when the call returns.
    parts = _stderr_parts(_HEAP_PASSES)
    for label, unit in [("summarize_heap", "objects"), ("get_objects", "objects"), ("SummaryTracker", "objects"),
                        ("retained_size", "steps"), ("retained_top", "steps"), ("retained_by_type", "steps"),
                        ("dominator_tree", "steps"), ("leak_suspects", "steps")]:
        text = parts[label]
        assert text.startswith("\rheapscope: %s 65,536 %s, " % (label, unit)), (label, text)
        # The tracker took two summaries: when made, and for its diff.
        lines = 2 if label == "SummaryTracker" else 1
        assert text.endswith(" s\n") and text.count("\n") == lines, (label, text)
    assert parts["quiet"] == "" and parts["quiet again"] == "", parts


def test_heap_passes_show_nothing_off_a_terminal():
    # Not forced, and descriptor 2 is a pipe: no line, and no display at all.
    parts = _stderr_parts(_HEAP_PASSES.replace('os.environ["HEAPSCOPE_PROGRESS_FORCE"] = "plain"', ""),
                          env={"HEAPSCOPE_PROGRESS_FORCE": ""})
    assert set(parts.values()) == {""}, parts


def test_a_display_without_a_line_reports_only_where_python_code_may_run():
    # In a notebook the display has no line: the census passes stay silent, the parts
    # of a retained-size computation that run Python code (sizing what `__sizeof__`
    # must size, deep sizes) report through the display.
    out = run_isolated("""
import heapscope
from heapscope import summary, _progress

class Recorder(_progress.Display):
    delay = 0.0
    calls = []
    def __call__(self, done, total=None):
        Recorder.calls.append(done)

heap = [[i, "s%d" % i] for i in range(300_000)]
_progress.make = lambda label, progress=True, unit="objects": Recorder(label, unit) if progress else None
summary.summarize_heap()
print("census", len(Recorder.calls))
Recorder.calls.clear()
heapscope.retained_top(2, deep=True)
print("retained", len(Recorder.calls) > 0)
# Without deep sizes too: the graph's traversal reports (it holds every object, so the
# display's Python code may run between two of them; the collector is paused then),
# and the answer stays the quiet one.
import gc
expected = heapscope.retained_size(heap, progress=False)
Recorder.calls.clear()
Recorder.__call__ = lambda self, done, total=None: Recorder.calls.append(gc.isenabled())
same = heapscope.retained_size(heap) == expected
print("same", same, "while building", False in Recorder.calls)
""", timeout=300)
    assert "census 0" in out and "retained True" in out and "same True while building True" in out, out
