"""heapscope.process.memory_breakdown(): where the resident memory goes, and its views
(``python -m heapscope memory``; the section of ``%memtop`` is tested in
test_magics.py). Cases that need a fresh
interpreter (another allocator, tracemalloc from the start, 500 MB) run in a child
process with a timeout."""

import json
import os
import re
import subprocess
import sys
import textwrap

import pytest

from heapscope import process
from heapscope.process import MemoryBreakdown, MemoryPart, memory_breakdown

linux = pytest.mark.skipif(not os.path.exists("/proc/self/smaps_rollup"), reason="reads /proc/self/smaps_rollup")

KEYS = ["python_objects", "pymalloc_free", "file_backed", "remainder", "tracemalloc"]


def child(source, env=None, timeout=120):
    """Run ``source`` in a fresh interpreter; its stdout as JSON (the last line)."""
    full_env = dict(os.environ)
    full_env.pop("PYTHONMALLOC", None)
    full_env.pop("PYTHONTRACEMALLOC", None)
    full_env.update(env or {})
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(source)], capture_output=True, text=True,
                            env=full_env, timeout=timeout)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def as_json_source(body):
    """A child script: ``body`` builds ``b`` (a breakdown); prints its fields as JSON."""
    return textwrap.dedent(body) + textwrap.dedent("""
        import json as _json
        print(_json.dumps({"rss": b.rss, "python_objects": b.python_objects, "pymalloc_free": b.pymalloc_free,
                           "file_backed": b.file_backed, "remainder": b.remainder, "tracemalloc": b.tracemalloc,
                           "overlap": b.overlap, "total": b.total, "notes": b.notes, "text": str(b),
                           "extra": globals().get("extra")}))
    """)


@linux
def test_parts_add_up_to_the_resident_set():
    b = memory_breakdown()
    assert isinstance(b, MemoryBreakdown)
    assert b.source == "/proc/self/smaps_rollup"
    for key in ("rss", "python_objects", "pymalloc_free", "file_backed", "remainder"):
        assert isinstance(getattr(b, key), int) and getattr(b, key) > 0, key
    assert b.overlap == 0
    assert b.python_objects + b.pymalloc_free + b.file_backed + b.remainder == b.rss == b.total
    with open("/proc/self/status") as f:
        vm_rss = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmRSS:"))
    assert abs(b.rss - vm_rss) < 0.05 * vm_rss


def test_parts_name_and_explain_each_figure():
    b = memory_breakdown()
    parts = b.parts()
    assert [p.key for p in parts] == KEYS == [p.key for p in b]
    assert all(isinstance(p, MemoryPart) and p.meaning and p.label for p in parts)
    assert [p.added for p in parts] == [True, True, True, True, False]
    assert all(p.size == getattr(b, p.key) for p in parts)
    assert b.notes["python_objects"].startswith("largest: ")
    text = str(b)
    for p in parts:
        assert p.label in text and p.meaning in text
    assert "not running" in text  # tracemalloc, not started here
    pretty = pytest.importorskip("IPython.lib.pretty")
    assert pretty.pretty(b) == text
    html = b._repr_html_()
    assert 'class="heapscope-breakdown"' in html and html.count("<tr>") == len(parts)


def test_census_is_the_summary_total():
    from heapscope import summary

    census = summary.summarize_heap()
    assert memory_breakdown(census=census).python_objects == census.total_size


def test_pymalloc_figures_match_debugmallocstats_and_nothing_is_printed():
    result = child("""
        import sys
        from heapscope import _core
        ours = _core.pymalloc_stats()
        sys._debugmallocstats()
        print(ours)
    """)
    printed = result.stderr
    arena_line = re.search(r"^\d+ arenas \* \d+ bytes/arena\s*=\s*([\d,]+)$", printed, re.M)
    allocated = re.search(r"^# bytes in allocated blocks\s*=\s*([\d,]+)$", printed, re.M)
    assert arena_line and allocated, printed
    arena_bytes, in_use, free_blocks, empty_pools = eval(result.stdout.strip())  # noqa: S307 - our own tuple
    assert arena_bytes == int(arena_line.group(1).replace(",", ""))
    # printing the figures allocates a little between the two readings
    assert abs(in_use - int(allocated.group(1).replace(",", ""))) < 64 << 10
    assert free_blocks is not None and empty_pools is not None
    assert in_use + free_blocks + empty_pools <= arena_bytes
    quiet = child("from heapscope.process import memory_breakdown; memory_breakdown()")
    assert quiet.stderr == "" and quiet.stdout == ""


