"""why() and the refbrowser name objects whose own code raises: a dead weakref.proxy, a
raising ``__class__`` or ``__getattribute__``, a class whose metaclass raises for
``__name__`` and ``__qualname__``, and instances of it. Such an object is named by its
type's name and its address, read without running its code; only ``Exception``s are
handled so, a ``KeyboardInterrupt`` raised there still propagates."""

import gc
import html
import io
import re
import sys
import types
import weakref

import pytest

import heapscope
from heapscope import _core
from heapscope.refbrowser import ConsoleBrowser, HtmlBrowser, get_tree


class Target:
    pass


class RaisingClass:
    @property
    def __class__(self):
        raise ValueError("no __class__ here")


class RaisingGetattribute:
    def __getattribute__(self, name):
        raise ValueError(f"no attribute {name} here")


class NamelessMeta(type):
    def __getattribute__(cls, name):
        if name in ("__name__", "__qualname__", "__module__"):
            raise ValueError("no name here")
        return super().__getattribute__(name)


class Nameless(metaclass=NamelessMeta):
    pass


def dead_proxy():
    target = Target()
    proxy = weakref.proxy(target)
    del target
    return proxy


def make(kind):
    return {
        "dead proxy": dead_proxy,
        "raising __class__": RaisingClass,
        "raising __getattribute__": RaisingGetattribute,
        "class with raising __name__": lambda: Nameless,
        "instance of a class with raising __name__": Nameless,
    }[kind]()


KINDS = ["dead proxy", "raising __class__", "raising __getattribute__", "class with raising __name__",
         "instance of a class with raising __name__"]

#: How each is shown as the last step of a chain.
SHOWN = {
    "dead proxy": r"ProxyType|weakproxy",  # the type's name before 3.10: weakproxy
    "raising __class__": r"RaisingClass",
    "raising __getattribute__": r"RaisingGetattribute",
    "class with raising __name__": r"class Nameless",
    "instance of a class with raising __name__": r"<Nameless object at 0x[0-9a-f]+>",
}

#: How the refbrowser shows each.
NODE = {
    "dead proxy": r"weakref\.ProxyType|weakproxy",
    "raising __class__": r"test_hostile_naming\.RaisingClass",
    "raising __getattribute__": r"test_hostile_naming\.RaisingGetattribute",
    "class with raising __name__": r"class Nameless",
    "instance of a class with raising __name__": r"<Nameless object at 0x[0-9a-f]+>",
}


@pytest.fixture
def app():
    module = types.ModuleType("heapscope_hostile_app")
    sys.modules[module.__name__] = module
    yield module
    del sys.modules[module.__name__]


@pytest.mark.parametrize("kind", KINDS)
def test_why_names_a_hostile_target(app, kind):
    app.held = make(kind)
    result = heapscope.why(app.held)
    assert len(result) == 1
    text = str(result[0])
    assert re.fullmatch(rf"module 'heapscope_hostile_app' → (dict\['held'\] → )?({SHOWN[kind]})", text), text
    assert result[0].steps[-1].address == id(app.held)


#: The kinds that can refer to other objects (a proxy holds its referent weakly).
HOLDERS = KINDS[1:]


def hostile_holder(kind, target):
    """An object of ``kind`` that refers to ``target``."""
    if kind == "class with raising __name__":
        return NamelessMeta("Nameless", (), {"attr": target})
    holder = make(kind)
    object.__setattr__(holder, "attr", target)
    return holder


def type_name(obj):
    # type.__name__ read without the metaclass's __getattribute__.
    return type.__dict__["__name__"].__get__(type(obj))


@pytest.mark.parametrize("kind", HOLDERS)
def test_why_names_a_hostile_object_on_the_chain(app, kind):
    target = Target()
    app.holder = hostile_holder(kind, target)
    chains = [chain for chain in heapscope.why(target, max_paths=10) if chain.root.startswith("module 'heapscope")]
    assert len(chains) == 1
    text = str(chains[0])
    # Each holder named safely, with the attribute it holds the target in.
    assert re.fullmatch(rf"module 'heapscope_hostile_app' → (dict\['holder'\] → )?({SHOWN[kind]})\.attr → Target", text), text
    assert id(app.holder) in [step.address for step in chains[0].steps]
    del target


@pytest.mark.parametrize("kind", KINDS)
def test_refbrowser_names_a_hostile_root(app, kind):
    app.held = make(kind)
    out = io.StringIO()
    ConsoleBrowser(app.held, maxdepth=2, stream=out).print_tree()
    assert re.match(NODE[kind], out.getvalue()), out.getvalue()
    assert re.search(NODE[kind], html.unescape(HtmlBrowser(app.held, maxdepth=2)._repr_html_()))
    assert re.fullmatch(NODE[kind], _core.node_name(app.held))


@pytest.mark.parametrize("kind", HOLDERS)
def test_refbrowser_names_a_hostile_referrer(app, kind):
    target = Target()
    app.holder = hostile_holder(kind, target)
    tree = get_tree(target, maxdepth=4)
    names = []
    stack = [tree]
    while stack:
        node = stack.pop()
        names.append(str(node))
        stack.extend(child for child in node.children if not isinstance(child, str))
    assert "module(heapscope_hostile_app)" in names, names
    assert any(re.fullmatch(NODE[kind], name) for name in names), names
    out = io.StringIO()
    ConsoleBrowser(target, maxdepth=4, stream=out, repeat=False).print_tree()
    assert "module(heapscope_hostile_app)" in out.getvalue()
    assert "module(heapscope_hostile_app)" in HtmlBrowser(target, maxdepth=4)._repr_html_()
    del target


@pytest.mark.parametrize("kind", KINDS)
def test_a_raising_str_func_falls_back_to_the_type_and_address(kind):
    obj = make(kind)
    holder = [obj]

    def str_func(o):
        if o is obj:
            raise ValueError("cannot name it")
        return type_name(o)

    out = io.StringIO()
    ConsoleBrowser(obj, maxdepth=1, str_func=str_func, stream=out).print_tree()
    if kind == "class with raising __name__":
        shown = "class Nameless-"
    else:
        shown = f"<{type_name(obj)} object at {id(obj):#x}>-"
    assert out.getvalue().startswith(shown), out.getvalue()
    del holder


def test_keyboard_interrupt_from_the_objects_code_propagates(app):
    # Made here, to be garbage once the test returns: a class whose name raises
    # KeyboardInterrupt, kept in the heap, would interrupt every later test that names the
    # heap's objects (a dominator tree describes thousands).
    class InterruptingMeta(type):
        def __getattribute__(cls, name):
            if name in ("__name__", "__qualname__"):
                raise KeyboardInterrupt
            return super().__getattribute__(name)

    class Interrupting(metaclass=InterruptingMeta):
        pass

    app.held = Interrupting()
    try:
        with pytest.raises(KeyboardInterrupt):
            heapscope.why(app.held)
        with pytest.raises(KeyboardInterrupt):
            _core.node_name(app.held)
        with pytest.raises(KeyboardInterrupt):
            ConsoleBrowser(app.held, maxdepth=1, stream=io.StringIO()).print_tree()
    finally:
        del app.held, Interrupting, InterruptingMeta
        gc.collect()
