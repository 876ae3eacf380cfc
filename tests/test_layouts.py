"""The CPython layouts heapscope reads in place are checked at import on the running
interpreter; each one that failed (or that a test turns off) is replaced by the public
API. These tests prove that every check passes on the interpreters we support, that
each fallback is really taken, and that it gives the same figures."""

import gc
import sys
import sysconfig
import types

import pytest
from pympler import asizeof as pasz

from catalog import CATALOG, materialise

from heapscope import _core
from heapscope import asizeof as hasz
from heapscope import muppy as hmup
from heapscope import summary as hsum

LAYOUT_NAMES = [name for name, _ in _core._layouts()]
DEBUG_BUILD = bool(sysconfig.get_config_var("Py_DEBUG"))


class Plain:
    def __init__(self, i):
        self.number = i
        self.text = "item %d" % i
        self.items = [i, -i]


class Slotted:
    __slots__ = ("left", "right")

    def __init__(self, i):
        self.left = i
        self.right = str(i)


class SetSubclass(set):
    pass


def samples():
    """One fresh structure with every kind of object whose layout is read in place."""
    deleted = {str(i): i for i in range(30)}
    for i in range(15):
        del deleted[str(i)]
    grown = bytearray(b"abc")
    grown.extend(bytes(200))
    mapping = {"inner": [1, 2, 3]}
    return [
        "", "ascii", "caf\xe9", "\u20ac" * 10, "\U0001f600", "x" * 500,
        0, 1, -1, 2**64, -(2**200), True,
        [], [1, 2, 3], list(range(50)),
        {}, {"a": 1}, {1: "one", (2, 3): "pair"}, {i: str(i) for i in range(300)}, deleted,
        set(), {1, 2, 3}, frozenset("abc"), set(range(100)), SetSubclass([4, 5]),
        bytearray(), grown,
        types.MappingProxyType(mapping),
        [Plain(i) for i in range(20)], [Slotted(i) for i in range(5)],
    ] + numpy_samples()


def numpy_samples():
    """Arrays, whose struct is read in place (numpy is a test dependency; without it,
    none)."""
    try:
        import numpy
    except ImportError:
        return []
    base = numpy.arange(60, dtype=numpy.int32).reshape(6, 10)
    return [[numpy.arange(8) + i for i in range(5)], base, base[::2], numpy.array(["a", None], dtype=object),
            numpy.zeros(3, dtype=[("a", "i2"), ("b", "f8")])]


def figures(objects):
    """Every figure asizeof gives for `objects`: each one's size and flat size, the
    total, and a detailed tree's sizes."""
    tree = hasz.asized(objects, detail=2)
    return (
        [hasz.asizeof(o) for o in objects],
        [hasz.flatsize(o) for o in objects],
        hasz.asizeof(objects),
        [(r.name, r.size, r.flat) for r in tree.refs],
    )


def fallbacks(name):
    return dict(_core._layout_fallbacks())[name]


@pytest.fixture
def layout_off():
    """Turns the named layouts off for one test, then restores them."""
    restore = []

    def turn_off(*names):
        for name in names:
            restore.append((name, _core._use_layout(name, False)))

    yield turn_off
    for name, previous in reversed(restore):
        _core._use_layout(name, previous)


def test_every_layout_passes_its_check_on_this_interpreter():
    # A layout that fails here would make heapscope quietly slower on this version.
    assert dict(_core._layouts()) == {name: True for name in LAYOUT_NAMES}
    assert set(LAYOUT_NAMES) >= {"str", "int", "list", "dict", "set", "bytearray", "instance_values", "gc_lists"}


def test_an_unknown_layout_name_says_which_exist():
    with pytest.raises(ValueError, match='unknown layout "tuple"; the layouts are str, int'):
        _core._use_layout("tuple", False)


