"""heapscope.refgraph and heapscope.garbagegraph: Graphviz graphs of references."""

import gc
import io
import shutil

import pytest

from heapscope.garbagegraph import GarbageGraph, end_debug_garbage, start_debug_garbage
from heapscope.refgraph import GraphvizNotFound, ReferenceGraph

from catalog import pymplers_edges_named


class Node:
    def __init__(self, name):
        self.name = name
        self.next = None


def test_edges_are_labelled():
    a, b = [], {}
    a.append(b)
    b["back"] = a
    graph = ReferenceGraph([a, b])
    labels = {e.label for e in graph.edges}
    assert labels == {"", "back"}  # as pympler: a dict's key, nothing for a list's item
    assert graph.count == 2 and graph.total_size > 0


def test_dot_output(tmp_path):
    x = Node('say "hi"')
    y = Node("y")
    x.next, y.next = y, x
    graph = ReferenceGraph([x, y, x.__dict__, y.__dict__])
    path = tmp_path / "g.dot"
    graph.write_graph(str(path))
    dot = path.read_text()
    assert dot.startswith("// Process this file with graphviz\ndigraph G {\n")
    assert dot.rstrip().endswith("}")
    assert f'"X{id(x):x}" -> "X{id(x.__dict__):x}"' in dot or f'"X{id(x):x}"' in dot
    assert 'label="next"' in dot  # the key in the instance's __dict__, or the attribute
    assert '\\"hi\\"' in dot  # quotes in reprs are escaped


def test_reduce_keeps_only_cycles():
    a, b = [], {}
    a.append(b)
    b["a"] = a  # a <-> b
    c = []
    d = [c, a]  # refers into the cycle, not on it
    objs = [a, b, c, d]
    graph = ReferenceGraph(objs, reduce=True)
    kept = {id(o) for o in graph.objects}
    assert kept == {id(a), id(b)}
    assert graph.num_in_cycles == 2
    assert ReferenceGraph(objs).reduce_to_cycles().num_in_cycles == 2


def test_split_into_connected_groups():
    a, b = [], []
    a.append(b)
    lone = {}
    groups = ReferenceGraph([a, b, lone]).split_and_sort()
    assert sorted(g.count for g in groups) == [1, 2]


def test_render_without_dot_raises_clearly(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(GraphvizNotFound, match="Graphviz's 'dot' is not on PATH") as info:
        ReferenceGraph([[]]).render(str(tmp_path / "g.png"), format="png")
    assert isinstance(info.value, OSError)


def test_render_nothing_returns_false(tmp_path):
    assert ReferenceGraph([]).render(str(tmp_path / "g.png")) is False


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_render_png(tmp_path):
    a = []
    a.append(a)
    path = tmp_path / "g.png"
    assert ReferenceGraph([a]).render(str(path), format="png") is True
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_garbage_graph_finds_a_cycle():
    start_debug_garbage()
    try:
        cycle = Node("garbage")
        cycle.next = cycle
        del cycle
        graph = GarbageGraph(reduce=True)
        types_found = {md.type for md in graph.metadata}
        out = io.StringIO()
        graph.print_stats(out)
    finally:
        end_debug_garbage()
        gc.garbage.clear()
    assert "Node" in types_found
    text = out.getvalue()
    assert text.startswith("id ") and "Garbage:" in text and "in cycles" in text
    assert gc.get_debug() == 0 and gc.isenabled()


class _Slotted:
    __slots__ = ("held",)


class _BadRepr:
    def __repr__(self):
        raise ValueError("no repr")


class _Plain:
    pass


def test_edge_labels_of_each_kind():
    held, key, bad = [], ("k",), _BadRepr()
    slotted = _Slotted()
    slotted.held = held
    plain = _Plain()
    plain.attr = held
    mapping = {"x" * 40: held, key: 1, bad: held}
    graph = ReferenceGraph([mapping, held, key, slotted, plain, plain.__dict__, _Plain])
    labels = {(e.src, e.dst): e.label for e in graph.edges}
    assert labels[(id(mapping), id(held))] == "x" * 40  # the first key holding it
    assert labels[(id(mapping), id(key))] == ""  # only a key: no label
    assert labels[(id(slotted), id(held))] == "held"
    if (id(plain), id(plain.__dict__)) in labels:
        assert labels[(id(plain), id(plain.__dict__))] == "__dict__"
        assert labels[(id(plain.__dict__), id(held))] == "attr"
    else:  # 3.13+: the instance refers to its attribute values, not to its __dict__
        assert labels[(id(plain), id(held))] == "attr"
    assert labels[(id(plain), id(_Plain))] == "__class__"
    graph = ReferenceGraph([{bad: held}, held])
    assert {e.label for e in graph.edges} == {f"<_BadRepr object at {id(bad):#x}>"}
    graph = ReferenceGraph([{(1, 2): held}, held])
    assert {e.label for e in graph.edges} == {"(1, 2)"}  # pympler's is the key itself


def test_edge_labels_match_pymplers():
    pympler_refgraph = pytest.importorskip("pympler.refgraph")
    held = []
    slotted = _Slotted()
    slotted.held = held
    plain = _Plain()
    plain.attr = held
    plain.again = held

    def function():
        return held

    objects = [{"x": held, "y": held}, held, (held,), [held], slotted, plain, plain.__dict__, _Plain,
               function, function.__closure__, {}, type("Made", (), {"held": held})]
    ours = {(e.src, e.dst, e.label) for e in ReferenceGraph(objects).edges}
    theirs = {(e.src, e.dst, e.label) for e in pympler_refgraph.ReferenceGraph(objects).edges}
    assert ours == pymplers_edges_named(theirs, objects)
    assert (id(plain), id(held), "attr") in ours or (id(plain.__dict__), id(held), "attr") in ours
