"""heapscope.classtracker: lifetimes, snapshots and sizes, periodic snapshots, objects
that cannot be weakly referenced, threads, bad input, and agreement with pympler's
ClassTracker on the same program."""
import gc
import sys
import threading
import time
import weakref

import pytest

from heapscope.asizeof import Asizer, asized
from heapscope.classtracker import ClassTracker, TrackedObject, TrackerClosedError


def collect():
    """Let the cyclic collector finish (some objects need more than one pass)."""
    for _ in range(3):
        if not gc.collect():
            break


@pytest.fixture
def tracker():
    t = ClassTracker()
    yield t
    t.close()


class Record:
    def __init__(self, n):
        self.values = [str(i) * 3 for i in range(n)]
        self.n = n


class Slotted:
    """Cannot be weakly referenced: pympler refuses to track it."""

    __slots__ = ("payload",)

    def __init__(self, n):
        self.payload = list(range(1000, 1000 + n))


def alive_records(tracker, name):
    return [t for t in tracker.index.get(name, []) if t.death is None]


# -- lifetimes -------------------------------------------------------------------------------


def test_hundred_created_forty_deleted(tracker):
    tracker.track_class(Record)
    objs = [Record(i % 5) for i in range(100)]
    del objs[:40]
    collect()
    tracker.create_snapshot("after delete")
    records = tracker.index["test_classtracker.Record"]
    assert len(records) == 100
    dead = [t for t in records if t.death is not None]
    alive = [t for t in records if t.death is None]
    assert len(dead) == 40 and len(alive) == 60
    for t in dead:
        assert t.death >= t.birth
    assert {t.id for t in alive} == {id(o) for o in objs}
    summary = tracker.stats.annotate_snapshot(tracker.snapshots[0])["test_classtracker.Record"]
    assert summary["active"] == 60
    # Only the living were sized: one entry at birth, one per snapshot after it.
    assert all(len(t.snapshots) == 2 for t in alive)
    assert all(len(t.snapshots) == 1 for t in dead)


def test_births_and_deaths_are_timed(tracker):
    tracker.track_class(Record)
    before = time.time()
    obj = Record(1)
    tracked = tracker.tracked_objects[0]
    start = sys.modules["heapscope.classtracker"]._local_start
    assert before - start - 0.01 <= tracked.birth <= time.time() - start
    del obj
    collect()
    assert tracked.death is not None and tracked.death >= tracked.birth
    assert tracked.ref() is None


def test_history_counts_instances_alive(tracker):
    tracker.track_class(Record, name="rec")
    objs = [Record(0) for _ in range(3)]
    del objs[0]
    collect()
    counts = [n for _, n in tracker.history["rec"]]
    assert counts == [1, 2, 3, 2]


def test_ids_reused_after_death_are_tracked_again(tracker):
    tracker.track_class(Record)
    for _ in range(50):
        Record(1)  # dies at once; the next one often gets the same address
    collect()
    records = tracker.index["test_classtracker.Record"]
    assert len(records) == 50
    assert all(t.death is not None for t in records)
    assert len(tracker.objects) <= 50


def test_tracking_twice_changes_nothing(tracker):
    obj = Record(2)
    tracker.track_object(obj)
    tracker.track_object(obj, name="other")
    assert list(tracker.index) == ["Record"]
    assert len(tracker.tracked_objects) == 1


def test_most_derived_tracked_class_wins(tracker):
    class Base:
        def __init__(self):
            self.x = 1

    class Derived(Base):
        def __init__(self):
            super().__init__()
            self.y = 2

    tracker.track_class(Base, name="base")
    tracker.track_class(Derived, name="derived")
    objs = [Base(), Derived(), Derived()]
    assert {name: len(v) for name, v in tracker.index.items()} == {"base": 1, "derived": 2}
    assert objs[1].x == 1 and objs[1].y == 2


def test_keep_holds_objects_until_detach_all(tracker):
    tracker.track_class(Record, keep=True)
    obj = Record(1)
    ref = weakref.ref(obj)
    del obj
    collect()
    assert ref() is not None
    assert tracker.tracked_objects[0].death is None
    assert tracker.tracked_objects[0].watch == "kept"
    tracker.detach_all()
    collect()
    assert ref() is None
    assert tracker.index == {}


