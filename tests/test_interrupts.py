"""A `KeyboardInterrupt`, `SystemExit` or other error that is not an `Exception`,
raised by a `__sizeof__`, stops the sizing call and propagates out of it (as in
pympler); an `Exception` is still counted as missed. Afterwards heapscope's state
(an `Asizer`, a tracker, the collector) is usable again."""
import gc
import sys

import pytest
from catalog import run_isolated

from heapscope import asizeof as hs
from heapscope import _core, muppy, summary
from heapscope.classtracker import ClassTracker
from heapscope.tracker import SummaryTracker


class Interrupting:
    """Raises `error` from `__sizeof__` while `armed`."""

    def __init__(self, error):
        self.error = error
        self.armed = True
        self.payload = ["x" * 100]

    def __sizeof__(self):
        if self.armed:
            raise self.error()
        return object.__sizeof__(self)


class Slotted:
    __slots__ = ("error", "armed")

    def __init__(self, error):
        self.error = error
        self.armed = True

    def __sizeof__(self):
        if self.armed:
            raise self.error()
        return object.__sizeof__(self)


class Holder:
    def __init__(self, inner):
        self.inner = inner


ERRORS = [KeyboardInterrupt, SystemExit, GeneratorExit]


def _containers(bad):
    return {
        "bare": bad,
        "list": [1, "two", bad, 3.0],
        "dict": {"a": [1, 2], "b": bad},
        "tuple": (1, (2, bad)),
        "attribute": Holder(bad),
        "nested": [{"k": [Holder([bad])]}],
    }


CONTAINERS = list(_containers(None))


@pytest.mark.parametrize("error", ERRORS)
@pytest.mark.parametrize("where", CONTAINERS)
@pytest.mark.parametrize("call", ["asizeof", "asizesof", "asized", "asized_detail",
                                  "asizeof_stats", "asizeof_limit"])
def test_sizing_functions_raise(call, where, error):
    obj = _containers(Interrupting(error))[where]
    calls = {
        "asizeof": lambda: hs.asizeof(obj),
        "asizesof": lambda: hs.asizesof([0], obj),
        "asized": lambda: hs.asized(obj),
        "asized_detail": lambda: hs.asized(obj, detail=3),
        "asizeof_stats": lambda: hs.asizeof(obj, stats=2, above=1),
        "asizeof_limit": lambda: hs.asizeof(obj, limit=10),
    }
    with pytest.raises(error):
        calls[call]()


@pytest.mark.parametrize("error", ERRORS)
def test_slotted_object_raises(error):
    with pytest.raises(error):
        hs.asizeof([Slotted(error)])


@pytest.mark.parametrize("error", [KeyboardInterrupt, SystemExit])
@pytest.mark.parametrize("where", CONTAINERS)
def test_asizer_raises_then_works(where, error):
    bad = Interrupting(error)
    obj = _containers(bad)[where]
    sizer = hs.Asizer()
    # An object seen is not sized again until reset, as in pympler.
    with pytest.raises(error):
        sizer.asizeof(obj)
    sizer.reset()
    with pytest.raises(error):
        sizer.asizesof(obj)
    sizer.reset()
    with pytest.raises(error):
        sizer.asized(obj)
    plain = [1, 2, [3, 4], {"a": "b" * 50}]
    sizer.reset()
    assert sizer.asizeof(plain) == hs.asizeof(plain) > 0
    # The same object, disarmed, sizes as one whose __sizeof__ never raised.
    bad.armed = False
    sizer.reset()
    assert sizer.asizeof(obj) == hs.asizeof(obj) > 0
    assert sizer.missed == 0


@pytest.mark.parametrize("error", [KeyboardInterrupt, SystemExit])
def test_asizer_without_reset_keeps_working(error):
    bad = Interrupting(error)
    sizer = hs.Asizer()
    first = [bad]
    with pytest.raises(error):
        sizer.asizeof(first)
    assert sizer.total == 0
    plain = [5, 6, [7]]
    assert sizer.asizeof(plain) == sizer.total == hs.asizeof(plain)


@pytest.mark.parametrize("error", [KeyboardInterrupt, SystemExit])
def test_flatsize_raises(error):
    with pytest.raises(error):
        hs.flatsize(Interrupting(error))


@pytest.mark.parametrize("error", [KeyboardInterrupt, SystemExit])
def test_muppy_sizes_raise(error):
    objects = [1, "a", Interrupting(error), [2]]
    with pytest.raises(error):
        muppy.get_size(objects)
    with pytest.raises(error):
        muppy.filter(objects, min=1)
    with pytest.raises(error):
        muppy.sort(objects)


