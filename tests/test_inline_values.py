"""An instance's attributes as a `__dict__` node, whether or not Python made the dict.

Since 3.11 an ordinary instance keeps its attributes in a values array until someone
asks for `obj.__dict__`. pympler asks (and so creates the dict); heapscope does not, and
walks the values as a virtual `__dict__` instead. These tests pin that the trees, `refs`,
`named_refs`, `flatsize`, `limit` and the statistics look as pympler's, before and after
`vars(obj)`, and that measuring creates nothing.
"""
import gc
import io
import sys
from contextlib import redirect_stdout

import pytest

from catalog import aligned


class Foo:
    def __init__(self, data):
        self.data = data
        self.name = "x" * 10


class Thin:
    __slots__ = ("data",)

    def __init__(self, data):
        self.data = data


def shape(node):
    """A tree's names, nested, without sizes."""
    return (node.name, [shape(child) for child in node.refs])


def fresh(cls=Foo, *args):
    """An instance of `cls` whose attributes Python keeps without a dict (3.11+)."""
    if sys.version_info < (3, 11):
        pytest.skip("before 3.11 every instance keeps its attributes in a dict")
    return cls(*args)


def blocks_left_by(action, objs):
    """Memory blocks still allocated after `action(obj)` for each object: one or more
    per object when it made their `__dict__`s (which then stay)."""
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        before = sys.getallocatedblocks()
        for obj in objs:
            action(obj)
        return sys.getallocatedblocks() - before
    finally:
        if was_enabled:
            gc.enable()


def test_tree_has_a_dict_node_without_making_the_dict(hs):
    obj = fresh(Foo, 42)
    tree = hs.asized(obj, detail=2)
    assert [ref.name for ref in tree.refs] == ["__dict__", "__class__"]
    node = tree.get("__dict__")
    assert node is not None
    assert sorted(ref.name for ref in node.refs) == [
        "[K] data", "[K] name", "[V] data: 42", "[V] name: 'xxxxxxxxxx'",
    ]
    assert node.get("[V] data: 42").size == hs.asizeof(42)
    # the dict's node holds the values' memory; the instance what getsizeof says
    assert tree.flat == aligned(sys.getsizeof(obj))
    assert node.flat > 0
    assert tree.size == tree.flat + sum(ref.size for ref in tree.refs)
    assert node.size == node.flat + sum(ref.size for ref in node.refs)
    assert tree.size == hs.asizeof(obj)


def test_tree_shape_is_the_same_before_and_after_vars(hs):
    obj = fresh(Foo, 42)
    before = hs.asized(obj, detail=3)
    flat_before = hs.flatsize(obj)
    vars(obj)
    after = hs.asized(obj, detail=3)
    assert shape(before) == shape(after)
    assert flat_before == hs.flatsize(obj) == aligned(sys.getsizeof(obj))
    assert before.get("__dict__").size - before.get("__dict__").flat == (
        after.get("__dict__").size - after.get("__dict__").flat
    )


def test_tree_shape_equals_pymplers(hs, pa):
    obj = fresh(Foo, 42)
    ours = shape(hs.asized(obj, detail=3))
    theirs = shape(pa.asized(obj, detail=3))  # pympler makes the dict
    assert ours == theirs
    assert hs.flatsize(obj) == pa.flatsize(obj)


def test_format_lists_dict_and_class_like_pympler(hs):
    obj = fresh(Foo, 42)
    one = hs.asized(obj, detail=1)
    two = hs.asized(obj, detail=2)
    lines = one.format("%(name)s", order_by="name").split("\n")
    assert lines[1:] == ["    __class__", "    __dict__"]
    assert one.format("%(name)s", depth=1, order_by="name") == two.format("%(name)s", depth=1, order_by="name")
    assert two.format("%(name)s", depth=2, order_by="name") != two.format("%(name)s", depth=1, order_by="name")


def test_limit_counts_attributes_two_levels_down(hs, pa):
    objs = [fresh(Foo, 42), Thin("spam"), fresh(Foo, 67)]
    totals = []
    for limit in range(4):
        sizer = hs.Asizer()
        sizer.asizeof(objs, limit=limit)
        totals.append(sizer.total)
    assert totals[0] < totals[1] < totals[2] < totals[3]
    obj = objs[0]
    tree = hs.asized(obj, detail=2)
    # limit 0: the instance alone; 1: its dict too, flat; 2: the dict's keys and values
    assert hs.asizeof(obj, limit=0) == tree.flat
    assert hs.asizeof(obj, limit=1) == tree.flat + tree.get("__dict__").flat
    assert hs.asizeof(obj, limit=2) == tree.size


def test_refs_and_named_refs_give_a_dict_equal_to_vars(hs, pa):
    obj = fresh(Foo, 42)
    named = hs.named_refs(obj)
    assert [name for name, _ in named] == ["__dict__", "__class__"]
    assert named[0][1] == {"data": 42, "name": "x" * 10}
    assert list(hs.refs(obj)) == [{"data": 42, "name": "x" * 10}, Foo]
    assert [name for name, _ in named] == [name for name, _ in pa.named_refs(obj)]