# Capturing a stack creates frame objects for every frame above it, pytest's suspended
# hook generators included, which then live on; a child process keeps them out of the
# heap other tests look at.
@pytest.mark.isolated
def test_trace_records_the_creating_stack(tracker):
    tracker.track_class(Record, trace=True)

    def make_one():
        return Record(1)

    obj = make_one()
    trace = tracker.tracked_objects[0].trace
    functions = [frame[2] for frame in trace]
    assert functions[-1] == "make_one"
    assert "test_trace_records_the_creating_stack" in functions
    assert trace[-1][3] == ["        return Record(1)\n"]
    tracker.track_object([obj], trace=True)
    assert tracker.tracked_objects[1].trace[-1][2] == "test_trace_records_the_creating_stack"
    assert tracker.tracked_objects[0].trace is not None
    untraced = ClassTracker()
    untraced.track_object(obj)
    assert untraced.tracked_objects[0].trace is None


# -- objects that cannot be weakly referenced --------------------------------------------------


def test_slotted_objects_are_tracked_and_their_death_seen_when_polled(tracker):
    tracker.track_class(Slotted)
    objs = [Slotted(i) for i in range(10)]
    records = tracker.index["test_classtracker.Slotted"]
    assert len(records) == 10 and all(t.watch == "polled" for t in records)
    del objs[:4]
    tracker.create_snapshot()
    dead = [t for t in records if t.death is not None]
    assert len(dead) == 4
    # Their death is seen by the snapshot that polled: at its time.
    assert all(t.death == tracker.snapshots[0].timestamp for t in dead)
    alive = [t for t in records if t.death is None]
    assert [t.get_size_at_time(tracker.snapshots[0].timestamp) > 0 for t in alive] == [True] * 6


def test_polled_objects_are_released_when_only_the_tracker_holds_them(tracker):
    tracker.track_class(Slotted)
    probe = []

    class Watched(Slotted):
        __slots__ = ()

        def __del__(self):
            probe.append(1)

    obj = Watched(1)
    del obj
    assert probe == []  # held by the tracker
    tracker.create_snapshot()
    assert probe == [1]


def test_ints_and_tuples_can_be_tracked(tracker):
    big = 10**30
    pair = (big, "x")
    tracker.track_object(big)
    tracker.track_object(pair, resolution_level=1)
    tracker.create_snapshot()
    sizes = {t.name: t.snapshots[-1][1] for t in tracker.tracked_objects}
    assert sizes["int"].size == asized(big).size
    assert sizes["tuple"].size > 0


def test_polling_while_tracking_bounds_what_is_held(tracker):
    tracker.track_class(Slotted)
    for _ in range(5000):
        Slotted(1)
    # Sweeps during tracking noticed most deaths without any snapshot.
    dead = sum(1 for t in tracker.tracked_objects if t.death is not None)
    assert dead >= 2500


# -- snapshots and sizes ----------------------------------------------------------------------


def test_sizes_match_asized_in_birth_order(tracker):
    tracker.track_class(Record)
    objs = [Record(i % 4) for i in range(30)]
    shared = ["shared" * 20]
    for o in objs[::3]:
        o.shared = shared  # counted with the first object only
    tracker.create_snapshot()
    sizer = Asizer()
    sizer.exclude_refs(*objs)
    expected = [sizer.asized(o).size for o in objs]
    got = [t.snapshots[-1][1].size for t in tracker.index["test_classtracker.Record"]]
    assert got == expected
    assert tracker.snapshots[0].tracked_total == sizer.total == sum(expected)


def test_tracked_objects_are_not_counted_inside_each_other(tracker):
    tracker.track_class(Record)
    parent = Record(1)
    child = Record(50)
    parent.child = child
    tracker.create_snapshot()
    sizes = {t.id: t.snapshots[-1][1].size for t in tracker.tracked_objects}
    assert sizes[id(parent)] < sizes[id(child)]


def test_resolution_level_keeps_asized_trees(tracker):
    tracker.track_class(Record, resolution_level=2)
    objs = [Record(3), Record(2)]
    tracker.create_snapshot()
    sizer = Asizer()
    sizer.exclude_refs(*objs)
    for obj, t in zip(objs, tracker.tracked_objects):
        expected = sizer.asized(obj, detail=2)
        got = t.snapshots[-1][1]
        assert (got.size, got.flat, got.name) == (expected.size, expected.flat, expected.name)
        assert [(r.name, r.size, len(r.refs)) for r in got.refs] == [(r.name, r.size, len(r.refs)) for r in expected.refs]


