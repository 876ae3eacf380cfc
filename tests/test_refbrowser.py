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
