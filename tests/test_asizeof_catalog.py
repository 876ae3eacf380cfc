"""Differential tests: heapscope.asizeof against pympler.asizeof over a
catalog of objects.  Every comparison first lets pympler materialise any
instance dicts it would create, so that both tools measure the same heap.
"""
import array
import sys

import pytest

from catalog import (
    ARRAY_NAMES,
    BUILTIN_NAMES,
    CATALOG,
    CATALOG_DICT,
    CATALOG_NAMES,
    WORD,
    aligned,
    build_catalog,
    groups_of,
    materialise,
)


def test_catalog_is_large_and_unique():
    assert len(CATALOG) >= 150
    assert len(set(CATALOG_NAMES)) == len(CATALOG_NAMES)


@pytest.mark.parametrize("name", CATALOG_NAMES)
def test_asizeof_matches_pympler(name, hs, pa, no_gc):
    obj = CATALOG_DICT[name]
    materialise(obj)
    before = pa.asizeof(obj)
    got = hs.asizeof(obj)
    after = pa.asizeof(obj)
    # heapscope must not have changed what pympler sees ...
    assert before == after, "heap changed while heapscope measured %s" % name
    # ... and must agree with it
    assert isinstance(got, int)
    assert got == after, "%s: heapscope %d != pympler %d" % (name, got, after)


@pytest.mark.parametrize("name", CATALOG_NAMES)
def test_asizeof_is_repeatable(name, hs, no_gc):
    obj = CATALOG_DICT[name]
    materialise(obj)
    first = hs.asizeof(obj)
    assert hs.asizeof(obj) == first
    assert first % 8 == 0


@pytest.mark.parametrize("name", CATALOG_NAMES)
def test_flatsize_matches_pympler(name, hs, pa):
    obj = CATALOG_DICT[name]
    materialise(obj)
    # pympler's flatsize() does not align unless asked to
    assert hs.flatsize(obj) == pa.flatsize(obj)
    assert hs.flatsize(obj, align=8) == pa.flatsize(obj, align=8)
    assert hs.flatsize(obj, align=16) == pa.flatsize(obj, align=16)


PYMPLER_DEBUG_HEADER = 2 * WORD if hasattr(sys, "gettotalrefcount") else 0


def test_basicsize_is_the_real_one_on_every_build(hs):
    assert hs.basicsize(object()) == object.__basicsize__
    assert hs.basicsize(1.5) == float.__basicsize__


@pytest.mark.parametrize("name", CATALOG_NAMES)
def test_basicsize_itemsize_leng_match_pympler(name, hs, pa):
    obj = CATALOG_DICT[name]
    materialise(obj)
    # On a debug interpreter pympler adds the two words of a Py_TRACE_REFS header to
    # the basic size of every type but `array.array` (which it takes from
    # `sys.getsizeof`); debug builds have had no such header since 3.8
    # (docs/differences.md).
    extra = 0 if isinstance(obj, array.array) else PYMPLER_DEBUG_HEADER
    assert hs.basicsize(obj) == pa.basicsize(obj) - extra
    assert hs.itemsize(obj) == pa.itemsize(obj)
    assert hs.leng(obj) == pa.leng(obj)


def _ids(refs):
    return [id(r) for r in (refs or ())]


@pytest.mark.parametrize("name", CATALOG_NAMES)
def test_refs_and_named_refs_match_pympler(name, hs, pa):
    obj = CATALOG_DICT[name]
    materialise(obj)
    assert _ids(hs.refs(obj)) == _ids(pa.refs(obj))
    got = [(n, id(r)) for n, r in hs.named_refs(obj)]
    want = [(n, id(r)) for n, r in pa.named_refs(obj)]
    assert got == want


@pytest.mark.parametrize("group", groups_of(CATALOG_NAMES, 3), ids="-".join)
def test_asizesof_groups_match_pympler(group, hs, pa, no_gc):
    objs = [CATALOG_DICT[n] for n in group]
    materialise(objs)
    got = hs.asizesof(*objs)
    want = pa.asizesof(*objs)
    assert isinstance(got, tuple)
    assert len(got) == len(objs)
    assert got == want
    # the combined size counts shared referents once, like pympler
    assert hs.asizeof(*objs) == pa.asizeof(*objs)


