"""Dead objects that a module's traversal reports from its free lists.

CPython 3.12.0-3.12.4 ``_asyncio`` visits its free list of future iterators in its
module traversal (python/cpython#122695). Anything that takes a reference to one of
those and drops it frees it a second time; the next ``gc.collect()`` then never ends
(pympler's ``muppy.get_objects()`` does exactly that). heapscope's walks skip objects
with no references left. Each case runs in a child interpreter with a deadline, so a
hang fails the test instead of the run.
"""

import subprocess
import sys
import textwrap

import pytest

_PRELUDE = """
import asyncio, gc
loop = asyncio.new_event_loop()
for _ in range(5):
    fut = loop.create_future()
    it = iter(fut)   # an _asyncio.FutureIter; freed into the module's free list
    del it, fut
"""

_EPILOGUE = """
for _ in range(3):
    gc.collect()
loop.close()
print("done")
"""

CASES = {
    "get_objects": "import heapscope.muppy as m\nobjs = m.get_objects()\nassert objs\ndel objs\n",
    "summarize": ("from heapscope import muppy, summary\n"
                  "rows = summary.summarize(muppy.get_objects())\nassert rows\n"),
    "tracker": ("from heapscope import tracker\nt = tracker.SummaryTracker()\n"
                "t.diff()\nt.diff()\n"),
    "get_referents": ("import _asyncio\nfrom heapscope import muppy\n"
                      "refs = muppy.get_referents(_asyncio, level=2)\n"
                      "assert all(sys.getrefcount(r) > 1 for r in refs)\ndel refs\n"),
    "why": ("import heapscope\nclass Leak: pass\nleak = Leak()\n"
            "assert len(heapscope.why(leak)) == 1\n"),
    "asizeof_all": ("from heapscope.asizeof import asizeof\nimport _asyncio\n"
                    "assert asizeof(_asyncio, all=True, code=True) > 0\n"),
    "refgraph": ("import _asyncio\nfrom heapscope.refgraph import ReferenceGraph\n"
                 "ReferenceGraph([_asyncio] + list(vars(_asyncio).values())).write_graph('/dev/null')\n"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_walks_leave_free_listed_objects_alone(case):
    program = "import sys\n" + textwrap.dedent(_PRELUDE) + CASES[case] + textwrap.dedent(_EPILOGUE)
    try:
        proc = subprocess.run([sys.executable, "-X", "faulthandler", "-c", program],
                              capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        pytest.fail("gc.collect() after heapscope's %s never finished (free list corrupted)" % case)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().endswith("done")
