"""Retained sizes against guppy3's ``hpy().iso(x).domisize`` on the same objects.

The two agree except where ``docs/differences.md`` (section 16) says why: guppy3 does
not follow a dict's references to its keys, so a key only the structure holds is
retained by heapscope and not by guppy3; on 3.11+ the attribute values an instance keeps
outside itself (no ``__dict__`` made yet) are counted by guppy3 and not by
``sys.getsizeof``. ``.ci/run`` installs guppy3 where a wheel exists (3.9-3.14);
``HEAPSCOPE_TEST_REQUIRE=guppy`` makes its absence a failure.
"""
import os
import random
import sys

import pytest

import heapscope

REQUIRED = "guppy" in os.environ.get("HEAPSCOPE_TEST_REQUIRE", "").split(",")
try:
    import guppy
except ImportError:
    if REQUIRED:
        raise
    pytest.skip("guppy3 is not installed (it has no wheel for this Python)", allow_module_level=True)


def domisize(x):
    return guppy.hpy().iso(x).domisize


def fresh(text):
    """A string made at run time, held by nothing else."""
    return "".join([text, "-", str(random.random())])


def runtime_keys(x):
    """The distinct keys of every dict in a structure of dicts and lists (by identity)."""
    keys, seen, stack = {}, set(), [x]
    while stack:
        o = stack.pop()
        if id(o) in seen:
            continue
        seen.add(id(o))
        if type(o) is dict:
            keys.update((id(k), k) for k in o)
            stack.extend(o.values())
        elif type(o) is list:
            stack.extend(o)
    return list(keys.values())


def test_records_with_literal_keys_agree():
    # The keys are constants of this function's code, held by it: neither counts them.
    x = [{"id": i * 1.5, "name": fresh("name"), "tags": [fresh("t1"), fresh("t2")]} for i in range(500)]
    assert heapscope.retained_size(x) == domisize(x)


def test_strings_agree():
    x = [fresh("s") for _ in range(2000)] + [fresh("b").encode() for _ in range(500)]
    assert heapscope.retained_size(x) == domisize(x)


def test_shared_and_cyclic_structures_agree():
    shared = fresh("shared") * 50
    a, b = [shared, fresh("a")], [shared, fresh("b")]
    ring = [[fresh("r%d" % i)] for i in range(20)]
    for i, node in enumerate(ring):
        node.append(ring[(i + 1) % len(ring)])
    x = [a, b, ring[0]]
    del ring, node
    assert heapscope.retained_size(x) == domisize(x)
    assert heapscope.retained_size(a) == domisize(a) == sys.getsizeof(a) + sys.getsizeof(a[1])


def test_dict_keys_only_the_structure_holds_are_retained_by_heapscope_alone():
    x = [{fresh("key%d" % i): [float(i) + 0.5]} for i in range(300)]
    keys = runtime_keys(x)
    assert len(keys) == 300
    key_bytes = sum(map(sys.getsizeof, keys))
    del keys  # only the dicts hold them again
    assert heapscope.retained_size(x) == domisize(x) + key_bytes


def test_the_benchmark_tree_differs_by_its_dict_keys():
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, os.path.join(here, "..", "benches"))
    try:
        import _workloads
    finally:
        sys.path.pop(0)
    x = _workloads.build_tree(6000)
    keys = runtime_keys(x)
    assert keys and all(k.startswith("field_") for k in keys)
    key_bytes = sum(map(sys.getsizeof, keys))
    del keys
    assert heapscope.retained_size(x) == domisize(x) + key_bytes


class Plain:
    def __init__(self, i):
        self.a, self.b, self.c = fresh("a%d" % i), [i], float(i) + 0.25


def test_instances_agree_once_their_dict_exists():
    x = [Plain(i) for i in range(300)]
    for obj in x:
        vars(obj)  # on 3.11+, makes the __dict__ that holds the values from now on
    assert heapscope.retained_size(x) == domisize(x)


def test_instances_without_a_dict_differ_by_their_values_on_3_11_and_later():
    x = [Plain(i) for i in range(300)]
    ours, theirs = heapscope.retained_size(x), domisize(x)
    if sys.version_info < (3, 11):
        # Every instance has its __dict__: the same objects, the same sizes.
        assert ours == theirs
    else:
        # guppy3 counts the values each instance keeps outside itself, the same for each.
        assert theirs > ours and (theirs - ours) % len(x) == 0, (ours, theirs)
