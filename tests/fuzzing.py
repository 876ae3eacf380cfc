"""Random object graphs and mutated snapshot / stats files, shared by the fuzz tests
(tests/test_fuzz_graphs.py, tests/test_fuzz_files.py) and the long-run scripts
(benches/fuzz_graphs.py, benches/fuzz_loaders.py).

A graph is drawn as a *plan*: plain data (a list of nodes, each a kind, an argument and
the indices of its children) that `build` turns into objects. Children may point at any
node, so graphs share and cycle; immutable containers only hold nodes built before them.
A plan is printed before it is tried, so a crash in a child interpreter names it.

Everything here must stay importable on Python 3.9+ and import nothing from heapscope
at module level, so that a child interpreter can import it before the code under test.
"""
import io
import json
import os
import random
import sys

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

# --------------------------------------------------------------------------
# profiles: a small one for the normal test run, a long one for fuzzing campaigns

settings.register_profile(
    "ci", max_examples=60, deadline=None, database=None, derandomize=False,
    suppress_health_check=list(HealthCheck), print_blob=True)
settings.register_profile(
    "long", max_examples=5000, deadline=None, database=None, derandomize=False,
    suppress_health_check=list(HealthCheck), print_blob=True)


def profile():
    """The hypothesis profile chosen by HEAPSCOPE_FUZZ (``ci`` unless it says ``long``)."""
    return "long" if os.environ.get("HEAPSCOPE_FUZZ", "") == "long" else "ci"


def examples(ci, long):
    """How many examples a property tries under the current profile."""
    return long if profile() == "long" else ci


# --------------------------------------------------------------------------
# well-behaved classes


class Plain:
    pass


class Slotted:
    __slots__ = ("a0", "a1", "a2", "a3")


class SlottedChild(Slotted):
    __slots__ = ("b0", "__dict__")


# --------------------------------------------------------------------------
# hostile classes


class SizeofRaises:
    def __sizeof__(self):
        raise RuntimeError("no size for you")


class SizeofStr:
    def __sizeof__(self):
        return "12"


class SizeofFloat:
    def __sizeof__(self):
        return 1.5


class SizeofNone:
    def __sizeof__(self):
        return None


class SizeofNegative:
    def __sizeof__(self):
        return -100


class SizeofHuge:
    def __sizeof__(self):
        return 2 ** 70


class SizeofMaxsize:
    def __sizeof__(self):
        return sys.maxsize


class SizeofIntSubclass:
    class Weird(int):
        def __index__(self):
            raise ValueError("not an index")

    def __sizeof__(self):
        return self.Weird(64)


class GetattrSelf:
    def __getattr__(self, name):
        return self


class GetattrRaises:
    def __getattr__(self, name):
        raise RuntimeError("no attribute " + name)


class GetattrList:
    def __getattr__(self, name):
        return [name] * 3


class GetattributeRaises:
    def __getattribute__(self, name):
        if name in ("__dict__", "__class__", "__slots__", "__len__", "__sizeof__", "__repr__", "__name__"):
            raise RuntimeError("no " + name)
        return object.__getattribute__(self, name)


class BadClass:
    @property
    def __class__(self):
        raise RuntimeError("no class")


class LyingClass:
    @property
    def __class__(self):
        return int


class BadRepr:
    def __repr__(self):
        raise RuntimeError("no repr")


class BadLen(list):
    def __len__(self):
        raise RuntimeError("no len")


class BigSlots:
    __slots__ = tuple("s%d" % i for i in range(48))


class ForeignSlots:
    __slots__ = ("x",)


# `__slots__` naming member descriptors that belong to BigSlots (offsets past the end of
# a ForeignSlots instance, and one inside it): CPython itself refuses them on a
# ForeignSlots instance.
ForeignSlots.__slots__ = ("x", "s47", "s0")
ForeignSlots.s47 = BigSlots.s47
ForeignSlots.s0 = BigSlots.s0

SlotsOnlyForeign = type("SlotsOnlyForeign", (), {"__slots__": (), "s40": BigSlots.s40})
SlotsOnlyForeign.__slots__ = ("s40",)


class SlotsNotStrings:
    __slots__ = ("v",)


SlotsNotStrings.__slots__ = (1, None, "v", b"v")


class SlotsRaising:
    __slots__ = ("v",)


class _RaisingSlotsMeta(type):
    pass


def _no_slots(cls):
    raise RuntimeError("no __slots__")