def test_asizeof_of_whole_catalog_matches_pympler(hs, pa, no_gc):
    objs = [o for _, o in CATALOG]
    materialise(objs)
    want = pa.asizeof(*objs)
    assert hs.asizeof(*objs) == want
    assert hs.asizeof(objs) == pa.asizeof(objs)
    assert hs.asizesof(*objs) == pa.asizesof(*objs)


def _compare_asized(got, want, path):
    where = " at " + " / ".join(path)
    assert got.name == want.name, "name" + where
    assert got.size == want.size, "size of %r%s" % (want.name, where)
    assert got.flat == want.flat, "flat of %r%s" % (want.name, where)
    assert isinstance(got.refs, tuple), "refs type" + where
    assert len(got.refs) == len(want.refs), "number of refs of %r%s: %r vs %r" % (
        want.name, where, [r.name for r in got.refs], [r.name for r in want.refs])
    for g, w in zip(got.refs, want.refs):
        _compare_asized(g, w, path + [str(w.name)[:40]])


@pytest.mark.parametrize("name", CATALOG_NAMES)
def test_asized_tree_matches_pympler(name, hs, pa, no_gc):
    obj = CATALOG_DICT[name]
    materialise(obj)
    want = pa.asized(obj, detail=2)
    got = hs.asized(obj, detail=2)
    _compare_asized(got, want, [name])
    assert got.size == hs.asizeof(obj)


@pytest.mark.parametrize("detail", [0, 1, 3])
def test_asized_detail_levels_match_pympler(detail, hs, pa, no_gc):
    obj = [CATALOG_DICT[n] for n in ("records_list", "binary_tree", "mixed_nesting",
                                     "slots_inherited_3_levels", "dict_nested")]
    materialise(obj)
    _compare_asized(hs.asized(obj, detail=detail), pa.asized(obj, detail=detail),
                    ["detail=%d" % detail])


@pytest.mark.parametrize("group", groups_of(CATALOG_NAMES[::7], 2), ids="-".join)
def test_asized_several_objects_matches_pympler(group, hs, pa, no_gc):
    objs = [CATALOG_DICT[n] for n in group]
    materialise(objs)
    got = hs.asized(*objs, detail=1)
    want = pa.asized(*objs, detail=1)
    if len(objs) == 1:
        got, want = (got,), (want,)
    assert isinstance(got, tuple) and len(got) == len(want)
    for g, w, n in zip(got, want, group):
        _compare_asized(g, w, [n])


def test_heapscope_leaves_sizes_unchanged(hs, pa, capsys, no_gc):
    # a freshly built catalog, so that earlier tests cannot have changed it
    fresh = build_catalog()
    objs = [o for _, o in fresh]
    materialise(objs)
    before = pa.asizesof(*objs)
    hs.asizeof(*objs)
    hs.asizesof(*objs)
    hs.asized(*objs, detail=4)
    for o in objs:
        hs.named_refs(o)
        list(hs.refs(o) or ())
        hs.flatsize(o)
    hs.asizeof(objs, stats=3, above=0)
    capsys.readouterr()
    after = pa.asizesof(*objs)
    changed = ["%s: %d -> %d" % (n, b, a)
               for (n, _), b, a in zip(fresh, before, after) if a != b]
    assert not changed, "measuring with heapscope changed: " + ", ".join(changed)


@pytest.mark.parametrize("name", BUILTIN_NAMES + ARRAY_NAMES)
def test_flatsize_is_getsizeof_for_builtins(name, hs):
    obj = CATALOG_DICT[name]
    size = sys.getsizeof(obj)
    assert hs.flatsize(obj) == size
    assert hs.flatsize(obj, align=8) == aligned(size, 8)
    assert hs.flatsize(obj, align=16) == aligned(size, 16)
    # limit=0 sizes only the object itself, aligned to the default 8 bytes
    assert hs.asizeof(obj, limit=0) == aligned(size, 8)
