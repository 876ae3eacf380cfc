"""heapscope.mprofile.MProfiler: pympler's interface, code points, events, sizes."""

import sys

import pytest

from heapscope import mprofile
from heapscope.mprofile import MProfiler

_keep = []


def grow(n):
    _keep.append([object() for _ in range(n)])


def small():
    return 1


def program():
    for _ in range(3):
        small()
    grow(20000)


def test_memories_keys_and_values():
    p = MProfiler()
    assert p.run("program()") is p
    assert p.memories
    for key, value in p.memories.items():
        file, function, line = key
        assert isinstance(file, str) and isinstance(function, str) and isinstance(line, int)
        calls, low, high, spare = value
        assert calls >= 1 and 0 < low <= high and spare == 0
    functions = {key[1] for key in p.memories}
    assert {"program", "small", "grow"} <= functions


def test_events_filter_and_call_counts():
    p = MProfiler(events=("call",))
    p.run(program)
    small_points = [v for k, v in p.memories.items() if k[1] == "small"]
    assert sum(v[0] for v in small_points) == 3
    assert not any(k[1] == "len" for k in p.memories)


def test_heap_growth_is_seen():
    p = MProfiler(events=("call", "return"))
    p.run("grow(50000)")
    points = sorted((k[2], v) for k, v in p.memories.items() if k[1] == "grow")
    assert [v[0] for _, v in points] == [1, 1]  # the call (def line) and the return
    (_, at_call), (_, at_return) = points
    # 50,000 objects of 16 bytes plus the list holding them
    assert at_return[2] - at_call[1] >= 50000 * sys.getsizeof(object())


def test_codepoints_filter():
    p = MProfiler(codepoints=[(None, "small", None)])
    p.run(program)
    assert p.memories
    assert {k[1] for k in p.memories} == {"small"}


def test_codepoint_included():
    p = MProfiler(codepoints=[("a.py", None, 3), (None, "f")])
    assert p.codepoint_included(("a.py", "g", 3))
    assert not p.codepoint_included(("a.py", "g", 4))
    assert p.codepoint_included(("b.py", "f", 9))
    assert not p.codepoint_included(("b.py", "h", 9))
    assert MProfiler().codepoint_included(("x", "y", 1))


def test_run_uses_caller_namespace_and_restores_hook():
    local_value = []

    def marker():
        local_value.append(1)

    before = sys.getprofile()
    MProfiler(events=("call",)).run("marker()")
    assert local_value == [1]
    assert sys.getprofile() is before


def test_hook_removed_after_exception():
    p = MProfiler()
    with pytest.raises(ZeroDivisionError):
        p.run("1 / 0")
    assert sys.getprofile() is None


def test_heap_size_matches_muppy_without_collect():
    from heapscope import muppy
    import gc

    gc.collect()
    objects = muppy.get_objects()
    listed = muppy.get_size(objects)
    measured = mprofile._heap_size()
    own_list = sys.getsizeof(objects)  # the list itself is on the heap, not in itself
    del objects
    assert abs(measured - own_list - listed) <= max(listed // 100, 200_000)


def test_same_code_points_as_pympler(monkeypatch):
    pympler_mprofile = pytest.importorskip("pympler.mprofile")
    ours = MProfiler(events=("call", "return"))
    ours.run("program()")
    theirs = pympler_mprofile.MProfiler(events=("call", "return"))
    # pympler executes the command in its own module's namespace
    monkeypatch.setattr(pympler_mprofile, "program", program, raising=False)
    theirs.run("program()")

    def calls(memories):
        return {k: v[0] for k, v in memories.items() if k[1] in ("small", "grow")}
    assert calls(ours.memories) == calls(theirs.memories)