_RaisingSlotsMeta.__slots__ = property(_no_slots)  # after the class: type() reads __slots__

SlotsPropertyMeta = _RaisingSlotsMeta("SlotsPropertyMeta", (), {})


class _HostileMeta(type):
    def __getattribute__(cls, name):
        if name in ("__name__", "__module__", "__qualname__", "__mro__", "__dict__", "__slots__",
                    "__sizeof__", "__basicsize__", "__itemsize__", "__flags__"):
            raise RuntimeError("no " + name)
        return type.__getattribute__(cls, name)


class HostileMetaInstance(metaclass=_HostileMeta):
    pass


class HostileDict(dict):
    def __iter__(self):
        raise RuntimeError("no iter")

    def __len__(self):
        raise RuntimeError("no len")

    def keys(self):
        raise RuntimeError("no keys")

    def items(self):
        raise RuntimeError("no items")

    def __getitem__(self, key):
        raise RuntimeError("no item")


class WithHostileDict:
    def __init__(self):
        self.__dict__ = HostileDict()


class HostileList(list):
    def __iter__(self):
        raise RuntimeError("no iter")

    def __len__(self):
        return -1


HOSTILE = {
    "sizeof_raises": SizeofRaises, "sizeof_str": SizeofStr, "sizeof_float": SizeofFloat,
    "sizeof_none": SizeofNone, "sizeof_negative": SizeofNegative, "sizeof_huge": SizeofHuge,
    "sizeof_maxsize": SizeofMaxsize, "sizeof_intsub": SizeofIntSubclass,
    "getattr_self": GetattrSelf, "getattr_raises": GetattrRaises, "getattr_list": GetattrList,
    "getattribute_raises": GetattributeRaises, "bad_class": BadClass, "lying_class": LyingClass,
    "bad_repr": BadRepr, "foreign_slots": ForeignSlots, "slots_only_foreign": SlotsOnlyForeign,
    "slots_not_strings": SlotsNotStrings, "slots_meta": SlotsPropertyMeta,
    "hostile_meta": HostileMetaInstance, "hostile_dict": WithHostileDict, "hostile_list": HostileList,
}

# --------------------------------------------------------------------------
# plans

LEAVES = ("int", "str", "bytes", "bytearray", "none", "float")
CONTAINERS = ("list", "tuple", "dict", "set", "frozenset", "plain", "slots", "slots_child", "deep")
MUTABLE = ("list", "dict", "set", "plain", "slots", "slots_child", "bad_len") + tuple(HOSTILE)

ints = st.one_of(st.integers(-300, 300), st.integers(-(2 ** 64), 2 ** 64),
                 st.integers(-(2 ** 4000), 2 ** 4000))
texts = st.one_of(st.text(st.characters(max_codepoint=127), max_size=40),
                  st.text(max_size=40),
                  st.text(st.characters(min_codepoint=0x10000), max_size=8))


@st.composite
def node_args(draw, kind):
    if kind == "int":
        return draw(ints)
    if kind == "str":
        return draw(texts)
    if kind in ("bytes", "bytearray"):
        return draw(st.binary(max_size=300))
    if kind == "float":
        return draw(st.floats(allow_nan=False))
    if kind == "deep":
        return [draw(st.integers(1, 3000)), draw(st.sampled_from(("list", "tuple", "dict")))]
    return None


@st.composite
def plans(draw, hostile=False, max_nodes=14):
    """A plan: a list of ``[kind, arg, children]``; node 0 is the root."""
    kinds = LEAVES + CONTAINERS
    if hostile:
        kinds = kinds + ("bad_len",) + tuple(HOSTILE)
    n = draw(st.integers(1, max_nodes))
    nodes = []
    for _ in range(n):
        kind = draw(st.sampled_from(kinds))
        arg = draw(node_args(kind))
        children = [] if kind in LEAVES else draw(st.lists(st.integers(0, n - 1), max_size=5))
        nodes.append([kind, arg, children])
    return nodes


def _hashable(obj):
    try:
        hash(obj)
    except Exception:
        return False
    return True


def _leaf(kind, arg):
    if kind == "bytearray":
        return bytearray(arg)
    if kind == "none":
        return None
    return arg


def _wrap(depth, how, inner):
    for _ in range(depth):
        if how == "list":
            inner = [inner]
        elif how == "tuple":
            inner = (inner,)
        else:
            inner = {"d": inner}
    return inner


