"""heapscope's type lookups leave the interpreter's type-attribute cache alone.

From CPython 3.14 the interned-strings table is a tracked dict, and its traversal reports
strings it does not count: a string used as an attribute name may be held by nothing but
the type-attribute cache. `_PyType_Lookup` fills that cache, and filling an entry releases
the name it held. heapscope's heap passes used it to look new types up while the table's
strings were still borrowed, so such a string could be freed between being reported and
being counted: `muppy.get_objects()` returned a freed string, and the interpreter crashed
in its last collection (one run in five of a test program on 3.15). The lookups now read
the classes' namespaces and never write the cache.

The test fills the cache with names that only it holds and sizes instances of classes
whose `__sizeof__` was never looked up: each lookup that wrote the cache freed one name.
"""

import subprocess
import sys

import pytest

_PROGRAM = """
import gc, sys
from heapscope import _core

def interned_table():
    for obj in gc.get_objects():
        if type(obj) is dict and obj.get("__subclasses__") == "__subclasses__" and len(obj) > 1000:
            return obj
    raise AssertionError("no interned-strings table among the tracked objects")

fresh = [type("Fresh%d" % i, (), {})() for i in range(500)]
warm = type("Warm", (), {})()
sizer = _core.Sizer()

class Holder:
    pass

names = [sys.intern("held_by_the_type_cache_%d" % i) for i in range(20000)]
for name in names:
    getattr(Holder, name, None)
probes = {id(name) for name in names}
del names, name

def alive():
    return sum(1 for s in interned_table() if id(s) in probes)

sizer.flatsize(warm)
alive()
before = alive()
for obj in fresh:
    sizer.flatsize(obj)
print(before, alive())
"""


@pytest.mark.skipif(sys.version_info < (3, 14), reason="the interned-strings table is tracked only from CPython 3.14")
def test_type_lookups_free_no_cached_name():
    proc = subprocess.run([sys.executable, "-X", "faulthandler", "-c", _PROGRAM],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    before, after = map(int, proc.stdout.split())
    assert before > 100, "the cache did not keep the names: the test proves nothing"
    # No entry is replaced (the loop's own lookups were made before `before`); 500
    # lookups that write the cache replaced about a hundred, one `hasattr(cls,
    # "__slots__")` per class up to 24.
    assert before - after < 3, (before, after)