@pytest.mark.parametrize("error", [KeyboardInterrupt, SystemExit])
@pytest.mark.parametrize("container", [list, tuple, iter])
def test_summarize_raises(error, container):
    objects = container([1, "a", Interrupting(error), [2]])
    assert gc.isenabled()
    with pytest.raises(error):
        summary.summarize(objects)
    assert gc.isenabled()


@pytest.mark.parametrize("error", [KeyboardInterrupt, SystemExit])
def test_summarize_heap_raises_then_works(error):
    assert gc.isenabled()
    bad = Interrupting(error)
    with pytest.raises(error):
        summary.summarize_heap()
    assert gc.isenabled()
    with pytest.raises(error):
        summary.summarize_heap(collect=False)
    assert gc.isenabled()
    with pytest.raises(error):
        SummaryTracker()
    assert gc.isenabled()
    del bad
    gc.collect()
    rows = summary.summarize_heap()
    assert sum(count for _, count, _ in rows) > 0
    tracker = SummaryTracker()
    tracker.diff()
    assert gc.isenabled()


@pytest.mark.parametrize("error", [KeyboardInterrupt, SystemExit])
def test_summary_tracker_raises_then_works(error):
    tracker = SummaryTracker()
    bad = Interrupting(error)
    with pytest.raises(error):
        tracker.diff()
    assert gc.isenabled()
    bad.armed = False
    tracker.diff()
    del bad


@pytest.mark.parametrize("error", [KeyboardInterrupt, SystemExit])
@pytest.mark.parametrize("level", [0, 2])
def test_class_tracker_snapshot_raises_then_works(error, level):
    tracker = ClassTracker()
    try:
        bad = Interrupting(error)
        holder = Holder([bad])
        tracker.track_object(holder, resolution_level=level)
        with pytest.raises(error):
            tracker.create_snapshot()
        bad.armed = False
        tracker.create_snapshot()
        assert tracker.snapshots[-1].tracked_total > 0
    finally:
        tracker.close()


@pytest.mark.parametrize("error", ["KeyboardInterrupt", "SystemExit"])
def test_class_tracker_overhead_and_total_raise(error):
    # In a fresh interpreter: sizing every object (`compute_total`) reaches the frames
    # of suspended generators, which then exist as objects for later heap passes.
    out = run_isolated("""
        from heapscope.classtracker import ClassTracker
        from test_interrupts import Holder, Interrupting

        tracker = ClassTracker()
        tracker.track_object(Holder([1]))
        bad = Interrupting(%s)
        try:
            tracker.create_snapshot(compute_total=True)
        except %s:
            print("raised")
        bad.armed = False
        tracker.create_snapshot(compute_total=True)
        assert tracker.snapshots[-1].asizeof_total > 0
        tracker.close()
        print("ok")
    """ % (error, error))
    assert out.split() == ["raised", "ok"]


class ItemsInterrupt(dict):
    """A dict whose `items()`, which asizeof follows, raises `error`."""

    error = KeyboardInterrupt

    def items(self):
        raise self.error()


class AttributeInterrupt(Exception):
    """An exception whose `msg`, which asizeof follows, raises `error`."""

    error = KeyboardInterrupt

    @property
    def msg(self):
        raise self.error()


class ItemsValueError(dict):
    def items(self):
        raise ValueError("no items")


class AttributeValueError(Exception):
    @property
    def msg(self):
        raise ValueError("no msg")


@pytest.mark.parametrize("cls", [ItemsInterrupt, AttributeInterrupt])
@pytest.mark.parametrize("call", ["asizeof", "asized", "Asizer"])
def test_referents_found_by_python_code_raise(cls, call):
    obj = cls()
    with pytest.raises(KeyboardInterrupt):
        if call == "asizeof":
            hs.asizeof([obj])
        elif call == "asized":
            hs.asized([obj], detail=2)
        else:
            hs.Asizer().asizeof({"k": obj})
    with pytest.raises(KeyboardInterrupt):
        hs.named_refs(obj)


@pytest.mark.parametrize("cls", [ItemsValueError, AttributeValueError])
def test_referents_raising_exceptions_are_skipped(cls):
    obj = cls()
    assert hs.asizeof([obj]) >= hs.asizeof([]) + hs.flatsize(obj)


class ClassInterrupt:
    """`__class__` raises while `armed` (heap passes ask it whether it is a frame)."""

    def __init__(self):
        self.armed = True

    @property
    def __class__(self):
        if self.armed:
            raise KeyboardInterrupt
        return ClassInterrupt


@pytest.mark.parametrize("call", ["summarize_heap", "get_objects"])
def test_heap_pass_class_lookup_raises_then_works(call):
    run = {"summarize_heap": summary.summarize_heap, "get_objects": muppy.get_objects}[call]
    obj = ClassInterrupt()
    with pytest.raises(KeyboardInterrupt):
        run()
    assert gc.isenabled()
    obj.armed = False
    run()
    assert gc.isenabled()