def test_track_change_sets_the_level_of_one_object(tracker):
    a, b = Record(2), Record(2)
    tracker.track_object(a)
    tracker.track_object(b)
    tracker.track_change(b, resolution_level=1)
    tracker.create_snapshot()
    trees = [t.snapshots[-1][1] for t in tracker.tracked_objects]
    assert trees[0].refs == () and trees[1].refs != ()
    with pytest.raises(KeyError):
        tracker.track_change(Record(0))
    tracker.tracked_objects[0].set_resolution_level(1)
    tracker.create_snapshot()
    assert tracker.tracked_objects[0].snapshots[-1][1].refs != ()


def test_snapshot_records_process_memory_and_totals(tracker):
    tracker.track_class(Record)
    objs = [Record(20) for _ in range(10)]
    tracker.create_snapshot("first")
    snap = tracker.snapshots[0]
    assert snap.desc == "first" and snap.label.startswith("first (")
    assert snap.tracked_total > 0 and snap.overhead > 0
    if sys.platform.startswith("linux"):
        assert snap.system_total.available
        assert 0 < snap.system_total.rss <= snap.system_total.vsz
        assert snap.total == snap.system_total.vsz
    assert snap.asizeof_total == 0
    del objs


# Sizing every object reads generators' frames, which creates frame objects that live on:
# a child process keeps them out of the heap other tests look at.
@pytest.mark.isolated
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # sizing every module touches deprecated ones
def test_compute_total_sizes_the_heap(tracker):
    tracker.track_object(Record(5))
    tracker.create_snapshot(compute_total=True)
    snap = tracker.snapshots[0]
    assert snap.asizeof_total > snap.tracked_total


def test_dead_objects_get_no_snapshot_entries(tracker):
    tracker.track_class(Record)
    objs = [Record(1) for _ in range(3)]
    tracker.create_snapshot()
    del objs[0]
    collect()
    tracker.create_snapshot()
    first, second = tracker.tracked_objects[:2]
    assert len(first.snapshots) == 2 and len(second.snapshots) == 3
    assert first.get_size_at_time(tracker.snapshots[1].timestamp) == 0
    assert first.get_max_size() == max(s.size for _, s in first.snapshots)


def test_objects_dying_while_a_snapshot_sizes_them(tracker):
    doomed = []

    class Killer:
        def __init__(self):
            self.data = [1, 2, 3]

        def __sizeof__(self):
            doomed.clear()  # tracked objects die in the middle of the walk
            return object.__sizeof__(self) + 8

    tracker.track_class(Record)
    doomed.extend(Record(1) for _ in range(20))
    tracker.track_object(Killer())
    tracker.track_object(k := Killer())
    tracker.create_snapshot()
    tracker.create_snapshot()
    dead = [t for t in tracker.index["test_classtracker.Record"] if t.death is not None]
    assert len(dead) == 20
    assert k


def test_finalizers_that_track_during_release(tracker):
    made = []

    class Reentrant:
        def __del__(self):
            obj = Record(0)
            made.append(obj)
            tracker.track_object(obj)

    tracker.track_object(Reentrant(), keep=True)
    tracker.track_object(Reentrant(), keep=True)
    tracker.detach_all()  # releases them: their finalizers track new objects
    assert len(made) == 2
    assert len(tracker.tracked_objects) == 2


# -- periodic snapshots -----------------------------------------------------------------------


def test_periodic_snapshots_count_and_stop(tracker):
    tracker.track_class(Record)
    objs = [Record(2) for _ in range(10)]
    started = time.perf_counter()
    tracker.start_periodic_snapshots(interval=0.05)
    time.sleep(0.3)
    tracker.stop_periodic_snapshots()
    elapsed = time.perf_counter() - started
    count = len(tracker.snapshots)
    assert 2 <= count <= elapsed / 0.05 + 2
    assert not [t for t in threading.enumerate() if t.name == "BackgroundMonitor"]
    time.sleep(0.1)
    assert len(tracker.snapshots) == count
    stamps = [s.timestamp for s in tracker.snapshots]
    assert stamps == sorted(stamps)
    del objs


