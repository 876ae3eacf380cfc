"""Retained sizes: heapscope.retained_size, retained_top and retained_by_type."""
import ctypes
import gc
import random
import sys
import weakref

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


class Cyclic:
    pass


def test_garbage_keeps_nothing_alive_and_is_not_collected():
    # A cycle no root reaches refers to the payload the holder owns: retained_size
    # leaves the garbage out of the tree, as a collection would, without running one.
    gc.collect()
    gc.disable()
    try:
        payload = [fresh_str(i) for i in range(500)]
        holder = [payload]
        expected = sys.getsizeof(holder) + own(payload)
        garbage = Cyclic()
        garbage.self = garbage
        garbage.payload = payload
        alive = weakref.ref(garbage)
        del garbage, payload
        assert heapscope.retained_size(holder) == expected
        assert alive() is not None
    finally:
        gc.enable()
        gc.collect()


def test_an_object_held_only_from_c_is_a_root():
    held = [fresh_str(i) for i in range(2000)]
    size = own(held)
    address = id(held)
    ctypes.pythonapi.Py_IncRef(ctypes.py_object(held))
    del held
    try:
        top = heapscope.retained_top(10_000, deep=False)
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


@pytest.mark.parametrize(
    "call", ["retained_size(heap)", "dominator_tree()", "leak_suspects()", "retained_top(20)"]
)
def test_ctrl_c_stops_retained_size(call):
    out = run_isolated(PRELUDE + HEAP.format(n=1_000_000) + "import heapscope\n"
                       + f"show(interrupt(uncollected(lambda: heapscope.{call})))\n", timeout=300)
    [result] = _results(out)
    _check(result)


class Record:
    def __init__(self, i):
        self.name = fresh_str(i)
        self.payload = [i, float(i)]


def test_retained_top_entries_carry_deep_sizes_and_dominator_paths():
    import types

    app = types.ModuleType("retained_app")
    sys.modules["retained_app"] = app
    try:
        # Held by the module only (a local would make it reached from two roots).
        app.cache = {fresh_str(i): Record(i) for i in range(20_000)}
        top = heapscope.retained_top(10)
        [entry] = [e for e in top if e.obj is app.cache]
        assert entry.deep == asizeof(app.cache)
        assert str(entry.path) == "module 'retained_app' → dict['cache'] → dict"
        assert entry.path.steps[-1].address == id(app.cache)
        assert "module 'retained_app' → dict['cache'] → dict" in str(top)
        assert "kept alive by" in str(top) and "deep" in top._repr_html_()
        del entry, top  # the table holds the cache: another root
        types_ = heapscope.retained_by_type(30)
        [records] = [t for t in types_ if t.type_name.endswith("test_retained.Record")]
        assert records.count == 20_000
        assert records.deep == asizeof(*app.cache.values())
        assert str(records.path).startswith("module 'retained_app' → dict['cache'] → dict[")
        assert str(records.path).endswith("] → Record")
        del records, types_
        shallow = heapscope.retained_top(3, deep=False)
        assert all(e.deep is None for e in shallow)
    finally:
        del sys.modules["retained_app"]


def test_dominator_paths_mark_indirect_steps():
    # Two lists both hold the string: their holder dominates it without referring to it.
    shared = fresh_str(77) * 200_000
    holder = [[shared], [shared]]
    del shared
    top = heapscope.retained_top(20, deep=False)
    [entry] = [e for e in top if e.obj is holder[0][0]]
    texts = [step.text for step in entry.path.steps]
    assert texts[-1] == "str" and texts[-2] == "…" and texts[-3].endswith("list")
    del entry, top


def test_dominator_tree_is_bounded_and_largest_first():
    keep = {fresh_str(i): Record(i) for i in range(5000)}
    tree = heapscope.dominator_tree(max_depth=3, max_children=4, max_nodes=60)
    assert 1 < len(tree) <= 60
    assert tree.total == tree.root.retained and tree.objects > 10_000
    for depth, node in tree:
        assert depth <= 3 and len(node.children) <= 4
        sizes = [c.retained for c in node.children]
        assert sizes == sorted(sizes, reverse=True)
        assert node.retained >= node.flat + sum(sizes) + node.hidden_retained - node.flat
    text = str(tree)
    assert text.startswith("heap: ") and "... " in text and " more (" in text
    assert len(text.splitlines()) <= 2 * 60 + 1
    shallow = tree.format(max_depth=1, max_children=2)
    tops = [line for line in shallow.splitlines() if line.startswith("  ") and not line.startswith("   ")]
    assert len(tops) == 3 and tops[-1].startswith("  ... ")  # two roots, then "... N more"
    html = tree._repr_html_()
    assert html.count("<details") == html.count("</details>") and "<details open" in html
    # The dict sits under the frame's locals (or a root of its own) with its 10,000 keys
    # and values below it.
    # Every root and the children of each (late in a full run, other tests' objects retain
    # more than this dict and would fill a narrower tree).
    full = heapscope.dominator_tree(max_depth=2, max_children=100_000, max_nodes=100_000)
    [node] = [n for _, n in full if n.child_count == 10_000 and n.type_name == "dict"
              and n.description.startswith("{'fresh-")]  # not a dict another test left
    assert node.flat == sys.getsizeof(keep) and node.retained == heapscope.retained_size(keep)
    with pytest.raises(ValueError, match="max_children must be an int, 0 or more"):
        heapscope.dominator_tree(max_children=-1)
    with pytest.raises(ValueError, match="max_nodes"):
        heapscope.dominator_tree(max_nodes=0)


class Weird:
    def __init__(self):
        self.payload = bytearray(10_000)  # so that they are the largest thing in the heap

    def __repr__(self):
        return "<script>alert('x')</script>"


def test_tables_and_trees_escape_names_in_html():
    keep = [[Weird() for _ in range(3000)]]
    marker = keep[0]
    tree = heapscope.dominator_tree(max_depth=3, max_children=6, max_nodes=3000)
    assert "<script>" in str(tree)
    html = tree._repr_html_()
    assert "<script>" not in html and "&lt;script&gt;" in html
    top = heapscope.retained_top(100, deep=False)
    assert any(e.obj is marker for e in top)
    assert "<script>" not in top._repr_html_()
    del top
    # The list of 30 MB is a suspect; its description shows the reprs of its items.
    report = heapscope.leak_suspects(threshold=0.05)
    assert "<script>" in str(report)
    assert "<script>" not in report._repr_html_() and "&lt;script&gt;" in report._repr_html_()
    del marker


def test_paths_name_the_globals_of_main_after_their_module():
    out = run_isolated("""
import heapscope
cache = {"k%d" % i: [float(i)] for i in range(50_000)}
[entry] = [e for e in heapscope.retained_top(5, deep=False) if e.obj is cache]
print(entry.path)
""", timeout=300)
    assert out.strip() == "held from C: module '__main__'.__dict__['cache'] → dict"
