"""The rest of pympler's public names: ``util``, ``charts``, ``asizeof.adict`` /
``amapped``, ``all=`` on ``asized``/``asizesof``, ``refs()`` of instances, the class
tracker's thread name and traces, and the process readers' names; compared with pympler
where it is installed."""

import inspect
import subprocess
import sys
import threading
import time
import weakref

import pytest

from heapscope import asizeof, process
from heapscope.classtracker import ClassTracker
from heapscope.util import compat, stringutils

pympler_stringutils = pytest.importorskip("pympler.util.stringutils")
pympler_asizeof = pytest.importorskip("pympler.asizeof")


@pytest.mark.parametrize("size", [0, 5, 1023, 1024, 1025, 1536, 10**6, 3.5, 1024.5, 2**40, -5])
@pytest.mark.parametrize("base", [1024, 1000])
def test_pp_is_pymplers(size, base):
    assert stringutils.pp(size, base) == pympler_stringutils.pp(size, base)


def test_pp_goes_past_pymplers_units():
    # pympler raises IndexError from 1024 EB on; heapscope stays in EB.
    assert stringutils.pp(2**72).endswith(" EB")
    with pytest.raises(ValueError, match="greater than 1"):
        stringutils.pp(10, base=1)


@pytest.mark.parametrize("t", [None, 0, 1.5, 59.999, 3661.5, 3 * 86400 + 5])
def test_pp_timestamp_is_pymplers(t):
    assert stringutils.pp_timestamp(t) == pympler_stringutils.pp_timestamp(t)


@pytest.mark.parametrize("obj, clip", [(42, None), ("Clipped text", 8), ([1, 2, 3, 4], 8), ("x" * 50, 4),
                                       ("x" * 50, 0), ({"a": 1}, 100)])
def test_safe_repr_is_pymplers(obj, clip):
    assert stringutils.safe_repr(obj, clip) == pympler_stringutils.safe_repr(obj, clip)


def test_safe_repr_of_a_failing_repr_and_a_short_clip():
    class Bad:
        def __repr__(self):
            raise RuntimeError("no repr")

    assert stringutils.safe_repr(Bad()) == "N/A"
    # pympler's slice goes negative under 4 and returns more than the whole text.
    assert len(stringutils.safe_repr("x" * 50, clip=3)) <= 4


@pytest.mark.parametrize("text, width, left", [("This is a long text.", 8, False), ("This is a long text.", 8, True),
                                               ("a\nb", 10, False), ("short", 5, False), (12345678, 6, True)])
def test_trunc_is_pymplers(text, width, left):
    assert stringutils.trunc(text, width, left) == pympler_stringutils.trunc(text, width, left)


def test_object_in_list_is_by_identity():
    class Equal:
        def __eq__(self, other):
            return True

        __hash__ = object.__hash__

    one, other = Equal(), Equal()
    assert not compat.object_in_list(one, [other])
    assert compat.object_in_list(one, [other, one])
    assert compat.object_in_list(one, weakref.WeakSet([one]))