def test_periodic_interval_can_change_and_close_stops_the_thread():
    tracker = ClassTracker()
    tracker.start_periodic_snapshots(interval=10)
    thread = tracker._periodic_thread
    tracker.start_periodic_snapshots(interval=5)
    assert tracker._periodic_thread is thread and thread.interval == 5
    tracker.close()
    assert not thread.is_alive()
    assert len(tracker.snapshots) == 1  # taken when it started


def test_bad_intervals():
    tracker = ClassTracker()
    for interval in (0, -1, "1", None, True):
        with pytest.raises(ValueError):
            tracker.start_periodic_snapshots(interval=interval)
    assert tracker._periodic_thread is None


# -- classes: injection and detaching -------------------------------------------------------


def test_detach_restores_constructors():
    class Own:
        def __init__(self, a, b=2):
            self.a, self.b = a, b

    class Inherits(Own):
        pass

    original = Own.__dict__["__init__"]
    tracker = ClassTracker()
    tracker.track_class(Own)
    tracker.track_class(Inherits)
    assert Own.__dict__["__init__"] is not original
    assert "__init__" in Inherits.__dict__
    Own(1)
    Inherits(1, b=3)
    tracker.detach_class(Inherits)
    assert "__init__" not in Inherits.__dict__
    tracker.detach_all_classes()
    assert Own.__dict__["__init__"] is original
    Own(1)
    assert len(tracker.tracked_objects) == 2
    with pytest.raises(KeyError):
        tracker.detach_class(Own)


def test_classes_without_init_keep_their_behaviour(tracker):
    class NoInit:
        pass

    class WithNew:
        def __new__(cls, value):
            obj = super().__new__(cls)
            obj.value = value
            return obj

    tracker.track_class(NoInit)
    tracker.track_class(WithNew)
    NoInit()
    assert WithNew(5).value == 5
    with pytest.raises(TypeError, match="takes no arguments"):
        NoInit(1)
    assert len(tracker.index[f"{__name__}.WithNew"]) == 1


def test_tracking_a_class_again_changes_its_options(tracker):
    tracker.track_class(Record)
    tracker.track_class(Record, name="renamed", resolution_level=1)
    Record(1)
    assert list(tracker.index) == ["renamed"]
    assert tracker.tracked_objects[0].resolution_level == 1


def test_constructor_signature_and_wrapping_stay_visible(tracker):
    import inspect

    tracker.track_class(Record)
    assert list(inspect.signature(Record).parameters) == ["n"]
    assert Record.__init__.__name__ == "__init__"


def test_a_tracker_that_is_collected_restores_constructors():
    class Temp:
        def __init__(self):
            pass

    original = Temp.__dict__["__init__"]
    tracker = ClassTracker()
    tracker.track_class(Temp)
    del tracker
    collect()
    assert Temp.__dict__["__init__"] is original


def test_two_trackers_on_one_class():
    class Shared:
        def __init__(self):
            self.x = 1

    first, second = ClassTracker(), ClassTracker()
    first.track_class(Shared)
    second.track_class(Shared)
    Shared()
    first.detach_class(Shared)  # wrapped by the second: disabled, not removed
    Shared()
    assert len(first.tracked_objects) == 1 and len(second.tracked_objects) == 2
    second.detach_class(Shared)
    Shared()
    assert len(second.tracked_objects) == 2
    first.close()
    second.close()


# -- clearing and closing --------------------------------------------------------------------


def test_detach_all_forgets_objects_but_keeps_snapshot_totals(tracker):
    tracker.track_class(Record)
    objs = [Record(2) for _ in range(5)]
    tracker.create_snapshot()
    view = tracker.tracked_objects[0]
    tracker.detach_all()
    assert tracker.index == {} and tracker.tracked_objects == []
    assert len(tracker.snapshots) == 1 and tracker.snapshots[0].tracked_total > 0
    with pytest.raises(RuntimeError, match="forgotten"):
        _ = view.birth
    Record(1)
    assert tracker.index == {}  # classes were detached too
    tracker.track_object(objs[0])
    assert len(tracker.tracked_objects) == 1


def test_clear_forgets_snapshots_too(tracker):
    tracker.track_object(Record(1))
    tracker.create_snapshot()
    tracker.clear()
    assert tracker.snapshots == [] and tracker.tracked_objects == []
    tracker.create_snapshot()
    assert len(tracker.snapshots) == 1