def _shell(kind):
    if kind == "list":
        return []
    if kind == "dict":
        return {}
    if kind == "set":
        return set()
    if kind == "plain":
        return Plain()
    if kind == "slots":
        return Slotted()
    if kind == "slots_child":
        return SlottedChild()
    if kind == "bad_len":
        return BadLen()
    return HOSTILE[kind]()


def _fill(obj, kind, items):
    if kind in ("list", "bad_len", "hostile_list"):
        list.extend(obj, items)
    elif kind == "dict":
        for j, item in enumerate(items):
            key = item if type(item) in (str, int, bytes) else ("k%d" % j if j % 2 else "ключ%d" % j)
            obj[key] = item
    elif kind == "set":
        obj.update(x for x in items if _hashable(x))
    elif kind == "slots":
        for j, item in enumerate(items[:4]):
            setattr(obj, "a%d" % j, item)
    elif kind == "slots_child":
        for j, item in enumerate(items):
            setattr(obj, "a%d" % j if j < 4 else ("b0" if j == 4 else "extra%d" % j), item)
    elif kind in ("foreign_slots", "slots_not_strings", "slots_only_foreign", "slots_meta"):
        if items and kind in ("foreign_slots", "slots_not_strings"):
            object.__setattr__(obj, "x" if kind == "foreign_slots" else "v", items[0])
        if kind == "slots_meta":
            for j, item in enumerate(items):
                obj.__dict__["a%d" % j] = item
    else:
        d = object.__getattribute__(obj, "__dict__")
        for j, item in enumerate(items):
            dict.__setitem__(d, "a%d" % j, item)
        if kind == "plain" and len(items) > 3:
            d[7] = items[3]  # a key that is not a string


def build(plan):
    """Turn a plan into objects: returns ``(root, nodes)``."""
    n = len(plan)
    built = {}
    for i, (kind, _arg, _children) in enumerate(plan):
        if kind in MUTABLE:
            built[i] = _shell(kind)
    for i in range(n - 1, -1, -1):
        kind, arg, children = plan[i]
        if kind in MUTABLE:
            continue
        if kind in LEAVES:
            built[i] = _leaf(kind, arg)
            continue
        items = [built[c] for c in children if c in built]
        if kind == "tuple":
            built[i] = tuple(items)
        elif kind == "frozenset":
            built[i] = frozenset(x for x in items if _hashable(x))
        elif kind == "deep":
            depth, how = arg
            built[i] = _wrap(depth, how, items[0] if items else None)
    for i, (kind, _arg, children) in enumerate(plan):
        if kind in MUTABLE:
            _fill(built[i], kind, [built[c] for c in children])
    nodes = [built[i] for i in range(n)]
    return nodes[0], nodes


# --------------------------------------------------------------------------
# what the properties run

UNLIMITED = 10 ** 6  # pympler's limit for "no limit"; it recurses, hence the recursion limit


def check_well_behaved(plan, limit, compare_sizes=True):
    """heapscope measures a graph of well-behaved objects exactly as pympler does.

    ``compare_sizes=False`` (debug interpreters, where pympler assumes a larger object
    header) compares the summaries only."""
    from pympler import asizeof as pa
    from pympler import summary as psum

    from heapscope import asizeof as hs
    from heapscope import summary as hsum

    root, nodes = build(plan)
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, 100000))  # pympler recurses once per level
    try:
        pa.asizeof(*nodes, limit=UNLIMITED)  # materialise, see catalog.materialise
        if compare_sizes:
            assert hs.asizeof(root) == pa.asizeof(root, limit=UNLIMITED)
            assert hs.asizeof(root, limit=limit) == pa.asizeof(root, limit=limit)
            assert hs.asizesof(*nodes) == pa.asizesof(*nodes, limit=UNLIMITED)
            assert [hs.flatsize(x) for x in nodes] == [pa.flatsize(x) for x in nodes]
            assert hs.asized(root, detail=1, limit=limit).size == pa.asized(root, detail=1, limit=limit).size
    finally:
        sys.setrecursionlimit(old)
    assert sorted(hsum.summarize(nodes)) == sorted(psum.summarize(nodes))