class RaisesValueError:
    def __sizeof__(self):
        raise ValueError("no size")


def test_exception_is_still_missed():
    obj = RaisesValueError()
    basic = type(obj).__basicsize__
    sizer = hs.Asizer()
    total = sizer.asizeof([obj])
    assert sizer.missed == 1
    assert total == hs.asizeof([obj]) >= hs.asizeof([]) + basic
    assert hs.flatsize(obj) >= basic
    assert muppy.get_size([obj]) >= basic
    rows = summary.summarize([obj])
    assert [row[1] for row in rows] == [1]
    tracker = ClassTracker()
    try:
        tracker.track_object(obj)
        tracker.create_snapshot()
    finally:
        tracker.close()


# -- lookups that heapscope's own code makes on the objects it sizes and names ---------
# Each class raises its `error` once a test sets it: unset, heap-wide calls of other
# tests meet them harmlessly.


class SlotBase:
    __slots__ = ("value",)

    def __init__(self):
        SlotBase.value.__set__(self, [1, 2])


class SlotGetterRaises(SlotBase):
    """A property shadows the slot: heapscope reads it with `getattr`."""

    __slots__ = ()
    error = None

    @property
    def value(self):
        if self.error:
            raise self.error()
        return "x"


class MetaStrRaises(type):
    error = None

    def __str__(cls):
        if cls.error:
            raise cls.error()
        return "x"


class StrRaises(metaclass=MetaStrRaises):
    pass


class MetaModuleRaises(type):
    error = None

    @property
    def __module__(cls):
        if cls.error:
            raise cls.error()
        return "x"


class ModuleRaises(metaclass=MetaModuleRaises):
    pass


class NameRaises:
    error = None

    @property
    def __name__(self):
        if self.error:
            raise self.error()
        return "x"


class ReprRaises:
    error = None

    def __repr__(self):
        if self.error:
            raise self.error()
        return "x"


class GetattrRaises:
    error = None

    def __getattr__(self, name):
        if self.error:
            raise self.error()
        raise AttributeError(name)


class DictPropertyRaises:
    error = None

    def __init__(self):
        self.x = 1

    @property
    def __dict__(self):
        if type(self).error:
            raise type(self).error()
        return {}


ROUTES = {
    "slot getter": (SlotGetterRaises, lambda obj: hs.asizeof(obj)),
    "slot getter, named": (SlotGetterRaises, lambda obj: hs.named_refs(obj)),
    "type str in a summary": (StrRaises, lambda obj: summary.summarize([obj])),
    "class __module__": (ModuleRaises, lambda obj: hs.asizeof([obj])),
    "class __module__, flat": (ModuleRaises, lambda obj: muppy.get_size([obj])),
    "__name__ of a tree node": (NameRaises, lambda obj: hs.asized([obj], detail=1)),
    "repr of a tree node": (ReprRaises, lambda obj: hs.asized([obj], detail=1)),
    "__getattr__ with infer": (GetattrRaises, lambda obj: hs.asizeof([obj], infer=True)),
}


def _arm(monkeypatch, cls, error):
    if type(cls) is not type:
        monkeypatch.setattr(type(cls), "error", error)
    monkeypatch.setattr(cls, "error", error)


@pytest.mark.parametrize("route", list(ROUTES))
def test_errors_of_lookups_propagate(route, monkeypatch):
    cls, run = ROUTES[route]
    obj = cls()
    _arm(monkeypatch, cls, KeyboardInterrupt)
    with pytest.raises(KeyboardInterrupt):
        run(obj)


@pytest.mark.parametrize("route", list(ROUTES))
def test_exceptions_of_lookups_are_passed_over(route, monkeypatch):
    cls, run = ROUTES[route]
    obj = cls()
    _arm(monkeypatch, cls, ValueError)
    run(obj)


@pytest.mark.skipif(
    sys.version_info < (3, 11), reason="before 3.11 every instance keeps a real dict, read in place: no layout to turn off"
)
@pytest.mark.parametrize("error", [KeyboardInterrupt, ValueError])
def test_dict_property_read_where_the_layout_is_off(error, monkeypatch):
    # Where instance storage cannot be read in place, `__dict__` is asked for.
    monkeypatch.setattr(DictPropertyRaises, "error", error)
    previous = _core._use_layout("instance_values", False)
    try:
        if error is KeyboardInterrupt:
            with pytest.raises(KeyboardInterrupt):
                hs.asizeof([DictPropertyRaises()])
        else:
            assert hs.asizeof([DictPropertyRaises()]) > 0
    finally:
        _core._use_layout("instance_values", previous)