def test_closed_tracker_refuses_to_track_but_keeps_its_data():
    tracker = ClassTracker()
    tracker.track_class(Record)
    obj = Record(1)
    tracker.create_snapshot()
    tracker.close()
    tracker.close()  # twice is fine
    Record(1)
    assert len(tracker.tracked_objects) == 1
    for call in (lambda: tracker.track_class(Record), lambda: tracker.track_object(obj),
                 lambda: tracker.track_change(obj), tracker.create_snapshot,
                 tracker.start_periodic_snapshots):
        with pytest.raises(TrackerClosedError, match="closed"):
            call()
    assert tracker.closed
    assert len(tracker.snapshots) == 1
    tracker.stats.annotate()
    tracker.stop_periodic_snapshots()


def test_context_manager_closes():
    original = Record.__dict__["__init__"]
    with ClassTracker() as tracker:
        tracker.track_class(Record)
        assert Record.__dict__["__init__"] is not original
    assert tracker.closed and Record.__dict__["__init__"] is original


# -- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [42, "Record", Record(1), None, len])
def test_track_class_rejects_non_classes(tracker, bad):
    with pytest.raises(TypeError, match="only classes"):
        tracker.track_class(bad)


@pytest.mark.parametrize("builtin", [int, list, dict, object])
def test_track_class_rejects_builtin_types(tracker, builtin):
    with pytest.raises(TypeError, match="cannot track"):
        tracker.track_class(builtin)
    assert builtin() is not None


@pytest.mark.parametrize("level,error", [(-1, ValueError), (1.5, TypeError), ("1", TypeError), (True, TypeError)])
def test_bad_resolution_levels(tracker, level, error):
    with pytest.raises(error):
        tracker.track_class(Record, resolution_level=level)
    with pytest.raises(error):
        tracker.track_object(Record(1), resolution_level=level)


def test_bad_names(tracker):
    with pytest.raises(TypeError):
        tracker.track_class(Record, name=3)
    with pytest.raises(TypeError):
        tracker.track_object(Record(1), name=b"x")


def test_hostile_objects_do_not_break_snapshots(tracker):
    class Hostile:
        def __repr__(self):
            raise RuntimeError("no repr")

        def __sizeof__(self):
            return -5

    class Liar:
        def __sizeof__(self):
            raise ValueError("no size")

    tracker.track_object(h := Hostile(), resolution_level=1)
    tracker.track_object(liar := Liar())
    tracker.create_snapshot()
    reprs = {t.name: t.repr for t in tracker.tracked_objects}
    assert reprs["Hostile"] == "N/A"
    assert all(t.snapshots[-1][1].size > 0 for t in tracker.tracked_objects)
    assert h and liar


def test_tracking_from_several_threads(tracker):
    tracker.track_class(Record)
    tracker.start_periodic_snapshots(interval=0.005)
    errors = []
    keep = []

    def work(seed):
        try:
            mine = []
            for i in range(1500):
                obj = Record(i % 3)
                if i % 2:
                    mine.append(obj)
                if i % 100 == 0:
                    tracker.track_object([seed, i], name="list")
            keep.append(mine)
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    tracker.stop_periodic_snapshots()
    collect()
    tracker.create_snapshot()
    assert errors == []
    records = tracker.index["test_classtracker.Record"]
    assert len(records) == 6000
    assert sum(1 for t in records if t.death is None) == 3000
    assert len(tracker.snapshots) >= 2


def test_tracked_object_views(tracker):
    obj = Record(1)
    tracker.track_object(obj)
    view = tracker.tracked_objects[0]
    assert isinstance(view, TrackedObject)
    assert view is tracker.tracked_objects[0] is tracker.index["Record"][0] is tracker.objects[id(obj)]
    assert view.ref() is obj and view.name == view.classname == "Record"
    assert view.repr == "" or "Record" in view.repr
    assert "Record" in repr(view) and "alive" in repr(view)
    tracker.create_snapshot()
    assert view.repr == repr(obj)
    assert view.size == view.get_max_size() == view.snapshots[-1][1].size
    assert view.tsize == view.size


# -- agreement with pympler --------------------------------------------------------------------


