"""Retained sizes: heapscope.retained_size, retained_top and retained_by_type."""
import ctypes
import gc
import random
import sys

import pytest
from catalog import run_isolated
from test_ctrl_c import HEAP, PRELUDE, _check, _results

import heapscope
from heapscope.asizeof import asizeof


class Node:
    __slots__ = ("payload", "child")

    def __init__(self, payload, child=None):
        self.payload = payload
        self.child = child


def fresh_str(i):
    return "fresh-%d-" % i + str(i * 7919)


def own(x):
    """asizeof with sys.getsizeof's sizes (for builtin containers of fresh objects)."""
    return asizeof(x, align=1)


def node_size(node):
    """What a Node owns: itself and its payload (asizeof also counts None, which every
    instance shares)."""
    payload = node.payload
    items = payload if isinstance(payload, list) else []
    return sys.getsizeof(node) + sys.getsizeof(payload) + sum(map(sys.getsizeof, items))


class WithDict:
    def __init__(self, payload):
        self.payload = payload


def test_lists_of_fresh_strings_are_retained_whole():
    x = [fresh_str(i) for i in range(1000)]
    assert heapscope.retained_size(x) == own(x) == sys.getsizeof(x) + sum(map(sys.getsizeof, x))


def test_dicts_of_fresh_objects_are_retained_whole():
    d = {fresh_str(i): [float(i), fresh_str(-i)] for i in range(300)}
    assert heapscope.retained_size(d) == own(d)


def test_nested_instances_are_retained_whole():
    n = None
    for i in range(50):
        n = Node([fresh_str(i), float(i) + 0.25], n)
    retained = heapscope.retained_size(n)
    expected, node = 0, n
    while node is not None:
        expected += node_size(node)
        node = node.child
    assert retained == expected


def test_a_ring_held_once_is_retained_by_its_holder():
    ring = [Node(fresh_str(i)) for i in range(20)]
    for i, node in enumerate(ring):
        node.child = ring[(i + 1) % len(ring)]
    holder = [ring[0]]
    expected = sys.getsizeof(holder) + sum(map(node_size, ring))
    del ring, node
    assert heapscope.retained_size(holder) == expected
    # The first member is the only way in: it retains the whole ring, the holder aside.
    assert heapscope.retained_size(holder[0]) == expected - sys.getsizeof(holder)


def test_a_string_two_lists_hold_is_retained_by_neither():
    s = fresh_str(10**6) * 100
    a, b = [s], [s]
    del s
    assert heapscope.retained_size(a) == sys.getsizeof(a)
    assert heapscope.retained_size(b) == sys.getsizeof(b)
    holder = [a, b]
    lists, string = 2 * sys.getsizeof(a), sys.getsizeof(a[0])
    del a, b
    assert heapscope.retained_size(holder) == sys.getsizeof(holder) + lists + string


def test_an_object_held_only_from_c_is_a_root():
    held = [fresh_str(i) for i in range(2000)]
    size = own(held)
    address = id(held)
    ctypes.pythonapi.Py_IncRef(ctypes.py_object(held))
    del held
    try:
        top = heapscope.retained_top(10_000)
        [entry] = [e for e in top if id(e.obj) == address]
        assert entry.root == "held from C"
        assert entry.retained == size
        del entry, top
    finally:
        ctypes.pythonapi.Py_DecRef(ctypes.cast(address, ctypes.py_object))


def test_retained_top_and_by_type_tables():
    keep = [Node(fresh_str(i)) for i in range(5000)]
    top = heapscope.retained_top(5)
    assert len(top) == 5
    assert [e.retained for e in top] == sorted((e.retained for e in top), reverse=True)
    assert all(e.retained >= e.flat for e in top)
    assert "retained" in str(top) and "<table" in top._repr_html_()
    types = heapscope.retained_by_type(50)
    [nodes] = [t for t in types if t.type_name.endswith("test_retained.Node")]
    assert nodes.count == len(keep)
    # The nodes retain themselves, their dicts and their strings, nothing else.
    assert nodes.retained == sum(map(node_size, keep))
    assert "count" in str(types)
    with pytest.raises(ValueError, match="0 or more"):
        heapscope.retained_top(-1)


def _networkx_or_naive():
    try:
        import networkx
    except ImportError:
        return None
    return networkx


def _immediate_dominators(n, edges, root):
    """networkx's immediate_dominators if installed, else iterative data flow."""
    nx = _networkx_or_naive()
    if nx is not None:
        g = nx.DiGraph()
        g.add_nodes_from(range(n))
        g.add_edges_from(edges)
        return nx.immediate_dominators(g, root)
    succ = {v: [b for a, b in edges if a == v] for v in range(n)}
    reached, stack = {root}, [root]
    while stack:
        for w in succ[stack.pop()]:
            if w not in reached:
                reached.add(w)
                stack.append(w)
    preds = {v: [a for a, b in edges if b == v and a in reached] for v in reached}
    dom = {v: set(reached) for v in reached}
    dom[root] = {root}
    changed = True
    while changed:
        changed = False
        for v in reached - {root}:
            new = {v} | set.intersection(*(dom[p] for p in preds[v]))
            if new != dom[v]:
                dom[v], changed = new, True
    idom = {root: root}
    for v in reached - {root}:
        strict = dom[v] - {v}
        idom[v] = next(d for d in strict if strict <= dom[d])
    return idom


def test_random_graphs_of_lists_match_a_reference_dominator_tree():
    rng = random.Random(13)
    for _ in range(8):
        n = rng.randint(2, 12)
        nodes = [[] for _ in range(n)]
        edges = set()
        for _ in range(rng.randint(n, 3 * n)):
            a, b = rng.randrange(n), rng.randrange(n)
            if (a, b) not in edges:
                edges.add((a, b))
                nodes[a].append(nodes[b])
        idom = _immediate_dominators(n, sorted(edges), 0)
        sizes = [sys.getsizeof(x) for x in nodes]
        addresses = [id(x) for x in nodes]
        root = nodes[0]
        del nodes
        gc.collect()  # the lists no root reaches are freed
        children = {v: [] for v in idom}
        idom.pop(0, None)
        children[0] = []
        for v, d in idom.items():
            if v != d:
                children[d].append(v)

        def dominated(v, sizes=sizes, children=children):
            total, stack = 0, [v]
            while stack:
                u = stack.pop()
                total += sizes[u]
                stack.extend(children[u])
            return total

        for v in [0, *idom]:
            # Held by this frame too: an extra root, which changes nothing v dominates.
            obj = root if v == 0 else ctypes.cast(addresses[v], ctypes.py_object).value
            assert heapscope.retained_size(obj) == dominated(v), (n, sorted(edges), v)
            del obj
        del root


def test_a_million_long_chain_of_lists():
    out = run_isolated("""
import sys, heapscope
chain = None
for _ in range(1_000_000):
    chain = [chain]
print(heapscope.retained_size(chain) == 1_000_000 * sys.getsizeof([None]))
""", timeout=300)
    assert out.split()[-1] == "True"


def test_ctrl_c_stops_retained_size():
    out = run_isolated(PRELUDE + HEAP.format(n=1_000_000) + "import heapscope\n"
                       + "show(interrupt(uncollected(lambda: heapscope.retained_size(heap))))\n", timeout=300)
    [result] = _results(out)
    _check(result)