def hostile_calls(root, nodes, seed):
    """Every heapscope entry point on a hostile graph; each call may return or raise an
    ``Exception``, nothing else. Returns how many calls raised."""
    import heapscope
    from heapscope import asizeof as hs
    from heapscope import summary as hsum

    rnd = random.Random(seed)
    node = nodes[rnd.randrange(len(nodes))]
    out = io.StringIO()
    calls = [
        lambda: hs.asizeof(root),
        lambda: hs.asizeof(root, limit=rnd.randrange(0, 6)),
        lambda: hs.asizeof(root, detail=rnd.randrange(0, 4), stats=rnd.choice((0, 1, 2, 3.5, 8)),
                           limit=rnd.choice((None, 3, 100)), code=rnd.random() < 0.5,
                           align=rnd.choice((0, 1, 8, 16)), clip=rnd.randrange(0, 100)),
        lambda: hs.asizeof(*nodes, all=rnd.random() < 0.2, cutoff=rnd.randrange(0, 10)),
        lambda: hs.asizesof(*nodes, limit=rnd.choice((None, 2))),
        lambda: [a.format() for a in hs.asized(root, node, detail=rnd.randrange(0, 4))],
        lambda: hs.asized(root, detail=rnd.randrange(0, 3), limit=rnd.choice((None, 1))).format(depth=3),
        lambda: [hs.flatsize(x) for x in nodes],
        lambda: [hs.basicsize(x) for x in nodes] + [hs.itemsize(x) for x in nodes],
        lambda: [hs.leng(x) for x in nodes],
        lambda: [list(hs.refs(x) or ()) for x in nodes],
        lambda: [hs.named_refs(x) for x in nodes],
        lambda: hsum.summarize(nodes),
        lambda: list(hsum.format_(hsum.summarize(nodes + [root]))),
        lambda: str(heapscope.why(node)),
        lambda: heapscope.why(root, max_paths=2)._repr_html_(),
    ]
    raised = 0
    for call in calls:
        stdout = sys.stdout
        sys.stdout = out
        try:
            call()
        except Exception:
            raised += 1
        finally:
            sys.stdout = stdout
    sizer = hs.Asizer()
    try:
        sizer.asizeof(root, stats=1)
        sizer.exclude_objs(node)
        sizer.asizesof(*nodes)
        sizer.print_summary(file=out)
        sizer.print_stats(file=out)
    except Exception:
        raised += 1
    return raised


# --------------------------------------------------------------------------
# seeds for the loader fuzzers


def summary_seeds():
    """Snapshot files as heapscope writes them, plus crafted ones (as text)."""
    from heapscope import summary as hsum

    seeds = [
        hsum.Summary.from_rows([["a", 1, 2], ["b", 3, 4]], label="x").to_json(),
        hsum.Summary.from_rows([]).to_json(),
        hsum.Summary.from_rows([["str", 10, 600], ["dict", 2, 464], ["ключ", 1, 1]], label="ünï").to_json(),
        hsum.Summary.from_rows([["a", 1, 2]]).diff(hsum.Summary.from_rows([["a", 5, 9], ["b", 1, 1]])).to_json(),
        hsum.summarize_heap(label="heap").to_json(),
    ]
    base = json.loads(seeds[0])
    crafted = [
        dict(base, version=2), dict(base, objects=-1), dict(base, bytes=2 ** 64),
        dict(base, rows=[{"type": "a", "count": 2 ** 63, "size": 0}, {"type": "b", "count": 2 ** 63, "size": 0}],
             objects=0),
        dict(base, rows=[{"type": "a", "count": 1, "size": 2}, {"type": "a", "count": 3, "size": 4}]),
        dict(base, created=1e308), dict(base, pid=-1), dict(base, label=None), dict(base, kind="other"),
    ]
    seeds += [json.dumps(c) for c in crafted]
    seeds.append('{"format": "heapscope-summary", "version": 1, "version": 1}')
    seeds.append("[" * 5000 + "]" * 5000)
    seeds.append('{"format": "heapscope-summary", "version": 1, "rows": ' + "[" * 3000 + "]" * 3000 + "}")
    return seeds