def test_deleted_attributes_are_left_out(hs):
    obj = fresh(Foo, 42)
    del obj.data
    node = hs.asized(obj, detail=2).get("__dict__")
    assert sorted(ref.name for ref in node.refs) == ["[K] name", "[V] name: 'xxxxxxxxxx'"]
    assert hs.named_refs(obj)[0][1] == {"name": "x" * 10}


def test_statistics_profile_the_attributes_as_dicts(hs):
    objs = [fresh(Foo, i) for i in range(5)]
    sizer = hs.Asizer()
    sizer.asizeof(objs, stats=2)
    out = io.StringIO()
    with redirect_stdout(out):
        sizer.print_profiles()
    rows = [line for line in out.getvalue().splitlines() if "class dict objects" in line]
    assert len(rows) == 1 and rows[0].split()[0] == "5", out.getvalue()


def _profile(hs, obj):
    sizer = hs.Asizer()
    sizer.asizeof(obj, stats=2)
    with redirect_stdout(io.StringIO()):
        sizer.print_profiles()


MEASURES = {
    "asizeof": lambda hs, obj: hs.asizeof(obj),
    "asizeof limit=1": lambda hs, obj: hs.asizeof(obj, limit=1),
    "asized detail=3": lambda hs, obj: hs.asized(obj, detail=3),
    "flatsize": lambda hs, obj: hs.flatsize(obj),
    "refs": lambda hs, obj: list(hs.refs(obj)),
    "named_refs": lambda hs, obj: hs.named_refs(obj),
    "profiles": _profile,
}


@pytest.mark.isolated
@pytest.mark.parametrize("measure", sorted(MEASURES))
def test_measuring_makes_no_dict(hs, measure):
    fresh(Foo, 0)
    action = MEASURES[measure]
    action(hs, Foo(0))  # lazily built state (rules, interned names) comes first
    count = 1000
    objs = [Foo(i) for i in range(count)]
    # (a few blocks stay whatever the count: free lists, caches)
    assert blocks_left_by(lambda obj: action(hs, obj), objs) < count // 4
    # the check can fail: asking for the dict leaves at least a block per object
    assert blocks_left_by(vars, objs) >= count


class Meddler:
    """Its repr, run while a tree is named, changes the instance that holds it."""

    def __init__(self, owner, action):
        self.owner, self.action = owner, action

    def __repr__(self):
        if self.action == "delete":
            for name in list(vars(self.owner)):
                delattr(self.owner, name)
        elif self.action == "grow":
            for i in range(50):
                setattr(self.owner, "extra%d" % i, i)
        return "Meddler"


@pytest.mark.parametrize("action", ["delete", "grow"])
def test_attributes_changed_while_the_tree_is_named(hs, action):
    holder = Foo(1)
    holder.meddler = Meddler(holder, action)
    holder.last = "end"
    tree = hs.asized(holder, detail=3)
    assert tree.get("__dict__") is not None or tree.get("__class__") is not None
    assert tree.size >= tree.flat > 0


class Slotted:
    __slots__ = ("first", "second")


class SlottedWithAttrs(Slotted):
    """Slots from its base, inline values of its own."""


def test_base_slots_are_all_counted_beside_inline_values(hs, pa):
    obj = fresh(SlottedWithAttrs)
    obj.first, obj.second, obj.extra = [1] * 10, "ab" * 20, 1
    tree = hs.asized(obj, detail=1)
    assert [ref.name for ref in tree.refs] == ["__dict__", "__class__", "first", "second"]
    assert tree.size == hs.asizeof(obj) >= (
        hs.flatsize(obj) + hs.asizeof(obj.first) + hs.asizeof(obj.second) + hs.asizeof(obj.extra)
    )
    assert [ref.name for ref in pa.asized(obj, detail=1).refs] == [ref.name for ref in tree.refs]
    assert hs.asizeof(obj) == pa.asizeof(obj)  # pympler made the dict: the same heap now


def test_totals_agree_whether_or_not_attributes_form_a_node(hs):
    """asizeof alone reads inline values in the instance's frame (only the total counts);
    trees, statistics and limits walk them as a virtual __dict__: the totals agree."""
    fresh(Foo, 0)
    first, second = Foo([1, 2, 3]), Foo("shared")
    second.other = first
    gone = Foo(5)
    del gone.name
    slotted = SlottedWithAttrs()
    slotted.first, slotted.extra = first, {"k": "v" * 50}
    objs = [first, second, gone, slotted, [Foo(i) for i in range(50)]]
    total = hs.asizeof(objs)
    assert hs.asized(objs, detail=0).size == total
    assert hs.asized(objs, detail=4).size == total
    sizer = hs.Asizer()
    sizer.asizeof(objs, stats=2)
    assert sizer.total == total
    assert hs.asizeof(objs, limit=1000) == total
    assert hs.asizesof(first, second) == tuple(hs.asized(first, second, detail=1)[i].size for i in range(2))
