"""heapscope.garbagegraph against pympler's: the edges and their labels, the split into
connected groups, and the cycles the collector could not free."""

import gc
import weakref

import pytest

from heapscope.garbagegraph import GarbageGraph, end_debug_garbage, start_debug_garbage
from heapscope.refgraph import ReferenceGraph, _Edge

from catalog import instances_refer_to_their_dict, pymplers_edges_named


class Foo:
    def __init__(self):
        self.foo = "foo"


class Bar(Foo):
    def __init__(self):
        super().__init__()
        self.bar = "bar"


class Slotted:
    __slots__ = ("other", "__weakref__")


class Enemy:
    def __del__(self):
        pass


@pytest.fixture
def garbage():
    """Collects and stops automatic collection; afterwards clears what was kept."""
    start_debug_garbage()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        yield
    finally:
        end_debug_garbage()
        gc.garbage.clear()


def make_cycles():
    """Cycles of several kinds, dropped: ids of the objects by name."""
    foo, bar = Foo(), Bar()
    foo.next = bar
    bar.prev = foo
    looped = []
    looped.append(looped)
    first, second = {"to": None}, {"back": None}
    first["to"], second["back"] = second, first
    pair = ([], None)
    pair[0].append(pair)
    slotted, other = Slotted(), Slotted()
    slotted.other, other.other = other, slotted
    ids = {name: id(o) for name, o in [
        ("foo", foo), ("bar", bar), ("foo.__dict__", foo.__dict__), ("bar.__dict__", bar.__dict__),
        ("looped", looped), ("first", first), ("second", second), ("pair", pair), ("pair[0]", pair[0]),
        ("slotted", slotted), ("other", other)]}
    return ids


def edges_of(graph):
    return {(e.src, e.dst, e.label) for e in graph.edges}


def test_edges_and_labels_are_pymplers(garbage):
    pympler_refgraph = pytest.importorskip("pympler.refgraph")
    ids = make_cycles()
    graph = GarbageGraph()
    via_dict = instances_refer_to_their_dict()
    if not via_dict:  # 3.13: the collector never sees the instances' dicts as garbage
        del ids["foo.__dict__"], ids["bar.__dict__"]
    assert set(ids.values()) <= {md.id for md in graph.metadata}
    theirs = pympler_refgraph.ReferenceGraph(list(gc.garbage))
    assert edges_of(graph) == pymplers_edges_named({(e.src, e.dst, e.label) for e in theirs.edges}, gc.garbage)
    ours = edges_of(graph)
    if via_dict:
        assert (ids["foo"], ids["foo.__dict__"], "__dict__") in ours
        assert (ids["foo.__dict__"], ids["bar"], "next") in ours
        assert (ids["bar.__dict__"], ids["foo"], "prev") in ours
    else:  # pympler labels these two "": it finds no name for an instance's referent
        assert (ids["foo"], ids["bar"], "next") in ours
        assert (ids["bar"], ids["foo"], "prev") in ours
    assert (ids["looped"], ids["looped"], "") in ours  # items of lists have no name
    assert (ids["first"], ids["second"], "to") in ours
    assert (ids["pair"], ids["pair[0]"], "") in ours and (ids["pair[0]"], ids["pair"], "") in ours
    assert (ids["slotted"], ids["other"], "other") in ours


def test_split_gives_pymplers_groups(garbage):
    pympler_refgraph = pytest.importorskip("pympler.refgraph")
    ids = make_cycles()
    graph = GarbageGraph()
    subs = graph.split_and_sort()
    theirs = pympler_refgraph.ReferenceGraph(list(gc.garbage)).split_and_sort()

    def groups(graphs, named=set):
        return sorted((g.count, sorted(md.id for md in g.metadata), sorted(named(edges_of(g)))) for g in graphs)

    assert groups(subs) == groups(theirs, named=lambda edges: pymplers_edges_named(edges, gc.garbage))
    assert all(type(sub) is GarbageGraph for sub in subs)
    assert [sub.index for sub in subs] == list(range(len(subs)))
    assert [sub.count for sub in subs] == sorted((sub.count for sub in subs), reverse=True)
    (foobar,) = [sub for sub in subs if ids["foo"] in {md.id for md in sub.metadata}]
    assert foobar.count == len(foobar.objects) == (4 if instances_refer_to_their_dict() else 2)
    assert foobar.total_size == sum(md.size for md in foobar.metadata)
    assert {e.group for e in foobar.edges} == {md.group for md in foobar.metadata} == {foobar.metadata[0].group}


def test_split_joins_what_is_connected_either_way():
    # c refers to a and b; d to c: one group, whatever the order of the objects.
    a, b = [], []
    c = [a, b]
    d = [c]
    lone = []
    for objects in ([a, b, c, d, lone], [d, lone, b, a, c], [lone, a, d, b, c]):
        subs = ReferenceGraph(objects).split_and_sort()
        assert [sub.count for sub in subs] == [4, 1]
        assert {id(o) for o in subs[0].objects} == {id(a), id(b), id(c), id(d)}
        assert [id(o) for o in subs[1].objects] == [id(lone)]
    assert list(ReferenceGraph([]).split()) == []


def test_uncollectable_cycles_only(garbage):
    foo = Foo()
    foo.parent = foo
    enemy = Enemy()
    enemy.parent = enemy
    del foo, enemy
    graph = GarbageGraph(collectable=False)
    # Since PEP 442 (3.4) the collector frees cycles with __del__ too: none is left.
    assert graph.count == 0 and graph.metadata == []
    assert graph.reduce_to_cycles() is None
    assert graph.num_in_cycles == 0


def test_reduce_to_cycles_keeps_the_class_and_marks_the_cycles(garbage):
    holder = []
    holder.append(holder)
    holder.append(Foo())  # refers into nothing of the garbage that refers back
    del holder
    graph = GarbageGraph()
    reduced = graph.reduce_to_cycles()
    assert type(reduced) is GarbageGraph and reduced is graph.reduce_to_cycles()
    assert graph.num_in_cycles == reduced.num_in_cycles == reduced.count == 1
    assert all(md.cycle for md in reduced.metadata) and not any(md.cycle for md in graph.metadata)
    assert graph.count > 1
    already = GarbageGraph(reduce=True)
    assert already.reduce_to_cycles() is already


def test_a_reduced_graph_does_not_keep_itself_alive(garbage):
    # Automatic collection is off here: a graph referring to itself would stay, with
    # every object it holds, until the next collection.
    looped = []
    looped.append(looped)
    del looped
    graph = GarbageGraph(reduce=True)
    gone = weakref.ref(graph)
    sub = graph.split_and_sort()[0]
    gone_sub = weakref.ref(sub)
    del graph, sub
    assert gone() is None and gone_sub() is None


def test_labels_of_keys_that_are_not_strings():
    held = []
    mapping = {7: held, ("k",): held}
    (edge,) = ReferenceGraph([mapping, held]).edges
    assert edge == _Edge(id(mapping), id(held), "7")  # pympler's label is the key itself: 7
    key = ("k",)
    assert {e.label for e in ReferenceGraph([{key: 1}, key]).edges} == {""}  # a key is no value
