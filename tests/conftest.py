import array
import faulthandler
import gc
import os
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from pympler import asizeof as _pympler_asizeof  # noqa: E402

# pympler caches one size definition per type, built from the first object of
# that type it ever sees.  For array.array the cached basic size is derived
# from that first array, so seed it with a freshly built, exactly sized array
# to keep pympler's answers independent of test order.
_pympler_asizeof.asizeof(array.array("d"))


def _shield_pympler_from_dead_referents():
    """On CPython 3.12.0-3.12.4 ``gc.get_referents`` of the ``_asyncio`` module returns
    dead future iterators from its free list (python/cpython#122695); pympler's
    ``muppy.get_objects()`` (and so its trackers) frees them a second time, after which
    ``gc.collect()`` never returns. Once the IPython tests have used asyncio in this
    process, the oracle would hang the run, so there its modules get a ``gc`` whose
    ``get_referents`` leaves dead objects out (heapscope's own walks always do; see
    tests/test_free_lists.py). Elsewhere pympler runs untouched."""
    if not ((3, 12, 0) <= sys.version_info[:3] < (3, 12, 5)):
        return
    import types

    from heapscope import _core
    from pympler import muppy, refgraph

    safe_gc = types.ModuleType("gc")
    safe_gc.__dict__.update(gc.__dict__)
    safe_gc.get_referents = _core.referents
    muppy.gc = safe_gc
    refgraph.get_referents = _core.referents
    _pympler_asizeof._getreferents = _core.referents


_shield_pympler_from_dead_referents()


# A test that hangs ends the run with every thread's traceback after this many seconds
# (HEAPSCOPE_TEST_TIMEOUT), rather than waiting for the CI limit with nothing to show.
_HANG_SECONDS = float(os.environ.get("HEAPSCOPE_TEST_TIMEOUT", "900"))


@pytest.fixture(autouse=True)
def _traceback_if_hung():
    faulthandler.dump_traceback_later(_HANG_SECONDS, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


@pytest.fixture
def pa():
    """pympler.asizeof, the reference implementation."""
    return _pympler_asizeof


@pytest.fixture
def hs():
    """heapscope.asizeof, the implementation under test."""
    from heapscope import asizeof

    return asizeof


@pytest.fixture
def np():
    return pytest.importorskip("numpy")


@pytest.fixture
def no_gc():
    """Keep the cyclic collector from running in the middle of a measurement."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# --------------------------------------------------------------------------
# Tests marked ``isolated`` run in a child pytest process: a hard crash of the
# extension (segfault, abort) then fails that one test instead of ending the
# whole run.  The child runs the very same test function.

_CHILD_ENV = "HEAPSCOPE_TESTS_ISOLATED_CHILD"


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "isolated: run this test in a separate interpreter (crash-prone input)")


def pytest_pyfunc_call(pyfuncitem):
    if pyfuncitem.get_closest_marker("isolated") is None or os.environ.get(_CHILD_ENV):
        return None  # run normally
    env = dict(os.environ)
    env[_CHILD_ENV] = "1"
    cmd = [sys.executable, "-X", "faulthandler", "-m", "pytest", "-q", "-p", "no:cacheprovider",
           pyfuncitem.nodeid]
    proc = subprocess.run(cmd, cwd=str(pyfuncitem.config.rootdir), env=env,
                          capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        out = proc.stdout + proc.stderr
        if len(out) > 6000:
            out = out[:3000] + "\n[...]\n" + out[-3000:]
        pytest.fail("isolated run failed (exit %s):\n%s" % (proc.returncode, out),
                    pytrace=False)
    return True
