"""A catalog of named Python objects used to compare heapscope.asizeof
against pympler.asizeof, plus a few small helpers shared by the tests.

Everything here must stay importable on Python 3.9+.
"""
import array
import collections
import dataclasses
import datetime
import decimal
import enum
import fractions
import functools
import gc
import os
import re
import struct
import subprocess
import sys
import textwrap
import time
import types
import typing
import uuid
import weakref

WORD = struct.calcsize("P")


def aligned(n, align=8):
    """Round ``n`` up to a multiple of ``align`` (a power of two)."""
    if align <= 1:
        return n
    m = align - 1
    return (n + m) & ~m


def materialise(obj):
    """Make pympler and heapscope see the same heap.

    On Python 3.11+ pympler creates ``__dict__`` objects for instances
    that keep their attributes inline.  Sizing once with pympler first
    performs every such materialisation pympler would perform, so later
    measurements by both tools see identical objects.
    """
    from pympler import asizeof as pa

    pa.asizeof(obj)
    return obj


def run_isolated(code, timeout=120):
    """Run code in a fresh interpreter so that a hard crash (segfault, abort)
    is reported as a test failure instead of killing the test run."""
    env = dict(os.environ)
    here = os.path.dirname(os.path.abspath(__file__))
    env["PYTHONPATH"] = here + os.pathsep + env.get("PYTHONPATH", "")
    prog = "import faulthandler; faulthandler.enable()\n" + textwrap.dedent(code)
    proc = subprocess.run([sys.executable, "-c", prog], capture_output=True, text=True,
                          timeout=timeout, env=env)
    err = proc.stderr
    if len(err) > 4000:
        err = err[:2500] + "\n[...]\n" + err[-1500:]
    assert proc.returncode == 0, "exit %s\nstdout:\n%s\nstderr:\n%s" % (
        proc.returncode, proc.stdout[-2000:], err)
    return proc.stdout


def pymplers_edges_named(edges, objects):
    """pympler's reference-graph edges ``(src, dst, label)`` among ``objects``, with the
    attribute's name where pympler gives none: where the collector sees an instance refer
    to its attribute values rather than to its ``__dict__`` (CPython 3.13), pympler
    labels those edges ``''``; heapscope names the attribute."""
    by_id = {id(o): o for o in objects}
    named = set()
    for src, dst, label in edges:
        if label == "" and not isinstance(by_id[src], (dict, list, tuple, type)):
            attributes = getattr(by_id[src], "__dict__", None)
            if isinstance(attributes, dict):
                label = next((k for k, v in attributes.items() if id(v) == dst), "")
        named.add((src, dst, label))
    return named


def instances_refer_to_their_dict():
    """Whether the collector sees an instance with a ``__dict__`` refer to that dict
    (every version but 3.13, where it refers to the attribute values themselves)."""
    class Probe:
        pass
    probe = Probe()
    probe.x = []
    attributes = vars(probe)
    return any(r is attributes for r in gc.get_referents(probe))


def chromium_binary():
    """The path of a Chromium (or Chrome) binary on PATH, or None."""
    import shutil

    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


# --------------------------------------------------------------------------
# user-defined types used by the catalog


class Plain:
    pass


class WithAttrs:
    def __init__(self, a, b, c=None):
        self.a = a
        self.b = b
        self.c = c


class ManyAttrs:
    def __init__(self, n):
        for i in range(n):
            setattr(self, "attr_%d" % i, i * 3)


class Slotted:
    __slots__ = ("x", "y")

    def __init__(self, x, y):
        self.x = x
        self.y = y


class SlottedPartial:
    __slots__ = ("x", "y", "z")

    def __init__(self):
        self.x = "only x is set"


class SlotBase:
    __slots__ = ("a",)

    def __init__(self):
        self.a = [1, 2, 3]


class SlotMiddle(SlotBase):
    __slots__ = ("b",)

    def __init__(self):
        SlotBase.__init__(self)
        self.b = "middle"


class SlotLeaf(SlotMiddle):
    __slots__ = ("c", "d")

    def __init__(self):
        SlotMiddle.__init__(self)
        self.c = (1.5, 2.5)
        self.d = {"k": "v"}