@pytest.mark.parametrize("allocator", ["malloc", "malloc_debug"])
def test_without_pymalloc_that_part_is_unknown(allocator):
    out = json.loads(child(as_json_source("""
        from heapscope.process import memory_breakdown
        b = memory_breakdown()
    """), env={"PYTHONMALLOC": allocator}).stdout.splitlines()[-1])
    assert out["pymalloc_free"] is None
    assert f"PYTHONMALLOC={allocator}" in out["notes"]["pymalloc_free"]
    assert "unknown" in out["text"]
    if os.path.exists("/proc/self/smaps_rollup"):
        assert out["remainder"] > 0 and out["total"] == out["rss"]
        assert "free in pymalloc arenas" in out["notes"]["remainder"]


@pytest.mark.skipif(sys.version_info < (3, 13), reason="mimalloc is an allocator of CPython 3.13 and later")
def test_under_mimalloc_pymalloc_part_is_unknown():
    probe = subprocess.run([sys.executable, "-c", "pass"], env={**os.environ, "PYTHONMALLOC": "mimalloc"},
                           capture_output=True, timeout=60)
    if probe.returncode != 0:
        pytest.skip("this interpreter is built without mimalloc")
    out = json.loads(child(as_json_source("""
        from heapscope.process import memory_breakdown
        b = memory_breakdown()
    """), env={"PYTHONMALLOC": "mimalloc"}).stdout.splitlines()[-1])
    assert out["pymalloc_free"] is None
    note = out["notes"]["pymalloc_free"]
    assert note.startswith("unknown: ") and "PYTHONMALLOC=mimalloc" in note


def test_with_pymalloc_debug_hooks_the_arenas_are_read():
    out = json.loads(child(as_json_source("""
        from heapscope.process import memory_breakdown
        b = memory_breakdown()
    """), env={"PYTHONMALLOC": "pymalloc_debug"}).stdout.splitlines()[-1])
    assert out["pymalloc_free"] is not None and out["pymalloc_free"] > 0


def test_tracemalloc_total_is_shown_beside_the_parts():
    out = json.loads(child(as_json_source("""
        import tracemalloc
        tracemalloc.start()
        kept = [bytearray(1000) for _ in range(20000)]
        from heapscope.process import memory_breakdown
        b = memory_breakdown()
    """)).stdout.splitlines()[-1])
    assert out["tracemalloc"] > 20000 * 1000
    assert out["notes"]["tracemalloc"].startswith("peak ")
    if hasattr(sys, "gettotalrefcount") and sys.version_info >= (3, 13):
        # from 3.13 on, a debug build's allocator hooks sit under tracemalloc's and still
        # find pymalloc
        assert out["pymalloc_free"] is not None
    else:
        assert out["pymalloc_free"] is None and "tracemalloc is running" in out["notes"]["pymalloc_free"]
    if out["rss"] is not None:
        assert out["total"] == out["rss"]  # tracemalloc's total is not added


def test_unknown_resident_set_is_not_zero(monkeypatch):
    def unreadable():
        raise OSError("cannot read /proc/self/smaps_rollup: no such file")

    monkeypatch.setattr(process._core, "resident_memory", unreadable)
    monkeypatch.setitem(sys.modules, "psutil", None)  # import psutil fails
    b = memory_breakdown()
    assert (b.rss, b.file_backed, b.remainder) == (None, None, None)
    assert b.python_objects > 0
    assert "unknown" in b.notes["rss"] and "unknown" in b.notes["file_backed"]
    text = str(b)
    assert "resident set unknown" in text and "unknown without the resident set size" in text


