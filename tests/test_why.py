"""heapscope.why: shortest chains of references from a root to an object."""

import gc
import sys
import threading
import types

import pytest

import heapscope
from heapscope._why import Why

from catalog import run_isolated


class Foo:
    def __init__(self):
        self.data = [1, 2]


class Slotted:
    __slots__ = ("held",)

    def __init__(self, held):
        self.held = held


@pytest.fixture
def app():
    module = types.ModuleType("heapscope_test_app")
    sys.modules[module.__name__] = module
    yield module
    del sys.modules[module.__name__]


def texts(result):
    return [str(chain) for chain in result]


def test_chain_through_module_globals(app):
    app.cache = {"k": [0, 1, 2, Foo()]}
    result = heapscope.why(app.cache["k"][3])
    assert texts(result) == ["module 'heapscope_test_app' → dict['cache'] → dict['k'] → list[3] → Foo"]
    assert len(result[0]) == 4
    assert result[0].root == "module 'heapscope_test_app'"


def test_instance_attribute_and_slots_are_named(app):
    app.obj = Foo()
    found = texts(heapscope.why(app.obj.data))
    assert found == ["module 'heapscope_test_app' → dict['obj'] → Foo.data → list"]
    app.slotted = Slotted(Foo())
    found = str(heapscope.why(app.slotted.held)[0])
    assert found.endswith("dict['slotted'] → Slotted.held → Foo")


def test_class_attribute_and_closure(app):
    class Holder:
        attr = [Foo()]

    def make():
        captured = Foo()
        return lambda: captured

    app.Holder = Holder
    app.fn = make()
    found = str(heapscope.why(Holder.attr[0])[0])
    assert found.endswith("class " + Holder.__qualname__ + ".attr → list[0] → Foo")
    chain = str(heapscope.why(app.fn.__closure__[0].cell_contents)[0])
    assert "function" in chain and ".__closure__ → tuple[0] → cell.cell_contents → Foo" in chain


def test_untracked_target_inside_untracked_tuple(app):
    app.pair = (1, "a string made at run time %d" % 7)
    found = texts(heapscope.why(app.pair[1]))
    assert found == ["module 'heapscope_test_app' → dict['pair'] → tuple[1] → str"]


def test_shortest_chain_wins(app):
    target = Foo()
    app.deep = [[[[target]]]]
    app.near = {"t": target}
    del target
    found = texts(heapscope.why(app.near["t"]))
    assert found == ["module 'heapscope_test_app' → dict['near'] → dict['t'] → Foo"]


def test_max_paths_gives_one_chain_per_root_shortest_first(app):
    other = types.ModuleType("heapscope_test_other")
    sys.modules[other.__name__] = other
    try:
        target = Foo()
        app.near = target
        other.far = [[target]]
        del target
        result = heapscope.why(app.near, max_paths=5)
        assert len(result) == 2
        assert [len(c) for c in result] == [2, 4]
        assert result[1].root == "module 'heapscope_test_other'"
    finally:
        del sys.modules["heapscope_test_other"]


def test_local_variable_of_a_live_frame():
    local_value = [Foo()]
    result = heapscope.why(local_value[0])
    chain = str(result[0])
    assert chain.startswith("frame test_local_variable_of_a_live_frame() at test_why.py:")
    assert chain.endswith(", local 'local_value' → list[0] → Foo")


def test_local_of_another_thread():
    ready, done = threading.Event(), threading.Event()
    box = []

    def worker():
        mine = Foo()
        box.append(id(mine))
        holder = [mine]  # noqa: F841 - kept alive by this frame only
        del mine
        ready.set()
        done.wait(10)

    thread = threading.Thread(target=worker, name="worker-1")
    thread.start()
    try:
        ready.wait(10)
        target = next(o for o in gc.get_objects() if id(o) == box[0])
        chains = texts(heapscope.why(target, max_paths=3, ignore=[box]))
        del target
        assert any("frame worker() at test_why.py" in c and "local 'holder' → list[0] → Foo" in c for c in chains)
    finally:
        done.set()
        thread.join()


def test_exception_being_handled(app):
    try:
        raise KeyError("gone")
    except KeyError:
        exc_args = sys.exc_info()[1].args
        result = heapscope.why(exc_args)
    assert any("exception being handled" in c.root for c in result) or any("local" in str(c) for c in result)