class SlotsAndDict:
    __slots__ = ("s", "__dict__")

    def __init__(self):
        self.s = "slot value"
        self.extra = ["in", "the", "dict"]


class SlotsAndWeakref:
    __slots__ = ("v", "__weakref__")

    def __init__(self):
        self.v = 12345678


class DictOnSlotted(SlotBase):
    """No __slots__ here, so instances get a __dict__ as well."""

    def __init__(self):
        SlotBase.__init__(self)
        self.more = {"nested": [1, 2]}


class Mangled:
    __slots__ = ("__secret", "public")

    def __init__(self):
        self.__secret = "hidden " * 3
        self.public = 7


class Node:
    def __init__(self, value, next=None):
        self.value = value
        self.next = next


class TreeNode:
    def __init__(self, depth):
        self.label = "node-%d" % depth
        if depth > 0:
            self.left = TreeNode(depth - 1)
            self.right = TreeNode(depth - 1)
        else:
            self.left = self.right = None


class Outer:
    class Inner:
        def __init__(self):
            self.payload = list(range(20))

    def __init__(self):
        self.inner = Outer.Inner()
        self.name = "outer"


class Partner:
    def __init__(self, name):
        self.name = name
        self.other = None


class Counted:
    count = 0

    def __init__(self):
        Counted.count += 1
        self.serial = Counted.count

    def method(self):
        return self.serial


class WithProperty:
    def _get(self):
        """getter documentation"""
        return 1

    def _set(self, value):
        pass

    prop = property(_get, _set, doc="a documented property")


class AppError(Exception):
    def __init__(self, msg, code):
        Exception.__init__(self, msg, code)
        self.code = code
        self.details = {"where": "here"}


class Color(enum.Enum):
    RED = 1
    GREEN = "green"
    BLUE = (0, 0, 255)


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 1000


class Perm(enum.Flag):
    R = 4
    W = 2
    X = 1


Point = collections.namedtuple("Point", "x y")
Record = collections.namedtuple("Record", ["name", "tags", "score"])


class TypedPair(typing.NamedTuple):
    left: object
    right: object


@dataclasses.dataclass
class DataPoint:
    x: int
    y: float
    label: str = "point"
    tags: list = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True)
class FrozenData:
    key: str
    values: tuple


@dataclasses.dataclass
class SlottedData:
    __slots__ = ("x", "y")
    x: int
    y: list


class IntSub(int):
    pass


class StrSub(str):
    pass


class ListSub(list):
    pass


class DictSub(dict):
    pass


class ListSubSlots(list):
    __slots__ = ("extra",)


class FloatSubWithAttr(float):
    pass


class PointPlus(Point):
    """A named tuple subclass whose instances also get a __dict__."""


class ListSubWithAttr(list):
    def __init__(self, *args):
        list.__init__(self, *args)
        self.note = "has a dict"


def a_function(x, y=2):
    """A small function with a docstring."""
    z = x + y
    return z * 2


def _make_cell():
    captured = ["captured", "by", "closure"]

    def inner():
        return captured

    return inner.__closure__[0]


def _exhausted_generator():
    def gen():
        yield 1

    g = gen()
    list(g)
    return g


def fresh_str(s):
    """A new str object equal to ``s`` (not a code constant, not interned),
    so that nothing done to earlier copies can have changed it."""
    return (s + "!")[:-1]


def _with_utf8_cache(s):
    """Return ``s`` after CPython has cached its UTF-8 form (which adds to
    what sys.getsizeof reports for non-ASCII strings)."""
    try:
        import ctypes

        f = ctypes.pythonapi.PyUnicode_AsUTF8
        f.restype = ctypes.c_char_p
        f.argtypes = [ctypes.py_object]
        f(s)
    except (ImportError, AttributeError):  # pragma: no cover
        pass
    return s


# objects kept alive for weak references in the catalog
_WEAK_TARGETS = []