def test_a_layout_turned_off_reports_so():
    previous = _core._use_layout("dict", False)
    try:
        assert dict(_core._layouts())["dict"] is False
        assert _core._use_layout("dict", False) is False
    finally:
        _core._use_layout("dict", previous)
    assert dict(_core._layouts())["dict"] is True


# Layouts a walk reads, with the fallback each takes (gc_lists is a heap pass's,
# code_cache a summary's).
WALK_LAYOUTS = [name for name in LAYOUT_NAMES if name not in ("gc_lists", "code_cache")]


@pytest.mark.parametrize("name", WALK_LAYOUTS)
def test_each_fallback_is_taken_and_gives_the_same_figures(name, layout_off):
    objects = materialise(samples())
    expected = figures(objects)
    before = fallbacks(name)
    layout_off(name)
    assert figures(objects) == expected
    if name == "instance_values" and sys.version_info < (3, 11):
        return  # instances keep a real dict before 3.11: nothing to fall back from
    assert fallbacks(name) > before


def test_all_fallbacks_together_give_the_same_figures_on_the_catalog(layout_off):
    objects = [materialise(obj) for _, obj in CATALOG]
    expected = [hasz.asizeof(o) for o in objects]
    layout_off(*WALK_LAYOUTS)
    assert [hasz.asizeof(o) for o in objects] == expected


@pytest.mark.skipif(DEBUG_BUILD, reason="pympler 1.1 assumes a larger object header on debug builds")
def test_without_instance_values_heapscope_sees_the_dicts_pympler_makes(layout_off):
    # The fallback asks for `__dict__`, as pympler does: afterwards the figures are
    # pympler's for the same (now materialised) objects.
    layout_off("instance_values")
    objects = [Plain(i) for i in range(10)]
    ours = hasz.asizeof(objects)
    assert ours == pasz.asizeof(objects)


@pytest.mark.parametrize("name", WALK_LAYOUTS)
def test_summaries_are_the_same_without_each_layout(name, layout_off):
    objects = materialise(samples())
    flat = objects + [o for group in objects[-2:] for o in group]
    expected = sorted(map(tuple, hsum.summarize(flat)))
    layout_off(name)
    assert sorted(map(tuple, hsum.summarize(flat))) == expected


def test_heap_passes_without_the_collector_lists_find_the_same_objects(layout_off):
    holder = samples()
    gc.collect()
    gc.disable()
    try:
        with_lists = {id(o) for o in hmup.get_objects()}
        before = fallbacks("gc_lists")
        layout_off("gc_lists")
        without = {id(o) for o in hmup.get_objects()}
        assert fallbacks("gc_lists") > before
    finally:
        gc.enable()
    tracked = {id(o) for o in holder if gc.is_tracked(o)}
    assert tracked and tracked <= with_lists and tracked <= without


def hot_code():
    """A fresh function called 1,100 times, past the 1,024 calls after which 3.9 and
    3.10 give its code object a look-up cache (its global `len`)."""
    namespace = {}
    exec("def hot():\n    return len\n", namespace)
    function = namespace["hot"]
    for _ in range(1100):
        function()
    return function.__code__


def test_summaries_leave_out_the_look_up_cache_of_a_hot_code_object():
    code = hot_code()
    cold = code.replace()  # an equal code object, never called
    cached = sys.getsizeof(code) - sys.getsizeof(cold)
    if sys.version_info < (3, 11):
        assert cached > 0
    else:
        assert cached == 0  # caches are inline from 3.11 on
    assert hsum.summarize([code]) == [["code", 1, sys.getsizeof(cold)]]
    # muppy's figures are sys.getsizeof's, cache included (as pympler's).
    assert hmup.get_size([code]) == sys.getsizeof(code)


def test_without_the_code_cache_layout_summaries_count_the_cache(layout_off):
    code = hot_code()
    before = fallbacks("code_cache")
    layout_off("code_cache")
    assert hsum.summarize([code]) == [["code", 1, sys.getsizeof(code)]]
    if sys.version_info < (3, 11):
        assert fallbacks("code_cache") > before