def stats_seeds():
    """ClassTracker stats files as heapscope writes them, plus crafted ones (as bytes)."""
    import gc

    from heapscope.classtracker import ClassTracker

    class Doc:
        def __init__(self, n):
            self.parts = ["p" * k for k in range(n)]
            self.meta = {"n": n}

    class Leaf:
        __slots__ = ("v",)

        def __init__(self, v):
            self.v = v

    seeds = []
    for level, trace in ((0, False), (2, True)):
        t = ClassTracker()
        t.track_class(Doc, resolution_level=level, trace=trace)
        t.track_class(Leaf, name="leaves")
        docs = [Doc(i % 4) for i in range(5)]
        leaves = [Leaf(i) for i in range(3)]
        t.create_snapshot("first")
        del docs[:2], leaves[0]
        gc.collect()
        t.create_snapshot("second <b>")
        buf = io.BytesIO()
        t.stats.dump_stats(buf, close=False)
        seeds.append(buf.getvalue())
        t.close()
        del docs, leaves
    t = ClassTracker()
    buf = io.BytesIO()
    t.stats.dump_stats(buf, close=False)
    seeds.append(buf.getvalue())
    t.close()
    base = json.loads(seeds[1])
    snap = base["snapshots"][0]
    crafted = [
        dict(base, version=99), dict(base, version=0), dict(base, names=base["names"] * 2),
        dict(base, snapshots=[dict(snap, sizes=[[0, 2 ** 64 - 1, 0], [1, 2 ** 64 - 1, 0]])]),
        dict(base, snapshots=[dict(snap, timestamp=float("inf"))]),
        dict(base, snapshots=[dict(snap, trees=[{"object": 0, "nodes": [[5, "x", 1, 1]]}])]),
    ]
    deep_nodes = [[None, "root", 10 ** 6, 1]] + [[i, "n", 10 ** 6 - i, 1] for i in range(3000)]
    crafted.append(dict(base, snapshots=[dict(snap, sizes=[[0, 10 ** 6, 1]],
                                              trees=[{"object": 0, "nodes": deep_nodes}])]))
    seeds += [json.dumps(c).encode() for c in crafted]
    seeds.append(b"\x80\x04\x95" + bytes(20))  # looks like a pickle
    seeds.append(b'{"format": "heapscope.classtracker.stats", "version": 1, "format": 3}')
    return seeds


# --------------------------------------------------------------------------
# mutations


def _numbers(text):
    import re

    return [m.span() for m in re.finditer(rb"-?\d+(\.\d+)?([eE][-+]?\d+)?", text)]


NUMBER_REPLACEMENTS = (b"-1", b"0", b"1e999", b"-0.0", b"1.5", b"18446744073709551615",
                       b"18446744073709551616", b"9223372036854775808", b"-9223372036854775809",
                       b"1" * 400, b'"7"', b"null", b"true", b"[]", b"{}", b"NaN", b"Infinity")


def mutate(data, ops):
    """Apply mutation ops (tuples of ints drawn by hypothesis or random) to bytes."""
    data = bytearray(data)
    for op, a, b, c in ops:
        n = len(data)
        if op == 0 and n:  # truncate
            del data[a % (n + 1):]
        elif op == 1 and n:  # flip a byte
            data[a % n] ^= (b % 255) + 1
        elif op == 2 and n:  # set a byte to a JSON-significant one
            special = b'{}[],:"\\0-e.\x00\xff'
            data[a % n] = special[b % len(special)]
        elif op == 3:  # replace a number
            spans = _numbers(bytes(data))
            if spans:
                s, e = spans[a % len(spans)]
                data[s:e] = NUMBER_REPLACEMENTS[b % len(NUMBER_REPLACEMENTS)]
        elif op == 4 and n:  # splice: copy a slice elsewhere
            s = a % n
            e = min(n, s + (b % 200))
            chunk = data[s:e]
            at = c % (n + 1)
            data[at:at] = chunk
        elif op == 5 and n:  # delete a slice
            s = a % n
            del data[s:s + (b % 50) + 1]
        elif op == 6:  # deep nesting somewhere
            at = a % (n + 1)
            depth = (b % 3000) + 1
            data[at:at] = (b"[" if c % 2 else b'{"a":') * depth + (b"]" if c % 2 else b"}") * depth
        elif op == 7 and n:  # duplicate a key: repeat the text from one quote to the next comma
            text = bytes(data)
            q = text.find(b'"', a % n)
            comma = text.find(b",", q + 1) if q >= 0 else -1
            if q >= 0 and comma > q:
                data[q:q] = text[q:comma + 1]
        elif op == 8 and n:  # long string
            at = a % (n + 1)
            data[at:at] = b"x" * ((b % 5) * 10000)
        elif op == 9 and n:  # swap two halves
            m = a % n
            data = data[m:] + data[:m]
        elif op >= 10:  # change one value of the parsed document
            data = bytearray(_mutate_value(bytes(data), a, b, c))
            if op == 13:  # and make a summary's totals agree with its rows again
                data = bytearray(_retotal(bytes(data)))
    return bytes(data)