def test_numbers_match_pympler_classtracker():
    pytest.importorskip("pympler")
    from pympler.classtracker import ClassTracker as PymplerTracker

    class Node:
        def __init__(self, i):
            self.label = f"node-{i}" * (i % 4 + 1)
            self.items = [i * 1000 + k for k in range(i % 6)]
            self.meta = {"i": i, "name": self.label}

    ours, theirs = ClassTracker(), PymplerTracker()
    theirs.track_class(Node, resolution_level=1)
    ours.track_class(Node, resolution_level=1)
    nodes = [Node(i) for i in range(40)]
    del nodes[5:15]
    collect()
    for a, b in zip(nodes, nodes[1:]):
        a.next = b  # tracked objects referencing tracked objects
    try:
        theirs.create_snapshot("s")  # first: pympler creates the instances' __dict__s
        ours.create_snapshot("s")
        pym = {t.id: t for t in theirs.index[f"{__name__}.Node"]}
        hs = {t.id: t for t in ours.index[f"{__name__}.Node"]}
        assert len(pym) == len(hs) == 40
        assert sorted(t.id for t in hs.values() if t.death is not None) == \
            sorted(t.id for t in pym.values() if t.death is not None)
        for obj in nodes:
            p = pym[id(obj)].snapshots[-1][1]
            h = hs[id(obj)].snapshots[-1][1]
            assert (h.size, h.flat) == (p.size, p.flat)
            assert [(r.name, r.size) for r in h.refs] == [(r.name, r.size) for r in p.refs]
        # pympler sizes None in place of each dead object: 16 bytes, counted once.
        dead_extra = 16 if any(t.death is not None for t in pym.values()) else 0
        assert theirs.snapshots[0].tracked_total == ours.snapshots[0].tracked_total + dead_extra
        p_classes = theirs.stats.annotate_snapshot(theirs.snapshots[0])
        h_classes = ours.stats.annotate_snapshot(ours.snapshots[0])
        p_node, h_node = p_classes[f"{__name__}.Node"], h_classes[f"{__name__}.Node"]
        assert h_node["active"] == p_node["active"] == 30
        assert h_node["sum"] + dead_extra == p_node["sum"]
        assert [(r.name, r.size) for r in h_node["merged"].refs] == [(r.name, r.size) for r in p_node["merged"].refs]
    finally:
        ours.close()
        theirs.close()


# -- memory ------------------------------------------------------------------------------------


def test_bookkeeping_is_small_and_released_by_detach_all(tracker):
    tracker.track_class(Record)
    objs = [Record(0) for _ in range(20000)]
    tracker.create_snapshot()
    busy = tracker._core.heap_bytes()
    # Records, indexes (with their spare capacity) and one snapshot's sizes.
    assert busy < 300 * len(objs)
    weakrefs = sum(1 for o in gc.get_objects() if type(o) is weakref.ref)
    tracker.detach_all()
    collect()
    assert weakrefs - sum(1 for o in gc.get_objects() if type(o) is weakref.ref) >= len(objs)
    assert tracker._core.heap_bytes() < busy / 10
    del objs


# -- the Python/Rust boundary ----------------------------------------------------------------


#: Counts the calls of ``_core`` functions and methods a snapshot makes. In a process of
#: its own: a profiler gives suspended generators (pytest's) frame objects that outlive it.
CALLS_INTO_CORE = """
import sys
from heapscope import _core
from heapscope.classtracker import ClassTracker

class Record:
    def __init__(self, n):
        self.values = [str(i) * 3 for i in range(n)]

class Slotted:
    __slots__ = ("payload",)

    def __init__(self, n):
        self.payload = list(range(n))

def calls_into_core(fn, *args, **kwargs):
    names = []

    def profile(frame, event, arg):
        owner = getattr(arg, "__self__", None)
        if event == "c_call" and (owner is _core or type(owner).__module__ == _core.__name__):
            names.append(arg.__name__)

    sys.setprofile(profile)
    try:
        fn(*args, **kwargs)
    finally:
        sys.setprofile(None)
    return names

tracker = ClassTracker()
tracker.track_class(Record)
objs = [Record(i % 7) for i in range(3000)]
tracker.track_object(objs[5], resolution_level=2)
tracker.track_object(slotted := Slotted(2))
assert calls_into_core(tracker.create_snapshot, "first") == ["take_snapshot"]
assert calls_into_core(tracker.create_snapshot, compute_total=True) == ["take_snapshot"]
assert len(tracker.snapshots) == 2 and tracker.snapshots[1].asizeof_total > tracker.snapshots[1].tracked_total
"""


def test_a_snapshot_is_one_call_into_the_core():
    import subprocess

    subprocess.run([sys.executable, "-c", CALLS_INTO_CORE], check=True)