def build_catalog():
    """Return a list of ``(name, obj)`` pairs, names unique, >= 150 entries."""
    c = []

    def add(name, obj):
        c.append((name, obj))

    # --- numbers and singletons ------------------------------------------
    add("int_zero", 0)
    add("int_one", 1)
    add("int_small", 42)
    add("int_256", 256)
    add("int_257", int("257"))
    add("int_negative", -5)
    add("int_negative_big", -(10 ** 20))
    add("int_2_30", 2 ** 30)
    add("int_2_62", 2 ** 62)
    add("int_2_64", 2 ** 64)
    add("int_huge", 2 ** 1000)
    add("int_huge_negative", -(2 ** 1000) + 1)
    add("bool_true", True)
    add("bool_false", False)
    add("float_zero", 0.0)
    add("float_pi", 3.141592653589793)
    add("float_negative", -1e300)
    add("float_inf", float("inf"))
    add("float_nan", float("nan"))
    add("complex_simple", complex(1, 2))
    add("complex_zero", 0j)
    add("none", None)
    add("ellipsis", Ellipsis)
    add("not_implemented", NotImplemented)
    add("int_subclass", IntSub(123456))
    isub = IntSub(2 ** 40)
    isub.note = ["int subclass", "with attributes"]
    add("int_subclass_with_attrs", isub)
    fsub = FloatSubWithAttr(2.75)
    fsub.unit = "metres"
    add("float_subclass_with_attrs", fsub)
    add("int_2_30_minus_1", 2 ** 30 - 1)
    add("int_2_60", 2 ** 60)

    # --- strings: 1-, 2- and 4-byte kinds ----------------------------------
    add("str_empty", "")
    add("str_one_char", "a")
    add("str_ascii", "hello world")
    add("str_latin1_char", "\xe9")
    add("str_latin1", "caf\xe9 cr\xe8me")
    add("str_bmp_char", "\u20ac")
    add("str_bmp", "price: 10\u20ac")
    add("str_astral_char", "\U0001F600")
    add("str_astral", "hi \U0001F600 there")
    add("str_long_ascii", "x" * 10000)
    add("str_long_latin1", "\xe9" * 5000)
    add("str_long_bmp", "\u20ac" * 3000)
    add("str_long_astral", "\U0001F600" * 2000)
    add("str_interned", sys.intern("an_interned_identifier"))
    add("str_multiline", "line one\nline two\n\tindented\n")
    add("str_subclass", StrSub("subclassed string"))
    add("str_with_utf8_cache", _with_utf8_cache("caf\xe9 na\xefve \u20ac \U0001F600 " * 4))

    # --- bytes and bytearray ---------------------------------------------
    add("bytes_empty", b"")
    add("bytes_single", b"\x00")
    add("bytes_small", b"abc")
    add("bytes_long", bytes(range(256)) * 40)
    add("bytearray_empty", bytearray())
    add("bytearray_small", bytearray(b"abc"))
    ba = bytearray()
    for i in range(100):
        ba.append(i)
    add("bytearray_appended", ba)
    add("bytearray_large", bytearray(10000))
    ba2 = bytearray(b"x" * 1000)
    del ba2[10:]
    add("bytearray_shrunk", ba2)
    ba3 = bytearray(b"0123456789" * 10)
    del ba3[:15]
    add("bytearray_front_deleted", ba3)

    # --- tuples ------------------------------------------------------------
    add("tuple_empty", ())
    add("tuple_one", (1,))
    add("tuple_small", (1, "a", 2.0))
    add("tuple_nested", ((1, 2), (3, (4, 5)), ()))
    add("tuple_large", tuple(range(1000)))
    add("tuple_of_strs", tuple("item-%d" % i for i in range(50)))

    # --- lists -------------------------------------------------------------
    add("list_empty", [])
    add("list_small", [1, 2, 3])
    add("list_large", list(range(10000)))
    la = []
    for i in range(1000):
        la.append(i)
    add("list_appended", la)
    lp = []
    for i in range(100):
        lp.append(str(i))
    for _ in range(90):
        lp.pop()
    add("list_popped", lp)
    lc = list(range(500))
    lc.clear()
    add("list_cleared", lc)
    add("list_mixed", [1, "two", 3.0, (4,), [5], {6: 6}, None, b"8"])
    add("list_of_lists", [[i, i + 1] for i in range(30)])
    add("list_of_none", [None] * 100)
    add("list_of_floats", [i / 7.0 for i in range(200)])
    shared = ["shared", "sub", "list"]
    add("list_shared_twice", [shared, shared])
    add("list_shared_nested", [[shared], (shared,), {"s": shared}])
    cyc = [1, 2]
    cyc.append(cyc)
    add("list_self_cycle", cyc)
    add("list_subclass", ListSub([1, 2, 3, "x"]))
    add("list_subclass_with_attr", ListSubWithAttr(range(10)))
    lss = ListSubSlots(["a", "b"])
    lss.extra = {"slot": "value"}
    add("list_subclass_with_slots", lss)

    # --- dicts -------------------------------------------------------------
    add("dict_empty", {})
    add("dict_small", {"a": 1, "b": 2})
    add("dict_large", {i: str(i) for i in range(2000)})
    add("dict_int_keys", {i: i * i for i in range(100)})
    add("dict_str_keys", {"key%d" % i: [i] for i in range(100)})
    add(
        "dict_mixed_keys",
        {1: "a", "b": 2, (1, 2): 3.0, None: [], 2.5: b"x", frozenset([1]): "fs"},
    )
    dd = {i: "v%d" % i for i in range(1000)}
    for i in range(900):
        del dd[i]
    add("dict_after_deletions", dd)
    dcl = {i: i for i in range(100)}
    dcl.clear()
    add("dict_cleared", dcl)
    add("dict_nested", {"a": {"b": {"c": {"d": [1, 2, 3]}}}})
    add(
        "dict_of_lists_of_tuples",
        {"k%d" % i: [(i, j, "t") for j in range(5)] for i in range(20)},
    )
    add("dict_non_ascii_keys", {fresh_str("\xe9t\xe9"): 1, fresh_str("\u20ac"): 2,
                                fresh_str("\U0001F600"): 3, fresh_str("cl\xe9 \u20ac"): 4})
    add("dict_fromkeys", dict.fromkeys(range(50)))
    dself = {"name": "self-referencing"}
    dself["self"] = dself
    add("dict_self_cycle", dself)
    add("dict_subclass", DictSub(a=1, b=[2, 3]))
    shared_val = list(range(10))
    add("dict_shared_values", {"x": shared_val, "y": shared_val})

    # --- sets --------------------------------------------------------------
    add("set_empty", set())
    add("set_small", {1, 2, 3})
    add("set_large", set(range(5000)))
    add("set_strs", {"s%d" % i for i in range(100)})
    sr = set(range(1000))
    for i in range(990):
        sr.discard(i)
    add("set_after_removals", sr)
    add("set_of_tuples", {(i, -i) for i in range(40)})
    add("frozenset_empty", frozenset())
    add("frozenset_small", frozenset(["a", "b"]))
    add("frozenset_large", frozenset(range(3000)))

    # --- range, slice, memoryview ------------------------------------------
    add("range_empty", range(0))
    add("range_small", range(10))
    add("range_large", range(0, 10 ** 12, 7))
    add("slice_simple", slice(1, 10, 2))
    add("slice_objects", slice("a", [1, 2], None))
    add("memoryview_bytes", memoryview(b"abcdef"))
    add("memoryview_bytearray", memoryview(bytearray(1000)))
    add("memoryview_sliced", memoryview(b"0123456789")[2:8])

    # --- array.array (built from lists: never over-allocated) --------------
    add("array_b", array.array("b", [1, -2, 3]))
    add("array_B_empty", array.array("B"))
    add("array_h", array.array("h", list(range(100))))
    add("array_i", array.array("i", list(range(1000))))
    add("array_l", array.array("l", [7] * 33))
    add("array_q", array.array("q", list(range(10))))
    add("array_f", array.array("f", [0.5] * 17))
    add("array_d", array.array("d", [float(i) for i in range(250)]))

    # --- collections ---------------------------------------------------------
    add("deque_empty", collections.deque())
    add("deque_small", collections.deque([1, 2, 3]))
    add("deque_large", collections.deque(range(5000)))
    add("deque_maxlen", collections.deque("abcdefghij", maxlen=5))
    ddf = collections.defaultdict(list)
    for i in range(30):
        ddf[i % 7].append(i)
    add("defaultdict_lists", ddf)
    add("ordereddict_small", collections.OrderedDict([("z", 1), ("a", 2)]))
    od = collections.OrderedDict((str(i), i) for i in range(300))
    od.move_to_end("5")
    add("ordereddict_large", od)
    add("counter_letters", collections.Counter("abracadabra"))
    add("counter_large", collections.Counter(i % 97 for i in range(1000)))
    add("chainmap", collections.ChainMap({"a": 1}, {"b": [2]}))
    add("userdict", collections.UserDict({"u": [1, 2]}))
    add("userlist", collections.UserList(["u", "l"]))
    add("namedtuple_point", Point(1, 2))
    add("namedtuple_record", Record("rec", ["t1", "t2"], 9.5))
    add("typed_namedtuple", TypedPair("left side", [1, 2]))
    pp = PointPlus(3, [4])
    pp.label = "has a dict too"
    add("namedtuple_subclass_with_dict", pp)
    add("mappingproxy", types.MappingProxyType({"m": [1, 2], "p": "proxy"}))
    add("mappingproxy_of_class", WithAttrs.__dict__)
    add("simple_namespace", types.SimpleNamespace(a=[1, 2, 3], b="bee"))

    # --- dataclasses and enums -----------------------------------------------
    add("dataclass_instance", DataPoint(1, 2.5, tags=["a", "b"]))
    add("dataclass_frozen", FrozenData("key", (1, 2, 3)))
    add("dataclass_slotted", SlottedData(3, ["y"]))
    add("enum_member", Color.GREEN)
    add("enum_tuple_member", Color.BLUE)
    add("intenum_member", Level.HIGH)
    add("flag_member", Perm.R)
    add("enum_members_list", [Color.RED, Color.GREEN, Level.LOW])

    # --- plain instances and __slots__ ------------------------------------
    add("instance_empty", Plain())
    add("instance_attrs", WithAttrs(1, "two", [3]))
    add("instance_many_attrs", ManyAttrs(40))
    late = WithAttrs(1, 2)
    late.added_later = {"late": True}
    add("instance_attr_added_later", late)
    deleted = WithAttrs("a", "b", "c")
    del deleted.b
    add("instance_attr_deleted", deleted)
    add("instances_same_class", [WithAttrs(i, str(i)) for i in range(20)])
    add("slots_instance", Slotted(1, "y"))
    add("slots_partial", SlottedPartial())
    add("slots_inherited_3_levels", SlotLeaf())
    add("slots_and_dict", SlotsAndDict())
    add("slots_and_weakref", SlotsAndWeakref())
    add("dict_on_slotted_base", DictOnSlotted())
    add("slots_name_mangled", Mangled())
    add("nested_user_classes", Outer())
    add("binary_tree", TreeNode(4))
    chain = None
    for i in range(30):
        chain = Node(i, chain)
    add("linked_list_30", chain)
    p1, p2 = Partner("first"), Partner("second")
    p1.other, p2.other = p2, p1
    add("instances_cycle", p1)
    me = Partner("self")
    me.other = me
    add("instance_self_cycle", me)
    add("instance_with_property_class", WithProperty())

    # --- deep nesting ---------------------------------------------------------
    deep = []
    for _ in range(50):
        deep = [deep]
    add("list_depth_50", deep)
    deep_d = {"leaf": "bottom"}
    for i in range(30):
        deep_d = {"level%d" % i: deep_d}
    add("dict_depth_30", deep_d)
    deep_t = ("end",)
    for i in range(40):
        deep_t = (i, deep_t)
    add("tuple_depth_40", deep_t)

    # --- exceptions -------------------------------------------------------------
    add("exception_args", ValueError("bad value", 42))
    add("exception_no_args", RuntimeError())
    add("keyerror", KeyError("missing"))
    add("oserror_filename", OSError(2, "No such file", "/no/such/path"))
    add("custom_exception", AppError("custom failure", 17))

    # --- descriptors, weakrefs, callables --------------------------------------
    add("property_object", WithProperty.__dict__["prop"])
    add("property_bare", property())
    target = ListSub(["weakly", "referenced", list(range(10))])
    _WEAK_TARGETS.append(target)
    add("weakref_to_list_subclass", weakref.ref(target))
    inst_target = WithAttrs("weak", "target")
    _WEAK_TARGETS.append(inst_target)
    add("weakref_to_instance", weakref.ref(inst_target))
    wvd = weakref.WeakValueDictionary()
    wvd["a"] = inst_target
    add("weakvaluedict", wvd)
    add("cell_object", _make_cell())
    counted = Counted()
    _WEAK_TARGETS.append(counted)
    add(
        "callables_in_list",
        [len, print, a_function, lambda q: q, Plain, Counted.method, counted.method],
    )
    add("modules_in_list", [sys, os, collections])
    add("classes_in_dict", {"plain": Plain, "slotted": Slotted, "int": int})
    add("staticmethod_in_tuple", (staticmethod(a_function), classmethod(a_function)))
    add("exhausted_generator", _exhausted_generator())
    add("list_iterator", iter([1, 2, 3]))
    add("enumerate_object", enumerate(["e", "n", "u", "m"]))
    add("zip_object", zip([1, 2], "ab"))
    add("partial_in_list", [functools.partial(a_function, 1)])
    dkv = {"a": 1, "b": 2}
    add("dict_views", (dkv.keys(), dkv.values(), dkv.items()))

    # --- assorted stdlib objects -------------------------------------------
    add("decimal", decimal.Decimal("3.14159265358979323846"))
    add("fraction", fractions.Fraction(3, 7))
    add("uuid", uuid.UUID(int=0x12345678123456781234567812345678))
    add("date", datetime.date(2020, 2, 29))
    add("datetime", datetime.datetime(2021, 1, 2, 3, 4, 5, 6))
    add("timedelta", datetime.timedelta(days=3, seconds=7))
    add("struct_time", time.gmtime(0))
    add("regex_pattern", re.compile(r"(\d+)-(\w+)"))
    add("struct_object", struct.Struct("<iqd"))

    # --- composite structures -------------------------------------------------
    add(
        "records_list",
        [{"id": i, "name": "user%d" % i, "tags": ("a", "b"), "score": i * 0.5}
         for i in range(100)],
    )
    add("tuple_of_everything", (1, "s", b"b", [1], {"d": 1}, {1}, frozenset([2]), 3.5))
    add(
        "mixed_nesting",
        {"list": [1, (2, [3, {4: (5, "six")}])], "set": {7, 8}, "inst": WithAttrs(9, 10)},
    )
    add("list_of_instances_with_shared", [WithAttrs(shared, shared) for _ in range(5)])
    add("string_keys_non_ascii_values", {"a": "\xe9" * 10, "b": "\u20ac" * 10})
    add("bytes_in_dict", {b"k1": b"v1" * 10, b"k2": bytearray(b"v2")})

    names = [n for n, _ in c]
    assert len(names) == len(set(names)), "catalog names must be unique"
    return c


CATALOG = build_catalog()
CATALOG_NAMES = [n for n, _ in CATALOG]
CATALOG_DICT = dict(CATALOG)

# built-in types whose flat size is exactly sys.getsizeof() (aligned)
BUILTIN_TYPES = (
    int, bool, float, complex, str, bytes, bytearray, tuple, list, dict,
    set, frozenset, range, slice, memoryview, type(None), type(Ellipsis),
    type(NotImplemented),
)
BUILTIN_NAMES = [n for n, o in CATALOG if type(o) in BUILTIN_TYPES]

ARRAY_NAMES = [n for n, o in CATALOG if type(o) is array.array]


def groups_of(names, size):
    """Consecutive groups of ``size`` names (the last may be shorter)."""
    return [tuple(names[i:i + size]) for i in range(0, len(names), size)]