def _retotal(data):
    try:
        doc = json.loads(data)
        doc["objects"] = sum(row["count"] for row in doc["rows"])
        doc["bytes"] = sum(row["size"] for row in doc["rows"])
    except Exception:
        return data
    return json.dumps(doc).encode()


VALUE_REPLACEMENTS = (-1, 0, 2 ** 63, 2 ** 64 - 1, 2 ** 64, -(2 ** 63) - 1, 10 ** 30, 1.5, -0.0, 1e308,
                      "", "x", "ünï" * 50, None, True, [], {}, [[[]]], [None], [0, 0, 0], [-1, "a", 2.5],
                      {"a": 1}, "weakref", "polled", "kept", "diff", "summary")


def _mutate_value(data, a, b, c):
    """Replace, delete or duplicate one value somewhere in a JSON document."""
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError):
        return data
    places = []
    todo = [doc]
    while todo and len(places) < 5000:
        node = todo.pop()
        if isinstance(node, dict):
            for k in node:
                places.append((node, k))
                todo.append(node[k])
        elif isinstance(node, list):
            for i in range(len(node)):
                places.append((node, i))
                todo.append(node[i])
    if not places:
        return data
    parent, key = places[a % len(places)]
    how = b % 4
    if how == 0 or how == 3:
        parent[key] = VALUE_REPLACEMENTS[c % len(VALUE_REPLACEMENTS)]
    elif how == 1:
        del parent[key]
    elif isinstance(parent, list):
        parent.insert(key, json.loads(json.dumps(parent[key])))
    else:
        parent[key] = [parent[key], parent[key]]
    return json.dumps(doc).encode()


mutation_ops = st.lists(st.tuples(st.integers(0, 13), st.integers(0, 2 ** 20), st.integers(0, 2 ** 20),
                                  st.integers(0, 2 ** 20)), min_size=1, max_size=4)


def random_ops(rnd):
    """The same mutations as ``mutation_ops``, drawn from a ``random.Random``."""
    return [(rnd.randrange(14), rnd.randrange(2 ** 20), rnd.randrange(2 ** 20), rnd.randrange(2 ** 20))
            for _ in range(rnd.randrange(1, 5))]


# --------------------------------------------------------------------------
# what the loader properties check

SUMMARY_ERRORS = (ValueError,)  # SnapshotError is a ValueError, so is UnicodeDecodeError
STATS_ERRORS = (ValueError,)


def check_summary_bytes(data, tmpdir):
    """Load mutated snapshot bytes both ways; what loads must round-trip."""
    from heapscope import summary as hsum

    path = os.path.join(tmpdir, "s.json")
    with open(path, "wb") as f:
        f.write(data)
    try:
        from_file = hsum.load(path)
    except SUMMARY_ERRORS:
        from_file = None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    from_text = None
    if text is not None:
        try:
            from_text = hsum.Summary.from_json(text)
        except SUMMARY_ERRORS:
            pass
        assert (from_file is None) == (from_text is None), "load and from_json disagree"
        if from_file is not None:
            assert from_file == from_text
    if from_file is not None:
        again = hsum.Summary.from_json(from_file.to_json())
        assert again == from_file and again.to_json() == from_file.to_json()
        assert list(again) == list(from_file)
        list(hsum.format_(list(from_file)))
        str(from_file)
        return True
    return False


def check_stats_bytes(data, tmpdir):
    """Load mutated stats bytes from a file object and a path; what loads must print and
    round-trip byte for byte."""
    from heapscope.classtracker_stats import ConsoleStats, HtmlStats, Stats

    try:
        Stats().load_stats(io.BytesIO(data))
        ok_stream = True
    except STATS_ERRORS:
        ok_stream = False
    path = os.path.join(tmpdir, "t.json")
    with open(path, "wb") as f:
        f.write(data)
    try:
        stats = ConsoleStats(filename=path, stream=io.StringIO())
    except STATS_ERRORS:
        stats = None
    assert ok_stream == (stats is not None), "stream and path loading disagree"
    if stats is None:
        return False
    first = io.BytesIO()
    stats.dump_stats(first, close=False)
    second_stats = Stats()
    second_stats.load_stats(io.BytesIO(first.getvalue()))
    second = io.BytesIO()
    second_stats.dump_stats(second, close=False)
    assert first.getvalue() == second.getvalue(), "a loaded file does not write back the same"
    stats.print_summary()
    stats.sort_stats("size").print_stats()
    HtmlStats(filename=path).create_html(os.path.join(tmpdir, "t.html"))
    return True