def test_a_repr_that_interrupts_the_snapshot_propagates(tracker):
    class Interrupting:
        def __repr__(self):
            raise KeyboardInterrupt

    tracker.track_object(obj := Interrupting())
    with pytest.raises(KeyboardInterrupt):
        tracker.create_snapshot()
    assert tracker.snapshots == []
    del obj
    tracker.create_snapshot()
    assert len(tracker.snapshots) == 1


# -- calls made from code a snapshot runs -------------------------------------------------------
#
# Each runs in its own interpreter: before, these calls waited forever for the snapshot lock
# their own thread held.


def _run_child(program, timeout=60):
    import subprocess

    from catalog import run_isolated

    try:
        return run_isolated(program, timeout=timeout)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the program hung (no exit within {timeout} s)")


_REENTRY_PREAMBLE = """
import re
import threading
from heapscope.classtracker import ClassTracker

IN_PROGRESS = re.compile(r"^(create_snapshot|clear)\\(\\): a snapshot of this ClassTracker is in progress in this thread")
tracker = ClassTracker()
errors = []

def attempt(call):
    try:
        call()
    except RuntimeError as error:
        errors.append(str(error))
    else:
        errors.append("no error")
"""


def test_create_snapshot_and_clear_from_a_repr_during_a_snapshot_raise():
    _run_child(_REENTRY_PREAMBLE + """
class Reentrant:
    def __repr__(self):
        attempt(tracker.create_snapshot)
        attempt(tracker.clear)
        return "<Reentrant>"

obj = Reentrant()
tracker.track_object(obj)
tracker.create_snapshot("outer")
assert len(errors) == 2 and all(IN_PROGRESS.match(e) for e in errors), errors
# The outer snapshot is whole, clear() changed nothing, and both work once it is over.
assert [s.desc for s in tracker.snapshots] == ["outer"]
assert tracker.tracked_objects[0].repr == "<Reentrant>"
assert tracker.snapshots[0].tracked_total > 0
tracker.create_snapshot("after")
assert [s.desc for s in tracker.snapshots] == ["outer", "after"] and len(errors) == 4
tracker.clear()
assert tracker.snapshots == [] and tracker.tracked_objects == []
""")


def test_create_snapshot_and_clear_from_a_finalizer_during_a_snapshot_raise():
    _run_child(_REENTRY_PREAMBLE + """
class Finalized:
    # Cannot be weakly referenced: the tracker holds it and releases it at the next
    # snapshot, which so runs its __del__.
    __slots__ = ()

    def __del__(self):
        attempt(tracker.create_snapshot)
        attempt(tracker.clear)

tracker.track_object(Finalized())
tracker.track_object(kept := [1, 2, 3])
tracker.create_snapshot("outer")
assert len(errors) == 2 and all(IN_PROGRESS.match(e) for e in errors), errors
assert [s.desc for s in tracker.snapshots] == ["outer"]
assert [t.death is None for t in tracker.tracked_objects] == [False, True]

# Not caught: reported as an unraisable RuntimeError, and the snapshot goes on.
import sys
seen = []
sys.unraisablehook = lambda info: seen.append(info.exc_type)

class Raising:
    __slots__ = ()

    def __del__(self):
        tracker.create_snapshot()

tracker.track_object(Raising())
tracker.create_snapshot("second")
assert seen == [RuntimeError], seen
assert [s.desc for s in tracker.snapshots] == ["outer", "second"]
""")


def test_close_from_a_snapshot_while_the_periodic_thread_waits_for_it():
    # Two threads: a snapshot in the main thread runs a __repr__ that closes the tracker
    # while the periodic thread waits for that snapshot to end. close() used to wait for
    # the periodic thread, which waited for the main thread.
    _run_child(_REENTRY_PREAMBLE + """
import time

class Closing:
    def __repr__(self):
        tracker.start_periodic_snapshots(0.01)
        thread = tracker._periodic_thread
        time.sleep(0.3)  # the thread is waiting for the snapshot lock by now
        tracker.close()
        threads.append(thread)
        return "<Closing>"

threads = []
tracker.track_object(obj := Closing())
tracker.create_snapshot("main")
threads[0].join(10)
assert not threads[0].is_alive() and threads[0].error is None
# The periodic thread found the tracker closed: no snapshot after the main one.
assert [s.desc for s in tracker.snapshots] == ["main"]
""")
