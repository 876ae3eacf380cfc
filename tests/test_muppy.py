"""heapscope.muppy against pympler.muppy (the oracle)."""

import gc
import io
import sys
import warnings
import weakref

import pytest
from pympler import muppy as pmup

from heapscope import muppy as hmup
from heapscope import summary as hsum


class Foo:
    pass


class Dead:
    pass


class ClaimsToBeAFrame:
    @property
    def __class__(self):
        return type(sys._getframe())


class NoAttributes:
    def __getattribute__(self, name):
        raise RuntimeError("nothing here")


class WarnsOnEveryAttribute:
    """As ``torch.distributed.reduce_op``: a deprecated object whose every attribute
    access (``__class__`` included) gives a ``FutureWarning``."""

    def __getattribute__(self, name):
        warnings.warn("WarnsOnEveryAttribute is deprecated", FutureWarning, stacklevel=2)
        return object.__getattribute__(self, name)


def ids(objects):
    return {id(o) for o in objects}


def test_get_objects_is_pymplers_list():
    keep = [Foo() for _ in range(1000)]  # noqa: F841
    # pympler's census asks objects whether they are frames with warnings on: one that
    # warns (torch.distributed.reduce_op) adds to a module's __warningregistry__, which
    # becomes tracked after pympler's gc.get_objects() and so drops out of its own list.
    # A first census makes those registries once.
    pmup.get_objects()
    mine = hmup.get_objects()
    theirs = pmup.get_objects()
    # Everything heapscope lists is in pympler's list; pympler's also holds heapscope's
    # list (made before it) and what was made in between.
    mine_ids, their_ids = ids(mine), ids(theirs)
    assert mine_ids <= their_ids, [(type(o), repr(o)[:200]) for o in mine if id(o) not in their_ids]
    extra = [o for o in theirs if id(o) not in mine_ids]
    assert any(o is mine for o in extra)
    assert len(extra) < 10, [type(o) for o in extra]
    assert len(mine) == len(set(ids(mine)))


def test_get_objects_order():
    # pympler's order: untracked referents first, then tracked objects. (A collection
    # can untrack tuples and dicts afterwards: keep the collector off meanwhile.)
    gc.disable()
    try:
        mine = hmup.get_objects()
        first_tracked = next(i for i, o in enumerate(mine) if gc.is_tracked(o))
        assert not any(gc.is_tracked(o) for o in mine[:first_tracked])
        assert all(gc.is_tracked(o) for o in mine[first_tracked:])
    finally:
        gc.enable()


def test_get_objects_leaves_out_frames_and_dead_proxies():
    dead = Dead()
    proxy = weakref.proxy(dead)
    del dead
    liar = ClaimsToBeAFrame()
    closed = NoAttributes()
    here = sys._getframe()
    objects = hmup.get_objects()
    found = ids(objects)
    assert id(here) not in found
    assert not any(type(o).__name__ == "frame" for o in objects)
    assert id(proxy) not in found and pmup.ignore_object(proxy) and hmup.ignore_object(proxy)
    assert id(liar) not in found and pmup.ignore_object(liar)
    assert id(closed) in found


def test_looking_at_the_heap_gives_no_warning_about_its_objects():
    # The census asks such an object whether it is a frame, through Python; the views
    # describe it by its __name__ or repr. None of that warns, and the filters stay.
    import heapscope

    deprecated = WarnsOnEveryAttribute()
    deprecated.payload = bytes(64 << 20)  # retains the most: described by both views
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        filters = list(warnings.filters)
        assert id(deprecated) in ids(hmup.get_objects())
        hsum.summarize_heap()
        hsum.summarize_heap(census="pympler")
        assert "WarnsOnEveryAttribute" in heapscope.dominator_tree().format()
        assert "WarnsOnEveryAttribute" in str(heapscope.leak_suspects())
        assert warnings.filters == filters
        assert [str(w.message) for w in seen] == []
        # pympler asks the same question and warns: the test can see a warning.
        pmup.get_objects()
        assert "WarnsOnEveryAttribute is deprecated" in {str(w.message) for w in seen}


def test_a_census_does_not_make_warnings_shown_once_show_again():
    # Ignoring warnings must not tell the modules' __warningregistry__ that the filters
    # changed: a warning the program has shown would show again after every census.
    def warn_here():
        warnings.warn("shown once", UserWarning, stacklevel=1)

    deprecated = WarnsOnEveryAttribute()  # noqa: F841 (a census asks it about itself)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("default")
        warn_here()
        warn_here()
        assert len(seen) == 1
        hmup.get_objects()
        hsum.summarize_heap()
        warn_here()
        assert [str(w.message) for w in seen] == ["shown once"]


def test_untracked_containers_are_found_through_their_holders():
    holder = [(i, str(i)) for i in range(500)]
    # The collector stops tracking dicts of atomic values up to 3.13; from 3.14 on it
    # keeps tracking them.
    untracked_dicts = sys.version_info < (3, 14)
    if untracked_dicts:
        holder += [{"a": i} for i in range(500)]
    gc.collect()
    assert not any(gc.is_tracked(o) for o in holder)
    found = ids(hmup.get_objects())
    assert all(id(o) in found for o in holder)
    counts = {row[0]: row[1] for row in hsum.summarize_heap()}
    assert counts["tuple"] >= 500
    assert counts["dict"] >= (500 if untracked_dicts else 0)