def _garbage_cycle():
    cycle = [Foo()]
    cycle.append(cycle)
    return lambda: cycle[0]


def test_unreachable_object_says_so_plainly():
    gc.disable()
    try:
        result = heapscope.why(_garbage_cycle()())
    finally:
        gc.enable()
    assert isinstance(result, Why) and not result and len(result) == 0
    text = str(result)
    assert text.startswith("No chain of references from a root")
    assert "1 object(s) refer to it directly (list)" in text
    assert "unreachable" not in result._repr_html_() and "No chain" in result._repr_html_()
    gc.collect()


def test_object_with_no_referrers():
    result = heapscope.why(Foo())
    assert not result
    assert "nothing the garbage collector can see refers to it" in str(result)


def test_module_itself_is_a_root():
    assert texts(heapscope.why(sys)) == ["module 'sys'"]


def test_result_holds_no_reference_to_the_objects(app):
    app.x = Foo()
    before = sys.getrefcount(app.x)
    result = heapscope.why(app.x)
    after = sys.getrefcount(app.x)
    last, address = result[0].steps[-1], id(app.x)
    assert after == before
    assert last.type_name == "Foo"
    assert last.address == address


def test_html_and_pretty(app):
    app.v = ["<b>"]
    result = heapscope.why(app.v)
    html = result._repr_html_()
    assert "&lt;b&gt;" not in html  # only names, never reprs of values
    assert "heapscope-why" in html and "dict[&#x27;v&#x27;]" in html and "<b>" not in html.replace("<b>Who", "")

    class Printer:
        def __init__(self):
            self.out = []

        def text(self, s):
            self.out.append(s)

    p = Printer()
    result._repr_pretty_(p, False)
    assert p.out == [str(result)]


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2", True, None])
def test_bad_max_paths(bad):
    with pytest.raises(ValueError, match="max_paths"):
        heapscope.why(object(), max_paths=bad)


def test_heap_unchanged_and_no_leak(app):
    app.obj = Foo()
    heapscope.why(app.obj)
    gc.collect()
    before = len(gc.get_objects())
    for _ in range(5):
        heapscope.why(app.obj)
    gc.collect()
    assert len(gc.get_objects()) - before < 50


def test_many_referrers_and_a_long_chain_do_not_recurse(app):
    node = app.target = Foo()
    for _ in range(5000):
        node = [node]
    app.chain = node
    del node
    app.target = None

    def innermost():
        t = app.chain
        for _ in range(5000):
            t = t[0]
        return t

    deep = [len(chain) for chain in heapscope.why(innermost())]
    app.fanout = [[innermost()] for _ in range(2000)]
    near = [len(chain) for chain in heapscope.why(app.fanout[0][0], max_paths=2)]
    assert deep == [5002]  # module → dict['chain'] → 5000 lists → Foo
    assert near == [4]  # module → dict['fanout'] → list[0] → list[0] → Foo


class BadKey:
    def __repr__(self):
        raise ValueError("no repr")


class InterruptingKey:
    def __repr__(self):
        raise KeyboardInterrupt


def test_edge_names_of_keys(app):
    long_key = "k" * 60
    app.d = {long_key: Foo(), BadKey(): Foo()}
    found = texts(heapscope.why(app.d[long_key]))
    assert found == ["module 'heapscope_test_app' → dict['d'] → dict[" + repr(long_key)[:37] + "...] → Foo"]
    found = texts(heapscope.why(app.d[next(k for k in app.d if isinstance(k, BadKey))]))
    assert found == ["module 'heapscope_test_app' → dict['d'] → dict[<BadKey>] → Foo"]
    found = texts(heapscope.why(next(k for k in app.d if isinstance(k, BadKey))))
    assert found == ["module 'heapscope_test_app' → dict['d'] → dict key → BadKey"]


def test_interrupt_in_a_key_repr_propagates(app):
    app.d = {InterruptingKey(): Foo()}
    with pytest.raises(KeyboardInterrupt):
        heapscope.why(next(iter(app.d.values())))


