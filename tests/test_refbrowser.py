"""heapscope.refbrowser: referrer trees, pympler-compatible."""

import io
import sys
import types

import pytest

from heapscope import refbrowser
from heapscope.refbrowser import ConsoleBrowser, FileBrowser, HtmlBrowser, RefBrowser, get_tree


@pytest.fixture
def app():
    module = types.ModuleType("heapscope_rb_app")
    module.keep = []  # a module dict holding only atomic values is not tracked by gc
    sys.modules[module.__name__] = module
    yield module
    del sys.modules[module.__name__]


class T:
    pass


def labels(node):
    return sorted(str(c) for c in node.children)


def test_tree_levels(app):
    target = T()
    app.holder = [target]
    app.other = {"t": target}
    tree = RefBrowser(target, maxdepth=2).get_tree()
    assert tree.o is target
    kinds = labels(tree)
    assert "dict, len=1" in kinds and "list, len=1" in kinds
    held_by_list = next(c for c in tree.children if c.o is app.holder)
    assert any(c.o is app.__dict__ for c in held_by_list.children)
    assert all(not c.children for c in held_by_list.children)  # maxdepth reached


def test_own_frames_and_bookkeeping_not_shown(app):
    app.x = object()
    tree = get_tree(app.x, maxdepth=1)
    assert [c.o for c in tree.children] == [app.__dict__]


def test_repeat_false_marks_objects_already_included(app):
    a = []
    b = [a]
    app.a, app.b = a, b
    tree = RefBrowser(a, maxdepth=3, repeat=False).get_tree()
    texts = []
    stack = [tree]
    while stack:
        node = stack.pop()
        for child in node.children:
            if isinstance(child, str):
                texts.append(child)
            else:
                stack.append(child)
    assert any("already included, id" in t for t in texts)


def test_console_output_shape(app):
    target = object()
    app.first = [target]
    # A tuple of untracked objects is untracked from birth on 3.14+, and so not among
    # the collector's referrers: the empty list keeps this one tracked.
    app.second = (target, [])
    out = io.StringIO()
    ConsoleBrowser(target, maxdepth=1, str_func=lambda o: type(o).__name__, stream=out).print_tree()
    lines = out.getvalue().splitlines()
    assert lines[0] in ("object-+-list", "object-+-tuple")
    assert lines[1] in ("       +-list", "       +-tuple") and lines[1] != "       +-" + lines[0][9:]


def test_console_defaults_to_stdout(app, capsys):
    app.v = object()
    ConsoleBrowser(app.v, maxdepth=1, str_func=lambda o: type(o).__name__).print_tree()
    assert capsys.readouterr().out == "object--dict\n"


def test_file_browser_writes_the_same_text(app, tmp_path):
    app.v = object()
    path = tmp_path / "tree.txt"
    browser = FileBrowser(app.v, maxdepth=2)
    tree = browser.get_tree()
    browser.print_tree(str(path), tree=tree)
    assert path.read_text() == browser.format_tree(tree)
    assert path.read_text().startswith("object--dict, len=")


def test_deep_tree_does_not_recurse(app):
    node = target = object()
    for _ in range(300):
        node = [node]
    app.chain = node
    browser = refbrowser.StreamBrowser(target, maxdepth=200, str_func=lambda o: "x")
    del target, node  # on 3.9 and 3.10 this frame would refer to them
    depth = len(__import__("inspect").stack(0))
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(depth + 60)  # far fewer frames than the tree has levels
    try:
        text = browser.format_tree(browser.get_tree())
    finally:
        sys.setrecursionlimit(limit)
    assert text.count("x") == 201


def test_html_browser(app):
    app.v = ["<script>"]
    html = HtmlBrowser(app.v, maxdepth=2)._repr_html_()
    assert html.startswith('<div class="heapscope-refbrowser"') and "<details open" in html
    assert "<script>" not in html


def test_html_browser_shows_objects_already_included(app):
    # Without repeat, an object met again is a line of text in the tree, not a node.
    a = []
    b = [a]
    app.a, app.b = a, b
    html = HtmlBrowser(a, maxdepth=3, repeat=False)._repr_html_()
    assert "already included, id" in html


def test_bad_maxdepth():
    with pytest.raises(ValueError, match="maxdepth"):
        RefBrowser(object(), maxdepth=-1)


def test_matches_pympler_referrers(app):
    pympler_rb = pytest.importorskip("pympler.refbrowser")
    target = T()
    app.l = [target]
    app.d = {"k": target}
    ours = sorted(id(c.o) for c in RefBrowser(target, maxdepth=1).get_tree().children)
    theirs = sorted(id(c.o) for c in pympler_rb.RefBrowser(target, maxdepth=1).get_tree().children
                    if not isinstance(c.o, types.FrameType))
    assert set(ours) <= set(theirs) and {id(app.l), id(app.d)} <= set(ours)