def test_charts_without_matplotlib_says_to_install_it(tmp_path):
    # A child interpreter in which matplotlib cannot be imported.
    code = (
        "import sys; sys.modules['matplotlib'] = None\n"
        "from heapscope import charts\n"
        "from heapscope.classtracker import ClassTracker\n"
        "t = ClassTracker(); t.create_snapshot()\n"
        "try:\n"
        f"    charts.tracker_timespace({str(tmp_path / 'c.png')!r}, t.stats)\n"
        "except ImportError as e:\n"
        "    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "pip install matplotlib" in out.stdout, out.stderr


def test_charts_draws_a_file(tmp_path):
    pytest.importorskip("matplotlib")
    from heapscope import charts

    class Foo:
        def __init__(self, n):
            self.data = list(range(n))

    tracker = ClassTracker()
    tracker.track_class(Foo)
    objs = [Foo(1000), Foo(10)]
    tracker.create_snapshot()
    objs.append(Foo(5000))
    tracker.create_snapshot()
    target = tmp_path / "timespace.png"
    charts.tracker_timespace(str(target), tracker.stats)
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    tracker.close()


class PseudoDict:
    def __len__(self):
        return 0

    def get(self, *args):
        return None

    def items(self):
        return []

    def keys(self):
        return []

    def values(self):
        return []


def test_adict_registers_dict_like_classes_only():
    pseudo = PseudoDict()
    before = asizeof.asizeof(pseudo)
    assert asizeof.adict(PseudoDict)
    assert PseudoDict in asizeof._DICT_LIKE
    assert not asizeof.adict(int, PseudoDict)
    assert asizeof.asizeof(pseudo) == before


def test_amapped_returns_the_previous_percentage():
    first = asizeof.amapped()
    try:
        assert first == pympler_asizeof.amapped()
        assert asizeof.amapped(50) == first
        assert asizeof.amapped(500) == 50.0
        assert asizeof.amapped() == 100.0
        with pytest.raises(TypeError, match="from 0 to 100"):
            asizeof.amapped("50")
    finally:
        asizeof.amapped(first)


@pytest.mark.parametrize("function", ["asized", "asizesof"])
@pytest.mark.parametrize("value", [True, False])
def test_all_is_refused_by_asized_and_asizesof_as_pympler_does(function, value):
    with pytest.raises(KeyError):
        getattr(pympler_asizeof, function)(**{"all": value})
    with pytest.raises(KeyError, match="asizeof\\(\\) only"):
        getattr(asizeof, function)([1], **{"all": value})
    with pytest.raises(TypeError):
        getattr(asizeof, function)(**{"all": value})


class Foo:
    def __init__(self, content):
        self.data = content


class Slotted:
    __slots__ = ("tdata",)

    def __init__(self, content):
        self.tdata = content


@pytest.mark.parametrize("make", [lambda: Foo(42), lambda: Slotted(42), lambda: {"a": [1]}, lambda: [1, "x"]])
def test_refs_is_pymplers(make):
    obj = make()
    assert list(asizeof.refs(obj)) == list(pympler_asizeof.refs(obj))


def test_refs_of_an_instance_does_not_create_its_dict():
    obj = Foo([1, 2])
    before = asizeof.flatsize(obj)
    assert {"data": [1, 2]} in list(asizeof.refs(obj))
    assert asizeof.flatsize(obj) == before
    vars(obj)
    assert list(asizeof.refs(obj))[0] is obj.__dict__


def test_periodic_thread_is_named_as_in_pympler():
    tracker = ClassTracker()
    tracker.start_periodic_snapshots(0.05)
    try:
        assert tracker._periodic_thread.name == "BackgroundMonitor"
        assert "BackgroundMonitor" in [t.name for t in threading.enumerate()]
    finally:
        tracker.stop_periodic_snapshots()
        tracker.close()
    time.sleep(0)


# Capturing a stack creates frame objects that live on: in a child interpreter.
@pytest.mark.isolated
def test_trace_is_inspect_stack():
    tracker = ClassTracker()
    tracker.track_class(Foo, trace=True)
    foo = Foo(1)
    expected = [tuple(frame[1:]) for frame in reversed(inspect.stack())]
    trace = tracker.objects[id(foo)].trace
    assert trace[-1][3][0].strip() == "foo = Foo(1)"
    assert trace[:-1] == expected[:-1]
    tracker.close()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc and ps")
def test_process_reader_names():
    proc = process._ProcessMemoryInfoProc()
    ps = process._ProcessMemoryInfoPS()
    assert isinstance(proc, process.ProcessMemoryInfo) and proc.available
    assert ps.available and ps.rss > 0 and ps.vsz > 0
    # Both read the same process within moments: within 5% or two pages.
    assert abs(proc.vsz - ps.vsz) <= max(proc.vsz * 0.05, 2 * proc.pagesize)