def test_function_globals_edge(app):
    exec("def f():\n    pass\n", app.__dict__.setdefault("ns", {"__name__": "heapscope_test_ns"}))  # noqa: S102
    app.f = app.ns.pop("f")
    app.ns = None
    found = texts(heapscope.why(app.f.__globals__))
    assert found == ["module 'heapscope_test_app' → dict['f'] → function f.__globals__ → dict"]


def test_why_crosses_into_the_core_once(app):
    app.cache = {"k": [Foo()]}
    calls = []

    def profile(frame, event, arg):
        if event == "c_call" and getattr(arg, "__module__", None) == "heapscope._core":
            calls.append(arg.__name__)

    sys.setprofile(profile)
    try:
        result = heapscope.why(app.cache["k"][0].data)
    finally:
        sys.setprofile(None)
    assert texts(result) == ["module 'heapscope_test_app' → dict['cache'] → dict['k'] → list[0] → Foo.data → list"]
    assert calls == ["why_chains"]


def test_same_chains_without_reading_the_collector_lists(app):
    from heapscope import _core

    app.cache = {"k": [Foo()]}
    direct = texts(heapscope.why(app.cache["k"][0]))
    previous = _core._use_layout("gc_lists", False)
    try:
        listed = texts(heapscope.why(app.cache["k"][0]))
    finally:
        _core._use_layout("gc_lists", previous)
    assert direct == listed == ["module 'heapscope_test_app' → dict['cache'] → dict['k'] → list[0] → Foo"]


def test_max_paths_past_64_bits():
    # was OverflowError: at most one chain per root, so any larger count means all
    assert len(heapscope.why([], max_paths=10 ** 30)) == len(heapscope.why([], max_paths=1000))


IPYTHON_SESSION = r'''
from IPython.testing.globalipapp import start_ipython

ip = start_ipython()

def run(cell):
    result = ip.run_cell(cell, store_history=True)
    return result.result

run("import gc, weakref, heapscope\nclass Big: pass")
run("Big()")                                                    # Out[2], _2, _
shown = run("kept = weakref.ref(Out[2]); heapscope.why(Out[2])")
print("OUTPUT", [holder.name for holder in shown.ipython_holders])
print("TEXT", str(shown).splitlines()[-2:])
# Releasing as the answer says frees the object.
run("%reset -f out")
run("get_ipython().user_ns_hidden.update(_='', __='', ___='')")
print("FREED", run("gc.collect(); kept() is None"))

run("def load():\n    rows = Big()\n    global row_ref; row_ref = weakref.ref(rows)\n    raise ValueError('bad row')\nload()")
error = run("heapscope.why(row_ref())")
print("ERROR", [holder.name for holder in error.ipython_holders])
print("ERRTEXT", str(error).splitlines()[-1])
run("import sys; sys.last_type = sys.last_value = sys.last_traceback = sys.last_exc = None; "
    "get_ipython().InteractiveTB.tb = None")
print("FREED", run("gc.collect(); row_ref() is None"))
print("PLAIN", run("heapscope.why(Big).ipython_holders"))
print("HTML", "IPython keeps it as Out[" in run("Big()\nheapscope.why(_)._repr_html_()") or "missing")
'''


def test_ipython_holders_are_named_with_how_to_release_them():
    pytest.importorskip("IPython")
    out = run_isolated(IPYTHON_SESSION, timeout=120)
    lines = dict(line.split(" ", 1) for line in out.splitlines() if line.split(" ", 1)[0].isupper())
    assert lines["OUTPUT"] == "['Out[2]', '_2', '_', 'a hidden copy of _']"
    assert "IPython keeps it as Out[2], _2, _: %reset -f out clears the output history" in lines["TEXT"]
    assert "user_ns_hidden.update" in lines["TEXT"]
    assert lines["ERROR"] == "[\"the last error's traceback (local 'rows' of load())\"]"
    assert "the next error replaces it, or run: import sys; sys.last_type" in lines["ERRTEXT"]
    assert out.count("FREED True") == 2, out
    assert lines["PLAIN"] == "[]"
    assert lines["HTML"] == "True"


def test_no_ipython_holders_outside_ipython():
    result = heapscope.why(Foo())
    assert result.ipython_holders == [] and "IPython" not in str(result)
