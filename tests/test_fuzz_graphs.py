"""Fuzzing the walker with random object graphs (tests/fuzzing.py draws them): shared,
cyclic and thousands of levels deep, of builtin containers, strings, ints, bytes and
instances.

Graphs of well-behaved objects must measure exactly as pympler measures them; graphs
with hostile classes (lying or raising ``__sizeof__``, ``__getattr__``, a raising
``__class__``, foreign ``__slots__`` descriptors, ...) must make every heapscope call
return or raise an ordinary exception. The hostile property runs in a child interpreter,
so that a crash fails the test (naming the graph) instead of killing the test run.

HEAPSCOPE_FUZZ=long runs many more examples (see benches/fuzz_graphs.py).
"""
import sysconfig

import fuzzing
import pytest
from catalog import run_isolated
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("pympler")

DEBUG_BUILD = bool(sysconfig.get_config_var("Py_DEBUG"))

settings.load_profile(fuzzing.profile())


@settings(max_examples=fuzzing.examples(150, 20000))
@given(fuzzing.plans(hostile=False), st.sampled_from([0, 1, 2, 5, 100]))
def test_well_behaved_graphs_match_pympler(plan, limit):
    # pympler 1.1 assumes a larger object header on debug builds: sizes differ there
    fuzzing.check_well_behaved(plan, limit, compare_sizes=not DEBUG_BUILD)


HOSTILE_CHILD = """
    import sys
    import fuzzing
    from hypothesis import given, settings, strategies as st

    settings.load_profile(fuzzing.profile())
    tried = [0]

    @settings(max_examples=fuzzing.examples({ci}, {long}))
    @given(fuzzing.plans(hostile=True), st.integers(0, 2 ** 32))
    def hostile(plan, seed):
        with open({planfile!r}, "w") as f:
            f.write(repr(plan) + "\\n" + repr(seed))
        tried[0] += 1
        root, nodes = fuzzing.build(plan)
        fuzzing.hostile_calls(root, nodes, seed)

    hostile()
    print("tried", tried[0])
"""


def run_hostile(tmp_path, ci, long, timeout):
    """Run the hostile property in a child interpreter; a crash or a hang names the last
    graph tried."""
    planfile = str(tmp_path / "plan.txt")
    code = HOSTILE_CHILD.format(ci=ci, long=long, planfile=planfile)
    try:
        return run_isolated(code, timeout=timeout)
    except BaseException as exc:
        try:
            with open(planfile) as f:
                last = f.read()
        except OSError:
            last = "(none)"
        raise AssertionError("%s\nlast graph tried (plan, seed):\n%s" % (exc, last)) from None


def test_hostile_graphs_never_crash(tmp_path):
    long = fuzzing.profile() == "long"
    out = run_hostile(tmp_path, ci=120, long=20000, timeout=3600 if long else 120)
    print(out)
    assert "tried" in out