def test_unknown_resident_set_comes_from_psutil_when_installed(monkeypatch):
    pytest.importorskip("psutil")

    def unreadable():
        raise OSError("no /proc")

    monkeypatch.setattr(process._core, "resident_memory", unreadable)
    b = memory_breakdown()
    assert b.source == "psutil" and b.rss > 0 and b.file_backed is None
    assert b.remainder is not None and "mapped from files" in b.notes["remainder"]


def test_garbled_allocator_statistics_are_reported(monkeypatch):
    def garbled():
        raise ValueError("the allocator statistics are not pymalloc's: no '# bytes in allocated blocks' line")

    monkeypatch.setattr(process._core, "pymalloc_stats", garbled)
    b = memory_breakdown()
    assert b.pymalloc_free is None and "not pymalloc's" in b.notes["pymalloc_free"]


def test_overlapping_parts_leave_no_negative_remainder(monkeypatch):
    monkeypatch.setattr(process._core, "resident_memory", lambda: (1 << 20, 1 << 19, "/proc/self/smaps_rollup"))
    b = memory_breakdown()
    assert b.remainder == 0 and b.rss == 1 << 20
    assert b.overlap == b.python_objects + (b.pymalloc_free or 0) + (1 << 19) - (1 << 20) > 0
    assert "more than the resident set" in b.notes["remainder"]


@linux
def test_a_large_array_and_a_million_small_objects():
    """The case of the issue: a 500 MB numpy array and a million small objects are both
    named, and the parts add up to the RSS within 5 %."""
    pytest.importorskip("numpy")
    out = json.loads(child(as_json_source("""
        import numpy
        array = numpy.ones(500 * 10**6 // 8)         # written, so resident
        small = [object() for _ in range(10**6)]
        from heapscope.process import memory_breakdown
        b = memory_breakdown()
        with open("/proc/self/status") as f:
            vm_rss = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmRSS:"))
        del array, small
        extra = {"vm_rss": vm_rss}
    """), timeout=180).stdout.splitlines()[-1])
    print(out["text"])
    mb = 10**6
    # numpy's ndarray.__sizeof__ includes the data it owns, so the census counts the
    # array's 500 MB among the Python objects, named as the largest type
    largest = out["notes"]["python_objects"]
    # (numpy keeps small arrays of its own, more of them in older releases)
    assert re.match(r"largest: numpy\.ndarray 47\d\.\d MiB \([\d,]+\), object ", largest), largest
    objects = re.search(r"object ([\d.]+) MiB \(([\d,]+)\)", largest)
    assert objects and int(objects.group(2).replace(",", "")) >= 10**6
    assert out["python_objects"] >= 500 * mb + 16 * 10**6
    # what is left over is small: the array is not counted twice
    assert out["remainder"] < 100 * mb
    assert out["overlap"] == 0
    parts = out["python_objects"] + out["pymalloc_free"] + out["file_backed"] + out["remainder"]
    assert parts == out["rss"]
    # and the RSS is the one the kernel reports in /proc/self/status
    assert abs(parts - out["extra"]["vm_rss"]) <= 0.05 * out["extra"]["vm_rss"]


# --- python -m heapscope memory ------------------------------------------------------------


def heapscope(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "heapscope", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=120)


def test_cli_prints_every_part():
    result = heapscope("memory")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.startswith("process memory: resident set ")
    for key in KEYS:
        assert process._LABELS[key] in result.stdout and process._MEANINGS[key] in result.stdout


def test_cli_runs_a_script_first(tmp_path):
    script = tmp_path / "hold.py"
    script.write_text("import sys\nHELD = [bytearray(1000) for _ in range(30000)]\nprint('args', sys.argv[1:])\n"
                      "raise SystemExit(3)\n")
    result = heapscope("memory", str(script), "a", "--b", cwd=tmp_path)
    assert result.returncode == 3, result.stderr
    assert "args ['a', '--b']" in result.stdout
    assert f"at the end of {script}" in result.stdout
    largest = re.search(r"\(largest: (.*)\)", result.stdout).group(1)
    assert largest.startswith("bytearray ")  # the script's globals are still alive


def test_cli_bad_script():
    result = heapscope("memory", "no/such/script.py")
    assert result.returncode == 2
    assert "cannot read script 'no/such/script.py'" in result.stderr