class _Named:
    def method(self):
        return sys._getframe()


def test_node_names_of_each_kind():
    from heapscope.refbrowser import _repr

    def function():
        pass

    assert _repr(sys) == "module(sys)"
    assert _repr(_Named().method()) == "frame (codename: method)"
    assert _repr(function) == "function (function)"
    assert _repr(_Named().method) == "method (method)"
    assert [_repr(c) for c in ({1: 2}, [1], (1, 2), {3}, frozenset())] == [
        "dict, len=1", "list, len=1", "tuple, len=2", "set, len=1", "frozenset, len=0"]
    assert _repr(_Named) == f"class {__name__}._Named"
    assert _repr(_Named()) == f"{__name__}._Named"
    assert _repr(1.5) == "float"
    odd = type("odd at 0x1f thing", (), {})
    assert _repr(odd()) == f"{__name__}.odd thing"


def test_referrers_agree_with_and_without_reading_the_collector_lists():
    from heapscope import _core

    held = [object()]
    holder = {"held": held}
    targets = [held]
    found = [{id(o) for o in _core.referrers_of(targets, [])[0]}]
    previous = _core._use_layout("gc_lists", False)
    try:
        found.append({id(o) for o in _core.referrers_of(targets, [])[0]})
    finally:
        _core._use_layout("gc_lists", previous)
    assert found[0] == found[1] and id(holder) in found[0]


def count_nodes(tree):
    count, stack = 0, [tree]
    while stack:
        node = stack.pop()
        count += 1
        stack.extend(getattr(node, "children", ()))
    return count