def test_types_count_as_tracked_only_when_the_collector_tracks_them():
    # Static types have no GC header; classes do and are tracked. Both are found.
    holder = [int, Foo, {"untracked": 1}, {"tracked": []}]
    gc.disable()
    try:
        objects = hmup.get_objects()
        positions = {id(o): i for i, o in enumerate(objects)}
        first_tracked = next(i for i, o in enumerate(objects) if gc.is_tracked(o))
        for obj in holder:
            assert id(obj) in positions, obj
            assert (positions[id(obj)] >= first_tracked) == gc.is_tracked(obj), obj
        assert not gc.is_tracked(int) and gc.is_tracked(Foo)
    finally:
        gc.enable()


def count_identical(objects, target):
    count = 0
    for o in objects:
        count += o is target
    return count


def test_without_remove_dups_shared_objects_repeat():
    shared = "a string only these lists share " + str(id(object()))
    holders = [[shared], [shared], [shared]]  # noqa: F841  (no comprehension: no cell)
    mine = hmup.get_objects(remove_dups=False)
    assert count_identical(mine, shared) == 3
    del mine
    assert count_identical(pmup.get_objects(remove_dups=False), shared) == 3
    assert count_identical(hmup.get_objects(), shared) == 1


def test_include_frames():
    def inner():
        return hmup.get_objects(include_frames=True), pmup.get_objects(include_frames=True)

    def trailing_frames(objects):
        # The frames appended at the end (live frames can also be found earlier, as
        # untracked objects referred to by tracked ones, in both lists).
        names = []
        for o in reversed(objects):
            if type(o).__name__ != "frame":
                break
            names.append(o.f_code.co_name)
        return names[::-1]

    mine, theirs = inner()
    assert trailing_frames(mine) == trailing_frames(theirs)
    assert trailing_frames(mine)[0] == "test_include_frames"


def test_get_size_sort_filter():
    objects = ["x" * n for n in (50, 5, 500)] + [[1, 2], {}, 7]
    assert hmup.get_size(objects) == pmup.get_size(objects) == sum(sys.getsizeof(o) for o in objects)
    assert hmup.sort(objects) == pmup.sort(objects)
    for kwargs in [{}, {"Type": str}, {"min": 60}, {"max": 100}, {"Type": (str, list), "min": 10, "max": 600}]:
        assert hmup.filter(objects, **kwargs) == pmup.filter(objects, **kwargs), kwargs
    with pytest.raises(ValueError):
        hmup.filter(objects, min=10, max=5)


def test_get_diff_by_identity():
    a, b, c = Foo(), Foo(), Foo()
    left, right = [a, b, 1], [b, c, c, "new"]
    mine = hmup.get_diff(left, right)
    theirs = pmup.get_diff(left, right)
    assert set(mine) == {"+", "-"}
    for key in "+-":
        assert [id(o) for o in mine[key]] == [id(o) for o in theirs[key]]


def test_get_referents():
    inner = [1, 2]
    outer = [inner, "s"]
    assert ids(hmup.get_referents(outer)) == ids(pmup.get_referents(outer))
    assert ids(hmup.get_referents(outer, level=2)) == ids([inner, "s", 1, 2])
    cycle = []
    cycle.append(cycle)
    assert hmup.get_referents(cycle, level=5) == [cycle]  # pympler never returns here


def test_helpers():
    assert hmup._is_containerobject([]) and not hmup._is_containerobject(1)
    assert pmup._is_containerobject([]) and not pmup._is_containerobject(1)
    x = object()
    assert hmup._remove_duplicates([x, 1, x]) == [x, 1]


LEAK = []


def leaky():
    LEAK.extend(Foo() for _ in range(100))


def test_get_usage_reports_what_a_function_leaves_behind():
    rows = {row[0]: row[1] for row in hmup.get_usage(leaky)}
    assert rows[f"{__name__}.Foo"] == 100
    # Nothing of ours; at most a stray object freed by whatever ran before.
    noop = hmup.get_usage(lambda: None)
    assert noop is None or all(abs(row[1]) < 10 for row in noop), noop


def test_print_summary():
    out = io.StringIO()
    hmup.print_summary(file=out)
    lines = out.getvalue().splitlines()
    assert lines[0].split() == ["types", "|", "#", "objects", "|", "total", "size"]
    assert set(lines[1]) == {"=", " ", "|"}
    assert len(lines) == 2 + 15


def test_huge_bounds_and_levels():
    # pympler takes any int; these raised OverflowError (filter) or spun through
    # range(level - 1) after the last new referent (get_referents: a hang).
    objs = [1, "a", [2]]
    assert hmup.filter(objs, min=10 ** 30) == []
    assert hmup.filter(objs, max=10 ** 30) == objs
    assert hmup.filter(objs, min=-(10 ** 30)) == objs
    assert len(hmup.get_referents([[1]], level=10 ** 30)) == 2