def test_a_huge_maxdepth_ends_with_a_bounded_tree():
    """With repeat=True a tree grows exponentially with depth: it stops at max_nodes,
    and a depth far beyond the referrers ends when a level has none. In a child
    interpreter with a memory limit, so that a regression cannot take the machine down."""
    import subprocess
    import textwrap

    code = textwrap.dedent(
        """
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))
        from heapscope import refbrowser
        root = [1, [2, [3]]]
        tree = refbrowser.ConsoleBrowser(root, maxdepth=10**30).get_tree()
        count, stack, cut = 0, [tree], []
        while stack:
            node = stack.pop()
            count += 1
            if isinstance(node, str) and node.startswith("... tree cut"):
                cut.append(node)
            stack.extend(getattr(node, "children", ()))
        print(count, len(cut))
        lone = refbrowser.get_tree(refbrowser, maxdepth=10**30, repeat=False)
        print("done")
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    count, cuts = map(int, done.stdout.split()[:2])
    assert count == refbrowser.MAX_NODES + 1 and cuts == 1, done.stdout
    assert done.stdout.split()[-1] == "done"


def test_max_nodes_cuts_the_tree_and_says_so(app):
    app.keep.append(T())
    stream = io.StringIO()
    browser = refbrowser.StreamBrowser(app.keep[0], maxdepth=6, max_nodes=3, stream=stream)
    tree = browser.get_tree()
    assert count_nodes(tree) == 4
    browser.print_tree(tree)
    assert "tree cut at 3 nodes (pass max_nodes=None" in stream.getvalue()
    whole = get_tree(app.keep[0], maxdepth=2, max_nodes=None)
    assert count_nodes(whole) > 1


@pytest.mark.parametrize("bad", [0, -1, 2.5, "10"])
def test_max_nodes_must_be_a_positive_int(bad):
    with pytest.raises(ValueError, match="max_nodes"):
        RefBrowser([], max_nodes=bad)


def crafted_shape(node, names):
    """The tree's nodes as (depth, name), depth-first, keeping only those whose whole path
    from the root is made of the crafted objects, and the strings that name one again."""
    out, stack = [], [(node, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, str):
            name = node.split(" (already included")[0]
            if name in names.values():
                out.append((depth, "again " + name))
            continue
        name = names.get(id(node.o))
        if name is None:
            continue
        out.append((depth, name))
        stack.extend((child, depth + 1) for child in reversed(node.children))
    return out


def test_tree_shape_matches_pymplers(app):
    """With repeat=False an object is a node where a depth-first walk meets it first, a
    string everywhere after, as in pympler; with repeat=True everywhere a node."""
    import gc

    pympler_rb = pytest.importorskip("pympler.refbrowser")
    root = T()
    a = [root]
    b = [a, root]
    c = {"b": b, "root": root}
    d = [c, a]
    e = (d, b, [])
    app.objs = [root, a, b, c, d, e]
    names = {id(o): name for o, name in zip(app.objs, ["root", "a", "b", "c", "d", "e"])}
    del root, a, b, c, d, e

    def name(o):
        return names.get(id(o), "other")

    gc.collect()  # all in one generation: the collector's lists keep their order
    gc.disable()
    try:
        # With repeat=True pympler's trees grow fast with depth (one heap scan a node).
        for repeat, depths in ((False, range(5)), (True, range(3))):
            for depth in depths:
                ours = RefBrowser(app.objs[0], maxdepth=depth, str_func=name, repeat=repeat).get_tree()
                theirs = pympler_rb.RefBrowser(app.objs[0], maxdepth=depth, str_func=name, repeat=repeat).get_tree()
                assert crafted_shape(ours, names) == crafted_shape(theirs, names), (repeat, depth)
    finally:
        gc.enable()
    shape = crafted_shape(RefBrowser(app.objs[0], maxdepth=2, str_func=name, repeat=False).get_tree(), names)
    assert sum(1 for _, n in shape if n == "b") == 1 and (1, "again b") in shape or (1, "b") in shape


def test_repeat_false_skips_a_referrer_met_below_an_earlier_one():
    # pympler's documented example: ref11 refers to the root and to ref1, which comes
    # first: ref11 is a node under ref1, and only a string under the root.
    root = "root id"
    ref1 = [root, []]
    ref11 = [ref1, root]
    ref2 = {1: root, 2: []}
    ref22 = {1: ref2}
    tree = RefBrowser(root, repeat=False).get_tree()
    children = [c.o for c in tree.children if not isinstance(c, str)]
    assert any(o is ref1 for o in children) and any(o is ref2 for o in children)
    assert not any(o is ref11 for o in children)
    assert any(isinstance(c, str) and f"(already included, id {id(ref11)})" in c for c in tree.children)
    under_ref1 = next(c for c in tree.children if not isinstance(c, str) and c.o is ref1)
    assert any(not isinstance(c, str) and c.o is ref11 for c in under_ref1.children)
    under_ref2 = next(c for c in tree.children if not isinstance(c, str) and c.o is ref2)
    assert any(not isinstance(c, str) and c.o is ref22 for c in under_ref2.children)
    with_repeats = [c.o for c in RefBrowser(root, repeat=True).get_tree().children]
    assert all(any(o is r for o in with_repeats) for r in (ref1, ref11, ref2))


def test_repeat_false_tree_again_starts_afresh(app):
    app.a = [object()]
    browser = RefBrowser(app.a[0], maxdepth=2, repeat=False)
    first, second = browser.get_tree(), browser.get_tree()
    assert [str(c) for c in first.children] == [str(c) for c in second.children] == ["list, len=1"]


def test_repeat_false_deep_chain_does_not_recurse(app):
    node = target = object()
    for _ in range(600):
        node = [node]
    app.chain = node
    browser = refbrowser.StreamBrowser(target, maxdepth=500, str_func=lambda o: "x", repeat=False)
    del target, node
    depth = len(__import__("inspect").stack(0))
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(depth + 60)
    try:
        tree = browser.get_tree()
        text = browser.format_tree(tree)
    finally:
        sys.setrecursionlimit(limit)
    assert count_nodes(tree) == 501 and text.count("x") == 501


def test_repeat_false_max_nodes_cuts_the_tree_and_says_so(app):
    app.keep.append(T())
    app.lists = [[app.keep[0]] for _ in range(10)]
    tree = RefBrowser(app.keep[0], maxdepth=3, repeat=False, max_nodes=5).get_tree()
    nodes = [n for n in _walk(tree) if not isinstance(n, str)]
    cuts = [n for n in _walk(tree) if isinstance(n, str) and n.startswith("... tree cut at 5 nodes")]
    assert len(nodes) <= 5 and len(cuts) == 1


def _walk(tree):
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(getattr(node, "children", ()))


@pytest.mark.parametrize("repeat", [True, False])
def test_no_bookkeeping_outlives_the_tree(app, repeat):
    """Once the tree is built, nothing of the browser's own refers to the objects (no
    reference cycle waiting for the collector), so that a dropped tree frees them."""
    import gc

    app.a = [object()]
    gc.collect()
    gc.disable()
    try:
        tree = RefBrowser(app.a[0], maxdepth=3, repeat=repeat).get_tree()
        holders = [r for r in gc.get_referrers(app.a[0]) if type(r) is not refbrowser._Node]
        assert len(holders) == 1 and holders[0] is app.a
        del tree
        assert gc.get_referrers(app.a[0]) == [app.a]
    finally:
        gc.enable()
